/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Keeping connected peers across restarts in systemd's file-descriptor store.
 *
 * With --fd-store under systemd, famezd hands systemd a copy of every fd the fabric depends on,
 * each under a name: "shm", "peer-ID" (a peer's connection), "vecs-ID-C" (ivshmem mode: a peer's
 * eventfds, in flight in one socket per 253), "idvec-ID-V" (fabric mode: the eventfds that belong
 * to an ID) and "state-a"/"state-b" (a memfd describing the peer table, the ID allocator, counters
 * and mailbox bookkeeping, written after every burst of changes, alternating so that one complete
 * state always stays stored). A restarted famezd gets them back in LISTEN_FDS and carries on with
 * the same IDs and eventfds; a stop releases the store and so disconnects every peer.
 *
 * Every name is a switch's: the default switch's as above (so a state stored by an earlier
 * famezd is the default switch's), another switch's prefixed with its name and a dot
 * ("lab.peer-3", "lab.state-a"); `prefix` is that ("" or "NAME.").
 */

typedef struct FdRef FdRef;
typedef struct Switch Switch;

typedef struct StoredFds {
	size_t n;
	int *fds;
	char **names;
	bool *taken;
	size_t *by_name; /* indices, sorted by name */
} StoredFds;

/* Collects the fds systemd passed (socket activation and the store). */
int stored_fds_collect(StoredFds *s);
/* Whether an fd not taken yet is stored under name. */
bool stored_fds_has(const StoredFds *s, const char *name);
/* Takes the fd stored under name: its number, or -1 when there is none. */
int stored_fds_take(StoredFds *s, const char *name);
/*
 * Takes every fd of the switch with that prefix (not its listening socket), closes it and removes
 * it from the store at once, without a log line: for a switch whose peers cannot be kept.
 */
void stored_fds_drop_switch(StoredFds *s, const char *prefix);
/* Closes what was not taken and removes it from the store, with a log line each. */
void stored_fds_done(StoredFds *s);

bool fdstore_enabled(void);
void fdstore_enable(void);
void fdstore_push(const char *name, int fd);
void fdstore_remove(const char *name);
/*
 * A peer's connection as "peer-ID" and, in ivshmem mode, its n_vectors eventfds together as
 * "vecs-ID-C" (see fdstore.c); in fabric mode n_vectors is 0, the fabric storing IDs' eventfds.
 */
void fdstore_push_peer(const char *prefix, unsigned id, int fd, FdRef *const *vectors,
		       unsigned n_vectors);
void fdstore_remove_peer(const char *prefix, unsigned id, unsigned n_vectors);

/* Writes the state memfd and stores it; with_queues at a graceful stop (see fdstore.c). */
int fdstore_save_state(Switch *s, bool with_queues);

/*
 * Restores peers from the stored state: 1 when peers were restored, 0 when there was nothing to
 * restore (a fresh start), -errno when the state cannot be used (the caller starts fresh).
 * Run after the shared memory and the fabric are set up from the same store.
 */
int fdstore_restore_peers(Switch *s, StoredFds *stored);

/* Whether the store holds a state that matches this configuration (before anything is set up). */
bool fdstore_has_usable_state(Switch *s, StoredFds *stored);
