/* SPDX-License-Identifier: MIT */
/*
 * Switches linked into one fabric (docs/switches.md): three switches in a line, a - b - c (a and
 * b share subnet 28, c is subnet 29), and r, a switch of its own with Relay=always. Peers here
 * are raw clients in the test process, so that the test sees every byte of the slots: a route
 * request crosses two links and arrives with the origin famezd gave the sender (whatever the
 * sender wrote), a reply comes back the same way, every refusal gets its status, and on r a
 * direct ring reaches no one while the routed message arrives.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doorbell.h"
#include "macro.h"
#include "envelope.h"
#include "mailbox.h"
#include "testlib.h"

#define CLIENTS 4
#define SERVER_ID (CLIENTS + 1)
#define FIRST_LINK_PORT (CLIENTS + 2)
/* The first client of a and of c: ID 1 of a switch alone in its CID block gets CID 100. */
#define A1 "100,28"
#define C1 "100,29"
#define MESSAGES 10000
#define PINGS 200

static Famezd famezd;
static const char *switches_dir;

/* A raw peer of one switch, with its shared memory mapped. */
typedef struct Peer {
	RawClient c;
	uint8_t *mem;
	size_t size;
	unsigned cid, sid;
} Peer;

static void write_switch(const char *name, const char *body)
{
	switches_dir = testlib_write_switch(name, CLIENTS, body);
}

static const char *socket_of(const char *name)
{
	static char path[4][300];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s.sock", testlib_tmpdir(), name);
	return p;
}

/* a - b - c, and r alone with Relay=always. */
static void start_fabric(void)
{
	char link[64];

	snprintf(link, sizeof(link), "SID=28\nLink=%d:b:%d\n", FIRST_LINK_PORT, FIRST_LINK_PORT);
	write_switch("a", link);
	snprintf(link, sizeof(link), "SID=28\nLink=%d:c:%d\n", FIRST_LINK_PORT + 1,
		 FIRST_LINK_PORT);
	write_switch("b", link);
	/* c lets a receiver hold its slot long: tests here fill a receiver's queue at leisure. */
	write_switch("c", "SID=29\nAckTimeoutSec=30\n");
	write_switch("r", "SID=30\nRelay=always\n");
	famezd_start(&famezd, (const char *[]){ "--switches-dir", switches_dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch r: listening on ",
				TESTLIB_WAIT_MS);
}

static uint8_t *slot_of(Peer *p, unsigned id)
{
	return mailbox_slot(p->mem, id);
}

/* The next message famezd sends us through its slot: acknowledged, text in out, envelope. */
static int next_from_switch(Peer *p, char out[MAILBOX_MSG_MAX], Envelope *env)
{
	uint8_t *slot = slot_of(p, SERVER_ID);
	size_t len;
	int r;

	/* Its one slot may hold what it sends another peer first. */
	ck_assert_msg(testlib_wait_message(slot, p->c.state.own_id, out, &len, TESTLIB_WAIT_MS),
		      "nothing from the switch");
	r = envelope_read(slot, env);
	mailbox_acknowledge(slot, p->c.state.own_id);
	return r;
}

/* Writes text for the switch into our slot, with env (or none), and rings it. */
static void send_to_switch(Peer *p, const char *text, const Envelope *env)
{
	uint8_t *slot = slot_of(p, p->c.state.own_id);

	ck_assert(testlib_wait_slot(slot, false, TESTLIB_WAIT_MS));
	if (env)
		envelope_write(slot, env);
	else
		envelope_clear(slot);
	raw_client_mail(&p->c, p->mem, SERVER_ID, text, TESTLIB_WAIT_MS);
}

/* The switch's verdict on the route request in our slot, once it acknowledged it. */
static EnvelopeStatus verdict(Peer *p)
{
	uint8_t *slot = slot_of(p, p->c.state.own_id);

	ck_assert_msg(testlib_wait_slot(slot, false, TESTLIB_WAIT_MS),
		      "the switch did not take the route request");
	return envelope_get_status(slot);
}

/*
 * Joins switch `name` and, unless `configure` is false, asks to be configured (Link RFC) and
 * acknowledges the CTL-Write: the CID,SID famezd gave us are then in our slot.
 */
static void join(Peer *p, const char *name, bool configure)
{
	char text[MAILBOX_MSG_MAX];
	unsigned long long tag;
	Envelope env;

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(raw_client_connect(&p->c, socket_of(name), true), 0);
	ck_assert(raw_client_read_fabric(&p->c, SERVER_ID, TESTLIB_WAIT_MS));
	p->mem = raw_client_map(&p->c, &p->size);
	/* famezd first asks who we are. */
	ck_assert_int_eq(next_from_switch(p, text, &env), -ENOMSG);
	ck_assert_str_eq(text, "Link CTL Peer-Attribute");
	send_to_switch(p, "Link CTL ACK cclass=Debugger,CID0=0,SID0=0", NULL);
	if (!configure)
		return;
	send_to_switch(p, "Link RFC TTC=27us", NULL);
	ck_assert_int_eq(next_from_switch(p, text, &env), -ENOMSG);
	ck_assert_msg(sscanf(strstr(text, "Tag=") ? strstr(text, "Tag=") : "", "Tag=%llu", &tag) ==
			      1,
		      "not a CTL-Write: %s", text);
	snprintf(text, sizeof(text), "Standalone Acknowledgment Tag=%llu,Reason=OK", tag);
	send_to_switch(p, text, NULL);
	/* Configured, famezd asks again, as FAME-Z does. */
	ck_assert_int_eq(next_from_switch(p, text, &env), -ENOMSG);
	ck_assert_str_eq(text, "Link CTL Peer-Attribute");
	send_to_switch(p, "Link CTL ACK cclass=Debugger,CID0=0,SID0=0", NULL);
	ck_assert(testlib_wait_slot(slot_of(p, p->c.state.own_id), false, TESTLIB_WAIT_MS));
	p->cid = (unsigned)mailbox_get_u64(slot_of(p, p->c.state.own_id), MAILBOX_SLOT_PEER_CID);
	p->sid = (unsigned)mailbox_get_u64(slot_of(p, p->c.state.own_id), MAILBOX_SLOT_PEER_SID);
	ck_assert_uint_ne(p->cid, 0);
}

static void leave(Peer *p)
{
	raw_client_close(&p->c);
}

static Envelope route_to(unsigned cid, unsigned sid)
{
	return (Envelope){ .type = ENVELOPE_ROUTE, .dest_cid = (uint16_t)cid,
			   .dest_sid = (uint16_t)sid };
}

START_TEST(test_route_crosses_two_links_both_ways)
{
	Peer a, c;
	char text[MAILBOX_MSG_MAX];
	Envelope env, req;

	start_fabric();
	join(&a, "a", true);
	join(&c, "c", true);
	ck_assert_uint_eq(a.sid, 28);
	ck_assert_uint_eq(c.sid, 29);

	/* A forged origin: famezd writes the one it gave the sender. */
	req = route_to(c.cid, c.sid);
	req.origin_cid = 7;
	req.origin_sid = 7;
	send_to_switch(&a, "hello across", &req);
	ck_assert_int_eq(verdict(&a), ENVELOPE_STATUS_OK);
	ck_assert_int_eq(next_from_switch(&c, text, &env), 0);
	ck_assert_str_eq(text, "hello across");
	ck_assert_int_eq(env.type, ENVELOPE_DELIVER);
	ck_assert_uint_eq(env.origin_cid, a.cid);
	ck_assert_uint_eq(env.origin_sid, a.sid);
	ck_assert_uint_eq(env.dest_cid, c.cid);
	ck_assert_uint_eq(env.hops, 2);

	/* The reply, addressed to the origin, comes back the same way. */
	req = route_to(env.origin_cid, env.origin_sid);
	send_to_switch(&c, "and back", &req);
	ck_assert_int_eq(verdict(&c), ENVELOPE_STATUS_OK);
	ck_assert_int_eq(next_from_switch(&a, text, &env), 0);
	ck_assert_str_eq(text, "and back");
	ck_assert_uint_eq(env.origin_cid, c.cid);
	ck_assert_uint_eq(env.origin_sid, c.sid);
	ck_assert_uint_eq(env.hops, 2);

	/* A ping for the far switch itself is answered by it, routed back. */
	req = route_to((unsigned)mailbox_get_u64(slot_of(&c, SERVER_ID), MAILBOX_SLOT_PEER_CID),
		       c.sid);
	send_to_switch(&a, "ping", &req);
	ck_assert_int_eq(verdict(&a), ENVELOPE_STATUS_OK);
	ck_assert_int_eq(next_from_switch(&a, text, &env), 0);
	ck_assert_str_eq(text, "pong");
	ck_assert_uint_eq(env.origin_cid, req.dest_cid);
	ck_assert_uint_eq(env.origin_sid, c.sid);

	leave(&a);
	leave(&c);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_refusals_say_why)
{
	Peer a, c, stranger;
	Envelope bad;

	start_fabric();
	join(&a, "a", true);
	join(&c, "c", true);
	join(&stranger, "a", false);

	/* No switch has SID 99. */
	send_to_switch(&a, "nowhere", &(Envelope){ .type = ENVELOPE_ROUTE, .dest_cid = 100,
						    .dest_sid = 99 });
	ck_assert_str_eq(envelope_status_to_string(verdict(&a)), "no-route");
	/* Routed to c's port 4, where nobody is. */
	send_to_switch(&a, "nobody", &(Envelope){ .type = ENVELOPE_ROUTE,
						   .dest_cid = (uint16_t)(c.cid / 100 * 400),
						   .dest_sid = (uint16_t)c.sid });
	ck_assert_str_eq(envelope_status_to_string(verdict(&a)), "unreachable");
	/* A sender without a CID has no origin to give. */
	send_to_switch(&stranger, "who am I", &(Envelope){ .type = ENVELOPE_ROUTE,
							    .dest_cid = (uint16_t)c.cid,
							    .dest_sid = (uint16_t)c.sid });
	ck_assert_str_eq(envelope_status_to_string(verdict(&stranger)), "not-configured");
	/* A peer does not deliver: only switches do. */
	bad = route_to(c.cid, c.sid);
	bad.type = ENVELOPE_DELIVER;
	send_to_switch(&a, "posing as a switch", &bad);
	ck_assert_str_eq(envelope_status_to_string(verdict(&a)), "malformed");

	/* None of it reached c: the next thing it gets is this. */
	send_to_switch(&a, "still fine", &(Envelope){ .type = ENVELOPE_ROUTE,
						       .dest_cid = (uint16_t)c.cid,
						       .dest_sid = (uint16_t)c.sid });
	ck_assert_int_eq(verdict(&a), ENVELOPE_STATUS_OK);
	{
		char text[MAILBOX_MSG_MAX];
		Envelope env;

		ck_assert_int_eq(next_from_switch(&c, text, &env), 0);
		ck_assert_str_eq(text, "still fine");
	}
	leave(&stranger);
	leave(&a);
	leave(&c);
	famezd_stop(&famezd);
}
END_TEST

/*
 * A sender at its quota waits (its slot unacknowledged) while its destination does not read; the
 * destination leaves: what was queued for it is dropped, and the sender goes on at once (its next
 * request is answered: nobody holds that CID any more).
 */
START_TEST(test_a_sender_held_by_a_receiver_that_leaves_goes_on)
{
	Peer a, c;
	Envelope to_c;
	int i;

	start_fabric();
	join(&a, "a", true);
	join(&c, "c", true);
	to_c = route_to(c.cid, c.sid);
	/* c never reads: the first is in the switch's slot, the next 7 queued behind it. */
	for (i = 0; i < 8; i++) {
		send_to_switch(&a, "unread", &to_c);
		ck_assert_int_eq(verdict(&a), ENVELOPE_STATUS_OK);
	}
	/* The ninth waits in a's slot: a is at its quota. */
	send_to_switch(&a, "held", &to_c);
	ck_assert(!testlib_wait_slot(slot_of(&a, a.c.state.own_id), false, 200));
	leave(&c);
	ck_assert_str_eq(envelope_status_to_string(verdict(&a)), "unreachable");
	leave(&a);
	famezd_stop(&famezd);
}
END_TEST

/*
 * A sender held because its receiver's queue in the switch is full (of the switch's own answers
 * to it) goes on as soon as the receiver reads: its message follows them.
 */
START_TEST(test_a_sender_held_for_a_full_queue_goes_on_when_it_drains)
{
	char text[MAILBOX_MSG_MAX];
	Peer a, c;
	Envelope env, to_c;
	int i;

	start_fabric();
	join(&a, "a", true);
	join(&c, "c", true);
	/* c asks its switch for 65 pongs and reads none: one in the switch's slot, 64 queued. */
	for (i = 0; i < 65; i++)
		send_to_switch(&c, "ping", NULL);
	ck_assert(testlib_wait_slot(slot_of(&c, c.c.state.own_id), false, TESTLIB_WAIT_MS));
	to_c = route_to(c.cid, c.sid);
	send_to_switch(&a, "behind the pongs", &to_c);
	ck_assert(!testlib_wait_slot(slot_of(&a, a.c.state.own_id), false, 200));
	/* c reads: the 65 pongs, then a's message. */
	for (i = 0; i < 65; i++) {
		ck_assert_int_eq(next_from_switch(&c, text, &env), -ENOMSG);
		ck_assert_str_eq(text, "pong");
	}
	ck_assert_int_eq(verdict(&a), ENVELOPE_STATUS_OK);
	ck_assert_int_eq(next_from_switch(&c, text, &env), 0);
	ck_assert_str_eq(text, "behind the pongs");
	ck_assert_uint_eq(env.origin_cid, a.cid);
	leave(&a);
	leave(&c);
	famezd_stop(&famezd);
}
END_TEST

/* The count in eventfd fd, read away: 0 when nothing rang it. */
static uint64_t take_count(int fd)
{
	uint64_t count = 0;

	(void)doorbell_take(fd, &count);
	return count;
}

START_TEST(test_relay_always_routes_everything)
{
	Peer x, y;
	char text[MAILBOX_MSG_MAX];
	Envelope env;
	const ClientPeer *yx;

	start_fabric();
	join(&x, "r", true);
	join(&y, "r", true);
	ck_assert_uint_eq(mailbox_get_u64(x.mem, MAILBOX_GLOBAL_FLAGS) & MAILBOX_FLAG_RELAY_ALWAYS,
			  MAILBOX_FLAG_RELAY_ALWAYS);
	/* What x was given to ring y: a decoy, which y does not listen to. */
	raw_client_read(&x.c, 64);
	yx = client_state_peer(&x.c.state, y.c.state.own_id);
	ck_assert_ptr_nonnull(yx);
	raw_client_ring(&x.c, y.c.state.own_id, x.c.state.own_id, 1);
	ck_assert_uint_eq(take_count(y.c.state.self.fds[x.c.state.own_id]), 0);

	/* The routed message arrives, through the switch. */
	send_to_switch(&x, "through the switch", &(Envelope){ .type = ENVELOPE_ROUTE,
							       .dest_cid = (uint16_t)y.cid,
							       .dest_sid = (uint16_t)y.sid });
	ck_assert_int_eq(verdict(&x), ENVELOPE_STATUS_OK);
	ck_assert_int_eq(next_from_switch(&y, text, &env), 0);
	ck_assert_str_eq(text, "through the switch");
	ck_assert_uint_eq(env.origin_cid, x.cid);
	ck_assert_uint_eq(env.hops, 0);
	/* And the switch rang y on its vector, the real one. */
	ck_assert_uint_gt(take_count(y.c.state.self.fds[SERVER_ID]), 0);
	leave(&x);
	leave(&y);
	famezd_stop(&famezd);
}
END_TEST

/* Waits for famez-client pid to succeed, its output in out. */
static void client_succeeds(pid_t pid, const char *out, int timeout_ms)
{
	int status = testlib_wait(pid, timeout_ms);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "famez-client (0x%x): %s",
		      status, testlib_show(out));
}

/* famez-clients in a and c send each other 10,000 messages at once: all arrive, in order. */
START_TEST(test_ten_thousand_messages_both_ways_in_order)
{
	char a_out[256], c_out[256], commands[128];
	pid_t a, c;
	unsigned bad;

	start_fabric();
	snprintf(commands, sizeof(commands), "rfc 5; wait-msg 1 60; flood %s %d; wait-msg %d 300",
		 C1, MESSAGES, MESSAGES);
	a = famez_client_start_as(socket_of("a"), "a1", "a1", commands, a_out, sizeof(a_out));
	testlib_wait_for_output(a_out, "configured SID 28 ", TESTLIB_WAIT_MS);
	snprintf(commands, sizeof(commands), "rfc 5; send %s ready; flood %s %d; wait-msg %d 300",
		 A1, A1, MESSAGES, MESSAGES);
	c = famez_client_start_as(socket_of("c"), "c1", "c1", commands, c_out, sizeof(c_out));
	client_succeeds(a, a_out, 10 * TESTLIB_WAIT_MS);
	client_succeeds(c, c_out, 10 * TESTLIB_WAIT_MS);

	/* Each saw the other's CID,SID as the origin, never its switch's. */
	ck_assert(testlib_file_contains(a_out, C1 ": ready\n"));
	bad = famez_client_flood_check(a_out, C1, MESSAGES);
	ck_assert_msg(bad == 0, "a1: seq=%u from c1 missing or out of order", bad);
	bad = famez_client_flood_check(c_out, A1, MESSAGES);
	ck_assert_msg(bad == 0, "c1: seq=%u from a1 missing or out of order", bad);
	famezd_stop(&famezd);
}
END_TEST

/* The round trips of PINGS pings from a newcomer of c to c3, sorted; p50, p99 in *p. */
static void ping_c3(const char *name, uint64_t *p50, uint64_t *p99)
{
	char out[256], *commands = malloc(PINGS * 16 + 1);
	uint64_t usec[PINGS];
	size_t n;

	ck_assert_ptr_nonnull(commands);
	commands[0] = '\0';
	for (int i = 0; i < PINGS; i++)
		strcat(commands, "ping c3 30; ");
	client_succeeds(
		famez_client_start_as(socket_of("c"), name, name, commands, out, sizeof(out)), out,
		4 * TESTLIB_WAIT_MS);
	free(commands);
	n = famez_client_pong_times(out, "c3@2", usec, PINGS);
	ck_assert_msg(n == PINGS, "%s: %zu pongs of %d: %s", name, n, PINGS, testlib_show(out));
	*p50 = usec[n / 2];
	*p99 = usec[n * 99 / 100];
}

/*
 * A peer of a floods a peer of c with routed messages: two other peers of c, pinging each other,
 * see no difference that matters, and famezd does not grow.
 */
START_TEST(test_a_routed_flood_costs_other_peers_nothing)
{
	bool sanitized = getenv("FAMEZ_SANITIZED") != NULL;
	char sink_out[256], c3_out[256], flood_out[256], commands[128];
	uint64_t p50_before, p99_before, p50_during, p99_during;
	long rss_before, rss_during;
	unsigned routed_before;
	pid_t sink, c3, flooder;

	start_fabric();
	sink = famez_client_start_as(socket_of("c"), "c1", "c1", "rfc 5; wait-msg 10000000 600",
				     sink_out, sizeof(sink_out));
	testlib_wait_for_output(sink_out, "configured SID 29 ", TESTLIB_WAIT_MS);
	c3 = famez_client_start_as(socket_of("c"), "c3", "c3", "sleep 600", c3_out, sizeof(c3_out));
	testlib_wait_for_output(c3_out, "connected id 2 ", TESTLIB_WAIT_MS);
	ping_c3("warm-up", &p50_before, &p99_before);
	ping_c3("before", &p50_before, &p99_before);
	rss_before = testlib_rss_kib(famezd.pid);

	snprintf(commands, sizeof(commands), "rfc 5; flood %s 10000000", C1);
	flooder = famez_client_start_as(socket_of("a"), "flooder", "flooder", commands, flood_out,
					sizeof(flood_out));
	/* The flood is under way once the sink has a thousand of its messages. */
	testlib_wait_for_output(sink_out, "100,28: seq=1000\n", TESTLIB_WAIT_MS);
	routed_before = testlib_count(sink_out, "100,28: seq=");
	ping_c3("during", &p50_during, &p99_during);
	rss_during = testlib_rss_kib(famezd.pid);
	ck_assert_msg(testlib_wait(flooder, 0) == -ETIMEDOUT,
		      "the flood ended before the pings: %s", testlib_show(flood_out));
	routed_before = testlib_count(sink_out, "100,28: seq=") - routed_before;
	testlib_stop(flooder, TESTLIB_WAIT_MS);
	testlib_stop(sink, TESTLIB_WAIT_MS);
	testlib_stop(c3, TESTLIB_WAIT_MS);
	famezd_stop(&famezd);

	printf("c3 pinged by a peer of c, %d pings: before p50 %" PRIu64 " p99 %" PRIu64
	       " us; during a's routed flood p50 %" PRIu64 " p99 %" PRIu64 " us (%u messages "
	       "routed meanwhile); famezd's RSS %ld KiB before, %ld KiB during\n",
	       PINGS, p50_before, p99_before, p50_during, p99_during, routed_before, rss_before,
	       rss_during);
	ck_assert_uint_ge(routed_before, 100);
	ck_assert_msg(p99_during < 10 * p99_before + 50000,
		      "c's p99 went from %" PRIu64 " to %" PRIu64 " us", p99_before, p99_during);
	if (!sanitized)
		ck_assert_msg(rss_during < rss_before + 8192, "famezd grew from %ld to %ld KiB",
			      rss_before, rss_during);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("links");
	TCase *tc = tcase_create("links");

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_route_crosses_two_links_both_ways);
	tcase_add_test(tc, test_refusals_say_why);
	tcase_add_test(tc, test_relay_always_routes_everything);
	tcase_add_test(tc, test_a_sender_held_by_a_receiver_that_leaves_goes_on);
	tcase_add_test(tc, test_a_sender_held_for_a_full_queue_goes_on_when_it_drains);
	tcase_add_test(tc, test_ten_thousand_messages_both_ways_in_order);
	tcase_add_test(tc, test_a_routed_flood_costs_other_peers_nothing);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
