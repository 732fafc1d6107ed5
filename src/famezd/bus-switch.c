/* SPDX-License-Identifier: MIT */
/*
 * What a switch publishes on D-Bus: its properties, counters, methods and signals, in one vtable
 * that org.famez.Switch1 serves for every switch at /org/famez/switch/NAME and org.famez.Server1
 * for the default switch at /org/famez.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-internal.h"
#include "doorbell.h"
#include "fabric.h"
#include "log.h"
#include "mailbox.h"
#include "mailsender.h"
#include "peer.h"
#include "polkit.h"
#include "switch.h"
#include "time-util.h"
#include "wire.h"

/* How long Ping() waits for the pong. */
#define PING_TIMEOUT_USEC (5 * 1000000ULL)

struct BusPing {
	BusPing *next;
	Switch *sw;
	Peer *peer;
	sd_bus_message *call;
	uint64_t sent_at;
	sd_event_source *timer;
};

void bus_switch_path(const Switch *s, char path[BUS_PATH_MAX])
{
	/* A switch's name is [A-Za-z0-9_]{1,32}: an object path element as it is. */
	snprintf(path, BUS_PATH_MAX, BUS_SWITCH_PATH "/%s", s->config.name);
}

void bus_switch_peers_path(const Switch *s, char path[BUS_PATH_MAX])
{
	snprintf(path, BUS_PATH_MAX, BUS_SWITCH_PATH "/%s/peer", s->config.name);
}

int bus_authorize(Switch *s, sd_bus_message *m, const char *action, bool interactive,
		  sd_bus_error *error)
{
	/* Rules may decide by switch: action.lookup("switch"). */
	const char *details[] = { "switch", s->config.name, NULL };

	return polkit_authorize(s->bus->polkit, m, action, details, interactive, error);
}

/* ---- properties ---- */

static int prop_name(sd_bus *bus, const char *path, const char *interface, const char *property,
		     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", s->config.name);
}

static int prop_sid(sd_bus *bus, const char *path, const char *interface, const char *property,
		    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "q", (uint16_t)(s->fabric ? s->config.sid : 0));
}

static int prop_version(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	(void)bus, (void)path, (void)interface, (void)property, (void)userdata, (void)error;
	return sd_bus_message_append(reply, "s", FAMEZ_VERSION);
}

static int prop_mode(sd_bus *bus, const char *path, const char *interface, const char *property,
		     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", switch_mode_to_string(s->config.mode));
}

static int prop_socket_path(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", s->socket_path ? s->socket_path : "");
}

static int prop_backing(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", shm_backing_to_string(s->config.shm.backing));
}

static int prop_server_peer_id(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "i",
				     s->fabric ? (int32_t)fabric_server_id(s->fabric) : -1);
}

static int prop_ids_parked(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "u", idalloc_parked(s->ids));
}

static int prop_authorizations_pending(sd_bus *bus, const char *path, const char *interface,
				       const char *property, sd_bus_message *reply, void *userdata,
				       sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "u", polkit_registry_pending(s->bus->polkit));
}

/* MaxPeersPerUid and MaxJoinRate: famezd's, for every switch together. */
static int prop_uid_limit(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	Switch *s = userdata;

	(void)bus, (void)path, (void)interface, (void)error;
	return sd_bus_message_append(reply, "u",
				     strcmp(property, "MaxJoinRate") == 0
					     ? s->shared->max_join_rate
					     : s->shared->max_peers_per_uid);
}

/* ---- methods ---- */

Peer *bus_lookup_peer(Switch *s, uint16_t id, sd_bus_error *error)
{
	Peer *p = s->peers_by_id[id];

	if (!p || p->broken)
		sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_PEER,
				  "no peer %u is connected; ListPeers() lists them", id);
	return p && !p->broken ? p : NULL;
}

static int method_list_peers(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Switch *s = userdata;
	char peers_path[BUS_PATH_MAX] = BUS_PEER_PATH;
	int r;

	(void)error;
	/* Server1 lists the default switch's peers where they always were. */
	if (strcmp(sd_bus_message_get_path(m), BUS_PATH) != 0)
		bus_switch_peers_path(s, peers_path);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(qouuts)");
	if (r < 0)
		return r;
	for (unsigned id = 0; id <= WIRE_ID_MAX; id++) {
		_cleanup_free_ char *path = NULL;
		char nodename[MAILBOX_NODENAME_MAX];
		Peer *p = s->peers_by_id[id];

		if (!p)
			continue;
		r = bus_peer_path(peers_path, p, &path);
		if (r < 0)
			return r;
		bus_peer_nodename(s, p, nodename);
		r = sd_bus_message_append(reply, "(qouuts)", p->id, path, (uint32_t)p->pid,
					  (uint32_t)p->uid, p->connected_at, nodename);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

int bus_send_interrupt(Switch *s, sd_bus_message *m, Peer *p, uint32_t vector, int interactive,
		       sd_bus_error *error)
{
	int r;

	if (vector >= p->n_vectors)
		return sd_bus_error_setf(error, BUS_ERROR_INVALID_VECTOR,
					 "peer %u has vectors 0..%u; there is no vector %u", p->id,
					 p->n_vectors - 1, vector);
	r = bus_authorize(s, m, "org.famez.send-interrupt", interactive, error);
	if (r <= 0)
		return r < 0 ? r : 1;
	r = doorbell_ring(p->vectors[vector]->fd);
	if (r == -EAGAIN) {
		s->counters.interrupts_full++;
		return sd_bus_error_setf(error, BUS_ERROR_VECTOR_FULL,
					 "peer %u vector %u has as many rings pending as it can "
					 "hold: the peer does not read its interrupts",
					 p->id, vector);
	}
	if (r < 0)
		return sd_bus_error_set_errno(error, r);
	s->counters.interrupts_sent++;
	p->interrupts_sent++;
	log_debug("rang peer %u vector %u for a D-Bus caller", p->id, vector);
	return sd_bus_reply_method_return(m, NULL);
}

/* What the mailbox can carry: 1 to 383 printable ASCII characters. */
static int check_text(Switch *s, const char *text, sd_bus_error *error)
{
	size_t n = strlen(text);

	if (!s->fabric)
		return sd_bus_error_set(error, BUS_ERROR_NOT_IN_FABRIC_MODE,
					"famezd runs in ivshmem mode: there is no mailbox");
	if (n >= MAILBOX_MSG_MAX)
		return sd_bus_error_setf(error, BUS_ERROR_MESSAGE_TOO_LONG,
					 "the message has %zu characters; a mailbox slot holds "
					 "%d",
					 n, MAILBOX_MSG_MAX - 1);
	if (n == 0)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_MESSAGE, "the message is empty");
	for (size_t i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			return sd_bus_error_setf(error, BUS_ERROR_INVALID_MESSAGE,
						 "character %zu is not printable ASCII", i + 1);
	return 0;
}

static int queue_error(int r, Peer *p, sd_bus_error *error)
{
	if (r == -ENOBUFS)
		return sd_bus_error_setf(error, BUS_ERROR_QUEUE_FULL,
					 "%d messages already wait for peer %u; try again later",
					 MAIL_QUEUE_MAX, p->id);
	return sd_bus_error_set_errno(error, r);
}

int bus_send_message(Switch *s, sd_bus_message *m, Peer *p, const char *text, int interactive,
		     sd_bus_error *error)
{
	int r = check_text(s, text, error);

	if (r < 0)
		return r;
	r = bus_authorize(s, m, "org.famez.send-message", interactive, error);
	if (r <= 0)
		return r < 0 ? r : 1;
	r = fabric_send(s->fabric, p->id, text);
	if (r < 0)
		return queue_error(r, p, error);
	return sd_bus_reply_method_return(m, NULL);
}

int bus_disconnect_peer(Switch *s, sd_bus_message *m, Peer *p, int interactive, sd_bus_error *error)
{
	int r = bus_authorize(s, m, "org.famez.disconnect-peer", interactive, error);

	if (r <= 0)
		return r < 0 ? r : 1;
	r = sd_bus_reply_method_return(m, NULL);
	peer_depart(p, PEER_DEPART_ADMIN);
	return r;
}

static int method_send_interrupt(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	uint16_t id;
	uint32_t vector;
	int interactive, r;
	Peer *p;

	r = sd_bus_message_read(m, "qub", &id, &vector, &interactive);
	if (r < 0)
		return r;
	p = bus_lookup_peer(s, id, error);
	if (!p)
		return -ESRCH;
	return bus_send_interrupt(s, m, p, vector, interactive, error);
}

static int method_send_message(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	const char *text;
	int interactive, r;
	uint16_t id;
	Peer *p;

	r = sd_bus_message_read(m, "qsb", &id, &text, &interactive);
	if (r < 0)
		return r;
	p = bus_lookup_peer(s, id, error);
	if (!p)
		return -ESRCH;
	return bus_send_message(s, m, p, text, interactive, error);
}

static int method_disconnect_peer(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	int interactive, r;
	uint16_t id;
	Peer *p;

	r = sd_bus_message_read(m, "qb", &id, &interactive);
	if (r < 0)
		return r;
	p = bus_lookup_peer(s, id, error);
	if (!p)
		return -ESRCH;
	return bus_disconnect_peer(s, m, p, interactive, error);
}

static void ping_free(BusPing *ping)
{
	sd_event_source_disable_unref(ping->timer);
	sd_bus_message_unref(ping->call);
	free(ping);
}

/* Takes ping out of its peer's list. */
static void ping_unlink(BusPing *ping)
{
	for (BusPing **q = &ping->peer->pings; *q; q = &(*q)->next)
		if (*q == ping) {
			*q = ping->next;
			return;
		}
}

static int on_ping_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
	BusPing *ping = userdata;

	(void)source;
	(void)usec;
	ping_unlink(ping);
	sd_bus_reply_method_errorf(ping->call, BUS_ERROR_TIMEOUT,
				   "peer %u did not answer the ping within %llu s", ping->peer->id,
				   PING_TIMEOUT_USEC / 1000000);
	ping_free(ping);
	return 0;
}

static int method_ping(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Switch *s = userdata;
	BusPing *ping, **tail;
	uint16_t id;
	Peer *p;
	int r;

	r = sd_bus_message_read(m, "q", &id);
	if (r < 0)
		return r;
	p = bus_lookup_peer(s, id, error);
	if (!p)
		return -ESRCH;
	r = check_text(s, "ping", error);
	if (r < 0)
		return r;
	/* A ping puts a message in a guest's mailbox: it needs what SendMessage needs. */
	r = bus_authorize(s, m, "org.famez.send-message", false, error);
	if (r <= 0)
		return r < 0 ? r : 1;

	ping = calloc(1, sizeof(*ping));
	if (!ping)
		return -ENOMEM;
	*ping = (BusPing){ .sw = s,
			   .peer = p,
			   .call = sd_bus_message_ref(m),
			   .sent_at = now_usec(CLOCK_MONOTONIC) };
	r = sd_event_add_time_relative(s->event, &ping->timer, CLOCK_MONOTONIC, PING_TIMEOUT_USEC,
				       0, on_ping_timeout, ping);
	if (r >= 0)
		r = fabric_send(s->fabric, p->id, "ping");
	if (r < 0) {
		ping_free(ping);
		return queue_error(r, p, error);
	}
	for (tail = &p->pings; *tail; tail = &(*tail)->next)
		;
	*tail = ping;
	return 1;
}

int bus_ping_reply(Peer *p, const char *error_message)
{
	BusPing *ping = p->pings;

	if (!ping)
		return 0;
	p->pings = ping->next;
	if (error_message)
		sd_bus_reply_method_errorf(ping->call, BUS_ERROR_TIMEOUT, "peer %u: %s", p->id,
					   error_message);
	else
		sd_bus_reply_method_return(ping->call, "t",
					   now_usec(CLOCK_MONOTONIC) - ping->sent_at);
	ping_free(ping);
	return 1;
}

void bus_pong(BusService *b, Switch *s, Peer *p)
{
	(void)s;
	if (b)
		bus_ping_reply(p, NULL);
}

void bus_ping_lost(BusService *b, Switch *s, Peer *p)
{
	(void)s;
	if (b)
		bus_ping_reply(p, "it did not acknowledge the ping in time");
}

const sd_bus_vtable bus_switch_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Mode", "s", prop_mode, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SocketPath", "s", prop_socket_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SharedMemoryBacking", "s", prop_backing, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SharedMemorySize", "t", NULL, offsetof(Switch, config.shm.size),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Vectors", "u", NULL, offsetof(Switch, config.vectors),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MaxPeers", "u", NULL, offsetof(Switch, config.max_peers),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ServerPeerId", "i", prop_server_peer_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("PeerCount", "u", NULL, offsetof(Switch, n_peers),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("StartedAt", "t", NULL, offsetof(Switch, started_at),
			SD_BUS_VTABLE_PROPERTY_CONST),
	/* Counters: read on demand, no signal per increment. */
	SD_BUS_PROPERTY("PeersAccepted", "t", NULL, offsetof(Switch, counters.peers_accepted), 0),
	SD_BUS_PROPERTY("PeersRejected", "t", NULL, offsetof(Switch, counters.peers_rejected), 0),
	SD_BUS_PROPERTY("PeersDisconnected", "t", NULL,
			offsetof(Switch, counters.peers_disconnected), 0),
	SD_BUS_PROPERTY("InterruptsSent", "t", NULL, offsetof(Switch, counters.interrupts_sent), 0),
	SD_BUS_PROPERTY("InterruptsReceived", "t", NULL,
			offsetof(Switch, counters.interrupts_received), 0),
	SD_BUS_PROPERTY("MessagesSent", "t", NULL, offsetof(Switch, counters.messages_sent), 0),
	SD_BUS_PROPERTY("MessagesReceived", "t", NULL, offsetof(Switch, counters.messages_received),
			0),
	SD_BUS_PROPERTY("ProtocolErrors", "t", NULL, offsetof(Switch, counters.protocol_errors), 0),
	SD_BUS_PROPERTY("MessagesUnknown", "t", NULL, offsetof(Switch, counters.messages_unknown),
			0),
	SD_BUS_PROPERTY("InterruptsFull", "t", NULL, offsetof(Switch, counters.interrupts_full), 0),
	SD_BUS_PROPERTY("PeersDelayed", "t", NULL, offsetof(Switch, counters.peers_delayed), 0),
	SD_BUS_PROPERTY("AdmissionPauses", "t", NULL, offsetof(Switch, counters.admission_pauses),
			0),
	SD_BUS_PROPERTY("SharedMemoryResizes", "t", NULL, offsetof(Switch, counters.shm_resizes),
			0),
	SD_BUS_PROPERTY("LogMessagesSuppressed", "t", NULL,
			offsetof(Switch, counters.log_suppressed), 0),
	SD_BUS_PROPERTY("RelaysRouted", "t", NULL, offsetof(Switch, counters.relays_routed), 0),
	SD_BUS_PROPERTY("RelaysDropped", "t", NULL, offsetof(Switch, counters.relays_dropped), 0),
	SD_BUS_PROPERTY("RelaysRefused", "t", NULL, offsetof(Switch, counters.relays_refused), 0),
	SD_BUS_PROPERTY("IdsParked", "u", prop_ids_parked, 0, 0),
	SD_BUS_PROPERTY("AuthorizationsPending", "u", prop_authorizations_pending, 0, 0),
	SD_BUS_PROPERTY("MaxPeersPerUid", "u", prop_uid_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MaxJoinRate", "u", prop_uid_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("ListPeers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(qouuts)", peers),
				method_list_peers, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS(
		"SendInterrupt", SD_BUS_ARGS("q", peer, "u", vector, "b", interactive),
		SD_BUS_NO_RESULT, method_send_interrupt, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SendMessage", SD_BUS_ARGS("q", peer, "s", text, "b", interactive),
				SD_BUS_NO_RESULT, method_send_message, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_ARGS("q", peer), SD_BUS_RESULT("t", usec),
				method_ping, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("DisconnectPeer", SD_BUS_ARGS("q", peer, "b", interactive),
				SD_BUS_NO_RESULT, method_disconnect_peer,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("PeerConnected", SD_BUS_ARGS("q", id, "o", path), 0),
	SD_BUS_SIGNAL_WITH_ARGS("PeerDisconnected", SD_BUS_ARGS("q", id, "o", path, "s", reason),
				0),
	SD_BUS_SIGNAL_WITH_ARGS("MessageReceived", SD_BUS_ARGS("q", from, "s", text), 0),
	SD_BUS_VTABLE_END,
};

const sd_bus_vtable bus_switch_identity_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", prop_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SID", "q", prop_sid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};
