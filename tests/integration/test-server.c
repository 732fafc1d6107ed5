/* SPDX-License-Identifier: MIT */
/*
 * famezd against in-process raw clients and famez-client processes: the exact message sequence
 * the protocol promises, at scale, with slow readers and with misbehaving clients.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "testlib.h"

static Famezd famezd;

/* The expected stream: a list of (value, has_fd) built up per client. */
typedef struct Expect {
	RawMessage *m;
	size_t n, cap;
} Expect;

static void expect_push(Expect *e, int64_t value, bool has_fd, unsigned times)
{
	for (unsigned i = 0; i < times; i++) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 256;
			e->m = realloc(e->m, e->cap * sizeof(*e->m));
		}
		e->m[e->n++] = (RawMessage){ .value = value, .has_fd = has_fd };
	}
}

static void assert_log_equals(const RawClient *c, const Expect *e, const char *who)
{
	size_t n = MIN(c->n_log, e->n);

	for (size_t i = 0; i < n; i++)
		ck_assert_msg(c->log[i].value == e->m[i].value &&
				      c->log[i].has_fd == e->m[i].has_fd,
			      "%s: message %zu is %lld%s, expected %lld%s", who, i,
			      (long long)c->log[i].value, c->log[i].has_fd ? "+fd" : "",
			      (long long)e->m[i].value, e->m[i].has_fd ? "+fd" : "");
	ck_assert_msg(c->n_log == e->n, "%s: received %zu messages, expected %zu", who, c->n_log,
		      e->n);
}

/* The handshake of client `id` among `n` initial clients that joined in ID order. */
static void expect_handshake(Expect *e, unsigned id, unsigned n, unsigned vectors)
{
	expect_push(e, 0, false, 1);
	expect_push(e, id, false, 1);
	expect_push(e, -1, true, 1);
	for (unsigned j = 0; j < id; j++)
		expect_push(e, j, true, vectors);
	expect_push(e, id, true, vectors);
	for (unsigned j = id + 1; j < n; j++)
		expect_push(e, j, true, vectors);
}

static void read_all_slowly(RawClient *c, unsigned n, const size_t *want, size_t chunk,
			    int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;
	bool done;

	do {
		done = true;
		for (unsigned i = 0; i < n; i++) {
			if (c[i].n_log < want[i]) {
				raw_client_read(&c[i], chunk);
				ck_assert_msg(!c[i].eof && !c[i].error,
					      "client %u lost its connection", i);
				done = false;
			}
		}
		ck_assert_msg(testlib_now_usec() < deadline, "clients did not receive everything");
		if (!done)
			usleep(200);
	} while (!done);
}

/* Reads a misbehaving client's socket until famezd closes it. */
static void wait_closed(RawClient *m)
{
	ck_assert_msg(raw_client_read_closed(m, TESTLIB_WAIT_MS),
		      "famezd did not disconnect the client");
}

typedef enum Misbehaviour {
	WRITES_BYTES,
	HALF_CLOSES,
	FLOODS,
	VANISHES,
} Misbehaviour;

static void misbehave(Misbehaviour how, unsigned *next_id, Expect *expect, unsigned n,
		      unsigned vectors)
{
	static char junk[65536];
	RawClient m;
	unsigned id = (*next_id)++;

	ck_assert_int_eq(raw_client_connect(&m, famezd.socket_path, false), 0);
	switch (how) {
	case WRITES_BYTES:
		ck_assert_int_eq(send(m.fd, "hello", 5, MSG_NOSIGNAL), 5);
		break;
	case HALF_CLOSES:
		ck_assert_int_eq(shutdown(m.fd, SHUT_WR), 0);
		break;
	case FLOODS:
		for (int i = 0; i < 64; i++)
			if (send(m.fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
		break;
	case VANISHES:
		break;
	}
	if (how == VANISHES) {
		close(m.fd);
		m.fd = -1;
		/* Nothing to wait on from here: the others' streams show the departure. */
	} else {
		wait_closed(&m);
	}
	raw_client_close(&m);
	for (unsigned i = 0; i < n; i++) {
		expect_push(&expect[i], id, true, vectors);
		expect_push(&expect[i], id, false, 1);
	}
}

/* The version and the ID of a handshake are in. */
static bool got_id(RawClient *c, void *data)
{
	(void)data;
	return c->n_log >= 2;
}

static void run_scale(unsigned n, unsigned vectors)
{
	char vec[16];
	const char *args[] = { "--mode", "ivshmem", "--vectors", vec, NULL };
	RawClient last, *c = calloc(n, sizeof(*c));
	Expect *expect = calloc(n, sizeof(*expect));
	size_t *want = calloc(n, sizeof(*want));
	unsigned next_id = n;

	snprintf(vec, sizeof(vec), "%u", vectors);
	famezd_start(&famezd, args);

	/* Everyone connects and nobody reads: famezd's sends to early peers hit full sockets. */
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(raw_client_connect(&c[i], famezd.socket_path, false), 0);
		expect_handshake(&expect[i], i, n, vectors);
	}

	/* Misbehaving clients come and go while the good ones still read nothing. */
	misbehave(WRITES_BYTES, &next_id, expect, n, vectors);
	misbehave(HALF_CLOSES, &next_id, expect, n, vectors);
	misbehave(FLOODS, &next_id, expect, n, vectors);
	misbehave(VANISHES, &next_id, expect, n, vectors);

	for (unsigned i = 0; i < n; i++)
		want[i] = expect[i].n;
	read_all_slowly(c, n, want, 16, 120000);

	/*
	 * Nothing more than promised arrives either. A last newcomer is the barrier: each
	 * client's stream is in order, so its join comes after anything famezd had queued before.
	 */
	ck_assert_int_eq(raw_client_connect(&last, famezd.socket_path, false), 0);
	ck_assert(raw_client_read_until(&last, got_id, NULL, TESTLIB_WAIT_MS));
	for (unsigned i = 0; i < n; i++) {
		expect_push(&expect[i], last.log[1].value, true, vectors);
		want[i] = expect[i].n;
	}
	read_all_slowly(c, n, want, SIZE_MAX, TESTLIB_WAIT_MS);
	for (unsigned i = 0; i < n; i++) {
		char who[32];

		raw_client_read(&c[i], SIZE_MAX);
		snprintf(who, sizeof(who), "client %u", i);
		assert_log_equals(&c[i], &expect[i], who);
	}

	raw_client_close(&last);
	for (unsigned i = 0; i < n; i++) {
		raw_client_close(&c[i]);
		free(expect[i].m);
	}
	famezd_stop(&famezd);
	ck_assert_msg(testlib_file_contains(famezd.log_path, "2 protocol errors"),
		      "famezd counted other than 2 protocol errors: %s",
		      testlib_show(famezd.log_path));
	free(c);
	free(expect);
	free(want);
}

START_TEST(test_scale_500_peers_1_vector)
{
	run_scale(500, 1);
}
END_TEST

START_TEST(test_scale_150_peers_4_vectors)
{
	run_scale(150, 4);
}
END_TEST

static const char *const ivshmem_mode[] = { "--mode", "ivshmem", NULL };

static bool has_messages(RawClient *c, void *data)
{
	return c->n_log >= *(size_t *)data;
}

START_TEST(test_eventfds_are_shared)
{
	const char *args[] = { "--mode", "ivshmem", "--vectors", "3", NULL };
	RawClient c[3];
	uint64_t v;

	famezd_start(&famezd, args);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(raw_client_connect(&c[i], famezd.socket_path, true), 0);
	for (int i = 0; i < 3; i++) {
		size_t want = 3 + 3 * 3;

		ck_assert(raw_client_read_until(&c[i], has_messages, &want, TESTLIB_WAIT_MS));
		ck_assert_int_eq(c[i].state.own_id, i);
		ck_assert_uint_eq(c[i].state.n_peers, 2);
	}
	/* Ringing peer 2's vector 1 through client 0's copy wakes client 2's own eventfd. */
	for (int from = 0; from < 3; from++)
		for (int to = 0; to < 3; to++) {
			if (from == to)
				continue;
			for (unsigned vec = 0; vec < 3; vec++) {
				const ClientPeer *p =
					client_state_peer(&c[from].state, (uint16_t)to);

				v = 1;
				ck_assert_int_eq(write(p->fds[vec], &v, 8), 8);
				ck_assert_int_eq(read(c[to].state.self.fds[vec], &v, 8), 8);
				ck_assert_uint_eq(v, 1);
			}
		}
	/* And the shared memory is one object. */
	{
		struct stat a, b;

		ck_assert_int_eq(fstat(c[0].state.shm_fd, &a), 0);
		ck_assert_int_eq(fstat(c[2].state.shm_fd, &b), 0);
		ck_assert_uint_eq(a.st_ino, b.st_ino);
		ck_assert_int_eq(a.st_size, 4 << 20);
	}
	for (int i = 0; i < 3; i++)
		raw_client_close(&c[i]);
	famezd_stop(&famezd);
}
END_TEST

static bool got_version(RawClient *c, void *data)
{
	(void)data;
	return c->n_log >= 1;
}

START_TEST(test_full_fabric_refuses_and_returning_peer_gets_its_place)
{
	const char *args[] = { "--mode", "ivshmem", "--max-peers", "2", NULL };
	RawClient a, b, x;

	famezd_start(&famezd, args);
	ck_assert_int_eq(raw_client_connect(&a, famezd.socket_path, false), 0);
	ck_assert_int_eq(raw_client_connect(&b, famezd.socket_path, false), 0);

	/* A third is refused with version -1 and closed. */
	ck_assert_int_eq(raw_client_connect(&x, famezd.socket_path, false), 0);
	ck_assert(raw_client_read_until(&x, got_version, NULL, TESTLIB_WAIT_MS));
	ck_assert_int_eq(x.log[0].value, -1);
	wait_closed(&x);
	ck_assert_uint_eq(x.n_log, 1);
	raw_client_close(&x);

	/*
	 * A peer that leaves and reconnects at once, while full, is admitted every time, even
	 * right behind a newcomer that was refused: when full famezd judges one newcomer per
	 * wake-up, so it sees the departure before the next one.
	 */
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(raw_client_connect(&x, famezd.socket_path, false), 0);
		ck_assert(raw_client_read_until(&x, got_version, NULL, TESTLIB_WAIT_MS));
		raw_client_close(&b);
		ck_assert_int_eq(raw_client_connect(&b, famezd.socket_path, false), 0);
		ck_assert(raw_client_read_until(&b, got_version, NULL, TESTLIB_WAIT_MS));
		ck_assert_msg(b.log[0].value == 0, "reconnect %d was refused", i);
		ck_assert_int_eq(x.log[0].value, -1);
		raw_client_close(&x);
	}
	raw_client_close(&a);
	raw_client_close(&b);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "refused 51,"));
}
END_TEST

/*
 * --max-queue counts what waits beyond a peer's handshake: a newcomer whose handshake alone is
 * far longer is served, a peer that reads nothing is disconnected once that much more waits.
 */
START_TEST(test_max_queue_counts_after_the_handshake)
{
	enum { READERS = 100, VECTORS = 64, MAX_QUEUE = 64 };
	const char *args[] = { "--mode", "ivshmem", "--vectors", "64", "--max-queue", "64", NULL };
	RawClient *c = calloc(READERS + 2, sizeof(*c));
	size_t want[READERS + 1];
	RawClient *idle = &c[READERS + 1];
	unsigned joins = 0;

	famezd_start(&famezd, args);
	/* One at a time, everyone reading: nobody falls behind. */
	for (unsigned i = 0; i <= READERS; i++) {
		ck_assert_int_eq(raw_client_connect(&c[i], famezd.socket_path, false), 0);
		for (unsigned j = 0; j <= i; j++)
			want[j] = 3 + (i + 1) * VECTORS;
		read_all_slowly(c, i + 1, want, SIZE_MAX, TESTLIB_WAIT_MS);
	}
	/* The last one's handshake was 3 + 101 x 64 messages, most of them queued at once. */
	ck_assert_uint_eq(c[READERS].n_log, 3 + (READERS + 1) * VECTORS);

	/* One that reads nothing, then peers join and leave while the others read. */
	ck_assert_int_eq(raw_client_connect(idle, famezd.socket_path, false), 0);
	for (unsigned i = 0; i <= READERS; i++)
		want[i] += VECTORS;
	read_all_slowly(c, READERS + 1, want, SIZE_MAX, TESTLIB_WAIT_MS);
	while (!testlib_file_contains(famezd.log_path, "reads none; disconnecting it")) {
		RawClient x;

		ck_assert_msg(joins < 3 * MAX_QUEUE / VECTORS, "the idle peer is still connected");
		ck_assert_int_eq(raw_client_connect(&x, famezd.socket_path, false), 0);
		ck_assert(raw_client_read_until(&x, got_version, NULL, TESTLIB_WAIT_MS));
		raw_client_close(&x);
		joins++;
		for (unsigned i = 0; i <= READERS; i++)
			want[i] += VECTORS + 1;
		read_all_slowly(c, READERS + 1, want, SIZE_MAX, TESTLIB_WAIT_MS);
	}
	/* Not before MAX_QUEUE more messages waited for it. */
	ck_assert_uint_ge(joins * (VECTORS + 1), MAX_QUEUE);
	for (unsigned i = 0; i <= READERS + 1; i++)
		raw_client_close(&c[i]);
	famezd_stop(&famezd);
	ck_assert_msg(testlib_file_contains(famezd.log_path, "1 protocol errors"), "%s",
		      testlib_show(famezd.log_path));
	free(c);
}
END_TEST

START_TEST(test_famez_client_interrupts_and_departures)
{
	const char *args[] = { "--mode", "ivshmem", "--vectors", "2", NULL };

	famezd_start(&famezd, args);
	famez_client_pair_check(famezd.socket_path);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_famez_client_errors)
{
	char out[256];
	pid_t p;
	int status;

	famezd_start(&famezd, ivshmem_mode);
	/* A command that fails gives exit status 1 and says why. */
	p = famez_client_start(famezd.socket_path, "bad", "int 7 0", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);

	/* A timed out wait fails too. */
	p = famez_client_start(famezd.socket_path, "timeout", "wait-peers 3 1", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);

	/* Shared memory reads and writes between two clients. */
	p = famez_client_start(famezd.socket_path, "w", "write 64 0x1234", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	p = famez_client_start(famezd.socket_path, "r", "read 64", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_msg(testlib_file_contains(out, "read 64 0x1234"), "%s", testlib_show(out));
	famezd_stop(&famezd);

	/* No server: exit status 3 after --wait. */
	p = famez_client_start(famezd.socket_path, "none", "dump", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 3);
}
END_TEST

START_TEST(test_famez_client_refused_when_full)
{
	const char *args[] = { "--mode", "ivshmem", "--max-peers", "1", NULL };
	char out[256];
	RawClient a;
	pid_t p;
	int status;

	famezd_start(&famezd, args);
	ck_assert_int_eq(raw_client_connect(&a, famezd.socket_path, false), 0);
	p = famez_client_start(famezd.socket_path, "full", "dump", out, sizeof(out));
	status = testlib_wait(p, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 4);
	raw_client_close(&a);
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_eventfds_are_shared);
	tcase_add_test(tc, test_full_fabric_refuses_and_returning_peer_gets_its_place);
	tcase_add_test(tc, test_max_queue_counts_after_the_handshake);
	tcase_add_test(tc, test_famez_client_interrupts_and_departures);
	tcase_add_test(tc, test_famez_client_errors);
	tcase_add_test(tc, test_famez_client_refused_when_full);
	tcase_add_test(tc, test_scale_500_peers_1_vector);
	tcase_add_test(tc, test_scale_150_peers_4_vectors);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
