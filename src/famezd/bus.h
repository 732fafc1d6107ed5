/* SPDX-License-Identifier: MIT */
#pragma once

#include "control-msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * The management API on D-Bus (docs/dbus.md): org.famez.Server1 at /org/famez for the default
 * switch, with its peers (org.famez.Peer1) at /org/famez/peer/<id>; every switch as
 * org.famez.Switch1 at /org/famez/switch/<name>, with its peers below it. Reading is open;
 * every method that changes something asks polkit first (polkit.h), naming the switch.
 */

typedef struct Switch Switch;
typedef struct Peer Peer;
typedef struct BusService BusService;
typedef struct Router Router;

typedef enum BusKind {
	BUS_NONE,
	BUS_SYSTEM,
	BUS_USER,
} BusKind;

/*
 * Connects to the bus, publishes the objects and takes the name: the switches, and the fabric
 * router links them into (router.h; switches[i] is its switch i). `required`: a bus that cannot
 * be reached is an error (else a warning, and no API). Logs why it failed; -errno.
 */
int bus_service_new(BusService **ret, sd_event *event, Switch *const *switches, size_t n_switches,
		    Router *router, BusKind kind, bool required);
BusService *bus_service_free(BusService *b);

/* Events the API reports; each is a no-op without a bus (b NULL). */
void bus_peer_connected(BusService *b, Switch *s, Peer *p);
void bus_peer_disconnected(BusService *b, Switch *s, Peer *p, const char *reason);
void bus_message_received(BusService *b, Switch *s, Peer *p, const char *text);
void bus_peer_count_changed(BusService *b, Switch *s);

/* A pong from p answers the oldest Ping() to it; a ping it did not take fails it. */
void bus_pong(BusService *b, Switch *s, Peer *p);
void bus_ping_lost(BusService *b, Switch *s, Peer *p);
/* A peer's control answer: true when a ReadControl() call waited for its tag. */
bool bus_control_answer(BusService *b, Peer *p, const ControlMsg *answer);
/* The peer leaves: its ReadControl() calls fail. */
void bus_control_reads_fail(Peer *p);
