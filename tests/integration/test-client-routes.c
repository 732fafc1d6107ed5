/* SPDX-License-Identifier: MIT */
/*
 * famez-client across linked switches, against a scripted switch: the test serves the ivshmem
 * handshake itself (ID 1 for famez-client, a second peer "local2" as ID 2, the switch as ID 3)
 * and plays the switch in the mailbox: it answers route requests with the verdict a test
 * chooses and delivers messages from components elsewhere with a DELIVER envelope. So what
 * famez-client writes and makes of the envelope is checked byte for byte, whatever famezd's
 * router does.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "envelope.h"
#include "macro.h"
#include "mailbox.h"
#include "testlib.h"
#include "wire.h"

#define CLIENTS 2
#define SWITCH_ID 3
#define VECTORS 4
#define SHM_SIZE 65536

/* A component elsewhere on the fabric, and one no route leads to. */
#define REMOTE_CID 1600
#define REMOTE_SID 28
#define NOWHERE_CID 999

typedef struct Delivery {
	uint16_t cid, sid;
	bool malformed; /* its envelope has 200 hops */
	bool for_local2; /* named for local2, as a late ring finds the switch's next message */
	char text[MAILBOX_MSG_MAX];
} Delivery;

typedef struct FakeSwitch {
	char socket_path[256];
	int listen_fd;
	int shm_fd;
	uint8_t *mem;
	uint64_t flags;
	/* eventfds by vector: famez-client's own, the switch's, local2's */
	int client_fds[VECTORS], switch_fds[VECTORS], local_fds[VECTORS];

	/* The flood sequence number from which the switch refuses (0: never). */
	unsigned refuse_seq;
	/* Deliveries waiting for the switch's slot, oldest first. */
	Delivery *queue;
	size_t n_queue, first_queued;

	/* What famez-client sent the switch: every route request, and the direct messages. */
	unsigned routed, direct;
	char log_path[300];
	FILE *log;
	unsigned next_seq; /* the flood seq the switch expects next */
	bool seq_out_of_order;
	/* Who famez-client rang last: the switch, or local2 (both read its one slot). */
	bool switch_rung, local_rung;
	unsigned local_pongs; /* pongs local2 owes */
	/*
	 * A delivery named for local2: 1 rung, 2 famez-client read its ring and local2 pinged it,
	 * 3 its pong came with the delivery still in the slot (left alone), 4 taken (wrongly).
	 */
	unsigned late_ring;
} FakeSwitch;

static FakeSwitch fs;

static uint8_t *slot(unsigned id)
{
	return mailbox_slot(fs.mem, id);
}

static void new_eventfds(int fds[VECTORS])
{
	for (unsigned v = 0; v < VECTORS; v++) {
		fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ck_assert_int_ge(fds[v], 0);
	}
}

static void close_eventfds(int fds[VECTORS])
{
	for (unsigned v = 0; v < VECTORS; v++)
		safe_close(fds[v]);
}

/* A switch with SID 27, CID 300; local2 configured as 200,27 (or not, if cid is 0). */
static void switch_start(uint64_t flags, unsigned local_cid)
{
	static const MailboxIdentity identity = {
		.nodename = "Z-switch", .cclass = "FabricSwitch", .sid = 27, .cid = 300
	};
	struct sockaddr_un sa;

	memset(&fs, 0, sizeof(fs));
	fs.flags = flags;
	fs.next_seq = 1;
	snprintf(fs.socket_path, sizeof(fs.socket_path), "%s/switch.sock", testlib_tmpdir());
	snprintf(fs.log_path, sizeof(fs.log_path), "%s/switch.log", testlib_tmpdir());
	fs.log = fopen(fs.log_path, "we");
	ck_assert_ptr_nonnull(fs.log);
	setvbuf(fs.log, NULL, _IOLBF, 0);

	fs.shm_fd = memfd_create("fake-switch", MFD_CLOEXEC);
	ck_assert_int_ge(fs.shm_fd, 0);
	ck_assert_int_eq(ftruncate(fs.shm_fd, SHM_SIZE), 0);
	fs.mem = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fs.shm_fd, 0);
	ck_assert_ptr_ne(fs.mem, MAP_FAILED);
	mailbox_init(fs.mem, CLIENTS, &identity);
	mailbox_set_u64(slot(0), MAILBOX_GLOBAL_FLAGS, flags);
	mailbox_set_nodename(slot(2), "local2");
	mailbox_set_cclass(slot(2), "Debugger");
	mailbox_set_u64(slot(2), MAILBOX_SLOT_PEER_CID, local_cid);
	mailbox_set_u64(slot(2), MAILBOX_SLOT_PEER_SID, local_cid ? 27 : 0);

	new_eventfds(fs.client_fds);
	new_eventfds(fs.switch_fds);
	new_eventfds(fs.local_fds);
	fs.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fs.listen_fd, 0);
	testlib_sockaddr(&sa, fs.socket_path);
	ck_assert_int_eq(bind(fs.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fs.listen_fd, 1), 0);
}

static void switch_stop(void)
{
	/* Not started, or stopped already: its fds are 0, not ours to close. */
	if (!fs.mem)
		return;
	close_eventfds(fs.client_fds);
	close_eventfds(fs.switch_fds);
	close_eventfds(fs.local_fds);
	safe_close(fs.listen_fd);
	unlink(fs.socket_path);
	safe_close(fs.shm_fd);
	munmap(fs.mem, SHM_SIZE);
	fclose(fs.log);
	free(fs.queue);
	memset(&fs, 0, sizeof(fs));
}

static void teardown(void)
{
	switch_stop();
	testlib_teardown();
}

/* The ivshmem handshake: our version, its ID, the memory, the peers' eventfds, then its own. */
static int handshake(void)
{
	int conn = accept4(fs.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	ck_assert_int_ge(conn, 0);
	ck_assert_int_eq(wire_send_all(conn, WIRE_PROTOCOL_VERSION, -1), 0);
	ck_assert_int_eq(wire_send_all(conn, 1, -1), 0);
	ck_assert_int_eq(wire_send_all(conn, WIRE_SHM_ID, fs.shm_fd), 0);
	for (unsigned v = 0; v < VECTORS; v++)
		ck_assert_int_eq(wire_send_all(conn, 2, fs.local_fds[v]), 0);
	for (unsigned v = 0; v < VECTORS; v++)
		ck_assert_int_eq(wire_send_all(conn, SWITCH_ID, fs.switch_fds[v]), 0);
	for (unsigned v = 0; v < VECTORS; v++)
		ck_assert_int_eq(wire_send_all(conn, 1, fs.client_fds[v]), 0);
	return conn;
}

static void ring_client(unsigned vector)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(fs.client_fds[vector], &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Queues text for delivery to famez-client from cid,sid. */
static void deliver(uint16_t cid, uint16_t sid, const char *text)
{
	Delivery *d;

	if (fs.n_queue % 64 == 0) {
		fs.queue = realloc(fs.queue, (fs.n_queue + 64) * sizeof(*fs.queue));
		ck_assert_ptr_nonnull(fs.queue);
	}
	d = &fs.queue[fs.n_queue++];
	*d = (Delivery){ .cid = cid, .sid = sid };
	snprintf(d->text, sizeof(d->text), "%s", text);
}

static EnvelopeStatus verdict(const Envelope *e, const char *text)
{
	unsigned seq;

	if (e->dest_cid == NOWHERE_CID)
		return ENVELOPE_STATUS_NO_ROUTE;
	if (fs.refuse_seq && sscanf(text, "seq=%u", &seq) == 1 && seq == fs.refuse_seq)
		return ENVELOPE_STATUS_UNREACHABLE;
	return ENVELOPE_STATUS_OK;
}

/* Whether eventfd fd was rung since last looked at. */
static bool rung(int fd)
{
	uint64_t count;

	return read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count);
}

/* local2 reads famez-client's slot: it answers a ping as any peer does. */
static void local_takes(const char *text)
{
	fprintf(fs.log, "local2: %s\n", text);
	if (strcmp(text, "ping") == 0)
		fs.local_pongs++;
	/*
	 * famez-client handles one ring at a time and had read the switch's before local2's
	 * ping: by this pong it has done with the delivery for local2, or taken it.
	 */
	if (strcmp(text, "pong") == 0 && fs.late_ring == 2) {
		fs.late_ring = mailbox_slot_is_free(slot(SWITCH_ID)) ? 4 : 3;
		mailbox_reclaim(slot(SWITCH_ID));
	}
}

/*
 * The delivery for local2 in the switch's slot rang famez-client: once it read that ring (its
 * eventfd drained), local2 pings it, so its pong says when the ring was handled.
 */
static bool late_ring_next(void)
{
	if (fs.late_ring != 1 ||
	    poll(&(struct pollfd){ .fd = fs.client_fds[SWITCH_ID], .events = POLLIN }, 1, 0) != 0 ||
	    !mailbox_slot_is_free(slot(2)))
		return false;
	envelope_clear(slot(2));
	ck_assert_int_eq(mailbox_write_message(slot(2), 1, "ping"), 0);
	ring_client(2);
	fs.late_ring = 2;
	return true;
}

/*
 * Takes what famez-client's slot holds, as the peer it rang does: the switch (a route request,
 * or a message for the switch itself), or local2.
 */
static bool take_request(void)
{
	char text[MAILBOX_MSG_MAX];
	size_t len;
	Envelope e;
	unsigned seq, to;

	fs.switch_rung |= rung(fs.switch_fds[1]);
	fs.local_rung |= rung(fs.local_fds[1]);
	if (mailbox_read_message(slot(1), 0, text, &len) < 0)
		return false;
	/*
	 * Whom it is for says who takes it, with that one rung: a ring alone may be a late one
	 * (famez-client rings a peer again when it hears from it) for a message already taken.
	 */
	to = slot(1)[MAILBOX_SLOT_ADDRESSEE];
	if (envelope_read(slot(1), &e) == 0 && e.type == ENVELOPE_ROUTE) {
		EnvelopeStatus status = verdict(&e, text);

		fs.routed++;
		fs.switch_rung = false;
		fprintf(fs.log, "route %u,%u status %d: %s\n", e.dest_cid, e.dest_sid, e.status,
			text);
		if (sscanf(text, "seq=%u", &seq) == 1) {
			if (seq != fs.next_seq)
				fs.seq_out_of_order = true;
			fs.next_seq = seq + 1;
		}
		/* The switch answers a ping from the component it was for. */
		if (status == ENVELOPE_STATUS_OK && strcmp(text, "ping") == 0)
			deliver(e.dest_cid, e.dest_sid, "pong");
		envelope_set_status(slot(1), status);
		mailbox_acknowledge(slot(1), SWITCH_ID);
	} else if (to == SWITCH_ID && fs.switch_rung) {
		fs.switch_rung = false;
		fs.direct++;
		fprintf(fs.log, "direct: %s\n", text);
		mailbox_acknowledge(slot(1), SWITCH_ID);
	} else if (to == 2 && fs.local_rung) {
		fs.local_rung = false;
		local_takes(text);
		mailbox_acknowledge(slot(1), 2);
	} else {
		return false;
	}
	return true;
}

/* local2's pongs, through its own slot, once famez-client read the last one. */
static bool local_answers(void)
{
	if (!fs.local_pongs || !mailbox_slot_is_free(slot(2)))
		return false;
	fs.local_pongs--;
	envelope_clear(slot(2));
	ck_assert_int_eq(mailbox_write_message(slot(2), 1, "pong"), 0);
	ring_client(2);
	return true;
}

/* Writes the next delivery into the switch's slot once famez-client has read the last one. */
static bool deliver_next(void)
{
	const Delivery *d;
	Envelope e;

	if (fs.first_queued == fs.n_queue || !mailbox_slot_is_free(slot(SWITCH_ID)))
		return false;
	d = &fs.queue[fs.first_queued++];
	e = (Envelope){ .type = ENVELOPE_DELIVER,
			.hops = 1,
			.dest_cid = 100,
			.dest_sid = 27,
			.origin_cid = d->cid,
			.origin_sid = d->sid };
	envelope_write(slot(SWITCH_ID), &e);
	if (d->malformed)
		slot(SWITCH_ID)[ENVELOPE_OFFSET + 6] = 200;
	ck_assert_int_eq(mailbox_write_message(slot(SWITCH_ID), d->for_local2 ? 2 : 1, d->text), 0);
	ring_client(SWITCH_ID);
	if (d->for_local2)
		fs.late_ring = 1;
	return true;
}

/*
 * Runs famez-client with commands against the switch until it exits, playing the switch
 * meanwhile; its exit code. Its output (stdout and stderr) in out.
 */
static int run_client(const char *name, const char *commands, char *out, size_t out_size)
{
	uint64_t deadline = testlib_now_usec() + 2 * (uint64_t)TESTLIB_WAIT_MS * 1000;
	pid_t pid = famez_client_start_as(fs.socket_path, name, "tester", commands, out, out_size);
	int conn = handshake(), status;

	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		bool busy;

		if (done == pid)
			break;
		ck_assert_msg(testlib_now_usec() < deadline, "%s never finished: %s", name,
			      testlib_show(out));
		busy = take_request();
		busy |= deliver_next();
		busy |= local_answers();
		busy |= late_ring_next();
		if (!busy)
			poll((struct pollfd[]){ { .fd = fs.switch_fds[1], .events = POLLIN },
						{ .fd = fs.local_fds[1], .events = POLLIN } },
			     2, 1);
	}
	close(conn);
	ck_assert_msg(WIFEXITED(status), "%s died: %s", name, testlib_show(out));
	return WEXITSTATUS(status);
}

/* Runs famez-client and asserts its exit code. */
static void expect_exit(int code, const char *name, const char *commands, char *out,
			size_t out_size)
{
	int r = run_client(name, commands, out, out_size);

	ck_assert_msg(r == code, "%s exited %d, not %d: %s", name, r, code, testlib_show(out));
}

static void expect_output(const char *path, const char *needle)
{
	ck_assert_msg(testlib_file_contains(path, needle), "no '%s' in: %s", needle,
		      testlib_show(path));
}

START_TEST(test_routed_send_and_ping)
{
	char out[256];

	switch_start(MAILBOX_FLAG_ROUTES, 200);
	expect_exit(0, "routed",
		    "send 1600,28 hello there; ping 1600,28 " TESTLIB_WAIT_S
		    "; send local2 next door; ping 200,27 " TESTLIB_WAIT_S "; dump",
		    out, sizeof(out));
	/* Routed: the text with an envelope to 1600,28, pending until the switch says. */
	expect_output(fs.log_path, "route 1600,28 status 0: hello there");
	expect_output(fs.log_path, "route 1600,28 status 0: ping");
	expect_output(out, "1600,28: pong");
	expect_output(out, "pong from 1600,28 in ");
	expect_output(out, "fabric routes yes relay-always no routed-sent 2 routed-refused 0 "
			   "routed-received 1");
	/* A peer of our switch, by name or by its CID,SID, is rung directly as before. */
	expect_output(fs.log_path, "local2: next door");
	expect_output(fs.log_path, "local2: ping");
	expect_output(out, "pong from local2@2 in ");
	ck_assert_uint_eq(fs.routed, 2);
	switch_stop();
}
END_TEST

START_TEST(test_refusals_fail_the_command)
{
	char out[256];
	uint64_t start;

	switch_start(MAILBOX_FLAG_ROUTES, 200);
	expect_exit(1, "send", "send 999,28 lost; dump", out, sizeof(out));
	expect_output(out, "cannot reach 999,28: no-route");
	expect_output(out, "routed-sent 0 routed-refused 1");
	ck_assert_uint_eq(testlib_count(out, "cannot reach"), 1);

	/* A refused ping fails at once, not when its wait is over. */
	start = testlib_now_usec();
	expect_exit(1, "ping", "ping 999,28 " TESTLIB_WAIT_S, out, sizeof(out));
	ck_assert_uint_lt(testlib_now_usec() - start, 10000000);
	expect_output(out, "cannot reach 999,28: no-route");
	/* The commands after a refusal still run; the exit code says one failed. */
	expect_exit(1, "after", "send 999,28 lost; send 1600,28 found", out, sizeof(out));
	expect_output(fs.log_path, "route 1600,28 status 0: found");
	switch_stop();
}
END_TEST

START_TEST(test_a_switch_that_does_not_route)
{
	char out[256];

	switch_start(0, 200);
	expect_exit(1, "unrouted", "send 1600,28 hello; dump", out, sizeof(out));
	expect_output(out, "the switch does not route: 1600,28 is not on it");
	expect_output(out, "fabric routes no relay-always no routed-sent 0");
	ck_assert_uint_eq(fs.routed, 0);
	/* What is on our switch goes as always. */
	expect_exit(0, "local", "send 200,27 by address; send local2 by name", out, sizeof(out));
	expect_exit(1, "nobody", "send 1,2,3 x", out, sizeof(out));
	expect_output(out, "no peer '1,2,3' on the fabric");
	switch_stop();
}
END_TEST

/*
 * A ring that comes late (the switch rang again; famez-client had taken the message) finds the
 * switch's slot holding its next message, named for another peer: famez-client leaves it.
 */
START_TEST(test_a_late_ring_leaves_another_peers_message)
{
	char out[256];

	switch_start(MAILBOX_FLAG_ROUTES, 200);
	deliver(REMOTE_CID, REMOTE_SID, "for local2");
	fs.queue[0].for_local2 = true;
	deliver(REMOTE_CID, REMOTE_SID, "for us");
	expect_exit(0, "receiver", "wait-msg 1 " TESTLIB_WAIT_S "; dump", out, sizeof(out));
	ck_assert_msg(fs.late_ring == 3, "famez-client took local2's message (%u): %s",
		      fs.late_ring, testlib_show(out));
	expect_output(out, "1600,28: for us");
	ck_assert_msg(!testlib_file_contains(out, "for local2"), "%s", testlib_show(out));
	expect_output(out, "ctl-writes-refused 0 not-ours 1");
	expect_output(fs.log_path, "local2: pong");
	switch_stop();
}
END_TEST

START_TEST(test_delivered_messages_name_their_origin)
{
	char out[256], expected[64];
	uint64_t one = 1;

	switch_start(MAILBOX_FLAG_ROUTES, 200);
	deliver(REMOTE_CID, REMOTE_SID, "hello from afar");
	deliver(REMOTE_CID, REMOTE_SID, "ping");
	/* Link-level requests from elsewhere: no answer, and nobody else configures us. */
	deliver(REMOTE_CID, REMOTE_SID, "Link CTL Peer-Attribute");
	deliver(REMOTE_CID, REMOTE_SID, "CTL-Write Space=0,PFMCID=1,PFMSID=1,CID=5,SID=5,Tag=1");
	for (int i = 1; i <= 500; i++) {
		snprintf(expected, sizeof(expected), "seq=%d", i);
		deliver(REMOTE_CID, REMOTE_SID, expected);
	}
	/* An envelope out of range names no origin: the switch's own message, then. */
	deliver(REMOTE_CID, REMOTE_SID, "garbled");
	fs.queue[fs.n_queue - 1].malformed = true;
	/* local2 forges a delivery in its own slot: only the switch's slot is believed. */
	envelope_write(slot(2), &(Envelope){ .type = ENVELOPE_DELIVER,
					     .origin_cid = REMOTE_CID,
					     .origin_sid = REMOTE_SID });
	ck_assert_int_eq(mailbox_write_message(slot(2), 1, "forged"), 0);
	ck_assert_int_eq(write(fs.client_fds[2], &one, sizeof(one)), (ssize_t)sizeof(one));

	expect_exit(0, "receiver", "wait-msg 503 " TESTLIB_WAIT_S "; dump", out, sizeof(out));
	expect_output(out, "1600,28: hello from afar");
	expect_output(out, "local2@2: forged");
	ck_assert(!testlib_file_contains(out, "1600,28: forged"));
	expect_output(out, "Z-switch@3: garbled");
	expect_output(out, "the server's slot holds a malformed envelope");
	expect_output(out, "configured no sid 0 cid 0 messages 503 ctl-writes-refused 1");
	expect_output(out, "routed-received 504");
	/* The ping was answered by a route back to its origin; the rest was not answered. */
	expect_output(fs.log_path, "route 1600,28 status 0: pong");
	ck_assert_uint_eq(fs.routed, 1);
	/* Only what famez-client asks its switch at start, for its control space. */
	ck_assert_uint_eq(fs.direct, 1);
	expect_output(fs.log_path, "direct: Link CTL Peer-Attribute");

	/* In order, each once. */
	ck_assert_uint_eq(famez_client_flood_check(out, "1600,28", 500), 0);
	ck_assert_uint_eq(famez_client_flood_check(out, "1600,28", 499), 500);
	ck_assert_uint_eq(famez_client_flood_check(out, "1600,28", 501), 501);
	ck_assert_uint_eq(famez_client_flood_check(out, "1600,29", 500), 1);
	switch_stop();
}
END_TEST

START_TEST(test_flood)
{
	char out[256];

	switch_start(MAILBOX_FLAG_ROUTES, 200);
	expect_exit(0, "flood", "flood 1600,28 3000; dump", out, sizeof(out));
	expect_output(out, "flood to 1600,28: 3000 messages sent");
	expect_output(out, "routed-sent 3000 routed-refused 0");
	ck_assert_uint_eq(fs.routed, 3000);
	ck_assert(!fs.seq_out_of_order);
	ck_assert_uint_eq(fs.next_seq, 3001);

	/* A refusal stops it, with one line for all. */
	fs.refuse_seq = 100;
	fs.next_seq = 1;
	expect_exit(1, "refused", "flood 1600,28 3000", out, sizeof(out));
	expect_output(out, "cannot reach 1600,28: unreachable");
	ck_assert_uint_eq(testlib_count(out, "cannot reach"), 1);
	expect_output(out, " of 3000 messages sent");
	ck_assert_uint_lt(fs.next_seq, 200);

	/* To a peer of our switch, directly. */
	expect_exit(0, "local", "flood local2 10", out, sizeof(out));
	expect_output(out, "flood to local2@2: 10 messages sent");
	switch_stop();
}
END_TEST

START_TEST(test_relay_always)
{
	char out[256];

	switch_start(MAILBOX_FLAG_ROUTES | MAILBOX_FLAG_RELAY_ALWAYS, 200);
	expect_exit(0, "relayed",
		    "send local2 next door; ping 2 " TESTLIB_WAIT_S
		    "; link CTL Peer-Attribute; dump",
		    out, sizeof(out));
	/* A peer of our switch, named or numbered, goes through the switch to its CID,SID. */
	expect_output(fs.log_path, "route 200,27 status 0: next door");
	expect_output(fs.log_path, "route 200,27 status 0: ping");
	expect_output(out, "pong from 200,27 in ");
	/* The switch itself is still rung directly. */
	expect_output(fs.log_path, "direct: Link CTL Peer-Attribute");
	expect_output(out, "fabric routes yes relay-always yes routed-sent 2");
	switch_stop();

	/* A peer with no CID,SID cannot be reached then. */
	switch_start(MAILBOX_FLAG_ROUTES | MAILBOX_FLAG_RELAY_ALWAYS, 0);
	expect_exit(1, "unconfigured", "send local2 x", out, sizeof(out));
	expect_output(out, "local2@2 has no CID,SID yet");
	ck_assert_uint_eq(fs.routed, 0);
	switch_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client-routes");
	TCase *tc = tcase_create("client-routes");

	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_routed_send_and_ping);
	tcase_add_test(tc, test_refusals_fail_the_command);
	tcase_add_test(tc, test_a_switch_that_does_not_route);
	tcase_add_test(tc, test_delivered_messages_name_their_origin);
	tcase_add_test(tc, test_a_late_ring_leaves_another_peers_message);
	tcase_add_test(tc, test_flood);
	tcase_add_test(tc, test_relay_always);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
