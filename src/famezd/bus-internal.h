/* SPDX-License-Identifier: MIT */
#pragma once

/* What bus-server.c, bus-switch.c and bus-peer.c share; the rest of famezd sees bus.h. */

#include "bus.h"
#include "log.h"

typedef struct PolkitRegistry PolkitRegistry;
typedef struct Router Router;

#define BUS_NAME "org.famez"
#define BUS_PATH "/org/famez"
#define BUS_PEER_PATH "/org/famez/peer" /* the default switch's peers */
/* BUS_SWITCH_PATH/NAME: every switch, with its peers in BUS_SWITCH_PATH/NAME/peer. */
#define BUS_SWITCH_PATH "/org/famez/switch"
#define BUS_SERVER_INTERFACE "org.famez.Server1"
#define BUS_SWITCH_INTERFACE "org.famez.Switch1"
#define BUS_PEER_INTERFACE "org.famez.Peer1"
/* Long enough for BUS_SWITCH_PATH/NAME/peer/ID. */
#define BUS_PATH_MAX 96

/* Named errors; their messages say what was wrong. */
#define BUS_ERROR_NO_SUCH_PEER "org.famez.Error.NoSuchPeer"
#define BUS_ERROR_INVALID_VECTOR "org.famez.Error.InvalidVector"
#define BUS_ERROR_VECTOR_FULL "org.famez.Error.VectorFull"
#define BUS_ERROR_NOT_IN_FABRIC_MODE "org.famez.Error.NotInFabricMode"
#define BUS_ERROR_MESSAGE_TOO_LONG "org.famez.Error.MessageTooLong"
#define BUS_ERROR_INVALID_MESSAGE "org.famez.Error.InvalidMessage"
#define BUS_ERROR_QUEUE_FULL "org.famez.Error.QueueFull"
#define BUS_ERROR_TIMEOUT "org.famez.Error.Timeout"
#define BUS_ERROR_NO_SUCH_SWITCH "org.famez.Error.NoSuchSwitch"
#define BUS_ERROR_NO_SUCH_LINK "org.famez.Error.NoSuchLink"
#define BUS_ERROR_CONTROL_REFUSED "org.famez.Error.ControlRefused"

struct BusService {
	Switch **switches; /* famezd's, the default first; not owned */
	size_t n_switches;
	Router *router; /* the fabric they make: switches[i] is its switch i; not owned */
	sd_bus *bus;
	PolkitRegistry *polkit;
	RateLimit message_signals;
	uint64_t message_signals_dropped;
};

/* The members every switch publishes, on Server1 and on Switch1 (bus-switch.c). */
extern const sd_bus_vtable bus_switch_vtable[];
/* What Switch1 has on top of them: its Name and, in fabric mode, its SID (else 0). */
extern const sd_bus_vtable bus_switch_identity_vtable[];
/* A switch's Switch1 object, and where its peers are below it. */
void bus_switch_path(const Switch *s, char path[BUS_PATH_MAX]);
void bus_switch_peers_path(const Switch *s, char path[BUS_PATH_MAX]);
/* Asks polkit whether the caller of m may do action on switch s (polkit.h); details name it. */
int bus_authorize(Switch *s, sd_bus_message *m, const char *action, bool interactive,
		  sd_bus_error *error);
/* Answers the oldest Ping() waiting for p: with its round trip, or with error_message. 0: none. */
int bus_ping_reply(Peer *p, const char *error_message);

extern const sd_bus_vtable bus_peer_vtable[];
int bus_peer_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
		  void **found, sd_bus_error *error);
int bus_peer_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
		       sd_bus_error *error);
/* peers_path/ID: a peer's object where its switch's object (Server1 or Switch1) lists it. */
int bus_peer_path(const char *peers_path, const Peer *p, char **ret);
Peer *bus_lookup_peer(Switch *s, uint16_t id, sd_bus_error *error);
int bus_send_interrupt(Switch *s, sd_bus_message *m, Peer *p, uint32_t vector, int interactive,
		       sd_bus_error *error);
int bus_send_message(Switch *s, sd_bus_message *m, Peer *p, const char *text, int interactive,
		     sd_bus_error *error);
int bus_disconnect_peer(Switch *s, sd_bus_message *m, Peer *p, int interactive,
			sd_bus_error *error);
/* The peer's nodename from its mailbox slot ("" in ivshmem mode). */
void bus_peer_nodename(Switch *s, const Peer *p, char out[32]);
/* Fabric mode: "up" once joined, "configured" once it acknowledged a CTL-Write; "" otherwise. */
const char *bus_peer_link_state(const Peer *p);
/* The SID and CID the fabric manager gave the peer; 0 and 0 until it is configured. */
void bus_peer_assignment(const Peer *p, uint64_t *sid, uint64_t *cid);
/* Its C-Class: what it answered when asked, until then what its slot says ("" in ivshmem mode). */
void bus_peer_cclass(const Peer *p, char out[32]);

/* The fabric's members (bus-fabric.c): Server1's on the BusService, every switch's on it. */
extern const sd_bus_vtable bus_fabric_server_vtable[];
extern const sd_bus_vtable bus_fabric_switch_vtable[];
