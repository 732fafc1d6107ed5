/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "mailbox.h"
#include "testlib.h"

static uint8_t mem[64 * 1024] __attribute__((aligned(4096)));

static const MailboxIdentity switch_1500 = {
	.nodename = "Z-switch", .cclass = "FabricSwitch", .sid = 27, .cid = 1500
};

static uint64_t raw_u64(size_t offset)
{
	uint64_t v = 0;

	/* Little-endian, read byte by byte so the test does not trust the code under test. */
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | mem[offset + (size_t)i];
	return v;
}

START_TEST(test_layout_matches_fame_z)
{
	memset(mem, 0xaa, sizeof(mem));
	mailbox_init(mem, 14, &switch_1500);

	/* Globals in slot 0. */
	ck_assert_uint_eq(raw_u64(0), 512);
	ck_assert_uint_eq(raw_u64(8), 128);
	ck_assert_uint_eq(raw_u64(16), 14);
	ck_assert_uint_eq(raw_u64(24), 16);
	ck_assert_uint_eq(raw_u64(32), 15);

	/* FAME-Z as last published: every slot N carries its peer ID at 72; lengths at 64 are 0. */
	for (unsigned id = 1; id <= 15; id++) {
		ck_assert_uint_eq(raw_u64(id * 512 + 72), id);
		ck_assert_uint_eq(raw_u64(id * 512 + 64), 0);
	}
	/* Client slots carry nothing else yet. */
	ck_assert_uint_eq(mem[3 * 512], 0);
	ck_assert_uint_eq(mem[3 * 512 + 32], 0);
	ck_assert_uint_eq(raw_u64(3 * 512 + 88), 0);
	ck_assert_uint_eq(raw_u64(3 * 512 + 96), 0);
	/* The server's slot: nodename at 0, C-Class at 32, SID at 88, CID at 96. */
	ck_assert_str_eq((char *)mem + 15 * 512, "Z-switch");
	ck_assert_str_eq((char *)mem + 15 * 512 + 32, "FabricSwitch");
	ck_assert_uint_eq(raw_u64(15 * 512 + 88), 27);
	ck_assert_uint_eq(raw_u64(15 * 512 + 96), 1500);
	/* Nothing past the mailbox is touched. */
	ck_assert_uint_eq(mem[16 * 512], 0xaa);
	ck_assert_uint_eq(mailbox_size(14), 16 * 512);
}
END_TEST

START_TEST(test_read_layout)
{
	MailboxLayout l;

	mailbox_init(mem, 3, &(MailboxIdentity){ .nodename = "Z-switch", .cid = 400 });
	ck_assert_int_eq(mailbox_read_layout(mem, sizeof(mem), &l), 0);
	ck_assert_uint_eq(l.n_clients, 3);
	ck_assert_uint_eq(l.vectors, 5);
	ck_assert_uint_eq(l.server_id, 4);
	/* Too small a memory for the slots it claims. */
	ck_assert_int_eq(mailbox_read_layout(mem, 4 * 512, &l), -ENOMSG);
	/* Not a mailbox. */
	memset(mem, 0, 512);
	ck_assert_int_eq(mailbox_read_layout(mem, sizeof(mem), &l), -ENOMSG);
	mailbox_init(mem, 3, &(MailboxIdentity){ .nodename = "Z-switch", .cid = 400 });
	mailbox_set_u64(mem, MAILBOX_GLOBAL_VECTORS, 9);
	ck_assert_int_eq(mailbox_read_layout(mem, sizeof(mem), &l), -ENOMSG);
}
END_TEST

START_TEST(test_message_roundtrip_and_ack)
{
	uint8_t *slot;
	char out[MAILBOX_MSG_MAX];
	size_t len;

	mailbox_init(mem, 14, &switch_1500);
	slot = mailbox_slot(mem, 3);
	ck_assert(mailbox_slot_is_free(slot));
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -ENOMSG);
	ck_assert_int_eq(mailbox_write_message(slot, 0, "ping"), 0);
	ck_assert_uint_eq(raw_u64(3 * 512 + 64), 4);
	ck_assert_str_eq((char *)mem + 3 * 512 + 128, "ping");
	ck_assert_int_eq(mailbox_write_message(slot, 0, "again"), -EBUSY);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), 0);
	ck_assert_str_eq(out, "ping");
	ck_assert_uint_eq(len, 4);
	mailbox_acknowledge(slot, 15);
	ck_assert_uint_eq(raw_u64(3 * 512 + 64), 0);
	ck_assert_uint_eq(raw_u64(3 * 512 + 80), 15);
	ck_assert(mailbox_slot_is_free(slot));
}
END_TEST

/*
 * A message names its addressee in byte 111: a receiver rung late, when the slot already holds
 * the next message for someone else, leaves it alone; one unnamed (FAME-Z's tools) is anyone's.
 */
START_TEST(test_addressee)
{
	uint8_t *slot;
	char out[MAILBOX_MSG_MAX];
	size_t len;

	mailbox_init(mem, 14, &switch_1500);
	slot = mailbox_slot(mem, 15);
	ck_assert_int_eq(mailbox_write_message(slot, 7, "for seven"), 0);
	ck_assert_uint_eq(mem[15 * 512 + 111], 7);
	ck_assert_int_eq(mailbox_read_message(slot, 2, out, &len), -EXDEV);
	ck_assert(!mailbox_slot_is_free(slot));
	ck_assert_int_eq(mailbox_read_message(slot, 7, out, &len), 0);
	ck_assert_str_eq(out, "for seven");
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), 0);
	mailbox_acknowledge(slot, 7);
	/* Unnamed: whoever reads it. */
	ck_assert_int_eq(mailbox_write_message(slot, 0, "anyone"), 0);
	ck_assert_int_eq(mailbox_read_message(slot, 2, out, &len), 0);
	ck_assert_str_eq(out, "anyone");
	mailbox_acknowledge(slot, 2);
	/* An ID a byte cannot hold is refused, nothing written. */
	ck_assert_int_eq(mailbox_write_message(slot, 256, "too far"), -EMSGSIZE);
	ck_assert(mailbox_slot_is_free(slot));
	/* 255, the largest server ID. */
	ck_assert_int_eq(mailbox_put_message(slot, 255, "last"), 0);
	ck_assert_int_eq(mailbox_read_message(slot, 255, out, &len), 0);
	ck_assert_int_eq(mailbox_read_message(slot, 254, out, &len), -EXDEV);
}
END_TEST

/* 383 characters and the NUL are the most a slot holds: 382 and 383 go, 384 does not. */
START_TEST(test_message_limits)
{
	char text[MAILBOX_MSG_MAX + 1], out[MAILBOX_MSG_MAX];
	uint8_t *slot = mailbox_slot(mem, 2);
	size_t len;

	mailbox_init(mem, 14, &switch_1500);
	for (size_t n = MAILBOX_MSG_MAX - 2; n <= MAILBOX_MSG_MAX; n++) {
		int want = n < MAILBOX_MSG_MAX ? 0 : -EMSGSIZE;

		memset(text, 'x', n);
		text[n] = '\0';
		mailbox_reclaim(slot);
		ck_assert_int_eq(mailbox_write_message(slot, 0, text), want);
		/* Read as a peer wrote it, with its NUL: the same limit. */
		memcpy(slot + MAILBOX_MSG_OFFSET, text, MIN(n + 1, (size_t)MAILBOX_MSG_MAX));
		mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, n);
		ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), want);
		if (want == 0) {
			ck_assert_uint_eq(len, n);
			ck_assert_str_eq(out, text);
		}
	}
	mailbox_reclaim(slot);
	ck_assert_int_eq(mailbox_write_message(slot, 0, ""), -EMSGSIZE);
}
END_TEST

START_TEST(test_hostile_slots)
{
	uint8_t *slot = mailbox_slot(mem, 5);
	char out[MAILBOX_MSG_MAX];
	size_t len;

	mailbox_init(mem, 14, &switch_1500);
	/* A length past the slot. */
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 384);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EMSGSIZE);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, UINT64_MAX);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EMSGSIZE);
	/* No NUL where the length says. */
	memcpy(slot + 128, "pingX", 5);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 4);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EBADMSG);
	/* Bytes that are not printable ASCII. */
	memcpy(slot + 128, "p\xffng", 5);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EBADMSG);
	memcpy(slot + 128, "p\nng", 5);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EBADMSG);
	/* An embedded NUL before the length. */
	memcpy(slot + 128, "p\0ng", 5);
	ck_assert_int_eq(mailbox_read_message(slot, 0, out, &len), -EBADMSG);
}
END_TEST

START_TEST(test_nodename)
{
	uint8_t *slot = mailbox_slot(mem, 1);
	char out[MAILBOX_NODENAME_MAX];

	mailbox_set_nodename(slot, "z01");
	mailbox_get_nodename(slot, out);
	ck_assert_str_eq(out, "z01");
	/* 31 characters and the NUL fit: 30 and 31 are kept whole, 32 lose the last. */
	for (size_t n = MAILBOX_NODENAME_MAX - 2; n <= MAILBOX_NODENAME_MAX; n++) {
		char name[MAILBOX_NODENAME_MAX + 1];

		memset(name, 'n', n);
		name[n] = '\0';
		mailbox_set_nodename(slot, name);
		mailbox_get_nodename(slot, out);
		ck_assert_uint_eq(strlen(out), MIN(n, (size_t)MAILBOX_NODENAME_MAX - 1));
		ck_assert_int_eq(strncmp(out, name, strlen(out)), 0);
	}
	/* Over-long names are cut, control bytes shown as '?', no NUL is still terminated. */
	mailbox_set_nodename(slot, "abcdefghijklmnopqrstuvwxyz0123456789");
	mailbox_get_nodename(slot, out);
	ck_assert_uint_eq(strlen(out), MAILBOX_NODENAME_MAX - 1);
	memset(slot, 0x01, MAILBOX_NODENAME_MAX);
	mailbox_get_nodename(slot, out);
	ck_assert_uint_eq(strlen(out), MAILBOX_NODENAME_MAX - 1);
	ck_assert_int_eq(out[0], '?');
	mailbox_set_nodename(slot, NULL);
	mailbox_get_nodename(slot, out);
	ck_assert_str_eq(out, "");
}
END_TEST

/* The C-Class is the slot's second string: at 32, beside the nodename, never over the length. */
START_TEST(test_cclass)
{
	uint8_t *slot = mailbox_slot(mem, 2);
	char out[MAILBOX_CCLASS_MAX], name[MAILBOX_NODENAME_MAX];

	mailbox_init(mem, 14, &switch_1500);
	mailbox_set_nodename(slot, "z02");
	mailbox_set_cclass(slot, "Debugger");
	ck_assert_str_eq((char *)slot + 32, "Debugger");
	mailbox_get_cclass(slot, out);
	ck_assert_str_eq(out, "Debugger");
	mailbox_get_nodename(slot, name);
	ck_assert_str_eq(name, "z02");
	/* 31 characters and the NUL at most, and the length after it untouched. */
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 0);
	mailbox_set_cclass(slot, "abcdefghijklmnopqrstuvwxyz0123456789");
	mailbox_get_cclass(slot, out);
	ck_assert_str_eq(out, "abcdefghijklmnopqrstuvwxyz01234");
	ck_assert_uint_eq(raw_u64(2 * 512 + 64), 0);
	memset(slot + 32, 0x7f, MAILBOX_CCLASS_MAX);
	mailbox_get_cclass(slot, out);
	ck_assert_uint_eq(strlen(out), MAILBOX_CCLASS_MAX - 1);
	ck_assert_int_eq(out[0], '?');
	mailbox_set_cclass(slot, NULL);
	mailbox_get_cclass(slot, out);
	ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tcase_create("mailbox");

	tcase_add_test(tc, test_layout_matches_fame_z);
	tcase_add_test(tc, test_read_layout);
	tcase_add_test(tc, test_message_roundtrip_and_ack);
	tcase_add_test(tc, test_addressee);
	tcase_add_test(tc, test_message_limits);
	tcase_add_test(tc, test_hostile_slots);
	tcase_add_test(tc, test_nodename);
	tcase_add_test(tc, test_cclass);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
