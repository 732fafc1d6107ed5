/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * Text from a source that is not trusted (another process's command line, a peer) made safe to
 * print on a terminal and to send on D-Bus, which takes valid UTF-8 only: control characters
 * (C0, DEL and C1) become "\xNN" escapes, bytes that are not valid UTF-8 become U+FFFD, and the
 * result is cut to at most max bytes at a character boundary ("..." marks the cut). Applied
 * twice, it changes nothing more. Returns a malloc'ed string, NULL when out of memory.
 */
char *str_sanitize(const char *s, size_t len, size_t max);

/*
 * The pieces of the FAME-Z mailbox grammar (fabric-msg.h, control-msg.h): words, then
 * comma-separated "Key=Value" arguments, perhaps a tracker at the end.
 */

/* Whether s begins with prefix. */
bool str_has_prefix(const char *s, const char *prefix);

/* Whether the len bytes at s are name, all of it. */
bool str_key_is(const char *s, size_t len, const char *name);

typedef int (*StrPairFn)(void *userdata, const char *key, size_t key_len, const char *value,
			 size_t value_len);

/*
 * Calls f for every "Key=Value" of a comma-separated list, in order, and stops at the first
 * that returns an error; -EBADMSG for an empty list and for an item without '=' or with an
 * empty key (one comma at the end is let through). Values may be empty.
 */
int str_for_each_pair(const char *list, StrPairFn f, void *userdata);

/* The value of hex digit c (either case), or -1. */
int str_hex_digit(char c);

/*
 * Parses the len bytes at s as an unsigned number: decimal digits, or with hex also "0x" and
 * hex digits (either case). Nothing else: no sign, no blanks. 0, -EINVAL (no number), or
 * -ERANGE (over 64 bits).
 */
int str_parse_uint(const char *s, size_t len, bool hex, uint64_t *ret);

/* snprintf() into buf: the length written, or -ENOSPC when it (and its NUL) does not fit. */
int str_format(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);

/*
 * Cuts a trailing FAME-Z tracker "!EZT=<digits>" off text, and the blanks before it: the last
 * one only, and only a whole one (digits and nothing after them).
 */
void str_strip_tracker(char *text);
