/* SPDX-License-Identifier: MIT */
/*
 * The soak (its own suite, not in the default run; through systemd-env.sh): famez.service under
 * systemd --user serves two QEMUs for the whole run while thousands of other peers join and
 * leave (famez-load), misbehaving clients come and go (one writes bytes, one half-closes, one
 * vanishes in the middle of its handshake, two never read), and the service is restarted in the
 * middle of every round. At the end the QEMUs still ring each other, famezd's fd count and RSS
 * are back near where they started, and the counters add up to what the test did. It prints
 * its figures.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtest.h"
#include "testlib.h"
#include "userunit.h"

#define ROUNDS 4
#define NON_READERS 2
#define RESTART_AFTER_USEC 500000 /* into each round */
#define FD_SLACK 2                /* fds the end may hold beyond the start */
#define RSS_SLACK_KIB (4 * 1024)  /* RSS the end may have grown by */

typedef struct SoakMode {
	const char *name;
	const char *options;
	unsigned vectors;
	bool fabric; /* eventfds belong to IDs: up to (max_peers + 2) * vectors stay open */
	unsigned max_peers;
	unsigned base_peers; /* famez-load's peers connected throughout a round */
	unsigned newcomers;  /* famez-load's newcomers joining and leaving in a round */
} SoakMode;

static const SoakMode modes[] = {
	{ "ivshmem", "--mode ivshmem --vectors 4 --max-queue 256", 4, false, 0, 100, 2000 },
	{ "fabric", "--max-peers 30 --max-queue 256", 32, true, 30, 8, 1000 },
};

typedef enum Misbehaviour {
	WRITES_BYTES,
	HALF_CLOSES,
	VANISHES_MID_HANDSHAKE,
	_MISBEHAVIOUR_MAX,
} Misbehaviour;

static const char *const misbehaviour_names[] = {
	[WRITES_BYTES] = "wrote bytes",
	[HALF_CLOSES] = "half-closed",
	[VANISHES_MID_HANDSHAKE] = "vanished mid-handshake",
};

typedef struct Tally {
	unsigned misbehaved[_MISBEHAVIOUR_MAX];
	unsigned never_read;
	unsigned famez_load_peers;
	unsigned restarts;
} Tally;

static QVm vms[2];

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		qvm_stop(&vms[i]);
	systemctl("stop", "famez.socket", "famez.service");
	systemctl("reset-failed", "famez.service");
	userunit_set_options(NULL);
	testlib_teardown();
}

/* Waits until fd shows one of `events`; returns whether it did within timeout_ms. */
static bool wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLHUP | POLLERR));
}

/* Waits until the server has closed its end of fd (without reading anything). */
static void assert_server_closes(int fd, const char *who)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	ck_assert_msg(poll(&p, 1, 20000) == 1 && (p.revents & POLLHUP),
		      "famezd never disconnected the client that %s", who);
}

static int connect_misbehaving(void)
{
	int fd = testlib_connect(userunit_socket_path());

	ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
	return fd;
}

static void misbehave(Misbehaviour m, unsigned n)
{
	int fd = connect_misbehaving();
	char byte;

	switch (m) {
	case WRITES_BYTES:
		/* After the server's first message, so it is a peer, not a connection in a queue.
		 */
		ck_assert(wait_fd(fd, POLLIN, 20000));
		ck_assert_int_eq(write(fd, "garbage", 7), 7);
		assert_server_closes(fd, misbehaviour_names[m]);
		break;
	case HALF_CLOSES:
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		assert_server_closes(fd, misbehaviour_names[m]);
		break;
	case VANISHES_MID_HANDSHAKE:
		/* Every other one reads a byte of the handshake first; the rest nothing at all. */
		if (n % 2) {
			ck_assert(wait_fd(fd, POLLIN, 20000));
			ck_assert_int_eq(recv(fd, &byte, 1, MSG_DONTWAIT), 1);
		}
		break;
	default:
		abort();
	}
	close(fd);
}

/* famezd's open fds: eventfds apart from the rest (sockets, memfds, epoll, timers...). */
typedef struct FdCount {
	unsigned eventfds, others;
} FdCount;

static FdCount proc_fd_count(const char *pid)
{
	char dir[64], path[340], target[64];
	FdCount c = { 0 };
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") == 0)
			c.eventfds++;
		else
			c.others++;
	}
	closedir(d);
	return c;
}

/* `famezctl --user --json status` into a string to free. */
static char *status_json(void)
{
	ck_assert_msg(userunit_run(getenv("FAMEZCTL"), "--user", "--json", "status", NULL) == 0,
		      "%s", testlib_show(userunit_err));
	return testlib_read_file(userunit_out);
}

/* A number in the status JSON, by key. */
static uint64_t json_number(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	ck_assert_msg(p, "no %s in %s", key, json);
	return strtoull(p + strlen(needle), NULL, 10);
}

/* Waits until famezd counts `n` peers (those that vanished may take it a moment to notice). */
static char *wait_peer_count(unsigned n)
{
	uint64_t deadline = testlib_now_usec() + 20000000;

	for (;;) {
		char *json = status_json();

		if (json_number(json, "peer_count") == n)
			return json;
		ck_assert_msg(testlib_now_usec() < deadline, "famezd still counts peers: %s", json);
		free(json);
		usleep(50000);
	}
}

static void start_vms(const SoakMode *mode)
{
	for (int i = 0; i < 2; i++) {
		char name[8];

		snprintf(name, sizeof(name), "vm%d", i);
		ck_assert_msg(qvm_start(&vms[i], name, userunit_socket_path(), mode->vectors) == 0,
			      "QEMU: %s", testlib_show(vms[i].log_path));
	}
}

/*
 * In fabric mode a VM reaches another only on the vector that is its own ID (famezd
 * authenticates doorbells); in ivshmem mode on any.
 */
static void assert_vms_ring_each_other(const SoakMode *mode)
{
	uint32_t id0 = qvm_ivposition(&vms[0]), id1 = qvm_ivposition(&vms[1]);

	qvm_assert_rings(&vms[0], &vms[1], id1, mode->fabric ? id0 : 1);
	qvm_assert_rings(&vms[1], &vms[0], id0, mode->fabric ? id1 : 0);
}

/* Starts famez-load's churn for one round; its output goes to <tmpdir>/load-ROUND.{out,err}. */
static pid_t start_load(const SoakMode *mode, unsigned others, int round, char out[300],
			char err[300])
{
	char peers[16], vectors[16], rounds[16], others_arg[16];

	snprintf(peers, sizeof(peers), "%u", mode->base_peers);
	snprintf(vectors, sizeof(vectors), "%u", mode->vectors);
	snprintf(rounds, sizeof(rounds), "%u", mode->newcomers);
	snprintf(others_arg, sizeof(others_arg), "%u", others);
	snprintf(out, 300, "%s/load-%d.out", testlib_tmpdir(), round);
	snprintf(err, 300, "%s/load-%d.err", testlib_tmpdir(), round);
	/* clang-format off */
	char *const argv[] = { getenv("FAMEZ_LOAD"), "-S", (char *)userunit_socket_path(),
			       "--peers", peers, "--vectors", vectors, "--rounds", rounds,
			       "--others", others_arg, "--timeout", "60", "join", NULL };
	/* clang-format on */
	return testlib_spawn(argv, out, err);
}

static void restart_service(Tally *t)
{
	char *before = userunit_property("MainPID"), *after;

	userunit_restart();
	after = userunit_wait_new_main_pid(before);
	t->restarts++;
	free(before);
	free(after);
}

/*
 * One round: famez-load's peers join and leave while misbehaving clients take turns and two
 * others never read; the service is restarted once famez-load has run for half a second.
 */
static void soak_round(const SoakMode *mode, unsigned others, int round, Tally *t)
{
	int non_readers[NON_READERS];
	char load_out[300], load_err[300];
	uint64_t start = testlib_now_usec();
	bool restarted = false;
	unsigned n = 0;
	pid_t load;
	int status;

	for (int i = 0; i < NON_READERS; i++)
		non_readers[i] = connect_misbehaving();
	load = start_load(mode, others, round, load_out, load_err);
	while ((status = testlib_wait(load, 0)) == -ETIMEDOUT) {
		misbehave((Misbehaviour)(n % _MISBEHAVIOUR_MAX), n / _MISBEHAVIOUR_MAX);
		t->misbehaved[n % _MISBEHAVIOUR_MAX]++;
		n++;
		if (!restarted && testlib_now_usec() - start > RESTART_AFTER_USEC) {
			restart_service(t);
			restarted = true;
		}
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "famez-load: %s",
		      testlib_show(load_err));
	ck_assert_msg(restarted, "famez-load ended before the restart; make the round longer");
	t->famez_load_peers += mode->base_peers + mode->newcomers;
	/* Each heard of every newcomer and read nothing: famezd must have given up on them. */
	for (int i = 0; i < NON_READERS; i++) {
		assert_server_closes(non_readers[i], "never read");
		close(non_readers[i]);
		t->never_read++;
	}
	printf("%s round %d: %s", mode->name, round, testlib_show(load_out));
}

static void soak(const SoakMode *mode)
{
	unsigned base, misbehaved = 0, eventfds_max;
	FdCount fds_start, fds_end;
	unsigned long rss_start, rss_end;
	uint64_t accepted, disconnected, errors;
	char *pid_start, *pid_end, *json, client_out[256];
	Tally t = { 0 };
	pid_t watcher = 0;

	/* From scratch, also after a failed case (Check skips the teardown then). */
	systemctl("stop", "famez.socket", "famez.service");
	systemctl("reset-failed", "famez.service");
	userunit_set_options(mode->options);
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	start_vms(mode);
	base = 2;
	if (mode->fabric) {
		/* A fabric peer that answers in the mailbox, to ping at the end. */
		watcher = famez_client_start_as(userunit_socket_path(), "watcher", "watcher",
						"sleep 600", client_out, sizeof(client_out));
		testlib_wait_for_output(client_out, "connected id 3", 10000);
		base++;
	}
	assert_vms_ring_each_other(mode);
	free(wait_peer_count(base));
	pid_start = userunit_property("MainPID");
	fds_start = proc_fd_count(pid_start);
	rss_start = (unsigned long)testlib_rss_kib(atoi(pid_start));

	for (int round = 1; round <= ROUNDS; round++)
		soak_round(mode, base + mode->fabric, round, &t);

	json = wait_peer_count(base);
	pid_end = userunit_property("MainPID");
	fds_end = proc_fd_count(pid_end);
	rss_end = (unsigned long)testlib_rss_kib(atoi(pid_end));
	assert_vms_ring_each_other(mode);
	if (mode->fabric)
		ck_assert_msg(userunit_run(getenv("FAMEZCTL"), "--user", "ping", "3", NULL) == 0,
			      "%s", testlib_show(userunit_err));

	for (int m = 0; m < _MISBEHAVIOUR_MAX; m++)
		misbehaved += t.misbehaved[m];
	accepted = json_number(json, "peers_accepted");
	disconnected = json_number(json, "peers_disconnected");
	errors = json_number(json, "protocol_errors");
	printf("%s: %u famez-load peers churned, %u restarts; misbehaving clients: %u %s, "
	       "%u %s, %u %s, %u never read\n",
	       mode->name, t.famez_load_peers, t.restarts, t.misbehaved[WRITES_BYTES],
	       misbehaviour_names[WRITES_BYTES], t.misbehaved[HALF_CLOSES],
	       misbehaviour_names[HALF_CLOSES], t.misbehaved[VANISHES_MID_HANDSHAKE],
	       misbehaviour_names[VANISHES_MID_HANDSHAKE], t.never_read);
	printf("%s: eventfds %u -> %u, other fds %u -> %u, RSS %lu -> %lu KiB (pid %s -> %s)\n",
	       mode->name, fds_start.eventfds, fds_end.eventfds, fds_start.others, fds_end.others,
	       rss_start, rss_end, pid_start, pid_end);
	printf("%s: accepted %" PRIu64 ", rejected %" PRIu64 ", disconnected %" PRIu64
	       ", protocol errors %" PRIu64 "\n",
	       mode->name, accepted, json_number(json, "peers_rejected"), disconnected, errors);

	/* Counters add up across the restarts: every connection, every departure, every fault. */
	ck_assert_uint_eq(accepted, base + t.famez_load_peers + misbehaved + t.never_read);
	ck_assert_uint_eq(json_number(json, "peers_rejected"), 0);
	ck_assert_uint_eq(disconnected, accepted - base);
	ck_assert_uint_eq(errors, t.misbehaved[WRITES_BYTES] + t.never_read);
	ck_assert_uint_eq(t.restarts, ROUNDS);
	/* Nothing left behind. */
	ck_assert_msg(fds_end.others <= fds_start.others + FD_SLACK, "fds %u -> %u",
		      fds_start.others, fds_end.others);
	/* In fabric mode the eventfds of every ID used stay, for its next holder (fabric.md). */
	eventfds_max = mode->fabric ? (mode->max_peers + 2) * mode->vectors
				    : fds_start.eventfds + FD_SLACK;
	ck_assert_msg(fds_end.eventfds <= eventfds_max, "eventfds %u -> %u, at most %u",
		      fds_start.eventfds, fds_end.eventfds, eventfds_max);
	ck_assert_msg(rss_end <= rss_start + RSS_SLACK_KIB, "RSS %lu -> %lu KiB", rss_start,
		      rss_end);
	free(json);
	free(pid_start);
	free(pid_end);
	testlib_stop(watcher, 5000);
}

START_TEST(test_soak)
{
	soak(&modes[_i]);
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
	/* The figures, also when a check fails in the middle. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	s = suite_create("soak");
	/* One case per mode: CK_RUN_CASE=fabric runs one. */
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		tc = tcase_create(modes[i].name);
		tcase_add_checked_fixture(tc, testlib_setup, teardown);
		tcase_set_timeout(tc, 600);
		tcase_add_loop_test(tc, test_soak, (int)i, (int)i + 1);
		suite_add_tcase(s, tc);
	}
	return testlib_run_suite(s);
}
