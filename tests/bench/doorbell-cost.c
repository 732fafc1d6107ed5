/* SPDX-License-Identifier: MIT */
/*
 * doorbell-cost: what a ring costs famezd, in one run: a plain write() to an eventfd (which a
 * peer can make wait forever) next to doorbell_ring() (which none can), and a plain read()
 * next to doorbell_take(). Rounds of N each, the best of 5, in ns per call.
 * Usage: doorbell-cost [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "doorbell.h"

typedef enum Kind { WRITE, RING, READ, TAKE } Kind;

static double per_call_nsec(int fd, Kind kind, long n)
{
	uint64_t one = 1, count;
	double best = 1e18;

	for (int round = 0; round < 5; round++) {
		struct timespec a, b;
		double ns;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++) {
			switch (kind) {
			case WRITE:
				(void)!write(fd, &one, sizeof(one));
				break;
			case RING:
				(void)doorbell_ring(fd);
				break;
			case READ:
				(void)!write(fd, &one, sizeof(one));
				(void)!read(fd, &count, sizeof(count));
				break;
			case TAKE:
				(void)!write(fd, &one, sizeof(one));
				(void)doorbell_take(fd, &count);
				break;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		(void)doorbell_take(fd, &count);
		ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
		     (double)n;
		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char *argv[])
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	double write_ns, ring_ns, read_ns, take_ns;

	if (fd < 0 || n <= 0)
		return 1;
	(void)doorbell_ring(fd); /* sets AIO up */
	write_ns = per_call_nsec(fd, WRITE, n);
	ring_ns = per_call_nsec(fd, RING, n);
	read_ns = per_call_nsec(fd, READ, n);
	take_ns = per_call_nsec(fd, TAKE, n);
	printf("calls %ld\n", n);
	printf("write_nsec %.0f\nring_nsec %.0f\nratio_ring_to_write %.2f\n", write_ns, ring_ns,
	       ring_ns / write_ns);
	/* A take is measured with the write that gives it something to read. */
	printf("write_read_nsec %.0f\nwrite_take_nsec %.0f\nratio_take_to_read %.2f\n", read_ns,
	       take_ns, (take_ns - write_ns) / (read_ns - write_ns));
	return 0;
}
