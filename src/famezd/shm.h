/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "switch-config.h"

/*
 * Opens or creates the memory and returns its fd (O_CLOEXEC). A file or object that exists
 * already is used only if it is famezd's own: a regular file (no symbolic link followed) owned
 * by famezd's user and writable by nobody else. Logs why it failed; -errno.
 */
int shm_open_backing(const ShmConfig *config);

/*
 * Checks the memory famezd stored before a restart: a sealed one must still have its size and
 * seals; one that cannot be sealed is given its size back if a peer changed it. 0 when it can
 * be used, -errno (logged) when famezd must start afresh.
 */
int shm_check_stored(int fd, const ShmConfig *config);

/* Whether peers can resize the memory (it is not sealed against it). */
bool shm_is_resizable(int fd);

/*
 * Keeps memory that cannot be sealed at its size. Every peer holds the fd with write access, so
 * any of them can ftruncate() it: the pages past the new end are gone from every mapping, and
 * whoever touches them gets SIGBUS, famezd and every QEMU alike. The watch notices a resize at
 * once (inotify) and sizes the memory back; a mapping of famezd's own that is registered with
 * shm_watch_guard() survives the moment in between: a SIGBUS there maps zeroed memory in place
 * so the access completes, and the repair maps the memory again. After every resize, undone by
 * famezd or not, repaired() checks what was kept there (cut-off pages come back zeroed).
 */
typedef struct ShmWatch ShmWatch;
typedef void (*ShmRepairedFunc)(void *userdata);

int shm_watch_new(ShmWatch **ret, sd_event *event, int fd, const ShmConfig *config,
		  uint64_t *repairs);
ShmWatch *shm_watch_free(ShmWatch *w);
/* One mapping of the memory's start (famezd has one: the mailbox). 0 or -errno. */
int shm_watch_guard(ShmWatch *w, void *addr, size_t len, ShmRepairedFunc repaired, void *userdata);
