/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric-view.h"
#include "macro.h"
#include "testlib.h"

static char *text;
static size_t text_size;

static FILE *capture(void)
{
	FILE *f = open_memstream(&text, &text_size);

	ck_assert_ptr_nonnull(f);
	return f;
}

static void teardown(void)
{
	free(text);
	text = NULL;
}

static void add_node(FabricView *v, const char *id, const char *name, const char *cclass,
		     const char *sw, unsigned cid, unsigned sid, bool configured,
		     const char *manager)
{
	v->nodes = realloc(v->nodes, (v->n_nodes + 1) * sizeof(*v->nodes));
	ck_assert_ptr_nonnull(v->nodes);
	v->nodes[v->n_nodes++] = (FabricNode){ .id = strdup(id),
					       .name = strdup(name),
					       .cclass = strdup(cclass),
					       .switch_name = strdup(sw),
					       .cid = (uint16_t)cid,
					       .sid = (uint16_t)sid,
					       .configured = configured,
					       .manager = strdup(manager) };
}

static void add_link(FabricView *v, const char *source, const char *target, unsigned source_port,
		     unsigned target_port, bool up)
{
	v->links = realloc(v->links, (v->n_links + 1) * sizeof(*v->links));
	ck_assert_ptr_nonnull(v->links);
	v->links[v->n_links++] = (FabricLink){ .source = strdup(source),
					       .target = strdup(target),
					       .source_port = (uint16_t)source_port,
					       .target_port = (uint16_t)target_port,
					       .up = up };
}

/*
 * a -16:16- b -17:16- c, all in SID 27, and lab in ivshmem mode; alpha on a (configured by
 * famezd), gamma on c (not yet), with a quote in its nodename; b configured by a manager at
 * 100,27; d waits for its manager.
 */
static void three_switches(FabricView *v)
{
	*v = (FabricView){ 0 };
	add_node(v, "a", "a", "FabricSwitch", "a", 1360, 27, true, "famezd");
	add_node(v, "a:1", "alpha", "Debugger", "a", 1376, 27, true, "famezd");
	add_node(v, "b", "b", "FabricSwitch", "b", 2720, 27, true, "100,27");
	add_node(v, "c", "c", "FabricSwitch", "c", 240, 27, true, "famezd");
	add_node(v, "c:3", "ga\"mma", "Memory", "c", 48, 27, false, "");
	add_node(v, "d", "d", "FabricSwitch", "d", 0, 0, false, "");
	add_node(v, "lab", "lab", "", "lab", 0, 0, false, "");
	add_link(v, "a", "b", 16, 16, true);
	add_link(v, "b", "c", 17, 16, false);
	add_link(v, "a", "a:1", 1, 0, true);
	add_link(v, "c", "c:3", 3, 0, true);
}

/* The three switches as print writes them, in text. */
static void render(void (*print)(const FabricView *v, FILE *f))
{
	FabricView v;
	FILE *f = capture();

	three_switches(&v);
	print(&v, f);
	ck_assert_int_eq(fclose(f), 0);
	fabric_view_done(&v);
}

START_TEST(test_tree_shows_every_port_in_order)
{
	render(fabric_view_print_tree);
	ck_assert_msg(strstr(text, "Fabric: 5 switches, 2 links between them, 2 peers\n"), "%s",
		      text);
	ck_assert_msg(strstr(text, "\nSwitch a: SID 27, CID 1360, configured by famezd\n"
				   "  port 1: alpha, Debugger, CID 1376, SID 27, configured by "
				   "famezd\n"
				   "  port 16 -> b:16 up\n"),
		      "%s", text);
	/* Both ends of a link show it, each from its own side. */
	ck_assert_msg(strstr(text, "\nSwitch b: SID 27, CID 2720, configured by 100,27\n"
				   "  port 16 -> a:16 up\n"
				   "  port 17 -> c:16 down\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "\nSwitch d: not configured, waits for its fabric manager\n"),
		      "%s", text);
	ck_assert_msg(
		strstr(text, "  port 3: ga\"mma, Memory, CID 48, SID 27, not configured yet\n"),
		"%s", text);
	ck_assert_msg(strstr(text, "\nSwitch lab: ivshmem mode, not in the fabric\n"), "%s", text);
}
END_TEST

START_TEST(test_dot_has_boxes_ellipses_and_ports)
{
	render(fabric_view_print_dot);
	ck_assert_msg(strncmp(text, "graph famez {\n", 14) == 0, "%s", text);
	ck_assert_msg(strstr(text, "\t\"a\" [shape=box, label=\"a\\n1360,27\"];\n"), "%s", text);
	ck_assert_msg(strstr(text, "\t\"a:1\" [shape=ellipse, label=\"alpha\\n1376,27\"];\n"), "%s",
		      text);
	/* Quotes escaped; not configured yet: dashed. */
	ck_assert_msg(strstr(text, "label=\"ga\\\"mma\\n48,27\", style=dashed];"), "%s", text);
	ck_assert_msg(strstr(text, "\"lab\" [shape=box, label=\"lab\\nivshmem\", style=dotted];"),
		      "%s", text);
	ck_assert_msg(strstr(text, "\t\"a\" -- \"b\" [taillabel=\"16\", headlabel=\"16\"];\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "\t\"b\" -- \"c\" [taillabel=\"17\", headlabel=\"16\", "
				   "style=dashed];\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "\t\"a\" -- \"a:1\" [taillabel=\"1\"];\n"), "%s", text);
	ck_assert_msg(strcmp(text + strlen(text) - 2, "}\n") == 0, "%s", text);
}
END_TEST

START_TEST(test_json_is_the_d3_shape)
{
	render(fabric_view_print_json);
	ck_assert_msg(testlib_json_valid(text), "%s", text);
	ck_assert_msg(strstr(text, "{\"nodes\":[{\"id\":\"a\",\"name\":\"a\",\"cclass\":"
				   "\"FabricSwitch\",\"cid\":1360,\"sid\":27,\"switch\":\"a\","
				   "\"configured\":true,\"manager\":\"famezd\"},"),
		      "%s", text);
	ck_assert_msg(strstr(text, "{\"id\":\"c:3\",\"name\":\"ga\\\"mma\","), "%s", text);
	ck_assert_msg(strstr(text, "\"links\":[{\"source\":\"a\",\"target\":\"b\",\"ports\":[16,"
				   "16],\"up\":true},"),
		      "%s", text);
	ck_assert_msg(strstr(text, "{\"source\":\"b\",\"target\":\"c\",\"ports\":[17,16],\"up\":"
				   "false}"),
		      "%s", text);
}
END_TEST

START_TEST(test_port_lists_are_ranges)
{
	const uint16_t ports[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 20 };
	char buf[64];

	format_port_list(ports, ELEMENTSOF(ports), buf, sizeof(buf));
	ck_assert_str_eq(buf, "1-15,17,19-20");
	format_port_list(ports + 15, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "17");
	format_port_list(ports, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	/* Too long: cut where an item would not fit, and said so. */
	format_port_list(ports, ELEMENTSOF(ports), buf, 12);
	ck_assert_str_eq(buf, "1-15,17...");
}
END_TEST

static RouteLine line(const char *table, const uint16_t *ingress, size_t n, unsigned first,
		      unsigned last, unsigned egress, unsigned hops)
{
	RouteLine l = { .table = strdup(table),
			.ingress = malloc(n * sizeof(*ingress)),
			.n_ingress = n,
			.first = (uint16_t)first,
			.last = (uint16_t)last,
			.egress = (uint16_t)egress,
			.hops = (uint8_t)hops };

	memcpy(l.ingress, ingress, n * sizeof(*ingress));
	return l;
}

START_TEST(test_routes_group_ingress_and_client_cids)
{
	const uint16_t all[] = { 1, 2, 3, 4, 16 }, link[] = { 17 };
	SwitchRouteTables t = { .name = strdup("a"), .sid = 27 };
	RouteLine *lines = calloc(8, sizeof(*lines));
	size_t n = 0;
	FILE *f = capture();

	ck_assert_ptr_nonnull(lines);
	/* Clients 1..3 at CIDs 1376.., the switch beyond port 16, another subnet beyond it. */
	for (unsigned id = 1; id <= 3; id++)
		lines[n++] =
			line("LPRT", all, ELEMENTSOF(all), 1360 + 16 * id, 1360 + 16 * id, id, 0);
	lines[n++] = line("LPRT", all, ELEMENTSOF(all), 2736, 2960, 16, 1);
	/* Port 17's row was written apart: one CID alone. */
	lines[n++] = line("LPRT", link, 1, 1376, 1376, 1, 0);
	lines[n++] = line("MPRT", all, ELEMENTSOF(all), 28, 28, 16, 2);
	t.lines = lines;
	t.n_lines = n;
	routes_print(&t, f);
	fclose(f);
	ck_assert_str_eq(text, "Switch a: SID 27\n"
			       "  LPRT, ingress ports 1-4,16:\n"
			       "    CID 1376..1408 every 16 -> port 1..3, one each (hops 0)\n"
			       "    CID 2736..2960 -> port 16 (hops 1)\n"
			       "  LPRT, ingress port 17:\n"
			       "    CID 1376 -> port 1 (hops 0)\n"
			       "  MPRT, ingress ports 1-4,16:\n"
			       "    SID 28 -> port 16 (hops 2)\n");
	free(text);

	/* No MPRT: said so. JSON carries every line as it came. */
	t.n_lines = 4;
	f = capture();
	routes_print(&t, f);
	fclose(f);
	ck_assert_msg(strstr(text, "  MPRT: no routes\n"), "%s", text);
	free(text);
	t.n_lines = n;
	f = capture();
	routes_print_json(&t, 1, f);
	fclose(f);
	ck_assert_msg(testlib_json_valid(text), "%s", text);
	ck_assert_msg(strstr(text, "[{\"switch\":\"a\",\"sid\":27,\"routes\":[{\"table\":\"LPRT\","
				   "\"ingress\":[1,2,3,4,16],\"first\":1376,\"last\":1376,"
				   "\"egress\":1,\"hops\":0},"),
		      "%s", text);
	ck_assert_msg(strstr(text, "{\"table\":\"MPRT\",\"ingress\":[1,2,3,4,16],\"first\":28,"
				   "\"last\":28,\"egress\":16,\"hops\":2}]}]\n"),
		      "%s", text);
	switch_route_tables_done(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fabric-view");
	TCase *tc = tcase_create("fabric-view");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_tree_shows_every_port_in_order);
	tcase_add_test(tc, test_dot_has_boxes_ellipses_and_ports);
	tcase_add_test(tc, test_json_is_the_d3_shape);
	tcase_add_test(tc, test_port_lists_are_ranges);
	tcase_add_test(tc, test_routes_group_ingress_and_client_cids);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
