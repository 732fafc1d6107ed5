/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "size.h"
#include "testlib.h"

START_TEST(test_parse_suffixes)
{
	uint64_t v;

	ck_assert_int_eq(parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(parse_size("4M", &v), 0);
	ck_assert_uint_eq(v, 4u << 20);
	ck_assert_int_eq(parse_size("4m", &v), 0);
	ck_assert_uint_eq(v, 4u << 20);
	ck_assert_int_eq(parse_size("1K", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(parse_size("8G", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(8) << 30);
	ck_assert_int_eq(parse_size("2T", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(2) << 40);
	ck_assert_int_eq(parse_size("16MiB", &v), 0);
	ck_assert_uint_eq(v, 16u << 20);
	ck_assert_int_eq(parse_size("64B", &v), 0);
	ck_assert_uint_eq(v, 64);
}
END_TEST

START_TEST(test_parse_rejects)
{
	uint64_t v = 77;

	ck_assert_int_eq(parse_size("", &v), -EINVAL);
	ck_assert_int_eq(parse_size("M", &v), -EINVAL);
	ck_assert_int_eq(parse_size("-4M", &v), -EINVAL);
	ck_assert_int_eq(parse_size("4X", &v), -EINVAL);
	ck_assert_int_eq(parse_size("4MM", &v), -EINVAL);
	ck_assert_int_eq(parse_size("4 M", &v), -EINVAL);
	ck_assert_int_eq(parse_size("0", &v), -EINVAL);
	ck_assert_int_eq(parse_size("1iB", &v), -EINVAL);
	ck_assert_int_eq(parse_size("16E", &v), -ERANGE);
	ck_assert_int_eq(parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_sizes_of_4g_and_more_do_not_wrap)
{
	uint64_t v;

	ck_assert_int_eq(parse_size("4G", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(4) << 30);
	ck_assert(size_is_pow2(v));
	ck_assert_int_eq(parse_size("8E", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(1) << 63);
}
END_TEST

START_TEST(test_pow2)
{
	ck_assert(size_is_pow2(1));
	ck_assert(size_is_pow2(4096));
	ck_assert(!size_is_pow2(0));
	ck_assert(!size_is_pow2(3u << 20));
	ck_assert_uint_eq(size_pow2_below(3u << 20), 2u << 20);
	ck_assert_uint_eq(size_pow2_above(3u << 20), 4u << 20);
	ck_assert_uint_eq(size_pow2_above(4u << 20), 4u << 20);
	ck_assert_uint_eq(size_pow2_below(1), 1);
	ck_assert_uint_eq(size_pow2_above((UINT64_C(1) << 63) + 1), 0);
}
END_TEST

START_TEST(test_format)
{
	char buf[SIZE_STR_MAX];

	ck_assert_str_eq(format_size(4u << 20, buf), "4M");
	ck_assert_str_eq(format_size(UINT64_C(3) << 30, buf), "3G");
	ck_assert_str_eq(format_size(1000, buf), "1000");
	ck_assert_str_eq(format_size(1536, buf), "1536");
	ck_assert_str_eq(format_size(UINT64_C(1) << 63, buf), "8E");
}
END_TEST

START_TEST(test_parse_uint)
{
	uint64_t v;

	ck_assert_int_eq(parse_uint("256", 1, 256, &v), 0);
	ck_assert_uint_eq(v, 256);
	ck_assert_int_eq(parse_uint("257", 1, 256, &v), -ERANGE);
	ck_assert_int_eq(parse_uint("0", 1, 256, &v), -ERANGE);
	ck_assert_int_eq(parse_uint("12a", 1, 256, &v), -EINVAL);
	ck_assert_int_eq(parse_uint("", 1, 256, &v), -EINVAL);
	ck_assert_int_eq(parse_uint("+3", 1, 256, &v), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("size");
	TCase *tc = tcase_create("size");

	tcase_add_test(tc, test_parse_suffixes);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_sizes_of_4g_and_more_do_not_wrap);
	tcase_add_test(tc, test_pow2);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_parse_uint);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
