/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "doorbell.h"
#include "testlib.h"

#define FULL UINT64_C(0xfffffffffffffffe)

/* An eventfd as a hostile peer leaves it: blocking, whatever famezd asked for. */
static int blocking_eventfd(uint64_t count)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ck_assert_int_ge(fd, 0);
	if (count)
		ck_assert_int_eq(write(fd, &count, sizeof(count)), sizeof(count));
	ck_assert_int_eq(fcntl(fd, F_SETFL, 0), 0);
	return fd;
}

/* Both ways to ring, the one that asks first and the one that does not. */
START_TEST(test_rings_add_up)
{
	int (*const ring[])(int) = { doorbell_ring, doorbell_signal };
	int fd = blocking_eventfd(0);
	uint64_t count = 0;

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(ring[_i](fd), 0);
	ck_assert_int_eq(doorbell_take(fd, &count), 0);
	ck_assert_uint_eq(count, 1000);
	close(fd);
}
END_TEST

START_TEST(test_nothing_to_take_does_not_wait)
{
	int fd = blocking_eventfd(0);
	uint64_t count = 0;

	ck_assert_int_eq(doorbell_take(fd, &count), -EAGAIN);
	ck_assert_int_eq(doorbell_ring(fd), 0);
	ck_assert_int_eq(doorbell_take(fd, &count), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(doorbell_take(fd, &count), -EAGAIN);
	close(fd);
}
END_TEST

START_TEST(test_full_counter_does_not_wait)
{
	int fd = blocking_eventfd(FULL - 1);
	uint64_t count = 0;

	/* One more fits; then it is full, and a ring says so instead of waiting. */
	ck_assert_int_eq(doorbell_ring(fd), 0);
	ck_assert_int_eq(doorbell_ring(fd), -EAGAIN);
	ck_assert_int_eq(doorbell_take(fd, &count), 0);
	ck_assert_uint_eq(count, FULL);
	ck_assert_int_eq(doorbell_ring(fd), 0);
	close(fd);
}
END_TEST

/* A ring that does not ask: on a full counter it neither waits nor fails. */
START_TEST(test_signal_does_not_ask_or_wait)
{
	int fd = blocking_eventfd(FULL - 1);
	uint64_t count = 0;

	ck_assert_int_eq(doorbell_full(fd), 0);
	ck_assert_int_eq(doorbell_signal(fd), 0);
	ck_assert_int_eq(doorbell_full(fd), 1);
	ck_assert_int_eq(doorbell_signal(fd), 0);
	/* Where AIO rings, the kernel saturates at the very top, one past what write() allows. */
	ck_assert_int_eq(doorbell_take(fd, &count), 0);
	ck_assert_uint_ge(count, FULL);
	ck_assert_int_eq(doorbell_full(fd), 0);
	close(fd);
	ck_assert_int_eq(doorbell_full(fd), -EBADF);
	ck_assert_int_lt(doorbell_signal(fd), 0);
}
END_TEST

START_TEST(test_not_an_eventfd)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_lt(doorbell_ring(p[1]), 0);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(doorbell_ring(p[1]), -EBADF);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("doorbell");
	TCase *tc = tcase_create("doorbell");

	tcase_add_loop_test(tc, test_rings_add_up, 0, 2);
	tcase_add_test(tc, test_nothing_to_take_does_not_wait);
	tcase_add_test(tc, test_full_counter_does_not_wait);
	tcase_add_test(tc, test_signal_does_not_ask_or_wait);
	tcase_add_test(tc, test_not_an_eventfd);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
