/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "fabric-msg.h"
#include "strutil.h"

#define PREFIX_ATTRIBUTE_ACK "Link CTL ACK "
#define PREFIX_ATTRIBUTE_NAK "Link CTL NAK"
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

static int parse_number(const char *value, size_t len, uint64_t *ret)
{
	return str_parse_uint(value, len, false, ret) < 0 ? -EBADMSG : 0;
}

static int attribute_pair(void *userdata, const char *key, size_t key_len, const char *value,
			  size_t value_len)
{
	FabricMsg *m = userdata;

	if (str_key_is(key, key_len, "cclass") || str_key_is(key, key_len, "C-Class")) {
		if (value_len == 0 || value_len >= FABRIC_CCLASS_MAX)
			return -EBADMSG;
		for (size_t i = 0; i < value_len; i++)
			if (!isalnum((unsigned char)value[i]) && value[i] != '-' && value[i] != '_')
				return -EBADMSG;
		memcpy(m->cclass, value, value_len);
		m->cclass[value_len] = '\0';
	} else if (str_key_is(key, key_len, "SID0")) {
		m->has_sid0 = true;
		return parse_number(value, value_len, &m->sid0);
	} else if (str_key_is(key, key_len, "CID0")) {
		m->has_cid0 = true;
		return parse_number(value, value_len, &m->cid0);
	} else if (str_key_is(key, key_len, "PFMCID")) {
		m->has_pfm = true;
		return parse_number(value, value_len, &m->pfmcid);
	} else if (str_key_is(key, key_len, "PFMSID")) {
		m->has_pfm = true;
		return parse_number(value, value_len, &m->pfmsid);
	}
	return 0; /* attributes we do not know are ignored */
}

static int ctl_write_pair(void *userdata, const char *key, size_t key_len, const char *value,
			  size_t value_len)
{
	FabricMsg *m = userdata;
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

	if (str_key_is(key, key_len, "Tag"))
		m->has_tag = true;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (str_key_is(key, key_len, fields[i].name))
			return parse_number(value, value_len,
					    (uint64_t *)((char *)m + fields[i].offset));
	return 0;
}

static int standalone_pair(void *userdata, const char *key, size_t key_len, const char *value,
			   size_t value_len)
{
	FabricMsg *m = userdata;

	if (str_key_is(key, key_len, "Tag")) {
		m->has_tag = true;
		return parse_number(value, value_len, &m->tag);
	}
	if (str_key_is(key, key_len, "Reason"))
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

int fabric_msg_parse(const char *full_text, FabricMsg *m)
{
	char text[FABRIC_TEXT_MAX];
	int r;

	memset(m, 0, sizeof(*m));
	if (strlen(full_text) >= sizeof(text))
		return -EMSGSIZE;
	strcpy(text, full_text);
	str_strip_tracker(text);

	if (strcmp(text, "ping") == 0)
		m->type = FABRIC_MSG_PING;
	else if (strcmp(text, "pong") == 0)
		m->type = FABRIC_MSG_PONG;
	else if (strcmp(text, "Link CTL Peer-Attribute") == 0)
		m->type = FABRIC_MSG_PEER_ATTRIBUTE;
	else if (str_has_prefix(text, PREFIX_ATTRIBUTE_ACK)) {
		m->type = FABRIC_MSG_ATTRIBUTE_ACK;
		r = str_for_each_pair(text + strlen(PREFIX_ATTRIBUTE_ACK), attribute_pair, m);
		if (r < 0 || !m->cclass[0])
			return -EBADMSG;
	} else if (str_has_prefix(text, PREFIX_ATTRIBUTE_NAK) &&
		   (!text[strlen(PREFIX_ATTRIBUTE_NAK)] ||
		    text[strlen(PREFIX_ATTRIBUTE_NAK)] == ' ')) {
		m->type = FABRIC_MSG_ATTRIBUTE_NAK;
	} else if (str_has_prefix(text, PREFIX_LINK_RFC)) {
		m->type = FABRIC_MSG_LINK_RFC;
		return parse_rfc(text + strlen(PREFIX_LINK_RFC), m);
	} else if (str_has_prefix(text, PREFIX_CTL_WRITE)) {
		m->type = FABRIC_MSG_CTL_WRITE;
		r = str_for_each_pair(text + strlen(PREFIX_CTL_WRITE), ctl_write_pair, m);
		if (r < 0 || !m->has_tag)
			return -EBADMSG;
	} else if (str_has_prefix(text, PREFIX_STANDALONE_ACK)) {
		m->type = FABRIC_MSG_STANDALONE_ACK;
		r = str_for_each_pair(text + strlen(PREFIX_STANDALONE_ACK), standalone_pair, m);
		if (r < 0 || !m->has_tag)
			return -EBADMSG;
	} else
		m->type = FABRIC_MSG_UNKNOWN;
	return 0;
}

int fabric_msg_format(const FabricMsg *m, char *buf, size_t size)
{
	switch (m->type) {
	case FABRIC_MSG_PING:
		return str_format(buf, size, "ping");
	case FABRIC_MSG_PONG:
		return str_format(buf, size, "pong");
	case FABRIC_MSG_PEER_ATTRIBUTE:
		return str_format(buf, size, "Link CTL Peer-Attribute");
	case FABRIC_MSG_ATTRIBUTE_ACK:
		if (m->no_ids)
			return str_format(buf, size, PREFIX_ATTRIBUTE_ACK "cclass=%s", m->cclass);
		if (m->has_pfm)
			return str_format(
				buf, size,
				PREFIX_ATTRIBUTE_ACK
				"cclass=%s,CID0=%llu,SID0=%llu,PFMCID=%llu,PFMSID=%llu",
				m->cclass, (unsigned long long)m->cid0, (unsigned long long)m->sid0,
				(unsigned long long)m->pfmcid, (unsigned long long)m->pfmsid);
		return str_format(buf, size, PREFIX_ATTRIBUTE_ACK "cclass=%s,CID0=%llu,SID0=%llu",
				  m->cclass, (unsigned long long)m->cid0,
				  (unsigned long long)m->sid0);
	case FABRIC_MSG_ATTRIBUTE_NAK:
		return str_format(buf, size, PREFIX_ATTRIBUTE_NAK);
	case FABRIC_MSG_LINK_RFC:
		return str_format(buf, size, PREFIX_LINK_RFC "TTC=%lluus",
				  (unsigned long long)m->ttc_usec);
	case FABRIC_MSG_CTL_WRITE:
		return str_format(buf, size,
				  PREFIX_CTL_WRITE
				  "Space=%llu,PFMCID=%llu,PFMSID=%llu,CID=%llu,SID=%llu,"
				  "Tag=%llu",
				  (unsigned long long)m->space, (unsigned long long)m->pfmcid,
				  (unsigned long long)m->pfmsid, (unsigned long long)m->cid,
				  (unsigned long long)m->sid, (unsigned long long)m->tag);
	case FABRIC_MSG_STANDALONE_ACK:
		return str_format(buf, size, PREFIX_STANDALONE_ACK "Tag=%llu,Reason=%s",
				  (unsigned long long)m->tag, m->reason_ok ? "OK" : "Error");
	default:
		break;
	}
	return -EINVAL;
}
