/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-space.h"

#define INTERFACE_STRIDE 0x200
#define LPRT_STRIDE 0x4000
#define MPRT_STRIDE 0x40000

typedef struct TagSeen {
	uint64_t requester;
	uint16_t tag;
	bool used;
} TagSeen;

struct ControlSpace {
	const ControlOps *ops;
	void *userdata;
	ControlRegion *regions; /* by offset */
	size_t n_regions;
	ControlRegion *core;
	ControlRegion **interfaces; /* [interface] */
	unsigned n_interfaces;
	TagSeen tags[CONTROL_TAG_WINDOW];
	unsigned next_tag;
	uint64_t counts[CONTROL_REASON_MAX_];
};

static ControlRegion *add_structure(ControlSpace *cs, const char *name, uint64_t offset,
				    const GenzStructure *s)
{
	ControlRegion *r = &cs->regions[cs->n_regions];

	r->bytes = calloc(1, s->size);
	if (!r->bytes)
		return NULL;
	cs->n_regions++;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->offset = offset;
	r->size = s->size;
	r->structure = s;
	genz_set_named(s, r->bytes, "Type", s->type);
	genz_set_named(s, r->bytes, "Vers", s->vers);
	genz_set_named(s, r->bytes, "Size", s->size / GENZ_UNIT);
	return r;
}

static ControlRegion *add_table(ControlSpace *cs, const char *name, uint64_t offset,
				ControlTable table, unsigned interface, uint32_t entries)
{
	ControlRegion *r = &cs->regions[cs->n_regions++];

	snprintf(r->name, sizeof(r->name), "%s", name);
	r->offset = offset;
	r->size = entries * GENZ_ROUTE_SIZE;
	r->table = table;
	r->interface = interface;
	return r;
}

static uint64_t units(uint64_t offset)
{
	return offset / GENZ_UNIT;
}

static int compare_regions(const void *a, const void *b)
{
	const ControlRegion *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool identity_valid(const ControlIdentity *id)
{
	bool sw = id->cclass == GENZ_CCLASS_SWITCH;

	return id->interfaces >= 1 && id->interfaces <= CONTROL_INTERFACES_MAX &&
	       (sw || id->interfaces == 1) && id->cid_entries >= 1 &&
	       id->cid_entries <= CONTROL_CID_ENTRIES && id->sid_entries >= 1 &&
	       id->sid_entries <= CONTROL_SID_ENTRIES && id->cid < CONTROL_CID_ENTRIES;
}

static int lay_out_switch(ControlSpace *cs, const ControlIdentity *id)
{
	ControlRegion *sw = add_structure(cs, "component_switch", CONTROL_SWITCH_OFFSET,
					  &genz_component_switch);

	if (!sw)
		return -ENOMEM;
	/* Sizes of 4096 (LPRT) and 65536 (MPRT) are written 0, as the specification counts. */
	genz_set_named(sw->structure, sw->bytes, "LPRTSize", id->cid_entries % 4096);
	genz_set_named(sw->structure, sw->bytes, "MPRTSize", id->sid_entries % 65536);
	genz_set_named(sw->structure, sw->bytes, "MaxRoutes", 1);
	genz_set_named(sw->structure, sw->bytes, "PktRelayEnb", id->up);
	/* The core's first optional structure pointer: a manager knows it by the type there. */
	genz_set_named(&genz_core, cs->core->bytes, "StructPTR0", units(CONTROL_SWITCH_OFFSET));
	for (unsigned i = 1; i < id->interfaces; i++) {
		char name[40];

		if (i == id->self_interface)
			continue;
		snprintf(name, sizeof(name), "lprt%u", i);
		add_table(cs, name, CONTROL_LPRT_OFFSET(i), CONTROL_TABLE_LPRT, i, id->cid_entries);
		snprintf(name, sizeof(name), "mprt%u", i);
		add_table(cs, name, CONTROL_MPRT_OFFSET(i), CONTROL_TABLE_MPRT, i, id->sid_entries);
		genz_set_named(&genz_interface, cs->interfaces[i]->bytes, "LPRTPTR",
			       units(CONTROL_LPRT_OFFSET(i)));
		genz_set_named(&genz_interface, cs->interfaces[i]->bytes, "MPRTPTR",
			       units(CONTROL_MPRT_OFFSET(i)));
	}
	return 0;
}

static int lay_out_bridge(ControlSpace *cs, const ControlIdentity *id)
{
	ControlRegion *cdt = add_structure(cs, "component_destination_table", CONTROL_CDT_OFFSET,
					   &genz_component_destination_table);

	if (!cdt)
		return -ENOMEM;
	/* Sizes of 4096 (SSDT) and 65536 (MSDT) are written 0, as the specification counts. */
	genz_set_named(cdt->structure, cdt->bytes, "SSDTSize", id->cid_entries % 4096);
	genz_set_named(cdt->structure, cdt->bytes, "MSDTSize", id->sid_entries % 65536);
	genz_set_named(cdt->structure, cdt->bytes, "MaxRoutes", 1);
	genz_set_named(cdt->structure, cdt->bytes, "SSDTPTR", units(CONTROL_SSDT_OFFSET));
	genz_set_named(cdt->structure, cdt->bytes, "MSDTPTR", units(CONTROL_MSDT_OFFSET));
	genz_set_named(&genz_core, cs->core->bytes, "CompDestPTR", units(CONTROL_CDT_OFFSET));
	add_table(cs, "ssdt", CONTROL_SSDT_OFFSET, CONTROL_TABLE_SSDT, 0, id->cid_entries);
	add_table(cs, "msdt", CONTROL_MSDT_OFFSET, CONTROL_TABLE_MSDT, 0, id->sid_entries);
	return 0;
}

static void set_cstate(ControlSpace *cs, unsigned state)
{
	genz_set_named(&genz_core, cs->core->bytes, "CState", state);
}

ControlSpace *control_space_new(const ControlIdentity *id, const ControlOps *ops, void *userdata)
{
	bool sw = id->cclass == GENZ_CCLASS_SWITCH;
	ControlSpace *cs;
	uint8_t *core;
	int ret;

	if (!identity_valid(id)) {
		errno = EINVAL;
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->ops = ops;
	cs->userdata = userdata;
	cs->n_interfaces = id->interfaces;
	cs->regions = calloc(2 + id->interfaces * 3, sizeof(*cs->regions));
	cs->interfaces = calloc(id->interfaces, sizeof(*cs->interfaces));
	if (!cs->regions || !cs->interfaces)
		goto fail;
	cs->core = add_structure(cs, "core", CONTROL_CORE_OFFSET, &genz_core);
	if (!cs->core)
		goto fail;
	core = cs->core->bytes;
	genz_set_named(&genz_core, core, "BaseCClass", id->cclass);
	genz_set_named(&genz_core, core, "MaxInterface", id->interfaces);
	genz_set_named(&genz_core, core, "Interface0PTR", units(CONTROL_INTERFACE_OFFSET(0)));
	genz_set_named(&genz_core, core, "SerialNumber", id->serial);
	set_cstate(cs, id->up ? GENZ_C_UP : GENZ_C_CFG);
	if (id->up) {
		genz_set_named(&genz_core, core, "CV", 1);
		genz_set_named(&genz_core, core, "CID0", id->cid);
		genz_set_named(&genz_core, core, "SID0", id->sid);
	}
	for (unsigned i = 0; i < id->interfaces; i++) {
		char name[40];
		ControlRegion *r;

		snprintf(name, sizeof(name), "interface%u", i);
		r = add_structure(cs, name, CONTROL_INTERFACE_OFFSET(i), &genz_interface);
		if (!r)
			goto fail;
		r->interface = i;
		cs->interfaces[i] = r;
		genz_set_named(&genz_interface, r->bytes, "InterfaceID", i);
		genz_set_named(&genz_interface, r->bytes, "IState", GENZ_I_DOWN);
		genz_set_named(&genz_interface, r->bytes, "IfaceEnb", 1);
		genz_set_named(&genz_interface, r->bytes, "IngressDREnb", 1);
		if (i + 1 < id->interfaces)
			genz_set_named(&genz_interface, r->bytes, "NextInterfacePTR",
				       units(CONTROL_INTERFACE_OFFSET(i + 1)));
	}
	ret = sw ? lay_out_switch(cs, id) : lay_out_bridge(cs, id);
	if (ret < 0)
		goto fail;
	/* interfaces[] point into regions: it is sorted once they are all there, then kept. */
	qsort(cs->regions, cs->n_regions, sizeof(*cs->regions), compare_regions);
	for (size_t i = 0; i < cs->n_regions; i++) {
		ControlRegion *r = &cs->regions[i];

		if (r->structure == &genz_core)
			cs->core = r;
		else if (r->structure == &genz_interface)
			cs->interfaces[r->interface] = r;
	}
	return cs;

fail:
	control_space_free(cs);
	errno = ENOMEM;
	return NULL;
}

ControlSpace *control_space_free(ControlSpace *cs)
{
	if (!cs)
		return NULL;
	for (size_t i = 0; cs->regions && i < cs->n_regions; i++)
		free(cs->regions[i].bytes);
	free(cs->regions);
	free(cs->interfaces);
	free(cs);
	return NULL;
}

size_t control_space_n_regions(const ControlSpace *cs)
{
	return cs->n_regions;
}

ControlRegion *control_space_region(ControlSpace *cs, size_t i)
{
	return i < cs->n_regions ? &cs->regions[i] : NULL;
}

ControlRegion *control_space_find(ControlSpace *cs, uint64_t offset, uint64_t len)
{
	size_t lo = 0, hi = cs->n_regions;

	/* The last region starting at or before offset. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cs->regions[mid].offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	ControlRegion *r = &cs->regions[lo - 1];

	if (offset - r->offset > r->size || len > r->size - (offset - r->offset))
		return NULL;
	return r;
}

ControlRegion *control_space_structure(ControlSpace *cs, const char *name)
{
	for (size_t i = 0; i < cs->n_regions; i++)
		if (cs->regions[i].structure && strcmp(cs->regions[i].name, name) == 0)
			return &cs->regions[i];
	return NULL;
}

uint8_t *control_space_interface(ControlSpace *cs, unsigned i)
{
	return i < cs->n_interfaces ? cs->interfaces[i]->bytes : NULL;
}

uint8_t *control_space_core(ControlSpace *cs)
{
	return cs->core->bytes;
}

/* The region of a request, or NULL: within one region, 1..CONTROL_DATA_MAX bytes, tables whole
 * entries. */
static ControlRegion *request_region(ControlSpace *cs, uint64_t offset, uint32_t len)
{
	ControlRegion *r;

	if (len == 0 || len > CONTROL_DATA_MAX)
		return NULL;
	r = control_space_find(cs, offset, len);
	if (!r)
		return NULL;
	if (!r->structure && ((offset - r->offset) % GENZ_ROUTE_SIZE || len % GENZ_ROUTE_SIZE))
		return NULL;
	return r;
}

ControlReason control_space_read(ControlSpace *cs, uint64_t offset, uint32_t len, uint8_t *out)
{
	ControlRegion *r = request_region(cs, offset, len);
	uint64_t at;

	if (!r)
		return CONTROL_OUT_OF_RANGE;
	at = offset - r->offset;
	if (r->structure) {
		if (cs->ops && cs->ops->refresh)
			cs->ops->refresh(cs->userdata, r);
		memcpy(out, r->bytes + at, len);
		return CONTROL_OK;
	}
	for (uint32_t i = 0; i < len; i += GENZ_ROUTE_SIZE) {
		uint32_t v =
			cs->ops->table_get(cs->userdata, r, (uint32_t)((at + i) / GENZ_ROUTE_SIZE));

		out[i] = (uint8_t)v;
		out[i + 1] = (uint8_t)(v >> 8);
		out[i + 2] = (uint8_t)(v >> 16);
		out[i + 3] = (uint8_t)(v >> 24);
	}
	return CONTROL_OK;
}

ControlReason control_space_write(ControlSpace *cs, uint64_t offset, const uint8_t *data,
				  uint32_t len)
{
	ControlRegion *r = request_region(cs, offset, len);
	uint8_t old[0x200];
	uint64_t at;

	if (!r)
		return CONTROL_OUT_OF_RANGE;
	at = offset - r->offset;
	if (!r->structure) {
		for (uint32_t i = 0; i < len; i += GENZ_ROUTE_SIZE) {
			uint32_t v = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 |
				     (uint32_t)data[i + 2] << 16 | (uint32_t)data[i + 3] << 24;
			ControlReason why = cs->ops->table_set(
				cs->userdata, r, (uint32_t)((at + i) / GENZ_ROUTE_SIZE), v);

			if (why != CONTROL_OK)
				return why;
		}
		return CONTROL_OK;
	}
	if (r->size > sizeof(old))
		return CONTROL_UNSUPPORTED;
	if (cs->ops && cs->ops->refresh)
		cs->ops->refresh(cs->userdata, r);
	if (!genz_write_allowed(r->structure, r->bytes, (size_t)at, data, len))
		return CONTROL_READ_ONLY;
	memcpy(old, r->bytes, r->size);
	memcpy(r->bytes + at, data, len);
	if (r == cs->core) {
		bool valid = genz_get_named(&genz_core, r->bytes, "CV") & 1;
		uint64_t state = genz_get_named(&genz_core, r->bytes, "CState");

		if (valid && state == GENZ_C_CFG)
			set_cstate(cs, GENZ_C_UP);
		else if (!valid && state == GENZ_C_UP)
			set_cstate(cs, GENZ_C_CFG);
	}
	if (cs->ops && cs->ops->written)
		cs->ops->written(cs->userdata, r, old, (size_t)at, len);
	return CONTROL_OK;
}

/* Remembers requester's tag: false when it is among the last CONTROL_TAG_WINDOW. */
static bool tag_fresh(ControlSpace *cs, uint64_t requester, uint16_t tag)
{
	TagSeen *t;

	for (unsigned i = 0; i < CONTROL_TAG_WINDOW; i++)
		if (cs->tags[i].used && cs->tags[i].requester == requester &&
		    cs->tags[i].tag == tag)
			return false;
	t = &cs->tags[cs->next_tag];
	cs->next_tag = (cs->next_tag + 1) % CONTROL_TAG_WINDOW;
	*t = (TagSeen){ .requester = requester, .tag = tag, .used = true };
	return true;
}

bool control_space_answer(ControlSpace *cs, const ControlMsg *req, uint64_t requester,
			  ControlMsg *resp)
{
	ControlReason why;

	if (req->type != CONTROL_MSG_READ && req->type != CONTROL_MSG_WRITE)
		return false;
	*resp = (ControlMsg){ .type = CONTROL_MSG_ACK, .tag = req->tag };
	if (!tag_fresh(cs, requester, req->tag))
		why = CONTROL_TAG_REUSED;
	else if (req->type == CONTROL_MSG_READ) {
		why = control_space_read(cs, req->offset, req->length, resp->data);
		if (why == CONTROL_OK) {
			resp->type = CONTROL_MSG_READ_RESPONSE;
			resp->length = req->length;
		}
	} else
		why = control_space_write(cs, req->offset, req->data, req->length);
	resp->reason = why;
	cs->counts[why]++;
	return true;
}

void control_space_answer_malformed(ControlSpace *cs, const ControlMsg *req, ControlMsg *resp)
{
	*resp = (ControlMsg){ .type = CONTROL_MSG_ACK,
			      .tag = req->tag,
			      .reason = CONTROL_MALFORMED };
	cs->counts[CONTROL_MALFORMED]++;
}

uint64_t control_requester_directed(const uint8_t *path, unsigned len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

	for (unsigned i = 0; i < len; i++)
		h = (h ^ path[i]) * UINT64_C(0x100000001b3);
	return UINT64_C(1) << 63 | (h ^ len) >> 1;
}

uint64_t control_space_count(const ControlSpace *cs, ControlReason r)
{
	return r < CONTROL_REASON_MAX_ ? cs->counts[r] : 0;
}
