/* SPDX-License-Identifier: MIT */
/* The org.famez service: the bus connection, the objects it publishes, the signals it sends. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-internal.h"
#include "log.h"
#include "peer.h"
#include "polkit.h"
#include "switch.h"
#include "time-util.h"

/* MessageReceived signals: at most this many a second, the rest counted. */
#define MESSAGE_SIGNAL_BURST 100

/* ---- events ---- */

void bus_peer_connected(BusService *b, Switch *s, Peer *p)
{
	_cleanup_free_ char *path = NULL;

	if (!b || !s->is_default || bus_peer_path(p, &path) < 0)
		return;
	sd_bus_emit_signal(b->bus, BUS_PATH, BUS_SERVER_INTERFACE, "PeerConnected", "qo", p->id,
			   path);
}

void bus_peer_disconnected(BusService *b, Switch *s, Peer *p, const char *reason)
{
	_cleanup_free_ char *path = NULL;

	if (!b)
		return;
	while (bus_ping_reply(p, "it left the fabric"))
		;
	if (s->is_default && bus_peer_path(p, &path) >= 0)
		sd_bus_emit_signal(b->bus, BUS_PATH, BUS_SERVER_INTERFACE, "PeerDisconnected",
				   "qos", p->id, path, reason);
}

void bus_message_received(BusService *b, Switch *s, Peer *p, const char *text)
{
	unsigned long long suppressed;

	if (!b || !s->is_default)
		return;
	/* A chatty guest must not flood the bus. */
	if (!ratelimit_below(&b->message_signals, now_usec(CLOCK_MONOTONIC), &suppressed)) {
		b->message_signals_dropped++;
		return;
	}
	if (suppressed)
		log_notice("%llu MessageReceived signals were not sent (more than %d a second)",
			   suppressed, MESSAGE_SIGNAL_BURST);
	sd_bus_emit_signal(b->bus, BUS_PATH, BUS_SERVER_INTERFACE, "MessageReceived", "qs", p->id,
			   text);
}

void bus_peer_count_changed(BusService *b, Switch *s)
{
	if (b && s->is_default)
		sd_bus_emit_properties_changed(b->bus, BUS_PATH, BUS_SERVER_INTERFACE, "PeerCount",
					       NULL);
}

/* ---- setup ---- */

static int open_bus(BusKind kind, sd_bus **ret)
{
	return kind == BUS_USER ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
}

int bus_service_new(BusService **ret, sd_event *event, Switch *const *switches, size_t n_switches,
		    BusKind kind, bool required)
{
	const char *which = kind == BUS_USER ? "user" : "system";
	Switch *s = n_switches > 0 && switches[0]->is_default ? switches[0] : NULL;
	BusService *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->sw = s;
	b->message_signals = RATELIMIT_INIT(1000000ULL, MESSAGE_SIGNAL_BURST);
	r = polkit_registry_new(&b->polkit);
	if (r < 0)
		goto fail;

	r = open_bus(kind, &b->bus);
	if (r < 0) {
		if (!required && (r == -ENOENT || r == -ECONNREFUSED || r == -ENOMEDIUM)) {
			log_warning_errno(r,
					  "no %s bus (%m): serving peers without the D-Bus API; "
					  "--bus none says so without this warning",
					  which);
			bus_service_free(b);
			*ret = NULL;
			return 0;
		}
		log_error_errno(r, "cannot connect to the %s bus: %m", which);
		goto fail;
	}
	r = sd_bus_attach_event(b->bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		goto fail;
	r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_SERVER_INTERFACE,
				     bus_switch_vtable, s);
	if (r >= 0)
		r = sd_bus_add_fallback_vtable(b->bus, NULL, BUS_PEER_PATH, BUS_PEER_INTERFACE,
					       bus_peer_vtable, bus_peer_find, s);
	if (r >= 0)
		r = sd_bus_add_node_enumerator(b->bus, NULL, BUS_PEER_PATH, bus_peer_enumerate, s);
	if (r < 0) {
		log_error_errno(r, "cannot publish the D-Bus objects: %m");
		goto fail;
	}

	r = sd_bus_request_name(b->bus, BUS_NAME, 0);
	if (r < 0) {
		if (r == -EEXIST)
			log_error("%s is already owned on the %s bus: is another famezd running?",
				  BUS_NAME, which);
		else if (r == -EACCES || r == -EPERM)
			log_error("the %s bus does not let famezd own %s: install "
				  "dbus/org.famez.conf in /usr/share/dbus-1/system.d, or use "
				  "--bus user or --bus none",
				  which, BUS_NAME);
		else
			log_error_errno(r, "cannot own %s on the %s bus: %m", BUS_NAME, which);
		goto fail;
	}
	log_info("owning %s on the %s bus", BUS_NAME, which);
	for (size_t i = 0; i < n_switches; i++)
		switches[i]->bus = b;
	*ret = b;
	return 0;

fail:
	bus_service_free(b);
	return r < 0 ? r : -EIO;
}

BusService *bus_service_free(BusService *b)
{
	if (!b)
		return NULL;
	polkit_registry_free(b->polkit);
	if (b->bus)
		sd_bus_flush_close_unref(b->bus);
	free(b);
	return NULL;
}
