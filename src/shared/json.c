/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "json.h"

/* Before a value: a comma unless it is the first in its container or follows a key. */
static void separate(Json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void open_container(Json *j, char c)
{
	separate(j);
	fputc(c, j->f);
	if (j->depth + 1 < sizeof(j->need_comma))
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_container(Json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(Json *j)
{
	open_container(j, '{');
}

void json_object_end(Json *j)
{
	close_container(j, '}');
}

void json_array_begin(Json *j)
{
	open_container(j, '[');
}

void json_array_end(Json *j)
{
	close_container(j, ']');
}

static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_key(Json *j, const char *key)
{
	separate(j);
	write_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(Json *j, const char *s)
{
	separate(j);
	write_string(j->f, s);
}

void json_uint(Json *j, uint64_t v)
{
	separate(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_int(Json *j, int64_t v)
{
	separate(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(Json *j, bool v)
{
	separate(j);
	fputs(v ? "true" : "false", j->f);
}

void json_end(Json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->need_comma[0] = false;
}
