/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

typedef struct Switch Switch;
typedef struct StoredFds StoredFds;

/*
 * A switch's state across restarts: what restore.c writes into systemd's fd store
 * (state-format.h says what the text holds, fdstore.h how it is stored) and how a restarted
 * famezd makes the switch what it was, with its peers, their IDs, eventfds and queues.
 */

/* Writes the switch's state and stores it; with_queues at a graceful stop (see restore.c). */
int restore_save_state(Switch *s, bool with_queues);

/* Whether the store holds a state that matches this configuration (before anything is set up). */
bool restore_has_usable_state(Switch *s, StoredFds *stored);

/*
 * Restores peers from the stored state: 1 when peers were restored, 0 when there was nothing to
 * restore (a fresh start), -errno when the state cannot be used (the caller starts fresh).
 * Run after the shared memory and the fabric are set up from the same store.
 */
int restore_peers(Switch *s, StoredFds *stored);
