/* SPDX-License-Identifier: MIT */
/*
 * One famezd, two switches (docs/switches.md): the default one from famezd's options and "lab"
 * from a file in --switches-dir. Real QEMUs on each ring and write to each other through their
 * own switch only, famez-client peers are configured with their own switch's SID, files that are
 * wrong or collide keep famezd from starting, and a flood on one switch costs the other's peers
 * nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "mailbox.h"
#include "qtest.h"
#include "testlib.h"

#define FABRIC_VECTORS 16 /* the default 14 client slots, slot 0 and the server */
#define SERVER_ID 15
#define LAB_SID 28

static Famezd famezd;
static char switches_dir[256], lab_socket[256];

/* Two QEMUs on each switch: dflt[] on the default one, lab[] on lab. */
static QVm dflt[2], lab[2];

static void teardown(void)
{
	for (int i = 0; i < 2; i++) {
		qvm_stop(&dflt[i]);
		qvm_stop(&lab[i]);
	}
	testlib_teardown();
}

/* Writes DIR/NAME.conf in the test's switches directory (made on first use). */
static void write_switch(const char *name, const char *text)
{
	char path[320];
	FILE *f;

	snprintf(switches_dir, sizeof(switches_dir), "%s/switches.d", testlib_tmpdir());
	ck_assert(mkdir(switches_dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%s.conf", switches_dir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* lab.conf: a fabric switch on <tmpdir>/lab.sock with SID 28. */
static void write_lab(void)
{
	char text[512];

	snprintf(lab_socket, sizeof(lab_socket), "%s/lab.sock", testlib_tmpdir());
	snprintf(text, sizeof(text),
		 "# A second fabric for the tests\n[Switch]\nSocket=%s\nSID=%d\n", lab_socket,
		 LAB_SID);
	write_switch("lab", text);
}

/* famezd serving the default switch and lab; returns once both listen. */
static void start_two_switches(void)
{
	write_lab();
	famezd_start(&famezd, (const char *[]){ "--switches-dir", switches_dir, NULL });
	/* famezd says each switch listens, the default one first, once all of them do. */
	testlib_wait_for_output(famezd.log_path, "famezd: switch lab: listening on ",
				TESTLIB_WAIT_MS);
	ck_assert(testlib_file_contains(famezd.log_path, "famezd: listening on "));
}

static void start_vm(QVm *vm, const char *name, const char *socket)
{
	ck_assert_msg(qvm_start(vm, name, socket, FABRIC_VECTORS) == 0, "QEMU %s failed: %s", name,
		      testlib_show(vm->log_path));
}

/*
 * Whether a ring on vector is (or was) in vm's eventfd: qvm_wait_pending() reads the pending
 * bits at least twice, and so sees a ring that was sent before it was called.
 */
static bool rung(QVm *vm, unsigned vector)
{
	return qvm_wait_pending(vm, vector, 0);
}

/*
 * The pair of one switch rings each other (IDs 1 and 2: the vector is the sender's ID), while
 * the pair of the other switch, with the same IDs, hears nothing on those vectors.
 */
static void pair_rings_alone(QVm pair[2], QVm other[2])
{
	/* Nothing before, so that a ring seen after is one of these. */
	for (int i = 0; i < 2; i++)
		for (unsigned v = 1; v <= 2; v++)
			ck_assert_msg(!rung(&other[i], v), "vector %u of another switch's peer", v);
	qvm_assert_rings(&pair[0], &pair[1], 2, 1);
	qvm_assert_rings(&pair[1], &pair[0], 1, 2);
	/* Each ring has landed: had it reached the other pair too, it would be there by now. */
	ck_assert_msg(!rung(&other[1], 1), "a ring to ID 2 of one switch reached the other's");
	ck_assert_msg(!rung(&other[0], 2), "a ring to ID 1 of one switch reached the other's");
}

/* The pair of one switch talks through its mailbox, both ways. */
static void pair_talks(QVm pair[2], const char *there, const char *back)
{
	char text[64];

	qvm_mail_send(&pair[0], 2, there);
	qvm_mail_receive(&pair[1], 1, text, sizeof(text));
	ck_assert_str_eq(text, there);
	qvm_mail_send(&pair[1], 1, back);
	qvm_mail_receive(&pair[0], 2, text, sizeof(text));
	ck_assert_str_eq(text, back);
}

/*
 * The first number of one of famezd's closing lines for a switch ("served N peers", "mailbox: N
 * messages received"), prefix "" for the default switch or "switch NAME: ".
 */
static unsigned long long closing_count(const char *prefix, const char *what)
{
	char needle[64], *text = testlib_read_file(famezd.log_path), *p;
	unsigned long long n;

	snprintf(needle, sizeof(needle), "famezd: %s%s ", prefix, what);
	p = text ? strstr(text, needle) : NULL;
	ck_assert_msg(p, "no '%s' line: %s", needle, testlib_show(famezd.log_path));
	ck_assert_int_eq(sscanf(p + strlen(needle), "%llu", &n), 1);
	free(text);
	return n;
}

/* What a famez-client does on each switch: it asks to be configured and says what it is. */
#define CLIENT_COMMANDS "rfc " TESTLIB_WAIT_S "; dump; who"
#define PING "; ping server " TESTLIB_WAIT_S

START_TEST(test_two_switches_keep_their_peers_apart)
{
	char out_dflt[256], out_lab[256];
	unsigned long long received_dflt, received_lab;

	start_two_switches();
	start_vm(&dflt[0], "default0", famezd.socket_path);
	start_vm(&lab[0], "lab0", lab_socket);
	start_vm(&dflt[1], "default1", famezd.socket_path);
	start_vm(&lab[1], "lab1", lab_socket);

	/* IDs are given per switch: each gives 1, then 2. */
	ck_assert_uint_eq(qvm_ivposition(&dflt[0]), 1);
	ck_assert_uint_eq(qvm_ivposition(&lab[0]), 1);
	ck_assert_uint_eq(qvm_ivposition(&dflt[1]), 2);
	ck_assert_uint_eq(qvm_ivposition(&lab[1]), 2);

	/* Each switch has its own memory: a store is seen inside its switch only. */
	qvm_shm_write(&dflt[0], 65536, 0xdefa017ULL);
	ck_assert_uint_eq(qvm_shm_read(&dflt[1], 65536), 0xdefa017ULL);
	ck_assert_uint_eq(qvm_shm_read(&lab[0], 65536), 0);
	qvm_shm_write(&lab[1], 65536, 0x1ab);
	ck_assert_uint_eq(qvm_shm_read(&lab[0], 65536), 0x1ab);
	ck_assert_uint_eq(qvm_shm_read(&dflt[0], 65536), 0xdefa017ULL);

	/* Doorbells and messages stay inside their switch. */
	pair_rings_alone(dflt, lab);
	pair_rings_alone(lab, dflt);
	pair_talks(dflt, "to 2 on default", "to 1 on default");
	for (int i = 0; i < 2; i++)
		for (unsigned v = 1; v <= 2; v++)
			ck_assert_msg(!rung(&lab[i], v), "default's message rang lab%d", i);
	pair_talks(lab, "to 1 on lab", "to 2 on lab");
	for (int i = 0; i < 2; i++)
		for (unsigned v = 1; v <= 2; v++)
			ck_assert_msg(!rung(&dflt[i], v), "lab's message rang default%d", i);

	/*
	 * A famez-client on each is ID 3 there, configured with its own switch's SID; the
	 * default one pings the server three times more, which only its switch counts.
	 */
	famez_client_run(lab_socket, "lab", CLIENT_COMMANDS PING, out_lab, sizeof(out_lab));
	famez_client_run(famezd.socket_path, "default", CLIENT_COMMANDS PING PING PING PING,
			 out_dflt, sizeof(out_dflt));
	ck_assert_msg(testlib_file_contains(out_lab, "connected id 3 "), "%s",
		      testlib_show(out_lab));
	ck_assert_msg(testlib_file_contains(out_dflt, "connected id 3 "), "%s",
		      testlib_show(out_dflt));
	ck_assert_msg(testlib_file_contains(out_lab, "fabric configured yes sid 28 cid 300 "), "%s",
		      testlib_show(out_lab));
	ck_assert_msg(testlib_file_contains(out_dflt, "fabric configured yes sid 27 cid 300 "),
		      "%s", testlib_show(out_dflt));
	ck_assert(testlib_file_contains(out_lab, "id 15 nodename Z-switch cclass FabricSwitch cid "
						 "1500 sid 28 (server)"));
	ck_assert(testlib_file_contains(out_dflt, "id 15 nodename Z-switch cclass FabricSwitch "
						  "cid 1500 sid 27 (server)"));
	ck_assert_uint_eq(testlib_count(out_lab, "pong from Z-switch@15 in "), 1);
	ck_assert_uint_eq(testlib_count(out_dflt, "pong from Z-switch@15 in "), 4);

	for (int i = 0; i < 2; i++) {
		qvm_stop(&dflt[i]);
		qvm_stop(&lab[i]);
	}
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "famezd: z03@3 configured: SID 27, CID "
							 "300"));
	ck_assert(testlib_file_contains(famezd.log_path, "famezd: switch lab: z03@3 configured: "
							 "SID 28, CID 300"));
	ck_assert_uint_eq(closing_count("", "served"), 3);
	ck_assert_uint_eq(closing_count("switch lab: ", "served"), 3);
	received_dflt = closing_count("", "mailbox:");
	received_lab = closing_count("switch lab: ", "mailbox:");
	ck_assert_msg(received_dflt == received_lab + 3, "default received %llu, lab %llu: %s",
		      received_dflt, received_lab, testlib_show(famezd.log_path));
}
END_TEST

/* famezd with lab and the files given refuses to start, with one line saying why. */
static void assert_refused(const char *why, const char *const needles[])
{
	char log[300];
	const char *const args[] = { "--socket",       famezd.socket_path, "--bus", "none",
				     "--switches-dir", switches_dir,       NULL };
	int status;

	snprintf(famezd.socket_path, sizeof(famezd.socket_path), "%s/famez.sock", testlib_tmpdir());
	snprintf(log, sizeof(log), "%s/refused.log", testlib_tmpdir());
	status = famezd_run(args, log, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: status 0x%x: %s", why,
		      status, testlib_show(log));
	ck_assert_msg(testlib_count(log, "\n") == 1, "%s: not one line: %s", why,
		      testlib_show(log));
	for (size_t i = 0; needles[i]; i++)
		ck_assert_msg(testlib_file_contains(log, needles[i]), "%s: no '%s' in %s", why,
			      needles[i], testlib_show(log));
	ck_assert_msg(access(famezd.socket_path, F_OK) < 0 && access(lab_socket, F_OK) < 0,
		      "%s: famezd left a socket", why);
}

START_TEST(test_wrong_or_colliding_files_are_refused)
{
	char lab_conf[320], annex_conf[320], where[400], text[512];
	FILE *f;

	/* An unknown key: the file, its line and the key. */
	write_lab();
	snprintf(lab_conf, sizeof(lab_conf), "%s/lab.conf", switches_dir);
	snprintf(annex_conf, sizeof(annex_conf), "%s/annex.conf", switches_dir);
	f = fopen(lab_conf, "ae");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("MaxPeer=3\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(where, sizeof(where), "famezd: %s:5: MaxPeer=3: unknown key", lab_conf);
	assert_refused("unknown key", (const char *[]){ where, NULL });

	/* A link to a switch there is not: the file, its line and the link. */
	write_lab();
	write_switch("annex", "[Switch]\nSID=29\nLink=16:nowhere:16\n");
	snprintf(where, sizeof(where), "famezd: %s:3: Link=16:nowhere:16: no switch named nowhere",
		 annex_conf);
	assert_refused("unknown link", (const char *[]){ where, NULL });

	/* Two switches on one socket: both files named. */
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s\nSID=29\n", lab_socket);
	write_switch("annex", text);
	snprintf(where, sizeof(where), "listen on %s;", lab_socket);
	assert_refused("same socket", (const char *[]){ lab_conf, annex_conf, where, NULL });

	/* Apart, they start. */
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s/annex.sock\nSID=29\n", testlib_tmpdir());
	write_switch("annex", text);
	famezd_start(&famezd, (const char *[]){ "--switches-dir", switches_dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch lab: listening on ",
				TESTLIB_WAIT_MS);
	ck_assert(testlib_file_contains(famezd.log_path, "famezd: switch annex: listening on "));
	famezd_stop(&famezd);
}
END_TEST

/*
 * A flood on lab against pings on the default switch. The bound, p99 below 10 times what it
 * was alone plus 50 ms, is loose enough for a loaded 2-core machine and AddressSanitizer (the
 * flood's own processes share the cores: some 15 ms here), and it fails where the default
 * switch waits behind lab's work (tried with famezd made to spend 60 ms on each of lab's
 * newcomers).
 */
#define PINGS 500

typedef struct Pings {
	uint64_t p50, p99, max;
	long rss_max; /* famezd's, sampled while they ran */
} Pings;

/*
 * PINGS pings of the default switch's server by a newcomer, all answered; while they run, the
 * n processes `alongside` must keep running: the flood covers every ping.
 */
static Pings ping_default(const char *name, const pid_t alongside[], int n_alongside)
{
	char out[256], *commands = malloc(PINGS * 24 + 1);
	uint64_t usec[PINGS], deadline = testlib_now_usec() + 4ULL * TESTLIB_WAIT_MS * 1000;
	Pings r = { .rss_max = testlib_rss_kib(famezd.pid) };
	size_t n;
	int status;
	pid_t c;

	ck_assert_ptr_nonnull(commands);
	commands[0] = '\0';
	for (int i = 0; i < PINGS; i++)
		strcat(commands, "ping server " TESTLIB_WAIT_S "; ");
	c = famez_client_start(famezd.socket_path, name, commands, out, sizeof(out));
	free(commands);
	while (waitpid(c, &status, WNOHANG) != c) {
		ck_assert_msg(testlib_now_usec() < deadline, "%s: the pings did not end: %s", name,
			      testlib_show(out));
		for (int i = 0; i < n_alongside; i++)
			ck_assert_msg(testlib_wait(alongside[i], 0) == -ETIMEDOUT,
				      "a flooder ended before the pings did: %s",
				      testlib_show(out));
		r.rss_max = MAX(r.rss_max, testlib_rss_kib(famezd.pid));
		usleep(10000);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", name,
		      testlib_show(out));

	n = famez_client_pong_times(out, "Z-switch@15", usec, PINGS);
	ck_assert_msg(n == PINGS, "%s: %zu pongs of %d: %s", name, n, PINGS, testlib_show(out));
	r.p50 = usec[n / 2];
	r.p99 = usec[n * 99 / 100];
	r.max = usec[n - 1];
	return r;
}

typedef struct Ringer {
	RawClient *peer;
	int fd; /* the server's eventfd for the ringer's own vector */
	volatile bool stop;
	uint64_t rings;
} Ringer;

/*
 * Rings the server of lab as fast as it can, and reads what famezd tells it (newcomers'
 * eventfds, closed at once): a peer that stopped reading would be let go.
 */
static void *ring_flat_out(void *data)
{
	Ringer *r = data;
	uint64_t one = 1;

	while (!r->stop) {
		for (int i = 0; i < 1000; i++)
			r->rings += write(r->fd, &one, sizeof(one)) == sizeof(one);
		for (;;) {
			int64_t value;
			int fd;

			if (wire_read(r->peer->fd, &r->peer->reader, &value, &fd) <= 0)
				break;
			if (fd >= 0)
				close(fd);
		}
	}
	return NULL;
}

/* famez-load processes churning lab, each with 2 peers that stay and a newcomer at a time. */
#define LOADERS 3

static pid_t start_loader(int index)
{
	char out[300];
	/*
	 * Each newcomer hears at least of the server, the ringer and its own loader's peers; it
	 * may hear of more (the other loaders'), which famez-load takes in its stride.
	 */
	const char *argv[] = { getenv("FAMEZ_LOAD"),
			       "-S",
			       lab_socket,
			       "--peers",
			       "2",
			       "--vectors",
			       "16",
			       "--others",
			       "2",
			       "--rounds",
			       "1000000",
			       "--timeout",
			       "60",
			       "join",
			       NULL };

	ck_assert_msg(argv[0] && argv[0][0], "FAMEZ_LOAD is not set");
	snprintf(out, sizeof(out), "%s/famez-load-%d.out", testlib_tmpdir(), index);
	return testlib_spawn((char *const *)argv, out, out);
}

/* famezd's lines about lab's peers coming and going (a budget of them per process). */
static unsigned lab_peer_lines(void)
{
	return testlib_count(famezd.log_path, "famezd: switch lab: peer ");
}

START_TEST(test_a_flood_on_one_switch_costs_another_nothing)
{
	bool sanitized = getenv("FAMEZ_SANITIZED") != NULL;
	unsigned lines_before, lines_during;
	pid_t loaders[LOADERS];
	RawClient ringer_peer;
	Ringer ringer = { .peer = &ringer_peer, .fd = -1 };
	pthread_t thread;
	Pings before, during;
	long rss_before;

	start_two_switches();
	/* Warm up, then measure the default switch alone. */
	ping_default("warm-up", NULL, 0);
	before = ping_default("before", NULL, 0);
	rss_before = testlib_rss_kib(famezd.pid);

	/* On lab: a peer that rings the server flat out, and newcomers joining and leaving. */
	ck_assert_int_eq(raw_client_connect(&ringer_peer, lab_socket, true), 0);
	ck_assert(raw_client_read_fabric(&ringer_peer, SERVER_ID, TESTLIB_WAIT_MS));
	ringer.fd = client_state_peer(&ringer_peer.state, SERVER_ID)->fds[ringer_peer.state.own_id];
	ck_assert_int_eq(pthread_create(&thread, NULL, ring_flat_out, &ringer), 0);
	for (int i = 0; i < LOADERS; i++)
		loaders[i] = start_loader(i);
	/* The churn is under way once lab has seen a few dozen peers come and go. */
	testlib_wait_for_count(famezd.log_path, "famezd: switch lab: peer ", 50, TESTLIB_WAIT_MS);
	lines_before = lab_peer_lines();

	during = ping_default("during", loaders, LOADERS);
	lines_during = lab_peer_lines() - lines_before;
	ringer.stop = true;
	pthread_join(thread, NULL);
	for (int i = 0; i < LOADERS; i++)
		testlib_stop(loaders[i], TESTLIB_WAIT_MS);
	raw_client_close(&ringer_peer);
	famezd_stop(&famezd);

	printf("default switch, %d pings: before p50 %" PRIu64 " p99 %" PRIu64 " max %" PRIu64
	       " us; during lab's flood p50 %" PRIu64 " p99 %" PRIu64 " max %" PRIu64 " us\n",
	       PINGS, before.p50, before.p99, before.max, during.p50, during.p99, during.max);
	printf("lab's flood: %u lines of its peers coming and going during the pings, %" PRIu64
	       " rings of its server, %llu peers served in all\n",
	       lines_during, ringer.rings, closing_count("switch lab: ", "served"));
	printf("famezd's RSS: %ld KiB before, at most %ld KiB during\n", rss_before,
	       during.rss_max);
	/* It was a flood: lab's newcomers came and went all the while. */
	ck_assert_uint_ge(lines_during, 20);
	ck_assert_msg(during.p99 < 10 * before.p99 + 50000,
		      "the default switch's p99 went from %" PRIu64 " to %" PRIu64 " us",
		      before.p99, during.p99);
	/*
	 * Newcomers that come and go hold nothing once gone: famezd grows by what it holds for
	 * a few of them at a time. AddressSanitizer's allocator keeps what is freed in
	 * quarantine; its growth says nothing of famezd's.
	 */
	if (!sanitized)
		ck_assert_msg(during.rss_max < rss_before + 8192, "famezd grew from %ld to %ld KiB",
			      rss_before, during.rss_max);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("switches");
	TCase *tc = tcase_create("switches");

	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_two_switches_keep_their_peers_apart);
	tcase_add_test(tc, test_wrong_or_colliding_files_are_refused);
	tcase_add_test(tc, test_a_flood_on_one_switch_costs_another_nothing);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
