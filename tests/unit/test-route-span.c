/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>

#include "route-span.h"
#include "testlib.h"

#define N_PORTS 20
#define SIZE 4096

static RouteRow *row_new(void)
{
	RouteRow *row = calloc(1, sizeof(RouteRow) + SIZE * sizeof(RouteEntry));

	ck_assert_ptr_nonnull(row);
	return row;
}

static void set(RouteRow *row, unsigned index, unsigned egress, unsigned hops)
{
	row->entries[index] =
		(RouteEntry){ .egress = (uint16_t)egress, .hops = (uint8_t)hops, .valid = true };
}

/*
 * A switch of 14 clients (CIDs 100..1400 on ports 1..14) linked on port 16 to one whose CIDs are
 * 1600 + 16 * i (i = 1..7, hops 1), and beyond it on to a third (3200.., hops 2).
 */
static RouteRow *two_hops_away(void)
{
	RouteRow *row = row_new();

	for (unsigned id = 1; id <= 14; id++)
		set(row, id * 100, id, 0);
	for (unsigned i = 1; i <= 7; i++)
		set(row, 1600 + 16 * i, 16, 1);
	for (unsigned i = 1; i <= 7; i++)
		set(row, 3200 + 16 * i, 16, 2);
	return row;
}

START_TEST(test_spans_group_what_leaves_one_way)
{
	RouteRow *row = two_hops_away();
	RouteSpan span;
	unsigned index = 0, n = 0;

	/* Each client's CID alone (another port each), then each far switch's CIDs together. */
	while (route_span_next(row, SIZE, &index, &span)) {
		if (n < 14) {
			ck_assert_uint_eq(span.first, (n + 1) * 100);
			ck_assert_uint_eq(span.last, span.first);
			ck_assert_uint_eq(span.egress, n + 1);
			ck_assert_uint_eq(span.hops, 0);
		} else if (n == 14) {
			ck_assert_uint_eq(span.first, 1616);
			ck_assert_uint_eq(span.last, 1712);
			ck_assert_uint_eq(span.egress, 16);
			ck_assert_uint_eq(span.hops, 1);
		} else {
			ck_assert_uint_eq(n, 15);
			ck_assert_uint_eq(span.first, 3216);
			ck_assert_uint_eq(span.last, 3312);
			ck_assert_uint_eq(span.hops, 2);
		}
		n++;
	}
	ck_assert_uint_eq(n, 16);
	ck_assert_uint_eq(index, SIZE);
	/* Once at the end, it stays there. */
	ck_assert(!route_span_next(row, SIZE, &index, &span));
	free(row);
}
END_TEST

START_TEST(test_spans_of_edges_and_of_nothing)
{
	RouteRow *row = row_new();
	RouteSpan span;
	unsigned index = 0;

	ck_assert(!route_span_next(row, SIZE, &index, &span));
	ck_assert(!route_span_next(NULL, SIZE, &index, &span));
	/* The first and the last entry, the same way: one span over the whole row. */
	set(row, 0, 17, 3);
	set(row, SIZE - 1, 17, 3);
	index = 0;
	ck_assert(route_span_next(row, SIZE, &index, &span));
	ck_assert_uint_eq(span.first, 0);
	ck_assert_uint_eq(span.last, SIZE - 1);
	ck_assert(!route_span_next(row, SIZE, &index, &span));
	/* Another hop count in the middle splits it in three. */
	set(row, 7, 17, 2);
	index = 0;
	ck_assert(route_span_next(row, SIZE, &index, &span) && span.last == 0);
	ck_assert(route_span_next(row, SIZE, &index, &span) && span.first == 7 && span.last == 7);
	ck_assert(route_span_next(row, SIZE, &index, &span) && span.first == SIZE - 1);
	ck_assert(!route_span_next(row, SIZE, &index, &span));
	free(row);
}
END_TEST

START_TEST(test_rows_alike_shared_or_equal)
{
	RouteRow *lprt[N_PORTS] = { 0 }, *mprt[N_PORTS] = { 0 };
	SwitchRoutes r = {
		.n_ports = N_PORTS, .lprt_size = SIZE, .mprt_size = SIZE, .lprt = lprt, .mprt = mprt
	};
	RouteRow *shared = two_hops_away(), *copy = two_hops_away(), *other = two_hops_away();
	unsigned size = 0;

	for (unsigned p = 1; p < N_PORTS; p++)
		lprt[p] = shared;
	lprt[3] = copy;
	lprt[4] = other;
	set(other, 3216, 17, 2);
	/* An invalid entry is invalid whatever else it holds. */
	copy->entries[5].egress = 9;

	ck_assert(routes_rows_equal(&r, ROUTE_LPRT, 1, 2));
	ck_assert(routes_rows_equal(&r, ROUTE_LPRT, 1, 3));
	ck_assert(!routes_rows_equal(&r, ROUTE_LPRT, 1, 4));
	ck_assert(!routes_rows_equal(&r, ROUTE_LPRT, 0, 0));
	ck_assert(!routes_rows_equal(&r, ROUTE_LPRT, 1, N_PORTS));
	ck_assert(!routes_rows_equal(&r, ROUTE_MPRT, 1, 2));
	ck_assert_ptr_eq(routes_row(&r, ROUTE_LPRT, 4, &size), other);
	ck_assert_uint_eq(size, SIZE);
	ck_assert_ptr_null(routes_row(&r, ROUTE_LPRT, N_PORTS, &size));
	free(shared);
	free(copy);
	free(other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("route-span");
	TCase *tc = tcase_create("route-span");

	tcase_add_test(tc, test_spans_group_what_leaves_one_way);
	tcase_add_test(tc, test_spans_of_edges_and_of_nothing);
	tcase_add_test(tc, test_rows_alike_shared_or_equal);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
