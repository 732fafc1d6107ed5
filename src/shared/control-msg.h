/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Control requests and responses over the mailbox (docs/fabric.md, "Control space"), in the
 * text style of the rest of the FAME-Z grammar. Parsing and formatting, no I/O.
 *
 *   CTL-Read Offset=0x1b0,Length=16,Tag=7
 *   CTL-Write Offset=0xc0,Data=0100000064000000,Tag=8
 *   CTL-Read-Response Tag=7,Data=<2 * Length hex digits>
 *   Standalone Acknowledgment Tag=8,Reason=OK
 *
 * Keys are order-free and case-sensitive, numbers decimal or 0x-hexadecimal, Data an even
 * number of hex digits (either case) with nothing else, a "!EZT=<n>" tracker at the end is
 * ignored. FAME-Z's own CTL-Write (Space=0 with named fields, fabric-msg.h) is not one of these:
 * a CTL-Write with Space= and no Offset= parses as CONTROL_MSG_NONE.
 *
 * A read is answered by a read response, or by a standalone acknowledgment with a reason
 * other than OK; a write by a standalone acknowledgment.
 */

#define CONTROL_TAG_MAX 0xfff       /* a Gen-Z tag is 12 bits */
#define CONTROL_DATA_MAX 128        /* bytes one request reads or writes at most */
#define CONTROL_OFFSET_MAX 0xffffffffffULL /* 40 bits: the control space is 1 TiB */

typedef enum ControlMsgType {
	CONTROL_MSG_NONE,          /* not a control message (something else of the grammar) */
	CONTROL_MSG_READ,          /* CTL-Read */
	CONTROL_MSG_WRITE,         /* CTL-Write with Offset= */
	CONTROL_MSG_READ_RESPONSE, /* CTL-Read-Response */
	CONTROL_MSG_ACK,           /* Standalone Acknowledgment (any Reason) */
} ControlMsgType;

/* Why a request was refused: the Reason= of a standalone acknowledgment. */
typedef enum ControlReason {
	CONTROL_OK,            /* "OK" */
	CONTROL_MALFORMED,     /* "Malformed": a key missing or repeated, a bad number or hex */
	CONTROL_OUT_OF_RANGE,  /* "OutOfRange": not within one structure or table, or Length 0 */
	CONTROL_READ_ONLY,     /* "ReadOnly": the write changes a field a manager may not write */
	CONTROL_TAG_REUSED,    /* "TagReused": the tag of one of the requester's recent requests */
	CONTROL_UNSUPPORTED,   /* "Unsupported": a value the component cannot take */
	CONTROL_REASON_MAX_,
} ControlReason;

typedef struct ControlMsg {
	ControlMsgType type;
	uint16_t tag;
	bool has_tag; /* parsed: the tag was read (always, when parsing returns 0 but for NONE) */
	uint64_t offset;               /* READ, WRITE */
	uint32_t length;               /* READ: bytes asked; WRITE, READ_RESPONSE: bytes in data */
	uint8_t data[CONTROL_DATA_MAX]; /* WRITE, READ_RESPONSE */
	ControlReason reason;          /* ACK */
} ControlMsg;

/*
 * Parses text (NUL-terminated, at most FABRIC_TEXT_MAX bytes are looked at): 0 with *m, type
 * CONTROL_MSG_NONE for text that is not a control message; -EBADMSG for a control message
 * that is malformed, with m->type and, when it could be read, m->tag set and m->has_tag true (so
 * the answer can name it); a Length or Data over CONTROL_DATA_MAX, an offset over
 * CONTROL_OFFSET_MAX or a tag over CONTROL_TAG_MAX are malformed. An unknown Reason parses as
 * CONTROL_REASON_MAX_. Text of FABRIC_TEXT_MAX bytes or more: -EMSGSIZE.
 */
int control_msg_parse(const char *text, ControlMsg *m);

/* Formats m into buf (NUL-terminated): the length, or -ENOSPC, -EINVAL for a bad m. */
int control_msg_format(const ControlMsg *m, char *buf, size_t size);

/* "OK", "Malformed", ...; "Unknown" for anything else. */
const char *control_reason_to_string(ControlReason r);
