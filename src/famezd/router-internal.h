/* SPDX-License-Identifier: MIT */
#pragma once

#include "control-space.h"
#include "router.h"

/* What router.c and router-control.c share. */

/* The switches and links a route crosses at most: a Gen-Z hop count is 6 bits. */
#define PATH_MAX_HOPS (ENVELOPE_HOPS_MAX + 1)

typedef struct SwitchControl {
	Router *router;
	size_t index;
	ControlSpace *space; /* NULL for a switch that is down (ivshmem mode) */
} SwitchControl;

struct Router {
	sd_event *event;
	Switch **switches; /* not owned */
	size_t n;
	TopoSwitch *topo;
	SwitchRoutes **routes;
	PortCounters **ports; /* [switch][port] */
	SwitchControl *controls;
	Peer *held_first, *held_last;
	sd_event_source *retry; /* tries the held senders again, outside any callback */
};

/* router-control.c */
/* Every switch's control space, as its configuration and the routes make it: 0 or -ENOMEM. */
int router_controls_new(Router *r);
void router_controls_free(Router *r);
/* Whether interface port of switch sw takes directed relay in (IControl IngressDREnb). */
bool router_ingress_directed(const Router *r, size_t sw, unsigned port);
/*
 * Answers a control request text for switch sw from requester: false when text is no control
 * request (nothing to answer), else true with the answer's text in answer.
 */
bool router_control_answer(Router *r, size_t sw, const char *text, uint64_t requester, char *answer,
			   size_t size);
