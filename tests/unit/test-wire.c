/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire.h"
#include "testlib.h"

START_TEST(test_encode_little_endian)
{
	uint8_t b[WIRE_MSG_SIZE];

	wire_encode(0x0102030405060708LL, b);
	ck_assert_uint_eq(b[0], 0x08);
	ck_assert_uint_eq(b[7], 0x01);
	wire_encode(-1, b);
	for (int i = 0; i < WIRE_MSG_SIZE; i++)
		ck_assert_uint_eq(b[i], 0xff);
	ck_assert_int_eq(wire_decode(b), -1);
}
END_TEST

START_TEST(test_roundtrip_values)
{
	const int64_t values[] = { 0, 1, 65535, -1, INT64_MAX, INT64_MIN, 0x1234 };
	uint8_t b[WIRE_MSG_SIZE];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		wire_encode(values[i], b);
		ck_assert_int_eq(wire_decode(b), values[i]);
	}
}
END_TEST

START_TEST(test_send_read_with_fd)
{
	int sv[2], efd, fd = -1;
	int64_t value = 0;
	WireReader r = WIRE_READER_INIT;
	struct stat a, b;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);

	ck_assert_int_eq(wire_send(sv[0], 42, efd, 0), WIRE_MSG_SIZE);
	ck_assert_int_eq(wire_send(sv[0], 7, -1, 0), WIRE_MSG_SIZE);

	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
	ck_assert_int_eq(value, 42);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(efd, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	/* The received fd is close-on-exec. */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* One message, one fd: the second message arrives without one. */
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
	ck_assert_int_eq(value, 7);
	ck_assert_int_eq(fd, -1);

	/* Nothing more yet; then end of stream. */
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 0);
	close(sv[0]);
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), -EPIPE);
	close(sv[1]);
	close(efd);
}
END_TEST

START_TEST(test_read_reassembles_pieces)
{
	int sv[2], fd = -1;
	int64_t value = 0;
	uint8_t b[WIRE_MSG_SIZE];
	WireReader r = WIRE_READER_INIT;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	wire_encode(-1234567, b);
	ck_assert_int_eq(write(sv[0], b, 3), 3);
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 0);
	ck_assert_int_eq(write(sv[0], b + 3, 5), 5);
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
	ck_assert_int_eq(value, -1234567);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* What a socket that was nearly full took of a message: its first four bytes, with the fd. */
static void send_first_half_with_fd(int sock, int64_t value, int fd)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	uint8_t data[WIRE_MSG_SIZE];
	struct iovec iov = { .iov_base = data, .iov_len = 4 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	wire_encode(value, data);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &msg, 0), 4);
}

START_TEST(test_partial_send_resumes_without_second_fd)
{
	int sv[2], efd, fd = -1, got = 0;
	int64_t value = 0;
	WireReader r = WIRE_READER_INIT;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	/*
	 * A socket that took only bytes 0..3 and the fd: the rest follows from offset 4, without
	 * the fd, and the reader gets one message with one fd.
	 */
	send_first_half_with_fd(sv[0], 99, efd);
	ck_assert_int_eq(wire_send(sv[0], 99, efd, 4), 4);
	ck_assert_int_eq(wire_send(sv[0], 99, efd, 8), -EINVAL);
	for (int tries = 0; tries < 4 && (got = wire_read(sv[1], &r, &value, &fd)) == 0; tries++)
		;
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(value, 99);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = -1;
	/* Nothing more came: no second fd hangs on the socket either. */
	ck_assert_int_eq(recv(sv[1], &value, sizeof(value), MSG_DONTWAIT), -1);
	close(sv[0]);
	close(sv[1]);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(wire_send_all(sv[0], 99, efd), 0);
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
	ck_assert_int_eq(value, 99);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(efd);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_two_fds_in_one_message_is_an_error)
{
	int sv[2], fds[2], fd = -1;
	int64_t value = 0;
	uint8_t data[WIRE_MSG_SIZE];
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(2 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	WireReader r = WIRE_READER_INIT;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fds[0] = eventfd(0, EFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC);
	wire_encode(5, data);
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ck_assert_int_eq(sendmsg(sv[0], &msg, 0), WIRE_MSG_SIZE);

	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), -EBADMSG);
	ck_assert_int_eq(r.fd, -1);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * A batch goes out in one call, each message still a send of its own: every fd arrives with its
 * own message, never with a neighbour's, and one started in part resumes without its fd.
 */
START_TEST(test_batch_keeps_each_fd_with_its_message)
{
	enum { N = 10 };
	int sv[2], efd[N], fd;
	int64_t value;
	uint64_t count;
	WireReader r = WIRE_READER_INIT;
	WireBatch *b = malloc(sizeof(*b));

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	wire_batch_reset(b);
	/* The first message from its fourth byte on, as after a partial send. */
	ck_assert(wire_batch_add(b, 1000, -1, 3));
	for (int i = 0; i < N; i++) {
		efd[i] = eventfd((unsigned)i + 1, EFD_CLOEXEC); /* each tells itself by its count */
		ck_assert(wire_batch_add(b, i, i % 2 ? efd[i] : -1, 0));
	}
	ck_assert_int_eq(wire_batch_send(b, sv[0]), WIRE_MSG_SIZE - 3 + N * WIRE_MSG_SIZE);

	/* The reader sees the tail of 1000 as the last 5 bytes of a message it has 3 of. */
	wire_encode(1000, r.buf);
	r.have = 3;
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
	ck_assert_int_eq(value, 1000);
	ck_assert_int_eq(fd, -1);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 1);
		ck_assert_int_eq(value, i);
		if (i % 2 == 0) {
			ck_assert_int_eq(fd, -1);
		} else {
			ck_assert_int_eq(read(fd, &count, sizeof(count)), sizeof(count));
			ck_assert_uint_eq(count, (uint64_t)i + 1);
			close(fd);
		}
		close(efd[i]);
	}
	ck_assert_int_eq(wire_read(sv[1], &r, &value, &fd), 0);

	/* Full: a batch never takes more than it holds. */
	wire_batch_reset(b);
	for (int i = 0; i < WIRE_BATCH_MAX; i++)
		ck_assert(wire_batch_add(b, i, -1, 0));
	ck_assert(!wire_batch_add(b, 0, -1, 0));
	/* Nothing sent to a peer gone; it says so. */
	close(sv[1]);
	ck_assert_int_eq(wire_batch_send(b, sv[0]), -EPIPE);
	close(sv[0]);
	free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, test_encode_little_endian);
	tcase_add_test(tc, test_roundtrip_values);
	tcase_add_test(tc, test_send_read_with_fd);
	tcase_add_test(tc, test_read_reassembles_pieces);
	tcase_add_test(tc, test_partial_send_resumes_without_second_fd);
	tcase_add_test(tc, test_two_fds_in_one_message_is_an_error);
	tcase_add_test(tc, test_batch_keeps_each_fd_with_its_message);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
