/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "outq.h"
#include "wire.h"
#include "testlib.h"

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(test_fifo_and_growth)
{
	OutQueue q = OUTQ_INIT;

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(outq_push(&q, i, NULL), 0);
	ck_assert_uint_eq(outq_length(&q), 1000);
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(outq_peek(&q)->value, i);
		outq_pop(&q);
	}
	/* Wrap around the ring and grow again while wrapped. */
	for (int i = 1000; i < 3000; i++)
		ck_assert_int_eq(outq_push(&q, i, NULL), 0);
	for (int i = 500; i < 3000; i++) {
		ck_assert_int_eq(outq_peek(&q)->value, i);
		outq_pop(&q);
	}
	ck_assert(outq_is_empty(&q));
	ck_assert_ptr_null(outq_peek(&q));
	outq_clear(&q);
}
END_TEST

/*
 * A ring grown for a burst is freed once the queue empties (famezd keeps one queue per peer for
 * its lifetime: a newcomer's handshake must not stay resident); a small one is kept.
 */
START_TEST(test_burst_storage_is_given_back)
{
	OutQueue q = OUTQ_INIT;

	for (int i = 0; i < 4000; i++)
		ck_assert_int_eq(outq_push(&q, i, NULL), 0);
	ck_assert_uint_ge(q.capacity, 4000);
	for (int i = 0; i < 3999; i++)
		outq_pop(&q);
	/* Not empty yet: the ring stays, the last message in it. */
	ck_assert_uint_ge(q.capacity, 4000);
	ck_assert_int_eq(outq_peek(&q)->value, 3999);
	outq_pop(&q);
	ck_assert_uint_eq(q.capacity, 0);
	ck_assert_ptr_null(q.items);
	/* And it works again from nothing, in order. */
	for (int i = 0; i < OUTQ_KEEP; i++)
		ck_assert_int_eq(outq_push(&q, i, NULL), 0);
	ck_assert_uint_eq(q.capacity, OUTQ_KEEP);
	for (int i = 0; i < OUTQ_KEEP; i++) {
		ck_assert_int_eq(outq_peek(&q)->value, i);
		outq_pop(&q);
	}
	/* Small enough to keep for the next message. */
	ck_assert_uint_eq(q.capacity, OUTQ_KEEP);
	ck_assert_ptr_nonnull(q.items);
	outq_clear(&q);
}
END_TEST

START_TEST(test_fd_references)
{
	OutQueue q = OUTQ_INIT;
	int efd = eventfd(0, EFD_CLOEXEC);
	FdRef *ref = fdref_new(efd);

	ck_assert_int_eq(outq_push(&q, 1, ref), 0);
	ck_assert_int_eq(outq_push(&q, 2, ref), 0);
	/* The owner drops its reference: queued messages keep the fd open. */
	fdref_unref(ref);
	ck_assert(fd_is_open(efd));
	outq_pop(&q);
	ck_assert(fd_is_open(efd));
	outq_clear(&q);
	ck_assert(!fd_is_open(efd));
}
END_TEST

START_TEST(test_drain_backpressure_keeps_order)
{
	OutQueue q = OUTQ_INIT;
	int sv[2], small = 1;
	uint64_t sent = 0;
	WireReader r = WIRE_READER_INIT;
	FdRef *ref = fdref_new(eventfd(0, EFD_CLOEXEC));
	int64_t expect = 0, value;
	int fd, ret;
	const int n = 20000;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(outq_push(&q, i, i % 3 == 0 ? ref : NULL), 0);

	/* The socket fills long before the queue is empty. */
	ck_assert_int_eq(outq_drain(&q, sv[0], &sent), -EAGAIN);
	ck_assert_uint_gt(sent, 0);
	ck_assert_uint_lt(sent, n);

	/* Alternate reading and draining; every message arrives once, in order. */
	while (expect < n) {
		while ((ret = wire_read(sv[1], &r, &value, &fd)) == 1) {
			ck_assert_int_eq(value, expect);
			ck_assert_int_eq(fd >= 0, expect % 3 == 0);
			if (fd >= 0)
				close(fd);
			expect++;
		}
		ck_assert_int_eq(ret, 0);
		ret = outq_drain(&q, sv[0], &sent);
		ck_assert(ret == 0 || ret == -EAGAIN);
	}
	ck_assert_uint_eq(sent, n);
	ck_assert(outq_is_empty(&q));
	fdref_unref(ref);
	outq_clear(&q);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_drain_reports_dead_peer)
{
	OutQueue q = OUTQ_INIT;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(outq_push(&q, 1, NULL), 0);
	ck_assert_int_eq(outq_drain(&q, sv[0], NULL), -EPIPE);
	ck_assert_uint_eq(outq_length(&q), 1);
	outq_clear(&q);
	close(sv[0]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outq");
	TCase *tc = tcase_create("outq");

	tcase_add_test(tc, test_fifo_and_growth);
	tcase_add_test(tc, test_burst_storage_is_given_back);
	tcase_add_test(tc, test_fd_references);
	tcase_add_test(tc, test_drain_backpressure_keeps_order);
	tcase_add_test(tc, test_drain_reports_dead_peer);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
