/* SPDX-License-Identifier: MIT */
/*
 * A mailbox slot as a hostile guest may fill it: read and validated as the server does, then
 * parsed as a FAME-Z message, and any message that parses formats back to one that parses alike.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric-msg.h"
#include "mailbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t slot[MAILBOX_SLOT_SIZE] __attribute__((aligned(8))) = { 0 };
	char text[MAILBOX_MSG_MAX], again[MAILBOX_MSG_MAX];
	FabricMsg m, m2;
	size_t len;

	memcpy(slot, data, size < sizeof(slot) ? size : sizeof(slot));
	if (mailbox_read_message(slot, 0, text, &len) < 0)
		return 0;
	if (strlen(text) != len)
		abort();
	if (fabric_msg_parse(text, &m) < 0 || m.type == FABRIC_MSG_UNKNOWN)
		return 0;
	if (fabric_msg_format(&m, again, sizeof(again)) < 0)
		return 0;
	if (fabric_msg_parse(again, &m2) < 0 || m2.type != m.type || m2.tag != m.tag)
		abort();
	return 0;
}
