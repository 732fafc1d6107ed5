/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "topology.h"

#define UNREACHED UINT_MAX

/* The CID strides a switch may get, most readable first (topology.h). */
static const unsigned cid_strides[] = { 100, 16, 1 };

static bool is_link_port(const TopoSwitch *sw, unsigned port)
{
	unsigned first = topology_first_link_port(sw->n_clients);

	return port >= first && port - first < TOPOLOGY_LINKS_MAX;
}

unsigned topology_id_of_cid(const TopoSwitch *sw, unsigned cid)
{
	unsigned id;

	if (sw->cid_stride == 0 || cid <= sw->cid_base || (cid - sw->cid_base) % sw->cid_stride)
		return 0;
	/* Past the base and on the stride: at least 1. */
	id = (cid - sw->cid_base) / sw->cid_stride;
	return (uint64_t)id <= (uint64_t)sw->n_clients + 1 ? id : 0;
}

int topology_assign_cids(Topology *t, char *err, size_t err_size)
{
	for (size_t i = 0; i < t->n; i++) {
		TopoSwitch *sw = &t->switches[i];
		uint64_t ids = (uint64_t)sw->n_clients + 1;
		unsigned k = 0, j = 0, block;

		sw->cid_base = sw->cid_stride = 0;
		if (!sw->up || sw->external)
			continue;
		for (size_t o = 0; o < t->n; o++)
			if (t->switches[o].up && !t->switches[o].external &&
			    t->switches[o].sid == sw->sid) {
				k++;
				j += o < i;
			}
		block = TOPOLOGY_CID_SPACE / k / 16 * 16;
		for (size_t s = 0; s < ELEMENTSOF(cid_strides) && !sw->cid_stride; s++)
			if (ids * cid_strides[s] < block)
				sw->cid_stride = cid_strides[s];
		if (!sw->cid_stride) {
			if (err && err_size > 0)
				snprintf(err, err_size,
					 "SID %u: switch %s needs %llu CIDs (%u clients and "
					 "itself), "
					 "but %u switches share the subnet's %d CIDs, %u each; "
					 "give it "
					 "fewer clients or move a switch to another SID",
					 sw->sid, sw->name ? sw->name : "?",
					 (unsigned long long)ids, sw->n_clients, k,
					 TOPOLOGY_CID_SPACE, block);
			return -ERANGE;
		}
		sw->cid_base = j * block;
		sw->cid = topology_cid(sw, sw->n_clients + 1);
		sw->cid_valid = true;
		sw->relay = true;
	}
	return 0;
}

static TopoLink *find_link(TopoSwitch *sw, unsigned port)
{
	for (unsigned i = 0; i < MIN(sw->n_links, (unsigned)TOPOLOGY_LINKS_MAX); i++)
		if (sw->links[i].port == port)
			return &sw->links[i];
	return NULL;
}

const TopoLink *topology_link(const TopoSwitch *sw, unsigned port)
{
	return find_link((TopoSwitch *)sw, port);
}

int topology_connect(Topology *t, size_t a, unsigned port_a, size_t b, unsigned port_b)
{
	TopoSwitch *sa, *sb;

	if (a >= t->n || b >= t->n || a == b)
		return -EINVAL;
	sa = &t->switches[a];
	sb = &t->switches[b];
	if (!is_link_port(sa, port_a) || !is_link_port(sb, port_b))
		return -EINVAL;
	if (find_link(sa, port_a) || find_link(sb, port_b))
		return -EEXIST;
	/* Distinct link ports, TOPOLOGY_LINKS_MAX of them: a switch without port_a has room. */
	sa->links[sa->n_links++] = (TopoLink){ port_a, (unsigned)b, port_b, true };
	sb->links[sb->n_links++] = (TopoLink){ port_b, (unsigned)a, port_a, true };
	return 0;
}

int topology_set_link_up(Topology *t, size_t sw, unsigned port, bool up)
{
	TopoLink *l, *peer;

	if (sw >= t->n || !(l = find_link(&t->switches[sw], port)))
		return -ENOENT;
	l->up = up;
	if (l->peer_switch < t->n && (peer = find_link(&t->switches[l->peer_switch], l->peer_port)))
		peer->up = up;
	return 0;
}

/*
 * Whether messages cross link l of switch index from: up at both ends, listed at both ends
 * (each naming the other), between link ports of two switches that are up.
 */
static bool link_usable(const Topology *t, size_t from, const TopoLink *l)
{
	const TopoSwitch *peer;
	const TopoLink *back;

	if (!l->up || l->peer_switch >= t->n || l->peer_switch == from ||
	    !is_link_port(&t->switches[from], l->port))
		return false;
	peer = &t->switches[l->peer_switch];
	if (!peer->up || !is_link_port(peer, l->peer_port))
		return false;
	back = topology_link(peer, l->peer_port);
	return back && back->up && back->peer_switch == from && back->peer_port == l->port;
}

/*
 * Breadth-first from switch index from: dist[i] links to switch i (UNREACHED), egress[i] the
 * lowest first link port of the shortest paths. Every switch of one distance is dequeued before
 * any of the next, and only those of the one before label it: a label is final when dequeued.
 * With within_subnet, only through switches of from's subnet: a switch of another one routes by
 * SID, and cannot tell which switch of a subnet split in two a CID is on.
 */
static int reach(const Topology *t, size_t from, bool within_subnet, unsigned *dist,
		 unsigned *egress)
{
	_cleanup_free_ size_t *queue = calloc(t->n, sizeof(*queue));
	size_t head = 0, tail = 0;

	if (!queue)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		dist[i] = UNREACHED;
	dist[from] = 0;
	egress[from] = 0;
	queue[tail++] = from;
	while (head < tail) {
		size_t v = queue[head++];
		const TopoSwitch *sw = &t->switches[v];

		for (unsigned i = 0; i < MIN(sw->n_links, (unsigned)TOPOLOGY_LINKS_MAX); i++) {
			const TopoLink *l = &sw->links[i];
			unsigned label = v == from ? l->port : egress[v];
			size_t w = l->peer_switch;

			if (!link_usable(t, v, l) ||
			    (within_subnet && t->switches[w].sid != t->switches[from].sid))
				continue;
			if (dist[w] == UNREACHED) {
				dist[w] = dist[v] + 1;
				egress[w] = label;
				queue[tail++] = w;
			} else if (dist[w] == dist[v] + 1 && label < egress[w])
				egress[w] = label;
		}
	}
	return 0;
}

static RouteRow *row_new(unsigned size, unsigned refs)
{
	RouteRow *row = calloc(1, sizeof(RouteRow) + (size_t)size * sizeof(RouteEntry));

	if (row)
		row->refs = refs;
	return row;
}

/* A table whose n_ports ingress ports share one empty row. */
static RouteRow **table_new(unsigned n_ports, unsigned size)
{
	RouteRow **rows = calloc(n_ports, sizeof(*rows));
	RouteRow *row = row_new(size, n_ports);

	if (!rows || !row) {
		free(rows);
		free(row);
		return NULL;
	}
	for (unsigned p = 0; p < n_ports; p++)
		rows[p] = row;
	return rows;
}

static void table_free(RouteRow **rows, unsigned n_ports)
{
	if (!rows)
		return;
	for (unsigned p = 0; p < n_ports; p++)
		if (rows[p] && --rows[p]->refs == 0)
			free(rows[p]);
	free(rows);
}

SwitchRoutes *routes_free(SwitchRoutes *r)
{
	if (!r)
		return NULL;
	table_free(r->lprt, r->n_ports);
	table_free(r->mprt, r->n_ports);
	free(r);
	return NULL;
}

static RouteEntry route_entry(unsigned egress, unsigned hops)
{
	return (RouteEntry){ .egress = (uint16_t)egress,
			     .hops = (uint8_t)MIN(hops, (unsigned)UINT8_MAX),
			     .valid = true };
}

/*
 * Fills the shared rows of r, switch index self's routes, from where every switch is: dist and
 * egress over the whole fabric (the MPRT), local over the subnet's switches only (the LPRT).
 */
static void routes_fill(SwitchRoutes *r, const Topology *t, size_t self, const unsigned *dist,
			const unsigned *egress, const unsigned *local_dist,
			const unsigned *local_egress)
{
	const TopoSwitch *me = &t->switches[self];
	RouteEntry *lprt = r->lprt[0]->entries, *mprt = r->mprt[0]->entries;

	for (size_t i = 0; i < t->n; i++) {
		const TopoSwitch *sw = &t->switches[i];
		RouteEntry *e;

		if (sw->sid != me->sid) {
			if (dist[i] == UNREACHED)
				continue;
			e = &mprt[sw->sid];
			if (!e->valid || dist[i] < e->hops ||
			    (dist[i] == e->hops && egress[i] < e->egress))
				*e = route_entry(egress[i], dist[i]);
			continue;
		}
		if (sw->cid_stride == 0 || local_dist[i] == UNREACHED)
			continue;
		for (unsigned id = 1; id <= sw->n_clients + 1; id++) {
			unsigned cid = topology_cid(sw, id);

			if (cid >= r->lprt_size)
				break;
			if (i != self)
				lprt[cid] = route_entry(local_egress[i], local_dist[i]);
			else if (id <= sw->n_clients)
				lprt[cid] = route_entry(id, 0); /* the client port is the ID */
		}
	}
}

int routes_compute(const Topology *t, size_t sw, SwitchRoutes **ret)
{
	_cleanup_free_ unsigned *dist = NULL, *egress = NULL, *local_dist = NULL,
				*local_egress = NULL;
	const TopoSwitch *me;
	SwitchRoutes *routes;
	unsigned max_sid = 0;
	int r;

	if (!t || !ret || sw >= t->n)
		return -EINVAL;
	me = &t->switches[sw];
	/* Ports are 16 bits in a route entry; SIDs are 16 bits on the wire. */
	if (me->n_clients > UINT16_MAX - 1 - TOPOLOGY_LINKS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		if (t->switches[i].sid > UINT16_MAX)
			return -EINVAL;
		max_sid = MAX(max_sid, t->switches[i].sid);
	}

	routes = calloc(1, sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	routes->n_ports = topology_first_link_port(me->n_clients) + TOPOLOGY_LINKS_MAX;
	routes->lprt_size = TOPOLOGY_CID_SPACE;
	routes->mprt_size = me->external ? TOPOLOGY_EXTERNAL_SIDS : max_sid + 1;
	routes->lprt = table_new(routes->n_ports, routes->lprt_size);
	routes->mprt = table_new(routes->n_ports, routes->mprt_size);
	if (!routes->lprt || !routes->mprt) {
		routes_free(routes);
		return -ENOMEM;
	}
	if (me->up && !me->external) {
		dist = calloc(t->n, sizeof(*dist));
		egress = calloc(t->n, sizeof(*egress));
		local_dist = calloc(t->n, sizeof(*local_dist));
		local_egress = calloc(t->n, sizeof(*local_egress));
		r = dist && egress && local_dist && local_egress ? reach(t, sw, false, dist, egress)
								 : -ENOMEM;
		if (r >= 0)
			r = reach(t, sw, true, local_dist, local_egress);
		if (r < 0) {
			routes_free(routes);
			return r;
		}
		routes_fill(routes, t, sw, dist, egress, local_dist, local_egress);
	}
	*ret = routes;
	return 0;
}

static RouteRow **table_of(const SwitchRoutes *r, RouteTableKind kind, unsigned *size)
{
	*size = kind == ROUTE_LPRT ? r->lprt_size : r->mprt_size;
	return kind == ROUTE_LPRT ? r->lprt : kind == ROUTE_MPRT ? r->mprt : NULL;
}

const RouteEntry *routes_get(const SwitchRoutes *r, RouteTableKind kind, unsigned ingress,
			     unsigned index)
{
	RouteRow **rows;
	unsigned size;

	if (!r || ingress >= r->n_ports)
		return NULL;
	rows = table_of(r, kind, &size);
	if (!rows || index >= size || !rows[ingress])
		return NULL;
	return &rows[ingress]->entries[index];
}

int routes_set(SwitchRoutes *r, RouteTableKind kind, unsigned ingress, unsigned index, RouteEntry e)
{
	RouteRow **rows, *row;
	unsigned size;

	if (!r || ingress >= r->n_ports)
		return -EINVAL;
	rows = table_of(r, kind, &size);
	if (!rows || index >= size || !rows[ingress])
		return -EINVAL;
	row = rows[ingress];
	if (row->refs > 1) {
		RouteRow *copy = row_new(size, 1);

		if (!copy)
			return -ENOMEM;
		memcpy(copy->entries, row->entries, (size_t)size * sizeof(RouteEntry));
		row->refs--;
		rows[ingress] = row = copy;
	}
	row->entries[index] = e;
	return 0;
}

RouteVerdict routes_lookup(const TopoSwitch *sw, const SwitchRoutes *r, unsigned ingress,
			   unsigned dest_cid, unsigned dest_sid, unsigned *egress)
{
	const RouteEntry *e;

	if (!sw || !r || !sw->up || ingress == 0)
		return TOPOLOGY_NO_ROUTE;
	if (dest_sid == sw->sid) {
		if (sw->cid_valid && ingress < r->n_ports && dest_cid == sw->cid)
			return TOPOLOGY_LOCAL;
		e = routes_get(r, ROUTE_LPRT, ingress, dest_cid);
	} else
		e = routes_get(r, ROUTE_MPRT, ingress, dest_sid);
	if (!e || !e->valid)
		return TOPOLOGY_NO_ROUTE;
	if (egress)
		*egress = e->egress;
	return TOPOLOGY_EGRESS;
}
