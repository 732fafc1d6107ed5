/* SPDX-License-Identifier: MIT */
/*
 * famez-client in fabric mode: a FAME-Z peer with its own mailbox slot. It answers ping and
 * Link CTL Peer-Attribute itself (as C-Class Debugger, unless --cclass says), takes the
 * configuration a CTL-Write gives it, and prints every message it receives as
 * "nodename@id: text", or "CID,SID: text" for one its switch delivered from elsewhere.
 *
 * A message for a CID,SID no slot of our switch holds goes to the switch as a route request:
 * the text with a routing envelope (envelope.h), whose status byte carries the switch's verdict
 * when it acknowledges. So does every message to another peer when the switch relays all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/famez_bridge.h>

#include "client.h"
#include "doorbell.h"
#include "envelope.h"
#include "log.h"
#include "size.h"
#include "strutil.h"

/*
 * How long a receiver may hold our slot (mailsender.h: a quarter of it at first). Our switch holds
 * a route request while the receiver's queue is full (docs/switches.md), as long as that receiver
 * takes: we wait as the guest driver does for its slot (5 s), not 250 ms, or a slow receiver on a
 * busy machine has us take the switch for silent and stop a flood.
 */
#define CLIENT_ACK_TIMEOUT_USEC 5000000ULL
/* Flood messages queued at once: well within the sender's queue, with room for our answers. */
#define FLOOD_WINDOW (MAIL_QUEUE_MAX / 2)

static uint8_t *slot_of(Client *c, unsigned id)
{
	return mailbox_slot(c->shm, id);
}

static const char *peer_name(Client *c, unsigned id, char buf[MAILBOX_LABEL_MAX])
{
	return mailbox_peer_label(c->shm, id, buf);
}

static void ring(void *userdata, unsigned dest)
{
	Client *c = userdata;
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t)dest);
	int r;

	log_debug("ringing %u", dest);
	/* Vector index = sender ID: the receiver looks into our slot. */
	if (!p || c->state.own_id >= p->n_vectors)
		return;
	/* A full counter already makes the receiver look: no need to ask first. */
	r = doorbell_signal(p->fds[c->state.own_id]);
	if (r < 0)
		log_warning_errno(r, "cannot ring peer %u: %m", dest);
}

static uint64_t fabric_flags(Client *c)
{
	return mailbox_get_u64(c->shm, MAILBOX_GLOBAL_FLAGS);
}

/* A message the switch relays for us (routed or directed): its verdict comes with the ack. */
static bool is_route_request(const MailMessage *msg)
{
	return msg->env &&
	       (msg->env->type == ENVELOPE_ROUTE || msg->env->type == ENVELOPE_DIRECTED);
}

/* "dr:" and 16 ports of up to 3 digits with their dots. */
#define PATH_NAME_MAX (3 + ENVELOPE_PATH_MAX * 4)

/* "dr:P1.P2": a path of ports as DEST names it; cut short in a buffer under PATH_NAME_MAX. */
static const char *path_name(const uint8_t *path, unsigned len, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "dr:");

	for (unsigned i = 0; i < len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "." : "", path[i]);
	return buf;
}

static int parse_path_quiet(const char *arg, FabricTarget *t);

/* The target a route request went to, from its envelope. */
static FabricTarget target_of_request(const Envelope *env)
{
	FabricTarget t = { .routed = env->type == ENVELOPE_ROUTE,
			   .cid = env->dest_cid,
			   .sid = env->dest_sid };

	if (env->type == ENVELOPE_DIRECTED) {
		t = (FabricTarget){ .directed = true, .path_len = env->path_len };
		memcpy(t.path, env->path, env->path_len);
	}
	return t;
}

static bool same_target(const FabricTarget *a, const FabricTarget *b)
{
	if (a->directed || b->directed)
		return a->directed && b->directed && a->path_len == b->path_len &&
		       memcmp(a->path, b->path, a->path_len) == 0;
	if (a->routed || b->routed)
		return a->routed && b->routed && a->cid == b->cid && a->sid == b->sid;
	return a->id == b->id;
}

bool client_fabric_origin_is(Client *c, const FabricTarget *t, const Origin *o)
{
	/*
	 * The way back from what t's path reaches is that path, and one port more when it is a
	 * switch: its own, by which its answer leaves it.
	 */
	if (t->directed)
		return o->directed &&
		       (o->path_len == t->path_len || o->path_len == t->path_len + 1) &&
		       memcmp(o->path, t->path, t->path_len) == 0;
	/* Inside a guest, every message names its sender by the CID,SID in its slot. */
	if (t->routed)
		return (o->routed || c->device) && o->cid == t->cid && o->sid == t->sid;
	return !o->routed && !o->directed && o->id == t->id;
}

static RoutedPing *routed_ping_find(ClientFabric *f, const FabricTarget *t)
{
	for (unsigned i = 0; i < f->n_routed_pings; i++)
		if (same_target(&f->routed_pings[i].target, t))
			return &f->routed_pings[i];
	return NULL;
}

static void routed_ping_remove(ClientFabric *f, RoutedPing *p)
{
	*p = f->routed_pings[--f->n_routed_pings];
}

/* A routed ping that brings no pong (refused, or not taken): awaited no more, and it fails. */
static void routed_ping_lost(Client *c, const Envelope *env)
{
	FabricTarget t = target_of_request(env);
	RoutedPing *p = routed_ping_find(&c->fabric, &t);

	if (p)
		routed_ping_remove(&c->fabric, p);
	c->command_failed = true;
}

/* A flood message was answered: taken, or not (and then nothing more is queued). */
static void flood_answered(ClientFabric *f, bool taken)
{
	if (taken) {
		f->flood.sent++;
		return;
	}
	f->flood.failed++;
	f->flood.stopped = true;
}

static void unacknowledged(void *userdata, unsigned dest, const MailMessage *msg, bool timed_out)
{
	Client *c = userdata;
	ClientFabric *f = &c->fabric;
	const char *text = msg->text;
	char name[64], routed[MAILBOX_LABEL_MAX + 8] = "", target[MAILBOX_LABEL_MAX];

	if (is_route_request(msg)) {
		FabricTarget t = target_of_request(msg->env);

		snprintf(routed, sizeof(routed), " for %s",
			 client_fabric_target_name(c, &t, target));
	}
	/* One line for a flood, not one per message it had queued. */
	if (msg->token != SEND_FLOOD || !f->flood.stopped)
		log_error("%s did not %s \"%s\"%s", peer_name(c, dest, name),
			  timed_out ? "acknowledge" : "read its mailbox lately, so it was not sent",
			  text, routed);
	f->send_failed = true;
	if (msg->token == SEND_FLOOD)
		flood_answered(f, false);
	if (msg->token == SEND_PING && is_route_request(msg))
		routed_ping_lost(c, msg->env);
	if (msg->token == SEND_CONTROL)
		client_control_send_failed(c, msg->text);
	if (msg->token == SEND_MANAGE && is_route_request(msg)) {
		FabricTarget t = target_of_request(msg->env);

		client_manage_send_failed(c, &t, msg->text);
	}
	if (f->in_flight)
		f->in_flight--;
	client_continue(c);
}

/* The switch acknowledged a route request with a verdict other than ok. */
static void route_refused(Client *c, const MailMessage *msg)
{
	ClientFabric *f = &c->fabric;
	FabricTarget t = target_of_request(msg->env);
	char name[MAILBOX_LABEL_MAX];

	if (t.directed)
		f->directed_refused++;
	else
		f->routed_refused++;
	if (msg->token != SEND_FLOOD || !f->flood.stopped)
		log_error("cannot reach %s: %s%s", client_fabric_target_name(c, &t, name),
			  envelope_status_to_string(msg->status),
			  msg->status == ENVELOPE_STATUS_NOT_CONFIGURED
				  ? " (we have no CID yet: 'rfc' asks the switch for one)"
				  : "");
	switch (msg->token) {
	case SEND_COMMAND:
		f->send_failed = true;
		break;
	case SEND_PING:
		routed_ping_lost(c, msg->env);
		break;
	case SEND_CONTROL:
		client_control_send_failed(c, msg->text);
		break;
	case SEND_MANAGE:
		client_manage_send_failed(c, &t, msg->text);
		break;
	default:
		break;
	}
}

/* What the switch's verdict on msg (ENVELOPE_STATUS_OK for any other message) means. */
static void answered(Client *c, const MailMessage *msg)
{
	ClientFabric *f = &c->fabric;
	bool taken = !is_route_request(msg) || msg->status == ENVELOPE_STATUS_OK;

	if (is_route_request(msg)) {
		if (!taken)
			route_refused(c, msg);
		else if (msg->env->type == ENVELOPE_DIRECTED)
			f->directed_sent++;
		else
			f->routed_sent++;
	}
	if (msg->token == SEND_FLOOD)
		flood_answered(f, taken);
}

static void delivered(void *userdata, unsigned dest, const MailMessage *msg)
{
	Client *c = userdata;
	ClientFabric *f = &c->fabric;

	(void)dest;
	answered(c, msg);
	if (f->in_flight)
		f->in_flight--;
	client_continue(c);
}

const char *client_fabric_target_name(Client *c, const FabricTarget *t, char buf[MAILBOX_LABEL_MAX])
{
	if (t->directed)
		path_name(t->path, t->path_len, buf, MAILBOX_LABEL_MAX);
	else if (t->routed)
		snprintf(buf, MAILBOX_LABEL_MAX, "%u,%u", t->cid, t->sid);
	else
		peer_name(c, t->id, buf);
	return buf;
}

/*
 * Sends text to t: into our slot for a peer of our switch, or as a route or directed request
 * to it. A configured component routes by its SSDT and MSDT: with no route there, the request
 * is refused here, as the switch would, and never sent.
 */
int client_fabric_send(Client *c, const FabricTarget *t, const char *text, SendKind kind)
{
	ClientFabric *f = &c->fabric;
	char name[MAILBOX_LABEL_MAX];
	bool relayed = t->routed || t->directed;
	unsigned dest = relayed ? f->layout.server_id : t->id;
	Envelope env;
	int r;

	/* Inside a guest the bridge sends (and routes), and says nothing of the acknowledgment. */
	if (c->device) {
		char address[PATH_NAME_MAX];

		if (t->directed)
			path_name(t->path, t->path_len, address, sizeof(address));
		else if (t->routed)
			snprintf(address, sizeof(address), "%u,%u", t->cid, t->sid);
		else
			snprintf(address, sizeof(address), "%u", t->id);
		/* The manager's failures are the component's: it hears of them by the result. */
		if (kind == SEND_MANAGE)
			return client_device_write(c, address, text);
		return client_device_send(c, address, text);
	}
	/* The origin is ours for the record: the switch writes the one it gave us. */
	if (t->routed)
		env = (Envelope){ .type = ENVELOPE_ROUTE,
				  .status = ENVELOPE_STATUS_PENDING,
				  .dest_cid = t->cid,
				  .dest_sid = t->sid,
				  .origin_cid = (uint16_t)f->cid,
				  .origin_sid = (uint16_t)f->sid };
	else if (t->directed) {
		env = (Envelope){ .type = ENVELOPE_DIRECTED,
				  .status = ENVELOPE_STATUS_PENDING,
				  .path_len = t->path_len };
		memcpy(env.path, t->path, t->path_len);
	}
	if (t->routed && f->configured && !client_control_routable(c, t->cid, t->sid)) {
		log_debug("no route to %u,%u in our SSDT or MSDT: \"%s\" not sent", t->cid, t->sid,
			  text);
		answered(c, &(MailMessage){ .text = text,
					    .env = &env,
					    .token = kind,
					    .status = ENVELOPE_STATUS_NO_ROUTE });
		return 0;
	}
	/* Counted first: a silent destination reports the message unacknowledged at once. */
	log_debug("queue to %s: %s", client_fabric_target_name(c, t, name), text);
	f->in_flight++;
	r = mail_sender_send_env(f->sender, dest, text, relayed ? &env : NULL, kind);
	if (r < 0) {
		f->in_flight--;
		return command_error(c, "cannot send to %s: %s",
				     client_fabric_target_name(c, t, name), strerror(-r));
	}
	return 0;
}

/*
 * The target for peer id of our switch: itself, unless the switch relays everything; then its
 * CID,SID through the switch (the switch itself is always rung directly). -EHOSTUNREACH, and a
 * failed command, for a peer with no CID,SID yet.
 */
static int local_target(Client *c, unsigned id, FabricTarget *t)
{
	ClientFabric *f = &c->fabric;
	uint64_t flags = c->device ? 0 : fabric_flags(c);
	uint8_t *slot = slot_of(c, id);
	uint64_t cid, sid;
	char name[MAILBOX_LABEL_MAX];

	*t = (FabricTarget){ .id = id };
	if (id == f->layout.server_id || !(flags & MAILBOX_FLAG_ROUTES) ||
	    !(flags & MAILBOX_FLAG_RELAY_ALWAYS))
		return 0;
	cid = mailbox_get_u64(slot, MAILBOX_SLOT_PEER_CID);
	sid = mailbox_get_u64(slot, MAILBOX_SLOT_PEER_SID);
	if ((cid == 0 && sid == 0) || cid > FABRIC_CID_MAX || sid > FABRIC_SID_MAX) {
		command_error(c,
			      "%s has no CID,SID yet: the switch relays every message, so it "
			      "cannot be reached until the switch has configured it",
			      peer_name(c, id, name));
		return -EHOSTUNREACH;
	}
	*t = (FabricTarget){ .id = 0, .routed = true, .cid = (uint16_t)cid, .sid = (uint16_t)sid };
	return 0;
}

static void send_to_id(Client *c, unsigned id, const char *text, SendKind kind)
{
	FabricTarget t;

	if (local_target(c, id, &t) == 0)
		client_fabric_send(c, &t, text, kind);
}

void client_fabric_send_msg(Client *c, unsigned dest, const FabricMsg *m)
{
	char text[MAILBOX_MSG_MAX];

	if (fabric_msg_format(m, text, sizeof(text)) >= 0)
		send_to_id(c, dest, text, SEND_REPLY);
}

/* Answers o: by its ID on our switch, routed back to where it came from, or directed back. */
void client_fabric_reply(Client *c, const Origin *o, const char *text)
{
	FabricTarget t = { .routed = true, .cid = o->cid, .sid = o->sid };

	if (o->directed) {
		t = (FabricTarget){ .directed = true, .path_len = o->path_len };
		memcpy(t.path, o->path, o->path_len);
	}
	if (o->routed || o->directed)
		client_fabric_send(c, &t, text, SEND_REPLY);
	else
		send_to_id(c, o->id, text, SEND_REPLY);
}

void client_fabric_setup(Client *c, const char *nodename, const char *cclass)
{
	static const MailSenderOps ops = {
		.ring = ring,
		.unacknowledged = unacknowledged,
		.delivered = delivered,
	};
	ClientFabric *f = &c->fabric;

	if (!c->shm || mailbox_read_layout(c->shm, c->shm_size, &f->layout) < 0)
		return;
	if (c->state.own_id == 0 || c->state.own_id > f->layout.n_clients) {
		log_warning("the shared memory has a FAME-Z mailbox, but our ID %u has no slot in "
			    "it; fabric commands are unavailable",
			    c->state.own_id);
		return;
	}
	if (c->device) {
		/* The bridge owns our slot and named us. */
		if (nodename || strcmp(cclass, "Debugger") != 0)
			log_notice("--nodename and --cclass do not apply to a bridge: write its "
				   "sysfs nodename and cclass instead");
		mailbox_get_nodename(slot_of(c, c->state.own_id), f->nodename);
		f->enabled = true;
		say("fabric nodename %s server %u clients %u", f->nodename, f->layout.server_id,
		    f->layout.n_clients);
		return;
	}
	if (mail_sender_new(&f->sender, c->event, slot_of(c, c->state.own_id),
			    CLIENT_ACK_TIMEOUT_USEC, &ops, c) < 0)
		return;
	if (nodename)
		snprintf(f->nodename, sizeof(f->nodename), "%s", nodename);
	else
		snprintf(f->nodename, sizeof(f->nodename), "z%02u", c->state.own_id);
	snprintf(f->cclass, sizeof(f->cclass), "%s", cclass);
	mailbox_set_nodename(slot_of(c, c->state.own_id), f->nodename);
	mailbox_set_cclass(slot_of(c, c->state.own_id), f->cclass);
	f->enabled = true;
	say("fabric nodename %s server %u clients %u", f->nodename, f->layout.server_id,
	    f->layout.n_clients);
	client_control_setup(c);
}

void client_fabric_set_ids(Client *c, bool configured, uint64_t cid, uint64_t sid)
{
	ClientFabric *f = &c->fabric;

	f->configured = configured;
	f->cid = configured ? cid : 0;
	f->sid = configured ? sid : 0;
	/* In our slot too, where a peer addressing "CID,SID" looks. */
	mailbox_set_u64(slot_of(c, c->state.own_id), MAILBOX_SLOT_PEER_SID, f->sid);
	mailbox_set_u64(slot_of(c, c->state.own_id), MAILBOX_SLOT_PEER_CID, f->cid);
}

void client_fabric_peer_ringable(Client *c, unsigned id)
{
	/*
	 * A newcomer may write to us before the server told us of it (its doorbell and the
	 * server's socket race): our answer could not ring it then.
	 */
	if (c->fabric.sender)
		mail_sender_heard_from(c->fabric.sender, id);
}

void client_fabric_done(Client *c)
{
	c->fabric.sender = mail_sender_free(c->fabric.sender);
	client_manage_done(c);
	client_control_done(c);
}

static bool ping_pending(const ClientFabric *f, unsigned id)
{
	return f->ping_pending[id / 64] & (UINT64_C(1) << (id % 64));
}

static void set_ping_pending(ClientFabric *f, unsigned id, bool on)
{
	if (on)
		f->ping_pending[id / 64] |= UINT64_C(1) << (id % 64);
	else
		f->ping_pending[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

/* A pong from o: the answer to one of our pings, if we wait for one from there. */
static void take_pong(Client *c, const Origin *o, const char *name)
{
	ClientFabric *f = &c->fabric;
	RoutedPing *p = NULL;
	char target[MAILBOX_LABEL_MAX];

	for (unsigned i = 0; !p && i < f->n_routed_pings; i++)
		if (client_fabric_origin_is(c, &f->routed_pings[i].target, o))
			p = &f->routed_pings[i];
	/* A ping to a CID,SID is answered from that CID,SID (a path, along it): named so. */
	if (p) {
		say("pong from %s in %" PRIu64 " us",
		    client_fabric_target_name(c, &p->target, target),
		    now_usec(CLOCK_MONOTONIC) - p->sent_at);
		routed_ping_remove(f, p);
	} else if (!o->routed && !o->directed && ping_pending(f, o->id)) {
		set_ping_pending(f, o->id, false);
		say("pong from %s in %" PRIu64 " us", name,
		    now_usec(CLOCK_MONOTONIC) - f->ping_sent_at[o->id]);
	}
}

/* A CTL-Write configures us if it comes from our switch itself, rung directly. */
static void take_ctl_write(Client *c, const Origin *o, const char *name, const FabricMsg *m)
{
	ClientFabric *f = &c->fabric;

	/*
	 * Only the fabric manager configures us. Doorbells are authenticated, so the ringing
	 * vector names the sender; a CTL-Write from anyone else would let a peer give us another
	 * component's identity (the server's, say). One the switch delivered came from elsewhere,
	 * whatever it says.
	 */
	if (o->routed || o->directed || o->id != f->layout.server_id) {
		if (f->ctl_writes_refused++ == 0)
			log_warning("%s sent a CTL-Write: only the server (%u) configures us; "
				    "ignored (dump counts them)",
				    name, f->layout.server_id);
		return;
	}
	client_fabric_set_ids(c, true, m->cid, m->sid);
	client_control_configured(c, m);
	client_fabric_send_msg(c, o->id,
			       &(FabricMsg){ .type = FABRIC_MSG_STANDALONE_ACK,
					     .tag = m->tag,
					     .reason_ok = true });
	say("configured SID %" PRIu64 " CID %" PRIu64, f->sid, f->cid);
}

/* Answers what a peer asks of us, and takes what it tells us. */
static void handle(Client *c, const Origin *o, const char *text)
{
	ClientFabric *f = &c->fabric;
	char name[MAILBOX_LABEL_MAX];
	FabricMsg m;

	if (o->directed)
		path_name(o->path, o->path_len, name, sizeof(name));
	else if (o->routed)
		snprintf(name, sizeof(name), "%u,%u", o->cid, o->sid);
	else
		peer_name(c, o->id, name);
	/* Control requests we answer and responses to ours: the commands say what came of them. */
	if (client_control_take(c, o, name, text))
		return;
	say("%s: %s", name, text);
	if (fabric_msg_parse(text, &m) < 0 || m.type == FABRIC_MSG_UNKNOWN) {
		f->messages++;
		return;
	}
	switch (m.type) {
	case FABRIC_MSG_PING:
		client_fabric_reply(c, o, "pong");
		break;
	case FABRIC_MSG_PONG:
		take_pong(c, o, name);
		break;
	case FABRIC_MSG_PEER_ATTRIBUTE: {
		/* Our CID0 and SID0 once we have them (C-Up); none before (C-CFG). */
		FabricMsg ack = { .type = FABRIC_MSG_ATTRIBUTE_ACK,
				  .sid0 = f->sid,
				  .cid0 = f->cid,
				  .no_ids = !client_control_up(c) };

		/* Link-level: for the peers of our link, not for components elsewhere. */
		if (o->routed || o->directed)
			break;
		snprintf(ack.cclass, sizeof(ack.cclass), "%s", f->cclass);
		client_fabric_send_msg(c, o->id, &ack);
		break;
	}
	case FABRIC_MSG_ATTRIBUTE_ACK:
		/* Our switch's attributes: what our interface 0 says of its peer. */
		if (!o->routed && !o->directed && o->id == f->layout.server_id)
			client_control_switch_attributes(c, &m);
		break;
	case FABRIC_MSG_CTL_WRITE:
		take_ctl_write(c, o, name, &m);
		break;
	default:
		break;
	}
}

/* "A,B" with A <= max_a and B <= max_b, digits only. */
static bool parse_pair(const char *s, uint64_t max_a, uint64_t max_b, uint16_t *a, uint16_t *b)
{
	const char *comma = strchr(s, ',');
	char first[16];
	uint64_t x, y;

	if (!comma || (size_t)(comma - s) >= sizeof(first) ||
	    strspn(s, "0123456789") != (size_t)(comma - s) ||
	    strspn(comma + 1, "0123456789") != strlen(comma + 1))
		return false;
	memcpy(first, s, (size_t)(comma - s));
	first[comma - s] = '\0';
	if (parse_uint(first, 0, max_a, &x) < 0 || parse_uint(comma + 1, 0, max_b, &y) < 0)
		return false;
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return true;
}

/* The peer of our switch whose slot holds cid,sid (other than us), or 0. */
static unsigned id_of_cid_sid(Client *c, uint16_t cid, uint16_t sid)
{
	ClientFabric *f = &c->fabric;

	/* A slot not configured yet holds 0,0: it names nobody. */
	if (cid == 0 && sid == 0)
		return 0;
	for (unsigned id = 1; id <= f->layout.server_id; id++)
		if (id != c->state.own_id &&
		    mailbox_get_u64(slot_of(c, id), MAILBOX_SLOT_PEER_CID) == cid &&
		    mailbox_get_u64(slot_of(c, id), MAILBOX_SLOT_PEER_SID) == sid)
			return id;
	return 0;
}

void client_fabric_on_device_message(Client *c, const char *msg)
{
	ClientFabric *f = &c->fabric;
	const char *colon = strchr(msg, ':');
	char address[PATH_NAME_MAX];
	uint64_t id;
	Origin o = { 0 };

	if (!f->enabled || !colon)
		return;
	/*
	 * "CID,SID:" names the sender by its slot's IDs, "ID:" by its ID. A CID,SID no slot
	 * holds is a component elsewhere, whose message the switch delivered to the bridge;
	 * "dr:PATH:" a directed message, with the way back.
	 */
	if (str_has_prefix(msg, "dr:")) {
		FabricTarget t;

		colon = strchr(msg + strlen("dr:"), ':');
		if (colon && (size_t)(colon - msg) < sizeof(address)) {
			snprintf(address, sizeof(address), "%.*s", (int)(colon - msg), msg);
			if (parse_path_quiet(address, &t) == 0) {
				o = (Origin){ .directed = true, .path_len = t.path_len };
				memcpy(o.path, t.path, t.path_len);
				f->directed_received++;
				handle(c, &o, colon + 1);
				return;
			}
		}
		log_warning("the bridge returned a directed message with no path: %s", msg);
		return;
	}
	if ((size_t)(colon - msg) < sizeof(address)) {
		snprintf(address, sizeof(address), "%.*s", (int)(colon - msg), msg);
		if (parse_pair(address, FABRIC_CID_MAX, FABRIC_SID_MAX, &o.cid, &o.sid)) {
			o.id = id_of_cid_sid(c, o.cid, o.sid);
			o.routed = o.id == 0;
		} else if (parse_uint(address, 1, f->layout.server_id, &id) == 0) {
			o.id = (unsigned)id;
		}
	}
	if (!o.id && !o.routed) {
		log_warning("the bridge returned a message from an unknown sender: %s", msg);
		return;
	}
	if (o.routed)
		f->routed_received++;
	handle(c, &o, colon + 1);
}

/*
 * Reads the envelope of a message in the server's slot: true with *o when the switch delivers it
 * for a component elsewhere (or for a peer of ours, when it relays everything), or directed
 * along a path (o->path: the way back).
 */
static bool delivered_origin(Client *c, Origin *o)
{
	Envelope env;
	int r = envelope_read(slot_of(c, c->fabric.layout.server_id), &env);

	if (r == -EBADMSG)
		log_warning("the server's slot holds a malformed envelope; its message is taken "
			    "as the server's own");
	if (r == 0 && env.type == ENVELOPE_DIRECTED_DELIVER) {
		*o = (Origin){ .directed = true, .path_len = env.path_len };
		memcpy(o->path, env.path, env.path_len);
		log_debug("delivered directed, the way back %u ports", env.path_len);
		return true;
	}
	if (r < 0 || env.type != ENVELOPE_DELIVER)
		return false;
	*o = (Origin){ .routed = true, .cid = env.origin_cid, .sid = env.origin_sid };
	log_debug("delivered from %u,%u after %u hops", env.origin_cid, env.origin_sid, env.hops);
	return true;
}

bool client_fabric_on_interrupt(Client *c, unsigned vector)
{
	ClientFabric *f = &c->fabric;
	char text[MAILBOX_MSG_MAX];
	Origin o = { .id = vector };
	size_t len;
	int r;

	if (!f->enabled)
		return false;
	/* Inside a guest the bridge reads the message: the ring is only counted. */
	if (c->device)
		return vector >= 1 && vector <= f->layout.server_id && vector != c->state.own_id;
	mail_sender_poke(f->sender);
	if (vector == 0 || vector > f->layout.server_id || vector == c->state.own_id)
		return false;
	r = mailbox_read_message(slot_of(c, vector), c->state.own_id, text, &len);
	log_debug("ring from %u: %s", vector, r == 0 ? text : strerror(-r));
	/* Nothing there, or a ring that came late: the slot holds the sender's next message. */
	if (r == -EXDEV)
		f->not_ours++;
	if (r == -ENOMSG || r == -EXDEV)
		return false;
	/*
	 * Only the switch delivers: an envelope in another peer's slot is its own business (a
	 * route request it left there), never an origin it may claim.
	 */
	if (r == 0 && vector == f->layout.server_id && delivered_origin(c, &o)) {
		if (o.directed)
			f->directed_received++;
		else
			f->routed_received++;
	}
	mailbox_acknowledge(slot_of(c, vector), c->state.own_id);
	mail_sender_heard_from(f->sender, vector);
	if (r < 0) {
		char name[64];

		log_warning("%s sent a malformed message", peer_name(c, vector, name));
		return true;
	}
	handle(c, &o, text);
	return true;
}

/* Whether peer id is on the fabric: known from the server, or inside a guest, named in its slot. */
static bool peer_present(Client *c, unsigned id)
{
	char nodename[MAILBOX_NODENAME_MAX];

	if (!c->device)
		return client_state_peer(&c->state, (uint16_t)id);
	mailbox_get_nodename(slot_of(c, id), nodename);
	return nodename[0] != '\0';
}

/*
 * The peers of our switch that DEST names (an ID, a nodename, server, all, others, or the
 * CID,SID in a peer's slot), other than us, into a set of IDs; how many.
 */
static int match_peers(Client *c, const char *arg, uint64_t ids[4])
{
	ClientFabric *f = &c->fabric;
	unsigned own = c->state.own_id;
	bool all = strcmp(arg, "all") == 0, others = strcmp(arg, "others") == 0;
	uint16_t cid, sid;
	bool by_address = parse_pair(arg, FABRIC_CID_MAX, FABRIC_SID_MAX, &cid, &sid);
	unsigned by_cid_sid = by_address ? id_of_cid_sid(c, cid, sid) : 0;
	int n = 0;

	memset(ids, 0, 4 * sizeof(uint64_t));
	for (unsigned id = 1; id <= f->layout.server_id; id++) {
		char nodename[MAILBOX_NODENAME_MAX], num[16];
		bool present = id == f->layout.server_id || peer_present(c, id);
		bool match;

		if (id == own || !present)
			continue;
		mailbox_get_nodename(slot_of(c, id), nodename);
		snprintf(num, sizeof(num), "%u", id);
		match = all || (others && id != f->layout.server_id) ||
			(strcmp(arg, "server") == 0 && id == f->layout.server_id) ||
			strcmp(arg, num) == 0 || (nodename[0] && strcmp(arg, nodename) == 0) ||
			id == by_cid_sid;
		if (match) {
			ids[id / 64] |= UINT64_C(1) << (id % 64);
			n++;
		}
	}
	return n;
}

#define FOR_EACH_ID(id, ids)                                                                       \
	for (unsigned id = 0; id < MAIL_DEST_MAX; id++)                                            \
		if ((ids)[id / 64] & (UINT64_C(1) << (id % 64)))

/* "dr:" (our switch itself) or "dr:P1.P2..": ports 1..255, at most ENVELOPE_PATH_MAX. */
static int parse_path_quiet(const char *arg, FabricTarget *t)
{
	const char *p = arg + strlen("dr:");
	bool bad = false;

	*t = (FabricTarget){ .directed = true };
	while (*p && !bad) {
		char port[8];
		size_t len = strcspn(p, ".");
		uint64_t v;

		bad = t->path_len == ENVELOPE_PATH_MAX || len == 0 || len >= sizeof(port);
		if (bad)
			break;
		memcpy(port, p, len);
		port[len] = '\0';
		bad = parse_uint(port, 1, UINT8_MAX, &v) < 0;
		t->path[t->path_len++] = (uint8_t)v;
		p += len;
		/* A '.' separates: one at the end is not a path. */
		if (*p == '.')
			bad = !*++p;
	}
	return bad ? -EINVAL : 0;
}

static int parse_path(Client *c, const char *arg, FabricTarget *t)
{
	if (parse_path_quiet(arg, t) < 0)
		return command_error(c,
				     "'%s' is not a path: dr: then up to %d ports (1..255) "
				     "separated by '.'",
				     arg, ENVELOPE_PATH_MAX);
	if (!c->device && !(fabric_flags(c) & MAILBOX_FLAG_ROUTES))
		return command_error(c, "the switch does not relay: %s leads nowhere", arg);
	return 0;
}

/*
 * Resolves DEST into targets (room for MAIL_DEST_MAX): the peers of our switch match_peers()
 * finds, else a CID,SID elsewhere, which the switch routes to, or a path (dr:...) the switches
 * relay along. How many, or -EINVAL with a failed command.
 */
static int parse_dest(Client *c, const char *arg, FabricTarget targets[])
{
	ClientFabric *f = &c->fabric;
	uint64_t ids[4];
	uint16_t cid, sid;
	int n, k = 0;

	if (str_has_prefix(arg, "dr:"))
		return parse_path(c, arg, &targets[0]) < 0 ? -EINVAL : 1;
	n = match_peers(c, arg, ids);
	if (n == 0 && parse_pair(arg, FABRIC_CID_MAX, FABRIC_SID_MAX, &cid, &sid)) {
		if (f->configured && cid == f->cid && sid == f->sid)
			return command_error(c, "%s is our own CID,SID", arg);
		/* Inside a guest the bridge routes what it has no slot for. */
		if (!c->device && !(fabric_flags(c) & MAILBOX_FLAG_ROUTES))
			return command_error(c, "the switch does not route: %s is not on it", arg);
		targets[0] = (FabricTarget){ .routed = true, .cid = cid, .sid = sid };
		return 1;
	}
	if (n == 0 && strcmp(arg, "all") != 0 && strcmp(arg, "others") != 0)
		return command_error(c, "no peer '%s' on the fabric; 'who' lists them", arg);
	FOR_EACH_ID(id, ids)
	if (local_target(c, id, &targets[k]) == 0)
		k++;
	return k;
}

int client_fabric_parse_one_dest(Client *c, const char *arg, FabricTarget *t)
{
	FabricTarget targets[MAIL_DEST_MAX];
	int n = parse_dest(c, arg, targets);

	if (n < 0)
		return n;
	if (n != 1)
		return command_error(c, "'%s' names %d peers; name one", arg, n);
	*t = targets[0];
	return 0;
}

static void command_who(Client *c)
{
	ClientFabric *f = &c->fabric;

	for (unsigned id = 1; id <= f->layout.server_id; id++) {
		char nodename[MAILBOX_NODENAME_MAX], cclass[MAILBOX_CCLASS_MAX];
		uint8_t *slot = slot_of(c, id);

		if (id != f->layout.server_id && id != c->state.own_id && !peer_present(c, id))
			continue;
		mailbox_get_nodename(slot, nodename);
		mailbox_get_cclass(slot, cclass);
		say("id %u nodename %s cclass %s cid %" PRIu64 " sid %" PRIu64 "%s", id,
		    nodename[0] ? nodename : "-", cclass[0] ? cclass : "-",
		    mailbox_get_u64(slot, MAILBOX_SLOT_PEER_CID),
		    mailbox_get_u64(slot, MAILBOX_SLOT_PEER_SID),
		    id == c->state.own_id       ? " (us)"
		    : id == f->layout.server_id ? " (server)"
						: "");
	}
}

/* The one other peer of our switch an argument names; 0 (and a failed command) if not one. */
static unsigned parse_one(Client *c, const char *arg)
{
	uint64_t ids[4];
	unsigned found = 0;
	int n = match_peers(c, arg, ids);

	if (n == 0) {
		command_error(c, "no peer '%s' on the fabric; 'who' lists them", arg);
		return 0;
	}
	if (n != 1) {
		command_error(c, "'%s' names %d peers; name one", arg, n);
		return 0;
	}
	FOR_EACH_ID(id, ids)
	found = id;
	return found;
}

/*
 * For tests of doorbell authentication: writes text into SRC's slot, as if SRC had sent it,
 * and rings DEST on vector SRC. Whether DEST hears it depends on the server: a famezd hands
 * every peer a working eventfd only on the vector that names that peer itself.
 */
static void command_spoof(Client *c, unsigned src, unsigned dest, const char *text)
{
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t)dest);
	int r;

	/* Nothing is written unless the ring can follow. */
	if (!p || src >= p->n_vectors) {
		command_error(c, "peer %u has no vector %u", dest, src);
		return;
	}
	if (mailbox_put_message(slot_of(c, src), dest, text) < 0) {
		command_error(c, "a slot holds 1 to %d characters", MAILBOX_MSG_MAX - 1);
		return;
	}
	r = doorbell_ring(p->fds[src]);
	if (r < 0 && r != -EAGAIN)
		command_error(c, "cannot ring peer %u vector %u: %s", dest, src, strerror(-r));
	else
		say("spoofed %u -> %u", src, dest);
}

static void command_ping(Client *c, const char *dest, const char *seconds)
{
	ClientFabric *f = &c->fabric;
	FabricTarget targets[MAIL_DEST_MAX];
	int n = parse_dest(c, dest, targets);

	if (n < 0)
		return;
	/* A ping waits for its own pongs: those of one that timed out are awaited no more. */
	memset(f->ping_pending, 0, sizeof(f->ping_pending));
	f->n_routed_pings = 0;
	for (int i = 0; i < n; i++) {
		const FabricTarget *t = &targets[i];
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		RoutedPing *p = NULL;

		/* Marked first: a silent destination reports the ping unacknowledged at once. */
		if (t->routed || t->directed) {
			p = routed_ping_find(f, t);
			if (!p)
				p = &f->routed_pings[f->n_routed_pings++];
			*p = (RoutedPing){ .target = *t, .sent_at = now };
		} else {
			f->ping_sent_at[t->id] = now;
			set_ping_pending(f, t->id, true);
		}
		if (client_fabric_send(c, t, "ping", SEND_PING) < 0) {
			if (!t->routed && !t->directed)
				set_ping_pending(f, t->id, false);
			else if ((p = routed_ping_find(f, t)))
				routed_ping_remove(f, p);
		}
	}
	start_wait(c, WAIT_PONG, seconds);
}

/* Queues the next flood messages, up to the window. */
static void flood_fill(Client *c)
{
	FabricFlood *fl = &c->fabric.flood;
	char text[32];

	while (!fl->stopped && fl->queued < fl->total &&
	       fl->queued - fl->sent - fl->failed < FLOOD_WINDOW) {
		snprintf(text, sizeof(text), "seq=%" PRIu64, ++fl->queued);
		if (client_fabric_send(c, &fl->target, text, SEND_FLOOD) < 0) {
			fl->failed++;
			fl->stopped = true;
		} else if (c->device) {
			/* The bridge wrote it into our slot; it says no more. */
			fl->sent++;
		}
	}
}

static void command_flood(Client *c, const char *dest, const char *count)
{
	ClientFabric *f = &c->fabric;
	FabricTarget targets[MAIL_DEST_MAX];
	uint64_t total;
	int n;

	if (parse_uint(count, 1, UINT32_MAX, &total) < 0) {
		command_error(c, "'%s' is not a message count (1..%u)", count, UINT32_MAX);
		return;
	}
	n = parse_dest(c, dest, targets);
	if (n < 0)
		return;
	if (n != 1) {
		if (n > 1)
			command_error(c, "'%s' names %d peers; a flood goes to one", dest, n);
		return;
	}
	f->flood = (FabricFlood){ .target = targets[0], .total = total };
	client_fabric_target_name(c, &targets[0], f->flood.name);
	/* The wait queues the messages, a window at a time, as the earlier ones are answered. */
	start_wait(c, WAIT_FLOOD, NULL);
}

/* Joins argv[from..] with spaces into buf. */
static void join_words(char *buf, size_t size, const char *prefix, int argc, char *argv[], int from)
{
	size_t len = (size_t)snprintf(buf, size, "%s", prefix);

	for (int i = from; i < argc && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i > from ? " " : "",
					argv[i]);
}

bool client_fabric_command(Client *c, int argc, char *argv[])
{
	static const char *const commands[] = { "who",      "ping",      "send",     "link",
						"rfc",      "spoof",     "wait-msg", "flood",
						"ctl-read", "ctl-write", "control",  "manage" };
	ClientFabric *f = &c->fabric;
	char text[MAILBOX_MSG_MAX + 8];
	FabricTarget targets[MAIL_DEST_MAX];
	unsigned src, dest;
	bool known = false;
	int n;

	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		known = known || strcmp(argv[0], commands[i]) == 0;
	if (!known)
		return false;
	if (!f->enabled) {
		command_error(c, "'%s' needs a fabric: the server is not in fabric mode", argv[0]);
		return true;
	}

	if (client_control_command(c, argc, argv) || client_manage_command(c, argc, argv)) {
		/* done */
	} else if (strcmp(argv[0], "who") == 0 && argc == 1) {
		command_who(c);
	} else if (strcmp(argv[0], "ping") == 0 && (argc == 2 || argc == 3)) {
		command_ping(c, argv[1], argc == 3 ? argv[2] : "5");
	} else if (strcmp(argv[0], "send") == 0 && argc >= 3) {
		if ((n = parse_dest(c, argv[1], targets)) < 0)
			return true;
		join_words(text, sizeof(text), "", argc, argv, 2);
		/* Before sending: a silent destination reports its drop at once. */
		f->send_failed = false;
		for (int i = 0; i < n; i++)
			client_fabric_send(c, &targets[i], text, SEND_COMMAND);
		start_wait(c, WAIT_DELIVERED, NULL);
	} else if (strcmp(argv[0], "flood") == 0 && argc == 3) {
		command_flood(c, argv[1], argv[2]);
	} else if (strcmp(argv[0], "wait-msg") == 0 && argc <= 3) {
		uint64_t count = 1;

		if (argc >= 2 && parse_uint(argv[1], 1, UINT32_MAX, &count) < 0) {
			command_error(c, "usage: wait-msg [COUNT [SECONDS]]");
			return true;
		}
		c->wait_target = count;
		start_wait(c, WAIT_MESSAGES, argc == 3 ? argv[2] : NULL);
	} else if (strcmp(argv[0], "spoof") == 0 && argc >= 4) {
		if (!(src = parse_one(c, argv[1])) || !(dest = parse_one(c, argv[2])))
			return true;
		join_words(text, sizeof(text), "", argc, argv, 3);
		command_spoof(c, src, dest, text);
	} else if (strcmp(argv[0], "link") == 0 && argc >= 2) {
		join_words(text, sizeof(text), "Link ", argc, argv, 1);
		f->send_failed = false;
		send_to_id(c, f->layout.server_id, text, SEND_COMMAND);
		start_wait(c, WAIT_DELIVERED, NULL);
	} else if (strcmp(argv[0], "rfc") == 0 && argc <= 2) {
		f->configured = false;
		if (c->device)
			say("the bridge configures itself at probe; asking again");
		client_fabric_send_msg(c, f->layout.server_id,
				       &(FabricMsg){ .type = FABRIC_MSG_LINK_RFC, .ttc_usec = 27 });
		start_wait(c, WAIT_CONFIGURED, argc == 2 ? argv[1] : "5");
	} else {
		command_error(c, "wrong arguments to '%s'; try 'help'", argv[0]);
	}
	return true;
}

/* Whether the flood is over: every message queued and answered. Then it says how it went. */
static bool flood_done(Client *c)
{
	FabricFlood *fl = &c->fabric.flood;

	flood_fill(c);
	if (fl->sent + fl->failed < fl->queued || (!fl->stopped && fl->queued < fl->total))
		return false;
	if (fl->failed)
		command_error(c, "flood to %s: %" PRIu64 " of %" PRIu64 " messages sent", fl->name,
			      fl->sent, fl->total);
	else
		say("flood to %s: %" PRIu64 " messages sent", fl->name, fl->sent);
	return true;
}

bool client_fabric_wait_satisfied(Client *c)
{
	ClientFabric *f = &c->fabric;

	switch (c->wait) {
	case WAIT_PONG:
		return !(f->ping_pending[0] | f->ping_pending[1] | f->ping_pending[2] |
			 f->ping_pending[3]) &&
		       f->n_routed_pings == 0;
	case WAIT_MESSAGES:
		if (f->messages - f->messages_consumed < c->wait_target)
			return false;
		f->messages_consumed += c->wait_target;
		return true;
	case WAIT_DELIVERED:
		if (f->in_flight)
			return false;
		if (f->send_failed)
			c->command_failed = true;
		return true;
	case WAIT_FLOOD:
		return flood_done(c);
	case WAIT_CONTROL:
		return client_control_wait_satisfied(c);
	case WAIT_MANAGE:
		return client_manage_wait_satisfied(c);
	case WAIT_CONFIGURED:
		if (c->device && !f->configured) {
			/* The bridge took the CTL-Write; its link state says so. */
			struct famez_bridge_info info;

			if (client_device_info(c, &info) < 0 ||
			    info.link != FAMEZ_BRIDGE_LINK_CONFIGURED)
				return false;
			f->sid = info.sid;
			f->cid = info.cid;
			f->configured = true;
			say("configured SID %" PRIu64 " CID %" PRIu64, f->sid, f->cid);
		}
		return f->configured;
	default:
		return true;
	}
}

void client_fabric_dump(Client *c)
{
	const ClientFabric *f = &c->fabric;
	uint64_t flags;

	if (!f->enabled)
		return;
	flags = fabric_flags(c);
	say("fabric configured %s sid %" PRIu64 " cid %" PRIu64 " messages %" PRIu64
	    " ctl-writes-refused %" PRIu64 " not-ours %" PRIu64,
	    f->configured ? "yes" : "no", f->sid, f->cid, f->messages, f->ctl_writes_refused,
	    f->not_ours);
	say("fabric routes %s relay-always %s routed-sent %" PRIu64 " routed-refused %" PRIu64
	    " routed-received %" PRIu64 " directed-sent %" PRIu64 " directed-refused %" PRIu64
	    " directed-received %" PRIu64,
	    flags & MAILBOX_FLAG_ROUTES ? "yes" : "no",
	    flags & MAILBOX_FLAG_RELAY_ALWAYS ? "yes" : "no", f->routed_sent, f->routed_refused,
	    f->routed_received, f->directed_sent, f->directed_refused, f->directed_received);
	client_control_dump(c);
}

void client_fabric_help(void)
{
	say("fabric commands (when the server is in fabric mode); DEST is an ID, a nodename,\n"
	    "'server', 'all', 'others', CID,SID (a peer of our switch, else a component the\n"
	    "switch routes to, when it routes) or dr:P1.P2.. (the component at the end of\n"
	    "that path of egress ports, from our switch on; dr: is our switch itself):\n"
	    "  who                       the peers on the fabric: nodename, C-Class, CID, SID\n"
	    "  ping DEST [SECONDS]       send ping and wait for the pongs (default 5 s)\n"
	    "  send DEST TEXT            send a message and wait until it is acknowledged\n"
	    "                            (routed: until the switch took it)\n"
	    "  flood DEST N              send seq=1 .. seq=N to one DEST, in order, and wait\n"
	    "                            until every one is acknowledged\n"
	    "  wait-msg [N [SECONDS]]    wait for N (default 1) messages that are not ping,\n"
	    "                            pong, Link or CTL-Write (those already printed count)\n"
	    "  link WORDS                send \"Link WORDS\" to the server\n"
	    "  rfc [SECONDS]             ask the server to configure us (Link RFC)\n"
	    "  spoof SRC DEST TEXT       write TEXT into SRC's slot and ring DEST on vector\n"
	    "                            SRC, as if SRC sent it (for tests)");
	client_control_help();
	client_manage_help();
}
