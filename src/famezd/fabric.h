/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "fabric-msg.h"
#include "fdref.h"
#include "switch-config.h"

/*
 * Fabric mode: famezd is a FAME-Z peer itself. It owns the mailbox at the start of the shared
 * memory and its own eventfds (ID n_clients + 1), answers link-level requests from the peers'
 * slots, and sends its replies through its single slot (see mailsender.h).
 *
 * Peer IDs and their eventfds are recycled the FAME-Z way: a departure is never announced, and
 * the next holder of an ID gets the same eventfds, because QEMU 7.2 cannot take back an ID it
 * was told had left.
 */

typedef struct Switch Switch;
typedef struct Peer Peer;
typedef struct Fabric Fabric;
typedef struct StoredFds StoredFds;

/* The subnet FAME-Z's fabric manager assigns, unless --sid says; FABRIC_SID_MAX: fabric-msg.h. */
#define FABRIC_SID SWITCH_DEFAULT_SID
#define FABRIC_SERVER_NODENAME "Z-switch"
#define FABRIC_SERVER_NODENAME_UNMANAGED "Z-server" /* FAME-Z's, when it manages nothing */
#define FABRIC_SERVER_CCLASS "FabricSwitch"

/*
 * Becomes a fabric peer. With `restore`, after a restart: the mailbox is left as it is and the
 * eventfds of the IDs come back from systemd's fd store.
 */
int fabric_new(Fabric **ret, Switch *s, uint8_t *mailbox, StoredFds *restore);
Fabric *fabric_free(Fabric *f);

unsigned fabric_server_id(const Fabric *f);
uint64_t fabric_next_tag(const Fabric *f);
void fabric_set_next_tag(Fabric *f, uint64_t tag);

/* The eventfds of an ID, the same for every holder of it; NULL (errno set) when out of fds. */
FdRef **fabric_id_vectors(Fabric *f, unsigned id);
/* The same without creating them: NULL when the ID has none yet. */
FdRef **fabric_existing_id_vectors(const Fabric *f, unsigned id);

/* Queues a message from the server to a peer: 0, -ENOBUFS (its queue is full), -EMSGSIZE. */
int fabric_send(Fabric *f, unsigned dest, const char *text);
/*
 * Queues a routed message for peer dest, sent with env (a deliver envelope naming its origin);
 * the switch's mail_done event reports token's fate. 0, -ENOBUFS, -EMSGSIZE, -ENOMEM.
 */
int fabric_deliver(Fabric *f, unsigned dest, const char *text, const Envelope *env,
		   uint64_t token);
/*
 * Asks peer dest for length bytes of its control space at offset (a CTL-Read, control-msg.h):
 * 0 with the request's tag, or what fabric_send() returns. Its answer comes as the switch's
 * control_answer event.
 */
int fabric_control_read(Fabric *f, unsigned dest, uint64_t offset, uint32_t length,
			uint16_t *tag);
/*
 * Whether dest fell silent (mailsender.h): what is queued for it waits for probes, so a relay
 * for it holds no sender's quota.
 */
bool fabric_dest_is_silent(const Fabric *f, unsigned dest);
/* Reads p's slot again, as if it rang: a held route request may go now. */
void fabric_retry(Fabric *f, Peer *p);

/* The SID and CID the fabric manager gives ID id once configured; 0 and 0 until then. */
void fabric_assignment(const Fabric *f, unsigned id, bool configured, uint64_t *sid,
		       uint64_t *cid);

/* The SID the server's slot holds: the one of the famezd that laid the mailbox out. */
uint64_t fabric_slot_sid(const Fabric *f);
/*
 * After a restart (a restore leaves the mailbox as it was), perhaps with another SID or CID plan
 * (another switch joined the subnet): the server's slot and those of configured peers get this
 * switch's SID and CIDs, as its layout and their configuration would have written them.
 */
void fabric_rewrite_sid(Fabric *f);

/* The peer took its ID and its handshake is queued: set its slot up and ask its attributes. */
void fabric_peer_joined(Fabric *f, Peer *p);
/* The peer is gone: drop what waits for it, free its slot for the next holder of the ID. */
void fabric_peer_left(Fabric *f, Peer *p);

/*
 * The shared memory was resized by a peer (a ShmRepairedFunc): if the mailbox came back zeroed,
 * lay it out again.
 */
void fabric_check_mailbox(void *userdata);

/* Fabric IDs are below 256; anything else (an ivshmem-mode ID) is never "known". */
static inline bool fabric_peer_knows(const FabricPeer *fp, unsigned id)
{
	return id < 256 && (fp->known_ids[id / 64] & (UINT64_C(1) << (id % 64)));
}

static inline void fabric_peer_learn(FabricPeer *fp, unsigned id)
{
	if (id < 256)
		fp->known_ids[id / 64] |= UINT64_C(1) << (id % 64);
}
