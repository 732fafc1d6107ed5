/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "log.h"
#include "peer.h"
#include "restore.h"
#include "server.h"

/* ---- what the switches report ---- */

static void on_peer_connected(void *data, Switch *sw, Peer *p)
{
	Server *s = data;

	bus_peer_connected(s->bus, sw, p);
}

static void on_peer_disconnected(void *data, Switch *sw, Peer *p, const char *reason)
{
	Server *s = data;

	router_peer_left(s->router, p);
	bus_peer_disconnected(s->bus, sw, p, reason);
}

static void on_message_received(void *data, Switch *sw, Peer *p, const char *text)
{
	Server *s = data;

	bus_message_received(s->bus, sw, p, text);
}

static void on_pong(void *data, Switch *sw, Peer *p)
{
	Server *s = data;

	bus_pong(s->bus, sw, p);
}

static void on_ping_lost(void *data, Switch *sw, Peer *p)
{
	Server *s = data;

	bus_ping_lost(s->bus, sw, p);
}

/* One STATUS= line for the whole service; with one switch, the line famezd always had. */
static void on_peer_count_changed(void *data, Switch *sw)
{
	Server *s = data;
	unsigned n = 0;

	for (size_t i = 0; i < s->n_switches; i++)
		n += s->switches[i]->n_peers;
	if (s->n_switches > 1)
		sd_notifyf(false, "STATUS=%u peer%s connected on %zu switches", n,
			   n == 1 ? "" : "s", s->n_switches);
	else
		sd_notifyf(false, "STATUS=%u peer%s connected", n, n == 1 ? "" : "s");
	bus_peer_count_changed(s->bus, sw);
}

static void on_fds_short(void *data, Switch *sw)
{
	Server *s = data;

	(void)sw;
	for (size_t i = 0; i < s->n_switches; i++)
		switch_drop_idle_holders(s->switches[i]);
}

static RouteOutcome on_route(void *data, Switch *sw, Peer *p, const char *text,
			     const Envelope *env, EnvelopeStatus *status)
{
	Server *s = data;

	return router_route(s->router, sw, p, text, env, status);
}

static void on_mail_done(void *data, Switch *sw, unsigned dest, uint64_t token, bool relayed,
			 bool delivered)
{
	Server *s = data;

	router_done(s->router, sw, dest, token, relayed, delivered);
}

static bool on_control_request(void *data, Switch *sw, Peer *p, const char *text, char *answer,
			       size_t size)
{
	Server *s = data;

	return router_control_request(s->router, sw, p, text, answer, size);
}

static bool on_control_answer(void *data, Switch *sw, Peer *p, const ControlMsg *answer)
{
	Server *s = data;

	(void)sw;
	return bus_control_answer(s->bus, p, answer);
}

static bool on_own_ids(void *data, Switch *sw, uint64_t *sid, uint64_t *cid)
{
	Server *s = data;
	const TopoSwitch *ts = router_topo(s->router, sw->index);

	if (!ts || !ts->cid_valid)
		return false;
	*sid = ts->sid;
	*cid = ts->cid;
	return true;
}

static const SwitchEvents server_switch_events = {
	.route = on_route,
	.own_ids = on_own_ids,
	.control_request = on_control_request,
	.control_answer = on_control_answer,
	.mail_done = on_mail_done,
	.peer_connected = on_peer_connected,
	.peer_disconnected = on_peer_disconnected,
	.message_received = on_message_received,
	.peer_count_changed = on_peer_count_changed,
	.pong = on_pong,
	.ping_lost = on_ping_lost,
	.fds_short = on_fds_short,
};

/* ---- the switches ---- */

int server_new(Server **ret, sd_event *event, unsigned max_peers_per_uid, unsigned max_join_rate)
{
	_cleanup_(server_freep) Server *s = NULL;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->shared = (SwitchShared){
		.max_peers_per_uid = max_peers_per_uid,
		.max_join_rate = max_join_rate,
		.peer_log_limit = RATELIMIT_INIT(PEER_LOG_INTERVAL_USEC, PEERS_LOG_BURST),
		.events = &server_switch_events,
		.events_data = s,
		/* systemd reads STATUS= and keeps the state (fdstore.h); a bus comes later. */
		.status_wanted = getenv("NOTIFY_SOCKET") != NULL,
	};
	r = uid_limits_new(&s->shared.uid_limits, max_peers_per_uid, max_join_rate);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

Server *server_free(Server *s)
{
	if (!s)
		return NULL;
	/* The API first: the switches' departures at shutdown are no news to anyone. */
	s->bus = bus_service_free(s->bus);
	s->router = router_free(s->router);
	for (size_t i = s->n_switches; i > 0; i--)
		switch_free(s->switches[i - 1]);
	free(s->switches);
	uid_limits_free(s->shared.uid_limits);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

int server_add_switch(Server *s, SwitchConfig *config, StoredFds *stored)
{
	_cleanup_(switch_freep) Switch *sw = NULL;
	Switch **grown;
	int r;

	grown = realloc(s->switches, (s->n_switches + 1) * sizeof(*s->switches));
	if (!grown) {
		switch_config_done(config);
		return log_error_errno(ENOMEM, "out of memory");
	}
	s->switches = grown;
	r = switch_new(&sw, s->event, &s->shared, config, stored);
	if (r < 0)
		return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
	r = switch_start(sw, stored);
	if (r < 0)
		return r;
	if (sw->restoring && restore_peers(sw, stored) < 0)
		switch_log(sw, LOG_WARNING, "starting without the peers of the previous famezd");
	s->switches[s->n_switches++] = TAKE_PTR(sw);
	return 0;
}

Switch *server_default_switch(const Server *s)
{
	return s->n_switches > 0 && s->switches[0]->is_default ? s->switches[0] : NULL;
}

int server_link(Server *s)
{
	int r = router_new(&s->router, s->switches, s->n_switches);

	if (r < 0)
		return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
	/* What restored peers asked of the fabric before the restart is asked again. */
	for (size_t i = 0; i < s->n_switches; i++)
		for (Peer *p = s->switches[i]->oldest; p; p = p->newer)
			if (s->switches[i]->fabric)
				fabric_retry(s->switches[i]->fabric, p);
	return 0;
}

void server_reap(Server *s)
{
	for (size_t i = 0; i < s->n_switches; i++)
		switch_reap(s->switches[i]);
}

void server_save_state(Server *s, bool with_queues)
{
	for (size_t i = 0; i < s->n_switches; i++)
		(void)restore_save_state(s->switches[i], with_queues);
}

void server_log_totals(const Server *s)
{
	for (size_t i = 0; i < s->n_switches; i++) {
		const Switch *sw = s->switches[i];
		const SwitchCounters *c = &sw->counters;
		const char *who = sw->log_prefix;

		log_info("%sserved %llu peers, refused %llu, %llu left, %llu protocol errors", who,
			 (unsigned long long)c->peers_accepted,
			 (unsigned long long)c->peers_rejected,
			 (unsigned long long)c->peers_disconnected,
			 (unsigned long long)c->protocol_errors);
		if (sw->config.mode == SWITCH_MODE_FABRIC)
			log_info(
				"%smailbox: %llu messages received, %llu sent, %llu "
				"unacknowledged, %llu unknown; %llu interrupts received, %llu sent",
				who, (unsigned long long)c->messages_received,
				(unsigned long long)c->messages_sent,
				(unsigned long long)c->messages_unacknowledged,
				(unsigned long long)c->messages_unknown,
				(unsigned long long)c->interrupts_received,
				(unsigned long long)c->interrupts_sent);
	}
}
