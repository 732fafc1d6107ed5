/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * A reference-counted file descriptor. A peer's eventfds are referenced by the peer itself and by
 * every queued message that will carry them, so a peer may leave while messages announcing it
 * still wait in slow readers' queues: the fd is closed when the last reference goes.
 */
typedef struct FdRef {
	int fd;
	unsigned n_ref;
	bool orphaned; /* its owner let go while queued messages still hold it */
} FdRef;

/* Takes ownership of fd (closed on failure too). NULL when out of memory. */
FdRef *fdref_new(int fd);
FdRef *fdref_ref(FdRef *ref);
/* Drops one reference; always returns NULL. */
FdRef *fdref_unref(FdRef *ref);
/*
 * Drops the owner's reference (a departing peer's, for its eventfds): when queued messages
 * still hold the fd, it counts as orphaned until they let go. Always returns NULL.
 */
FdRef *fdref_disown(FdRef *ref);
/* How many fds are held for queued messages alone (single-threaded callers). */
size_t fdref_orphaned(void);

static inline void fdref_unrefp(FdRef **ref)
{
	*ref = fdref_unref(*ref);
}
