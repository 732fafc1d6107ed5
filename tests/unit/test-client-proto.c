/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client-proto.h"
#include "testlib.h"

static ClientState s;
static ClientEvent ev;

static int efd(void)
{
	return eventfd(0, EFD_CLOEXEC);
}

static void setup(void)
{
	client_state_init(&s);
}

static void teardown(void)
{
	client_state_done(&s);
}

static void handshake(uint16_t id)
{
	ck_assert_int_eq(client_state_feed(&s, 0, -1, &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_VERSION);
	ck_assert_int_eq(client_state_feed(&s, id, -1, &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_OWN_ID);
	ck_assert_int_eq(client_state_feed(&s, -1, efd(), &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_SHM);
}

START_TEST(test_full_handshake)
{
	handshake(3);
	ck_assert_int_eq(client_state_feed(&s, 1, efd(), &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_PEER_VECTOR);
	ck_assert_int_eq(ev.id, 1);
	ck_assert_int_eq(ev.vector, 0);
	ck_assert_int_eq(client_state_feed(&s, 1, efd(), &ev), 0);
	ck_assert_int_eq(ev.vector, 1);
	ck_assert_int_eq(client_state_feed(&s, 3, efd(), &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_OWN_VECTOR);
	ck_assert_int_eq(client_state_feed(&s, 3, efd(), &ev), 0);
	ck_assert_uint_eq(s.self.n_vectors, 2);
	ck_assert_uint_eq(s.n_peers, 1);
	ck_assert_uint_eq(client_state_peer(&s, 1)->n_vectors, 2);
	ck_assert_int_eq(s.own_id, 3);
	ck_assert_int_ge(s.shm_fd, 0);

	/* Departure: fds closed, peer gone. */
	int fd = client_state_peer(&s, 1)->fds[0];
	ck_assert_int_eq(client_state_feed(&s, 1, -1, &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_PEER_LEFT);
	ck_assert_ptr_null(client_state_peer(&s, 1));
	ck_assert_uint_eq(s.n_peers, 0);
	ck_assert_int_lt(fcntl(fd, F_GETFD), 0);

	/* A departure of a peer never announced is harmless. */
	ck_assert_int_eq(client_state_feed(&s, 9, -1, &ev), 0);
	ck_assert_int_eq(ev.type, CLIENT_EVENT_NONE);
}
END_TEST

START_TEST(test_refused)
{
	ck_assert_int_eq(client_state_feed(&s, -1, -1, &ev), -ECONNREFUSED);
	ck_assert_int_eq(s.refused_version, -1);
}
END_TEST

START_TEST(test_protocol_errors_close_fds)
{
	int fd = efd();

	/* A version with an fd. */
	ck_assert_int_eq(client_state_feed(&s, 0, fd, &ev), -EPROTO);
	ck_assert_int_lt(fcntl(fd, F_GETFD), 0);
	client_state_done(&s);

	/* An ID out of range, a shm message without fd, a peer ID out of range. */
	ck_assert_int_eq(client_state_feed(&s, 0, -1, &ev), 0);
	ck_assert_int_eq(client_state_feed(&s, 65536, -1, &ev), -EPROTO);
	client_state_done(&s);
	handshake(0);
	ck_assert_int_eq(client_state_feed(&s, 70000, efd(), &ev), -EPROTO);
	ck_assert_int_eq(client_state_feed(&s, -5, -1, &ev), -EPROTO);
	/* The server telling us that we left. */
	ck_assert_int_eq(client_state_feed(&s, 0, -1, &ev), -EPROTO);
	client_state_done(&s);

	ck_assert_int_eq(client_state_feed(&s, 0, -1, &ev), 0);
	ck_assert_int_eq(client_state_feed(&s, 1, -1, &ev), 0);
	ck_assert_int_eq(client_state_feed(&s, -1, -1, &ev), -EPROTO);
}
END_TEST

START_TEST(test_vector_limit)
{
	handshake(0);
	for (int i = 0; i < CLIENT_VECTORS_MAX; i++)
		ck_assert_int_eq(client_state_feed(&s, 1, efd(), &ev), 0);
	ck_assert_int_eq(client_state_feed(&s, 1, efd(), &ev), -E2BIG);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("client-proto");
	TCase *tc = tcase_create("client-proto");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_handshake);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_protocol_errors_close_fds);
	tcase_add_test(tc, test_vector_limit);
	suite_add_tcase(su, tc);
	return testlib_run_suite(su);
}
