/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "userunit.h"

char userunit_out[256], userunit_err[256];

int userunit_run(const char *a0, ...)
{
	const char *argv[16] = { a0 };
	size_t n = 1;
	va_list ap;

	va_start(ap, a0);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(userunit_out, sizeof(userunit_out), "%s/cmd.out", testlib_tmpdir());
	snprintf(userunit_err, sizeof(userunit_err), "%s/cmd.err", testlib_tmpdir());
	/* Generous: famez-load brings up hundreds of peers, slowly under the sanitizers or load. */
	return testlib_run((char *const *)argv, userunit_out, userunit_err, 300000);
}

void userunit_restart(void)
{
	if (systemctl("restart", "famez.service") == 0)
		return;
	/* Why, as systemd says it (a watchdog timeout, a crash, an exit status). */
	(void)systemctl("status", "--no-pager", "famez.service");
	ck_abort_msg("systemctl restart famez.service failed:\n%s", testlib_show(userunit_out));
}

const char *userunit_socket_path(void)
{
	static char path[256];

	if (!path[0])
		snprintf(path, sizeof(path), "%s/famez/famez.sock", getenv("XDG_RUNTIME_DIR"));
	return path;
}

char *userunit_property(const char *name)
{
	char *v, *nl;

	ck_assert_int_eq(systemctl("show", "-p", name, "--value", "famez.service"), 0);
	v = testlib_read_file(userunit_out);
	ck_assert_ptr_nonnull(v);
	if ((nl = strchr(v, '\n')))
		*nl = '\0';
	return v;
}

bool userunit_is(const char *state)
{
	char *v = userunit_property("ActiveState");
	bool is = strcmp(v, state) == 0;

	free(v);
	return is;
}

void userunit_set_options(const char *options)
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

char *userunit_wait_new_main_pid(const char *old)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	for (;;) {
		char *pid = userunit_property("MainPID");

		if (strcmp(pid, old) != 0 && strcmp(pid, "0") != 0 && userunit_is("active"))
			return pid;
		free(pid);
		ck_assert_msg(testlib_now_usec() < deadline, "famez.service did not come back");
		usleep(20000);
	}
}
