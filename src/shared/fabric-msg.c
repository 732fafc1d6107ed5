/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fabric-msg.h"
#include "size.h"

#define PREFIX_ATTRIBUTE_ACK "Link CTL ACK "
#define PREFIX_ATTRIBUTE_NAK "Link CTL NAK"
#define TRACKER "!EZT="
#define PREFIX_LINK_RFC "Link RFC "
#define PREFIX_CTL_WRITE "CTL-Write "
#define PREFIX_STANDALONE_ACK "Standalone Acknowledgment "

const char *fabric_msg_type_to_string(FabricMsgType type)
{
	switch (type) {
	case FABRIC_MSG_PING:
		return "ping";
	case FABRIC_MSG_PONG:
		return "pong";
	case FABRIC_MSG_PEER_ATTRIBUTE:
		return "peer-attribute";
	case FABRIC_MSG_ATTRIBUTE_ACK:
		return "attribute-ack";
	case FABRIC_MSG_ATTRIBUTE_NAK:
		return "attribute-nak";
	case FABRIC_MSG_LINK_RFC:
		return "link-rfc";
	case FABRIC_MSG_CTL_WRITE:
		return "ctl-write";
	case FABRIC_MSG_STANDALONE_ACK:
		return "standalone-ack";
	case FABRIC_MSG_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Calls f for every "Key=Value" of a comma-separated list; -EBADMSG for an item without '='. */
static int for_each_pair(const char *args,
			 int (*f)(FabricMsg *m, const char *key, size_t key_len, const char *value,
				  size_t value_len),
			 FabricMsg *m)
{
	const char *p = args;

	if (!*p)
		return -EBADMSG;
	while (*p) {
		const char *end = strchr(p, ',');
		const char *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int r;

		eq = memchr(p, '=', len);
		if (!eq || eq == p)
			return -EBADMSG;
		r = f(m, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1);
		if (r < 0)
			return r;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(key, name, len) == 0;
}

static int parse_number(const char *value, size_t len, uint64_t *ret)
{
	char buf[24];

	if (len == 0 || len >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, value, len);
	buf[len] = '\0';
	return parse_uint(buf, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
}

static int attribute_pair(FabricMsg *m, const char *key, size_t key_len, const char *value,
			  size_t value_len)
{
	if (key_is(key, key_len, "cclass") || key_is(key, key_len, "C-Class")) {
		if (value_len == 0 || value_len >= FABRIC_CCLASS_MAX)
			return -EBADMSG;
		for (size_t i = 0; i < value_len; i++)
			if (!isalnum((unsigned char)value[i]) && value[i] != '-' && value[i] != '_')
				return -EBADMSG;
		memcpy(m->cclass, value, value_len);
		m->cclass[value_len] = '\0';
	} else if (key_is(key, key_len, "SID0")) {
		m->has_sid0 = true;
		return parse_number(value, value_len, &m->sid0);
	} else if (key_is(key, key_len, "CID0")) {
		m->has_cid0 = true;
		return parse_number(value, value_len, &m->cid0);
	}
	return 0; /* attributes we do not know are ignored */
}

static int ctl_write_pair(FabricMsg *m, const char *key, size_t key_len, const char *value,
			  size_t value_len)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "Space", offsetof(FabricMsg, space) },
		{ "PFMSID", offsetof(FabricMsg, pfmsid) },
		{ "PFMCID", offsetof(FabricMsg, pfmcid) },
		{ "SID", offsetof(FabricMsg, sid) },
		{ "CID", offsetof(FabricMsg, cid) },
		{ "Tag", offsetof(FabricMsg, tag) },
	};

	if (key_is(key, key_len, "Tag"))
		m->has_tag = true;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (key_is(key, key_len, fields[i].name))
			return parse_number(value, value_len,
					    (uint64_t *)((char *)m + fields[i].offset));
	return 0;
}

static int standalone_pair(FabricMsg *m, const char *key, size_t key_len, const char *value,
			   size_t value_len)
{
	if (key_is(key, key_len, "Tag")) {
		m->has_tag = true;
		return parse_number(value, value_len, &m->tag);
	}
	if (key_is(key, key_len, "Reason"))
		m->reason_ok = value_len == 2 && memcmp(value, "OK", 2) == 0;
	return 0;
}

static int parse_rfc(const char *args, FabricMsg *m)
{
	size_t len = strlen(args);

	/* "TTC=<n>us" */
	if (strncmp(args, "TTC=", 4) != 0 || len < 7 || strcmp(args + len - 2, "us") != 0)
		return -EBADMSG;
	return parse_number(args + 4, len - 6, &m->ttc_usec);
}

static bool has_prefix(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Cuts a trailing "!EZT=<digits>" off text, and the blanks before it. */
static void strip_tracker(char *text)
{
	char *t = strstr(text, TRACKER), *next;

	if (!t)
		return;
	while ((next = strstr(t + 1, TRACKER)))
		t = next;
	if (!t[strlen(TRACKER)] || strspn(t + strlen(TRACKER), "0123456789") !=
					   strlen(t + strlen(TRACKER)))
		return;
	while (t > text && t[-1] == ' ')
		t--;
	*t = '\0';
}

int fabric_msg_parse(const char *full_text, FabricMsg *m)
{
	char text[FABRIC_TEXT_MAX];
	int r;

	memset(m, 0, sizeof(*m));
	if (strlen(full_text) >= sizeof(text))
		return -EMSGSIZE;
	strcpy(text, full_text);
	strip_tracker(text);

	if (strcmp(text, "ping") == 0)
		m->type = FABRIC_MSG_PING;
	else if (strcmp(text, "pong") == 0)
		m->type = FABRIC_MSG_PONG;
	else if (strcmp(text, "Link CTL Peer-Attribute") == 0)
		m->type = FABRIC_MSG_PEER_ATTRIBUTE;
	else if (has_prefix(text, PREFIX_ATTRIBUTE_ACK)) {
		m->type = FABRIC_MSG_ATTRIBUTE_ACK;
		r = for_each_pair(text + strlen(PREFIX_ATTRIBUTE_ACK), attribute_pair, m);
		if (r < 0 || !m->cclass[0])
			return -EBADMSG;
	} else if (has_prefix(text, PREFIX_ATTRIBUTE_NAK) &&
		   (!text[strlen(PREFIX_ATTRIBUTE_NAK)] || text[strlen(PREFIX_ATTRIBUTE_NAK)] == ' ')) {
		m->type = FABRIC_MSG_ATTRIBUTE_NAK;
	} else if (has_prefix(text, PREFIX_LINK_RFC)) {
		m->type = FABRIC_MSG_LINK_RFC;
		return parse_rfc(text + strlen(PREFIX_LINK_RFC), m);
	} else if (has_prefix(text, PREFIX_CTL_WRITE)) {
		m->type = FABRIC_MSG_CTL_WRITE;
		r = for_each_pair(text + strlen(PREFIX_CTL_WRITE), ctl_write_pair, m);
		if (r < 0 || !m->has_tag)
			return -EBADMSG;
	} else if (has_prefix(text, PREFIX_STANDALONE_ACK)) {
		m->type = FABRIC_MSG_STANDALONE_ACK;
		r = for_each_pair(text + strlen(PREFIX_STANDALONE_ACK), standalone_pair, m);
		if (r < 0 || !m->has_tag)
			return -EBADMSG;
	} else
		m->type = FABRIC_MSG_UNKNOWN;
	return 0;
}

int fabric_msg_format(const FabricMsg *m, char *buf, size_t size)
{
	int n;

	switch (m->type) {
	case FABRIC_MSG_PING:
		n = snprintf(buf, size, "ping");
		break;
	case FABRIC_MSG_PONG:
		n = snprintf(buf, size, "pong");
		break;
	case FABRIC_MSG_PEER_ATTRIBUTE:
		n = snprintf(buf, size, "Link CTL Peer-Attribute");
		break;
	case FABRIC_MSG_ATTRIBUTE_ACK:
		n = snprintf(buf, size, PREFIX_ATTRIBUTE_ACK "cclass=%s,CID0=%llu,SID0=%llu",
			     m->cclass, (unsigned long long)m->cid0, (unsigned long long)m->sid0);
		break;
	case FABRIC_MSG_ATTRIBUTE_NAK:
		n = snprintf(buf, size, PREFIX_ATTRIBUTE_NAK);
		break;
	case FABRIC_MSG_LINK_RFC:
		n = snprintf(buf, size, PREFIX_LINK_RFC "TTC=%lluus",
			     (unsigned long long)m->ttc_usec);
		break;
	case FABRIC_MSG_CTL_WRITE:
		n = snprintf(buf, size,
			     PREFIX_CTL_WRITE
			     "Space=%llu,PFMCID=%llu,PFMSID=%llu,CID=%llu,SID=%llu,"
			     "Tag=%llu",
			     (unsigned long long)m->space, (unsigned long long)m->pfmcid,
			     (unsigned long long)m->pfmsid, (unsigned long long)m->cid,
			     (unsigned long long)m->sid, (unsigned long long)m->tag);
		break;
	case FABRIC_MSG_STANDALONE_ACK:
		n = snprintf(buf, size, PREFIX_STANDALONE_ACK "Tag=%llu,Reason=%s",
			     (unsigned long long)m->tag, m->reason_ok ? "OK" : "Error");
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
