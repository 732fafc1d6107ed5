/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/*
 * Ringing and reading the eventfds peers share, without ever blocking.
 *
 * Every peer holds the very open file descriptions famezd rings and reads, so a peer can fill a
 * counter to its maximum, read away a wake-up before we read it, or clear O_NONBLOCK on the
 * description. A plain write() then waits until someone reads the counter, and a plain read()
 * until someone rings it: the caller's event loop stops for as long as the peer likes.
 *
 * Reads therefore ask the kernel not to wait (RWF_NOWAIT), whatever the description's flags.
 * Rings go through a Linux AIO completion: the kernel signals the eventfd given as the
 * completion's result fd with eventfd_signal(), which saturates a full counter instead of
 * waiting, so a ring costs one io_submit() and cannot block. Where AIO cannot be set up (a
 * seccomp filter without @aio, an exhausted fs.aio-max-nr), rings fall back to write() with a
 * warning, and a peer that clears O_NONBLOCK can stall the caller again.
 */

/*
 * Adds one to the eventfd's counter. 0, -EAGAIN when the counter is already full (nothing is
 * lost: its reader has a wake-up pending anyway), or -errno. Asking costs a poll().
 */
int doorbell_ring(int fd);

/*
 * The same without asking: a full counter stays full (its reader has a wake-up pending; the
 * kernel saturates it at UINT64_MAX, which its reader's poll also sees as an error). One system
 * call where AIO works, for rings on a hot path; 0 or -errno.
 */
int doorbell_signal(int fd);

/* Whether the eventfd's counter is full (1), not (0), or -errno. */
int doorbell_full(int fd);

/*
 * Reads and resets the counter: 0 with *count, -EAGAIN when it is 0 (nothing rang, or somebody
 * else read it first), or -errno.
 */
int doorbell_take(int fd, uint64_t *count);
