/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control-msg.h"
#include "genz.h"

/*
 * A component's control space (docs/fabric.md, "Control space"): its Gen-Z structures and
 * routing tables at the offsets famez lays them out at, read and written by control requests.
 * Pure: the component says, through ControlOps, what its live fields hold before a read and
 * what a write changes.
 *
 * Layout (bytes; every pointer in the structures says the same, in 16-byte units):
 *   0x0                      Core Structure (0x200)
 *   0x200                    Component Switch Structure (switches; the core's StructPTR0)
 *   0x400                    Component Destination Table Structure (bridges)
 *   0x1000 + i * 0x200       Interface Structure i (0 .. MaxInterface - 1, at most 256)
 *   0x40000                  SSDT: 4096 entries, one route each (bridges)
 *   0x80000                  MSDT: 65536 entries (bridges)
 *   0x1000000 + i * 0x4000   LPRT of interface i: 4096 entries (switches)
 *   0x2000000 + i * 0x40000  MPRT of interface i: 65536 entries (switches)
 * A switch with n client slots has interfaces 0 .. n + 17 (topology.h's ports: 0 and n + 1,
 * the switch itself, have no peer and no tables); a bridge has interface 0, to its switch.
 *
 * A request reads or writes within one structure or one table; table entries are written
 * whole (offset and length multiples of 4).
 */

#define CONTROL_CORE_OFFSET 0x0
#define CONTROL_SWITCH_OFFSET 0x200
#define CONTROL_CDT_OFFSET 0x400
#define CONTROL_INTERFACE_OFFSET(i) (0x1000 + (uint64_t)(i)*0x200)
#define CONTROL_SSDT_OFFSET 0x40000
#define CONTROL_MSDT_OFFSET 0x80000
#define CONTROL_LPRT_OFFSET(i) (0x1000000 + (uint64_t)(i)*0x4000)
#define CONTROL_MPRT_OFFSET(i) (0x2000000 + (uint64_t)(i)*0x40000)
#define CONTROL_INTERFACES_MAX 256
#define CONTROL_CID_ENTRIES 4096  /* SSDT, LPRT: one per CID */
#define CONTROL_SID_ENTRIES 65536 /* MSDT, MPRT: one per SID */

/* The requests one component remembers tags of, to refuse a tag reused. */
#define CONTROL_TAG_WINDOW 32

typedef struct ControlSpace ControlSpace;

typedef enum ControlTable {
	CONTROL_TABLE_SSDT,
	CONTROL_TABLE_MSDT,
	CONTROL_TABLE_LPRT,
	CONTROL_TABLE_MPRT,
} ControlTable;

typedef struct ControlRegion {
	char name[40];   /* "core", "interface3", "lprt3": sysfs's <name>@0x<offset> */
	uint64_t offset; /* bytes */
	uint32_t size;   /* bytes */
	const GenzStructure *structure; /* NULL for a table */
	uint8_t *bytes;                 /* a structure's, owned by the space */
	ControlTable table;             /* a table's kind */
	unsigned interface;             /* an interface structure's or an LPRT's, MPRT's */
} ControlRegion;

typedef struct ControlOps {
	/* Before r is read: bring its live fields (states, peers) up to date. May be NULL. */
	void (*refresh)(void *userdata, ControlRegion *r);
	/* Entry index of table r, packed (genz_route_pack()). */
	uint32_t (*table_get)(void *userdata, const ControlRegion *r, uint32_t index);
	/* Writes it: CONTROL_OK, or CONTROL_UNSUPPORTED for an entry it cannot take. */
	ControlReason (*table_set)(void *userdata, const ControlRegion *r, uint32_t index,
				   uint32_t value);
	/*
	 * Structure r was written (bytes [off, off + len)); old holds all its bytes before. The
	 * space already moved C-State to C-Up if the write set CV and CID0 ... (see below).
	 */
	void (*written)(void *userdata, ControlRegion *r, const uint8_t *old, size_t off,
			size_t len);
} ControlOps;

typedef struct ControlIdentity {
	uint16_t cclass;         /* GENZ_CCLASS_* */
	unsigned interfaces;     /* MaxInterface: 1 for a bridge */
	unsigned self_interface; /* a switch's own port (no tables), or 0 */
	uint32_t cid_entries;    /* entries of each SSDT or LPRT (at most CONTROL_CID_ENTRIES) */
	uint32_t sid_entries;    /* of each MSDT or MPRT (at most CONTROL_SID_ENTRIES) */
	bool up;                 /* C-Up with cid and sid (famezd's configuration), or C-CFG */
	uint16_t cid, sid;
	uint64_t serial;
} ControlIdentity;

/*
 * The control space of a switch (GENZ_CCLASS_SWITCH: core, component switch structure,
 * interfaces, an LPRT and an MPRT for every interface but 0 and self_interface) or a bridge
 * (core, destination table, interface 0, SSDT, MSDT). NULL with errno: ENOMEM, or EINVAL for
 * an identity out of range. Interface structures start I-Down with IfaceEnb and IngressDREnb
 * set; a switch's packet relay is enabled when it is up.
 */
ControlSpace *control_space_new(const ControlIdentity *id, const ControlOps *ops, void *userdata);
ControlSpace *control_space_free(ControlSpace *cs);

size_t control_space_n_regions(const ControlSpace *cs);
ControlRegion *control_space_region(ControlSpace *cs, size_t i);
/* The region holding [offset, offset + len), or NULL. */
ControlRegion *control_space_find(ControlSpace *cs, uint64_t offset, uint64_t len);
/* A structure by name ("core", "component_switch", "interface3", ...), or NULL. */
ControlRegion *control_space_structure(ControlSpace *cs, const char *name);
/* Interface structure i, or NULL. */
uint8_t *control_space_interface(ControlSpace *cs, unsigned i);
/* The core structure's bytes. */
uint8_t *control_space_core(ControlSpace *cs);

/*
 * Reads len bytes at offset (refreshing the region first) into out: CONTROL_OK,
 * CONTROL_OUT_OF_RANGE (not within one region, length 0 or over CONTROL_DATA_MAX, a table
 * access not on whole entries).
 */
ControlReason control_space_read(ControlSpace *cs, uint64_t offset, uint32_t len, uint8_t *out);
/*
 * Writes: CONTROL_OK, CONTROL_OUT_OF_RANGE as for reads, CONTROL_READ_ONLY (a field a manager
 * may not write changes: nothing is written), or what table_set says (entries before the one
 * refused stay written). A write that leaves CV with CID0 valid moves C-CFG to C-Up; one that
 * clears it moves C-Up to C-CFG.
 */
ControlReason control_space_write(ControlSpace *cs, uint64_t offset, const uint8_t *data,
				  uint32_t len);

/*
 * Answers one request (READ or WRITE; anything else: false, nothing to answer) of requester
 * (a key naming who asked: the same for its every request) into *resp: a read response, or a
 * standalone acknowledgment with the reason. A tag the same requester used in one of the
 * component's last CONTROL_TAG_WINDOW requests (whoever sent the others) is refused
 * (TagReused): a window that costs nothing per requester. Refusals are counted by reason.
 */
bool control_space_answer(ControlSpace *cs, const ControlMsg *req, uint64_t requester,
			  ControlMsg *resp);
/* The answer to a request that did not parse (control_msg_parse() -EBADMSG): Malformed. */
void control_space_answer_malformed(ControlSpace *cs, const ControlMsg *req, ControlMsg *resp);
/*
 * The requester keys every famez component uses for control_space_answer(): a routed request's
 * origin, and a directed one's way back (the same path for every request of one requester).
 */
static inline uint64_t control_requester_routed(uint16_t cid, uint16_t sid)
{
	return UINT64_C(1) << 62 | (uint64_t)sid << 12 | cid;
}
uint64_t control_requester_directed(const uint8_t *path, unsigned len);
/* Requests refused for reason r (CONTROL_OK: requests answered OK). */
uint64_t control_space_count(const ControlSpace *cs, ControlReason r);
