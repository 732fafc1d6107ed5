/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "envelope.h"
#include "fabric-msg.h"
#include "macro.h"
#include "mailbox.h"

/* Offsets within the envelope (ENVELOPE_OFFSET is added for the slot's). */
enum {
	ENV_MAGIC = 0,
	ENV_TYPE = 4,
	ENV_STATUS = 5,
	ENV_HOPS = 6,
	ENV_ADDRESSEE = 7, /* MAILBOX_SLOT_ADDRESSEE: the mailbox's, not the envelope's */
	ENV_DEST_CID = 8,
	ENV_DEST_SID = 10,
	ENV_ORIGIN_CID = 12,
	ENV_ORIGIN_SID = 14,
	ENV_RESERVED = 16,
	/* Directed */
	ENV_PATH_LEN = 6,
	ENV_PATH = 8,
};

_Static_assert(ENVELOPE_OFFSET + ENV_ADDRESSEE == MAILBOX_SLOT_ADDRESSEE,
	       "the addressee sits in the envelope's byte 7");

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void envelope_write(uint8_t *slot, const Envelope *e)
{
	uint8_t b[ENVELOPE_SIZE] = { 0 };

	memcpy(b + ENV_MAGIC, ENVELOPE_MAGIC, 4);
	b[ENV_TYPE] = (uint8_t)e->type;
	b[ENV_STATUS] = (uint8_t)e->status;
	if (envelope_is_directed(e)) {
		unsigned n = MIN(e->path_len, ENVELOPE_PATH_MAX);

		b[ENV_PATH_LEN] = (uint8_t)n;
		memcpy(b + ENV_PATH, e->path, n);
		memcpy(slot + ENVELOPE_OFFSET, b, sizeof(b));
		return;
	}
	b[ENV_HOPS] = e->hops;
	put_u16(b + ENV_DEST_CID, e->dest_cid);
	put_u16(b + ENV_DEST_SID, e->dest_sid);
	put_u16(b + ENV_ORIGIN_CID, e->origin_cid);
	put_u16(b + ENV_ORIGIN_SID, e->origin_sid);
	memcpy(slot + ENVELOPE_OFFSET, b, sizeof(b));
}

void envelope_clear(uint8_t *slot)
{
	memset(slot + ENVELOPE_OFFSET, 0, ENVELOPE_SIZE);
}

static int read_directed(const uint8_t b[ENVELOPE_SIZE], Envelope *e)
{
	unsigned n = b[ENV_PATH_LEN];

	if (b[ENV_STATUS] >= ENVELOPE_STATUS_MAX_ || n > ENVELOPE_PATH_MAX)
		return -EBADMSG;
	for (unsigned i = n; i < ENVELOPE_PATH_MAX; i++)
		if (b[ENV_PATH + i] != 0)
			return -EBADMSG;
	*e = (Envelope){
		.type = (EnvelopeType)b[ENV_TYPE],
		.status = (EnvelopeStatus)b[ENV_STATUS],
		.path_len = (uint8_t)n,
	};
	memcpy(e->path, b + ENV_PATH, n);
	return 0;
}

int envelope_read(const uint8_t *slot, Envelope *e)
{
	static const uint8_t zeros[ENVELOPE_SIZE - ENV_RESERVED];
	uint8_t b[ENVELOPE_SIZE];

	/* One copy: a peer rewriting its slot meanwhile changes nothing of what is checked. */
	memcpy(b, slot + ENVELOPE_OFFSET, sizeof(b));
	if (memcmp(b + ENV_MAGIC, ENVELOPE_MAGIC, 4) != 0)
		return -ENOMSG;
	if (b[ENV_TYPE] == ENVELOPE_DIRECTED || b[ENV_TYPE] == ENVELOPE_DIRECTED_DELIVER)
		return read_directed(b, e);
	if ((b[ENV_TYPE] != ENVELOPE_ROUTE && b[ENV_TYPE] != ENVELOPE_DELIVER) ||
	    b[ENV_STATUS] >= ENVELOPE_STATUS_MAX_ || b[ENV_HOPS] > ENVELOPE_HOPS_MAX ||
	    memcmp(b + ENV_RESERVED, zeros, sizeof(zeros)) != 0)
		return -EBADMSG;
	*e = (Envelope){
		.type = (EnvelopeType)b[ENV_TYPE],
		.status = (EnvelopeStatus)b[ENV_STATUS],
		.hops = b[ENV_HOPS],
		.dest_cid = get_u16(b + ENV_DEST_CID),
		.dest_sid = get_u16(b + ENV_DEST_SID),
		.origin_cid = get_u16(b + ENV_ORIGIN_CID),
		.origin_sid = get_u16(b + ENV_ORIGIN_SID),
	};
	if (e->dest_cid > FABRIC_CID_MAX || e->origin_cid > FABRIC_CID_MAX)
		return -EBADMSG;
	return 0;
}

void envelope_set_status(uint8_t *slot, EnvelopeStatus status)
{
	slot[ENVELOPE_OFFSET + ENV_STATUS] = (uint8_t)status;
}

EnvelopeStatus envelope_get_status(const uint8_t *slot)
{
	uint8_t s = slot[ENVELOPE_OFFSET + ENV_STATUS];

	return s < ENVELOPE_STATUS_MAX_ ? (EnvelopeStatus)s : ENVELOPE_STATUS_MALFORMED;
}

const char *envelope_status_to_string(EnvelopeStatus status)
{
	static const char *const names[] = {
		[ENVELOPE_STATUS_PENDING] = "pending",
		[ENVELOPE_STATUS_OK] = "ok",
		[ENVELOPE_STATUS_NO_ROUTE] = "no-route",
		[ENVELOPE_STATUS_UNREACHABLE] = "unreachable",
		[ENVELOPE_STATUS_HOP_LIMIT] = "hop-limit",
		[ENVELOPE_STATUS_NOT_CONFIGURED] = "not-configured",
		[ENVELOPE_STATUS_MALFORMED] = "malformed",
		[ENVELOPE_STATUS_RELAY_DISABLED] = "relay-disabled",
	};

	return (unsigned)status < ELEMENTSOF(names) ? names[status] : "malformed";
}
