/* SPDX-License-Identifier: MIT */
/*
 * A switch's configuration file as an administrator, or a careless tool, may write it: parsed,
 * finished and checked beside the default switch and a switch east it may link to. Errors are
 * one line; what is accepted keeps the mode's rules, gives CIDs no other switch of its subnet
 * gives, and makes a fabric whose routes stay within their tables.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "size.h"
#include "switch-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { N_SWITCHES = 3 };

static void check_one_line(const char *s)
{
	if (strchr(s, '\n'))
		abort();
}

/* The CIDs of a and b, switches of one subnet, are apart. */
static void check_cids_apart(const TopoSwitch *a, const TopoSwitch *b)
{
	unsigned a_last = topology_cid(a, a->n_clients + 1),
		 b_last = topology_cid(b, b->n_clients + 1);

	if (a_last >= TOPOLOGY_CID_SPACE || b_last >= TOPOLOGY_CID_SPACE)
		abort();
	if (topology_cid(a, 1) <= b_last && topology_cid(b, 1) <= a_last)
		abort();
}

/* Every switch's routes, and lookups of every CID of the subnet and some SIDs. */
static void check_routes(const Topology *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const TopoSwitch *sw = &t->switches[i];
		SwitchRoutes *r = NULL;
		unsigned egress;

		if (routes_compute(t, i, &r) < 0)
			abort();
		for (unsigned cid = 0; cid <= TOPOLOGY_CID_SPACE; cid += 7)
			if (routes_lookup(sw, r, 1, cid, sw->sid, &egress) == TOPOLOGY_EGRESS &&
			    (egress == 0 || egress >= r->n_ports))
				abort();
		for (unsigned sid = 0; sid < 64; sid++)
			if (routes_lookup(sw, r, r->n_ports - 1, 100, sid, &egress) ==
				    TOPOLOGY_EGRESS &&
			    egress >= r->n_ports)
				abort();
		routes_free(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SWITCH_CONFIG_ERROR_MAX] = "", note[SWITCH_CONFIG_ERROR_MAX] = "";
	SwitchConfig def, east, lab;
	SwitchConfig *const configs[N_SWITCHES] = { &def, &east, &lab };
	TopoSwitch out[N_SWITCHES];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (switch_config_init(&def, SWITCH_DEFAULT_NAME) < 0 ||
	    switch_config_init(&east, "east") < 0 || switch_config_init(&lab, "lab") < 0)
		abort();
	def.set = SWITCH_KEY_SID;
	if (switch_config_finish(&def, note, sizeof(note), err, sizeof(err)) < 0 ||
	    switch_config_finish(&east, note, sizeof(note), err, sizeof(err)) < 0)
		abort();

	if (switch_config_parse(&lab, "lab.conf", text, err, sizeof(err)) < 0 ||
	    switch_config_finish(&lab, note, sizeof(note), err, sizeof(err)) < 0) {
		check_one_line(err);
		goto done;
	}
	check_one_line(note);
	if (!size_is_pow2(lab.shm.size) || lab.vectors < 1 || lab.vectors > SWITCH_MAX_VECTORS)
		abort();
	if (lab.mode == SWITCH_MODE_FABRIC &&
	    (lab.max_peers > MAILBOX_CLIENTS_MAX || lab.vectors != lab.max_peers + 2 ||
	     lab.shm.size < mailbox_size(lab.max_peers)))
		abort();
	if (lab.mode != SWITCH_MODE_FABRIC && (lab.n_links > 0 || lab.relay_always))
		abort();
	if (switch_configs_check(configs, N_SWITCHES, err, sizeof(err)) < 0) {
		check_one_line(err);
		goto done;
	}
	/* Checked: the fabric is made again alike. */
	if (switch_configs_topology(configs, N_SWITCHES, out, err, sizeof(err)) < 0)
		abort();
	for (size_t i = 0; i < N_SWITCHES; i++) {
		if (out[i].cid_base != configs[i]->cid_base ||
		    out[i].cid_stride != configs[i]->cid_stride)
			abort();
		for (size_t j = i + 1; j < N_SWITCHES; j++)
			if (out[i].up && out[j].up && out[i].sid == out[j].sid)
				check_cids_apart(&out[i], &out[j]);
	}
	check_routes(&(Topology){ out, N_SWITCHES });
done:
	switch_config_done(&def);
	switch_config_done(&east);
	switch_config_done(&lab);
	free(text);
	return 0;
}
