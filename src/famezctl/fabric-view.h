/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * famezctl's pictures of the fabric: what org.famez.Server1.GetTopology and
 * org.famez.Switch1.GetRoutes return (docs/dbus.md), as text a person reads, as Graphviz and as
 * JSON. Pure: it writes to the FILE it is given and asks nothing of famezd, so the unit tests
 * reach it. Strings that peers chose are expected sanitized already (str_sanitize()).
 */

/* A switch (its id is its name) or a peer (its id is SWITCH:ID, the switch and its port). */
typedef struct FabricNode {
	char *id, *name, *cclass, *switch_name;
	uint16_t cid, sid;
	bool configured; /* it has its CID,SID (a switch in ivshmem mode has none) */
	char *manager;   /* who gave them: "famezd", an external manager's "CID,SID", "external" */
} FabricNode;

/* A link between two switches, or a peer's to its switch (the switch is the source). */
typedef struct FabricLink {
	char *source, *target;
	uint16_t source_port, target_port;
	bool up;
} FabricLink;

typedef struct FabricView {
	FabricNode *nodes;
	size_t n_nodes;
	FabricLink *links;
	size_t n_links;
} FabricView;

void fabric_view_done(FabricView *v);
bool fabric_node_is_switch(const FabricNode *n);

/* Every switch with its ports in order: its peers and its links ("port 16 -> b:16 up"). */
void fabric_view_print_tree(const FabricView *v, FILE *f);
/* An undirected Graphviz graph: switches as boxes, peers as ellipses, ports on the edges. */
void fabric_view_print_dot(const FabricView *v, FILE *f);
/*
 * {"nodes":[{id,name,cclass,cid,sid,switch,configured,manager}],
 *  "links":[{source,target,ports,up}]}
 */
void fabric_view_print_json(const FabricView *v, FILE *f);

/* One span of a routing table (GetRoutes): valid entries first..last leave by egress. */
typedef struct RouteLine {
	char *table; /* "LPRT" or "MPRT" */
	uint16_t *ingress;
	size_t n_ingress;
	uint16_t first, last, egress;
	uint8_t hops;
} RouteLine;

/* One switch's tables, as GetRoutes gave them. */
typedef struct SwitchRouteTables {
	char *name;
	uint16_t sid;
	RouteLine *lines;
	size_t n_lines;
} SwitchRouteTables;

void switch_route_tables_done(SwitchRouteTables *t);

/* Ports as ranges, "1-15,17", cut with "..." to fit size (at least 4). */
void format_port_list(const uint16_t *ports, size_t n, char *buf, size_t size);
/*
 * A switch's tables, each group of ingress ports once, its spans below it; the client ports'
 * own CIDs (one each, hops 0) on one line.
 */
void routes_print(const SwitchRouteTables *t, FILE *f);
/* [{"switch","sid","routes":[{table,ingress,first,last,egress,hops}]}] */
void routes_print_json(const SwitchRouteTables *tables, size_t n, FILE *f);
