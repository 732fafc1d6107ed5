/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The routing envelope: how a message crosses switches. It lives in the bytes a FAME-Z slot
 * leaves unused between the peer CID and the message (104..127), so FAME-Z's own tools, which
 * never write there, see nothing new (docs/fabric.md).
 *
 *   offset  size  field
 *   104     4     magic "FZE1" (bytes 'F' 'Z' 'E' '1'); anything else: no envelope
 *   108     1     type: 1 route (peer -> its switch), 2 deliver (switch -> peer),
 *                 3 directed, 4 directed deliver (below)
 *   109     1     status, written by the switch into a route request's slot before it
 *                 acknowledges it: 0 pending, then an EnvelopeStatus
 *   110     1     hops: links crossed so far (deliver)
 *   111     1     not the envelope's: the message's addressee (mailbox.h), with or without one
 *   112     2     destination CID (12 bits), little-endian
 *   114     2     destination SID
 *   116     2     origin CID: written by the switch (deliver); a peer's is ignored
 *   118     2     origin SID
 *   120     8     0
 *
 * Directed relay (types 3 and 4) reaches components by the ports a message leaves by, not by
 * CID: how a fabric manager reaches what has no CID yet. Bytes 110..127 then hold:
 *   110     1     path length, 0..16
 *   111     1     the addressee, as above
 *   112     16    path: the egress port at each switch in turn, from the sender's switch on;
 *                 bytes beyond the length are 0
 * A directed request (3) with an empty path is for the sender's switch itself; [p] for what
 * is on its port p (a client, or the switch a link there leads to); [p, q] goes out of p, then
 * out of port q of the switch it reaches, and so on. What the switch delivers (4) carries the
 * path back: the ports the request came in by, last first, which is what an answer sends as
 * its own directed request. Directed messages carry no origin.
 *
 * A sender writes the envelope with the text, before the length; a sender with nothing to
 * route clears it (a stale one would misname the origin). Every byte is untrusted: readers
 * copy the 24 bytes once and validate the copy.
 */

#define ENVELOPE_OFFSET 104
#define ENVELOPE_SIZE 24
#define ENVELOPE_MAGIC "FZE1"
#define ENVELOPE_HOPS_MAX 63 /* a Gen-Z hop count is 6 bits */
#define ENVELOPE_PATH_MAX 16

typedef enum EnvelopeType {
	ENVELOPE_NONE = 0,
	ENVELOPE_ROUTE = 1,            /* a peer asks its switch to route the text to dest */
	ENVELOPE_DELIVER = 2,          /* a switch delivers the text of origin */
	ENVELOPE_DIRECTED = 3,         /* a peer asks its switch to relay the text along path */
	ENVELOPE_DIRECTED_DELIVER = 4, /* a switch delivers a directed text, with the way back */
} EnvelopeType;

/* What the switch made of a route request: written into the sender's slot with the ack. */
typedef enum EnvelopeStatus {
	ENVELOPE_STATUS_PENDING = 0,
	ENVELOPE_STATUS_OK = 1,             /* taken: on its way to the destination */
	ENVELOPE_STATUS_NO_ROUTE = 2,       /* no route to the destination's CID or SID */
	ENVELOPE_STATUS_UNREACHABLE = 3,    /* routed, but no component holds that CID */
	ENVELOPE_STATUS_HOP_LIMIT = 4,      /* the routes loop: the hop count ran out */
	ENVELOPE_STATUS_NOT_CONFIGURED = 5, /* the sender has no CID yet (Link RFC first) */
	ENVELOPE_STATUS_MALFORMED = 6,      /* a bad envelope or text */
	ENVELOPE_STATUS_RELAY_DISABLED = 7, /* a switch on the way has its relay disabled */
	ENVELOPE_STATUS_MAX_,
} EnvelopeStatus;

typedef struct Envelope {
	EnvelopeType type;
	EnvelopeStatus status;
	uint8_t hops;
	uint16_t dest_cid, dest_sid;
	uint16_t origin_cid, origin_sid;
	/* ENVELOPE_DIRECTED, ENVELOPE_DIRECTED_DELIVER: ports, the hops and CIDs unused */
	uint8_t path_len;
	uint8_t path[ENVELOPE_PATH_MAX];
} Envelope;

static inline bool envelope_is_directed(const Envelope *e)
{
	return e->type == ENVELOPE_DIRECTED || e->type == ENVELOPE_DIRECTED_DELIVER;
}

/* Writes e into bytes 104..127 of slot (all of them, the addressee's 0: it is written next). */
void envelope_write(uint8_t *slot, const Envelope *e);
/* Zeroes bytes 104..127 of slot: a message with no envelope (and no addressee yet). */
void envelope_clear(uint8_t *slot);
/*
 * Copies the envelope out of slot and validates the copy: 0 with *e, -ENOMSG when there is
 * none (no magic), -EBADMSG when the magic is there but a field is out of range (type, status,
 * hops, a CID over 12 bits, reserved bytes not 0); the addressee's byte is not looked at.
 */
int envelope_read(const uint8_t *slot, Envelope *e);
/* The switch's verdict on a route request, written before it acknowledges the slot. */
void envelope_set_status(uint8_t *slot, EnvelopeStatus status);
/* The status byte of slot, whatever the rest says (ENVELOPE_STATUS_MALFORMED if out of range). */
EnvelopeStatus envelope_get_status(const uint8_t *slot);
/*
 * "ok", "no-route", "unreachable", "hop-limit", "not-configured", "malformed",
 * "relay-disabled", "pending".
 */
const char *envelope_status_to_string(EnvelopeStatus status);
