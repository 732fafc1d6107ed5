/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The FAME-Z mailbox at the start of the shared memory, laid out as FAME-Z's last published
 * release (its kernel driver, Python client and Python server) lays it out, so their guests
 * and tools work unchanged.
 *
 * Slot 0 holds globals (little-endian u64); slots 1..server_id belong to one peer ID each, the
 * last one to the server. A sender writes into its own slot and rings the receiver on the vector
 * whose index is the sender's ID; the receiver reads the sender's slot and acknowledges by
 * writing the length back to 0 (famez also writes its own ID in "last responder" first).
 *
 * Everything in the shared memory is untrusted: readers copy, then validate the copy.
 */

#define MAILBOX_SLOT_SIZE 512
#define MAILBOX_MSG_OFFSET 128
#define MAILBOX_MSG_MAX (MAILBOX_SLOT_SIZE - MAILBOX_MSG_OFFSET) /* including the NUL */
#define MAILBOX_NODENAME_MAX 32                                  /* including the NUL */
#define MAILBOX_CCLASS_MAX 32                                    /* including the NUL */

/* Globals, in slot 0. */
#define MAILBOX_GLOBAL_SLOT_SIZE 0
#define MAILBOX_GLOBAL_MSG_OFFSET 8
#define MAILBOX_GLOBAL_CLIENTS 16
#define MAILBOX_GLOBAL_VECTORS 24
#define MAILBOX_GLOBAL_SERVER_ID 32
/* famez's own, zero in FAME-Z's mailbox: what the switch does with envelopes (envelope.h). */
#define MAILBOX_GLOBAL_FLAGS 40
#define MAILBOX_FLAG_ROUTES (UINT64_C(1) << 0)       /* the switch routes envelopes */
#define MAILBOX_FLAG_RELAY_ALWAYS (UINT64_C(1) << 1) /* direct rings reach no one: route all */

/* Fields of slots 1..server_id. */
#define MAILBOX_SLOT_NODENAME 0  /* char[32], written by the slot's peer */
#define MAILBOX_SLOT_CCLASS 32   /* char[32], written by the slot's peer */
#define MAILBOX_SLOT_MSG_LEN 64  /* 0 when the slot is free */
#define MAILBOX_SLOT_PEER_ID 72  /* written by the server: slot N holds N */
#define MAILBOX_SLOT_LAST_RESPONDER 80
#define MAILBOX_SLOT_PEER_SID 88 /* assigned by the fabric manager; 0 until then */
#define MAILBOX_SLOT_PEER_CID 96
/*
 * famez's own, u8, in a byte of the envelope (envelope.h) that FAME-Z leaves as padding: the ID
 * the message is for, written with every message by famez's senders; 0 names nobody (FAME-Z's
 * tools). A receiver rung twice may read a slot again once it holds the next message, for
 * someone else: it leaves a message named for another alone.
 */
#define MAILBOX_SLOT_ADDRESSEE 111

#define MAILBOX_CLIENTS_MAX 254 /* a guest's doorbell reaches vectors 0..255 only */

/* The bytes the mailbox of n_clients client slots occupies. */
static inline size_t mailbox_size(unsigned n_clients)
{
	return ((size_t)n_clients + 2) * MAILBOX_SLOT_SIZE;
}

/* The layout a mapped shared memory advertises in slot 0. */
typedef struct MailboxLayout {
	unsigned n_clients;
	unsigned vectors;
	unsigned server_id;
} MailboxLayout;

/* What the server writes into its own slot. */
typedef struct MailboxIdentity {
	const char *nodename;
	const char *cclass;
	uint64_t sid, cid;
} MailboxIdentity;

/* Writes the globals, every slot's peer ID, and the server's identity into its slot. */
void mailbox_init(uint8_t *base, unsigned n_clients, const MailboxIdentity *server);

/* Whether the mailbox of n_clients still has the globals and slot IDs mailbox_init() wrote. */
bool mailbox_is_laid_out(const uint8_t *base, unsigned n_clients);

/*
 * Reads slot 0 of a shared memory of `size` bytes: 0 with *layout when it holds a FAME-Z mailbox
 * that fits, -ENOMSG when it does not (an ivshmem-mode server).
 */
int mailbox_read_layout(const uint8_t *base, uint64_t size, MailboxLayout *layout);

static inline uint8_t *mailbox_slot(uint8_t *base, unsigned id)
{
	return base + (size_t)id * MAILBOX_SLOT_SIZE;
}

uint64_t mailbox_get_u64(const uint8_t *slot, size_t offset);
void mailbox_set_u64(uint8_t *slot, size_t offset, uint64_t value);

/* Copies the slot's nodename as printable ASCII ("?" for anything else); "" when unset. */
void mailbox_get_nodename(const uint8_t *slot, char out[MAILBOX_NODENAME_MAX]);
void mailbox_set_nodename(uint8_t *slot, const char *nodename);
/* The same for the slot's C-Class. */
void mailbox_get_cclass(const uint8_t *slot, char out[MAILBOX_CCLASS_MAX]);
void mailbox_set_cclass(uint8_t *slot, const char *cclass);

#define MAILBOX_LABEL_MAX 64
/* "nodename@id" of the peer in slot id, as logs and famez-client show it ("?@id" if unnamed). */
const char *mailbox_peer_label(const uint8_t *base, unsigned id, char buf[MAILBOX_LABEL_MAX]);

/* Whether the slot's message has been acknowledged (length 0). */
bool mailbox_slot_is_free(const uint8_t *slot);

/*
 * Copies the message out of a sender's slot for reader (its ID; 0 takes whatever is there) and
 * validates the copy: 0 with a NUL-terminated text in out (length in *len); -ENOMSG when the
 * length is 0 (nothing sent), -EXDEV when the slot names another addressee (the message is not
 * ours: leave it), -EMSGSIZE when the length is out of range, -EBADMSG when the bytes lack
 * their NUL or are not printable ASCII.
 */
int mailbox_read_message(const uint8_t *slot, unsigned reader, char out[MAILBOX_MSG_MAX],
			 size_t *len);

/* Acknowledges the message in a sender's slot: records the responder, then frees it. */
void mailbox_acknowledge(uint8_t *slot, unsigned responder_id);

/*
 * Writes a message for peer `to` (0: unnamed, as FAME-Z's tools send) into the sender's own
 * slot: the last responder cleared, the addressee, the bytes and NUL, then the length, so a
 * receiver that sees the length sees the rest. -EMSGSIZE if it does not fit, -EBUSY if the slot
 * is not free.
 */
int mailbox_write_message(uint8_t *slot, unsigned to, const char *text);
/* The same whether or not the slot is free: for its owner, who knows nothing is in flight. */
int mailbox_put_message(uint8_t *slot, unsigned to, const char *text);

/* Takes the slot back from a receiver that never acknowledged. */
void mailbox_reclaim(uint8_t *slot);
