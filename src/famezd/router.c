/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control-msg.h"
#include "fabric.h"
#include "log.h"
#include "mailbox.h"
#include "peer.h"
#include "router-internal.h"
#include "wire.h"

/* One port a route leaves by. */
typedef struct Hop {
	size_t sw;
	unsigned port;
} Hop;

typedef struct Path {
	Hop hops[PATH_MAX_HOPS];
	unsigned n;
	unsigned ingress; /* at the last switch */
	RouteVerdict verdict;
	EnvelopeStatus status; /* when it goes nowhere */
} Path;

/* Where a directed message goes: port by port, and the way back. */
typedef struct Directed {
	Hop hops[ENVELOPE_PATH_MAX + 1]; /* the ports it leaves by */
	unsigned n;
	size_t sw;        /* where it ends */
	unsigned ingress; /* there */
	unsigned port;    /* a client port there, or 0: the switch itself */
	uint8_t back[ENVELOPE_PATH_MAX];
	unsigned n_back;
	EnvelopeStatus status; /* ENVELOPE_STATUS_OK, or why it goes nowhere */
} Directed;

/* Tokens name the sender of a relay: its switch, its ID and its join, never a pointer. */
static uint64_t token_of(const Switch *sw, const Peer *p)
{
	return (uint64_t)(sw->index + 1) << 48 | (uint64_t)p->id << 32 | (uint32_t)p->join_seq;
}

static Peer *sender_of(Router *r, uint64_t token)
{
	size_t sw = (size_t)(token >> 48);
	unsigned id = (unsigned)(token >> 32) & 0xffff;
	Peer *p;

	if (sw == 0 || sw > r->n || id > WIRE_ID_MAX)
		return NULL;
	p = r->switches[sw - 1]->peers_by_id[id];
	return p && (uint32_t)p->join_seq == (uint32_t)token ? p : NULL;
}

static void held_remove(Router *r, Peer *p)
{
	if (!p->relay.held)
		return;
	if (p->relay.held_prev)
		p->relay.held_prev->relay.held_next = p->relay.held_next;
	else
		r->held_first = p->relay.held_next;
	if (p->relay.held_next)
		p->relay.held_next->relay.held_prev = p->relay.held_prev;
	else
		r->held_last = p->relay.held_prev;
	p->relay.held = false;
	p->relay.held_prev = p->relay.held_next = NULL;
}

static void held_add(Router *r, Peer *p)
{
	if (p->relay.held)
		return;
	p->relay.held = true;
	p->relay.held_next = NULL;
	p->relay.held_prev = r->held_last;
	if (r->held_last)
		r->held_last->relay.held_next = p;
	else
		r->held_first = p;
	r->held_last = p;
}

/* Where a message for env's destination, entering switch sw by ingress, ends up. */
static void walk(const Router *r, size_t sw, unsigned ingress, const Envelope *env, Path *path)
{
	*path = (Path){ .status = ENVELOPE_STATUS_NO_ROUTE };
	for (;;) {
		const TopoSwitch *ts = &r->topo[sw];
		const TopoLink *link;
		unsigned egress = 0;

		path->ingress = ingress;
		path->verdict = routes_lookup(ts, r->routes[sw], ingress, env->dest_cid,
					      env->dest_sid, &egress);
		if (path->verdict == TOPOLOGY_LOCAL) {
			path->hops[path->n++] = (Hop){ .sw = sw, .port = 0 };
			return;
		}
		if (path->verdict == TOPOLOGY_NO_ROUTE) {
			path->hops[path->n++] = (Hop){ .sw = sw, .port = ingress };
			return;
		}
		if (!ts->relay) {
			/* Its manager disabled its packet relay (Component Switch Structure). */
			path->hops[path->n++] = (Hop){ .sw = sw, .port = ingress };
			path->verdict = TOPOLOGY_NO_ROUTE;
			path->status = ENVELOPE_STATUS_RELAY_DISABLED;
			return;
		}
		path->hops[path->n++] = (Hop){ .sw = sw, .port = egress };
		if (egress <= ts->n_clients)
			return;
		link = topology_link(ts, egress);
		if (!link || !link->up || !r->topo[link->peer_switch].up) {
			path->verdict = TOPOLOGY_NO_ROUTE;
			return;
		}
		if (path->n == PATH_MAX_HOPS) {
			/* The tables loop (someone wrote them so): the hop count runs out. */
			path->verdict = TOPOLOGY_NO_ROUTE;
			path->status = ENVELOPE_STATUS_HOP_LIMIT;
			return;
		}
		sw = link->peer_switch;
		ingress = link->peer_port;
	}
}

static const Hop *path_end(const Path *path)
{
	return &path->hops[path->n - 1];
}

static void count_relayed(Router *r, const Path *path)
{
	for (unsigned i = 0; i < path->n; i++) {
		r->ports[path->hops[i].sw][path->hops[i].port].relayed++;
		r->switches[path->hops[i].sw]->counters.relays_routed++;
	}
}

static void count_refused(Router *r, const Path *path)
{
	const Hop *end = path_end(path);

	r->ports[end->sw][path->ingress].refused++;
	r->switches[end->sw]->counters.relays_refused++;
}

static RouteOutcome send_along(Router *r, const Path *path, const char *text, Envelope *env,
			       uint64_t *token, EnvelopeStatus *status);

/* Who asked a switch's control space: the same key for all of a requester's requests. */
static uint64_t requester_routed(const Envelope *env)
{
	return control_requester_routed(env->origin_cid, env->origin_sid);
}

static uint64_t requester_directed(const Directed *d)
{
	return control_requester_directed(d->back, d->n_back);
}

/*
 * What a message for switch sw asks of it: the answer of its control space to a control
 * request, a pong to a ping; NULL for anything else (counted, logged at debug).
 */
static const char *answer_of(Router *r, size_t sw, const char *text, uint64_t requester,
			     char *answer, size_t size)
{
	Switch *s = r->switches[sw];

	if (router_control_answer(r, sw, text, requester, answer, size))
		return answer;
	if (strcmp(text, "ping") == 0)
		return "pong";
	s->counters.messages_unknown++;
	switch_log(s, LOG_DEBUG, "for the switch: \"%s\"", text);
	return NULL;
}

/* A routed message for the switch itself: its answer goes back by a route. */
static RouteOutcome consume(Router *r, size_t sw, const char *text, const Envelope *env)
{
	const TopoSwitch *ts = &r->topo[sw];
	Envelope reply = {
		.type = ENVELOPE_DELIVER,
		.dest_cid = env->origin_cid,
		.dest_sid = env->origin_sid,
		.origin_cid = (uint16_t)ts->cid,
		.origin_sid = (uint16_t)ts->sid,
	};
	char answer[MAILBOX_MSG_MAX];
	const char *reply_text =
		answer_of(r, sw, text, requester_routed(env), answer, sizeof(answer));
	EnvelopeStatus status;
	uint64_t token = 0;
	Path back;

	if (!reply_text)
		return ROUTE_TAKEN;
	walk(r, sw, ts->n_clients + 1, &reply, &back);
	if (send_along(r, &back, reply_text, &reply, &token, &status) != ROUTE_TAKEN)
		r->switches[sw]->counters.relays_dropped++;
	return ROUTE_TAKEN;
}

/*
 * Queues the message at the end of path, counting it along the way once it is taken. *token
 * goes with it, or is 0 when it did not (its callbacks will not name the sender).
 */
static RouteOutcome send_along(Router *r, const Path *path, const char *text, Envelope *env,
			       uint64_t *token, EnvelopeStatus *status)
{
	const Hop *end = path_end(path);
	Switch *dsw = r->switches[end->sw];
	Peer *dest;
	int ret;

	*status = ENVELOPE_STATUS_OK;
	if (path->verdict == TOPOLOGY_NO_ROUTE) {
		*status = path->status;
		count_refused(r, path);
		return ROUTE_REFUSED;
	}
	if (path->verdict == TOPOLOGY_LOCAL) {
		count_relayed(r, path);
		return consume(r, end->sw, text, env);
	}
	dest = dsw->peers_by_id[end->port];
	if (!dest || !dest->fabric.configured || !dsw->fabric) {
		*status = ENVELOPE_STATUS_UNREACHABLE;
		count_refused(r, path);
		return ROUTE_REFUSED;
	}
	env->hops = (uint8_t)(path->n - 1);
	/* Kept for a silent receiver, it waits for probes far apart: its sender does not. */
	if (fabric_dest_is_silent(dsw->fabric, end->port))
		*token = 0;
	ret = fabric_deliver(dsw->fabric, end->port, text, env, *token);
	if (ret == -ENOBUFS)
		return ROUTE_HELD;
	if (ret < 0) {
		*status = ENVELOPE_STATUS_MALFORMED;
		count_refused(r, path);
		return ROUTE_REFUSED;
	}
	count_relayed(r, path);
	return ROUTE_TAKEN;
}

/* Where a directed message that entered switch sw by ingress goes along env's path. */
static void walk_directed(const Router *r, size_t sw, unsigned ingress, const Envelope *env,
			  Directed *d)
{
	uint8_t in[ENVELOPE_PATH_MAX];
	unsigned n_in = 0;

	*d = (Directed){ .status = ENVELOPE_STATUS_OK };
	for (unsigned i = 0;; i++) {
		const TopoSwitch *ts = &r->topo[sw];
		const TopoLink *link = NULL;
		unsigned egress;

		d->sw = sw;
		d->ingress = ingress;
		if (!router_ingress_directed(r, sw, ingress)) {
			d->status = ENVELOPE_STATUS_RELAY_DISABLED;
			return;
		}
		/*
		 * The way back names this switch's ingress (a port a byte cannot hold is none),
		 * but for the switch's own port where it starts: the way back to a switch ends at
		 * it, and reads as the path that reaches it.
		 */
		if (i > 0 || ingress != ts->n_clients + 1) {
			if (n_in == ENVELOPE_PATH_MAX || ingress > UINT8_MAX) {
				d->status = ENVELOPE_STATUS_HOP_LIMIT;
				return;
			}
			in[n_in++] = (uint8_t)ingress;
		}
		if (i == env->path_len)
			break;
		egress = env->path[i];
		if (i + 1 == env->path_len && egress == ts->n_clients + 1)
			break;
		if (i + 1 == env->path_len && egress >= 1 && egress <= ts->n_clients) {
			d->port = egress;
			d->hops[d->n++] = (Hop){ .sw = sw, .port = egress };
			break;
		}
		if (egress > ts->n_clients + 1)
			link = topology_link(ts, egress);
		if (!link) {
			d->status = ENVELOPE_STATUS_NO_ROUTE;
			return;
		}
		if (!link->up || !r->topo[link->peer_switch].up) {
			d->status = ENVELOPE_STATUS_UNREACHABLE;
			return;
		}
		d->hops[d->n++] = (Hop){ .sw = sw, .port = egress };
		sw = link->peer_switch;
		ingress = link->peer_port;
	}
	for (unsigned i = 0; i < n_in; i++)
		d->back[i] = in[n_in - 1 - i];
	d->n_back = n_in;
}

static RouteOutcome send_directed(Router *r, const Directed *d, const char *text, uint64_t *token,
				  EnvelopeStatus *status);

/* A directed message for the switch itself: its answer goes back the way it came. */
static void consume_directed(Router *r, const Directed *d, const char *text)
{
	const TopoSwitch *ts = &r->topo[d->sw];
	Envelope reply = { .type = ENVELOPE_DIRECTED, .path_len = (uint8_t)d->n_back };
	char answer[MAILBOX_MSG_MAX];
	const char *reply_text =
		answer_of(r, d->sw, text, requester_directed(d), answer, sizeof(answer));
	EnvelopeStatus status;
	uint64_t token = 0;
	Directed back;

	if (!reply_text)
		return;
	memcpy(reply.path, d->back, d->n_back);
	walk_directed(r, d->sw, ts->n_clients + 1, &reply, &back);
	if (send_directed(r, &back, reply_text, &token, &status) != ROUTE_TAKEN)
		r->switches[d->sw]->counters.relays_dropped++;
}

static void count_directed(Router *r, const Directed *d)
{
	for (unsigned i = 0; i < d->n; i++) {
		r->ports[d->hops[i].sw][d->hops[i].port].relayed++;
		r->switches[d->hops[i].sw]->counters.relays_routed++;
	}
}

/* Queues a directed message where d ends; *token as for send_along(). */
static RouteOutcome send_directed(Router *r, const Directed *d, const char *text, uint64_t *token,
				  EnvelopeStatus *status)
{
	Switch *dsw = r->switches[d->sw];
	Envelope env = { .type = ENVELOPE_DIRECTED_DELIVER, .path_len = (uint8_t)d->n_back };
	Peer *dest;
	int ret;

	*status = d->status;
	if (d->status == ENVELOPE_STATUS_OK && d->port != 0) {
		dest = dsw->peers_by_id[d->port];
		if (!dest || !dsw->fabric)
			*status = ENVELOPE_STATUS_UNREACHABLE;
	}
	if (*status != ENVELOPE_STATUS_OK) {
		r->ports[d->sw][d->ingress].refused++;
		dsw->counters.relays_refused++;
		return ROUTE_REFUSED;
	}
	if (d->port == 0) {
		count_directed(r, d);
		consume_directed(r, d, text);
		return ROUTE_TAKEN;
	}
	memcpy(env.path, d->back, d->n_back);
	if (fabric_dest_is_silent(dsw->fabric, d->port))
		*token = 0;
	ret = fabric_deliver(dsw->fabric, d->port, text, &env, *token);
	if (ret == -ENOBUFS)
		return ROUTE_HELD;
	if (ret < 0) {
		*status = ENVELOPE_STATUS_MALFORMED;
		r->ports[d->sw][d->ingress].refused++;
		dsw->counters.relays_refused++;
		return ROUTE_REFUSED;
	}
	count_directed(r, d);
	return ROUTE_TAKEN;
}

RouteOutcome router_route(Router *r, Switch *sw, Peer *p, const char *text, const Envelope *env,
			  EnvelopeStatus *status)
{
	Envelope deliver = {
		.type = ENVELOPE_DELIVER,
		.dest_cid = env->dest_cid,
		.dest_sid = env->dest_sid,
	};
	bool directed = env->type == ENVELOPE_DIRECTED, local;
	RouteOutcome outcome;
	uint64_t token;

	*status = ENVELOPE_STATUS_OK;
	if (!r || (env->type != ENVELOPE_ROUTE && !directed)) {
		*status = r ? ENVELOPE_STATUS_MALFORMED : ENVELOPE_STATUS_NO_ROUTE;
		return ROUTE_REFUSED;
	}
	/*
	 * The origin is the sender's CID,SID as the switch knows it, whatever its envelope says.
	 * Directed messages need none: they are how what has no CID yet is reached.
	 */
	if (!directed && !router_peer_gcid(sw, p, &deliver.origin_cid, &deliver.origin_sid)) {
		*status = ENVELOPE_STATUS_NOT_CONFIGURED;
		r->ports[sw->index][p->id].refused++;
		sw->counters.relays_refused++;
		return ROUTE_REFUSED;
	}

	/* At its quota: it waits for one of its relays to be done. */
	if (p->relay.in_flight >= ROUTER_SENDER_QUOTA) {
		held_add(r, p);
		return ROUTE_HELD;
	}
	/* Counted before: a silent receiver reports its drop at once. */
	p->relay.in_flight++;
	token = token_of(sw, p);
	if (directed) {
		Directed d;

		walk_directed(r, sw->index, p->id, env, &d);
		outcome = send_directed(r, &d, text, &token, status);
		local = d.port == 0;
	} else {
		Path path;

		walk(r, sw->index, p->id, &deliver, &path);
		outcome = send_along(r, &path, text, &deliver, &token, status);
		local = path.verdict == TOPOLOGY_LOCAL;
	}
	if (outcome != ROUTE_TAKEN || local || token == 0)
		p->relay.in_flight--;
	if (outcome == ROUTE_HELD)
		held_add(r, p);
	else
		held_remove(r, p);
	return outcome;
}

static int on_retry(sd_event_source *source, void *userdata)
{
	Router *r = userdata;
	Peer *last = r->held_last;

	(void)source;
	/* Each of those held now, once: who is held again waits for the next completion. */
	for (Peer *p = r->held_first, *next; p; p = next) {
		bool was_last = p == last;

		next = p->relay.held_next;
		held_remove(r, p);
		if (p->sw->fabric)
			fabric_retry(p->sw->fabric, p);
		if (was_last)
			break;
	}
	return 0;
}

/* Who is held tries again soon, outside any callback. */
static void kick(Router *r)
{
	if (r->held_first && r->retry)
		sd_event_source_set_enabled(r->retry, SD_EVENT_ONESHOT);
}

void router_done(Router *r, Switch *sw, unsigned dest, uint64_t token, bool relayed, bool delivered)
{
	Peer *sender;

	if (!r)
		return;
	if (relayed && !delivered) {
		r->ports[sw->index][dest].dropped++;
		sw->counters.relays_dropped++;
	}
	sender = sender_of(r, token);
	if (sender && sender->relay.in_flight)
		sender->relay.in_flight--;
	kick(r);
}

void router_peer_left(Router *r, Peer *p)
{
	p->relay.in_flight = 0;
	if (!r)
		return;
	held_remove(r, p);
	/* What was queued for it is gone: a sender held for room in its queue goes on. */
	kick(r);
}

/* Every switch's routes; an external switch's are its manager's, computed only at first. */
static int compute_routes(Router *r)
{
	for (size_t i = 0; i < r->n; i++) {
		SwitchRoutes *fresh;
		int ret;

		if (r->topo[i].external && r->routes[i])
			continue;
		ret = routes_compute(&(Topology){ .switches = r->topo, .n = r->n }, i, &fresh);

		if (ret < 0)
			return ret;
		routes_free(r->routes[i]);
		r->routes[i] = fresh;
	}
	return 0;
}

int router_new(Router **ret, Switch **switches, size_t n)
{
	SwitchConfig **configs = NULL;
	char err[SWITCH_CONFIG_ERROR_MAX];
	Router *r;
	int res = -ENOMEM;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->switches = switches;
	r->n = n;
	r->topo = calloc(n, sizeof(*r->topo));
	r->routes = calloc(n, sizeof(*r->routes));
	r->ports = calloc(n, sizeof(*r->ports));
	configs = calloc(n, sizeof(*configs));
	if (!r->topo || !r->routes || !r->ports || !configs)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		switches[i]->index = i;
		configs[i] = &switches[i]->config;
	}
	if (switch_configs_topology(configs, n, r->topo, err, sizeof(err)) < 0) {
		res = log_error_errno(EINVAL, "%s", err);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned ports = topology_first_link_port(r->topo[i].n_clients) + TOPOLOGY_LINKS_MAX;

		r->ports[i] = calloc(ports, sizeof(*r->ports[i]));
		if (!r->ports[i])
			goto fail;
	}
	res = compute_routes(r);
	if (res >= 0)
		res = router_controls_new(r);
	if (res < 0)
		goto fail;
	r->event = sd_event_ref(switches[0]->event);
	res = sd_event_add_defer(r->event, &r->retry, on_retry, r);
	if (res < 0)
		goto fail;
	sd_event_source_set_enabled(r->retry, SD_EVENT_OFF);
	(void)sd_event_source_set_description(r->retry, "relay-retry");
	free(configs);
	*ret = r;
	return 0;

fail:
	free(configs);
	router_free(r);
	return res;
}

Router *router_free(Router *r)
{
	if (!r)
		return NULL;
	while (r->held_first)
		held_remove(r, r->held_first);
	sd_event_source_disable_unref(r->retry);
	sd_event_unref(r->event);
	router_controls_free(r);
	for (size_t i = 0; i < r->n; i++) {
		if (r->routes)
			routes_free(r->routes[i]);
		if (r->ports)
			free(r->ports[i]);
	}
	free(r->routes);
	free(r->ports);
	free(r->topo);
	free(r);
	return NULL;
}

size_t router_n_switches(const Router *r)
{
	return r ? r->n : 0;
}

const TopoSwitch *router_topo(const Router *r, size_t i)
{
	return r && i < r->n ? &r->topo[i] : NULL;
}

const SwitchRoutes *router_routes(const Router *r, size_t i)
{
	return r && i < r->n ? r->routes[i] : NULL;
}

const PortCounters *router_port_counters(const Router *r, size_t i, unsigned port)
{
	if (!r || i >= r->n ||
	    port >= topology_first_link_port(r->topo[i].n_clients) + TOPOLOGY_LINKS_MAX)
		return NULL;
	return &r->ports[i][port];
}

int router_set_link(Router *r, size_t sw, unsigned port, bool up)
{
	int ret;

	if (!r)
		return -ENOENT;
	ret = topology_set_link_up(&(Topology){ .switches = r->topo, .n = r->n }, sw, port, up);
	return ret < 0 ? ret : compute_routes(r);
}
