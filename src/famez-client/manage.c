/* SPDX-License-Identifier: MIT */
/*
 * famez-fm: the fabric manager of fabric-manager.h over famez-client's transport. Its requests
 * leave as our directed or routed messages (or, for our own bridge, go to our control space),
 * their answers come back through client_control_take(), and the time through a timer at the
 * manager's next deadline. A pass ends with the fabric it found printed; --watch starts another
 * every few seconds, and says when the fabric changed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client.h"
#include "fabric-manager.h"
#include "genz.h"
#include "json.h"
#include "log.h"
#include "size.h"
#include "strutil.h"
#include "time-util.h"
#include "topology.h"

/* Answers of our own control space, handed to the manager outside its send(). */
#define SELF_QUEUE 64

typedef struct SelfAnswer {
	char text[MAILBOX_MSG_MAX];
} SelfAnswer;

struct ClientManager {
	Client *client;
	FabricManager *fm;
	FmConfig cfg;
	bool json, timing;
	uint64_t watch_usec; /* 0: one pass */
	sd_event_source *tick, *again, *self_source;
	SelfAnswer self[SELF_QUEUE];
	unsigned self_first, self_n;
	/*
	 * Inside a guest: the tags of requests to our own bridge. They go out by our own port,
	 * as a probe of that port does; the tag says which an answer from there is.
	 */
	uint64_t self_tags[(CONTROL_TAG_MAX + 64) / 64];
	bool running; /* a pass is under way */
	unsigned passes;
	uint64_t summary; /* of the last pass's fabric, to tell a change */
	int result;
};

/* The manager's own results: printed whatever say_muted says. */
_printf_(1, 2) static void fm_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static uint64_t now(void)
{
	return now_usec(CLOCK_MONOTONIC);
}

static void target_of(const FmAddr *a, FabricTarget *t)
{
	*t = (FabricTarget){ .routed = !a->directed,
			     .cid = a->cid,
			     .sid = a->sid,
			     .directed = a->directed,
			     .path_len = a->path_len };
	memcpy(t->path, a->path, a->path_len);
}

static void addr_of(const Origin *o, FmAddr *a)
{
	*a = (FmAddr){
		.directed = o->directed, .path_len = o->path_len, .cid = o->cid, .sid = o->sid
	};
	memcpy(a->path, o->path, o->path_len);
}

static void reschedule(ClientManager *m);

static int on_self(sd_event_source *source, void *userdata)
{
	ClientManager *m = userdata;
	const FmAddr self = { .self = true };

	(void)source;
	while (m->self_n) {
		SelfAnswer a = m->self[m->self_first];

		m->self_first = (m->self_first + 1) % SELF_QUEUE;
		m->self_n--;
		fm_on_answer(m->fm, &self, a.text, now());
	}
	sd_event_source_set_enabled(m->self_source, SD_EVENT_OFF);
	reschedule(m);
	return 0;
}

static int send_request(void *userdata, const FmAddr *to, const char *text)
{
	ClientManager *m = userdata;
	Client *c = m->client;
	FabricTarget t;

	/*
	 * Inside a guest our bridge is the driver's: the switch takes the request back to it
	 * (by our own port), and the driver answers as any component does.
	 */
	if (to->self && c->device) {
		ControlMsg req;

		if (control_msg_parse(text, &req) < 0 || !req.has_tag)
			return -EINVAL;
		m->self_tags[req.tag / 64] |= UINT64_C(1) << (req.tag % 64);
		t = (FabricTarget){ .directed = true, .path_len = 1 };
		t.path[0] = (uint8_t)c->state.own_id;
		return client_fabric_send(c, &t, text, SEND_MANAGE);
	}
	if (to->self) {
		SelfAnswer *a;

		if (m->self_n == SELF_QUEUE)
			return -ENOBUFS;
		a = &m->self[(m->self_first + m->self_n) % SELF_QUEUE];
		if (!client_control_answer_self(c, text, a->text, sizeof(a->text)))
			return -EINVAL;
		m->self_n++;
		sd_event_source_set_enabled(m->self_source, SD_EVENT_ONESHOT);
		return 0;
	}
	target_of(to, &t);
	return client_fabric_send(c, &t, text, SEND_MANAGE);
}

static void log_line(void *userdata, int priority, const char *line)
{
	(void)userdata;
	log_full(priority, "%s", line);
}

static const FmOps ops = {
	.send = send_request,
	.log = log_line,
};

static const char *cclass_name(uint16_t cclass)
{
	return cclass == GENZ_CCLASS_SWITCH   ? "FabricSwitch"
	       : cclass == GENZ_CCLASS_BRIDGE ? "Bridge"
					      : "Component";
}

/* "dr:16.3", "dr:" for our switch, "self" for us. */
static const char *path_label(const FmAddr *a, char *buf, size_t size)
{
	size_t n;

	if (a->self)
		return snprintf(buf, size, "self"), buf;
	n = (size_t)snprintf(buf, size, "dr:");
	for (unsigned i = 0; i < a->path_len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "." : "", a->path[i]);
	return buf;
}

/* A node's id: its CID,SID once given, else its path. */
static const char *node_id(const FmComponent *k, char *buf, size_t size)
{
	if (k->configured)
		snprintf(buf, size, "%u,%u", k->cid, k->sid);
	else
		path_label(&k->addr, buf, size);
	return buf;
}

/* The switch a bridge hangs on (its link's other end), or the component itself. */
static const FmComponent *switch_of(const FabricManager *fm, size_t i)
{
	const FmComponent *k = fm_component(fm, i);

	if (k->cclass == GENZ_CCLASS_SWITCH)
		return k;
	for (size_t l = 0; l < fm_n_links(fm); l++) {
		const FmLink *link = fm_link(fm, l);
		size_t other = link->a == i ? link->b : link->b == i ? link->a : SIZE_MAX;

		if (other != SIZE_MAX && fm_component(fm, other)->cclass == GENZ_CCLASS_SWITCH)
			return fm_component(fm, other);
	}
	return k;
}

static void print_json(ClientManager *m)
{
	const FabricManager *fm = m->fm;
	char id[64], sw[64], manager[32];
	Json j = JSON_INIT(stdout);

	snprintf(manager, sizeof(manager), "%u,%u", m->cfg.cid_first, m->cfg.sid);
	json_object_begin(&j);
	json_key(&j, "nodes");
	json_array_begin(&j);
	for (size_t i = 0; i < fm_n_components(fm); i++) {
		const FmComponent *k = fm_component(fm, i);
		char name[64];

		json_object_begin(&j);
		json_key_string(&j, "id", node_id(k, id, sizeof(id)));
		json_key_string(&j, "name", path_label(&k->addr, name, sizeof(name)));
		json_key_string(&j, "cclass", cclass_name(k->cclass));
		json_key_uint(&j, "cid", k->configured ? k->cid : 0);
		json_key_uint(&j, "sid", k->configured ? k->sid : 0);
		json_key_string(&j, "switch", node_id(switch_of(fm, i), sw, sizeof(sw)));
		json_key_bool(&j, "configured", k->configured);
		json_key_string(&j, "manager", k->configured ? manager : "");
		if (k->failed)
			json_key_string(&j, "error", k->error);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "links");
	json_array_begin(&j);
	for (size_t l = 0; l < fm_n_links(fm); l++) {
		const FmLink *link = fm_link(fm, l);

		json_object_begin(&j);
		json_key_string(&j, "source", node_id(fm_component(fm, link->a), id, sizeof(id)));
		json_key_string(&j, "target", node_id(fm_component(fm, link->b), sw, sizeof(sw)));
		json_key(&j, "ports");
		json_array_begin(&j);
		json_uint(&j, link->a_port);
		json_uint(&j, link->b_port);
		json_array_end(&j);
		json_key_bool(&j, "up", true);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	fputc('\n', stdout);
	fflush(stdout);
}

static void print_text(ClientManager *m)
{
	const FabricManager *fm = m->fm;
	char id[64], other[64], path[64];

	for (size_t i = 0; i < fm_n_components(fm); i++) {
		const FmComponent *k = fm_component(fm, i);

		if (k->failed)
			fm_say("component %s %s: failed: %s",
			       path_label(&k->addr, path, sizeof(path)), cclass_name(k->cclass),
			       k->error);
		else
			fm_say("component %s %s %s CID %u SID %u, %u interface%s",
			       path_label(&k->addr, path, sizeof(path)), cclass_name(k->cclass),
			       node_id(k, id, sizeof(id)), k->cid, k->sid, k->interfaces,
			       k->interfaces == 1 ? "" : "s");
	}
	for (size_t l = 0; l < fm_n_links(fm); l++) {
		const FmLink *link = fm_link(fm, l);

		fm_say("link %s:%u -- %s:%u", node_id(fm_component(fm, link->a), id, sizeof(id)),
		       link->a_port, node_id(fm_component(fm, link->b), other, sizeof(other)),
		       link->b_port);
	}
}

/* A number that changes when the fabric does: its components, their IDs and its links. */
static uint64_t summary_of(const FabricManager *fm)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < fm_n_components(fm); i++) {
		const FmComponent *k = fm_component(fm, i);
		uint64_t v = (uint64_t)k->cid << 32 | (uint64_t)k->sid << 8 | k->failed;

		h = (h ^ v ^ k->serial) * UINT64_C(0x100000001b3);
	}
	for (size_t l = 0; l < fm_n_links(fm); l++) {
		const FmLink *link = fm_link(fm, l);

		h = (h ^ link->a ^ (uint64_t)link->b << 16 ^ (uint64_t)link->a_port << 32 ^
		     (uint64_t)link->b_port << 48) *
		    UINT64_C(0x100000001b3);
	}
	return h;
}

static void pass_done(ClientManager *m)
{
	const FabricManager *fm = m->fm;
	uint64_t reads, writes, discovery, routing, summary = summary_of(fm);
	size_t switches = 0, failed = 0;
	bool changed = m->passes == 0 || summary != m->summary;

	m->running = false;
	m->passes++;
	m->summary = summary;
	m->result = fm_result(fm);
	for (size_t i = 0; i < fm_n_components(fm); i++) {
		switches += fm_component(fm, i)->cclass == GENZ_CCLASS_SWITCH;
		failed += fm_component(fm, i)->failed;
	}
	fm_stats(fm, &reads, &writes, &discovery, &routing);
	if (changed) {
		if (m->passes > 1)
			fm_say("the fabric changed");
		if (m->json)
			print_json(m);
		else
			print_text(m);
	}
	if (!m->json && (changed || failed))
		fm_say("fabric: %zu component%s (%zu switch%s), %zu link%s, %zu failed",
		       fm_n_components(fm), fm_n_components(fm) == 1 ? "" : "s", switches,
		       switches == 1 ? "" : "es", fm_n_links(fm), fm_n_links(fm) == 1 ? "" : "s",
		       failed);
	if (m->timing)
		fm_say("time: discovery %" PRIu64 " us, routes %" PRIu64 " us, %" PRIu64
		       " reads, %" PRIu64 " writes",
		       discovery, routing, reads, writes);
	if (m->result < 0)
		log_error("%zu component%s could not be configured (above)", failed,
			  failed == 1 ? "" : "s");
}

static int start_pass(ClientManager *m);

static int on_again(sd_event_source *source, uint64_t usec, void *userdata)
{
	ClientManager *m = userdata;

	(void)source;
	(void)usec;
	if (start_pass(m) < 0)
		client_continue(m->client);
	return 0;
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata)
{
	ClientManager *m = userdata;

	(void)source;
	(void)usec;
	fm_on_tick(m->fm, now());
	reschedule(m);
	return 0;
}

/* After anything the manager was told: its next deadline, or the end of its pass. */
static void reschedule(ClientManager *m)
{
	uint64_t deadline;

	if (!m->running)
		return;
	if (fm_state(m->fm) == FM_DONE) {
		pass_done(m);
		sd_event_source_set_enabled(m->tick, SD_EVENT_OFF);
		if (m->watch_usec) {
			sd_event_source_set_time_relative(m->again, m->watch_usec);
			sd_event_source_set_enabled(m->again, SD_EVENT_ONESHOT);
		}
		client_continue(m->client);
		return;
	}
	deadline = fm_next_deadline(m->fm);
	if (deadline == UINT64_MAX) {
		sd_event_source_set_enabled(m->tick, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(m->tick, deadline);
	sd_event_source_set_enabled(m->tick, SD_EVENT_ONESHOT);
}

static int start_pass(ClientManager *m)
{
	int r = fm_start(m->fm, now());

	if (r < 0)
		return command_error(m->client, "manage: cannot start a pass: %s", strerror(-r));
	m->running = true;
	reschedule(m);
	return 0;
}

static ClientManager *manager_free(ClientManager *m)
{
	if (!m)
		return NULL;
	sd_event_source_disable_unref(m->tick);
	sd_event_source_disable_unref(m->again);
	sd_event_source_disable_unref(m->self_source);
	fm_free(m->fm);
	free(m);
	return NULL;
}

void client_manage_done(Client *c)
{
	c->fabric.manager = manager_free(c->fabric.manager);
}

/* "FIRST-LAST" within 1..4095. */
static int parse_cids(Client *c, const char *arg, FmConfig *cfg)
{
	const char *dash = strchr(arg, '-');
	uint64_t first, last;
	char buf[16];

	if (!dash || (size_t)(dash - arg) >= sizeof(buf))
		goto bad;
	memcpy(buf, arg, (size_t)(dash - arg));
	buf[dash - arg] = '\0';
	if (parse_uint(buf, 1, 4095, &first) < 0 || parse_uint(dash + 1, 1, 4095, &last) < 0 ||
	    first > last)
		goto bad;
	cfg->cid_first = (uint16_t)first;
	cfg->cid_last = (uint16_t)last;
	return 0;
bad:
	return command_error(c, "--cids %s is not FIRST-LAST, CIDs from 1 to 4095", arg);
}

/* manage [--cids A-B] [--sid S] [--json] [--time] [--watch SEC] [--timeout MS] [--window N] */
static void command_manage(Client *c, int argc, char *argv[])
{
	ClientManager *m;
	uint64_t v;
	int r = 0;

	if (c->fabric.manager) {
		command_error(c, "manage: a fabric manager runs already");
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		command_error(c, "manage: out of memory");
		return;
	}
	m->client = c;
	m->cfg = (FmConfig){
		.cid_first = 1, .cid_last = 4095, .sid = 27, .timeout_usec = 1000000, .window = 8
	};
	for (int i = 1; i < argc && r == 0; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0)
			m->json = true;
		else if (strcmp(a, "--time") == 0)
			m->timing = true;
		else if (strcmp(a, "--subnets") == 0)
			m->cfg.subnets = true;
		else if (strcmp(a, "--cids") == 0 && next && ++i)
			r = parse_cids(c, next, &m->cfg);
		else if (strcmp(a, "--sid") == 0 && next && ++i)
			r = parse_uint(next, 0, TOPOLOGY_EXTERNAL_SIDS - 1, &v) < 0
				    ? command_error(c, "--sid %s is not a SID from 0 to %d", next,
						    TOPOLOGY_EXTERNAL_SIDS - 1)
				    : (m->cfg.sid = (uint16_t)v, 0);
		else if (strcmp(a, "--watch") == 0 && next && ++i)
			r = parse_uint(next, 1, 86400, &v) < 0
				    ? command_error(c, "--watch %s is not seconds (1..86400)", next)
				    : (m->watch_usec = v * 1000000, 0);
		else if (strcmp(a, "--timeout") == 0 && next && ++i)
			r = parse_uint(next, 1, 60000, &v) < 0
				    ? command_error(c,
						    "--timeout %s is not milliseconds (1..60000)",
						    next)
				    : (m->cfg.timeout_usec = v * 1000, 0);
		else if (strcmp(a, "--window") == 0 && next && ++i)
			r = parse_uint(next, 1, 64, &v) < 0
				    ? command_error(c, "--window %s is not 1 to 64 requests", next)
				    : (m->cfg.window = (unsigned)v, 0);
		else
			r = command_error(c, "manage: unknown option '%s'", a);
	}
	if (r == 0 && getrandom(m->cfg.uuid, sizeof(m->cfg.uuid), 0) != sizeof(m->cfg.uuid))
		r = command_error(c, "manage: no random bytes for the manager's UUID");
	if (r == 0 && (r = fm_new(&m->fm, &m->cfg, &ops, m)) < 0)
		command_error(c, "manage: %s", strerror(-r));
	if (r == 0)
		r = sd_event_add_time(c->event, &m->tick, CLOCK_MONOTONIC, 0, 1000, on_tick, m);
	if (r >= 0)
		r = sd_event_add_time(c->event, &m->again, CLOCK_MONOTONIC, 0, 1000, on_again, m);
	if (r >= 0)
		r = sd_event_add_defer(c->event, &m->self_source, on_self, m);
	if (r < 0) {
		if (r != -EINVAL)
			command_error(c, "manage: %s", strerror(-r));
		manager_free(m);
		return;
	}
	sd_event_source_set_enabled(m->tick, SD_EVENT_OFF);
	sd_event_source_set_enabled(m->again, SD_EVENT_OFF);
	sd_event_source_set_enabled(m->self_source, SD_EVENT_OFF);
	c->fabric.manager = m;
	if (start_pass(m) < 0) {
		client_manage_done(c);
		return;
	}
	start_wait(c, WAIT_MANAGE, NULL);
}

bool client_manage_command(Client *c, int argc, char *argv[])
{
	if (strcmp(argv[0], "manage") != 0)
		return false;
	command_manage(c, argc, argv);
	return true;
}

bool client_manage_wait_satisfied(Client *c)
{
	ClientManager *m = c->fabric.manager;

	if (!m)
		return true;
	if (m->running || m->watch_usec)
		return false;
	if (m->result < 0)
		c->command_failed = true;
	return true;
}

bool client_manage_take(Client *c, const Origin *o, const char *text)
{
	ClientManager *m = c->fabric.manager;
	FmAddr from;

	if (!m || !m->running || (!o->directed && !o->routed))
		return false;
	addr_of(o, &from);
	/* Inside a guest, what comes back by our own port may be our bridge's (send_request()). */
	if (c->device && o->directed && o->path_len == 1 && o->path[0] == c->state.own_id) {
		ControlMsg a = { .has_tag = false };

		(void)control_msg_parse(text, &a);
		if (a.has_tag && a.tag <= CONTROL_TAG_MAX &&
		    m->self_tags[a.tag / 64] & UINT64_C(1) << (a.tag % 64)) {
			m->self_tags[a.tag / 64] &= ~(UINT64_C(1) << (a.tag % 64));
			from = (FmAddr){ .self = true };
		}
	}
	fm_on_answer(m->fm, &from, text, now());
	reschedule(m);
	return true;
}

void client_manage_send_failed(Client *c, const FabricTarget *t, const char *text)
{
	ClientManager *m = c->fabric.manager;
	ControlMsg req;
	FmAddr to;

	if (!m || !m->running || control_msg_parse(text, &req) < 0)
		return;
	to = (FmAddr){
		.directed = t->directed, .path_len = t->path_len, .cid = t->cid, .sid = t->sid
	};
	memcpy(to.path, t->path, t->path_len);
	fm_on_unreachable(m->fm, &to, req.tag, now());
	reschedule(m);
}

void client_manage_help(void)
{
	printf("  manage [--cids A-B] [--sid S] [--subnets] [--json] [--time] [--watch SEC]\n"
	       "         [--timeout MS] [--window N]\n"
	       "                       be the fabric manager: discover, configure and route the\n"
	       "                       fabric from our bridge (famez-fm(1))\n");
}

/* ---- famez-fm: the same program, its own options ---- */

static void fm_help(void)
{
	printf("Usage: famez-fm [OPTIONS]\n"
	       "\n"
	       "Discover, configure and route a famez fabric as its primary fabric manager, from\n"
	       "this program's own bridge: a peer of a famezd switch (--socket), or inside a "
	       "guest\n"
	       "its bridge device (--device). See famez-fm(1).\n"
	       "\n"
	       "  -S, --socket=PATH    the switch's socket (default: famezd's)\n"
	       "  -D, --device=PATH    inside a guest: the bridge device, /dev/famez_bridge_XX\n"
	       "      --cids=A-B       the CIDs to give, the manager's own first (default 1-4095)\n"
	       "      --sid=N          every component's SID, 0..4095 (default 27)\n"
	       "      --subnets        a subnet per switch: SIDs from --sid on, routes across\n"
	       "                       subnets in MSDTs and MPRTs\n"
	       "      --json           the fabric found as JSON, as famezctl topology --json\n"
	       "      --time           how long discovery and routing took, and the requests\n"
	       "      --watch=SEC      keep managing: a new pass every SEC seconds, the fabric\n"
	       "                       printed again when it changed\n"
	       "      --timeout=MS     per request before it is sent again, then given up\n"
	       "                       (default 1000)\n"
	       "      --window=N       requests in flight at once (default 8)\n"
	       "  -w, --wait=SEC       wait up to SEC seconds for the switch's socket\n"
	       "  -v, --verbose        log every request and answer\n"
	       "  -h, --help           show this help\n"
	       "      --version        show the version\n"
	       "\n"
	       "Exit status: 0 every component configured, 1 some could not be, 2 bad usage,\n"
	       "3 no switch to connect to.\n");
}

int client_fm_args(int argc, char *argv[], FmArgs *a)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'D' },
		{ "cids", required_argument, NULL, 'c' },
		{ "sid", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "time", no_argument, NULL, 't' },
		{ "subnets", no_argument, NULL, 'u' },
		{ "watch", required_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "window", required_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 0x100 },
		{},
	};
	size_t len = (size_t)snprintf(a->exec, sizeof(a->exec), "manage");
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":S:D:w:vh", options, NULL)) >= 0) {
		const char *flag = NULL;

		switch (opt) {
		case 'S':
			a->socket = optarg;
			break;
		case 'D':
			a->device = optarg;
			break;
		case 'w':
			a->wait = optarg;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'c':
			flag = "--cids";
			break;
		case 's':
			flag = "--sid";
			break;
		case 'W':
			flag = "--watch";
			break;
		case 'T':
			flag = "--timeout";
			break;
		case 'n':
			flag = "--window";
			break;
		case 'j':
			len += (size_t)snprintf(a->exec + len, sizeof(a->exec) - len, " --json");
			break;
		case 't':
			len += (size_t)snprintf(a->exec + len, sizeof(a->exec) - len, " --time");
			break;
		case 'u':
			len += (size_t)snprintf(a->exec + len, sizeof(a->exec) - len, " --subnets");
			break;
		case 'h':
			fm_help();
			return EXIT_OK;
		case 0x100:
			printf("famez-fm %s\n", FAMEZ_VERSION);
			return EXIT_OK;
		case ':':
			log_error("option '%s' needs an argument; try 'famez-fm --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			log_error("unknown option '%s'; try 'famez-fm --help'", argv[optind - 1]);
			return EXIT_USAGE;
		}
		/* Values go to the manage command, which checks them; no ';' may end it early. */
		if (flag && strpbrk(optarg, "; \t")) {
			log_error("%s %s: not a value", flag, optarg);
			return EXIT_USAGE;
		}
		if (flag)
			len += (size_t)snprintf(a->exec + len, sizeof(a->exec) - len, " %s %s",
						flag, optarg);
		if (len >= sizeof(a->exec)) {
			log_error("too many options");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'; try 'famez-fm --help'", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}
