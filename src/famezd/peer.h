/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "fabric.h"
#include "fdref.h"
#include "log.h"
#include "outq.h"

typedef struct Switch Switch;
typedef struct Peer Peer;
typedef struct BusPing BusPing;
typedef struct BusControlRead BusControlRead;

/* One connected client (a QEMU ivshmem-doorbell device or any other ivshmem client). */
struct Peer {
	Switch *sw;
	uint16_t id;
	int fd;
	sd_event_source *io;
	bool want_write;   /* EPOLLOUT armed because the socket was full */
	bool broken;       /* a send failed: no more queueing, disconnected by the reaper */
	int broken_reason; /* a PeerDepartReason */
	bool flush_later;  /* sending waits for the server's flush timer */
	bool corked;       /* queueing a burst: sent once whole (peer_announce) */

	FdRef **vectors; /* this peer's own eventfds, one per vector */
	unsigned n_vectors;
	/*
	 * Fabric mode without --shared-vectors: the eventfd nobody listens to that this peer gets
	 * for every vector of another peer but the one that names itself (see peer_announce()).
	 */
	FdRef *decoy;
	OutQueue outq;
	size_t queue_limit; /* its queue beyond this: not reading (its handshake + --max-queue) */
	size_t fds_base;  /* fds of its handshake (or restored queue), --max-queue-fds counts on */
	size_t fds_limit; /* fds_base + --max-queue-fds (see too_many_fds_queued()) */
	uint64_t read_at; /* CLOCK_MONOTONIC µs it last took a message */

	uint64_t join_seq;     /* see idalloc.h */
	uint64_t parked_at;    /* its ID came back from the parking lot (idalloc.h), or 0 */
	uint64_t connected_at; /* CLOCK_REALTIME, µs */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char *vm_name; /* peer_vm_name()'s, once read */
	bool vm_name_read;
	uint64_t interrupts_sent; /* rung through the management API */
	BusPing *pings;           /* Ping() calls waiting for this peer's pong, oldest first */
	BusControlRead *control_reads; /* ReadControl() calls waiting for its answers */
	uint64_t protocol_errors;
	RateLimit log_limit;     /* lines about what this peer did (peer_log) */
	uint64_t log_suppressed; /* such lines not logged */

	FabricPeer fabric; /* fabric mode */
	struct {
		unsigned in_flight;          /* its relays queued in famezd */
		bool held;                   /* its slot waits to be tried again (router.h) */
		Peer *held_prev, *held_next; /* the router's list of those */
	} relay;

	Peer *older, *newer; /* Switch's join-order list */
	Peer *next_broken;
};

/* Why a peer leaves, for the log and later for the management API. */
typedef enum PeerDepartReason {
	PEER_DEPART_CLOSED,   /* the client closed or half-closed its end */
	PEER_DEPART_PROTOCOL, /* it wrote to a socket it may only read */
	PEER_DEPART_SEND_FAILED,
	PEER_DEPART_NOT_READING, /* its queue passed --max-queue */
	PEER_DEPART_ADMIN,       /* DisconnectPeer() */
	PEER_DEPART_SHUTDOWN,
} PeerDepartReason;

const char *peer_depart_reason_to_string(PeerDepartReason reason);

/*
 * Admits a freshly accepted connection of the process cred names (SO_PEERCRED): takes an ID,
 * creates its eventfds, queues its handshake and announces it to every other peer. Takes
 * ownership of fd on success; on failure (-ENOSPC no ID may be given, -EMFILE/-ENFILE/-ENOMEM
 * out of resources) the caller refuses the client.
 */
int peer_admit(Switch *s, int fd, const struct ucred *cred, Peer **ret);

/* Sends what the socket takes now; the rest waits for EPOLLOUT. */
void peer_flush(Peer *p);
/*
 * Disconnects the peer if its queue holds too many fds and it does not read (--max-queue-fds),
 * or with fds_short, if it holds any beyond its handshake and did not read for a second.
 */
void peer_check_reading(Peer *p, bool fds_short);

/*
 * After a restart: a peer that was connected before, with its connection, its ID and (ivshmem
 * mode) its eventfds, announced to nobody. The eventfd array is taken in every case, the
 * connection only on success.
 */
int peer_restore(Switch *s, int fd, unsigned id, uint64_t join_seq, FdRef **vectors, Peer **ret);
/* Queues again a message it had not received yet when famezd stopped. */
void peer_restore_queue(Peer *p, int64_t value, FdRef *fd, size_t head_sent);

/* Announces the departure to everyone else, releases the ID and frees the peer. */
void peer_depart(Peer *p, PeerDepartReason reason);

/* The QEMU process's -name, or NULL: read from /proc when first asked for, not at every join. */
const char *peer_vm_name(Peer *p);

/* Drops an eventfd array of n (a peer's, or a parked ID's). */
void peer_free_vectors(FdRef **vectors, unsigned n);

/*
 * Lines about what a peer did go through two rate limits: the peer's own, so that one peer
 * cannot drown the lines about the others, and one for all peers together, so that many
 * cannot flood the journal (journald drops a service's lines beyond its own limit). What is
 * held back is counted (LogMessagesSuppressed on D-Bus). p may be NULL: the shared limit only.
 * A line below the log level costs no budget.
 */
bool peer_log_allowed(Switch *s, Peer *p);
#define PEER_LOG_INTERVAL_USEC (10 * 1000000ULL)
#define PEER_LOG_BURST 20   /* lines about one peer per interval */
#define PEERS_LOG_BURST 500 /* lines about all peers together per interval */
#define peer_log(s, p, level, ...)                                                                 \
	do {                                                                                       \
		if ((level) <= log_get_max_level() && peer_log_allowed((s), (p)))                  \
			switch_log((s), (level), __VA_ARGS__);                                     \
	} while (0)
