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

typedef struct MailItem {
	struct MailItem *next;
	char text[MAILBOX_MSG_MAX];
} MailItem;

typedef struct MailQueue {
	MailItem *head, *tail;
	unsigned length;
	bool ready; /* in the turn order */
	bool silent;
} MailQueue;

struct MailSender {
	sd_event *event;
	uint8_t *slot;
	uint64_t ack_timeout_usec;
	MailSenderOps ops;
	void *userdata;

	MailQueue queues[MAIL_DEST_MAX];
	uint16_t turns[MAIL_DEST_MAX]; /* ring of destinations with messages, in turn order */
	unsigned turn_head, n_turns;

	int in_flight; /* destination, or -1 */
	char in_flight_text[MAILBOX_MSG_MAX];
	uint64_t sent_at;
	uint64_t poll_usec;
	sd_event_source *timer;
};

static uint64_t now_usec(MailSender *m)
{
	uint64_t now = 0;

	sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

static void turn_push(MailSender *m, unsigned dest)
{
	if (m->queues[dest].ready)
		return;
	m->queues[dest].ready = true;
	m->turns[(m->turn_head + m->n_turns) % MAIL_DEST_MAX] = (uint16_t)dest;
	m->n_turns++;
}

static int turn_pop(MailSender *m)
{
	while (m->n_turns) {
		unsigned dest = m->turns[m->turn_head];

		m->turn_head = (m->turn_head + 1) % MAIL_DEST_MAX;
		m->n_turns--;
		m->queues[dest].ready = false;
		if (m->queues[dest].length)
			return (int)dest;
	}
	return -1;
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

static void queue_clear(MailQueue *q)
{
	MailItem *item;

	while ((item = queue_pop(q)))
		free(item);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata);

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

/* Writes the next message into the free slot and rings its receiver. */
static void send_next(MailSender *m)
{
	int dest;

	while (m->in_flight < 0 && (dest = turn_pop(m)) >= 0) {
		MailQueue *q = &m->queues[dest];
		_cleanup_free_ MailItem *item = queue_pop(q);

		if (q->length)
			turn_push(m, (unsigned)dest);
		/* Nothing is in flight, so whatever the slot holds was written by someone else. */
		if (!mailbox_slot_is_free(m->slot) && m->ops.foreign_write)
			m->ops.foreign_write(m->userdata);
		/* The text was checked when it was queued: it fits. */
		(void)mailbox_put_message(m->slot, item->text);
		m->in_flight = dest;
		memcpy(m->in_flight_text, item->text, sizeof(item->text));
		m->sent_at = now_usec(m);
		m->poll_usec = POLL_FIRST_USEC;
		m->ops.ring(m->userdata, (unsigned)dest);
		arm_timer(m, m->sent_at + m->poll_usec);
	}
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
	/*
	 * A receiver that names itself as the responder has acknowledged, whatever the length
	 * says (it may be between its two writes, or another peer may be writing our slot to
	 * make it look busy).
	 */
	if (mailbox_slot_is_free(m->slot) ||
	    mailbox_get_u64(m->slot, MAILBOX_SLOT_LAST_RESPONDER) == dest) {
		mailbox_reclaim(m->slot);
		m->in_flight = -1;
		if (m->ops.delivered)
			m->ops.delivered(m->userdata, dest, m->in_flight_text);
		send_next(m);
		return;
	}

	now = now_usec(m);
	if (now - m->sent_at >= m->ack_timeout_usec) {
		/* Nobody reads that mailbox: take the slot back for everyone else. */
		mailbox_reclaim(m->slot);
		m->in_flight = -1;
		m->queues[dest].silent = true;
		m->ops.unacknowledged(m->userdata, dest, m->in_flight_text, true);
		send_next(m);
		return;
	}
	m->poll_usec = MIN(m->poll_usec * 2, POLL_MAX_USEC);
	arm_timer(m, MIN(now + m->poll_usec, m->sent_at + m->ack_timeout_usec));
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

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(event);
	m->slot = slot;
	m->ack_timeout_usec = ack_timeout_usec;
	m->ops = *ops;
	m->userdata = userdata;
	m->in_flight = -1;
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

int mail_sender_send(MailSender *m, unsigned dest, const char *text)
{
	MailQueue *q;
	MailItem *item;
	size_t len = strlen(text);

	if (dest >= MAIL_DEST_MAX)
		return -EINVAL;
	if (len == 0 || len >= MAILBOX_MSG_MAX)
		return -EMSGSIZE;
	q = &m->queues[dest];
	if (q->silent) {
		m->ops.unacknowledged(m->userdata, dest, text, false);
		return 0;
	}
	if (q->length >= MAIL_QUEUE_MAX)
		return -ENOBUFS;
	item = malloc(sizeof(*item));
	if (!item)
		return -ENOMEM;
	item->next = NULL;
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

void mail_sender_poke(MailSender *m)
{
	if (m->in_flight >= 0 || m->n_turns)
		check_slot(m);
}

void mail_sender_forget(MailSender *m, unsigned dest)
{
	if (dest >= MAIL_DEST_MAX)
		return;
	queue_clear(&m->queues[dest]);
	m->queues[dest].silent = false;
	if (m->in_flight == (int)dest) {
		/* It may have read the message just before it went: then it was delivered. */
		if (mailbox_slot_is_free(m->slot)) {
			if (m->ops.delivered)
				m->ops.delivered(m->userdata, dest, m->in_flight_text);
		} else
			mailbox_reclaim(m->slot);
		m->in_flight = -1;
		send_next(m);
	}
}

void mail_sender_heard_from(MailSender *m, unsigned dest)
{
	if (dest >= MAIL_DEST_MAX)
		return;
	m->queues[dest].silent = false;
	/*
	 * A receiver that talks to us while our message to it waits has a driver now: the ring
	 * may have come before it was listening (a guest still booting), so ring again.
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

int mail_sender_in_flight(const MailSender *m)
{
	return m->in_flight;
}
