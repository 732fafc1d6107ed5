/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "mailbox.h"
#include "mailsender.h"
#include "testlib.h"

static uint8_t slot[MAILBOX_SLOT_SIZE] __attribute__((aligned(8)));
static sd_event *event;
static MailSender *sender;
static unsigned rings[8], n_rings;
static unsigned unacked[8], n_unacked, n_timed_out;
static unsigned n_delivered;

static void ring(void *userdata, unsigned dest)
{
	(void)userdata;
	if (n_rings < 8)
		rings[n_rings] = dest;
	n_rings++;
}

static void on_unacked(void *userdata, unsigned dest, const char *text, bool timed_out)
{
	(void)userdata;
	(void)text;
	if (n_unacked < 8)
		unacked[n_unacked] = dest;
	n_unacked++;
	n_timed_out += timed_out;
}

static void on_delivered(void *userdata, unsigned dest, const char *text)
{
	(void)userdata;
	(void)dest;
	(void)text;
	n_delivered++;
}

static const MailSenderOps ops = { .ring = ring,
				   .unacknowledged = on_unacked,
				   .delivered = on_delivered };

static void setup(void)
{
	memset(slot, 0, sizeof(slot));
	n_rings = n_unacked = n_timed_out = n_delivered = 0;
	ck_assert_int_eq(sd_event_new(&event), 0);
	ck_assert_int_eq(mail_sender_new(&sender, event, slot, 50000, &ops, NULL), 0);
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

START_TEST(test_timeout_takes_slot_back_and_silences)
{
	uint64_t start;

	ck_assert_int_eq(mail_sender_send(sender, 5, "hello"), 0);
	ck_assert_int_eq(mail_sender_send(sender, 6, "other"), 0);
	start = testlib_now_usec();
	while (n_timed_out == 0 && testlib_now_usec() - start < 1000000)
		sd_event_run(event, 1000);
	/* After the 50 ms bound, not much later, the other destination gets the slot. */
	ck_assert_uint_eq(n_timed_out, 1);
	ck_assert_uint_eq(unacked[0], 5);
	ck_assert_uint_lt(testlib_now_usec() - start, 200000);
	ck_assert_str_eq(slot_text(), "other");
	ck_assert_uint_eq(rings[1], 6);
	ck_assert(mail_sender_is_silent(sender, 5));

	/* Messages to a silent destination are given up at once. */
	receiver_acks();
	ck_assert_int_eq(mail_sender_send(sender, 5, "again"), 0);
	ck_assert_uint_eq(n_unacked, 2);
	ck_assert_uint_eq(n_timed_out, 1);
	ck_assert_int_eq(mail_sender_in_flight(sender), -1);

	/* Until it is heard from. */
	mail_sender_heard_from(sender, 5);
	ck_assert_int_eq(mail_sender_send(sender, 5, "welcome back"), 0);
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
	tcase_add_test(tc, test_destinations_take_turns);
	tcase_add_test(tc, test_timeout_takes_slot_back_and_silences);
	tcase_add_test(tc, test_forget_reclaims);
	tcase_add_test(tc, test_forget_counts_what_was_read);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
