/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state-format.h"
#include "testlib.h"

/*
 * A state exactly as famezd wrote it before it stored the SID (the format strings of
 * write_state() at 5520686): fabric mode, departure runs, sixteen counters, attributes asked
 * and lost, and the queues of a graceful stop naming every kind of fd a queue carries.
 */
static const char fabric_state[] =
	"famez-state 1\n"
	"generation 7\n"
	"config fabric 16 14 4194304\n"
	"ids 3 9\n"
	"departed 3 3 2\n"
	"departed 5 7 4\n"
	"counters 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
	"next-tag 5\n"
	"peer 1 1 4242 1000 1001 1700000000000000 2\n"
	"fabric 1 Debugger 27 100 0 1 0 e 0 0 0 3 4 0\n"
	"queue 1 3 2 -\n"
	"queue 1 0 -1 shm\n"
	"peer 2 5 4243 1000 1000 1700000000000001 0\n"
	"fabric 2 - 0 0 5 0 3 6 0 0 8000000000000000 0 0 18446744073709551615\n"
	"queue 2 0 2 idvec-2-0\n"
	"queue 2 0 3 gone\n"
	"queue 2 0 4 decoy-1\n"
	"queue 2 0 5 vec-1-3\n"
	"end\n";

/* What famezd 0.1.0 wrote: one "departed ID SEQ" line per ID, eleven counters, "gone K". */
static const char old_state[] = "famez-state 1\n"
				"generation 2\n"
				"config ivshmem 4 65535 4194304\n"
				"ids 7 12\n"
				"departed 3 5\n"
				"departed 4 6\n"
				"counters 1 2 3 4 5 6 7 8 9 10 11\n"
				"peer 5 10 100 0 0 1 0\n"
				"fabric 5 - 0 0 0 0 1 0 0 0 0 0 0 0\n"
				"gone 1\n"
				"queue 5 0 3 gone-0\n"
				"queue 5 0 5 vec-5-0\n"
				"end\n";

static char *format(const SavedState *st)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(state_format(st, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static int parse(const char *text, SavedState *st)
{
	return state_parse(text, strlen(text), st);
}

START_TEST(test_parses_what_famezd_wrote)
{
	SavedState st;
	SavedPeer *p;
	char *again;

	ck_assert_int_eq(parse(fabric_state, &st), 0);
	ck_assert_uint_eq(st.generation, 7);
	ck_assert_str_eq(st.mode, "fabric");
	ck_assert_uint_eq(st.vectors, 16);
	ck_assert_uint_eq(st.max_peers, 14);
	ck_assert_uint_eq(st.shm_size, 4194304);
	ck_assert(!st.has_sid);
	ck_assert_uint_eq(st.next_id, 3);
	ck_assert_uint_eq(st.seq, 9);
	ck_assert_uint_eq(st.n_departed, 2);
	ck_assert_uint_eq(st.departed[1].from, 5);
	ck_assert_uint_eq(st.departed[1].to, 7);
	ck_assert_uint_eq(st.departed[1].seq, 4);
	for (unsigned i = 0; i < STATE_COUNTERS; i++)
		ck_assert_uint_eq(st.counters[i], i + 1);
	ck_assert(st.has_next_tag);
	ck_assert_uint_eq(st.next_tag, 5);
	ck_assert_uint_eq(st.n_peers, 2);

	p = saved_state_peer(&st, 1);
	ck_assert_ptr_eq(p, &st.peers[0]);
	ck_assert_uint_eq(p->join_seq, 1);
	ck_assert_int_eq(p->pid, 4242);
	ck_assert_uint_eq(p->uid, 1000);
	ck_assert_uint_eq(p->gid, 1001);
	ck_assert_uint_eq(p->connected_at, 1700000000000000);
	ck_assert_uint_eq(p->interrupts_sent, 2);
	ck_assert_str_eq(p->fabric.cclass, "Debugger");
	ck_assert_uint_eq(p->fabric.sid0, 27);
	ck_assert_uint_eq(p->fabric.cid0, 100);
	ck_assert(p->fabric.configured);
	ck_assert(!p->fabric.attributes_asked && !p->fabric.attributes_lost);
	ck_assert_uint_eq(p->fabric.known_ids[0], 0xe);
	ck_assert_uint_eq(p->fabric.messages_sent, 3);
	ck_assert_uint_eq(p->n_queue, 2);
	ck_assert_uint_eq(p->queue[0].head_sent, 3);
	ck_assert_int_eq(p->queue[0].value, 2);
	ck_assert_str_eq(p->queue[0].fd_name, "-");
	ck_assert_int_eq(p->queue[1].value, -1);

	p = saved_state_peer(&st, 2);
	ck_assert_str_eq(p->fabric.cclass, "");
	ck_assert_uint_eq(p->fabric.rfc_tag, 5);
	ck_assert(p->fabric.attributes_asked && p->fabric.attributes_lost);
	ck_assert_uint_eq(p->fabric.known_ids[3], 0x8000000000000000);
	ck_assert_uint_eq(p->fabric.messages_unacknowledged, UINT64_MAX);
	ck_assert_uint_eq(p->n_queue, 4);
	ck_assert_str_eq(p->queue[3].fd_name, "vec-1-3");
	ck_assert_ptr_null(saved_state_peer(&st, 3));

	/* Written again, it is the same text to the byte. */
	again = format(&st);
	ck_assert_str_eq(again, fabric_state);
	free(again);
	saved_state_done(&st);
}
END_TEST

START_TEST(test_parses_what_famezd_0_1_0_wrote)
{
	SavedState st;

	ck_assert_int_eq(parse(old_state, &st), 0);
	ck_assert_str_eq(st.mode, "ivshmem");
	ck_assert_uint_eq(st.max_peers, 65535);
	ck_assert(!st.has_next_tag);
	/* "departed ID SEQ" is a run of one. */
	ck_assert_uint_eq(st.n_departed, 2);
	ck_assert_uint_eq(st.departed[0].from, 3);
	ck_assert_uint_eq(st.departed[0].to, 3);
	ck_assert_uint_eq(st.departed[0].seq, 5);
	ck_assert_uint_eq(st.departed[1].from, 4);
	ck_assert_uint_eq(st.departed[1].seq, 6);
	/* Eleven counters; the rest stay 0. */
	ck_assert_uint_eq(st.counters[STATE_COUNTER_INTERRUPTS_RECEIVED], 11);
	ck_assert_uint_eq(st.counters[STATE_COUNTER_INTERRUPTS_FULL], 0);
	ck_assert_uint_eq(st.counters[STATE_COUNTER_ADMISSION_PAUSES], 0);
	/* Attributes 1: lost, not asked. */
	ck_assert(st.peers[0].fabric.attributes_lost);
	ck_assert(!st.peers[0].fabric.attributes_asked);
	ck_assert_uint_eq(st.peers[0].n_queue, 2);
	ck_assert_str_eq(st.peers[0].queue[0].fd_name, "gone-0");
	saved_state_done(&st);
}
END_TEST

START_TEST(test_round_trip)
{
	SavedState st = { 0 }, back;
	SavedPeer *p;
	char *text, *again;

	st.generation = UINT64_MAX;
	snprintf(st.mode, sizeof(st.mode), "fabric");
	st.vectors = 256;
	st.max_peers = 254;
	st.shm_size = UINT64_C(1) << 40;
	st.has_sid = true;
	st.sid = 65535;
	st.next_id = 12;
	st.seq = 99;
	ck_assert_int_eq(saved_state_add_departures(&st, 0, 0, 1), 0);
	ck_assert_int_eq(saved_state_add_departures(&st, 9, WIRE_ID_MAX, UINT64_MAX), 0);
	for (unsigned i = 0; i < STATE_COUNTERS; i++)
		st.counters[i] = UINT64_MAX - i;
	st.has_next_tag = true;
	st.next_tag = 77;
	for (unsigned id = 0; id < 300; id++) {
		ck_assert_int_eq(saved_state_add_peer(&st, WIRE_ID_MAX - id, &p), 0);
		p->join_seq = id;
		p->pid = -(int)id;
		p->uid = 4294967295u;
		p->gid = id;
		p->connected_at = id * 1000;
		p->interrupts_sent = id % 7;
		snprintf(p->fabric.cclass, sizeof(p->fabric.cclass), "%s",
			 id % 2 ? "FabricSwitch" : "");
		p->fabric.sid0 = 27;
		p->fabric.cid0 = id * 100;
		p->fabric.rfc_tag = id;
		p->fabric.configured = id % 3 == 0;
		p->fabric.attributes_asked = id % 4 == 1;
		p->fabric.attributes_lost = id % 5 == 1;
		p->fabric.known_ids[id % 4] = UINT64_MAX >> (id % 64);
		p->fabric.messages_sent = id + 1;
		p->fabric.messages_received = id + 2;
		p->fabric.messages_unacknowledged = id + 3;
		for (unsigned k = 0; k < id % 5; k++)
			ck_assert_int_eq(saved_peer_queue(p, INT64_MIN + k, k == 0 ? 5 : 0,
							  k % 2 ? "shm" : "idvec-3-1"),
					 0);
	}
	text = format(&st);
	ck_assert_int_eq(parse(text, &back), 0);
	ck_assert_uint_eq(back.n_peers, 300);
	ck_assert(back.has_sid);
	ck_assert_uint_eq(back.sid, 65535);
	ck_assert_uint_eq(back.departed[1].to, WIRE_ID_MAX);
	ck_assert_uint_eq(back.peers[299].id, WIRE_ID_MAX - 299);
	ck_assert_int_eq(back.peers[299].pid, -299);
	ck_assert_uint_eq(back.peers[299].uid, 4294967295u);
	ck_assert_str_eq(back.peers[299].fabric.cclass, "FabricSwitch");
	ck_assert_uint_eq(back.peers[299].n_queue, 4);
	ck_assert_int_eq(back.peers[299].queue[3].value, INT64_MIN + 3);
	ck_assert_str_eq(back.peers[299].queue[3].fd_name, "shm");
	ck_assert_uint_eq(back.peers[299].queue[0].head_sent, 5);
	ck_assert_mem_eq(st.counters, back.counters, sizeof(st.counters));
	/* Every field is on the text (test_parses_what_famezd_wrote): the same text, the same
	 * state. */
	again = format(&back);
	ck_assert_str_eq(again, text);
	/* A text without its final newline is the same state. */
	saved_state_done(&back);
	ck_assert_int_eq(state_parse(text, strlen(text) - 1, &back), 0);
	ck_assert_uint_eq(back.n_peers, 300);
	saved_state_done(&back);
	free(again);
	free(text);
	saved_state_done(&st);
}
END_TEST

START_TEST(test_the_sid_rides_on_the_config_line)
{
	SavedState st;
	char *text;

	ck_assert_int_eq(parse("famez-state 1\nconfig fabric 16 14 4194304 40\n"
			       "counters 0 0 0 0 0 0 0 0 0 0 0\nend\n",
			       &st),
			 0);
	ck_assert(st.has_sid);
	ck_assert_uint_eq(st.sid, 40);
	text = format(&st);
	ck_assert_ptr_nonnull(strstr(text, "\nconfig fabric 16 14 4194304 40\n"));
	free(text);
	saved_state_done(&st);
	/* Words a later famezd may add to a line are left alone. */
	ck_assert_int_eq(parse("famez-state 1\nconfig fabric 16 14 4194304 40 future\nend\n", &st),
			 0);
	saved_state_done(&st);
	ck_assert_int_eq(parse("famez-state 1\nconfig fabric 16 14 4194304 65536\nend\n", &st),
			 -EBADMSG);
}
END_TEST

/* A state that is refused, whole, with st left empty (valgrind sees what leaks). */
static void assert_refused(const char *text)
{
	SavedState st;

	memset(&st, 0x5a, sizeof(st));
	ck_assert_msg(parse(text, &st) == -EBADMSG, "accepted: %s", text);
	ck_assert_uint_eq(st.n_peers, 0);
	ck_assert_ptr_null(st.peers);
	ck_assert_ptr_null(st.peer_index);
	ck_assert_ptr_null(st.departed);
}

#define HEAD "famez-state 1\nconfig fabric 16 14 4194304\n"
#define PEER "peer 1 1 1 0 0 0 0\n"

START_TEST(test_hostile_states_are_refused)
{
	char *text;
	size_t len = strlen(fabric_state);
	SavedState st;

	/* What the refused ones below are made of is fine in itself. */
	ck_assert_int_eq(parse(HEAD PEER "end", &st), 0);
	saved_state_done(&st);
	/* Cut short anywhere: no "end", or not the magic. */
	for (size_t n = 0; n < len - 1; n++) {
		ck_assert_msg(state_parse(fabric_state, n, &st) == -EBADMSG, "cut at %zu", n);
		ck_assert_ptr_null(st.peers);
	}
	assert_refused("");
	assert_refused("famez-state 1\nend\n");
	assert_refused("famez-state 2\nconfig fabric 16 14 4194304\nend\n");
	assert_refused("famez-state 10\nconfig fabric 16 14 4194304\nend\n");
	assert_refused("end\n");
	assert_refused(HEAD PEER "en");
	assert_refused(HEAD "\nend\n");
	assert_refused(HEAD "end\npeer 1 1 1 0 0 0 0\n");
	assert_refused(HEAD "end extra\n");
	assert_refused(HEAD "bogus 1\nend\n");
	/* The same peer twice, IDs out of range, numbers that are not. */
	assert_refused(HEAD PEER PEER "end\n");
	assert_refused(HEAD "peer 65536 1 1 0 0 0 0\nend\n");
	assert_refused(HEAD "peer -1 1 1 0 0 0 0\nend\n");
	assert_refused(HEAD "peer 1 1 1 0 0 0\nend\n");
	assert_refused(HEAD "peer 1 1 2147483648 0 0 0 0\nend\n");
	assert_refused(HEAD "peer 1 18446744073709551616 1 0 0 0 0\nend\n");
	assert_refused(HEAD "peer 1 +1 1 0 0 0 0\nend\n");
	assert_refused(HEAD "peer 1 1x 1 0 0 0 0\nend\n");
	assert_refused(HEAD "departed 65536 1\nend\n");
	assert_refused(HEAD "departed 5 4 1\nend\n");
	assert_refused(HEAD "departed 1 65536 1\nend\n");
	assert_refused(HEAD "departed 1\nend\n");
	assert_refused(HEAD "ids 4294967296 1\nend\n");
	assert_refused(HEAD "counters 1 2 3 4 5 6 7 8 9 10\nend\n");
	assert_refused(HEAD "counters 1 2 3 4 5 6 7 8 9 10 -11\nend\n");
	assert_refused("famez-state 1\nconfig fabric 16 14\nend\n");
	assert_refused(HEAD "generation\nend\n");
	/* What a peer's lines name must be that peer: a queue or fabric line for an unknown one. */
	assert_refused(HEAD "queue 1 0 1 -\nend\n");
	assert_refused(HEAD PEER "queue 2 0 1 -\nend\n");
	assert_refused(HEAD "fabric 1 - 0 0 0 0 0 0 0 0 0 0 0 0\nend\n");
	assert_refused(HEAD PEER "fabric 1 - 0 0 0 2 0 0 0 0 0 0 0 0\nend\n");
	assert_refused(HEAD PEER "fabric 1 - 0 0 0 0 4 0 0 0 0 0 0 0\nend\n");
	assert_refused(HEAD PEER "fabric 1 - 0 0 0 0 0 0 0 0 g 0 0 0\nend\n");
	assert_refused(HEAD PEER "queue 1 0 9223372036854775808 -\nend\n");
	/* Overlong words and lines, and NUL bytes. */
	assert_refused("famez-state 1\nconfig fabricfabricfabric1 16 14 4194304\nend\n");
	assert_refused(HEAD PEER "fabric 1 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef 0 0 0 0 0 0 0 0 0 0 0 "
				 "0\nend\n");
	assert_refused(HEAD PEER "queue 1 0 1 "
				 "0123456789012345678901234567890123456789012345678901234567890123"
				 "\nend\n");
	assert_refused(HEAD "generation 000000000000000000000000000000000000001\nend\n");
	ck_assert_int_gt(asprintf(&text, HEAD "generation 1%*s\nend\n", STATE_LINE_MAX, ""), 0);
	assert_refused(text);
	free(text);
	ck_assert_int_eq(state_parse(HEAD "end\n\0", sizeof(HEAD "end\n\0") - 1, &st), -EBADMSG);
	ck_assert_int_eq(state_parse(HEAD "generation 1\0 2\nend\n",
				     sizeof(HEAD "generation 1\0 2\nend\n") - 1, &st),
			 -EBADMSG);
}
END_TEST

START_TEST(test_building_refuses_what_would_not_read_back)
{
	SavedState st = { 0 };
	SavedPeer *p;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	ck_assert_int_eq(saved_state_add_peer(&st, WIRE_ID_MAX + 1, &p), -EINVAL);
	ck_assert_int_eq(saved_state_add_peer(&st, 4, &p), 0);
	ck_assert_int_eq(saved_state_add_peer(&st, 4, &p), -EEXIST);
	ck_assert_int_eq(saved_peer_queue(p, 1, 0, ""), -EINVAL);
	ck_assert_int_eq(saved_peer_queue(p, 1, 0, "two words"), -EINVAL);
	ck_assert_int_eq(saved_state_add_departures(&st, 3, 2, 1), -EINVAL);
	ck_assert_int_eq(saved_state_add_departures(&st, 3, WIRE_ID_MAX + 1, 1), -EINVAL);

	f = open_memstream(&buf, &size);
	/* No mode, then a C-Class with a space in it. */
	ck_assert_int_eq(state_format(&st, f), -EINVAL);
	snprintf(st.mode, sizeof(st.mode), "fabric");
	snprintf(p->fabric.cclass, sizeof(p->fabric.cclass), "Fabric Switch");
	ck_assert_int_eq(state_format(&st, f), -EINVAL);
	fclose(f);
	free(buf);
	saved_state_done(&st);
}
END_TEST

static void assert_name(const char *sw, FdKind kind, unsigned id, unsigned sub, const char *want)
{
	char buf[FD_NAME_MAX], name[SWITCH_NAME_MAX + 1];
	FdKind k;
	unsigned i, s;

	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), sw, kind, id, sub), (int)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(fd_name_parse(buf, name, &k, &i, &s), 0);
	ck_assert_str_eq(name, sw ? sw : "");
	ck_assert_int_eq(k, kind);
	ck_assert_uint_eq(i, id);
	ck_assert_uint_eq(s, sub);
}

START_TEST(test_fd_names)
{
	const char *bad[] = { "",
			      "peer",
			      "peer-",
			      "peer-01",
			      "peer-65536",
			      "peer-1-2",
			      "peer-1x",
			      "peers-1",
			      "vec-1",
			      "vecs-1-2-3",
			      "idvec-1-65536",
			      "state-c",
			      "state-ab",
			      "state",
			      "shm-1",
			      "gone-",
			      "gone-x",
			      "decoy-",
			      "--",
			      "lab.decoy-1",
			      "lab.gone",
			      "lab.-",
			      ".peer-1",
			      "l-b.peer-1",
			      "lab.lab.peer-1",
			      "abcdefghijklmnopqrstuvwxyz0123456.peer-1",
			      "famez.socket",
			      "switch-lab",
			      "unknown" };
	char buf[FD_NAME_MAX], name[SWITCH_NAME_MAX + 1];
	FdKind kind;
	unsigned id, sub;

	/* The default switch's names are those every famezd before switches stored. */
	assert_name(NULL, FD_KIND_PEER, 3, 0, "peer-3");
	assert_name(NULL, FD_KIND_VECS, 65535, 1, "vecs-65535-1");
	assert_name(NULL, FD_KIND_IDVEC, 15, 16, "idvec-15-16");
	assert_name(NULL, FD_KIND_VEC, 0, 63, "vec-0-63");
	assert_name(NULL, FD_KIND_SHM, 0, 0, "shm");
	assert_name(NULL, FD_KIND_STATE, 0, 0, "state-a");
	assert_name(NULL, FD_KIND_STATE, 0, 1, "state-b");
	assert_name(NULL, FD_KIND_DECOY, 7, 0, "decoy-7");
	assert_name(NULL, FD_KIND_GONE, 0, 0, "gone");
	assert_name(NULL, FD_KIND_NONE, 0, 0, "-");
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), "", FD_KIND_PEER, 1, 0), 6);
	ck_assert_str_eq(buf, "peer-1");
	/* Another switch's carry its name. */
	assert_name("lab", FD_KIND_PEER, 3, 0, "lab.peer-3");
	assert_name("lab", FD_KIND_STATE, 0, 1, "lab.state-b");
	assert_name("lab_2", FD_KIND_SHM, 0, 0, "lab_2.shm");
	assert_name("abcdefghijklmnopqrstuvwxyz012345", FD_KIND_IDVEC, 65535, 65535,
		    "abcdefghijklmnopqrstuvwxyz012345.idvec-65535-65535");

	/* Earlier famezd's "gone-K". */
	ck_assert_int_eq(fd_name_parse("gone-12", name, &kind, &id, &sub), 0);
	ck_assert_int_eq(kind, FD_KIND_GONE);

	/* What famezd does not write. */
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), "lab", FD_KIND_DECOY, 1, 0), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), "lab.x", FD_KIND_PEER, 1, 0), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), NULL, FD_KIND_PEER, 65536, 0), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), NULL, FD_KIND_VEC, 1, 65536), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), NULL, FD_KIND_STATE, 0, 2), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, sizeof(buf), NULL, (FdKind)99, 0, 0), -EINVAL);
	ck_assert_int_eq(fd_name_format(buf, 6, NULL, FD_KIND_PEER, 10, 0), -ENAMETOOLONG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(fd_name_parse(bad[i], name, &kind, &id, &sub) == -EINVAL,
			      "accepted %s", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state-format");
	TCase *tc = tcase_create("state-format");

	tcase_add_test(tc, test_parses_what_famezd_wrote);
	tcase_add_test(tc, test_parses_what_famezd_0_1_0_wrote);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_the_sid_rides_on_the_config_line);
	tcase_add_test(tc, test_hostile_states_are_refused);
	tcase_add_test(tc, test_building_refuses_what_would_not_read_back);
	tcase_add_test(tc, test_fd_names);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
