/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control-space.h"
#include "envelope.h"
#include "switch.h"
#include "topology.h"

/*
 * The fabric the switches make together (docs/switches.md): their links, and the routes famezd
 * computes for them (topology.h). A peer's route request (an envelope in its slot, addressed to
 * a CID,SID) is walked from switch to switch through the routing tables, each hop as Gen-Z does
 * it: the ingress port's LPRT by destination CID within the subnet, the MPRT by SID across
 * subnets. The message is then queued at the destination's switch, which sends it through its
 * own slot with the origin in the envelope.
 *
 * A directed request (an envelope with a path of ports) is walked port by port instead, and
 * delivered with the way back; what ends at a switch is for its control space.
 *
 * Nothing is copied while it cannot go on: a sender at its quota of relays in flight, or whose
 * destination's queue is full, keeps its slot unacknowledged (its driver waits) and is tried
 * again as soon as one of its relays, or one to that destination, is done.
 */

typedef struct Router Router;

/* Relays one sender may have queued in famezd at once; its slot waits beyond that. */
#define ROUTER_SENDER_QUOTA 8

/* Per port of a switch: what crossed it. Client ports count what left for their peer. */
typedef struct PortCounters {
	uint64_t relayed; /* messages that left by this port */
	uint64_t dropped; /* left by it, then not acknowledged by their final receiver */
	uint64_t refused; /* came in by it and got a NAK here */
} PortCounters;

/*
 * The router of switches[0..n) (famezd's order), from their configurations (checked already):
 * every switch's TopoSwitch and routes. 0 or -ENOMEM, -EINVAL (logged).
 */
int router_new(Router **ret, Switch **switches, size_t n);
Router *router_free(Router *r);

/* A route request of peer p of switch sw, whose slot holds text and env. */
RouteOutcome router_route(Router *r, Switch *sw, Peer *p, const char *text, const Envelope *env,
			  EnvelopeStatus *status);
/*
 * A message sw sent dest is done: a relay (relayed) famezd queued for the sender its token
 * names, acknowledged by its receiver (delivered) or not, or any other: room in dest's queue.
 */
void router_done(Router *r, Switch *sw, unsigned dest, uint64_t token, bool relayed,
		 bool delivered);
/* A peer leaves: it is no longer waiting to be tried again, and who waited for it may go on. */
void router_peer_left(Router *r, Peer *p);

/* For the management API. */
size_t router_n_switches(const Router *r);
const TopoSwitch *router_topo(const Router *r, size_t i);
const SwitchRoutes *router_routes(const Router *r, size_t i);
const PortCounters *router_port_counters(const Router *r, size_t i, unsigned port);
/*
 * A control request text peer p sent its switch sw directly (no envelope): true with the answer
 * of sw's control space, false when text is none.
 */
bool router_control_request(Router *r, Switch *sw, Peer *p, const char *text, char *answer,
			    size_t size);
/* Switch i's control space (control-space.h), or NULL (a switch that is down). */
ControlSpace *router_control_space(const Router *r, size_t i);
/*
 * The CID and SID of peer p of sw: what famezd gave it, or under ManagedBy=external what it
 * says its manager gave it. False while it has none.
 */
bool router_peer_gcid(const Switch *sw, const Peer *p, uint16_t *cid, uint16_t *sid);
/* Sets a link (both its ends) up or down and computes every route again: 0 or -ENOENT. */
int router_set_link(Router *r, size_t sw, unsigned port, bool up);
