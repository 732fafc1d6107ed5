/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "fabric-view.h"
#include "json.h"

void fabric_view_done(FabricView *v)
{
	for (size_t i = 0; i < v->n_nodes; i++) {
		free(v->nodes[i].id);
		free(v->nodes[i].name);
		free(v->nodes[i].cclass);
		free(v->nodes[i].switch_name);
		free(v->nodes[i].manager);
	}
	for (size_t i = 0; i < v->n_links; i++) {
		free(v->links[i].source);
		free(v->links[i].target);
	}
	free(v->nodes);
	free(v->links);
	*v = (FabricView){ 0 };
}

bool fabric_node_is_switch(const FabricNode *n)
{
	return strcmp(n->id, n->switch_name) == 0;
}

static const FabricNode *find_node(const FabricView *v, const char *id)
{
	for (size_t i = 0; i < v->n_nodes; i++)
		if (strcmp(v->nodes[i].id, id) == 0)
			return &v->nodes[i];
	return NULL;
}

/* A switch in ivshmem mode has no CID and is in no fabric. */
/* "configured by famezd", "configured by 100,27": who gave a node its IDs. */
static const char *configured_by(const FabricNode *n, char *buf, size_t size)
{
	if (!n->manager || !n->manager[0])
		return "configured";
	if (strcmp(n->manager, "external") == 0)
		return "configured by an external manager";
	snprintf(buf, size, "configured by %s", n->manager);
	return buf;
}

static bool in_fabric(const FabricNode *sw)
{
	return sw->cclass[0] != '\0';
}

/* ---- the tree ---- */

/* What sits on port of switch sw: a peer (its link's target) or a link's other end. */
typedef struct PortLine {
	unsigned port;
	const FabricNode *peer; /* a peer, or */
	const FabricLink *link; /* a link to another switch */
	const char *other;      /* whose other end is switch other, */
	unsigned other_port;    /* port other_port */
} PortLine;

static int compare_port_lines(const void *a, const void *b)
{
	const PortLine *x = a, *y = b;

	return (x->port > y->port) - (x->port < y->port);
}

/* Its ports in use, in order; returns how many (lines has room for every link). */
static size_t switch_ports(const FabricView *v, const FabricNode *sw, PortLine *lines)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n_links; i++) {
		const FabricLink *l = &v->links[i];
		const FabricNode *target = find_node(v, l->target);
		bool from = strcmp(l->source, sw->id) == 0, to = strcmp(l->target, sw->id) == 0;

		if (!from && !to)
			continue;
		if (from && target && !fabric_node_is_switch(target))
			lines[n++] =
				(PortLine){ .port = l->source_port, .peer = target, .link = l };
		else if (from)
			lines[n++] = (PortLine){ .port = l->source_port,
						 .link = l,
						 .other = l->target,
						 .other_port = l->target_port };
		else
			lines[n++] = (PortLine){ .port = l->target_port,
						 .link = l,
						 .other = l->source,
						 .other_port = l->source_port };
	}
	qsort(lines, n, sizeof(*lines), compare_port_lines);
	return n;
}

void fabric_view_print_tree(const FabricView *v, FILE *f)
{
	size_t n_switches = 0, n_peers = 0, n_links = 0;
	PortLine *lines = calloc(v->n_links ? v->n_links : 1, sizeof(*lines));

	if (!lines)
		return;
	for (size_t i = 0; i < v->n_nodes; i++)
		fabric_node_is_switch(&v->nodes[i]) ? n_switches++ : n_peers++;
	for (size_t i = 0; i < v->n_links; i++) {
		const FabricNode *target = find_node(v, v->links[i].target);

		if (target && fabric_node_is_switch(target))
			n_links++;
	}
	fprintf(f, "Fabric: %zu switch%s, %zu link%s between them, %zu peer%s\n", n_switches,
		n_switches == 1 ? "" : "es", n_links, n_links == 1 ? "" : "s", n_peers,
		n_peers == 1 ? "" : "s");
	for (size_t i = 0; i < v->n_nodes; i++) {
		const FabricNode *sw = &v->nodes[i];
		char by[64];
		size_t n;

		if (!fabric_node_is_switch(sw))
			continue;
		if (!in_fabric(sw)) {
			fprintf(f, "\nSwitch %s: ivshmem mode, not in the fabric\n", sw->name);
			continue;
		}
		if (sw->configured)
			fprintf(f, "\nSwitch %s: SID %u, CID %u, %s\n", sw->name, sw->sid, sw->cid,
				configured_by(sw, by, sizeof(by)));
		else
			fprintf(f, "\nSwitch %s: not configured, waits for its fabric manager\n",
				sw->name);
		n = switch_ports(v, sw, lines);
		if (n == 0)
			fprintf(f, "  no peers, no links\n");
		for (size_t j = 0; j < n; j++) {
			const PortLine *p = &lines[j];

			if (p->peer)
				fprintf(f, "  port %u: %s, %s, CID %u, SID %u, %s\n", p->port,
					p->peer->name[0] ? p->peer->name : "(no nodename)",
					p->peer->cclass[0] ? p->peer->cclass : "no C-Class",
					p->peer->cid, p->peer->sid,
					p->peer->configured ? configured_by(p->peer, by, sizeof(by))
							    : "not configured yet");
			else
				fprintf(f, "  port %u -> %s:%u %s\n", p->port, p->other,
					p->other_port, p->link->up ? "up" : "down");
		}
	}
	free(lines);
}

/* ---- Graphviz ---- */

/* Text inside a DOT string: quotes and backslashes escaped. */
static void dot_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void dot_string(FILE *f, const char *s)
{
	fputc('"', f);
	dot_escaped(f, s);
	fputc('"', f);
}

void fabric_view_print_dot(const FabricView *v, FILE *f)
{
	fputs("graph famez {\n", f);
	fputs("\tnode [fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\", fontsize=10];\n",
	      f);
	for (size_t i = 0; i < v->n_nodes; i++) {
		const FabricNode *n = &v->nodes[i];
		bool sw = fabric_node_is_switch(n);

		fputc('\t', f);
		dot_string(f, n->id);
		fprintf(f, " [shape=%s, label=\"", sw ? "box" : "ellipse");
		dot_escaped(f, n->name[0] ? n->name : n->id);
		/* "name\nCID,SID" (DOT's line break); an ivshmem-mode switch has neither. */
		if (sw && !in_fabric(n))
			fputs("\\nivshmem\", style=dotted", f);
		else
			fprintf(f, "\\n%u,%u\"%s", n->cid, n->sid,
				n->configured ? "" : ", style=dashed");
		fputs("];\n", f);
	}
	for (size_t i = 0; i < v->n_links; i++) {
		const FabricLink *l = &v->links[i];
		const FabricNode *target = find_node(v, l->target);

		fputc('\t', f);
		dot_string(f, l->source);
		fputs(" -- ", f);
		dot_string(f, l->target);
		fprintf(f, " [taillabel=\"%u\"", l->source_port);
		/* A peer's end is its only port: nothing to say. */
		if (!target || fabric_node_is_switch(target))
			fprintf(f, ", headlabel=\"%u\"", l->target_port);
		if (!l->up)
			fputs(", style=dashed", f);
		fputs("];\n", f);
	}
	fputs("}\n", f);
}

/* ---- JSON ---- */

void fabric_view_print_json(const FabricView *v, FILE *f)
{
	Json j = JSON_INIT(f);

	json_object_begin(&j);
	json_key(&j, "nodes");
	json_array_begin(&j);
	for (size_t i = 0; i < v->n_nodes; i++) {
		const FabricNode *n = &v->nodes[i];

		json_object_begin(&j);
		json_key_string(&j, "id", n->id);
		json_key_string(&j, "name", n->name);
		json_key_string(&j, "cclass", n->cclass);
		json_key_uint(&j, "cid", n->cid);
		json_key_uint(&j, "sid", n->sid);
		json_key_string(&j, "switch", n->switch_name);
		json_key_bool(&j, "configured", n->configured);
		json_key_string(&j, "manager", n->manager ? n->manager : "");
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "links");
	json_array_begin(&j);
	for (size_t i = 0; i < v->n_links; i++) {
		const FabricLink *l = &v->links[i];

		json_object_begin(&j);
		json_key_string(&j, "source", l->source);
		json_key_string(&j, "target", l->target);
		json_key(&j, "ports");
		json_array_begin(&j);
		json_uint(&j, l->source_port);
		json_uint(&j, l->target_port);
		json_array_end(&j);
		json_key_bool(&j, "up", l->up);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_end(&j);
}

/* ---- routes ---- */

void switch_route_tables_done(SwitchRouteTables *t)
{
	for (size_t i = 0; i < t->n_lines; i++) {
		free(t->lines[i].table);
		free(t->lines[i].ingress);
	}
	free(t->lines);
	free(t->name);
	*t = (SwitchRouteTables){ 0 };
}

void format_port_list(const uint16_t *ports, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n;) {
		size_t end = i;
		char item[16];

		while (end + 1 < n && ports[end + 1] == ports[end] + 1)
			end++;
		if (end == i)
			snprintf(item, sizeof(item), "%s%u", i ? "," : "", ports[i]);
		else
			snprintf(item, sizeof(item), "%s%u-%u", i ? "," : "", ports[i], ports[end]);
		if (len + strlen(item) + 4 > size) {
			snprintf(buf + len, size - len, "...");
			return;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s", item);
		i = end + 1;
	}
}

static bool same_ingress(const RouteLine *a, const RouteLine *b)
{
	return strcmp(a->table, b->table) == 0 && a->n_ingress == b->n_ingress &&
	       memcmp(a->ingress, b->ingress, a->n_ingress * sizeof(*a->ingress)) == 0;
}

/* A client port's own CID: one entry, no link to cross. */
static bool own_client_cid(const RouteLine *l)
{
	return l->hops == 0 && l->first == l->last;
}

/*
 * How many lines from lines[0] are client ports' own CIDs in a row, the next port and the same
 * step of CIDs each time (ports 1..14, CIDs 100..1400); *step is that step.
 */
static size_t client_run(const RouteLine *lines, size_t n, unsigned *step)
{
	size_t run = 1;

	if (n < 2 || !own_client_cid(&lines[0]) || lines[1].first <= lines[0].first)
		return 1;
	*step = lines[1].first - lines[0].first;
	while (run < n && same_ingress(&lines[run], &lines[0]) && own_client_cid(&lines[run]) &&
	       lines[run].egress == lines[run - 1].egress + 1 &&
	       lines[run].first == lines[run - 1].first + *step)
		run++;
	return run;
}

static void print_span(const RouteLine *l, const char *what, FILE *f)
{
	if (l->first == l->last)
		fprintf(f, "    %s %u -> port %u (hops %u)\n", what, l->first, l->egress, l->hops);
	else
		fprintf(f, "    %s %u..%u -> port %u (hops %u)\n", what, l->first, l->last,
			l->egress, l->hops);
}

static void print_table(const SwitchRouteTables *t, const char *table, FILE *f)
{
	const char *what = strcmp(table, "LPRT") == 0 ? "CID" : "SID";
	const RouteLine *group = NULL;
	char ports[128];

	for (size_t i = 0; i < t->n_lines;) {
		const RouteLine *l = &t->lines[i];
		unsigned step = 0;
		size_t run;

		if (strcmp(l->table, table) != 0) {
			i++;
			continue;
		}
		if (!group || !same_ingress(group, l)) {
			group = l;
			format_port_list(l->ingress, l->n_ingress, ports, sizeof(ports));
			fprintf(f, "  %s, ingress %s %s:\n", table,
				l->n_ingress == 1 ? "port" : "ports", ports);
		}
		run = strcmp(table, "LPRT") == 0 ? client_run(l, t->n_lines - i, &step) : 1;
		if (run > 2)
			fprintf(f, "    %s %u..%u every %u -> port %u..%u, one each (hops 0)\n",
				what, l->first, l[run - 1].first, step, l->egress,
				l[run - 1].egress);
		else
			for (size_t k = 0; k < run; k++)
				print_span(&l[k], what, f);
		i += run;
	}
	if (!group)
		fprintf(f, "  %s: no routes\n", table);
}

void routes_print(const SwitchRouteTables *t, FILE *f)
{
	fprintf(f, "Switch %s: SID %u\n", t->name, t->sid);
	print_table(t, "LPRT", f);
	print_table(t, "MPRT", f);
}

void routes_print_json(const SwitchRouteTables *tables, size_t n, FILE *f)
{
	Json j = JSON_INIT(f);

	json_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const SwitchRouteTables *t = &tables[i];

		json_object_begin(&j);
		json_key_string(&j, "switch", t->name);
		json_key_uint(&j, "sid", t->sid);
		json_key(&j, "routes");
		json_array_begin(&j);
		for (size_t k = 0; k < t->n_lines; k++) {
			const RouteLine *l = &t->lines[k];

			json_object_begin(&j);
			json_key_string(&j, "table", l->table);
			json_key(&j, "ingress");
			json_array_begin(&j);
			for (size_t p = 0; p < l->n_ingress; p++)
				json_uint(&j, l->ingress[p]);
			json_array_end(&j);
			json_key_uint(&j, "first", l->first);
			json_key_uint(&j, "last", l->last);
			json_key_uint(&j, "egress", l->egress);
			json_key_uint(&j, "hops", l->hops);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_end(&j);
}
