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

/* Fills msg to send bytes [offset, 8) of value, with fd attached to the first byte. */
static void prepare_piece(struct msghdr *msg, struct iovec *iov, uint8_t data[WIRE_MSG_SIZE],
			  struct cmsghdr *control, size_t control_len, int64_t value, int fd,
			  size_t offset)
{
	wire_encode(value, data);
	*iov = (struct iovec){ .iov_base = data + offset, .iov_len = WIRE_MSG_SIZE - offset };
	*msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1 };

	/* The fd travels with the first byte, so a partial send never carries it twice. */
	if (fd >= 0 && offset == 0) {
		memset(control, 0, control_len);
		msg->msg_control = control;
		msg->msg_controllen = control_len;
		control->cmsg_level = SOL_SOCKET;
		control->cmsg_type = SCM_RIGHTS;
		control->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(control), &fd, sizeof(int));
	}
}

static ssize_t send_piece(int sockfd, int64_t value, int fd, size_t offset, int flags)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} control;
	uint8_t data[WIRE_MSG_SIZE];
	struct iovec iov;
	struct msghdr msg;
	ssize_t n;

	if (offset >= WIRE_MSG_SIZE)
		return -EINVAL;
	prepare_piece(&msg, &iov, data, &control.hdr, sizeof(control.buf), value, fd, offset);
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

bool wire_batch_add(WireBatch *b, int64_t value, int fd, size_t offset)
{
	struct WireBatchMsg *m;

	if (b->n == WIRE_BATCH_MAX || offset >= WIRE_MSG_SIZE)
		return false;
	m = &b->msgs[b->n];
	prepare_piece(&b->headers[b->n].msg_hdr, &m->iov, m->data, &m->control.hdr,
		      sizeof(m->control.buf), value, fd, offset);
	b->n++;
	return true;
}

ssize_t wire_batch_send(WireBatch *b, int sockfd)
{
	ssize_t bytes = 0;
	int n;

	do
		n = sendmmsg(sockfd, b->headers, (unsigned)b->n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	for (int i = 0; i < n; i++) {
		/* A unix stream sends 8 bytes whole or not at all; should one not, say so. */
		if (b->headers[i].msg_len < b->msgs[i].iov.iov_len && i < n - 1)
			return -EPROTO;
		bytes += b->headers[i].msg_len;
	}
	return bytes;
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
