/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "topology.h"

/*
 * Routing tables (topology.h) as people read them, and as famezd publishes them (GetRoutes,
 * docs/dbus.md): an LPRT row has 4096 entries, most of them invalid, and its valid ones come in
 * runs that leave by one port with one hop count (every CID of a switch beyond a link); its
 * ingress ports mostly share one row. Pure: no I/O.
 */

/* The valid entries of a row from first to last: every one of them leaves by egress, hops away. */
typedef struct RouteSpan {
	unsigned first,
		last; /* indices (CIDs or SIDs); those between that are invalid go nowhere */
	uint16_t egress;
	uint8_t hops;
} RouteSpan;

/*
 * The next span of row (size entries) at or after *index: from its first valid entry on, up to
 * the last one before a valid entry that leaves by another port or with another hop count.
 * Moves *index past it. false when no valid entry is left.
 */
bool route_span_next(const RouteRow *row, unsigned size, unsigned *index, RouteSpan *span);

/*
 * Whether ingress ports a and b route alike in table kind: they share one row, or their rows
 * hold the same valid entries. A port without a row routes like no other.
 */
bool routes_rows_equal(const SwitchRoutes *r, RouteTableKind kind, unsigned a, unsigned b);

/* The row of ingress port in table kind and its size in entries: NULL when it has none. */
const RouteRow *routes_row(const SwitchRoutes *r, RouteTableKind kind, unsigned ingress,
			   unsigned *size);
