/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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
	tcase_add_test(tc, test_json_writer);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
