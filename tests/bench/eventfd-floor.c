/* SPDX-License-Identifier: MIT */
/*
 * eventfd-floor: the round trip of an eventfd ping-pong between two processes, each waiting in
 * epoll as famezd and famez-client do: the floor under any doorbell round trip on this machine.
 * Prints "floor_p50_usec N" and "floor_p99_usec N".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Waits in epoll for fd, then consumes its count. */
static void wait_ring(int ep, int fd)
{
	struct epoll_event ev;
	uint64_t count;

	while (epoll_wait(ep, &ev, 1, -1) != 1)
		;
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		exit(1);
}

static int watch(int fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char *argv[])
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	int ping = eventfd(0, EFD_CLOEXEC), pong = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1, *rtt = calloc(n, sizeof(*rtt));
	pid_t child;

	if (n == 0 || !rtt || ping < 0 || pong < 0)
		return 2;
	child = fork();
	if (child == 0) {
		int ep = watch(ping);

		for (unsigned i = 0; i < n + 10; i++) {
			wait_ring(ep, ping);
			if (write(pong, &one, sizeof(one)) != sizeof(one))
				_exit(1);
		}
		_exit(0);
	}
	{
		int ep = watch(pong);

		for (unsigned i = 0; i < n + 10; i++) {
			uint64_t start = now_nsec();

			if (write(ping, &one, sizeof(one)) != sizeof(one))
				return 1;
			wait_ring(ep, pong);
			if (i >= 10) /* warm-up */
				rtt[i - 10] = now_nsec() - start;
		}
	}
	waitpid(child, NULL, 0);
	qsort(rtt, n, sizeof(*rtt), compare);
	printf("floor_rounds %u\nfloor_p50_usec %.1f\nfloor_p99_usec %.1f\n", n,
	       rtt[n / 2] / 1000.0, rtt[(n * 99) / 100] / 1000.0);
	return 0;
}
