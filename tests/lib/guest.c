/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "qtest.h"
#include "testlib.h"

static const char *guest_dir(void)
{
	const char *d = getenv("FAMEZ_GUEST_DIR");

	ck_assert_msg(d && d[0], "FAMEZ_GUEST_DIR is not set");
	return d;
}

void guest_prepare(void)
{
	char script[512], log[512];
	const char *argv[] = { script, getenv("FAMEZ_SOURCE_ROOT"), guest_dir(),
			       testlib_client_path(), NULL };
	int r;

	snprintf(script, sizeof(script), "%s/tests/guest/build-guest.sh", argv[1]);
	snprintf(log, sizeof(log), "%s/build-guest.log", testlib_tmpdir());
	r = testlib_run((char *const *)argv, log, log, 300000);
	ck_assert_msg(r == 0, "build-guest.sh failed (%d): %s", r, testlib_show(log));
}

void guest_boot(Guest *g, int index, const char *test, const char *const device[])
{
	char kernel[512], initrd[512], append[128], serial[600];
	const char *argv[32] = { testlib_qemu_path(), "-M", "pc", "-m", "256", "-nodefaults",
				 "-display", "none", "-no-reboot", "-kernel", kernel,
				 "-initrd", initrd, "-append", append, "-serial", serial };
	size_t n = 17;
	char out[600];

	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest_dir());
	snprintf(initrd, sizeof(initrd), "%s/initrd.gz", guest_dir());
	snprintf(append, sizeof(append),
		 "console=ttyS0 quiet panic=-1 famez.test=%s famez.nodename=vm%d", test, index);
	snprintf(g->serial, sizeof(g->serial), "%s/guest-%s-%d.serial", testlib_tmpdir(), test,
		 index);
	snprintf(serial, sizeof(serial), "file:%s", g->serial);
	for (size_t i = 0; device[i]; i++) {
		ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = device[i];
	}
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s.qemu", g->serial);
	g->pid = testlib_spawn((char *const *)argv, out, out);
}

void guest_wait_for(Guest *g, const char *line, int timeout_ms)
{
	testlib_wait_for_output(g->serial, line, timeout_ms);
}

void guest_finish(Guest *g)
{
	guest_wait_for(g, "famez-guest: done", 300000);
	ck_assert_msg(testlib_wait(g->pid, 30000) >= 0, "the guest did not power off");
	g->pid = 0;
	ck_assert_msg(!testlib_file_contains(g->serial, "famez-guest: the kernel complained"),
		      "%s", testlib_show(g->serial));
	ck_assert_msg(testlib_file_contains(g->serial, "famez-guest: module loaded"), "%s",
		      testlib_show(g->serial));
}

void guest_kill(Guest *g)
{
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		testlib_wait(g->pid, 5000);
		g->pid = 0;
	}
}
