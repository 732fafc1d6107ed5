/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fabric-msg.h"
#include "switch-config.h"
#include "wire.h"

/*
 * What famezd keeps in systemd's fd store across a restart: the names its fds are stored under
 * and the text of a switch's state. Pure functions: nothing here opens, reads or stores an fd
 * (famezd's fdstore.c does that; its restore.c builds a SavedState from a switch and applies
 * one to a switch).
 *
 * The state, one text a switch in a sealed memfd stored as "[NAME.]state-a" or "-b":
 *
 *   famez-state 1
 *   generation G              bumped by every save: of state-a and state-b, the higher wins
 *   config MODE VECTORS MAX_PEERS SHM_SIZE [SID]
 *   ids NEXT SEQ              the ID allocator's cursor (idalloc.h)
 *   departed FROM TO SEQ      a run of departed IDs (famezd 0.1.0: "departed ID SEQ")
 *   counters C...             sixteen in StateCounter order (famezd 0.1.0: the first eleven)
 *   next-tag TAG              fabric mode: the next CTL-Write tag
 *   peer ID JOIN_SEQ PID UID GID CONNECTED_AT INTERRUPTS_SENT
 *   fabric ID CCLASS|- SID0 CID0 RFC_TAG CONFIGURED ATTRIBUTES KNOWN_IDS(4, hex) SENT RECEIVED
 *          UNACKNOWLEDGED
 *   queue ID HEAD_SENT VALUE FD_NAME   at a graceful stop, what peer ID was still to receive
 *   end
 *
 * A state without its "end" was cut short and is refused, and so is one without "config". Words
 * after the ones a line needs are ignored, so that a famezd can read what a later one adds to a
 * line (the SID of "config" came that way: a famezd that does not know it still restores the
 * peers).
 */

#define STATE_MAGIC "famez-state 1"
#define STATE_LINE_MAX 512 /* the longest line, with its newline */
#define STATE_MODE_MAX 16

/* The switch's counters, in the order of the "counters" line. */
typedef enum StateCounter {
	STATE_COUNTER_PEERS_ACCEPTED,
	STATE_COUNTER_PEERS_REJECTED,
	STATE_COUNTER_PEERS_DISCONNECTED,
	STATE_COUNTER_PROTOCOL_ERRORS,
	STATE_COUNTER_WIRE_MESSAGES_SENT,
	STATE_COUNTER_MESSAGES_SENT,
	STATE_COUNTER_MESSAGES_RECEIVED,
	STATE_COUNTER_MESSAGES_UNACKNOWLEDGED,
	STATE_COUNTER_MESSAGES_UNKNOWN,
	STATE_COUNTER_INTERRUPTS_SENT,
	STATE_COUNTER_INTERRUPTS_RECEIVED,
	STATE_COUNTER_INTERRUPTS_FULL, /* the twelfth: famezd 0.1.0 wrote the first eleven */
	STATE_COUNTER_LOG_SUPPRESSED,
	STATE_COUNTER_SHM_RESIZES,
	STATE_COUNTER_PEERS_DELAYED,
	STATE_COUNTER_ADMISSION_PAUSES,
	STATE_COUNTERS
} StateCounter;
#define STATE_COUNTERS_MIN STATE_COUNTER_INTERRUPTS_FULL

/* ---- fd names ---- */

/*
 * The names famezd stores fds under, each a switch's: the default switch's as below (as every
 * famezd before switches stored them), another switch's prefixed with its name and a dot
 * ("lab.peer-3"). Queue entries of a state name the fds their messages carry with the kinds
 * marked "queue", never prefixed: a state is one switch's.
 */
typedef enum FdKind {
	FD_KIND_NONE,  /* "-" (queue): the message carries no fd */
	FD_KIND_SHM,   /* "shm": the shared memory (queue too) */
	FD_KIND_STATE, /* "state-a" (sub 0), "state-b" (sub 1): the state memfds */
	FD_KIND_PEER,  /* "peer-ID": a peer's connection */
	FD_KIND_VECS,  /* "vecs-ID-C": chunk C of an ivshmem-mode peer's eventfds, in one socket */
	FD_KIND_IDVEC, /* "idvec-ID-V": vector V of fabric ID (queue too) */
	FD_KIND_VEC,   /* "vec-ID-V": vector V of a peer (queue; stored by famezd 0.1.0) */
	FD_KIND_DECOY, /* "decoy-ID" (queue): the decoy of peer ID (peer.h) */
	FD_KIND_GONE,  /* "gone" (queue): an eventfd nobody reads any more ("gone-K" before) */
} FdKind;

#define FD_NAME_MAX 64        /* with the NUL; systemd takes 255 */
#define FD_NAME_SUB_MAX 65535 /* the highest vector or chunk a name carries */

/*
 * Writes the name of kind with id and sub (where the kind has them) for switch_name (NULL or ""
 * for the default switch). Its length, -EINVAL for a switch name that is not one, an ID or sub
 * out of range or a queue-only kind with a switch name, -ENAMETOOLONG when size is too small.
 */
int fd_name_format(char *buf, size_t size, const char *switch_name, FdKind kind, unsigned id,
		   unsigned sub);
/*
 * The other way: 0 with the switch's name ("" for the default switch), the kind, and id and sub
 * (0 where the kind has none); -EINVAL for a name famezd does not write. Numbers are decimal
 * without leading zeros, so a name parses back from exactly one text.
 */
int fd_name_parse(const char *name, char switch_name[SWITCH_NAME_MAX + 1], FdKind *kind,
		  unsigned *id, unsigned *sub);

/* ---- the state ---- */

typedef struct SavedQueueEntry {
	int64_t value;
	size_t head_sent; /* bytes of the first entry the peer had already received */
	char fd_name[FD_NAME_MAX];
} SavedQueueEntry;

typedef struct SavedPeer {
	unsigned id;
	uint64_t join_seq;
	int pid;
	unsigned uid, gid;
	uint64_t connected_at, interrupts_sent;
	FabricPeer fabric; /* written as "fabric ID ..." */
	SavedQueueEntry *queue;
	size_t n_queue, queue_cap;
} SavedPeer;

typedef struct SavedDepartures {
	uint32_t from, to; /* IDs */
	uint64_t seq;
} SavedDepartures;

typedef struct SavedState {
	uint64_t generation;
	char mode[STATE_MODE_MAX]; /* "fabric" or "ivshmem" */
	unsigned vectors, max_peers;
	uint64_t shm_size;
	bool has_sid; /* states written before famezd stored the SID have none */
	unsigned sid;
	uint32_t next_id;
	uint64_t seq;
	SavedDepartures *departed;
	size_t n_departed, departed_cap;
	uint64_t counters[STATE_COUNTERS];
	bool has_next_tag;
	uint64_t next_tag;
	SavedPeer *peers; /* in join order */
	size_t n_peers, peers_cap;
	uint32_t *peer_index; /* by ID: 1 + its place in peers, 0 if none */
} SavedState;

/* Frees what st holds and zeroes it (a zeroed SavedState is empty). */
void saved_state_done(SavedState *st);

/*
 * Adds peer id, zeroed but for its ID: 0 with *ret (valid until the next peer is added),
 * -EINVAL for an ID above WIRE_ID_MAX, -EEXIST when st has it already, -ENOMEM.
 */
int saved_state_add_peer(SavedState *st, unsigned id, SavedPeer **ret);
SavedPeer *saved_state_peer(const SavedState *st, unsigned id);
/* Appends to the peer's queue: 0, -EINVAL for an fd name that is not one word, -ENOMEM. */
int saved_peer_queue(SavedPeer *p, int64_t value, size_t head_sent, const char *fd_name);
/* Appends a run of departures: 0, -EINVAL when from > to or to > WIRE_ID_MAX, -ENOMEM. */
int saved_state_add_departures(SavedState *st, uint32_t from, uint32_t to, uint64_t seq);

/*
 * Writes st as text: 0, -EINVAL when a word (the mode, a C-Class, an fd name) would not read
 * back as one, -EIO when f fails.
 */
int state_format(const SavedState *st, FILE *f);
/*
 * Parses a state of len bytes (no NUL needed) into st, which it initializes: 0, or -EBADMSG for
 * anything malformed, cut short or out of range (st is left empty), -ENOMEM.
 */
int state_parse(const char *text, size_t len, SavedState *st);
