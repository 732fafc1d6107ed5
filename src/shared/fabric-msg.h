/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The FAME-Z mailbox messages: ASCII words, some with "Key=Value,..." arguments. Parsing and
 * formatting, no I/O.
 */

typedef enum FabricMsgType {
	FABRIC_MSG_UNKNOWN,        /* anything else: logged, never fatal */
	FABRIC_MSG_PING,           /* "ping" */
	FABRIC_MSG_PONG,           /* "pong" */
	FABRIC_MSG_PEER_ATTRIBUTE, /* "Link CTL Peer-Attribute": asks for the attributes */
	FABRIC_MSG_ATTRIBUTE_ACK,  /* "Link CTL ACK C-Class=Switch,SID0=27,CID0=1500" */
	FABRIC_MSG_LINK_RFC,       /* "Link RFC TTC=27us": ready for configuration */
	FABRIC_MSG_CTL_WRITE, /* "CTL-Write Space=0,PFMSID=..,PFMCID=..,SID=..,CID=..,Tag=.." */
	FABRIC_MSG_STANDALONE_ACK, /* "Standalone Acknowledgment Tag=5,Reason=OK" */
} FabricMsgType;

#define FABRIC_CCLASS_MAX 32

typedef struct FabricMsg {
	FabricMsgType type;
	/* FABRIC_MSG_ATTRIBUTE_ACK */
	char cclass[FABRIC_CCLASS_MAX];
	uint64_t sid0, cid0;
	bool has_sid0, has_cid0;
	/* FABRIC_MSG_LINK_RFC */
	uint64_t ttc_usec;
	/* FABRIC_MSG_CTL_WRITE */
	uint64_t space, pfmsid, pfmcid, sid, cid;
	/* FABRIC_MSG_CTL_WRITE, FABRIC_MSG_STANDALONE_ACK */
	uint64_t tag;
	bool has_tag;
	/* FABRIC_MSG_STANDALONE_ACK */
	bool reason_ok;
} FabricMsg;

/*
 * Parses one message. Returns 0 with m->type set (FABRIC_MSG_UNKNOWN for text that is no known
 * message), or -EBADMSG for a known message with missing or malformed arguments.
 */
int fabric_msg_parse(const char *text, FabricMsg *m);

/* Formats m into buf; returns the length, or -ENOSPC / -EINVAL. */
int fabric_msg_format(const FabricMsg *m, char *buf, size_t size);

const char *fabric_msg_type_to_string(FabricMsgType type);
