/* SPDX-License-Identifier: MIT */
/*
 * A control request or response as a hostile peer may write it: any text parses without reading
 * past its end, and any control message that parses formats back to one that parses alike (all
 * but an acknowledgment of a reason we do not know, which does not format).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control-msg.h"
#include "fabric-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), again[FABRIC_TEXT_MAX];
	ControlMsg m, m2;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = control_msg_parse(text, &m);
	free(text);
	if (r == -EBADMSG) {
		if (m.type == CONTROL_MSG_NONE || (m.has_tag && m.tag > CONTROL_TAG_MAX))
			abort();
		return 0;
	}
	if (r == -EMSGSIZE && size >= FABRIC_TEXT_MAX)
		return 0;
	if (r != 0)
		abort();
	if (m.type == CONTROL_MSG_NONE)
		return 0;
	if (!m.has_tag)
		abort();
	r = control_msg_format(&m, again, sizeof(again));
	if (m.type == CONTROL_MSG_ACK && m.reason == CONTROL_REASON_MAX_ && r == -EINVAL)
		return 0;
	if (r <= 0 || control_msg_parse(again, &m2) != 0 || memcmp(&m, &m2, sizeof(m)) != 0)
		abort();
	return 0;
}
