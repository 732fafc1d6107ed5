/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "control-space.h"
#include "fabric-manager.h"
#include "fabric-msg.h"
#include "genz.h"
#include "macro.h"

/*
 * How a pass goes.
 *
 * Every component the manager knows is a Comp, which moves through Steps. Each step sends its
 * requests (reads and writes, at most CONTROL_DATA_MAX bytes each) at once and waits for all
 * of their answers (Comp.pending); the last answer ends the step, which checks what came and
 * starts the next one. A component that answers wrong or not at all fails alone: its error is
 * kept, its other requests are forgotten, and the pass goes on without it.
 *
 *   STEP_PROBE      its core (a few chunks)          then: a second link to a component
 *                                                   already found, or a new one
 *   STEP_IDS        writes its IDs and ours
 *   STEP_IDS_BACK   reads them back
 *   STEP_STRUCTURE  the component switch structure (switch) or destination table (bridge)
 *   STEP_IFACE0     switch: interface 0 (the chain of interfaces starts there), PktRelayEnb
 *   STEP_IFACES     switch: every other interface, PktRelayEnb read back; its links
 *   STEP_FOUND      waits for the others
 *   STEP_ROUTES     its SSDT or LPRTs being written
 *   STEP_VERIFY     and read back
 *
 * The manager's own bridge (component 0) goes first, then [], then what the links of every
 * switch lead to, breadth first (Candidates). A probe whose core holds CV, a CID given in this
 * pass, our MGR-UUID, and the serial number and C-Class of the component given it, is a second
 * link to that component: the link is kept, the probe dropped. One component at a time is
 * between STEP_PROBE and STEP_IDS_BACK (FabricManager.probing): a probe that read a core while
 * another component's IDs were being written could not tell that component from a new one.
 * The rest overlaps: what the window allows is in flight. A switch's interfaces are where
 * interface 0's NextInterfacePTR says, evenly spaced (each one's NextInterfacePTR must agree),
 * so they are all read at once rather than one after the other along the chain.
 *
 * Discovery ends when no probe is under way, no candidate waits and every component is found
 * or failed. The routes are then computed once, over the components found, and every table
 * write is queued (FM_ROUTING); once all are acknowledged, every one is read back
 * (FM_VERIFYING); then FM_DONE.
 *
 * Requests wait in one queue (retries go first) and leave while fewer than cfg.window are in
 * flight. An answer names its request by tag: by_tag[] holds the request of every tag in flight.
 * Answers come back through fm_on_answer(), possibly from inside FmOps.send: the queue is
 * pumped by one loop only (FabricManager.pumping), and pass changes are made by one loop only
 * (FabricManager.checking), so nothing recurses deeper than one answer.
 */

#define NO_INDEX SIZE_MAX
#define CORE_BYTES 0x200  /* genz_core.size */
#define IFACE_BYTES 0xb0  /* genz_interface.size */
#define STRUCT_BYTES 0x70 /* the larger of genz_component_switch and the destination table */
#define TRIES 2           /* a request is sent once, and once more when it is not answered */
#define STRUCT_PTRS 9     /* StructPTR0..8: those in the core's first chunk */
#define ROUTES_PER_WRITE (CONTROL_DATA_MAX / GENZ_ROUTE_SIZE)
#define TAGS (CONTROL_TAG_MAX + 1)

typedef enum Step {
	STEP_PROBE,
	STEP_IDS,
	STEP_IDS_BACK,
	STEP_STRUCTURE,
	STEP_IFACE0,
	STEP_IFACES,
	STEP_FOUND,
	STEP_ROUTES,
	STEP_VERIFY,
} Step;

/* Where the bytes of a read's answer go. */
typedef enum Dest {
	DEST_NONE,   /* a write: its acknowledgment is all */
	DEST_CORE,   /* the core as probed */
	DEST_BACK,   /* the core read back after the writes */
	DEST_STRUCT, /* the component switch structure or the destination table */
	DEST_RELAY,  /* the component switch structure read back after PktRelayEnb */
	DEST_IFACE,  /* interface `what` */
	DEST_VERIFY, /* table write `what` read back: compared at once */
} Dest;

typedef enum ReqState {
	REQ_FREE,
	REQ_QUEUED,
	REQ_IN_FLIGHT,
} ReqState;

typedef struct Req {
	ReqState state;
	uint64_t pass; /* of another pass than the current one: nobody waits for it */
	size_t comp;
	FmAddr to; /* the component's, kept: answers are checked against it */
	Dest dest;
	unsigned what;
	uint32_t rel; /* where the answer's bytes go in dest */
	bool write;
	uint64_t offset;
	uint32_t length;
	uint8_t data[CONTROL_DATA_MAX]; /* a write's */
	uint16_t tag;
	unsigned sent;    /* times sent */
	bool tag_retried; /* refused once as TagReused and sent again */
	uint64_t deadline;
	uint64_t serial; /* which send an error of FmOps.send is about */
	size_t next;     /* in the queue or in the free list */
} Req;

/* The routing tables a manager writes: by CID within the subnet, by SID across subnets. */
typedef enum TableKind {
	TABLE_SSDT,
	TABLE_MSDT,
	TABLE_LPRT,
	TABLE_MPRT,
} TableKind;

static const char *const table_names[] = {
	[TABLE_SSDT] = "SSDT", [TABLE_MSDT] = "MSDT", [TABLE_LPRT] = "LPRT", [TABLE_MPRT] = "MPRT"
};

/* A run of routing entries written in one request, kept to be read back. */
typedef struct TableWrite {
	uint64_t offset;
	uint32_t length;
	uint8_t data[CONTROL_DATA_MAX];
	TableKind kind;
	unsigned interface; /* an LPRT's or MPRT's */
	uint32_t first;     /* the CID (SSDT, LPRT) or SID (MSDT, MPRT) of the first entry */
} TableWrite;

typedef struct Comp {
	FmComponent pub;
	Step step;
	unsigned pending;   /* requests of its step not answered yet */
	bool has_cid;       /* given one in this pass */
	size_t link;        /* the link it was found by, or NO_INDEX */
	unsigned peer_port; /* its port on the link it was found by, as the switch there said */
	uint8_t core[CORE_BYTES];
	uint8_t back[CORE_BYTES];
	unsigned next_ptr;  /* switch: the StructPTR to try next */
	uint64_t structure; /* the component switch structure's or the destination table's offset */
	uint8_t sbytes[STRUCT_BYTES];
	uint8_t sback[STRUCT_BYTES];
	uint32_t entries; /* of each LPRT (switch), of the SSDT (bridge) */
	uint32_t sid_entries; /* --subnets: of each MPRT (switch), of the MSDT (bridge) */
	uint64_t ssdt, msdt;
	uint64_t iface0, stride;
	uint8_t (*ifaces)[IFACE_BYTES];
	TableWrite *writes;
	size_t n_writes, cap_writes;
} Comp;

/* A component to probe: what is on port `port` of component `parent`. */
typedef struct Candidate {
	FmAddr addr;
	size_t parent; /* NO_INDEX: the manager's switch, [] */
	unsigned port;
	unsigned peer_port; /* PeerInterfaceID */
	uint16_t cclass;    /* PeerBaseCClass */
	bool too_far;       /* its path would be longer than ENVELOPE_PATH_MAX */
} Candidate;

struct FabricManager {
	FmConfig cfg;
	FmOps ops;
	void *userdata;
	FmState state;
	uint64_t pass;

	Comp *comps;
	size_t n_comps, cap_comps;
	FmLink *links;
	size_t n_links, cap_links;
	Candidate *cands;
	size_t n_cands, cap_cands, next_cand;
	bool probing;
	uint32_t next_cid;
	uint32_t next_sid; /* --subnets: the next switch's */
	/*
	 * The CIDs (SIDs, across subnets) the last pass routed to: those no longer there get
	 * their entries cleared by the next one.
	 */
	uint64_t routed_cids[CONTROL_CID_ENTRIES / 64], routed_sids[FM_SIDS / 64];
	bool no_memory; /* the pass could not be finished: fm_result() -EIO */

	Req *reqs;
	size_t n_reqs, cap_reqs;
	size_t free_first, queue_first, queue_last;
	size_t by_tag[TAGS]; /* request index + 1 of each tag in flight, 0 when free */
	unsigned in_flight, window;
	uint16_t next_tag;
	uint64_t next_serial;
	bool pumping, checking, recheck;

	uint64_t now, started, routing_started, finished;
	uint64_t reads, writes, ignored;
};

typedef struct Span {
	uint64_t off; /* bytes from the structure's start */
	uint32_t len;
} Span;

/* The bytes of fields first..last of s, widened to whole units of granule bytes. */
static Span fields_span(const GenzStructure *s, const char *first, const char *last,
			unsigned granule)
{
	const GenzField *a = genz_field(s, first), *b = genz_field(s, last);
	uint64_t lo = a->bit / 8, hi = DIV_ROUND_UP(b->bit + b->width, 8);

	lo -= lo % granule;
	hi = DIV_ROUND_UP(hi, granule) * granule;
	return (Span){ .off = lo, .len = (uint32_t)(hi - lo) };
}

/* What a probe reads of a core: each chunk at most CONTROL_DATA_MAX bytes. */
static void core_chunks(Span out[3])
{
	/* C-State, C-Class, interfaces, structure pointers (Type..Interface0PTR). */
	out[0] = fields_span(&genz_core, "Type", "Interface0PTR", 8);
	/* The manager's IDs, SID0, CV and CID0. */
	out[1] = fields_span(&genz_core, "PFMCID", "CID0", 8);
	/* CAP2Control's valid bits, MGR-UUID, SerialNumber. */
	out[2] = fields_span(&genz_core, "PFMCIDValid", "SerialNumber", 8);
}

/* What the manager writes of a core, CV and CID0 last (one 4-byte write). */
static void core_writes(Span out[4])
{
	out[0] = fields_span(&genz_core, "PFMCID", "SID0", 8);
	out[1] = fields_span(&genz_core, "PFMCIDValid", "PFMSIDValid", 8);
	out[2] = fields_span(&genz_core, "MGR-UUID", "MGR-UUID", 8);
	out[3] = fields_span(&genz_core, "CV", "CID0", 4);
}

/* The fields core_writes() writes, compared one by one when they are read back. */
static const char *const written_fields[] = {
	"PFMCID", "PFMSID", "SID0", "PFMCIDValid", "PFMSIDValid", "MGR-UUID", "CV", "CID0",
};

/* What is read of every interface: its state and peer, then its pointers. */
static void iface_chunks(Span out[2])
{
	out[0] = fields_span(&genz_interface, "Type", "PeerCState", 8);
	out[1] = fields_span(&genz_interface, "NextInterfacePTR", "MPRTPTR", 8);
}

static bool spans_overlap(Span a, Span b)
{
	return a.off < b.off + b.len && b.off < a.off + a.len;
}

static uint64_t get(const GenzStructure *s, const uint8_t *b, const char *name)
{
	return genz_get_named(s, b, name);
}

/* A pointer (16-byte units) in bytes: true when size bytes there are past the core and within
 * the control space. */
static bool ptr_offset(uint64_t units, uint64_t size, uint64_t *off)
{
	*off = units * GENZ_UNIT;
	return units != 0 && *off >= CORE_BYTES && *off + size - 1 <= CONTROL_OFFSET_MAX;
}

/* A table size as the specification writes it: 4096 entries as 0. */
static uint32_t table_entries(uint64_t size)
{
	return size ? (uint32_t)size : CONTROL_CID_ENTRIES;
}

static bool addr_equal(const FmAddr *a, const FmAddr *b)
{
	if (a->self || b->self)
		return a->self == b->self;
	if (a->directed != b->directed)
		return false;
	if (!a->directed)
		return a->cid == b->cid && a->sid == b->sid;
	return a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0;
}

static void addr_format(const FmAddr *a, char *buf, size_t size)
{
	size_t n;

	if (a->self) {
		snprintf(buf, size, "self");
		return;
	}
	if (!a->directed) {
		snprintf(buf, size, "CID %u,SID %u", a->cid, a->sid);
		return;
	}
	n = (size_t)snprintf(buf, size, "[");
	for (unsigned i = 0; i < a->path_len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "," : "", a->path[i]);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

static const char *cclass_name(uint16_t cclass)
{
	switch (cclass) {
	case GENZ_CCLASS_SWITCH:
		return "switch";
	case GENZ_CCLASS_BRIDGE:
		return "bridge";
	default:
		return "component";
	}
}

static void log_line(FabricManager *m, int priority, const char *fmt, ...) _printf_(3, 4);
static void log_line(FabricManager *m, int priority, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!m->ops.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->ops.log(m->userdata, priority, line);
}

static Comp *comp(FabricManager *m, size_t ci)
{
	return &m->comps[ci];
}

static bool is_switch(const Comp *c)
{
	return c->pub.cclass == GENZ_CCLASS_SWITCH;
}

static void check_phase(FabricManager *m);

static void comp_fail(FabricManager *m, size_t ci, const char *fmt, ...) _printf_(3, 4);
static void comp_fail(FabricManager *m, size_t ci, const char *fmt, ...)
{
	Comp *c = comp(m, ci);
	char where[80];
	va_list ap;

	if (c->pub.failed)
		return;
	c->pub.failed = true;
	c->pending = 0; /* its requests still queued or in flight are nobody's now */
	va_start(ap, fmt);
	vsnprintf(c->pub.error, sizeof(c->pub.error), fmt, ap);
	va_end(ap);
	if (m->probing && ci == m->n_comps - 1 && c->step <= STEP_IDS_BACK)
		m->probing = false;
	addr_format(&c->pub.addr, where, sizeof(where));
	log_line(m, LOG_ERR, "%s %s: %s", cclass_name(c->pub.cclass), where, c->pub.error);
	check_phase(m);
}

/* Requests: a queue, the tags in flight, timeouts. */

static bool req_live(const FabricManager *m, const Req *r)
{
	return r->pass == m->pass && r->comp < m->n_comps && !m->comps[r->comp].pub.failed;
}

static void queue_push(FabricManager *m, size_t ri, bool first)
{
	Req *r = &m->reqs[ri];

	r->state = REQ_QUEUED;
	r->next = NO_INDEX;
	if (m->queue_first == NO_INDEX) {
		m->queue_first = m->queue_last = ri;
	} else if (first) {
		r->next = m->queue_first;
		m->queue_first = ri;
	} else {
		m->reqs[m->queue_last].next = ri;
		m->queue_last = ri;
	}
}

static size_t queue_pop(FabricManager *m)
{
	size_t ri = m->queue_first;

	if (ri != NO_INDEX) {
		m->queue_first = m->reqs[ri].next;
		if (m->queue_first == NO_INDEX)
			m->queue_last = NO_INDEX;
	}
	return ri;
}

/* An answer or a timeout ends a request's flight: its tag is free again, the request kept. */
static void req_land(FabricManager *m, size_t ri)
{
	Req *r = &m->reqs[ri];

	if (r->state == REQ_IN_FLIGHT) {
		m->by_tag[r->tag] = 0;
		m->in_flight--;
		r->state = REQ_QUEUED;
	}
}

static void req_free(FabricManager *m, size_t ri)
{
	Req *r = &m->reqs[ri];

	req_land(m, ri);
	r->state = REQ_FREE;
	r->next = m->free_first;
	m->free_first = ri;
}

static int req_add(FabricManager *m, size_t ci, bool write, uint64_t offset, uint32_t length,
		   const uint8_t *data, Dest dest, unsigned what, uint32_t rel)
{
	size_t ri = m->free_first;
	Req *r;

	if (ri != NO_INDEX) {
		m->free_first = m->reqs[ri].next;
	} else {
		if (grow_array(&m->reqs, &m->cap_reqs, m->n_reqs + 1, sizeof(*m->reqs)) < 0)
			return -ENOMEM;
		ri = m->n_reqs++;
	}
	r = &m->reqs[ri];
	*r = (Req){ .pass = m->pass,
		    .comp = ci,
		    .to = comp(m, ci)->pub.addr,
		    .dest = dest,
		    .what = what,
		    .rel = rel,
		    .write = write,
		    .offset = offset,
		    .length = length };
	if (write)
		memcpy(r->data, data, length);
	queue_push(m, ri, false);
	comp(m, ci)->pending++;
	return 0;
}

/* Out of memory, a request is not sent: the pass ends there (check_phase()). */
static void req_read(FabricManager *m, size_t ci, uint64_t offset, uint32_t length, Dest dest,
		     unsigned what, uint32_t rel)
{
	if (req_add(m, ci, false, offset, length, NULL, dest, what, rel) < 0)
		m->no_memory = true;
}

static void req_write(FabricManager *m, size_t ci, uint64_t offset, const uint8_t *data,
		      uint32_t length, unsigned what)
{
	if (req_add(m, ci, true, offset, length, data, DEST_NONE, what, 0) < 0)
		m->no_memory = true;
}

static void req_describe(const Req *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s of %" PRIu32 " bytes at 0x%" PRIx64, r->write ? "write" : "read",
		 r->length, r->offset);
}

static uint16_t take_tag(FabricManager *m)
{
	uint16_t tag;

	do {
		tag = m->next_tag;
		m->next_tag = m->next_tag == CONTROL_TAG_MAX ? 1 : (uint16_t)(m->next_tag + 1);
	} while (m->by_tag[tag]);
	return tag;
}

static void send_req(FabricManager *m, size_t ri)
{
	Req *r = &m->reqs[ri];
	ControlMsg msg = { .type = r->write ? CONTROL_MSG_WRITE : CONTROL_MSG_READ,
			   .offset = r->offset,
			   .length = r->length };
	char text[FABRIC_TEXT_MAX], what[64];
	uint64_t serial = ++m->next_serial;
	size_t ci = r->comp;
	FmAddr to;
	int ret;

	msg.tag = r->tag = take_tag(m);
	if (r->write)
		memcpy(msg.data, r->data, r->length);
	r->state = REQ_IN_FLIGHT;
	r->deadline = m->now + m->cfg.timeout_usec;
	r->serial = serial;
	r->sent++;
	m->by_tag[r->tag] = ri + 1;
	m->in_flight++;
	*(r->write ? &m->writes : &m->reads) += 1;
	to = r->to;
	req_describe(r, what, sizeof(what));
	ret = control_msg_format(&msg, text, sizeof(text));
	/* The answer may come from inside send(): r is not to be touched after it. */
	if (ret >= 0)
		ret = m->ops.send(m->userdata, &to, text);
	if (ret >= 0)
		return;
	if (m->by_tag[msg.tag] == ri + 1 && m->reqs[ri].serial == serial) {
		bool live = req_live(m, &m->reqs[ri]);

		req_free(m, ri);
		if (live)
			comp_fail(m, ci, "cannot send a %s: %s", what, strerror(-ret));
	}
}

/* Sends what waits while the window has room; one loop at a time, whoever calls. */
static void pump(FabricManager *m)
{
	if (m->pumping)
		return;
	m->pumping = true;
	while (m->in_flight < m->window && m->queue_first != NO_INDEX) {
		size_t ri = queue_pop(m);

		if (!req_live(m, &m->reqs[ri]))
			req_free(m, ri);
		else
			send_req(m, ri);
	}
	m->pumping = false;
}

/* Discovery. */

static void step_done(FabricManager *m, size_t ci);

static int add_link(FabricManager *m, size_t a, unsigned a_port, size_t b, unsigned b_port)
{
	if (grow_array(&m->links, &m->cap_links, m->n_links + 1, sizeof(*m->links)) < 0) {
		m->no_memory = true;
		return -ENOMEM;
	}
	m->links[m->n_links++] = (FmLink){ .a = a, .b = b, .a_port = a_port, .b_port = b_port };
	return 0;
}

/*
 * The link c was found by leads to component b (c itself, or one found before): to the port
 * the switch at the near end named (PeerInterfaceID) when b is a switch, to 0 for a bridge.
 */
static void link_to(FabricManager *m, const Comp *c, size_t b)
{
	if (c->link != NO_INDEX) {
		m->links[c->link].b = b;
		m->links[c->link].b_port = is_switch(comp(m, b)) ? c->peer_port : 0;
	}
}

/* Whether port of component ci is an end of a link already recorded. */
static bool link_known(const FabricManager *m, size_t ci, unsigned port)
{
	for (size_t i = 0; i < m->n_links; i++) {
		const FmLink *l = &m->links[i];

		if ((l->a == ci && l->a_port == port) || (l->b == ci && l->b_port == port))
			return true;
	}
	return false;
}

static int add_comp(FabricManager *m, const FmAddr *addr, uint16_t cclass, size_t *ret)
{
	Comp *c;

	if (grow_array(&m->comps, &m->cap_comps, m->n_comps + 1, sizeof(*m->comps)) < 0)
		return -ENOMEM;
	*ret = m->n_comps++;
	c = comp(m, *ret);
	*c = (Comp){ .step = STEP_PROBE, .link = NO_INDEX };
	c->pub.addr = *addr;
	c->pub.cclass = cclass;
	return 0;
}

static void comp_release(Comp *c)
{
	free(c->ifaces);
	free(c->writes);
	c->ifaces = NULL;
	c->writes = NULL;
}

static void start_probe(FabricManager *m, size_t ci)
{
	Span chunks[3];

	core_chunks(chunks);
	m->probing = true;
	for (size_t i = 0; i < ELEMENTSOF(chunks); i++)
		req_read(m, ci, CONTROL_CORE_OFFSET + chunks[i].off, chunks[i].len, DEST_CORE, 0,
			 (uint32_t)chunks[i].off);
}

/* Probes the next candidate whose link is not known yet, if no probe is under way. */
static void probe_next(FabricManager *m)
{
	while (!m->probing && m->next_cand < m->n_cands) {
		Candidate k = m->cands[m->next_cand++];
		size_t ci;

		if (k.parent != NO_INDEX && link_known(m, k.parent, k.port))
			continue;
		if (add_comp(m, &k.addr, k.cclass, &ci) < 0) {
			m->no_memory = true;
			return;
		}
		comp(m, ci)->peer_port = k.peer_port;
		if (k.parent != NO_INDEX &&
		    add_link(m, k.parent, k.port, ci,
			     k.cclass == GENZ_CCLASS_BRIDGE ? 0 : k.peer_port) == 0)
			comp(m, ci)->link = m->n_links - 1;
		if (k.too_far)
			comp_fail(m, ci,
				  "out of reach: a directed path holds %u ports of 0..%u, "
				  "it is behind port %u of the switch there",
				  ENVELOPE_PATH_MAX, UINT8_MAX, k.port);
		else
			start_probe(m, ci);
	}
}

/* The component ci (just probed) is, if CV, CID0 and MGR-UUID say one found in this pass. */
static size_t find_known(const FabricManager *m, size_t ci)
{
	const Comp *c = &m->comps[ci];
	const GenzField *uuid = genz_field(&genz_core, "MGR-UUID");
	uint64_t cid = get(&genz_core, c->core, "CID0");

	if (!(get(&genz_core, c->core, "CV") & 1) ||
	    memcmp(c->core + uuid->bit / 8, m->cfg.uuid, sizeof(m->cfg.uuid)) != 0)
		return NO_INDEX;
	for (size_t k = 0; k < ci; k++) {
		const Comp *o = &m->comps[k];

		/* The same serial number and C-Class too: not a CID left by an earlier pass. */
		if (o->has_cid && o->pub.cid == cid && o->pub.serial == c->pub.serial &&
		    o->pub.cclass == c->pub.cclass)
			return k;
	}
	return NO_INDEX;
}

/* What is wrong with a probed core, or NULL. */
static const char *core_contradiction(const Comp *c, char *buf, size_t size)
{
	uint64_t off;

	if (c->pub.cclass != GENZ_CCLASS_SWITCH && c->pub.cclass != GENZ_CCLASS_BRIDGE)
		snprintf(buf, size, "C-Class 0x%x: neither a switch nor a bridge", c->pub.cclass);
	else if (c->pub.interfaces == 0)
		snprintf(buf, size, "MaxInterface 0");
	else if (is_switch(c) &&
		 !ptr_offset(get(&genz_core, c->core, "Interface0PTR"), IFACE_BYTES, &off))
		snprintf(buf, size, "Interface0PTR 0x%" PRIx64 " leads nowhere",
			 get(&genz_core, c->core, "Interface0PTR"));
	else if (!is_switch(c) && !ptr_offset(get(&genz_core, c->core, "CompDestPTR"),
					      genz_component_destination_table.size, &off))
		snprintf(buf, size, "CompDestPTR 0x%" PRIx64 " leads nowhere",
			 get(&genz_core, c->core, "CompDestPTR"));
	else
		return NULL;
	return buf;
}

/* Writes the IDs: its CID and the SID, the manager's CID and SID, MGR-UUID. */
static void start_ids(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	const GenzField *uuid = genz_field(&genz_core, "MGR-UUID");
	Span w[4];

	c->step = STEP_IDS;
	genz_set_named(&genz_core, c->core, "PFMCID", m->cfg.cid_first);
	genz_set_named(&genz_core, c->core, "PFMSID", m->cfg.sid);
	genz_set_named(&genz_core, c->core, "SID0", c->pub.sid);
	genz_set_named(&genz_core, c->core, "PFMCIDValid", 1);
	genz_set_named(&genz_core, c->core, "PFMSIDValid", 1);
	memcpy(c->core + uuid->bit / 8, m->cfg.uuid, sizeof(m->cfg.uuid));
	genz_set_named(&genz_core, c->core, "CV", 1);
	genz_set_named(&genz_core, c->core, "CID0", c->pub.cid);
	core_writes(w);
	for (size_t i = 0; i < ELEMENTSOF(w); i++)
		req_write(m, ci, CONTROL_CORE_OFFSET + w[i].off, c->core + w[i].off, w[i].len, 0);
}

/*
 * The SID of component ci: --sid for all; with --subnets, its own for every switch but the
 * manager's (which has --sid, as the manager), the next in the order found, and its switch's
 * for a bridge. UINT32_MAX when none is left.
 */
static uint32_t subnet_of(FabricManager *m, size_t ci)
{
	const Comp *c = comp(m, ci);

	if (!m->cfg.subnets || ci == 0 || c->link == NO_INDEX)
		return m->cfg.sid;
	if (!is_switch(c))
		return comp(m, m->links[c->link].a)->pub.sid;
	return m->next_sid < FM_SIDS ? m->next_sid++ : UINT32_MAX;
}

static void probed(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	const char *why;
	char buf[128];
	uint32_t sid;
	size_t k;

	c->pub.cclass = (uint16_t)get(&genz_core, c->core, "BaseCClass");
	c->pub.interfaces = (unsigned)get(&genz_core, c->core, "MaxInterface");
	c->pub.serial = get(&genz_core, c->core, "SerialNumber");
	if (ci == 0) {
		/* The manager's own bridge. */
		if (c->pub.cclass != GENZ_CCLASS_BRIDGE) {
			comp_fail(m, ci, "the manager's own C-Class is 0x%x, not a bridge",
				  c->pub.cclass);
			return;
		}
	} else if ((k = find_known(m, ci)) != NO_INDEX) {
		/* A second link to k: the probe is forgotten, its link leads to k. */
		link_to(m, c, k);
		m->n_comps--;
		m->probing = false;
		return;
	}
	link_to(m, c, ci);
	why = core_contradiction(c, buf, sizeof(buf));
	if (why) {
		comp_fail(m, ci, "%s", why);
		return;
	}
	if (ci != 0 && m->next_cid > m->cfg.cid_last) {
		comp_fail(m, ci, "no CID left in the pool %u-%u", m->cfg.cid_first,
			  m->cfg.cid_last);
		return;
	}
	sid = subnet_of(m, ci);
	if (sid == UINT32_MAX) {
		comp_fail(m, ci, "no SID left for its subnet: %u-%u are taken", m->cfg.sid,
			  FM_SIDS - 1);
		return;
	}
	c->pub.sid = (uint16_t)sid;
	/* The pool's first CID is the manager's, whether its bridge answers or not. */
	c->pub.cid = ci == 0 ? m->cfg.cid_first : (uint16_t)m->next_cid++;
	c->has_cid = true;
	start_ids(m, ci);
}

static void start_ids_back(FabricManager *m, size_t ci)
{
	Span chunks[3], w[4];

	comp(m, ci)->step = STEP_IDS_BACK;
	core_chunks(chunks);
	core_writes(w);
	for (size_t i = 0; i < ELEMENTSOF(chunks); i++) {
		bool wanted = false;

		for (size_t j = 0; j < ELEMENTSOF(w); j++)
			wanted |= spans_overlap(chunks[i], w[j]);
		if (wanted)
			req_read(m, ci, CONTROL_CORE_OFFSET + chunks[i].off, chunks[i].len,
				 DEST_BACK, 0, (uint32_t)chunks[i].off);
	}
}

static void start_structure(FabricManager *m, size_t ci);

static void ids_back(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	char where[80];

	for (size_t i = 0; i < ELEMENTSOF(written_fields); i++) {
		const GenzField *f = genz_field(&genz_core, written_fields[i]);
		size_t at = f->bit / 8;
		bool same = f->width > 64 ? memcmp(c->core + at, c->back + at, f->width / 8) == 0
					  : genz_get(c->core, f) == genz_get(c->back, f);

		if (!same) {
			comp_fail(m, ci, "%s reads back 0x%" PRIx64 ", written 0x%" PRIx64, f->name,
				  genz_get(c->back, f), genz_get(c->core, f));
			return;
		}
	}
	c->pub.configured = true;
	m->probing = false;
	addr_format(&c->pub.addr, where, sizeof(where));
	log_line(m, LOG_INFO, "%s %s: CID %u, SID %u, serial 0x%" PRIx64,
		 cclass_name(c->pub.cclass), where, c->pub.cid, c->pub.sid, c->pub.serial);
	start_structure(m, ci);
}

/* Reads the component switch structure (the next StructPTR to try) or the destination table. */
static void start_structure(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	const GenzStructure *s =
		is_switch(c) ? &genz_component_switch : &genz_component_destination_table;

	c->step = STEP_STRUCTURE;
	if (!is_switch(c)) {
		ptr_offset(get(&genz_core, c->core, "CompDestPTR"), s->size, &c->structure);
		req_read(m, ci, c->structure, s->size, DEST_STRUCT, 0, 0);
		return;
	}
	while (c->next_ptr < STRUCT_PTRS) {
		char name[16];

		snprintf(name, sizeof(name), "StructPTR%u", c->next_ptr++);
		if (ptr_offset(get(&genz_core, c->core, name), s->size, &c->structure)) {
			req_read(m, ci, c->structure, s->size, DEST_STRUCT, 0, 0);
			return;
		}
	}
	comp_fail(m, ci, "no StructPTR leads to a component switch structure");
}

static void read_iface(FabricManager *m, size_t ci, unsigned i, uint64_t at)
{
	Span chunks[2];

	iface_chunks(chunks);
	for (size_t j = 0; j < ELEMENTSOF(chunks); j++)
		req_read(m, ci, at + chunks[j].off, chunks[j].len, DEST_IFACE, i,
			 (uint32_t)chunks[j].off);
}

static Span relay_span(void)
{
	return fields_span(&genz_component_switch, "PktRelayEnb", "PktRelayEnb", 2);
}

/* Switch: interface 0, where the chain of interfaces starts, and its packet relay enabled. */
static void start_iface0(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	Span relay = relay_span();

	c->step = STEP_IFACE0;
	c->entries = table_entries(get(&genz_component_switch, c->sbytes, "LPRTSize"));
	c->sid_entries = table_entries(get(&genz_component_switch, c->sbytes, "MPRTSize"));
	c->ifaces = calloc(c->pub.interfaces, sizeof(*c->ifaces));
	if (!c->ifaces) {
		m->no_memory = true;
		return;
	}
	ptr_offset(get(&genz_core, c->core, "Interface0PTR"), IFACE_BYTES, &c->iface0);
	read_iface(m, ci, 0, c->iface0);
	genz_set_named(&genz_component_switch, c->sbytes, "PktRelayEnb", 1);
	req_write(m, ci, c->structure + relay.off, c->sbytes + relay.off, relay.len, 0);
}

static void structure_read(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	uint64_t type = get(&genz_component_switch, c->sbytes, "Type");
	const GenzStructure *t = &genz_component_destination_table;

	if (is_switch(c)) {
		if (type == GENZ_TYPE_COMPONENT_SWITCH)
			start_iface0(m, ci);
		else
			start_structure(m, ci);
		return;
	}
	if (type != GENZ_TYPE_COMPONENT_DESTINATION_TABLE) {
		comp_fail(m, ci,
			  "CompDestPTR leads to a structure of type 0x%" PRIx64
			  ", not a destination table",
			  type);
		return;
	}
	c->entries = table_entries(get(t, c->sbytes, "SSDTSize"));
	if (!ptr_offset(get(t, c->sbytes, "SSDTPTR"), (uint64_t)c->entries * GENZ_ROUTE_SIZE,
			&c->ssdt)) {
		comp_fail(m, ci, "SSDTPTR 0x%" PRIx64 " leads nowhere",
			  get(t, c->sbytes, "SSDTPTR"));
		return;
	}
	c->sid_entries = table_entries(get(t, c->sbytes, "MSDTSize"));
	if (m->cfg.subnets && !ptr_offset(get(t, c->sbytes, "MSDTPTR"),
					  (uint64_t)c->sid_entries * GENZ_ROUTE_SIZE, &c->msdt)) {
		comp_fail(m, ci, "MSDTPTR 0x%" PRIx64 " leads nowhere",
			  get(t, c->sbytes, "MSDTPTR"));
		return;
	}
	c->step = STEP_FOUND;
}

/* Interface 0 read: the others are where its NextInterfacePTR says, evenly spaced. */
static void iface0_read(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	uint64_t next = get(&genz_interface, c->ifaces[0], "NextInterfacePTR") * GENZ_UNIT;
	unsigned n = c->pub.interfaces;
	Span relay = relay_span();

	if (get(&genz_interface, c->ifaces[0], "Type") != GENZ_TYPE_INTERFACE) {
		comp_fail(m, ci, "Interface0PTR does not lead to an interface structure");
		return;
	}
	if (n > 1) {
		c->stride = next > c->iface0 ? next - c->iface0 : 0;
		if (c->stride < IFACE_BYTES ||
		    c->iface0 + (n - 1) * c->stride + IFACE_BYTES - 1 > CONTROL_OFFSET_MAX) {
			comp_fail(m, ci,
				  "NextInterfacePTR of interface 0 is 0x%" PRIx64
				  ": %u interfaces cannot follow",
				  next / GENZ_UNIT, n - 1);
			return;
		}
	}
	c->step = STEP_IFACES;
	for (unsigned i = 1; i < n; i++)
		read_iface(m, ci, i, c->iface0 + i * c->stride);
	req_read(m, ci, c->structure + relay.off, relay.len, DEST_RELAY, 0, (uint32_t)relay.off);
}

static bool iface_linked(const uint8_t *b)
{
	return get(&genz_interface, b, "IState") == GENZ_I_UP &&
	       get(&genz_interface, b, "PeerBaseCClass") != 0;
}

/* What is wrong with interface i of switch c, or NULL. */
static const char *iface_contradiction(const Comp *c, unsigned i, char *buf, size_t size)
{
	const uint8_t *b = c->ifaces[i];
	uint64_t id = get(&genz_interface, b, "InterfaceID");
	uint64_t next = get(&genz_interface, b, "NextInterfacePTR") * GENZ_UNIT, lprt;

	if (get(&genz_interface, b, "Type") != GENZ_TYPE_INTERFACE || id != i)
		snprintf(buf, size,
			 "interface %u is not where the chain says (InterfaceID %" PRIu64 ")", i,
			 id);
	else if (i + 1 < c->pub.interfaces && next != c->iface0 + (i + 1) * c->stride)
		snprintf(buf, size, "interfaces are not evenly spaced: NextInterfacePTR of %u", i);
	else if (iface_linked(b) && !ptr_offset(get(&genz_interface, b, "LPRTPTR"),
						(uint64_t)c->entries * GENZ_ROUTE_SIZE, &lprt))
		snprintf(buf, size, "interface %u has a peer but its LPRTPTR leads nowhere", i);
	else
		return NULL;
	return buf;
}

static int add_candidate(FabricManager *m, size_t ci, unsigned port)
{
	const Comp *c = comp(m, ci);
	const uint8_t *b = c->ifaces[port];
	Candidate k = {
		.addr = c->pub.addr,
		.parent = ci,
		.port = port,
		.peer_port = (unsigned)get(&genz_interface, b, "PeerInterfaceID"),
		.cclass = (uint16_t)get(&genz_interface, b, "PeerBaseCClass"),
	};

	if (grow_array(&m->cands, &m->cap_cands, m->n_cands + 1, sizeof(*m->cands)) < 0)
		return -ENOMEM;
	if (k.addr.path_len == ENVELOPE_PATH_MAX || port > UINT8_MAX)
		k.too_far = true;
	else
		k.addr.path[k.addr.path_len++] = (uint8_t)port;
	m->cands[m->n_cands++] = k;
	return 0;
}

/* Every interface read: the switch is found, and what its links lead to waits to be probed. */
static void ifaces_read(FabricManager *m, size_t ci)
{
	Comp *c = comp(m, ci);
	char buf[128];

	for (unsigned i = 0; i < c->pub.interfaces; i++)
		if (iface_contradiction(c, i, buf, sizeof(buf))) {
			comp_fail(m, ci, "%s", buf);
			return;
		}
	if (!get(&genz_component_switch, c->sback, "PktRelayEnb")) {
		comp_fail(m, ci, "PktRelayEnb reads back 0");
		return;
	}
	c->step = STEP_FOUND;
	for (unsigned i = 0; i < c->pub.interfaces; i++)
		if (iface_linked(c->ifaces[i]) && !link_known(m, ci, i) &&
		    add_candidate(m, ci, i) < 0) {
			m->no_memory = true;
			return;
		}
}

/* Routing. */

static bool comp_alive(const Comp *c)
{
	return !c->pub.failed && c->step >= STEP_FOUND;
}

static int add_table_write(Comp *c, const TableWrite *w)
{
	if (grow_array(&c->writes, &c->cap_writes, c->n_writes + 1, sizeof(*c->writes)) < 0)
		return -ENOMEM;
	c->writes[c->n_writes++] = *w;
	return 0;
}

typedef struct RouteTo {
	uint16_t cid;
	uint32_t packed;
} RouteTo;

static int compare_route_to(const void *a, const void *b)
{
	const RouteTo *x = a, *y = b;

	return (x->cid > y->cid) - (x->cid < y->cid);
}

/*
 * The routes of component ci to every other living component it reaches: egress and hop count
 * (fabric-manager.h: the switches the packet reaches after ci). Those of its own subnet by CID
 * into local (*n_local), the other subnets by SID into remote (*n_remote), each to the subnet's
 * switch (a bridge's switch is the same number of switches away as the bridge).
 */
static void routes_of(FabricManager *m, size_t ci, const uint16_t *egress, const uint16_t *hops,
		      RouteTo *local, size_t *n_local, RouteTo *remote, size_t *n_remote)
{
	size_t n = m->n_comps;
	uint16_t sid = comp(m, ci)->pub.sid;

	*n_local = *n_remote = 0;
	for (size_t d = 0; d < n; d++) {
		const Comp *dc = comp(m, d);
		uint16_t h = hops[ci * n + d];
		bool same = dc->pub.sid == sid;
		uint8_t hc;

		if (d == ci || !comp_alive(dc) || h == UINT16_MAX || (!same && !is_switch(dc)))
			continue;
		hc = (uint8_t)MIN(h - 1 + (is_switch(dc) ? 1 : 0), ENVELOPE_HOPS_MAX);
		(same ? local : remote)[same ? (*n_local)++ : (*n_remote)++] = (RouteTo){
			.cid = same ? dc->pub.cid : dc->pub.sid,
			.packed = genz_route_pack((GenzRoute){
				.mhc = hc, .valid = true, .hc = hc, .ei = egress[ci * n + d] })
		};
	}
	qsort(local, *n_local, sizeof(*local), compare_route_to);
	qsort(remote, *n_remote, sizeof(*remote), compare_route_to);
}

/*
 * Writes of the routes to table base: runs of CIDs (SSDT, LPRT) or SIDs (MSDT, MPRT), 32
 * entries a write.
 */
static int plan_table(Comp *c, const RouteTo *routes, size_t n, uint64_t base, TableKind kind,
		      unsigned interface)
{
	for (size_t i = 0; i < n;) {
		TableWrite w = { .offset = base + (uint64_t)routes[i].cid * GENZ_ROUTE_SIZE,
				 .kind = kind,
				 .interface = interface,
				 .first = routes[i].cid };
		size_t j = i;

		do {
			for (unsigned b = 0; b < GENZ_ROUTE_SIZE; b++)
				w.data[w.length++] = (uint8_t)(routes[j].packed >> (8 * b));
			j++;
		} while (j < n && routes[j].cid == routes[j - 1].cid + 1 &&
			 j - i < ROUTES_PER_WRITE);
		if (add_table_write(c, &w) < 0)
			return -ENOMEM;
		i = j;
	}
	return 0;
}

/* Another end of a link at port of switch ci whose other end lives: an ingress with an LPRT. */
static bool ingress_linked(const FabricManager *m, size_t ci, unsigned port)
{
	for (size_t i = 0; i < m->n_links; i++) {
		const FmLink *l = &m->links[i];

		if ((l->a == ci && l->a_port == port && comp_alive(&m->comps[l->b])) ||
		    (l->b == ci && l->b_port == port && comp_alive(&m->comps[l->a])))
			return true;
	}
	return false;
}

static void plan_component(FabricManager *m, size_t ci, const RouteTo *local, size_t n_local,
			   const RouteTo *remote, size_t n_remote)
{
	Comp *c = comp(m, ci);
	int ret = 0;

	if (n_local > 0 && local[n_local - 1].cid >= c->entries) {
		comp_fail(m, ci, "its %s of %" PRIu32 " entries cannot hold CID %u",
			  is_switch(c) ? "LPRTs" : "SSDT", c->entries, local[n_local - 1].cid);
		return;
	}
	if (n_remote > 0 && remote[n_remote - 1].cid >= c->sid_entries) {
		comp_fail(m, ci, "its %s of %" PRIu32 " entries cannot hold SID %u",
			  is_switch(c) ? "MPRTs" : "MSDT", c->sid_entries,
			  remote[n_remote - 1].cid);
		return;
	}
	if (!is_switch(c))
		ret = plan_table(c, local, n_local, c->ssdt, TABLE_SSDT, 0);
	if (!is_switch(c) && ret == 0 && n_remote)
		ret = plan_table(c, remote, n_remote, c->msdt, TABLE_MSDT, 0);
	for (unsigned p = 0; is_switch(c) && p < c->pub.interfaces && ret == 0; p++) {
		uint64_t lprt, mprt;

		if (!ingress_linked(m, ci, p))
			continue;
		if (!ptr_offset(get(&genz_interface, c->ifaces[p], "LPRTPTR"), 1, &lprt)) {
			comp_fail(m, ci, "interface %u has a link but no LPRT", p);
			return;
		}
		ret = plan_table(c, local, n_local, lprt, TABLE_LPRT, p);
		if (ret < 0 || !n_remote)
			continue;
		if (!ptr_offset(get(&genz_interface, c->ifaces[p], "MPRTPTR"), 1, &mprt)) {
			comp_fail(m, ci, "interface %u has a link but no MPRT", p);
			return;
		}
		ret = plan_table(c, remote, n_remote, mprt, TABLE_MPRT, p);
	}
	if (ret < 0) {
		m->no_memory = true;
		return;
	}
	c->step = STEP_ROUTES;
	for (size_t i = 0; i < c->n_writes; i++)
		req_write(m, ci, c->writes[i].offset, c->writes[i].data, c->writes[i].length,
			  (unsigned)i);
}

static bool bit_test(const uint64_t *set, unsigned i)
{
	return set[i / 64] & UINT64_C(1) << (i % 64);
}

/*
 * Entries for what the last pass routed to and is gone (gone[]: a set of CIDs or SIDs) added to
 * routes (n of them, sorted), invalid: cleared by the writes. But the owner's own (own).
 */
static size_t add_cleared(RouteTo *routes, size_t n, const uint64_t *gone, size_t bits,
			  unsigned own)
{
	size_t k = n;

	for (unsigned i = 0; i < bits; i++)
		if (bit_test(gone, i) && i != own)
			routes[k++] = (RouteTo){ .cid = (uint16_t)i, .packed = 0 };
	if (k > n)
		qsort(routes, k, sizeof(*routes), compare_route_to);
	return k;
}

/* The graph of the components that live, with the links between them. */
static int route_all(FabricManager *m)
{
	size_t n = m->n_comps, n_links = 0;
	_cleanup_free_ bool *sw = calloc(n, sizeof(*sw));
	_cleanup_free_ FmLink *links = calloc(m->n_links + 1, sizeof(*links));
	_cleanup_free_ uint16_t *egress = calloc(n * n, sizeof(*egress));
	_cleanup_free_ uint16_t *hops = calloc(n * n, sizeof(*hops));
	_cleanup_free_ RouteTo *local = calloc(n + CONTROL_CID_ENTRIES, sizeof(*local));
	_cleanup_free_ RouteTo *remote = calloc(n + FM_SIDS, sizeof(*remote));
	uint64_t cids[CONTROL_CID_ENTRIES / 64] = { 0 }, sids[FM_SIDS / 64] = { 0 };
	uint64_t gone_cids[ELEMENTSOF(cids)], gone_sids[ELEMENTSOF(sids)];

	if (!sw || !links || !egress || !hops || !local || !remote)
		return -ENOMEM;
	/* What lives now; what the last pass routed to and is not here any more is gone. */
	for (size_t i = 0; i < n; i++) {
		const Comp *c = comp(m, i);

		if (!comp_alive(c))
			continue;
		cids[c->pub.cid / 64] |= UINT64_C(1) << (c->pub.cid % 64);
		if (m->cfg.subnets && is_switch(c) && c->pub.sid < FM_SIDS)
			sids[c->pub.sid / 64] |= UINT64_C(1) << (c->pub.sid % 64);
	}
	for (size_t w = 0; w < ELEMENTSOF(cids); w++)
		gone_cids[w] = m->routed_cids[w] & ~cids[w];
	for (size_t w = 0; w < ELEMENTSOF(sids); w++)
		gone_sids[w] = m->routed_sids[w] & ~sids[w];
	memcpy(m->routed_cids, cids, sizeof(cids));
	memcpy(m->routed_sids, sids, sizeof(sids));
	for (size_t i = 0; i < n; i++)
		sw[i] = is_switch(comp(m, i));
	for (size_t i = 0; i < m->n_links; i++)
		if (comp_alive(comp(m, m->links[i].a)) && comp_alive(comp(m, m->links[i].b)))
			links[n_links++] = m->links[i];
	if (fm_shortest_paths(n, sw, links, n_links, egress, hops) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t n_local, n_remote;

		if (!comp_alive(comp(m, i)))
			continue;
		routes_of(m, i, egress, hops, local, &n_local, remote, &n_remote);
		n_local = add_cleared(local, n_local, gone_cids, CONTROL_CID_ENTRIES,
				      comp(m, i)->pub.cid);
		n_remote = add_cleared(remote, n_remote, gone_sids, FM_SIDS, comp(m, i)->pub.sid);
		plan_component(m, i, local, n_local, remote, n_remote);
	}
	return 0;
}

static size_t count_alive(const FabricManager *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n_comps; i++)
		k += comp_alive(&m->comps[i]);
	return k;
}

static void start_routing(FabricManager *m)
{
	m->state = FM_ROUTING;
	m->routing_started = m->now;
	log_line(m, LOG_INFO,
		 "discovery: %zu components (%zu configured), %zu links in %" PRIu64 " us",
		 m->n_comps, count_alive(m), m->n_links, m->routing_started - m->started);
	if (route_all(m) < 0)
		m->no_memory = true;
}

static void start_verify(FabricManager *m)
{
	m->state = FM_VERIFYING;
	for (size_t ci = 0; ci < m->n_comps; ci++) {
		Comp *c = comp(m, ci);

		if (c->pub.failed || c->step != STEP_ROUTES)
			continue;
		c->step = STEP_VERIFY;
		for (size_t i = 0; i < c->n_writes; i++)
			req_read(m, ci, c->writes[i].offset, c->writes[i].length, DEST_VERIFY,
				 (unsigned)i, 0);
	}
}

static void verify(FabricManager *m, size_t ci, unsigned what, const uint8_t *data)
{
	Comp *c = comp(m, ci);
	const TableWrite *w = &c->writes[what];

	for (uint32_t i = 0; i < w->length; i += GENZ_ROUTE_SIZE) {
		uint32_t got = 0, want = 0;

		for (unsigned b = 0; b < GENZ_ROUTE_SIZE; b++) {
			got |= (uint32_t)data[i + b] << (8 * b);
			want |= (uint32_t)w->data[i + b] << (8 * b);
		}
		if (got == want)
			continue;
		if (w->kind == TABLE_LPRT || w->kind == TABLE_MPRT)
			comp_fail(m, ci,
				  "%s %u entry %u reads back 0x%08" PRIx32 ", written 0x%08" PRIx32,
				  table_names[w->kind], w->interface,
				  w->first + i / GENZ_ROUTE_SIZE, got, want);
		else
			comp_fail(m, ci,
				  "%s entry %u reads back 0x%08" PRIx32 ", written 0x%08" PRIx32,
				  table_names[w->kind], w->first + i / GENZ_ROUTE_SIZE, got, want);
		return;
	}
}

/* The pass. */

static bool all_settled(const FabricManager *m, Step step)
{
	for (size_t i = 0; i < m->n_comps; i++) {
		const Comp *c = &m->comps[i];

		if (!c->pub.failed && (c->pending > 0 || c->step < step))
			return false;
	}
	return true;
}

static void finish(FabricManager *m)
{
	size_t failed = 0;

	m->state = FM_DONE;
	m->finished = m->now;
	m->pass++; /* what is still in flight is nobody's now */
	for (size_t i = 0; i < m->n_comps; i++)
		failed += m->comps[i].pub.failed;
	if (m->no_memory)
		log_line(m, LOG_ERR, "pass cut short: out of memory");
	log_line(m, failed || m->no_memory ? LOG_ERR : LOG_INFO,
		 "pass done: %zu components, %zu failed; %" PRIu64 " reads, %" PRIu64
		 " writes; routes in %" PRIu64 " us",
		 m->n_comps, failed, m->reads, m->writes, m->finished - m->routing_started);
}

/* One move of the pass, if one is due. */
static bool phase_step(FabricManager *m)
{
	if (m->no_memory && m->state != FM_DONE) {
		finish(m);
		return true;
	}
	switch (m->state) {
	case FM_DISCOVERING:
		probe_next(m);
		if (m->probing || m->next_cand < m->n_cands || !all_settled(m, STEP_FOUND))
			return false;
		start_routing(m);
		return true;
	case FM_ROUTING:
		if (!all_settled(m, STEP_FOUND))
			return false;
		start_verify(m);
		return true;
	case FM_VERIFYING:
		if (!all_settled(m, STEP_FOUND))
			return false;
		finish(m);
		return true;
	default:
		return false;
	}
}

static void check_phase(FabricManager *m)
{
	if (m->checking) {
		m->recheck = true;
		return;
	}
	m->checking = true;
	do
		m->recheck = false;
	while (phase_step(m) || m->recheck);
	m->checking = false;
}

/* The last answer of component ci's step came. */
static void step_done(FabricManager *m, size_t ci)
{
	switch (comp(m, ci)->step) {
	case STEP_PROBE:
		probed(m, ci);
		break;
	case STEP_IDS:
		start_ids_back(m, ci);
		break;
	case STEP_IDS_BACK:
		ids_back(m, ci);
		break;
	case STEP_STRUCTURE:
		structure_read(m, ci);
		break;
	case STEP_IFACE0:
		iface0_read(m, ci);
		break;
	case STEP_IFACES:
		ifaces_read(m, ci);
		break;
	default:
		break;
	}
	check_phase(m);
}

/* Answers. */

static uint8_t *answer_dest(Comp *c, const Req *r)
{
	switch (r->dest) {
	case DEST_CORE:
		return c->core + r->rel;
	case DEST_BACK:
		return c->back + r->rel;
	case DEST_STRUCT:
		return c->sbytes + r->rel;
	case DEST_RELAY:
		return c->sback + r->rel;
	case DEST_IFACE:
		return c->ifaces[r->what] + r->rel;
	default:
		return NULL;
	}
}

static void answered(FabricManager *m, const Req *r, const ControlMsg *a)
{
	Comp *c = comp(m, r->comp);
	uint8_t *to = answer_dest(c, r);

	if (to)
		memcpy(to, a->data, r->length);
	else if (r->dest == DEST_VERIFY)
		verify(m, r->comp, r->what, a->data);
	if (c->pub.failed || --c->pending > 0)
		return;
	step_done(m, r->comp);
}

/* What is wrong with answer a (parsed with ret) to request r, or NULL. */
static const char *answer_problem(const Req *r, int ret, const ControlMsg *a, char *buf,
				  size_t size)
{
	ControlMsgType want = r->write ? CONTROL_MSG_ACK : CONTROL_MSG_READ_RESPONSE;

	if (ret < 0)
		return "a malformed answer";
	if (a->type == CONTROL_MSG_ACK && a->reason != CONTROL_OK) {
		if (a->reason >= CONTROL_REASON_MAX_)
			return "an answer with an unknown reason";
		snprintf(buf, size, "refused: %s", control_reason_to_string(a->reason));
		return buf;
	}
	if (a->type != want)
		return "an answer of the wrong kind";
	if (!r->write && a->length != r->length) {
		snprintf(buf, size, "%" PRIu32 " bytes instead of %" PRIu32, a->length, r->length);
		return buf;
	}
	return NULL;
}

void fm_on_answer(FabricManager *m, const FmAddr *from, const char *text, uint64_t now_usec)
{
	ControlMsg a = { .type = CONTROL_MSG_NONE };
	int ret = control_msg_parse(text, &a);
	bool answer = a.type == CONTROL_MSG_READ_RESPONSE || a.type == CONTROL_MSG_ACK;
	size_t ri = answer && a.has_tag && a.tag < TAGS ? m->by_tag[a.tag] : 0;
	char buf[64], what[64];
	const char *problem;
	Req r;

	m->now = MAX(m->now, now_usec);
	if (ri == 0 || !addr_equal(&m->reqs[ri - 1].to, from)) {
		m->ignored++;
		return;
	}
	ri--;
	req_land(m, ri);
	if (!req_live(m, &m->reqs[ri])) {
		req_free(m, ri);
	} else if (ret == 0 && a.type == CONTROL_MSG_ACK && a.reason == CONTROL_TAG_REUSED &&
		   !m->reqs[ri].tag_retried) {
		/* The tag of an earlier run of ours, remembered there: again, with tags further on.
		 */
		m->reqs[ri].tag_retried = true;
		m->next_tag =
			(uint16_t)((m->next_tag - 1 + CONTROL_TAG_WINDOW) % CONTROL_TAG_MAX + 1);
		queue_push(m, ri, true);
	} else {
		r = m->reqs[ri];
		req_free(m, ri);
		problem = answer_problem(&r, ret, &a, buf, sizeof(buf));
		if (problem) {
			req_describe(&r, what, sizeof(what));
			comp_fail(m, r.comp, "%s to a %s", problem, what);
		} else {
			answered(m, &r, &a);
		}
	}
	pump(m);
}

void fm_on_unreachable(FabricManager *m, const FmAddr *to, uint16_t tag, uint64_t now_usec)
{
	size_t ri = tag < TAGS ? m->by_tag[tag] : 0;
	char what[64];
	size_t ci;
	Req *r;

	m->now = MAX(m->now, now_usec);
	if (ri == 0 || !addr_equal(&m->reqs[ri - 1].to, to)) {
		m->ignored++;
		return;
	}
	r = &m->reqs[--ri];
	req_land(m, ri);
	ci = req_live(m, r) ? r->comp : NO_INDEX;
	req_describe(r, what, sizeof(what));
	req_free(m, ri);
	if (ci != NO_INDEX)
		comp_fail(m, ci, "its switch refused a %s: nothing answers there", what);
	pump(m);
}

void fm_on_tick(FabricManager *m, uint64_t now_usec)
{
	m->now = MAX(m->now, now_usec);
	for (size_t ri = 0; ri < m->n_reqs; ri++) {
		Req *r = &m->reqs[ri];
		char what[64];
		size_t ci;

		if (r->state != REQ_IN_FLIGHT || r->deadline > m->now)
			continue;
		req_land(m, ri);
		if (req_live(m, r) && r->sent < TRIES) {
			queue_push(m, ri, true); /* once more, with a new tag */
			continue;
		}
		ci = req_live(m, r) ? r->comp : NO_INDEX;
		req_describe(r, what, sizeof(what));
		req_free(m, ri);
		if (ci != NO_INDEX)
			comp_fail(m, ci, "no answer to a %s, sent %u times", what, TRIES);
	}
	pump(m);
}

uint64_t fm_next_deadline(const FabricManager *m)
{
	uint64_t next = UINT64_MAX;

	for (size_t ri = 0; ri < m->n_reqs; ri++)
		if (m->reqs[ri].state == REQ_IN_FLIGHT)
			next = MIN(next, m->reqs[ri].deadline);
	return next;
}

/* The API. */

/* Where tags start: from the MGR-UUID, so that two managers seldom start alike. */
static uint16_t first_tag(const uint8_t uuid[16])
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 16777619u;
	return (uint16_t)(h % CONTROL_TAG_MAX + 1);
}

int fm_new(FabricManager **ret, const FmConfig *cfg, const FmOps *ops, void *userdata)
{
	FabricManager *m;

	if (!ops || !ops->send || cfg->cid_first > cfg->cid_last ||
	    cfg->cid_last >= CONTROL_CID_ENTRIES || cfg->sid >= FM_SIDS || cfg->window == 0 ||
	    cfg->timeout_usec == 0)
		return -EINVAL;
	/* The buffers are sized by these. */
	if (genz_core.size != CORE_BYTES || genz_interface.size != IFACE_BYTES ||
	    genz_component_switch.size > STRUCT_BYTES ||
	    genz_component_destination_table.size > STRUCT_BYTES)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	m->ops = *ops;
	m->userdata = userdata;
	m->window = MIN(cfg->window, CONTROL_TAG_MAX - 1);
	m->next_tag = first_tag(cfg->uuid);
	m->free_first = m->queue_first = m->queue_last = NO_INDEX;
	*ret = m;
	return 0;
}

FabricManager *fm_free(FabricManager *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_comps; i++)
		comp_release(&m->comps[i]);
	free(m->comps);
	free(m->links);
	free(m->cands);
	free(m->reqs);
	free(m);
	return NULL;
}

static void reset_pass(FabricManager *m, uint64_t now_usec)
{
	for (size_t i = 0; i < m->n_comps; i++)
		comp_release(&m->comps[i]);
	m->n_comps = m->n_links = m->n_cands = m->next_cand = 0;
	m->probing = m->no_memory = false;
	m->next_cid = m->cfg.cid_first + 1u;
	m->next_sid = m->cfg.sid + 1u;
	m->pass++; /* what is still in flight is nobody's now */
	m->reads = m->writes = 0;
	m->now = MAX(m->now, now_usec);
	m->started = m->routing_started = m->finished = m->now;
}

int fm_start(FabricManager *m, uint64_t now_usec)
{
	FmAddr self = { .self = true };
	size_t ci;

	if (m->state != FM_IDLE && m->state != FM_DONE)
		return -EBUSY;
	reset_pass(m, now_usec);
	if (add_comp(m, &self, GENZ_CCLASS_BRIDGE, &ci) < 0 ||
	    grow_array(&m->cands, &m->cap_cands, 1, sizeof(*m->cands)) < 0)
		return -ENOMEM;
	/* After the manager's own bridge, its switch: []. */
	m->cands[m->n_cands++] = (Candidate){ .addr = { .directed = true }, .parent = NO_INDEX };
	m->state = FM_DISCOVERING;
	log_line(m, LOG_INFO, "pass started: CIDs %u-%u, SID %u", m->cfg.cid_first, m->cfg.cid_last,
		 m->cfg.sid);
	start_probe(m, ci);
	pump(m);
	return 0;
}

FmState fm_state(const FabricManager *m)
{
	return m->state;
}

int fm_result(const FabricManager *m)
{
	if (m->state != FM_DONE)
		return -EBUSY;
	for (size_t i = 0; i < m->n_comps; i++)
		if (m->comps[i].pub.failed)
			return -EIO;
	return m->no_memory ? -EIO : 0;
}

size_t fm_n_components(const FabricManager *m)
{
	return m->n_comps;
}

const FmComponent *fm_component(const FabricManager *m, size_t i)
{
	return i < m->n_comps ? &m->comps[i].pub : NULL;
}

size_t fm_n_links(const FabricManager *m)
{
	return m->n_links;
}

const FmLink *fm_link(const FabricManager *m, size_t i)
{
	return i < m->n_links ? &m->links[i] : NULL;
}

void fm_stats(const FabricManager *m, uint64_t *reads, uint64_t *writes, uint64_t *discovery_usec,
	      uint64_t *routing_usec)
{
	uint64_t routing_end = m->state == FM_DONE ? m->finished : m->now;

	*reads = m->reads;
	*writes = m->writes;
	*discovery_usec =
		m->state == FM_DISCOVERING ? m->now - m->started : m->routing_started - m->started;
	*routing_usec = m->state >= FM_ROUTING ? routing_end - m->routing_started : 0;
}

uint64_t fm_answers_ignored(const FabricManager *m)
{
	return m->ignored;
}

/* Shortest paths. */

typedef struct Adjacent {
	size_t node;
	uint16_t port; /* at the node the list is of */
} Adjacent;

/* Breadth first from s: the first egress and the links crossed to every node. */
static void paths_from(size_t n, size_t s, const bool *is_switch, const size_t *first,
		       const Adjacent *adj, size_t *queue, uint16_t *egress, uint16_t *hops)
{
	size_t head = 0, tail = 0;

	for (size_t j = 0; j < n; j++)
		egress[j] = hops[j] = UINT16_MAX;
	egress[s] = hops[s] = 0;
	queue[tail++] = s;
	while (head < tail) {
		size_t u = queue[head++];

		if (u != s && !is_switch[u])
			continue; /* reached, but it relays nothing */
		for (size_t k = first[u]; k < first[u + 1]; k++) {
			size_t v = adj[k].node;
			uint16_t e = u == s ? adj[k].port : egress[u];

			if (hops[v] == UINT16_MAX) {
				hops[v] = (uint16_t)(hops[u] + 1);
				egress[v] = e;
				queue[tail++] = v;
			} else if (hops[v] == hops[u] + 1 && e < egress[v]) {
				egress[v] = e; /* as short: the lowest egress port */
			}
		}
	}
}

static bool link_usable(size_t n, const FmLink *l)
{
	return l->a < n && l->b < n && l->a != l->b && l->a_port < UINT16_MAX &&
	       l->b_port < UINT16_MAX;
}

int fm_shortest_paths(size_t n, const bool *is_switch, const FmLink *links, size_t n_links,
		      uint16_t *egress, uint16_t *hops)
{
	_cleanup_free_ size_t *first = calloc(n + 2, sizeof(*first));
	_cleanup_free_ size_t *queue = calloc(n + 1, sizeof(*queue));
	_cleanup_free_ Adjacent *adj = calloc(2 * n_links + 1, sizeof(*adj));

	if (n >= UINT16_MAX)
		return -EINVAL;
	if (!first || !queue || !adj)
		return -ENOMEM;
	/* Each node's link ends together: counted, then placed (first[] moves on by one). */
	for (size_t i = 0; i < n_links; i++)
		if (link_usable(n, &links[i])) {
			first[links[i].a + 2]++;
			first[links[i].b + 2]++;
		}
	for (size_t i = 2; i < n + 2; i++)
		first[i] += first[i - 1];
	for (size_t i = 0; i < n_links; i++) {
		const FmLink *l = &links[i];

		if (!link_usable(n, l))
			continue;
		adj[first[l->a + 1]++] = (Adjacent){ .node = l->b, .port = (uint16_t)l->a_port };
		adj[first[l->b + 1]++] = (Adjacent){ .node = l->a, .port = (uint16_t)l->b_port };
	}
	for (size_t s = 0; s < n; s++)
		paths_from(n, s, is_switch, first, adj, queue, egress + s * n, hops + s * n);
	return 0;
}
