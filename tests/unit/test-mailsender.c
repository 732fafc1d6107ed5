/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "mailbox.h"
#include "mailsender.h"
#include "testlib.h"

static uint8_t slot[MAILBOX_SLOT_SIZE] __attribute__((aligned(8)));
static sd_event *event;
static MailSender *sender;
static unsigned rings[8], n_rings;
static unsigned unacked[8], n_unacked, n_timed_out;
static unsigned n_delivered, n_foreign;

/* What the slot held when the receiver was rung: an envelope, and which one. */
static int ring_envelope;
static Envelope ring_env;
static uint64_t ring_length;

static void ring(void *userdata, unsigned dest)
{
	(void)userdata;
	if (n_rings < 8)
		rings[n_rings] = dest;
	n_rings++;
	ring_envelope = envelope_read(slot, &ring_env);
	ring_length = mailbox_get_u64(slot, MAILBOX_SLOT_MSG_LEN);
}

static uint64_t unacked_token;
static bool unacked_env;

static void on_unacked(void *userdata, unsigned dest, const MailMessage *msg, bool timed_out)
{
	(void)userdata;
	unacked_token = msg->token;
	unacked_env = msg->env != NULL;
	if (n_unacked < 8)
		unacked[n_unacked] = dest;
	n_unacked++;
	n_timed_out += timed_out;
}

static EnvelopeStatus last_status;
static uint64_t last_token;
static Envelope last_env;
static bool last_has_env;
static char last_text[MAILBOX_MSG_MAX];

static void on_delivered(void *userdata, unsigned dest, const MailMessage *msg)
{
	(void)userdata;
	(void)dest;
	last_status = msg->status;
	last_token = msg->token;
	last_has_env = msg->env != NULL;
	if (msg->env)
		last_env = *msg->env;
	snprintf(last_text, sizeof(last_text), "%s", msg->text);
	n_delivered++;
}

static unsigned n_released;
static uint64_t released_tokens;

static void on_released(void *userdata, unsigned dest, const MailMessage *msg)
{
	(void)userdata;
	(void)dest;
	n_released++;
	released_tokens += msg->token;
}

static void on_foreign(void *userdata)
{
	(void)userdata;
	n_foreign++;
}

static const MailSenderOps ops = { .ring = ring,
				   .unacknowledged = on_unacked,
				   .delivered = on_delivered,
				   .released = on_released,
				   .foreign_write = on_foreign };

static void setup(void)
{
	memset(slot, 0, sizeof(slot));
	n_rings = n_unacked = n_timed_out = n_delivered = n_foreign = n_released = 0;
	released_tokens = 0;
	last_status = ENVELOPE_STATUS_PENDING;
	last_token = unacked_token = 0;
	last_has_env = unacked_env = false;
	ck_assert_int_eq(sd_event_new(&event), 0);
	/* Patient, so that no message times out under valgrind unless a test wants it to. */
	ck_assert_int_eq(mail_sender_new(&sender, event, slot, 10000000, &ops, NULL), 0);
}

static void teardown(void)
{
	sender = mail_sender_free(sender);
	event = sd_event_unref(event);
}

/* Runs the event loop for about usec. */
static void run_for(uint64_t usec)
{
	uint64_t end = testlib_now_usec() + usec;

	while (testlib_now_usec() < end)
		sd_event_run(event, 1000);
}

static const char *slot_text(void)
{
	return (const char *)slot + MAILBOX_MSG_OFFSET;
}

/* The receiver reads and acknowledges. */
static void receiver_acks(void)
{
	mailbox_acknowledge(slot, 99);
	mail_sender_poke(sender);
}

START_TEST(test_one_at_a_time_in_order)
{
	ck_assert_int_eq(mail_sender_send(sender, 3, "first"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 3, "second"), 0);
	ck_assert_uint_eq(n_rings, 1);
	ck_assert_uint_eq(rings[0], 3);
	ck_assert_str_eq(slot_text(), "first");
	ck_assert_int_eq(mail_sender_in_flight(sender), 3);
	ck_assert_uint_eq(mail_sender_queued(sender, 3), 1);

	/* Never overwritten while unacknowledged. */
	run_for(20000);
	ck_assert_str_eq(slot_text(), "first");
	ck_assert_uint_eq(n_rings, 1);

	receiver_acks();
	ck_assert_str_eq(slot_text(), "second");
	ck_assert_uint_eq(n_rings, 2);
	ck_assert_uint_eq(n_delivered, 1);
	receiver_acks();
	ck_assert_uint_eq(n_delivered, 2);
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);
}
END_TEST

START_TEST(test_acknowledgement_seen_by_timer)
{
	ck_assert_int_eq(mail_sender_send(sender, 3, "one"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 4, "two"), 0);
	mailbox_acknowledge(slot, 3); /* no poke: the backing-off timer must notice */
	run_for(10000);
	ck_assert_uint_eq(n_delivered, 1);
	ck_assert_str_eq(slot_text(), "two");
}
END_TEST

static void use_ack_timeout(uint64_t usec);

/*
 * The first look at the slot: soon when another message waits for it or the message is a route
 * request (its sender waits for the verdict), later (but within the grace, where the receiver pays
 * nothing) when nobody waits: in a ping-pong the answer's ring looks anyway, and an early look only
 * wakes the sender while the receiver reads. Something queued meanwhile brings the look back.
 */
START_TEST(test_first_look)
{
	const Envelope route = { .type = ENVELOPE_ROUTE, .dest_cid = 1600, .dest_sid = 28 };
	uint64_t when, sent, queued;

	ck_assert_int_eq(mail_sender_next_look(sender, &when, &sent), -ENOENT);
	ck_assert_int_eq(mail_sender_send(sender, 3, "alone"), 0);
	ck_assert_int_eq(mail_sender_next_look(sender, &when, &sent), 0);
	ck_assert_uint_ge(when - sent, 1000);
	ck_assert_uint_le(when - sent, 10000000 / 64 / 2);
	/* Queued behind it: looked at soon after, however long since the first was written. */
	ck_assert_int_eq(mail_sender_send(sender, 4, "waits"), 0);
	queued = testlib_now_usec();
	ck_assert_int_eq(mail_sender_next_look(sender, &when, &sent), 0);
	ck_assert_uint_le(when, queued + 20);
	receiver_acks();
	/* "waits" is in the slot, nothing behind it (the soon look armed for it may stay). */
	ck_assert_str_eq(slot_text(), "waits");
	receiver_acks();
	/* A token alone (what the callbacks are to say): nobody waits on it. */
	ck_assert_int_eq(mail_sender_send_env(sender, 3, "noted", NULL, 7), 0);
	receiver_acks();
	/* A route request, whose sender waits for the switch's verdict: soon. */
	ck_assert_int_eq(mail_sender_send_env(sender, 15, "awaited", &route, 8), 0);
	queued = testlib_now_usec();
	ck_assert_int_eq(mail_sender_next_look(sender, &when, &sent), 0);
	ck_assert_uint_le(when, queued + 20);
	receiver_acks();
	ck_assert_uint_eq(n_delivered, 4);
	/* A short acknowledgement timeout has a short grace: the lazy look stays inside it. */
	use_ack_timeout(6400);
	ck_assert_int_eq(mail_sender_send(sender, 3, "hurry"), 0);
	ck_assert_int_eq(mail_sender_next_look(sender, &when, &sent), 0);
	ck_assert_uint_le(when - sent, 6400 / 64);
}
END_TEST

START_TEST(test_destinations_take_turns)
{
	ck_assert_int_eq(mail_sender_send(sender, 1, "a1"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 1, "a2"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 1, "a3"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 2, "b1"), 0);
	receiver_acks();
	receiver_acks();
	receiver_acks();
	/*
	 * a1 was in the slot before b1 was queued; then a2, and b1 before a3: a busy
	 * destination does not starve another.
	 */
	ck_assert_uint_eq(rings[0], 1);
	ck_assert_uint_eq(rings[1], 1);
	ck_assert_uint_eq(rings[2], 2);
	ck_assert_uint_eq(rings[3], 1);
}
END_TEST

/*
 * For the tests of what a timeout does: a bound of 400 ms, so a newcomer holds the slot 100 ms
 * at first, a silent destination's probe comes 400 ms after, and the next 800 ms after that.
 */
static void use_ack_timeout(uint64_t usec)
{
	mail_sender_free(sender);
	ck_assert_int_eq(mail_sender_new(&sender, event, slot, usec, &ops, NULL), 0);
}

/* Runs the event loop until cond holds, at most 10 s; the time it took. */
#define RUN_UNTIL(cond)                                                                            \
	({                                                                                         \
		uint64_t _start = testlib_now_usec();                                              \
		while (!(cond) && testlib_now_usec() - _start < 10000000)                          \
			sd_event_run(event, 1000);                                                 \
		ck_assert_msg(cond, "never: %s", #cond);                                           \
		testlib_now_usec() - _start;                                                       \
	})

START_TEST(test_timeout_takes_slot_back_and_silences)
{
	uint64_t took;

	use_ack_timeout(400000);
	ck_assert_int_eq(mail_sender_send(sender, 5, "hello"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 6, "other"), 0);
	took = RUN_UNTIL(n_timed_out == 1);
	/* A newcomer's budget is a quarter of the 400 ms bound; then the other gets the slot. */
	ck_assert_uint_eq(unacked[0], 5);
	ck_assert_uint_ge(took, 90000);
	ck_assert_uint_lt(took, 400000);
	ck_assert_str_eq(slot_text(), "other");
	ck_assert_uint_eq(rings[1], 6);
	ck_assert(mail_sender_is_silent(sender, 5));
	receiver_acks();

	/* A silent destination keeps 4 messages, no more, and does not get the slot at once. */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(mail_sender_send(sender, 5, i == 0 ? "probe" : "more"), 0);
	ck_assert_uint_eq(mail_sender_queued(sender, 5), 4);
	ck_assert_uint_eq(n_unacked, 3);
	ck_assert_uint_eq(n_timed_out, 1);
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);

	/* Talking to us does not end silence. */
	mail_sender_heard_from(sender, 5);
	ck_assert(mail_sender_is_silent(sender, 5));
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);

	/* The probe comes when its pause (400 ms) is over and its budget has grown back. */
	took = RUN_UNTIL(mail_sender_in_flight(sender) == 5);
	ck_assert_uint_ge(took, 250000);
	ck_assert_str_eq(slot_text(), "probe");
	/* Only an acknowledgement ends silence; then the rest flows. */
	receiver_acks();
	ck_assert(!mail_sender_is_silent(sender, 5));
	ck_assert_uint_eq(n_delivered, 2);
	ck_assert_int_eq(mail_sender_in_flight(sender), 5);
	ck_assert_str_eq(slot_text(), "more");
}
END_TEST

/*
 * A destination that falls silent keeps 4 of what was queued for it, for probes far apart: those
 * sent with a token give it back at once (released), and come back later with token 0.
 */
START_TEST(test_silence_releases_the_tokens_it_keeps)
{
	use_ack_timeout(400000);
	ck_assert_int_eq(mail_sender_send_env(sender, 5, "in flight", NULL, 100), 0);
	for (uint64_t t = 1; t <= 6; t++)
		ck_assert_int_eq(mail_sender_send_env(sender, 5, "queued", NULL, t), 0);
	RUN_UNTIL(n_timed_out == 1);
	/* The one in flight and 2 beyond the 4 kept: dropped with their tokens. */
	ck_assert_uint_eq(n_unacked, 3);
	ck_assert_uint_eq(unacked_token, 2);
	/* The 4 kept (tokens 3 to 6): released. */
	ck_assert_uint_eq(n_released, 4);
	ck_assert_uint_eq(released_tokens, 3 + 4 + 5 + 6);
	ck_assert_uint_eq(mail_sender_queued(sender, 5), 4);
	/* The probe, when it is acknowledged, names no token. */
	RUN_UNTIL(mail_sender_in_flight(sender) == 5);
	receiver_acks();
	ck_assert_uint_eq(n_delivered, 1);
	ck_assert_uint_eq(last_token, 0);
}
END_TEST

/* What was queued for a receiver that does not acknowledge is given up, but for 4. */
START_TEST(test_silence_drops_the_backlog)
{
	use_ack_timeout(400000);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(mail_sender_send(sender, 5, "backlog"), 0);
	ck_assert_uint_eq(mail_sender_queued(sender, 5), 9);
	RUN_UNTIL(n_timed_out == 1);
	ck_assert_uint_eq(mail_sender_queued(sender, 5), 4);
	ck_assert_uint_eq(n_unacked, 1 + 5);
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);
}
END_TEST

/* A missed probe waits twice as long for the next; it keeps its message. */
START_TEST(test_probes_back_off)
{
	uint64_t first, second;

	use_ack_timeout(400000);
	ck_assert_int_eq(mail_sender_send(sender, 5, "never read"), 0);
	RUN_UNTIL(n_timed_out == 1);
	ck_assert_int_eq(mail_sender_send(sender, 5, "kept"), 0);
	first = RUN_UNTIL(mail_sender_in_flight(sender) == 5);
	RUN_UNTIL(mail_sender_in_flight(sender) == -1);
	ck_assert_uint_eq(mail_sender_queued(sender, 5), 1);
	second = RUN_UNTIL(mail_sender_in_flight(sender) == 5);
	ck_assert_str_eq(slot_text(), "kept");
	ck_assert_uint_gt(second, first);
	ck_assert_uint_eq(n_timed_out, 1); /* the kept message was not given up */
}
END_TEST

/* Destinations that acknowledge take their turns before a silent one's probe. */
START_TEST(test_probes_go_last)
{
	/* With a 1 s bound, 6 may hold the slot past the time 5's probe is due (1 s after). */
	use_ack_timeout(1000000);
	ck_assert_int_eq(mail_sender_send(sender, 5, "never read"), 0);
	RUN_UNTIL(n_timed_out == 1);
	ck_assert_int_eq(mail_sender_send(sender, 5, "probe"), 0);
	run_for(850000);
	ck_assert_int_eq(mail_sender_send(sender, 6, "for six"), 0);
	ck_assert_int_eq(mail_sender_in_flight(sender), 6);
	run_for(200000); /* the probe is due now, and waits for the slot */
	ck_assert_int_eq(mail_sender_send(sender, 7, "for seven"), 0);
	receiver_acks();
	receiver_acks();
	RUN_UNTIL(n_rings >= 4);
	ck_assert_uint_eq(rings[1], 6);
	ck_assert_uint_eq(rings[2], 7);
	ck_assert_uint_eq(rings[3], 5);
	ck_assert_str_eq(slot_text(), "probe");
}
END_TEST

/*
 * A responder ID with the length still up is no acknowledgement: it is counted as a foreign
 * write, the message as not delivered, and the receiver is not held responsible.
 */
START_TEST(test_forged_responder_is_not_an_acknowledgement)
{
	use_ack_timeout(400000);
	ck_assert_int_eq(mail_sender_send(sender, 5, "for five"), 0);
	mailbox_set_u64(slot, MAILBOX_SLOT_LAST_RESPONDER, 5);
	mail_sender_poke(sender);
	ck_assert_int_eq(mail_sender_in_flight(sender), 5);
	ck_assert_uint_eq(n_delivered, 0);
	RUN_UNTIL(n_unacked == 1);
	ck_assert_uint_eq(n_timed_out, 0);
	ck_assert_uint_eq(n_foreign, 1);
	ck_assert_uint_eq(n_delivered, 0);
	ck_assert(!mail_sender_is_silent(sender, 5));
	ck_assert_int_eq(mail_sender_send(sender, 5, "again"), 0);
	ck_assert_int_eq(mail_sender_in_flight(sender), 5);
}
END_TEST

START_TEST(test_forget_reclaims)
{
	ck_assert_int_eq(mail_sender_send(sender, 7, "for seven"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 7, "more for seven"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 8, "for eight"), 0);
	mail_sender_forget(sender, 7);
	ck_assert_str_eq(slot_text(), "for eight");
	ck_assert_int_eq(mail_sender_in_flight(sender), 8);
	ck_assert_uint_eq(mail_sender_queued(sender, 7), 0);
}
END_TEST

START_TEST(test_forget_counts_what_was_read)
{
	ck_assert_int_eq(mail_sender_send(sender, 7, "read just before leaving"), 0);
	mailbox_acknowledge(slot, 7); /* nobody poked: the sender has not noticed yet */
	mail_sender_forget(sender, 7);
	ck_assert_uint_eq(n_delivered, 1);
	ck_assert_uint_eq(n_unacked, 0);
}
END_TEST

/*
 * A receiver that leaves takes what was queued for it: what was sent with a token (a relay, whose
 * sender famezd keeps count of) is reported unacknowledged, in flight or queued; the rest is not.
 */
START_TEST(test_forget_reports_what_had_a_token)
{
	ck_assert_int_eq(mail_sender_send_env(sender, 7, "relayed, in flight", NULL, 11), 0);
	ck_assert_int_eq(mail_sender_send_env(sender, 7, "relayed, queued", NULL, 12), 0);
	ck_assert_int_eq(mail_sender_send(sender, 7, "our own"), 0);
	mail_sender_forget(sender, 7);
	ck_assert_uint_eq(n_unacked, 2);
	ck_assert_uint_eq(n_timed_out, 0);
	ck_assert_uint_eq(n_delivered, 0);
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);
}
END_TEST

static const Envelope route_to_1600 = { .type = ENVELOPE_ROUTE,
					.dest_cid = 1600,
					.dest_sid = 28,
					.origin_cid = 100,
					.origin_sid = 27 };

/* The switch's side: it writes its verdict into the sender's slot, then acknowledges. */
static void switch_answers(EnvelopeStatus status)
{
	envelope_set_status(slot, status);
	receiver_acks();
}

START_TEST(test_envelope_goes_with_the_text)
{
	Envelope e;

	ck_assert_int_eq(mail_sender_send_env(sender, 15, "hello", &route_to_1600, 42), 0);
	/* In the slot, complete, by the time the length is there and the receiver is rung. */
	ck_assert_uint_eq(n_rings, 1);
	ck_assert_int_eq(ring_envelope, 0);
	ck_assert_uint_eq(ring_length, strlen("hello"));
	ck_assert_int_eq(ring_env.type, ENVELOPE_ROUTE);
	ck_assert_int_eq(ring_env.status, ENVELOPE_STATUS_PENDING);
	ck_assert_uint_eq(ring_env.dest_cid, 1600);
	ck_assert_uint_eq(ring_env.dest_sid, 28);
	ck_assert_str_eq(slot_text(), "hello");
	ck_assert_int_eq(envelope_read(slot, &e), 0);

	/* The receiver's verdict comes back with the token and the envelope it went with. */
	switch_answers(ENVELOPE_STATUS_NO_ROUTE);
	ck_assert_uint_eq(n_delivered, 1);
	ck_assert_int_eq(last_status, ENVELOPE_STATUS_NO_ROUTE);
	ck_assert_uint_eq(last_token, 42);
	ck_assert(last_has_env);
	ck_assert_uint_eq(last_env.dest_cid, 1600);
	ck_assert_str_eq(last_text, "hello");

	ck_assert_int_eq(mail_sender_send_env(sender, 15, "again", &route_to_1600, 43), 0);
	/* The next one starts pending, whatever the last verdict was. */
	ck_assert_int_eq(envelope_get_status(slot), ENVELOPE_STATUS_PENDING);
	switch_answers(ENVELOPE_STATUS_OK);
	ck_assert_int_eq(last_status, ENVELOPE_STATUS_OK);
	ck_assert_uint_eq(last_token, 43);

	/* Every verdict, and garbage, as the receiver wrote it (out of range: malformed). */
	for (unsigned v = 0; v < 256; v++) {
		ck_assert_int_eq(mail_sender_send_env(sender, 15, "v", &route_to_1600, v), 0);
		slot[ENVELOPE_OFFSET + 5] = (uint8_t)v;
		receiver_acks();
		ck_assert_int_eq(last_status, v < ENVELOPE_STATUS_MAX_ ? (EnvelopeStatus)v
								       : ENVELOPE_STATUS_MALFORMED);
		ck_assert_uint_eq(last_token, v);
	}
}
END_TEST

/* Only a route request has a verdict: a delivery, or a message with none, is ok when taken. */
START_TEST(test_only_a_route_request_has_a_verdict)
{
	Envelope deliver = { .type = ENVELOPE_DELIVER, .origin_cid = 1600, .origin_sid = 28 };

	ck_assert_int_eq(mail_sender_send_env(sender, 3, "from afar", &deliver, 7), 0);
	switch_answers(ENVELOPE_STATUS_NO_ROUTE);
	ck_assert_int_eq(last_status, ENVELOPE_STATUS_OK);
	ck_assert_uint_eq(last_token, 7);
	ck_assert(last_has_env);
	ck_assert_int_eq(mail_sender_send(sender, 3, "plain"), 0);
	switch_answers(ENVELOPE_STATUS_NO_ROUTE);
	ck_assert_int_eq(last_status, ENVELOPE_STATUS_OK);
	ck_assert_uint_eq(last_token, 0);
	ck_assert(!last_has_env);
}
END_TEST

/* Bytes 104..127 of our slot: all 0 but the addressee's (111), which names `to`. */
static void assert_no_envelope_for(unsigned to)
{
	uint8_t want[ENVELOPE_SIZE] = { 0 };

	want[MAILBOX_SLOT_ADDRESSEE - ENVELOPE_OFFSET] = (uint8_t)to;
	ck_assert_mem_eq(slot + ENVELOPE_OFFSET, want, sizeof(want));
}

START_TEST(test_no_envelope_clears_a_stale_one)
{
	/* Left by someone before us. */
	envelope_write(slot, &route_to_1600);
	ck_assert_int_eq(mail_sender_send(sender, 4, "plain"), 0);
	ck_assert_int_eq(ring_envelope, -ENOMSG);
	assert_no_envelope_for(4);
	receiver_acks();

	/* Left by our own last message. */
	ck_assert_int_eq(mail_sender_send_env(sender, 15, "routed", &route_to_1600, 1), 0);
	ck_assert_int_eq(mail_sender_send(sender, 15, "then plain"), 0);
	ck_assert_int_eq(ring_envelope, 0);
	switch_answers(ENVELOPE_STATUS_OK);
	ck_assert_str_eq(slot_text(), "then plain");
	ck_assert_int_eq(ring_envelope, -ENOMSG);
	assert_no_envelope_for(15);
}
END_TEST

/* A route request that is not acknowledged is reported with its token and envelope. */
START_TEST(test_unacknowledged_route_request_keeps_its_token)
{
	use_ack_timeout(400000);
	ck_assert_int_eq(mail_sender_send_env(sender, 15, "lost", &route_to_1600, 99), 0);
	RUN_UNTIL(n_timed_out == 1);
	ck_assert_uint_eq(unacked_token, 99);
	ck_assert(unacked_env);
	ck_assert_uint_eq(n_delivered, 0);
}
END_TEST

START_TEST(test_limits)
{
	char big[MAILBOX_MSG_MAX + 1];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(mail_sender_send(sender, 1, big), -EMSGSIZE);
	ck_assert_int_eq(mail_sender_send(sender, 1, ""), -EMSGSIZE);
	ck_assert_int_eq(mail_sender_send(sender, MAIL_DEST_MAX, "x"), -EINVAL);
	for (int i = 0; i <= MAIL_QUEUE_MAX; i++)
		ck_assert_int_eq(mail_sender_send(sender, 2, "x"), 0); /* one is in the slot */
	ck_assert_int_eq(mail_sender_send(sender, 2, "x"), -ENOBUFS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailsender");
	TCase *tc = tcase_create("mailsender");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_at_a_time_in_order);
	tcase_add_test(tc, test_acknowledgement_seen_by_timer);
	tcase_add_test(tc, test_first_look);
	tcase_add_test(tc, test_destinations_take_turns);
	tcase_add_test(tc, test_timeout_takes_slot_back_and_silences);
	tcase_add_test(tc, test_silence_drops_the_backlog);
	tcase_add_test(tc, test_probes_back_off);
	tcase_add_test(tc, test_probes_go_last);
	tcase_add_test(tc, test_forged_responder_is_not_an_acknowledgement);
	tcase_add_test(tc, test_forget_reclaims);
	tcase_add_test(tc, test_forget_counts_what_was_read);
	tcase_add_test(tc, test_forget_reports_what_had_a_token);
	tcase_add_test(tc, test_silence_releases_the_tokens_it_keeps);
	tcase_add_test(tc, test_envelope_goes_with_the_text);
	tcase_add_test(tc, test_only_a_route_request_has_a_verdict);
	tcase_add_test(tc, test_no_envelope_clears_a_stale_one);
	tcase_add_test(tc, test_unacknowledged_route_request_keeps_its_token);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
