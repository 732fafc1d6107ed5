/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mailbox.h"

/*
 * Guests write the shared memory concurrently: each field is one aligned, ordered access, and
 * a message is copied before it is looked at.
 */
uint64_t mailbox_get_u64(const uint8_t *slot, size_t offset)
{
	return le64toh(__atomic_load_n((const uint64_t *)(slot + offset), __ATOMIC_ACQUIRE));
}

void mailbox_set_u64(uint8_t *slot, size_t offset, uint64_t value)
{
	__atomic_store_n((uint64_t *)(slot + offset), htole64(value), __ATOMIC_RELEASE);
}

/* The string fields of a slot: 32 bytes with their NUL (the rest zeroed). */
#define MAILBOX_STRING_MAX 32
_Static_assert(MAILBOX_NODENAME_MAX == MAILBOX_STRING_MAX &&
		       MAILBOX_CCLASS_MAX == MAILBOX_STRING_MAX,
	       "nodename and C-Class are string fields");

static void set_string(uint8_t *slot, size_t offset, const char *value)
{
	char buf[MAILBOX_STRING_MAX] = "";

	if (value)
		snprintf(buf, sizeof(buf), "%s", value);
	memcpy(slot + offset, buf, sizeof(buf));
}

static void get_string(const uint8_t *slot, size_t offset, char out[MAILBOX_STRING_MAX])
{
	memcpy(out, slot + offset, MAILBOX_STRING_MAX);
	out[MAILBOX_STRING_MAX - 1] = '\0';
	for (size_t i = 0; out[i]; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
}

void mailbox_set_nodename(uint8_t *slot, const char *nodename)
{
	set_string(slot, MAILBOX_SLOT_NODENAME, nodename);
}

void mailbox_get_nodename(const uint8_t *slot, char out[MAILBOX_NODENAME_MAX])
{
	get_string(slot, MAILBOX_SLOT_NODENAME, out);
}

void mailbox_set_cclass(uint8_t *slot, const char *cclass)
{
	set_string(slot, MAILBOX_SLOT_CCLASS, cclass);
}

void mailbox_get_cclass(const uint8_t *slot, char out[MAILBOX_CCLASS_MAX])
{
	get_string(slot, MAILBOX_SLOT_CCLASS, out);
}

const char *mailbox_peer_label(const uint8_t *base, unsigned id, char buf[MAILBOX_LABEL_MAX])
{
	char nodename[MAILBOX_NODENAME_MAX];

	mailbox_get_nodename(base + (size_t)id * MAILBOX_SLOT_SIZE, nodename);
	snprintf(buf, MAILBOX_LABEL_MAX, "%s@%u", nodename[0] ? nodename : "?", id);
	return buf;
}

void mailbox_init(uint8_t *base, unsigned n_clients, const MailboxIdentity *server)
{
	unsigned server_id = n_clients + 1;
	uint8_t *own = mailbox_slot(base, server_id);

	memset(base, 0, mailbox_size(n_clients));
	mailbox_set_u64(base, MAILBOX_GLOBAL_SLOT_SIZE, MAILBOX_SLOT_SIZE);
	mailbox_set_u64(base, MAILBOX_GLOBAL_MSG_OFFSET, MAILBOX_MSG_OFFSET);
	mailbox_set_u64(base, MAILBOX_GLOBAL_CLIENTS, n_clients);
	mailbox_set_u64(base, MAILBOX_GLOBAL_VECTORS, n_clients + 2);
	mailbox_set_u64(base, MAILBOX_GLOBAL_SERVER_ID, server_id);
	for (unsigned id = 1; id <= server_id; id++)
		mailbox_set_u64(mailbox_slot(base, id), MAILBOX_SLOT_PEER_ID, id);

	mailbox_set_nodename(own, server->nodename);
	mailbox_set_cclass(own, server->cclass);
	mailbox_set_u64(own, MAILBOX_SLOT_PEER_SID, server->sid);
	mailbox_set_u64(own, MAILBOX_SLOT_PEER_CID, server->cid);
}

bool mailbox_is_laid_out(const uint8_t *base, unsigned n_clients)
{
	MailboxLayout l;

	if (mailbox_read_layout(base, mailbox_size(n_clients), &l) < 0 || l.n_clients != n_clients)
		return false;
	for (unsigned id = 1; id <= l.server_id; id++)
		if (mailbox_get_u64(base + (size_t)id * MAILBOX_SLOT_SIZE, MAILBOX_SLOT_PEER_ID) !=
		    id)
			return false;
	return true;
}

int mailbox_read_layout(const uint8_t *base, uint64_t size, MailboxLayout *layout)
{
	uint64_t clients, vectors, server_id;

	if (size < MAILBOX_SLOT_SIZE)
		return -ENOMSG;
	clients = mailbox_get_u64(base, MAILBOX_GLOBAL_CLIENTS);
	vectors = mailbox_get_u64(base, MAILBOX_GLOBAL_VECTORS);
	server_id = mailbox_get_u64(base, MAILBOX_GLOBAL_SERVER_ID);
	if (mailbox_get_u64(base, MAILBOX_GLOBAL_SLOT_SIZE) != MAILBOX_SLOT_SIZE ||
	    mailbox_get_u64(base, MAILBOX_GLOBAL_MSG_OFFSET) != MAILBOX_MSG_OFFSET ||
	    clients == 0 || clients > MAILBOX_CLIENTS_MAX || server_id != clients + 1 ||
	    vectors != clients + 2 || mailbox_size((unsigned)clients) > size)
		return -ENOMSG;
	*layout = (MailboxLayout){
		.n_clients = (unsigned)clients,
		.vectors = (unsigned)vectors,
		.server_id = (unsigned)server_id,
	};
	return 0;
}

bool mailbox_slot_is_free(const uint8_t *slot)
{
	return mailbox_get_u64(slot, MAILBOX_SLOT_MSG_LEN) == 0;
}

int mailbox_read_message(const uint8_t *slot, unsigned reader, char out[MAILBOX_MSG_MAX],
			 size_t *len)
{
	uint64_t n = mailbox_get_u64(slot, MAILBOX_SLOT_MSG_LEN);
	uint8_t to;

	if (n == 0)
		return -ENOMSG;
	/* Written before the length, as the text: read after it. */
	to = slot[MAILBOX_SLOT_ADDRESSEE];
	if (reader != 0 && to != 0 && to != reader)
		return -EXDEV;
	if (n >= MAILBOX_MSG_MAX)
		return -EMSGSIZE;
	/* Copy first: the sender may change the slot while we look. */
	memcpy(out, slot + MAILBOX_MSG_OFFSET, n + 1);
	if (out[n] != '\0') {
		out[0] = '\0';
		return -EBADMSG;
	}
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e) {
			out[0] = '\0';
			return -EBADMSG;
		}
	*len = (size_t)n;
	return 0;
}

void mailbox_acknowledge(uint8_t *slot, unsigned responder_id)
{
	mailbox_set_u64(slot, MAILBOX_SLOT_LAST_RESPONDER, responder_id);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 0);
}

int mailbox_put_message(uint8_t *slot, unsigned to, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n >= MAILBOX_MSG_MAX || to > UINT8_MAX)
		return -EMSGSIZE;
	mailbox_set_u64(slot, MAILBOX_SLOT_LAST_RESPONDER, 0);
	slot[MAILBOX_SLOT_ADDRESSEE] = (uint8_t)to;
	memcpy(slot + MAILBOX_MSG_OFFSET, text, n + 1);
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, n);
	return 0;
}

int mailbox_write_message(uint8_t *slot, unsigned to, const char *text)
{
	if (!mailbox_slot_is_free(slot))
		return -EBUSY;
	return mailbox_put_message(slot, to, text);
}

void mailbox_reclaim(uint8_t *slot)
{
	mailbox_set_u64(slot, MAILBOX_SLOT_MSG_LEN, 0);
}
