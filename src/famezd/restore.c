/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fabric.h"
#include "fdstore.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "restore.h"
#include "state-format.h"
#include "switch.h"
#include "wire.h"

/* Where each counter of the state's "counters" line lives in a switch's. */
static const size_t counter_offsets[STATE_COUNTERS] = {
	[STATE_COUNTER_PEERS_ACCEPTED] = offsetof(SwitchCounters, peers_accepted),
	[STATE_COUNTER_PEERS_REJECTED] = offsetof(SwitchCounters, peers_rejected),
	[STATE_COUNTER_PEERS_DISCONNECTED] = offsetof(SwitchCounters, peers_disconnected),
	[STATE_COUNTER_PROTOCOL_ERRORS] = offsetof(SwitchCounters, protocol_errors),
	[STATE_COUNTER_WIRE_MESSAGES_SENT] = offsetof(SwitchCounters, wire_messages_sent),
	[STATE_COUNTER_MESSAGES_SENT] = offsetof(SwitchCounters, messages_sent),
	[STATE_COUNTER_MESSAGES_RECEIVED] = offsetof(SwitchCounters, messages_received),
	[STATE_COUNTER_MESSAGES_UNACKNOWLEDGED] = offsetof(SwitchCounters, messages_unacknowledged),
	[STATE_COUNTER_MESSAGES_UNKNOWN] = offsetof(SwitchCounters, messages_unknown),
	[STATE_COUNTER_INTERRUPTS_SENT] = offsetof(SwitchCounters, interrupts_sent),
	[STATE_COUNTER_INTERRUPTS_RECEIVED] = offsetof(SwitchCounters, interrupts_received),
	[STATE_COUNTER_INTERRUPTS_FULL] = offsetof(SwitchCounters, interrupts_full),
	[STATE_COUNTER_LOG_SUPPRESSED] = offsetof(SwitchCounters, log_suppressed),
	[STATE_COUNTER_SHM_RESIZES] = offsetof(SwitchCounters, shm_resizes),
	[STATE_COUNTER_PEERS_DELAYED] = offsetof(SwitchCounters, peers_delayed),
	[STATE_COUNTER_ADMISSION_PAUSES] = offsetof(SwitchCounters, admission_pauses),
};

static uint64_t *counter(SwitchCounters *c, size_t i)
{
	return (uint64_t *)((char *)c + counter_offsets[i]);
}

/* ---- writing the state ---- */

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
	char name[FD_NAME_MAX];
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

/* Adds ref under the name of kind, id and sub (never a switch's: a state is one switch's). */
static void fd_name_add(QueuedFdNames *q, size_t *cap, const FdRef *ref, FdKind kind, unsigned id,
			unsigned sub)
{
	FdName *e;

	if (grow_array(&q->known, cap, q->n_known + 1, sizeof(*q->known)) < 0) {
		q->incomplete = true;
		return;
	}
	e = &q->known[q->n_known];
	if (fd_name_format(e->name, sizeof(e->name), NULL, kind, id, sub) < 0) {
		q->incomplete = true;
		return;
	}
	e->ref = ref;
	q->n_known++;
}

static void add_known_vectors(QueuedFdNames *q, size_t *cap, FdRef **vectors, unsigned n,
			      FdKind kind, unsigned id)
{
	for (unsigned v = 0; vectors && v < n; v++)
		fd_name_add(q, cap, vectors[v], kind, id, v);
}

static void queued_fd_names_build(Switch *s, QueuedFdNames *q)
{
	size_t cap = 0;

	memset(q, 0, sizeof(*q));
	fd_name_add(q, &cap, s->shm, FD_KIND_SHM, 0, 0);
	if (s->fabric)
		for (unsigned id = 0; id <= fabric_server_id(s->fabric); id++)
			add_known_vectors(q, &cap, fabric_existing_id_vectors(s->fabric, id),
					  s->config.vectors, FD_KIND_IDVEC, id);
	else
		for (Peer *p = s->oldest; p; p = p->newer)
			add_known_vectors(q, &cap, p->vectors, p->n_vectors, FD_KIND_VEC, p->id);
	for (Peer *p = s->oldest; p; p = p->newer)
		if (p->decoy)
			fd_name_add(q, &cap, p->decoy, FD_KIND_DECOY, p->id, 0);
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

/* queue_names: NULL but at a graceful stop, when what the peer was still to receive is kept. */
static int save_peer(SavedState *st, Peer *p, const QueuedFdNames *queue_names)
{
	SavedPeer *sp;
	int r;

	r = saved_state_add_peer(st, p->id, &sp);
	if (r < 0)
		return r;
	sp->join_seq = p->join_seq;
	sp->pid = (int)p->pid;
	sp->uid = (unsigned)p->uid;
	sp->gid = (unsigned)p->gid;
	sp->connected_at = p->connected_at;
	sp->interrupts_sent = p->interrupts_sent;
	sp->fabric = p->fabric;
	for (size_t i = 0; queue_names && i < outq_length(&p->outq); i++) {
		const OutQueueEntry *e = outq_at(&p->outq, i);
		const char *name = queued_fd_name(queue_names, e->fd);

		r = saved_peer_queue(sp, e->value, i == 0 ? p->outq.head_sent : 0,
				     name ? name : "?");
		if (r < 0)
			return r;
	}
	return 0;
}

typedef struct DepartureRuns {
	SavedState *st;
	int r;
} DepartureRuns;

static void add_departure_run(uint32_t from, uint32_t to, uint64_t seq, void *data)
{
	DepartureRuns *d = data;

	if (d->r >= 0)
		d->r = saved_state_add_departures(d->st, from, to, seq);
}

/* The allocator's departures, by which connected peers saw them (see idalloc.h). */
static int save_departures(Switch *s, SavedState *st)
{
	uint64_t *joins = malloc(MAX(s->n_peers, 1u) * sizeof(*joins));
	DepartureRuns runs = { .st = st };
	size_t n = 0;

	if (!joins)
		return -ENOMEM;
	for (Peer *p = s->oldest; p; p = p->newer)
		joins[n++] = p->join_seq;
	idalloc_departure_runs(s->ids, joins, n, add_departure_run, &runs);
	free(joins);
	return runs.r;
}

static int save_state(Switch *s, bool with_queues, SavedState *st)
{
	QueuedFdNames names = { 0 };
	int r;

	memset(st, 0, sizeof(*st));
	st->generation = s->state_generation;
	snprintf(st->mode, sizeof(st->mode), "%s", switch_mode_to_string(s->config.mode));
	st->vectors = s->config.vectors;
	st->max_peers = s->config.max_peers;
	st->shm_size = s->config.shm.size;
	idalloc_get_cursor(s->ids, &st->next_id, &st->seq);
	r = save_departures(s, st);
	for (size_t i = 0; i < STATE_COUNTERS; i++)
		st->counters[i] = *counter(&s->counters, i);
	if (s->fabric) {
		st->has_sid = true;
		st->sid = s->config.sid;
		st->has_next_tag = true;
		st->next_tag = fabric_next_tag(s->fabric);
	}
	if (with_queues)
		queued_fd_names_build(s, &names);
	for (Peer *p = s->oldest; r >= 0 && p; p = p->newer)
		r = save_peer(st, p, with_queues ? &names : NULL);
	queued_fd_names_done(&names);
	return r;
}

int restore_save_state(Switch *s, bool with_queues)
{
	SavedState st;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = NULL;
	int r;

	if (!fdstore_enabled())
		return 0;
	s->state_generation++;
	r = save_state(s, with_queues, &st);
	if (r >= 0 && !(f = open_memstream(&buf, &size)))
		r = -ENOMEM;
	if (r >= 0)
		r = state_format(&st, f);
	if (f && fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	saved_state_done(&st);
	if (r < 0) {
		free(buf);
		return switch_log_errno(s, LOG_WARNING, r,
					"cannot write the state for the fd store: %m");
	}
	r = fdstore_push_state(switch_store_name(s), s->state_generation, buf, size);
	free(buf);
	if (r < 0)
		return switch_log_errno(s, LOG_WARNING, r,
					"cannot store the state in the fd store: %m");
	return 0;
}

/* ---- reading it back ---- */

/* State a (which 0) or b (1): 0, -ENOENT when it is not stored, -EBADMSG, -errno. */
static int read_one_state(const StoredFds *stored, const char *switch_name, unsigned which,
			  SavedState *st)
{
	char name[FD_NAME_MAX], *text;
	size_t size;
	int r;

	r = stored_fds_read(stored, fdstore_name(name, switch_name, FD_KIND_STATE, 0, which), &text,
			    &size);
	if (r < 0)
		return r;
	r = state_parse(text, size, st);
	free(text);
	return r;
}

/* The newest complete state of the two kept. */
static int read_state(const char *switch_name, StoredFds *stored, SavedState *st)
{
	SavedState a, b;
	int ra = read_one_state(stored, switch_name, 0, &a);
	int rb = read_one_state(stored, switch_name, 1, &b);

	if (ra < 0 && rb < 0)
		return ra == -ENOENT && rb == -ENOENT ? -ENOENT : -EBADMSG;
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

bool restore_has_usable_state(Switch *s, StoredFds *stored)
{
	const SwitchConfig *c = &s->config;
	char shm[FD_NAME_MAX];
	const char *reason;
	SavedState st;
	bool same;

	if (read_state(switch_store_name(s), stored, &st) < 0)
		return false;
	same = strcmp(st.mode, switch_mode_to_string(c->mode)) == 0 && st.vectors == c->vectors &&
	       st.max_peers == c->max_peers && st.shm_size == c->shm.size;
	fdstore_name(shm, switch_store_name(s), FD_KIND_SHM, 0, 0);
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
	stored_fds_drop_switch(stored, switch_store_name(s));
	saved_state_done(&st);
	return false;
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
	char switch_name[SWITCH_NAME_MAX + 1];
	unsigned id, v;
	FdKind kind;
	Peer *p;

	/* A state is one switch's: the fds its queues name carry no switch's name. */
	if (fd_name_parse(name, switch_name, &kind, &id, &v) < 0 || switch_name[0])
		return NULL;
	switch (kind) {
	case FD_KIND_SHM:
		return s->shm;
	case FD_KIND_GONE:
		return gone_fd(gone);
	case FD_KIND_DECOY:
		/* A peer's decoy (peer.h): any eventfd nobody listens to will do; it gets its own.
		 */
		p = s->peers_by_id[id];
		return p && p->decoy ? p->decoy : gone_fd(gone);
	case FD_KIND_VEC:
	case FD_KIND_IDVEC:
		p = s->peers_by_id[id];
		if (p && v < p->n_vectors)
			return p->vectors[v];
		if (s->fabric && v < s->config.vectors) {
			FdRef **iv = fabric_id_vectors(s->fabric, id);

			return iv ? iv[v] : NULL;
		}
		return NULL;
	default:
		return NULL;
	}
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

/* The restored peer of sp, on its stored connection; false when it cannot be kept. */
static bool restore_peer(Switch *s, StoredFds *stored, const SavedPeer *sp)
{
	char name[FD_NAME_MAX];
	struct stat sb;
	FdRef **vectors = NULL;
	Peer *p;
	int fd, r;

	fd = stored_fds_take(stored,
			     fdstore_name(name, switch_store_name(s), FD_KIND_PEER, sp->id, 0));
	if (fd < 0 && (fd = closed_connection()) >= 0)
		switch_log(s, LOG_INFO,
			   "peer %u closed its connection while famezd was not running", sp->id);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		switch_log(s, LOG_WARNING,
			   "peer %u is in the stored state but its connection is not stored; "
			   "dropping it",
			   sp->id);
		goto drop;
	}
	if (!s->fabric && !(vectors = fdstore_take_peer_vectors(stored, switch_store_name(s),
								sp->id, s->config.vectors))) {
		switch_log(s, LOG_WARNING,
			   "peer %u's eventfds are not all stored; disconnecting it", sp->id);
		goto drop;
	}
	r = peer_restore(s, fd, sp->id, sp->join_seq, vectors, &p);
	if (r < 0) {
		switch_log_errno(s, LOG_WARNING, r, "cannot restore peer %u: %m; disconnecting it",
				 sp->id);
		goto drop;
	}
	p->pid = sp->pid;
	p->uid = sp->uid;
	uid_limits_joined(s->shared->uid_limits, p->uid);
	p->gid = sp->gid;
	p->connected_at = sp->connected_at;
	p->interrupts_sent = sp->interrupts_sent;
	p->fabric = sp->fabric;
	return true;

drop:
	safe_close(fd);
	fdstore_remove_peer(switch_store_name(s), sp->id, s->fabric ? 0 : s->config.vectors);
	return false;
}

/* What peer sp was still to receive, queued again: it refers to eventfds of restored peers. */
static void restore_queue(Switch *s, FdRef **gone, const SavedPeer *sp)
{
	Peer *p = s->peers_by_id[sp->id];

	if (!p || !sp->n_queue)
		return;
	for (size_t k = 0; k < sp->n_queue; k++) {
		FdRef *ref = queued_fd(s, gone, sp->queue[k].fd_name);

		if (strcmp(sp->queue[k].fd_name, "-") != 0 && !ref) {
			switch_log(
				s, LOG_WARNING,
				"peer %u was still to receive a message with an fd that is gone; "
				"disconnecting it so it starts over",
				p->id);
			peer_depart(p, PEER_DEPART_SEND_FAILED);
			return;
		}
		peer_restore_queue(p, sp->queue[k].value, ref, k == 0 ? sp->queue[k].head_sent : 0);
	}
	peer_flush(p);
}

/*
 * The mailbox is not laid out again at a restore, so the SIDs in it are the previous famezd's:
 * another --sid (or SID=) rewrites them. A state written before famezd stored its SID does not
 * say it; the server's slot does.
 */
static void restore_sid(Switch *s, const SavedState *st)
{
	uint64_t was;

	if (!s->fabric)
		return;
	was = st->has_sid ? st->sid : fabric_slot_sid(s->fabric);
	/* The CIDs follow the subnet's switches (topology.h): written again whatever changed. */
	fabric_rewrite_sid(s->fabric);
	if (was != s->config.sid)
		switch_log(s, LOG_NOTICE, "SID changed from %" PRIu64 " to %u: slots rewritten",
			   was, s->config.sid);
}

int restore_peers(Switch *s, StoredFds *stored)
{
	SavedState st;
	FdRef *gone = NULL;
	unsigned restored = 0;
	int r;

	r = read_state(switch_store_name(s), stored, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return switch_log_errno(s, LOG_WARNING, r,
					"the stored state cannot be read; starting afresh");

	idalloc_set_cursor(s->ids, st.next_id, st.seq);
	for (size_t i = 0; i < st.n_departed; i++)
		for (uint32_t id = st.departed[i].from; id <= st.departed[i].to; id++)
			(void)idalloc_restore_id(s->ids, id, false, st.departed[i].seq);
	if (idalloc_restore_done(s->ids) < 0)
		switch_log(s, LOG_WARNING,
			   "out of memory counting the IDs left to give; departures may use up "
			   "IDs that could have been parked");
	for (size_t i = 0; i < STATE_COUNTERS; i++)
		*counter(&s->counters, i) = st.counters[i];
	if (s->fabric)
		fabric_set_next_tag(s->fabric, st.next_tag);

	for (size_t i = 0; i < st.n_peers; i++)
		restored += restore_peer(s, stored, &st.peers[i]);
	/* Second pass: what was queued refers to eventfds of peers restored above. */
	for (size_t i = 0; i < st.n_peers; i++)
		restore_queue(s, &gone, &st.peers[i]);
	restore_sid(s, &st);

	fdref_unref(gone); /* the queues hold it from now on */
	s->state_generation = st.generation;
	switch_log(s, LOG_INFO, "restored %u of %zu peers from systemd's fd store", restored,
		   st.n_peers);
	saved_state_done(&st);
	return restored > 0;
}
