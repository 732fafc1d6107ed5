/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fabric.h"
#include "fdstore.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "switch.h"
#include "vmname.h"
#include "wire.h"

#define STATE_MAGIC "famez-state 1"

static bool enabled;

bool fdstore_enabled(void)
{
	return enabled;
}

void fdstore_enable(void)
{
	enabled = getenv("NOTIFY_SOCKET") != NULL;
}

void fdstore_push(const char *name, int fd)
{
	char msg[300];
	int r;

	if (!enabled || fd < 0)
		return;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, false, msg, &fd, 1);
	if (r <= 0)
		log_warning_errno(r,
				  "cannot store %s in systemd's fd store: %m; it will not survive "
				  "a restart",
				  name);
}

void fdstore_remove(const char *name)
{
	if (enabled)
		sd_notifyf(false, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

/*
 * A peer's eventfds, stored as "vecs-ID-C": chunk C of STASH_FDS_MAX eventfds in flight in a
 * datagram socket, the socket being what systemd stores. systemd compares every fd it is given
 * with every fd it holds (a kcmp() per pair of eventfds), so storing each eventfd on its own
 * made bringing up 1000 peers x 4 vectors cost the manager 25 s of CPU. A datagram socket whose
 * other end is closed does not hang up, so systemd keeps it. The kernel counts fds in flight
 * against the sender's RLIMIT_NOFILE; famezd keeps the same eventfds open itself, so its own fd
 * limit is reached first.
 */
#define STASH_FDS_MAX 253 /* the most one SCM_RIGHTS message carries (SCM_MAX_FD) */

static const char *stash_name(const char *prefix, unsigned id, unsigned chunk, char buf[64])
{
	snprintf(buf, 64, "%svecs-%u-%u", prefix, id, chunk);
	return buf;
}

/* Room for the fds of one SCM_RIGHTS message, aligned for its header. */
typedef union StashControl {
	struct cmsghdr align;
	char buf[CMSG_SPACE(STASH_FDS_MAX * sizeof(int))];
} StashControl;

static int stash_fds(const int *fds, unsigned n)
{
	char byte = 0;
	StashControl control = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
	if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) < 0) {
		int r = -errno;

		safe_close(sv[0]);
		safe_close(sv[1]);
		return r;
	}
	safe_close(sv[1]);
	return sv[0];
}

static int push_vectors(const char *prefix, unsigned id, FdRef *const *vectors, unsigned n)
{
	int fds[STASH_FDS_MAX];
	char name[64];

	if (!enabled)
		return 0;
	for (unsigned c = 0; c * STASH_FDS_MAX < n; c++) {
		unsigned k = MIN(n - c * STASH_FDS_MAX, STASH_FDS_MAX);
		int stash;

		for (unsigned i = 0; i < k; i++)
			fds[i] = vectors[c * STASH_FDS_MAX + i]->fd;
		stash = stash_fds(fds, k);
		if (stash < 0) {
			log_warning_errno(
				stash,
				"cannot store peer %u's eventfds: %m; they will not survive "
				"a restart",
				id);
			return stash;
		}
		fdstore_push(stash_name(prefix, id, c, name), stash);
		safe_close(stash);
	}
	return 0;
}

void fdstore_push_peer(const char *prefix, unsigned id, int fd, FdRef *const *vectors,
		       unsigned n_vectors)
{
	char name[64];

	if (!enabled)
		return;
	snprintf(name, sizeof(name), "%speer-%u", prefix, id);
	fdstore_push(name, fd);
	(void)push_vectors(prefix, id, vectors, n_vectors);
}

void fdstore_remove_peer(const char *prefix, unsigned id, unsigned n_vectors)
{
	char name[64];

	if (!enabled)
		return;
	snprintf(name, sizeof(name), "%speer-%u", prefix, id);
	fdstore_remove(name);
	for (unsigned c = 0; c * STASH_FDS_MAX < n_vectors; c++)
		fdstore_remove(stash_name(prefix, id, c, name));
}

/* The n eventfds a stash holds, copied: the stash keeps them for the next restart. */
static int unstash_fds(int stash, int *fds, unsigned n)
{
	char byte;
	StashControl control;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	size_t got = 0;

	if (recvmsg(stash, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		got = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (got == n && !(msg.msg_flags & MSG_CTRUNC)) {
		memcpy(fds, CMSG_DATA(cmsg), n * sizeof(int));
		return 0;
	}
	for (size_t i = 0; i < got; i++)
		safe_close(((int *)CMSG_DATA(cmsg))[i]);
	return -EBADMSG;
}

/* ---- what systemd passed ---- */

/* By name, then in the order systemd passed them (a name stored twice is taken first-come). */
static int by_name_compare(const void *a, const void *b, void *names)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(((char **)names)[x], ((char **)names)[y]);

	return r ? r : (x > y) - (x < y);
}

int stored_fds_collect(StoredFds *s)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(true, &names);

	memset(s, 0, sizeof(*s));
	if (n <= 0) {
		free(names);
		return n;
	}
	s->n = (size_t)n;
	s->fds = calloc(s->n, sizeof(*s->fds));
	s->taken = calloc(s->n, sizeof(*s->taken));
	s->by_name = calloc(s->n, sizeof(*s->by_name));
	s->names = names;
	if (!s->fds || !s->taken || !s->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		s->fds[i] = SD_LISTEN_FDS_START + (int)i;
		if (!s->names[i] && !(s->names[i] = strdup("unknown")))
			return -ENOMEM;
		s->by_name[i] = i;
	}
	qsort_r(s->by_name, s->n, sizeof(*s->by_name), by_name_compare, s->names);
	return n;
}

/*
 * The first fd not taken that is stored under name, or -1: a binary search in by_name, so that
 * restoring n peers costs O(n log n) rather than O(n^2).
 */
static ssize_t stored_fds_find(const StoredFds *s, const char *name)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->names[s->by_name[mid]], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && strcmp(s->names[s->by_name[lo]], name) == 0; lo++)
		if (!s->taken[s->by_name[lo]])
			return (ssize_t)s->by_name[lo];
	return -1;
}

bool stored_fds_has(const StoredFds *s, const char *name)
{
	return stored_fds_find(s, name) >= 0;
}

int stored_fds_take(StoredFds *s, const char *name)
{
	ssize_t i = stored_fds_find(s, name);

	if (i < 0)
		return -1;
	s->taken[i] = true;
	return s->fds[i];
}

/* What a switch stores, after its prefix (fdstore.h); listening sockets are none of it. */
static bool is_switch_fd_name(const char *name, const char *prefix)
{
	static const char *const kinds[] = { "state-", "peer-", "vecs-", "vec-", "idvec-" };
	size_t plen = strlen(prefix);

	if (strncmp(name, prefix, plen) != 0)
		return false;
	/* Exactly: "shm.peer-1" is switch shm's, not the default's (names have no '-' or '.'). */
	if (strcmp(name + plen, "shm") == 0)
		return true;
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if (strncmp(name + plen, kinds[i], strlen(kinds[i])) == 0)
			return true;
	return false;
}

void stored_fds_drop_switch(StoredFds *s, const char *prefix)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->taken[i] || !is_switch_fd_name(s->names[i], prefix))
			continue;
		s->taken[i] = true;
		fdstore_remove(s->names[i]);
		safe_close(s->fds[i]);
		s->fds[i] = -1;
	}
}

void stored_fds_done(StoredFds *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->taken[i]) {
			/* The old states are replaced by the next save; anything else is stale. */
			if (!strstr(s->names[i], "state-"))
				log_notice("dropping stored fd %s: nothing uses it now",
					   s->names[i]);
			fdstore_remove(s->names[i]);
			safe_close(s->fds[i]);
		}
		free(s->names[i]);
	}
	free(s->names);
	free(s->fds);
	free(s->taken);
	free(s->by_name);
	memset(s, 0, sizeof(*s));
}

/* ---- the state ---- */

/*
 * The names of the fds queued messages carry, written with the queues at a graceful stop. The
 * shared memory and the eventfds of connected peers (or, in fabric mode, of IDs) are stored
 * already. Any other queued fd is an eventfd of a peer that left while a slow reader still had
 * its announcement queued: nobody reads it any more, so it is written as "gone" and the next
 * famezd sends a fresh eventfd in its place. Storing those would cost systemd O(n) each (it
 * compares a new fd with every stored one), which made a restart after a few thousand such
 * eventfds take tens of seconds. Sorted by FdRef, so naming Q queued messages among N fds
 * costs O((Q + N) log N).
 */
typedef struct FdName {
	const FdRef *ref;
	char name[32];
} FdName;

typedef struct QueuedFdNames {
	FdName *known;
	size_t n_known;
	bool incomplete; /* out of memory: an fd not found may be a connected peer's */
} QueuedFdNames;

static int fd_name_compare(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const FdName *)a)->ref, y = (uintptr_t)((const FdName *)b)->ref;

	return x < y ? -1 : x > y;
}

static const FdName *fd_name_find(const FdName *names, size_t n, const FdRef *ref)
{
	FdName key = { .ref = ref };

	return n ? bsearch(&key, names, n, sizeof(key), fd_name_compare) : NULL;
}

static void queued_fd_names_done(QueuedFdNames *q)
{
	free(q->known);
	memset(q, 0, sizeof(*q));
}

static FdName *fd_name_add(FdName **names, size_t *n, size_t *cap, const FdRef *ref)
{
	if (grow_array(names, cap, *n + 1, sizeof(**names)) < 0)
		return NULL;
	(*names)[*n].ref = ref;
	return &(*names)[(*n)++];
}

static void add_known_vectors(QueuedFdNames *q, size_t *cap, FdRef **vectors, unsigned n,
			      const char *kind, unsigned id)
{
	for (unsigned v = 0; vectors && v < n; v++) {
		FdName *e = fd_name_add(&q->known, &q->n_known, cap, vectors[v]);

		if (e)
			snprintf(e->name, sizeof(e->name), "%s-%u-%u", kind, id, v);
		else
			q->incomplete = true;
	}
}

static void queued_fd_names_build(Switch *s, QueuedFdNames *q)
{
	size_t cap = 0;
	FdName *e;

	memset(q, 0, sizeof(*q));
	if ((e = fd_name_add(&q->known, &q->n_known, &cap, s->shm)))
		snprintf(e->name, sizeof(e->name), "shm");
	else
		q->incomplete = true;
	if (s->fabric)
		for (unsigned id = 0; id <= fabric_server_id(s->fabric); id++)
			add_known_vectors(q, &cap, fabric_existing_id_vectors(s->fabric, id),
					  s->config.vectors, "idvec", id);
	else
		for (Peer *p = s->oldest; p; p = p->newer)
			add_known_vectors(q, &cap, p->vectors, p->n_vectors, "vec", p->id);
	for (Peer *p = s->oldest; p; p = p->newer)
		if (p->decoy) {
			if ((e = fd_name_add(&q->known, &q->n_known, &cap, p->decoy)))
				snprintf(e->name, sizeof(e->name), "decoy-%u", p->id);
			else
				q->incomplete = true;
		}
	if (q->n_known)
		qsort(q->known, q->n_known, sizeof(*q->known), fd_name_compare);
}

/* The stored name of an fd a queued message carries; NULL if it cannot be told. */
static const char *queued_fd_name(const QueuedFdNames *q, const FdRef *ref)
{
	const FdName *e;

	if (!ref)
		return "-";
	e = fd_name_find(q->known, q->n_known, ref);
	if (e)
		return e->name;
	return q->incomplete ? NULL : "gone";
}

static void write_departure_run(uint32_t from, uint32_t to, uint64_t seq, void *data)
{
	fprintf(data, "departed %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", from, to, seq);
}

/* The allocator's departures, by which connected peers saw them (see idalloc.h). */
static int write_departures(Switch *s, FILE *f)
{
	uint64_t *joins = malloc(MAX(s->n_peers, 1u) * sizeof(*joins));
	size_t n = 0;

	if (!joins)
		return -ENOMEM;
	for (Peer *p = s->oldest; p; p = p->newer)
		joins[n++] = p->join_seq;
	idalloc_departure_runs(s->ids, joins, n, write_departure_run, f);
	free(joins);
	return 0;
}

static int write_state(Switch *s, FILE *f, bool with_queues)
{
	uint32_t next;
	uint64_t seq;
	const SwitchCounters *c = &s->counters;
	QueuedFdNames names = { 0 };

	if (with_queues)
		queued_fd_names_build(s, &names);
	idalloc_get_cursor(s->ids, &next, &seq);
	fprintf(f, STATE_MAGIC "\n");
	fprintf(f, "generation %" PRIu64 "\n", s->state_generation);
	fprintf(f, "config %s %u %u %" PRIu64 "\n", switch_mode_to_string(s->config.mode),
		s->config.vectors, s->config.max_peers, s->config.shm.size);
	fprintf(f, "ids %" PRIu32 " %" PRIu64 "\n", next, seq);
	if (write_departures(s, f) < 0) {
		queued_fd_names_done(&names);
		return -ENOMEM;
	}
	fprintf(f,
		"counters %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		c->peers_accepted, c->peers_rejected, c->peers_disconnected, c->protocol_errors,
		c->wire_messages_sent, c->messages_sent, c->messages_received,
		c->messages_unacknowledged, c->messages_unknown, c->interrupts_sent,
		c->interrupts_received, c->interrupts_full, c->log_suppressed, c->shm_resizes,
		c->peers_delayed, c->admission_pauses);
	if (s->fabric)
		fprintf(f, "next-tag %" PRIu64 "\n", fabric_next_tag(s->fabric));

	for (Peer *p = s->oldest; p; p = p->newer) {
		const FabricPeer *fp = &p->fabric;

		fprintf(f, "peer %u %" PRIu64 " %d %u %u %" PRIu64 " %" PRIu64 "\n", p->id,
			p->join_seq, (int)p->pid, (unsigned)p->uid, (unsigned)p->gid,
			p->connected_at, p->interrupts_sent);
		fprintf(f,
			"fabric %u %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d %" PRIx64
			" %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			"\n",
			p->id, fp->cclass[0] ? fp->cclass : "-", fp->sid0, fp->cid0, fp->rfc_tag,
			fp->configured, fp->attributes_lost | fp->attributes_asked << 1,
			fp->known_ids[0], fp->known_ids[1],
			fp->known_ids[2], fp->known_ids[3], fp->messages_sent,
			fp->messages_received, fp->messages_unacknowledged);
		if (!with_queues)
			continue;
		/* What has not reached the peer yet, so it gets it after the restart. */
		for (size_t i = 0; i < outq_length(&p->outq); i++) {
			const OutQueueEntry *e = outq_at(&p->outq, i);
			const char *name = queued_fd_name(&names, e->fd);

			fprintf(f, "queue %u %zu %" PRId64 " %s\n", p->id,
				i == 0 ? p->outq.head_sent : 0, e->value, name ? name : "?");
		}
	}
	fprintf(f, "end\n");
	queued_fd_names_done(&names);
	return 0;
}

int fdstore_save_state(Switch *s, bool with_queues)
{
	_cleanup_close_ int fd = -1;
	char *buf = NULL;
	size_t size = 0;
	char name[64], old[64];
	FILE *f;
	int r;

	if (!enabled)
		return 0;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	s->state_generation++;
	r = write_state(s, f, with_queues);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		return log_warning_errno(ENOMEM, "cannot write the state for the fd store: %m");
	}
	fd = memfd_create("famez-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size) {
		free(buf);
		return log_warning_errno(errno, "cannot write the state for the fd store: %m");
	}
	free(buf);
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);

	/* The new one first, then the old: a complete state is stored at every moment. */
	snprintf(name, sizeof(name), "%sstate-%c", s->fd_prefix,
		 s->state_generation % 2 ? 'a' : 'b');
	snprintf(old, sizeof(old), "%sstate-%c", s->fd_prefix, s->state_generation % 2 ? 'b' : 'a');
	fdstore_remove(name);
	fdstore_push(name, fd);
	fdstore_remove(old);
	return 0;
}

/* ---- reading it back ---- */

typedef struct SavedQueueEntry {
	int64_t value;
	char fd_name[64];
	size_t head_sent;
} SavedQueueEntry;

typedef struct SavedPeer {
	unsigned id;
	uint64_t join_seq;
	int pid;
	unsigned uid, gid;
	uint64_t connected_at, interrupts_sent;
	FabricPeer fabric;
	SavedQueueEntry *queue;
	size_t n_queue, queue_cap;
	bool has_queue;
} SavedPeer;

typedef struct SavedDepartures {
	uint32_t from, to; /* IDs */
	uint64_t seq;
} SavedDepartures;

typedef struct SavedState {
	uint64_t generation;
	char mode[16];
	unsigned vectors, max_peers;
	uint64_t shm_size;
	uint32_t next_id;
	uint64_t seq;
	SavedDepartures *departed;
	size_t n_departed, departed_cap;
	SwitchCounters counters;
	uint64_t next_tag;
	SavedPeer *peers;
	size_t n_peers, peers_cap;
	uint32_t *peer_index; /* by ID: 1 + its place in peers, 0 if none */
	bool complete;
} SavedState;

static void saved_state_done(SavedState *st)
{
	for (size_t i = 0; i < st->n_peers; i++)
		free(st->peers[i].queue);
	free(st->peers);
	free(st->peer_index);
	free(st->departed);
	memset(st, 0, sizeof(*st));
}

static SavedPeer *saved_peer(SavedState *st, unsigned id)
{
	if (!st->peer_index || id > WIRE_ID_MAX || !st->peer_index[id])
		return NULL;
	return &st->peers[st->peer_index[id] - 1];
}

static int parse_line(SavedState *st, char *line)
{
	char word[32];
	int n;

	if (sscanf(line, "%31s%n", word, &n) != 1)
		return -EBADMSG;
	line += n;
	if (strcmp(word, "generation") == 0)
		return sscanf(line, "%" SCNu64, &st->generation) == 1 ? 0 : -EBADMSG;
	if (strcmp(word, "config") == 0)
		return sscanf(line, "%15s %u %u %" SCNu64, st->mode, &st->vectors, &st->max_peers,
			      &st->shm_size) == 4
			       ? 0
			       : -EBADMSG;
	if (strcmp(word, "ids") == 0)
		return sscanf(line, "%" SCNu32 " %" SCNu64, &st->next_id, &st->seq) == 2 ? 0
											 : -EBADMSG;
	if (strcmp(word, "departed") == 0) {
		uint32_t from, to;
		uint64_t seq;

		/* "departed FROM TO SEQ", or "departed ID SEQ" as famezd 0.1.0 wrote it. */
		n = sscanf(line, "%" SCNu32 " %" SCNu32 " %" SCNu64, &from, &to, &seq);
		if (n == 2) {
			seq = to;
			to = from;
		} else if (n != 3 || to < from || to > WIRE_ID_MAX) {
			return -EBADMSG;
		}
		if (grow_array(&st->departed, &st->departed_cap, st->n_departed + 1,
			       sizeof(*st->departed)) < 0)
			return -ENOMEM;
		st->departed[st->n_departed++] = (SavedDepartures){ from, to, seq };
		return 0;
	}
	if (strcmp(word, "counters") == 0) {
		SwitchCounters *c = &st->counters;

		/* Eleven, as famezd 0.1.0 wrote them, or sixteen. */
		return sscanf(line,
			      "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			      " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			      " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			      &c->peers_accepted, &c->peers_rejected, &c->peers_disconnected,
			      &c->protocol_errors, &c->wire_messages_sent, &c->messages_sent,
			      &c->messages_received, &c->messages_unacknowledged,
			      &c->messages_unknown, &c->interrupts_sent, &c->interrupts_received,
			      &c->interrupts_full, &c->log_suppressed, &c->shm_resizes,
			      &c->peers_delayed, &c->admission_pauses) >= 11
			       ? 0
			       : -EBADMSG;
	}
	if (strcmp(word, "next-tag") == 0)
		return sscanf(line, "%" SCNu64, &st->next_tag) == 1 ? 0 : -EBADMSG;
	if (strcmp(word, "peer") == 0) {
		SavedPeer *p;

		if (grow_array(&st->peers, &st->peers_cap, st->n_peers + 1, sizeof(*p)) < 0)
			return -ENOMEM;
		if (!st->peer_index &&
		    !(st->peer_index = calloc(WIRE_ID_MAX + 1, sizeof(*st->peer_index))))
			return -ENOMEM;
		p = &st->peers[st->n_peers];
		memset(p, 0, sizeof(*p));
		if (sscanf(line, "%u %" SCNu64 " %d %u %u %" SCNu64 " %" SCNu64, &p->id,
			   &p->join_seq, &p->pid, &p->uid, &p->gid, &p->connected_at,
			   &p->interrupts_sent) != 7 ||
		    p->id > WIRE_ID_MAX || saved_peer(st, p->id))
			return -EBADMSG;
		st->peer_index[p->id] = (uint32_t)++st->n_peers;
		return 0;
	}
	if (strcmp(word, "fabric") == 0) {
		char cclass[FABRIC_CCLASS_MAX];
		int configured, lost;
		unsigned id;
		SavedPeer *p;
		FabricPeer *fp;

		if (sscanf(line, "%u", &id) != 1 || !(p = saved_peer(st, id)))
			return -EBADMSG;
		fp = &p->fabric;
		if (sscanf(line,
			   "%u %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %d %d %" SCNx64 " %" SCNx64
			   " %" SCNx64 " %" SCNx64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			   &id, cclass, &fp->sid0, &fp->cid0, &fp->rfc_tag, &configured, &lost,
			   &fp->known_ids[0], &fp->known_ids[1], &fp->known_ids[2],
			   &fp->known_ids[3], &fp->messages_sent, &fp->messages_received,
			   &fp->messages_unacknowledged) != 14)
			return -EBADMSG;
		snprintf(fp->cclass, sizeof(fp->cclass), "%s", strcmp(cclass, "-") ? cclass : "");
		fp->configured = configured;
		/* Bit 0: the request was lost; bit 1: it is outstanding (earlier famezd: 0 or 1). */
		fp->attributes_lost = lost & 1;
		fp->attributes_asked = lost & 2;
		return 0;
	}
	/* "gone N": earlier famezd stored departed peers' eventfds; see queued_fd(). */
	if (strcmp(word, "gone") == 0)
		return 0;
	if (strcmp(word, "queue") == 0) {
		SavedQueueEntry e = { 0 };
		unsigned id;
		SavedPeer *p;

		if (sscanf(line, "%u %zu %" SCNd64 " %63s", &id, &e.head_sent, &e.value,
			   e.fd_name) != 4 ||
		    !(p = saved_peer(st, id)))
			return -EBADMSG;
		if (grow_array(&p->queue, &p->queue_cap, p->n_queue + 1, sizeof(*p->queue)) < 0)
			return -ENOMEM;
		p->queue[p->n_queue++] = e;
		p->has_queue = true;
		return 0;
	}
	if (strcmp(word, "end") == 0) {
		st->complete = true;
		return 0;
	}
	return -EBADMSG;
}

static int parse_state(int fd, SavedState *st)
{
	_cleanup_close_ int copy = dup(fd);
	char line[512];
	FILE *f;
	int r = 0;

	memset(st, 0, sizeof(*st));
	if (copy < 0 || lseek(copy, 0, SEEK_SET) < 0)
		return -errno;
	f = fdopen(TAKE_FD(copy), "r");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) || strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)))
		r = -EBADMSG;
	while (r >= 0 && fgets(line, sizeof(line), f))
		r = parse_line(st, line);
	fclose(f);
	if (r >= 0 && !st->complete)
		r = -EBADMSG;
	if (r < 0)
		saved_state_done(st);
	return r;
}

/* The newest complete state of the two kept. */
static int read_state(const char *prefix, StoredFds *stored, SavedState *st)
{
	SavedState a, b;
	int fa = -1, fb = -1, ra = -ENOENT, rb = -ENOENT;
	char na[64], nb[64];

	snprintf(na, sizeof(na), "%sstate-a", prefix);
	snprintf(nb, sizeof(nb), "%sstate-b", prefix);
	for (size_t i = 0; i < stored->n; i++) {
		if (strcmp(stored->names[i], na) == 0)
			fa = stored->fds[i];
		if (strcmp(stored->names[i], nb) == 0)
			fb = stored->fds[i];
	}
	if (fa >= 0)
		ra = parse_state(fa, &a);
	if (fb >= 0)
		rb = parse_state(fb, &b);
	if (ra < 0 && rb < 0)
		return fa < 0 && fb < 0 ? -ENOENT : -EBADMSG;
	if (ra >= 0 && (rb < 0 || a.generation >= b.generation)) {
		*st = a;
		if (rb >= 0)
			saved_state_done(&b);
	} else {
		*st = b;
		if (ra >= 0)
			saved_state_done(&a);
	}
	return 0;
}

bool fdstore_has_usable_state(Switch *s, StoredFds *stored)
{
	const SwitchConfig *c = &s->config;
	const char *reason;
	char shm[64];
	SavedState st;
	bool same;

	if (read_state(s->fd_prefix, stored, &st) < 0)
		return false;
	same = strcmp(st.mode, switch_mode_to_string(c->mode)) == 0 && st.vectors == c->vectors &&
	       st.max_peers == c->max_peers && st.shm_size == c->shm.size;
	snprintf(shm, sizeof(shm), "%sshm", s->fd_prefix);
	if (same && stored_fds_has(stored, shm)) {
		saved_state_done(&st);
		return true;
	}
	if (same) {
		reason = "its shared memory was not stored";
	} else {
		reason = "the switch's configuration changed";
		switch_log(s, LOG_WARNING,
			   "the stored state is for %s mode, %u vectors, %u peers, %" PRIu64
			   " bytes; the switch now runs %s mode, %u vectors, %u peers, %" PRIu64
			   " bytes",
			   st.mode, st.vectors, st.max_peers, st.shm_size,
			   switch_mode_to_string(c->mode), c->vectors, c->max_peers, c->shm.size);
	}
	for (size_t i = 0; i < st.n_peers; i++)
		switch_log(s, LOG_WARNING, "peer %u (pid %d) dropped: %s", st.peers[i].id,
			   st.peers[i].pid, reason);
	/* Now, before the switch stores new fds under the same names. */
	stored_fds_drop_switch(stored, s->fd_prefix);
	saved_state_done(&st);
	return false;
}

/*
 * famezd 0.1.0 stored each eventfd as "vec-ID-V": taken, they are stored again the way this
 * famezd does, so that a departure removes them.
 */
static void take_vectors_one_by_one(const char *prefix, StoredFds *stored, unsigned id, FdRef **v,
				    unsigned n)
{
	char name[64];
	int fd;

	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%svec-%u-%u", prefix, id, i);
		fd = stored_fds_take(stored, name);
		if (fd < 0 || !(v[i] = fdref_new(fd)))
			return;
	}
	/* The old names go only once the new form is stored. */
	if (push_vectors(prefix, id, v, n) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%svec-%u-%u", prefix, id, i);
		fdstore_remove(name);
	}
}

/* The eventfds of a restored ivshmem-mode peer: from "vecs-ID-C" (see push_vectors()). */
static FdRef **take_peer_vectors(Switch *s, StoredFds *stored, unsigned id)
{
	unsigned n = s->config.vectors, done = 0;
	FdRef **v = calloc(n, sizeof(*v));
	int fds[STASH_FDS_MAX];
	char name[64];

	if (!v)
		return NULL;
	if (!stored_fds_has(stored, stash_name(s->fd_prefix, id, 0, name)))
		take_vectors_one_by_one(s->fd_prefix, stored, id, v, n);
	else
		for (unsigned c = 0; done < n; c++) {
			unsigned k = MIN(n - done, STASH_FDS_MAX);
			int stash = stored_fds_take(stored, stash_name(s->fd_prefix, id, c, name));
			int r = stash < 0 ? -ENOENT : unstash_fds(stash, fds, k);

			safe_close(stash);
			if (r < 0)
				break;
			for (unsigned i = 0; i < k; i++)
				v[done + i] = fdref_new(fds[i]); /* NULL when out of memory */
			done += k;
		}
	for (unsigned i = 0; i < n; i++)
		if (!v[i])
			goto fail;
	return v;
fail:
	for (unsigned i = 0; i < n; i++)
		fdref_unref(v[i]);
	free(v);
	return NULL;
}

/*
 * What queued messages carry in place of a departed peer's eventfd: nobody reads that eventfd
 * any more, so one fresh eventfd stands for them all. Created on first use.
 */
static FdRef *gone_fd(FdRef **gone)
{
	int fd;

	if (!*gone) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return NULL;
		*gone = fdref_new(fd);
	}
	return *gone;
}

/* An fd a saved queue entry names, among what was restored. */
static FdRef *queued_fd(Switch *s, FdRef **gone, const char *name)
{
	unsigned id, v;
	Peer *p;

	if (strcmp(name, "-") == 0)
		return NULL;
	if (strcmp(name, "shm") == 0)
		return s->shm;
	/* Or "gone-K", as earlier famezd wrote it (the stored fd is dropped as unused). */
	if (strncmp(name, "gone", 4) == 0)
		return gone_fd(gone);
	/* A peer's decoy (peer.h): any eventfd nobody listens to will do; it gets its own. */
	if (sscanf(name, "decoy-%u", &id) == 1) {
		p = id <= WIRE_ID_MAX ? s->peers_by_id[id] : NULL;
		return p && p->decoy ? p->decoy : gone_fd(gone);
	}
	if (sscanf(name, "%*[a-z]-%u-%u", &id, &v) != 2 || id > WIRE_ID_MAX)
		return NULL;
	p = s->peers_by_id[id];
	if (p && v < p->n_vectors)
		return p->vectors[v];
	if (s->fabric && v < s->config.vectors) {
		FdRef **iv = fabric_id_vectors(s->fabric, id);

		return iv ? iv[v] : NULL;
	}
	return NULL;
}

/*
 * systemd drops a stored connection once its client closes it. Such a peer is restored on a
 * connection closed already, so that it departs like any other: counted, and announced to every
 * peer after what they were still to receive.
 */
static int closed_connection(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	close(sv[1]);
	return sv[0];
}

int fdstore_restore_peers(Switch *s, StoredFds *stored)
{
	SavedState st;
	FdRef *gone = NULL;
	unsigned restored = 0;
	int r;

	r = read_state(s->fd_prefix, stored, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_warning_errno(r, "the stored state cannot be read; starting afresh");

	idalloc_set_cursor(s->ids, st.next_id, st.seq);
	for (size_t i = 0; i < st.n_departed; i++)
		for (uint32_t id = st.departed[i].from; id <= st.departed[i].to; id++)
			(void)idalloc_restore_id(s->ids, id, false, st.departed[i].seq);
	if (idalloc_restore_done(s->ids) < 0)
		log_warning("out of memory counting the IDs left to give; departures may use up "
			    "IDs that could have been parked");
	s->counters = st.counters;
	if (s->fabric)
		fabric_set_next_tag(s->fabric, st.next_tag);

	for (size_t i = 0; i < st.n_peers; i++) {
		SavedPeer *sp = &st.peers[i];
		char name[64];
		struct stat sb;
		FdRef **vectors = NULL;
		Peer *p;
		int fd;

		snprintf(name, sizeof(name), "%speer-%u", s->fd_prefix, sp->id);
		fd = stored_fds_take(stored, name);
		if (fd < 0 && (fd = closed_connection()) >= 0)
			log_info("peer %u closed its connection while famezd was not running",
				 sp->id);
		if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
			log_warning("peer %u is in the stored state but its connection is not "
				    "stored; dropping it",
				    sp->id);
			safe_close(fd);
			fdstore_remove_peer(s->fd_prefix, sp->id,
					    s->fabric ? 0 : s->config.vectors);
			continue;
		}
		if (!s->fabric && !(vectors = take_peer_vectors(s, stored, sp->id))) {
			log_warning("peer %u's eventfds are not all stored; disconnecting it",
				    sp->id);
			safe_close(fd);
			fdstore_remove_peer(s->fd_prefix, sp->id,
					    s->fabric ? 0 : s->config.vectors);
			continue;
		}
		r = peer_restore(s, fd, sp->id, sp->join_seq, vectors, &p);
		if (r < 0) {
			log_warning_errno(r, "cannot restore peer %u: %m; disconnecting it",
					  sp->id);
			safe_close(fd);
			fdstore_remove_peer(s->fd_prefix, sp->id,
					    s->fabric ? 0 : s->config.vectors);
			continue;
		}
		p->pid = sp->pid;
		p->vm_name = vm_name_of_pid(p->pid);
		p->uid = sp->uid;
		uid_limits_joined(s->shared->uid_limits, p->uid);
		p->gid = sp->gid;
		p->connected_at = sp->connected_at;
		p->interrupts_sent = sp->interrupts_sent;
		p->fabric = sp->fabric;
		restored++;
	}

	/* Second pass: what was queued refers to eventfds of peers restored above. */
	for (size_t i = 0; i < st.n_peers; i++) {
		SavedPeer *sp = &st.peers[i];
		Peer *p = s->peers_by_id[sp->id];

		if (!p || !sp->has_queue)
			continue;
		for (size_t k = 0; k < sp->n_queue; k++) {
			FdRef *ref = queued_fd(s, &gone, sp->queue[k].fd_name);

			if (strcmp(sp->queue[k].fd_name, "-") != 0 && !ref) {
				log_warning(
					"peer %u was still to receive a message with an fd that "
					"is gone; disconnecting it so it starts over",
					p->id);
				peer_depart(p, PEER_DEPART_SEND_FAILED);
				p = NULL;
				break;
			}
			peer_restore_queue(p, sp->queue[k].value, ref,
					   k == 0 ? sp->queue[k].head_sent : 0);
		}
		if (p)
			peer_flush(p);
	}

	fdref_unref(gone); /* the queues hold it from now on */
	s->state_generation = st.generation;
	log_info("restored %u of %zu peers from systemd's fd store", restored, st.n_peers);
	saved_state_done(&st);
	return restored > 0;
}
