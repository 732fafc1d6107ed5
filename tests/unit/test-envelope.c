/* SPDX-License-Identifier: MIT */
/*
 * The routing envelope (envelope.h): its byte layout, round trips of every field, and what a
 * hostile peer can put in those 24 bytes. Reads and writes are checked to stay within bytes
 * 104..127 of a slot by placing the slot against inaccessible pages.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "envelope.h"
#include "fabric-msg.h"
#include "macro.h"
#include "mailbox.h"
#include "testlib.h"

static uint8_t slot[MAILBOX_SLOT_SIZE] __attribute__((aligned(8)));

/*
 * For the loops of many thousand checks: Check's own assertions report every check they pass
 * to the parent process, which costs seconds here.
 */
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                      \
	} while (0)

static void setup(void)
{
	memset(slot, 0xaa, sizeof(slot));
}

static bool same(const Envelope *a, const Envelope *b)
{
	return a->type == b->type && a->status == b->status && a->hops == b->hops &&
	       a->dest_cid == b->dest_cid && a->dest_sid == b->dest_sid &&
	       a->origin_cid == b->origin_cid && a->origin_sid == b->origin_sid;
}

/* A valid envelope with the bytes 104..127 of slot as envelope_write() makes them. */
static const Envelope sample = {
	.type = ENVELOPE_DELIVER,
	.status = ENVELOPE_STATUS_UNREACHABLE,
	.hops = 5,
	.dest_cid = 0x0123,
	.dest_sid = 0xbeef,
	.origin_cid = 0x0fed,
	.origin_sid = 0x1234,
};

START_TEST(test_layout)
{
	static const uint8_t expected[ENVELOPE_SIZE] = {
		'F',  'Z',  'E', '1',             /* magic at 104 */
		2,                                /* type at 108: deliver */
		3,                                /* status at 109: unreachable */
		5,                                /* hops at 110 */
		0,                                /* 111: the addressee, the mailbox's */
		0x23, 0x01,                       /* destination CID at 112, little-endian */
		0xef, 0xbe,                       /* destination SID at 114 */
		0xed, 0x0f,                       /* origin CID at 116 */
		0x34, 0x12,                       /* origin SID at 118 */
		0,    0,    0,   0,   0, 0, 0, 0, /* 120..127 */
	};

	ck_assert_uint_eq(ENVELOPE_OFFSET, 104);
	ck_assert_uint_eq(ENVELOPE_OFFSET + ENVELOPE_SIZE, MAILBOX_MSG_OFFSET);
	ck_assert_uint_eq(MAILBOX_SLOT_PEER_CID + 8, ENVELOPE_OFFSET);
	envelope_write(slot, &sample);
	ck_assert_mem_eq(slot + 104, expected, sizeof(expected));
	/* Nothing else of the slot is touched. */
	for (size_t i = 0; i < sizeof(slot); i++)
		if (i < 104 || i >= 128)
			ck_assert_msg(slot[i] == 0xaa, "byte %zu was written", i);

	/* The status byte alone. */
	envelope_set_status(slot, ENVELOPE_STATUS_HOP_LIMIT);
	ck_assert_uint_eq(slot[109], 4);
	slot[109] = 3;
	ck_assert_mem_eq(slot + 104, expected, sizeof(expected));

	/* Clearing zeroes the 24 bytes, and only those: no envelope then. */
	envelope_clear(slot);
	for (size_t i = 0; i < sizeof(slot); i++)
		ck_assert_uint_eq(slot[i], i >= 104 && i < 128 ? 0 : 0xaa);
}
END_TEST

START_TEST(test_round_trips)
{
	static const uint16_t cids[] = { 0, 1, 100, 1500, 0x800, 4094, 4095 };
	static const uint16_t sids[] = { 0, 1, 27, 28, 0x100, 0x8000, 65534, 65535 };
	Envelope e, back;

	for (EnvelopeType type = ENVELOPE_ROUTE; type <= ENVELOPE_DELIVER; type++)
		for (EnvelopeStatus status = 0; status < ENVELOPE_STATUS_MAX_; status++)
			for (unsigned hops = 0; hops <= ENVELOPE_HOPS_MAX; hops++) {
				e = (Envelope){
					.type = type,
					.status = status,
					.hops = (uint8_t)hops,
					.dest_cid = cids[hops % ELEMENTSOF(cids)],
					.dest_sid = sids[hops % ELEMENTSOF(sids)],
					.origin_cid = cids[(hops / 7) % ELEMENTSOF(cids)],
					.origin_sid = sids[(hops / 8) % ELEMENTSOF(sids)],
				};
				envelope_write(slot, &e);
				EXPECT(envelope_read(slot, &back) == 0);
				EXPECT(same(&e, &back));
				EXPECT(envelope_get_status(slot) == status);
			}

	/* Every CID and SID in each field. */
	for (unsigned v = 0; v <= 0xffff; v++) {
		e = (Envelope){ .type = ENVELOPE_ROUTE,
				.dest_cid = (uint16_t)(v & 0xfff),
				.dest_sid = (uint16_t)v,
				.origin_cid = (uint16_t)((v * 7) & 0xfff),
				.origin_sid = (uint16_t)~v };
		envelope_write(slot, &e);
		EXPECT(envelope_read(slot, &back) == 0);
		EXPECT(same(&e, &back));
	}
}
END_TEST

/* A directed envelope of n ports: 3, 5, 7, ... */
static Envelope directed(EnvelopeType type, EnvelopeStatus status, unsigned n)
{
	Envelope e = { .type = type, .status = status, .path_len = (uint8_t)n };

	for (unsigned i = 0; i < n; i++)
		e.path[i] = (uint8_t)(3 + 2 * i);
	return e;
}

static bool same_directed(const Envelope *a, const Envelope *b)
{
	return a->type == b->type && a->status == b->status && a->path_len == b->path_len &&
	       memcmp(a->path, b->path, a->path_len) == 0;
}

START_TEST(test_directed_layout)
{
	/* Ports 3 and 5: the path length where the hops were, the ports where the CIDs were. */
	static const uint8_t expected[ENVELOPE_SIZE] = {
		'F', 'Z', 'E', '1', /* magic at 104 */
		3,                  /* type at 108: directed */
		7,                  /* status at 109: relay-disabled */
		2,                  /* path length at 110 */
		0,                  /* 111: the addressee */
		3,   5,             /* the path at 112 */
		0,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* the rest of it */
	};
	Envelope e = directed(ENVELOPE_DIRECTED, ENVELOPE_STATUS_RELAY_DISABLED, 2);

	/* The routed fields are no part of it. */
	e.hops = 9;
	e.dest_cid = 0x123;
	e.dest_sid = 0x4567;
	e.origin_cid = 0x89;
	e.origin_sid = 0xabcd;
	e.path[2] = 0xff; /* beyond the length */
	envelope_write(slot, &e);
	ck_assert_mem_eq(slot + 104, expected, sizeof(expected));
	for (size_t i = 0; i < sizeof(slot); i++)
		if (i < 104 || i >= 128)
			ck_assert_msg(slot[i] == 0xaa, "byte %zu was written", i);
	ck_assert_int_eq(envelope_read(slot, &e), 0);
	ck_assert_int_eq(e.type, ENVELOPE_DIRECTED);
	ck_assert_int_eq(e.status, ENVELOPE_STATUS_RELAY_DISABLED);
	ck_assert_uint_eq(e.path_len, 2);
	ck_assert_uint_eq(e.path[0], 3);
	ck_assert_uint_eq(e.path[1], 5);
	ck_assert_uint_eq(e.path[2], 0);
	ck_assert_uint_eq(e.hops, 0);
	ck_assert_uint_eq(e.dest_cid, 0);
	ck_assert_uint_eq(e.dest_sid, 0);
	ck_assert_uint_eq(e.origin_cid, 0);
	ck_assert_uint_eq(e.origin_sid, 0);
	ck_assert(envelope_is_directed(&e));
	ck_assert_int_eq(envelope_get_status(slot), ENVELOPE_STATUS_RELAY_DISABLED);

	/* A path longer than an envelope holds is cut to its 16 ports. */
	e = directed(ENVELOPE_DIRECTED_DELIVER, ENVELOPE_STATUS_OK, ENVELOPE_PATH_MAX);
	e.path_len = 200;
	envelope_write(slot, &e);
	ck_assert_uint_eq(slot[110], ENVELOPE_PATH_MAX);
	ck_assert_uint_eq(slot[127], 3 + 2 * 15);
	ck_assert_int_eq(envelope_read(slot, &e), 0);
	ck_assert_uint_eq(e.path_len, ENVELOPE_PATH_MAX);
}
END_TEST

START_TEST(test_directed_round_trips)
{
	static const unsigned lengths[] = { 0, 1, 2, 15, ENVELOPE_PATH_MAX };
	Envelope e, back;

	for (EnvelopeType type = ENVELOPE_DIRECTED; type <= ENVELOPE_DIRECTED_DELIVER; type++)
		for (EnvelopeStatus status = 0; status < ENVELOPE_STATUS_MAX_; status++)
			for (size_t n = 0; n < ELEMENTSOF(lengths); n++) {
				e = directed(type, status, lengths[n]);
				memset(&back, 0x55, sizeof(back));
				envelope_write(slot, &e);
				EXPECT(envelope_read(slot, &back) == 0);
				EXPECT(same_directed(&e, &back));
				EXPECT(envelope_is_directed(&back));
				/* Nothing beyond the path, no routed fields. */
				for (unsigned i = lengths[n]; i < ENVELOPE_PATH_MAX; i++)
					EXPECT(back.path[i] == 0);
				EXPECT(back.hops == 0 && back.dest_cid == 0 && back.dest_sid == 0 &&
				       back.origin_cid == 0 && back.origin_sid == 0);
				EXPECT(envelope_get_status(slot) == status);
			}

	/* Every port value, at every place of a full path. */
	for (unsigned v = 0; v < 256; v++) {
		e = directed(ENVELOPE_DIRECTED, ENVELOPE_STATUS_PENDING, ENVELOPE_PATH_MAX);
		for (unsigned i = 0; i < ENVELOPE_PATH_MAX; i++)
			e.path[i] = (uint8_t)(v + i);
		envelope_write(slot, &e);
		EXPECT(envelope_read(slot, &back) == 0);
		EXPECT(same_directed(&e, &back));
	}
}
END_TEST

/* A directed envelope of n ports written, then byte offset set to value: envelope_read(). */
static int read_directed_with(unsigned n, size_t offset, uint8_t value)
{
	Envelope e = directed(ENVELOPE_DIRECTED, ENVELOPE_STATUS_PENDING, n);

	envelope_write(slot, &e);
	slot[offset] = value;
	return envelope_read(slot, &e);
}

START_TEST(test_directed_hostile_bytes)
{
	/* Path lengths: 0..16, nothing more. */
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_directed_with(0, 110, (uint8_t)v) ==
		       (v <= ENVELOPE_PATH_MAX ? 0 : -EBADMSG));
	ck_assert_int_eq(read_directed_with(ENVELOPE_PATH_MAX, 110, ENVELOPE_PATH_MAX + 1),
			 -EBADMSG);
	/* A byte beyond the path that is not 0, for every length. */
	for (unsigned n = 0; n < ENVELOPE_PATH_MAX; n++)
		for (size_t i = 112 + n; i < 128; i++) {
			EXPECT(read_directed_with(n, i, 1) == -EBADMSG);
			EXPECT(read_directed_with(n, i, 0x80) == -EBADMSG);
			EXPECT(read_directed_with(n, i, 0) == 0);
		}
	/* Within the path, any byte is a port. */
	for (size_t i = 112; i < 128; i++)
		EXPECT(read_directed_with(ENVELOPE_PATH_MAX, i, 0xff) == 0);
	/* Byte 111 is the addressee's, any value; a status out of range, the relay-disabled one. */
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_directed_with(4, 111, (uint8_t)v) == 0);
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_directed_with(4, 109, (uint8_t)v) ==
		       (v < ENVELOPE_STATUS_MAX_ ? 0 : -EBADMSG));
	ck_assert_int_eq(ENVELOPE_STATUS_RELAY_DISABLED, 7);
	ck_assert_int_eq(ENVELOPE_STATUS_MAX_, 8);
	ck_assert_int_eq(read_directed_with(4, 109, 7), 0);
	ck_assert_int_eq(read_directed_with(4, 109, 8), -EBADMSG);
	/* Types: both directed ones read the path; 0, and 5 on, are none. */
	for (unsigned v = 0; v < 256; v++)
		if (v != ENVELOPE_ROUTE && v != ENVELOPE_DELIVER)
			EXPECT(read_directed_with(4, 108, (uint8_t)v) ==
			       (v == ENVELOPE_DIRECTED || v == ENVELOPE_DIRECTED_DELIVER
					? 0
					: -EBADMSG));
}
END_TEST

/* sample written, then byte `offset` (104..127) set to value: what envelope_read() says. */
static int read_with(size_t offset, uint8_t value)
{
	Envelope e;

	envelope_write(slot, &sample);
	slot[offset] = value;
	return envelope_read(slot, &e);
}

START_TEST(test_hostile_bytes)
{
	Envelope e;

	/* A wrong magic is no envelope at all, whatever follows. */
	for (size_t i = 104; i < 108; i++)
		for (unsigned v = 0; v < 256; v++)
			if (v != (uint8_t)ENVELOPE_MAGIC[i - 104])
				EXPECT(read_with(i, (uint8_t)v) == -ENOMSG);
	ck_assert_int_eq(read_with(104, 'f'), -ENOMSG);

	/*
	 * Every type but route and deliver: as a directed one, the sample is a path of 5 ports
	 * with bytes after it that are not 0.
	 */
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_with(108, (uint8_t)v) ==
		       (v == ENVELOPE_ROUTE || v == ENVELOPE_DELIVER ? 0 : -EBADMSG));
	/* A status out of range. */
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_with(109, (uint8_t)v) == (v < ENVELOPE_STATUS_MAX_ ? 0 : -EBADMSG));
	/* More hops than a Gen-Z hop count holds. */
	for (unsigned v = 0; v < 256; v++)
		EXPECT(read_with(110, (uint8_t)v) == (v <= ENVELOPE_HOPS_MAX ? 0 : -EBADMSG));
	/* Reserved bytes that are not 0; byte 111 is the addressee's, not the envelope's. */
	for (unsigned v = 1; v < 256; v++) {
		EXPECT(read_with(111, (uint8_t)v) == 0);
		for (size_t i = 120; i < 128; i++)
			EXPECT(read_with(i, (uint8_t)v) == -EBADMSG);
	}
	/* CIDs over 12 bits, in either CID; SIDs take all 16. */
	for (unsigned v = 0; v < 256; v++) {
		EXPECT(read_with(113, (uint8_t)v) == (v <= 0x0f ? 0 : -EBADMSG));
		EXPECT(read_with(117, (uint8_t)v) == (v <= 0x0f ? 0 : -EBADMSG));
		EXPECT(read_with(115, (uint8_t)v) == 0);
		EXPECT(read_with(119, (uint8_t)v) == 0);
	}
	e = sample;
	e.dest_cid = FABRIC_CID_MAX + 1;
	envelope_write(slot, &e);
	ck_assert_int_eq(envelope_read(slot, &e), -EBADMSG);
	e = sample;
	e.origin_cid = 0xffff;
	envelope_write(slot, &e);
	ck_assert_int_eq(envelope_read(slot, &e), -EBADMSG);

	/* All 0xff: no magic. The magic then 0xff: every field out of range. */
	memset(slot + 104, 0xff, ENVELOPE_SIZE);
	ck_assert_int_eq(envelope_read(slot, &e), -ENOMSG);
	ck_assert_int_eq(envelope_get_status(slot), ENVELOPE_STATUS_MALFORMED);
	memcpy(slot + 104, ENVELOPE_MAGIC, 4);
	ck_assert_int_eq(envelope_read(slot, &e), -EBADMSG);
	/* All zeros: what a slot FAME-Z's tools wrote holds. */
	memset(slot + 104, 0, ENVELOPE_SIZE);
	ck_assert_int_eq(envelope_read(slot, &e), -ENOMSG);
	ck_assert_int_eq(envelope_get_status(slot), ENVELOPE_STATUS_PENDING);
}
END_TEST

START_TEST(test_status_of_garbage)
{
	for (unsigned v = 0; v < 256; v++) {
		memset(slot, (int)v, sizeof(slot));
		EXPECT(envelope_get_status(slot) ==
		       (v < ENVELOPE_STATUS_MAX_ ? (EnvelopeStatus)v : ENVELOPE_STATUS_MALFORMED));
	}
	/* Every status has a name, and so has anything else. */
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_PENDING), "pending");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_OK), "ok");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_NO_ROUTE), "no-route");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_UNREACHABLE), "unreachable");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_HOP_LIMIT), "hop-limit");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_NOT_CONFIGURED),
			 "not-configured");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_MALFORMED), "malformed");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_RELAY_DISABLED),
			 "relay-disabled");
	ck_assert_str_eq(envelope_status_to_string((EnvelopeStatus)7), "relay-disabled");
	ck_assert_str_eq(envelope_status_to_string(ENVELOPE_STATUS_MAX_), "malformed");
	ck_assert_str_eq(envelope_status_to_string((EnvelopeStatus)255), "malformed");
	ck_assert_str_eq(envelope_status_to_string((EnvelopeStatus)-1), "malformed");
}
END_TEST

/* xorshift64*: the same bytes on every run. */
static uint64_t random_state = 0x9e3779b97f4a7c15;

static uint64_t random_next(void)
{
	random_state ^= random_state >> 12;
	random_state ^= random_state << 25;
	random_state ^= random_state >> 27;
	return random_state * 0x2545f4914f6cdd1d;
}

/*
 * Three pages, the outer two inaccessible; *low is a slot whose byte 104 is the first of the
 * middle page (a read or write below faults), *high one whose byte 127 is its last.
 */
static uint8_t *guarded_pages(uint8_t **low, uint8_t **high)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p =
		mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(mprotect(p, page, PROT_NONE), 0);
	ck_assert_int_eq(mprotect(p + 2 * page, page, PROT_NONE), 0);
	*low = p + page - ENVELOPE_OFFSET;
	*high = p + 2 * page - (ENVELOPE_OFFSET + ENVELOPE_SIZE);
	return p;
}

/*
 * What was read back is exactly what write makes of it: an accepted envelope is one that
 * envelope_write() could have produced, byte for byte. What s held: 0 none, 1 a routed
 * envelope, 2 a directed one.
 */
static unsigned check_bytes(uint8_t *s, uint8_t *other)
{
	uint8_t before[ENVELOPE_SIZE];
	Envelope e;
	int r;

	memcpy(before, s + ENVELOPE_OFFSET, sizeof(before));
	r = envelope_read(s, &e);
	EXPECT(r == 0 || r == -ENOMSG || r == -EBADMSG);
	EXPECT(envelope_get_status(s) < ENVELOPE_STATUS_MAX_);
	/* Reading changes nothing. */
	EXPECT(memcmp(s + ENVELOPE_OFFSET, before, sizeof(before)) == 0);
	if (r != 0)
		return 0;
	EXPECT(e.type >= ENVELOPE_ROUTE && e.type <= ENVELOPE_DIRECTED_DELIVER);
	EXPECT(e.status < ENVELOPE_STATUS_MAX_);
	EXPECT(e.hops <= ENVELOPE_HOPS_MAX);
	EXPECT(e.path_len <= ENVELOPE_PATH_MAX);
	EXPECT(e.dest_cid <= FABRIC_CID_MAX && e.origin_cid <= FABRIC_CID_MAX);
	if (envelope_is_directed(&e)) {
		EXPECT(e.hops == 0 && e.dest_cid == 0 && e.dest_sid == 0 && e.origin_cid == 0 &&
		       e.origin_sid == 0);
		for (unsigned i = e.path_len; i < ENVELOPE_PATH_MAX; i++)
			EXPECT(e.path[i] == 0);
	} else
		EXPECT(e.path_len == 0);
	envelope_write(other, &e);
	/* But for byte 111, the addressee's, which the envelope leaves to the mailbox. */
	other[MAILBOX_SLOT_ADDRESSEE] = s[MAILBOX_SLOT_ADDRESSEE];
	EXPECT(memcmp(other + ENVELOPE_OFFSET, before, sizeof(before)) == 0);
	return envelope_is_directed(&e) ? 2 : 1;
}

START_TEST(test_random_bytes_stay_inside)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *low, *high, *pages = guarded_pages(&low, &high);
	unsigned accepted = 0, directed = 0;

	for (unsigned i = 0; i < 200000; i++) {
		uint8_t *s = i % 2 ? low : high, *other = i % 2 ? high : low;
		uint64_t r = random_next();

		for (size_t b = 0; b < ENVELOPE_SIZE; b += 8) {
			uint64_t v = random_next();

			memcpy(s + ENVELOPE_OFFSET + b, &v, 8);
		}
		switch (r % 4) {
		case 0: /* random bytes */
			break;
		case 1: /* behind the magic */
			memcpy(s + ENVELOPE_OFFSET, ENVELOPE_MAGIC, 4);
			break;
		default: { /* a valid envelope (routed or directed) with a byte or two changed, or
			      none */
			Envelope e = {
				.type = (EnvelopeType)(1 + (r >> 8) % 4),
				.status = (EnvelopeStatus)((r >> 16) % ENVELOPE_STATUS_MAX_),
				.hops = (uint8_t)((r >> 24) % (ENVELOPE_HOPS_MAX + 1)),
				.dest_cid = (uint16_t)((r >> 32) & 0xfff),
				.dest_sid = (uint16_t)(r >> 44),
				.origin_cid = (uint16_t)(random_next() & 0xfff),
				.origin_sid = (uint16_t)random_next(),
				.path_len = (uint8_t)((r >> 48) % (ENVELOPE_PATH_MAX + 1)),
			};

			for (unsigned p = 0; p < e.path_len; p++)
				e.path[p] = (uint8_t)random_next();
			envelope_write(s, &e);
			for (unsigned n = (unsigned)(r >> 60) % 3; n > 0; n--)
				s[ENVELOPE_OFFSET + random_next() % ENVELOPE_SIZE] ^=
					(uint8_t)(1u << (random_next() % 8));
			break;
		}
		}
		switch (check_bytes(s, other)) {
		case 2:
			directed++;
			/* fall through */
		case 1:
			accepted++;
			break;
		}
		/* Setting the status touches byte 109 alone, within the pages too. */
		envelope_set_status(s, (EnvelopeStatus)(r % ENVELOPE_STATUS_MAX_));
		envelope_clear(other);
	}
	/* The mix reached the accepting path often, and the rejecting paths too. */
	ck_assert_uint_gt(accepted, 20000);
	ck_assert_uint_lt(accepted, 150000);
	ck_assert_uint_gt(directed, 10000);
	ck_assert_uint_lt(directed, accepted - 10000);
	munmap(pages, 3 * page);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("envelope");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_round_trips);
	tcase_add_test(tc, test_directed_layout);
	tcase_add_test(tc, test_directed_round_trips);
	tcase_add_test(tc, test_directed_hostile_bytes);
	tcase_add_test(tc, test_hostile_bytes);
	tcase_add_test(tc, test_status_of_garbage);
	tcase_add_test(tc, test_random_bytes_stay_inside);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
