/* SPDX-License-Identifier: MIT */
/*
 * The 24 bytes of a routing envelope as a hostile peer may fill them, routed or directed (a
 * path of ports): envelope_read() accepts only what envelope_write() produces, byte for byte,
 * and neither reads nor writes outside bytes 104..127 of the slot (the rest of the slot is
 * poisoned for AddressSanitizer).
 */
#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "fabric-msg.h"
#include "mailbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t slot[MAILBOX_SLOT_SIZE] __attribute__((aligned(8)));
static uint8_t again[MAILBOX_SLOT_SIZE] __attribute__((aligned(8)));

/* Only bytes 104..127 of s may be touched. */
static void fence(uint8_t *s)
{
	ASAN_POISON_MEMORY_REGION(s, ENVELOPE_OFFSET);
	ASAN_POISON_MEMORY_REGION(s + ENVELOPE_OFFSET + ENVELOPE_SIZE,
				  MAILBOX_SLOT_SIZE - ENVELOPE_OFFSET - ENVELOPE_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Envelope e;
	EnvelopeStatus status;
	int r;

	fence(slot);
	fence(again);
	memset(slot + ENVELOPE_OFFSET, 0, ENVELOPE_SIZE);
	memcpy(slot + ENVELOPE_OFFSET, data, size < ENVELOPE_SIZE ? size : ENVELOPE_SIZE);

	status = envelope_get_status(slot);
	if (status >= ENVELOPE_STATUS_MAX_ || !envelope_status_to_string(status))
		abort();
	r = envelope_read(slot, &e);
	if (r == -ENOMSG || r == -EBADMSG)
		return 0;
	if (r != 0)
		abort();
	if (e.status >= ENVELOPE_STATUS_MAX_)
		abort();
	if (envelope_is_directed(&e)) {
		/* A path and nothing else: no routed field, no port beyond its length. */
		if (e.path_len > ENVELOPE_PATH_MAX || e.hops || e.dest_cid || e.dest_sid ||
		    e.origin_cid || e.origin_sid)
			abort();
		for (unsigned i = e.path_len; i < ENVELOPE_PATH_MAX; i++)
			if (e.path[i])
				abort();
	} else if ((e.type != ENVELOPE_ROUTE && e.type != ENVELOPE_DELIVER) || e.path_len ||
		   e.hops > ENVELOPE_HOPS_MAX || e.dest_cid > FABRIC_CID_MAX ||
		   e.origin_cid > FABRIC_CID_MAX)
		abort();
	envelope_write(again, &e);
	/* Byte 111 is the addressee's (mailbox.h): the envelope leaves it to the mailbox. */
	again[MAILBOX_SLOT_ADDRESSEE] = slot[MAILBOX_SLOT_ADDRESSEE];
	if (memcmp(again + ENVELOPE_OFFSET, slot + ENVELOPE_OFFSET, ENVELOPE_SIZE) != 0)
		abort();
	return 0;
}
