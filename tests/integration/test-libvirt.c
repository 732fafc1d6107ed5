/* SPDX-License-Identifier: MIT */
/*
 * famez-virt with a real libvirtd (through libvirt-env.sh): a domain with libvirt's default
 * devices gets the fabric device by `famez-virt inject | virsh define` and by `famez-virt attach`,
 * starts, its QEMU joins famezd as a peer and leaves when destroyed; on pc and q35; attached to
 * a switch other than the default one, it joins that switch. Bad input leaves the definition
 * untouched.
 */
#include <errno.h>
#include <fcntl.h>
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

/*
 * A domain with only what libvirt adds by default; `ns` declares a namespace on <domain>, to
 * see famez-virt cope with one that takes the "qemu" prefix for itself.
 */
static const char *write_domain_with(const char *machine, const char *ns)
{
	static char path[256];
	FILE *f;

	snprintf(domain, sizeof(domain), "famez-test-%s-%d", machine, (int)getpid());
	snprintf(path, sizeof(path), "%s/%s.xml", testlib_tmpdir(), domain);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"<domain type='qemu'%s>\n"
		"  <name>%s</name>\n"
		"  <memory unit='MiB'>64</memory>\n"
		"  <os><type arch='x86_64' machine='%s'>hvm</type></os>\n"
		"  <devices/>\n"
		"</domain>\n",
		ns, domain, machine);
	fclose(f);
	return path;
}

static const char *write_domain(const char *machine)
{
	return write_domain_with(machine, "");
}

/*
 * How many ivshmem devices the running domain's QEMU has, from its device tree (the PCI view
 * misses devices behind root ports the firmware has not numbered yet).
 */
static unsigned ivshmem_devices(void)
{
	ck_assert_msg(sh("virsh -c qemu:///system qemu-monitor-command %s --hmp 'info qtree'",
			 domain) == 0,
		      "%s", testlib_show(err));
	return testlib_count(out, "dev: ivshmem-");
}

/*
 * Starts the domain, checks that its QEMU joined famezd with `devices` ivshmem devices (the
 * fabric's, and the fabric-attached memory's with --fam), destroys it and sees it leave.
 */
static void start_and_see_it_join_with(int n_before, unsigned devices)
{
	char needle[128], pidfile[256], *pid;

	ck_assert_msg(sh("virsh -c qemu:///system start %s", domain) == 0, "%s", testlib_show(err));
	snprintf(pidfile, sizeof(pidfile), "/run/libvirt/qemu/%s.pid", domain);
	pid = testlib_read_file(pidfile);
	ck_assert_msg(pid, "no pid file for %s", domain);
	*strchrnul(pid, '\n') = '\0';
	snprintf(needle, sizeof(needle), "connected (pid %s,", pid);
	testlib_wait_for_output(famezd.log_path, needle, TESTLIB_WAIT_MS);
	snprintf(needle, sizeof(needle), "), %d peers", n_before + 1);
	ck_assert(testlib_file_contains(famezd.log_path, needle));
	ck_assert_msg(ivshmem_devices() == devices, "%u ivshmem devices expected: %s", devices,
		      testlib_show(out));

	ck_assert_int_eq(sh("virsh -c qemu:///system destroy %s", domain), 0);
	snprintf(needle, sizeof(needle), "(pid %s) left", pid);
	testlib_wait_for_output(famezd.log_path, needle, TESTLIB_WAIT_MS);
	free(pid);
}

static void start_and_see_it_join(int n_before)
{
	start_and_see_it_join_with(n_before, 1);
}

/* famez-virt OPTIONS inject | virsh define, then start: the domain joins with `devices`. */
static void inject_define_start_with(const char *machine, const char *ns, const char *options,
				     unsigned devices)
{
	const char *xml;

	start_famezd();
	xml = write_domain_with(machine, ns);
	ck_assert_msg(sh("%s -S %s -n 16 %s inject %s | virsh -c qemu:///system define /dev/stdin",
			 virt(), famezd.socket_path, options, xml) == 0,
		      "%s", testlib_show(err));
	start_and_see_it_join_with(0, devices);
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

static void inject_define_start(const char *machine)
{
	inject_define_start_with(machine, "", "", 1);
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

/* Fabric-attached memory: a file QEMU (as libvirt-qemu) maps beside the fabric device. */
static void inject_fam(const char *machine)
{
	char fam[256], options[512];
	int fd;

	snprintf(fam, sizeof(fam), "%s/fam-%s", testlib_tmpdir(), machine);
	fd = open(fam, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_eq(fchmod(fd, 0666), 0);
	close(fd);
	snprintf(options, sizeof(options), "--fam %s --fam-size 1M", fam);
	inject_define_start_with(machine, "", options, 2);
}

START_TEST(test_fam_pc)
{
	inject_fam("pc");
}
END_TEST

START_TEST(test_fam_q35)
{
	inject_fam("q35");
}
END_TEST

/* libvirt's own <shmem> element, with famezd's socket as its server. */
START_TEST(test_native_pc)
{
	inject_define_start_with("pc", "", "--native", 1);
}
END_TEST

START_TEST(test_native_q35)
{
	inject_define_start_with("q35", "", "--native", 1);
}
END_TEST

/* A domain where "qemu" names another namespace: famez-virt declares one of its own. */
START_TEST(test_qemu_prefix_taken)
{
	inject_define_start_with("pc", " xmlns:qemu='http://example.org/not-qemu'", "", 1);
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

/*
 * famez-virt attach --switch lab: the domain gets lab's socket and vectors (6 client slots, so
 * 8 vectors, where the default switch has 16) from famezd on the bus, and its QEMU joins lab.
 */
START_TEST(test_attach_to_a_switch)
{
	char dir[256], conf[300], lab_socket[256], want[512];
	const char *args[] = { "--bus", "system", "--switches-dir", dir, NULL };
	const char *xml;
	FILE *f;

	testlib_start_private_bus();
	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	snprintf(conf, sizeof(conf), "%s/lab.conf", dir);
	snprintf(lab_socket, sizeof(lab_socket), "%s/lab.sock", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Switch]\nSocket=%s\nMaxPeers=6\n", lab_socket);
	ck_assert_int_eq(fclose(f), 0);
	famezd_start(&famezd, args);
	testlib_wait_for_output(famezd.log_path, "owning org.famez on the system bus",
				TESTLIB_WAIT_MS);
	testlib_wait_for_path(lab_socket, TESTLIB_WAIT_MS);
	chmod(testlib_tmpdir(), 0755);
	chmod(lab_socket, 0666);

	xml = write_domain("pc");
	ck_assert_int_eq(sh("virsh -c qemu:///system define %s", xml), 0);
	ck_assert_msg(sh("%s attach %s --switch lab", virt(), domain) == 0, "%s",
		      testlib_show(err));
	snprintf(want, sizeof(want), "attached to the fabric, switch lab at %s (8 vectors)",
		 lab_socket);
	ck_assert_msg(testlib_file_contains(out, want), "%s", testlib_show(out));
	ck_assert_int_eq(sh("virsh -c qemu:///system dumpxml --inactive %s", domain), 0);
	snprintf(want, sizeof(want), "path=%s'", lab_socket);
	ck_assert_msg(testlib_file_contains(out, want) && testlib_file_contains(out, ",vectors=8,"),
		      "%s", testlib_show(out));

	/* It joins lab, the only peer there; the default switch sees no one. */
	start_and_see_it_join(0);
	ck_assert_msg(
		testlib_file_contains(famezd.log_path, "switch lab: peer 1 connected (pid ") &&
			testlib_count(famezd.log_path, " connected (pid ") == 1,
		"%s", testlib_show(famezd.log_path));

	/* A switch famezd does not have: an error, and the definition keeps lab's device. */
	ck_assert_int_eq(sh("%s attach %s --switch nope", virt(), domain), 1);
	ck_assert_msg(testlib_file_contains(err, "famezd has no such switch"), "%s",
		      testlib_show(err));
	ck_assert_int_eq(sh("virsh -c qemu:///system dumpxml --inactive %s", domain), 0);
	ck_assert(testlib_file_contains(out, want));
	ck_assert_int_eq(sh("virsh -c qemu:///system undefine %s", domain), 0);
	domain[0] = '\0';
	famezd_stop(&famezd);
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
	tcase_add_test(tc, test_fam_pc);
	tcase_add_test(tc, test_fam_q35);
	tcase_add_test(tc, test_native_pc);
	tcase_add_test(tc, test_native_q35);
	tcase_add_test(tc, test_qemu_prefix_taken);
	tcase_add_test(tc, test_attach_to_a_switch);
	tcase_add_test(tc, test_bad_input_leaves_the_domain_untouched);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
