/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdref.h"

/*
 * A peer's outgoing message queue: protocol messages (value and optional fd) in the order they
 * must arrive. The event loop pushes, and drains while the socket accepts; a full socket leaves
 * the rest queued until EPOLLOUT. Nothing is ever dropped or reordered.
 */

typedef struct OutQueueEntry {
	int64_t value;
	FdRef *fd; /* a reference of the queue's own, or NULL */
} OutQueueEntry;

typedef struct OutQueue {
	OutQueueEntry *items; /* ring buffer, capacity a power of two */
	size_t capacity;
	size_t head;
	size_t length;
	size_t n_fds;     /* messages that carry an fd */
	size_t head_sent; /* bytes of the head message already on the socket */
} OutQueue;

#define OUTQ_INIT ((OutQueue){ 0 })
/* Entries an empty queue keeps room for; a larger ring is freed once it empties. */
#define OUTQ_KEEP 16

/* Appends a message; the queue takes a reference of its own on fd. 0 or -ENOMEM. */
int outq_push(OutQueue *q, int64_t value, FdRef *fd);

static inline size_t outq_length(const OutQueue *q)
{
	return q->length;
}

/* How many queued messages carry an fd: what the queue keeps open. */
static inline size_t outq_fds(const OutQueue *q)
{
	return q->n_fds;
}

static inline bool outq_is_empty(const OutQueue *q)
{
	return q->length == 0;
}

/* The i-th message from the oldest (i < outq_length(q)). */
static inline const OutQueueEntry *outq_at(const OutQueue *q, size_t i)
{
	return &q->items[(q->head + i) & (q->capacity - 1)];
}

/* The oldest message, or NULL when empty. */
const OutQueueEntry *outq_peek(const OutQueue *q);

/* Removes the oldest message and drops its fd reference. */
void outq_pop(OutQueue *q);

/* Empties the queue and frees its storage. */
void outq_clear(OutQueue *q);

/*
 * Sends queued messages on a non-blocking socket until the queue is empty (returns 0), the socket
 * is full (-EAGAIN) or sending fails (-errno). *n_sent counts whole messages sent.
 */
int outq_drain(OutQueue *q, int sockfd, uint64_t *n_sent);
