/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "control-msg.h"
#include "fabric-msg.h"
#include "mailbox.h"
#include "testlib.h"

static ControlMsg m;

/* Parses text, which must be malformed; checks the type and the tag (-1: none read). */
static void assert_malformed(const char *text, ControlMsgType type, int tag)
{
	ck_assert_msg(control_msg_parse(text, &m) == -EBADMSG, "\"%s\" parsed", text);
	ck_assert_msg(m.type == type, "\"%s\": type %d", text, (int)m.type);
	ck_assert_msg(m.has_tag == (tag >= 0), "\"%s\": has_tag %d", text, (int)m.has_tag);
	if (tag >= 0)
		ck_assert_msg(m.tag == tag, "\"%s\": tag %u", text, (unsigned)m.tag);
}

static void assert_none(const char *text)
{
	ck_assert_msg(control_msg_parse(text, &m) == 0, "\"%s\" malformed", text);
	ck_assert_msg(m.type == CONTROL_MSG_NONE, "\"%s\": type %d", text, (int)m.type);
	ck_assert(!m.has_tag);
}

static void assert_same(const ControlMsg *a, const ControlMsg *b)
{
	ck_assert_int_eq(a->type, b->type);
	ck_assert_uint_eq(a->tag, b->tag);
	ck_assert_uint_eq(a->offset, b->offset);
	ck_assert_uint_eq(a->length, b->length);
	if (a->type != CONTROL_MSG_READ)
		ck_assert_mem_eq(a->data, b->data, a->length);
	ck_assert_int_eq(a->reason, b->reason);
}

START_TEST(test_read)
{
	ck_assert_int_eq(control_msg_parse("CTL-Read Offset=0x1b0,Length=16,Tag=7", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ);
	ck_assert_uint_eq(m.offset, 0x1b0);
	ck_assert_uint_eq(m.length, 16);
	ck_assert_uint_eq(m.tag, 7);
	ck_assert(m.has_tag);
	/* The most it may ask, and the least: Length 0 is the component's to refuse. */
	ck_assert_int_eq(control_msg_parse("CTL-Read Offset=0xffffffffff,Length=128,Tag=4095", &m),
			 0);
	ck_assert_uint_eq(m.offset, CONTROL_OFFSET_MAX);
	ck_assert_uint_eq(m.length, CONTROL_DATA_MAX);
	ck_assert_uint_eq(m.tag, CONTROL_TAG_MAX);
	ck_assert_int_eq(control_msg_parse("CTL-Read Offset=0,Length=0,Tag=0", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ);
	ck_assert_uint_eq(m.length, 0);
	ck_assert(m.has_tag);
}
END_TEST

START_TEST(test_write)
{
	static const uint8_t data[] = { 1, 0, 0, 0, 0x64, 0, 0, 0 };

	ck_assert_int_eq(control_msg_parse("CTL-Write Offset=0xc0,Data=0100000064000000,Tag=8", &m),
			 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_WRITE);
	ck_assert_uint_eq(m.offset, 0xc0);
	ck_assert_uint_eq(m.length, sizeof(data));
	ck_assert_mem_eq(m.data, data, sizeof(data));
	ck_assert_uint_eq(m.tag, 8);
	/* Hex digits in either case. */
	ck_assert_int_eq(control_msg_parse("CTL-Write Offset=1,Data=aBcDeF,Tag=1", &m), 0);
	ck_assert_uint_eq(m.length, 3);
	ck_assert_mem_eq(m.data, "\xab\xcd\xef", 3);
}
END_TEST

START_TEST(test_read_response)
{
	ck_assert_int_eq(control_msg_parse("CTL-Read-Response Tag=7,Data=00ff10", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ_RESPONSE);
	ck_assert_uint_eq(m.tag, 7);
	ck_assert_uint_eq(m.length, 3);
	ck_assert_mem_eq(m.data, "\x00\xff\x10", 3);
}
END_TEST

START_TEST(test_ack)
{
	static const char *const names[] = { "OK",       "Malformed", "OutOfRange",
					     "ReadOnly", "TagReused", "Unsupported" };
	char text[128];

	for (unsigned r = 0; r < CONTROL_REASON_MAX_; r++) {
		snprintf(text, sizeof(text), "Standalone Acknowledgment Tag=%u,Reason=%s", r + 1,
			 names[r]);
		ck_assert_int_eq(control_msg_parse(text, &m), 0);
		ck_assert_int_eq(m.type, CONTROL_MSG_ACK);
		ck_assert_uint_eq(m.tag, r + 1);
		ck_assert_int_eq(m.reason, r);
		ck_assert_str_eq(control_reason_to_string(r), names[r]);
	}
	ck_assert_str_eq(control_reason_to_string(CONTROL_REASON_MAX_), "Unknown");
	ck_assert_str_eq(control_reason_to_string((ControlReason)-1), "Unknown");
	/* A reason it does not know (names are case-sensitive) is no malformation. */
	ck_assert_int_eq(control_msg_parse("Standalone Acknowledgment Tag=3,Reason=Busy", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_ACK);
	ck_assert_int_eq(m.reason, CONTROL_REASON_MAX_);
	ck_assert_int_eq(control_msg_parse("Standalone Acknowledgment Tag=3,Reason=ok", &m), 0);
	ck_assert_int_eq(m.reason, CONTROL_REASON_MAX_);
}
END_TEST

START_TEST(test_keys_in_any_order)
{
	static const char *const reads[] = {
		"CTL-Read Offset=432,Length=16,Tag=7", "CTL-Read Offset=432,Tag=7,Length=16",
		"CTL-Read Length=16,Offset=432,Tag=7", "CTL-Read Length=16,Tag=7,Offset=432",
		"CTL-Read Tag=7,Offset=432,Length=16", "CTL-Read Tag=7,Length=16,Offset=432",
	};

	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		ck_assert_int_eq(control_msg_parse(reads[i], &m), 0);
		ck_assert_int_eq(m.type, CONTROL_MSG_READ);
		ck_assert_uint_eq(m.offset, 432);
		ck_assert_uint_eq(m.length, 16);
		ck_assert_uint_eq(m.tag, 7);
	}
	ck_assert_int_eq(control_msg_parse("CTL-Write Tag=2,Data=ff,Offset=0x10", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_WRITE);
	ck_assert_uint_eq(m.offset, 16);
	ck_assert_uint_eq(m.tag, 2);
	ck_assert_int_eq(control_msg_parse("CTL-Read-Response Data=ff,Tag=2", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ_RESPONSE);
	ck_assert_int_eq(control_msg_parse("Standalone Acknowledgment Reason=ReadOnly,Tag=2", &m),
			 0);
	ck_assert_int_eq(m.reason, CONTROL_READ_ONLY);
}
END_TEST

START_TEST(test_numbers)
{
	static const struct {
		const char *text;
		uint64_t offset, length, tag;
	} ok[] = {
		{ "CTL-Read Offset=0x1B0,Length=0x10,Tag=0x7", 0x1b0, 16, 7 },
		{ "CTL-Read Offset=00432,Length=016,Tag=007", 432, 16, 7 },
		{ "CTL-Read Offset=1099511627775,Length=128,Tag=4095", CONTROL_OFFSET_MAX, 128,
		  4095 },
		{ "CTL-Read Offset=0x00000000ffffffffff,Length=0x80,Tag=0xfff", CONTROL_OFFSET_MAX,
		  128, 4095 },
		{ "CTL-Read Offset=0x0,Length=0,Tag=0", 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(control_msg_parse(ok[i].text, &m) == 0, "%s", ok[i].text);
		ck_assert_uint_eq(m.offset, ok[i].offset);
		ck_assert_uint_eq(m.length, ok[i].length);
		ck_assert_uint_eq(m.tag, ok[i].tag);
	}
}
END_TEST

#define R CONTROL_MSG_READ
#define W CONTROL_MSG_WRITE
#define RR CONTROL_MSG_READ_RESPONSE
#define A CONTROL_MSG_ACK

/* Every malformation is -EBADMSG, and the tag is named whenever it was read, wherever it is. */
START_TEST(test_malformed)
{
	static const struct {
		const char *text;
		ControlMsgType type;
		int tag; /* -1: none read */
	} cases[] = {
		/* A key missing. */
		{ "CTL-Read Offset=1,Length=1", R, -1 },
		{ "CTL-Read Offset=1,Tag=5", R, 5 },
		{ "CTL-Read Length=1,Tag=5", R, 5 },
		{ "CTL-Read", R, -1 },
		{ "CTL-Read ", R, -1 },
		{ "Standalone Acknowledgment", A, -1 },
		{ "CTL-Write Offset=1,Tag=5", W, 5 },
		{ "CTL-Write Data=00,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Data=00", W, -1 },
		{ "CTL-Read-Response Tag=5", RR, 5 },
		{ "CTL-Read-Response Data=00", RR, -1 },
		{ "Standalone Acknowledgment Tag=5", A, 5 },
		{ "Standalone Acknowledgment Reason=OK", A, -1 },
		/* A key repeated, even with the same value. */
		{ "CTL-Read Offset=1,Length=1,Tag=5,Offset=1", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=5,Tag=5", R, 5 },
		{ "CTL-Write Offset=1,Data=00,Data=00,Tag=5", W, 5 },
		{ "Standalone Acknowledgment Tag=5,Reason=OK,Reason=OK", A, 5 },
		/* A key unknown, or of another message. */
		{ "CTL-Read Offset=1,Length=1,Tag=5,Flags=0", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=5,Data=00", R, 5 },
		{ "CTL-Write Offset=1,Length=1,Data=00,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Space=0,Data=00,Tag=5", W, 5 },
		{ "CTL-Read-Response Tag=5,Data=00,Offset=1", RR, 5 },
		{ "Standalone Acknowledgment Tag=5,Reason=OK,Data=00", A, 5 },
		{ "CTL-Read offset=1,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,tag=5", R, -1 },
		/* Bad data: a character that is no hex digit, an odd count, none, too many. */
		{ "CTL-Write Offset=1,Data=0g,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Data=0x00,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Data=00 11,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Data=001,Tag=5", W, 5 },
		{ "CTL-Write Offset=1,Data=,Tag=5", W, 5 },
		{ "CTL-Read-Response Tag=5,Data=", RR, 5 },
		{ "CTL-Read-Response Data=0,Tag=5", RR, 5 },
		/* Empty values. */
		{ "CTL-Read Offset=,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=", R, -1 },
		{ "Standalone Acknowledgment Tag=5,Reason=", A, 5 },
		/* Numbers out of range. */
		{ "CTL-Read Offset=1,Length=129,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=0x81,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=4096", R, -1 },
		{ "CTL-Read Offset=1,Length=1,Tag=0x1000", R, -1 },
		{ "CTL-Read Offset=1099511627776,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=0x10000000000,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=18446744073709551616,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=0x10000000000000000,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=18446744073709551621", R, -1 },
		/* Signs, blanks, prefixes and garbage around a number. */
		{ "CTL-Read Offset=-1,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=+1,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=-5", R, -1 },
		{ "CTL-Read Offset= 1,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1 ,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1, Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=5 ", R, -1 },
		{ "CTL-Read Offset=1,Length=1,Tag=5x", R, -1 },
		{ "CTL-Read Offset=1,Length=1,Tag=5,", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=5,,", R, 5 },
		{ "CTL-Read Offset=1k,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=0x,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=0X10,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=0x1g,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1a,Length=1,Tag=5", R, 5 },
		{ "CTL-Read  Offset=1,Length=1,Tag=5", R, 5 },
		{ "CTL-Read Offset=1,Length=1,Tag=5 Offset=2", R, -1 },
		/* What is no Key=Value ends the list there: a tag after it is not read. */
		{ "CTL-Read Offset=1,Length,Tag=5", R, -1 },
		{ "CTL-Read Offset=1,=1,Tag=5", R, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_malformed(cases[i].text, cases[i].type, cases[i].tag);
}
END_TEST

#undef R
#undef W
#undef RR
#undef A

/* FAME-Z's tracker is cut off, and only a whole one at the end. */
START_TEST(test_tracker)
{
	ck_assert_int_eq(control_msg_parse("CTL-Read Offset=1,Length=2,Tag=3!EZT=44", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ);
	ck_assert_uint_eq(m.tag, 3);
	ck_assert_int_eq(control_msg_parse("CTL-Read-Response Tag=3,Data=ab !EZT=0", &m), 0);
	ck_assert_int_eq(m.type, CONTROL_MSG_READ_RESPONSE);
	ck_assert_uint_eq(m.length, 1);
	ck_assert_int_eq(control_msg_parse("Standalone Acknowledgment Tag=3,Reason=OK!EZT=9", &m),
			 0);
	ck_assert_int_eq(m.reason, CONTROL_OK);
	assert_malformed("CTL-Read Offset=1,Length=2,Tag=3!EZT=", CONTROL_MSG_READ, -1);
	assert_malformed("CTL-Read Offset=1,Length=2,Tag=3!EZT=4x", CONTROL_MSG_READ, -1);
	assert_none("ping!EZT=3");
}
END_TEST

START_TEST(test_not_control)
{
	char text[FABRIC_TEXT_MAX + 1];

	assert_none("ping");
	assert_none("pong");
	assert_none("");
	assert_none("Link RFC TTC=27us");
	assert_none("Link CTL ACK cclass=Bridge,CID0=300,SID0=27");
	/* FAME-Z's own CTL-Write, valid or not. */
	assert_none("CTL-Write Space=0,PFMCID=1500,PFMSID=27,CID=100,SID=27,Tag=5");
	assert_none("CTL-Write Space=0,PFMCID=1500,PFMSID=27,CID=100,SID=27,Tag=5!EZT=8");
	assert_none("CTL-Write Space=0");
	assert_none("CTL-Write Tag=5,Space=x,Space=y");
	/* Not the words, all of them and alone. */
	assert_none("CTL-Readout Offset=1,Length=1,Tag=5");
	assert_none("CTL-Read-Request Offset=1,Length=1,Tag=5");
	assert_none("ctl-read Offset=1,Length=1,Tag=5");
	assert_none(" CTL-Read Offset=1,Length=1,Tag=5");
	assert_none("Standalone Acknowledgement Tag=5,Reason=OK");
	/* Text of FABRIC_TEXT_MAX bytes or more is not looked at. */
	memset(text, 'x', sizeof(text));
	text[FABRIC_TEXT_MAX - 1] = '\0';
	assert_none(text);
	text[FABRIC_TEXT_MAX - 1] = 'x';
	text[FABRIC_TEXT_MAX] = '\0';
	ck_assert_int_eq(control_msg_parse(text, &m), -EMSGSIZE);
	ck_assert_int_eq(m.type, CONTROL_MSG_NONE);
}
END_TEST

START_TEST(test_format)
{
	ControlMsg read = { .type = CONTROL_MSG_READ, .offset = 0x1b0, .length = 16, .tag = 7 };
	ControlMsg write = { .type = CONTROL_MSG_WRITE, .offset = 0xc0, .length = 2, .tag = 8 };
	ControlMsg response = { .type = CONTROL_MSG_READ_RESPONSE, .length = 1, .tag = 4095 };
	ControlMsg ack = { .type = CONTROL_MSG_ACK, .tag = 9, .reason = CONTROL_TAG_REUSED };
	ControlMsg bad;
	char buf[MAILBOX_MSG_MAX];
	int n;

	write.data[0] = 0xab;
	write.data[1] = 0x01;
	response.data[0] = 0xfe;
	n = control_msg_format(&read, buf, sizeof(buf));
	ck_assert_str_eq(buf, "CTL-Read Offset=0x1b0,Length=16,Tag=7");
	ck_assert_int_eq(n, strlen(buf));
	ck_assert_int_eq(control_msg_format(&write, buf, sizeof(buf)), strlen(buf));
	ck_assert_str_eq(buf, "CTL-Write Offset=0xc0,Data=ab01,Tag=8");
	ck_assert_int_eq(control_msg_format(&response, buf, sizeof(buf)), strlen(buf));
	ck_assert_str_eq(buf, "CTL-Read-Response Tag=4095,Data=fe");
	ck_assert_int_eq(control_msg_format(&ack, buf, sizeof(buf)), strlen(buf));
	ck_assert_str_eq(buf, "Standalone Acknowledgment Tag=9,Reason=TagReused");

	/* Room for the text and its NUL, or -ENOSPC. */
	ck_assert_int_eq(control_msg_format(&read, buf, (size_t)n + 1), n);
	ck_assert_int_eq(control_msg_format(&read, buf, (size_t)n), -ENOSPC);
	ck_assert_int_eq(control_msg_format(&ack, buf, 10), -ENOSPC);
	ck_assert_int_eq(control_msg_format(&ack, NULL, 0), -ENOSPC);

	/* Fields out of range. */
	ck_assert_int_eq(control_msg_format(&(ControlMsg){ 0 }, buf, sizeof(buf)), -EINVAL);
	bad = read;
	bad.type = (ControlMsgType)42;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = read;
	bad.length = 0; /* a read of nothing is the component's to refuse: it formats */
	ck_assert_int_gt(control_msg_format(&bad, buf, sizeof(buf)), 0);
	bad.length = CONTROL_DATA_MAX + 1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = read;
	bad.offset = CONTROL_OFFSET_MAX + 1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = write;
	bad.offset = CONTROL_OFFSET_MAX + 1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = write;
	bad.length = 0;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad.length = CONTROL_DATA_MAX + 1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = response;
	bad.length = 0;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = ack;
	bad.tag = CONTROL_TAG_MAX + 1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad = ack;
	bad.reason = CONTROL_REASON_MAX_;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
	bad.reason = (ControlReason)-1;
	ck_assert_int_eq(control_msg_format(&bad, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* The longest message fits in a mailbox slot's message room, with its NUL. */
START_TEST(test_longest)
{
	ControlMsg write = { .type = CONTROL_MSG_WRITE,
			     .offset = CONTROL_OFFSET_MAX,
			     .length = CONTROL_DATA_MAX,
			     .tag = CONTROL_TAG_MAX };
	ControlMsg response = write;
	char buf[MAILBOX_MSG_MAX];

	memset(write.data, 0xff, sizeof(write.data));
	response.type = CONTROL_MSG_READ_RESPONSE;
	response.offset = 0;
	ck_assert_int_le(control_msg_format(&write, buf, sizeof(buf)), MAILBOX_MSG_MAX - 1);
	ck_assert_int_gt(control_msg_format(&write, buf, sizeof(buf)), 2 * CONTROL_DATA_MAX);
	ck_assert_int_eq(control_msg_parse(buf, &m), 0);
	assert_same(&m, &write);
	ck_assert_int_le(control_msg_format(&response, buf, sizeof(buf)), MAILBOX_MSG_MAX - 1);
	ck_assert_int_gt(control_msg_format(&response, buf, sizeof(buf)), 2 * CONTROL_DATA_MAX);
}
END_TEST

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	/* xorshift64 */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random messages of every type format to text that parses back to them. */
START_TEST(test_roundtrip_random)
{
	char buf[MAILBOX_MSG_MAX];

	for (int i = 0; i < 5000; i++) {
		ControlMsg in = { .type = CONTROL_MSG_READ + (ControlMsgType)(rng() % 4),
				  .tag = (uint16_t)(rng() % (CONTROL_TAG_MAX + 1)) };
		int n;

		switch (in.type) {
		case CONTROL_MSG_READ:
			in.offset = rng() & CONTROL_OFFSET_MAX;
			in.length = (uint32_t)(rng() % (CONTROL_DATA_MAX + 1));
			break;
		case CONTROL_MSG_WRITE:
			in.offset = (rng() >> (rng() % 64)) & CONTROL_OFFSET_MAX;
			/* fall through */
		case CONTROL_MSG_READ_RESPONSE:
			in.length = 1 + (uint32_t)(rng() % CONTROL_DATA_MAX);
			for (uint32_t j = 0; j < in.length; j++)
				in.data[j] = (uint8_t)rng();
			break;
		default:
			in.reason = (ControlReason)(rng() % CONTROL_REASON_MAX_);
			break;
		}
		n = control_msg_format(&in, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_int_le(n, MAILBOX_MSG_MAX - 1);
		ck_assert_msg(control_msg_parse(buf, &m) == 0, "\"%s\" does not parse", buf);
		ck_assert(m.has_tag);
		assert_same(&m, &in);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control-msg");
	TCase *tc = tcase_create("control-msg");

	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_read_response);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_keys_in_any_order);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_tracker);
	tcase_add_test(tc, test_not_control);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_longest);
	tcase_add_test(tc, test_roundtrip_random);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
