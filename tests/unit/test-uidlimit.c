/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "testlib.h"
#include "uidlimit.h"

static UidLimits *l;

static void teardown(void)
{
	l = uid_limits_free(l);
}

START_TEST(test_count_per_uid_waiting_included)
{
	uint64_t wait;

	ck_assert_int_eq(uid_limits_new(&l, 3, 0), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(uid_limits_check(l, 1000, 0, &wait), UID_ADMIT);
		uid_limits_joined(l, 1000);
	}
	ck_assert_int_eq(uid_limits_check(l, 1000, 0, &wait), UID_TOO_MANY);
	/* Another user is counted apart, and root not at all. */
	ck_assert_int_eq(uid_limits_check(l, 1001, 0, &wait), UID_ADMIT);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(uid_limits_check(l, 0, 0, &wait), UID_ADMIT);
		uid_limits_joined(l, 0);
	}
	uid_limits_left(l, 1000);
	ck_assert_uint_eq(uid_limits_peers(l, 1000), 2);
	ck_assert_int_eq(uid_limits_check(l, 1000, 0, &wait), UID_ADMIT);
}
END_TEST

START_TEST(test_rate_waits_in_order_then_refuses)
{
	uint64_t wait = 0, now = 1000000;

	ck_assert_int_eq(uid_limits_new(&l, 0, 10), 0);
	/* A full bucket: ten at once. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(uid_limits_check(l, 1000, now, &wait), UID_ADMIT);
	/* Then one every 100 ms; up to ten wait for it, more are refused. */
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(uid_limits_check(l, 1000, now, &wait), UID_WAIT);
		ck_assert_uint_le(wait, 100000);
		ck_assert_uint_gt(wait, 99000);
	}
	ck_assert_uint_eq(uid_limits_waiting(l, 1000), 10);
	ck_assert_int_eq(uid_limits_check(l, 1000, now, &wait), UID_TOO_FAST);
	/* 250 ms later two turns came: the first two waiting get them, the others wait on. */
	now += 250000;
	ck_assert_int_eq(uid_limits_recheck(l, 1000, now, &wait), UID_ADMIT);
	ck_assert_int_eq(uid_limits_recheck(l, 1000, now, &wait), UID_ADMIT);
	ck_assert_int_eq(uid_limits_recheck(l, 1000, now, &wait), UID_WAIT);
	ck_assert_uint_le(wait, 50000);
	ck_assert_uint_eq(uid_limits_waiting(l, 1000), 8);
	/* A newcomer does not overtake those who wait, even with a turn free. */
	now += 100000;
	ck_assert_int_eq(uid_limits_check(l, 1000, now, &wait), UID_WAIT);
	ck_assert_uint_eq(uid_limits_waiting(l, 1000), 9);
	uid_limits_gave_up(l, 1000);
	ck_assert_uint_eq(uid_limits_waiting(l, 1000), 8);
	/* Another user has a bucket of its own. */
	ck_assert_int_eq(uid_limits_check(l, 1001, now, &wait), UID_ADMIT);
}
END_TEST

START_TEST(test_leaving_does_not_refill)
{
	uint64_t wait = 0;

	ck_assert_int_eq(uid_limits_new(&l, 0, 2), 0);
	ck_assert_int_eq(uid_limits_check(l, 7, 0, &wait), UID_ADMIT);
	uid_limits_joined(l, 7);
	ck_assert_int_eq(uid_limits_check(l, 7, 0, &wait), UID_ADMIT);
	uid_limits_joined(l, 7);
	uid_limits_left(l, 7);
	uid_limits_left(l, 7);
	ck_assert_int_eq(uid_limits_check(l, 7, 0, &wait), UID_WAIT);
	/* Half a second refills one turn. */
	ck_assert_int_eq(uid_limits_recheck(l, 7, 500000, &wait), UID_ADMIT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uidlimit");
	TCase *tc = tcase_create("uidlimit");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_count_per_uid_waiting_included);
	tcase_add_test(tc, test_rate_waits_in_order_then_refuses);
	tcase_add_test(tc, test_leaving_does_not_refill);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
