/* SPDX-License-Identifier: MIT */
/*
 * org.famez.Peer1 at /org/famez/switch/NAME/peer/<id>, and at /org/famez/peer/<id> for the
 * default switch: one fallback vtable for each place serves all the switch's peers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "control-msg.h"
#include "fabric.h"
#include "mailbox.h"
#include "peer.h"
#include "switch.h"
#include "wire.h"

int bus_peer_path(const char *peers_path, const Peer *p, char **ret)
{
	return asprintf(ret, "%s/%u", peers_path, p->id) < 0 ? -ENOMEM : 0;
}

void bus_peer_nodename(Switch *s, const Peer *p, char out[MAILBOX_NODENAME_MAX])
{
	out[0] = '\0';
	if (s->mailbox)
		mailbox_get_nodename(mailbox_slot(s->mailbox, p->id), out);
}

const char *bus_peer_link_state(const Peer *p)
{
	if (!p->sw->fabric)
		return "";
	return p->fabric.configured ? "configured" : "up";
}

void bus_peer_assignment(const Peer *p, uint64_t *sid, uint64_t *cid)
{
	*sid = *cid = 0;
	if (p->sw->fabric)
		fabric_assignment(p->sw->fabric, p->id, p->fabric.configured, sid, cid);
}

/* Whether path is prefix or below it. */
static bool path_has_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ELEMENT if path is parent/ELEMENT, else NULL (a fallback also sees deeper paths). */
static const char *child_of(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	if (strncmp(path, parent, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/'))
		return NULL;
	return path + n + 1;
}

int bus_peer_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
		  void **found, sd_bus_error *error)
{
	Switch *s = userdata;
	char peers_path[BUS_PATH_MAX];
	const char *id_str;
	char *end;
	unsigned long id;

	(void)bus, (void)interface, (void)error;
	bus_switch_peers_path(s, peers_path);
	id_str = child_of(path, peers_path);
	if (!id_str && s->is_default)
		id_str = child_of(path, BUS_PEER_PATH);
	if (!id_str || !*id_str || (id_str[0] == '0' && id_str[1]))
		return 0;
	errno = 0;
	id = strtoul(id_str, &end, 10);
	if (errno || *end || id > WIRE_ID_MAX || !s->peers_by_id[id])
		return 0;
	*found = s->peers_by_id[id];
	return 1;
}

int bus_peer_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
		       sd_bus_error *error)
{
	Switch *s = userdata;
	char peers_path[BUS_PATH_MAX];
	char **list;
	size_t n = 0;

	(void)bus, (void)error;
	/* path is the one enumerated, at or below the prefix: the default switch has two. */
	if (path_has_prefix(path, BUS_PEER_PATH))
		snprintf(peers_path, sizeof(peers_path), "%s", BUS_PEER_PATH);
	else
		bus_switch_peers_path(s, peers_path);
	list = calloc(s->n_peers + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (Peer *p = s->oldest; p && n < s->n_peers; p = p->newer)
		if (bus_peer_path(peers_path, p, &list[n++]) < 0) {
			for (size_t i = 0; i + 1 < n; i++)
				free(list[i]);
			free(list);
			return -ENOMEM;
		}
	*nodes = list;
	return 1;
}

static int prop_nodename(sd_bus *bus, const char *path, const char *interface, const char *property,
			 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	char nodename[MAILBOX_NODENAME_MAX];

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	bus_peer_nodename(p->sw, p, nodename);
	return sd_bus_message_append(reply, "s", nodename);
}

void bus_peer_cclass(const Peer *p, char out[MAILBOX_CCLASS_MAX])
{
	out[0] = '\0';
	if (p->fabric.cclass[0])
		snprintf(out, MAILBOX_CCLASS_MAX, "%s", p->fabric.cclass);
	else if (p->sw->mailbox)
		mailbox_get_cclass(mailbox_slot(p->sw->mailbox, p->id), out);
}

static int prop_cclass(sd_bus *bus, const char *path, const char *interface, const char *property,
		       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	char cclass[MAILBOX_CCLASS_MAX];

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	bus_peer_cclass(p, cclass);
	return sd_bus_message_append(reply, "s", cclass);
}

static int prop_vm_name(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const char *name = peer_vm_name(userdata);

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", name ?: "");
}

static int prop_link_state(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	Peer *p = userdata;

	(void)bus, (void)path, (void)interface, (void)property, (void)error;
	return sd_bus_message_append(reply, "s", bus_peer_link_state(p));
}

static int prop_assigned(sd_bus *bus, const char *path, const char *interface,
			 const char *property, sd_bus_message *reply, void *userdata,
			 sd_bus_error *error)
{
	Peer *p = userdata;
	uint64_t sid, cid;

	(void)bus, (void)path, (void)interface, (void)error;
	bus_peer_assignment(p, &sid, &cid);
	return sd_bus_message_append(reply, "q", (uint16_t)(strcmp(property, "SID") == 0 ? sid : cid));
}

static int method_send_interrupt(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	uint32_t vector;
	int interactive, r;

	r = sd_bus_message_read(m, "ub", &vector, &interactive);
	if (r < 0)
		return r;
	return bus_send_interrupt(p->sw, m, p, vector, interactive, error);
}

static int method_send_message(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	const char *text;
	int interactive, r;

	r = sd_bus_message_read(m, "sb", &text, &interactive);
	if (r < 0)
		return r;
	return bus_send_message(p->sw, m, p, text, interactive, error);
}

/* How long ReadControl() waits for the peer's answer. */
#define CONTROL_READ_TIMEOUT_USEC (2 * 1000000ULL)

struct BusControlRead {
	BusControlRead *next;
	Peer *peer;
	sd_bus_message *call;
	uint16_t tag;
	uint32_t length;
	sd_event_source *timer;
};

static void control_read_free(BusControlRead *c)
{
	sd_event_source_disable_unref(c->timer);
	sd_bus_message_unref(c->call);
	free(c);
}

static void control_read_unlink(BusControlRead *c)
{
	for (BusControlRead **q = &c->peer->control_reads; *q; q = &(*q)->next)
		if (*q == c) {
			*q = c->next;
			return;
		}
}

static int on_control_read_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
	BusControlRead *c = userdata;

	(void)source;
	(void)usec;
	control_read_unlink(c);
	sd_bus_reply_method_errorf(c->call, BUS_ERROR_TIMEOUT,
				   "peer %u did not answer the control read within %llu s",
				   c->peer->id, CONTROL_READ_TIMEOUT_USEC / 1000000);
	control_read_free(c);
	return 0;
}

/* ReadControl(t offset, u length) -> ay: a CTL-Read of the peer's own control space. */
static int method_read_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	BusControlRead *c;
	uint64_t offset;
	uint32_t length;
	int r;

	r = sd_bus_message_read(m, "tu", &offset, &length);
	if (r < 0)
		return r;
	if (!p->sw->fabric)
		return sd_bus_error_setf(error, BUS_ERROR_NOT_IN_FABRIC_MODE,
					 "switch %s is in ivshmem mode: its peers have no mailbox",
					 p->sw->config.name);
	if (length == 0 || length > CONTROL_DATA_MAX)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "a control read is 1 to %d bytes", CONTROL_DATA_MAX);
	/* It puts a message in the peer's mailbox: it needs what SendMessage needs. */
	r = bus_authorize(p->sw, m, "org.famez.send-message", false, error);
	if (r <= 0)
		return r < 0 ? r : 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (BusControlRead){ .peer = p, .call = sd_bus_message_ref(m), .length = length };
	r = sd_event_add_time_relative(p->sw->event, &c->timer, CLOCK_MONOTONIC,
				       CONTROL_READ_TIMEOUT_USEC, 0, on_control_read_timeout, c);
	if (r >= 0)
		r = fabric_control_read(p->sw->fabric, p->id, offset, length, &c->tag);
	if (r < 0) {
		control_read_free(c);
		return sd_bus_error_set_errno(error, r);
	}
	c->next = p->control_reads;
	p->control_reads = c;
	return 1;
}

bool bus_control_answer(BusService *b, Peer *p, const ControlMsg *answer)
{
	BusControlRead *c;

	if (!b)
		return false;
	for (c = p->control_reads; c && c->tag != answer->tag; c = c->next)
		;
	if (!c)
		return false;
	control_read_unlink(c);
	if (answer->type == CONTROL_MSG_READ_RESPONSE && answer->length == c->length) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
		int r = sd_bus_message_new_method_return(c->call, &reply);

		if (r >= 0)
			r = sd_bus_message_append_array(reply, 'y', answer->data, answer->length);
		if (r >= 0)
			sd_bus_send(NULL, reply, NULL);
	} else
		sd_bus_reply_method_errorf(
			c->call, BUS_ERROR_CONTROL_REFUSED, "peer %u refused the control read: %s",
			p->id,
			answer->type == CONTROL_MSG_ACK ? control_reason_to_string(answer->reason)
							: "an answer of another length");
	control_read_free(c);
	return true;
}

void bus_control_reads_fail(Peer *p)
{
	while (p->control_reads) {
		BusControlRead *c = p->control_reads;

		p->control_reads = c->next;
		sd_bus_reply_method_errorf(c->call, BUS_ERROR_TIMEOUT,
					   "peer %u left before it answered the control read",
					   p->id);
		control_read_free(c);
	}
}

static int method_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	int interactive, r;

	r = sd_bus_message_read(m, "b", &interactive);
	if (r < 0)
		return r;
	return bus_disconnect_peer(p->sw, m, p, interactive, error);
}

const sd_bus_vtable bus_peer_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "q", NULL, offsetof(Peer, id), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Pid", "u", NULL, offsetof(Peer, pid), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Uid", "u", NULL, offsetof(Peer, uid), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Gid", "u", NULL, offsetof(Peer, gid), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ConnectedAt", "t", NULL, offsetof(Peer, connected_at),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Nodename", "s", prop_nodename, 0, 0),
	SD_BUS_PROPERTY("CClass", "s", prop_cclass, 0, 0),
	SD_BUS_PROPERTY("LinkState", "s", prop_link_state, 0, 0),
	SD_BUS_PROPERTY("SID", "q", prop_assigned, 0, 0),
	SD_BUS_PROPERTY("CID", "q", prop_assigned, 0, 0),
	SD_BUS_PROPERTY("VmName", "s", prop_vm_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Vectors", "u", NULL, offsetof(Peer, n_vectors),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MessagesSent", "t", NULL, offsetof(Peer, fabric.messages_sent), 0),
	SD_BUS_PROPERTY("MessagesReceived", "t", NULL, offsetof(Peer, fabric.messages_received), 0),
	SD_BUS_PROPERTY("MessagesUnacknowledged", "t", NULL,
			offsetof(Peer, fabric.messages_unacknowledged), 0),
	SD_BUS_PROPERTY("InterruptsSent", "t", NULL, offsetof(Peer, interrupts_sent), 0),
	SD_BUS_PROPERTY("ProtocolErrors", "t", NULL, offsetof(Peer, protocol_errors), 0),
	SD_BUS_PROPERTY("LogMessagesSuppressed", "t", NULL, offsetof(Peer, log_suppressed), 0),
	SD_BUS_METHOD_WITH_ARGS("SendInterrupt", SD_BUS_ARGS("u", vector, "b", interactive),
				SD_BUS_NO_RESULT, method_send_interrupt,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SendMessage", SD_BUS_ARGS("s", text, "b", interactive),
				SD_BUS_NO_RESULT, method_send_message, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Disconnect", SD_BUS_ARGS("b", interactive), SD_BUS_NO_RESULT,
				method_disconnect, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReadControl", SD_BUS_ARGS("t", offset, "u", length),
				SD_BUS_RESULT("ay", data), method_read_control,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};
