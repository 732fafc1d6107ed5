/* SPDX-License-Identifier: MIT */
/*
 * famez-load: a load generator for any server speaking the ivshmem protocol (famezd, QEMU's
 * ivshmem-server). It opens many peers in one process, drains every socket, closes every fd
 * received, and measures:
 *
 *   join     newcomer join latency (connect() to the last handshake message) with --peers
 *            peers already connected, over --rounds newcomers: p50, p99, max
 *   bringup  time for --peers peers to connect and each to learn every peer's vectors, and
 *            the messages lost on the way (expected minus received, summed over peers)
 *
 * join also prints the churn rate: newcomers joining and leaving per second.
 *
 * --others K says how many peers not opened here are connected throughout (VMs, or famezd itself
 * in fabric mode): each newcomer also hears of their vectors.
 *
 * --rss-of PID: after bringup, while every peer is still connected, the resident memory of
 * process PID (the server) as server_rss_kb; with --settle MS, again MS milliseconds later, the
 * peers still connected and read, as server_settled_rss_kb (a server may give back what the
 * bring-up's burst took only a while after it).
 *
 * Output is one "key value" per line so scripts can compare servers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "size.h"
#include "wire.h"

typedef struct Conn {
	int fd;
	WireReader reader;
	uint64_t received;
	int64_t id;
	bool refused;
	bool closed;
} Conn;

static const char *arg_socket;
static unsigned arg_peers = 100, arg_vectors = 1, arg_rounds = 200;
static unsigned arg_timeout = 60, arg_others, arg_rss_of, arg_settle_ms;

/* VmRSS of process pid in kB, or 0. */
static unsigned long rss_kb(unsigned pid)
{
	char path[64], line[128];
	unsigned long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}
static int epfd;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int conn_open(Conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	memset(c, 0, sizeof(*c));
	c->reader = WIRE_READER_INIT;
	c->id = -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", arg_socket);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_close(Conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	wire_reader_reset(&c->reader);
	c->fd = -1;
	c->closed = true;
}

static void conn_drain(Conn *c)
{
	for (;;) {
		int64_t value;
		int fd;
		int r = wire_read(c->fd, &c->reader, &value, &fd);

		if (r <= 0) {
			if (r < 0)
				conn_close(c);
			return;
		}
		if (fd >= 0)
			close(fd);
		if (c->received == 0 && value != 0)
			c->refused = true;
		if (c->received == 1)
			c->id = value;
		c->received++;
	}
}

/* Reads whatever is ready now (waiting at most timeout_ms for something). */
static void drain_ready(int timeout_ms)
{
	struct epoll_event events[256];
	int n = epoll_wait(epfd, events, 256, timeout_ms);

	for (int i = 0; i < n; i++)
		conn_drain(events[i].data.ptr);
}

/* Serves every connection until done() holds or the timeout passes. */
static bool pump(bool (*done)(void *), void *data, uint64_t deadline)
{
	struct epoll_event events[256];

	while (!done(data)) {
		int n, timeout = (int)((deadline - MIN(deadline, now_usec())) / 1000);

		if (timeout <= 0)
			return false;
		n = epoll_wait(epfd, events, 256, MIN(timeout, 100));
		for (int i = 0; i < n; i++)
			conn_drain(events[i].data.ptr);
	}
	return true;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

typedef struct Want {
	Conn *conns;
	unsigned n;
	uint64_t each;
} Want;

static bool all_have(void *data)
{
	Want *w = data;

	for (unsigned i = 0; i < w->n; i++)
		if (!w->conns[i].closed && w->conns[i].received < w->each)
			return false;
	return true;
}

static bool never(void *data)
{
	(void)data;
	return false;
}

static int run_bringup(void)
{
	Conn *conns = calloc(arg_peers, sizeof(*conns));
	Want want = { .conns = conns,
		      .n = arg_peers,
		      .each = 3 + (uint64_t)(arg_peers + arg_others) * arg_vectors };
	uint64_t start = now_usec(), end, lost = 0, expected = 0, refused = 0;
	bool complete;

	for (unsigned i = 0; i < arg_peers; i++) {
		int r = conn_open(&conns[i]);

		if (r < 0) {
			fprintf(stderr, "famez-load: connecting peer %u: %s\n", i, strerror(-r));
			return 1;
		}
		/* Keep up with the server while connecting, as real peers would. */
		drain_ready(0);
	}
	complete = pump(all_have, &want, start + (uint64_t)arg_timeout * 1000000);
	end = now_usec();
	if (!complete) {
		/* Give stragglers a last chance before counting what never came. */
		pump(all_have, &want, now_usec() + 2000000);
	}
	for (unsigned i = 0; i < arg_peers; i++) {
		expected += want.each;
		refused += conns[i].refused;
		if (conns[i].received < want.each)
			lost += want.each - conns[i].received;
	}
	printf("bringup_peers %u\nbringup_vectors %u\n", arg_peers, arg_vectors);
	printf("bringup_usec %llu\n", (unsigned long long)(end - start));
	printf("bringup_complete %s\n", complete ? "yes" : "no");
	printf("messages_expected %llu\nmessages_lost %llu\npeers_refused %llu\n",
	       (unsigned long long)expected, (unsigned long long)lost, (unsigned long long)refused);
	if (arg_rss_of)
		printf("server_rss_kb %lu\n", rss_kb(arg_rss_of));
	if (arg_rss_of && arg_settle_ms) {
		pump(never, NULL, now_usec() + (uint64_t)arg_settle_ms * 1000);
		printf("server_settled_rss_kb %lu\n", rss_kb(arg_rss_of));
	}
	for (unsigned i = 0; i < arg_peers; i++)
		conn_close(&conns[i]);
	free(conns);
	return 0;
}

static int run_join(void)
{
	Conn *conns = calloc(arg_peers + 1, sizeof(*conns));
	uint64_t *lat = calloc(arg_rounds, sizeof(*lat));
	Want base = { .conns = conns, .n = arg_peers };
	Conn *newcomer = &conns[arg_peers];

	for (unsigned i = 0; i < arg_peers; i++) {
		if (conn_open(&conns[i]) < 0) {
			perror("famez-load: connect");
			return 1;
		}
		base.each = 3 + (uint64_t)(i + 1 + arg_others) * arg_vectors;
		base.n = i + 1;
		if (!pump(all_have, &base, now_usec() + (uint64_t)arg_timeout * 1000000)) {
			fprintf(stderr, "famez-load: peer %u did not get its handshake\n", i);
			return 1;
		}
	}

	uint64_t churn_start = now_usec();

	for (unsigned round = 0; round < arg_rounds; round++) {
		Want one = { .conns = newcomer,
			     .n = 1,
			     .each = 3 + (uint64_t)(arg_peers + 1 + arg_others) * arg_vectors };
		uint64_t start = now_usec();

		if (conn_open(newcomer) < 0) {
			perror("famez-load: connect");
			return 1;
		}
		if (!pump(all_have, &one, start + (uint64_t)arg_timeout * 1000000) ||
		    newcomer->closed) {
			fprintf(stderr, "famez-load: newcomer %u got %llu of %llu messages\n",
				round, (unsigned long long)newcomer->received,
				(unsigned long long)one.each);
			return 1;
		}
		lat[round] = now_usec() - start;
		conn_close(newcomer);
		newcomer->closed = false;
		/* Let the others see it come and go before the next one. */
		drain_ready(1);
	}
	/* Each round is one newcomer joining and leaving while arg_peers stay. */
	printf("churn_cycles_per_sec %.0f\n",
	       arg_rounds * 1e6 / (double)(now_usec() - churn_start));
	qsort(lat, arg_rounds, sizeof(*lat), compare_u64);
	printf("join_peers %u\njoin_vectors %u\njoin_rounds %u\n", arg_peers, arg_vectors,
	       arg_rounds);
	printf("join_p50_usec %llu\njoin_p99_usec %llu\njoin_max_usec %llu\n",
	       (unsigned long long)lat[arg_rounds / 2],
	       (unsigned long long)lat[(arg_rounds * 99) / 100],
	       (unsigned long long)lat[arg_rounds - 1]);
	for (unsigned i = 0; i < arg_peers; i++)
		conn_close(&conns[i]);
	free(conns);
	free(lat);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "peers", required_argument, NULL, 'p' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "others", required_argument, NULL, 'o' },
		{ "rss-of", required_argument, NULL, 'R' },
		{ "settle", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct rlimit rl;
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "S:p:n:r:t:o:R:s:h", options, NULL)) >= 0) {
		switch (opt) {
		case 'S':
			arg_socket = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &v) < 0)
				return 2;
			arg_peers = (unsigned)v;
			break;
		case 'n':
			if (parse_uint(optarg, 1, 2048, &v) < 0)
				return 2;
			arg_vectors = (unsigned)v;
			break;
		case 'r':
			if (parse_uint(optarg, 1, 1000000, &v) < 0)
				return 2;
			arg_rounds = (unsigned)v;
			break;
		case 't':
			if (parse_uint(optarg, 1, 3600, &v) < 0)
				return 2;
			arg_timeout = (unsigned)v;
			break;
		case 'o':
			if (parse_uint(optarg, 0, 65535, &v) < 0)
				return 2;
			arg_others = (unsigned)v;
			break;
		case 'R':
			if (parse_uint(optarg, 1, UINT32_MAX, &v) < 0)
				return 2;
			arg_rss_of = (unsigned)v;
			break;
		case 's':
			if (parse_uint(optarg, 0, 600000, &v) < 0)
				return 2;
			arg_settle_ms = (unsigned)v;
			break;
		default:
			printf("Usage: famez-load -S SOCKET [--peers N] [--vectors V] [--rounds R] "
			       "[--timeout S] [--others K] [--rss-of PID [--settle MS]] "
			       "join|bringup\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!arg_socket || optind != argc - 1) {
		fprintf(stderr, "famez-load: give -S SOCKET and 'join' or 'bringup'\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (strcmp(argv[optind], "join") == 0)
		return run_join();
	if (strcmp(argv[optind], "bringup") == 0)
		return run_bringup();
	fprintf(stderr, "famez-load: unknown measurement '%s'\n", argv[optind]);
	return 2;
}
