/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fabric.h"
#include "peer.h"
#include "router-internal.h"

/*
 * Every switch's control space (control-space.h): its core, switch and interface structures,
 * and its LPRTs and MPRTs, which are the routes the router walks. What a manager writes there
 * routes; what famezd computes for the switches it manages reads back from there.
 */

bool router_peer_gcid(const Switch *sw, const Peer *p, uint16_t *cid, uint16_t *sid)
{
	uint64_t s, c;

	if (!p->fabric.configured)
		return false;
	if (sw->config.managed_external) {
		/* What the peer said its manager gave it (its Peer-Attribute answer). */
		*cid = (uint16_t)p->fabric.cid0;
		*sid = (uint16_t)p->fabric.sid0;
		return true;
	}
	fabric_assignment(sw->fabric, p->id, true, &s, &c);
	*cid = (uint16_t)c;
	*sid = (uint16_t)s;
	return true;
}

typedef struct PeerView {
	unsigned istate;
	unsigned cstate;
	unsigned cclass;
	unsigned interface;
	uint16_t cid, sid;
	bool valid;
} PeerView;

static void view_of_port(const Router *r, size_t index, unsigned port, PeerView *v)
{
	const TopoSwitch *ts = &r->topo[index];
	const TopoLink *link;

	*v = (PeerView){ .istate = GENZ_I_DOWN };
	if (port >= 1 && port <= ts->n_clients) {
		const Switch *s = r->switches[index];
		const Peer *p = s->peers_by_id[port];

		if (!p)
			return;
		v->istate = GENZ_I_UP;
		v->cclass = GENZ_CCLASS_BRIDGE;
		v->valid = router_peer_gcid(s, p, &v->cid, &v->sid);
		v->cstate = v->valid ? GENZ_C_UP : GENZ_C_CFG;
		return;
	}
	link = topology_link(ts, port);
	if (!link || !link->up || link->peer_switch >= r->n || !r->topo[link->peer_switch].up)
		return;
	const TopoSwitch *o = &r->topo[link->peer_switch];
	ControlSpace *ocs = r->controls[link->peer_switch].space;

	v->istate = GENZ_I_UP;
	v->cclass = GENZ_CCLASS_SWITCH;
	v->interface = link->peer_port;
	v->valid = o->cid_valid;
	v->cid = (uint16_t)o->cid;
	v->sid = (uint16_t)o->sid;
	v->cstate = ocs ? (unsigned)genz_get_named(&genz_core, control_space_core(ocs), "CState")
			: GENZ_C_DOWN;
}

static void refresh(void *userdata, ControlRegion *reg)
{
	SwitchControl *c = userdata;
	const GenzStructure *is = &genz_interface;
	uint8_t *b = reg->bytes;
	PeerView v;

	if (reg->structure != &genz_interface)
		return;
	view_of_port(c->router, c->index, reg->interface, &v);
	genz_set_named(is, b, "IState", v.istate);
	genz_set_named(is, b, "PeerCState", v.cstate);
	genz_set_named(is, b, "PeerBaseCClass", v.cclass);
	genz_set_named(is, b, "PeerInterfaceID", v.interface);
	genz_set_named(is, b, "PeerCID", v.valid ? v.cid : 0);
	genz_set_named(is, b, "PeerSID", v.valid ? v.sid : 0);
	genz_set_named(is, b, "PeerCIDValid", v.valid);
	genz_set_named(is, b, "PeerSIDValid", v.valid);
}

static RouteTableKind kind_of(const ControlRegion *reg)
{
	return reg->table == CONTROL_TABLE_LPRT ? ROUTE_LPRT : ROUTE_MPRT;
}

static uint32_t table_get(void *userdata, const ControlRegion *reg, uint32_t index)
{
	SwitchControl *c = userdata;
	const RouteEntry *e =
		routes_get(c->router->routes[c->index], kind_of(reg), reg->interface, index);

	if (!e || !e->valid)
		return 0;
	return genz_route_pack(
		(GenzRoute){ .mhc = e->hops, .valid = true, .hc = e->hops, .ei = e->egress });
}

static ControlReason table_set(void *userdata, const ControlRegion *reg, uint32_t index,
			       uint32_t value)
{
	SwitchControl *c = userdata;
	SwitchRoutes *routes = c->router->routes[c->index];
	GenzRoute g = genz_route_unpack(value);

	if (g.valid && (g.ei == 0 || g.ei >= routes->n_ports))
		return CONTROL_UNSUPPORTED;
	if (routes_set(routes, kind_of(reg), reg->interface, index,
		       (RouteEntry){
			       .egress = g.valid ? g.ei : 0, .hops = g.hc, .valid = g.valid }) < 0)
		return CONTROL_UNSUPPORTED;
	return CONTROL_OK;
}

/* A manager's write takes effect: the switch's CID, SID and relay are what it wrote. */
static void written(void *userdata, ControlRegion *reg, const uint8_t *old, size_t off, size_t len)
{
	SwitchControl *c = userdata;
	TopoSwitch *ts = &c->router->topo[c->index];
	Switch *s = c->router->switches[c->index];

	(void)old;
	(void)off;
	(void)len;
	if (reg->structure == &genz_core) {
		bool valid = genz_get_named(&genz_core, reg->bytes, "CV") & 1;

		ts->cid = (unsigned)genz_get_named(&genz_core, reg->bytes, "CID0");
		ts->sid = (unsigned)genz_get_named(&genz_core, reg->bytes, "SID0");
		if (valid != ts->cid_valid)
			switch_log(s, LOG_INFO, "control write: CID %s%u, SID %u",
				   valid ? "" : "withdrawn, was ", ts->cid, ts->sid);
		ts->cid_valid = valid;
	} else if (reg->structure == &genz_component_switch) {
		bool relay = genz_get_named(&genz_component_switch, reg->bytes, "PktRelayEnb");

		if (relay != ts->relay)
			switch_log(s, LOG_INFO, "control write: packet relay %s",
				   relay ? "enabled" : "disabled");
		ts->relay = relay;
	}
}

static const ControlOps switch_ops = {
	.refresh = refresh,
	.table_get = table_get,
	.table_set = table_set,
	.written = written,
};

int router_controls_new(Router *r)
{
	r->controls = calloc(r->n, sizeof(*r->controls));
	if (!r->controls)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		const TopoSwitch *ts = &r->topo[i];
		SwitchControl *c = &r->controls[i];

		c->router = r;
		c->index = i;
		if (!ts->up)
			continue;
		c->space = control_space_new(
			&(ControlIdentity){
				.cclass = GENZ_CCLASS_SWITCH,
				.interfaces = r->routes[i]->n_ports,
				.self_interface = ts->n_clients + 1,
				.cid_entries = r->routes[i]->lprt_size,
				.sid_entries = r->routes[i]->mprt_size,
				.up = !ts->external,
				.cid = (uint16_t)ts->cid,
				.sid = (uint16_t)ts->sid,
				.serial = i + 1,
			},
			&switch_ops, c);
		if (!c->space)
			return -errno;
	}
	return 0;
}

void router_controls_free(Router *r)
{
	for (size_t i = 0; r->controls && i < r->n; i++)
		control_space_free(r->controls[i].space);
	free(r->controls);
	r->controls = NULL;
}

bool router_ingress_directed(const Router *r, size_t sw, unsigned port)
{
	ControlSpace *cs = r->controls[sw].space;
	const uint8_t *b = cs ? control_space_interface(cs, port) : NULL;

	return b && genz_get_named(&genz_interface, b, "IngressDREnb");
}

bool router_control_answer(Router *r, size_t sw, const char *text, uint64_t requester, char *answer,
			   size_t size)
{
	ControlSpace *cs = r->controls[sw].space;
	ControlMsg req = { .type = CONTROL_MSG_NONE }, resp;
	int ret = control_msg_parse(text, &req);

	if (!cs || (ret == 0 && req.type != CONTROL_MSG_READ && req.type != CONTROL_MSG_WRITE))
		return false;
	if (ret < 0) {
		if (req.type != CONTROL_MSG_READ && req.type != CONTROL_MSG_WRITE)
			return false;
		control_space_answer_malformed(cs, &req, &resp);
	} else
		control_space_answer(cs, &req, requester, &resp);
	return control_msg_format(&resp, answer, size) >= 0;
}

bool router_control_request(Router *r, Switch *sw, Peer *p, const char *text, char *answer,
			    size_t size)
{
	/* A peer of the switch, by its port: the same key for all its requests. */
	uint64_t requester = UINT64_C(1) << 61 | (uint64_t)p->id << 32 | (uint32_t)p->join_seq;

	return r && router_control_answer(r, sw->index, text, requester, answer, size);
}

ControlSpace *router_control_space(const Router *r, size_t sw)
{
	return r && sw < r->n && r->controls ? r->controls[sw].space : NULL;
}
