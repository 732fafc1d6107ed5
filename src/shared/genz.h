/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The Gen-Z Core Specification 1.1 control structures famez components hold: each field's name,
 * place and width as the specification lays them out, and which of them a fabric manager may
 * write. Pure: no I/O, no allocation.
 *
 * Offsets within a structure are in bits from its first byte (byte * 8 + bit), fields are
 * little-endian, at most 64 bits wide except the UUIDs (128). Pointers and sizes in the
 * specification's 16-byte units are marked GENZ_FIELD_PTR: the byte offset is the value * 16.
 */

#define GENZ_UNIT 16 /* bytes per unit of a control-space pointer or structure size */

/* Structure types (the Type field of every structure's first 12 bits). */
#define GENZ_TYPE_CORE 0x0
#define GENZ_TYPE_INTERFACE 0x2
#define GENZ_TYPE_COMPONENT_SWITCH 0x7
#define GENZ_TYPE_COMPONENT_DESTINATION_TABLE 0x12

/* C-State (CStatus bits 2:0). */
#define GENZ_C_DOWN 0
#define GENZ_C_CFG 1
#define GENZ_C_UP 2
#define GENZ_C_LP 3
#define GENZ_C_DLP 4

/* I-State (IStatus bits 2:0). */
#define GENZ_I_DOWN 0
#define GENZ_I_CFG 1
#define GENZ_I_UP 2
#define GENZ_I_LP 3

/* Base C-Classes famez components are. */
#define GENZ_CCLASS_SWITCH 0x5  /* fabric switch: famezd's switches */
#define GENZ_CCLASS_BRIDGE 0x14 /* discrete bridge: guests' devices, famez-client */

#define GENZ_FIELD_RW (1u << 0)  /* a manager may write it */
#define GENZ_FIELD_PTR (1u << 1) /* in 16-byte units */

typedef struct GenzField {
	const char *name; /* as the specification names it: "CID0", "PktRelayEnb" */
	uint32_t bit;     /* from the structure's first bit */
	uint16_t width;   /* 1..64, or 128 */
	uint16_t flags;   /* GENZ_FIELD_* */
} GenzField;

typedef struct GenzStructure {
	const char *name; /* as the linux-genz subsystem names it in sysfs: "core", "interface",
			     "component_switch", "component_destination_table" */
	uint16_t type;    /* GENZ_TYPE_* */
	uint16_t vers;    /* the structure version of specification 1.1 */
	uint32_t size;    /* bytes */
	const GenzField *fields;
	size_t n_fields;
} GenzStructure;

extern const GenzStructure genz_core;
extern const GenzStructure genz_interface;
extern const GenzStructure genz_component_switch;
extern const GenzStructure genz_component_destination_table;

/* The structure of a type, or NULL. */
const GenzStructure *genz_structure(uint16_t type);

/* The field of s named name (exact, case-sensitive), or NULL. */
const GenzField *genz_field(const GenzStructure *s, const char *name);

/*
 * Field access on a structure's bytes (base: its first byte; the caller checked the structure
 * is whole). Fields wider than 64 bits: genz_get() returns their low 64 bits; genz_set() sets
 * the low 64 and zeroes the rest.
 */
uint64_t genz_get(const uint8_t *base, const GenzField *f);
void genz_set(uint8_t *base, const GenzField *f, uint64_t value);
/* The same by name; an unknown name reads 0, writes nothing, and returns false. */
uint64_t genz_get_named(const GenzStructure *s, const uint8_t *base, const char *name);
bool genz_set_named(const GenzStructure *s, uint8_t *base, const char *name, uint64_t value);

/*
 * Whether writing data[0..len) at byte off of structure s, whose bytes are now old (s->size
 * of them), changes only bits of writable fields (bits outside every field count as read-only).
 * Writing a read-only field's current value is allowed: a manager writes whole words back.
 * False for a range not within the structure.
 */
bool genz_write_allowed(const GenzStructure *s, const uint8_t *old, size_t off,
			const uint8_t *data, size_t len);

/*
 * One field in words, for people: "CID0=0x64" ("MGR-UUID=<32 hex digits>" for 128 bits);
 * the length written or needed (snprintf's contract).
 */
int genz_field_format(const GenzField *f, const uint8_t *base, char *buf, size_t size);

/*
 * A routing entry of an SSDT, MSDT, LPRT or MPRT: 4 bytes, little-endian, packed as
 * MHC:6, R:2, V:1, HC:6, VCA:5, EI:12 from bit 0.
 */
#define GENZ_ROUTE_SIZE 4
typedef struct GenzRoute {
	uint8_t mhc; /* minimum hop count of the row: 6 bits */
	bool valid;  /* V */
	uint8_t hc;  /* hop count: 6 bits */
	uint8_t vca; /* virtual channel action: 5 bits */
	uint16_t ei; /* egress interface: 12 bits */
} GenzRoute;

uint32_t genz_route_pack(GenzRoute r); /* fields wider than theirs are cut to their width */
GenzRoute genz_route_unpack(uint32_t v);
