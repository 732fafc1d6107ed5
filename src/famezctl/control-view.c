/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control-msg.h"
#include "control-view.h"
#include "macro.h"

/* Optional structure pointers of the core that famez components fill. */
#define STRUCT_PTRS 9

static int read_all(ControlReader reader, void *userdata, uint64_t offset, uint32_t size,
		    uint8_t *buf)
{
	for (uint32_t at = 0; at < size; at += CONTROL_DATA_MAX) {
		int r = reader(userdata, offset + at, MIN(size - at, (uint32_t)CONTROL_DATA_MAX),
			       buf + at);

		if (r < 0)
			return r;
	}
	return 0;
}

typedef struct View {
	ControlReader reader;
	void *userdata;
	ControlStructure *list;
	size_t n, allocated;
} View;

static bool seen(const View *v, uint64_t offset)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->list[i].offset == offset)
			return true;
	return false;
}

/*
 * Reads the structure at offset, known by its type (expected, or any known one when
 * expected is NULL): 0, or a negative errno.
 */
static int add(View *v, const char *name, uint64_t offset, const GenzStructure *expected)
{
	uint8_t header[16];
	const GenzStructure *s;
	ControlStructure *c;
	int r;

	if (seen(v, offset))
		return -EBADMSG; /* a pointer back: the chain loops */
	r = v->reader(v->userdata, offset, sizeof(header), header);
	if (r < 0)
		return r;
	s = genz_structure((uint16_t)(header[0] | (header[1] & 0x0f) << 8));
	if (!s || (expected && s != expected))
		return -EBADMSG;
	if (v->n == v->allocated) {
		size_t more = v->allocated ? v->allocated * 2 : 16;
		ControlStructure *list = realloc(v->list, more * sizeof(*list));

		if (!list)
			return -ENOMEM;
		v->list = list;
		v->allocated = more;
	}
	c = &v->list[v->n];
	*c = (ControlStructure){ .offset = offset, .structure = s };
	snprintf(c->name, sizeof(c->name), "%s", name ? name : s->name);
	c->bytes = malloc(s->size);
	if (!c->bytes)
		return -ENOMEM;
	r = read_all(v->reader, v->userdata, offset, s->size, c->bytes);
	if (r < 0) {
		free(c->bytes);
		return r;
	}
	v->n++;
	return 0;
}

static uint64_t pointer(const ControlStructure *c, const char *field)
{
	return genz_get_named(c->structure, c->bytes, field) * GENZ_UNIT;
}

static int add_interfaces(View *v, uint64_t offset, unsigned max_interfaces)
{
	for (unsigned i = 0; offset; i++) {
		char name[CONTROL_VIEW_NAME_MAX];
		int r;

		if (i >= max_interfaces)
			return -EBADMSG;
		snprintf(name, sizeof(name), "interface%u", i);
		r = add(v, name, offset, &genz_interface);
		if (r < 0)
			return r;
		offset = pointer(&v->list[v->n - 1], "NextInterfacePTR");
	}
	return 0;
}

int control_view_read(ControlReader reader, void *userdata, ControlStructure **ret, size_t *n_ret)
{
	View v = { .reader = reader, .userdata = userdata };
	uint64_t dest, iface0, opt[STRUCT_PTRS];
	unsigned max_interfaces;
	int r;

	r = add(&v, NULL, 0, &genz_core);
	if (r < 0)
		goto fail;
	dest = pointer(&v.list[0], "CompDestPTR");
	iface0 = pointer(&v.list[0], "Interface0PTR");
	max_interfaces = (unsigned)genz_get_named(&genz_core, v.list[0].bytes, "MaxInterface");
	for (unsigned i = 0; i < STRUCT_PTRS; i++) {
		char field[16];

		snprintf(field, sizeof(field), "StructPTR%u", i);
		opt[i] = pointer(&v.list[0], field);
	}
	for (unsigned i = 0; i < STRUCT_PTRS && r >= 0; i++)
		if (opt[i])
			r = add(&v, NULL, opt[i], NULL);
	if (r >= 0 && dest)
		r = add(&v, NULL, dest, &genz_component_destination_table);
	if (r >= 0)
		r = add_interfaces(&v, iface0, max_interfaces);
	if (r < 0)
		goto fail;
	*ret = v.list;
	*n_ret = v.n;
	return 0;

fail:
	control_view_free(v.list, v.n);
	return r;
}

void control_view_free(ControlStructure *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].bytes);
	free(s);
}

void control_view_print(FILE *f, const ControlStructure *s, bool all)
{
	fprintf(f, "%s@0x%llx (type 0x%x, %u bytes)\n", s->name, (unsigned long long)s->offset,
		s->structure->type, s->structure->size);
	for (size_t i = 0; i < s->structure->n_fields; i++) {
		const GenzField *fld = &s->structure->fields[i];
		char line[128];

		if (!all && fld->width <= 64 && genz_get(s->bytes, fld) == 0)
			continue;
		if (!all && fld->width > 64) {
			bool zero = true;

			for (unsigned b = 0; b < fld->width / 8 && zero; b++)
				zero = s->bytes[fld->bit / 8 + b] == 0;
			if (zero)
				continue;
		}
		genz_field_format(fld, s->bytes, line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
}

uint64_t control_view_lprt_entry(const ControlStructure *interface, unsigned cid)
{
	uint64_t lprt = pointer(interface, "LPRTPTR");

	return lprt ? lprt + (uint64_t)cid * GENZ_ROUTE_SIZE : 0;
}
