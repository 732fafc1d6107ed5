/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "idalloc.h"
#include "list.h"
#include "macro.h"

typedef struct Parked {
	struct Parked *prev, *next;
	uint32_t id, uid;
	void *data;
} Parked;

struct IdAllocator {
	IdPolicy policy;
	uint32_t first, last;
	uint32_t next; /* where the monotonic search resumes */
	uint32_t n_used;
	uint64_t seq;          /* last sequence number given to a join or a departure */
	bool *in_use;          /* indexed by id - first */
	bool *parked;          /* the same */
	uint64_t *departed_at; /* sequence number of the last departure (or parking), 0 if never */
	uint32_t highest;      /* the highest ID ever in use (first when none) */

	/*
	 * The sequence numbers of announced departures, oldest first, down to the first that
	 * some connected peer saw: each is an ID that may not be given for now.
	 */
	uint64_t *seen;
	size_t seen_head, n_seen, seen_cap; /* a ring, its capacity a power of two */
	Parked *parked_oldest, *parked_newest;
	uint32_t n_parked;
	uint32_t reserve; /* fewer IDs left to give than this: park departures */
};

int idalloc_new(IdAllocator **ret, uint32_t first, uint32_t last, IdPolicy policy)
{
	IdAllocator *a;
	size_t n;

	if (first > last)
		return -EINVAL;
	n = (size_t)last - first + 1;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->in_use = calloc(n, sizeof(*a->in_use));
	a->parked = calloc(n, sizeof(*a->parked));
	a->departed_at = calloc(n, sizeof(*a->departed_at));
	if (!a->in_use || !a->parked || !a->departed_at) {
		idalloc_free(a);
		return -ENOMEM;
	}
	a->policy = policy;
	a->first = first;
	a->last = last;
	a->next = first;
	a->highest = first;
	a->reserve = (uint32_t)(n / 4);
	*ret = a;
	return 0;
}

IdAllocator *idalloc_free(IdAllocator *a)
{
	if (a) {
		idalloc_clear_parked(a, NULL, NULL);
		free(a->in_use);
		free(a->parked);
		free(a->departed_at);
		free(a->seen);
		free(a);
	}
	return NULL;
}

int idalloc_take(IdAllocator *a, uint64_t oldest_join_seq, uint64_t *join_seq)
{
	uint64_t n = (uint64_t)a->last - a->first + 1;
	uint32_t id = a->policy == IDALLOC_LOWEST_FREE ? a->first : a->next;

	if (a->policy == IDALLOC_LOWEST_FREE)
		oldest_join_seq = IDALLOC_NO_PEERS;

	/*
	 * Until the IDs wrap once the first candidate is fresh, so a join costs O(1); afterwards
	 * the search skips IDs in use and IDs a connected peer saw leave.
	 */
	for (uint64_t tries = 0; tries < n; tries++) {
		uint32_t i = id - a->first;

		if (!a->in_use[i] && !a->parked[i] && a->departed_at[i] < oldest_join_seq) {
			a->in_use[i] = true;
			a->n_used++;
			a->highest = MAX(a->highest, id);
			a->next = id == a->last ? a->first : id + 1;
			*join_seq = ++a->seq;
			return (int)id;
		}
		id = id == a->last ? a->first : id + 1;
	}
	return -ENOSPC;
}

/* Appends an announced departure to the ring of those that may still have been seen. */
static void seen_push(IdAllocator *a, uint64_t seq)
{
	if (a->n_seen == a->seen_cap) {
		size_t cap = a->seen_cap ? a->seen_cap * 2 : 64;
		uint64_t *ring = malloc(cap * sizeof(*ring));

		/* Without room the count errs on the safe side: a departure fewer counted. */
		if (!ring)
			return;
		for (size_t i = 0; i < a->n_seen; i++)
			ring[i] = a->seen[(a->seen_head + i) & (a->seen_cap - 1)];
		free(a->seen);
		a->seen = ring;
		a->seen_cap = cap;
		a->seen_head = 0;
	}
	a->seen[(a->seen_head + a->n_seen) & (a->seen_cap - 1)] = seq;
	a->n_seen++;
}

static void release(IdAllocator *a, uint32_t i)
{
	a->in_use[i] = false;
	a->n_used--;
	a->departed_at[i] = ++a->seq;
}

void idalloc_release(IdAllocator *a, uint32_t id)
{
	uint32_t i;

	if (id < a->first || id > a->last)
		return;
	i = id - a->first;
	if (!a->in_use[i])
		return;
	release(a, i);
	if (a->policy == IDALLOC_MONOTONIC)
		seen_push(a, a->seq);
}

bool idalloc_should_park(IdAllocator *a, uint64_t oldest_join_seq)
{
	uint64_t n = (uint64_t)a->last - a->first + 1;

	if (a->policy != IDALLOC_MONOTONIC)
		return false;
	/* Departures before the oldest connected peer joined were seen by nobody connected. */
	while (a->n_seen && a->seen[a->seen_head] < oldest_join_seq) {
		a->seen_head = (a->seen_head + 1) & (a->seen_cap - 1);
		a->n_seen--;
	}
	return n - a->n_used - a->n_parked - a->n_seen < a->reserve;
}

int idalloc_park(IdAllocator *a, uint32_t id, uint32_t uid, void *data)
{
	Parked *e;
	uint32_t i;

	if (id < a->first || id > a->last || !a->in_use[id - a->first])
		return -EINVAL;
	if (a->n_parked >= a->reserve || !(e = calloc(1, sizeof(*e))))
		return -ENOSPC;
	i = id - a->first;
	/* Recorded as a departure too: should the lot be lost, the ID counts as seen leaving. */
	release(a, i);
	a->parked[i] = true;
	*e = (Parked){ .id = id, .uid = uid, .data = data };
	LIST_APPEND(a->parked_oldest, a->parked_newest, e, prev, next);
	a->n_parked++;
	return 0;
}

static void unpark(IdAllocator *a, Parked *e)
{
	LIST_UNLINK(a->parked_oldest, a->parked_newest, e, prev, next);
	a->parked[e->id - a->first] = false;
	a->n_parked--;
	free(e);
}

int idalloc_take_parked(IdAllocator *a, uint32_t uid, uint64_t *join_seq, uint64_t *parked_at,
			void **data)
{
	Parked *e = a->parked_oldest;
	uint32_t id, i;

	/* Few uids come and go in numbers: the first of them is near the front. */
	while (e && e->uid != uid)
		e = e->next;
	if (!e)
		return -ENOENT;
	id = e->id;
	i = id - a->first;
	*data = e->data;
	*parked_at = a->departed_at[i];
	unpark(a, e);
	a->in_use[i] = true;
	a->n_used++;
	*join_seq = ++a->seq;
	return (int)id;
}

void idalloc_clear_parked(IdAllocator *a, void (*f)(void *data, void *userdata), void *userdata)
{
	while (a->parked_oldest) {
		if (f)
			f(a->parked_oldest->data, userdata);
		unpark(a, a->parked_oldest);
	}
}

uint32_t idalloc_parked(const IdAllocator *a)
{
	return a->n_parked;
}

bool idalloc_in_use(const IdAllocator *a, uint32_t id)
{
	return id >= a->first && id <= a->last && a->in_use[id - a->first];
}

void idalloc_get_cursor(const IdAllocator *a, uint32_t *next, uint64_t *seq)
{
	*next = a->next;
	*seq = a->seq;
}

void idalloc_set_cursor(IdAllocator *a, uint32_t next, uint64_t seq)
{
	if (next >= a->first && next <= a->last)
		a->next = next;
	a->seq = seq;
}

int idalloc_restore_id(IdAllocator *a, uint32_t id, bool in_use, uint64_t departed_at)
{
	uint32_t i;

	if (id < a->first || id > a->last)
		return -EINVAL;
	i = id - a->first;
	if (in_use && !a->in_use[i])
		a->n_used++;
	else if (!in_use && a->in_use[i])
		a->n_used--;
	a->in_use[i] = in_use;
	a->departed_at[i] = departed_at;
	if (in_use || departed_at)
		a->highest = MAX(a->highest, id);
	return 0;
}

/* joins[] ascending: the join sequence number + 1 of the newest that is below departed_at. */
static uint64_t departure_class(const uint64_t *joins, size_t n, uint64_t departed_at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (joins[mid] < departed_at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? joins[lo - 1] + 1 : 0;
}

void idalloc_departure_runs(const IdAllocator *a, const uint64_t *joins, size_t n_joins,
			    IdRunFunc f, void *data)
{
	uint64_t run_class = 0;
	uint32_t run_from = 0;

	/* IDs above the highest ever used never departed; the extra step closes the last run. */
	for (uint64_t i = 0; i <= (uint64_t)a->highest - a->first + 1; i++) {
		uint64_t c = 0;

		if (i <= (uint64_t)a->highest - a->first && !a->in_use[i] && a->departed_at[i])
			c = departure_class(joins, n_joins, a->departed_at[i]);
		if (c == run_class)
			continue;
		if (run_class)
			f(run_from, a->first + (uint32_t)i - 1, run_class, data);
		run_class = c;
		run_from = a->first + (uint32_t)i;
	}
}

static int compare_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

int idalloc_restore_done(IdAllocator *a)
{
	uint64_t n = (uint64_t)a->last - a->first + 1;
	size_t cap = 64, count = 0;
	uint64_t *ring;

	if (a->policy != IDALLOC_MONOTONIC)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		count += !a->in_use[i] && a->departed_at[i];
	while (cap < count)
		cap *= 2;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	count = 0;
	for (uint64_t i = 0; i < n; i++)
		if (!a->in_use[i] && a->departed_at[i])
			ring[count++] = a->departed_at[i];
	qsort(ring, count, sizeof(*ring), compare_u64);
	free(a->seen);
	a->seen = ring;
	a->seen_cap = cap;
	a->seen_head = 0;
	a->n_seen = count;
	return 0;
}

uint32_t idalloc_count(const IdAllocator *a)
{
	return a->n_used;
}
