/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "route-span.h"

static bool same_way(const RouteEntry *a, const RouteEntry *b)
{
	return a->egress == b->egress && a->hops == b->hops;
}

bool route_span_next(const RouteRow *row, unsigned size, unsigned *index, RouteSpan *span)
{
	const RouteEntry *e = NULL;
	unsigned i = *index;

	if (!row)
		return false;
	while (i < size && !row->entries[i].valid)
		i++;
	if (i >= size) {
		*index = size;
		return false;
	}
	e = &row->entries[i];
	*span = (RouteSpan){ .first = i, .last = i, .egress = e->egress, .hops = e->hops };
	for (i++; i < size; i++) {
		if (!row->entries[i].valid)
			continue;
		if (!same_way(&row->entries[i], e))
			break;
		span->last = i;
	}
	*index = span->last + 1;
	return true;
}

const RouteRow *routes_row(const SwitchRoutes *r, RouteTableKind kind, unsigned ingress,
			   unsigned *size)
{
	RouteRow **rows;

	if (!r || ingress >= r->n_ports)
		return NULL;
	rows = kind == ROUTE_LPRT ? r->lprt : kind == ROUTE_MPRT ? r->mprt : NULL;
	*size = kind == ROUTE_LPRT ? r->lprt_size : r->mprt_size;
	return rows ? rows[ingress] : NULL;
}

bool routes_rows_equal(const SwitchRoutes *r, RouteTableKind kind, unsigned a, unsigned b)
{
	unsigned size = 0;
	const RouteRow *ra = routes_row(r, kind, a, &size), *rb = routes_row(r, kind, b, &size);

	if (!ra || !rb)
		return false;
	if (ra == rb)
		return true;
	for (unsigned i = 0; i < size; i++) {
		const RouteEntry *x = &ra->entries[i], *y = &rb->entries[i];

		if (x->valid != y->valid || (x->valid && !same_way(x, y)))
			return false;
	}
	return true;
}
