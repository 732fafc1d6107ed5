/* SPDX-License-Identifier: MIT */
/*
 * The org.famez service: the bus connection, the objects it publishes (org.famez.Server1 at
 * /org/famez with the Switches property and the fabric's topology, org.famez.Switch1 and the
 * peers of every switch), the signals it sends.
 */
#include <errno.h>
#include <stdio.h>
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

/* One object a switch's signals go out on, with where it lists the switch's peers. */
typedef struct SwitchObject {
	char path[BUS_PATH_MAX];
	const char *interface;
	char peers_path[BUS_PATH_MAX];
} SwitchObject;

/* Its Switch1 object, and for the default switch Server1 first, as famezd always did. */
static size_t switch_objects(const Switch *s, SwitchObject objects[2])
{
	size_t n = 0;

	if (s->is_default) {
		objects[n] = (SwitchObject){ .path = BUS_PATH,
					     .interface = BUS_SERVER_INTERFACE,
					     .peers_path = BUS_PEER_PATH };
		n++;
	}
	bus_switch_path(s, objects[n].path);
	objects[n].interface = BUS_SWITCH_INTERFACE;
	bus_switch_peers_path(s, objects[n].peers_path);
	return n + 1;
}

/* PeerConnected(q id, o path), or PeerDisconnected(q id, o path, s reason) with a reason. */
static void emit_peer_signal(BusService *b, Switch *s, Peer *p, const char *member,
			     const char *reason)
{
	SwitchObject objects[2];
	size_t n = switch_objects(s, objects);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (bus_peer_path(objects[i].peers_path, p, &path) < 0)
			continue;
		if (reason)
			sd_bus_emit_signal(b->bus, objects[i].path, objects[i].interface, member,
					   "qos", p->id, path, reason);
		else
			sd_bus_emit_signal(b->bus, objects[i].path, objects[i].interface, member,
					   "qo", p->id, path);
	}
}

/* ---- events ---- */

void bus_peer_connected(BusService *b, Switch *s, Peer *p)
{
	if (b)
		emit_peer_signal(b, s, p, "PeerConnected", NULL);
}

void bus_peer_disconnected(BusService *b, Switch *s, Peer *p, const char *reason)
{
	if (!b)
		return;
	while (bus_ping_reply(p, "it left the fabric"))
		;
	bus_control_reads_fail(p);
	emit_peer_signal(b, s, p, "PeerDisconnected", reason);
}

void bus_message_received(BusService *b, Switch *s, Peer *p, const char *text)
{
	unsigned long long suppressed;
	SwitchObject objects[2];
	size_t n;

	if (!b)
		return;
	/* A chatty guest must not flood the bus; one budget for every switch. */
	if (!ratelimit_below(&b->message_signals, now_usec(CLOCK_MONOTONIC), &suppressed)) {
		b->message_signals_dropped++;
		return;
	}
	if (suppressed)
		log_notice("%llu MessageReceived signals were not sent (more than %d a second)",
			   suppressed, MESSAGE_SIGNAL_BURST);
	n = switch_objects(s, objects);
	for (size_t i = 0; i < n; i++)
		sd_bus_emit_signal(b->bus, objects[i].path, objects[i].interface, "MessageReceived",
				   "qs", p->id, text);
}

void bus_peer_count_changed(BusService *b, Switch *s)
{
	SwitchObject objects[2];
	size_t n;

	if (!b)
		return;
	n = switch_objects(s, objects);
	for (size_t i = 0; i < n; i++)
		sd_bus_emit_properties_changed(b->bus, objects[i].path, objects[i].interface,
					       "PeerCount", NULL);
}

/* ---- org.famez.Server1: what it has on top of the default switch's members ---- */

static int prop_switches(sd_bus *bus, const char *path, const char *interface, const char *property,
			 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	BusService *b = userdata;
	int r;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	r = sd_bus_message_open_container(reply, 'a', "(so)");
	for (size_t i = 0; r >= 0 && i < b->n_switches; i++) {
		char switch_path[BUS_PATH_MAX];

		bus_switch_path(b->switches[i], switch_path);
		r = sd_bus_message_append(reply, "(so)", b->switches[i]->config.name, switch_path);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static const sd_bus_vtable server_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Switches", "a(so)", prop_switches, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

/* ---- setup ---- */

static int open_bus(BusKind kind, sd_bus **ret)
{
	return kind == BUS_USER ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
}

static int publish_peers(BusService *b, Switch *s, const char *peers_path)
{
	int r = sd_bus_add_fallback_vtable(b->bus, NULL, peers_path, BUS_PEER_INTERFACE,
					   bus_peer_vtable, bus_peer_find, s);

	return r < 0 ? r
		     : sd_bus_add_node_enumerator(b->bus, NULL, peers_path, bus_peer_enumerate, s);
}

/*
 * Server1 at /org/famez: the default switch's members (if there is one), the Switches and the
 * fabric's members (bus-fabric.c); every switch at /org/famez/switch/NAME, the default one too;
 * the peers below each.
 */
static int publish(BusService *b)
{
	Switch *def = b->n_switches > 0 && b->switches[0]->is_default ? b->switches[0] : NULL;
	int r = 0;

	if (def) {
		r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_SERVER_INTERFACE,
					     bus_switch_vtable, def);
		if (r >= 0)
			r = publish_peers(b, def, BUS_PEER_PATH);
	}
	if (r >= 0)
		r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_SERVER_INTERFACE,
					     server_vtable, b);
	if (r >= 0)
		r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_SERVER_INTERFACE,
					     bus_fabric_server_vtable, b);
	if (r >= 0 && def)
		r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_SERVER_INTERFACE,
					     bus_fabric_switch_vtable, def);
	for (size_t i = 0; r >= 0 && i < b->n_switches; i++) {
		Switch *s = b->switches[i];
		char path[BUS_PATH_MAX];

		bus_switch_path(s, path);
		r = sd_bus_add_object_vtable(b->bus, NULL, path, BUS_SWITCH_INTERFACE,
					     bus_switch_vtable, s);
		if (r >= 0)
			r = sd_bus_add_object_vtable(b->bus, NULL, path, BUS_SWITCH_INTERFACE,
						     bus_switch_identity_vtable, s);
		if (r >= 0)
			r = sd_bus_add_object_vtable(b->bus, NULL, path, BUS_SWITCH_INTERFACE,
						     bus_fabric_switch_vtable, s);
		bus_switch_peers_path(s, path);
		if (r >= 0)
			r = publish_peers(b, s, path);
	}
	return r;
}

int bus_service_new(BusService **ret, sd_event *event, Switch *const *switches, size_t n_switches,
		    Router *router, BusKind kind, bool required)
{
	const char *which = kind == BUS_USER ? "user" : "system";
	BusService *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->switches = calloc(n_switches ? n_switches : 1, sizeof(*b->switches));
	if (!b->switches) {
		free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_switches; i++)
		b->switches[i] = switches[i];
	b->n_switches = n_switches;
	b->router = router;
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
	r = publish(b);
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
	free(b->switches);
	free(b);
	return NULL;
}
