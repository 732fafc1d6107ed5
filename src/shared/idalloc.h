/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Peer-ID policy of the ivshmem mode.
 *
 * QEMU 7.2 frees a peer's eventfd array when told that the peer left and never reallocates it,
 * so announcing that ID again to a QEMU that saw it leave makes QEMU write into freed memory.
 * IDs are therefore handed out monotonically (as QEMU's ivshmem-server does), and once they wrap
 * an ID is only given again when no connected peer has seen it leave, that is when every
 * connected peer joined after the ID's last departure.
 *
 * Joins and departures are numbered by one event sequence; the caller keeps its connected peers
 * in join order and passes the sequence number of the oldest one.
 */

#define IDALLOC_NO_PEERS UINT64_MAX

typedef enum IdPolicy {
	/* ivshmem mode: monotonic, never an ID a connected peer saw leave (see above). */
	IDALLOC_MONOTONIC,
	/*
	 * Fabric mode: the lowest free ID. Departures are never announced there (FAME-Z
	 * "recycling"), so no peer ever sees an ID leave and any free ID is safe.
	 */
	IDALLOC_LOWEST_FREE,
} IdPolicy;

typedef struct IdAllocator IdAllocator;

/* IDs first..last inclusive. 0 or -errno. */
int idalloc_new(IdAllocator **ret, uint32_t first, uint32_t last, IdPolicy policy);
IdAllocator *idalloc_free(IdAllocator *a);

/*
 * Takes the next ID that may be announced, given the join sequence number of the oldest
 * connected peer (IDALLOC_NO_PEERS when none). Returns the ID with *join_seq set to the new
 * peer's sequence number, or -ENOSPC when no ID may be given now.
 */
int idalloc_take(IdAllocator *a, uint64_t oldest_join_seq, uint64_t *join_seq);

/* Gives an ID back when its peer departs; announcing the departure makes the ID "seen". */
void idalloc_release(IdAllocator *a, uint32_t id);

/*
 * Parking (ivshmem mode). One peer that stays connected while others come and go would pin
 * every ID it saw leave: 65536 connections and closes beside it, and nobody could join. So
 * once fewer than a quarter of the IDs are left to give, a departure is no longer announced:
 * the ID is parked with its eventfds (data, the caller's), and a newcomer of the same uid takes
 * it back with them. The peers that knew the ID keep what they have, and only the ones that
 * joined while it was parked are told of it (those with a join sequence number above
 * *parked_at). A parked ID is never given out otherwise, and after a restart that lost the
 * parking lot it counts as a departure every peer connected then saw.
 */
/* Whether a departure now should be parked rather than announced. */
bool idalloc_should_park(IdAllocator *a, uint64_t oldest_join_seq);
/* Parks id (in use) with data for its next holder: 0, or -ENOSPC when the lot is full. */
int idalloc_park(IdAllocator *a, uint32_t id, uint32_t uid, void *data);
/*
 * Takes the ID parked longest by uid: returns it with *join_seq, *parked_at and *data set, or
 * -ENOENT when uid has none parked.
 */
int idalloc_take_parked(IdAllocator *a, uint32_t uid, uint64_t *join_seq, uint64_t *parked_at,
			void **data);
/* Empties the lot, handing each parked ID's data to f (at exit). */
void idalloc_clear_parked(IdAllocator *a, void (*f)(void *data, void *userdata), void *userdata);
uint32_t idalloc_parked(const IdAllocator *a);

bool idalloc_in_use(const IdAllocator *a, uint32_t id);

/* For saving and restoring the allocator across a restart (fdstore). */
void idalloc_get_cursor(const IdAllocator *a, uint32_t *next, uint64_t *seq);
void idalloc_set_cursor(IdAllocator *a, uint32_t next, uint64_t seq);
/* Marks id in use (taken by a restored peer) or records when it last departed. 0 or -EINVAL. */
int idalloc_restore_id(IdAllocator *a, uint32_t id, bool in_use, uint64_t departed_at);
/* After the restored departures: brings the count of IDs left to give up to date. 0 or -ENOMEM. */
int idalloc_restore_done(IdAllocator *a);
/*
 * The departures worth saving, as runs of consecutive IDs. A departure matters only through
 * which connected peers saw it (joined before it), so each is given as the join sequence number
 * + 1 of the newest connected peer that joined before it, and one that no connected peer saw is
 * left out. joins[] holds the connected peers' join sequence numbers in ascending order. Calls
 * f(from, to, seq, data) per run; an allocator restored from the runs (idalloc_restore_id(),
 * with the same cursor) hands out the same IDs as this one, and the runs stay few however many
 * peers came and went while the same ones stayed connected.
 */
typedef void (*IdRunFunc)(uint32_t from, uint32_t to, uint64_t seq, void *data);
void idalloc_departure_runs(const IdAllocator *a, const uint64_t *joins, size_t n_joins,
			    IdRunFunc f, void *data);
uint32_t idalloc_count(const IdAllocator *a);
