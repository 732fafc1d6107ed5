/* SPDX-License-Identifier: MIT */
/*
 * The guest driver's control space (contrib/linux/famez_bridge, whose kernel code cannot include
 * src/shared) against src/shared's: its table of writable fields, turned into byte masks as the
 * driver turns it at probe, agrees bit by bit with genz_write_allowed(); every field it names
 * is genz.c's, at the same place, with the same width; its layout and routing entries are
 * control-space.h's and genz.h's. So the driver and famez's own components never drift apart.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/famez_bridge_control.h>

#include "control-space.h"
#include "genz.h"
#include "macro.h"
#include "testlib.h"

typedef struct Entry {
	const char *name;
	unsigned word, bit, width;
} Entry;

#define ENTRY(name_, word_, bit_, width_) { (name_), (word_), (bit_), (width_) },

static const Entry core_rw[] = { FAMEZ_GENZ_CORE_RW(ENTRY) };
static const Entry interface_rw[] = { FAMEZ_GENZ_INTERFACE_RW(ENTRY) };
static const Entry cdt_rw[] = { FAMEZ_GENZ_CDT_RW(ENTRY) };

static const struct {
	const GenzStructure *s;
	const Entry *rw;
	size_t n;
	size_t size; /* as the driver has it */
} structures[] = {
	{ &genz_core, core_rw, ELEMENTSOF(core_rw), FAMEZ_CTL_CORE_SIZE },
	{ &genz_interface, interface_rw, ELEMENTSOF(interface_rw), FAMEZ_CTL_INTERFACE_SIZE },
	{ &genz_component_destination_table, cdt_rw, ELEMENTSOF(cdt_rw), FAMEZ_CTL_CDT_SIZE },
};

/* The driver's byte masks: what famez_control.c builds at probe from the same table. */
static void driver_mask(const Entry *rw, size_t n, uint8_t *mask, size_t size)
{
	memset(mask, 0, size);
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < rw[i].width; b++) {
			unsigned bit = rw[i].word * 8 + rw[i].bit + b;

			ck_assert_uint_lt(bit / 8, size);
			mask[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
}

START_TEST(test_writable_masks_agree_with_genz_bit_by_bit)
{
	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		const GenzStructure *s = structures[k].s;
		uint8_t mask[0x200], zeros[0x200] = { 0 }, ones[0x200];

		ck_assert_uint_eq(structures[k].size, s->size);
		memset(ones, 0xff, sizeof(ones));
		driver_mask(structures[k].rw, structures[k].n, mask, s->size);
		for (size_t byte = 0; byte < s->size; byte++)
			for (unsigned bit = 0; bit < 8; bit++) {
				uint8_t flip = (uint8_t)(1u << bit), set = flip,
					clear = 0xff ^ flip;
				bool writable = mask[byte] & flip;

				/* Setting the bit from 0, and clearing it from 1: both, or neither.
				 */
				ck_assert_msg(
					genz_write_allowed(s, zeros, byte, &set, 1) == writable &&
						genz_write_allowed(s, ones, byte, &clear, 1) ==
							writable,
					"%s byte 0x%zx bit %u: the driver says %s", s->name, byte,
					bit, writable ? "writable" : "read-only");
			}
	}
}
END_TEST

START_TEST(test_every_writable_field_is_genz_s)
{
	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		const GenzStructure *s = structures[k].s;
		size_t rw = 0;

		for (size_t i = 0; i < structures[k].n; i++) {
			const Entry *e = &structures[k].rw[i];
			const GenzField *f = genz_field(s, e->name);

			ck_assert_msg(f, "%s has no field %s", s->name, e->name);
			ck_assert_msg(f->bit == e->word * 8 + e->bit && f->width == e->width,
				      "%s.%s: genz.c has bit %u width %u", s->name, e->name, f->bit,
				      f->width);
			ck_assert_msg(f->flags & GENZ_FIELD_RW, "%s.%s is read-only in genz.c",
				      s->name, e->name);
		}
		/* And every writable field of genz.c is in the driver's table. */
		for (size_t i = 0; i < s->n_fields; i++)
			rw += (s->fields[i].flags & GENZ_FIELD_RW) != 0;
		ck_assert_uint_eq(rw, structures[k].n);
	}
}
END_TEST

/* A field the driver names: at genz.c's place, with its width. */
#define CHECK_FIELD(s, field, ...)                                                                 \
	do {                                                                                       \
		const GenzField *f_ = genz_field((s), (field));                                    \
                                                                                                   \
		ck_assert_msg(f_, "%s has no field %s", (s)->name, (field));                       \
		ck_assert_msg(f_->bit == FAMEZ_GENZ_BIT(__VA_ARGS__) &&                            \
				      f_->width == FAMEZ_GENZ_WIDTH(__VA_ARGS__),                  \
			      "%s.%s: the driver has bit %u width %u, genz.c %u %u", (s)->name,    \
			      (field), (unsigned)FAMEZ_GENZ_BIT(__VA_ARGS__),                      \
			      (unsigned)FAMEZ_GENZ_WIDTH(__VA_ARGS__), f_->bit, f_->width);        \
	} while (0)

START_TEST(test_named_fields_are_where_genz_has_them)
{
	const GenzStructure *c = &genz_core, *d = &genz_component_destination_table,
			    *i = &genz_interface;

	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		CHECK_FIELD(structures[k].s, "Type", FAMEZ_GENZ_TYPE);
		CHECK_FIELD(structures[k].s, "Vers", FAMEZ_GENZ_VERSION);
		CHECK_FIELD(structures[k].s, "Size", FAMEZ_GENZ_SIZE);
	}
	CHECK_FIELD(c, "CState", FAMEZ_GENZ_CORE_CSTATE);
	CHECK_FIELD(c, "BaseCClass", FAMEZ_GENZ_CORE_BASECCLASS);
	CHECK_FIELD(c, "MaxInterface", FAMEZ_GENZ_CORE_MAXINTERFACE);
	CHECK_FIELD(c, "CompDestPTR", FAMEZ_GENZ_CORE_COMPDESTPTR);
	CHECK_FIELD(c, "Interface0PTR", FAMEZ_GENZ_CORE_INTERFACE0PTR);
	CHECK_FIELD(c, "PFMCID", FAMEZ_GENZ_CORE_PFMCID);
	CHECK_FIELD(c, "PFMSID", FAMEZ_GENZ_CORE_PFMSID);
	CHECK_FIELD(c, "SID0", FAMEZ_GENZ_CORE_SID0);
	CHECK_FIELD(c, "CV", FAMEZ_GENZ_CORE_CV);
	CHECK_FIELD(c, "CID0", FAMEZ_GENZ_CORE_CID0);
	CHECK_FIELD(c, "PFMCIDValid", FAMEZ_GENZ_CORE_PFMCIDVALID);
	CHECK_FIELD(c, "PFMSIDValid", FAMEZ_GENZ_CORE_PFMSIDVALID);
	CHECK_FIELD(c, "SerialNumber", FAMEZ_GENZ_CORE_SERIALNUMBER);
	CHECK_FIELD(d, "SSDTSize", FAMEZ_GENZ_CDT_SSDTSIZE);
	CHECK_FIELD(d, "MaxRoutes", FAMEZ_GENZ_CDT_MAXROUTES);
	CHECK_FIELD(d, "MSDTSize", FAMEZ_GENZ_CDT_MSDTSIZE);
	CHECK_FIELD(d, "SSDTPTR", FAMEZ_GENZ_CDT_SSDTPTR);
	CHECK_FIELD(d, "MSDTPTR", FAMEZ_GENZ_CDT_MSDTPTR);
	CHECK_FIELD(i, "InterfaceID", FAMEZ_GENZ_IFACE_INTERFACEID);
	CHECK_FIELD(i, "IState", FAMEZ_GENZ_IFACE_ISTATE);
	CHECK_FIELD(i, "IfaceEnb", FAMEZ_GENZ_IFACE_IFACEENB);
	CHECK_FIELD(i, "IngressDREnb", FAMEZ_GENZ_IFACE_INGRESSDRENB);
	CHECK_FIELD(i, "PeerInterfaceID", FAMEZ_GENZ_IFACE_PEERINTERFACEID);
	CHECK_FIELD(i, "PeerBaseCClass", FAMEZ_GENZ_IFACE_PEERBASECCLASS);
	CHECK_FIELD(i, "PeerCID", FAMEZ_GENZ_IFACE_PEERCID);
	CHECK_FIELD(i, "PeerSID", FAMEZ_GENZ_IFACE_PEERSID);
	CHECK_FIELD(i, "PeerCState", FAMEZ_GENZ_IFACE_PEERCSTATE);
	CHECK_FIELD(i, "PeerCIDValid", FAMEZ_GENZ_IFACE_PEERCIDVALID);
	CHECK_FIELD(i, "PeerSIDValid", FAMEZ_GENZ_IFACE_PEERSIDVALID);
}
END_TEST

/* The constants: control-space.h's layout, genz.h's types, states, classes and entries. */
START_TEST(test_layout_and_entries_are_famez_s)
{
	GenzRoute r = { .valid = true, .ei = 0xabc };
	ControlSpace *cs;
	ControlRegion *reg;
	struct {
		const char *name;
		uint64_t offset, size;
	} want[] = {
		{ "core", FAMEZ_CTL_CORE, FAMEZ_CTL_CORE_SIZE },
		{ "component_destination_table", FAMEZ_CTL_CDT, FAMEZ_CTL_CDT_SIZE },
		{ "interface0", FAMEZ_CTL_INTERFACE0, FAMEZ_CTL_INTERFACE_SIZE },
		{ "ssdt", FAMEZ_CTL_SSDT, FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE },
		{ "msdt", FAMEZ_CTL_MSDT, FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE },
	};

	ck_assert_uint_eq(FAMEZ_CTL_CORE, CONTROL_CORE_OFFSET);
	ck_assert_uint_eq(FAMEZ_CTL_CDT, CONTROL_CDT_OFFSET);
	ck_assert_uint_eq(FAMEZ_CTL_INTERFACE0, CONTROL_INTERFACE_OFFSET(0));
	ck_assert_uint_eq(FAMEZ_CTL_SSDT, CONTROL_SSDT_OFFSET);
	ck_assert_uint_eq(FAMEZ_CTL_MSDT, CONTROL_MSDT_OFFSET);
	ck_assert_uint_eq(FAMEZ_CTL_ENTRIES, CONTROL_CID_ENTRIES);
	ck_assert_uint_eq(FAMEZ_CTL_ENTRY_SIZE, GENZ_ROUTE_SIZE);
	ck_assert_uint_eq(FAMEZ_CTL_DATA_MAX, CONTROL_DATA_MAX);
	ck_assert_uint_eq(FAMEZ_CTL_TAG_MAX, CONTROL_TAG_MAX);
	ck_assert_uint_eq(FAMEZ_CTL_TAG_WINDOW, CONTROL_TAG_WINDOW);
	ck_assert_uint_eq(FAMEZ_CTL_UNIT, GENZ_UNIT);
	ck_assert_uint_eq(FAMEZ_GENZ_TYPE_CORE, genz_core.type);
	ck_assert_uint_eq(FAMEZ_GENZ_TYPE_INTERFACE, genz_interface.type);
	ck_assert_uint_eq(FAMEZ_GENZ_TYPE_CDT, genz_component_destination_table.type);
	ck_assert_uint_eq(FAMEZ_GENZ_VERS, genz_core.vers);
	ck_assert_uint_eq(FAMEZ_GENZ_VERS, genz_interface.vers);
	ck_assert_uint_eq(FAMEZ_GENZ_VERS, genz_component_destination_table.vers);
	ck_assert_uint_eq(FAMEZ_GENZ_C_DOWN, GENZ_C_DOWN);
	ck_assert_uint_eq(FAMEZ_GENZ_C_CFG, GENZ_C_CFG);
	ck_assert_uint_eq(FAMEZ_GENZ_C_UP, GENZ_C_UP);
	ck_assert_uint_eq(FAMEZ_GENZ_I_DOWN, GENZ_I_DOWN);
	ck_assert_uint_eq(FAMEZ_GENZ_I_UP, GENZ_I_UP);
	ck_assert_uint_eq(FAMEZ_GENZ_CCLASS_SWITCH, GENZ_CCLASS_SWITCH);
	ck_assert_uint_eq(FAMEZ_GENZ_CCLASS_BRIDGE, GENZ_CCLASS_BRIDGE);
	ck_assert_uint_eq(genz_route_pack(r),
			  FAMEZ_GENZ_ROUTE_V | 0xabcu << FAMEZ_GENZ_ROUTE_EI_SHIFT);
	ck_assert_uint_eq(genz_route_pack((GenzRoute){ .ei = 0xfff }) >> FAMEZ_GENZ_ROUTE_EI_SHIFT,
			  FAMEZ_GENZ_ROUTE_EI_MASK);

	/* A bridge's space as famez lays it out: the regions the driver shows in sysfs. */
	cs = control_space_new(&(ControlIdentity){ .cclass = GENZ_CCLASS_BRIDGE,
						   .interfaces = 1,
						   .cid_entries = FAMEZ_CTL_ENTRIES,
						   .sid_entries = FAMEZ_CTL_ENTRIES },
			       NULL, NULL);
	ck_assert_ptr_nonnull(cs);
	ck_assert_uint_eq(control_space_n_regions(cs), ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		reg = control_space_region(cs, i);
		ck_assert_str_eq(reg->name, want[i].name);
		ck_assert_uint_eq(reg->offset, want[i].offset);
		ck_assert_uint_eq(reg->size, want[i].size);
	}
	control_space_free(cs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bridge-control");
	TCase *tc = tcase_create("bridge-control");

	tcase_add_test(tc, test_writable_masks_agree_with_genz_bit_by_bit);
	tcase_add_test(tc, test_every_writable_field_is_genz_s);
	tcase_add_test(tc, test_named_fields_are_where_genz_has_them);
	tcase_add_test(tc, test_layout_and_entries_are_famez_s);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
