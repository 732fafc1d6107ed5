/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mailbox.h"
#include "mailsender.h"

/* The first check of the slot comes soon (a driver acknowledges in microseconds), later ones
 * less often. */
#define POLL_FIRST_USEC 20
#define POLL_MAX_USEC 10000
/* The first look when nobody waits on the message (first_poll()). */
#define POLL_LAZY_USEC 1000

/* What a silent destination keeps: enough for a reply and an attribute request, no backlog. */
#define SILENT_QUEUE_MAX 4
/* A silent destination's probes: the first an acknowledgement timeout after it fell silent, then
 * twice as long after each one it misses, up to 64 timeouts. */
#define PROBE_BACKOFF_MAX 64

typedef struct MailItem {
	struct MailItem *next;
	uint64_t token;
	Envelope env;
	bool has_env;
	char text[MAILBOX_MSG_MAX];
} MailItem;

enum { TURNS_NORMAL, TURNS_SILENT, TURNS_KINDS };

typedef struct MailQueue {
	MailItem *head, *tail;
	unsigned length;
	bool ready[TURNS_KINDS]; /* in that turn order */
	bool silent;
	/* Slot time this destination may still hold, refilled with time (see mailsender.h). */
	uint64_t budget_usec, budget_at;
	uint64_t probe_after, probe_backoff; /* while silent */
} MailQueue;

typedef struct Turns {
	uint16_t dest[MAIL_DEST_MAX]; /* ring of destinations with messages, in turn order */
	unsigned head, count;
} Turns;

struct MailSender {
	sd_event *event;
	uint8_t *slot;
	uint64_t ack_timeout_usec;
	uint64_t grace_usec; /* ack_timeout / 64 */
	MailSenderOps ops;
	void *userdata;

	MailQueue queues[MAIL_DEST_MAX];
	/* Destinations that acknowledge go first; silent ones only when none of those waits. */
	Turns turns[TURNS_KINDS];

	int in_flight;      /* destination, or -1 */
	MailItem in_flight_item; /* what the slot holds for it */
	uint64_t sent_at, hold_usec;
	uint64_t poll_usec;
	bool lazy;        /* polled at POLL_LAZY_USEC: nothing waited when it was written */
	uint64_t wake_at; /* when a destination waiting for budget or a probe is due, or 0 */
	sd_event_source *timer;
};

/* What the callbacks are told of item. */
static MailMessage message_of(const MailItem *item, EnvelopeStatus status)
{
	return (MailMessage){ .text = item->text,
			      .env = item->has_env ? &item->env : NULL,
			      .token = item->token,
			      .status = status };
}

static void tell_unacknowledged(MailSender *m, unsigned dest, const MailItem *item, bool timed_out)
{
	MailMessage msg = message_of(item, ENVELOPE_STATUS_PENDING);

	m->ops.unacknowledged(m->userdata, dest, &msg, timed_out);
}

/* The receiver took the in-flight message; a route or directed request's verdict is in the slot. */
static void tell_delivered(MailSender *m, unsigned dest)
{
	const MailItem *item = &m->in_flight_item;
	bool request = item->has_env &&
		       (item->env.type == ENVELOPE_ROUTE || item->env.type == ENVELOPE_DIRECTED);
	MailMessage msg =
		message_of(item, request ? envelope_get_status(m->slot) : ENVELOPE_STATUS_OK);

	if (m->ops.delivered)
		m->ops.delivered(m->userdata, dest, &msg);
}

static uint64_t now_usec(MailSender *m)
{
	uint64_t now = 0;

	sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* The budget now: it grows by 4 graces every second, up to the acknowledgement timeout. */
static uint64_t budget(MailSender *m, MailQueue *q, uint64_t now)
{
	if (now > q->budget_at) {
		uint64_t grown = (now - q->budget_at) * 4 * m->grace_usec / 1000000;

		q->budget_usec = MIN(m->ack_timeout_usec, q->budget_usec + grown);
		q->budget_at = now;
	}
	return q->budget_usec;
}

static void spend(MailSender *m, MailQueue *q, uint64_t usec, uint64_t now)
{
	uint64_t left = budget(m, q, now);

	q->budget_usec = left > usec ? left - usec : 0;
}

static void turn_push(MailSender *m, unsigned dest)
{
	MailQueue *q = &m->queues[dest];
	unsigned kind = q->silent ? TURNS_SILENT : TURNS_NORMAL;
	Turns *t = &m->turns[kind];

	if (q->ready[kind])
		return;
	q->ready[kind] = true;
	t->dest[(t->head + t->count) % MAIL_DEST_MAX] = (uint16_t)dest;
	t->count++;
}

static unsigned turn_pop(MailSender *m, unsigned kind)
{
	Turns *t = &m->turns[kind];
	unsigned dest = t->dest[t->head];

	t->head = (t->head + 1) % MAIL_DEST_MAX;
	t->count--;
	m->queues[dest].ready[kind] = false;
	return dest;
}

static MailItem *queue_pop(MailQueue *q)
{
	MailItem *item = q->head;

	if (item) {
		q->head = item->next;
		if (!q->head)
			q->tail = NULL;
		q->length--;
	}
	return item;
}

static void queue_push_front(MailQueue *q, MailItem *item)
{
	item->next = q->head;
	q->head = item;
	if (!q->tail)
		q->tail = item;
	q->length++;
}

/* Gives up what is queued for dest, each counted as unacknowledged (not timed out). */
static void queue_drop(MailSender *m, unsigned dest, unsigned keep)
{
	MailQueue *q = &m->queues[dest];
	MailItem *item;

	while (q->length > keep && (item = queue_pop(q))) {
		tell_unacknowledged(m, dest, item, false);
		free(item);
	}
}

/*
 * What is kept for a destination that fell silent waits for probes, up to 64 timeouts apart: it
 * no longer holds its token (the caller's count of what it has queued), as if it were ours.
 */
static void queue_release_tokens(MailSender *m, unsigned dest)
{
	for (MailItem *item = m->queues[dest].head; item; item = item->next)
		if (item->token) {
			MailMessage msg = message_of(item, ENVELOPE_STATUS_PENDING);

			if (m->ops.released)
				m->ops.released(m->userdata, dest, &msg);
			item->token = 0;
		}
}

static void queue_clear(MailQueue *q)
{
	MailItem *item;

	while ((item = queue_pop(q)))
		free(item);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata);

/*
 * The first look at the slot after a message is written. Soon (POLL_FIRST_USEC, then backing
 * off) when another message waits for the slot or the message is a route or directed request,
 * whose verdict its sender waits for; else later, within the grace so that the receiver is
 * charged nothing for our late look: every ring from anyone (mail_sender_poke()) and every new
 * message look at once anyway. A look that comes while the receiver is still reading only
 * wakes us, on the path of every ping-pong.
 */
static void set_first_poll(MailSender *m, const MailItem *item)
{
	m->lazy = !item->has_env && !m->turns[TURNS_NORMAL].count;
	m->poll_usec = m->lazy ? MAX(POLL_FIRST_USEC, MIN(POLL_LAZY_USEC, m->grace_usec / 2))
			       : POLL_FIRST_USEC;
}

/*
 * Makes sure the slot gets looked at by `when` at the latest. An armed timer is left alone when
 * it fires sooner: re-arming for every message would cost a timerfd update per message on the
 * fast path, where the acknowledgement is seen by mail_sender_poke() anyway.
 */
static void arm_timer(MailSender *m, uint64_t when)
{
	uint64_t armed;
	int enabled = 0;

	if (!m->timer) {
		if (sd_event_add_time(m->event, &m->timer, CLOCK_MONOTONIC, when, 1, on_timer, m) <
		    0)
			return;
		sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
		return;
	}
	sd_event_source_get_enabled(m->timer, &enabled);
	if (enabled && sd_event_source_get_time(m->timer, &armed) >= 0 && armed <= when)
		return;
	sd_event_source_set_time(m->timer, when);
	sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

/*
 * When dest may have the slot: once its budget covers the grace and, while it is silent, its
 * next probe is due. 0 means now.
 */
static uint64_t due_at(MailSender *m, MailQueue *q, uint64_t now)
{
	uint64_t have = budget(m, q, now), due = now;

	if (have < m->grace_usec)
		due = now + DIV_ROUND_UP((m->grace_usec - have) * 1000000, 4 * m->grace_usec);
	if (q->silent && q->probe_after > due)
		due = q->probe_after;
	return due <= now ? 0 : due;
}

/*
 * The next destination whose turn it is and that may have the slot, or -1. One that may not
 * yet keeps its place (at the back) and is remembered in wake_at.
 */
static int next_dest(MailSender *m, uint64_t now)
{
	for (unsigned kind = 0; kind < TURNS_KINDS; kind++)
		for (unsigned n = m->turns[kind].count; n > 0; n--) {
			unsigned dest = turn_pop(m, kind);
			MailQueue *q = &m->queues[dest];
			uint64_t due;

			/* Queued while silent (or not): it waits in the turns of what it is now. */
			if (q->length == 0 || (kind == TURNS_SILENT) != q->silent) {
				if (q->length)
					turn_push(m, dest);
				continue;
			}
			due = due_at(m, q, now);
			if (due == 0)
				return (int)dest;
			turn_push(m, dest);
			if (m->wake_at == 0 || due < m->wake_at)
				m->wake_at = due;
		}
	return -1;
}

/* Writes the next message into the free slot and rings its receiver. */
static void send_next(MailSender *m)
{
	uint64_t now = now_usec(m);
	int dest;

	m->wake_at = 0;
	if (m->in_flight >= 0 || (dest = next_dest(m, now)) < 0) {
		if (m->in_flight < 0 && m->wake_at)
			arm_timer(m, m->wake_at);
		return;
	}

	MailQueue *q = &m->queues[dest];
	_cleanup_free_ MailItem *item = queue_pop(q);

	if (q->length)
		turn_push(m, (unsigned)dest);
	/* Nothing is in flight, so whatever the slot holds was written by someone else. */
	if (!mailbox_slot_is_free(m->slot) && m->ops.foreign_write)
		m->ops.foreign_write(m->userdata);
	/* The envelope goes with the text, before the length; none clears a stale one. */
	if (item->has_env)
		envelope_write(m->slot, &item->env);
	else
		envelope_clear(m->slot);
	/* The text was checked when it was queued: it fits. */
	(void)mailbox_put_message(m->slot, (unsigned)dest, item->text);
	m->in_flight = dest;
	m->in_flight_item = *item;
	m->in_flight_item.next = NULL;
	m->sent_at = now;
	/* Never longer than its budget; a probe of a silent destination is short. */
	m->hold_usec = MIN(budget(m, q, now), q->silent ? 4 * m->grace_usec : m->ack_timeout_usec);
	set_first_poll(m, item);
	m->ops.ring(m->userdata, (unsigned)dest);
	arm_timer(m, m->sent_at + m->poll_usec);
}

/* The receiver acknowledged: it pays for what it held beyond the grace, and is heard. */
static void acknowledged(MailSender *m, unsigned dest, uint64_t now)
{
	MailQueue *q = &m->queues[dest];
	uint64_t held = now - m->sent_at;

	spend(m, q, held > m->grace_usec ? held - m->grace_usec : 0, now);
	if (q->silent) {
		q->silent = false;
		if (q->length)
			turn_push(m, dest);
	}
	q->probe_backoff = 0;
	tell_delivered(m, dest);
}

/* The receiver held the slot as long as it may: it pays for all of it, and falls silent. */
static void timed_out(MailSender *m, unsigned dest, uint64_t now)
{
	MailQueue *q = &m->queues[dest];
	MailItem *item;

	spend(m, q, m->hold_usec, now);
	q->probe_backoff =
		q->silent ? MIN(2 * q->probe_backoff, PROBE_BACKOFF_MAX * m->ack_timeout_usec)
			  : m->ack_timeout_usec;
	q->probe_after = now + q->probe_backoff;
	if (!q->silent) {
		q->silent = true;
		tell_unacknowledged(m, dest, &m->in_flight_item, true);
		queue_drop(m, dest, SILENT_QUEUE_MAX);
		queue_release_tokens(m, dest);
		if (q->length)
			turn_push(m, dest);
		return;
	}
	/* A failed probe: the message waits for the next one, after a longer pause. */
	item = malloc(sizeof(*item));
	if (!item) {
		tell_unacknowledged(m, dest, &m->in_flight_item, true);
		return;
	}
	*item = m->in_flight_item;
	queue_push_front(q, item);
	queue_drop(m, dest, SILENT_QUEUE_MAX);
	turn_push(m, dest);
}

static void check_slot(MailSender *m)
{
	unsigned dest;
	uint64_t now;

	if (m->in_flight < 0) {
		send_next(m);
		return;
	}
	dest = (unsigned)m->in_flight;
	now = now_usec(m);
	/* Only a free slot is an acknowledgement: a responder ID alone is easily forged. */
	if (mailbox_slot_is_free(m->slot)) {
		uint64_t responder = mailbox_get_u64(m->slot, MAILBOX_SLOT_LAST_RESPONDER);

		/* Freed, but naming a third peer as the responder: someone else's write. */
		if (responder != 0 && responder != dest && m->ops.foreign_write)
			m->ops.foreign_write(m->userdata);
		m->in_flight = -1;
		acknowledged(m, dest, now);
		send_next(m);
		return;
	}

	if (now - m->sent_at >= m->hold_usec) {
		/* Nobody reads that mailbox: take the slot back for everyone else. */
		mailbox_reclaim(m->slot);
		m->in_flight = -1;
		if (mailbox_get_u64(m->slot, MAILBOX_SLOT_LAST_RESPONDER) == dest) {
			/*
			 * It says it answered, yet the length stayed: a third peer keeps writing
			 * our slot (or forged the responder). Not counted as sent, not held
			 * against the receiver.
			 */
			if (m->ops.foreign_write)
				m->ops.foreign_write(m->userdata);
			tell_unacknowledged(m, dest, &m->in_flight_item, false);
		} else
			timed_out(m, dest, now);
		send_next(m);
		return;
	}
	if (m->lazy && m->turns[TURNS_NORMAL].count) {
		/* Something waits for the slot now: look soon again. */
		m->lazy = false;
		m->poll_usec = POLL_FIRST_USEC;
	} else
		m->poll_usec = MIN(m->poll_usec * 2, POLL_MAX_USEC);
	arm_timer(m, MIN(now + m->poll_usec, m->sent_at + m->hold_usec));
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	check_slot(userdata);
	return 0;
}

int mail_sender_new(MailSender **ret, sd_event *event, uint8_t *slot, uint64_t ack_timeout_usec,
		    const MailSenderOps *ops, void *userdata)
{
	MailSender *m = calloc(1, sizeof(*m));
	uint64_t now;

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(event);
	m->slot = slot;
	m->ack_timeout_usec = MAX(ack_timeout_usec, 64);
	m->grace_usec = m->ack_timeout_usec / 64;
	m->ops = *ops;
	m->userdata = userdata;
	m->in_flight = -1;
	now = now_usec(m);
	for (unsigned i = 0; i < MAIL_DEST_MAX; i++) {
		m->queues[i].budget_usec = m->ack_timeout_usec / 4;
		m->queues[i].budget_at = now;
	}
	*ret = m;
	return 0;
}

MailSender *mail_sender_free(MailSender *m)
{
	if (!m)
		return NULL;
	for (unsigned i = 0; i < MAIL_DEST_MAX; i++)
		queue_clear(&m->queues[i]);
	sd_event_source_disable_unref(m->timer);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int mail_sender_send_env(MailSender *m, unsigned dest, const char *text, const Envelope *env,
			 uint64_t token)
{
	MailQueue *q;
	MailItem *item;
	size_t len = strlen(text);

	if (dest >= MAIL_DEST_MAX)
		return -EINVAL;
	if (len == 0 || len >= MAILBOX_MSG_MAX)
		return -EMSGSIZE;
	q = &m->queues[dest];
	if (q->silent && q->length + (m->in_flight == (int)dest) >= SILENT_QUEUE_MAX) {
		/* A silent destination keeps no backlog. */
		MailMessage msg = { .text = text, .env = env, .token = token };

		m->ops.unacknowledged(m->userdata, dest, &msg, false);
		return 0;
	}
	if (q->length >= MAIL_QUEUE_MAX)
		return -ENOBUFS;
	item = malloc(sizeof(*item));
	if (!item)
		return -ENOMEM;
	item->next = NULL;
	item->token = token;
	item->has_env = env;
	if (env)
		item->env = *env;
	memcpy(item->text, text, len + 1);
	if (q->tail)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	q->length++;
	turn_push(m, dest);
	check_slot(m);
	return 0;
}

int mail_sender_send(MailSender *m, unsigned dest, const char *text)
{
	return mail_sender_send_env(m, dest, text, NULL, 0);
}

void mail_sender_poke(MailSender *m)
{
	if (m->in_flight >= 0 || m->turns[TURNS_NORMAL].count || m->turns[TURNS_SILENT].count)
		check_slot(m);
}

void mail_sender_forget(MailSender *m, unsigned dest)
{
	MailQueue *q;
	MailItem *item;

	if (dest >= MAIL_DEST_MAX)
		return;
	q = &m->queues[dest];
	/* Dropped; those the caller keeps count of (a token) are reported as such. */
	while ((item = queue_pop(q))) {
		if (item->token)
			tell_unacknowledged(m, dest, item, false);
		free(item);
	}
	/* The next holder of the ID starts afresh, but with the budget the ID has left. */
	q->silent = false;
	q->probe_backoff = 0;
	if (m->in_flight == (int)dest) {
		/* It may have read the message just before it went: then it was delivered. */
		bool read = mailbox_slot_is_free(m->slot);

		if (!read)
			mailbox_reclaim(m->slot);
		m->in_flight = -1;
		if (read)
			tell_delivered(m, dest);
		else if (m->in_flight_item.token)
			tell_unacknowledged(m, dest, &m->in_flight_item, false);
		send_next(m);
	}
}

void mail_sender_heard_from(MailSender *m, unsigned dest)
{
	if (dest >= MAIL_DEST_MAX)
		return;
	/*
	 * A receiver that talks to us while our message to it waits has a driver now: the ring
	 * may have come before it was listening (a guest still booting), so ring again. Talking
	 * does not end silence: only an acknowledgement does, or a peer that asks and never
	 * acknowledges would have every answer hold the slot.
	 */
	if (m->in_flight == (int)dest && !mailbox_slot_is_free(m->slot))
		m->ops.ring(m->userdata, dest);
}

bool mail_sender_is_silent(const MailSender *m, unsigned dest)
{
	return dest < MAIL_DEST_MAX && m->queues[dest].silent;
}

unsigned mail_sender_queued(const MailSender *m, unsigned dest)
{
	return dest < MAIL_DEST_MAX ? m->queues[dest].length : 0;
}

int mail_sender_next_look(const MailSender *m, uint64_t *when, uint64_t *sent_at)
{
	int enabled = 0;

	if (m->in_flight < 0 || !m->timer || sd_event_source_get_enabled(m->timer, &enabled) < 0 ||
	    !enabled || sd_event_source_get_time(m->timer, when) < 0)
		return -ENOENT;
	*sent_at = m->sent_at;
	return 0;
}

int mail_sender_in_flight(const MailSender *m)
{
	return m->in_flight;
}
