/* SPDX-License-Identifier: MIT */
/*
 * famez-client against QEMU's own ivshmem-server, built by tools/build-ivshmem-server.sh: the
 * path comes in IVSHMEM_SERVER, else from where the script caches it. Without it the test
 * reports itself skipped (exit 77).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

static char ref[4096];

START_TEST(test_famez_client_with_ivshmem_server)
{
	char sock[256], log[256], name[64];
	const char *argv[] = { ref, "-F", "-S", sock, "-l", "4M", "-n", "2", "-M", name, NULL };

	snprintf(sock, sizeof(sock), "%s/ref.sock", testlib_tmpdir());
	snprintf(log, sizeof(log), "%s/ref.log", testlib_tmpdir());
	snprintf(name, sizeof(name), "/famez-ref-%d", (int)getpid());
	pid_t server = testlib_spawn((char *const *)argv, log, log);
	testlib_wait_for_path(sock, TESTLIB_WAIT_MS);

	famez_client_pair_check(sock);
	testlib_stop(server, TESTLIB_WAIT_MS);
	shm_unlink(name);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	const char *cache = getenv("FAMEZ_REF_CACHE");

	if (getenv("IVSHMEM_SERVER"))
		snprintf(ref, sizeof(ref), "%s", getenv("IVSHMEM_SERVER"));
	else
		snprintf(ref, sizeof(ref), "%s/bin/ivshmem-server",
			 cache ? cache : "/var/cache/famez-ref");
	if (access(ref, X_OK) < 0) {
		printf("no QEMU ivshmem-server at %s; tools/build-ivshmem-server.sh builds it\n",
		       ref);
		return 77;
	}
	s = suite_create("reference");
	tc = tcase_create("reference");
	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_famez_client_with_ivshmem_server);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
