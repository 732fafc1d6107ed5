/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * One ivshmem protocol message: a signed 64-bit little-endian integer, sent with its own
 * sendmsg() and optionally carrying exactly one file descriptor (SCM_RIGHTS).
 */

#define WIRE_MSG_SIZE 8

/* The values the protocol gives a meaning of their own. */
#define WIRE_PROTOCOL_VERSION 0
#define WIRE_VERSION_REFUSED (-1) /* sent in place of the version to refuse a client */
#define WIRE_SHM_ID (-1)          /* the value that carries the shared-memory fd */
#define WIRE_ID_MAX 65535

void wire_encode(int64_t value, uint8_t out[WIRE_MSG_SIZE]);
int64_t wire_decode(const uint8_t in[WIRE_MSG_SIZE]);

/*
 * Sends bytes [offset, 8) of the encoding of value, with fd attached when offset is 0 and fd is
 * not negative. Non-blocking; never raises SIGPIPE. Returns the number of bytes sent or -errno
 * (-EAGAIN when the socket buffer is full).
 */
ssize_t wire_send(int sockfd, int64_t value, int fd, size_t offset);

/* Sends a whole message on a blocking socket; 0 or -errno. */
int wire_send_all(int sockfd, int64_t value, int fd);

/*
 * Messages for one socket sent with one system call (sendmmsg()), each still its own send with
 * its own fd, as the protocol wants: a newcomer's handshake costs one call instead of one per
 * peer and vector.
 */
#define WIRE_BATCH_MAX 128

typedef struct WireBatch {
	size_t n;
	struct WireBatchMsg {
		uint8_t data[WIRE_MSG_SIZE];
		struct iovec iov;
		union {
			struct cmsghdr hdr;
			uint8_t buf[CMSG_SPACE(sizeof(int))];
		} control;
	} msgs[WIRE_BATCH_MAX];
	struct mmsghdr headers[WIRE_BATCH_MAX];
} WireBatch;

/* Empties the batch (the messages' storage is reused as it is, not cleared). */
static inline void wire_batch_reset(WireBatch *b)
{
	b->n = 0;
}

/*
 * Adds bytes [offset, 8) of value's encoding, fd attached when offset is 0 and fd is not
 * negative, as wire_send() would send them. Returns false when the batch is full.
 */
bool wire_batch_add(WireBatch *b, int64_t value, int fd, size_t offset);

/*
 * Sends the batch on a non-blocking socket, never raising SIGPIPE. Returns the bytes sent (those
 * of the first messages, the last of them possibly in part), -errno when none could be (-EAGAIN
 * when the socket is full), or -EPROTO if a message went out in part and a later one whole: the
 * stream is broken.
 */
ssize_t wire_batch_send(WireBatch *b, int sockfd);

/* Reassembles messages from a stream that may deliver them in pieces. */
typedef struct WireReader {
	uint8_t buf[WIRE_MSG_SIZE];
	size_t have;
	int fd; /* the fd that arrived with the current message, or -1 */
} WireReader;

#define WIRE_READER_INIT ((WireReader){ .fd = -1 })

/*
 * Reads at most the rest of one message. Returns 1 with *value and *fd (-1 if none; the caller
 * owns it) when a message is complete, 0 when more bytes are needed (-EAGAIN on a non-blocking
 * socket is reported as 0), -EPIPE at end of stream, -EBADMSG if a message carried more than
 * one fd or a truncated control message, or another -errno.
 */
int wire_read(int sockfd, WireReader *r, int64_t *value, int *fd);

/* Drops a partially read message and its fd. */
void wire_reader_reset(WireReader *r);
