/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "fdref.h"
#include "idalloc.h"
#include "log.h"
#include "shm.h"
#include "uidlimit.h"

typedef struct Peer Peer;
typedef struct Fabric Fabric;
typedef struct BusService BusService;
typedef struct StoredFds StoredFds;

typedef enum ServerMode {
	SERVER_MODE_FABRIC,  /* famezd is a FAME-Z peer with a mailbox (the default) */
	SERVER_MODE_IVSHMEM, /* exactly QEMU's ivshmem-server protocol */
} ServerMode;

const char *server_mode_to_string(ServerMode mode);

typedef struct ServerConfig {
	ServerMode mode;
	const char *socket_path; /* NULL: the default path, unless socket-activated */
	ShmConfig shm;
	unsigned vectors;
	unsigned max_peers;
	size_t max_queue;     /* messages queued to one peer before it counts as not reading */
	size_t max_queue_fds; /* the same in fds: what a peer that never reads keeps open */
	unsigned max_peers_per_uid; /* peers connected and waiting of one uid; 0: no limit */
	unsigned max_join_rate;     /* joins a second of one uid; 0: no limit */
	uint64_t ack_timeout_usec; /* fabric mode: how long a receiver may hold the server's slot */
	unsigned sid;              /* fabric mode: the subnet ID the fabric manager assigns */
	bool shared_vectors;       /* fabric mode: every peer may ring every vector (FAME-Z's way) */
} ServerConfig;

/* Counted since start; read by the management API later, logged at exit. */
typedef struct ServerCounters {
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
	uint64_t interrupts_full;     /* not rung: the receiver's counter was full */
	uint64_t log_suppressed;      /* lines about peers held back by the rate limits */
	uint64_t shm_resizes;         /* times a peer resized the memory and famezd undid it */
} ServerCounters;

typedef struct Server {
	sd_event *event;
	ServerConfig config;

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
	BusService *bus;           /* the D-Bus API, or NULL (owned: freed with the server) */
	uint64_t started_at;       /* CLOCK_REALTIME, µs */
	bool restoring;            /* peers come back from systemd's fd store */
	uint64_t state_generation; /* of the state in the fd store */
	IdAllocator *ids;
	Peer **peers_by_id;    /* WIRE_ID_MAX + 1 entries */
	Peer *oldest, *newest; /* connected peers in join order */
	unsigned n_peers;

	UidLimits *uid_limits;
	struct Waiting *waiting_oldest, *waiting_newest; /* newcomers waiting for their turn */
	sd_event_source *waiting_timer;

	Peer *broken, *broken_tail;         /* peers waiting for the reaper, oldest first */
	sd_event_source *reap_source;       /* disconnects peers whose sends failed */
	sd_event_source *status_source;     /* coalesces STATUS= updates */
	sd_event_source *flush_timer;       /* retries sends that failed with ETOOMANYREFS */
	size_t fd_limit;                    /* RLIMIT_NOFILE */
	sd_event_source *fd_pressure_timer; /* while newcomers wait for fds (server.c) */

	ServerCounters counters;
	RateLimit refuse_ratelimit;
	RateLimit peer_log_limit; /* for the lines about all peers together (peer_log) */
} Server;

/* stored: what systemd passed (socket activation, fd store), or NULL. */
int server_new(Server **ret, sd_event *event, const ServerConfig *config, StoredFds *stored);
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* Takes a socket from systemd or binds config->socket_path, and starts accepting. */
int server_start(Server *s, StoredFds *stored);

/* Called by peers when something worth a STATUS= line changed. */
void server_status_changed(Server *s);

/* Called for a peer whose socket failed in the middle of other work: disconnected soon. */
void server_schedule_reap(Server *s, Peer *p);
/* Disconnects the peers marked broken now, e.g. before the state is saved at a stop. */
void server_reap(Server *s);

/* Arms a short timer that flushes every peer with flush_later set. */
void server_schedule_flush(Server *s);
