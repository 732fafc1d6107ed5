/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "control-msg.h"
#include "doorbell.h"
#include "fabric.h"
#include "fdstore.h"
#include "log.h"
#include "mailbox.h"
#include "mailsender.h"
#include "peer.h"
#include "switch.h"
#include "time-util.h"

/* A peer ringing the server with an empty slot faster than this is muted for a while. */
#define RING_RATE_BURST 1000
#define RING_RATE_INTERVAL_USEC 1000000ULL
#define RING_MUTE_USEC 100000ULL

typedef struct FabricVector {
	Fabric *fabric;
	unsigned index; /* the ID of the peer that rings it */
	sd_event_source *source;
	sd_event_source *unmute_timer;
	RateLimit rate;
} FabricVector;

struct Fabric {
	Switch *sw;
	uint8_t *mailbox;
	unsigned n_clients;
	unsigned server_id;
	unsigned vectors;

	FdRef **id_vectors[MAIL_DEST_MAX]; /* per ID, created on first use, kept for good */
	FabricVector *server_vectors;      /* one per vector of the server's own ID */
	MailSender *sender;
	uint64_t next_tag;
	uint64_t next_control_tag; /* of famezd's own control reads */
};

unsigned fabric_server_id(const Fabric *f)
{
	return f->server_id;
}

uint64_t fabric_next_tag(const Fabric *f)
{
	return f->next_tag;
}

void fabric_set_next_tag(Fabric *f, uint64_t tag)
{
	f->next_tag = tag;
}

static Peer *fabric_peer(Fabric *f, unsigned id)
{
	if (id == 0 || id > f->n_clients)
		return NULL;
	return f->sw->peers_by_id[id];
}

/* "nodename@id" of a peer, as its slot names it, for logs. */
static const char *peer_name(Fabric *f, unsigned id, char buf[MAILBOX_LABEL_MAX])
{
	return mailbox_peer_label(f->mailbox, id, buf);
}

/*
 * What a peer got wrong: counted, in all and for the peer, and logged at `priority` (at debug
 * for what it wrote into its slot: the counters say it happened, --verbose says what).
 */
static void protocol_error(Fabric *f, unsigned id, int priority, const char *fmt,
			   const char *detail)
{
	Peer *p = fabric_peer(f, id);
	char name[64];

	f->sw->counters.protocol_errors++;
	if (p)
		p->protocol_errors++;
	peer_log(f->sw, p, priority, "%s: mailbox protocol error: %s%s", peer_name(f, id, name),
		 fmt, detail);
}

/* The CIDs of the switch's subnet plan (topology.h); FAME-Z's rule for a switch of its own. */
static uint64_t cid_of(const Fabric *f, unsigned id)
{
	const SwitchConfig *c = &f->sw->config;

	return c->cid_stride ? c->cid_base + (uint64_t)id * c->cid_stride
			     : fabric_cid(f->server_id, id);
}

static bool external(const Fabric *f)
{
	return f->sw->config.managed_external;
}

/* Under ManagedBy=external: the switch's CID and SID, as its manager wrote them. */
static bool own_ids(const Fabric *f, uint64_t *sid, uint64_t *cid)
{
	const SwitchShared *sh = f->sw->shared;

	return sh->events && sh->events->own_ids &&
	       sh->events->own_ids(sh->events_data, f->sw, sid, cid);
}

/* What the switch does with envelopes, for its peers to read (mailbox.h). */
static void write_flags(Fabric *f)
{
	mailbox_set_u64(f->mailbox, MAILBOX_GLOBAL_FLAGS,
			MAILBOX_FLAG_ROUTES |
				(f->sw->config.relay_always ? MAILBOX_FLAG_RELAY_ALWAYS : 0));
}

static void lay_out_mailbox(Fabric *f)
{
	mailbox_init(f->mailbox, f->n_clients,
		     &(MailboxIdentity){ .nodename = external(f) ? FABRIC_SERVER_NODENAME_UNMANAGED
								 : FABRIC_SERVER_NODENAME,
					 .cclass = FABRIC_SERVER_CCLASS,
					 .sid = f->sw->config.sid,
					 .cid = cid_of(f, f->server_id) });
	write_flags(f);
}

/* The name vector v of ID id is stored under in systemd's fd store. */
static const char *id_vector_name(const Fabric *f, unsigned id, unsigned v, char buf[FD_NAME_MAX])
{
	return fdstore_name(buf, switch_store_name(f->sw), FD_KIND_IDVEC, id, v);
}

FdRef **fabric_existing_id_vectors(const Fabric *f, unsigned id)
{
	return id < MAIL_DEST_MAX ? f->id_vectors[id] : NULL;
}

FdRef **fabric_id_vectors(Fabric *f, unsigned id)
{
	FdRef **v;

	if (id >= MAIL_DEST_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (f->id_vectors[id])
		return f->id_vectors[id];
	v = calloc(f->vectors, sizeof(*v));
	if (!v)
		return NULL;
	for (unsigned i = 0; i < f->vectors; i++) {
		/* Non-blocking, as QEMU's server makes them (doorbell.h says why it matters). */
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0 || !(v[i] = fdref_new(fd))) {
			int saved = fd < 0 ? errno : ENOMEM;

			for (unsigned j = 0; j < i; j++)
				fdref_unref(v[j]);
			free(v);
			errno = saved;
			return NULL;
		}
	}
	f->id_vectors[id] = v;
	for (unsigned i = 0; i < f->vectors; i++) {
		char name[FD_NAME_MAX];

		fdstore_push(id_vector_name(f, id, i, name), v[i]->fd);
	}
	return v;
}

/* After a restart: the eventfds of every ID that had them, from systemd's fd store. */
static void adopt_id_vectors(Fabric *f, StoredFds *stored)
{
	for (unsigned id = 1; id <= f->server_id; id++) {
		FdRef **v = calloc(f->vectors, sizeof(*v));
		unsigned n = 0;

		for (; v && n < f->vectors; n++) {
			char name[FD_NAME_MAX];
			int fd;

			fd = stored_fds_take(stored, id_vector_name(f, id, n, name));
			if (fd < 0 || !(v[n] = fdref_new(fd)))
				break;
		}
		if (v && n == f->vectors) {
			f->id_vectors[id] = v;
			continue;
		}
		/* Not all of them: the ID gets fresh ones when next used. */
		for (unsigned i = 0; v && i < n; i++) {
			char name[FD_NAME_MAX];

			fdstore_remove(id_vector_name(f, id, i, name));
			fdref_unref(v[i]);
		}
		free(v);
	}
}

/* Clears rings left on an ID's eventfds while nobody held it, so its next holder starts quiet. */
static void drain_id_vectors(Fabric *f, unsigned id)
{
	FdRef **v = f->id_vectors[id];

	for (unsigned i = 0; v && i < f->vectors; i++) {
		uint64_t count;
		int r = doorbell_take(v[i]->fd, &count);

		if (r < 0 && r != -EAGAIN)
			switch_log_errno(f->sw, LOG_DEBUG, r, "draining ID %u vector %u: %m", id,
					 i);
	}
}

int fabric_send(Fabric *f, unsigned dest, const char *text)
{
	return mail_sender_send(f->sender, dest, text);
}

int fabric_deliver(Fabric *f, unsigned dest, const char *text, const Envelope *env,
		   uint64_t token)
{
	return mail_sender_send_env(f->sender, dest, text, env, token);
}

static void send_text(Fabric *f, unsigned dest, const char *text)
{
	int r = fabric_send(f, dest, text);

	if (r < 0) {
		Peer *p = fabric_peer(f, dest);

		f->sw->counters.messages_unacknowledged++;
		if (p)
			p->fabric.messages_unacknowledged++;
		protocol_error(f, dest, LOG_NOTICE, "cannot queue a reply: ", strerror(-r));
	}
}

static void send_msg(Fabric *f, unsigned dest, const FabricMsg *m)
{
	char text[MAILBOX_MSG_MAX];

	if (fabric_msg_format(m, text, sizeof(text)) >= 0)
		send_text(f, dest, text);
}

static void ask_attributes(Fabric *f, unsigned dest)
{
	Peer *p = fabric_peer(f, dest);

	if (p)
		p->fabric.attributes_asked = true;
	send_msg(f, dest, &(FabricMsg){ .type = FABRIC_MSG_PEER_ATTRIBUTE });
}

void fabric_assignment(const Fabric *f, unsigned id, bool configured, uint64_t *sid,
		       uint64_t *cid)
{
	*sid = configured ? f->sw->config.sid : 0;
	*cid = configured ? cid_of(f, id) : 0;
}

/* The fabric manager's view of a peer's configuration, in its slot for every peer to read. */
static void write_assignment(Fabric *f, unsigned id, bool configured)
{
	uint8_t *slot = mailbox_slot(f->mailbox, id);
	uint64_t sid, cid;

	fabric_assignment(f, id, configured, &sid, &cid);
	mailbox_set_u64(slot, MAILBOX_SLOT_PEER_SID, sid);
	mailbox_set_u64(slot, MAILBOX_SLOT_PEER_CID, cid);
}

/*
 * A control request for the switch's own control space, or an answer to one famezd sent: true
 * when text was one of those.
 */
static bool dispatch_control(Fabric *f, Peer *p, const char *text)
{
	const SwitchShared *sh = f->sw->shared;
	ControlMsg cm = { .type = CONTROL_MSG_NONE };
	char answer[MAILBOX_MSG_MAX];
	int r = control_msg_parse(text, &cm);

	if (cm.type == CONTROL_MSG_NONE)
		return false;
	if (cm.type == CONTROL_MSG_READ || cm.type == CONTROL_MSG_WRITE) {
		if (sh->events && sh->events->control_request &&
		    sh->events->control_request(sh->events_data, f->sw, p, text, answer,
						sizeof(answer)))
			send_text(f, p->id, answer);
		return true;
	}
	/* An answer someone waits for; any other acknowledgment is FAME-Z's, below. */
	if (r == 0 && sh->events && sh->events->control_answer &&
	    !(cm.type == CONTROL_MSG_ACK && p->fabric.rfc_tag && cm.tag == p->fabric.rfc_tag) &&
	    sh->events->control_answer(sh->events_data, f->sw, p, &cm))
		return true;
	if (cm.type == CONTROL_MSG_ACK)
		return false;
	protocol_error(f, p->id, LOG_DEBUG, "a control answer nobody waits for: ", text);
	return true;
}

int fabric_control_read(Fabric *f, unsigned dest, uint64_t offset, uint32_t length,
			uint16_t *tag)
{
	ControlMsg req = { .type = CONTROL_MSG_READ, .offset = offset, .length = length };
	char text[MAILBOX_MSG_MAX];
	int r;

	req.tag = (uint16_t)(f->next_control_tag % CONTROL_TAG_MAX + 1);
	f->next_control_tag++;
	r = control_msg_format(&req, text, sizeof(text));
	if (r < 0)
		return r;
	r = fabric_send(f, dest, text);
	if (r >= 0)
		*tag = req.tag;
	return r;
}

static void dispatch(Fabric *f, Peer *p, const char *text)
{
	unsigned id = p->id;
	FabricPeer *fp = &p->fabric;
	char name[64];
	FabricMsg m;

	if (dispatch_control(f, p, text))
		return;
	if (fabric_msg_parse(text, &m) < 0) {
		protocol_error(f, id, LOG_DEBUG, "malformed message: ", text);
		return;
	}

	switch (m.type) {
	case FABRIC_MSG_PING:
		send_msg(f, id, &(FabricMsg){ .type = FABRIC_MSG_PONG });
		break;
	case FABRIC_MSG_PEER_ATTRIBUTE: {
		FabricMsg ack = { .type = FABRIC_MSG_ATTRIBUTE_ACK };

		snprintf(ack.cclass, sizeof(ack.cclass), FABRIC_SERVER_CCLASS);
		if (!external(f)) {
			ack.sid0 = f->sw->config.sid;
			ack.cid0 = cid_of(f, f->server_id);
		} else if (!own_ids(f, &ack.sid0, &ack.cid0))
			ack.no_ids = true;
		send_msg(f, id, &ack);
		/* A peer whose manager configured it asks: we learn what it now is. */
		if (external(f))
			ask_attributes(f, id);
		break;
	}
	case FABRIC_MSG_ATTRIBUTE_ACK:
		if (!fp->attributes_asked) {
			protocol_error(f, id, LOG_DEBUG, "attributes nobody asked for: ", text);
			break;
		}
		fp->attributes_asked = false;
		memcpy(fp->cclass, m.cclass, sizeof(fp->cclass));
		fp->sid0 = m.sid0;
		fp->cid0 = m.cid0;
		/* Under an external manager, a peer is configured when it says it has IDs. */
		if (external(f)) {
			fp->configured = m.has_cid0 && m.has_sid0 && m.cid0 <= FABRIC_CID_MAX &&
					 m.sid0 <= FABRIC_SID_MAX;
			fp->has_pfm = fp->configured && m.has_pfm && m.pfmcid <= FABRIC_CID_MAX &&
				      m.pfmsid <= FABRIC_SID_MAX;
			fp->pfm_cid = fp->has_pfm ? (uint16_t)m.pfmcid : 0;
			fp->pfm_sid = fp->has_pfm ? (uint16_t)m.pfmsid : 0;
		}
		peer_log(f->sw, p, LOG_INFO, "%s is a %s (SID0 %llu, CID0 %llu)",
			 peer_name(f, id, name), fp->cclass, (unsigned long long)fp->sid0,
			 (unsigned long long)fp->cid0);
		break;
	case FABRIC_MSG_ATTRIBUTE_NAK:
		fp->attributes_asked = false;
		protocol_error(f, id, LOG_DEBUG, "refused our request: ", text);
		break;
	case FABRIC_MSG_LINK_RFC: {
		if (external(f)) {
			/* FAME-Z's way: only a switch that manages the fabric answers. */
			peer_log(f->sw, p, LOG_DEBUG,
				 "%s asks for configuration; ManagedBy=external: its manager "
				 "configures it",
				 peer_name(f, id, name));
			break;
		}
		FabricMsg w = { .type = FABRIC_MSG_CTL_WRITE,
				.space = 0,
				.pfmcid = cid_of(f, f->server_id),
				.pfmsid = f->sw->config.sid,
				.cid = cid_of(f, id),
				.sid = f->sw->config.sid,
				.tag = ++f->next_tag };

		fp->rfc_tag = w.tag;
		send_msg(f, id, &w);
		break;
	}
	case FABRIC_MSG_STANDALONE_ACK:
		if (!fp->rfc_tag || m.tag != fp->rfc_tag) {
			protocol_error(f, id, LOG_DEBUG, "acknowledgment of an unknown tag: ", text);
			break;
		}
		fp->rfc_tag = 0;
		if (!m.reason_ok) {
			peer_log(f->sw, p, LOG_WARNING, "%s refused its configuration: %s",
				 peer_name(f, id, name), text);
			break;
		}
		fp->configured = true;
		write_assignment(f, id, true);
		peer_log(f->sw, p, LOG_INFO, "%s configured: SID %u, CID %llu",
			 peer_name(f, id, name), f->sw->config.sid,
			 (unsigned long long)cid_of(f, id));
		/* As FAME-Z does: learn what the freshly configured peer now says it is. */
		ask_attributes(f, id);
		break;
	case FABRIC_MSG_PONG:
		switch_emit(f->sw, pong, p);
		break;
	case FABRIC_MSG_CTL_WRITE:
	case FABRIC_MSG_UNKNOWN:
		f->sw->counters.messages_unknown++;
		peer_log(f->sw, p, LOG_DEBUG, "%s -> \"%s\"", peer_name(f, id, name), text);
		break;
	}
}

static int on_unmute(sd_event_source *source, uint64_t usec, void *userdata)
{
	FabricVector *v = userdata;

	(void)source;
	(void)usec;
	sd_event_source_set_enabled(v->source, SD_EVENT_ON);
	return 0;
}

/* Mutes a vector rung faster than any driver would, for a moment. */
static void mute(FabricVector *v)
{
	uint64_t now;

	sd_event_source_set_enabled(v->source, SD_EVENT_OFF);
	sd_event_now(v->fabric->sw->event, CLOCK_MONOTONIC, &now);
	if (!v->unmute_timer) {
		if (sd_event_add_time(v->fabric->sw->event, &v->unmute_timer, CLOCK_MONOTONIC,
				      now + RING_MUTE_USEC, 1000, on_unmute, v) < 0)
			sd_event_source_set_enabled(v->source, SD_EVENT_ON);
		return;
	}
	sd_event_source_set_time(v->unmute_timer, now + RING_MUTE_USEC);
	sd_event_source_set_enabled(v->unmute_timer, SD_EVENT_ONESHOT);
}

/*
 * A message with an envelope is for the fabric, not for us: the router says where it goes. Its
 * verdict goes into the envelope before the acknowledgement; a held one stays unacknowledged.
 * False when the slot holds no envelope (a message for the switch, as FAME-Z's tools send).
 */
static bool take_route_request(Fabric *f, Peer *p, uint8_t *slot, const char *text)
{
	const SwitchShared *sh = f->sw->shared;
	EnvelopeStatus status = ENVELOPE_STATUS_NO_ROUTE;
	RouteOutcome outcome = ROUTE_REFUSED;
	Envelope env;
	int r = envelope_read(slot, &env);

	if (r == -ENOMSG)
		return false;
	if (r < 0 || (env.type != ENVELOPE_ROUTE && env.type != ENVELOPE_DIRECTED)) {
		status = ENVELOPE_STATUS_MALFORMED;
		protocol_error(f, p->id, LOG_DEBUG, "malformed envelope with: ", text);
	} else if (sh->events && sh->events->route)
		outcome = sh->events->route(sh->events_data, f->sw, p, text, &env, &status);
	if (outcome == ROUTE_HELD)
		return true;
	if (outcome == ROUTE_REFUSED) {
		char name[64];

		if (envelope_is_directed(&env))
			peer_log(f->sw, p, LOG_DEBUG, "%s: directed relay (%u ports) refused: %s",
				 peer_name(f, p->id, name), env.path_len,
				 envelope_status_to_string(status));
		else
			peer_log(f->sw, p, LOG_DEBUG, "%s: route to %u,%u refused: %s",
				 peer_name(f, p->id, name), env.dest_cid, env.dest_sid,
				 envelope_status_to_string(status));
	}
	envelope_set_status(slot, status);
	mailbox_acknowledge(slot, f->server_id);
	mail_sender_heard_from(f->sender, p->id);
	return true;
}

/* A peer rang in a loop: counted and, past the burst, muted for a moment. */
static void rang_in_vain(Fabric *f, FabricVector *v)
{
	unsigned long long suppressed;

	if (!ratelimit_below(&v->rate, now_usec(CLOCK_MONOTONIC), &suppressed)) {
		protocol_error(f, v->index, LOG_NOTICE,
			       "rings the server in a tight loop; muted for a moment", "");
		mute(v);
	}
}

/* Takes what peer p left in its slot: a route request, a message for us, or nothing. */
static void take_slot(Fabric *f, FabricVector *v, Peer *p, uint64_t count, bool rang)
{
	uint8_t *slot = mailbox_slot(f->mailbox, p->id);
	char text[MAILBOX_MSG_MAX];
	size_t len;
	int r;

	r = mailbox_read_message(slot, f->server_id, text, &len);
	if (r == -ENOMSG || r == -EXDEV) {
		/*
		 * Nothing in its slot, or a message for another peer (a ring that came late): a
		 * spurious ring. A driver's rings each carry a message, so only a peer ringing in
		 * a loop gets here often; it is muted for a moment.
		 */
		if (rang)
			rang_in_vain(f, v);
		return;
	}
	peer_log(f->sw, p, LOG_DEBUG, "ring from %u (count %llu): %s", p->id,
		 (unsigned long long)count, r == 0 ? text : strerror(-r));
	if (r == 0 && take_route_request(f, p, slot, text))
		return;
	/* Free the sender's slot whatever it held, so it can go on. */
	mailbox_acknowledge(slot, f->server_id);
	mail_sender_heard_from(f->sender, p->id);
	if (r == -EMSGSIZE) {
		protocol_error(f, p->id, LOG_DEBUG, "message length out of range", "");
		return;
	}
	if (r < 0) {
		protocol_error(f, p->id, LOG_DEBUG, "message not NUL-terminated printable ASCII",
			       "");
		return;
	}
	f->sw->counters.messages_received++;
	p->fabric.messages_received++;
	switch_emit(f->sw, message_received, p, text);
	dispatch(f, p, text);
	/* A guest asked at join time, before its driver listened, is asked again now. */
	if (p->fabric.attributes_lost && !p->fabric.cclass[0]) {
		p->fabric.attributes_lost = false;
		ask_attributes(f, p->id);
	}
}

void fabric_retry(Fabric *f, Peer *p)
{
	/* Whatever it holds now: it may have taken its slot back and written something else. */
	if (p->id < f->vectors)
		take_slot(f, &f->server_vectors[p->id], p, 0, false);
}

/* Vector S of the server's own ID rang: peer S has a message for us in slot S. */
static int on_ring(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	FabricVector *v = userdata;
	Fabric *f = v->fabric;
	uint64_t count = 0;
	Peer *p;
	int r;

	(void)source;
	(void)revents;
	/*
	 * Every peer holds this eventfd and may have read the count away since epoll saw it:
	 * the slot is looked at all the same.
	 */
	r = doorbell_take(fd, &count);
	if (r == 0)
		f->sw->counters.interrupts_received += count;
	else if (r != -EAGAIN)
		return 0;
	/* Whoever rang, our own slot may have been acknowledged meanwhile. */
	mail_sender_poke(f->sender);

	p = fabric_peer(f, v->index);
	if (!p) {
		/*
		 * Nothing to read: rings its holder left before it went, which the departure
		 * drained (epoll had reported them already). A count is a ring after it left.
		 */
		if (r == 0)
			protocol_error(f, v->index, LOG_NOTICE,
				       "rang the server without holding that ID", "");
		return 0;
	}
	/*
	 * Its route request waits for the router, which tries it again itself (router.h):
	 * ringing meanwhile changes nothing, and ringing in a loop gets it muted.
	 */
	if (p->relay.held) {
		rang_in_vain(f, v);
		return 0;
	}
	take_slot(f, v, p, count, true);
	return 0;
}

static void ring_peer(void *userdata, unsigned dest)
{
	Fabric *f = userdata;
	FdRef **v = f->id_vectors[dest];
	char name[64];
	int r;

	if (!v)
		return;
	switch_log(f->sw, LOG_DEBUG, "ringing %u", dest);
	/* Vector index = sender ID: the receiver looks into our slot. */
	/* Whether its counter was full is asked only if it does not acknowledge in time. */
	r = doorbell_signal(v[f->server_id]->fd);
	if (r == 0)
		f->sw->counters.interrupts_sent++;
	else
		switch_log_errno(f->sw, LOG_WARNING, r, "cannot ring %s: %m",
				 peer_name(f, dest, name));
}

/* The fate of a relay, for the router. */
/*
 * A routed message (it went with an envelope) is the router's to count, for its switch, its
 * ports and its sender (its token), never one of our own: a relayed "ping" is not Ping()'s.
 */
static bool mail_done(Fabric *f, unsigned dest, const MailMessage *msg, bool delivered)
{
	const SwitchShared *sh = f->sw->shared;
	bool relayed = msg->env != NULL;

	/* Every message done makes room in dest's queue: a sender held for it may go on. */
	if (sh->events && sh->events->mail_done)
		sh->events->mail_done(sh->events_data, f->sw, dest, relayed ? msg->token : 0,
				      relayed, delivered);
	return relayed;
}

static void unacknowledged(void *userdata, unsigned dest, const MailMessage *msg, bool timed_out)
{
	Fabric *f = userdata;
	Peer *p = fabric_peer(f, dest);
	bool relayed = mail_done(f, dest, msg, false);
	char name[64];

	if (!relayed)
		f->sw->counters.messages_unacknowledged++;
	if (!p)
		return;
	if (!relayed) {
		p->fabric.messages_unacknowledged++;
		if (strcmp(msg->text, "Link CTL Peer-Attribute") == 0)
			p->fabric.attributes_lost = true;
		else if (strcmp(msg->text, "ping") == 0)
			switch_emit(f->sw, ping_lost, p);
	}
	if (!timed_out)
		return;
	/* Its rings had nothing to add to: a wake-up is pending that it does not take. */
	if (f->id_vectors[dest] && doorbell_full(f->id_vectors[dest][f->server_id]->fd) > 0) {
		f->sw->counters.interrupts_full++;
		peer_log(f->sw, p, LOG_NOTICE,
			 "%s: its doorbell counter is full; it does not read its interrupts",
			 peer_name(f, dest, name));
	}
	peer_log(f->sw, p, LOG_NOTICE,
		 "%s did not acknowledge \"%s\" in time; messages to it are dropped, "
		 "but for a few tried now and then, until it acknowledges one",
		 peer_name(f, dest, name), msg->text);
}

static void delivered(void *userdata, unsigned dest, const MailMessage *msg)
{
	Fabric *f = userdata;
	Peer *p = fabric_peer(f, dest);

	if (mail_done(f, dest, msg, true))
		return;
	f->sw->counters.messages_sent++;
	if (p)
		p->fabric.messages_sent++;
}

/* A relay kept for a destination that fell silent: its sender's quota is given back. */
static void released(void *userdata, unsigned dest, const MailMessage *msg)
{
	Fabric *f = userdata;
	const SwitchShared *sh = f->sw->shared;

	if (sh->events && sh->events->mail_done)
		sh->events->mail_done(sh->events_data, f->sw, dest, msg->token, false, false);
}

bool fabric_dest_is_silent(const Fabric *f, unsigned dest)
{
	return mail_sender_is_silent(f->sender, dest);
}

static void foreign_write(void *userdata)
{
	Fabric *f = userdata;

	protocol_error(f, f->server_id, LOG_NOTICE,
		       "a peer wrote into the server's own slot; taken back", "");
}

int fabric_new(Fabric **ret, Switch *s, uint8_t *mailbox, StoredFds *restore)
{
	static const MailSenderOps ops = {
		.ring = ring_peer,
		.unacknowledged = unacknowledged,
		.delivered = delivered,
		.foreign_write = foreign_write,
		.released = released,
	};
	Fabric *f;
	FdRef **own;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->sw = s;
	f->mailbox = mailbox;
	f->n_clients = s->config.max_peers;
	f->server_id = f->n_clients + 1;
	f->vectors = f->n_clients + 2;

	if (restore) {
		adopt_id_vectors(f, restore);
		/* Whatever our slot held, nobody will be told again: take it back. */
		mailbox_reclaim(mailbox_slot(mailbox, f->server_id));
		write_flags(f);
	} else
		lay_out_mailbox(f);

	r = mail_sender_new(&f->sender, s->event, mailbox_slot(mailbox, f->server_id),
			    s->config.ack_timeout_usec, &ops, f);
	if (r < 0)
		goto fail;

	own = fabric_id_vectors(f, f->server_id);
	f->server_vectors = calloc(f->vectors, sizeof(*f->server_vectors));
	if (!own || !f->server_vectors) {
		r = negative_errno();
		goto fail;
	}
	for (unsigned i = 0; i < f->vectors; i++) {
		FabricVector *v = &f->server_vectors[i];

		v->fabric = f;
		v->index = i;
		v->rate = RATELIMIT_INIT(RING_RATE_INTERVAL_USEC, RING_RATE_BURST);
		r = sd_event_add_io(s->event, &v->source, own[i]->fd, EPOLLIN, on_ring, v);
		if (r < 0)
			goto fail;
		(void)sd_event_source_set_description(v->source, "fabric-vector");
	}
	*ret = f;
	return 0;

fail:
	fabric_free(f);
	return r;
}

Fabric *fabric_free(Fabric *f)
{
	if (!f)
		return NULL;
	for (unsigned i = 0; f->server_vectors && i < f->vectors; i++) {
		sd_event_source_disable_unref(f->server_vectors[i].source);
		sd_event_source_disable_unref(f->server_vectors[i].unmute_timer);
	}
	free(f->server_vectors);
	mail_sender_free(f->sender);
	for (unsigned id = 0; id < MAIL_DEST_MAX; id++) {
		for (unsigned i = 0; f->id_vectors[id] && i < f->vectors; i++)
			fdref_unref(f->id_vectors[id][i]);
		free(f->id_vectors[id]);
	}
	free(f);
	return NULL;
}

uint64_t fabric_slot_sid(const Fabric *f)
{
	return mailbox_get_u64(mailbox_slot(f->mailbox, f->server_id), MAILBOX_SLOT_PEER_SID);
}

void fabric_rewrite_sid(Fabric *f)
{
	mailbox_set_u64(mailbox_slot(f->mailbox, f->server_id), MAILBOX_SLOT_PEER_SID,
			f->sw->config.sid);
	mailbox_set_u64(mailbox_slot(f->mailbox, f->server_id), MAILBOX_SLOT_PEER_CID,
			cid_of(f, f->server_id));
	for (unsigned id = 1; id <= f->n_clients; id++) {
		Peer *p = fabric_peer(f, id);

		if (p && p->fabric.configured)
			write_assignment(f, id, true);
	}
}

void fabric_peer_joined(Fabric *f, Peer *p)
{
	uint8_t *slot = mailbox_slot(f->mailbox, p->id);

	drain_id_vectors(f, p->id);
	envelope_clear(slot);
	mailbox_set_u64(slot, MAILBOX_SLOT_PEER_ID, p->id);
	write_assignment(f, p->id, false);
	ask_attributes(f, p->id);
}

void fabric_check_mailbox(void *userdata)
{
	Fabric *f = userdata;

	if (mailbox_is_laid_out(f->mailbox, f->n_clients))
		return;
	/* The globals, the peer IDs and our nodename are written again; the rest is lost. */
	switch_log(f->sw, LOG_WARNING,
		   "the mailbox was cut off by a peer; it is laid out again, and the nodenames and "
		   "messages in it are lost");
	lay_out_mailbox(f);
	mail_sender_poke(f->sender);
}

void fabric_peer_left(Fabric *f, Peer *p)
{
	uint8_t *slot = mailbox_slot(f->mailbox, p->id);
	uint64_t count;

	/* Its last rings are its own, not the next holder's or a stranger's. */
	if (p->id < f->vectors)
		(void)doorbell_take(sd_event_source_get_io_fd(f->server_vectors[p->id].source),
				    &count);

	mail_sender_forget(f->sender, p->id);
	mailbox_set_nodename(slot, NULL);
	mailbox_set_cclass(slot, NULL);
	write_assignment(f, p->id, false);
	mailbox_set_u64(slot, MAILBOX_SLOT_PEER_ID, p->id);
	envelope_clear(slot);
	mailbox_reclaim(slot);
}
