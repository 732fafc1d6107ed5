/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "envelope.h"

/*
 * Sends mailbox messages through a peer's single slot without ever blocking the event loop or
 * overwriting an unacknowledged message, and without letting a receiver that never
 * acknowledges keep the slot from the others.
 *
 * Messages wait in one queue per destination; destinations take turns. The slot is written
 * when it is free, the receiver is rung, and the slot is watched with a backing-off timer (and
 * on every mail_sender_poke()) until the receiver acknowledges: the length back at 0, nothing
 * else (a responder ID alone is easily forged). The timer starts late (1 ms, within the grace)
 * when nothing else waits for the slot and the message carries no envelope (a route or directed
 * request, whose verdict its sender waits for).
 *
 * With T the acknowledgement timeout and G = T/64 (the grace):
 * - every destination has a budget of slot time: T/4 at first, growing by 4G a second up to T.
 *   An acknowledgement costs what it took beyond G (nothing, for a driver); a receiver that
 *   does not acknowledge costs the whole time it held the slot;
 * - a message is written only when its destination's budget holds at least G, and holds the
 *   slot at most that budget (and T): a receiver that does not acknowledge loses the slot;
 * - it is then silent: what was queued for it is dropped (counted as unacknowledged) but for
 *   the first 4, it keeps no more than that, and only an acknowledgement ends its silence
 *   (talking to us does not). Its first message is tried again T after, as a probe holding
 *   the slot 4G at most, then after twice as long each time it is missed, up to 64 T;
 * - destinations that are not silent take their turns first; probes go when none of those
 *   waits.
 * So one that never acknowledges holds the slot T/4 once, then 4G every 64 T at most, and a
 * well-behaved receiver waits at most one hold for its turn.
 */

#define MAIL_DEST_MAX 256
#define MAIL_QUEUE_MAX 64 /* messages waiting for one destination */

typedef struct MailSender MailSender;

/* A message as the callbacks see it. */
typedef struct MailMessage {
	const char *text;
	const Envelope *env; /* the envelope it went with, or NULL */
	uint64_t token;      /* what the caller gave mail_sender_send_env(), 0 if nothing */
	/* delivered(): for a route or directed request, the status its receiver wrote; OK else */
	EnvelopeStatus status;
} MailMessage;

typedef struct MailSenderOps {
	/* Rings dest so that it reads our slot. */
	void (*ring)(void *userdata, unsigned dest);
	/*
	 * A message that was not acknowledged in time (timed_out), or not sent because the
	 * destination is silent.
	 */
	void (*unacknowledged)(void *userdata, unsigned dest, const MailMessage *msg,
			       bool timed_out);
	/* A message the receiver acknowledged. */
	void (*delivered)(void *userdata, unsigned dest, const MailMessage *msg);
	/* Optional: someone else wrote into our slot (it is taken back). */
	void (*foreign_write)(void *userdata);
	/*
	 * Optional: a message sent with a token, kept for a destination that fell silent, no
	 * longer holds it (it waits for probes; its callbacks come with token 0).
	 */
	void (*released)(void *userdata, unsigned dest, const MailMessage *msg);
} MailSenderOps;

int mail_sender_new(MailSender **ret, sd_event *event, uint8_t *slot, uint64_t ack_timeout_usec,
		    const MailSenderOps *ops, void *userdata);
MailSender *mail_sender_free(MailSender *m);

/* Queues text for dest: 0, -EMSGSIZE (too long), -ENOBUFS (queue full), -EINVAL, -ENOMEM. */
int mail_sender_send(MailSender *m, unsigned dest, const char *text);
/*
 * The same with an envelope written with the text (NULL: the envelope bytes are cleared, as for
 * every message sent without one) and a token the callbacks get back.
 */
int mail_sender_send_env(MailSender *m, unsigned dest, const char *text, const Envelope *env,
			 uint64_t token);

/* The slot may have been acknowledged: check now rather than at the next timer. */
void mail_sender_poke(MailSender *m);

/*
 * dest is gone: drop its queue, and take the slot back if it holds a message for dest. What was
 * sent with a token is reported unacknowledged (the caller counts those); the rest silently.
 */
void mail_sender_forget(MailSender *m, unsigned dest);

/*
 * dest talked to us: if our slot holds a message for it, it is rung again (its first ring may
 * have come before it listened). It stays silent, if it was, until it acknowledges.
 */
void mail_sender_heard_from(MailSender *m, unsigned dest);

bool mail_sender_is_silent(const MailSender *m, unsigned dest);
unsigned mail_sender_queued(const MailSender *m, unsigned dest);
/* The destination of the message in the slot, or -1. */
int mail_sender_in_flight(const MailSender *m);
/*
 * When (CLOCK_MONOTONIC) the slot will next be looked at if no ring or new message comes first,
 * and when the message in it was written: 0, or -ENOENT when nothing is in flight.
 */
int mail_sender_next_look(const MailSender *m, uint64_t *when, uint64_t *sent_at);
