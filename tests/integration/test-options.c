/* SPDX-License-Identifier: MIT */
/*
 * famezd's command line, shared-memory backings and socket handling: clear one-line errors with
 * a failing exit status, and the behaviour each option promises.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static Famezd famezd;

static char log_path[256];

/* Runs famezd with args and asserts it fails with exactly one line containing `message`. */
static void assert_fails(const char *const args[], const char *message)
{
	char *log;
	int status;

	snprintf(log_path, sizeof(log_path), "%s/run.log", testlib_tmpdir());
	status = famezd_run(args, log_path, TESTLIB_WAIT_MS);
	log = testlib_read_file(log_path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		      "famezd %s: status 0x%x, expected exit 1", args[0], status);
	ck_assert_msg(strstr(log, message), "famezd %s said '%s', expected '%s'", args[0], log,
		      message);
	ck_assert_msg(strchr(log, '\n') == log + strlen(log) - 1, "more than one line: %s", log);
	free(log);
}

static const char *sock(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/s.sock", testlib_tmpdir());
	return path;
}

START_TEST(test_bad_options)
{
	const char *const size[] = { "-S", sock(), "--shm-size", "3M", NULL };
	const char *const garbage[] = { "-S", sock(), "-l", "lots", NULL };
	const char *const vectors[] = { "-S", sock(), "--vectors", "300", NULL };
	const char *const peers[] = { "-S", sock(), "--max-peers", "0", NULL };
	const char *const unknown[] = { "--frobnicate", NULL };
	const char *const extra[] = { "-S", sock(), "stray", NULL };
	const char *const two_backings[] = { "-M", "x", "--shm-file", "/tmp/y", NULL };
	const char *const truncate[] = { "-S", sock(), "--shm-truncate", NULL };

	assert_fails(size, "--shm-size 3M is not a power of two; try 2M or 4M");
	assert_fails(garbage, "--shm-size lots is not a size");
	assert_fails(vectors, "--vectors 300 is not a number from 1 to 256");
	assert_fails(peers, "--max-peers 0 is not a number from 1 to 65536");
	assert_fails(unknown, "try 'famezd --help'");
	assert_fails(extra, "unexpected argument 'stray'");
	assert_fails(two_backings, "exclude each other");
	assert_fails(truncate, "--shm-truncate applies to --shm-file or --shm-name");
}
END_TEST

START_TEST(test_help_and_version)
{
	const char *const help[] = { "--help", NULL };
	const char *const version[] = { "--version", NULL };
	int status;

	snprintf(log_path, sizeof(log_path), "%s/help.log", testlib_tmpdir());
	status = famezd_run(help, log_path, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(testlib_file_contains(log_path, "--shm-size=SIZE"));
	ck_assert(testlib_file_contains(log_path, "--max-peers=N"));
	status = famezd_run(version, log_path, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(testlib_file_contains(log_path, "famezd "));
}
END_TEST

START_TEST(test_socket_path_errors)
{
	const char *const missing_dir[] = { "-S", "/nonexistent-dir/famez.sock", NULL };
	char path[256], longpath[300];
	const char *const not_socket[] = { "-S", path, NULL };
	const char *const too_long[] = { "-S", longpath, NULL };
	int fd;

	snprintf(path, sizeof(path), "%s/regular", testlib_tmpdir());
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';

	assert_fails(missing_dir, "directory /nonexistent-dir");
	assert_fails(not_socket, "exists and is not a socket");
	assert_fails(too_long, "is longer than 107 bytes");
}
END_TEST

START_TEST(test_stale_socket_replaced_live_socket_refused)
{
	struct sockaddr_un sa;
	const char *const second[] = { "--socket", NULL, NULL };
	char second_path[256];
	RawClient c;
	int fd;

	/* A socket file nobody accepts on, as a crashed server leaves it. */
	snprintf(second_path, sizeof(second_path), "%s/famez.sock", testlib_tmpdir());
	testlib_sockaddr(&sa, second_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	famezd_start(&famezd, NULL);
	ck_assert(testlib_file_contains(famezd.log_path, "removing stale socket"));
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, false), 0);

	/* A second server on the same path is refused and leaves the first one alone. */
	((const char **)second)[1] = famezd.socket_path;
	assert_fails(second, "another server is listening on");
	raw_client_close(&c);
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, false), 0);
	raw_client_close(&c);

	/* On SIGTERM famezd exits 0 and removes the socket it bound. */
	famezd_stop(&famezd);
	ck_assert_int_lt(access(famezd.socket_path, F_OK), 0);
}
END_TEST

static bool have_shm(RawClient *c, void *data)
{
	(void)data;
	return c->state.phase == CLIENT_PHASE_PEERS;
}

/* Connects, maps the shared memory and returns its size; the mapping is left to the caller. */
static uint64_t *map_shm(RawClient *c, uint64_t *size)
{
	struct stat st;
	void *p;

	ck_assert_int_eq(raw_client_connect(c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(c, have_shm, NULL, TESTLIB_WAIT_MS));
	ck_assert_int_eq(fstat(c->state.shm_fd, &st), 0);
	*size = (uint64_t)st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, c->state.shm_fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

START_TEST(test_sizes_of_4g_and_more)
{
	const char *const args[] = { "--shm-size", "8G", NULL };
	RawClient c, other;
	uint64_t size, other_size, *mem, *other_mem, *last_page;

	famezd_start(&famezd, args);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(size, UINT64_C(8) << 30);
	/* The last word, past 4 GiB, written by one peer... */
	mem[size / 8 - 1] = 0x5eed;
	/* ...is what another peer, given the memory by famezd, finds at that offset. */
	other_mem = map_shm(&other, &other_size);
	munmap(other_mem, other_size);
	ck_assert_uint_eq(other_size, size);
	last_page =
		mmap(NULL, 4096, PROT_READ, MAP_SHARED, other.state.shm_fd, (off_t)(size - 4096));
	ck_assert_ptr_ne(last_page, MAP_FAILED);
	ck_assert_uint_eq(last_page[4096 / 8 - 1], 0x5eed);
	munmap(last_page, 4096);
	munmap(mem, size);
	raw_client_close(&other);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_memfd_is_sealed)
{
	RawClient c;
	uint64_t size, *mem;

	famezd_start(&famezd, NULL);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(size, 4 << 20);
	ck_assert_int_lt(ftruncate(c.state.shm_fd, 4096), 0);
	ck_assert_int_eq(errno, EPERM);
	munmap(mem, size);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_shm_file_persists_and_checks_size)
{
	char file[256];
	const char *const args[] = { "--mode",     "ivshmem", "--shm-file", file,
				     "--shm-size", "1M",      NULL };
	const char *const other_size[] = { "-S",         sock(), "--shm-file", file,
					   "--shm-size", "2M",   NULL };
	const char *const resize[] = { "--shm-file",     file, "--shm-size", "2M",
				       "--shm-truncate", NULL };
	RawClient c;
	uint64_t size, *mem;
	struct stat st;

	snprintf(file, sizeof(file), "%s/fam", testlib_tmpdir());
	famezd_start(&famezd, args);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(size, 1 << 20);
	mem[10] = 0xfeedULL;
	munmap(mem, size);
	raw_client_close(&c);
	famezd_stop(&famezd);

	/* The next run finds the memory as it was left: fabric-attached memory persists. */
	famezd_start(&famezd, args);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(mem[10], 0xfeedULL);
	munmap(mem, size);
	raw_client_close(&c);
	famezd_stop(&famezd);

	/* Another size is refused, naming the way out; --shm-truncate resizes. */
	assert_fails(other_size, "has 1M, not the 2M asked for");
	ck_assert(testlib_file_contains(log_path, "--shm-truncate"));
	famezd_start(&famezd, resize);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, 2 << 20);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_posix_shm)
{
	char name[64];
	const char *const args[] = { "-M", name, "-l", "64K", NULL };
	RawClient c;
	uint64_t size, *mem;
	int fd;

	snprintf(name, sizeof(name), "/famez-test-%d", (int)getpid());
	famezd_start(&famezd, args);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(size, 64 << 10);
	mem[0] = 99;
	/* It is the named object. */
	fd = shm_open(name, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	{
		uint64_t *again = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

		ck_assert_uint_eq(again[0], 99);
		munmap(again, size);
	}
	close(fd);
	shm_unlink(name);
	munmap(mem, size);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_hugetlbfs_checks_the_mount)
{
	const char *const args[] = { "-S", sock(), "-m", "/tmp", NULL };

	assert_fails(args, "--hugetlbfs /tmp is not a hugetlbfs mount");
}
END_TEST

static long read_long(const char *path)
{
	char *text = testlib_read_file(path);
	long v = text ? atol(text) : -1;

	free(text);
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%ld\n", v);
	ck_assert_int_eq(fclose(f), 0);
}

static const char nr_hugepages[] = "/proc/sys/vm/nr_hugepages";
static char huge_dir[256];
static long had_hugepages = -1;

/* The huge pages and the mount of the test below, given back whatever happened. */
static void teardown_hugepages(void)
{
	if (huge_dir[0])
		umount2(huge_dir, MNT_DETACH);
	if (had_hugepages >= 0)
		write_long(nr_hugepages, had_hugepages);
	testlib_teardown();
}

/* Huge pages are sealed like a memfd: a peer cannot shrink them under everyone else. */
START_TEST(test_hugetlbfs_memory_is_sealed)
{
	const char *const args[] = { "--hugetlbfs", huge_dir, "--shm-size", "4M", NULL };
	long had = read_long(nr_hugepages);
	RawClient c;
	uint64_t size, *mem;

	snprintf(huge_dir, sizeof(huge_dir), "%s/huge", testlib_tmpdir());
	ck_assert_int_eq(mkdir(huge_dir, 0700), 0);
	/* Two 2M pages for the test; a machine that cannot have them skips it. */
	if (had < 0 || mount("none", huge_dir, "hugetlbfs", 0, "pagesize=2M") < 0) {
		printf("test_hugetlbfs_memory_is_sealed skipped: cannot mount hugetlbfs (%m)\n");
		huge_dir[0] = '\0';
		return;
	}
	had_hugepages = had;
	write_long(nr_hugepages, had + 2);
	famezd_start(&famezd, args);
	mem = map_shm(&c, &size);
	ck_assert_uint_eq(size, 4 << 20);
	mem[1] = 42;
	ck_assert_int_lt(ftruncate(c.state.shm_fd, 2 << 20), 0);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_uint_eq(mem[1], 42);
	munmap(mem, size);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

/* Something another user made, at a path famezd is told to use. */
static void plant(const char *path, mode_t mode, uid_t owner)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(fchown(fd, owner, owner), 0);
	close(fd);
}

START_TEST(test_planted_memory_is_refused)
{
	char name[64], object[128], file[256], link[256];
	const char *const posix[] = { "-S", sock(), "--shm-name", name, NULL };
	const char *const by_file[] = { "-S", sock(), "--shm-file", file, NULL };
	const char *const by_link[] = { "-S", sock(), "--shm-file", link, NULL };

	snprintf(name, sizeof(name), "/famez-planted-%d", (int)getpid());
	snprintf(object, sizeof(object), "/dev/shm%s", name);
	snprintf(file, sizeof(file), "%s/planted", testlib_tmpdir());
	snprintf(link, sizeof(link), "%s/link", testlib_tmpdir());

	/* World-writable, even though ours: anyone could have written it. */
	plant(object, 0666, getuid());
	assert_fails(posix, "can be written by every user (mode 0666)");
	ck_assert(testlib_file_contains(log_path, "chmod go-w"));
	unlink(object);
	/* Someone else's, however private. */
	plant(object, 0600, 65534);
	assert_fails(posix, "belongs to uid 65534, not to famezd's uid 0");
	unlink(object);

	plant(file, 0620, getuid());
	assert_fails(by_file, "can be written by its group (mode 0620)");
	unlink(file);
	/* A link is not followed, even to a file famezd could use. */
	plant(file, 0600, getuid());
	ck_assert_int_eq(symlink(file, link), 0);
	assert_fails(by_link, "is a symbolic link, which famezd does not follow");
	/* The real file is used. */
	famezd_start(&famezd, by_file + 2);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_socket_activation_and_pid_file)
{
	char path[256], pidfile[256], out[256];
	const char *argv[] = { "/usr/bin/systemd-socket-activate",
			       "-l",
			       path,
			       testlib_famezd_path(),
			       "--pid-file",
			       pidfile,
			       "--bus",
			       "none",
			       NULL };
	const char *client[] = { testlib_client_path(), "-S", path, "-w", "5", "-e", "dump", NULL };
	pid_t activator, c;
	int status;
	char *pid;

	if (access(argv[0], X_OK) < 0)
		argv[0] = "/lib/systemd/systemd-socket-activate";
	snprintf(path, sizeof(path), "%s/activated.sock", testlib_tmpdir());
	snprintf(pidfile, sizeof(pidfile), "%s/famezd.pid", testlib_tmpdir());
	snprintf(log_path, sizeof(log_path), "%s/activate.log", testlib_tmpdir());
	snprintf(out, sizeof(out), "%s/client.out", testlib_tmpdir());
	activator = testlib_spawn((char *const *)argv, log_path, log_path);
	testlib_wait_for_path(path, TESTLIB_WAIT_MS);

	/* The first connection starts famezd on the passed socket and is served. */
	c = testlib_spawn((char *const *)client, out, NULL);
	status = testlib_wait(c, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client: %s",
		      testlib_show(out));
	ck_assert(testlib_file_contains(out, "own id 1")); /* fabric mode: IDs from 1 */
	pid = testlib_read_file(pidfile);
	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(atoi(pid), activator); /* systemd-socket-activate execs famezd */
	free(pid);

	status = testlib_stop(activator, TESTLIB_WAIT_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The socket belongs to whoever passed it; the pid file is ours to remove. */
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_lt(access(pidfile, F_OK), 0);
}
END_TEST

START_TEST(test_sd_notify_ready_status_watchdog)
{
	struct sockaddr_un sa;
	char path[256], buf[512], all[8192] = "";
	int fd;
	RawClient c;
	uint64_t deadline;

	snprintf(path, sizeof(path), "%s/notify", testlib_tmpdir());
	testlib_sockaddr(&sa, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	famezd_start(&famezd, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, false), 0);

	/* READY=1 once listening, STATUS= with the peer count, WATCHDOG=1 at half the interval. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	while (!(strstr(all, "READY=1") && strstr(all, "STATUS=1 peer connected") &&
		 strstr(all, "WATCHDOG=1"))) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n > 0) {
			buf[n] = '\0';
			strncat(all, buf, sizeof(all) - strlen(all) - 2);
			strcat(all, "\n");
		}
		ck_assert_msg(testlib_now_usec() < deadline, "notifications so far: %s", all);
		usleep(10000);
	}
	raw_client_close(&c);
	famezd_stop(&famezd);
	close(fd);
}
END_TEST

START_TEST(test_journal_priority_prefixes)
{
	const char *const args[] = { "-S", sock(), "--shm-size", "3M", NULL };
	char env[64];
	struct stat st;
	int fd;
	char *log;

	/* With stderr being "the journal", lines carry <N> priority prefixes instead of a name. */
	snprintf(log_path, sizeof(log_path), "%s/journal.log", testlib_tmpdir());
	fd = open(log_path, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(fstat(fd, &st), 0);
	close(fd);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	{
		const char *argv[] = {
			testlib_famezd_path(), args[0], args[1], args[2], args[3], NULL
		};
		pid_t pid = testlib_spawn((char *const *)argv, NULL, log_path);

		ck_assert_int_eq(WEXITSTATUS(testlib_wait(pid, TESTLIB_WAIT_MS)), 1);
	}
	unsetenv("JOURNAL_STREAM");
	log = testlib_read_file(log_path);
	ck_assert_msg(strncmp(log, "<3>--shm-size 3M is not a power of two", 38) == 0, "%s", log);
	free(log);
}
END_TEST

static bool got_first(RawClient *c, void *data)
{
	(void)data;
	return c->n_log >= 1 || c->eof;
}

static bool has_messages(RawClient *c, void *data)
{
	return c->n_log >= *(size_t *)data;
}

START_TEST(test_out_of_fds_refuses_newcomers_only)
{
	enum { N = 40 };
	char shm_size[] = "64K";
	const char *argv[] = { "/usr/bin/prlimit",
			       "--nofile=40:40",
			       testlib_famezd_path(),
			       "--mode",
			       "ivshmem",
			       "-S",
			       sock(),
			       "-l",
			       shm_size,
			       NULL };
	RawClient c[N];
	unsigned accepted = 0, refused = 0;
	pid_t pid;

	snprintf(log_path, sizeof(log_path), "%s/fds.log", testlib_tmpdir());
	pid = testlib_spawn((char *const *)argv, log_path, log_path);
	testlib_wait_for_output(log_path, "listening on", TESTLIB_WAIT_MS);

	/* Each peer costs famezd a socket and an eventfd: about 15 fit in 40 fds. */
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(raw_client_connect(&c[i], sock(), false), 0);
		ck_assert(raw_client_read_until(&c[i], got_first, NULL, TESTLIB_WAIT_MS));
		if (c[i].log[0].value == 0)
			accepted++;
		else {
			ck_assert_int_eq(c[i].log[0].value, -1);
			refused++;
		}
	}
	ck_assert_uint_gt(accepted, 5);
	ck_assert_uint_gt(refused, 0);
	ck_assert(testlib_file_contains(log_path, "out of file descriptors"));
	/*
	 * Those let in are still there, and were told of each other; none was cut off. The news
	 * of a later one may still be on its way to an earlier one: read until it is in.
	 */
	for (int i = 0; i < N; i++) {
		size_t told = 4 + (size_t)accepted - 1;

		if (c[i].log[0].value != 0)
			continue;
		raw_client_read_until(&c[i], has_messages, &told, TESTLIB_WAIT_MS);
		ck_assert_msg(!c[i].eof && !c[i].error, "accepted client %d lost its connection",
			      i);
		ck_assert_uint_ge(c[i].n_log, told);
	}

	/*
	 * Room again once peers leave, and famezd still serves: a newcomer comes once famezd
	 * logged every departure (it has closed their fds then).
	 */
	for (int i = 0; i < N; i++)
		raw_client_close(&c[i]);
	testlib_wait_for_count(log_path, ") left: ", accepted, TESTLIB_WAIT_MS);
	ck_assert_int_eq(raw_client_connect(&c[0], sock(), false), 0);
	ck_assert(raw_client_read_until(&c[0], got_first, NULL, TESTLIB_WAIT_MS));
	ck_assert_int_eq(c[0].log[0].value, 0);
	raw_client_close(&c[0]);

	ck_assert_int_eq(WEXITSTATUS(testlib_stop(pid, TESTLIB_WAIT_MS)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options"), *huge;

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_help_and_version);
	tcase_add_test(tc, test_socket_path_errors);
	tcase_add_test(tc, test_stale_socket_replaced_live_socket_refused);
	tcase_add_test(tc, test_sizes_of_4g_and_more);
	tcase_add_test(tc, test_memfd_is_sealed);
	tcase_add_test(tc, test_shm_file_persists_and_checks_size);
	tcase_add_test(tc, test_posix_shm);
	tcase_add_test(tc, test_hugetlbfs_checks_the_mount);
	tcase_add_test(tc, test_planted_memory_is_refused);
	tcase_add_test(tc, test_socket_activation_and_pid_file);
	tcase_add_test(tc, test_sd_notify_ready_status_watchdog);
	tcase_add_test(tc, test_journal_priority_prefixes);
	tcase_add_test(tc, test_out_of_fds_refuses_newcomers_only);
	suite_add_tcase(s, tc);
	huge = tcase_create("options-hugetlbfs");
	tcase_add_checked_fixture(huge, testlib_setup, teardown_hugepages);
	tcase_set_timeout(huge, 60);
	tcase_add_test(huge, test_hugetlbfs_memory_is_sealed);
	suite_add_tcase(s, huge);
	return testlib_run_suite(s);
}
