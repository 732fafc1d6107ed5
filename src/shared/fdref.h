/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * A reference-counted file descriptor. A peer's eventfds are referenced by the peer itself and by
 * every queued message that will carry them, so a peer may leave while messages announcing it
 * still wait in slow readers' queues: the fd is closed when the last reference goes.
 */
typedef struct FdRef {
	int fd;
	unsigned n_ref;
} FdRef;

/* Takes ownership of fd (closed on failure too). NULL when out of memory. */
FdRef *fdref_new(int fd);
FdRef *fdref_ref(FdRef *ref);
/* Drops one reference; always returns NULL. */
FdRef *fdref_unref(FdRef *ref);
/* How many fds are held through FdRefs (single-threaded callers). */
size_t fdref_live(void);

static inline void fdref_unrefp(FdRef **ref)
{
	*ref = fdref_unref(*ref);
}
