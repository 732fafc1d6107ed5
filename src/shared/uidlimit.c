/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "macro.h"
#include "uidlimit.h"

#define UNIT 1000000ULL /* a token, in the bucket's units: a rate of r refills r units a µs */

typedef struct UidAccount {
	uid_t uid;
	unsigned peers, waiting;
	uint64_t tokens; /* in UNITs */
	uint64_t refilled_at;
} UidAccount;

/*
 * Accounts are few (one per local user that ever connected) and kept for good, so that
 * leaving and coming back never refills a bucket early: a list searched in order is enough.
 */
struct UidLimits {
	unsigned max_peers, rate;
	UidAccount *accounts;
	size_t n_accounts, cap;
};

int uid_limits_new(UidLimits **ret, unsigned max_peers, unsigned rate)
{
	UidLimits *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->max_peers = max_peers;
	l->rate = rate;
	*ret = l;
	return 0;
}

UidLimits *uid_limits_free(UidLimits *l)
{
	if (l) {
		free(l->accounts);
		free(l);
	}
	return NULL;
}

static UidAccount *find(const UidLimits *l, uid_t uid)
{
	for (size_t i = 0; i < l->n_accounts; i++)
		if (l->accounts[i].uid == uid)
			return &l->accounts[i];
	return NULL;
}

/* The account of uid, made with a full bucket on first use; NULL when out of memory. */
static UidAccount *account(UidLimits *l, uid_t uid, uint64_t now)
{
	UidAccount *a = find(l, uid);

	if (a)
		return a;
	if (grow_array(&l->accounts, &l->cap, l->n_accounts + 1, sizeof(*l->accounts)) < 0)
		return NULL;
	a = &l->accounts[l->n_accounts++];
	*a = (UidAccount){ .uid = uid, .tokens = (uint64_t)l->rate * UNIT, .refilled_at = now };
	return a;
}

/* rechecked: the newcomer was waiting (and no longer counts as such), in its turn. */
static UidVerdict judge(UidLimits *l, uid_t uid, uint64_t now, uint64_t *wait_usec, bool rechecked)
{
	uint64_t cap = (uint64_t)l->rate * UNIT;
	UidAccount *a;

	if (uid == 0)
		return UID_ADMIT;
	a = account(l, uid, now);
	if (!a)
		return UID_ADMIT; /* out of memory: do not hold a newcomer for bookkeeping */
	if (rechecked && a->waiting)
		a->waiting--;
	if (l->max_peers && a->peers + a->waiting >= l->max_peers)
		return UID_TOO_MANY;
	if (!l->rate)
		return UID_ADMIT;
	if (now > a->refilled_at) {
		a->tokens = MIN(cap, a->tokens + (now - a->refilled_at) * l->rate);
		a->refilled_at = now;
	}
	/* Who waits goes first: a newcomer does not overtake it. */
	if (a->tokens >= UNIT && (rechecked || a->waiting == 0)) {
		a->tokens -= UNIT;
		return UID_ADMIT;
	}
	if (a->waiting >= l->rate)
		return UID_TOO_FAST;
	a->waiting++;
	*wait_usec = a->tokens >= UNIT ? 1 : (UNIT - a->tokens + l->rate - 1) / l->rate;
	return UID_WAIT;
}

UidVerdict uid_limits_check(UidLimits *l, uid_t uid, uint64_t now, uint64_t *wait_usec)
{
	return judge(l, uid, now, wait_usec, false);
}

void uid_limits_gave_up(UidLimits *l, uid_t uid)
{
	UidAccount *a = find(l, uid);

	if (a && a->waiting)
		a->waiting--;
}

UidVerdict uid_limits_recheck(UidLimits *l, uid_t uid, uint64_t now, uint64_t *wait_usec)
{
	return judge(l, uid, now, wait_usec, true);
}

void uid_limits_joined(UidLimits *l, uid_t uid)
{
	UidAccount *a = uid == 0 ? NULL : account(l, uid, 0);

	if (a)
		a->peers++;
}

void uid_limits_left(UidLimits *l, uid_t uid)
{
	UidAccount *a = find(l, uid);

	if (a && a->peers)
		a->peers--;
}

unsigned uid_limits_peers(const UidLimits *l, uid_t uid)
{
	const UidAccount *a = find(l, uid);

	return a ? a->peers : 0;
}

unsigned uid_limits_waiting(const UidLimits *l, uid_t uid)
{
	const UidAccount *a = find(l, uid);

	return a ? a->waiting : 0;
}
