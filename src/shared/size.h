/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parses a byte count: digits with an optional binary suffix K, M, G, T, P or E (case does not
 * matter, a trailing "B" or "iB" is allowed); no suffix means bytes. 0 or -EINVAL (not a size,
 * or zero), -ERANGE (does not fit 64 bits).
 */
int parse_size(const char *s, uint64_t *ret);

/* Parses a decimal unsigned integer in [min, max]. 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

static inline bool size_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* The largest power of two <= v (v > 0), and the smallest >= v (0 if it does not fit). */
uint64_t size_pow2_below(uint64_t v);
uint64_t size_pow2_above(uint64_t v);

#define SIZE_STR_MAX 32

/* Formats v with the largest binary suffix that divides it exactly: "4M", "3G", "1000". */
const char *format_size(uint64_t v, char buf[SIZE_STR_MAX]);
