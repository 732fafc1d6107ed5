/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "mailbox.h"
#include "testlib.h"

int testlib_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	/*
	 * Failure messages carry the end of a log (testlib_show(), up to 8000 bytes, sometimes
	 * two): past Check's default of 4K, a failing test would only say "Message string too
	 * long", which tells nothing of why a wait ran out.
	 */
	check_set_max_msg_size(64 * 1024);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

uint64_t testlib_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void testlib_wait_until(bool (*cond)(void *data), void *data, int timeout_ms, const char *what)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while (!cond(data)) {
		ck_assert_msg(testlib_now_usec() < deadline, "%s: not in %d ms", what, timeout_ms);
		usleep(5000);
	}
}

static bool path_exists(void *path)
{
	return access(path, F_OK) == 0;
}

void testlib_wait_for_path(const char *path, int timeout_ms)
{
	char what[320];

	snprintf(what, sizeof(what), "%s never appeared", path);
	testlib_wait_until(path_exists, (void *)path, timeout_ms, what);
}

/* Processes started by this test and not yet reaped. */
static pid_t spawned[256];

static void forget_pid(pid_t pid)
{
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i] == pid)
			spawned[i] = 0;
}

void testlib_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
}

void testlib_teardown(void)
{
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i])
			testlib_stop(spawned[i], 5000);
	testlib_tmpdir_done();
}

static char tmpdir[128];

const char *testlib_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/famez-test.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	}
	return tmpdir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testlib_tmpdir_done(void)
{
	if (tmpdir[0] && !getenv("FAMEZ_TEST_KEEP"))
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static void redirect(int target, const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, target);
		close(fd);
	}
}

/* testlib_spawn() with standard input from stdin_fd (-1: /dev/null). */
static pid_t spawn_with_stdin(char *const argv[], int stdin_fd, const char *stdout_path,
			      const char *stderr_path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);

		dup2(in, STDIN_FILENO);
		redirect(STDOUT_FILENO, stdout_path);
		redirect(STDERR_FILENO, stderr_path);
		/*
		 * Die with the test: a failed check ends the test process without its
		 * teardown, and nothing it started may outlive it.
		 */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (!spawned[i]) {
			spawned[i] = pid;
			break;
		}
	return pid;
}

pid_t testlib_spawn(char *const argv[], const char *stdout_path, const char *stderr_path)
{
	return spawn_with_stdin(argv, -1, stdout_path, stderr_path);
}

int testlib_wait(pid_t pid, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			forget_pid(pid);
			return status;
		}
		if (r < 0)
			return -errno;
		if (testlib_now_usec() >= deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

int testlib_stop(pid_t pid, int timeout_ms)
{
	int status;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	status = testlib_wait(pid, timeout_ms);
	if (status == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		status = testlib_wait(pid, 5000);
	}
	return status;
}

long testlib_rss_kib(pid_t pid)
{
	char path[64], *text, *p;
	long kib;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = testlib_read_file(path);
	ck_assert_msg(text, "cannot read %s", path);
	p = strstr(text, "VmRSS:");
	ck_assert_msg(p, "no VmRSS in %s", path);
	kib = strtol(p + strlen("VmRSS:"), NULL, 10);
	free(text);
	return kib;
}

char *testlib_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

const char *testlib_show(const char *path)
{
	static char bufs[4][8192];
	static unsigned next;
	char *buf = bufs[next++ % 4], *text = testlib_read_file(path);
	size_t len;

	if (!text)
		return "(unreadable)";
	len = strlen(text);
	snprintf(buf, sizeof(bufs[0]), "%s", len < sizeof(bufs[0]) ? text : text + len - 8000);
	free(text);
	return buf;
}

bool testlib_file_contains(const char *path, const char *needle)
{
	char *s = testlib_read_file(path);
	bool found = s && strstr(s, needle);

	free(s);
	return found;
}

unsigned testlib_count(const char *path, const char *needle)
{
	char *text = testlib_read_file(path), *p = text;
	unsigned n = 0;

	while (p && (p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	free(text);
	return n;
}

static const char *env_path(const char *name)
{
	const char *p = getenv(name);

	ck_assert_msg(p && p[0], "%s is not set; run the tests through meson test", name);
	return p;
}

const char *testlib_famezd_path(void)
{
	return env_path("FAMEZD");
}

const char *testlib_client_path(void)
{
	return env_path("FAMEZ_CLIENT");
}

void testlib_sockaddr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sa->sun_path));
	memcpy(sa->sun_path, path, strlen(path));
}

int testlib_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	testlib_sockaddr(&sa, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

void famezd_start(Famezd *f, const char *const extra[])
{
	const char *argv[64];
	size_t n = 0;
	uint64_t deadline;

	snprintf(f->socket_path, sizeof(f->socket_path), "%s/famez.sock", testlib_tmpdir());
	snprintf(f->log_path, sizeof(f->log_path), "%s/famezd.log", testlib_tmpdir());
	argv[n++] = testlib_famezd_path();
	argv[n++] = "--socket";
	argv[n++] = f->socket_path;
	bool bus_given = false;

	for (size_t i = 0; extra && extra[i] && n < 60; i++) {
		bus_given |= strcmp(extra[i], "--bus") == 0;
		argv[n++] = extra[i];
	}
	/* Never the machine's own system bus, unless a test asks for a bus. */
	if (!bus_given) {
		argv[n++] = "--bus";
		argv[n++] = "none";
	}
	argv[n] = NULL;
	unlink(f->log_path);
	f->pid = testlib_spawn((char *const *)argv, f->log_path, f->log_path);

	/* Ready once it logs that it listens; a probe connection would become a peer. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	for (;;) {
		if (testlib_file_contains(f->log_path, "listening on"))
			break;
		ck_assert_msg(testlib_wait(f->pid, 0) == -ETIMEDOUT, "famezd exited early: %s",
			      testlib_show(f->log_path));
		ck_assert_msg(testlib_now_usec() < deadline, "famezd did not listen in %d ms",
			      TESTLIB_WAIT_MS);
		usleep(5000);
	}
}

const char *testlib_write_switch(const char *name, unsigned max_peers, const char *body)
{
	static char dir[256];
	char path[320], text[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s/%s.sock\nMaxPeers=%u\n%s",
		 testlib_tmpdir(), name, max_peers, body);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return dir;
}

void famezd_stop(Famezd *f)
{
	/* A SIGKILL on a slow exit (a sanitizer's leak check) would fail the check of its exit. */
	int status = testlib_stop(f->pid, TESTLIB_WAIT_MS);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "famezd did not exit cleanly (status 0x%x): %s", status,
		      testlib_show(f->log_path));
	f->pid = 0;
}

int famezd_run(const char *const args[], const char *log_path, int timeout_ms)
{
	const char *argv[64];
	size_t n = 0;
	pid_t pid;
	int status;

	argv[n++] = testlib_famezd_path();
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	unlink(log_path);
	pid = testlib_spawn((char *const *)argv, log_path, log_path);
	status = testlib_wait(pid, timeout_ms);
	if (status == -ETIMEDOUT)
		status = testlib_stop(pid, 2000) | 0x10000;
	return status;
}

pid_t famez_client_start_with(const char *socket, const char *name, const char *const options[],
			      const char *commands, char *out, size_t out_size)
{
	const char *argv[24] = { testlib_client_path(), "--socket", socket, "--wait", "5" };
	size_t n = 5;

	for (size_t i = 0; options && options[i]; i++) {
		ck_assert_uint_lt(n, ELEMENTSOF(argv) - 3);
		argv[n++] = options[i];
	}
	argv[n++] = "--exec";
	argv[n++] = commands;
	argv[n] = NULL;
	snprintf(out, out_size, "%s/%s.out", testlib_tmpdir(), name);
	/* Its errors too: tests look for "the server closed the connection". */
	return testlib_spawn((char *const *)argv, out, out);
}

pid_t famez_client_start_as(const char *socket, const char *name, const char *nodename,
			    const char *commands, char *out, size_t out_size)
{
	const char *options[] = { "--nodename", nodename, NULL };

	return famez_client_start_with(socket, name, nodename ? options : NULL, commands, out,
				       out_size);
}

pid_t famez_client_start(const char *socket, const char *name, const char *commands, char *out,
			 size_t out_size)
{
	return famez_client_start_as(socket, name, NULL, commands, out, out_size);
}

pid_t famez_client_start_fed(const char *socket, const char *name, const char *nodename,
			     int *commands, char *out, size_t out_size)
{
	const char *options[] = { "--nodename", nodename, NULL };

	return famez_client_start_fed_with(socket, name, options, commands, out, out_size);
}

pid_t famez_client_start_fed_with(const char *socket, const char *name, const char *const options[],
				  int *commands, char *out, size_t out_size)
{
	const char *argv[24] = { testlib_client_path(), "--socket", socket, "--wait", "5" };
	size_t n = 5;
	int p[2];
	pid_t pid;

	for (size_t i = 0; options && options[i]; i++) {
		ck_assert_uint_lt(n, ELEMENTSOF(argv) - 1);
		argv[n++] = options[i];
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(out, out_size, "%s/%s.out", testlib_tmpdir(), name);
	pid = spawn_with_stdin((char *const *)argv, p[0], out, out);
	close(p[0]);
	*commands = p[1];
	return pid;
}

void famez_client_feed(int commands, const char *line)
{
	size_t n = strlen(line);

	/* Fails with EPIPE when famez-client has exited, e.g. when famezd dropped it. */
	ck_assert_msg(write(commands, line, n) == (ssize_t)n && write(commands, "\n", 1) == 1,
		      "cannot give famez-client '%s': %s", line, strerror(errno));
}

void testlib_wait_for_output(const char *path, const char *needle, int timeout_ms)
{
	testlib_wait_for_count(path, needle, 1, timeout_ms);
}

void testlib_wait_for_count(const char *path, const char *needle, unsigned n, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;
	unsigned seen;

	while ((seen = testlib_count(path, needle)) < n) {
		ck_assert_msg(testlib_now_usec() < deadline, "%s showed '%s' %u times of %u: %s",
			      path, needle, seen, n, testlib_show(path));
		usleep(5000);
	}
}

void famez_client_pair_check(const char *socket)
{
	char out_a[256], out_b[256];
	pid_t a, b;
	int status;

	a = famez_client_start(socket, "a",
			       "wait-peers 1 " TESTLIB_WAIT_S
			       "; dump; int 1 1; wait-int 0 1 " TESTLIB_WAIT_S
			       "; wait-left 1 " TESTLIB_WAIT_S,
			       out_a, sizeof(out_a));
	testlib_wait_for_output(out_a, "connected id 0", TESTLIB_WAIT_MS);
	b = famez_client_start(socket, "b",
			       "wait-peers 1 " TESTLIB_WAIT_S "; wait-int 1 1 " TESTLIB_WAIT_S
			       "; int 0 0; dump",
			       out_b, sizeof(out_b));

	/* Longer than the clients' own bounds: a client that gives up says why. */
	status = testlib_wait(b, 3 * TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client b failed: %s",
		      testlib_show(out_b));
	status = testlib_wait(a, 3 * TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client a failed: %s",
		      testlib_show(out_a));

	ck_assert(testlib_file_contains(out_b, "connected id 1 vectors 2 shm 4M peers 1"));
	ck_assert(testlib_file_contains(out_b, "interrupt vector 1 count 1"));
	ck_assert(testlib_file_contains(out_b, "peer 0 vectors 2"));
	ck_assert(testlib_file_contains(out_a, "peer 1 joined"));
	ck_assert(testlib_file_contains(out_a, "interrupt vector 0 count 1"));
	ck_assert(testlib_file_contains(out_a, "peer 1 vectors 2"));
	ck_assert(testlib_file_contains(out_a, "peer 1 left"));
}

void raw_client_adopt(RawClient *c, int fd, bool keep_fds)
{
	memset(c, 0, sizeof(*c));
	c->reader = WIRE_READER_INIT;
	client_state_init(&c->state);
	c->keep_fds = keep_fds;
	c->fd = fd;
}

int raw_client_connect(RawClient *c, const char *path, bool keep_fds)
{
	raw_client_adopt(c, testlib_connect(path), keep_fds);
	return c->fd < 0 ? c->fd : 0;
}

static void send_fd(int sock, int fd)
{
	char byte = 0, control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(3);
}

static int receive_fd(int sock)
{
	char byte, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

void testlib_connect_as(uid_t uid, const char *path, int n, int fds[])
{
	int sv[2], status, conns[256];
	pid_t pid;

	ck_assert_int_le(n, (int)ELEMENTSOF(conns));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(2);
		/* All at once, then handed back: the server sees them come together. */
		for (int i = 0; i < n; i++)
			if ((conns[i] = testlib_connect(path)) < 0)
				_exit(4);
		for (int i = 0; i < n; i++) {
			send_fd(sv[1], conns[i]);
			close(conns[i]);
		}
		_exit(0);
	}
	close(sv[1]);
	for (int i = 0; i < n; i++) {
		fds[i] = receive_fd(sv[0]);
		ck_assert_msg(fds[i] >= 0, "connection %d of uid %u did not come back", i,
			      (unsigned)uid);
	}
	close(sv[0]);
	status = testlib_wait(pid, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "connecting as uid %u failed (0x%x)", (unsigned)uid, status);
}

static void raw_client_log(RawClient *c, int64_t value, bool has_fd)
{
	if (c->n_log == c->cap_log) {
		c->cap_log = c->cap_log ? c->cap_log * 2 : 64;
		c->log = realloc(c->log, c->cap_log * sizeof(*c->log));
		ck_assert_ptr_nonnull(c->log);
	}
	c->log[c->n_log++] = (RawMessage){ .value = value, .has_fd = has_fd };
}

size_t raw_client_read(RawClient *c, size_t max)
{
	size_t n = 0;

	while (n < max && !c->eof && !c->error) {
		int64_t value;
		int fd;
		int r = wire_read(c->fd, &c->reader, &value, &fd);

		if (r == 0)
			break;
		if (r < 0) {
			if (r == -EPIPE)
				c->eof = true;
			else
				c->error = r;
			break;
		}
		raw_client_log(c, value, fd >= 0);
		n++;
		if (c->keep_fds) {
			ClientEvent ev;

			if (client_state_feed(&c->state, value, fd, &ev) < 0)
				c->error = -EPROTO;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	return n;
}

bool raw_client_read_until(RawClient *c, bool (*pred)(RawClient *c, void *data), void *data,
			   int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while (!pred(c, data)) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		if (c->eof || c->error || testlib_now_usec() >= deadline)
			return false;
		poll(&p, 1, 10);
		raw_client_read(c, SIZE_MAX);
	}
	return true;
}

bool raw_client_read_closed(RawClient *c, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while (!c->eof && !c->error) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		if (testlib_now_usec() >= deadline)
			return false;
		poll(&p, 1, 20);
		raw_client_read(c, SIZE_MAX);
	}
	return true;
}

void raw_client_close(RawClient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	wire_reader_reset(&c->reader);
	client_state_done(&c->state);
	free(c->log);
	c->log = NULL;
	c->n_log = c->cap_log = 0;
}

static bool has_fabric_handshake(RawClient *c, void *data)
{
	unsigned server_id = (unsigned)(uintptr_t)data;
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t)server_id);

	return p && p->n_vectors == server_id + 1 && c->state.self.n_vectors == server_id + 1;
}

bool raw_client_read_fabric(RawClient *c, unsigned server_id, int timeout_ms)
{
	return raw_client_read_until(c, has_fabric_handshake, (void *)(uintptr_t)server_id,
				     timeout_ms);
}

uint8_t *raw_client_map(RawClient *c, size_t *size)
{
	struct stat st;
	void *p;

	ck_assert_int_eq(fstat(c->state.shm_fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->state.shm_fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	*size = (size_t)st.st_size;
	return p;
}

void raw_client_ring(RawClient *c, uint16_t peer, unsigned vector, uint64_t times)
{
	const ClientPeer *p = client_state_peer(&c->state, peer);

	ck_assert_msg(p && vector < p->n_vectors, "no peer %u vector %u", peer, vector);
	ck_assert_int_eq(write(p->fds[vector], &times, sizeof(times)), sizeof(times));
}

bool testlib_wait_slot(const uint8_t *slot, bool full, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while (mailbox_slot_is_free(slot) == full)
		if (testlib_now_usec() >= deadline)
			return false;
	return true;
}

bool testlib_wait_message(const uint8_t *slot, unsigned reader, char out[MAILBOX_MSG_MAX],
			  size_t *len, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while (mailbox_read_message(slot, reader, out, len) != 0)
		if (testlib_now_usec() >= deadline)
			return false;
	return true;
}

void raw_client_mail(RawClient *c, uint8_t *mem, unsigned dest, const char *text, int wait_ms)
{
	uint8_t *slot = mailbox_slot(mem, c->state.own_id);

	if (!testlib_wait_slot(slot, false, wait_ms))
		mailbox_reclaim(slot);
	ck_assert_int_eq(mailbox_write_message(slot, dest, text), 0);
	raw_client_ring(c, (uint16_t)dest, c->state.own_id, 1);
}

void famez_client_run(const char *socket, const char *name, const char *commands, char *out,
		      size_t out_size)
{
	pid_t p = famez_client_start(socket, name, commands, out, out_size);
	/* Longer than the bounds of its commands: a client that gives up says why. */
	int status = testlib_wait(p, 2 * TESTLIB_WAIT_MS);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (0x%x): %s", name,
		      status, testlib_show(out));
}

uint64_t famez_client_pong_usec(const char *out, const char *from)
{
	char *text = testlib_read_file(out), needle[64], *p;
	uint64_t usec;

	snprintf(needle, sizeof(needle), "pong from %s in ", from);
	p = text ? strstr(text, needle) : NULL;
	ck_assert_msg(p, "no pong from %s: %s", from, text);
	usec = strtoull(p + strlen(needle), NULL, 10);
	free(text);
	return usec;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t famez_client_pong_times(const char *out, const char *from, uint64_t usec[], size_t max)
{
	char *text = testlib_read_file(out), needle[64], *p = text;
	size_t n = 0;

	snprintf(needle, sizeof(needle), "pong from %s in ", from);
	while (p && n < max && (p = strstr(p, needle))) {
		p += strlen(needle);
		usec[n++] = strtoull(p, &p, 10);
	}
	free(text);
	qsort(usec, n, sizeof(usec[0]), compare_u64);
	return n;
}

unsigned famez_client_flood_check(const char *out, const char *origin, unsigned n)
{
	char *text = testlib_read_file(out), prefix[64];
	size_t len = (size_t)snprintf(prefix, sizeof(prefix), "%s: seq=", origin);
	unsigned next = 1;
	bool wrong = false;

	ck_assert_msg(text, "cannot read %s", out);
	for (char *line = text, *end; *line && !wrong; line = end + (*end != '\0')) {
		end = strchrnul(line, '\n');
		if (strncmp(line, prefix, len) != 0)
			continue;
		wrong = next > n || strtoul(line + len, NULL, 10) != next;
		next += !wrong;
	}
	free(text);
	return wrong || next != n + 1 ? next : 0;
}

void famez_client_ping_ok(const char *socket, const char *name, const char *server_label)
{
	char out[256];

	famez_client_run(socket, name, "ping server 5", out, sizeof(out));
	ck_assert_uint_lt(famez_client_pong_usec(out, server_label), 1500000);
}

int testlib_run(char *const argv[], const char *stdout_path, const char *stderr_path,
		int timeout_ms)
{
	pid_t pid;
	int status;

	if (stdout_path)
		unlink(stdout_path);
	if (stderr_path)
		unlink(stderr_path);
	pid = testlib_spawn(argv, stdout_path, stderr_path);
	status = testlib_wait(pid, timeout_ms);
	ck_assert_msg(status != -ETIMEDOUT, "%s did not finish in %d ms", argv[0], timeout_ms);
	ck_assert_msg(WIFEXITED(status), "%s died (status 0x%x)", argv[0], status);
	return WEXITSTATUS(status);
}

/* A recursive-descent check of JSON syntax, enough to tell machine-readable output is. */
static const char *json_value(const char *p, int depth);

static const char *json_space(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string_end(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && !*++p)
			return NULL;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_container(const char *p, int depth, char close, bool object)
{
	p = json_space(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string_end(json_space(p));
			if (!p)
				return NULL;
			p = json_space(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_space(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_space(p);
	switch (*p) {
	case '{':
		return json_container(p, depth, '}', true);
	case '[':
		return json_container(p, depth, ']', false);
	case '"':
		return json_string_end(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		if (*p == '-' || (*p >= '0' && *p <= '9')) {
			char *end;

			strtod(p, &end);
			return end > p ? end : NULL;
		}
		return NULL;
	}
}

bool testlib_json_valid(const char *s)
{
	const char *end = json_value(s, 0);

	return end && *json_space(end) == '\0';
}

void testlib_start_private_bus(void)
{
	char path[256], address[300], listen[320];
	const char *argv[] = { "/usr/bin/dbus-daemon", "--session", listen, "--nofork",
			       "--nopidfile",          NULL };

	snprintf(path, sizeof(path), "%s/bus", testlib_tmpdir());
	snprintf(address, sizeof(address), "unix:path=%s", path);
	snprintf(listen, sizeof(listen), "--address=%s", address);
	testlib_spawn((char *const *)argv, NULL, NULL);
	testlib_wait_for_path(path, TESTLIB_WAIT_MS);
	ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
}
