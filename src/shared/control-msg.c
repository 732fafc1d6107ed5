/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "control-msg.h"
#include "fabric-msg.h"
#include "macro.h"
#include "strutil.h"

/* The keys of the messages, as bits of a set. Space is FAME-Z's CTL-Write's, never ours. */
enum {
	KEY_OFFSET,
	KEY_LENGTH,
	KEY_DATA,
	KEY_TAG,
	KEY_REASON,
	KEY_SPACE,
	KEY_MAX_,
};

#define KEY(k) (1u << (k))

static const char *const key_names[KEY_MAX_] = {
	[KEY_OFFSET] = "Offset", [KEY_LENGTH] = "Length", [KEY_DATA] = "Data",
	[KEY_TAG] = "Tag",       [KEY_REASON] = "Reason", [KEY_SPACE] = "Space",
};

/* The largest value of each numeric key. */
static const uint64_t key_max[KEY_MAX_] = {
	[KEY_OFFSET] = CONTROL_OFFSET_MAX,
	[KEY_LENGTH] = CONTROL_DATA_MAX,
	[KEY_TAG] = CONTROL_TAG_MAX,
};

static const struct {
	ControlMsgType type;
	const char *word;
	unsigned keys; /* the keys it takes, each of them once */
} messages[] = {
	{ CONTROL_MSG_READ, "CTL-Read", KEY(KEY_OFFSET) | KEY(KEY_LENGTH) | KEY(KEY_TAG) },
	{ CONTROL_MSG_WRITE, "CTL-Write", KEY(KEY_OFFSET) | KEY(KEY_DATA) | KEY(KEY_TAG) },
	{ CONTROL_MSG_READ_RESPONSE, "CTL-Read-Response", KEY(KEY_TAG) | KEY(KEY_DATA) },
	{ CONTROL_MSG_ACK, "Standalone Acknowledgment", KEY(KEY_TAG) | KEY(KEY_REASON) },
};

static const char *const reason_names[CONTROL_REASON_MAX_] = {
	[CONTROL_OK] = "OK",
	[CONTROL_MALFORMED] = "Malformed",
	[CONTROL_OUT_OF_RANGE] = "OutOfRange",
	[CONTROL_READ_ONLY] = "ReadOnly",
	[CONTROL_TAG_REUSED] = "TagReused",
	[CONTROL_UNSUPPORTED] = "Unsupported",
};

const char *control_reason_to_string(ControlReason r)
{
	return (unsigned)r < CONTROL_REASON_MAX_ ? reason_names[r] : "Unknown";
}

typedef struct Parse {
	ControlMsg *m;
	unsigned keys; /* what the message takes */
	unsigned seen; /* the keys met, those it does not take included */
	bool bad;      /* a key unknown, repeated, or with a bad value */
} Parse;

static int parse_data(ControlMsg *m, const char *value, size_t len)
{
	if (len == 0 || len % 2 || len > 2 * CONTROL_DATA_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < len; i += 2) {
		int hi = str_hex_digit(value[i]), lo = str_hex_digit(value[i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		m->data[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	m->length = (uint32_t)(len / 2);
	return 0;
}

static int parse_value(ControlMsg *m, unsigned key, const char *value, size_t len)
{
	uint64_t v;

	if (key == KEY_DATA)
		return parse_data(m, value, len);
	if (key == KEY_REASON) {
		if (len == 0)
			return -EBADMSG;
		m->reason = CONTROL_REASON_MAX_;
		for (unsigned r = 0; r < CONTROL_REASON_MAX_; r++)
			if (str_key_is(value, len, reason_names[r]))
				m->reason = (ControlReason)r;
		return 0;
	}
	if (str_parse_uint(value, len, true, &v) < 0 || v > key_max[key])
		return -EBADMSG;
	if (key == KEY_OFFSET)
		m->offset = v;
	else if (key == KEY_LENGTH)
		m->length = (uint32_t)v;
	else {
		m->tag = (uint16_t)v;
		m->has_tag = true;
	}
	return 0;
}

/* Never stops the list on a bad pair: the tag may come after it. */
static int control_pair(void *userdata, const char *key, size_t key_len, const char *value,
			size_t value_len)
{
	Parse *p = userdata;
	unsigned k = 0;

	while (k < KEY_MAX_ && !str_key_is(key, key_len, key_names[k]))
		k++;
	if (k == KEY_MAX_ || (p->seen & KEY(k))) {
		p->bad = true;
		return 0;
	}
	p->seen |= KEY(k);
	if (!(p->keys & KEY(k)) || parse_value(p->m, k, value, value_len) < 0)
		p->bad = true;
	return 0;
}

int control_msg_parse(const char *full_text, ControlMsg *m)
{
	char text[FABRIC_TEXT_MAX];
	Parse p = { .m = m };
	const char *args;
	size_t i, n = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (strnlen(full_text, sizeof(text)) >= sizeof(text))
		return -EMSGSIZE;
	strcpy(text, full_text);
	str_strip_tracker(text);

	for (i = 0; i < ELEMENTSOF(messages); i++) {
		n = strlen(messages[i].word);
		if (str_has_prefix(text, messages[i].word) && (text[n] == ' ' || !text[n]))
			break;
	}
	if (i == ELEMENTSOF(messages))
		return 0;
	m->type = messages[i].type;
	p.keys = messages[i].keys;
	args = text + n + (text[n] == ' ');

	r = str_for_each_pair(args, control_pair, &p);
	if (m->type == CONTROL_MSG_WRITE && (p.seen & KEY(KEY_SPACE)) &&
	    !(p.seen & KEY(KEY_OFFSET))) {
		memset(m, 0, sizeof(*m)); /* FAME-Z's CTL-Write (fabric-msg.h) */
		return 0;
	}
	/* str_for_each_pair() lets one comma at the end through: the grammar does not. */
	if (r < 0 || p.bad || p.seen != p.keys || args[strlen(args) - 1] == ',')
		return -EBADMSG;
	return 0;
}

/* The data of m as hex digits into out; false when m has none or more than it may. */
static bool data_to_hex(const ControlMsg *m, char out[2 * CONTROL_DATA_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";

	if (m->length == 0 || m->length > CONTROL_DATA_MAX)
		return false;
	for (uint32_t i = 0; i < m->length; i++) {
		out[2 * i] = hex[m->data[i] >> 4];
		out[2 * i + 1] = hex[m->data[i] & 0xf];
	}
	out[2 * m->length] = '\0';
	return true;
}

/* A read of length 0 formats: it is malformed for the component (OutOfRange), not the grammar. */
int control_msg_format(const ControlMsg *m, char *buf, size_t size)
{
	char data[2 * CONTROL_DATA_MAX + 1];
	bool offset_ok = m->offset <= CONTROL_OFFSET_MAX;

	if (m->tag > CONTROL_TAG_MAX)
		return -EINVAL;
	switch (m->type) {
	case CONTROL_MSG_READ:
		if (!offset_ok || m->length > CONTROL_DATA_MAX)
			return -EINVAL;
		return str_format(buf, size,
				  "CTL-Read Offset=0x%" PRIx64 ",Length=%" PRIu32 ",Tag=%u",
				  m->offset, m->length, (unsigned)m->tag);
	case CONTROL_MSG_WRITE:
		if (!offset_ok || !data_to_hex(m, data))
			return -EINVAL;
		return str_format(buf, size, "CTL-Write Offset=0x%" PRIx64 ",Data=%s,Tag=%u",
				  m->offset, data, (unsigned)m->tag);
	case CONTROL_MSG_READ_RESPONSE:
		if (!data_to_hex(m, data))
			return -EINVAL;
		return str_format(buf, size, "CTL-Read-Response Tag=%u,Data=%s", (unsigned)m->tag,
				  data);
	case CONTROL_MSG_ACK:
		if ((unsigned)m->reason >= CONTROL_REASON_MAX_)
			return -EINVAL;
		return str_format(buf, size, "Standalone Acknowledgment Tag=%u,Reason=%s",
				  (unsigned)m->tag, reason_names[m->reason]);
	default:
		break;
	}
	return -EINVAL;
}
