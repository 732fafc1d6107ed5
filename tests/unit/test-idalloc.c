/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>

#include "idalloc.h"
#include "testlib.h"

static IdAllocator *a;

static void setup(void)
{
	ck_assert_int_eq(idalloc_new(&a, 0, 65535, IDALLOC_MONOTONIC), 0);
}

static void teardown(void)
{
	a = idalloc_free(a);
}

START_TEST(test_monotonic_from_zero)
{
	uint64_t seq, prev = 0;

	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, &seq), i);
		ck_assert_uint_gt(seq, prev);
		prev = seq;
	}
	ck_assert_uint_eq(idalloc_count(a), 10);
	ck_assert(idalloc_in_use(a, 9));
	ck_assert(!idalloc_in_use(a, 10));
}
END_TEST

START_TEST(test_released_ids_are_not_reused_before_wrap)
{
	uint64_t seq0, seq;

	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, &seq0), 0);
	ck_assert_int_eq(idalloc_take(a, seq0, &seq), 1);
	idalloc_release(a, 0);
	/* Even with nobody who saw it, the cursor moves on like ivshmem-server. */
	ck_assert_int_eq(idalloc_take(a, seq, &seq), 2);
}
END_TEST

/* Runs the cursor to the end of the range, leaving `keep` IDs connected. */
static void exhaust(uint64_t *keep_seq)
{
	uint64_t seq;

	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, keep_seq), 0); /* stays connected */
	for (int i = 1; i <= 65535; i++) {
		ck_assert_int_eq(idalloc_take(a, *keep_seq, &seq), i);
		idalloc_release(a, (uint32_t)i);
	}
}

START_TEST(test_wrap_skips_ids_a_connected_peer_saw_leave)
{
	uint64_t seq0, seq;

	/* Peer 0 stays connected and sees IDs 1..65535 come and go. */
	exhaust(&seq0);
	ck_assert_int_eq(idalloc_take(a, seq0, &seq), -ENOSPC);
	ck_assert_uint_eq(idalloc_count(a), 1);
}
END_TEST

START_TEST(test_wrap_reuses_ids_no_connected_peer_saw)
{
	uint64_t seq0, seq_new, seq;
	int id;

	exhaust(&seq0);
	/* Peer 0 leaves; a newcomer has seen nothing, so any free ID is safe for it. */
	idalloc_release(a, 0);
	id = idalloc_take(a, IDALLOC_NO_PEERS, &seq_new);
	ck_assert_int_ge(id, 0);
	/* Every ID that left before the newcomer joined is unseen by connected peers too. */
	ck_assert_int_ge(idalloc_take(a, seq_new, &seq), 0);
}
END_TEST

START_TEST(test_wrap_only_to_ids_departed_before_oldest_join)
{
	uint64_t seq0, seq_b, seq;
	int b;

	exhaust(&seq0);
	idalloc_release(a, 0);
	/* B joins after everything left, then C (ID x) comes and goes while B watches. */
	b = idalloc_take(a, IDALLOC_NO_PEERS, &seq_b);
	ck_assert_int_ge(b, 0);
	for (int i = 0; i < 65535; i++) {
		int x = idalloc_take(a, seq_b, &seq);

		ck_assert_int_ge(x, 0);
		ck_assert_int_ne(x, b);
		idalloc_release(a, (uint32_t)x);
	}
	/* All others were seen leaving by B now. */
	ck_assert_int_eq(idalloc_take(a, seq_b, &seq), -ENOSPC);
}
END_TEST

START_TEST(test_release_twice_and_out_of_range_are_harmless)
{
	uint64_t seq;

	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, &seq), 0);
	idalloc_release(a, 0);
	idalloc_release(a, 0);
	idalloc_release(a, 70000);
	ck_assert_uint_eq(idalloc_count(a), 0);
}
END_TEST

START_TEST(test_small_range)
{
	IdAllocator *b;
	uint64_t seq;

	ck_assert_int_eq(idalloc_new(&b, 5, 6, IDALLOC_MONOTONIC), 0);
	ck_assert_int_eq(idalloc_take(b, IDALLOC_NO_PEERS, &seq), 5);
	ck_assert_int_eq(idalloc_take(b, IDALLOC_NO_PEERS, &seq), 6);
	ck_assert_int_eq(idalloc_take(b, IDALLOC_NO_PEERS, &seq), -ENOSPC);
	ck_assert_int_eq(idalloc_new(&b, 7, 6, IDALLOC_MONOTONIC), -EINVAL);
	idalloc_free(b);
}
END_TEST

START_TEST(test_lowest_free_recycles)
{
	IdAllocator *b;
	uint64_t seq;

	ck_assert_int_eq(idalloc_new(&b, 1, 14, IDALLOC_LOWEST_FREE), 0);
	ck_assert_int_eq(idalloc_take(b, IDALLOC_NO_PEERS, &seq), 1);
	ck_assert_int_eq(idalloc_take(b, seq, &seq), 2);
	ck_assert_int_eq(idalloc_take(b, seq, &seq), 3);
	idalloc_release(b, 2);
	/* The same ID again at once, whoever is connected. */
	ck_assert_int_eq(idalloc_take(b, 1, &seq), 2);
	for (int i = 4; i <= 14; i++)
		ck_assert_int_eq(idalloc_take(b, 1, &seq), i);
	ck_assert_int_eq(idalloc_take(b, 1, &seq), -ENOSPC);
	idalloc_release(b, 9);
	ck_assert_int_eq(idalloc_take(b, 1, &seq), 9);
	idalloc_free(b);
}
END_TEST

typedef struct Runs {
	uint32_t from[64], to[64];
	uint64_t seq[64];
	size_t n;
} Runs;

static void collect_run(uint32_t from, uint32_t to, uint64_t seq, void *data)
{
	Runs *r = data;

	ck_assert_uint_lt(r->n, 64);
	r->from[r->n] = from;
	r->to[r->n] = to;
	r->seq[r->n++] = seq;
}

/* A connected set in join order, as famezd keeps it. */
typedef struct Connected {
	uint32_t id[16];
	uint64_t join[16];
	size_t n;
} Connected;

static uint64_t oldest(const Connected *c)
{
	return c->n ? c->join[0] : IDALLOC_NO_PEERS;
}

/* One step of a deterministic churn: join when rnd says so (or nobody is there), else leave. */
static void churn_step(IdAllocator *x, Connected *c, uint32_t rnd, int *taken)
{
	if ((rnd & 1) || c->n == 0) {
		uint64_t seq;

		*taken = idalloc_take(x, oldest(c), &seq);
		if (*taken >= 0 && c->n < 16) {
			c->id[c->n] = (uint32_t)*taken;
			c->join[c->n++] = seq;
		} else if (*taken >= 0) {
			idalloc_release(x, (uint32_t)*taken);
		}
	} else {
		size_t k = (rnd >> 1) % c->n;

		*taken = -1;
		idalloc_release(x, c->id[k]);
		for (; k + 1 < c->n; k++) {
			c->id[k] = c->id[k + 1];
			c->join[k] = c->join[k + 1];
		}
		c->n--;
	}
}

/* Restored from its runs, an allocator takes the same IDs as the original from then on. */
START_TEST(test_departure_runs_restore_the_same_decisions)
{
	IdAllocator *b, *small;
	Connected c = { 0 }, c2;
	uint32_t rnd = 12345, next;
	uint64_t seq;
	Runs r = { 0 };
	int x, y;

	ck_assert_int_eq(idalloc_new(&small, 0, 31, IDALLOC_MONOTONIC), 0);
	for (int i = 0; i < 500; i++) {
		rnd = rnd * 1103515245 + 12345;
		churn_step(small, &c, rnd >> 8, &x);
	}
	idalloc_departure_runs(small, c.join, c.n, collect_run, &r);

	ck_assert_int_eq(idalloc_new(&b, 0, 31, IDALLOC_MONOTONIC), 0);
	idalloc_get_cursor(small, &next, &seq);
	idalloc_set_cursor(b, next, seq);
	for (size_t i = 0; i < c.n; i++)
		ck_assert_int_eq(idalloc_restore_id(b, c.id[i], true, 0), 0);
	for (size_t i = 0; i < r.n; i++)
		for (uint32_t id = r.from[i]; id <= r.to[i]; id++)
			ck_assert_int_eq(idalloc_restore_id(b, id, false, r.seq[i]), 0);

	c2 = c;
	for (int i = 0; i < 500; i++) {
		rnd = rnd * 1103515245 + 12345;
		churn_step(small, &c, rnd >> 8, &x);
		churn_step(b, &c2, rnd >> 8, &y);
		ck_assert_int_eq(x, y);
	}
	idalloc_free(b);
	idalloc_free(small);
}
END_TEST

/* Thousands of peers coming and going past two that stay: one run. */
START_TEST(test_departure_runs_stay_few)
{
	uint64_t joins[2], seq;
	Runs r = { 0 };

	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, &joins[0]), 0);
	ck_assert_int_eq(idalloc_take(a, joins[0], &joins[1]), 1);
	for (int i = 2; i < 10002; i++) {
		ck_assert_int_eq(idalloc_take(a, joins[0], &seq), i);
		idalloc_release(a, (uint32_t)i);
	}
	idalloc_departure_runs(a, joins, 2, collect_run, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.from[0], 2);
	ck_assert_uint_eq(r.to[0], 10001);
	ck_assert_uint_eq(r.seq[0], joins[1] + 1);

	/* With nobody connected, no departure matters. */
	r.n = 0;
	idalloc_departure_runs(a, NULL, 0, collect_run, &r);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

/* As famezd departs a peer: parked while IDs run short, else released. */
static bool depart(IdAllocator *x, uint32_t id, uint32_t uid, uint64_t oldest_join, int *token)
{
	if (idalloc_should_park(x, oldest_join) && idalloc_park(x, id, uid, token) == 0)
		return true;
	idalloc_release(x, id);
	return false;
}

START_TEST(test_churn_beside_a_long_lived_peer_parks_rather_than_runs_out)
{
	uint64_t seq0, seq, parked_at;
	int token, id, parked = 0;
	void *data;

	/* Peer 0 stays while 200,000 others of uid 1000 come and go, one at a time. */
	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, &seq0), 0);
	for (int i = 0; i < 200000; i++) {
		id = idalloc_take_parked(a, 1000, &seq, &parked_at, &data);
		if (id >= 0)
			ck_assert_ptr_eq(data, &token);
		else
			id = idalloc_take(a, seq0, &seq);
		ck_assert_int_ge(id, 1);
		parked += depart(a, (uint32_t)id, 1000, seq0, &token);
	}
	/* Departures were announced until a quarter of the IDs were left, then parked. */
	ck_assert_int_ge(parked, 200000 - 65536);
	ck_assert_uint_eq(idalloc_parked(a), 1);
	/* Another uid still gets a fresh ID, from the quarter kept back. */
	id = idalloc_take_parked(a, 2000, &seq, &parked_at, &data);
	ck_assert_int_eq(id, -ENOENT);
	ck_assert_int_gt(idalloc_take(a, seq0, &seq), 0);
}
END_TEST

/*
 * Peer 0 joins and sees IDs leave until a quarter is left to give: 65536 - 49151 departures -
 * peer 0 - the one leaving = 16384, the last departure announced. The next one, of uid 1000
 * with token as its data, is parked: returns its ID.
 */
static int park_one(uint64_t *seq0, int *token)
{
	uint64_t seq;
	int x;

	ck_assert_int_eq(idalloc_take(a, IDALLOC_NO_PEERS, seq0), 0);
	for (int i = 1; i <= 49151; i++) {
		ck_assert_int_eq(idalloc_take(a, *seq0, &seq), i);
		ck_assert(!depart(a, (uint32_t)i, 1000, *seq0, token));
	}
	x = idalloc_take(a, *seq0, &seq);
	ck_assert(depart(a, (uint32_t)x, 1000, *seq0, token));
	ck_assert(!idalloc_in_use(a, (uint32_t)x));
	return x;
}

START_TEST(test_parked_ids_go_to_their_uid_only)
{
	uint64_t seq0, seq, parked_at, seq_b;
	int token, id, x = park_one(&seq0, &token);
	void *data;

	/* Nobody else gets it, not even with nobody who saw it connected. */
	for (int i = 0; i < 100; i++) {
		id = idalloc_take(a, IDALLOC_NO_PEERS, &seq_b);
		ck_assert_int_ne(id, x);
		idalloc_release(a, (uint32_t)id);
	}
	ck_assert_int_eq(idalloc_take_parked(a, 1001, &seq, &parked_at, &data), -ENOENT);
	/* Its uid does, and learns who knew it: everyone who joined before it was parked. */
	ck_assert_int_eq(idalloc_take_parked(a, 1000, &seq, &parked_at, &data), x);
	ck_assert_ptr_eq(data, &token);
	ck_assert_uint_gt(parked_at, seq0);
	ck_assert_uint_lt(parked_at, seq_b);
	ck_assert(idalloc_in_use(a, (uint32_t)x));
	ck_assert_uint_eq(idalloc_parked(a), 0);
}
END_TEST

static void count_cleared(void *data, void *userdata)
{
	(void)data;
	(*(int *)userdata)++;
}

/* The parking lot is not stored: after a restart its IDs count as seen leaving. */
START_TEST(test_parked_ids_restore_as_departures)
{
	IdAllocator *b;
	uint64_t seq0, seq, joins[1];
	uint32_t next;
	Runs r = { 0 };
	int token, x = park_one(&seq0, &token), cleared = 0;

	joins[0] = seq0;
	idalloc_departure_runs(a, joins, 1, collect_run, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.to[0], (uint32_t)x);

	ck_assert_int_eq(idalloc_new(&b, 0, 65535, IDALLOC_MONOTONIC), 0);
	idalloc_get_cursor(a, &next, &seq);
	idalloc_set_cursor(b, next, seq);
	ck_assert_int_eq(idalloc_restore_id(b, 0, true, 0), 0);
	for (uint32_t id = r.from[0]; id <= r.to[0]; id++)
		ck_assert_int_eq(idalloc_restore_id(b, id, false, r.seq[0]), 0);
	ck_assert_int_eq(idalloc_restore_done(b), 0);
	/* It knows how few IDs are left: the next departure is parked. */
	ck_assert(idalloc_should_park(b, seq0));
	idalloc_free(b);

	idalloc_clear_parked(a, count_cleared, &cleared);
	ck_assert_int_eq(cleared, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idalloc");
	TCase *tc = tcase_create("idalloc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_monotonic_from_zero);
	tcase_add_test(tc, test_released_ids_are_not_reused_before_wrap);
	tcase_add_test(tc, test_wrap_skips_ids_a_connected_peer_saw_leave);
	tcase_add_test(tc, test_wrap_reuses_ids_no_connected_peer_saw);
	tcase_add_test(tc, test_wrap_only_to_ids_departed_before_oldest_join);
	tcase_add_test(tc, test_release_twice_and_out_of_range_are_harmless);
	tcase_add_test(tc, test_small_range);
	tcase_add_test(tc, test_lowest_free_recycles);
	tcase_add_test(tc, test_departure_runs_restore_the_same_decisions);
	tcase_add_test(tc, test_departure_runs_stay_few);
	tcase_add_test(tc, test_churn_beside_a_long_lived_peer_parks_rather_than_runs_out);
	tcase_add_test(tc, test_parked_ids_go_to_their_uid_only);
	tcase_add_test(tc, test_parked_ids_restore_as_departures);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
