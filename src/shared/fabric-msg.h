/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The FAME-Z mailbox messages, as FAME-Z's last published tools speak them: ASCII words, some
 * with comma-separated "Key=Value" arguments in any order, and perhaps a "!EZT=<n>" tracker at
 * the end (FAME-Z appends one to every message; it means nothing to the receiver). Parsing and
 * formatting, no I/O.
 */

typedef enum FabricMsgType {
	FABRIC_MSG_UNKNOWN,        /* anything else: logged, never fatal */
	FABRIC_MSG_PING,           /* "ping" */
	FABRIC_MSG_PONG,           /* "pong" */
	FABRIC_MSG_PEER_ATTRIBUTE, /* "Link CTL Peer-Attribute": asks for the attributes */
	FABRIC_MSG_ATTRIBUTE_ACK,  /* "Link CTL ACK cclass=FabricSwitch,CID0=1500,SID0=27" */
	FABRIC_MSG_ATTRIBUTE_NAK,  /* "Link CTL NAK <details>": a refusal */
	FABRIC_MSG_LINK_RFC,       /* "Link RFC TTC=27us": ready for configuration */
	FABRIC_MSG_CTL_WRITE, /* "CTL-Write Space=0,PFMCID=..,PFMSID=..,CID=..,SID=..,Tag=.." */
	FABRIC_MSG_STANDALONE_ACK, /* "Standalone Acknowledgment Tag=5,Reason=OK" */
} FabricMsgType;

#define FABRIC_CCLASS_MAX 32 /* including the NUL, as in a mailbox slot */
#define FABRIC_CID_MAX 0xfff /* a Gen-Z component ID is 12 bits */
#define FABRIC_SID_MAX 0xffff

/*
 * The component ID a fabric manager gives ID id of a fabric whose server is server_id:
 * FAME-Z's ID x 100 while every ID's fits in 12 bits (server ID 40, so 39 client slots, at
 * most), ID x 16 beyond (4080 for ID 255). Distinct for distinct IDs of one fabric.
 */
static inline uint64_t fabric_cid(unsigned server_id, unsigned id)
{
	return (uint64_t)id * (server_id * 100 <= FABRIC_CID_MAX ? 100 : 16);
}
#define FABRIC_TEXT_MAX 512  /* the longest text parsed, including the NUL */

typedef struct FabricMsg {
	FabricMsgType type;
	/* FABRIC_MSG_ATTRIBUTE_ACK */
	char cclass[FABRIC_CCLASS_MAX];
	uint64_t sid0, cid0;
	bool has_sid0, has_cid0;
	bool no_ids; /* formatting: a component with no CID yet (C-CFG): no CID0, SID0 */
	/* FABRIC_MSG_ATTRIBUTE_ACK: PFMCID=,PFMSID= (famez's): who configured it, if anyone */
	bool has_pfm;
	/* FABRIC_MSG_LINK_RFC */
	uint64_t ttc_usec;
	/* FABRIC_MSG_CTL_WRITE; pfmsid, pfmcid also FABRIC_MSG_ATTRIBUTE_ACK's (has_pfm) */
	uint64_t space, pfmsid, pfmcid, sid, cid;
	/* FABRIC_MSG_CTL_WRITE, FABRIC_MSG_STANDALONE_ACK */
	uint64_t tag;
	bool has_tag;
	/* FABRIC_MSG_STANDALONE_ACK */
	bool reason_ok;
} FabricMsg;

/*
 * Parses one message, its tracker ignored. Returns 0 with m->type set (FABRIC_MSG_UNKNOWN for
 * text that is no known message), -EBADMSG for a known message with missing or malformed
 * arguments, -EMSGSIZE for a text of FABRIC_TEXT_MAX bytes or more. The attributes' C-Class is
 * read as "cclass" (FAME-Z's Python tools) or "C-Class" (its kernel driver).
 */
int fabric_msg_parse(const char *text, FabricMsg *m);

/* Formats m into buf; returns the length, or -ENOSPC / -EINVAL. */
int fabric_msg_format(const FabricMsg *m, char *buf, size_t size);

const char *fabric_msg_type_to_string(FabricMsgType type);

/*
 * What the server knows of one peer on the fabric, from the messages they exchanged; kept
 * across restarts (state-format.h).
 */
typedef struct FabricPeer {
	char cclass[FABRIC_CCLASS_MAX]; /* from its Link CTL ACK; "" until then */
	uint64_t sid0, cid0;            /* the same */
	uint64_t rfc_tag;      /* the CTL-Write tag awaiting its Standalone Acknowledgment, or 0 */
	bool configured;       /* it acknowledged a CTL-Write: its SID and CID are fabric_cid()'s */
	/* Under an external manager: the manager its Link CTL ACK names (PFMCID, PFMSID). */
	uint16_t pfm_cid, pfm_sid;
	bool has_pfm;
	bool attributes_asked; /* we sent it Link CTL Peer-Attribute and await its ACK */
	bool attributes_lost;  /* our Peer-Attribute request to it went unacknowledged */
	uint64_t known_ids[4]; /* IDs this peer has been given eventfds for (256 bits) */
	uint64_t messages_received, messages_sent, messages_unacknowledged;
} FabricPeer;
