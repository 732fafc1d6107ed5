/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/*
 * Real Linux guests for tests: Debian's kernel under QEMU (TCG) with the initramfs that
 * tests/guest/build-guest.sh makes (busybox, famez_bridge, famez-client, the guest test scripts) in
 * $FAMEZ_GUEST_DIR. A guest runs tests/guest/TEST.sh and reports on its serial console in lines
 * that start with "famez-guest: ".
 */
typedef struct Guest {
	pid_t pid;
	char serial[512]; /* the console's output */
} Guest;

/* Builds (or reuses) the module, the kernel and the initramfs; fails the test otherwise. */
void guest_prepare(void);
/*
 * Boots guest number index (its bridge is named vm<index>) running tests/guest/TEST.sh, with
 * the QEMU device arguments given (NULL-terminated).
 */
void guest_boot(Guest *g, int index, const char *test, const char *const device[]);
void guest_wait_for(Guest *g, const char *line, int timeout_ms);
/* Waits for the guest to power off, then checks its kernel did not complain. */
void guest_finish(Guest *g);
void guest_kill(Guest *g);
