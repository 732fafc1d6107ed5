/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control-msg.h"
#include "envelope.h"

/*
 * famez-fm's fabric manager (famez-fm(1)), without I/O: it walks a fabric by
 * directed relay from its own bridge, gives every component a CID from a pool and the SID,
 * records itself as their primary fabric manager, computes shortest paths and writes every
 * requester's SSDT and every switch's LPRT, and reads every write back. The caller moves its
 * control requests (FmOps.send) and hands it their answers (fm_on_answer) and the time
 * (fm_on_tick); everything else is here, so tests drive it against simulated fabrics.
 *
 * Addresses: a directed path of egress ports from the manager's switch (envelope.h: [] is that
 * switch, [p] what is on its port p, ...), or a CID,SID once routes lead there. The manager
 * itself (its own bridge) is FmAddr.self: its control space is the caller's, written through
 * the same FmOps.send and answered at once or later alike.
 *
 * Routes: one subnet (cfg.sid), so SSDTs and LPRTs by CID; or with cfg.subnets one subnet per
 * switch, and MSDTs and MPRTs by SID across them.
 * Shortest paths over the components configured (failed ones are left out), switches relaying,
 * bridges never carrying transit, ties to the lowest egress port. Every bridge's SSDT (the
 * manager's own too) and the LPRT of every switch interface with a link get an entry for every
 * other component reached: V, EI the egress interface (0 for a bridge), and HC = MHC = the
 * switches the packet reaches after it leaves the table's component, the destination
 * included when it is a switch (links crossed - 1, + 1 for a switch destination; famezd's
 * "links from here to the destination's switch"). So in an LPRT: 0 for a bridge on that switch,
 * 1 for a neighbour switch or a bridge on one; in an SSDT: 1 for the bridge's own switch and
 * for another bridge on it. What the last pass routed to and is gone (a component left or
 * failed) has its entries written invalid by the next pass.
 */

typedef struct FabricManager FabricManager;

typedef struct FmAddr {
	bool self;     /* the manager's own bridge */
	bool directed; /* by path; else routed to cid,sid */
	uint8_t path[ENVELOPE_PATH_MAX];
	uint8_t path_len;
	uint16_t cid, sid;
} FmAddr;

typedef struct FmOps {
	/*
	 * Sends a control request (text: CTL-Read or CTL-Write, formatted by control-msg.h) to
	 * `to`: 0, or a negative errno when it cannot go (the manager then takes that component
	 * as unreachable). Its answer comes back through fm_on_answer() with the same tag.
	 */
	int (*send)(void *userdata, const FmAddr *to, const char *text);
	/* A line for the operator (progress and per-component errors), without newline. */
	void (*log)(void *userdata, int priority, const char *line);
} FmOps;

typedef struct FmConfig {
	uint16_t cid_first,
		cid_last;      /* the pool: --cids FIRST-LAST (the manager takes the first) */
	uint16_t sid;          /* every component's SID: --sid */
	uint64_t timeout_usec; /* per request, before it is retried once, then given up */
	unsigned window;       /* requests in flight at once (at least 1) */
	uint8_t uuid[16];      /* MGR-UUID the manager writes */
	/*
	 * --subnets: a subnet per switch. The manager's switch (and its bridges) keep sid, every
	 * other switch found takes the next SID, and the bridges on it that SID. Within a subnet
	 * routes go by CID (SSDT, LPRT), across subnets by SID (MSDT, MPRT) to the subnet's switch.
	 */
	bool subnets;
} FmConfig;

#define FM_SIDS 4096 /* SIDs 0..4095: what famezd's MPRTs hold */

typedef enum FmState {
	FM_IDLE,
	FM_DISCOVERING, /* reading components and configuring each as it is found */
	FM_ROUTING,     /* writing SSDTs and LPRTs */
	FM_VERIFYING,   /* reading them back */
	FM_DONE,        /* a pass finished: see fm_result() */
} FmState;

/* One component the manager found. */
typedef struct FmComponent {
	FmAddr addr;         /* the directed path it was first reached by */
	uint16_t cclass;     /* BaseCClass */
	unsigned interfaces; /* MaxInterface */
	uint16_t cid, sid;   /* what the manager gave it */
	bool configured;     /* its IDs were written and read back */
	bool failed;         /* it answered wrong or not at all: its error is in `error` */
	char error[128];
	uint64_t serial; /* SerialNumber */
} FmComponent;

/* A link: port a_port of component a is joined to port b_port of component b. */
typedef struct FmLink {
	size_t a, b; /* indices in the component list */
	unsigned a_port, b_port;
} FmLink;

int fm_new(FabricManager **ret, const FmConfig *cfg, const FmOps *ops, void *userdata);
FabricManager *fm_free(FabricManager *m);

/* Starts a pass: discovery from scratch, configuration, routes, verification. 0 or -EBUSY. */
int fm_start(FabricManager *m, uint64_t now_usec);
/*
 * An answer (a CTL-Read-Response or a Standalone Acknowledgment text) from `from`, the address
 * as FmOps.send was given it (a switch's answer comes back by a way that ends with the
 * switch's own port: the caller drops it). One whose tag is not in flight, or that comes from
 * another address than its request went to, is ignored and counted.
 */
void fm_on_answer(FabricManager *m, const FmAddr *from, const char *text, uint64_t now_usec);
/*
 * The switch refused request `tag` to `to` (its envelope's status: no route, unreachable,
 * relay disabled): the component fails at once, rather than when the request times out.
 */
void fm_on_unreachable(FabricManager *m, const FmAddr *to, uint16_t tag, uint64_t now_usec);
/* Time passes: requests past their timeout are retried or given up. */
void fm_on_tick(FabricManager *m, uint64_t now_usec);
/* The earliest time fm_on_tick() has something to do, or UINT64_MAX. */
uint64_t fm_next_deadline(const FabricManager *m);

FmState fm_state(const FabricManager *m);
/* After FM_DONE: 0 when every component was configured and verified, else -EIO. */
int fm_result(const FabricManager *m);
size_t fm_n_components(const FabricManager *m);
const FmComponent *fm_component(const FabricManager *m, size_t i);
size_t fm_n_links(const FabricManager *m);
const FmLink *fm_link(const FabricManager *m, size_t i);
/* Requests sent (reads, writes) and microseconds in discovery and in routing + verification. */
void fm_stats(const FabricManager *m, uint64_t *reads, uint64_t *writes, uint64_t *discovery_usec,
	      uint64_t *routing_usec);
/* Answers ignored: not a control answer, a tag not in flight, or from the wrong address. */
uint64_t fm_answers_ignored(const FabricManager *m);

/*
 * Shortest paths, pure: for a graph of n nodes with links (each a pair of node and port at
 * both ends), the egress port at node `from` toward node `to` and the hop count (links crossed;
 * ties: the lowest egress port). egress[i * n + j], hops[i * n + j]; UINT16_MAX where j cannot
 * be reached from i, 0,0 on the diagonal. Only nodes with is_switch relay: a path never crosses
 * a non-switch node in the middle. Links naming a node out of range, joining a node to itself
 * or with a port of 65535 or more are ignored. 0, -ENOMEM, or -EINVAL for n of 65535 or more.
 */
int fm_shortest_paths(size_t n, const bool *is_switch, const FmLink *links, size_t n_links,
		      uint16_t *egress, uint16_t *hops);
