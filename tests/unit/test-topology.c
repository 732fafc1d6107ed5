/* SPDX-License-Identifier: MIT */
/* The fabric of linked switches: CIDs, shortest-path routes, LPRT/MPRT rows and lookups. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fabric-msg.h"
#include "testlib.h"
#include "topology.h"

#define CLIENTS 14
#define LINK0 (CLIENTS + 2) /* the first link port of a switch of 14 clients */
#define N_PORTS (LINK0 + TOPOLOGY_LINKS_MAX)
#define SWITCHES_MAX 20

static const char *const names[SWITCHES_MAX] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
						 "k", "l", "m", "n", "o", "p", "q", "r", "s", "t" };
static TopoSwitch switches[SWITCHES_MAX];
static Topology topo;
static SwitchRoutes *routes[SWITCHES_MAX];
static char err[512];

/* n switches of 14 clients, up, in the subnets sids gives (all 27 when NULL), unlinked. */
static void fabric(size_t n, const unsigned *sids)
{
	for (size_t i = 0; i < SWITCHES_MAX; i++)
		routes[i] = routes_free(routes[i]);
	memset(switches, 0, sizeof(switches));
	for (size_t i = 0; i < n; i++)
		switches[i] = (TopoSwitch){ .name = names[i],
					    .sid = sids ? sids[i] : 27,
					    .n_clients = CLIENTS,
					    .up = true };
	topo = (Topology){ switches, n };
}

static void join(size_t a, unsigned port_a, size_t b, unsigned port_b)
{
	ck_assert_int_eq(topology_connect(&topo, a, port_a, b, port_b), 0);
}

/* a - b - c in subnet 27: a's 16 to b's 16, b's 17 to c's 16. */
static void line(void)
{
	fabric(3, NULL);
	join(0, LINK0, 1, LINK0);
	join(1, LINK0 + 1, 2, LINK0);
}

/*
 * a - b - c - d - a in subnet 27: a's 16 to b's 16, b's 17 to c's 16, c's 17 to d's 16 and
 * d's 17 to a's 17, listed first on a: ties must go to the lowest port, not the first listed.
 */
static void ring(void)
{
	fabric(4, NULL);
	join(3, LINK0 + 1, 0, LINK0 + 1);
	join(0, LINK0, 1, LINK0);
	join(1, LINK0 + 1, 2, LINK0);
	join(2, LINK0 + 1, 3, LINK0);
}

/* Assigns the CIDs and computes every switch's routes. */
static void compute(void)
{
	ck_assert_msg(topology_assign_cids(&topo, err, sizeof(err)) == 0, "%s", err);
	for (size_t i = 0; i < topo.n; i++) {
		routes[i] = routes_free(routes[i]);
		ck_assert_int_eq(routes_compute(&topo, i, &routes[i]), 0);
	}
}

static void teardown(void)
{
	for (size_t i = 0; i < SWITCHES_MAX; i++)
		routes[i] = routes_free(routes[i]);
}

/* Switch from's route to ID id of switch to, as every ingress port sees it. */
static void assert_route(size_t from, size_t to, unsigned id, unsigned egress, unsigned hops)
{
	unsigned cid = topology_cid(&switches[to], id);

	/* One assertion per route, not per port: Check's are slow under valgrind. */
	for (unsigned in = 1; in < N_PORTS; in++) {
		const RouteEntry *e = routes_get(routes[from], ROUTE_LPRT, in, cid);
		unsigned out = 0;
		RouteVerdict v = routes_lookup(&switches[from], routes[from], in, cid,
					       switches[to].sid, &out);

		if (!e || !e->valid || e->egress != egress || e->hops != hops ||
		    v != TOPOLOGY_EGRESS || out != egress)
			ck_abort_msg("%s to %s's ID %u (CID %u) from port %u: %s, egress %u, "
				     "hops %u, not egress %u, hops %u",
				     names[from], names[to], id, cid, in,
				     e && e->valid ? "valid" : "no route", e ? e->egress : 0,
				     e ? e->hops : 0, egress, hops);
	}
}

/* Every ID of switch to, from switch from: through link port egress, hops links away. */
static void assert_switch_route(size_t from, size_t to, unsigned egress, unsigned hops)
{
	for (unsigned id = 1; id <= CLIENTS + 1; id++)
		assert_route(from, to, id, egress, hops);
}

static void assert_no_route_to(size_t from, size_t to)
{
	for (unsigned id = 1; id <= CLIENTS + 1; id++) {
		unsigned cid = topology_cid(&switches[to], id);

		ck_assert(!routes_get(routes[from], ROUTE_LPRT, 1, cid)->valid);
		ck_assert_int_eq(routes_lookup(&switches[from], routes[from], 1, cid,
					       switches[to].sid, NULL),
				 TOPOLOGY_NO_ROUTE);
	}
}

/* Switch from's own: its clients on their ports, itself LOCAL. */
static void assert_own(size_t from)
{
	const TopoSwitch *sw = &switches[from];
	unsigned own = topology_cid(sw, CLIENTS + 1);

	for (unsigned id = 1; id <= CLIENTS; id++)
		assert_route(from, from, id, id, 0);
	ck_assert(!routes_get(routes[from], ROUTE_LPRT, 1, own)->valid);
	ck_assert_int_eq(routes_lookup(sw, routes[from], 1, own, sw->sid, NULL), TOPOLOGY_LOCAL);
}

static unsigned valid_entries(size_t from, RouteTableKind kind)
{
	unsigned size = kind == ROUTE_LPRT ? routes[from]->lprt_size : routes[from]->mprt_size;
	unsigned n = 0;

	for (unsigned i = 0; i < size; i++)
		n += routes_get(routes[from], kind, 1, i)->valid;
	return n;
}

START_TEST(test_line)
{
	line();
	compute();

	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(routes[i]->n_ports, N_PORTS);
		ck_assert_uint_eq(routes[i]->lprt_size, TOPOLOGY_CID_SPACE);
		ck_assert_uint_eq(routes[i]->mprt_size, 28);
		/* One row per table, shared by every ingress port, port 0 included. */
		ck_assert_uint_eq(routes[i]->lprt[0]->refs, N_PORTS);
		ck_assert_uint_eq(routes[i]->mprt[0]->refs, N_PORTS);
		ck_assert_ptr_eq(routes[i]->lprt[0], routes[i]->lprt[N_PORTS - 1]);
		assert_own(i);
		ck_assert_uint_eq(valid_entries(i, ROUTE_LPRT), 3 * (CLIENTS + 1) - 1);
		ck_assert_uint_eq(valid_entries(i, ROUTE_MPRT), 0);
	}
	assert_switch_route(0, 1, LINK0, 1);
	assert_switch_route(0, 2, LINK0, 2);
	assert_switch_route(1, 0, LINK0, 1);
	assert_switch_route(1, 2, LINK0 + 1, 1);
	assert_switch_route(2, 1, LINK0, 1);
	assert_switch_route(2, 0, LINK0, 2);
}
END_TEST

/* Both ways round, the tie to the lowest port. */
START_TEST(test_ring)
{
	ring();
	compute();

	assert_switch_route(0, 1, LINK0, 1);
	assert_switch_route(0, 3, LINK0 + 1, 1);
	assert_switch_route(0, 2, LINK0, 2); /* a-b-c and a-d-c: port 16 */
	assert_switch_route(1, 3, LINK0, 2); /* b-a-d and b-c-d: port 16 */
	assert_switch_route(2, 0, LINK0, 2);
	assert_switch_route(3, 1, LINK0, 2);
	assert_switch_route(3, 0, LINK0 + 1, 1);
	assert_switch_route(3, 2, LINK0, 1);
	for (size_t i = 0; i < 4; i++)
		assert_own(i);
}
END_TEST

/* a in the middle, b to e around it. */
START_TEST(test_star)
{
	fabric(5, NULL);
	for (size_t i = 1; i < 5; i++)
		join(0, LINK0 + (unsigned)i - 1, i, LINK0);
	compute();

	for (size_t i = 1; i < 5; i++) {
		assert_switch_route(0, i, LINK0 + (unsigned)i - 1, 1);
		assert_switch_route(i, 0, LINK0, 1);
		for (size_t j = 1; j < 5; j++)
			if (j != i)
				assert_switch_route(i, j, LINK0, 2);
	}
}
END_TEST

START_TEST(test_link_down)
{
	/* The ring without a - b: a reaches b the long way round. */
	ring();
	ck_assert_int_eq(topology_set_link_up(&topo, 1, LINK0, false), 0);
	ck_assert(!topology_link(&switches[0], LINK0)->up); /* both ends */
	compute();
	assert_switch_route(0, 1, LINK0 + 1, 3);
	assert_switch_route(0, 2, LINK0 + 1, 2);
	assert_switch_route(1, 0, LINK0 + 1, 3);
	assert_switch_route(1, 3, LINK0 + 1, 2);

	/* A line whose b - c is down: c is cut off, and only has its own clients. */
	line();
	ck_assert_int_eq(topology_set_link_up(&topo, 2, LINK0, false), 0);
	ck_assert_int_eq(topology_set_link_up(&topo, 2, LINK0 + 5, false), -ENOENT);
	ck_assert_int_eq(topology_set_link_up(&topo, 7, LINK0, false), -ENOENT);
	compute();
	assert_switch_route(0, 1, LINK0, 1);
	assert_no_route_to(0, 2);
	assert_no_route_to(1, 2);
	assert_no_route_to(2, 0);
	assert_own(2);
	ck_assert_uint_eq(valid_entries(2, ROUTE_LPRT), CLIENTS);

	/* Down at one end only, or listed at one end only: not a link either. */
	fabric(2, NULL);
	join(0, LINK0, 1, LINK0);
	switches[1].links[0].up = false;
	compute();
	assert_no_route_to(0, 1);
	switches[1].n_links = 0;
	compute();
	assert_no_route_to(0, 1);
	assert_no_route_to(1, 0);
}
END_TEST

START_TEST(test_switch_down)
{
	ring();
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	/* CIDs are assigned while every switch is up, and kept. */
	switches[1].up = false;
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(routes_compute(&topo, i, &routes[i]), 0);
	assert_switch_route(0, 2, LINK0 + 1, 2);
	assert_no_route_to(0, 1);
	assert_no_route_to(2, 1);
	/* The switch that is down has tables, all invalid, and answers nothing. */
	ck_assert_uint_eq(routes[1]->n_ports, N_PORTS);
	ck_assert_uint_eq(valid_entries(1, ROUTE_LPRT), 0);
	ck_assert_uint_eq(valid_entries(1, ROUTE_MPRT), 0);
	ck_assert_int_eq(routes_lookup(&switches[1], routes[1], 1,
				       topology_cid(&switches[1], CLIENTS + 1), 27, NULL),
			 TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(
		routes_lookup(&switches[1], routes[1], 1, topology_cid(&switches[1], 1), 27, NULL),
		TOPOLOGY_NO_ROUTE);
}
END_TEST

/* a(27) - b(28) - c(27) - d(28) - e(29) */
START_TEST(test_two_subnets)
{
	static const unsigned sids[] = { 27, 28, 27, 28, 29 };
	unsigned out = 0;

	fabric(5, sids);
	for (size_t i = 0; i < 4; i++)
		join(i, LINK0 + 1, i + 1, LINK0);
	compute();

	/* Two switches in each of 27 and 28: ID x 100 still fits half the CIDs. */
	ck_assert_uint_eq(switches[0].cid_base, 0);
	ck_assert_uint_eq(switches[2].cid_base, 2048);
	ck_assert_uint_eq(switches[1].cid_base, 0);
	ck_assert_uint_eq(switches[3].cid_base, 2048);
	ck_assert_uint_eq(switches[2].cid_stride, 100);
	ck_assert_uint_eq(switches[4].cid_base, 0);

	/*
	 * a and c (27) are joined only through b (28), which routes 27 by SID and cannot tell
	 * them apart: 27 is split, and a's LPRT has its own clients alone, never a path through
	 * another subnet (it would loop at b).
	 */
	assert_no_route_to(0, 2);
	ck_assert_uint_eq(valid_entries(0, ROUTE_LPRT), CLIENTS);
	ck_assert_uint_eq(routes[0]->mprt_size, 30);
	/* MPRT: the nearest switch of the subnet (b for 28, not d). */
	ck_assert_uint_eq(valid_entries(0, ROUTE_MPRT), 2);
	ck_assert_int_eq(routes_lookup(&switches[0], routes[0], 3, 1500, 28, &out),
			 TOPOLOGY_EGRESS);
	ck_assert_uint_eq(out, LINK0 + 1);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_MPRT, 3, 28)->hops, 1);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_MPRT, 3, 29)->hops, 4);
	/* c: 28 is b and d, both one link away: the lowest port, b's side. */
	ck_assert_uint_eq(routes_get(routes[2], ROUTE_MPRT, 1, 28)->egress, LINK0);
	ck_assert_uint_eq(routes_get(routes[2], ROUTE_MPRT, 1, 28)->hops, 1);
	ck_assert_uint_eq(routes_get(routes[2], ROUTE_MPRT, 1, 29)->egress, LINK0 + 1);
	ck_assert(!routes_get(routes[2], ROUTE_MPRT, 1, 27)->valid); /* its own subnet */
	/* A SID no switch has, and a CID of the own subnet no switch gives. */
	ck_assert_int_eq(routes_lookup(&switches[0], routes[0], 3, 100, 26, NULL),
			 TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(&switches[0], routes[0], 3, 2047, 27, NULL),
			 TOPOLOGY_NO_ROUTE);
	/* Without b, 27 is split: a keeps its own, and 28 and 29 are out of reach. */
	switches[1].up = false;
	routes[0] = routes_free(routes[0]);
	ck_assert_int_eq(routes_compute(&topo, 0, &routes[0]), 0);
	assert_no_route_to(0, 2);
	ck_assert_uint_eq(valid_entries(0, ROUTE_MPRT), 0);
}
END_TEST

/* Every CID of every switch that is up: distinct within a subnet, 12 bits, never 0. */
static void assert_cids_distinct(void)
{
	for (size_t i = 0; i < topo.n; i++) {
		const TopoSwitch *sw = &switches[i];

		if (!sw->up)
			continue;
		for (unsigned id = 1; id <= sw->n_clients + 1; id++) {
			unsigned cid = topology_cid(sw, id);

			if (cid == 0 || cid >= TOPOLOGY_CID_SPACE)
				ck_abort_msg("%s's ID %u: CID %u", sw->name, id, cid);
			for (size_t j = 0; j < topo.n; j++)
				if (switches[j].up && switches[j].sid == sw->sid &&
				    topology_id_of_cid(&switches[j], cid) != (j == i ? id : 0))
					ck_abort_msg("%s's ID %u: CID %u is %s's ID %u", sw->name,
						     id, cid, switches[j].name,
						     topology_id_of_cid(&switches[j], cid));
		}
	}
}

START_TEST(test_cids_alone_are_fame_z_s)
{
	fabric(1, NULL);
	for (unsigned server = 2; server <= 255; server++) {
		switches[0].n_clients = server - 1;
		ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
		ck_assert_uint_eq(switches[0].cid_base, 0);
		for (unsigned id = 1; id <= server; id++)
			if (topology_cid(&switches[0], id) != fabric_cid(server, id))
				ck_abort_msg("server ID %u: ID %u has CID %u, not %u", server, id,
					     topology_cid(&switches[0], id),
					     (unsigned)fabric_cid(server, id));
	}
}
END_TEST

START_TEST(test_cids_shared_by_a_subnet)
{
	static const unsigned sids[] = { 27, 28, 27, 27 };

	/* Two: halves of 2048, ID x 100 while it fits (20 clients), ID x 16 beyond. */
	fabric(2, NULL);
	switches[1].n_clients = 30;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[0].cid_base, 0);
	ck_assert_uint_eq(switches[0].cid_stride, 100);
	ck_assert_uint_eq(switches[1].cid_base, 2048);
	ck_assert_uint_eq(switches[1].cid_stride, 16);
	assert_cids_distinct();
	switches[1].n_clients = 19; /* 20 x 100 < 2048 */
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[1].cid_stride, 100);
	switches[1].n_clients = 20; /* 21 x 100 >= 2048 */
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[1].cid_stride, 16);

	/* Three: blocks of 4096 / 3 rounded down to 16, 1360. */
	fabric(4, sids);
	switches[2].n_clients = 12; /* 13 x 100 < 1360 */
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[0].cid_base, 0);
	ck_assert_uint_eq(switches[0].cid_stride, 16); /* 15 x 100 >= 1360 */
	ck_assert_uint_eq(switches[2].cid_base, 1360);
	ck_assert_uint_eq(switches[2].cid_stride, 100);
	ck_assert_uint_eq(switches[3].cid_base, 2720);
	ck_assert_uint_eq(switches[1].cid_base, 0); /* alone in 28 */
	ck_assert_uint_eq(switches[1].cid_stride, 100);
	assert_cids_distinct();

	/* A switch that is down takes none. */
	switches[2].up = false;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[2].cid_stride, 0);
	ck_assert_uint_eq(switches[3].cid_base, 2048);
	ck_assert_uint_eq(topology_id_of_cid(&switches[2], 0), 0);

	/* Sixteen of 254 clients: blocks of 256, ID x 1. */
	fabric(16, NULL);
	for (size_t i = 0; i < 16; i++)
		switches[i].n_clients = 254;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[15].cid_base, 3840);
	ck_assert_uint_eq(switches[15].cid_stride, 1);
	assert_cids_distinct();
}
END_TEST

START_TEST(test_cids_that_cannot_fit)
{
	fabric(17, NULL);
	for (size_t i = 0; i < 17; i++)
		switches[i].n_clients = 254;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), -ERANGE);
	ck_assert_str_eq(err, "SID 27: switch a needs 255 CIDs (254 clients and itself), but 17 "
			      "switches share the subnet's 4096 CIDs, 240 each; give it fewer "
			      "clients or move a switch to another SID");
	ck_assert_int_eq(topology_assign_cids(&topo, NULL, 0), -ERANGE);
	/* Fewer clients fit. */
	for (size_t i = 0; i < 17; i++)
		switches[i].n_clients = 238;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	assert_cids_distinct();
	/* A switch with more IDs than any subnet has CIDs. */
	fabric(1, NULL);
	switches[0].n_clients = UINT_MAX;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), -ERANGE);
}
END_TEST

START_TEST(test_id_of_cid)
{
	static const unsigned sids[] = { 27, 27, 27 };

	fabric(3, sids);
	switches[1].n_clients = 30;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	for (size_t i = 0; i < 3; i++)
		for (unsigned id = 1; id <= switches[i].n_clients + 1; id++)
			if (topology_id_of_cid(&switches[i], topology_cid(&switches[i], id)) != id)
				ck_abort_msg("%s's ID %u: no round trip", names[i], id);
	/* b: base 1360, stride 16, IDs 1..31. */
	ck_assert_uint_eq(switches[1].cid_base, 1360);
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], 1360), 0);       /* the base */
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], 1360 + 17), 0);  /* off stride */
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], 1360 + 512), 0); /* ID 32 */
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], 1344), 0);       /* below */
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], 0), 0);
	ck_assert_uint_eq(topology_id_of_cid(&switches[1], UINT_MAX), 0);
	ck_assert_uint_eq(topology_id_of_cid(&switches[0], 1360 + 16), 0); /* b's, for a */
}
END_TEST

/* Whether no ingress port of switch from has a valid entry in its table kind. */
static bool no_valid_entry(size_t from, RouteTableKind kind)
{
	unsigned size = kind == ROUTE_LPRT ? routes[from]->lprt_size : routes[from]->mprt_size;

	for (unsigned in = 0; in < routes[from]->n_ports; in++)
		for (unsigned i = 0; i < size; i++)
			if (routes_get(routes[from], kind, in, i)->valid)
				return false;
	return true;
}

START_TEST(test_cids_of_managed_switches)
{
	static const unsigned sids[] = { 27, 27, 28 };

	/* Every switch that is up: its own CID (its ID n + 1), valid, and packet relay on. */
	fabric(3, sids);
	switches[1].n_clients = 30;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	for (size_t i = 0; i < 3; i++) {
		const TopoSwitch *sw = &switches[i];

		ck_assert_uint_eq(sw->cid, sw->cid_base + (sw->n_clients + 1) * sw->cid_stride);
		ck_assert(sw->cid_valid);
		ck_assert(sw->relay);
	}
	ck_assert_uint_eq(switches[0].cid, 1500);
	ck_assert_uint_eq(switches[1].cid, 2048 + 31 * 16);
	ck_assert_uint_eq(switches[2].cid, 1500);

	/* One that is down gets none. */
	fabric(2, NULL);
	switches[1].up = false;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert(switches[0].cid_valid);
	ck_assert_uint_eq(switches[0].cid_base, 0); /* alone in 27 */
	ck_assert(!switches[1].cid_valid);
	ck_assert(!switches[1].relay);
}
END_TEST

/* a - b in subnet 27, b configured by a fabric manager (ManagedBy=external). */
START_TEST(test_external_switch)
{
	RouteEntry e = { .egress = LINK0, .hops = 1, .valid = true };
	const TopoSwitch *a = &switches[0], *b = &switches[1];
	unsigned out = 0;

	fabric(2, NULL);
	switches[1].external = true;
	join(0, LINK0, 1, LINK0);
	compute();

	/* b takes no share of 27: a has the whole 4096 as if alone, FAME-Z's ID x 100. */
	ck_assert_uint_eq(a->cid_base, 0);
	ck_assert_uint_eq(a->cid_stride, 100);
	for (unsigned id = 1; id <= CLIENTS + 1; id++)
		ck_assert_uint_eq(topology_cid(a, id), fabric_cid(CLIENTS + 1, id));
	ck_assert_uint_eq(a->cid, 1500);
	ck_assert(a->cid_valid);
	ck_assert(a->relay);
	/* b has nothing until its manager writes it. */
	ck_assert_uint_eq(b->cid_base, 0);
	ck_assert_uint_eq(b->cid_stride, 0);
	ck_assert(!b->cid_valid);
	ck_assert(!b->relay);
	ck_assert_uint_eq(topology_id_of_cid(b, 100), 0);

	/* b's tables: no valid entry, an MPRT of the SIDs a manager may pick. */
	ck_assert_uint_eq(routes[1]->n_ports, N_PORTS);
	ck_assert_uint_eq(routes[1]->lprt_size, TOPOLOGY_CID_SPACE);
	ck_assert_uint_eq(routes[1]->mprt_size, TOPOLOGY_EXTERNAL_SIDS);
	ck_assert(no_valid_entry(1, ROUTE_LPRT));
	ck_assert(no_valid_entry(1, ROUTE_MPRT));
	/* a's: its own clients; none of b's, which has no CIDs. */
	ck_assert_uint_eq(routes[0]->mprt_size, 28);
	assert_own(0);
	ck_assert_uint_eq(valid_entries(0, ROUTE_LPRT), CLIENTS);

	/* b routes nothing, not even to itself, until its CID is valid. */
	for (unsigned cid = 0; cid < TOPOLOGY_CID_SPACE; cid += 100)
		ck_assert_int_eq(routes_lookup(b, routes[1], 1, cid, 27, &out), TOPOLOGY_NO_ROUTE);
	switches[1].cid = 300;
	ck_assert_int_eq(routes_lookup(b, routes[1], 1, 300, 27, &out), TOPOLOGY_NO_ROUTE);
	switches[1].cid_valid = true;
	ck_assert_int_eq(routes_lookup(b, routes[1], 1, 300, 27, &out), TOPOLOGY_LOCAL);
	ck_assert_int_eq(routes_lookup(b, routes[1], N_PORTS - 1, 300, 27, NULL), TOPOLOGY_LOCAL);
	ck_assert_int_eq(routes_lookup(b, routes[1], 1, 301, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(b, routes[1], 1, 300, 28, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(b, routes[1], 0, 300, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(b, routes[1], N_PORTS, 300, 27, &out), TOPOLOGY_NO_ROUTE);
	/* What its manager writes into its tables. */
	ck_assert_int_eq(routes_set(routes[1], ROUTE_LPRT, 2, 100, e), 0);
	ck_assert_int_eq(routes_lookup(b, routes[1], 2, 100, 27, &out), TOPOLOGY_EGRESS);
	ck_assert_uint_eq(out, LINK0);
	ck_assert_int_eq(routes_lookup(b, routes[1], 3, 100, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_set(routes[1], ROUTE_MPRT, 2, TOPOLOGY_EXTERNAL_SIDS - 1, e), 0);
	ck_assert_int_eq(routes_lookup(b, routes[1], 2, 1, TOPOLOGY_EXTERNAL_SIDS - 1, &out),
			 TOPOLOGY_EGRESS);
	ck_assert_int_eq(routes_set(routes[1], ROUTE_MPRT, 2, TOPOLOGY_EXTERNAL_SIDS, e), -EINVAL);
	/* The LPRT, not the switch, for its CID once no longer valid. */
	ck_assert_int_eq(routes_set(routes[1], ROUTE_LPRT, 2, 300, e), 0);
	switches[1].cid_valid = false;
	ck_assert_int_eq(routes_lookup(b, routes[1], 2, 300, 27, &out), TOPOLOGY_EGRESS);

	/* a: LOCAL for its own CID while it is valid, and for the CID it holds now only. */
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 1500, 27, NULL), TOPOLOGY_LOCAL);
	switches[0].cid_valid = false;
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 1500, 27, NULL), TOPOLOGY_NO_ROUTE);
	switches[0].cid_valid = true;
	switches[0].cid = 1600;
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 1600, 27, NULL), TOPOLOGY_LOCAL);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 1500, 27, NULL), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 1400, 27, &out), TOPOLOGY_EGRESS);
	ck_assert_uint_eq(out, 14);

	/* Among three of one subnet, the external one counts for nothing either. */
	fabric(3, NULL);
	switches[1].external = true;
	ck_assert_int_eq(topology_assign_cids(&topo, err, sizeof(err)), 0);
	ck_assert_uint_eq(switches[0].cid_base, 0);
	ck_assert_uint_eq(switches[2].cid_base, 2048);
	ck_assert_uint_eq(switches[1].cid_stride, 0);
	/* Even when it is the only one of its subnet. */
	fabric(1, NULL);
	switches[0].external = true;
	compute();
	ck_assert_uint_eq(switches[0].cid_stride, 0);
	ck_assert(!switches[0].cid_valid);
	ck_assert_uint_eq(routes[0]->mprt_size, TOPOLOGY_EXTERNAL_SIDS);
	ck_assert(no_valid_entry(0, ROUTE_LPRT));
}
END_TEST

START_TEST(test_routes_set_copies_on_write)
{
	RouteEntry e = { .egress = 5, .hops = 7, .valid = true };
	RouteRow *shared;

	fabric(2, NULL);
	join(0, LINK0, 1, LINK0);
	compute();
	shared = routes[0]->lprt[1];

	/* 2148: b's first client (base 2048, ID x 100). */
	ck_assert_int_eq(routes_set(routes[0], ROUTE_LPRT, 3, 2148, e), 0);
	ck_assert_ptr_ne(routes[0]->lprt[3], shared);
	ck_assert_uint_eq(routes[0]->lprt[3]->refs, 1);
	ck_assert_uint_eq(shared->refs, N_PORTS - 1);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 3, 2148)->egress, 5);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 3, 2148)->hops, 7);
	/* The others still see the computed route, and the rest of the copy is the same. */
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 4, 2148)->egress, LINK0);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 2, 2148)->hops, 1);
	ck_assert_mem_eq(routes[0]->lprt[3]->entries, shared->entries, 2148 * sizeof(RouteEntry));
	ck_assert_mem_eq(routes[0]->lprt[3]->entries + 2149, shared->entries + 2149,
			 (TOPOLOGY_CID_SPACE - 2149) * sizeof(RouteEntry));
	/* A second write to that row writes in place. */
	e.egress = 6;
	ck_assert_int_eq(routes_set(routes[0], ROUTE_LPRT, 3, 100, e), 0);
	ck_assert_uint_eq(routes[0]->lprt[3]->refs, 1);
	ck_assert_uint_eq(shared->refs, N_PORTS - 1);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 3, 100)->egress, 6);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 3, 2148)->egress, 5);
	ck_assert_uint_eq(routes_get(routes[0], ROUTE_LPRT, 4, 100)->egress, 1);

	/* The MPRT alike, its LPRT untouched. */
	ck_assert_int_eq(routes_set(routes[0], ROUTE_MPRT, 0, 27, e), 0);
	ck_assert_uint_eq(routes[0]->mprt[0]->refs, 1);
	ck_assert_uint_eq(routes[0]->mprt[1]->refs, N_PORTS - 1);
	ck_assert(routes_get(routes[0], ROUTE_MPRT, 0, 27)->valid);
	ck_assert(!routes_get(routes[0], ROUTE_MPRT, 1, 27)->valid);
	ck_assert_ptr_eq(routes[0]->lprt[0], shared);

	/* Writes outside the tables. */
	ck_assert_int_eq(routes_set(routes[0], ROUTE_LPRT, N_PORTS, 1, e), -EINVAL);
	ck_assert_int_eq(routes_set(routes[0], ROUTE_LPRT, 1, TOPOLOGY_CID_SPACE, e), -EINVAL);
	ck_assert_int_eq(routes_set(routes[0], ROUTE_MPRT, 1, 28, e), -EINVAL);
	ck_assert_int_eq(routes_set(routes[0], (RouteTableKind)7, 1, 1, e), -EINVAL);
	ck_assert_int_eq(routes_set(NULL, ROUTE_LPRT, 1, 1, e), -EINVAL);
	ck_assert_ptr_null(routes_get(routes[0], (RouteTableKind)7, 1, 1));
	ck_assert_ptr_null(routes_get(NULL, ROUTE_LPRT, 1, 1));
	/* Freed with a row per written port (valgrind's run counts them). */
}
END_TEST

START_TEST(test_lookup_hostile)
{
	const TopoSwitch *a;
	unsigned out = 12345, own;

	fabric(2, NULL);
	join(0, LINK0, 1, LINK0);
	compute();
	a = &switches[0];
	own = topology_cid(a, CLIENTS + 1);

	ck_assert_int_eq(routes_lookup(a, routes[0], 0, own, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 0, 100, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], N_PORTS, own, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], UINT_MAX, 100, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 4095, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 4096, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, UINT_MAX, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 100, 65535, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, routes[0], 1, 100, UINT_MAX, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(a, NULL, 1, 100, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_int_eq(routes_lookup(NULL, routes[0], 1, 100, 27, &out), TOPOLOGY_NO_ROUTE);
	ck_assert_uint_eq(out, 12345);
	/* The last port, and no egress wanted. */
	ck_assert_int_eq(routes_lookup(a, routes[0], N_PORTS - 1, own, 27, NULL), TOPOLOGY_LOCAL);
	ck_assert_int_eq(routes_lookup(a, routes[0], N_PORTS - 1, 2048 + 100, 27, NULL),
			 TOPOLOGY_EGRESS);

	/* Computing: an index out of range, ports beyond 16 bits, a link to no switch. */
	ck_assert_int_eq(routes_compute(&topo, 2, &routes[2]), -EINVAL);
	switches[1].n_clients = 65519;
	ck_assert_int_eq(routes_compute(&topo, 1, &routes[2]), -EINVAL);
	switches[1].n_clients = CLIENTS;
	switches[0].links[0].peer_switch = 99;
	routes[0] = routes_free(routes[0]);
	ck_assert_int_eq(routes_compute(&topo, 0, &routes[0]), 0);
	ck_assert_uint_eq(valid_entries(0, ROUTE_LPRT), CLIENTS);

	/* Connecting: ports that are no link ports, taken ones, a switch to itself. */
	ck_assert_int_eq(topology_connect(&topo, 0, LINK0 - 1, 1, LINK0 + 1), -EINVAL);
	ck_assert_int_eq(topology_connect(&topo, 0, LINK0 + 1, 1, N_PORTS), -EINVAL);
	ck_assert_int_eq(topology_connect(&topo, 0, LINK0 + 1, 0, LINK0 + 2), -EINVAL);
	ck_assert_int_eq(topology_connect(&topo, 0, LINK0 + 1, 2, LINK0), -EINVAL);
	ck_assert_int_eq(topology_connect(&topo, 0, LINK0 + 1, 1, LINK0), -EEXIST);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("topology");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_line);
	tcase_add_test(tc, test_ring);
	tcase_add_test(tc, test_star);
	tcase_add_test(tc, test_link_down);
	tcase_add_test(tc, test_switch_down);
	tcase_add_test(tc, test_two_subnets);
	tcase_add_test(tc, test_cids_alone_are_fame_z_s);
	tcase_add_test(tc, test_cids_shared_by_a_subnet);
	tcase_add_test(tc, test_cids_that_cannot_fit);
	tcase_add_test(tc, test_id_of_cid);
	tcase_add_test(tc, test_cids_of_managed_switches);
	tcase_add_test(tc, test_external_switch);
	tcase_add_test(tc, test_routes_set_copies_on_write);
	tcase_add_test(tc, test_lookup_hostile);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
