/* SPDX-License-Identifier: MIT */
/*
 * famez under a real systemd manager (systemd --user, through systemd-env.sh): socket
 * activation by the first QEMU, the bus name, the watchdog under load, and the unit checks
 * (systemd-analyze verify and the security exposure).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtest.h"
#include "testlib.h"

#define FABRIC_VECTORS 16
#define EXPOSURE_MAX 1.0

static QVm vms[4];
static char out[256], err[256], socket_path[256];

static void setup(void)
{
	testlib_setup();
	snprintf(socket_path, sizeof(socket_path), "%s/famez/famez.sock",
		 getenv("XDG_RUNTIME_DIR"));
}

/* Runs argv (NULL-terminated varargs); output in out/err; returns the exit status. */
static int run(const char *a0, ...)
{
	const char *argv[16] = { a0 };
	size_t n = 1;
	va_list ap;

	va_start(ap, a0);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/cmd.out", testlib_tmpdir());
	snprintf(err, sizeof(err), "%s/cmd.err", testlib_tmpdir());
	return testlib_run((char *const *)argv, out, err, 60000);
}

#define systemctl(...) run("/usr/bin/systemctl", "--user", __VA_ARGS__, NULL)

static void teardown(void)
{
	for (int i = 0; i < 4; i++)
		qvm_stop(&vms[i]);
	systemctl("stop", "famez.socket", "famez.service");
	systemctl("reset-failed", "famez.service");
	testlib_teardown();
}

/* A property of famez.service, e.g. "MainPID", as a string to free. */
static char *service_property(const char *name)
{
	char *v, *nl;

	ck_assert_int_eq(systemctl("show", "-p", name, "--value", "famez.service"), 0);
	v = testlib_read_file(out);
	if ((nl = strchr(v, '\n')))
		*nl = '\0';
	return v;
}

static bool service_is(const char *state)
{
	char *v = service_property("ActiveState");
	bool is = strcmp(v, state) == 0;

	free(v);
	return is;
}

static void start_vm(int i)
{
	char name[8];

	snprintf(name, sizeof(name), "vm%d", i);
	ck_assert_msg(qvm_start(&vms[i], name, socket_path, FABRIC_VECTORS) == 0, "QEMU: %s",
		      testlib_show(vms[i].log_path));
}

START_TEST(test_first_qemu_activates_the_service)
{
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	/* Listening, but nothing runs until a VM connects. */
	ck_assert(service_is("inactive"));
	ck_assert_int_eq(access(socket_path, F_OK), 0);

	start_vm(0);
	ck_assert_uint_eq(qvm_ivposition(&vms[0]), 1);
	ck_assert(service_is("active"));
	ck_assert_msg(run("/usr/bin/busctl", "--user", "status", "org.famez", NULL) == 0, "%s",
		      testlib_show(err));
	ck_assert_int_eq(systemctl("status", "famez.service"), 0);
	ck_assert(testlib_file_contains(out, "1 peer connected"));
}
END_TEST

/* Gives famezd options through a drop-in, as /etc/default/famez would. */
static void set_options(const char *options)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/famez.service.d/options.conf", getenv("FAMEZ_UNIT_DIR"));
	if (!options) {
		unlink(path);
	} else {
		f = fopen(path, "we");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "[Service]\nEnvironment=\"FAMEZD_OPTIONS=%s\"\n", options);
		fclose(f);
	}
	ck_assert_int_eq(systemctl("daemon-reload"), 0);
}

START_TEST(test_watchdog_is_fed_under_load)
{
	const char *load = getenv("FAMEZ_LOAD");
	char *restarts, *pid, *pid_after;

	ck_assert_ptr_nonnull(load);
	set_options("--mode ivshmem --vectors 4");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	ck_assert_int_eq(systemctl("start", "famez.service"), 0);
	pid = service_property("MainPID");
	/* 1000 peers x 4 vectors take famezd several seconds; the unit's watchdog is 3 s. */
	ck_assert_msg(run(load, "-S", socket_path, "--peers", "1000", "--vectors", "4", "bringup",
			  NULL) == 0,
		      "%s", testlib_show(err));
	ck_assert_msg(testlib_file_contains(out, "messages_lost 0"), "%s", testlib_show(out));
	ck_assert(service_is("active"));
	restarts = service_property("NRestarts");
	pid_after = service_property("MainPID");
	ck_assert_str_eq(restarts, "0");
	ck_assert_str_eq(pid_after, pid);
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "ivshmem mode"));
	free(restarts);
	free(pid);
	free(pid_after);
	set_options(NULL);
}
END_TEST

static uint64_t restart_usec; /* how long the last restart took, for the printed figure */

static const char *famezctl_path(void)
{
	return getenv("FAMEZCTL");
}

/* The interrupt count famez-client printed last for `vector`. */
static unsigned client_interrupts(const char *path, unsigned vector)
{
	char *text = testlib_read_file(path), needle[64], *p, *last = NULL;
	unsigned n = 0;

	snprintf(needle, sizeof(needle), "interrupt vector %u count ", vector);
	for (p = text; (p = strstr(p, needle)); p += strlen(needle))
		last = p;
	if (last)
		n = (unsigned)atoi(last + strlen(needle));
	free(text);
	return n;
}

static void assert_vm_rings_client(QVm *vm, const char *client_out, uint32_t client_id,
				   unsigned vector)
{
	unsigned before = client_interrupts(client_out, vector);
	uint64_t deadline = testlib_now_usec() + 10000000;

	qvm_ring(vm, client_id, vector);
	while (client_interrupts(client_out, vector) <= before) {
		ck_assert_msg(testlib_now_usec() < deadline, "the client never saw vector %u: %s",
			      vector, testlib_show(client_out));
		usleep(2000);
	}
}

/* Everything a restart must leave working, checked after each one. */
static void assert_fabric_intact(const char *client_out, int round)
{
	char *json;
	uint64_t start = testlib_now_usec();

	/* The VMs still ring each other and the client... */
	qvm_assert_rings(&vms[0], &vms[1], 2, 1);
	if (round >= 0)
		printf("round %d: restart to first doorbell %.1f ms\n", round,
		       (double)(testlib_now_usec() - start + restart_usec) / 1000.0);
	qvm_assert_rings(&vms[1], &vms[0], 1, 2);
	assert_vm_rings_client(&vms[0], client_out, 3, 1);

	/* ...the API lists the same IDs and rings a VM for its caller... */
	ck_assert_int_eq(run(famezctl_path(), "--user", "--json", "peers", NULL), 0);
	json = testlib_read_file(out);
	ck_assert_msg(strstr(json, "\"id\":1,") && strstr(json, "\"id\":2,") &&
			      strstr(json, "\"id\":3,"),
		      "%s", json);
	free(json);
	ck_assert_int_eq(run(famezctl_path(), "--user", "send-interrupt", "1", "3", NULL), 0);
	ck_assert(qvm_wait_pending(&vms[0], 3, 5000));

	/* ...and the server still answers in the mailbox. */
	ck_assert_int_eq(run(famezctl_path(), "--user", "ping", "3", NULL), 0);
}

static char *main_pid(void)
{
	return service_property("MainPID");
}

/* Waits until famez.service runs with a main PID other than `old`. */
static char *wait_new_main_pid(const char *old)
{
	uint64_t deadline = testlib_now_usec() + 20000000;

	for (;;) {
		char *pid = main_pid();

		if (strcmp(pid, old) != 0 && strcmp(pid, "0") != 0 && service_is("active"))
			return pid;
		free(pid);
		ck_assert_msg(testlib_now_usec() < deadline, "famez.service did not come back");
		usleep(20000);
	}
}

static pid_t client_pid;

static void start_fabric_with_client(char *client_out)
{
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	start_vm(0);
	start_vm(1);
	client_pid = famez_client_start_as(socket_path, "watcher", "watcher", "sleep 300",
					   client_out, 256);
	testlib_wait_for_output(client_out, "connected id 3", 10000);
	assert_fabric_intact(client_out, -1);
}

START_TEST(test_restarts_keep_vms_connected)
{
	char client_out[256];

	start_fabric_with_client(client_out);
	for (int round = 1; round <= 3; round++) {
		char *before = main_pid(), *after;
		uint64_t start = testlib_now_usec();

		ck_assert_int_eq(systemctl("restart", "famez.service"), 0);
		after = wait_new_main_pid(before);
		restart_usec = testlib_now_usec() - start;
		assert_fabric_intact(client_out, round);
		free(before);
		free(after);
	}
	/* A QEMU joining afterwards reaches them all and is reached. */
	start_vm(2);
	ck_assert_uint_eq(qvm_ivposition(&vms[2]), 4);
	qvm_assert_rings(&vms[2], &vms[0], 1, 4);
	qvm_assert_rings(&vms[0], &vms[2], 4, 1);
	assert_vm_rings_client(&vms[2], client_out, 3, 4);
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "restored 3 of 3 peers"));
}
END_TEST

START_TEST(test_crash_keeps_vms_connected)
{
	char client_out[256];

	start_fabric_with_client(client_out);
	for (int round = 1; round <= 2; round++) {
		char *before = main_pid(), *after;
		uint64_t start = testlib_now_usec();

		ck_assert_int_eq(kill(atoi(before), SIGSEGV), 0);
		after = wait_new_main_pid(before);
		restart_usec = testlib_now_usec() - start;
		assert_fabric_intact(client_out, round);
		free(before);
		free(after);
	}
	ck_assert_int_eq(systemctl("show", "-p", "NRestarts", "--value", "famez.service"), 0);
	ck_assert(testlib_file_contains(out, "2"));
}
END_TEST

START_TEST(test_stop_disconnects_peers)
{
	char client_out[256];

	start_fabric_with_client(client_out);
	ck_assert_int_eq(systemctl("stop", "famez.service", "famez.socket"), 0);
	/* The store is released: the client sees its connection close and exits (3). */
	testlib_wait_for_output(client_out, "the server closed the connection", 5000);
	ck_assert_int_eq(WEXITSTATUS(testlib_wait(client_pid, 5000)), 3);
	ck_assert_int_eq(access(socket_path, F_OK), -1);
}
END_TEST

START_TEST(test_units_verify_and_are_hardened)
{
	char unit[512], *text, *p;
	double exposure;

	snprintf(unit, sizeof(unit), "%s/famez.service", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) == 0, "%s",
		      testlib_show(err));
	snprintf(unit, sizeof(unit), "%s/famez.socket", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) == 0, "%s",
		      testlib_show(err));

	/* The system unit, as installed. */
	ck_assert(run("/usr/bin/systemd-analyze", "security", "--offline=true",
		      getenv("FAMEZ_SYSTEM_SERVICE"), NULL) == 0);
	text = testlib_read_file(out);
	p = strstr(text, "Overall exposure level for famez.service: ");
	ck_assert_msg(p, "%s", text);
	exposure = strtod(p + strlen("Overall exposure level for famez.service: "), NULL);
	ck_assert_msg(exposure <= EXPOSURE_MAX, "exposure %.1f > %.1f:\n%s", exposure, EXPOSURE_MAX,
		      text);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!getenv("FAMEZ_UNIT_DIR")) {
		printf("run through systemd-env.sh, which provides systemd --user\n");
		return 77;
	}
	s = suite_create("systemd");
	tc = tcase_create("systemd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_units_verify_and_are_hardened);
	tcase_add_test(tc, test_first_qemu_activates_the_service);
	tcase_add_test(tc, test_watchdog_is_fed_under_load);
	tcase_add_test(tc, test_restarts_keep_vms_connected);
	tcase_add_test(tc, test_crash_keeps_vms_connected);
	tcase_add_test(tc, test_stop_disconnects_peers);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
