/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Text from a source that is not trusted (another process's command line, a peer) made safe to
 * print on a terminal and to send on D-Bus, which takes valid UTF-8 only: control characters
 * (C0, DEL and C1) become "\xNN" escapes, bytes that are not valid UTF-8 become U+FFFD, and the
 * result is cut to at most max bytes at a character boundary ("..." marks the cut). Applied
 * twice, it changes nothing more. Returns a malloc'ed string, NULL when out of memory.
 */
char *str_sanitize(const char *s, size_t len, size_t max);
