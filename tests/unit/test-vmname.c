/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "strutil.h"
#include "testlib.h"
#include "vmname.h"

/* A cmdline as /proc has it: arguments each with its NUL. */
static char *name_of(const char *const args[])
{
	char buf[1024];
	size_t n = 0;

	for (size_t i = 0; args[i]; i++) {
		size_t len = strlen(args[i]) + 1;

		memcpy(buf + n, args[i], len);
		n += len;
	}
	return vm_name_from_cmdline(buf, n);
}

START_TEST(test_vm_names)
{
	const char *plain[] = { "qemu-system-x86_64", "-m", "1G", "-name", "web", NULL };
	const char *libvirt[] = { "qemu", "-name", "guest=db01,debug-threads=on", "-S", NULL };
	const char *process[] = { "qemu", "-name", "app,process=qemu-app", NULL };
	const char *guest_later[] = { "qemu", "-name", "debug-threads=on,guest=late", NULL };
	const char *none[] = { "qemu", "-m", "1G", NULL };
	const char *dangling[] = { "qemu", "-name", NULL };
	const char *options_only[] = { "qemu", "-name", "debug-threads=on", NULL };
	char *n;

	ck_assert_str_eq(n = name_of(plain), "web");
	free(n);
	ck_assert_str_eq(n = name_of(libvirt), "db01");
	free(n);
	ck_assert_str_eq(n = name_of(process), "app");
	free(n);
	ck_assert_str_eq(n = name_of(guest_later), "late");
	free(n);
	ck_assert_ptr_null(name_of(none));
	ck_assert_ptr_null(name_of(dangling));
	ck_assert_ptr_null(name_of(options_only));
	ck_assert_ptr_null(vm_name_of_pid(0));
}
END_TEST

#define assert_sanitized(in, max, want) assert_sanitized_n(in, sizeof(in) - 1, max, want)

static void assert_sanitized_n(const char *in, size_t len, size_t max, const char *want)
{
	char *out = str_sanitize(in, len, max);
	char *again = str_sanitize(out, strlen(out), max);

	ck_assert_str_eq(out, want);
	/* Applied twice, nothing more changes. */
	ck_assert_str_eq(again, want);
	free(out);
	free(again);
}

START_TEST(test_untrusted_text_is_made_printable)
{
	const char *evil[] = { "qemu", "-name", "guest=ev\x1b[2Jil\xff,debug-threads=on", NULL };
	char *n;

	assert_sanitized("plain web-01", 256, "plain web-01");
	/* Terminal controls (C0, DEL, C1 as UTF-8) become visible escapes. */
	assert_sanitized("a\x1b[31mb\x07\x7f", 256, "a\\x1b[31mb\\x07\\x7f");
	assert_sanitized("c\xc2\x9b"
			 "1m",
			 256, "c\\x9b1m");
	/* A NUL inside is a control like any other. */
	assert_sanitized("x\0y", 256, "x\\x00y");
	/* Valid UTF-8 stays; what is not (stray, overlong, surrogate) is U+FFFD. */
	assert_sanitized("caf\xc3\xa9 \xe2\x82\xac", 256, "caf\xc3\xa9 \xe2\x82\xac");
	assert_sanitized(
		"\xff\xc0\xaf\xed\xa0\x80", 256,
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_sanitized("\xe2\x82", 256, "\xef\xbf\xbd\xef\xbf\xbd");
	/* Cut at a character boundary, never in an escape, with a mark. */
	assert_sanitized("abcdefghij", 10, "abcdefghij");
	assert_sanitized("abcdefghijk", 10, "abcdefg...");
	assert_sanitized("abcdef\x01gh", 10, "abcdef...");
	assert_sanitized("abcd\xc3\xa9\xc3\xa9xyz", 10, "abcd\xc3\xa9...");

	ck_assert_str_eq(n = name_of(evil), "ev\\x1b[2Jil\xef\xbf\xbd");
	free(n);
}
END_TEST

START_TEST(test_json_writer)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	Json j = JSON_INIT(f);

	json_object_begin(&j);
	json_key_string(&j, "name", "a \"quoted\" \\ line\n\x01");
	json_key_uint(&j, "n", 18446744073709551615ULL);
	json_key_int(&j, "i", -1);
	json_key(&j, "list");
	json_array_begin(&j);
	json_uint(&j, 1);
	json_object_begin(&j);
	json_object_end(&j);
	json_array_begin(&j);
	json_array_end(&j);
	json_array_end(&j);
	json_object_end(&j);
	json_end(&j);
	fclose(f);
	ck_assert_str_eq(buf, "{\"name\":\"a \\\"quoted\\\" \\\\ line\\n\\u0001\","
			      "\"n\":18446744073709551615,\"i\":-1,\"list\":[1,{},[]]}\n");
	ck_assert(testlib_json_valid(buf));
	ck_assert(!testlib_json_valid("{\"a\":1,}"));
	ck_assert(!testlib_json_valid("[1 2]"));
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmname-json");
	TCase *tc = tcase_create("vmname-json");

	tcase_add_test(tc, test_vm_names);
	tcase_add_test(tc, test_untrusted_text_is_made_printable);
	tcase_add_test(tc, test_json_writer);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
