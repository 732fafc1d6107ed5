/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * The management API on D-Bus: org.famez.Server1 at /org/famez, org.famez.Peer1 at
 * /org/famez/peer/<id> (docs/dbus.md). Reading is open; every method that changes something
 * asks polkit first (polkit.h).
 */

typedef struct Switch Switch;
typedef struct Peer Peer;
typedef struct BusService BusService;

typedef enum BusKind {
	BUS_NONE,
	BUS_SYSTEM,
	BUS_USER,
} BusKind;

#define BUS_NAME "org.famez"
#define BUS_PATH "/org/famez"
#define BUS_PEER_PATH "/org/famez/peer"
#define BUS_SERVER_INTERFACE "org.famez.Server1"
#define BUS_PEER_INTERFACE "org.famez.Peer1"

/* Named errors; their messages say what was wrong. */
#define BUS_ERROR_NO_SUCH_PEER "org.famez.Error.NoSuchPeer"
#define BUS_ERROR_INVALID_VECTOR "org.famez.Error.InvalidVector"
#define BUS_ERROR_VECTOR_FULL "org.famez.Error.VectorFull"
#define BUS_ERROR_NOT_IN_FABRIC_MODE "org.famez.Error.NotInFabricMode"
#define BUS_ERROR_MESSAGE_TOO_LONG "org.famez.Error.MessageTooLong"
#define BUS_ERROR_INVALID_MESSAGE "org.famez.Error.InvalidMessage"
#define BUS_ERROR_QUEUE_FULL "org.famez.Error.QueueFull"
#define BUS_ERROR_TIMEOUT "org.famez.Error.Timeout"

/*
 * Connects to the bus, publishes the objects and takes the name. `required`: a bus that cannot
 * be reached is an error (else a warning, and no API). Logs why it failed; -errno.
 */
int bus_service_new(BusService **ret, sd_event *event, Switch *const *switches, size_t n_switches,
		    BusKind kind, bool required);
BusService *bus_service_free(BusService *b);

/* Events the API reports; each is a no-op without a bus (b NULL). */
void bus_peer_connected(BusService *b, Switch *s, Peer *p);
void bus_peer_disconnected(BusService *b, Switch *s, Peer *p, const char *reason);
void bus_message_received(BusService *b, Switch *s, Peer *p, const char *text);
void bus_peer_count_changed(BusService *b, Switch *s);

/* A pong from p answers the oldest Ping() to it; a ping it did not take fails it. */
void bus_pong(BusService *b, Switch *s, Peer *p);
void bus_ping_lost(BusService *b, Switch *s, Peer *p);

/* Internal to bus-server.c and bus-peer.c. */
extern const sd_bus_vtable bus_peer_vtable[];
int bus_peer_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
		  void **found, sd_bus_error *error);
int bus_peer_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
		       sd_bus_error *error);
int bus_peer_path(const Peer *p, char **ret);
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
