/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A small streaming JSON writer for machine-readable output: commas and escaping done right. */
typedef struct Json {
	FILE *f;
	unsigned depth;
	bool need_comma[32];
	bool after_key;
} Json;

#define JSON_INIT(file) ((Json){ .f = (file) })

void json_object_begin(Json *j);
void json_object_end(Json *j);
void json_array_begin(Json *j);
void json_array_end(Json *j);
void json_key(Json *j, const char *key);
void json_string(Json *j, const char *s);
void json_uint(Json *j, uint64_t v);
void json_int(Json *j, int64_t v);
void json_bool(Json *j, bool v);
/* Ends a document: a newline, and flushes. */
void json_end(Json *j);

static inline void json_key_string(Json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

static inline void json_key_uint(Json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static inline void json_key_int(Json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

static inline void json_key_bool(Json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}
