/* SPDX-License-Identifier: MIT */
/*
 * famez-client as a Gen-Z component: a bridge (C-Class 0x14) with one interface, to its switch,
 * and a control space (control-space.h) a manager reads and writes with control requests,
 * however they reach us: rung directly by a peer of our switch, routed from a CID,SID, or
 * directed along a path of ports. What a manager writes takes effect: CV, CID0 and SID0 are our
 * configuration, the SSDT and MSDT the routes we may send by. FAME-Z's own CTL-Write from famezd
 * writes the same fields, and routes everywhere: a switch famezd manages routes everything.
 *
 * We send control requests too (ctl-read, ctl-write): one at a time, each with a fresh tag, and
 * wait for the answer from where it went.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "control-space.h"
#include "log.h"
#include "size.h"
#include "strutil.h"
#include "topology.h"

/* Entries of our SSDT (one per CID) and MSDT (one per SID a manager may use, topology.h). */
#define SSDT_ENTRIES CONTROL_CID_ENTRIES
#define MSDT_ENTRIES TOPOLOGY_EXTERNAL_SIDS
/* How long a control request waits for its answer unless the command says. */
#define CONTROL_WAIT_S "5"

/* Our control request waiting for its answer. */
typedef struct ControlPending {
	bool active;
	bool write;
	FabricTarget target;
	char dest[MAILBOX_LABEL_MAX]; /* DEST as the command named it */
	uint16_t tag;
	uint64_t offset;
} ControlPending;

struct ClientControl {
	ControlSpace *space;
	uint32_t ssdt[SSDT_ENTRIES], msdt[MSDT_ENTRIES]; /* packed (genz_route_pack()) */
	/* Our switch, as its Link CTL ACK said: whether it answered, and its IDs if it has any. */
	bool switch_known, switch_has_ids;
	uint16_t switch_cid, switch_sid;
	uint16_t next_tag;  /* 1..CONTROL_TAG_MAX */
	uint64_t unmatched; /* responses that answer no request of ours */
	ControlPending pending;
};

static const char *command_of(const ControlPending *p)
{
	return p->write ? "ctl-write" : "ctl-read";
}

/* ---- our control space ---- */

static void refresh(void *userdata, ControlRegion *r)
{
	Client *c = userdata;
	ClientControl *ctl = c->fabric.control;
	const GenzStructure *is = &genz_interface;
	bool ids = ctl->switch_known && ctl->switch_has_ids;
	unsigned cstate = !ctl->switch_known ? GENZ_C_DOWN : ids ? GENZ_C_UP : GENZ_C_CFG;

	if (r->structure != is)
		return;
	/* Interface 0 leads to our switch, into its port that is our ID. */
	genz_set_named(is, r->bytes, "IState", c->settled ? GENZ_I_UP : GENZ_I_DOWN);
	genz_set_named(is, r->bytes, "PeerBaseCClass", GENZ_CCLASS_SWITCH);
	genz_set_named(is, r->bytes, "PeerInterfaceID", c->state.own_id);
	genz_set_named(is, r->bytes, "PeerCState", cstate);
	genz_set_named(is, r->bytes, "PeerCID", ids ? ctl->switch_cid : 0);
	genz_set_named(is, r->bytes, "PeerSID", ids ? ctl->switch_sid : 0);
	genz_set_named(is, r->bytes, "PeerCIDValid", ids);
	genz_set_named(is, r->bytes, "PeerSIDValid", ids);
}

static uint32_t *table_entry(ClientControl *ctl, const ControlRegion *r, uint32_t index)
{
	if (r->table == CONTROL_TABLE_SSDT)
		return index < SSDT_ENTRIES ? &ctl->ssdt[index] : NULL;
	return index < MSDT_ENTRIES ? &ctl->msdt[index] : NULL;
}

static uint32_t table_get(void *userdata, const ControlRegion *r, uint32_t index)
{
	Client *c = userdata;
	uint32_t *e = table_entry(c->fabric.control, r, index);

	return e ? *e : 0;
}

static ControlReason table_set(void *userdata, const ControlRegion *r, uint32_t index,
			       uint32_t value)
{
	Client *c = userdata;
	uint32_t *e = table_entry(c->fabric.control, r, index);
	GenzRoute g = genz_route_unpack(value);

	/* We have one interface: a route leaves by interface 0 or not at all. */
	if (!e || (g.valid && g.ei != 0))
		return CONTROL_UNSUPPORTED;
	*e = value;
	return CONTROL_OK;
}

static void ask_switch_attributes(Client *c)
{
	client_fabric_send_msg(c, c->fabric.layout.server_id,
			       &(FabricMsg){ .type = FABRIC_MSG_PEER_ATTRIBUTE });
}

/* A manager wrote our core: CV, CID0 and SID0 are our configuration from now on. */
static void written(void *userdata, ControlRegion *r, const uint8_t *old, size_t off, size_t len)
{
	Client *c = userdata;
	const GenzStructure *core = &genz_core;
	bool was, now;
	uint64_t cid, sid;

	(void)off;
	(void)len;
	if (r->structure != core)
		return;
	was = genz_get_named(core, old, "CV") & 1;
	now = genz_get_named(core, r->bytes, "CV") & 1;
	cid = genz_get_named(core, r->bytes, "CID0");
	sid = genz_get_named(core, r->bytes, "SID0");
	/* IDs written while CV is clear are no configuration yet. */
	if (was == now && (!now || (cid == genz_get_named(core, old, "CID0") &&
				    sid == genz_get_named(core, old, "SID0"))))
		return;
	client_fabric_set_ids(c, now, cid, sid);
	if (now)
		say("configured SID %" PRIu64 " CID %" PRIu64 " by a manager", sid, cid);
	else
		say("unconfigured by a manager");
	/* Our switch answers, then asks ours back: it learns what we now are. */
	ask_switch_attributes(c);
}

static const ControlOps client_ops = {
	.refresh = refresh,
	.table_get = table_get,
	.table_set = table_set,
	.written = written,
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

/* A serial number of this process: its nodename, PID and start time. */
static uint64_t serial_of(const char *nodename)
{
	struct timespec ts;
	pid_t pid = getpid();
	uint64_t h = fnv1a(FNV_OFFSET, nodename, strlen(nodename));

	clock_gettime(CLOCK_REALTIME, &ts);
	h = fnv1a(h, &pid, sizeof(pid));
	return fnv1a(h, &ts, sizeof(ts));
}

void client_control_setup(Client *c)
{
	ClientFabric *f = &c->fabric;
	ClientControl *ctl;
	uint64_t serial = serial_of(f->nodename);
	uint16_t tag;

	/* Inside a guest the bridge driver holds the bridge's control space. */
	if (c->device)
		return;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		log_error("out of memory: no control space; control requests go unanswered");
		return;
	}
	ctl->space = control_space_new(&(ControlIdentity){ .cclass = GENZ_CCLASS_BRIDGE,
							   .interfaces = 1,
							   .cid_entries = SSDT_ENTRIES,
							   .sid_entries = MSDT_ENTRIES,
							   .up = false,
							   .serial = serial },
				       &client_ops, c);
	if (!ctl->space) {
		log_error_errno(errno, "cannot create our control space: %m");
		free(ctl);
		return;
	}
	/* Tags start anywhere: a responder's window of recent tags is no older process's. */
	if (getrandom(&tag, sizeof(tag), GRND_NONBLOCK) != (ssize_t)sizeof(tag))
		tag = (uint16_t)(serial >> 32);
	ctl->next_tag = (uint16_t)(1 + tag % CONTROL_TAG_MAX);
	f->control = ctl;
	/* What our switch is (its IDs, if it has any): our interface 0 says so to a manager. */
	ask_switch_attributes(c);
}

void client_control_done(Client *c)
{
	ClientControl *ctl = c->fabric.control;

	if (!ctl)
		return;
	control_space_free(ctl->space);
	free(ctl);
	c->fabric.control = NULL;
}

void client_control_configured(Client *c, const FabricMsg *m)
{
	ClientControl *ctl = c->fabric.control;
	const GenzStructure *core = &genz_core;
	uint32_t everywhere = genz_route_pack((GenzRoute){ .valid = true });
	uint8_t *b;

	if (!ctl)
		return;
	/* What a manager would write, written as the switch's CTL-Write says, at once. */
	b = control_space_core(ctl->space);
	genz_set_named(core, b, "CID0", m->cid);
	genz_set_named(core, b, "CV", genz_get_named(core, b, "CV") | 1);
	genz_set_named(core, b, "SID0", m->sid);
	genz_set_named(core, b, "PFMCID", m->pfmcid);
	genz_set_named(core, b, "PFMSID", m->pfmsid);
	genz_set_named(core, b, "PFMCIDValid", 1);
	genz_set_named(core, b, "PFMSIDValid", 1);
	genz_set_named(core, b, "CState", GENZ_C_UP);
	/* A switch famezd manages routes everything: every CID and SID is reachable. */
	for (size_t i = 0; i < SSDT_ENTRIES; i++)
		ctl->ssdt[i] = everywhere;
	for (size_t i = 0; i < MSDT_ENTRIES; i++)
		ctl->msdt[i] = everywhere;
}

void client_control_switch_attributes(Client *c, const FabricMsg *m)
{
	ClientControl *ctl = c->fabric.control;

	if (!ctl)
		return;
	ctl->switch_known = true;
	ctl->switch_has_ids = m->has_cid0 && m->has_sid0 && m->cid0 <= FABRIC_CID_MAX &&
			      m->sid0 <= FABRIC_SID_MAX;
	ctl->switch_cid = ctl->switch_has_ids ? (uint16_t)m->cid0 : 0;
	ctl->switch_sid = ctl->switch_has_ids ? (uint16_t)m->sid0 : 0;
}

bool client_control_up(Client *c)
{
	ClientControl *ctl = c->fabric.control;

	if (!ctl)
		return c->fabric.configured;
	return genz_get_named(&genz_core, control_space_core(ctl->space), "CState") == GENZ_C_UP;
}

bool client_control_routable(Client *c, uint16_t cid, uint16_t sid)
{
	ClientControl *ctl = c->fabric.control;
	uint32_t e;

	if (!ctl)
		return true;
	if (sid == c->fabric.sid)
		e = cid < SSDT_ENTRIES ? ctl->ssdt[cid] : 0;
	else
		e = sid < MSDT_ENTRIES ? ctl->msdt[sid] : 0;
	return genz_route_unpack(e).valid;
}

/* ---- requests for us, responses for us ---- */

/* Who asked (control_space_answer()'s key): famezd's keys for the routed and directed. */
static uint64_t requester_of(const Origin *o)
{
	if (o->directed)
		return control_requester_directed(o->path, o->path_len);
	if (o->routed)
		return control_requester_routed(o->cid, o->sid);
	return UINT64_C(1) << 61 | o->id;
}

static void answer(Client *c, const Origin *o, const ControlMsg *req, bool malformed)
{
	ClientControl *ctl = c->fabric.control;
	char text[MAILBOX_MSG_MAX];
	ControlMsg resp;

	if (malformed)
		control_space_answer_malformed(ctl->space, req, &resp);
	else
		control_space_answer(ctl->space, req, requester_of(o), &resp);
	if (control_msg_format(&resp, text, sizeof(text)) >= 0)
		client_fabric_reply(c, o, text);
}

static void hex_of(const uint8_t *data, size_t len, char *buf)
{
	for (size_t i = 0; i < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", data[i]);
	buf[2 * len] = '\0';
}

/* What our request's answer says; the command is done. */
static void take_answer(Client *c, const ControlMsg *m)
{
	ControlPending *p = &c->fabric.control->pending;
	char hex[2 * CONTROL_DATA_MAX + 1];

	p->active = false;
	if (m->type == CONTROL_MSG_READ_RESPONSE && !p->write) {
		hex_of(m->data, m->length, hex);
		say("ctl-read %s 0x%" PRIx64 ": %s", p->dest, p->offset, hex);
	} else if (m->type == CONTROL_MSG_ACK && m->reason == CONTROL_OK && p->write)
		say("ctl-write %s 0x%" PRIx64 ": OK", p->dest, p->offset);
	else if (m->type == CONTROL_MSG_ACK)
		command_error(c, "%s %s 0x%" PRIx64 ": refused: %s", command_of(p), p->dest,
			      p->offset, control_reason_to_string(m->reason));
	else
		command_error(c, "%s %s 0x%" PRIx64 ": answered with data", command_of(p), p->dest,
			      p->offset);
}

bool client_control_take(Client *c, const Origin *o, const char *name, const char *text)
{
	ClientControl *ctl = c->fabric.control;
	ControlMsg m = { .type = CONTROL_MSG_NONE };
	int r;

	r = control_msg_parse(text, &m);
	if ((r < 0 && r != -EBADMSG) || m.type == CONTROL_MSG_NONE)
		return false;
	/*
	 * Inside a guest the bridge driver is the component: it answers requests itself, and
	 * responses are the fabric manager's or only printed.
	 */
	if (!ctl)
		return m.type != CONTROL_MSG_READ && m.type != CONTROL_MSG_WRITE &&
		       client_manage_take(c, o, text);
	if (m.type == CONTROL_MSG_READ || m.type == CONTROL_MSG_WRITE) {
		log_debug("%s: %s", name, text);
		answer(c, o, &m, r < 0);
		return true;
	}
	/* A response: the fabric manager's, or to our request from where it went, with its tag. */
	if (client_manage_take(c, o, text))
		return true;
	if (r == 0 && ctl->pending.active && m.tag == ctl->pending.tag &&
	    client_fabric_origin_is(c, &ctl->pending.target, o)) {
		log_debug("%s: %s", name, text);
		take_answer(c, &m);
		return true;
	}
	ctl->unmatched++;
	log_debug("%s: %s (answers no request of ours)", name, text);
	return true;
}

bool client_control_answer_self(Client *c, const char *text, char *answer, size_t size)
{
	ClientControl *ctl = c->fabric.control;
	ControlMsg req = { .type = CONTROL_MSG_NONE }, resp;
	int r;

	if (!ctl)
		return false;
	r = control_msg_parse(text, &req);
	if (req.type != CONTROL_MSG_READ && req.type != CONTROL_MSG_WRITE)
		return false;
	if (r < 0)
		control_space_answer_malformed(ctl->space, &req, &resp);
	else
		control_space_answer(ctl->space, &req, UINT64_C(1) << 60, &resp);
	return control_msg_format(&resp, answer, size) >= 0;
}

/* ---- our requests ---- */

static uint16_t fresh_tag(ClientControl *ctl)
{
	uint16_t tag = ctl->next_tag;

	ctl->next_tag = tag == CONTROL_TAG_MAX ? 1 : (uint16_t)(tag + 1);
	return tag;
}

static int parse_offset(Client *c, const char *arg, uint64_t *offset)
{
	if (str_parse_uint(arg, strlen(arg), true, offset) < 0 || *offset > CONTROL_OFFSET_MAX)
		return command_error(c, "'%s' is not a control space offset (0..0x%llx)", arg,
				     CONTROL_OFFSET_MAX);
	return 0;
}

/* HEX into 1..CONTROL_DATA_MAX bytes. */
static int parse_hex(Client *c, const char *arg, ControlMsg *m)
{
	size_t len = strlen(arg);

	if (len == 0 || len % 2 || len / 2 > CONTROL_DATA_MAX)
		goto bad;
	for (size_t i = 0; i < len; i += 2) {
		int hi = str_hex_digit(arg[i]), lo = str_hex_digit(arg[i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		m->data[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	m->length = (uint32_t)(len / 2);
	return 0;
bad:
	return command_error(c, "'%s' is not data: 1 to %d bytes, 2 hex digits each", arg,
			     CONTROL_DATA_MAX);
}

/* ctl-read or ctl-write on our own space: answered at once. */
static void request_self(Client *c, const ControlMsg *req)
{
	ClientControl *ctl = c->fabric.control;
	ControlReason why;

	ctl->pending =
		(ControlPending){ .write = req->type == CONTROL_MSG_WRITE, .offset = req->offset };
	snprintf(ctl->pending.dest, sizeof(ctl->pending.dest), "self");
	if (req->type == CONTROL_MSG_READ) {
		ControlMsg resp = { .type = CONTROL_MSG_READ_RESPONSE, .length = req->length };

		why = control_space_read(ctl->space, req->offset, req->length, resp.data);
		if (why == CONTROL_OK) {
			take_answer(c, &resp);
			return;
		}
	} else
		why = control_space_write(ctl->space, req->offset, req->data, req->length);
	take_answer(c, &(ControlMsg){ .type = CONTROL_MSG_ACK, .reason = why });
}

/* Sends req to DEST and waits for the answer (at most seconds, or CONTROL_WAIT_S). */
static void request(Client *c, const char *dest, ControlMsg *req, const char *seconds)
{
	ClientControl *ctl = c->fabric.control;
	ControlPending *p;
	char text[MAILBOX_MSG_MAX];
	FabricTarget t;

	if (seconds && parse_uint(seconds, 1, 86400, &(uint64_t){ 0 }) < 0) {
		command_error(c, "'%s' is not a number of seconds", seconds);
		return;
	}
	if (strcmp(dest, "self") == 0) {
		if (!ctl)
			command_error(c, "no control space here: inside a guest the bridge driver "
					 "holds it");
		else
			request_self(c, req);
		return;
	}
	if (!ctl) {
		/* With --device: requests go through the bridge; only their answers are ours. */
		command_error(c, "no control space here: inside a guest the bridge driver holds "
				 "it, and the requests it sends");
		return;
	}
	if (client_fabric_parse_one_dest(c, dest, &t) < 0)
		return;
	p = &ctl->pending;
	req->tag = fresh_tag(ctl);
	*p = (ControlPending){ .active = true,
			       .write = req->type == CONTROL_MSG_WRITE,
			       .target = t,
			       .tag = req->tag,
			       .offset = req->offset };
	snprintf(p->dest, sizeof(p->dest), "%s", dest);
	if (control_msg_format(req, text, sizeof(text)) < 0) {
		p->active = false;
		command_error(c, "%s: the request does not fit in a slot", command_of(p));
		return;
	}
	/* A switch refusing it at once (or no route here) ends the request before the wait. */
	if (client_fabric_send(c, &t, text, SEND_CONTROL) < 0) {
		p->active = false;
		return;
	}
	start_wait(c, WAIT_CONTROL, seconds ? seconds : CONTROL_WAIT_S);
}

bool client_control_wait_satisfied(Client *c)
{
	return !c->fabric.control || !c->fabric.control->pending.active;
}

void client_control_timed_out(Client *c)
{
	ControlPending *p = c->fabric.control ? &c->fabric.control->pending : NULL;

	if (!p || !p->active)
		return;
	p->active = false;
	command_error(c, "%s %s: no answer", command_of(p), p->dest);
}

void client_control_send_failed(Client *c, const char *text)
{
	ControlPending *p = c->fabric.control ? &c->fabric.control->pending : NULL;
	ControlMsg m;

	/* What the switch said, or the silence, was logged: the command fails. */
	if (!p || !p->active || control_msg_parse(text, &m) < 0 || m.tag != p->tag)
		return;
	p->active = false;
	c->command_failed = true;
}

/* Whether field f of a structure's bytes holds anything but zeros. */
static bool field_set(const GenzField *f, const uint8_t *base)
{
	if (f->width <= 64)
		return genz_get(base, f) != 0;
	for (unsigned i = 0; i < f->width / 8; i++)
		if (base[f->bit / 8 + i])
			return true;
	return false;
}

/* control [STRUCTURE]: our structures, field by field (with -v the fields that are 0 too). */
static void command_control(Client *c, const char *name)
{
	ClientControl *ctl = c->fabric.control;
	bool all = log_get_max_level() >= LOG_DEBUG, found = false;

	if (!ctl) {
		command_error(c,
			      "no control space here: inside a guest the bridge driver holds it");
		return;
	}
	for (size_t i = 0; i < control_space_n_regions(ctl->space); i++) {
		ControlRegion *r = control_space_region(ctl->space, i);
		const GenzStructure *s = r->structure;

		if (!s || (name && strcmp(name, r->name) != 0))
			continue;
		found = true;
		refresh(c, r);
		say("%s@0x%" PRIx64 ":", r->name, r->offset);
		for (size_t k = 0; k < s->n_fields; k++) {
			char buf[128];

			if (!all && !field_set(&s->fields[k], r->bytes))
				continue;
			genz_field_format(&s->fields[k], r->bytes, buf, sizeof(buf));
			say("  %s", buf);
		}
	}
	if (!found)
		command_error(c,
			      "no structure '%s': core, interface0 or "
			      "component_destination_table",
			      name);
}

bool client_control_command(Client *c, int argc, char *argv[])
{
	ControlMsg req = { .type = CONTROL_MSG_READ };
	uint64_t length;

	if (strcmp(argv[0], "control") == 0 && argc <= 2) {
		command_control(c, argc == 2 ? argv[1] : NULL);
	} else if (strcmp(argv[0], "ctl-read") == 0 && (argc == 4 || argc == 5)) {
		if (parse_offset(c, argv[2], &req.offset) < 0)
			return true;
		if (parse_uint(argv[3], 1, CONTROL_DATA_MAX, &length) < 0) {
			command_error(c, "'%s' is not a length (1..%d bytes)", argv[3],
				      CONTROL_DATA_MAX);
			return true;
		}
		req.length = (uint32_t)length;
		request(c, argv[1], &req, argc == 5 ? argv[4] : NULL);
	} else if (strcmp(argv[0], "ctl-write") == 0 && (argc == 4 || argc == 5)) {
		req.type = CONTROL_MSG_WRITE;
		if (parse_offset(c, argv[2], &req.offset) < 0 || parse_hex(c, argv[3], &req) < 0)
			return true;
		request(c, argv[1], &req, argc == 5 ? argv[4] : NULL);
	} else if (strcmp(argv[0], "control") == 0 || strcmp(argv[0], "ctl-read") == 0 ||
		   strcmp(argv[0], "ctl-write") == 0) {
		command_error(c, "wrong arguments to '%s'; try 'help'", argv[0]);
	} else {
		return false;
	}
	return true;
}

void client_control_dump(Client *c)
{
	const ClientControl *ctl = c->fabric.control;
	const ControlSpace *cs = ctl ? ctl->space : NULL;

	if (!ctl)
		return;
	say("fabric control %s answered %" PRIu64 " malformed %" PRIu64 " out-of-range %" PRIu64
	    " read-only %" PRIu64 " tag-reused %" PRIu64 " unsupported %" PRIu64
	    " unmatched-responses %" PRIu64,
	    client_control_up(c) ? "C-Up" : "C-CFG", control_space_count(cs, CONTROL_OK),
	    control_space_count(cs, CONTROL_MALFORMED),
	    control_space_count(cs, CONTROL_OUT_OF_RANGE),
	    control_space_count(cs, CONTROL_READ_ONLY), control_space_count(cs, CONTROL_TAG_REUSED),
	    control_space_count(cs, CONTROL_UNSUPPORTED), ctl->unmatched);
}

void client_control_help(void)
{
	say("control space (we are a Gen-Z bridge; DEST as above, or 'self' for our own):\n"
	    "  ctl-read DEST OFFSET LENGTH [SECONDS]\n"
	    "                            read LENGTH (1..128) bytes at OFFSET of DEST's control\n"
	    "                            space: 'ctl-read DEST 0xOFFSET: HEX', or 'refused:\n"
	    "                            REASON'; waits for the answer (default 5 s)\n"
	    "  ctl-write DEST OFFSET HEX [SECONDS]\n"
	    "                            write the bytes HEX at OFFSET: 'ctl-write DEST\n"
	    "                            0xOFFSET: OK', or 'refused: REASON'\n"
	    "  control [STRUCTURE]       our own structures, field by field (core, interface0,\n"
	    "                            component_destination_table): the fields set, with -v\n"
	    "                            all of them");
}
