/* SPDX-License-Identifier: MIT */
/*
 * famezd against peers that attack it rather than use it: each test plays one attack with an
 * in-process raw peer, then checks that famezd still serves a newcomer (its handshake and a
 * ping in fabric mode) and stops cleanly on SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "mailbox.h"
#include "qtest.h"
#include "testlib.h"

#define SERVER_ID 15 /* the default 14 client slots + 1 */
#define SERVER_LABEL "Z-switch@15"
#define FULL_COUNTER UINT64_C(0xfffffffffffffffe) /* the most an eventfd holds */

static Famezd famezd;

/* A raw peer on a fresh default famezd, with its shared memory mapped. */
typedef struct Attacker {
	RawClient c;
	uint8_t *mem;
	size_t size;
	uint8_t *own_slot, *server_slot;
} Attacker;

static void attacker_connect(Attacker *a)
{
	ck_assert_int_eq(raw_client_connect(&a->c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&a->c, SERVER_ID, TESTLIB_WAIT_MS));
	a->mem = raw_client_map(&a->c, &a->size);
	a->own_slot = mailbox_slot(a->mem, a->c.state.own_id);
	a->server_slot = mailbox_slot(a->mem, SERVER_ID);
}

static void attacker_close(Attacker *a)
{
	munmap(a->mem, a->size);
	raw_client_close(&a->c);
}

/*
 * Answers the server's pending message the way a driver would (it asks every newcomer its
 * attributes), so the server takes the attacker for a live peer that reads its mailbox.
 */
static void attacker_ack_server(Attacker *a)
{
	ck_assert_msg(testlib_wait_slot(a->server_slot, true, TESTLIB_WAIT_MS),
		      "the server sent nothing");
	mailbox_acknowledge(a->server_slot, a->c.state.own_id);
}

/*
 * Then answers it, as a driver would, and waits for the server to have read the answer: it
 * looks at its own slot before it reads ours, so it has seen our acknowledgment by then, and
 * nothing of it is in flight (the answer asks for no reply).
 */
static void attacker_answer_server(Attacker *a)
{
	raw_client_mail(&a->c, a->mem, SERVER_ID, "Link CTL ACK cclass=Debugger,CID0=0,SID0=0",
			TESTLIB_WAIT_MS);
	ck_assert_msg(testlib_wait_slot(a->own_slot, false, TESTLIB_WAIT_MS),
		      "the server did not read our answer");
}

static void attacker_send(Attacker *a, const char *text, int wait_ms)
{
	raw_client_mail(&a->c, a->mem, SERVER_ID, text, wait_ms);
}

static void set_blocking(int fd)
{
	ck_assert_int_ne(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), -1);
}

/* Reads an eventfd without waiting, whatever its flags: 1 if something was read. */
static int steal(int fd)
{
	uint64_t count;
	struct iovec iov = { .iov_base = &count, .iov_len = sizeof(count) };

	return preadv2(fd, &iov, 1, -1, RWF_NOWAIT) == sizeof(count);
}

static void newcomer_pings(const char *name)
{
	famez_client_ping_ok(famezd.socket_path, name, SERVER_LABEL);
}

START_TEST(test_full_counter_costs_a_ring_not_a_wait)
{
	Attacker a;
	int fd;

	famezd_start(&famezd, NULL);
	attacker_connect(&a);
	attacker_ack_server(&a);

	/*
	 * The eventfd the server rings us on (our vector = its ID): as full as it gets, and
	 * blocking, so that a plain write() from famezd would wait for us to read it.
	 */
	fd = a.c.state.self.fds[SERVER_ID];
	steal(fd);
	ck_assert_int_eq(write(fd, &(uint64_t){ FULL_COUNTER }, 8), 8);
	set_blocking(fd);
	attacker_send(&a, "ping", 100);
	testlib_wait_for_output(famezd.log_path, "its doorbell counter is full", TESTLIB_WAIT_MS);

	newcomer_pings("newcomer");
	attacker_close(&a);
	famezd_stop(&famezd);
}
END_TEST

/*
 * Whether famezd sits in a system call other than its event loop's epoll wait, as
 * /proc/PID/syscall shows (the first field is the call's number while it is blocked).
 */
static bool blocked_outside_epoll(pid_t pid)
{
	char path[64], *text;
	bool running;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	text = testlib_read_file(path);
	ck_assert_ptr_nonnull(text);
	running = strncmp(text, "running", 7) == 0;
	nr = strtol(text, NULL, 10);
	free(text);
	/* x86-64: epoll_wait 232, epoll_pwait 281, epoll_pwait2 441. */
	return !running && nr != 232 && nr != 281 && nr != 441;
}

START_TEST(test_stolen_wakeups_cost_nothing)
{
	Attacker a;
	int fd, stolen = 0, tries;

	famezd_start(&famezd, NULL);
	attacker_connect(&a);
	attacker_ack_server(&a);

	/*
	 * The server's eventfd for our vector, made blocking: we ring it and read the count away
	 * a moment later, hoping to land between famezd's epoll wake-up and its read, where a
	 * plain read() would wait for a ring that never comes. After each try we look whether
	 * famezd waits somewhere else than its event loop, and stop ringing if it does.
	 */
	fd = client_state_peer(&a.c.state, SERVER_ID)->fds[a.c.state.own_id];
	set_blocking(fd);
	for (tries = 0; tries < 400; tries++) {
		uint64_t until;

		/* A stolen wake-up leaves our last ping unread: overwrite it. */
		attacker_send(&a, "ping", 0);
		until = testlib_now_usec() + (uint64_t)(tries % 40);
		while (testlib_now_usec() < until)
			;
		stolen += steal(fd);
		/* Whatever famezd answered, free its slot for the next answer. */
		if (testlib_wait_slot(a.server_slot, true, 5))
			mailbox_acknowledge(a.server_slot, a.c.state.own_id);
		if (blocked_outside_epoll(famezd.pid))
			break;
	}
	ck_assert_int_gt(stolen, 0);

	newcomer_pings("newcomer");
	attacker_close(&a);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_server_slot_written_by_a_peer_is_taken_back)
{
	Attacker a;

	famezd_start(&famezd, NULL);
	attacker_connect(&a);
	attacker_ack_server(&a);
	attacker_answer_server(&a);

	/* And the server's slot looks busy. */
	memcpy(a.server_slot + MAILBOX_MSG_OFFSET, "junk", 5);
	mailbox_set_u64(a.server_slot, MAILBOX_SLOT_MSG_LEN, 4);
	/* The newcomer's join-time question and its pong both go through that slot. */
	newcomer_pings("newcomer");
	testlib_wait_for_output(famezd.log_path, "wrote into the server's own slot",
				TESTLIB_WAIT_MS);
	attacker_close(&a);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_a_flood_of_unknown_messages_is_not_logged_line_by_line)
{
	char text[64];
	Attacker a;
	int answered = 0;

	/* With debug lines on, where unknown messages are logged. */
	famezd_start(&famezd, (const char *[]){ "--verbose", NULL });
	attacker_connect(&a);
	attacker_ack_server(&a);
	for (int i = 0; i < 20000; i++) {
		snprintf(text, sizeof(text), "flood %d", i);
		attacker_send(&a, text, TESTLIB_WAIT_MS);
		answered += testlib_wait_slot(a.own_slot, false, TESTLIB_WAIT_MS);
	}
	/* famezd read them all: each freed the slot for the next. */
	ck_assert_int_ge(answered, 19900);

	/* The flood used up its own share of the log, not the newcomer's. */
	newcomer_pings("newcomer");
	attacker_close(&a);
	famezd_stop(&famezd);
	ck_assert_msg(testlib_file_contains(famezd.log_path, "z02@2 is a Debugger"), "%s",
		      testlib_show(famezd.log_path));
	ck_assert_uint_ge(testlib_count(famezd.log_path, "-> \"flood "), 1);
	ck_assert_uint_le(testlib_count(famezd.log_path, "-> \"flood "), 20);
	ck_assert_uint_le(testlib_count(famezd.log_path, "\n"), 100);
	/* The count is kept: every one of them was an unknown message. */
	ck_assert_msg(testlib_file_contains(famezd.log_path, "unacknowledged, 20000 unknown"), "%s",
		      testlib_show(famezd.log_path));
}
END_TEST

typedef struct Flicker {
	int fd;
	volatile bool stop;
} Flicker;

/* Cuts the memory off and gives it back, over and over, as fast as it can. */
static void *flicker(void *data)
{
	Flicker *f = data;

	while (!f->stop) {
		(void)!ftruncate(f->fd, 0);
		(void)!ftruncate(f->fd, 4 << 20);
	}
	return NULL;
}

START_TEST(test_memory_cut_short_is_sized_back)
{
	char file[256];
	const char *const args[] = { "--shm-file", file, NULL };
	Flicker f;
	pthread_t thread;
	Attacker a;
	struct stat st;
	uint64_t deadline;

	snprintf(file, sizeof(file), "%s/memory", testlib_tmpdir());
	famezd_start(&famezd, args);
	attacker_connect(&a);
	attacker_ack_server(&a);

	/* A file cannot be sealed: any peer can cut it off under famezd and every QEMU. */
	ck_assert_int_eq(ftruncate(a.c.state.shm_fd, 0), 0);
	raw_client_ring(&a.c, SERVER_ID, a.c.state.own_id, 1);
	testlib_wait_for_output(famezd.log_path,
				"a peer resized the shared memory to 0; sized "
				"it back to 4M",
				TESTLIB_WAIT_MS);
	ck_assert_int_eq(fstat(a.c.state.shm_fd, &st), 0);
	ck_assert_int_eq(st.st_size, 4 << 20);
	newcomer_pings("after-cut");

	/*
	 * Cut and given back in a loop while famezd reads the mailbox on our rings: famezd
	 * touches it while it is gone, and survives the SIGBUS.
	 */
	f = (Flicker){ .fd = a.c.state.shm_fd };
	ck_assert_int_eq(pthread_create(&thread, NULL, flicker, &f), 0);
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	while (!testlib_file_contains(famezd.log_path, "(SIGBUS); it is mapped again") &&
	       testlib_now_usec() < deadline) {
		raw_client_ring(&a.c, SERVER_ID, a.c.state.own_id, 1);
		usleep(2000);
	}
	f.stop = true;
	pthread_join(thread, NULL);
	ck_assert_msg(testlib_file_contains(famezd.log_path, "(SIGBUS); it is mapped again"),
		      "famezd never touched the memory while it was cut off: %s",
		      testlib_show(famezd.log_path));
	/* The last cut may have been the attacker's: famezd sizes it back. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	while (fstat(a.c.state.shm_fd, &st) == 0 && st.st_size != 4 << 20 &&
	       testlib_now_usec() < deadline)
		usleep(10000);
	ck_assert_int_eq(st.st_size, 4 << 20);
	/* And lays the mailbox out again, however the last cut went. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	while (!mailbox_is_laid_out(a.mem, 14)) {
		ck_assert_msg(testlib_now_usec() < deadline, "the mailbox was not laid out again");
		raw_client_ring(&a.c, SERVER_ID, a.c.state.own_id, 1);
		usleep(10000);
	}
	newcomer_pings("after-flicker");
	attacker_close(&a);
	famezd_stop(&famezd);
}
END_TEST

static unsigned open_fds(pid_t pid)
{
	char path[64];
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

static bool has_own_vector(RawClient *c, void *data)
{
	(void)data;
	return c->state.self.n_vectors == 1;
}

static bool knows_peer(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t) * (uint32_t *)data);

	return p && p->n_vectors == 1;
}

static QVm vm;

static void teardown_vm(void)
{
	qvm_stop(&vm);
	testlib_teardown();
}

/*
 * A QEMU and a raw peer stay while 70,000 others come and go: more than there are IDs, each a
 * departure they see. QEMU 7.2 would write into freed memory if any ID it saw leave came back;
 * it keeps running and ringing, and newcomers are never locked out.
 */
START_TEST(test_churn_beside_a_long_lived_peer_locks_nobody_out)
{
	const char *const args[] = { "--mode", "ivshmem", NULL };
	RawClient stays, never_reads, newcomer;
	unsigned fds_before, departures;
	uint64_t deadline;
	uint32_t vm_id;

	famezd_start(&famezd, args);
	ck_assert_msg(qvm_start(&vm, "stays", famezd.socket_path, 1) == 0, "QEMU: %s",
		      testlib_show(vm.log_path));
	vm_id = qvm_ivposition(&vm);
	ck_assert_int_eq(raw_client_connect(&stays, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&stays, has_own_vector, NULL, TESTLIB_WAIT_MS));
	/*
	 * Connected and never reading: it would keep every churner's eventfd open. Counted once
	 * famezd logged its join (QEMU, stays and it: 3 peers).
	 */
	ck_assert_int_eq(raw_client_connect(&never_reads, famezd.socket_path, false), 0);
	testlib_wait_for_output(famezd.log_path, "), 3 peers", TESTLIB_WAIT_MS);
	fds_before = open_fds(famezd.pid);

	for (int i = 0; i < 70000; i++) {
		int fd = testlib_connect(famezd.socket_path);

		ck_assert_int_ge(fd, 0);
		close(fd);
		if (i % 64 == 0)
			raw_client_read(&stays, SIZE_MAX);
	}

	/* A newcomer still gets an ID and its whole handshake, and `stays` is still there. */
	ck_assert_int_eq(raw_client_connect(&newcomer, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&newcomer, has_own_vector, NULL, TESTLIB_WAIT_MS));
	raw_client_read(&stays, SIZE_MAX);
	ck_assert(!stays.eof && !stays.error);
	/* Once IDs ran short, departures were parked instead of announced. */
	departures = 0;
	for (size_t i = 0; i < stays.n_log; i++)
		departures += !stays.log[i].has_fd && stays.log[i].value > 0;
	ck_assert_uint_ge(departures, 49000);
	ck_assert_uint_lt(departures, 50000);

	/*
	 * The one that never read was let go before it held some 50,000 eventfds (of the peers
	 * it was told of), which it would have otherwise; what famezd holds beyond that is the
	 * eventfds of parked IDs, a few hundred.
	 */
	ck_assert_uint_lt(open_fds(famezd.pid), fds_before + 2048);
	raw_client_read(&never_reads, SIZE_MAX);
	ck_assert(never_reads.eof);

	/*
	 * QEMU is alive, rings the newcomer and is rung by it. It may still be reading what came
	 * before the newcomer: a ring to a peer it has not heard of yet is dropped, so ring on.
	 */
	ck_assert_uint_eq(qvm_ivposition(&vm), vm_id);
	ck_assert(raw_client_read_until(&newcomer, knows_peer, &vm_id, TESTLIB_WAIT_MS));
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	do {
		qvm_ring(&vm, newcomer.state.own_id, 0);
		ck_assert_msg(testlib_now_usec() < deadline, "QEMU never rang the newcomer");
	} while (poll(&(struct pollfd){ .fd = newcomer.state.self.fds[0], .events = POLLIN }, 1,
		      100) != 1);
	raw_client_ring(&newcomer, (uint16_t)vm_id, 0, 1);
	ck_assert(qvm_wait_pending(&vm, 0, TESTLIB_WAIT_MS));

	raw_client_close(&newcomer);
	raw_client_close(&never_reads);
	raw_client_close(&stays);
	famezd_stop(&famezd);
}
END_TEST

typedef struct SlowReader {
	RawClient *c;
	volatile int pause_usec;
	volatile bool stop;
} SlowReader;

/* Takes one message every pause_usec: a peer that reads, slower than it is told things. */
static void *read_slowly(void *data)
{
	SlowReader *r = data;

	while (!r->stop) {
		raw_client_read(r->c, 1);
		if (r->pause_usec)
			usleep((useconds_t)r->pause_usec);
	}
	return NULL;
}

/*
 * A peer that reads slowly while thousands come and go makes famezd hold their eventfds for it.
 * Near its open-file limit famezd lets newcomers wait rather than run out of fds: the slow
 * reader keeps its place (it reads), one that does not read at all is let go, however few fds
 * it holds, so that newcomers do not wait for it forever.
 */
START_TEST(test_newcomers_wait_while_a_slow_reader_holds_fds)
{
	const char *argv[] = { "/usr/bin/prlimit",
			       "--nofile=1000:1000",
			       testlib_famezd_path(),
			       "--mode",
			       "ivshmem",
			       "--bus",
			       "none",
			       "-S",
			       famezd.socket_path,
			       NULL };
	RawClient slow, never_reads, newcomer;
	SlowReader reader = { .c = &slow, .pause_usec = 10000 };
	pthread_t thread;

	snprintf(famezd.socket_path, sizeof(famezd.socket_path), "%s/famez.sock", testlib_tmpdir());
	snprintf(famezd.log_path, sizeof(famezd.log_path), "%s/famezd.log", testlib_tmpdir());
	famezd.pid = testlib_spawn((char *const *)argv, famezd.log_path, famezd.log_path);
	testlib_wait_for_output(famezd.log_path, "listening on", TESTLIB_WAIT_MS);

	ck_assert_int_eq(raw_client_connect(&slow, famezd.socket_path, false), 0);
	ck_assert_int_eq(raw_client_connect(&never_reads, famezd.socket_path, false), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, read_slowly, &reader), 0);
	for (int i = 0; i < 2000; i++) {
		int fd = testlib_connect(famezd.socket_path);

		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	testlib_wait_for_output(famezd.log_path, "newcomers wait", TESTLIB_WAIT_MS);
	/* Then it reads as fast as it can, and newcomers are let in again. */
	reader.pause_usec = 0;
	testlib_wait_for_output(famezd.log_path, "admitting newcomers again", TESTLIB_WAIT_MS);
	ck_assert_int_eq(raw_client_connect(&newcomer, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&newcomer, has_own_vector, NULL, TESTLIB_WAIT_MS));
	reader.stop = true;
	pthread_join(thread, NULL);
	raw_client_read(&slow, SIZE_MAX);
	ck_assert(!slow.eof && !slow.error);
	raw_client_read(&never_reads, SIZE_MAX);
	ck_assert(never_reads.eof);
	/* Nobody was refused for want of fds. */
	ck_assert(!testlib_file_contains(famezd.log_path, "out of file descriptors"));
	raw_client_close(&never_reads);
	raw_client_close(&newcomer);
	raw_client_close(&slow);
	famezd_stop(&famezd);
}
END_TEST

#define NOBODY 65534

/* Lets user nobody reach famezd's socket in the test's directory. */
static void open_socket_to_all(void)
{
	ck_assert_int_eq(chmod(testlib_tmpdir(), 0711), 0);
	ck_assert_int_eq(chmod(famezd.socket_path, 0666), 0);
}

static bool answered(RawClient *c, void *data)
{
	(void)data;
	return c->state.self.n_vectors == 1 || (c->n_log > 0 && c->log[0].value != 0);
}

/* Reads each connection's answer: how many got their whole handshake (the others refused). */
static int count_admitted(RawClient *c, int n, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;
	int admitted = 0;

	for (int i = 0; i < n; i++) {
		int left = (int)((deadline - MIN(deadline, testlib_now_usec())) / 1000);

		raw_client_read_until(&c[i], answered, NULL, left);
		admitted += c[i].state.self.n_vectors == 1;
	}
	return admitted;
}

static unsigned refusals(RawClient *c, int n)
{
	unsigned refused = 0;

	for (int i = 0; i < n; i++)
		refused += c[i].n_log > 0 && c[i].log[0].value == -1;
	return refused;
}

START_TEST(test_one_user_joins_at_its_rate_and_up_to_its_count)
{
	const char *const args[] = {
		"--mode", "ivshmem", "--max-join-rate", "20", "--max-peers-per-uid", "50", NULL
	};
	int fds[60], admitted;
	RawClient c[60], root;
	uint64_t started;

	famezd_start(&famezd, args);
	open_socket_to_all();

	/*
	 * 40 at once: the first 20 join at once, the next 20 wait their turn, one every 50 ms,
	 * and none is refused. The clock starts before they connect: famezd's does no earlier.
	 */
	started = testlib_now_usec();
	testlib_connect_as(NOBODY, famezd.socket_path, 40, fds);
	for (int i = 0; i < 40; i++)
		raw_client_adopt(&c[i], fds[i], true);
	/* Some 300 ms in, no more than the rate allows in the time that really went by. */
	admitted = count_admitted(c, 40, 300);
	ck_assert_int_le(admitted, 20 + (int)((testlib_now_usec() - started) / 50000) + 2);
	ck_assert_int_eq(count_admitted(c, 40, TESTLIB_WAIT_MS), 40);
	ck_assert_uint_ge(testlib_now_usec() - started, 700000);
	ck_assert_uint_eq(refusals(c, 40), 0);

	/* Root is not held back. */
	ck_assert_int_eq(raw_client_connect(&root, famezd.socket_path, true), 0);
	ck_assert_int_eq(count_admitted(&root, 1, TESTLIB_WAIT_MS), 1);

	/* Ten more: as many as --max-peers-per-uid lets nobody have, the rest refused. */
	testlib_connect_as(NOBODY, famezd.socket_path, 20, fds);
	for (int i = 0; i < 20; i++)
		raw_client_adopt(&c[40 + i], fds[i], true);
	ck_assert_int_eq(count_admitted(c + 40, 20, TESTLIB_WAIT_MS), 10);
	ck_assert_uint_eq(refusals(c + 40, 20), 10);
	ck_assert(testlib_file_contains(famezd.log_path,
					"uid 65534 has 50 peers connected or "
					"waiting, as many as --max-peers-per-uid"));

	for (int i = 0; i < 60; i++)
		raw_client_close(&c[i]);
	raw_client_close(&root);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_too_many_waiting_are_refused)
{
	const char *const args[] = { "--mode", "ivshmem", "--max-join-rate", "5", NULL };
	int fds[20];
	RawClient c[20];

	famezd_start(&famezd, args);
	open_socket_to_all();
	/* Five join, five wait, ten are refused: a user cannot make famezd hold thousands. */
	testlib_connect_as(NOBODY, famezd.socket_path, 20, fds);
	for (int i = 0; i < 20; i++)
		raw_client_adopt(&c[i], fds[i], true);
	ck_assert_int_eq(count_admitted(c, 20, TESTLIB_WAIT_MS), 10);
	ck_assert_uint_eq(refusals(c, 20), 10);
	ck_assert(testlib_file_contains(famezd.log_path, "uid 65534 joins faster than "
							 "--max-join-rate 5 a second"));
	for (int i = 0; i < 20; i++)
		raw_client_close(&c[i]);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_a_newcomer_that_gives_up_waiting_frees_its_turn)
{
	const char *const args[] = { "--mode", "ivshmem", "--max-join-rate", "1", NULL };
	int fds[3];
	RawClient c[3], root;

	famezd_start(&famezd, args);
	open_socket_to_all();
	/* One joins; the second waits a second for its turn, and hangs up at once. */
	testlib_connect_as(NOBODY, famezd.socket_path, 2, fds);
	raw_client_adopt(&c[0], fds[0], true);
	ck_assert_int_eq(count_admitted(c, 1, TESTLIB_WAIT_MS), 1);
	/*
	 * The second is waiting once a later newcomer (root's, never held back) is in: famezd
	 * takes newcomers in the order they came.
	 */
	ck_assert_int_eq(raw_client_connect(&root, famezd.socket_path, true), 0);
	ck_assert_int_eq(count_admitted(&root, 1, TESTLIB_WAIT_MS), 1);
	close(fds[1]);
	/*
	 * Nobody waits any more: the third may wait, rather than be refused as one too many.
	 * Nothing to wait for in between: famezd handles a hang-up it has seen before it judges
	 * a newcomer (its listening socket comes after the peers' in its event loop), and the
	 * hang-up is there before the third connects.
	 */
	testlib_connect_as(NOBODY, famezd.socket_path, 1, &fds[2]);
	raw_client_adopt(&c[2], fds[2], true);
	ck_assert_int_eq(count_admitted(&c[2], 1, TESTLIB_WAIT_MS), 1);
	ck_assert_uint_eq(refusals(&c[2], 1), 0);
	raw_client_close(&c[0]);
	raw_client_close(&c[2]);
	raw_client_close(&root);
	famezd_stop(&famezd);
}
END_TEST

/*
 * The server's single slot against peers that never acknowledge (docs/fabric.md, "The server's
 * single slot"): a newcomer's pings, each answered, the slowest within a bound far below the
 * 1 s a non-acknowledging peer could hold the slot before, and the median near its normal time.
 */
#define N_ATTACKERS 10
#define PING_MAX_USEC 500000
#define PING_MEDIAN_USEC 50000

/* Whether child p has exited (then *status holds how): for loops that run while it lives. */
static bool client_done(pid_t p, int *status)
{
	return waitpid(p, status, WNOHANG) == p;
}

/* famezd's closing "mailbox: ..." line, after famezd_stop(): what it sent and gave up on. */
static void mailbox_counters(unsigned long long *sent, unsigned long long *unacknowledged)
{
	char *text = testlib_read_file(famezd.log_path), *p;
	unsigned long long received;

	p = text ? strstr(text, "mailbox: ") : NULL;
	ck_assert_msg(p, "no closing mailbox line: %s", testlib_show(famezd.log_path));
	ck_assert_int_eq(sscanf(p,
				"mailbox: %llu messages received, %llu sent, %llu unacknowledged",
				&received, sent, unacknowledged),
			 3);
	free(text);
}

/* A newcomer pings the server `count` times while `during` (if given) runs the attack. */
static void newcomer_ping_times(const char *name, int count, void (*during)(void *), void *data)
{
	char out[256], commands[1024] = "";
	uint64_t usec[64];
	pid_t p;
	int status;
	size_t n;

	for (int i = 0; i < count; i++)
		strcat(commands, "ping server " TESTLIB_WAIT_S "; ");
	p = famez_client_start(famezd.socket_path, name, commands, out, sizeof(out));
	if (during) {
		uint64_t deadline = testlib_now_usec() + 120000000;
		bool done;

		while (!(done = client_done(p, &status)) && testlib_now_usec() < deadline)
			during(data);
		if (!done)
			status = testlib_wait(p, 1000);
	} else
		status = testlib_wait(p, 120000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", name,
		      testlib_show(out));
	n = famez_client_pong_times(out, SERVER_LABEL, usec, ELEMENTSOF(usec));
	ck_assert_msg(n == (size_t)count, "%zu pongs of %d: %s", n, count, testlib_show(out));
	printf("%s: %d pings, median %" PRIu64 " us, slowest %" PRIu64 " us\n", name, count,
	       usec[n / 2], usec[n - 1]);
	ck_assert_uint_lt(usec[n - 1], PING_MAX_USEC);
	ck_assert_uint_lt(usec[n / 2], PING_MEDIAN_USEC);
}

/* Waits until famezd said of `count` peers that they did not acknowledge. */
static void wait_silenced(unsigned count)
{
	testlib_wait_for_count(famezd.log_path, "did not acknowledge", count, TESTLIB_WAIT_MS);
}

typedef struct PingStorm {
	Attacker *a;
	unsigned n;
} PingStorm;

/* One round of the storm: every attacker puts a ping in its slot and rings the server. */
static void ping_storm_round(void *data)
{
	PingStorm *storm = data;

	for (unsigned i = 0; i < storm->n; i++)
		attacker_send(&storm->a[i], "ping", 0);
	usleep(300000);
}

/*
 * Peers that ping the server every 0.3 s and never acknowledge a pong: each used to hold the
 * server's slot a whole timeout per pong, for ever (a new ping made it "heard from").
 */
START_TEST(test_peers_that_never_acknowledge_leave_the_slot_to_others)
{
	Attacker a[N_ATTACKERS];
	PingStorm storm = { a, N_ATTACKERS };

	famezd_start(&famezd, NULL);
	for (unsigned i = 0; i < N_ATTACKERS; i++)
		attacker_connect(&a[i]);
	/* Their join-time questions go unanswered: each falls silent once. */
	ping_storm_round(&storm);
	wait_silenced(N_ATTACKERS);
	newcomer_ping_times("during", 20, ping_storm_round, &storm);
	/* Talking is not acknowledging: none of them got its silence lifted. */
	ck_assert_uint_eq(testlib_count(famezd.log_path, "did not acknowledge"), N_ATTACKERS);
	for (unsigned i = 0; i < N_ATTACKERS; i++)
		attacker_close(&a[i]);
	famezd_stop(&famezd);
}
END_TEST

/*
 * Peers that fill their reply queues (70 questions each, 64 answers queued) and go quiet for
 * good: their backlog used to be sent answer by answer, a timeout each, long after.
 */
START_TEST(test_a_backlog_for_silent_peers_is_dropped)
{
	Attacker a[N_ATTACKERS];

	famezd_start(&famezd, NULL);
	for (unsigned i = 0; i < N_ATTACKERS; i++)
		attacker_connect(&a[i]);
	for (int k = 0; k < 70; k++)
		for (unsigned i = 0; i < N_ATTACKERS; i++)
			attacker_send(&a[i], "Link CTL Peer-Attribute", 2000);
	wait_silenced(N_ATTACKERS);
	newcomer_ping_times("after", 20, NULL, NULL);
	/* And a while later, when their kept answers come up as probes. */
	usleep(1500000);
	newcomer_ping_times("later", 20, NULL, NULL);
	for (unsigned i = 0; i < N_ATTACKERS; i++)
		attacker_close(&a[i]);
	famezd_stop(&famezd);
	/* Each attacker's backlog, but for the 4 it keeps, was given up and counted. */
	{
		unsigned long long sent, unacknowledged;

		mailbox_counters(&sent, &unacknowledged);
		ck_assert_uint_ge(unacknowledged, N_ATTACKERS * (70 - 4));
		ck_assert_uint_ge(sent, 40);
	}
}
END_TEST

typedef struct Forger {
	Attacker *a;
	uint64_t victim;
} Forger;

/* Writes the victim's ID as the server slot's last responder, over and over, for 50 ms. */
static void forge_responder(void *data)
{
	Forger *f = data;
	uint64_t until = testlib_now_usec() + 50000;

	while (testlib_now_usec() < until)
		mailbox_set_u64(f->a->server_slot, MAILBOX_SLOT_LAST_RESPONDER, f->victim);
}

/*
 * A peer that writes the victim's ID as the last responder of the server's slot: the server
 * used to take that for an acknowledgement, reclaim the slot before the victim read its pong,
 * and count the pong as sent.
 */
START_TEST(test_a_forged_responder_is_no_acknowledgement)
{
	Attacker a;
	Forger forger = { &a, 2 }; /* the newcomer after us */

	famezd_start(&famezd, NULL);
	attacker_connect(&a);
	attacker_ack_server(&a);
	newcomer_ping_times("victim", 10, forge_responder, &forger);
	attacker_close(&a);
	famezd_stop(&famezd);
	/* Every pong was acknowledged by the victim itself: none given up, none forged. */
	{
		unsigned long long sent, unacknowledged;

		mailbox_counters(&sent, &unacknowledged);
		ck_assert_uint_eq(unacknowledged, 0);
		ck_assert_uint_ge(sent, 10);
	}
}
END_TEST

static bool knows_peer_two(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, 2);

	(void)data;
	return p && p->n_vectors == SERVER_ID + 1;
}

/* A peer other than the server sends famez-client a CTL-Write: ignored and counted. */
START_TEST(test_famez_client_is_configured_by_the_server_only)
{
	static const char forged[] =
		"CTL-Write Space=0,PFMCID=1500,PFMSID=27,CID=1500,SID=27,Tag=7";
	char out[256];
	Attacker a;
	pid_t victim;
	uint8_t *victim_slot;

	famezd_start(&famezd, NULL);
	attacker_connect(&a);
	attacker_ack_server(&a);
	victim = famez_client_start(famezd.socket_path, "victim",
				    "wait-msg 1 " TESTLIB_WAIT_S "; dump", out, sizeof(out));
	ck_assert(raw_client_read_until(&a.c, knows_peer_two, NULL, TESTLIB_WAIT_MS));
	raw_client_mail(&a.c, a.mem, 2, forged, 0);
	/* Once the victim took the forgery out of our slot, a message it waits for. */
	raw_client_mail(&a.c, a.mem, 2, "after the forgery", TESTLIB_WAIT_MS);
	ck_assert_msg(testlib_wait(victim, 2 * TESTLIB_WAIT_MS) == 0, "%s", testlib_show(out));
	ck_assert_msg(testlib_file_contains(out, "fabric configured no sid 0 cid 0 messages 1 "
						 "ctl-writes-refused 1"),
		      "%s", testlib_show(out));
	victim_slot = mailbox_slot(a.mem, 2);
	ck_assert_uint_eq(mailbox_get_u64(victim_slot, MAILBOX_SLOT_PEER_CID), 0);
	ck_assert_uint_eq(mailbox_get_u64(victim_slot, MAILBOX_SLOT_PEER_SID), 0);
	attacker_close(&a);
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile"), *qemu;

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_counter_costs_a_ring_not_a_wait);
	tcase_add_test(tc, test_stolen_wakeups_cost_nothing);
	tcase_add_test(tc, test_server_slot_written_by_a_peer_is_taken_back);
	tcase_add_test(tc, test_a_flood_of_unknown_messages_is_not_logged_line_by_line);
	tcase_add_test(tc, test_memory_cut_short_is_sized_back);
	tcase_add_test(tc, test_newcomers_wait_while_a_slow_reader_holds_fds);
	tcase_add_test(tc, test_one_user_joins_at_its_rate_and_up_to_its_count);
	tcase_add_test(tc, test_too_many_waiting_are_refused);
	tcase_add_test(tc, test_a_newcomer_that_gives_up_waiting_frees_its_turn);
	tcase_add_test(tc, test_peers_that_never_acknowledge_leave_the_slot_to_others);
	tcase_add_test(tc, test_a_backlog_for_silent_peers_is_dropped);
	tcase_add_test(tc, test_a_forged_responder_is_no_acknowledgement);
	tcase_add_test(tc, test_famez_client_is_configured_by_the_server_only);
	suite_add_tcase(s, tc);
	qemu = tcase_create("hostile-qemu");
	tcase_add_checked_fixture(qemu, testlib_setup, teardown_vm);
	tcase_set_timeout(qemu, 120);
	tcase_add_test(qemu, test_churn_beside_a_long_lived_peer_locks_nobody_out);
	suite_add_tcase(s, qemu);
	return testlib_run_suite(s);
}
