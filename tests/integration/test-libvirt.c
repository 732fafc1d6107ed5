/* SPDX-License-Identifier: MIT */
/*
 * famez-virt with a real libvirtd (through libvirt-env.sh): a domain with libvirt's default
 * devices gets the fabric device by `famez-virt inject | virsh define` and by `famez-virt attach`,
 * starts, its QEMU joins famezd as a peer and leaves when destroyed; on pc and q35. Bad input
 * leaves the definition untouched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static Famezd famezd;
static char out[256], err[256], domain[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s/sh.out", testlib_tmpdir());
	snprintf(err, sizeof(err), "%s/sh.err", testlib_tmpdir());
	return testlib_run((char *const *)argv, out, err, 60000);
}

static const char *virt(void)
{
	return getenv("FAMEZ_VIRT");
}

static void teardown(void)
{
	if (domain[0]) {
		sh("virsh -c qemu:///system destroy %s", domain);
		sh("virsh -c qemu:///system undefine %s", domain);
	}
	testlib_teardown();
}

static void start_famezd(void)
{
	famezd_start(&famezd, NULL);
	/* QEMU runs as libvirt-qemu: it must reach the socket. */
	chmod(testlib_tmpdir(), 0755);
	chmod(famezd.socket_path, 0666);
}

/* A domain with only what libvirt adds by default. */
static const char *write_domain(const char *machine)
{
	static char path[256];
	FILE *f;

	snprintf(domain, sizeof(domain), "famez-test-%s-%d", machine, (int)getpid());
	snprintf(path, sizeof(path), "%s/%s.xml", testlib_tmpdir(), domain);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"<domain type='qemu'>\n"
		"  <name>%s</name>\n"
		"  <memory unit='MiB'>64</memory>\n"
		"  <os><type arch='x86_64' machine='%s'>hvm</type></os>\n"
		"  <devices/>\n"
		"</domain>\n",
		domain, machine);
	fclose(f);
	return path;
}

/* Starts the domain and checks that its QEMU joined famezd; returns the QEMU pid. */
static void start_and_see_it_join(int n_before)
{
	char needle[128], pidfile[256], *pid;

	ck_assert_msg(sh("virsh -c qemu:///system start %s", domain) == 0, "%s",
		      testlib_show(err));
	snprintf(pidfile, sizeof(pidfile), "/run/libvirt/qemu/%s.pid", domain);
	pid = testlib_read_file(pidfile);
	ck_assert_msg(pid, "no pid file for %s", domain);
	*strchrnul(pid, '\n') = '\0';
	snprintf(needle, sizeof(needle), "connected (pid %s,", pid);
	testlib_wait_for_output(famezd.log_path, needle, 10000);
	snprintf(needle, sizeof(needle), "), %d peers", n_before + 1);
	ck_assert(testlib_file_contains(famezd.log_path, needle));

	ck_assert_int_eq(sh("virsh -c qemu:///system destroy %s", domain), 0);
	snprintf(needle, sizeof(needle), "(pid %s) left", pid);
	testlib_wait_for_output(famezd.log_path, needle, 10000);
	free(pid);
}

static void inject_define_start(const char *machine)
{
	const char *xml;

	start_famezd();
	xml = write_domain(machine);
	ck_assert_msg(sh("%s -S %s -n 16 inject %s | virsh -c qemu:///system define /dev/stdin",
			 virt(), famezd.socket_path, xml) == 0,
		      "%s", testlib_show(err));
	start_and_see_it_join(0);
	ck_assert_int_eq(sh("virsh -c qemu:///system undefine %s", domain), 0);
	domain[0] = '\0';
	famezd_stop(&famezd);
}

static void attach_start_detach(const char *machine)
{
	const char *xml;

	start_famezd();
	xml = write_domain(machine);
	ck_assert_int_eq(sh("virsh -c qemu:///system define %s", xml), 0);
	ck_assert_msg(sh("%s -S %s -n 16 attach %s", virt(), famezd.socket_path, domain) == 0, "%s",
		      testlib_show(err));
	ck_assert(testlib_file_contains(out, "attached to the fabric"));
	ck_assert_int_eq(sh("%s list", virt()), 0);
	ck_assert_msg(testlib_file_contains(out, domain) && testlib_file_contains(out, " yes ") &&
			      testlib_file_contains(out, famezd.socket_path),
		      "%s", testlib_show(out));

	start_and_see_it_join(0);

	ck_assert_int_eq(sh("%s detach %s", virt(), domain), 0);
	ck_assert_int_eq(sh("virsh -c qemu:///system dumpxml --inactive %s", domain), 0);
	ck_assert(!testlib_file_contains(out, "famez-chardev"));
	ck_assert_int_eq(sh("virsh -c qemu:///system undefine %s", domain), 0);
	domain[0] = '\0';
	famezd_stop(&famezd);
}

START_TEST(test_inject_and_define_pc)
{
	inject_define_start("pc");
}
END_TEST

START_TEST(test_inject_and_define_q35)
{
	inject_define_start("q35");
}
END_TEST

START_TEST(test_attach_pc)
{
	attach_start_detach("pc");
}
END_TEST

START_TEST(test_attach_q35)
{
	attach_start_detach("q35");
}
END_TEST

START_TEST(test_bad_input_leaves_the_domain_untouched)
{
	const char *xml = write_domain("pc");
	char *before, *after;

	ck_assert_int_eq(sh("virsh -c qemu:///system define %s", xml), 0);
	ck_assert_int_eq(sh("virsh -c qemu:///system dumpxml --inactive %s", domain), 0);
	before = testlib_read_file(out);

	ck_assert_int_eq(sh("%s attach no-such-domain-%d", virt(), (int)getpid()), 1);
	ck_assert(testlib_file_contains(err, "no domain 'no-such-domain-"));
	ck_assert_int_eq(sh("%s --fam /tmp/x --fam-size 3M attach %s", virt(), domain), 2);
	ck_assert(testlib_file_contains(err, "--fam-size 3M is not a power of two; try 2M or 4M"));
	ck_assert_int_eq(sh("echo '<network/>' | %s inject", virt()), 1);
	ck_assert(testlib_file_contains(err, "not a libvirt domain"));

	ck_assert_int_eq(sh("virsh -c qemu:///system dumpxml --inactive %s", domain), 0);
	after = testlib_read_file(out);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!getenv("FAMEZ_LIBVIRT_NAMESPACE")) {
		printf("run through libvirt-env.sh, which provides libvirtd\n");
		return 77;
	}
	s = suite_create("libvirt");
	tc = tcase_create("libvirt");
	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_inject_and_define_pc);
	tcase_add_test(tc, test_inject_and_define_q35);
	tcase_add_test(tc, test_attach_pc);
	tcase_add_test(tc, test_attach_q35);
	tcase_add_test(tc, test_bad_input_leaves_the_domain_untouched);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
