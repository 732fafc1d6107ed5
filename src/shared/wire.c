/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "wire.h"

void wire_encode(int64_t value, uint8_t out[WIRE_MSG_SIZE])
{
	uint64_t v = (uint64_t)value;

	for (size_t i = 0; i < WIRE_MSG_SIZE; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

int64_t wire_decode(const uint8_t in[WIRE_MSG_SIZE])
{
	uint64_t v = 0;

	for (size_t i = 0; i < WIRE_MSG_SIZE; i++)
		v |= (uint64_t)in[i] << (8 * i);
	return (int64_t)v;
}

static ssize_t send_piece(int sockfd, int64_t value, int fd, size_t offset, int flags)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} control;
	uint8_t data[WIRE_MSG_SIZE];
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (offset >= WIRE_MSG_SIZE)
		return -EINVAL;
	wire_encode(value, data);
	iov.iov_base = data + offset;
	iov.iov_len = WIRE_MSG_SIZE - offset;

	/* The fd travels with the first byte, so a partial send never carries it twice. */
	if (fd >= 0 && offset == 0) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}

	do
		n = sendmsg(sockfd, &msg, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	return n;
}

ssize_t wire_send(int sockfd, int64_t value, int fd, size_t offset)
{
	return send_piece(sockfd, value, fd, offset, MSG_DONTWAIT);
}

int wire_send_all(int sockfd, int64_t value, int fd)
{
	size_t offset = 0;

	while (offset < WIRE_MSG_SIZE) {
		ssize_t n = send_piece(sockfd, value, fd, offset, 0);

		if (n < 0)
			return (int)n;
		offset += (size_t)n;
	}
	return 0;
}

void wire_reader_reset(WireReader *r)
{
	r->have = 0;
	r->fd = safe_close(r->fd);
}

int wire_read(int sockfd, WireReader *r, int64_t *value, int *fd)
{
	union {
		struct cmsghdr hdr;
		/* Room for a few fds so that extra ones are received (and closed), not leaked. */
		uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
	} control;
	struct iovec iov = { .iov_base = r->buf + r->have, .iov_len = WIRE_MSG_SIZE - r->have };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	bool bad = false;
	ssize_t n;

	do
		n = recvmsg(sockfd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : negative_errno();

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfds;
		int fds[8];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
		for (size_t i = 0; i < nfds; i++) {
			if (r->fd < 0 && !bad)
				r->fd = fds[i];
			else {
				safe_close(fds[i]);
				bad = true;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		bad = true;
	if (bad) {
		wire_reader_reset(r);
		return -EBADMSG;
	}
	if (n == 0) {
		wire_reader_reset(r);
		return -EPIPE;
	}

	r->have += (size_t)n;
	if (r->have < WIRE_MSG_SIZE)
		return 0;

	*value = wire_decode(r->buf);
	*fd = r->fd;
	r->fd = -1;
	r->have = 0;
	return 1;
}
