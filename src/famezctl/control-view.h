/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "genz.h"

/*
 * A component's control space as famezctl shows it, found the way a fabric manager finds it:
 * the core at 0, then the structures its pointers lead to (StructPTR0..8, CompDestPTR,
 * Interface0PTR and every NextInterfacePTR), each known by the Type at its start. Pure: the
 * bytes come through a reader.
 */

/* Reads len (at most 128) bytes at offset into buf: 0 or a negative errno. */
typedef int (*ControlReader)(void *userdata, uint64_t offset, uint32_t len, uint8_t *buf);

#define CONTROL_VIEW_NAME_MAX 40

typedef struct ControlStructure {
	char name[CONTROL_VIEW_NAME_MAX]; /* "core", "component_switch", "interface3", ... */
	uint64_t offset;
	const GenzStructure *structure;
	uint8_t *bytes; /* structure->size of them */
} ControlStructure;

/*
 * Every structure the core leads to, in the order found, into *ret (freed with
 * control_view_free()). 0, a reader's error, -ENOMEM, or -EBADMSG for pointers that loop or
 * lead outside what the component says it has (more interfaces than MaxInterface, an
 * unknown type where the core points).
 */
int control_view_read(ControlReader reader, void *userdata, ControlStructure **ret, size_t *n_ret);
void control_view_free(ControlStructure *s, size_t n);

/*
 * Prints one structure: "name@0xOFFSET (type T, N bytes)", then "  Field=value" per line, only
 * the nonzero fields unless all.
 */
void control_view_print(FILE *f, const ControlStructure *s, bool all);

/* The offset of interface port's LPRT entry for cid, from that interface's bytes; 0: none. */
uint64_t control_view_lprt_entry(const ControlStructure *interface, unsigned cid);
