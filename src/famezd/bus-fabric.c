/* SPDX-License-Identifier: MIT */
/*
 * The fabric the switches make, on D-Bus (docs/dbus.md): on org.famez.Server1 its topology
 * (GetTopology) and the state of its links (SetLinkState); on every switch's object (and on
 * Server1 for the default switch) its ports and its routing tables (Ports, GetRoutes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "fabric.h"
#include "mailbox.h"
#include "peer.h"
#include "route-span.h"
#include "router.h"
#include "switch.h"
#include "wire.h"

/* A peer's node ID: NAME:ID, the switch and the port it is on. */
#define NODE_ID_MAX (SWITCH_NAME_MAX + 8)

static const TopoSwitch *topo_of(const Switch *s)
{
	return router_topo(s->bus->router, s->index);
}

/* The peer on client port id of a fabric switch, unless it is on its way out. */
static Peer *client_on(const Switch *s, const TopoSwitch *ts, unsigned id)
{
	Peer *p;

	if (!s->fabric || id == 0 || id > ts->n_clients || id > WIRE_ID_MAX)
		return NULL;
	p = s->peers_by_id[id];
	return p && !p->broken ? p : NULL;
}

/* ---- org.famez.Server1: the fabric ---- */

/* "CID,SID" of a manager, into buf. */
static const char *manager_name(uint64_t cid, uint64_t sid, char buf[16])
{
	snprintf(buf, 16, "%u,%u", (unsigned)(cid & 0xfff), (unsigned)(sid & 0xffff));
	return buf;
}

/* Who configured switch s: "famezd", its external manager's CID,SID, or "" (nobody yet). */
static const char *switch_manager(const Switch *s, const TopoSwitch *ts, char buf[16])
{
	const ControlSpace *cs = router_control_space(s->bus->router, s->index);
	const uint8_t *core;

	if (!s->fabric || !ts->cid_valid)
		return "";
	if (!s->config.managed_external)
		return "famezd";
	core = control_space_core((ControlSpace *)cs);
	return manager_name(genz_get_named(&genz_core, core, "PFMCID"),
			    genz_get_named(&genz_core, core, "PFMSID"), buf);
}

/* Who configured peer p: "famezd", the manager it names, "external" (it names none), or "". */
static const char *peer_manager(const Switch *s, const Peer *p, char buf[16])
{
	const FabricPeer *fp = &p->fabric;

	if (!fp->configured)
		return "";
	if (!s->config.managed_external)
		return "famezd";
	return fp->has_pfm ? manager_name(fp->pfm_cid, fp->pfm_sid, buf) : "external";
}

/* (id, name, cclass, switch, cid, sid, configured, manager) of switch s and of its peers. */
static int append_nodes(sd_bus_message *reply, Switch *s, const TopoSwitch *ts)
{
	const char *name = s->config.name;
	char manager[16];
	int r;

	/* An ivshmem-mode switch is down, with no CID: a node all the same, and no peer nodes. */
	r = sd_bus_message_append(reply, "(ssssqqbs)", name, name,
				  s->fabric ? FABRIC_SERVER_CCLASS : "", name,
				  (uint16_t)(s->fabric && ts->cid_valid ? ts->cid : 0),
				  (uint16_t)(s->fabric && ts->cid_valid ? ts->sid : 0),
				  s->fabric && ts->cid_valid, switch_manager(s, ts, manager));
	for (unsigned id = 1; r >= 0 && id <= ts->n_clients; id++) {
		char node[NODE_ID_MAX], nodename[MAILBOX_NODENAME_MAX], cclass[MAILBOX_CCLASS_MAX];
		Peer *p = client_on(s, ts, id);
		uint64_t sid, cid;

		if (!p)
			continue;
		snprintf(node, sizeof(node), "%s:%u", name, id);
		bus_peer_nodename(s, p, nodename);
		bus_peer_cclass(p, cclass);
		/*
		 * The CID,SID it has, or will have once famezd configures it: where routes lead.
		 * Under an external manager, the one it says it was given, if any.
		 */
		fabric_assignment(s->fabric, id, true, &sid, &cid);
		if (s->config.managed_external) {
			uint16_t c = 0, d = 0;

			router_peer_gcid(s, p, &c, &d);
			cid = c;
			sid = d;
		}
		r = sd_bus_message_append(reply, "(ssssqqbs)", node, nodename, cclass, name,
					  (uint16_t)cid, (uint16_t)sid, p->fabric.configured,
					  peer_manager(s, p, manager));
	}
	return r;
}

/* (source, target, source port, target port, up): s's links to switches after it, its peers. */
static int append_links(sd_bus_message *reply, const BusService *b, const Switch *s,
			const TopoSwitch *ts)
{
	int r = 0;

	for (unsigned i = 0; r >= 0 && i < ts->n_links; i++) {
		const TopoLink *l = &ts->links[i];

		/* Each link once, from the end first in famezd's order. */
		if (l->peer_switch <= s->index || l->peer_switch >= b->n_switches)
			continue;
		r = sd_bus_message_append(reply, "(ssqqb)", s->config.name,
					  b->switches[l->peer_switch]->config.name,
					  (uint16_t)l->port, (uint16_t)l->peer_port, l->up);
	}
	for (unsigned id = 1; r >= 0 && id <= ts->n_clients; id++) {
		char node[NODE_ID_MAX];

		if (!client_on(s, ts, id))
			continue;
		snprintf(node, sizeof(node), "%s:%u", s->config.name, id);
		/* The switch's port is the peer's ID; the peer's own is its only one, 0. */
		r = sd_bus_message_append(reply, "(ssqqb)", s->config.name, node, (uint16_t)id,
					  (uint16_t)0, true);
	}
	return r;
}

static int method_get_topology(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	BusService *b = userdata;
	int r;

	(void)error;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(ssssqqbs)");
	for (size_t i = 0; r >= 0 && i < b->n_switches; i++) {
		const TopoSwitch *ts = topo_of(b->switches[i]);

		if (ts)
			r = append_nodes(reply, b->switches[i], ts);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(ssqqb)");
	for (size_t i = 0; r >= 0 && i < b->n_switches; i++) {
		const TopoSwitch *ts = topo_of(b->switches[i]);

		if (ts)
			r = append_links(reply, b, b->switches[i], ts);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static Switch *find_switch(BusService *b, const char *name, sd_bus_error *error)
{
	for (size_t i = 0; i < b->n_switches; i++)
		if (strcmp(b->switches[i]->config.name, name) == 0)
			return b->switches[i];
	sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SWITCH,
			  "famezd has no switch '%s'; the Switches property lists them", name);
	return NULL;
}

static int method_set_link_state(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BusService *b = userdata;
	const TopoSwitch *ts;
	const TopoLink *link;
	const char *name;
	int up, interactive, r;
	uint16_t port;
	Switch *s;

	r = sd_bus_message_read(m, "sqbb", &name, &port, &up, &interactive);
	if (r < 0)
		return r;
	s = find_switch(b, name, error);
	if (!s)
		return -ENOENT;
	ts = topo_of(s);
	link = ts ? topology_link(ts, port) : NULL;
	if (!link || link->peer_switch >= b->n_switches)
		return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_LINK,
					 "switch %s has no link on port %u; GetTopology lists "
					 "the links",
					 name, port);
	r = bus_authorize(s, m, "org.famez.set-link-state", interactive, error);
	if (r <= 0)
		return r < 0 ? r : 1;
	if (link->up != (bool)up) {
		const char *other = b->switches[link->peer_switch]->config.name;
		unsigned other_port = link->peer_port;

		r = router_set_link(b->router, s->index, port, up);
		if (r < 0)
			return sd_bus_error_set_errno(error, r);
		switch_log(s, LOG_NOTICE, "link %u to %s:%u taken %s by an administrator", port,
			   other, other_port, up ? "up" : "down");
	}
	return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable bus_fabric_server_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("GetTopology", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(ssssqqbs)", nodes, "a(ssqqb)", links),
				method_get_topology, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS(
		"SetLinkState", SD_BUS_ARGS("s", switch, "q", port, "b", up, "b", interactive),
		SD_BUS_NO_RESULT, method_set_link_state, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

/* ---- every switch: its ports and routes ---- */

/* (port, kind, peer switch, peer port, up, relayed, dropped, refused). */
static int append_port(sd_bus_message *reply, const Switch *s, unsigned port, const char *kind,
		       const char *peer_switch, unsigned peer_port, bool up)
{
	const PortCounters *c = router_port_counters(s->bus->router, s->index, port);
	PortCounters none = { 0 };

	if (!c)
		c = &none;
	return sd_bus_message_append(reply, "(qssqbttt)", (uint16_t)port, kind, peer_switch,
				     (uint16_t)peer_port, up, c->relayed, c->dropped, c->refused);
}

static int prop_ports(sd_bus *bus, const char *path, const char *interface, const char *property,
		      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	const TopoSwitch *ts = topo_of(s);
	int r;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	r = sd_bus_message_open_container(reply, 'a', "(qssqbttt)");
	if (!ts || !s->fabric)
		return r < 0 ? r : sd_bus_message_close_container(reply);
	/* The client ports with a peer, then every link port, in port order. */
	for (unsigned id = 1; r >= 0 && id <= ts->n_clients; id++)
		if (client_on(s, ts, id))
			r = append_port(reply, s, id, "client", "", 0, true);
	for (unsigned port = topology_first_link_port(ts->n_clients);
	     r >= 0 && port < topology_first_link_port(ts->n_clients) + TOPOLOGY_LINKS_MAX;
	     port++) {
		const TopoLink *l = topology_link(ts, port);

		if (l && l->peer_switch < s->bus->n_switches)
			r = append_port(reply, s, port, "link",
					s->bus->switches[l->peer_switch]->config.name, l->peer_port,
					l->up);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* The ports a message can come in by: the clients', the switch's own, the linked ones. */
static bool is_ingress(const TopoSwitch *ts, unsigned port)
{
	return (port >= 1 && port <= ts->n_clients + 1) || topology_link(ts, port);
}

/*
 * The rows of table kind: for each group of ingress ports that route alike, its spans
 * (table, ingress ports, first index, last index, egress, hops).
 */
static int append_table(sd_bus_message *reply, const TopoSwitch *ts, const SwitchRoutes *routes,
			RouteTableKind kind)
{
	const char *table = kind == ROUTE_LPRT ? "LPRT" : "MPRT";
	_cleanup_free_ uint16_t *group = calloc(routes->n_ports, sizeof(*group));
	_cleanup_free_ bool *grouped = calloc(routes->n_ports, sizeof(*grouped));
	int r = 0;

	if (!group || !grouped)
		return -ENOMEM;
	for (unsigned port = 1; r >= 0 && port < routes->n_ports; port++) {
		unsigned size = 0, index = 0, n = 0;
		const RouteRow *row = routes_row(routes, kind, port, &size);
		RouteSpan span;

		if (grouped[port] || !row || !is_ingress(ts, port))
			continue;
		for (unsigned other = port; other < routes->n_ports; other++)
			if (!grouped[other] && is_ingress(ts, other) &&
			    routes_rows_equal(routes, kind, port, other)) {
				grouped[other] = true;
				group[n++] = (uint16_t)other;
			}
		while (r >= 0 && route_span_next(row, size, &index, &span)) {
			r = sd_bus_message_open_container(reply, 'r', "saqqqqy");
			if (r >= 0)
				r = sd_bus_message_append(reply, "s", table);
			if (r >= 0)
				r = sd_bus_message_append_array(reply, 'q', group,
								n * sizeof(*group));
			if (r >= 0)
				r = sd_bus_message_append(reply, "qqqy", (uint16_t)span.first,
							  (uint16_t)span.last, span.egress,
							  span.hops);
			if (r >= 0)
				r = sd_bus_message_close_container(reply);
		}
	}
	return r;
}

static int method_get_routes(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Switch *s = userdata;
	const TopoSwitch *ts = topo_of(s);
	const SwitchRoutes *routes = router_routes(s->bus->router, s->index);
	int r;

	(void)error;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(saqqqqy)");
	/* An ivshmem-mode switch routes nothing: its tables are empty. */
	if (r >= 0 && ts && routes && s->fabric)
		r = append_table(reply, ts, routes, ROUTE_LPRT);
	if (r >= 0 && ts && routes && s->fabric)
		r = append_table(reply, ts, routes, ROUTE_MPRT);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* A control request refused: the reason, as a control response would give it. */
static int control_refused(sd_bus_error *error, const Switch *s, ControlReason why, uint64_t offset,
			   uint32_t length)
{
	return sd_bus_error_setf(error, BUS_ERROR_CONTROL_REFUSED,
				 "switch %s refused %u bytes at control offset 0x%llx: %s",
				 s->config.name, length, (unsigned long long)offset,
				 control_reason_to_string(why));
}

static ControlSpace *control_of(const Switch *s, sd_bus_error *error)
{
	ControlSpace *cs = s->fabric ? router_control_space(s->bus->router, s->index) : NULL;

	if (!cs)
		sd_bus_error_setf(error, BUS_ERROR_NOT_IN_FABRIC_MODE,
				  "switch %s is in ivshmem mode: it has no control space",
				  s->config.name);
	return cs;
}

static int method_read_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Switch *s = userdata;
	uint8_t data[CONTROL_DATA_MAX];
	ControlSpace *cs;
	ControlReason why;
	uint64_t offset;
	uint32_t length;
	int r;

	r = sd_bus_message_read(m, "tu", &offset, &length);
	if (r < 0)
		return r;
	cs = control_of(s, error);
	if (!cs)
		return -ENXIO;
	why = control_space_read(cs, offset, length, data);
	if (why != CONTROL_OK)
		return control_refused(error, s, why, offset, length);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', data, length);
	return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_write_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	const void *data;
	ControlSpace *cs;
	ControlReason why;
	uint64_t offset;
	size_t length;
	int interactive, r;

	r = sd_bus_message_read(m, "t", &offset);
	if (r >= 0)
		r = sd_bus_message_read_array(m, 'y', &data, &length);
	if (r >= 0)
		r = sd_bus_message_read(m, "b", &interactive);
	if (r < 0)
		return r;
	cs = control_of(s, error);
	if (!cs)
		return -ENXIO;
	r = bus_authorize(s, m, "org.famez.write-control", interactive, error);
	if (r <= 0)
		return r < 0 ? r : 1;
	why = length > CONTROL_DATA_MAX ? CONTROL_OUT_OF_RANGE
					: control_space_write(cs, offset, data, (uint32_t)length);
	if (why != CONTROL_OK)
		return control_refused(error, s, why, offset, (uint32_t)length);
	switch_log(s, LOG_NOTICE, "%zu bytes at control offset 0x%llx written by an administrator",
		   length, (unsigned long long)offset);
	return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable bus_fabric_switch_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Ports", "a(qssqbttt)", prop_ports, 0, 0),
	SD_BUS_METHOD_WITH_ARGS("ReadControl", SD_BUS_ARGS("t", offset, "u", length),
				SD_BUS_RESULT("ay", data), method_read_control,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("WriteControl",
				SD_BUS_ARGS("t", offset, "ay", data, "b", interactive),
				SD_BUS_NO_RESULT, method_write_control, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetRoutes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(saqqqqy)", routes),
				method_get_routes, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};
