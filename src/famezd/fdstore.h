/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state-format.h"

/*
 * systemd's file-descriptor store: what keeps connected peers across restarts.
 *
 * With --fd-store under systemd, famezd hands systemd a copy of every fd the fabric depends on,
 * each under a name (state-format.h): the shared memory, a peer's connection, its eventfds (in
 * ivshmem mode, in flight in one socket per 253) or an ID's (fabric mode), and two memfds
 * holding the switch's state, written after every burst of changes, alternating so that one
 * complete state always stays stored. A restarted famezd gets them back in LISTEN_FDS and
 * carries on with the same IDs and eventfds (restore.c); a stop releases the store and so
 * disconnects every peer.
 *
 * Only fds and names here: what the state says, and what a switch makes of it, is restore.c's.
 * switch_name is the switch's name in the store: NULL for the default switch.
 */

typedef struct FdRef FdRef;

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
 * Reads all of the file stored under name, which stays stored and not taken: 0 with a
 * malloc'ed copy in *ret (NUL-terminated, its length in *ret_size), -ENOENT, or -errno.
 */
int stored_fds_read(const StoredFds *s, const char *name, char **ret, size_t *ret_size);
/*
 * Takes every fd stored for switch switch_name (NULL for the default switch; not its listening
 * socket), closes it and removes it from the store at once, without a log line: for a switch
 * whose peers cannot be kept, before it stores new fds under the same names.
 */
void stored_fds_drop_switch(StoredFds *s, const char *switch_name);
/* Closes what was not taken and removes it from the store, with a log line each. */
void stored_fds_done(StoredFds *s);

/*
 * The name of an fd of switch_name's in the store (fd_name_format()), in buf; "" for one that
 * cannot be named (never for a valid switch and ID), which is never stored nor found.
 */
const char *fdstore_name(char buf[FD_NAME_MAX], const char *switch_name, FdKind kind, unsigned id,
			 unsigned sub);

bool fdstore_enabled(void);
void fdstore_enable(void);
void fdstore_push(const char *name, int fd);
void fdstore_remove(const char *name);
/*
 * A peer's connection as "peer-ID" and, in ivshmem mode, its n_vectors eventfds together as
 * "vecs-ID-C" (see fdstore.c); in fabric mode n_vectors is 0, the fabric storing IDs' eventfds.
 */
void fdstore_push_peer(const char *switch_name, unsigned id, int fd, FdRef *const *vectors,
		       unsigned n_vectors);
void fdstore_remove_peer(const char *switch_name, unsigned id, unsigned n_vectors);
/*
 * After a restart: the n eventfds of ivshmem-mode peer id, from "vecs-ID-C" or, as famezd 0.1.0
 * stored them, "vec-ID-V" (then stored again the new way). NULL unless all of them are there.
 */
FdRef **fdstore_take_peer_vectors(StoredFds *stored, const char *switch_name, unsigned id,
				  unsigned n);
/*
 * Stores a state text of generation as "state-a" or "state-b" (by the generation's parity),
 * sealed, then drops the other: a complete state is stored at every moment. 0 or -errno
 * (not logged).
 */
int fdstore_push_state(const char *switch_name, uint64_t generation, const char *text, size_t size);
