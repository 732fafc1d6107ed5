/* SPDX-License-Identifier: MIT */
/*
 * The client side of the protocol against whatever a server might send: each 9 bytes of input
 * are one message, an int64 and a flag saying whether an fd comes with it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "client-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	ClientState s;

	/* A copy of one open fd per message: the reader owns and closes what it gets. */
	if (null_fd < 0)
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	client_state_init(&s);
	for (size_t i = 0; i + 9 <= size; i += 9) {
		ClientEvent ev;
		int64_t value = wire_decode(data + i);
		int fd = (data[i + 8] & 1) ? fcntl(null_fd, F_DUPFD_CLOEXEC, 3) : -1;

		if (client_state_feed(&s, value, fd, &ev) < 0)
			break;
	}
	client_state_done(&s);
	return 0;
}
