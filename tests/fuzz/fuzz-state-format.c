/* SPDX-License-Identifier: MIT */
/*
 * A state as a restarted famezd reads it from systemd's fd store: parsed, and a state that
 * parses formats to a text that parses back to the same text. The input is also tried as an fd
 * name: one that parses formats back to a name that parses alike.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *format(const SavedState *st, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	if (state_format(st, f) < 0)
		abort();
	if (fclose(f) != 0)
		abort();
	return buf;
}

static void check_fd_name(const uint8_t *data, size_t size)
{
	char name[FD_NAME_MAX + 1], again[FD_NAME_MAX], sw[SWITCH_NAME_MAX + 1],
		sw2[SWITCH_NAME_MAX + 1];
	unsigned id, sub, id2, sub2;
	FdKind kind, kind2;

	if (size > FD_NAME_MAX || memchr(data, '\0', size))
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if (fd_name_parse(name, sw, &kind, &id, &sub) < 0)
		return;
	if (fd_name_format(again, sizeof(again), sw, kind, id, sub) < 0)
		abort();
	if (fd_name_parse(again, sw2, &kind2, &id2, &sub2) < 0 || strcmp(sw, sw2) ||
	    kind != kind2 || id != id2 || sub != sub2)
		abort();
	/* Canonical, but for the "gone-K" of earlier famezd. */
	if (kind != FD_KIND_GONE && strcmp(name, again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SavedState st, back;
	char *text, *again;
	size_t len, len2;

	check_fd_name(data, size);
	if (state_parse((const char *)data, size, &st) < 0)
		return 0;
	text = format(&st, &len);
	saved_state_done(&st);
	if (state_parse(text, len, &back) < 0)
		abort();
	again = format(&back, &len2);
	if (len != len2 || memcmp(text, again, len) != 0)
		abort();
	saved_state_done(&back);
	free(text);
	free(again);
	return 0;
}
