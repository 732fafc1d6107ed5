/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes), with its code point in *cp;
 * 0 when the bytes are not one (overlong forms, surrogates and values above U+10FFFF included).
 */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min_of_length[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min_of_length[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

char *str_sanitize(const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *in = (const unsigned char *)s;
	/* The worst case: every byte an escape of four. */
	char *out = malloc(len * 4 + 4), *o = out;
	size_t i = 0, cut = 0; /* the last character boundary that leaves room for "..." */

	if (!out)
		return NULL;
	if (max < 4)
		max = 4;
	while (i < len) {
		size_t n_in;
		uint32_t cp;

		if ((size_t)(o - out) + 3 <= max)
			cut = (size_t)(o - out);
		n_in = utf8_sequence(in + i, len - i, &cp);
		if (n_in == 0) {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			n_in = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[cp >> 4];
			*o++ = hex[cp & 0xf];
		} else {
			memcpy(o, in + i, n_in);
			o += n_in;
		}
		i += n_in;
	}
	if ((size_t)(o - out) > max) {
		o = out + cut;
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return out;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_key_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(s, name, len) == 0;
}

int str_for_each_pair(const char *list, StrPairFn f, void *userdata)
{
	const char *p = list;

	if (!*p)
		return -EBADMSG;
	while (*p) {
		const char *end = strchr(p, ',');
		const char *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int r;

		eq = memchr(p, '=', len);
		if (!eq || eq == p)
			return -EBADMSG;
		r = f(userdata, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1);
		if (r < 0)
			return r;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int str_parse_uint(const char *s, size_t len, bool hex, uint64_t *ret)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (hex && len > 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int d = str_hex_digit(s[i]);

		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return -ERANGE;
		v = v * base + (unsigned)d;
	}
	*ret = v;
	return 0;
}

int str_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

#define TRACKER "!EZT="

void str_strip_tracker(char *text)
{
	char *t = strstr(text, TRACKER), *next;

	if (!t)
		return;
	while ((next = strstr(t + 1, TRACKER)))
		t = next;
	if (!t[strlen(TRACKER)] ||
	    strspn(t + strlen(TRACKER), "0123456789") != strlen(t + strlen(TRACKER)))
		return;
	while (t > text && t[-1] == ' ')
		t--;
	*t = '\0';
}
