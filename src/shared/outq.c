/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outq.h"
#include "wire.h"

static int outq_grow(OutQueue *q)
{
	size_t capacity = q->capacity ? q->capacity * 2 : 16;
	OutQueueEntry *items;

	if (capacity < q->capacity)
		return -ENOMEM;
	items = malloc(capacity * sizeof(*items));
	if (!items)
		return -ENOMEM;

	/* Unwrap the ring into the new array so the head is at index 0. */
	for (size_t i = 0; i < q->length; i++)
		items[i] = q->items[(q->head + i) & (q->capacity - 1)];
	free(q->items);
	q->items = items;
	q->capacity = capacity;
	q->head = 0;
	return 0;
}

int outq_push(OutQueue *q, int64_t value, FdRef *fd)
{
	if (q->length == q->capacity) {
		int r = outq_grow(q);
		if (r < 0)
			return r;
	}
	q->items[(q->head + q->length) & (q->capacity - 1)] = (OutQueueEntry){
		.value = value,
		.fd = fdref_ref(fd),
	};
	q->length++;
	q->n_fds += fd != NULL;
	return 0;
}

const OutQueueEntry *outq_peek(const OutQueue *q)
{
	return q->length ? &q->items[q->head] : NULL;
}

void outq_pop(OutQueue *q)
{
	if (!q->length)
		return;
	q->n_fds -= q->items[q->head].fd != NULL;
	fdref_unref(q->items[q->head].fd);
	q->head = (q->head + 1) & (q->capacity - 1);
	q->length--;
	q->head_sent = 0;
	/*
	 * Emptied: a ring grown for a burst (a newcomer's handshake holds 4 messages per peer and
	 * vector) is given back rather than kept for the peer's lifetime, one per peer.
	 */
	if (!q->length && q->capacity > OUTQ_KEEP) {
		free(q->items);
		q->items = NULL;
		q->capacity = 0;
		q->head = 0;
	}
}

void outq_clear(OutQueue *q)
{
	while (q->length)
		outq_pop(q);
	free(q->items);
	*q = OUTQ_INIT;
}

int outq_drain(OutQueue *q, int sockfd, uint64_t *n_sent)
{
	WireBatch batch;

	while (q->length) {
		ssize_t n;

		wire_batch_reset(&batch);
		for (size_t i = 0; i < q->length; i++) {
			const OutQueueEntry *e = outq_at(q, i);

			if (!wire_batch_add(&batch, e->value, e->fd ? e->fd->fd : -1,
					    i ? 0 : q->head_sent))
				break;
		}
		n = wire_batch_send(&batch, sockfd);
		if (n < 0)
			return (int)n;
		/* Bytes from the head message's start: whole messages, then the next one's part. */
		n += (ssize_t)q->head_sent;
		for (; n >= WIRE_MSG_SIZE; n -= WIRE_MSG_SIZE) {
			outq_pop(q);
			if (n_sent)
				(*n_sent)++;
		}
		q->head_sent = (size_t)n;
	}
	return 0;
}
