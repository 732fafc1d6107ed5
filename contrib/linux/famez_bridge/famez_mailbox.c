// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the FAME-Z mailbox. Our slot and the peers' slots in the shared memory, the
 * messages sent and received through them (directly, routed by CID,SID or directed along a path
 * of ports), the link-level requests the bridge answers, and the configuration the server's
 * CTL-Write gives it. Control requests are famez_control.c's.
 */

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <asm/unaligned.h>

#include "famez_bridge.h"

/* Whether the shared memory starts with a FAME-Z mailbox that has a slot for us. */
bool famez_find_mailbox(struct famez_bridge *b)
{
	u64 clients, vectors, server_id;

	if (b->shm_size < FAMEZ_SLOT_SIZE)
		return false;
	clients = famez_shm_u64(b, FAMEZ_G_CLIENTS);
	vectors = famez_shm_u64(b, FAMEZ_G_VECTORS);
	server_id = famez_shm_u64(b, FAMEZ_G_SERVER_ID);
	if (famez_shm_u64(b, FAMEZ_G_SLOT_SIZE) != FAMEZ_SLOT_SIZE ||
	    famez_shm_u64(b, FAMEZ_G_MSG_OFFSET) != FAMEZ_MSG_OFFSET ||
	    clients == 0 || clients > FAMEZ_CLIENTS_MAX || vectors != clients + 2 ||
	    server_id != clients + 1 ||
	    (clients + 2) * FAMEZ_SLOT_SIZE > b->shm_size)
		return false;
	if (b->id == 0 || b->id > clients ||
	    famez_shm_u64(b, (size_t)b->id * FAMEZ_SLOT_SIZE + FAMEZ_S_PEER_ID) != b->id)
		return false;
	b->n_clients = clients;
	b->server_id = server_id;
	return true;
}

static void famez_shm_set_u64(struct famez_bridge *b, size_t offset, u64 v)
{
	WRITE_ONCE(*(__le64 *)(b->shm + offset), cpu_to_le64(v));
}

void famez_set_string(struct famez_bridge *b, unsigned int id, size_t field, const char *value)
{
	char buf[FAMEZ_NAME_MAX] = "";

	strscpy(buf, value, sizeof(buf));
	memcpy(b->shm + famez_slot(id, field), buf, sizeof(buf));
}

bool famez_switch_routes(const struct famez_bridge *b)
{
	return famez_shm_u64(b, FAMEZ_G_FLAGS) & FAMEZ_FLAG_ROUTES;
}

/* Read once: both bits from the same look at a word any peer may write. */
bool famez_relay_always(const struct famez_bridge *b)
{
	u64 flags = famez_shm_u64(b, FAMEZ_G_FLAGS);

	return (flags & FAMEZ_FLAG_ROUTES) && (flags & FAMEZ_FLAG_RELAY_ALWAYS);
}

/*
 * The switch's verdict on our last route request, once it freed our slot (the caller saw the
 * length 0): 0 when it took it, else the errno that says why not (counted in route_refused).
 */
static int famez_verdict(struct famez_bridge *b)
{
	u8 status;
	int r;

	b->verdict_pending = false;
	/* The switch wrote the status before the length: seeing the length 0, we see the status. */
	rmb();
	status = READ_ONCE(*(u8 *)(b->shm + famez_slot(b->id, FAMEZ_S_ENV + FAMEZ_ENV_STATUS)));
	switch (status) {
	case FAMEZ_ENV_OK:
		return 0;
	case FAMEZ_ENV_NO_ROUTE:
	case FAMEZ_ENV_UNREACHABLE:
	case FAMEZ_ENV_HOP_LIMIT:
		r = -EHOSTUNREACH;
		break;
	case FAMEZ_ENV_NOT_CONFIGURED:
		/* We have no CID yet: the link is up, not configured (Link RFC first). */
		r = -ENOTCONN;
		break;
	case FAMEZ_ENV_RELAY_DISABLED:
		/* A manager turned a switch's relay off on the way (PktRelayEnb, IngressDREnb). */
		r = -ENETDOWN;
		break;
	default:
		/* Malformed, still pending (freed without a verdict) or a status we do not know. */
		r = -EIO;
	}
	atomic64_inc(&b->route_refused);
	return r;
}

/*
 * Waits, at most timeout_ms, for the switch to take or refuse the route request we just rang it
 * for, and returns its verdict. A signal ends the wait, not the message: it was sent, so 0, as
 * for O_NONBLOCK, and its verdict is counted when the slot is next taken.
 */
static int famez_wait_verdict(struct famez_bridge *b, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	while (famez_shm_u64(b, famez_slot(b->id, FAMEZ_S_MSG_LEN)) != 0) {
		if (time_after(jiffies, deadline) || READ_ONCE(b->stopping)) {
			atomic64_inc(&b->send_timeouts);
			return -ETIMEDOUT;
		}
		if (signal_pending(current))
			return 0;
		usleep_range(50, 200);
	}
	return famez_verdict(b);
}

/*
 * Sends text to dest through our slot, with env (24 bytes) in its envelope, or none (the bytes
 * cleared): waits (at most timeout_ms, none with nonblock) until the last receiver freed the
 * slot, writes the bytes, then the length, and rings dest on our vector. A message not yet
 * acknowledged is never overwritten. A route request (env) then waits as long again for the
 * switch's verdict, unless nonblock. Called with tx_lock, which owns our slot.
 */
static int famez_put(struct famez_bridge *b, unsigned int dest, const char *text,
		     unsigned int timeout_ms, bool nonblock, const u8 *env)
{
	static const u8 no_env[FAMEZ_ENV_SIZE];
	size_t len = strlen(text);
	unsigned long deadline;
	int r = 0;

	if (len == 0 || len >= FAMEZ_MSG_MAX)
		return -EMSGSIZE;
	if (dest == 0 || dest > b->server_id || dest == b->id)
		return -EHOSTUNREACH;
	if (nonblock) {
		if (!mutex_trylock(&b->tx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&b->tx_lock)) {
		return -ERESTARTSYS;
	}
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	while (famez_shm_u64(b, famez_slot(b->id, FAMEZ_S_MSG_LEN)) != 0) {
		if (nonblock) {
			r = -EAGAIN;
			goto out;
		}
		if (time_after(jiffies, deadline) || READ_ONCE(b->stopping)) {
			atomic64_inc(&b->send_timeouts);
			r = -ETIMEDOUT;
			goto out;
		}
		if (signal_pending(current)) {
			r = -ERESTARTSYS;
			goto out;
		}
		usleep_range(50, 200);
	}
	/* A route request nobody waited for (O_NONBLOCK, a signal): its verdict is counted now. */
	if (b->verdict_pending)
		famez_verdict(b);
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_LAST_RESPONDER), 0);
	/*
	 * Every message rewrites the envelope: a stale one would have the switch route a message
	 * that is not for routing, or a receiver misname its origin.
	 */
	memcpy(b->shm + famez_slot(b->id, FAMEZ_S_ENV), env ? env : no_env, FAMEZ_ENV_SIZE);
	*(u8 *)(b->shm + famez_slot(b->id, FAMEZ_S_ADDRESSEE)) = dest;
	memcpy(b->shm + famez_slot(b->id, FAMEZ_MSG_OFFSET), text, len + 1);
	/* The bytes before the length: who sees the length sees the rest. */
	wmb();
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_MSG_LEN), len);
	wmb();
	famez_ring(b, dest, b->id);
	atomic64_inc(&b->sent);
	if (env) {
		atomic64_inc(env[FAMEZ_ENV_TYPE] == FAMEZ_ENV_DIRECTED ? &b->directed : &b->routed);
		b->verdict_pending = true;
		if (!nonblock)
			r = famez_wait_verdict(b, timeout_ms);
	}
out:
	mutex_unlock(&b->tx_lock);
	return r;
}

int famez_send(struct famez_bridge *b, unsigned int dest, const char *text,
	       unsigned int timeout_ms, bool nonblock)
{
	return famez_put(b, dest, text, timeout_ms, nonblock, NULL);
}

/* An envelope of type `type` for a request to our switch: the magic, the status pending. */
static void famez_env_init(u8 env[FAMEZ_ENV_SIZE], u8 type)
{
	memset(env, 0, FAMEZ_ENV_SIZE);
	memcpy(env, FAMEZ_ENV_MAGIC, FAMEZ_ENV_MAGIC_LEN);
	env[FAMEZ_ENV_TYPE] = type;
	env[FAMEZ_ENV_STATUS] = FAMEZ_ENV_PENDING;
}

/*
 * Hands text to our switch to route to cid,sid (docs/fabric.md), and returns its verdict (0 as
 * soon as it is sent with nonblock). EHOSTUNREACH at once when our SSDT or MSDT has no valid
 * entry there (once a manager configured us: counted in route_missing), and from a switch that
 * does not route: it would take the request as a message of its own.
 */
static int famez_send_routed(struct famez_bridge *b, u16 cid, u16 sid, const char *text,
			     unsigned int timeout_ms, bool nonblock)
{
	u8 env[FAMEZ_ENV_SIZE];

	if (!famez_ctl_routable(b, cid, sid)) {
		atomic64_inc(&b->route_missing);
		return -EHOSTUNREACH;
	}
	if (!famez_switch_routes(b))
		return -EHOSTUNREACH;
	famez_env_init(env, FAMEZ_ENV_ROUTE);
	/* Hops and the origin stay 0: the switch fills them in, whatever we would say. */
	put_unaligned_le16(cid, env + FAMEZ_ENV_DEST_CID);
	put_unaligned_le16(sid, env + FAMEZ_ENV_DEST_SID);
	return famez_put(b, b->server_id, text, timeout_ms, nonblock, env);
}

/*
 * Hands text to our switch to relay along path (its egress ports from our switch on; none: the
 * switch itself), and returns its verdict, as famez_send_routed(). Directed relay needs no CID.
 */
static int famez_send_directed(struct famez_bridge *b, const u8 *path, unsigned int len,
			       const char *text, unsigned int timeout_ms, bool nonblock)
{
	u8 env[FAMEZ_ENV_SIZE];

	if (len > FAMEZ_PATH_MAX)
		return -EINVAL;
	if (!famez_switch_routes(b))
		return -EHOSTUNREACH;
	famez_env_init(env, FAMEZ_ENV_DIRECTED);
	env[FAMEZ_ENV_PATH_LEN] = len;
	memcpy(env + FAMEZ_ENV_PATH, path, len);
	return famez_put(b, b->server_id, text, timeout_ms, nonblock, env);
}

/* Sends text to `to`, however it goes; see famez_put() for the waits and the verdict. */
int famez_send_to(struct famez_bridge *b, const struct famez_addr *to, const char *text,
		  unsigned int timeout_ms, bool nonblock)
{
	switch (to->via) {
	case FAMEZ_VIA_ROUTED:
		return famez_send_routed(b, to->cid, to->sid, text, timeout_ms, nonblock);
	case FAMEZ_VIA_DIRECTED:
		return famez_send_directed(b, to->path, to->path_len, text, timeout_ms, nonblock);
	default:
		return famez_send(b, to->id, text, timeout_ms, nonblock);
	}
}

/*
 * Queues a reply for the tx work (replies never wait in the receive path): to a peer of our
 * switch, routed to a CID,SID, or directed along a path; an answer goes back the way its request
 * came.
 */
void famez_reply(struct famez_bridge *b, const struct famez_addr *to, const char *fmt, ...)
{
	struct famez_tx *t;
	unsigned long flags;
	va_list ap;

	spin_lock_irqsave(&b->tx_qlock, flags);
	if (b->tx_count == FAMEZ_TX_QUEUE) {
		spin_unlock_irqrestore(&b->tx_qlock, flags);
		atomic64_inc(&b->dropped);
		return;
	}
	t = &b->tx[(b->tx_head + b->tx_count++) % FAMEZ_TX_QUEUE];
	t->to = *to;
	va_start(ap, fmt);
	vscnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
	spin_unlock_irqrestore(&b->tx_qlock, flags);
	schedule_work(&b->tx_work);
}

void famez_tx_work(struct work_struct *work)
{
	struct famez_bridge *b = container_of(work, struct famez_bridge, tx_work);
	struct famez_tx t;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&b->tx_qlock, flags);
		if (!b->tx_count) {
			spin_unlock_irqrestore(&b->tx_qlock, flags);
			return;
		}
		t = b->tx[b->tx_head];
		b->tx_head = (b->tx_head + 1) % FAMEZ_TX_QUEUE;
		b->tx_count--;
		spin_unlock_irqrestore(&b->tx_qlock, flags);
		if (famez_send_to(b, &t.to, t.text, FAMEZ_TX_TIMEOUT_MS, false) < 0)
			atomic64_inc(&b->dropped);
	}
}

/* The value of key in a "K=V,K=V" list; false if it is missing or not a number. */
static bool famez_kv(const char *list, const char *key, u64 *value)
{
	size_t klen = strlen(key);
	const char *p = list;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			char num[24];
			size_t n = strcspn(p + klen + 1, ",");

			if (n == 0 || n >= sizeof(num))
				return false;
			memcpy(num, p + klen + 1, n);
			num[n] = '\0';
			return !kstrtou64(num, 10, value);
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * Our IDs (famez_control.c says, from the core's CV, CID0 and SID0): the cid and sid attributes,
 * the link state, and our slot's CID and SID, where a peer addressing "CID,SID" looks.
 */
void famez_set_ids(struct famez_bridge *b, bool configured, u16 cid, u16 sid)
{
	WRITE_ONCE(b->cid, configured ? cid : 0);
	WRITE_ONCE(b->sid, configured ? sid : 0);
	if (!b->fabric)
		return;
	WRITE_ONCE(b->link, configured ? FAMEZ_LINK_CONFIGURED : FAMEZ_LINK_UP);
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_PEER_CID), configured ? cid : 0);
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_PEER_SID), configured ? sid : 0);
}

/*
 * The server configures us: "CTL-Write Space=0,PFMCID=..,PFMSID=..,CID=..,SID=..,Tag=..". It
 * writes our control space as a manager would (famez_ctl_configure()).
 */
static void famez_ctl_write(struct famez_bridge *b, const struct famez_addr *from,
			    const char *args)
{
	u64 cid, sid, pfm_cid, pfm_sid, tag;

	if (from->id != b->server_id || !famez_kv(args, "CID", &cid) ||
	    !famez_kv(args, "SID", &sid) || !famez_kv(args, "PFMCID", &pfm_cid) ||
	    !famez_kv(args, "PFMSID", &pfm_sid) || !famez_kv(args, "Tag", &tag) ||
	    cid > FAMEZ_CID_MAX || sid > FAMEZ_SID_MAX || pfm_cid > FAMEZ_CID_MAX ||
	    pfm_sid > FAMEZ_SID_MAX) {
		atomic64_inc(&b->malformed);
		return;
	}
	famez_ctl_configure(b, cid, sid, pfm_cid, pfm_sid);
	famez_reply(b, from, "Standalone Acknowledgment Tag=%llu,Reason=OK",
		    (unsigned long long)tag);
}

/*
 * A message for read(), named by its sender: "CID,SID:text" (a peer of our switch with a CID, or
 * the origin of a routed message), "ID:text" (a peer without one), "dr:P1.P2:text" (a directed
 * message: the way back). False when the queue is full: the message then stays in its sender's
 * slot, unacknowledged, until a read() makes room (the sender's next message waits for it), so
 * nothing is lost.
 */
static bool famez_queue_rx(struct famez_bridge *b, const struct famez_addr *from,
			   const char *text)
{
	unsigned int ring = b->server_id; /* what the switch delivers, it rang for */
	char name[FAMEZ_DEST_MAX + 1];
	struct famez_rx *m;
	unsigned long flags;
	u64 cid, sid;

	if (from->via == FAMEZ_VIA_DIRECTED) {
		famez_path_format(name, sizeof(name), from->path, from->path_len);
	} else if (from->via == FAMEZ_VIA_ROUTED) {
		scnprintf(name, sizeof(name), "%u,%u", from->cid, from->sid);
	} else {
		ring = from->id;
		cid = famez_shm_u64(b, famez_slot(from->id, FAMEZ_S_PEER_CID));
		sid = famez_shm_u64(b, famez_slot(from->id, FAMEZ_S_PEER_SID));
		if (cid && cid <= FAMEZ_CID_MAX && sid <= FAMEZ_SID_MAX)
			scnprintf(name, sizeof(name), "%llu,%llu", (unsigned long long)cid,
				  (unsigned long long)sid);
		else
			scnprintf(name, sizeof(name), "%u", from->id);
	}
	spin_lock_irqsave(&b->rx_lock, flags);
	if (b->rx_count == FAMEZ_RX_QUEUE) {
		/* Under the lock: a read() that makes room after this sees the bit and undefers. */
		if (!test_and_set_bit(ring, b->rx_deferred))
			atomic64_inc(&b->deferred);
		spin_unlock_irqrestore(&b->rx_lock, flags);
		return false;
	}
	m = &b->rx[(b->rx_head + b->rx_count++) % FAMEZ_RX_QUEUE];
	m->len = scnprintf(m->text, sizeof(m->text), "%s:%s", name, text);
	spin_unlock_irqrestore(&b->rx_lock, flags);
	wake_up_interruptible(&b->rx_wait);
	return true;
}

/*
 * Cuts a trailing FAME-Z tracker "!EZT=<digits>" off text, and the blanks before it: the last
 * one only, and only a whole one, as famez's str_strip_tracker().
 */
static void famez_strip_tracker(char *text)
{
	static const char tracker[] = "!EZT=";
	char *t = strstr(text, tracker), *next, *digits;

	if (!t)
		return;
	while ((next = strstr(t + 1, tracker)))
		t = next;
	digits = t + strlen(tracker);
	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return;
	while (t > text && t[-1] == ' ')
		t--;
	*t = '\0';
}

/*
 * Answers or takes a message; false when it must wait in its slot (see famez_queue_rx()).
 * Control requests are answered, however they came (famez_control.c). A message the switch
 * delivers, routed or directed, is its origin's: a ping is answered by a pong sent back the same
 * way, anything else is for read(), never a link-level request of the switch's.
 */
static bool famez_handle(struct famez_bridge *b, const struct famez_addr *from, char *text)
{
	famez_strip_tracker(text);
	if (famez_ctl_answer(b, from, text))
		return true;
	if (from->via != FAMEZ_VIA_DIRECT) {
		if (strcmp(text, "ping"))
			return famez_queue_rx(b, from, text);
		famez_reply(b, from, "pong");
	} else if (!strcmp(text, "ping")) {
		famez_reply(b, from, "pong");
	} else if (!strcmp(text, "Link CTL Peer-Attribute")) {
		/* Our CID0 and SID0 once we have them (C-Up); none before (C-CFG). */
		if (famez_ctl_up(b))
			famez_reply(b, from, "Link CTL ACK C-Class=%s,SID0=%llu,CID0=%llu",
				    b->cclass, (unsigned long long)READ_ONCE(b->sid),
				    (unsigned long long)READ_ONCE(b->cid));
		else
			famez_reply(b, from, "Link CTL ACK C-Class=%s", b->cclass);
	} else if (!strncmp(text, "CTL-Write ", 10)) {
		famez_ctl_write(b, from, text + 10);
	} else if (from->id != b->server_id || !famez_ctl_switch_answer(b, text)) {
		return famez_queue_rx(b, from, text);
	}
	return true;
}

/*
 * Who sent the message in the slot of `from`, which rang us: that peer, or, for a message the
 * switch delivers, the origin its deliver envelope names or the way back of a directed one. The
 * envelope is copied once and the copy checked as famezd checks one (docs/fabric.md). Returns 0
 * for a delivered message; -ENOMSG for a message of the switch's own (no magic there) or of
 * another peer (only the switch's slot is believed: an envelope in another peer's slot names
 * nobody); -EBADMSG when the envelope is wrong (the message is then the switch's own, as FAME-Z's
 * tools would take it). *addr is always filled in.
 */
static int famez_sender(struct famez_bridge *b, unsigned int from, struct famez_addr *addr)
{
	u8 env[FAMEZ_ENV_SIZE], len;
	u16 cid, sid;

	*addr = (struct famez_addr){ .via = FAMEZ_VIA_DIRECT, .id = from };
	if (from != b->server_id)
		return -ENOMSG;
	memcpy(env, b->shm + famez_slot(from, FAMEZ_S_ENV), sizeof(env));
	if (memcmp(env, FAMEZ_ENV_MAGIC, FAMEZ_ENV_MAGIC_LEN))
		return -ENOMSG;
	if (env[FAMEZ_ENV_STATUS] > FAMEZ_ENV_STATUS_MAX)
		return -EBADMSG;
	if (env[FAMEZ_ENV_TYPE] == FAMEZ_ENV_DIRECTED_DELIVER) {
		/* The way back: 1..255 each, nothing beyond its length. */
		len = env[FAMEZ_ENV_PATH_LEN];
		if (len > FAMEZ_PATH_MAX || memchr(env + FAMEZ_ENV_PATH, 0, len) ||
		    memchr_inv(env + FAMEZ_ENV_PATH + len, 0, FAMEZ_PATH_MAX - len))
			return -EBADMSG;
		*addr = (struct famez_addr){ .via = FAMEZ_VIA_DIRECTED, .path_len = len };
		memcpy(addr->path, env + FAMEZ_ENV_PATH, len);
		return 0;
	}
	cid = get_unaligned_le16(env + FAMEZ_ENV_ORIGIN_CID);
	sid = get_unaligned_le16(env + FAMEZ_ENV_ORIGIN_SID);
	/* A CID of 0 is nobody's: the switch routes only for configured components. */
	if (env[FAMEZ_ENV_TYPE] != FAMEZ_ENV_DELIVER || env[FAMEZ_ENV_HOPS] > FAMEZ_ENV_HOPS_MAX ||
	    memchr_inv(env + FAMEZ_ENV_RESERVED, 0, FAMEZ_ENV_SIZE - FAMEZ_ENV_RESERVED) ||
	    cid == 0 || cid > FAMEZ_CID_MAX)
		return -EBADMSG;
	*addr = (struct famez_addr){ .via = FAMEZ_VIA_ROUTED, .cid = cid, .sid = sid };
	return 0;
}

/*
 * Reads the slot of a peer that rang: copied once and checked; acknowledged once it was
 * answered or queued.
 */
static void famez_receive(struct famez_bridge *b, unsigned int from)
{
	struct famez_addr sender;
	char text[FAMEZ_MSG_MAX];
	u64 len = famez_shm_u64(b, famez_slot(from, FAMEZ_S_MSG_LEN));
	size_t i;
	u8 to;
	int env;

	if (len == 0) {
		atomic64_inc(&b->spurious);
		return;
	}
	rmb();
	/* A ring that came late: the slot already holds the sender's next message, not ours. */
	to = READ_ONCE(*(u8 *)(b->shm + famez_slot(from, FAMEZ_S_ADDRESSEE)));
	if (to && to != b->id) {
		atomic64_inc(&b->spurious);
		return;
	}
	if (len >= FAMEZ_MSG_MAX ||
	    famez_shm_u64(b, famez_slot(from, FAMEZ_S_PEER_ID)) != from) {
		atomic64_inc(&b->malformed);
		goto ack;
	}
	memcpy(text, b->shm + famez_slot(from, FAMEZ_MSG_OFFSET), len + 1);
	if (text[len] != '\0') {
		atomic64_inc(&b->malformed);
		goto ack;
	}
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e) {
			atomic64_inc(&b->malformed);
			goto ack;
		}
	/* After the rmb() above: the envelope was written before the length too. */
	env = famez_sender(b, from, &sender);
	if (!famez_handle(b, &sender, text))
		return;
	/* Counted once taken: a message left waiting in its slot is read and checked again. */
	if (sender.via == FAMEZ_VIA_ROUTED)
		atomic64_inc(&b->routed_received);
	else if (sender.via == FAMEZ_VIA_DIRECTED)
		atomic64_inc(&b->directed_received);
	else if (env == -EBADMSG)
		atomic64_inc(&b->malformed);
	atomic64_inc(&b->received);
ack:
	famez_shm_set_u64(b, famez_slot(from, FAMEZ_S_LAST_RESPONDER), b->id);
	famez_shm_set_u64(b, famez_slot(from, FAMEZ_S_MSG_LEN), 0);
}

void famez_rx_work(struct work_struct *work)
{
	struct famez_bridge *b = container_of(work, struct famez_bridge, rx_work);
	unsigned int from;

	for_each_set_bit(from, b->rx_pending, FAMEZ_IDS)
		if (test_and_clear_bit(from, b->rx_pending))
			famez_receive(b, from);
}

/* Fabric mode: names us in our slot and asks the server to configure us. */
void famez_join_fabric(struct famez_bridge *b)
{
	if (famez_nodename && famez_nodename[0])
		strscpy(b->nodename, famez_nodename, sizeof(b->nodename));
	else
		snprintf(b->nodename, sizeof(b->nodename), "%.20s.%02x", utsname()->nodename,
			 PCI_SLOT(b->pdev->devfn));
	/* Held to the rule the nodename attribute keeps: peers split our name on blanks and ':'. */
	if (!famez_name_ok(b->nodename, strlen(b->nodename))) {
		snprintf(b->nodename, sizeof(b->nodename), "bridge.%02x", PCI_SLOT(b->pdev->devfn));
		dev_warn(&b->pdev->dev,
			 "nodename= or the hostname has blanks, ':' or bytes not ASCII: named %s\n",
			 b->nodename);
	}
	strscpy(b->cclass, FAMEZ_CCLASS, sizeof(b->cclass));
	famez_set_string(b, b->id, FAMEZ_S_NODENAME, b->nodename);
	famez_set_string(b, b->id, FAMEZ_S_CCLASS, b->cclass);
	b->link = FAMEZ_LINK_UP;
	/* What our switch is, for our interface 0; then whether it configures us. */
	famez_ctl_ask_switch(b);
	famez_reply(b, &(struct famez_addr){ .via = FAMEZ_VIA_DIRECT, .id = b->server_id },
		    "Link RFC TTC=27us");
}
