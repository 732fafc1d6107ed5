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
		      testlib_read_file(vms[i].log_path));
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
		      testlib_read_file(err));
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
		      "%s", testlib_read_file(err));
	ck_assert_msg(testlib_file_contains(out, "messages_lost 0"), "%s",
		      testlib_read_file(out));
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

START_TEST(test_units_verify_and_are_hardened)
{
	char unit[512], *text, *p;
	double exposure;

	snprintf(unit, sizeof(unit), "%s/famez.service", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) == 0,
		      "%s", testlib_read_file(err));
	snprintf(unit, sizeof(unit), "%s/famez.socket", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) == 0,
		      "%s", testlib_read_file(err));

	/* The system unit, as installed. */
	ck_assert(run("/usr/bin/systemd-analyze", "security", "--offline=true",
		      getenv("FAMEZ_SYSTEM_SERVICE"), NULL) == 0);
	text = testlib_read_file(out);
	p = strstr(text, "Overall exposure level for famez.service: ");
	ck_assert_msg(p, "%s", text);
	exposure = strtod(p + strlen("Overall exposure level for famez.service: "), NULL);
	ck_assert_msg(exposure <= EXPOSURE_MAX, "exposure %.1f > %.1f:\n%s", exposure,
		      EXPOSURE_MAX, text);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("systemd");

	if (!getenv("FAMEZ_UNIT_DIR")) {
		printf("run through systemd-env.sh, which provides systemd --user\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_units_verify_and_are_hardened);
	tcase_add_test(tc, test_first_qemu_activates_the_service);
	tcase_add_test(tc, test_watchdog_is_fed_under_load);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
