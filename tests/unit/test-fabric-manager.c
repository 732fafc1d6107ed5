/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-msg.h"
#include "control-space.h"
#include "fabric-manager.h"
#include "fabric-msg.h"
#include "genz.h"
#include "macro.h"
#include "testlib.h"

/*
 * A simulated fabric: every switch and bridge a real control space (control-space.h) whose
 * tables are arrays here, and whose interfaces report the simulated links as famezd's do
 * (router-control.c). The manager's requests go along directed paths as famezd's walk_directed()
 * takes them, and are answered at once (from inside FmOps.send) or queued.
 */

#define SIM_NODES 24
#define SIM_IFACES 8 /* a switch's interfaces: 0 and SIM_SELF have no peer, no tables */
#define SIM_SELF 7
#define SIM_SIDS 64 /* entries of each MSDT and MPRT */
#define SIM_QUEUE 4096
#define CID_FIRST 100
#define SID 27
#define TIMEOUT 1000
#define NONE (-1)

typedef enum Behaviour {
	SIM_OK,
	SIM_GARBAGE, /* answers every read with malformed hex */
	SIM_SILENT,  /* never answers */
	SIM_CORRUPT, /* keeps every table entry written with its HC's low bit flipped */
} Behaviour;

typedef struct SimPort {
	int node; /* NONE: nothing there */
	unsigned port;
	bool phantom; /* the interface says a bridge is there (I-Up), but there is none */
} SimPort;

typedef struct Sim Sim;

typedef struct SimNode {
	Sim *sim;
	bool is_switch;
	ControlSpace *cs;
	uint32_t *tables;  /* switch: an LPRT per interface; bridge: its SSDT */
	uint32_t *mtables; /* switch: an MPRT per interface; bridge: its MSDT */
	SimPort ports[SIM_IFACES];
	Behaviour behaviour;
	unsigned received; /* requests that reached it */
} SimNode;

typedef struct Answer {
	FmAddr from;
	char text[FABRIC_TEXT_MAX];
} Answer;

struct Sim {
	SimNode nodes[SIM_NODES];
	size_t n, fm; /* fm: the manager's bridge */
	FabricManager *m;
	uint64_t now;
	bool queued;
	Answer *queue;
	size_t q_first, q_n;
	unsigned max_queued;
	bool held[CONTROL_TAG_MAX + 1]; /* tags of the queued answers */
	bool subnets;                   /* the manager's cfg.subnets */
	unsigned tag_reused;            /* requests still to refuse as TagReused */
	uint16_t refused_tag, resent_tag;
};

static const uint8_t uuid[16] = { 0x6d, 0x61, 0x6e, 0x61, 0x67, 0x65, 0x72, 0x2d,
				  0x66, 0x61, 0x6d, 0x65, 0x7a, 0x2d, 0x66, 0x6d };

/* The control spaces' callbacks. */

static uint64_t core_get(const SimNode *n, const char *name)
{
	return genz_get_named(&genz_core, control_space_core(n->cs), name);
}

static void refresh(void *userdata, ControlRegion *r)
{
	SimNode *n = userdata;
	const GenzStructure *is = &genz_interface;
	const SimPort *p = &n->ports[r->interface];
	const SimNode *peer = p->node == NONE ? NULL : &n->sim->nodes[p->node];
	bool up = peer || p->phantom;
	bool cv = peer && (core_get(peer, "CV") & 1);

	if (r->structure != &genz_interface)
		return;
	genz_set_named(is, r->bytes, "IState", up ? GENZ_I_UP : GENZ_I_DOWN);
	genz_set_named(is, r->bytes, "PeerBaseCClass",
		       peer ? core_get(peer, "BaseCClass")
		       : up ? GENZ_CCLASS_BRIDGE
			    : 0);
	genz_set_named(is, r->bytes, "PeerInterfaceID", peer ? p->port : 0);
	genz_set_named(is, r->bytes, "PeerCState",
		       peer ? core_get(peer, "CState")
		       : up ? GENZ_C_CFG
			    : GENZ_C_DOWN);
	genz_set_named(is, r->bytes, "PeerCID", cv ? core_get(peer, "CID0") : 0);
	genz_set_named(is, r->bytes, "PeerSID", cv ? core_get(peer, "SID0") : 0);
	genz_set_named(is, r->bytes, "PeerCIDValid", cv);
	genz_set_named(is, r->bytes, "PeerSIDValid", cv);
}

static uint32_t *entry(SimNode *n, const ControlRegion *r, uint32_t index)
{
	if (r->table == CONTROL_TABLE_SSDT)
		return &n->tables[index];
	if (r->table == CONTROL_TABLE_LPRT)
		return &n->tables[r->interface * CONTROL_CID_ENTRIES + index];
	if (index >= SIM_SIDS)
		return NULL;
	if (r->table == CONTROL_TABLE_MSDT)
		return &n->mtables[index];
	if (r->table == CONTROL_TABLE_MPRT)
		return &n->mtables[r->interface * SIM_SIDS + index];
	return NULL;
}

static uint32_t table_get(void *userdata, const ControlRegion *r, uint32_t index)
{
	uint32_t *e = entry(userdata, r, index);

	return e ? *e : 0;
}

static ControlReason table_set(void *userdata, const ControlRegion *r, uint32_t index,
			       uint32_t value)
{
	SimNode *n = userdata;
	GenzRoute g = genz_route_unpack(value);
	uint32_t *e = entry(n, r, index);

	/* As famezd's: a switch's route leaves by a port that has a peer. */
	if ((r->table == CONTROL_TABLE_LPRT || r->table == CONTROL_TABLE_MPRT) && g.valid &&
	    (g.ei == 0 || g.ei >= SIM_IFACES || g.ei == SIM_SELF))
		return CONTROL_UNSUPPORTED;
	if (e)
		*e = n->behaviour == SIM_CORRUPT ? value ^ (1u << 9) : value;
	return CONTROL_OK;
}

static const ControlOps sim_ops = {
	.refresh = refresh,
	.table_get = table_get,
	.table_set = table_set,
};

/* Building fabrics. */

static Sim *sim_new(void)
{
	Sim *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	s->queue = calloc(SIM_QUEUE, sizeof(*s->queue));
	ck_assert_ptr_nonnull(s->queue);
	s->now = 1000000;
	return s;
}

static size_t sim_add(Sim *s, bool is_switch)
{
	size_t i = s->n++;
	SimNode *n = &s->nodes[i];
	ControlIdentity id = {
		.cclass = is_switch ? GENZ_CCLASS_SWITCH : GENZ_CCLASS_BRIDGE,
		.interfaces = is_switch ? SIM_IFACES : 1,
		.self_interface = is_switch ? SIM_SELF : 0,
		.cid_entries = CONTROL_CID_ENTRIES,
		.sid_entries = SIM_SIDS,
		.serial = 0x5e0000 + i,
	};

	ck_assert_uint_lt(i, SIM_NODES);
	n->sim = s;
	n->is_switch = is_switch;
	for (unsigned p = 0; p < SIM_IFACES; p++)
		n->ports[p].node = NONE;
	n->tables = calloc((size_t)(is_switch ? SIM_IFACES : 1) * CONTROL_CID_ENTRIES,
			   sizeof(*n->tables));
	ck_assert_ptr_nonnull(n->tables);
	n->mtables = calloc((size_t)(is_switch ? SIM_IFACES : 1) * SIM_SIDS, sizeof(*n->mtables));
	ck_assert_ptr_nonnull(n->mtables);
	n->cs = control_space_new(&id, &sim_ops, n);
	ck_assert_ptr_nonnull(n->cs);
	return i;
}

static void sim_link(Sim *s, size_t a, unsigned pa, size_t b, unsigned pb)
{
	ck_assert_int_eq(s->nodes[a].ports[pa].node, NONE);
	ck_assert_int_eq(s->nodes[b].ports[pb].node, NONE);
	s->nodes[a].ports[pa] = (SimPort){ .node = (int)b, .port = pb };
	s->nodes[b].ports[pb] = (SimPort){ .node = (int)a, .port = pa };
}

/* A bridge on port p of switch sw. */
static size_t sim_bridge(Sim *s, size_t sw, unsigned p)
{
	size_t b = sim_add(s, false);

	sim_link(s, sw, p, b, 0);
	return b;
}

static void sim_free(Sim *s)
{
	fm_free(s->m);
	for (size_t i = 0; i < s->n; i++) {
		control_space_free(s->nodes[i].cs);
		free(s->nodes[i].tables);
		free(s->nodes[i].mtables);
	}
	free(s->queue);
	free(s);
}

/*
 * The "3 x 4" case: switches 0 - 1 - 2 in a line (port 5 to the next one's 6), the manager's
 * bridge (3) on port 1 of switch 0, bridges 4 on 0's port 2, 5 on 1's port 1, 6 on 2's port 1.
 */
static Sim *line_3x4(void)
{
	Sim *s = sim_new();

	for (unsigned i = 0; i < 3; i++)
		sim_add(s, true);
	sim_link(s, 0, 5, 1, 6);
	sim_link(s, 1, 5, 2, 6);
	s->fm = sim_bridge(s, 0, 1);
	sim_bridge(s, 0, 2);
	sim_bridge(s, 1, 1);
	sim_bridge(s, 2, 1);
	return s;
}

/* A ring of 4 switches (port 5 to the next one's 6), a bridge on port 1 of each; the manager's on
 * 0. */
static Sim *ring_4(void)
{
	Sim *s = sim_new();

	for (unsigned i = 0; i < 4; i++)
		sim_add(s, true);
	for (unsigned i = 0; i < 4; i++)
		sim_link(s, i, 5, (i + 1) % 4, 6);
	s->fm = sim_bridge(s, 0, 1);
	for (unsigned i = 1; i < 4; i++)
		sim_bridge(s, i, 1);
	return s;
}

/* A hub switch (0) with 4 leaf switches (1..4: hub port i to the leaf's port 6), a bridge on
 * port 1 of each leaf; the manager's on leaf 1. */
static Sim *star(void)
{
	Sim *s = sim_new();

	for (unsigned i = 0; i < 5; i++)
		sim_add(s, true);
	for (unsigned i = 1; i <= 4; i++)
		sim_link(s, 0, i, i, 6);
	s->fm = sim_bridge(s, 1, 1);
	for (unsigned i = 2; i <= 4; i++)
		sim_bridge(s, i, 1);
	return s;
}

/* Two switches joined twice (ports 5 and 6 to 5 and 6), a bridge on each (the manager's on 0). */
static Sim *double_link(void)
{
	Sim *s = sim_new();

	sim_add(s, true);
	sim_add(s, true);
	sim_link(s, 0, 5, 1, 5);
	sim_link(s, 0, 6, 1, 6);
	s->fm = sim_bridge(s, 0, 1);
	sim_bridge(s, 1, 1);
	return s;
}

/* Requests and answers. */

/* Where a directed path from the manager's switch ends, as famezd's walk_directed() goes. */
static int sim_walk(const Sim *s, const FmAddr *to)
{
	int at = s->nodes[s->fm].ports[0].node;

	if (to->self)
		return (int)s->fm;
	if (!to->directed)
		return NONE;
	for (unsigned i = 0; i < to->path_len; i++) {
		const SimNode *n = &s->nodes[at];
		unsigned p = to->path[i];
		bool last = i + 1 == to->path_len;

		if (last && p == SIM_SELF)
			return at;
		if (p >= SIM_IFACES || n->ports[p].node == NONE)
			return NONE;
		at = n->ports[p].node;
		if (!s->nodes[at].is_switch && !last)
			return NONE; /* a bridge relays nothing */
	}
	return at;
}

/* An answer goes back at once, or waits its turn (the tags of those waiting are in flight). */
static void deliver(Sim *s, const FmAddr *from, const char *text)
{
	ControlMsg a;
	Answer *to;

	if (!s->queued) {
		fm_on_answer(s->m, from, text, s->now);
		return;
	}
	ck_assert_uint_lt(s->q_n, SIM_QUEUE);
	ck_assert(control_msg_parse(text, &a) == 0 || a.has_tag);
	ck_assert_msg(!s->held[a.tag], "tag %u reused while in flight", a.tag);
	s->held[a.tag] = true;
	to = &s->queue[(s->q_first + s->q_n++) % SIM_QUEUE];
	to->from = *from;
	snprintf(to->text, sizeof(to->text), "%s", text);
	s->max_queued = MAX(s->max_queued, (unsigned)s->q_n);
}

static Answer sim_pop(Sim *s)
{
	Answer a = s->queue[s->q_first];
	ControlMsg msg;

	s->q_first = (s->q_first + 1) % SIM_QUEUE;
	s->q_n--;
	if (control_msg_parse(a.text, &msg) == 0 || msg.has_tag)
		s->held[msg.tag] = false;
	return a;
}

/* The answer of node n to req into text, or false: it does not answer. */
static bool answer_of(Sim *s, SimNode *n, const ControlMsg *req, char *text, size_t size)
{
	ControlMsg resp;

	switch (n->behaviour) {
	case SIM_SILENT:
		return false;
	case SIM_GARBAGE:
		snprintf(text, size, "CTL-Read-Response Tag=%u,Data=%s", req->tag,
			 req->type == CONTROL_MSG_READ ? "0g1h2i" : "");
		return true;
	default:
		break;
	}
	if (s->tag_reused > 0) {
		s->tag_reused--;
		s->refused_tag = req->tag;
		resp = (ControlMsg){ .type = CONTROL_MSG_ACK,
				     .tag = req->tag,
				     .reason = CONTROL_TAG_REUSED };
	} else {
		ck_assert(control_space_answer(n->cs, req, 1, &resp));
	}
	ck_assert_int_ge(control_msg_format(&resp, text, size), 0);
	return true;
}

static int sim_send(void *userdata, const FmAddr *to, const char *text)
{
	Sim *s = userdata;
	char answer[FABRIC_TEXT_MAX];
	int target = sim_walk(s, to);
	ControlMsg req;

	ck_assert_int_eq(control_msg_parse(text, &req), 0);
	ck_assert(req.type == CONTROL_MSG_READ || req.type == CONTROL_MSG_WRITE);
	ck_assert_uint_ge(req.tag, 1);
	ck_assert_uint_le(req.length, CONTROL_DATA_MAX);
	if (s->refused_tag && !s->resent_tag)
		s->resent_tag = req.tag;
	s->now++; /* a request costs a microsecond */
	if (target == NONE)
		return -EHOSTUNREACH; /* famezd refuses it: no route */
	s->nodes[target].received++;
	if (answer_of(s, &s->nodes[target], &req, answer, sizeof(answer)))
		deliver(s, to, answer);
	return 0;
}

static void sim_log(void *userdata, int priority, const char *line)
{
	(void)userdata;
	if (getenv("FM_TEST_VERBOSE"))
		fprintf(stderr, "<%d> %s\n", priority, line);
}

static const FmOps fm_ops = { .send = sim_send, .log = sim_log };

static FmConfig config(unsigned window, uint16_t cid_last)
{
	FmConfig cfg = {
		.cid_first = CID_FIRST,
		.cid_last = cid_last,
		.sid = SID,
		.timeout_usec = TIMEOUT,
		.window = window,
	};

	memcpy(cfg.uuid, uuid, sizeof(uuid));
	return cfg;
}

static void sim_start(Sim *s, FmConfig cfg)
{
	s->subnets = cfg.subnets;
	ck_assert_int_eq(fm_new(&s->m, &cfg, &fm_ops, s), 0);
	ck_assert_int_eq(fm_start(s->m, s->now), 0);
}

/* Answers in order until the pass is done; when none is left, time moves to the next deadline. */
static void sim_run(Sim *s)
{
	for (unsigned guard = 0; fm_state(s->m) != FM_DONE; guard++) {
		uint64_t next;

		ck_assert_uint_lt(guard, 1000000);
		if (s->q_n > 0) {
			Answer a = sim_pop(s);

			s->now += 10;
			fm_on_answer(s->m, &a.from, a.text, s->now);
			continue;
		}
		next = fm_next_deadline(s->m);
		ck_assert_msg(next != UINT64_MAX, "the pass waits for nothing");
		s->now = MAX(s->now, next);
		fm_on_tick(s->m, s->now);
	}
}

/* What the manager found, checked against the simulation. */

/* The node a component is (by its address), or NONE. */
static int node_of(const Sim *s, const FmComponent *c)
{
	return sim_walk(s, &c->addr);
}

/* The component that node is, of those that did not fail. */
static size_t comp_of(const Sim *s, size_t node)
{
	size_t found = SIZE_MAX;

	for (size_t i = 0; i < fm_n_components(s->m); i++)
		if (!fm_component(s->m, i)->failed &&
		    node_of(s, fm_component(s->m, i)) == (int)node) {
			ck_assert_msg(found == SIZE_MAX, "node %zu found twice", node);
			found = i;
		}
	ck_assert_msg(found != SIZE_MAX, "node %zu not found", node);
	return found;
}

static bool excluded(size_t node, const int *skip)
{
	for (; skip && *skip != NONE; skip++)
		if (*skip == (int)node)
			return true;
	return false;
}

static bool relay_enabled(const SimNode *n)
{
	ControlRegion *r = control_space_structure(n->cs, "component_switch");

	return genz_get_named(&genz_component_switch, r->bytes, "PktRelayEnb");
}

/* Every node but those of skip (ending with NONE) is configured as the manager says. */
static void check_configured(const Sim *s, const int *skip)
{
	const GenzField *mgr = genz_field(&genz_core, "MGR-UUID");

	for (size_t node = 0; node < s->n; node++) {
		const SimNode *n = &s->nodes[node];
		const FmComponent *c;

		if (excluded(node, skip))
			continue;
		c = fm_component(s->m, comp_of(s, node));
		ck_assert_msg(c->configured && !c->failed, "node %zu: %s", node, c->error);
		ck_assert_uint_eq(c->cclass,
				  n->is_switch ? GENZ_CCLASS_SWITCH : GENZ_CCLASS_BRIDGE);
		ck_assert_uint_eq(c->serial, 0x5e0000 + node);
		ck_assert_uint_eq(core_get(n, "CV"), 1);
		ck_assert_uint_eq(core_get(n, "CID0"), c->cid);
		ck_assert_uint_eq(core_get(n, "SID0"), c->sid);
		if (!s->subnets)
			ck_assert_uint_eq(c->sid, SID);
		ck_assert_uint_eq(core_get(n, "CState"), GENZ_C_UP);
		ck_assert_uint_eq(core_get(n, "PFMCID"), CID_FIRST);
		ck_assert_uint_eq(core_get(n, "PFMSID"), SID);
		ck_assert_uint_eq(core_get(n, "PFMCIDValid"), 1);
		ck_assert_uint_eq(core_get(n, "PFMSIDValid"), 1);
		ck_assert_mem_eq(control_space_core(n->cs) + mgr->bit / 8, uuid, 16);
		if (n->is_switch)
			ck_assert(relay_enabled(n));
	}
	for (size_t i = 0; i < fm_n_components(s->m); i++)
		for (size_t j = 0; j < i; j++)
			ck_assert(!fm_component(s->m, i)->configured ||
				  !fm_component(s->m, j)->configured ||
				  fm_component(s->m, i)->cid != fm_component(s->m, j)->cid);
}

/* Links crossed from node a to every node, by breadth first, only switches relaying. */
static void distances(const Sim *s, size_t a, const int *skip, int *dist)
{
	size_t queue[SIM_NODES], head = 0, tail = 0;

	for (size_t i = 0; i < s->n; i++)
		dist[i] = NONE;
	dist[a] = 0;
	queue[tail++] = a;
	while (head < tail) {
		size_t u = queue[head++];

		if (u != a && !s->nodes[u].is_switch)
			continue;
		for (unsigned p = 0; p < SIM_IFACES; p++) {
			int v = s->nodes[u].ports[p].node;

			if (v != NONE && dist[v] == NONE && !excluded((size_t)v, skip)) {
				dist[v] = dist[u] + 1;
				queue[tail++] = (size_t)v;
			}
		}
	}
}

/*
 * The entry of node n (its interface `in`, for a switch) for cid,sid: by CID in its own subnet,
 * by SID in another.
 */
static GenzRoute sim_entry(const SimNode *n, unsigned in, uint16_t cid, uint16_t sid)
{
	if (core_get(n, "SID0") == sid)
		return genz_route_unpack(n->tables[in * CONTROL_CID_ENTRIES + cid]);
	return genz_route_unpack(sid < SIM_SIDS ? n->mtables[in * SIM_SIDS + sid] : 0);
}

/*
 * Follows the written tables from bridge b to the component of cid,sid: the links crossed, or
 * NONE. Each entry's HC on the way must be the switches still ahead, the destination's included.
 */
static int sim_route(const Sim *s, size_t b, uint16_t cid, uint16_t sid)
{
	GenzRoute r = sim_entry(&s->nodes[b], 0, cid, sid);
	SimPort at = s->nodes[b].ports[0];
	unsigned hc[64], n_hc = 0, switches = 0;
	int links = 0;

	if (!r.valid || r.ei != 0 || r.mhc != r.hc)
		return NONE;
	hc[n_hc++] = r.hc;
	while (links < 32 && at.node != NONE) {
		const SimNode *n = &s->nodes[at.node];

		links++;
		switches += n->is_switch;
		if ((core_get(n, "CV") & 1) && core_get(n, "CID0") == cid &&
		    core_get(n, "SID0") == sid) {
			for (unsigned k = 0; k < n_hc; k++)
				ck_assert_uint_eq(hc[k], switches - k);
			return links;
		}
		if (!n->is_switch)
			return NONE;
		r = sim_entry(n, at.port, cid, sid);
		if (!r.valid || r.mhc != r.hc)
			return NONE;
		hc[n_hc++] = r.hc;
		at = n->ports[r.ei];
	}
	return NONE;
}

/* Every bridge not in skip reaches every other node not in skip, along a shortest path. */
static void check_routes(const Sim *s, const int *skip)
{
	for (size_t b = 0; b < s->n; b++) {
		int dist[SIM_NODES];

		if (s->nodes[b].is_switch || excluded(b, skip))
			continue;
		distances(s, b, skip, dist);
		for (size_t d = 0; d < s->n; d++) {
			uint16_t cid, sid;

			if (d == b || excluded(d, skip))
				continue;
			cid = fm_component(s->m, comp_of(s, d))->cid;
			sid = fm_component(s->m, comp_of(s, d))->sid;
			ck_assert_msg(dist[d] != NONE, "node %zu cannot reach %zu", b, d);
			ck_assert_msg(sim_route(s, b, cid, sid) == dist[d],
				      "node %zu to %zu (%u,%u): %d links, shortest %d", b, d, cid,
				      sid, sim_route(s, b, cid, sid), dist[d]);
		}
	}
}

/* The LPRT entry of node sw, ingress port p, for the component of node d. */
static GenzRoute lprt(const Sim *s, size_t sw, unsigned p, size_t d)
{
	uint16_t cid = fm_component(s->m, comp_of(s, d))->cid;

	return genz_route_unpack(s->nodes[sw].tables[p * CONTROL_CID_ENTRIES + cid]);
}

static bool has_link(const Sim *s, size_t a, unsigned pa, size_t b, unsigned pb)
{
	size_t ca = comp_of(s, a), cb = comp_of(s, b);

	for (size_t i = 0; i < fm_n_links(s->m); i++) {
		const FmLink *l = fm_link(s->m, i);

		if ((l->a == ca && l->a_port == pa && l->b == cb && l->b_port == pb) ||
		    (l->a == cb && l->a_port == pb && l->b == ca && l->b_port == pa))
			return true;
	}
	return false;
}

/* Every simulated link (but those touching skip) is recorded, and nothing else. */
static void check_links(const Sim *s, const int *skip)
{
	size_t n = 0;

	for (size_t a = 0; a < s->n; a++)
		for (unsigned p = 0; p < SIM_IFACES; p++) {
			const SimPort *sp = &s->nodes[a].ports[p];

			if (sp->node == NONE || excluded(a, skip) ||
			    excluded((size_t)sp->node, skip) || (size_t)sp->node < a)
				continue;
			ck_assert_msg(has_link(s, a, p, (size_t)sp->node, sp->port),
				      "link %zu:%u - %d:%u", a, p, sp->node, sp->port);
			n++;
		}
	if (!skip)
		ck_assert_uint_eq(fm_n_links(s->m), n);
}

static void run_clean(Sim *s, FmConfig cfg)
{
	sim_start(s, cfg);
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), 0);
	ck_assert_uint_eq(fm_n_components(s->m), s->n);
	check_configured(s, NULL);
	check_links(s, NULL);
	check_routes(s, NULL);
}

/* The one component that failed, whose error must say why. */
static const FmComponent *the_failed(const Sim *s, const char *why)
{
	const FmComponent *failed = NULL;

	ck_assert_int_eq(fm_result(s->m), -EIO);
	for (size_t i = 0; i < fm_n_components(s->m); i++)
		if (fm_component(s->m, i)->failed) {
			ck_assert_msg(!failed, "a second failed component: %s",
				      fm_component(s->m, i)->error);
			failed = fm_component(s->m, i);
		}
	ck_assert_ptr_nonnull(failed);
	ck_assert_msg(strstr(failed->error, why), "error \"%s\", not about \"%s\"", failed->error,
		      why);
	ck_assert(!failed->configured || strstr(why, "LPRT"));
	return failed;
}

/* The tests. */

START_TEST(test_line_3x4)
{
	Sim *s = line_3x4();
	uint64_t reads, writes, discovery, routing;

	run_clean(s, config(8, 4095));
	/* CIDs breadth first: the manager, its switch, what is on that switch's ports in order. */
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, s->fm))->cid, CID_FIRST);
	ck_assert(fm_component(s->m, 0)->addr.self);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 0))->cid, CID_FIRST + 1);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 4))->cid, CID_FIRST + 2);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 1))->cid, CID_FIRST + 3);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 6))->cid, CID_FIRST + 6);
	/* A bridge on the switch: HC 0; the next switch: HC 1; a bridge beyond it: HC 1. */
	ck_assert_uint_eq(lprt(s, 0, 1, 4).hc, 0);
	ck_assert_uint_eq(lprt(s, 0, 1, 4).ei, 2);
	ck_assert_uint_eq(lprt(s, 0, 1, 1).hc, 1);
	ck_assert_uint_eq(lprt(s, 0, 2, 5).hc, 1);
	ck_assert_uint_eq(lprt(s, 0, 2, 6).hc, 2);
	ck_assert_uint_eq(lprt(s, 0, 2, 6).ei, 5);
	/* Nothing on the switch's own entry, nor on interfaces without a link. */
	ck_assert(!lprt(s, 0, 1, 0).valid);
	ck_assert(!lprt(s, 0, 3, 4).valid);
	/* What a pass sends (docs: the 3 x 4 case), and the time it took by the clock given. */
	fm_stats(s->m, &reads, &writes, &discovery, &routing);
	ck_assert_uint_eq(reads, 96 + 22);
	ck_assert_uint_eq(writes, 31 + 22);
	ck_assert_uint_gt(discovery, 0);
	ck_assert_uint_gt(routing, 0);
	ck_assert_uint_eq(discovery + routing, s->now - 1000000);
	ck_assert_uint_eq(fm_answers_ignored(s->m), 0);
	sim_free(s);
}
END_TEST

/*
 * --subnets on the 3 x 4 line: each switch and its bridges a subnet of their own (SID, SID + 1,
 * SID + 2 in the order found); routes by CID within one, by SID (MSDT, MPRT) to the others.
 */
START_TEST(test_subnets)
{
	Sim *s = line_3x4();
	FmConfig cfg = config(8, 4095);
	const SimNode *mgr;

	cfg.subnets = true;
	run_clean(s, cfg);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, s->fm))->sid, SID);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 0))->sid, SID);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 4))->sid, SID);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 1))->sid, SID + 1);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 5))->sid, SID + 1);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 2))->sid, SID + 2);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 6))->sid, SID + 2);
	/* Every manager field names the manager's own SID. */
	ck_assert_uint_eq(core_get(&s->nodes[6], "PFMSID"), SID);
	/* The manager's bridge: its switch and neighbour by CID, the far subnets by SID only. */
	mgr = &s->nodes[s->fm];
	ck_assert(genz_route_unpack(mgr->tables[fm_component(s->m, comp_of(s, 4))->cid]).valid);
	ck_assert(!genz_route_unpack(mgr->tables[fm_component(s->m, comp_of(s, 6))->cid]).valid);
	ck_assert_uint_eq(genz_route_unpack(mgr->mtables[SID + 2]).hc, 3);
	ck_assert(!genz_route_unpack(mgr->mtables[SID]).valid);
	/* Switch 1, from switch 0 (its port 6): SID + 2 onwards by port 5, its own by CID. */
	ck_assert_uint_eq(genz_route_unpack(s->nodes[1].mtables[6 * SIM_SIDS + SID + 2]).ei, 5);
	ck_assert_uint_eq(lprt(s, 1, 6, 5).ei, 1);
	sim_free(s);
}
END_TEST

/*
 * A component gone by the next pass (--watch): the entries for its CID that the last pass wrote
 * are cleared everywhere, and read back cleared; the rest still routes.
 */
START_TEST(test_gone_is_cleared)
{
	Sim *s = line_3x4();
	const int skip[] = { 6, NONE };
	uint16_t gone;

	run_clean(s, config(8, 4095));
	gone = fm_component(s->m, comp_of(s, 6))->cid;
	ck_assert(genz_route_unpack(s->nodes[s->fm].tables[gone]).valid);
	ck_assert(lprt(s, 1, 6, 6).valid);
	/* Bridge 6 leaves switch 2. */
	s->nodes[2].ports[1].node = NONE;
	s->nodes[6].ports[0].node = NONE;
	ck_assert_int_eq(fm_start(s->m, s->now), 0);
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), 0);
	ck_assert_uint_eq(fm_n_components(s->m), s->n - 1);
	check_configured(s, skip);
	check_routes(s, skip);
	/* In every SSDT, and every LPRT of an interface with a link (nothing enters elsewhere). */
	for (size_t n = 0; n < 6; n++)
		for (unsigned p = 0; p < (s->nodes[n].is_switch ? SIM_IFACES : 1); p++)
			ck_assert_msg(s->nodes[n].ports[p].node == NONE ||
					      s->nodes[n].tables[p * CONTROL_CID_ENTRIES + gone] ==
						      0,
				      "node %zu interface %u still routes to CID %u", n, p, gone);
	sim_free(s);
}
END_TEST

START_TEST(test_ring)
{
	Sim *s = ring_4();

	run_clean(s, config(4, 4095));
	/* The short way round; the two ways alike to the opposite switch: the lower port. */
	ck_assert_uint_eq(lprt(s, 0, 1, 3).ei, 6);
	ck_assert_uint_eq(lprt(s, 0, 1, 3).hc, 1);
	ck_assert_uint_eq(lprt(s, 0, 1, 7).ei, 6);
	ck_assert_uint_eq(lprt(s, 0, 1, 1).ei, 5);
	ck_assert_uint_eq(lprt(s, 0, 1, 2).ei, 5);
	ck_assert_uint_eq(lprt(s, 0, 1, 2).hc, 2);
	ck_assert_uint_eq(lprt(s, 0, 1, 6).ei, 5);
	ck_assert_uint_eq(lprt(s, 0, 1, 6).hc, 2);
	ck_assert_uint_eq(lprt(s, 1, 6, 3).ei, 5);
	ck_assert_uint_eq(lprt(s, 3, 5, 1).ei, 5);
	ck_assert_uint_eq(fm_n_links(s->m), 8);
	sim_free(s);
}
END_TEST

START_TEST(test_star)
{
	Sim *s = star();

	run_clean(s, config(16, 4095));
	ck_assert_uint_eq(fm_n_components(s->m), 9);
	for (unsigned leaf = 1; leaf <= 4; leaf++) {
		ck_assert_uint_eq(lprt(s, 0, leaf, 5 + leaf - 1).ei, leaf);
		ck_assert_uint_eq(lprt(s, 0, leaf, 5 + leaf - 1).hc, 1);
	}
	sim_free(s);
}
END_TEST

START_TEST(test_double_link)
{
	Sim *s = double_link();
	unsigned switches = 0;

	run_clean(s, config(8, 4095));
	for (size_t i = 0; i < fm_n_components(s->m); i++)
		switches += fm_component(s->m, i)->cclass == GENZ_CCLASS_SWITCH;
	ck_assert_uint_eq(switches, 2);
	ck_assert_uint_eq(fm_n_links(s->m), 4);
	ck_assert(has_link(s, 0, 5, 1, 5));
	ck_assert(has_link(s, 0, 6, 1, 6));
	/* Both links lead there: the lower port is taken, both ingresses have routes. */
	ck_assert_uint_eq(lprt(s, 0, 1, 3).ei, 5);
	ck_assert_uint_eq(lprt(s, 1, 1, 2).ei, 5);
	ck_assert_uint_eq(lprt(s, 1, 6, 3).ei, 1);
	ck_assert_uint_eq(lprt(s, 1, 5, 3).ei, 1);
	sim_free(s);
}
END_TEST

START_TEST(test_window)
{
	Sim *s = line_3x4();

	s->queued = true;
	run_clean(s, config(_i, 4095));
	ck_assert_uint_le(s->max_queued, _i);
	ck_assert_uint_eq(s->max_queued, _i); /* and the window is used */
	sim_free(s);
}
END_TEST

START_TEST(test_garbage)
{
	Sim *s = line_3x4();
	const int skip[] = { 5, NONE };

	s->nodes[5].behaviour = SIM_GARBAGE;
	sim_start(s, config(8, 4095));
	sim_run(s);
	ck_assert_int_eq(node_of(s, the_failed(s, "malformed")), 5);
	check_configured(s, skip);
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_silent)
{
	Sim *s = line_3x4();
	const int skip[] = { 6, NONE };

	s->nodes[6].behaviour = SIM_SILENT;
	sim_start(s, config(8, 4095));
	sim_run(s);
	ck_assert_int_eq(node_of(s, the_failed(s, "no answer")), 6);
	/* Its probe's reads, each sent once more. */
	ck_assert_uint_eq(s->nodes[6].received, 6);
	check_configured(s, skip);
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_phantom_peer)
{
	Sim *s = line_3x4();
	const FmComponent *c;

	/* Switch 2 says a bridge is on its port 3; no one is there: famezd refuses the relay. */
	s->nodes[2].ports[3].phantom = true;
	sim_start(s, config(8, 4095));
	sim_run(s);
	c = the_failed(s, "cannot send");
	ck_assert_uint_eq(c->addr.path_len, 3);
	ck_assert_uint_eq(c->addr.path[2], 3);
	check_configured(s, NULL);
	check_routes(s, NULL);
	sim_free(s);
}
END_TEST

START_TEST(test_pool_too_small)
{
	Sim *s = line_3x4();
	const int skip[] = { 6, NONE };

	sim_start(s, config(8, CID_FIRST + 5));
	sim_run(s);
	ck_assert_int_eq(node_of(s, the_failed(s, "no CID left in the pool")), 6);
	check_configured(s, skip);
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_contradiction)
{
	Sim *s = line_3x4();
	const int skip[] = { 4, NONE };

	genz_set_named(&genz_core, control_space_core(s->nodes[4].cs), "MaxInterface", 0);
	sim_start(s, config(8, 4095));
	sim_run(s);
	the_failed(s, "MaxInterface 0");
	check_configured(s, skip);
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_manager_not_a_bridge)
{
	Sim *s = line_3x4();
	const int skip[] = { 3, NONE };

	/*
	 * Its own component fails: the rest is configured, the pool's first CID kept for it.
	 * With no IDs written, it cannot be told when it is met again (on port 1 of switch 0):
	 * it fails there too.
	 */
	genz_set_named(&genz_core, control_space_core(s->nodes[s->fm].cs), "BaseCClass", 0x1);
	sim_start(s, config(8, 4095));
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), -EIO);
	ck_assert(fm_component(s->m, 0)->failed);
	ck_assert_str_eq(fm_component(s->m, 0)->error,
			 "the manager's own C-Class is 0x1, not a bridge");
	ck_assert(fm_component(s->m, 2)->failed);
	ck_assert_int_eq(node_of(s, fm_component(s->m, 2)), 3);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 0))->cid, CID_FIRST + 1);
	check_configured(s, skip);
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_verify_mismatch)
{
	Sim *s = line_3x4();
	const int skip[] = { 2, 6, NONE };

	s->nodes[2].behaviour = SIM_CORRUPT;
	sim_start(s, config(8, 4095));
	sim_run(s);
	/* Its first LPRT written: interface 1 (bridge 6), the first CID. */
	the_failed(s, "LPRT 1 entry 100 reads back");
	check_routes(s, skip);
	sim_free(s);
}
END_TEST

START_TEST(test_too_far)
{
	Sim *s = sim_new();
	const FmComponent *c;

	/* 18 switches in a line: the 18th is 17 ports away. */
	for (unsigned i = 0; i < 18; i++)
		sim_add(s, true);
	for (unsigned i = 0; i + 1 < 18; i++)
		sim_link(s, i, 5, i + 1, 6);
	s->fm = sim_bridge(s, 0, 1);
	sim_start(s, config(8, 4095));
	sim_run(s);
	c = the_failed(s, "out of reach");
	ck_assert_uint_eq(c->addr.path_len, ENVELOPE_PATH_MAX);
	ck_assert_uint_eq(fm_component(s->m, comp_of(s, 16))->addr.path_len, ENVELOPE_PATH_MAX);
	ck_assert(fm_component(s->m, comp_of(s, 16))->configured);
	ck_assert_uint_eq(fm_n_components(s->m), 19);
	sim_free(s);
}
END_TEST

START_TEST(test_stray_answers)
{
	Sim *s = line_3x4();
	Answer a;
	char text[FABRIC_TEXT_MAX];
	ControlMsg msg;

	s->queued = true;
	sim_start(s, config(4, 4095));
	a = s->queue[s->q_first];
	ck_assert_int_eq(control_msg_parse(a.text, &msg), 0);
	/* Not a control answer; a tag not in flight; the right tag from another address. */
	fm_on_answer(s->m, &a.from, "ping", s->now);
	snprintf(text, sizeof(text), "Standalone Acknowledgment Tag=%u,Reason=OK",
		 (msg.tag + 1000) % CONTROL_TAG_MAX + 1);
	fm_on_answer(s->m, &a.from, text, s->now);
	a.from.self = false;
	a.from.directed = true;
	a.from.path_len = 1;
	fm_on_answer(s->m, &a.from, s->queue[s->q_first].text, s->now);
	ck_assert_uint_eq(fm_answers_ignored(s->m), 3);
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), 0);
	check_configured(s, NULL);
	sim_free(s);
}
END_TEST

START_TEST(test_tag_reused)
{
	Sim *s = line_3x4();

	/* The first request is refused as a tag of an earlier run: sent again, further on. */
	s->tag_reused = 1;
	run_clean(s, config(1, 4095));
	ck_assert_uint_ne(s->refused_tag, 0);
	ck_assert_uint_ne(s->resent_tag, 0);
	ck_assert_uint_ne(s->resent_tag, s->refused_tag);
	sim_free(s);
}
END_TEST

START_TEST(test_start_twice)
{
	Sim *s = ring_4();
	uint16_t cids[SIM_NODES];

	s->queued = true;
	sim_start(s, config(4, 4095));
	ck_assert_int_eq(fm_state(s->m), FM_DISCOVERING);
	ck_assert_int_eq(fm_start(s->m, s->now), -EBUSY);
	ck_assert_int_eq(fm_result(s->m), -EBUSY);
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), 0);
	for (size_t n = 0; n < s->n; n++)
		cids[n] = fm_component(s->m, comp_of(s, n))->cid;
	/* A second pass over a configured fabric finds it the same. */
	ck_assert_int_eq(fm_start(s->m, s->now), 0);
	ck_assert_int_eq(fm_start(s->m, s->now), -EBUSY);
	sim_run(s);
	ck_assert_int_eq(fm_result(s->m), 0);
	ck_assert_uint_eq(fm_n_components(s->m), s->n);
	for (size_t n = 0; n < s->n; n++)
		ck_assert_uint_eq(fm_component(s->m, comp_of(s, n))->cid, cids[n]);
	check_configured(s, NULL);
	check_routes(s, NULL);
	sim_free(s);
}
END_TEST

START_TEST(test_bad_config)
{
	FmConfig cfg = config(1, 4095);
	FabricManager *m = NULL;

	cfg.window = 0;
	ck_assert_int_eq(fm_new(&m, &cfg, &fm_ops, NULL), -EINVAL);
	cfg = config(1, CID_FIRST - 1);
	ck_assert_int_eq(fm_new(&m, &cfg, &fm_ops, NULL), -EINVAL);
	cfg = config(1, 4096);
	ck_assert_int_eq(fm_new(&m, &cfg, &fm_ops, NULL), -EINVAL);
	ck_assert_ptr_null(m);
}
END_TEST

/* fm_shortest_paths() alone. */

static void check_paths(size_t n, const bool *sw, const FmLink *links, size_t n_links,
			const uint16_t *egress, const uint16_t *hops)
{
	uint16_t e[64], h[64];

	ck_assert_uint_le(n * n, ELEMENTSOF(e));
	ck_assert_int_eq(fm_shortest_paths(n, sw, links, n_links, e, h), 0);
	for (size_t i = 0; i < n * n; i++) {
		ck_assert_msg(e[i] == egress[i], "%zu to %zu: egress %u, not %u", i / n, i % n,
			      e[i], egress[i]);
		ck_assert_msg(h[i] == hops[i], "%zu to %zu: %u hops, not %u", i / n, i % n, h[i],
			      hops[i]);
	}
}

#define U UINT16_MAX

START_TEST(test_paths_line)
{
	/* Switches 0 - 1 - 2, a bridge (3) on port 1 of switch 1. */
	const bool sw[] = { true, true, true, false };
	const FmLink links[] = {
		{ .a = 0, .a_port = 5, .b = 1, .b_port = 6 },
		{ .a = 1, .a_port = 5, .b = 2, .b_port = 6 },
		{ .a = 1, .a_port = 1, .b = 3, .b_port = 0 },
	};
	const uint16_t egress[] = { 0, 5, 5, 5, 6, 0, 5, 1, 6, 6, 0, 6, 0, 0, 0, 0 };
	const uint16_t hops[] = { 0, 1, 2, 2, 1, 0, 1, 1, 2, 1, 0, 2, 2, 1, 2, 0 };

	check_paths(4, sw, links, ELEMENTSOF(links), egress, hops);
}
END_TEST

START_TEST(test_paths_ring)
{
	const bool sw[] = { true, true, true, true };
	const FmLink links[] = {
		{ .a = 0, .a_port = 5, .b = 1, .b_port = 6 },
		{ .a = 1, .a_port = 5, .b = 2, .b_port = 6 },
		{ .a = 2, .a_port = 5, .b = 3, .b_port = 6 },
		{ .a = 3, .a_port = 5, .b = 0, .b_port = 6 },
	};
	/* The opposite switch two ways alike: the lower port. */
	const uint16_t egress[] = { 0, 5, 5, 6, 6, 0, 5, 5, 5, 6, 0, 5, 5, 5, 6, 0 };
	const uint16_t hops[] = { 0, 1, 2, 1, 1, 0, 1, 2, 2, 1, 0, 1, 1, 2, 1, 0 };

	check_paths(4, sw, links, ELEMENTSOF(links), egress, hops);
}
END_TEST

START_TEST(test_paths_star)
{
	/* Hub 0, leaves 1..4 (hub port i, leaf port 6). */
	const bool sw[] = { true, true, true, true, true };
	FmLink links[4];
	uint16_t egress[25], hops[25];

	for (unsigned i = 1; i <= 4; i++)
		links[i - 1] = (FmLink){ .a = 0, .a_port = i, .b = i, .b_port = 6 };
	for (unsigned i = 0; i < 5; i++)
		for (unsigned j = 0; j < 5; j++) {
			egress[i * 5 + j] = i == j ? 0 : i == 0 ? j : 6;
			hops[i * 5 + j] = i == j ? 0 : i == 0 || j == 0 ? 1 : 2;
		}
	check_paths(5, sw, links, ELEMENTSOF(links), egress, hops);
}
END_TEST

START_TEST(test_paths_no_transit)
{
	/*
	 * Switch 0 - bridge 1 - switch 2, and links that are no links: out of range, a node to
	 * itself, a port that does not fit. The bridge reaches both; they do not reach each other.
	 */
	const bool sw[] = { true, false, true };
	const FmLink links[] = {
		{ .a = 0, .a_port = 1, .b = 1, .b_port = 0 },
		{ .a = 1, .a_port = 1, .b = 2, .b_port = 1 },
		{ .a = 0, .a_port = 2, .b = 3, .b_port = 1 },
		{ .a = 2, .a_port = 2, .b = 2, .b_port = 3 },
		{ .a = 0, .a_port = UINT16_MAX, .b = 2, .b_port = 4 },
	};
	const uint16_t egress[] = { 0, 1, U, 0, 0, 1, U, 1, 0 };
	const uint16_t hops[] = { 0, 1, U, 1, 0, 1, U, 1, 0 };

	check_paths(3, sw, links, ELEMENTSOF(links), egress, hops);
	ck_assert_int_eq(fm_shortest_paths(UINT16_MAX, NULL, NULL, 0, NULL, NULL), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fabric-manager");
	TCase *tc = tcase_create("fabric-manager");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_line_3x4);
	tcase_add_test(tc, test_subnets);
	tcase_add_test(tc, test_gone_is_cleared);
	tcase_add_test(tc, test_ring);
	tcase_add_test(tc, test_star);
	tcase_add_test(tc, test_double_link);
	tcase_add_loop_test(tc, test_window, 1, 4);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_silent);
	tcase_add_test(tc, test_phantom_peer);
	tcase_add_test(tc, test_pool_too_small);
	tcase_add_test(tc, test_contradiction);
	tcase_add_test(tc, test_manager_not_a_bridge);
	tcase_add_test(tc, test_verify_mismatch);
	tcase_add_test(tc, test_too_far);
	tcase_add_test(tc, test_stray_answers);
	tcase_add_test(tc, test_tag_reused);
	tcase_add_test(tc, test_start_twice);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_paths_line);
	tcase_add_test(tc, test_paths_ring);
	tcase_add_test(tc, test_paths_star);
	tcase_add_test(tc, test_paths_no_transit);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
