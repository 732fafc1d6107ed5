/* SPDX-License-Identifier: MIT */
/*
 * The Gen-Z 1.1 field tables (genz.h): places and widths against the numbers of the
 * specification's layout as linux-genz's genz-utils gives it (genz/genz_1_1.py), written out
 * here by hand; no field overlapping another or running past its structure; field access,
 * routing entries, what a manager may write, and the text of a field.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "genz.h"
#include "macro.h"
#include "testlib.h"

/* For the loops of many checks: Check's own assertions cost too much there. */
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                      \
	} while (0)

static const GenzStructure *const structures[] = {
	&genz_core,
	&genz_interface,
	&genz_component_switch,
	&genz_component_destination_table,
};

static uint64_t random_state = 0x9e3779b97f4a7c15;

static uint64_t random_next(void)
{
	random_state ^= random_state >> 12;
	random_state ^= random_state << 25;
	random_state ^= random_state >> 27;
	return random_state * 0x2545f4914f6cdd1d;
}

static void random_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)random_next();
}

/* Field f of s, failing the test if there is none. */
static const GenzField *field(const GenzStructure *s, const char *name)
{
	const GenzField *f = genz_field(s, name);

	ck_assert_msg(f, "%s has no field %s", s->name, name);
	return f;
}

/* The bits of byte `byte` that field f covers. */
static uint8_t field_bits(const GenzField *f, size_t byte)
{
	uint8_t mask = 0;

	for (unsigned b = 0; b < 8; b++) {
		size_t bit = byte * 8 + b;

		if (bit >= f->bit && bit < (size_t)f->bit + f->width)
			mask |= (uint8_t)(1u << b);
	}
	return mask;
}

START_TEST(test_structures)
{
	ck_assert_ptr_eq(genz_structure(0x0), &genz_core);
	ck_assert_ptr_eq(genz_structure(0x2), &genz_interface);
	ck_assert_ptr_eq(genz_structure(0x7), &genz_component_switch);
	ck_assert_ptr_eq(genz_structure(0x12), &genz_component_destination_table);
	ck_assert_ptr_null(genz_structure(0x1));
	ck_assert_ptr_null(genz_structure(0x3));
	ck_assert_ptr_null(genz_structure(0x13));
	ck_assert_ptr_null(genz_structure(0xfff));
	ck_assert_ptr_null(genz_structure(0xffff));

	/* Names as linux-genz's sysfs has them; version 1 all; sizes where the layouts end. */
	static const struct {
		const GenzStructure *s;
		const char *name;
		uint16_t type;
		uint32_t size;
	} expected[] = {
		{ &genz_core, "core", 0x0, 0x200 },
		{ &genz_interface, "interface", 0x2, 0xb0 },
		{ &genz_component_switch, "component_switch", 0x7, 0x70 },
		{ &genz_component_destination_table, "component_destination_table", 0x12, 0x40 },
	};
	for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
		ck_assert_str_eq(expected[i].s->name, expected[i].name);
		ck_assert_uint_eq(expected[i].s->type, expected[i].type);
		ck_assert_uint_eq(expected[i].s->vers, 1);
		ck_assert_uint_eq(expected[i].s->size, expected[i].size);
		ck_assert_ptr_eq(genz_structure(expected[i].type), expected[i].s);
	}

	/* Names are exact. */
	ck_assert_ptr_null(genz_field(&genz_core, "cid0"));
	ck_assert_ptr_null(genz_field(&genz_core, "CID"));
	ck_assert_ptr_null(genz_field(&genz_core, "CID0 "));
	ck_assert_ptr_null(genz_field(&genz_core, ""));
	ck_assert_ptr_null(genz_field(&genz_core, "PktRelayEnb"));
	ck_assert_ptr_nonnull(genz_field(&genz_component_switch, "PktRelayEnb"));
	/* A register made of bit fields is listed as its bit fields. */
	ck_assert_ptr_null(genz_field(&genz_core, "CStatus"));
	ck_assert_ptr_null(genz_field(&genz_interface, "IControl"));
	/* Bit fields two registers share a name with are named after their register. */
	ck_assert_ptr_null(genz_field(&genz_interface, "FullIfaceReset"));
	ck_assert_ptr_nonnull(genz_field(&genz_interface, "IControl.FullIfaceReset"));
	ck_assert_ptr_nonnull(genz_field(&genz_interface, "IStatus.FullIfaceReset"));
	ck_assert_ptr_nonnull(genz_field(&genz_core, "CAP1.MaxPkt"));
	ck_assert_ptr_nonnull(genz_field(&genz_core, "CAP1Control.MaxPkt"));
}
END_TEST

/* Where a field is: the 64-bit word it starts in (byte offset), its first bit there, width. */
typedef struct Place {
	const GenzStructure *s;
	const char *name;
	unsigned word, bit, width;
} Place;

/* Read off genz_1_1.py's _fields_ lists (their # 0x.. comments give the words). */
static const Place places[] = {
	{ &genz_core, "Type", 0x000, 0, 12 },
	{ &genz_core, "Vers", 0x000, 12, 4 },
	{ &genz_core, "Size", 0x000, 16, 16 },
	{ &genz_core, "CState", 0x008, 0, 3 },
	{ &genz_core, "MaxCtrlNop", 0x008, 19, 1 },
	{ &genz_core, "ComponentEnb", 0x010, 0, 1 },
	{ &genz_core, "ComponentReset", 0x010, 1, 3 },
	{ &genz_core, "TransmitGlobalCtlAEAD", 0x010, 18, 1 },
	{ &genz_core, "BaseCClass", 0x018, 0, 16 },
	{ &genz_core, "MaxInterface", 0x018, 16, 12 },
	{ &genz_core, "MaxCTL", 0x030, 0, 52 },
	{ &genz_core, "MaxRNR", 0x030, 52, 3 },
	{ &genz_core, "StructPTR0", 0x048, 0, 32 },
	{ &genz_core, "CompDestPTR", 0x078, 0, 32 },
	{ &genz_core, "Interface0PTR", 0x078, 32, 32 },
	{ &genz_core, "CompErrSigPTR", 0x080, 32, 32 },
	{ &genz_core, "LLMUTO", 0x088, 0, 16 },
	{ &genz_core, "CRPTO", 0x088, 16, 16 },
	{ &genz_core, "CCTO", 0x088, 32, 16 },
	{ &genz_core, "FAILTO", 0x088, 48, 16 },
	{ &genz_core, "UNRSP", 0x090, 48, 16 },
	{ &genz_core, "UNREQ", 0x098, 48, 16 },
	{ &genz_core, "SFMSID", 0x0a8, 48, 16 },
	{ &genz_core, "PMCID", 0x0b0, 0, 12 },
	{ &genz_core, "PWRMGRCID", 0x0b0, 12, 12 },
	{ &genz_core, "PFMCID", 0x0b0, 24, 12 },
	{ &genz_core, "PFMSID", 0x0b0, 36, 16 },
	{ &genz_core, "SFMCID", 0x0b0, 52, 12 },
	{ &genz_core, "SID0", 0x0b8, 0, 16 },
	{ &genz_core, "CV", 0x0c0, 0, 8 },
	{ &genz_core, "CID0", 0x0c0, 8, 12 },
	{ &genz_core, "CID1", 0x0c0, 20, 12 },
	{ &genz_core, "CID2", 0x0c0, 32, 12 },
	{ &genz_core, "CID3", 0x0c0, 44, 12 },
	{ &genz_core, "BufferTC", 0x0c0, 60, 4 },
	{ &genz_core, "PWRMGRSID", 0x0c8, 34, 16 },
	{ &genz_core, "NOPDESTSID", 0x0d0, 60, 16 },
	{ &genz_core, "NOPSRCSID", 0x0d8, 24, 16 },
	{ &genz_core, "StructPTR9", 0x130, 0, 32 },
	{ &genz_core, "StructPTR13", 0x140, 0, 48 },
	{ &genz_core, "StructPTR14", 0x140, 48, 48 },
	{ &genz_core, "StructPTR15", 0x148, 32, 32 },
	{ &genz_core, "CAP1.MaxPkt", 0x150, 0, 3 },
	{ &genz_core, "MaxCID", 0x150, 57, 3 },
	{ &genz_core, "CAP1Control.MaxPkt", 0x158, 0, 3 },
	{ &genz_core, "PrimaryMgrRole", 0x158, 6, 1 },
	{ &genz_core, "PwrMgrEnb", 0x158, 9, 2 },
	{ &genz_core, "MGRUUIDEnb", 0x158, 38, 1 },
	{ &genz_core, "SWMgmt7", 0x158, 63, 1 },
	{ &genz_core, "DIPIBlockSzSup", 0x160, 27, 8 },
	{ &genz_core, "PFMCIDValid", 0x168, 2, 1 },
	{ &genz_core, "DIPIBlockSize", 0x168, 15, 3 },
	{ &genz_core, "CAP4Control", 0x188, 0, 64 },
	{ &genz_core, "UCWMSGSZ", 0x198, 53, 11 },
	{ &genz_core, "REQABNIRTO", 0x1a0, 48, 16 },
	{ &genz_core, "CompNonce", 0x1a8, 0, 64 },
	{ &genz_core, "MGR-UUID", 0x1b0, 0, 128 },
	{ &genz_core, "SerialNumber", 0x1c0, 0, 64 },
	{ &genz_core, "CurrentTherm", 0x1c8, 47, 11 },
	{ &genz_core, "C-UUID", 0x1e0, 0, 128 },
	{ &genz_core, "FRU-UUID", 0x1f0, 0, 128 },

	{ &genz_interface, "InterfaceID", 0x000, 32, 12 },
	{ &genz_interface, "PHYPowerEnb", 0x000, 56, 8 },
	{ &genz_interface, "IState", 0x008, 0, 3 },
	{ &genz_interface, "LinkCTLComplStatus", 0x008, 11, 5 },
	{ &genz_interface, "IfaceEnb", 0x008, 32, 1 },
	{ &genz_interface, "IControl.FullIfaceReset", 0x008, 33, 1 },
	{ &genz_interface, "PeerCReset", 0x008, 36, 1 },
	{ &genz_interface, "LLPTransition", 0x008, 44, 3 },
	{ &genz_interface, "IngressDREnb", 0x008, 51, 1 },
	{ &genz_interface, "P2PAEADEKeyUpdateEnb", 0x008, 56, 1 },
	{ &genz_interface, "P2PBackupSup", 0x010, 31, 1 },
	{ &genz_interface, "OpClassSelect", 0x010, 38, 3 },
	{ &genz_interface, "LPRTEnb", 0x010, 43, 1 },
	{ &genz_interface, "MPRTEnb", 0x010, 44, 1 },
	{ &genz_interface, "IErrorTrig.SwitchPktRelayFailure", 0x020, 56, 1 },
	{ &genz_interface, "IErrorSigTgt", 0x028, 0, 48 },
	{ &genz_interface, "PeerInterfaceID", 0x030, 32, 12 },
	{ &genz_interface, "PeerCID", 0x038, 0, 12 },
	{ &genz_interface, "PeerSID", 0x038, 16, 16 },
	{ &genz_interface, "PeerCState", 0x038, 32, 3 },
	{ &genz_interface, "PeerCIDValid", 0x038, 36, 1 },
	{ &genz_interface, "PeerNonce", 0x050, 0, 64 },
	{ &genz_interface, "RxLLRTACK", 0x058, 44, 20 },
	{ &genz_interface, "RecvLinkResetEnb", 0x060, 43, 1 },
	{ &genz_interface, "NextInterfacePTR", 0x070, 0, 32 },
	{ &genz_interface, "VDPTR", 0x088, 32, 32 },
	{ &genz_interface, "VCATPTR", 0x090, 0, 32 },
	{ &genz_interface, "LPRTPTR", 0x090, 32, 32 },
	{ &genz_interface, "MPRTPTR", 0x098, 0, 32 },
	{ &genz_interface, "EgressAKeyMask", 0x0a8, 0, 64 },

	{ &genz_component_switch, "DefaultCollPktRelaySup", 0x000, 37, 1 },
	{ &genz_component_switch, "MCPRTEnb", 0x008, 0, 1 },
	{ &genz_component_switch, "SwitchStatus", 0x008, 32, 16 },
	{ &genz_component_switch, "PktRelayEnb", 0x008, 48, 1 },
	{ &genz_component_switch, "LPRTSize", 0x010, 0, 12 },
	{ &genz_component_switch, "HCSize", 0x010, 12, 4 },
	{ &genz_component_switch, "MHCSize", 0x010, 16, 4 },
	{ &genz_component_switch, "MaxRoutes", 0x010, 20, 12 },
	{ &genz_component_switch, "LPRTMPRTRowSize", 0x018, 0, 16 },
	{ &genz_component_switch, "DefaultCollEgressIface", 0x018, 44, 12 },
	{ &genz_component_switch, "MCPRTSize", 0x020, 32, 12 },
	{ &genz_component_switch, "MPRTSize", 0x028, 0, 16 },
	{ &genz_component_switch, "MSMCPRTSize", 0x028, 32, 28 },
	{ &genz_component_switch, "RtCtlPTR", 0x030, 32, 32 },
	{ &genz_component_switch, "MSMCPRTPTR", 0x038, 32, 32 },
	{ &genz_component_switch, "MCE-UUID", 0x040, 0, 128 },
	{ &genz_component_switch, "MgmtIface2", 0x050, 42, 12 },
	{ &genz_component_switch, "MgmtIface3", 0x058, 6, 12 },

	{ &genz_component_destination_table, "RITSSDTSup", 0x000, 35, 1 },
	{ &genz_component_destination_table, "PeerAuthEnb", 0x008, 0, 1 },
	{ &genz_component_destination_table, "RITSSDTEnb", 0x008, 1, 1 },
	{ &genz_component_destination_table, "SSDTSize", 0x008, 32, 12 },
	{ &genz_component_destination_table, "MaxRoutes", 0x008, 52, 12 },
	{ &genz_component_destination_table, "RITPadSize", 0x010, 10, 5 },
	{ &genz_component_destination_table, "SSDTMSDTRowSize", 0x010, 32, 16 },
	{ &genz_component_destination_table, "MSDTSize", 0x010, 48, 16 },
	{ &genz_component_destination_table, "RtCtlPTR", 0x018, 32, 32 },
	{ &genz_component_destination_table, "SSDTPTR", 0x020, 0, 32 },
	{ &genz_component_destination_table, "MSDTPTR", 0x020, 32, 32 },
	{ &genz_component_destination_table, "RSPVCATPTR", 0x030, 0, 32 },
};

START_TEST(test_places)
{
	const Place *p = &places[_i];
	const GenzField *f = field(p->s, p->name);

	ck_assert_msg(f->bit == p->word * 8 + p->bit && f->width == p->width,
		      "%s %s: byte 0x%x bit %u width %u, expected word 0x%x bit %u width %u",
		      p->s->name, p->name, f->bit / 8, f->bit % 8, f->width, p->word, p->bit,
		      p->width);
}
END_TEST

START_TEST(test_no_overlap)
{
	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		const GenzStructure *s = structures[k];
		uint8_t used[0x200 * 8] = { 0 };

		ck_assert_uint_le(s->size, 0x200);
		ck_assert_uint_eq(s->size % GENZ_UNIT, 0);
		ck_assert_uint_gt(s->n_fields, 10);
		for (size_t i = 0; i < s->n_fields; i++) {
			const GenzField *f = &s->fields[i];

			ck_assert_msg((f->width >= 1 && f->width <= 64) ||
					      (f->width == 128 && f->bit % 8 == 0),
				      "%s %s: width %u", s->name, f->name, f->width);
			ck_assert_msg((size_t)f->bit + f->width <= (size_t)s->size * 8,
				      "%s %s runs past the structure", s->name, f->name);
			for (unsigned b = f->bit; b < f->bit + f->width; b++) {
				ck_assert_msg(!used[b], "%s %s: bit %u of byte 0x%x is taken",
					      s->name, f->name, b % 8, b / 8);
				used[b] = 1;
			}
			/* Each name once, so that genz_field() finds this one. */
			ck_assert_ptr_eq(genz_field(s, f->name), f);
		}
		/* Every structure starts with the header all structures have. */
		ck_assert_uint_eq(field(s, "Type")->bit, 0);
		ck_assert_uint_eq(field(s, "Type")->width, 12);
		ck_assert_uint_eq(field(s, "Vers")->bit, 12);
		ck_assert_uint_eq(field(s, "Size")->bit, 16);
		ck_assert_uint_eq(field(s, "Size")->width, 16);
	}
}
END_TEST

static bool is_rw(const GenzStructure *s, const char *name)
{
	return field(s, name)->flags & GENZ_FIELD_RW;
}

START_TEST(test_flags)
{
	static const char *const core_rw[] = {
		"CID0",       "CID1",
		"CID2",       "CID3",
		"CV",         "SID0",
		"PMCID",      "PWRMGRCID",
		"PFMCID",     "PFMSID",
		"SFMCID",     "SFMSID",
		"LLMUTO",     "CRPTO",
		"CCTO",       "FAILTO",
		"MGR-UUID",   "ComponentEnb",
		"HaltUERT",   "PrimaryMgrRole",
		"PwrMgrEnb",  "SWMgmt0",
		"PMCIDValid", "EnqueueEmbeddedRdEnb",
		"CompNonce",  "CAP1Control.MaxPkt",
	};
	static const char *const core_ro[] = {
		"Type",     "Vers",         "Size",         "CState",
		"UEStatus", "BaseCClass",   "MaxInterface", "CAP1.MaxPkt",
		"MaxCID",   "FabricMgrSup", "RKeySup",      "SerialNumber",
		"C-UUID",   "Z-UUID",       "FRU-UUID",     "CStateTransLat",
	};
	static const char *const interface_rw[] = {
		"IfaceEnb",          "IControl.FullIfaceReset",
		"PeerCReset",        "IngressDREnb",
		"LLPTransition",     "P2PAEADEKeyUpdateEnb",
		"LPRTEnb",           "MPRTEnb",
		"PeerCIDConfigured", "SWMgmtI1",
		"XmitLinkResetEnb",
	};
	static const char *const interface_ro[] = {
		"InterfaceID",
		"IState",
		"IStatus.FullIfaceReset",
		"LinkCTLComplStatus",
		"PeerInterfaceID",
		"PeerBaseCClass",
		"PeerCID",
		"PeerSID",
		"PeerCState",
		"PeerCIDValid",
		"PeerNonce",
		"PeerComponentTTC",
		"LLRSup",
		"TEHistSize",
	};

	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		const GenzStructure *s = structures[k];

		for (size_t i = 0; i < s->n_fields; i++) {
			const GenzField *f = &s->fields[i];
			size_t len = strlen(f->name);
			bool ptr = (len > 3 && strcmp(f->name + len - 3, "PTR") == 0) ||
				   strncmp(f->name, "StructPTR", 9) == 0;

			/* Pointers and Size are in 16-byte units; nothing else here is. */
			ck_assert_msg(!(f->flags & GENZ_FIELD_PTR) ==
					      !(ptr || strcmp(f->name, "Size") == 0),
				      "%s %s", s->name, f->name);
			ck_assert_msg(!(ptr && (f->flags & GENZ_FIELD_RW)), "%s %s is writable",
				      s->name, f->name);
			ck_assert_uint_eq(f->flags & ~(GENZ_FIELD_RW | GENZ_FIELD_PTR), 0);
		}
		ck_assert(!is_rw(s, "Type"));
		ck_assert(!is_rw(s, "Size"));
	}
	for (size_t i = 0; i < ELEMENTSOF(core_rw); i++)
		ck_assert_msg(is_rw(&genz_core, core_rw[i]), "%s", core_rw[i]);
	for (size_t i = 0; i < ELEMENTSOF(core_ro); i++)
		ck_assert_msg(!is_rw(&genz_core, core_ro[i]), "%s", core_ro[i]);
	for (size_t i = 0; i < ELEMENTSOF(interface_rw); i++)
		ck_assert_msg(is_rw(&genz_interface, interface_rw[i]), "%s", interface_rw[i]);
	for (size_t i = 0; i < ELEMENTSOF(interface_ro); i++)
		ck_assert_msg(!is_rw(&genz_interface, interface_ro[i]), "%s", interface_ro[i]);

	/* Every bit of CControl and IControl a field has is writable; none of IStatus is. */
	for (size_t i = 0; i < genz_core.n_fields; i++) {
		const GenzField *f = &genz_core.fields[i];

		if (f->bit / 64 == 0x10 / 8)
			ck_assert_msg(f->flags & GENZ_FIELD_RW, "%s", f->name);
	}
	for (size_t i = 0; i < genz_interface.n_fields; i++) {
		const GenzField *f = &genz_interface.fields[i];

		if (f->bit >= 0x08 * 8 && f->bit < 0x08 * 8 + 32)
			ck_assert_msg(!(f->flags & GENZ_FIELD_RW), "%s", f->name);
		if (f->bit >= 0x08 * 8 + 32 && f->bit < 0x10 * 8)
			ck_assert_msg(f->flags & GENZ_FIELD_RW, "%s", f->name);
	}

	ck_assert(is_rw(&genz_component_switch, "PktRelayEnb"));
	ck_assert(is_rw(&genz_component_switch, "MCPRTEnb"));
	ck_assert(!is_rw(&genz_component_switch, "LPRTSize"));
	ck_assert(!is_rw(&genz_component_switch, "MPRTSize"));
	ck_assert(!is_rw(&genz_component_switch, "MaxRoutes"));
	ck_assert(!is_rw(&genz_component_switch, "SwitchStatus"));
	ck_assert(!is_rw(&genz_component_switch, "ULATScale"));
	ck_assert(is_rw(&genz_component_destination_table, "PeerAuthEnb"));
	ck_assert(is_rw(&genz_component_destination_table, "RITSSDTEnb"));
	ck_assert(!is_rw(&genz_component_destination_table, "SSDTSize"));
	ck_assert(!is_rw(&genz_component_destination_table, "MSDTSize"));
	ck_assert(!is_rw(&genz_component_destination_table, "RITSSDTSup"));
}
END_TEST

/* Setting f to v in bytes b (size n) changes f's bits alone, and reads back as v cut to f. */
static void check_set(const GenzField *f, uint8_t *b, size_t n, uint64_t v)
{
	uint8_t before[0x200];
	uint64_t want = f->width >= 64 ? v : v & ((UINT64_C(1) << f->width) - 1);

	memcpy(before, b, n);
	genz_set(b, f, v);
	EXPECT(genz_get(b, f) == want);
	for (size_t i = 0; i < n; i++)
		EXPECT(((b[i] ^ before[i]) & ~field_bits(f, i)) == 0);
	/* Past 64 bits, genz_set() writes zeroes. */
	for (size_t i = f->bit / 8 + 8; f->width == 128 && i < f->bit / 8 + 16; i++)
		EXPECT(b[i] == 0);
}

START_TEST(test_get_set)
{
	uint8_t b[0x200];

	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		const GenzStructure *s = structures[k];

		for (size_t i = 0; i < s->n_fields; i++) {
			const GenzField *f = &s->fields[i];

			for (unsigned round = 0; round < 64; round++) {
				random_fill(b, s->size);
				check_set(f, b, s->size, random_next());
			}
			random_fill(b, s->size);
			check_set(f, b, s->size, 0);
			check_set(f, b, s->size, UINT64_MAX);
			check_set(f, b, s->size, 1);
			/* By name, the same. */
			genz_set_named(s, b, f->name, 0x5555555555555555);
			EXPECT(genz_get_named(s, b, f->name) == genz_get(b, f));
		}
	}

	/* The bytes themselves: little-endian, from the field's first bit. */
	memset(b, 0, sizeof(b));
	genz_set(b, field(&genz_core, "CID0"), 0x123);
	ck_assert_uint_eq(b[0xc0], 0);
	ck_assert_uint_eq(b[0xc1], 0x23);
	ck_assert_uint_eq(b[0xc2], 0x01);
	genz_set(b, field(&genz_core, "CID1"), 0xabc);
	ck_assert_uint_eq(b[0xc2], 0xc1);
	ck_assert_uint_eq(b[0xc3], 0xab);
	/* Across two words: the low 4 bits in 0xd7's high nibble, the rest from 0xd8. */
	genz_set(b, field(&genz_core, "NOPDESTSID"), 0xbeef);
	ck_assert_uint_eq(b[0xd7], 0xf0);
	ck_assert_uint_eq(b[0xd8], 0xee);
	ck_assert_uint_eq(b[0xd9], 0x0b);
	genz_set(b, field(&genz_core, "SID0"), 0x8001);
	ck_assert_uint_eq(b[0xb8], 0x01);
	ck_assert_uint_eq(b[0xb9], 0x80);
	genz_set(b, field(&genz_core, "CState"), GENZ_C_UP);
	ck_assert_uint_eq(b[0x08], 0x02);
	ck_assert_uint_eq(genz_get_named(&genz_core, b, "CState"), GENZ_C_UP);
	genz_set(b, field(&genz_component_switch, "PktRelayEnb"), 1);
	ck_assert_uint_eq(b[0x0e], 0x01);

	/* Unknown names: nothing read, nothing written. */
	memset(b, 0x5a, sizeof(b));
	ck_assert_uint_eq(genz_get_named(&genz_core, b, "NoSuchField"), 0);
	ck_assert(!genz_set_named(&genz_core, b, "NoSuchField", 1));
	for (size_t i = 0; i < sizeof(b); i++)
		EXPECT(b[i] == 0x5a);
	ck_assert(genz_set_named(&genz_core, b, "CID0", 0xfff));
	ck_assert_uint_eq(genz_get_named(&genz_core, b, "CID0"), 0xfff);
}
END_TEST

START_TEST(test_route)
{
	GenzRoute r = { .mhc = 5, .valid = true, .hc = 3, .vca = 2, .ei = 0x123 };
	GenzRoute back;

	/* MHC:6, R:2, V:1, HC:6, VCA:5, EI:12 from bit 0. */
	ck_assert_uint_eq(genz_route_pack(r), 0x12310705);
	back = genz_route_unpack(0x12310705);
	ck_assert_uint_eq(back.mhc, 5);
	ck_assert(back.valid);
	ck_assert_uint_eq(back.hc, 3);
	ck_assert_uint_eq(back.vca, 2);
	ck_assert_uint_eq(back.ei, 0x123);
	r = (GenzRoute){ .mhc = 0x3f, .valid = true, .hc = 0x3f, .vca = 0x1f, .ei = 0xfff };
	ck_assert_uint_eq(genz_route_pack(r), 0xffffff3f);
	ck_assert_uint_eq(genz_route_pack((GenzRoute){ .valid = true }), 0x100);
	ck_assert_uint_eq(genz_route_pack((GenzRoute){ .ei = 1 }), 0x100000);
	/* Wider values are cut to their fields, never spilling into the next. */
	r = (GenzRoute){ .mhc = 0xff, .hc = 0xff, .vca = 0xff, .ei = 0xffff };
	ck_assert_uint_eq(genz_route_pack(r), 0xfffffe3f);
	/* The R bits are not read. */
	back = genz_route_unpack(0xc0);
	ck_assert_uint_eq(back.mhc, 0);
	ck_assert(!back.valid);
	ck_assert_uint_eq(genz_route_pack(back), 0);

	for (unsigned i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)random_next() & ~0xc0u;
		uint64_t x = random_next();

		EXPECT(genz_route_pack(genz_route_unpack(v)) == v);
		r = (GenzRoute){ .mhc = (uint8_t)(x & 0x3f),
				 .valid = (x >> 6) & 1,
				 .hc = (uint8_t)((x >> 7) & 0x3f),
				 .vca = (uint8_t)((x >> 13) & 0x1f),
				 .ei = (uint16_t)((x >> 18) & 0xfff) };
		back = genz_route_unpack(genz_route_pack(r));
		EXPECT(back.mhc == r.mhc && back.valid == r.valid && back.hc == r.hc &&
		       back.vca == r.vca && back.ei == r.ei);
	}
}
END_TEST

/* The field of s that bit `bit` is in, or NULL. */
static const GenzField *field_at(const GenzStructure *s, size_t bit)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (bit >= s->fields[i].bit && bit < (size_t)s->fields[i].bit + s->fields[i].width)
			return &s->fields[i];
	return NULL;
}

START_TEST(test_write_allowed)
{
	uint8_t old[0x200], data[0x200];
	const GenzStructure *s = &genz_core;

	random_fill(old, sizeof(old));
	memcpy(data, old, sizeof(data));

	/* Writing back what is there: allowed anywhere, the whole structure at once too. */
	ck_assert(genz_write_allowed(s, old, 0, data, s->size));
	ck_assert(genz_write_allowed(s, old, 0x18, data + 0x18, 8));
	ck_assert(genz_write_allowed(s, old, s->size - 1, data + s->size - 1, 1));
	/* Out of the structure, or nothing. */
	ck_assert(!genz_write_allowed(s, old, 0, data, s->size + 1));
	ck_assert(!genz_write_allowed(s, old, s->size, data, 1));
	ck_assert(!genz_write_allowed(s, old, s->size - 1, data, 2));
	ck_assert(!genz_write_allowed(s, old, SIZE_MAX, data, 2));
	ck_assert(!genz_write_allowed(s, old, 8, data, SIZE_MAX));
	ck_assert(!genz_write_allowed(s, old, 0, data, 0));

	/* The IDs word at 0xc0 with new CIDs and CV, the rest as it was: allowed. */
	genz_set(data, field(s, "CID0"), 0x64);
	genz_set(data, field(s, "CID1"), 0x65);
	genz_set(data, field(s, "CV"), 0x81);
	genz_set(data, field(s, "SID0"), 0x1234);
	ck_assert(genz_write_allowed(s, old, 0xc0, data + 0xc0, 8));
	ck_assert(genz_write_allowed(s, old, 0xb8, data + 0xb8, 16));
	ck_assert(genz_write_allowed(s, old, 0, data, s->size));
	/* A reserved bit of that word changed too (R7, bits 56..59): refused. */
	data[0xc7] ^= 0x01;
	ck_assert(!genz_write_allowed(s, old, 0xc0, data + 0xc0, 8));
	ck_assert(genz_write_allowed(s, old, 0xc0, data + 0xc0, 7));
	data[0xc7] ^= 0x01;
	/* A read-only field changed: refused, alone or with writable ones. */
	genz_set(data, field(s, "MaxInterface"), genz_get(old, field(s, "MaxInterface")) ^ 0x10);
	ck_assert(!genz_write_allowed(s, old, 0x18, data + 0x18, 8));
	ck_assert(!genz_write_allowed(s, old, 0, data, s->size));
	memcpy(data + 0x18, old + 0x18, 8);
	ck_assert(genz_write_allowed(s, old, 0, data, s->size));
	genz_set(data, field(s, "CState"), genz_get(old, field(s, "CState")) ^ 1);
	ck_assert(!genz_write_allowed(s, old, 0x08, data + 0x08, 1));
	memcpy(data, old, sizeof(data));
	/* The MGR-UUID, 16 bytes: allowed; the C-UUID: refused. */
	memset(data + 0x1b0, 0xa5, 16);
	ck_assert(genz_write_allowed(s, old, 0x1b0, data + 0x1b0, 16));
	memset(data + 0x1e0, 0xa5, 16);
	ck_assert(!genz_write_allowed(s, old, 0x1b0, data + 0x1b0, 0x40));

	/* Every bit of every structure, flipped alone: allowed just where a writable field is. */
	for (size_t k = 0; k < ELEMENTSOF(structures); k++) {
		s = structures[k];
		random_fill(old, s->size);
		memcpy(data, old, s->size);
		for (size_t bit = 0; bit < (size_t)s->size * 8; bit++) {
			const GenzField *f = field_at(s, bit);
			bool rw = f && (f->flags & GENZ_FIELD_RW);
			size_t byte = bit / 8;

			data[byte] ^= (uint8_t)(1u << (bit % 8));
			EXPECT(genz_write_allowed(s, old, byte, data + byte, 1) == rw);
			EXPECT(genz_write_allowed(s, old, 0, data, s->size) == rw);
			data[byte] ^= (uint8_t)(1u << (bit % 8));
		}
	}

	/* The interface: its control, not its status nor what its peer said. */
	s = &genz_interface;
	random_fill(old, s->size);
	memcpy(data, old, s->size);
	genz_set(data, field(s, "IfaceEnb"), !genz_get(old, field(s, "IfaceEnb")));
	genz_set(data, field(s, "PeerCReset"), 1);
	ck_assert(genz_write_allowed(s, old, 0x0c, data + 0x0c, 4));
	genz_set(data, field(s, "IState"), genz_get(old, field(s, "IState")) ^ 2);
	ck_assert(!genz_write_allowed(s, old, 0x08, data + 0x08, 8));
	memcpy(data, old, s->size);
	genz_set(data, field(s, "PeerCID"), genz_get(old, field(s, "PeerCID")) ^ 1);
	ck_assert(!genz_write_allowed(s, old, 0x38, data + 0x38, 8));
	memcpy(data, old, s->size);
	genz_set(data, field(s, "LPRTPTR"), genz_get(old, field(s, "LPRTPTR")) ^ 1);
	ck_assert(!genz_write_allowed(s, old, 0x90, data + 0x90, 8));
	/* The AKey masks end the structure: a byte past them is out of it. */
	ck_assert(genz_write_allowed(s, old, 0xa8, old + 0xa8, 8));
	ck_assert(!genz_write_allowed(s, old, 0xa8, old + 0xa8, 9));

	/* The switch: packet relay on; its table sizes stay. */
	s = &genz_component_switch;
	memset(old, 0, s->size);
	memcpy(data, old, s->size);
	genz_set(data, field(s, "PktRelayEnb"), 1);
	ck_assert(genz_write_allowed(s, old, 0x08, data + 0x08, 8));
	genz_set(data, field(s, "LPRTSize"), 4);
	ck_assert(!genz_write_allowed(s, old, 0x08, data + 0x08, 16));
}
END_TEST

START_TEST(test_format)
{
	uint8_t b[0x200] = { 0 };
	char buf[64];

	genz_set(b, field(&genz_core, "CID0"), 0x64);
	ck_assert_int_eq(genz_field_format(field(&genz_core, "CID0"), b, buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "CID0=0x64");
	ck_assert_int_eq(genz_field_format(field(&genz_core, "CID1"), b, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "CID1=0x0");
	genz_set(b, field(&genz_core, "CompNonce"), UINT64_MAX);
	genz_field_format(field(&genz_core, "CompNonce"), b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "CompNonce=0xffffffffffffffff");
	genz_set(b, field(&genz_core, "NOPDESTSID"), 0xbeef);
	genz_field_format(field(&genz_core, "NOPDESTSID"), b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NOPDESTSID=0xbeef");

	/* A UUID in the order of its bytes, as it is written: Gen-Z keeps UUIDs big-endian. */
	for (unsigned i = 0; i < 16; i++)
		b[0x1b0 + i] = (uint8_t)(i * 0x11);
	ck_assert_int_eq(genz_field_format(field(&genz_core, "MGR-UUID"), b, buf, sizeof(buf)), 41);
	ck_assert_str_eq(buf, "MGR-UUID=00112233445566778899aabbccddeeff");
	ck_assert_uint_eq(genz_get_named(&genz_core, b, "MGR-UUID"), 0x7766554433221100);

	/* snprintf's contract: the length needed, what fits written and terminated. */
	ck_assert_int_eq(genz_field_format(field(&genz_core, "MGR-UUID"), b, buf, 12), 41);
	ck_assert_str_eq(buf, "MGR-UUID=00");
	ck_assert_int_eq(genz_field_format(field(&genz_core, "CID0"), b, buf, 5), 9);
	ck_assert_str_eq(buf, "CID0");
	ck_assert_int_eq(genz_field_format(field(&genz_core, "CID0"), b, NULL, 0), 9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("genz");
	TCase *tc = tcase_create("genz");

	tcase_add_test(tc, test_structures);
	tcase_add_loop_test(tc, test_places, 0, (int)ELEMENTSOF(places));
	tcase_add_test(tc, test_no_overlap);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_get_set);
	tcase_add_test(tc, test_route);
	tcase_add_test(tc, test_write_allowed);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
