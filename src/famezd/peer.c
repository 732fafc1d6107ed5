/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "doorbell.h"
#include "fdstore.h"
#include "list.h"
#include "log.h"
#include "peer.h"
#include "switch.h"
#include "time-util.h"
#include "vmname.h"
#include "wire.h"

/* Peers are served before the listening socket, so departures free room before admissions. */
#define PEER_PRIORITY SD_EVENT_PRIORITY_NORMAL
/* A peer that took a message this recently is reading, however far behind. */
#define PEER_READING_USEC (1000 * 1000ULL)
/* While announcing a newcomer, its own handshake is flushed again every so many peers told. */
#define ANNOUNCE_FLUSH_EVERY 64

bool peer_log_allowed(Switch *s, Peer *p)
{
	char what[64];

	if (p) {
		snprintf(what, sizeof(what), "lines about peer %u", p->id);
		if (!log_ratelimit_pass(&p->log_limit, what))
			goto held_back;
	}
	if (log_ratelimit_pass(&s->shared->peer_log_limit, "lines about peers"))
		return true;
held_back:
	s->counters.log_suppressed++;
	if (p)
		p->log_suppressed++;
	return false;
}

const char *peer_depart_reason_to_string(PeerDepartReason reason)
{
	switch (reason) {
	case PEER_DEPART_CLOSED:
		return "closed the connection";
	case PEER_DEPART_PROTOCOL:
		return "sent data, but ivshmem clients only listen";
	case PEER_DEPART_SEND_FAILED:
		return "could not be sent to";
	case PEER_DEPART_NOT_READING:
		return "stopped reading its socket";
	case PEER_DEPART_ADMIN:
		return "disconnected by an administrator";
	case PEER_DEPART_SHUTDOWN:
		return "server shutting down";
	}
	return "unknown";
}

/*
 * A peer that cannot be sent to any more is disconnected by the server's reaper rather than at
 * once: this may run in the middle of a loop over the peer list.
 */
static void peer_mark_broken(Peer *p, PeerDepartReason reason)
{
	if (p->broken)
		return;
	p->broken = true;
	p->broken_reason = reason;
	outq_clear(&p->outq);
	switch_schedule_reap(p->sw, p);
}

static void peer_set_want_write(Peer *p, bool want)
{
	if (p->want_write == want)
		return;
	p->want_write = want;
	sd_event_source_set_io_events(p->io, EPOLLIN | (want ? EPOLLOUT : 0));
}

/* Sends what the socket takes now; the rest waits for EPOLLOUT. */
void peer_flush(Peer *p)
{
	int r;

	uint64_t sent = p->sw->counters.wire_messages_sent;
	bool grown = p->outq.capacity > OUTQ_KEEP;

	p->flush_later = false;
	r = outq_drain(&p->outq, p->fd, &p->sw->counters.wire_messages_sent);
	/* Drained, its burst's ring given back (outq.h): the heap follows. */
	if (grown && p->outq.capacity == 0)
		switch_schedule_trim(p->sw);
	if (p->sw->counters.wire_messages_sent != sent)
		(void)sd_event_now(p->sw->event, CLOCK_MONOTONIC, &p->read_at);

	if (r == -EAGAIN) {
		peer_set_want_write(p, true);
		return;
	}
	if (r == -ETOOMANYREFS) {
		/*
		 * Too many fds of this user are in flight in socket buffers: no EPOLLOUT will
		 * say when that changes, so try again shortly.
		 */
		p->flush_later = true;
		switch_schedule_flush(p->sw);
		return;
	}
	if (r < 0) {
		switch_log_errno(p->sw, LOG_DEBUG, r, "peer %u: send failed: %m", p->id);
		/* A peer that closed its end before we noticed simply left. */
		peer_mark_broken(p, r == -EPIPE || r == -ECONNRESET ? PEER_DEPART_CLOSED
								    : PEER_DEPART_SEND_FAILED);
		return;
	}
	peer_set_want_write(p, false);
}

/*
 * Past --max-queue-fds, what waits for a peer is too much unless the peer is reading (it took
 * something in the last second: a busy QEMU lags, one that never reads does not move); past
 * eight times that, too much in any case. Newcomers wait meanwhile if the fds held for queues
 * grow short (server.c).
 */
static bool too_many_fds_queued(Peer *p)
{
	size_t n = outq_fds(&p->outq);
	uint64_t now = 0;

	if (n < p->fds_limit)
		return false;
	if (n - p->fds_limit >= 7 * (p->fds_limit - p->fds_base))
		return true;
	(void)sd_event_now(p->sw->event, CLOCK_MONOTONIC, &now);
	return now - p->read_at > PEER_READING_USEC;
}

static void peer_not_reading(Peer *p)
{
	peer_log(p->sw, p, LOG_WARNING,
		 "peer %u (pid %d) has %zu messages (%zu fds) waiting and reads none; "
		 "disconnecting it",
		 p->id, (int)p->pid, outq_length(&p->outq), outq_fds(&p->outq));
	p->sw->counters.protocol_errors++;
	peer_mark_broken(p, PEER_DEPART_NOT_READING);
}

void peer_check_reading(Peer *p, bool fds_short)
{
	uint64_t now = 0;

	if (p->broken)
		return;
	if (too_many_fds_queued(p)) {
		peer_not_reading(p);
		return;
	}
	/* With fds short, one that holds some and has not read for a second is let go too. */
	(void)sd_event_now(p->sw->event, CLOCK_MONOTONIC, &now);
	if (fds_short && outq_fds(&p->outq) > p->fds_base && now - p->read_at > PEER_READING_USEC)
		peer_not_reading(p);
}

/* Queues one message. Messages only ever leave through the queue, in order. */
static void peer_queue(Peer *p, int64_t value, FdRef *fd)
{
	bool was_empty = outq_is_empty(&p->outq);

	if (p->broken)
		return;
	if (outq_length(&p->outq) >= p->queue_limit || (fd && too_many_fds_queued(p))) {
		peer_not_reading(p);
		return;
	}
	if (outq_push(&p->outq, value, fd) < 0) {
		switch_log(p->sw, LOG_ERR,
			   "peer %u: out of memory queueing a message; disconnecting it", p->id);
		peer_mark_broken(p, PEER_DEPART_SEND_FAILED);
		return;
	}
	/* A queue that already waits for EPOLLOUT must not be overtaken. */
	if (was_empty && !p->flush_later && !p->corked)
		peer_flush(p);
}

static int peer_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Peer *p = userdata;
	char buf[64];
	ssize_t n;

	(void)source;
	if (revents & EPOLLOUT)
		peer_flush(p);
	if (p->broken)
		return 0;

	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			peer_log(
				p->sw, p, LOG_WARNING,
				"peer %u (pid %d) sent %zd bytes, but ivshmem clients only listen; "
				"disconnecting it",
				p->id, (int)p->pid, n);
			p->sw->counters.protocol_errors++;
			peer_depart(p, PEER_DEPART_PROTOCOL);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			peer_depart(p, PEER_DEPART_CLOSED);
		}
	}
	return 0;
}

static void peer_free(Peer *p)
{
	peer_free_vectors(p->vectors, p->n_vectors);
	outq_clear(&p->outq);
	fdref_unref(p->decoy);
	sd_event_source_disable_unref(p->io);
	safe_close(p->fd);
	free(p->vm_name);
	free(p);
}

/* ivshmem mode: every peer gets eventfds of its own. */
static int peer_create_vectors(Peer *p, unsigned n)
{
	p->vectors = calloc(n, sizeof(*p->vectors));
	if (!p->vectors)
		return -ENOMEM;
	for (; p->n_vectors < n; p->n_vectors++) {
		/* Non-blocking, as QEMU's server makes them (doorbell.h says why it matters). */
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (efd < 0)
			return negative_errno();
		p->vectors[p->n_vectors] = fdref_new(efd);
		if (!p->vectors[p->n_vectors])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Fabric mode: the eventfds belong to the ID and pass from one holder to the next. Unless
 * --shared-vectors, the peer also gets a decoy of its own.
 */
static int peer_borrow_vectors(Peer *p, unsigned id)
{
	FdRef **v = fabric_id_vectors(p->sw->fabric, id);
	unsigned n = p->sw->config.vectors;

	if (!v)
		return negative_errno();
	if (!p->sw->config.shared_vectors || p->sw->config.relay_always) {
		/* Non-blocking like the others, though only this peer ever touches it. */
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return negative_errno();
		p->decoy = fdref_new(fd);
		if (!p->decoy)
			return -ENOMEM;
	}
	p->vectors = calloc(n, sizeof(*p->vectors));
	if (!p->vectors)
		return -ENOMEM;
	for (; p->n_vectors < n; p->n_vectors++)
		p->vectors[p->n_vectors] = fdref_ref(v[p->n_vectors]);
	return 0;
}

/*
 * Whether `to` gets the real eventfd for vector v of peer `id`. In fabric mode the vector is the
 * sender's ID, so a peer needs, of every other peer, only the vector that names itself: on every
 * other one it gets its decoy, and a ring posing as another peer reaches nobody. Its own
 * vectors are all real: it listens on them. With Relay=always it rings nobody but the switch.
 */
static bool peer_may_ring(const Peer *to, unsigned id, unsigned v)
{
	const Switch *s = to->sw;

	if (id == to->id || !to->decoy)
		return true;
	/* Relay=always: only the switch is rung; it routes every message (router.h). */
	if (s->config.relay_always && s->fabric)
		return id == fabric_server_id(s->fabric) && v == to->id;
	return v == to->id;
}

static void peer_queue_vectors(Peer *to, unsigned id, FdRef **vectors, unsigned n)
{
	for (unsigned v = 0; v < n; v++)
		peer_queue(to, id, peer_may_ring(to, id, v) ? vectors[v] : to->decoy);
}

/*
 * Tells the newcomer about everyone (itself last, as QEMU expects), then everyone else about the
 * newcomer. The newcomer goes first because its handshake is what its QEMU waits for; the others
 * need the newcomer's eventfds only to ring it, and it cannot be rung before it is set up anyway.
 *
 * In fabric mode the server is announced as a peer too, and a peer is told of an ID only once:
 * departures are not announced, so an ID it knows keeps its eventfds for the next holder.
 */
static void peer_announce(Peer *p)
{
	Switch *s = p->sw;
	unsigned n = p->n_vectors, told = 0;

	p->queue_limit = p->fds_limit = SIZE_MAX;
	/* The whole handshake goes out in one batch (outq_drain()), not message by message. */
	p->corked = true;
	peer_queue(p, WIRE_PROTOCOL_VERSION, NULL);
	peer_queue(p, p->id, NULL);
	peer_queue(p, WIRE_SHM_ID, s->shm);
	if (s->fabric) {
		unsigned server_id = fabric_server_id(s->fabric);

		peer_queue_vectors(p, server_id, fabric_id_vectors(s->fabric, server_id), n);
		fabric_peer_learn(&p->fabric, server_id);
	}
	for (Peer *other = s->oldest; other; other = other->newer)
		if (other != p) {
			peer_queue_vectors(p, other->id, other->vectors, other->n_vectors);
			fabric_peer_learn(&p->fabric, other->id);
		}
	peer_queue_vectors(p, p->id, p->vectors, n);
	fabric_peer_learn(&p->fabric, p->id);
	p->corked = false;
	if (!p->broken && !p->flush_later)
		peer_flush(p);
	/* However long the handshake: --max-queue and --max-queue-fds count what comes after it. */
	p->queue_limit = outq_length(&p->outq) + s->config.max_queue;
	p->fds_base = outq_fds(&p->outq);
	p->fds_limit = p->fds_base + s->config.max_queue_fds;

	for (Peer *other = s->oldest; other; other = other->newer) {
		if (other == p || (s->fabric && fabric_peer_knows(&other->fabric, p->id)))
			continue;
		/* A parked ID's eventfds are the same: who knew it before it left knows them. */
		if (other->join_seq < p->parked_at)
			continue;
		peer_queue_vectors(other, p->id, p->vectors, n);
		fabric_peer_learn(&other->fabric, p->id);
		/*
		 * A handshake longer than the socket holds waits for its reader: give it what
		 * the reader has made room for now and then, not only after telling everyone.
		 */
		if (++told % ANNOUNCE_FLUSH_EVERY == 0 && !outq_is_empty(&p->outq) &&
		    !p->flush_later)
			peer_flush(p);
	}
}

/*
 * How many of its eventfds go into systemd's fd store with the peer: all in ivshmem mode; none in
 * fabric mode, where the fabric stores each ID's.
 */
static unsigned peer_stored_vectors(const Peer *p)
{
	return p->sw->fabric ? 0 : p->sw->config.vectors;
}

/* Puts a peer into the server's tables and join-order list. */
static void peer_link(Switch *s, Peer *p)
{
	Peer *after = s->newest;

	/* Restored peers come in join order; keep the list sorted by join_seq anyway. */
	while (after && after->join_seq > p->join_seq)
		after = after->older;
	p->older = after;
	p->newer = after ? after->newer : s->oldest;
	if (p->newer)
		p->newer->older = p;
	else
		s->newest = p;
	if (after)
		after->newer = p;
	else
		s->oldest = p;
	s->peers_by_id[p->id] = p;
	s->n_peers++;
}

static int peer_new(Switch *s, int fd, Peer **ret)
{
	Peer *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->sw = s;
	p->fd = -1;
	p->queue_limit = s->config.max_queue;
	p->fds_limit = s->config.max_queue_fds;
	(void)sd_event_now(s->event, CLOCK_MONOTONIC, &p->read_at);
	p->log_limit = RATELIMIT_INIT(PEER_LOG_INTERVAL_USEC, PEER_LOG_BURST);
	r = sd_event_add_io(s->event, &p->io, fd, EPOLLIN, peer_io, p);
	if (r < 0) {
		free(p);
		return r;
	}
	(void)sd_event_source_set_priority(p->io, PEER_PRIORITY);
	(void)sd_event_source_set_description(p->io, "peer");
	*ret = p;
	return 0;
}

int peer_restore(Switch *s, int fd, unsigned id, uint64_t join_seq, FdRef **vectors, Peer **ret)
{
	Peer *p;
	int r;

	r = id > WIRE_ID_MAX || s->peers_by_id[id] ? -EEXIST : peer_new(s, fd, &p);
	if (r < 0) {
		for (unsigned v = 0; vectors && v < s->config.vectors; v++)
			fdref_unref(vectors[v]);
		free(vectors);
		return r;
	}
	if (s->fabric)
		r = peer_borrow_vectors(p, id);
	else {
		p->vectors = vectors;
		p->n_vectors = s->config.vectors;
	}
	if (r < 0 || idalloc_restore_id(s->ids, id, true, 0) < 0) {
		peer_free(p);
		return r < 0 ? r : -EINVAL;
	}
	p->id = (uint16_t)id;
	p->fd = fd;
	p->join_seq = join_seq;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	peer_link(s, p);
	*ret = p;
	return 0;
}

void peer_restore_queue(Peer *p, int64_t value, FdRef *fd, size_t head_sent)
{
	if (outq_push(&p->outq, value, fd) < 0) {
		peer_mark_broken(p, PEER_DEPART_SEND_FAILED);
		return;
	}
	if (outq_length(&p->outq) == 1)
		p->outq.head_sent = head_sent;
	p->queue_limit = outq_length(&p->outq) + p->sw->config.max_queue;
	p->fds_base = outq_fds(&p->outq);
	p->fds_limit = p->fds_base + p->sw->config.max_queue_fds;
}

/* ivshmem mode: a newcomer of the same uid takes a parked ID back, with its eventfds. */
static int peer_unpark(Peer *p)
{
	void *vectors;
	int id = idalloc_take_parked(p->sw->ids, p->uid, &p->join_seq, &p->parked_at, &vectors);

	if (id < 0)
		return id;
	p->vectors = vectors;
	p->n_vectors = p->sw->config.vectors;
	/* Rings for the one who left are not for the newcomer. */
	for (unsigned v = 0; v < p->n_vectors; v++) {
		uint64_t count;

		(void)doorbell_take(p->vectors[v]->fd, &count);
	}
	return id;
}

/* ivshmem mode, IDs running short: the departure is not announced, the ID waits (idalloc.h). */
static bool peer_park(Peer *p)
{
	Switch *s = p->sw;
	uint64_t oldest_seq = s->oldest ? s->oldest->join_seq : IDALLOC_NO_PEERS;

	if (s->fabric || !idalloc_should_park(s->ids, oldest_seq) ||
	    idalloc_park(s->ids, p->id, p->uid, p->vectors) < 0)
		return false;
	p->vectors = NULL;
	p->n_vectors = 0;
	return true;
}

void peer_free_vectors(FdRef **vectors, unsigned n)
{
	for (unsigned v = 0; vectors && v < n; v++)
		fdref_disown(vectors[v]);
	free(vectors);
}

int peer_admit(Switch *s, int fd, const struct ucred *cred, Peer **ret)
{
	uint64_t oldest_seq = s->oldest ? s->oldest->join_seq : IDALLOC_NO_PEERS;
	Peer *p;
	int r, id;

	r = peer_new(s, fd, &p);
	if (r < 0)
		return r;
	p->pid = cred->pid;
	p->uid = cred->uid;
	p->gid = cred->gid;

	if (s->fabric) {
		/* The ID first: its eventfds come with it, and giving it back costs nothing. */
		id = idalloc_take(s->ids, oldest_seq, &p->join_seq);
		if (id < 0) {
			r = id;
			goto fail;
		}
		r = peer_borrow_vectors(p, (unsigned)id);
		if (r < 0) {
			idalloc_release(s->ids, (unsigned)id);
			goto fail;
		}
	} else if ((id = peer_unpark(p)) < 0) {
		/* Resources first, so a refused client never costs an ID. */
		r = peer_create_vectors(p, s->config.vectors);
		if (r < 0)
			goto fail;
		id = idalloc_take(s->ids, oldest_seq, &p->join_seq);
		if (id < 0) {
			r = id;
			goto fail;
		}
	}

	p->id = (uint16_t)id;
	p->fd = fd;
	p->connected_at = now_usec(CLOCK_REALTIME);

	peer_link(s, p);
	uid_limits_joined(s->shared->uid_limits, p->uid);
	s->counters.peers_accepted++;

	if (s->fabric)
		fabric_peer_joined(s->fabric, p);
	/* To survive restarts. */
	fdstore_push_peer(switch_store_name(s), p->id, p->fd, p->vectors, peer_stored_vectors(p));
	peer_announce(p);
	switch_emit(s, peer_connected, p);
	switch_status_changed(s);
	peer_log(s, p, LOG_INFO, "peer %u connected (pid %d, uid %d), %u peers", p->id, (int)p->pid,
		 (int)p->uid, s->n_peers);
	if (ret)
		*ret = p;
	return 0;

fail:
	p->fd = -1; /* the caller keeps the connection to refuse it */
	peer_free(p);
	return r;
}

const char *peer_vm_name(Peer *p)
{
	if (!p->vm_name_read) {
		p->vm_name = vm_name_of_pid(p->pid);
		p->vm_name_read = true;
	}
	return p->vm_name;
}

void peer_depart(Peer *p, PeerDepartReason reason)
{
	Switch *s = p->sw;
	bool parked;

	LIST_UNLINK(s->oldest, s->newest, p, older, newer);
	s->peers_by_id[p->id] = NULL;
	s->n_peers--;
	uid_limits_left(s->shared->uid_limits, p->uid);
	parked = reason != PEER_DEPART_SHUTDOWN && peer_park(p);
	if (!parked)
		idalloc_release(s->ids, p->id);

	/*
	 * Stopping with the fd store: the peer stays connected through systemd for the next
	 * famezd, so its slot and the API's view stay as they are.
	 */
	if (reason == PEER_DEPART_SHUTDOWN && fdstore_enabled()) {
		peer_free(p);
		return;
	}
	if (s->fabric)
		fabric_peer_left(s->fabric, p);
	switch_emit(s, peer_disconnected, p, peer_depart_reason_to_string(reason));
	if (reason != PEER_DEPART_SHUTDOWN) {
		fdstore_remove_peer(switch_store_name(s), p->id, peer_stored_vectors(p));
		s->counters.peers_disconnected++;
		/* In fabric mode the ID stays announced, for its next holder (see fabric.h). */
		for (Peer *other = s->oldest; other && !s->fabric && !parked; other = other->newer)
			peer_queue(other, p->id, NULL);
		peer_log(s, p, reason == PEER_DEPART_CLOSED ? LOG_INFO : LOG_WARNING,
			 "peer %u (pid %d) left: %s; %u peers%s", p->id, (int)p->pid,
			 peer_depart_reason_to_string(reason), s->n_peers,
			 parked ? " (ID parked, not announced: IDs run short)" : "");
	}

	switch_status_changed(s);
	peer_free(p);
}
