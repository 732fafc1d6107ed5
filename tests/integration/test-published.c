/* SPDX-License-Identifier: MIT */
/*
 * famezd against a FAME-Z peer written from FAME-Z's published layout and grammar alone (the
 * facts in SPEC.md, "FAME-Z as last published"), not from famez's own mailbox or message code:
 * the offsets are spelled out here, messages are built and taken apart with plain string
 * functions, and every message it sends carries FAME-Z's "!EZT=<n>" tracker. Only the ivshmem
 * socket protocol comes from the test library.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

/* The published layout: globals in slot 0, then one 512-byte slot per ID. */
enum {
	SLOT_SIZE = 512,
	G_SLOT_SIZE = 0,
	G_MSG_OFFSET = 8,
	G_CLIENTS = 16,
	G_VECTORS = 24,
	G_SERVER_ID = 32,
	S_NODENAME = 0,
	S_CCLASS = 32,
	S_MSG_LEN = 64,
	S_PEER_ID = 72,
	S_LAST_RESPONDER = 80,
	S_PEER_SID = 88,
	S_PEER_CID = 96,
	S_MSG = 128,
	MSG_MAX = 384, /* with the NUL */
};

#define CLIENTS 14
#define SERVER_ID (CLIENTS + 1)

static Famezd famezd;

typedef struct FzPeer {
	RawClient rc;
	uint8_t *mem;
	size_t size;
	unsigned id;
	unsigned tracker;
} FzPeer;

static uint64_t get64(const FzPeer *p, size_t offset)
{
	return __atomic_load_n((const uint64_t *)(p->mem + offset), __ATOMIC_ACQUIRE);
}

static void put64(FzPeer *p, size_t offset, uint64_t v)
{
	__atomic_store_n((uint64_t *)(p->mem + offset), v, __ATOMIC_RELEASE);
}

static size_t slot(unsigned id, size_t field)
{
	return (size_t)id * SLOT_SIZE + field;
}

/* Joins as FAME-Z's client does: the globals must be FAME-Z's, our slot must name us. */
static void fz_join(FzPeer *p, unsigned server_id, const char *cclass)
{
	char name[32];

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(raw_client_connect(&p->rc, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&p->rc, server_id, TESTLIB_WAIT_MS));
	p->mem = raw_client_map(&p->rc, &p->size);
	p->id = p->rc.state.own_id;
	ck_assert_uint_eq(get64(p, G_SLOT_SIZE), SLOT_SIZE);
	ck_assert_uint_eq(get64(p, G_MSG_OFFSET), S_MSG);
	ck_assert_uint_eq(get64(p, G_CLIENTS), server_id - 1);
	ck_assert_uint_eq(get64(p, G_VECTORS), server_id + 1);
	ck_assert_uint_eq(get64(p, G_SERVER_ID), server_id);
	ck_assert_uint_eq(get64(p, slot(p->id, S_PEER_ID)), p->id);
	snprintf(name, sizeof(name), "z%u", p->id);
	memset(p->mem + slot(p->id, S_NODENAME), 0, 64);
	strcpy((char *)p->mem + slot(p->id, S_NODENAME), name);
	strcpy((char *)p->mem + slot(p->id, S_CCLASS), cclass);
}

static void fz_leave(FzPeer *p)
{
	munmap(p->mem, p->size);
	raw_client_close(&p->rc);
}

/*
 * Sends text with a tracker: waits for our slot, rings dest. FAME-Z takes the slot back after
 * 1.05 s; we wait longer, as a slow machine may need: nothing here leaves a message of ours
 * unread on purpose, and taking the slot would lose it.
 */
static void fz_send(FzPeer *p, unsigned dest, const char *text)
{
	char buf[MSG_MAX];
	int n = snprintf(buf, sizeof(buf), "%s!EZT=%u", text, ++p->tracker);
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	ck_assert_int_lt(n, MSG_MAX);
	while (get64(p, slot(p->id, S_MSG_LEN)) != 0 && testlib_now_usec() < deadline)
		usleep(100);
	memcpy(p->mem + slot(p->id, S_MSG), buf, (size_t)n + 1);
	put64(p, slot(p->id, S_MSG_LEN), (uint64_t)n);
	raw_client_ring(&p->rc, (uint16_t)dest, p->id, 1);
}

/*
 * Waits for a message from `from`: a ring on our vector `from`, then its slot, which must name
 * it; acknowledges (our ID as last responder, the length back to 0) and cuts the tracker off.
 */
static void fz_receive(FzPeer *p, unsigned from, char out[MSG_MAX])
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000, len = 0;
	int fd = p->rc.state.self.fds[from];
	char *t;

	/* The ring first: the slot of a sender that talks to several peers is not all ours. */
	while (len == 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t count;

		ck_assert_msg(testlib_now_usec() < deadline, "nothing from %u", from);
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		ck_assert_int_eq(read(fd, &count, sizeof(count)), sizeof(count));
		/* A ring may cross our acknowledgment of the last message: then wait on. */
		len = get64(p, slot(from, S_MSG_LEN));
	}
	ck_assert_uint_eq(get64(p, slot(from, S_PEER_ID)), from);
	ck_assert_uint_lt(len, MSG_MAX);
	memcpy(out, p->mem + slot(from, S_MSG), len + 1);
	ck_assert_int_eq(out[len], '\0');
	put64(p, slot(from, S_LAST_RESPONDER), p->id);
	put64(p, slot(from, S_MSG_LEN), 0);
	t = strstr(out, "!EZT=");
	if (t)
		*t = '\0';
}

/* The value of key in a "K=V,K=V" list, in any order; NULL if absent. */
static const char *kv(const char *list, const char *key, char value[64])
{
	size_t klen = strlen(key);

	for (const char *s = list; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
		if (strncmp(s, key, klen) == 0 && s[klen] == '=') {
			size_t n = strcspn(s + klen + 1, ",");

			ck_assert_uint_lt(n, 64);
			memcpy(value, s + klen + 1, n);
			value[n] = '\0';
			return value;
		}
	}
	return NULL;
}

static unsigned long kv_number(const char *list, const char *key)
{
	char v[64];

	ck_assert_msg(kv(list, key, v), "no %s in \"%s\"", key, list);
	return strtoul(v, NULL, 10);
}

/* Expects the server's "Link CTL ACK ..." and returns its argument list in args. */
static void expect_prefix(FzPeer *p, const char *prefix, char args[MSG_MAX])
{
	char text[MSG_MAX];

	fz_receive(p, SERVER_ID, text);
	ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0, "expected %s..., got \"%s\"",
		      prefix, text);
	strcpy(args, text + strlen(prefix));
}

static void expect(FzPeer *p, const char *want)
{
	char text[MSG_MAX];

	fz_receive(p, SERVER_ID, text);
	ck_assert_str_eq(text, want);
}

START_TEST(test_handshake_ping_attributes_and_configuration)
{
	char args[MSG_MAX], text[MSG_MAX], cclass[64];
	unsigned long tag;
	FzPeer p;

	famezd_start(&famezd, NULL);
	fz_join(&p, SERVER_ID, "Debugger");

	/* The server's slot says who it is. */
	ck_assert_str_eq((char *)p.mem + slot(SERVER_ID, S_NODENAME), "Z-switch");
	ck_assert_str_eq((char *)p.mem + slot(SERVER_ID, S_CCLASS), "FabricSwitch");
	ck_assert_uint_eq(get64(&p, slot(SERVER_ID, S_PEER_SID)), 27);
	ck_assert_uint_eq(get64(&p, slot(SERVER_ID, S_PEER_CID)), 1500);

	/* It asked for our attributes when we joined: answered in the kernel driver's spelling. */
	expect(&p, "Link CTL Peer-Attribute");
	fz_send(&p, SERVER_ID, "Link CTL ACK C-Class=Debugger,SID0=0,CID0=0");

	fz_send(&p, SERVER_ID, "ping");
	expect(&p, "pong");
	/* Our slot was acknowledged by the server. */
	ck_assert_uint_eq(get64(&p, slot(p.id, S_LAST_RESPONDER)), SERVER_ID);
	ck_assert_uint_eq(get64(&p, slot(p.id, S_MSG_LEN)), 0);

	fz_send(&p, SERVER_ID, "Link CTL Peer-Attribute");
	expect_prefix(&p, "Link CTL ACK ", args);
	ck_assert_msg(kv(args, "cclass", cclass) || kv(args, "C-Class", cclass), "%s", args);
	ck_assert_str_eq(cclass, "FabricSwitch");
	ck_assert_uint_eq(kv_number(args, "CID0"), 1500);
	ck_assert_uint_eq(kv_number(args, "SID0"), 27);

	/* Ready for configuration; the server writes our IDs and tags its write. */
	ck_assert_uint_eq(get64(&p, slot(p.id, S_PEER_CID)), 0);
	fz_send(&p, SERVER_ID, "Link RFC TTC=27us");
	expect_prefix(&p, "CTL-Write ", args);
	ck_assert_uint_eq(kv_number(args, "Space"), 0);
	ck_assert_uint_eq(kv_number(args, "PFMCID"), 1500);
	ck_assert_uint_eq(kv_number(args, "PFMSID"), 27);
	ck_assert_uint_eq(kv_number(args, "CID"), p.id * 100);
	ck_assert_uint_eq(kv_number(args, "SID"), 27);
	tag = kv_number(args, "Tag");
	snprintf(text, sizeof(text), "Standalone Acknowledgment Tag=%lu,Reason=OK", tag);
	fz_send(&p, SERVER_ID, text);

	/* Configured: the server asks again what we are now, in the Python tools' spelling. */
	expect(&p, "Link CTL Peer-Attribute");
	snprintf(text, sizeof(text), "Link CTL ACK cclass=Debugger,CID0=%u,SID0=27", p.id * 100);
	fz_send(&p, SERVER_ID, text);
	/* As the fabric manager it wrote what it gave us into our slot (we did not). */
	ck_assert_uint_eq(get64(&p, slot(p.id, S_PEER_SID)), 27);
	ck_assert_uint_eq(get64(&p, slot(p.id, S_PEER_CID)), p.id * 100);

	fz_send(&p, SERVER_ID, "ping");
	expect(&p, "pong");
	fz_leave(&p);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "z1@1 is a Debugger (SID0 0, CID0 0)"));
	ck_assert(testlib_file_contains(famezd.log_path, "z1@1 configured: SID 27, CID 100"));
	ck_assert(testlib_file_contains(famezd.log_path, "z1@1 is a Debugger (SID0 27, CID0 100)"));
	ck_assert_msg(testlib_file_contains(famezd.log_path, " 0 protocol errors"), "%s",
		      testlib_show(famezd.log_path));
}
END_TEST

/* What famezd writes into slot 2 when its peer leaves, all of it, as `a` sees it. */
static bool departure_cleared(void *data)
{
	FzPeer *a = data;

	return a->mem[slot(2, S_NODENAME)] == 0 && a->mem[slot(2, S_CCLASS)] == 0 &&
	       get64(a, slot(2, S_PEER_SID)) == 0 && get64(a, slot(2, S_PEER_CID)) == 0 &&
	       get64(a, slot(2, S_PEER_ID)) == 2;
}

/* Two FAME-Z peers talk through their slots; the one that leaves is cleared for `who`. */
START_TEST(test_peers_talk_and_departures_are_cleared)
{
	char args[MSG_MAX], text[MSG_MAX];
	FzPeer a, b;

	famezd_start(&famezd, (const char *[]){ "--sid", "40", NULL });
	fz_join(&a, SERVER_ID, "Debugger");
	expect(&a, "Link CTL Peer-Attribute");
	fz_join(&b, SERVER_ID, "Bridge");
	ck_assert_uint_eq(get64(&a, slot(SERVER_ID, S_PEER_SID)), 40);

	fz_send(&b, a.id, "hello from b");
	fz_receive(&a, b.id, text);
	ck_assert_str_eq(text, "hello from b");
	ck_assert_uint_eq(get64(&b, slot(b.id, S_LAST_RESPONDER)), a.id);

	/* b is configured with --sid 40; a sees it in b's slot. */
	expect(&b, "Link CTL Peer-Attribute");
	fz_send(&b, SERVER_ID, "Link RFC TTC=27us");
	expect_prefix(&b, "CTL-Write ", args);
	ck_assert_uint_eq(kv_number(args, "SID"), 40);
	ck_assert_uint_eq(kv_number(args, "PFMSID"), 40);
	snprintf(text, sizeof(text), "Standalone Acknowledgment Tag=%lu,Reason=OK",
		 kv_number(args, "Tag"));
	fz_send(&b, SERVER_ID, text);
	expect(&b, "Link CTL Peer-Attribute");
	ck_assert_uint_eq(get64(&a, slot(b.id, S_PEER_SID)), 40);
	ck_assert_uint_eq(get64(&a, slot(b.id, S_PEER_CID)), b.id * 100);

	/*
	 * b leaves: its nodename, C-Class and IDs are cleared, its peer ID written back (all of
	 * it waited for: famezd writes one field after the other).
	 */
	fz_leave(&b);
	testlib_wait_until(departure_cleared, &a, TESTLIB_WAIT_MS, "b's slot was not cleared");
	ck_assert_uint_eq(a.mem[slot(2, S_NODENAME)], 0);
	ck_assert_uint_eq(a.mem[slot(2, S_CCLASS)], 0);
	ck_assert_uint_eq(get64(&a, slot(2, S_PEER_SID)), 0);
	ck_assert_uint_eq(get64(&a, slot(2, S_PEER_CID)), 0);
	ck_assert_uint_eq(get64(&a, slot(2, S_PEER_ID)), 2);
	fz_leave(&a);
	famezd_stop(&famezd);
}
END_TEST

/*
 * Beyond 39 client slots ID x 100 leaves 12 bits: every CID is ID x 16 instead, the server's
 * the largest. 200 slots: the server is ID 201, CID 3216; a peer's is its ID x 16.
 */
START_TEST(test_large_fabric_ids_fit_in_12_bits)
{
	char args[MSG_MAX], text[MSG_MAX];
	FzPeer p;

	famezd_start(&famezd, (const char *[]){ "--max-peers", "200", NULL });
	fz_join(&p, 201, "Debugger");
	ck_assert_uint_eq(get64(&p, slot(201, S_PEER_CID)), 201 * 16);
	fz_receive(&p, 201, text);
	ck_assert_str_eq(text, "Link CTL Peer-Attribute");
	fz_send(&p, 201, "Link CTL Peer-Attribute");
	fz_receive(&p, 201, text);
	ck_assert_msg(strncmp(text, "Link CTL ACK ", 13) == 0, "%s", text);
	ck_assert_uint_eq(kv_number(text + 13, "CID0"), 201 * 16);
	fz_send(&p, 201, "Link RFC TTC=27us");
	fz_receive(&p, 201, text);
	ck_assert_msg(strncmp(text, "CTL-Write ", 10) == 0, "%s", text);
	strcpy(args, text + 10);
	ck_assert_uint_eq(kv_number(args, "CID"), p.id * 16);
	ck_assert_uint_eq(kv_number(args, "PFMCID"), 201 * 16);
	ck_assert_uint_le(kv_number(args, "PFMCID"), 4095);
	fz_leave(&p);
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("published");
	TCase *tc = tcase_create("published");

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_handshake_ping_attributes_and_configuration);
	tcase_add_test(tc, test_peers_talk_and_departures_are_cleared);
	tcase_add_test(tc, test_large_fabric_ids_fit_in_12_bits);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
