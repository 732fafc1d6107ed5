/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Who may join, and when: a newcomer is admitted at once, waits for its uid's turn to join
 * (--max-join-rate), or is refused the way QEMU understands (a protocol version it does not
 * speak), with one rate-limited line that says why: the fabric is full, its uid has as many
 * peers as it may (--max-peers-per-uid), no ID may be given, or famezd is out of fds.
 */

typedef struct Switch Switch;

/* Judges a freshly accepted connection (owned from then on). */
void admission_judge(Switch *s, int fd);
/* accept() failed for want of fds: accept one on the spare fd and refuse it. */
void admission_refuse_without_fds(Switch *s);
/* Lets every waiting newcomer go (at exit). */
void admission_done(Switch *s);
