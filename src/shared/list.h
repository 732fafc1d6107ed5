/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Intrusive doubly linked lists kept by a head and a tail: `prev` and `next` name the links of
 * the item's struct (older/newer for lists in join order).
 */
#define LIST_APPEND(head, tail, item, prev, next)                                                  \
	do {                                                                                       \
		(item)->prev = (tail);                                                             \
		(item)->next = NULL;                                                               \
		if (tail)                                                                          \
			(tail)->next = (item);                                                     \
		else                                                                               \
			(head) = (item);                                                           \
		(tail) = (item);                                                                   \
	} while (0)

#define LIST_UNLINK(head, tail, item, prev, next)                                                  \
	do {                                                                                       \
		if ((item)->prev)                                                                  \
			(item)->prev->next = (item)->next;                                         \
		else                                                                               \
			(head) = (item)->next;                                                     \
		if ((item)->next)                                                                  \
			(item)->next->prev = (item)->prev;                                         \
		else                                                                               \
			(tail) = (item)->prev;                                                     \
	} while (0)
