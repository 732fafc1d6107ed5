/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "idalloc.h"
#include "macro.h"

struct IdAllocator {
	IdPolicy policy;
	uint32_t first, last;
	uint32_t next; /* where the monotonic search resumes */
	uint32_t n_used;
	uint64_t seq;          /* last sequence number given to a join or a departure */
	bool *in_use;          /* indexed by id - first */
	uint64_t *departed_at; /* sequence number of the last departure, 0 if never */
	uint32_t highest;      /* the highest ID ever in use (first when none) */
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
	a->departed_at = calloc(n, sizeof(*a->departed_at));
	if (!a->in_use || !a->departed_at) {
		idalloc_free(a);
		return -ENOMEM;
	}
	a->policy = policy;
	a->first = first;
	a->last = last;
	a->next = first;
	a->highest = first;
	*ret = a;
	return 0;
}

IdAllocator *idalloc_free(IdAllocator *a)
{
	if (a) {
		free(a->in_use);
		free(a->departed_at);
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

		if (!a->in_use[i] && a->departed_at[i] < oldest_join_seq) {
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

void idalloc_release(IdAllocator *a, uint32_t id)
{
	uint32_t i;

	if (id < a->first || id > a->last)
		return;
	i = id - a->first;
	if (!a->in_use[i])
		return;
	a->in_use[i] = false;
	a->n_used--;
	a->departed_at[i] = ++a->seq;
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

uint32_t idalloc_count(const IdAllocator *a)
{
	return a->n_used;
}
