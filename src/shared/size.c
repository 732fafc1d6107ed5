/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "size.h"

static const char suffixes[] = "KMGTPE";

static int parse_digits(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(&s, &v);
	if (r < 0)
		return r;

	if (*s) {
		const char *suffix = strchr(suffixes, toupper((unsigned char)*s));

		if (suffix) {
			shift = 10 * (unsigned)(suffix - suffixes + 1);
			s++;
		}
		if (strcasecmp(s, "") != 0 && strcasecmp(s, "B") != 0 &&
		    !(shift && strcasecmp(s, "iB") == 0))
			return -EINVAL;
	}

	if (v == 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

uint64_t size_pow2_below(uint64_t v)
{
	return v ? UINT64_C(1) << (63 - __builtin_clzll(v)) : 0;
}

uint64_t size_pow2_above(uint64_t v)
{
	if (v <= 1)
		return 1;
	if (v > UINT64_C(1) << 63)
		return 0;
	return UINT64_C(1) << (64 - __builtin_clzll(v - 1));
}

const char *format_size(uint64_t v, char buf[SIZE_STR_MAX])
{
	unsigned i = 0;

	while (v && i < sizeof(suffixes) - 1 && (v & 1023) == 0) {
		v >>= 10;
		i++;
	}
	if (i == 0)
		snprintf(buf, SIZE_STR_MAX, "%llu", (unsigned long long)v);
	else
		snprintf(buf, SIZE_STR_MAX, "%llu%c", (unsigned long long)v, suffixes[i - 1]);
	return buf;
}
