/* SPDX-License-Identifier: MIT */
/*
 * What busybox cannot do to a famez_bridge device, for the guest tests: a read() of zero bytes
 * with a message waiting, and mmap() of the shared memory (an offset, a private mapping, past
 * the end, a mapping that outlives the device). Prints "famez-guest: " lines; built statically
 * by build-guest.sh.
 * Usage: bridge-check read-zero DEVICE | bridge-check mmap DEVICE PCI-ADDRESS
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/famez_bridge.h>

static sigjmp_buf on_sigbus_jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(on_sigbus_jump, 1);
}

static const char *outcome(const void *p)
{
	return p == MAP_FAILED ? strerror(errno) : "mapped";
}

/* A zero-length read() returns 0 and leaves the waiting message for the next read(). */
static int read_zero(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	if (poll(&p, 1, 120000) != 1) {
		printf("famez-guest: read-zero: no message came\n");
		return 1;
	}
	n = read(fd, buf, 0);
	printf("famez-guest: read-zero: read(0) returned %zd\n", n);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		printf("famez-guest: read-zero: then %s\n", strerror(errno));
	else
		printf("famez-guest: read-zero: then got %.*s\n", (int)n, buf);
	return 0;
}

static int map_checks(int fd, const char *pci)
{
	struct famez_bridge_info info;
	volatile unsigned char *all, *page;
	void *p;
	int unbind;

	if (ioctl(fd, FAMEZ_BRIDGE_IOC_INFO, &info) < 0) {
		printf("famez-guest: mmap: INFO failed: %s\n", strerror(errno));
		return 1;
	}
	all = mmap(NULL, info.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
	printf("famez-guest: mmap: whole %s, second page %s\n", outcome((void *)all),
	       outcome((void *)page));
	if (all == MAP_FAILED || page == MAP_FAILED)
		return 1;
	all[4096 + 7] = 0x5a;
	printf("famez-guest: mmap: the page at 4096 is %s\n",
	       page[7] == 0x5a ? "the same memory" : "other memory");
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("famez-guest: mmap: private %s\n", outcome(p));
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, (off_t)info.shm_size - 4096);
	printf("famez-guest: mmap: past the end %s\n", outcome(p));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)1 << 62);
	printf("famez-guest: mmap: offset 2^62 %s\n", outcome(p));

	/* The device goes while the mapping lives: its pages must go with it. */
	unbind = open("/sys/bus/pci/drivers/famez_bridge/unbind", O_WRONLY);
	if (unbind < 0 || write(unbind, pci, strlen(pci)) < 0) {
		printf("famez-guest: mmap: unbind failed: %s\n", strerror(errno));
		return 1;
	}
	close(unbind);
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(on_sigbus_jump, 1))
		printf("famez-guest: mmap: after unbind SIGBUS\n");
	else
		printf("famez-guest: mmap: after unbind read %u\n", all[4096 + 7]);
	return 0;
}

int main(int argc, char *argv[])
{
	int fd;

	if (argc < 3 || (strcmp(argv[1], "mmap") == 0 && argc < 4)) {
		fprintf(stderr, "usage: bridge-check read-zero DEVICE | mmap DEVICE PCI-ADDRESS\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		printf("famez-guest: %s: cannot open %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "read-zero") == 0)
		return read_zero(fd);
	return map_checks(fd, argv[3]);
}
