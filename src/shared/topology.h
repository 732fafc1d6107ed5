/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The fabric famezd's switches make together: their ports and links, the component IDs they
 * give, and the routes between them, kept as Gen-Z keeps them. Pure: no I/O, no logging.
 *
 * Ports (Gen-Z interfaces) of a fabric switch with n client slots: 1..n are the client ports
 * (port i is the peer with ID i), n + 1 is the switch itself (its own mailbox slot; never a
 * route's egress), link ports are n + 2 .. n + 1 + TOPOLOGY_LINKS_MAX.
 *
 * CIDs: the switches of one subnet (one SID) share its 12-bit CID space. Switch j of the k in a
 * subnet (in famezd's order: the default switch first, then by name) gives ID i (1..n + 1, the
 * switch itself n + 1) the CID base + i * stride, with block = (4096 / k) rounded down to a
 * multiple of 16, base = j * block, and stride the largest of 100, 16 and 1 for which
 * (n + 1) * stride < block. A switch alone in its subnet thus keeps FAME-Z's rule (ID x 100,
 * or ID x 16 beyond 39 clients). Only switches that are up count: famezd assigns CIDs once, from
 * its configuration (ivshmem-mode switches are down), and keeps them when a switch goes down.
 *
 * Routes: shortest paths in links crossed, ties to the lowest egress port; paths may cross
 * switches of other subnets. A link carries messages when both of its ends list it (each naming
 * the other), both say it is up, its ports are link ports and both switches are up. Each switch
 * keeps an LPRT (indexed by ingress port, then destination CID within its subnet) and an MPRT
 * (ingress port, then destination SID of another subnet); an entry is the egress port, the hop
 * count (links from this switch to the destination's switch: 0 for its own client ports) and a
 * valid bit. Rows are shared between ingress ports until one is written (routes_set() copies
 * it first): one row per table in memory while famezd computes them, one per written port once
 * a manager writes them.
 */

#define TOPOLOGY_LINKS_MAX 16
#define TOPOLOGY_CID_SPACE 4096

typedef struct TopoLink {
	unsigned port;        /* this switch's link port */
	unsigned peer_switch; /* index of the other switch */
	unsigned peer_port;
	bool up;
} TopoLink;

typedef struct TopoSwitch {
	const char *name; /* not owned */
	unsigned sid;
	unsigned n_clients; /* client ports 1..n_clients; the switch's own ID n_clients + 1 */
	bool up;            /* a switch that is down carries nothing and is reached by nothing */
	TopoLink links[TOPOLOGY_LINKS_MAX];
	unsigned n_links;
	/*
	 * ManagedBy=external: no CIDs planned, no routes computed. Its manager writes its CID,
	 * SID and tables (control-space.h); until then it routes nothing.
	 */
	bool external;
	/* Filled by topology_assign_cids() (an external switch's by its manager). */
	unsigned cid_base, cid_stride;
	unsigned cid;   /* its own */
	bool cid_valid; /* has one: messages for cid,sid are for it */
	bool relay;     /* relays packets (Component Switch Structure PktRelayEnb) */
} TopoSwitch;

typedef struct Topology {
	TopoSwitch *switches; /* not owned */
	size_t n;
} Topology;

/* The first link port of a switch with n client slots. */
static inline unsigned topology_first_link_port(unsigned n_clients)
{
	return n_clients + 2;
}

/* CID of ID id (1..n_clients + 1) of switch sw. */
static inline unsigned topology_cid(const TopoSwitch *sw, unsigned id)
{
	return sw->cid_base + id * sw->cid_stride;
}

/* The ID (1..n_clients + 1) of sw that has CID cid, or 0. */
unsigned topology_id_of_cid(const TopoSwitch *sw, unsigned cid);

/* SIDs an external switch's MPRT holds (0..4095): its manager picks SIDs among them. */
#define TOPOLOGY_EXTERNAL_SIDS 4096

/*
 * Gives every switch its cid_base and cid_stride (the rule above; 0 and 0 for a switch that is
 * down or external), its own CID and relay on. 0, or -ERANGE with err naming the subnet when its
 * switches cannot all fit in 4096 CIDs: "SID 27: switch c needs 255 CIDs (254 clients and itself),
 * but 17 switches share the subnet's 4096 CIDs, 240 each; give it fewer clients or move a switch to
 * another SID".
 */
int topology_assign_cids(Topology *t, char *err, size_t err_size);

/* The link of sw on port, or NULL. */
const TopoLink *topology_link(const TopoSwitch *sw, unsigned port);

/*
 * Joins port_a of switch index a and port_b of switch index b with a link that is up, listed
 * on both ends. 0; -EINVAL for an index out of range, a switch joined to itself or a port that
 * is not a link port; -EEXIST when a port is linked already.
 */
int topology_connect(Topology *t, size_t a, unsigned port_a, size_t b, unsigned port_b);
/* Takes the link on port of switch index sw up or down, at both ends: 0 or -ENOENT. */
int topology_set_link_up(Topology *t, size_t sw, unsigned port, bool up);

typedef struct RouteEntry {
	uint16_t egress; /* the port the message leaves by */
	uint8_t hops;    /* links from here to the destination's switch */
	bool valid;
} RouteEntry;

typedef enum RouteTableKind {
	ROUTE_LPRT, /* by destination CID, within the subnet */
	ROUTE_MPRT, /* by destination SID, across subnets */
} RouteTableKind;

typedef struct RouteRow {
	unsigned refs; /* ingress ports sharing it */
	RouteEntry entries[];
} RouteRow;

typedef struct SwitchRoutes {
	unsigned n_ports;   /* ports 0..n_ports - 1 have rows (0 and the switch's own: unused) */
	unsigned lprt_size; /* CIDs 0..lprt_size - 1 (TOPOLOGY_CID_SPACE) */
	unsigned mprt_size; /* SIDs 0..mprt_size - 1 (the highest SID of the fabric + 1) */
	RouteRow **lprt;    /* [ingress port] */
	RouteRow **mprt;    /* [ingress port] */
} SwitchRoutes;

/*
 * Computes the routes of switch index sw of t (CIDs assigned): shortest paths over the links
 * that are up, between switches that are up; for an external switch, tables with no valid
 * entry (TOPOLOGY_EXTERNAL_SIDS in its MPRT). 0, -ENOMEM, or -EINVAL for an index out of range,
 * a SID over 16 bits or ports that would not fit in 16 bits; *ret is freed with routes_free().
 */
int routes_compute(const Topology *t, size_t sw, SwitchRoutes **ret);
SwitchRoutes *routes_free(SwitchRoutes *r);

/* The entry for ingress port and index (a CID for the LPRT, a SID for the MPRT), or NULL. */
const RouteEntry *routes_get(const SwitchRoutes *r, RouteTableKind kind, unsigned ingress,
			     unsigned index);
/* Writes one entry of one ingress port's row, unsharing it first: 0, -EINVAL, -ENOMEM. */
int routes_set(SwitchRoutes *r, RouteTableKind kind, unsigned ingress, unsigned index,
	       RouteEntry e);

/*
 * Where a message that entered switch sw by port ingress, for dest_cid,dest_sid, goes, with r
 * the switch's routes:
 * - TOPOLOGY_LOCAL: to the switch itself (its own CID in its subnet);
 * - TOPOLOGY_EGRESS: out of *egress (a client port or a link port; the hops are in the entry);
 * - TOPOLOGY_NO_ROUTE: no valid entry, or nothing to look up: a switch that is down, ingress 0
 *   (no port) or out of range, a CID or SID beyond the tables. Any argument is safe.
 */
typedef enum RouteVerdict {
	TOPOLOGY_LOCAL,
	TOPOLOGY_EGRESS,
	TOPOLOGY_NO_ROUTE,
} RouteVerdict;
RouteVerdict routes_lookup(const TopoSwitch *sw, const SwitchRoutes *r, unsigned ingress,
			   unsigned dest_cid, unsigned dest_sid, unsigned *egress);
