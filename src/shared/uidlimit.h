/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/*
 * What one user may cost famezd: how many peers it has connected (or waiting to join), and how
 * fast it may join, as a token bucket per uid (`rate` joins a second, `rate` at once). A user
 * who joins faster waits rather than being refused, up to `rate` waiting newcomers. Root is
 * not limited: it can stop famezd anyway. Pure logic, no I/O; the caller keeps the waiting
 * connections.
 */

typedef struct UidLimits UidLimits;

typedef enum UidVerdict {
	UID_ADMIT,    /* join now (a token was taken) */
	UID_WAIT,     /* no token yet: ask again when *wait_usec have passed */
	UID_TOO_MANY, /* as many peers connected and waiting as --max-peers-per-uid allows */
	UID_TOO_FAST, /* as many newcomers waiting as may */
} UidVerdict;

/* max_peers: per uid (0: no limit); rate: joins per second per uid (0: no limit). */
int uid_limits_new(UidLimits **ret, unsigned max_peers, unsigned rate);
UidLimits *uid_limits_free(UidLimits *l);

/*
 * Judges a newcomer of uid at now_usec (CLOCK_MONOTONIC). A newcomer that gets UID_WAIT counts
 * as waiting from then on, until it is judged again (and so not counted twice) or gone.
 */
UidVerdict uid_limits_check(UidLimits *l, uid_t uid, uint64_t now_usec, uint64_t *wait_usec);
/* A waiting newcomer went away before it was judged again. */
void uid_limits_gave_up(UidLimits *l, uid_t uid);
/* The same newcomer is judged again: its wait ends whatever the answer. */
UidVerdict uid_limits_recheck(UidLimits *l, uid_t uid, uint64_t now_usec, uint64_t *wait_usec);

/* A peer of uid joined (however it was admitted, restored ones too) or left. */
void uid_limits_joined(UidLimits *l, uid_t uid);
void uid_limits_left(UidLimits *l, uid_t uid);

unsigned uid_limits_peers(const UidLimits *l, uid_t uid);
unsigned uid_limits_waiting(const UidLimits *l, uid_t uid);
