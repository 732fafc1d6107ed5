/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "doorbell.h"
#include "log.h"
#include "macro.h"

/* Completions are reaped in batches; the ring holds twice a batch. */
#define AIO_BATCH 128
#define AIO_EVENTS (2 * AIO_BATCH)

/*
 * One AIO context per process, made on the first ring; single-threaded callers only. A poll of
 * an eventfd of our own that always reads 1 completes at once, and its completion rings the
 * target.
 */
static struct {
	bool tried;
	aio_context_t ctx;
	int ready_fd;
	unsigned unreaped;
} aio = { .ready_fd = -1 };

static bool aio_setup(void)
{
	if (aio.tried)
		return aio.ready_fd >= 0;
	aio.tried = true;
	if (syscall(SYS_io_setup, AIO_EVENTS, &aio.ctx) < 0) {
		log_warning_errno(errno,
				  "cannot set up AIO (%m): rings use write(), and a peer that "
				  "clears O_NONBLOCK on its eventfds can stall this process");
		return false;
	}
	aio.ready_fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (aio.ready_fd < 0) {
		log_warning_errno(errno, "cannot create an eventfd for AIO rings (%m): rings use "
					 "write()");
		(void)syscall(SYS_io_destroy, aio.ctx);
		return false;
	}
	return true;
}

static void aio_reap(void)
{
	struct io_event events[AIO_BATCH];
	struct timespec now = { 0 };
	long n;

	/* A zero timeout: only what has completed, which every ring has. */
	n = syscall(SYS_io_getevents, aio.ctx, 0, AIO_BATCH, events, &now);
	if (n > 0)
		aio.unreaped -= MIN((unsigned)n, aio.unreaped);
}

static int aio_ring(int fd)
{
	struct iocb cb = {
		.aio_lio_opcode = IOCB_CMD_POLL,
		.aio_fildes = (uint32_t)aio.ready_fd,
		.aio_buf = POLLIN,
		.aio_flags = IOCB_FLAG_RESFD,
		.aio_resfd = (uint32_t)fd,
	};
	struct iocb *cbs[] = { &cb };

	if (aio.unreaped >= AIO_BATCH)
		aio_reap();
	for (int attempt = 0; attempt < 2; attempt++) {
		if (syscall(SYS_io_submit, aio.ctx, 1, cbs) == 1) {
			aio.unreaped++;
			return 0;
		}
		if (errno != EAGAIN)
			return -errno;
		aio_reap(); /* the completion ring was full */
	}
	return -EAGAIN;
}

int doorbell_full(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	/* An eventfd is writable while one more ring fits in its counter. */
	if (poll(&p, 1, 0) < 0)
		return -errno;
	if (p.revents & POLLNVAL)
		return -EBADF;
	return !(p.revents & POLLOUT);
}

int doorbell_ring(int fd)
{
	/* A full counter only means its reader has not looked yet: say so rather than ring. */
	int r = doorbell_full(fd);
	uint64_t one = 1;

	if (r != 0)
		return r < 0 ? r : -EAGAIN;
	if (aio_setup())
		return aio_ring(fd);
	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return negative_errno();
	return 0;
}

int doorbell_signal(int fd)
{
	int r;

	if (aio_setup())
		return aio_ring(fd);
	/* write() would wait on a full counter if the peer cleared O_NONBLOCK: ring after a look.
	 */
	r = doorbell_ring(fd);
	return r == -EAGAIN ? 0 : r;
}

int doorbell_take(int fd, uint64_t *count)
{
	static bool nowait_unsupported;
	struct iovec iov = { .iov_base = count, .iov_len = sizeof(*count) };
	ssize_t n;

	if (!nowait_unsupported) {
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		if (n >= 0 || errno != EOPNOTSUPP)
			goto done;
		/* Kernels before 5.12 cannot read an eventfd without waiting on request. */
		nowait_unsupported = true;
		log_warning("this kernel cannot read eventfds with RWF_NOWAIT: a peer that clears "
			    "O_NONBLOCK on its eventfds can stall this process");
	}
	n = read(fd, count, sizeof(*count));
done:
	if (n < 0)
		return -errno;
	return n == sizeof(*count) ? 0 : -EIO;
}
