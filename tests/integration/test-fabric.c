/* SPDX-License-Identifier: MIT */
/*
 * Fabric mode with famez-client processes and in-process raw peers: the server answers in the
 * mailbox, two clients talk through their slots, a peer that never acknowledges stalls nobody
 * beyond the bound, hostile slots cost only protocol errors, and IDs are recycled.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mailbox.h"
#include "testlib.h"

#define SERVER_ID 15 /* the default 14 client slots + 1 */

static Famezd famezd;

static void run_client(const char *name, const char *commands, char *out, size_t size)
{
	famez_client_run(famezd.socket_path, name, commands, out, size);
}

static uint64_t pong_usec(const char *out, const char *from)
{
	return famez_client_pong_usec(out, from);
}

START_TEST(test_server_answers_in_the_mailbox)
{
	char out[256];

	famezd_start(&famezd, NULL);
	run_client("z",
		   "ping server " TESTLIB_WAIT_S "; link CTL Peer-Attribute; rfc " TESTLIB_WAIT_S
		   "; ping Z-switch " TESTLIB_WAIT_S "; who",
		   out, sizeof(out));

	pong_usec(out, "Z-switch@15");
	/* The server asked for our attributes when we joined, and again once configured. */
	ck_assert(testlib_file_contains(out, "Z-switch@15: Link CTL Peer-Attribute"));
	ck_assert(testlib_file_contains(
		out, "Z-switch@15: Link CTL ACK cclass=FabricSwitch,CID0=1500,SID0=27"));
	ck_assert(testlib_file_contains(
		out, "Z-switch@15: CTL-Write Space=0,PFMCID=1500,PFMSID=27,CID=100,SID=27,Tag=1"));
	ck_assert(testlib_file_contains(out, "configured SID 27 CID 100"));
	ck_assert(testlib_file_contains(out, "id 1 nodename z01 cclass Debugger cid 100 sid 27 (us)"));
	ck_assert(testlib_file_contains(
		out, "id 15 nodename Z-switch cclass FabricSwitch cid 1500 sid 27 (server)"));
	famezd_stop(&famezd);

	/* The server took our answers: Debugger first, then with the configured SID/CID. */
	ck_assert(testlib_file_contains(famezd.log_path, "z01@1 is a Debugger (SID0 0, CID0 0)"));
	ck_assert(testlib_file_contains(famezd.log_path, "z01@1 configured: SID 27, CID 100"));
	ck_assert(
		testlib_file_contains(famezd.log_path, "z01@1 is a Debugger (SID0 27, CID0 100)"));
	ck_assert(testlib_file_contains(famezd.log_path, "0 protocol errors"));
}
END_TEST

START_TEST(test_two_clients_talk_through_their_slots)
{
	char out_a[256], out_b[256];
	pid_t a, b;
	int status;

	famezd_start(&famezd, NULL);
	/* Alpha leaves once its pong was read (famez-client waits for its answers to be read). */
	a = famez_client_start_as(famezd.socket_path, "alpha", "alpha",
				  "wait-int 2 2 " TESTLIB_WAIT_S, out_a, sizeof(out_a));
	testlib_wait_for_output(out_a, "fabric nodename alpha", TESTLIB_WAIT_MS);
	b = famez_client_start_as(famezd.socket_path, "beta", "beta",
				  "send alpha hello there; ping alpha " TESTLIB_WAIT_S, out_b,
				  sizeof(out_b));
	status = testlib_wait(b, 2 * TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "beta: %s",
		      testlib_show(out_b));
	status = testlib_wait(a, 2 * TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "alpha: %s",
		      testlib_show(out_a));
	ck_assert(testlib_file_contains(out_a, "beta@2: hello there"));
	ck_assert(testlib_file_contains(out_a, "beta@2: ping"));
	ck_assert(testlib_file_contains(out_b, "alpha@1: pong"));
	pong_usec(out_b, "alpha@1");
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_many_pings_one_at_a_time)
{
	char cmds[200 * 16] = "", out[256];

	for (int i = 0; i < 200; i++)
		strcat(cmds, "ping server " TESTLIB_WAIT_S ";");
	famezd_start(&famezd, NULL);
	run_client("pinger", cmds, out, sizeof(out));
	/* Every ping answered once, each pong matched to its own ping: no pipelining. */
	ck_assert_uint_eq(testlib_count(out, "pong from Z-switch@15"), 200);
	ck_assert_uint_eq(testlib_count(out, "Z-switch@15: pong"), 200);
	/*
	 * No ring without its message, but one: famezd rings its join-time Peer-Attribute again
	 * when the first ping comes before the client has read it (a guest may have missed the
	 * ring), and that second ring finds the slot empty.
	 */
	ck_assert_uint_le(testlib_count(out, "interrupt vector"), 1);
	ck_assert_uint_eq(testlib_count(out, "interrupt vector"),
			  testlib_count(out, "interrupt vector 15 "));
	famezd_stop(&famezd);
	/*
	 * 200 pings, the answer to the join-time Peer-Attribute and the client's own
	 * Peer-Attribute (what its switch is, for its control space), which famezd answers.
	 */
	ck_assert_msg(testlib_file_contains(famezd.log_path, "202 messages received, 202 sent, "
							     "0 unacknowledged"),
		      "%s", testlib_show(famezd.log_path));
}
END_TEST

/*
 * A peer stopped while a newcomer joins and pings it finds the ring and the server's news of the
 * newcomer waiting together when it resumes: whichever it takes first, the newcomer gets its
 * pong, and is rung for it.
 */
START_TEST(test_a_peer_stopped_while_a_newcomer_pinged_it_answers)
{
	char out[256], text[MAILBOX_MSG_MAX];
	RawClient newcomer;
	uint8_t *mem, *slot;
	size_t size, len;
	pid_t alpha;

	famezd_start(&famezd, NULL);
	alpha = famez_client_start_as(famezd.socket_path, "alpha", "alpha", "sleep 60", out,
				      sizeof(out));
	testlib_wait_for_output(out, "fabric nodename alpha", TESTLIB_WAIT_MS);
	ck_assert_int_eq(kill(alpha, SIGSTOP), 0);
	ck_assert_int_eq(raw_client_connect(&newcomer, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&newcomer, SERVER_ID, TESTLIB_WAIT_MS));
	mem = raw_client_map(&newcomer, &size);
	raw_client_mail(&newcomer, mem, 1, "ping", TESTLIB_WAIT_MS);
	ck_assert_int_eq(kill(alpha, SIGCONT), 0);

	/*
	 * Alpha's pong, in its slot, once it took our ping: named for us (its answer to the
	 * server may come first, and holds the slot until the server takes it).
	 */
	slot = mailbox_slot(mem, 1);
	ck_assert_msg(
		testlib_wait_message(slot, newcomer.state.own_id, text, &len, TESTLIB_WAIT_MS),
		"no pong: %s", testlib_show(out));
	ck_assert_str_eq(text, "pong");
	/* And it rang us: the vector that names alpha, on our own eventfds. */
	{
		uint64_t count = 0;
		uint64_t deadline = testlib_now_usec() + TESTLIB_WAIT_MS * 1000ULL;

		while (count == 0 && testlib_now_usec() < deadline) {
			if (read(newcomer.state.self.fds[1], &count, sizeof(count)) < 0)
				usleep(1000);
		}
		ck_assert_msg(count > 0, "alpha did not ring us: %s", testlib_show(out));
	}
	mailbox_acknowledge(slot, newcomer.state.own_id);
	raw_client_close(&newcomer);
	testlib_stop(alpha, TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_silent_peer_stalls_nobody_beyond_the_bound)
{
	RawClient silent;
	char out[256];

	famezd_start(&famezd, NULL);
	/* A peer with no driver: it never reads its mailbox. */
	ck_assert_int_eq(raw_client_connect(&silent, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&silent, SERVER_ID, TESTLIB_WAIT_MS));

	/* The server's slot holds its question to the silent peer; a ping waits at most 1 s. */
	run_client("first", "ping server 5", out, sizeof(out));
	ck_assert_uint_lt(pong_usec(out, "Z-switch@15"), 1500000);
	/* Once the silent peer has been given up on, it costs nothing. */
	run_client("second", "ping server 5", out, sizeof(out));
	ck_assert_uint_lt(pong_usec(out, "Z-switch@15"), 100000);
	raw_client_close(&silent);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "did not acknowledge"));
}
END_TEST

static void ring_server(RawClient *c, uint64_t times)
{
	raw_client_ring(c, SERVER_ID, c->state.own_id, times);
}

static void ping_ok(const char *name)
{
	famez_client_ping_ok(famezd.socket_path, name, "Z-switch@15");
}

/* famezd with debug lines, where what a peer writes into its slot is logged, and a raw peer. */
static uint8_t *start_verbose_with_raw_peer(RawClient *h, size_t *size)
{
	famezd_start(&famezd, (const char *[]){ "--verbose", NULL });
	ck_assert_int_eq(raw_client_connect(h, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(h, SERVER_ID, TESTLIB_WAIT_MS));
	return raw_client_map(h, size);
}

/* The raw peer leaves, famezd stops: its log. */
static char *stop_with_raw_peer(RawClient *h, uint8_t *mem, size_t size)
{
	munmap(mem, size);
	raw_client_close(h);
	famezd_stop(&famezd);
	return testlib_read_file(famezd.log_path);
}

START_TEST(test_hostile_slots_cost_protocol_errors_only)
{
	RawClient h;
	uint8_t *mem, *slot;
	char *log, *p;
	size_t size;

	mem = start_verbose_with_raw_peer(&h, &size);
	slot = mailbox_slot(mem, h.state.own_id);

	/* A length past the slot. */
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 100000);
	ring_server(&h, 1);
	ping_ok("after-length");
	/* The server freed the slot for us to go on. */
	ck_assert_uint_eq(mailbox_get_u64(slot, MAILBOX_SLOT_MSG_LEN), 0);

	/* No NUL after the message. */
	memcpy(slot + MAILBOX_MSG_OFFSET, "pingpong", 8);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 4);
	ring_server(&h, 1);
	ping_ok("after-nul");

	/* Bytes that are not ASCII. */
	memcpy(slot + MAILBOX_MSG_OFFSET, "p\xc3\xafng", 6);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 5);
	ring_server(&h, 1);
	ping_ok("after-ascii");

	/* Malformed arguments to a known message. */
	ck_assert_int_eq(mailbox_write_message(slot, 0, "Link RFC TTC=soonus"), 0);
	ring_server(&h, 1);
	ping_ok("after-rfc");

	/* Ringing in a tight loop: the server mutes the ringer, others still get answers. */
	for (int i = 0; i < 300000; i++)
		ring_server(&h, 1);
	ping_ok("after-flood");

	log = stop_with_raw_peer(&h, mem, size);
	ck_assert_ptr_nonnull(strstr(log, "message length out of range"));
	ck_assert_ptr_nonnull(strstr(log, "not NUL-terminated printable ASCII"));
	ck_assert_ptr_nonnull(strstr(log, "malformed message: Link RFC TTC=soonus"));
	ck_assert_ptr_nonnull(strstr(log, "tight loop"));
	p = strstr(log, " protocol errors");
	ck_assert_ptr_nonnull(p);
	while (p > log && p[-1] != ' ')
		p--;
	ck_assert_int_ge(atoi(p), 5);
	free(log);
}
END_TEST

/* Link messages that are wrong, or answers to nothing: counted, and nothing else changes. */
START_TEST(test_bad_link_messages_change_nothing)
{
	RawClient h;
	uint8_t *mem, *slot;
	char *log;
	size_t size;

	mem = start_verbose_with_raw_peer(&h, &size);
	slot = mailbox_slot(mem, h.state.own_id);

	/*
	 * The answer to the join-time question, a refusal of nothing, an answer to no question
	 * (once it knows what we are, the server does not ask again).
	 */
	ck_assert_int_eq(mailbox_write_message(slot, 0, "Link CTL ACK cclass=Bridge,CID0=0,SID0=0"),
			 0);
	ring_server(&h, 1);
	ping_ok("after-answer");
	ck_assert_int_eq(mailbox_write_message(slot, 0, "Link CTL NAK not now!EZT=4"), 0);
	ring_server(&h, 1);
	ping_ok("after-nak");
	ck_assert_int_eq(mailbox_write_message(slot, 0, "Link CTL ACK cclass=Forged,CID0=1,SID0=1"),
			 0);
	ring_server(&h, 1);
	ping_ok("after-ack");
	/* A tag the server never gave, and words it does not know. */
	ck_assert_int_eq(
		mailbox_write_message(slot, 0, "Standalone Acknowledgment Tag=77,Reason=OK"), 0);
	ring_server(&h, 1);
	ping_ok("after-tag");
	ck_assert_int_eq(mailbox_write_message(slot, 0, "Frobnicate the fabric"), 0);
	ring_server(&h, 1);
	ping_ok("after-words");
	/* Nothing of it took: the peer is neither configured nor a "Forged". */
	ck_assert_uint_eq(mailbox_get_u64(slot, MAILBOX_SLOT_PEER_CID), 0);
	ck_assert_uint_eq(mailbox_get_u64(slot, MAILBOX_SLOT_PEER_SID), 0);

	log = stop_with_raw_peer(&h, mem, size);
	ck_assert_ptr_nonnull(strstr(log, "is a Bridge"));
	ck_assert_ptr_nonnull(strstr(log, "refused our request: Link CTL NAK not now!EZT=4"));
	ck_assert_ptr_nonnull(strstr(log, "attributes nobody asked for: Link CTL ACK cclass=Forged"));
	ck_assert_ptr_nonnull(strstr(log, "acknowledgment of an unknown tag: Standalone"));
	ck_assert_ptr_nonnull(strstr(log, "-> \"Frobnicate the fabric\""));
	ck_assert_ptr_null(strstr(log, "is a Forged"));
	ck_assert_msg(strstr(log, " 3 protocol errors"), "%s", log);
	ck_assert_msg(strstr(log, " 1 unknown"), "%s", log);
	free(log);
}
END_TEST

/* Its whole handshake is read (its own vectors come last) and it knows peer `data`. */
static bool knows(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t)(uintptr_t)data);

	return p && p->n_vectors == SERVER_ID + 1 && c->state.self.n_vectors == SERVER_ID + 1;
}

START_TEST(test_ids_and_eventfds_are_recycled)
{
	RawClient a, b, c;
	size_t b_messages;
	uint64_t v = 1;

	famezd_start(&famezd, NULL);
	ck_assert_int_eq(raw_client_connect(&a, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&a, SERVER_ID, TESTLIB_WAIT_MS));
	ck_assert_int_eq(a.state.own_id, 1);
	ck_assert_int_eq(raw_client_connect(&b, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&b, knows, (void *)1, TESTLIB_WAIT_MS));
	ck_assert_int_eq(b.state.own_id, 2);

	/*
	 * A leaves: nobody is told (QEMU could not take the ID back). famezd logs a departure
	 * once it has sent whatever it sends about it: then B must have nothing new.
	 */
	raw_client_close(&a);
	testlib_wait_for_output(famezd.log_path, "peer 1 (pid ", TESTLIB_WAIT_MS);
	b_messages = b.n_log;
	raw_client_read(&b, SIZE_MAX);
	ck_assert_uint_eq(b.n_log, b_messages);
	ck_assert_ptr_nonnull(client_state_peer(&b.state, 1));

	/*
	 * C takes ID 1 and its eventfds: B, told nothing new (famezd logs a join once it has
	 * announced it), reaches C through what it has.
	 */
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&c, knows, (void *)2, TESTLIB_WAIT_MS));
	ck_assert_int_eq(c.state.own_id, 1);
	testlib_wait_for_count(famezd.log_path, "peer 1 connected", 2, TESTLIB_WAIT_MS);
	raw_client_read(&b, SIZE_MAX);
	ck_assert_uint_eq(b.n_log, b_messages);
	ck_assert_int_eq(write(client_state_peer(&b.state, 1)->fds[2], &v, 8), 8);
	ck_assert_int_eq(read(c.state.self.fds[2], &v, 8), 8);
	ck_assert_uint_eq(v, 1);
	/* And C reaches B. */
	ck_assert_int_eq(write(client_state_peer(&c.state, 2)->fds[1], &v, 8), 8);
	ck_assert_int_eq(read(b.state.self.fds[1], &v, 8), 8);

	raw_client_close(&b);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_fabric_options)
{
	char log[256];
	const char *const too_many[] = { "-S", "/tmp/x", "--max-peers", "255", NULL };
	const char *const vectors[] = { "-S", "/tmp/x", "--vectors", "4", NULL };
	const char *const mode[] = { "-S", "/tmp/x", "--mode", "switch", NULL };

	snprintf(log, sizeof(log), "%s/opt.log", testlib_tmpdir());
	ck_assert_int_eq(WEXITSTATUS(famezd_run(too_many, log, TESTLIB_WAIT_MS)), 1);
	ck_assert(testlib_file_contains(log, "--max-peers 255 is too many for fabric mode"));
	ck_assert_int_eq(WEXITSTATUS(famezd_run(vectors, log, TESTLIB_WAIT_MS)), 1);
	ck_assert(testlib_file_contains(log, "--vectors applies to --mode ivshmem"));
	ck_assert_int_eq(WEXITSTATUS(famezd_run(mode, log, TESTLIB_WAIT_MS)), 1);
	ck_assert(testlib_file_contains(log, "--mode switch is not a mode"));
}
END_TEST

static bool has_vectors(RawClient *c, void *data)
{
	return c->state.self.n_vectors == (unsigned)(uintptr_t)data;
}

START_TEST(test_small_memory_is_grown_to_hold_the_mailbox)
{
	const char *const args[] = { "--max-peers", "200", "--shm-size", "4K", NULL };
	RawClient c;
	struct stat st;

	famezd_start(&famezd, args);
	ck_assert(testlib_file_contains(famezd.log_path, "cannot hold the mailbox"));
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&c, has_vectors, (void *)202, TESTLIB_WAIT_MS));
	ck_assert_int_eq(fstat(c.state.shm_fd, &st), 0);
	ck_assert_int_eq(st.st_size, 128 << 10); /* 202 slots of 512 bytes: 101K -> 128K */
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fabric");
	TCase *tc = tcase_create("fabric");

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_server_answers_in_the_mailbox);
	tcase_add_test(tc, test_two_clients_talk_through_their_slots);
	tcase_add_test(tc, test_a_peer_stopped_while_a_newcomer_pinged_it_answers);
	tcase_add_test(tc, test_many_pings_one_at_a_time);
	tcase_add_test(tc, test_silent_peer_stalls_nobody_beyond_the_bound);
	tcase_add_test(tc, test_hostile_slots_cost_protocol_errors_only);
	tcase_add_test(tc, test_bad_link_messages_change_nothing);
	tcase_add_test(tc, test_ids_and_eventfds_are_recycled);
	tcase_add_test(tc, test_fabric_options);
	tcase_add_test(tc, test_small_memory_is_grown_to_hold_the_mailbox);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
