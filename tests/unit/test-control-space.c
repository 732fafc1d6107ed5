/* SPDX-License-Identifier: MIT */
/*
 * A component's control space (control-space.h) as a fabric manager sees it: the walk from the
 * core by pointers to every structure and table, reads and writes within one of them, the
 * fields a manager may not change, C-State following CV, table entries through the
 * component's ops, and the answers to control requests. The component is a fake: arrays for
 * the tables, counters and the last arguments for the calls.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "control-space.h"
#include "genz.h"
#include "macro.h"
#include "testlib.h"

/* For the loops of many checks: Check's own assertions cost too much there. */
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                      \
	} while (0)

#define INTERFACES 32
#define SELF 15
#define SID_ENTRIES 4096 /* the switch's MPRTs */

/* A fabric switch of 14 client slots, configured by famezd, and a bridge waiting for one. */
static const ControlIdentity switch_id = {
	.cclass = GENZ_CCLASS_SWITCH,
	.interfaces = INTERFACES,
	.self_interface = SELF,
	.cid_entries = CONTROL_CID_ENTRIES,
	.sid_entries = SID_ENTRIES,
	.up = true,
	.cid = 1500,
	.sid = 27,
	.serial = 0x1234567890abcdef,
};
static const ControlIdentity bridge_id = {
	.cclass = GENZ_CCLASS_BRIDGE,
	.interfaces = 1,
	.cid_entries = CONTROL_CID_ENTRIES,
	.sid_entries = CONTROL_SID_ENTRIES,
	.up = false,
	.serial = 42,
};

/* The component's tables. */
static uint32_t lprt[INTERFACES][CONTROL_CID_ENTRIES], mprt[INTERFACES][SID_ENTRIES];
static uint32_t ssdt[CONTROL_CID_ENTRIES], msdt[CONTROL_SID_ENTRIES];

typedef struct SetCall {
	const ControlRegion *r;
	uint32_t index, value;
} SetCall;

/* What the space asked of the component. */
static struct {
	unsigned refreshes, gets, sets, writes;
	const ControlRegion *refreshed; /* the last */
	SetCall set_calls[64];          /* the first 64 */
	uint32_t refuse;                /* table_set refuses this index */
	/* The last written call, and the core's C-State then. */
	const ControlRegion *written;
	uint8_t old[0x200];
	size_t off, len;
	unsigned cstate;
} fake;

/* What entry index of a table holds before anything is written: a different value each. */
static uint32_t pattern(ControlTable table, unsigned interface, uint32_t index)
{
	return (index * 2654435761u) ^ ((uint32_t)table << 28) ^ ((uint32_t)interface << 20);
}

static uint32_t *fake_entry(const ControlRegion *r, uint32_t index)
{
	EXPECT(!r->structure);
	EXPECT((uint64_t)index * GENZ_ROUTE_SIZE < r->size);
	switch (r->table) {
	case CONTROL_TABLE_SSDT:
		EXPECT(index < ELEMENTSOF(ssdt));
		return &ssdt[index];
	case CONTROL_TABLE_MSDT:
		EXPECT(index < ELEMENTSOF(msdt));
		return &msdt[index];
	case CONTROL_TABLE_LPRT:
		EXPECT(r->interface < INTERFACES && index < CONTROL_CID_ENTRIES);
		return &lprt[r->interface][index];
	case CONTROL_TABLE_MPRT:
		EXPECT(r->interface < INTERFACES && index < SID_ENTRIES);
		return &mprt[r->interface][index];
	}
	ck_abort_msg("region %s: no such table %d", r->name, (int)r->table);
	return NULL;
}

/* Live fields: what an interface's peer said, so that a read shows it was refreshed. */
static void fake_refresh(void *userdata, ControlRegion *r)
{
	EXPECT(userdata == &fake);
	fake.refreshes++;
	fake.refreshed = r;
	if (r->structure == &genz_interface)
		genz_set_named(&genz_interface, r->bytes, "PeerCID", 0x100 + r->interface);
}

static uint32_t fake_table_get(void *userdata, const ControlRegion *r, uint32_t index)
{
	EXPECT(userdata == &fake);
	fake.gets++;
	return *fake_entry(r, index);
}

static ControlReason fake_table_set(void *userdata, const ControlRegion *r, uint32_t index,
				    uint32_t value)
{
	EXPECT(userdata == &fake);
	if (fake.sets < ELEMENTSOF(fake.set_calls))
		fake.set_calls[fake.sets] = (SetCall){ r, index, value };
	fake.sets++;
	if (index == fake.refuse)
		return CONTROL_UNSUPPORTED;
	*fake_entry(r, index) = value;
	return CONTROL_OK;
}

static void fake_written(void *userdata, ControlRegion *r, const uint8_t *old, size_t off,
			 size_t len)
{
	EXPECT(userdata == &fake);
	EXPECT(r->structure && r->size <= sizeof(fake.old));
	fake.writes++;
	fake.written = r;
	memcpy(fake.old, old, r->size);
	fake.off = off;
	fake.len = len;
	fake.cstate = (unsigned)genz_get_named(&genz_core, r->bytes, "CState");
}

static const ControlOps ops = {
	.refresh = fake_refresh,
	.table_get = fake_table_get,
	.table_set = fake_table_set,
	.written = fake_written,
};

static ControlSpace *cs;

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.refuse = UINT32_MAX;
	for (unsigned i = 0; i < INTERFACES; i++) {
		for (uint32_t e = 0; e < CONTROL_CID_ENTRIES; e++)
			lprt[i][e] = pattern(CONTROL_TABLE_LPRT, i, e);
		for (uint32_t e = 0; e < SID_ENTRIES; e++)
			mprt[i][e] = pattern(CONTROL_TABLE_MPRT, i, e);
	}
	for (uint32_t e = 0; e < ELEMENTSOF(ssdt); e++)
		ssdt[e] = pattern(CONTROL_TABLE_SSDT, 0, e);
	for (uint32_t e = 0; e < ELEMENTSOF(msdt); e++)
		msdt[e] = pattern(CONTROL_TABLE_MSDT, 0, e);
}

static void teardown(void)
{
	cs = control_space_free(cs);
}

static ControlSpace *space(const ControlIdentity *id)
{
	ControlSpace *s = control_space_new(id, &ops, &fake);

	ck_assert_msg(s, "control_space_new: %s", strerror(errno));
	return s;
}

static uint64_t field(const GenzStructure *s, const uint8_t *bytes, const char *name)
{
	ck_assert_msg(genz_field(s, name), "%s has no field %s", s->name, name);
	return genz_get_named(s, bytes, name);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Reads size bytes at offset as a manager does: CONTROL_DATA_MAX at a time. */
static void read_chunks(uint64_t offset, size_t size, uint8_t *out)
{
	for (size_t at = 0; at < size; at += CONTROL_DATA_MAX) {
		uint32_t n = (uint32_t)MIN(size - at, (size_t)CONTROL_DATA_MAX);

		ck_assert_msg(control_space_read(cs, offset + at, n, out + at) == CONTROL_OK,
			      "reading %u bytes at 0x%llx", n, (unsigned long long)(offset + at));
	}
}

/*
 * The structure at offset, whatever it is: its first word, then as many bytes as its Size
 * says. Its type.
 */
static unsigned read_structure(uint64_t offset, uint8_t out[0x200])
{
	uint8_t head[8];
	uint64_t size;

	read_chunks(offset, sizeof(head), head);
	size = field(&genz_core, head, "Size") * GENZ_UNIT;
	ck_assert_uint_ge(size, sizeof(head));
	ck_assert_uint_le(size, 0x200);
	memset(out, 0, 0x200);
	read_chunks(offset, (size_t)size, out);
	ck_assert_uint_eq(field(&genz_core, out, "Vers"), 1);
	return (unsigned)field(&genz_core, out, "Type");
}

/* The structure a pointer (in 16-byte units, not 0) leads to, as read_structure(). */
static unsigned follow(uint64_t ptr, uint8_t out[0x200])
{
	ck_assert_uint_ne(ptr, 0);
	return read_structure(ptr * GENZ_UNIT, out);
}

/* The structure s the core's pointer ptr leads to, whole: its type, its size its own. */
static void follow_to(const uint8_t *core, const char *ptr, const GenzStructure *s,
		      uint8_t out[0x200])
{
	ck_assert_uint_eq(follow(field(&genz_core, core, ptr), out), s->type);
	ck_assert_uint_eq(field(s, out, "Size"), s->size / GENZ_UNIT);
}

/* The table a pointer (in 16-byte units) leads to: where it starts, and entries long. */
static const ControlRegion *pointed_table(uint64_t ptr, uint32_t entries)
{
	ControlRegion *r;

	ck_assert_uint_ne(ptr, 0);
	r = control_space_find(cs, ptr * GENZ_UNIT, GENZ_ROUTE_SIZE);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(r->structure);
	ck_assert_uint_eq(r->offset, ptr * GENZ_UNIT);
	ck_assert_uint_eq(r->size, entries * GENZ_ROUTE_SIZE);
	/* Its last entry is in it too. */
	ck_assert_ptr_eq(control_space_find(cs, r->offset + r->size - 4, 4), r);
	return r;
}

/*
 * The core and the interfaces as a manager finds them: from Interface0PTR along every
 * NextInterfacePTR. Checks what every component has; the core's bytes in core.
 */
static void walk(const ControlIdentity *id, uint8_t core[0x200])
{
	uint8_t b[0x200];
	uint64_t next;
	unsigned n = 0;

	ck_assert_uint_eq(read_structure(CONTROL_CORE_OFFSET, core), GENZ_TYPE_CORE);
	ck_assert_uint_eq(field(&genz_core, core, "Size"), 0x200 / GENZ_UNIT);
	ck_assert_uint_eq(field(&genz_core, core, "BaseCClass"), id->cclass);
	ck_assert_uint_eq(field(&genz_core, core, "MaxInterface"), id->interfaces);
	ck_assert_uint_eq(field(&genz_core, core, "SerialNumber"), id->serial);
	ck_assert_uint_eq(field(&genz_core, core, "CState"), id->up ? GENZ_C_UP : GENZ_C_CFG);
	ck_assert_uint_eq(field(&genz_core, core, "CV"), id->up ? 1 : 0);
	ck_assert_uint_eq(field(&genz_core, core, "CID0"), id->up ? id->cid : 0);
	ck_assert_uint_eq(field(&genz_core, core, "SID0"), id->up ? id->sid : 0);

	next = field(&genz_core, core, "Interface0PTR");
	while (next != 0) {
		const ControlRegion *r;
		uint64_t lprt_ptr, mprt_ptr;

		ck_assert_msg(n < id->interfaces, "more interfaces than MaxInterface %u",
			      id->interfaces);
		ck_assert_uint_eq(follow(next, b), GENZ_TYPE_INTERFACE);
		ck_assert_uint_eq(field(&genz_interface, b, "Size"),
				  genz_interface.size / GENZ_UNIT);
		ck_assert_uint_eq(field(&genz_interface, b, "InterfaceID"), n);
		ck_assert_uint_eq(field(&genz_interface, b, "IfaceEnb"), 1);
		ck_assert_uint_eq(field(&genz_interface, b, "IngressDREnb"), 1);
		ck_assert_uint_eq(field(&genz_interface, b, "IState"), GENZ_I_DOWN);
		/* Read after a refresh of that interface. */
		ck_assert_uint_eq(field(&genz_interface, b, "PeerCID"), 0x100 + n);
		ck_assert_ptr_eq(fake.refreshed, control_space_find(cs, next * GENZ_UNIT, 1));
		lprt_ptr = field(&genz_interface, b, "LPRTPTR");
		mprt_ptr = field(&genz_interface, b, "MPRTPTR");
		if (id->cclass != GENZ_CCLASS_SWITCH || n == 0 || n == id->self_interface) {
			ck_assert_msg(lprt_ptr == 0 && mprt_ptr == 0,
				      "interface %u: LPRTPTR 0x%llx, MPRTPTR 0x%llx", n,
				      (unsigned long long)lprt_ptr, (unsigned long long)mprt_ptr);
		} else {
			r = pointed_table(lprt_ptr, id->cid_entries);
			ck_assert_int_eq(r->table, CONTROL_TABLE_LPRT);
			ck_assert_uint_eq(r->interface, n);
			r = pointed_table(mprt_ptr, id->sid_entries);
			ck_assert_int_eq(r->table, CONTROL_TABLE_MPRT);
			ck_assert_uint_eq(r->interface, n);
		}
		next = field(&genz_interface, b, "NextInterfacePTR");
		n++;
	}
	ck_assert_uint_eq(n, id->interfaces);
}

/*
 * A new space of id, walked (its core in core), and the structure s the core's pointer ptr
 * leads to, in b.
 */
static void walk_to(const ControlIdentity *id, uint8_t core[0x200], const char *ptr,
		    const GenzStructure *s, uint8_t b[0x200])
{
	cs = control_space_free(cs);
	cs = space(id);
	walk(id, core);
	follow_to(core, ptr, s, b);
}

START_TEST(test_walk_switch)
{
	ControlIdentity id = switch_id;
	uint8_t core[0x200], b[0x200];

	/* The component switch structure is the first optional one: a manager knows its type. */
	walk_to(&switch_id, core, "StructPTR0", &genz_component_switch, b);
	ck_assert_uint_eq(field(&genz_component_switch, b, "PktRelayEnb"), 1);
	/* 4096 LPRT entries are written 0 (12 bits); 4096 MPRT entries fit MPRTSize's 16. */
	ck_assert_uint_eq(field(&genz_component_switch, b, "LPRTSize"), 0);
	ck_assert_uint_eq(field(&genz_component_switch, b, "MPRTSize"), SID_ENTRIES);
	ck_assert_uint_eq(field(&genz_component_switch, b, "MaxRoutes"), 1);
	/* No other structure, no destination table: a switch routes by its LPRTs and MPRTs. */
	ck_assert_uint_eq(field(&genz_core, core, "StructPTR1"), 0);
	ck_assert_uint_eq(field(&genz_core, core, "CompDestPTR"), 0);
	ck_assert_ptr_null(control_space_find(cs, CONTROL_CDT_OFFSET, 8));
	ck_assert_ptr_null(control_space_find(cs, CONTROL_SSDT_OFFSET, 4));
	ck_assert_ptr_null(control_space_find(cs, CONTROL_MSDT_OFFSET, 4));

	/* Down, and other sizes: LPRTSize counts entries; MPRTSize 0 is 65536. */
	id.up = false;
	id.cid_entries = 100;
	id.sid_entries = CONTROL_SID_ENTRIES;
	walk_to(&id, core, "StructPTR0", &genz_component_switch, b);
	ck_assert_uint_eq(field(&genz_component_switch, b, "PktRelayEnb"), 0);
	ck_assert_uint_eq(field(&genz_component_switch, b, "LPRTSize"), 100);
	ck_assert_uint_eq(field(&genz_component_switch, b, "MPRTSize"), 0);
}
END_TEST

START_TEST(test_walk_bridge)
{
	ControlIdentity id = bridge_id;
	const ControlRegion *r;
	uint8_t core[0x200], b[0x200];

	walk_to(&bridge_id, core, "CompDestPTR", &genz_component_destination_table, b);
	ck_assert_uint_eq(field(&genz_core, core, "StructPTR0"), 0);
	/* 4096 and 65536 entries: 0 in the 12 and 16 bits of the sizes. */
	ck_assert_uint_eq(field(&genz_component_destination_table, b, "SSDTSize"), 0);
	ck_assert_uint_eq(field(&genz_component_destination_table, b, "MSDTSize"), 0);
	ck_assert_uint_eq(field(&genz_component_destination_table, b, "MaxRoutes"), 1);
	r = pointed_table(field(&genz_component_destination_table, b, "SSDTPTR"),
			  CONTROL_CID_ENTRIES);
	ck_assert_int_eq(r->table, CONTROL_TABLE_SSDT);
	ck_assert_str_eq(r->name, "ssdt");
	r = pointed_table(field(&genz_component_destination_table, b, "MSDTPTR"),
			  CONTROL_SID_ENTRIES);
	ck_assert_int_eq(r->table, CONTROL_TABLE_MSDT);
	ck_assert_str_eq(r->name, "msdt");
	/* No switch structure, no port tables. */
	ck_assert_ptr_null(control_space_find(cs, CONTROL_SWITCH_OFFSET, 8));
	ck_assert_ptr_null(control_space_find(cs, CONTROL_LPRT_OFFSET(0), 4));
	ck_assert_ptr_null(control_space_find(cs, CONTROL_MPRT_OFFSET(0), 4));

	/* Smaller tables: their sizes as they are. */
	id.cid_entries = 1000;
	id.sid_entries = 300;
	walk_to(&id, core, "CompDestPTR", &genz_component_destination_table, b);
	ck_assert_uint_eq(field(&genz_component_destination_table, b, "SSDTSize"), 1000);
	ck_assert_uint_eq(field(&genz_component_destination_table, b, "MSDTSize"), 300);
	pointed_table(field(&genz_component_destination_table, b, "SSDTPTR"), 1000);
	pointed_table(field(&genz_component_destination_table, b, "MSDTPTR"), 300);
}
END_TEST

START_TEST(test_regions)
{
	static const char *const bridge_regions[] = { "core", "component_destination_table",
						      "interface0", "ssdt", "msdt" };
	size_t n;
	ControlRegion *r;

	cs = space(&switch_id);
	/* The core, the switch structure, 32 interfaces, an LPRT and an MPRT for 30 of them. */
	n = control_space_n_regions(cs);
	ck_assert_uint_eq(n, 2 + INTERFACES + 2 * (INTERFACES - 2));
	/* By offset, none overlapping the next. */
	for (size_t i = 0; i + 1 < n; i++) {
		const ControlRegion *a = control_space_region(cs, i),
				    *z = control_space_region(cs, i + 1);

		EXPECT(a->size > 0);
		EXPECT(a->offset + a->size <= z->offset);
	}
	ck_assert_ptr_null(control_space_region(cs, n));

	r = control_space_structure(cs, "core");
	ck_assert_ptr_eq(r, control_space_region(cs, 0));
	ck_assert_uint_eq(r->offset, CONTROL_CORE_OFFSET);
	ck_assert_uint_eq(r->size, 0x200);
	ck_assert_ptr_eq(r->structure, &genz_core);
	ck_assert_ptr_eq(r->bytes, control_space_core(cs));
	r = control_space_structure(cs, "component_switch");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->offset, CONTROL_SWITCH_OFFSET);
	ck_assert_uint_eq(r->size, genz_component_switch.size);
	r = control_space_structure(cs, "interface31");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->offset, CONTROL_INTERFACE_OFFSET(31));
	ck_assert_uint_eq(r->size, genz_interface.size);
	ck_assert_uint_eq(r->interface, 31);
	ck_assert_ptr_eq(r->bytes, control_space_interface(cs, 31));
	ck_assert_ptr_eq(control_space_find(cs, CONTROL_INTERFACE_OFFSET(31) + 8, 8), r);
	ck_assert_ptr_null(control_space_structure(cs, "interface32"));
	ck_assert_ptr_null(control_space_structure(cs, "component_destination_table"));
	ck_assert_ptr_null(control_space_structure(cs, "lprt3")); /* a table */
	ck_assert_ptr_null(control_space_interface(cs, INTERFACES));

	/* Tables named for sysfs, back to back: the last entry of one, the first of the next. */
	r = control_space_find(cs, CONTROL_LPRT_OFFSET(3), 4);
	ck_assert_str_eq(r->name, "lprt3");
	ck_assert_ptr_eq(control_space_find(cs, CONTROL_LPRT_OFFSET(3) + 0x4000 - 4, 4), r);
	ck_assert_str_eq(control_space_find(cs, CONTROL_LPRT_OFFSET(3) + 0x4000, 4)->name, "lprt4");
	ck_assert_ptr_null(control_space_find(cs, CONTROL_LPRT_OFFSET(3) + 0x4000 - 4, 8));
	r = control_space_find(cs, CONTROL_MPRT_OFFSET(31), 4);
	ck_assert_str_eq(r->name, "mprt31");
	ck_assert_uint_eq(r->size, SID_ENTRIES * GENZ_ROUTE_SIZE);
	ck_assert_ptr_null(control_space_find(cs, CONTROL_MPRT_OFFSET(31) + r->size, 4));
	cs = control_space_free(cs);

	cs = space(&bridge_id);
	ck_assert_uint_eq(control_space_n_regions(cs), ELEMENTSOF(bridge_regions));
	for (size_t i = 0; i < ELEMENTSOF(bridge_regions); i++)
		ck_assert_str_eq(control_space_region(cs, i)->name, bridge_regions[i]);
	ck_assert_ptr_nonnull(control_space_interface(cs, 0));
	ck_assert_ptr_null(control_space_interface(cs, 1));
}
END_TEST

/* A read and a write of len bytes at offset are refused OutOfRange, and ask nothing. */
static void assert_out_of_range(uint64_t offset, uint32_t len)
{
	uint8_t buf[2 * CONTROL_DATA_MAX] = { 0 };
	unsigned refreshes = fake.refreshes, gets = fake.gets, sets = fake.sets;
	unsigned writes = fake.writes;

	ck_assert_msg(control_space_read(cs, offset, len, buf) == CONTROL_OUT_OF_RANGE,
		      "read of %u at 0x%llx", len, (unsigned long long)offset);
	ck_assert_msg(control_space_write(cs, offset, buf, len) == CONTROL_OUT_OF_RANGE,
		      "write of %u at 0x%llx", len, (unsigned long long)offset);
	ck_assert_msg(fake.refreshes == refreshes && fake.gets == gets && fake.sets == sets &&
			      fake.writes == writes,
		      "%u at 0x%llx: the component was asked", len, (unsigned long long)offset);
}

/* A read of len bytes at offset is answered. */
static void assert_readable(uint64_t offset, uint32_t len)
{
	uint8_t buf[CONTROL_DATA_MAX];

	ck_assert_msg(control_space_read(cs, offset, len, buf) == CONTROL_OK,
		      "read of %u at 0x%llx", len, (unsigned long long)offset);
}

START_TEST(test_ranges)
{
	cs = space(&switch_id);

	/* Lengths: none, more than a request carries. */
	assert_readable(0, CONTROL_DATA_MAX);
	assert_out_of_range(0, 0);
	assert_out_of_range(0, CONTROL_DATA_MAX + 1);
	assert_out_of_range(CONTROL_INTERFACE_OFFSET(3), 0);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), 0);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), CONTROL_DATA_MAX + 4);

	/* Across the end of a structure, into the gap after it or into the next. */
	assert_readable(0x1f8, 8);
	assert_out_of_range(0x1f8, 16);
	assert_out_of_range(0x1f0, 32); /* the core, then the switch structure */
	assert_readable(CONTROL_SWITCH_OFFSET + 0x68, 8);
	assert_out_of_range(CONTROL_SWITCH_OFFSET + 0x68, 9);
	assert_readable(CONTROL_INTERFACE_OFFSET(3) + 0xa8, 8);
	assert_out_of_range(CONTROL_INTERFACE_OFFSET(3) + 0xa8, 16);
	/* Across the end of a table, into the next one, or past the last. */
	assert_readable(CONTROL_LPRT_OFFSET(1) + 0x4000 - 4, 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1) + 0x4000 - 4, 8);
	assert_out_of_range(CONTROL_MPRT_OFFSET(31) + SID_ENTRIES * 4 - 4, 8);

	/* Offsets in no region. */
	assert_out_of_range(CONTROL_SWITCH_OFFSET + 0x70, 4);
	assert_out_of_range(CONTROL_CDT_OFFSET, 8); /* a bridge's */
	assert_out_of_range(0x800, 8);
	assert_out_of_range(CONTROL_INTERFACE_OFFSET(0) + 0xb0, 8);
	assert_out_of_range(CONTROL_INTERFACE_OFFSET(INTERFACES), 8);
	assert_out_of_range(CONTROL_SSDT_OFFSET, 4);
	assert_out_of_range(CONTROL_MSDT_OFFSET, 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(0), 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(SELF), 4);
	assert_out_of_range(CONTROL_MPRT_OFFSET(0), 4);
	assert_out_of_range(CONTROL_MPRT_OFFSET(SELF), 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(INTERFACES), 4);
	assert_out_of_range(CONTROL_MPRT_OFFSET(1) + SID_ENTRIES * 4, 4);
	assert_out_of_range(CONTROL_MPRT_OFFSET(INTERFACES), 4);
	assert_out_of_range(CONTROL_OFFSET_MAX - 3, 4);
	assert_out_of_range(UINT64_MAX - 3, 4);
	assert_out_of_range(UINT64_MAX, 1);

	/* Tables: whole entries only. */
	assert_readable(CONTROL_LPRT_OFFSET(1) + 4, CONTROL_DATA_MAX);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1) + 1, 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1) + 2, 4);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), 1);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), 2);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), 6);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1) + 4, CONTROL_DATA_MAX - 1);
	assert_out_of_range(CONTROL_MPRT_OFFSET(2) + 2, 8);
	cs = control_space_free(cs);

	cs = space(&bridge_id);
	assert_out_of_range(CONTROL_SWITCH_OFFSET, 8);
	assert_readable(CONTROL_CDT_OFFSET + 0x38, 8);
	assert_out_of_range(CONTROL_CDT_OFFSET + 0x38, 16);
	assert_out_of_range(CONTROL_INTERFACE_OFFSET(1), 8);
	assert_out_of_range(CONTROL_LPRT_OFFSET(1), 4);
	assert_readable(CONTROL_SSDT_OFFSET, 4);
	assert_out_of_range(CONTROL_SSDT_OFFSET + 2, 4);
	assert_out_of_range(CONTROL_SSDT_OFFSET + CONTROL_CID_ENTRIES * 4, 4);
	assert_readable(CONTROL_MSDT_OFFSET + (CONTROL_SID_ENTRIES - 1) * 4, 4);
	assert_out_of_range(CONTROL_MSDT_OFFSET, 3);
	assert_out_of_range(CONTROL_MSDT_OFFSET + CONTROL_SID_ENTRIES * 4, 4);
}
END_TEST

/* A write the space must refuse ReadOnly: len bytes of want at off of the structure at base. */
static void assert_read_only(uint64_t base, const uint8_t *want, size_t off, uint32_t len)
{
	ControlRegion *r = control_space_find(cs, base, 1);
	uint8_t before[0x200];
	unsigned writes = fake.writes;

	ck_assert_ptr_nonnull(r);
	memcpy(before, r->bytes, r->size);
	ck_assert_msg(control_space_write(cs, base + off, want + off, len) == CONTROL_READ_ONLY,
		      "%s: write of %u at 0x%zx", r->name, len, off);
	ck_assert_msg(memcmp(r->bytes, before, r->size) == 0, "%s: written", r->name);
	ck_assert_uint_eq(fake.writes, writes);
}

/* Field name of structure r written as value, len bytes at off, the rest as it is: refused. */
static void assert_field_read_only(ControlRegion *r, const char *name, uint64_t value, size_t off,
				   uint32_t len)
{
	uint8_t want[0x200];

	read_chunks(r->offset, r->size, want);
	ck_assert(genz_set_named(r->structure, want, name, value));
	assert_read_only(r->offset, want, off, len);
}

/*
 * A write the space must take: len bytes of want at off of structure r, which held before.
 * The component hears of it with the old bytes.
 */
static void assert_written(ControlRegion *r, const uint8_t *want, const uint8_t *before, size_t off,
			   uint32_t len)
{
	unsigned writes = fake.writes;

	ck_assert_int_eq(control_space_write(cs, r->offset + off, want + off, len), CONTROL_OK);
	ck_assert_mem_eq(r->bytes, want, r->size);
	ck_assert_uint_eq(fake.writes, writes + 1);
	ck_assert_ptr_eq(fake.written, r);
	ck_assert_uint_eq(fake.off, off);
	ck_assert_uint_eq(fake.len, len);
	ck_assert_mem_eq(fake.old, before, r->size);
}

START_TEST(test_read_only)
{
	uint8_t before[0x200], want[0x200];
	ControlRegion *core, *iface;

	cs = space(&switch_id);
	core = control_space_structure(cs, "core");
	read_chunks(0, 0x200, before);

	/* MaxInterface, alone or with a field a manager writes. */
	memcpy(want, before, sizeof(want));
	genz_set_named(&genz_core, want, "MaxInterface", INTERFACES + 1);
	assert_read_only(0, want, 0x18, 8);
	assert_read_only(0, want, 0x1a, 1);
	genz_set_named(&genz_core, want, "ComponentEnb", 1);
	assert_read_only(0, want, 0, CONTROL_DATA_MAX);
	/* C-State, the serial number, a pointer, bits no field has. */
	assert_field_read_only(core, "CState", GENZ_C_DOWN, 0x08, 8);
	assert_field_read_only(core, "SerialNumber", 1, 0x1c0, 8);
	assert_field_read_only(core, "Interface0PTR", 0x200, 0x78, 8);
	memcpy(want, before, sizeof(want));
	want[0xbf] = 0x80;
	assert_read_only(0, want, 0xb8, 8);

	/* The same values back with writable fields changed: a manager writes whole words. */
	memcpy(want, before, sizeof(want));
	genz_set_named(&genz_core, want, "ComponentEnb", 1);
	genz_set_named(&genz_core, want, "RefreshCompConfig", 1);
	assert_written(core, want, before, 0, CONTROL_DATA_MAX);
	/* Part of a word, at an odd offset. */
	memcpy(before, want, sizeof(want));
	genz_set_named(&genz_core, want, "CCTO", 0xbeef);
	assert_written(core, want, before, 0x8c, 2);
	ck_assert_uint_eq(fake.writes, 2);

	/* An interface: its ID and state stay, its enable bits are the manager's. */
	iface = control_space_structure(cs, "interface3");
	assert_field_read_only(iface, "InterfaceID", 4, 0, 8);
	assert_field_read_only(iface, "IState", GENZ_I_UP, 8, 8);
	assert_field_read_only(iface, "LPRTPTR", 0, 0x90, 16);
	read_chunks(iface->offset, iface->size, before);
	memcpy(want, before, iface->size);
	genz_set_named(&genz_interface, want, "IfaceEnb", 0);
	assert_written(iface, want, before, 8, 16);
	ck_assert_uint_eq(
		genz_get_named(&genz_interface, control_space_interface(cs, 3), "IfaceEnb"), 0);
	ck_assert_uint_eq(genz_get_named(&genz_interface, fake.old, "IfaceEnb"), 1);

	/* The switch structure: its sizes stay, its relay is the manager's. */
	iface = control_space_structure(cs, "component_switch");
	assert_field_read_only(iface, "LPRTSize", 16, 0x10, 8);
	read_chunks(iface->offset, iface->size, before);
	memcpy(want, before, iface->size);
	genz_set_named(&genz_component_switch, want, "PktRelayEnb", 0);
	assert_written(iface, want, before, 0, iface->size);
	ck_assert_uint_eq(genz_get_named(&genz_component_switch, iface->bytes, "PktRelayEnb"), 0);
}
END_TEST

/* Writes CV and CID0 (the word at 0xc0 of the core): what the space said. */
static ControlReason write_cv(unsigned cv, unsigned cid)
{
	uint8_t core[0x200];

	read_chunks(0, sizeof(core), core);
	genz_set_named(&genz_core, core, "CV", cv);
	genz_set_named(&genz_core, core, "CID0", cid);
	return control_space_write(cs, 0xc0, core + 0xc0, 8);
}

static unsigned cstate(void)
{
	uint8_t b[8];

	read_chunks(0x08, sizeof(b), b);
	return b[0] & 7;
}

START_TEST(test_c_state)
{
	uint8_t core[0x200];

	cs = space(&bridge_id);
	ck_assert_uint_eq(cstate(), GENZ_C_CFG);
	/* CV with CID0: C-Up, already when the component hears of the write. */
	ck_assert_int_eq(write_cv(1, 0x64), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
	ck_assert_uint_eq(fake.writes, 1);
	ck_assert_ptr_eq(fake.written, control_space_structure(cs, "core"));
	ck_assert_uint_eq(fake.off, 0xc0);
	ck_assert_uint_eq(fake.len, 8);
	ck_assert_uint_eq(fake.cstate, GENZ_C_UP);
	ck_assert_uint_eq(genz_get_named(&genz_core, fake.old, "CState"), GENZ_C_CFG);
	ck_assert_uint_eq(genz_get_named(&genz_core, fake.old, "CV"), 0);
	read_chunks(0, sizeof(core), core);
	ck_assert_uint_eq(genz_get_named(&genz_core, core, "CV"), 1);
	ck_assert_uint_eq(genz_get_named(&genz_core, core, "CID0"), 0x64);
	/* Again: stays up. */
	ck_assert_int_eq(write_cv(1, 0x65), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
	/* CV cleared: back to C-CFG, with the CID kept. */
	ck_assert_int_eq(write_cv(0, 0x65), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_CFG);
	ck_assert_uint_eq(fake.cstate, GENZ_C_CFG);
	ck_assert_uint_eq(genz_get_named(&genz_core, fake.old, "CState"), GENZ_C_UP);
	read_chunks(0, sizeof(core), core);
	ck_assert_uint_eq(genz_get_named(&genz_core, core, "CID0"), 0x65);
	/* Only CID0 valid counts: CID1 valid alone is not up. */
	ck_assert_int_eq(write_cv(2, 0x65), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_CFG);
	ck_assert_int_eq(write_cv(3, 0x65), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
	ck_assert_int_eq(write_cv(0, 0x65), CONTROL_OK);
	/* A write refused changes no state, though it sets CV. */
	read_chunks(0, sizeof(core), core);
	genz_set_named(&genz_core, core, "CV", 1);
	core[0xbf] = 0x80; /* reserved */
	ck_assert_int_eq(control_space_write(cs, 0xb8, core + 0xb8, 16), CONTROL_READ_ONLY);
	ck_assert_uint_eq(cstate(), GENZ_C_CFG);
	cs = control_space_free(cs);

	/* The switch famezd configured: down and up again by CV. */
	cs = space(&switch_id);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
	ck_assert_int_eq(write_cv(0, 1500), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_CFG);
	ck_assert_int_eq(write_cv(1, 1600), CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
	/* Writes elsewhere, in an interface, leave it. */
	memcpy(core, control_space_interface(cs, 2), genz_interface.size);
	ck_assert_int_eq(control_space_write(cs, CONTROL_INTERFACE_OFFSET(2) + 8, core + 8, 8),
			 CONTROL_OK);
	ck_assert_uint_eq(cstate(), GENZ_C_UP);
}
END_TEST

START_TEST(test_tables)
{
	uint8_t data[CONTROL_DATA_MAX], out[CONTROL_DATA_MAX];
	const ControlRegion *r;

	cs = space(&switch_id);
	/* Reads: what table_get gives, an entry at a time, little-endian. */
	r = control_space_find(cs, CONTROL_LPRT_OFFSET(3), 4);
	ck_assert_int_eq(control_space_read(cs, CONTROL_LPRT_OFFSET(3) + 4 * 100, sizeof(out), out),
			 CONTROL_OK);
	ck_assert_uint_eq(fake.gets, sizeof(out) / 4);
	for (uint32_t k = 0; k < sizeof(out) / 4; k++) {
		uint32_t v = pattern(CONTROL_TABLE_LPRT, 3, 100 + k);

		EXPECT(out[4 * k] == (uint8_t)v && out[4 * k + 1] == (uint8_t)(v >> 8) &&
		       out[4 * k + 2] == (uint8_t)(v >> 16) &&
		       out[4 * k + 3] == (uint8_t)(v >> 24));
	}
	ck_assert_int_eq(
		control_space_read(cs, CONTROL_MPRT_OFFSET(31) + (SID_ENTRIES - 1) * 4, 4, out),
		CONTROL_OK);
	put_le32(data, pattern(CONTROL_TABLE_MPRT, 31, SID_ENTRIES - 1));
	ck_assert_mem_eq(out, data, 4);
	/* The live table: what the component holds now. */
	lprt[1][0] = 0x01020304;
	ck_assert_int_eq(control_space_read(cs, CONTROL_LPRT_OFFSET(1), 4, out), CONTROL_OK);
	ck_assert_uint_eq(out[0], 0x04);
	ck_assert_uint_eq(out[3], 0x01);

	/* Writes: table_set for each entry in turn, with its index and the packed value. */
	for (unsigned k = 0; k < 8; k++)
		put_le32(data + 4 * k,
			 genz_route_pack((GenzRoute){
				 .mhc = 1, .valid = true, .hc = k, .vca = 2, .ei = 16 + k }));
	ck_assert_int_eq(control_space_write(cs, CONTROL_LPRT_OFFSET(3) + 4 * 10, data, 32),
			 CONTROL_OK);
	ck_assert_uint_eq(fake.sets, 8);
	for (unsigned k = 0; k < 8; k++) {
		GenzRoute e = genz_route_unpack(fake.set_calls[k].value);

		ck_assert_ptr_eq(fake.set_calls[k].r, r);
		ck_assert_uint_eq(fake.set_calls[k].index, 10 + k);
		ck_assert(e.valid);
		ck_assert_uint_eq(e.hc, k);
		ck_assert_uint_eq(e.ei, 16 + k);
		ck_assert_uint_eq(lprt[3][10 + k], fake.set_calls[k].value);
	}
	ck_assert_uint_eq(lprt[3][9], pattern(CONTROL_TABLE_LPRT, 3, 9));
	ck_assert_uint_eq(lprt[3][18], pattern(CONTROL_TABLE_LPRT, 3, 18));
	ck_assert_uint_eq(lprt[2][10], pattern(CONTROL_TABLE_LPRT, 2, 10));
	ck_assert_uint_eq(mprt[3][10], pattern(CONTROL_TABLE_MPRT, 3, 10));
	ck_assert_uint_eq(fake.writes, 0); /* tables are not structures */
	ck_assert_int_eq(control_space_read(cs, CONTROL_LPRT_OFFSET(3) + 4 * 10, 32, out),
			 CONTROL_OK);
	ck_assert_mem_eq(out, data, 32);

	/* A refusal is the answer; the entries before it are written, the rest not asked. */
	fake.sets = 0;
	fake.refuse = 102;
	ck_assert_int_eq(control_space_write(cs, CONTROL_MPRT_OFFSET(5) + 4 * 100, data, 32),
			 CONTROL_UNSUPPORTED);
	ck_assert_uint_eq(fake.sets, 3);
	ck_assert_int_eq(fake.set_calls[0].r->table, CONTROL_TABLE_MPRT);
	ck_assert_uint_eq(fake.set_calls[0].r->interface, 5);
	ck_assert_uint_eq(fake.set_calls[2].index, 102);
	ck_assert_uint_eq(mprt[5][100], fake.set_calls[0].value);
	ck_assert_uint_eq(mprt[5][101], fake.set_calls[1].value);
	ck_assert_uint_eq(mprt[5][102], pattern(CONTROL_TABLE_MPRT, 5, 102));
	ck_assert_uint_eq(mprt[5][103], pattern(CONTROL_TABLE_MPRT, 5, 103));
	cs = control_space_free(cs);

	/* A bridge's: its last SSDT and MSDT entries. */
	cs = space(&bridge_id);
	fake.sets = 0;
	fake.refuse = UINT32_MAX;
	ck_assert_int_eq(control_space_write(cs, CONTROL_SSDT_OFFSET + 4 * 4095, data + 4, 4),
			 CONTROL_OK);
	ck_assert_int_eq(control_space_write(cs, CONTROL_MSDT_OFFSET + 4 * 65535, data + 8, 4),
			 CONTROL_OK);
	ck_assert_uint_eq(fake.sets, 2);
	ck_assert_int_eq(fake.set_calls[0].r->table, CONTROL_TABLE_SSDT);
	ck_assert_uint_eq(fake.set_calls[0].index, 4095);
	ck_assert_int_eq(fake.set_calls[1].r->table, CONTROL_TABLE_MSDT);
	ck_assert_uint_eq(fake.set_calls[1].index, 65535);
	ck_assert_uint_eq(ssdt[4095],
			  genz_route_pack((GenzRoute){
				  .mhc = 1, .valid = true, .hc = 1, .vca = 2, .ei = 17 }));
	ck_assert_int_eq(control_space_read(cs, CONTROL_MSDT_OFFSET + 4 * 65532, 16, out),
			 CONTROL_OK);
	ck_assert_mem_eq(out + 12, data + 8, 4);
	put_le32(data, pattern(CONTROL_TABLE_MSDT, 0, 65532));
	ck_assert_mem_eq(out, data, 4);
}
END_TEST

/* One request of requester: the reason of its answer (and the answer in *resp). */
static ControlReason ask(const ControlMsg *req, uint64_t requester, ControlMsg *resp)
{
	memset(resp, 0xee, sizeof(*resp));
	ck_assert(control_space_answer(cs, req, requester, resp));
	ck_assert_uint_eq(resp->tag, req->tag);
	ck_assert(resp->type == CONTROL_MSG_READ_RESPONSE || resp->type == CONTROL_MSG_ACK);
	ck_assert((resp->type == CONTROL_MSG_READ_RESPONSE) ==
		  (req->type == CONTROL_MSG_READ && resp->reason == CONTROL_OK));
	return resp->reason;
}

static ControlMsg read_req(uint16_t tag, uint64_t offset, uint32_t length)
{
	return (ControlMsg){ .type = CONTROL_MSG_READ,
			     .tag = tag,
			     .has_tag = true,
			     .offset = offset,
			     .length = length };
}

/* A write of CID0 (and CV) to the core. */
static ControlMsg cid_write_req(uint16_t tag, unsigned cid)
{
	ControlMsg m = {
		.type = CONTROL_MSG_WRITE, .tag = tag, .has_tag = true, .offset = 0xc0, .length = 8
	};
	uint8_t core[0x200];

	memcpy(core, control_space_core(cs), sizeof(core));
	genz_set_named(&genz_core, core, "CV", 1);
	genz_set_named(&genz_core, core, "CID0", cid);
	memcpy(m.data, core + 0xc0, 8);
	return m;
}

static unsigned cid0(void)
{
	return (unsigned)genz_get_named(&genz_core, control_space_core(cs), "CID0");
}

START_TEST(test_answer)
{
	ControlMsg req, resp;
	uint8_t core[0x200];

	cs = space(&switch_id);
	/* A read: its bytes in a read response. */
	req = read_req(7, 0xc0, 16);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	ck_assert_int_eq(resp.type, CONTROL_MSG_READ_RESPONSE);
	ck_assert_uint_eq(resp.length, 16);
	ck_assert_mem_eq(resp.data, control_space_core(cs) + 0xc0, 16);
	req = read_req(8, 0, CONTROL_DATA_MAX);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	read_chunks(0, sizeof(core), core);
	ck_assert_mem_eq(resp.data, core, CONTROL_DATA_MAX);
	/* A write: acknowledged, written. */
	req = cid_write_req(9, 1600);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	ck_assert_uint_eq(cid0(), 1600);
	ck_assert_uint_eq(fake.writes, 1);

	/* The tag of a recent request of the same requester: refused, nothing done. */
	req = cid_write_req(9, 1700);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	ck_assert_uint_eq(cid0(), 1600);
	ck_assert_uint_eq(fake.writes, 1);
	req = read_req(7, 0xc0, 16);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	/* Another requester's tags are its own. */
	ck_assert_int_eq(ask(&req, 2, &resp), CONTROL_OK);
	ck_assert_int_eq(resp.type, CONTROL_MSG_READ_RESPONSE);
	req = cid_write_req(9, 1700);
	ck_assert_int_eq(ask(&req, 2, &resp), CONTROL_OK);
	ck_assert_uint_eq(cid0(), 1700);

	/* Refusals: an acknowledgment with the reason, no data. */
	req = read_req(10, CONTROL_LPRT_OFFSET(0), 4);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OUT_OF_RANGE);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	req = read_req(11, 0, 0);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OUT_OF_RANGE);
	req = (ControlMsg){
		.type = CONTROL_MSG_WRITE, .tag = 12, .has_tag = true, .offset = 0x18, .length = 8
	};
	memcpy(req.data, control_space_core(cs) + 0x18, 8);
	req.data[2] ^= 0x01; /* MaxInterface's lowest bit */
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_READ_ONLY);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	ck_assert_uint_eq(genz_get_named(&genz_core, control_space_core(cs), "MaxInterface"),
			  INTERFACES);
	fake.refuse = 0;
	req = (ControlMsg){ .type = CONTROL_MSG_WRITE,
			    .tag = 13,
			    .has_tag = true,
			    .offset = CONTROL_MPRT_OFFSET(1),
			    .length = 4 };
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_UNSUPPORTED);

	/* What is no request has no answer, and counts for nothing. */
	req = read_req(14, 0, 8);
	for (ControlMsgType t = CONTROL_MSG_NONE; t <= CONTROL_MSG_ACK; t++) {
		if (t == CONTROL_MSG_READ || t == CONTROL_MSG_WRITE)
			continue;
		req.type = t;
		ck_assert(!control_space_answer(cs, &req, 1, &resp));
	}
	/* What did not parse. */
	req = (ControlMsg){ .type = CONTROL_MSG_WRITE, .tag = 15, .has_tag = true };
	memset(&resp, 0xee, sizeof(resp));
	control_space_answer_malformed(cs, &req, &resp);
	ck_assert_int_eq(resp.type, CONTROL_MSG_ACK);
	ck_assert_uint_eq(resp.tag, 15);
	ck_assert_int_eq(resp.reason, CONTROL_MALFORMED);

	ck_assert_uint_eq(control_space_count(cs, CONTROL_OK), 5);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_TAG_REUSED), 2);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_OUT_OF_RANGE), 2);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_READ_ONLY), 1);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_UNSUPPORTED), 1);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_MALFORMED), 1);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_REASON_MAX_), 0);
	ck_assert_uint_eq(control_space_count(cs, (ControlReason)1000), 0);
}
END_TEST

START_TEST(test_tag_window)
{
	ControlMsg req, resp;

	cs = space(&bridge_id);
	req = read_req(100, 0, 8);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	/* Tag 100 and the 31 requests after it are the last CONTROL_TAG_WINDOW. */
	for (uint16_t t = 0; t < CONTROL_TAG_WINDOW - 1; t++) {
		req.tag = (uint16_t)(200 + t);
		EXPECT(ask(&req, 1, &resp) == CONTROL_OK);
	}
	req.tag = 100;
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	req.tag = 200;
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	/* One more: 100 is out of the window, fresh again, then recent again. */
	req.tag = CONTROL_TAG_MAX;
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	req.tag = 100;
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	req.tag = 201;
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_TAG_REUSED);
	req.tag = 200; /* out too: 100 took its place */
	ck_assert_int_eq(ask(&req, 1, &resp), CONTROL_OK);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_TAG_REUSED), 5);
	ck_assert_uint_eq(control_space_count(cs, CONTROL_OK), 1 + CONTROL_TAG_WINDOW - 1 + 3);
}
END_TEST

START_TEST(test_bad_identities)
{
	ControlIdentity bad[9];
	ControlIdentity good[3];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		bad[i] = switch_id;
	bad[0].interfaces = 0;
	bad[1].interfaces = CONTROL_INTERFACES_MAX + 1;
	bad[2] = bridge_id;
	bad[2].interfaces = 2;
	bad[3].cid = CONTROL_CID_ENTRIES;
	bad[4].cid_entries = 0;
	bad[5].cid_entries = CONTROL_CID_ENTRIES + 1;
	bad[6].sid_entries = 0;
	bad[7].sid_entries = CONTROL_SID_ENTRIES + 1;
	bad[8] = bridge_id;
	bad[8].interfaces = 0;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		errno = 0;
		ck_assert_msg(!control_space_new(&bad[i], &ops, &fake), "identity %zu accepted", i);
		ck_assert_int_eq(errno, EINVAL);
	}

	/* The limits themselves. */
	good[0] = switch_id;
	good[0].interfaces = CONTROL_INTERFACES_MAX;
	good[0].self_interface = CONTROL_INTERFACES_MAX - 1;
	good[0].cid = CONTROL_CID_ENTRIES - 1;
	good[1] = switch_id;
	good[1].interfaces = 1;
	good[1].cid_entries = 1;
	good[1].sid_entries = 1;
	good[2] = bridge_id;
	good[2].sid_entries = CONTROL_SID_ENTRIES;
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		cs = control_space_new(&good[i], &ops, &fake);
		ck_assert_msg(cs, "identity %zu refused", i);
		ck_assert_uint_eq(
			genz_get_named(&genz_core, control_space_core(cs), "MaxInterface"),
			good[i].interfaces);
		cs = control_space_free(cs);
	}
	/* 256 interfaces, 254 of them with tables. */
	cs = control_space_new(&good[0], &ops, &fake);
	ck_assert_uint_eq(control_space_n_regions(cs), 2 + 256 + 2 * 254);
	ck_assert_str_eq(control_space_find(cs, CONTROL_MPRT_OFFSET(254), 4)->name, "mprt254");
	ck_assert_ptr_null(control_space_find(cs, CONTROL_MPRT_OFFSET(255), 4));
	ck_assert_ptr_null(control_space_free(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control-space");
	TCase *tc = tcase_create("control-space");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_walk_switch);
	tcase_add_test(tc, test_walk_bridge);
	tcase_add_test(tc, test_regions);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_c_state);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_answer);
	tcase_add_test(tc, test_tag_window);
	tcase_add_test(tc, test_bad_identities);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
