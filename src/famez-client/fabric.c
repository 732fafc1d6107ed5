/* SPDX-License-Identifier: MIT */
/*
 * famez-client in fabric mode: a FAME-Z peer with its own mailbox slot. It answers ping and
 * Link CTL Peer-Attribute itself (as C-Class Debugger, unless --cclass says), takes the
 * configuration a CTL-Write gives it, and prints every message it receives as
 * "nodename@id: text".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/famez_bridge.h>

#include "client.h"
#include "doorbell.h"
#include "log.h"
#include "size.h"

#define CLIENT_ACK_TIMEOUT_USEC 1000000ULL

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
	r = doorbell_ring(p->fds[c->state.own_id]);
	/* A full counter already makes the receiver look. */
	if (r < 0 && r != -EAGAIN)
		log_warning_errno(r, "cannot ring peer %u: %m", dest);
}

static void unacknowledged(void *userdata, unsigned dest, const MailMessage *msg, bool timed_out)
{
	Client *c = userdata;
	const char *text = msg->text;
	char name[64];

	log_error("%s did not %s \"%s\"", peer_name(c, dest, name),
		  timed_out ? "acknowledge" : "read its mailbox lately, so it was not sent", text);
	c->fabric.send_failed = true;
	if (c->fabric.in_flight)
		c->fabric.in_flight--;
	client_continue(c);
}

static void delivered(void *userdata, unsigned dest, const MailMessage *msg)
{
	Client *c = userdata;

	(void)dest;
	(void)msg;
	if (c->fabric.in_flight)
		c->fabric.in_flight--;
	client_continue(c);
}

static int send_text(Client *c, unsigned dest, const char *text)
{
	int r;

	/* Inside a guest the bridge sends, and says nothing of the acknowledgment. */
	if (c->device)
		return client_device_send(c, dest, text);
	/* Counted first: a silent destination reports the message unacknowledged at once. */
	log_debug("queue to %u: %s", dest, text);
	c->fabric.in_flight++;
	r = mail_sender_send(c->fabric.sender, dest, text);
	if (r < 0) {
		c->fabric.in_flight--;
		return command_error(c, "cannot send to peer %u: %s", dest, strerror(-r));
	}
	return 0;
}

static void send_msg(Client *c, unsigned dest, const FabricMsg *m)
{
	char text[MAILBOX_MSG_MAX];

	if (fabric_msg_format(m, text, sizeof(text)) >= 0)
		send_text(c, dest, text);
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
}

void client_fabric_done(Client *c)
{
	c->fabric.sender = mail_sender_free(c->fabric.sender);
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

/* Answers what a peer asks of us, and takes what it tells us. */
static void handle(Client *c, unsigned from, const char *text)
{
	ClientFabric *f = &c->fabric;
	char name[64];
	FabricMsg m;

	say("%s: %s", peer_name(c, from, name), text);
	if (fabric_msg_parse(text, &m) < 0 || m.type == FABRIC_MSG_UNKNOWN) {
		f->messages++;
		return;
	}
	switch (m.type) {
	case FABRIC_MSG_PING:
		send_msg(c, from, &(FabricMsg){ .type = FABRIC_MSG_PONG });
		break;
	case FABRIC_MSG_PONG:
		if (ping_pending(f, from)) {
			set_ping_pending(f, from, false);
			say("pong from %s in %" PRIu64 " us", name,
			    now_usec(CLOCK_MONOTONIC) - f->ping_sent_at[from]);
		}
		break;
	case FABRIC_MSG_PEER_ATTRIBUTE: {
		FabricMsg ack = { .type = FABRIC_MSG_ATTRIBUTE_ACK,
				  .sid0 = f->sid,
				  .cid0 = f->cid };

		snprintf(ack.cclass, sizeof(ack.cclass), "%s", f->cclass);
		send_msg(c, from, &ack);
		break;
	}
	case FABRIC_MSG_CTL_WRITE:
		/*
		 * Only the fabric manager configures us. Doorbells are authenticated, so the
		 * ringing vector names the sender; a CTL-Write from anyone else would let a peer
		 * give us another component's identity (the server's, say).
		 */
		if (from != f->layout.server_id) {
			if (f->ctl_writes_refused++ == 0)
				log_warning(
					"%s sent a CTL-Write: only the server (%u) configures us; "
					"ignored (dump counts them)",
					name, f->layout.server_id);
			break;
		}
		f->sid = m.sid;
		f->cid = m.cid;
		f->configured = true;
		/* In our slot too, where a peer addressing "CID,SID" looks. */
		mailbox_set_u64(slot_of(c, c->state.own_id), MAILBOX_SLOT_PEER_SID, f->sid);
		mailbox_set_u64(slot_of(c, c->state.own_id), MAILBOX_SLOT_PEER_CID, f->cid);
		send_msg(c, from,
			 &(FabricMsg){ .type = FABRIC_MSG_STANDALONE_ACK,
				       .tag = m.tag,
				       .reason_ok = true });
		say("configured SID %" PRIu64 " CID %" PRIu64, f->sid, f->cid);
		break;
	default:
		break;
	}
}

void client_fabric_on_device_message(Client *c, const char *msg)
{
	ClientFabric *f = &c->fabric;
	const char *colon = strchr(msg, ':');
	unsigned long long a, b;
	char tail;
	unsigned from = 0;

	if (!f->enabled || !colon)
		return;
	/* "CID,SID:" names the sender by its slot's IDs, "ID:" by its ID. */
	if (sscanf(msg, "%llu,%llu%c", &a, &b, &tail) == 3 && tail == ':') {
		for (unsigned id = 1; id <= f->layout.server_id && !from; id++)
			if (mailbox_get_u64(slot_of(c, id), MAILBOX_SLOT_PEER_CID) == a &&
			    mailbox_get_u64(slot_of(c, id), MAILBOX_SLOT_PEER_SID) == b)
				from = id;
	} else if (sscanf(msg, "%llu%c", &a, &tail) == 2 && tail == ':' && a <= 255)
		from = (unsigned)a;
	if (!from) {
		log_warning("the bridge returned a message from an unknown sender: %s", msg);
		return;
	}
	handle(c, from, colon + 1);
}

bool client_fabric_on_interrupt(Client *c, unsigned vector)
{
	ClientFabric *f = &c->fabric;
	char text[MAILBOX_MSG_MAX];
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
	r = mailbox_read_message(slot_of(c, vector), text, &len);
	log_debug("ring from %u: %s", vector, r == 0 ? text : strerror(-r));
	if (r == -ENOMSG)
		return false;
	mailbox_acknowledge(slot_of(c, vector), c->state.own_id);
	mail_sender_heard_from(f->sender, vector);
	if (r < 0) {
		char name[64];

		log_warning("%s sent a malformed message", peer_name(c, vector, name));
		return true;
	}
	handle(c, vector, text);
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

/* Resolves DEST (an ID, a nodename, server, all, others) into a set of IDs. */
static int parse_dest(Client *c, const char *arg, uint64_t ids[4])
{
	ClientFabric *f = &c->fabric;
	unsigned own = c->state.own_id;
	bool all = strcmp(arg, "all") == 0, others = strcmp(arg, "others") == 0;
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
			strcmp(arg, num) == 0 || (nodename[0] && strcmp(arg, nodename) == 0);
		if (match) {
			ids[id / 64] |= UINT64_C(1) << (id % 64);
			n++;
		}
	}
	if (n == 0 && !all && !others)
		return command_error(c, "no peer '%s' on the fabric; 'who' lists them", arg);
	return n;
}

#define FOR_EACH_ID(id, ids)                                                                       \
	for (unsigned id = 0; id < MAIL_DEST_MAX; id++)                                            \
		if ((ids)[id / 64] & (UINT64_C(1) << (id % 64)))

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

/* Resolves an argument naming exactly one other peer; 0 (and a failed command) if it does not. */
static unsigned parse_one(Client *c, const char *arg)
{
	uint64_t ids[4];
	unsigned found = 0;
	int n = parse_dest(c, arg, ids);

	if (n < 0)
		return 0;
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
	if (mailbox_put_message(slot_of(c, src), text) < 0) {
		command_error(c, "a slot holds 1 to %d characters", MAILBOX_MSG_MAX - 1);
		return;
	}
	r = doorbell_ring(p->fds[src]);
	if (r < 0 && r != -EAGAIN)
		command_error(c, "cannot ring peer %u vector %u: %s", dest, src, strerror(-r));
	else
		say("spoofed %u -> %u", src, dest);
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
	ClientFabric *f = &c->fabric;
	char text[MAILBOX_MSG_MAX + 8];
	uint64_t ids[4];
	unsigned src, dest;

	if (strcmp(argv[0], "who") && strcmp(argv[0], "ping") && strcmp(argv[0], "send") &&
	    strcmp(argv[0], "link") && strcmp(argv[0], "rfc") && strcmp(argv[0], "spoof") &&
	    strcmp(argv[0], "wait-msg"))
		return false;
	if (!f->enabled) {
		command_error(c, "'%s' needs a fabric: the server is not in fabric mode", argv[0]);
		return true;
	}

	if (strcmp(argv[0], "who") == 0 && argc == 1) {
		command_who(c);
	} else if (strcmp(argv[0], "ping") == 0 && (argc == 2 || argc == 3)) {
		if (parse_dest(c, argv[1], ids) < 0)
			return true;
		FOR_EACH_ID(id, ids)
		{
			f->ping_sent_at[id] = now_usec(CLOCK_MONOTONIC);
			set_ping_pending(f, id, true);
			send_text(c, id, "ping");
		}
		start_wait(c, WAIT_PONG, argc == 3 ? argv[2] : "5");
	} else if (strcmp(argv[0], "send") == 0 && argc >= 3) {
		if (parse_dest(c, argv[1], ids) < 0)
			return true;
		join_words(text, sizeof(text), "", argc, argv, 2);
		FOR_EACH_ID(id, ids)
		send_text(c, id, text);
		f->send_failed = false;
		start_wait(c, WAIT_DELIVERED, NULL);
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
		send_text(c, f->layout.server_id, text);
		f->send_failed = false;
		start_wait(c, WAIT_DELIVERED, NULL);
	} else if (strcmp(argv[0], "rfc") == 0 && argc <= 2) {
		f->configured = false;
		if (c->device)
			say("the bridge configures itself at probe; asking again");
		send_msg(c, f->layout.server_id,
			 &(FabricMsg){ .type = FABRIC_MSG_LINK_RFC, .ttc_usec = 27 });
		start_wait(c, WAIT_CONFIGURED, argc == 2 ? argv[1] : "5");
	} else {
		command_error(c, "wrong arguments to '%s'; try 'help'", argv[0]);
	}
	return true;
}

bool client_fabric_wait_satisfied(Client *c)
{
	ClientFabric *f = &c->fabric;

	switch (c->wait) {
	case WAIT_PONG:
		return !(f->ping_pending[0] | f->ping_pending[1] | f->ping_pending[2] |
			 f->ping_pending[3]);
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

	if (f->enabled)
		say("fabric configured %s sid %" PRIu64 " cid %" PRIu64 " messages %" PRIu64
		    " ctl-writes-refused %" PRIu64,
		    f->configured ? "yes" : "no", f->sid, f->cid, f->messages,
		    f->ctl_writes_refused);
}

void client_fabric_help(void)
{
	say("fabric commands (when the server is in fabric mode); DEST is an ID, a nodename,\n"
	    "'server', 'all' or 'others':\n"
	    "  who                       the peers on the fabric: nodename, C-Class, CID, SID\n"
	    "  ping DEST [SECONDS]       send ping and wait for the pongs (default 5 s)\n"
	    "  send DEST TEXT            send a message and wait until it is acknowledged\n"
	    "  wait-msg [N [SECONDS]]    wait for N (default 1) messages that are not ping,\n"
	    "                            pong, Link or CTL-Write (those already printed count)\n"
	    "  link WORDS                send \"Link WORDS\" to the server\n"
	    "  rfc [SECONDS]             ask the server to configure us (Link RFC)\n"
	    "  spoof SRC DEST TEXT       write TEXT into SRC's slot and ring DEST on vector\n"
	    "                            SRC, as if SRC sent it (for tests)");
}
