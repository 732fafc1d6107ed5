/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "control-msg.h"
#include "envelope.h"
#include "fdref.h"
#include "idalloc.h"
#include "log.h"
#include "shm.h"
#include "uidlimit.h"

typedef struct Peer Peer;
typedef struct Fabric Fabric;
typedef struct BusService BusService;
typedef struct StoredFds StoredFds;
typedef struct Switch Switch;

/* What became of a route request (router.h). */
typedef enum RouteOutcome {
	ROUTE_TAKEN,   /* queued for the destination (or consumed by the switch it was for) */
	ROUTE_REFUSED, /* a NAK: the status says why */
	ROUTE_HELD,    /* not now: the sender's slot stays unacknowledged */
} RouteOutcome;

/*
 * What a switch tells the layer above it (the Server, server.h, which passes it on to the D-Bus
 * API and to systemd): calls go down, these come up. Any of them may be NULL.
 */
typedef struct SwitchEvents {
	void (*peer_connected)(void *data, Switch *s, Peer *p);
	void (*peer_disconnected)(void *data, Switch *s, Peer *p, const char *reason);
	void (*message_received)(void *data, Switch *s, Peer *p, const char *text);
	void (*peer_count_changed)(void *data, Switch *s);
	void (*pong)(void *data, Switch *s, Peer *p);      /* p answered the oldest Ping() */
	void (*ping_lost)(void *data, Switch *s, Peer *p); /* p did not take a ping */
	/* Queued eventfds hold too many of famezd's fds: see switch_drop_idle_holders(). */
	void (*fds_short)(void *data, Switch *s);
	/* p's slot holds a route request (envelope.h): where it goes is the fabric's business. */
	RouteOutcome (*route)(void *data, Switch *s, Peer *p, const char *text,
			      const Envelope *env, EnvelopeStatus *status);
	/*
	 * A message of the switch's slot for dest is done: acknowledged (delivered) or not; a
	 * relay (relayed) names its sender with the token it was given.
	 */
	void (*mail_done)(void *data, Switch *s, unsigned dest, uint64_t token, bool relayed,
			  bool delivered);
	/*
	 * A control request p sent the switch itself, directly: true with the answer's text, or
	 * false when text is none.
	 */
	bool (*control_request)(void *data, Switch *s, Peer *p, const char *text, char *answer,
				size_t size);
	/* A control answer from p (control-msg.h): true when someone waited for that tag. */
	bool (*control_answer)(void *data, Switch *s, Peer *p, const ControlMsg *answer);
	/* The switch's own SID and CID, as its control space holds them: false while none. */
	bool (*own_ids)(void *data, Switch *s, uint64_t *sid, uint64_t *cid);
} SwitchEvents;

/* What every switch of one famezd shares; owned by the Server. */
typedef struct SwitchShared {
	UidLimits *uid_limits; /* a user's peers count on every switch together */
	unsigned max_peers_per_uid, max_join_rate;
	RateLimit peer_log_limit; /* lines about all peers together (peer_log) */
	const SwitchEvents *events;
	void *events_data;
	/* Someone is told of peer counts (a bus, systemd): without, a join costs no status turn. */
	bool status_wanted;
} SwitchShared;

#define switch_emit(s, event, ...)                                                                 \
	do {                                                                                       \
		const SwitchShared *_sh = (s)->shared;                                             \
		if (_sh->events && _sh->events->event)                                             \
			_sh->events->event(_sh->events_data, (s), ##__VA_ARGS__);                  \
	} while (0)

/* Counted since start; read by the management API later, logged at exit. */
typedef struct SwitchCounters {
	uint64_t peers_accepted;
	uint64_t peers_rejected;
	uint64_t peers_delayed;    /* newcomers that waited for their uid's turn to join */
	uint64_t admission_pauses; /* times newcomers waited for fds held for slow readers */
	uint64_t peers_disconnected;
	uint64_t protocol_errors;
	uint64_t wire_messages_sent;
	/* Fabric mode. */
	uint64_t messages_sent; /* mailbox messages the receiver acknowledged */
	uint64_t messages_received;
	uint64_t messages_unacknowledged; /* timed out, or dropped for a silent receiver */
	uint64_t messages_unknown;
	uint64_t interrupts_sent;     /* rung by the server */
	uint64_t interrupts_received; /* rung at the server */
	uint64_t interrupts_full;     /* receivers found with a full counter (docs/dbus.md) */
	uint64_t log_suppressed;      /* lines about peers held back by the rate limits */
	uint64_t shm_resizes;         /* times a peer resized the memory and famezd undid it */
	/* Routed messages (router.h). */
	uint64_t relays_routed;  /* that crossed this switch (left it by a port) */
	uint64_t relays_dropped; /* queued here, then not acknowledged by their receiver */
	uint64_t relays_refused; /* NAKed here */
} SwitchCounters;

struct Switch {
	sd_event *event;
	SwitchShared *shared;
	SwitchConfig config; /* owned */
	bool is_default;     /* the switch of famezd's options, at /org/famez on D-Bus */
	size_t index;        /* in the fabric's order (router.h) */
	char log_prefix[SWITCH_NAME_MAX + 10]; /* "switch NAME: ", "" for the default one */

	int listen_fd;
	char *socket_path; /* what we listen on, for logs */
	bool socket_bound; /* we bound it ourselves, so we remove it at exit */
	dev_t socket_dev;  /* identity of the file we bound, so we never remove another's */
	ino_t socket_ino;
	sd_event_source *listen_source;
	int reserve_fd; /* released to accept and refuse a client when out of fds */

	FdRef *shm;
	ShmWatch *shm_watch; /* for memory that cannot be sealed (shm.h) */
	uint8_t *mailbox;    /* fabric mode: the start of the shared memory, mapped */
	size_t mailbox_map_size;
	Fabric *fabric;            /* fabric mode */
	BusService *bus;           /* the D-Bus API, or NULL (set by it, not owned) */
	uint64_t started_at;       /* CLOCK_REALTIME, µs */
	bool restoring;            /* peers come back from systemd's fd store */
	uint64_t state_generation; /* of the state in the fd store */
	IdAllocator *ids;
	Peer **peers_by_id;    /* WIRE_ID_MAX + 1 entries */
	Peer *oldest, *newest; /* connected peers in join order */
	unsigned n_peers;

	struct Waiting *waiting_oldest, *waiting_newest; /* newcomers waiting for their turn */
	sd_event_source *waiting_timer;

	Peer *broken, *broken_tail;         /* peers waiting for the reaper, oldest first */
	sd_event_source *reap_source;       /* disconnects peers whose sends failed */
	sd_event_source *status_source;     /* coalesces STATUS= updates */
	sd_event_source *flush_timer;       /* retries sends that failed with ETOOMANYREFS */
	sd_event_source *trim_timer;        /* gives the heap of a drained burst back (peer.c) */
	size_t fd_limit;                    /* RLIMIT_NOFILE */
	sd_event_source *fd_pressure_timer; /* while newcomers wait for fds (server.c) */

	SwitchCounters counters;
	RateLimit refuse_ratelimit;
};

/* Its name in systemd's fd store (fdstore.h): NULL for the default switch's, as before switches. */
static inline const char *switch_store_name(const Switch *s)
{
	return s->is_default ? NULL : s->config.name;
}

/* stored: what systemd passed (socket activation, fd store), or NULL. */
/* Takes config's strings, whatever the outcome. */
int switch_new(Switch **ret, sd_event *event, SwitchShared *shared, SwitchConfig *config,
	       StoredFds *stored);
Switch *switch_free(Switch *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Switch *, switch_free);

/* Lines about a switch say which one, unless it is the default one (famezd's only, so far). */
#define switch_log(s, level, ...)                                                                  \
	(void)log_internal_prefixed((level), 0, (s)->log_prefix, __VA_ARGS__)
#define switch_log_errno(s, level, error, ...)                                                     \
	log_internal_prefixed((level), (error), (s)->log_prefix, __VA_ARGS__)

/* systemd's name for the socket of switch NAME: "switch-NAME" (famez-switch@.socket). */
#define SWITCH_SOCKET_FD_PREFIX "switch-"

/* Takes a socket from systemd or binds config->socket_path, and starts accepting. */
int switch_start(Switch *s, StoredFds *stored);

/* The line that says what it serves, once famezd is ready. */
void switch_log_ready(const Switch *s);

/*
 * Disconnects the peers that hold eventfds beyond their handshake in their queues and did not
 * read for a second (while newcomers wait for fds).
 */
void switch_drop_idle_holders(Switch *s);

/* Called by peers when something worth a STATUS= line changed. */
void switch_status_changed(Switch *s);

/* Called for a peer whose socket failed in the middle of other work: disconnected soon. */
void switch_schedule_reap(Switch *s, Peer *p);
/* Disconnects the peers marked broken now, e.g. before the state is saved at a stop. */
void switch_reap(Switch *s);

/* Arms a short timer that flushes every peer with flush_later set. */
void switch_schedule_flush(Switch *s);
/*
 * A peer's queue gave back the ring a burst grew (a newcomer's handshake: 4 messages per peer
 * and vector): the heap is trimmed a second later, once for all that drain meanwhile, so that
 * famezd's resident memory follows its peers rather than its largest burst.
 */
void switch_schedule_trim(Switch *s);
