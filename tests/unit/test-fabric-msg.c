/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fabric-msg.h"
#include "testlib.h"

static FabricMsg m;

START_TEST(test_simple_words)
{
	ck_assert_int_eq(fabric_msg_parse("ping", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_PING);
	ck_assert_int_eq(fabric_msg_parse("pong", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_PONG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL Peer-Attribute", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_PEER_ATTRIBUTE);
	/* Close is not equal. */
	ck_assert_int_eq(fabric_msg_parse("ping ", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
	ck_assert_int_eq(fabric_msg_parse("PING", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
	ck_assert_int_eq(fabric_msg_parse("", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
}
END_TEST

/* FAME-Z appends "!EZT=<n>" to every message: it is cut off, and only a whole one is. */
START_TEST(test_tracker)
{
	ck_assert_int_eq(fabric_msg_parse("ping!EZT=17", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_PING);
	ck_assert_int_eq(fabric_msg_parse("Link CTL Peer-Attribute !EZT=3", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_PEER_ATTRIBUTE);
	ck_assert_int_eq(fabric_msg_parse("Link RFC TTC=27us!EZT=0", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_LINK_RFC);
	ck_assert_uint_eq(m.ttc_usec, 27);
	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Tag=4,Reason=OK!EZT=12", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_STANDALONE_ACK);
	ck_assert_uint_eq(m.tag, 4);
	ck_assert(m.reason_ok);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK cclass=Bridge,CID0=300,SID0=27!EZT=9", &m),
			 0);
	ck_assert_uint_eq(m.sid0, 27);
	/* Not a tracker: no number, something after it. */
	ck_assert_int_eq(fabric_msg_parse("ping!EZT=", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
	ck_assert_int_eq(fabric_msg_parse("ping!EZT=5x", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
	/* Only the last one goes. */
	ck_assert_int_eq(fabric_msg_parse("ping!EZT=1!EZT=2", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
}
END_TEST

START_TEST(test_nak_and_length)
{
	char text[FABRIC_TEXT_MAX + 1];

	ck_assert_int_eq(fabric_msg_parse("Link CTL NAK no such attribute", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_ATTRIBUTE_NAK);
	ck_assert_int_eq(fabric_msg_parse("Link CTL NAK", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_ATTRIBUTE_NAK);
	ck_assert_int_eq(fabric_msg_parse("Link CTL NAKED", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_UNKNOWN);
	/* FABRIC_TEXT_MAX - 1 characters are read, FABRIC_TEXT_MAX are not. */
	memset(text, 'x', sizeof(text));
	text[FABRIC_TEXT_MAX - 1] = '\0';
	ck_assert_int_eq(fabric_msg_parse(text, &m), 0);
	text[FABRIC_TEXT_MAX - 1] = 'x';
	text[FABRIC_TEXT_MAX] = '\0';
	ck_assert_int_eq(fabric_msg_parse(text, &m), -EMSGSIZE);
}
END_TEST

START_TEST(test_attribute_ack)
{
	/* FAME-Z's Python tools write cclass=, its kernel driver C-Class=; keys in any order. */
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK cclass=FabricSwitch,CID0=1500,SID0=27", &m),
			 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_ATTRIBUTE_ACK);
	ck_assert_str_eq(m.cclass, "FabricSwitch");
	ck_assert_uint_eq(m.sid0, 27);
	ck_assert_uint_eq(m.cid0, 1500);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK C-Class=Switch,SID0=27,CID0=1500", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_ATTRIBUTE_ACK);
	ck_assert_str_eq(m.cclass, "Switch");
	ck_assert_uint_eq(m.sid0, 27);
	ck_assert_uint_eq(m.cid0, 1500);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK SID0=5,CID0=6,cclass=Bridge", &m), 0);
	ck_assert_str_eq(m.cclass, "Bridge");
	ck_assert_uint_eq(m.sid0, 5);
	ck_assert_uint_eq(m.cid0, 6);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK CClass=Bridge", &m), -EBADMSG);
	/* Unknown attributes are ignored; C-Class alone is enough. */
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK Foo=bar,C-Class=Debugger", &m), 0);
	ck_assert_str_eq(m.cclass, "Debugger");
	ck_assert(!m.has_sid0);

	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK ", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK SID0=27", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK C-Class=Switch,SID0=x", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK C-Class=Sw itch", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK C-Class", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link CTL ACK =x", &m), -EBADMSG);
	/* A C-Class holds 31 characters: 30 and 31 are taken whole, 32 are refused. */
	for (size_t n = FABRIC_CCLASS_MAX - 2; n <= FABRIC_CCLASS_MAX; n++) {
		char text[96], cclass[FABRIC_CCLASS_MAX + 1];

		memset(cclass, 'A', n);
		cclass[n] = '\0';
		snprintf(text, sizeof(text), "Link CTL ACK C-Class=%s,SID0=27", cclass);
		if (n < FABRIC_CCLASS_MAX) {
			ck_assert_int_eq(fabric_msg_parse(text, &m), 0);
			ck_assert_str_eq(m.cclass, cclass);
		} else
			ck_assert_int_eq(fabric_msg_parse(text, &m), -EBADMSG);
	}
	ck_assert_int_eq(
		fabric_msg_parse("Link CTL ACK C-Class=Switch,SID0=99999999999999999999", &m),
		-EBADMSG);
}
END_TEST

START_TEST(test_rfc)
{
	ck_assert_int_eq(fabric_msg_parse("Link RFC TTC=27us", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_LINK_RFC);
	ck_assert_uint_eq(m.ttc_usec, 27);
	ck_assert_int_eq(fabric_msg_parse("Link RFC TTC=us", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link RFC TTC=27", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link RFC TTC=-1us", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Link RFC ", &m), -EBADMSG);
}
END_TEST

START_TEST(test_ctl_write_and_standalone_ack)
{
	ck_assert_int_eq(
		fabric_msg_parse("CTL-Write Space=0,PFMCID=1500,PFMSID=26,CID=300,SID=27,Tag=7",
				 &m),
		0);
	ck_assert_int_eq(m.type, FABRIC_MSG_CTL_WRITE);
	ck_assert_uint_eq(m.pfmcid, 1500);
	ck_assert_uint_eq(m.pfmsid, 26);
	ck_assert_uint_eq(m.cid, 300);
	ck_assert_uint_eq(m.sid, 27);
	ck_assert_uint_eq(m.tag, 7);
	ck_assert_int_eq(
		fabric_msg_parse("CTL-Write Tag=8,SID=27,CID=300,PFMSID=26,PFMCID=1500,Space=0",
				 &m),
		0);
	ck_assert_uint_eq(m.pfmsid, 26);
	ck_assert_uint_eq(m.tag, 8);
	ck_assert_int_eq(fabric_msg_parse("CTL-Write Space=0,SID=27", &m), -EBADMSG);

	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Tag=7,Reason=OK", &m), 0);
	ck_assert_int_eq(m.type, FABRIC_MSG_STANDALONE_ACK);
	ck_assert_uint_eq(m.tag, 7);
	ck_assert(m.reason_ok);
	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Tag=7,Reason=Busy", &m), 0);
	ck_assert(!m.reason_ok);
	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Reason=OK", &m), -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Tag=,Reason=OK", &m),
			 -EBADMSG);
	ck_assert_int_eq(fabric_msg_parse("Standalone Acknowledgment Tag=1,,", &m), -EBADMSG);
}
END_TEST

START_TEST(test_format_roundtrips)
{
	FabricMsg in[] = {
		{ .type = FABRIC_MSG_PING },
		{ .type = FABRIC_MSG_PONG },
		{ .type = FABRIC_MSG_PEER_ATTRIBUTE },
		{ .type = FABRIC_MSG_ATTRIBUTE_ACK, .cclass = "Switch", .sid0 = 27, .cid0 = 1500 },
		{ .type = FABRIC_MSG_LINK_RFC, .ttc_usec = 27 },
		{ .type = FABRIC_MSG_CTL_WRITE,
		  .space = 2,
		  .pfmsid = 26,
		  .pfmcid = 1500,
		  .sid = 25,
		  .cid = 300,
		  .tag = 9 },
		{ .type = FABRIC_MSG_STANDALONE_ACK, .tag = 9, .reason_ok = true },
		{ .type = FABRIC_MSG_ATTRIBUTE_NAK },
	};
	char buf[384];

	/* Every field comes back as it went (the has_ flags say which were present). */
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_gt(fabric_msg_format(&in[i], buf, sizeof(buf)), 0);
		ck_assert_int_eq(fabric_msg_parse(buf, &m), 0);
		ck_assert_int_eq(m.type, in[i].type);
		ck_assert_str_eq(m.cclass, in[i].cclass);
		ck_assert_uint_eq(m.sid0, in[i].sid0);
		ck_assert_uint_eq(m.cid0, in[i].cid0);
		ck_assert_uint_eq(m.ttc_usec, in[i].ttc_usec);
		ck_assert_uint_eq(m.space, in[i].space);
		ck_assert_uint_eq(m.pfmsid, in[i].pfmsid);
		ck_assert_uint_eq(m.pfmcid, in[i].pfmcid);
		ck_assert_uint_eq(m.sid, in[i].sid);
		ck_assert_uint_eq(m.cid, in[i].cid);
		ck_assert_uint_eq(m.tag, in[i].tag);
		ck_assert_int_eq(m.reason_ok, in[i].reason_ok);
	}
	ck_assert_int_gt(fabric_msg_format(&in[3], buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Link CTL ACK cclass=Switch,CID0=1500,SID0=27");
	ck_assert_int_gt(fabric_msg_format(&in[5], buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "CTL-Write Space=2,PFMCID=1500,PFMSID=26,CID=300,SID=25,Tag=9");
	ck_assert_int_gt(fabric_msg_format(&in[6], buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Standalone Acknowledgment Tag=9,Reason=OK");
	ck_assert_int_eq(fabric_msg_format(&in[5], buf, 10), -ENOSPC);
}
END_TEST

/* Every ID of every fabric size famezd allows has its own CID, and all fit in 12 bits. */
START_TEST(test_cids_are_valid_and_distinct)
{
	ck_assert_uint_eq(fabric_cid(15, 15), 1500); /* FAME-Z's, with its 14 clients */
	ck_assert_uint_eq(fabric_cid(15, 3), 300);
	ck_assert_uint_eq(fabric_cid(40, 40), 4000); /* 39 clients: still FAME-Z's rule */
	ck_assert_uint_eq(fabric_cid(41, 41), 656);  /* 40 clients: ID x 16 */
	ck_assert_uint_eq(fabric_cid(255, 255), 4080);
	for (unsigned server = 2; server <= 255; server++) {
		bool seen[FABRIC_CID_MAX + 1] = { false };

		for (unsigned id = 1; id <= server; id++) {
			uint64_t cid = fabric_cid(server, id);

			ck_assert_uint_le(cid, FABRIC_CID_MAX);
			ck_assert_msg(!seen[cid], "server %u: CID %" PRIu64 " twice", server, cid);
			seen[cid] = true;
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fabric-msg");
	TCase *tc = tcase_create("fabric-msg");

	tcase_add_test(tc, test_simple_words);
	tcase_add_test(tc, test_tracker);
	tcase_add_test(tc, test_nak_and_length);
	tcase_add_test(tc, test_attribute_ack);
	tcase_add_test(tc, test_rfc);
	tcase_add_test(tc, test_ctl_write_and_standalone_ack);
	tcase_add_test(tc, test_format_roundtrips);
	tcase_add_test(tc, test_cids_are_valid_and_distinct);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
