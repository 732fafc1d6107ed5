// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the bridge as a Gen-Z component. Its control space (docs/fabric.md, "Control
 * space"): a Core Structure, a Component Destination Table, interface 0 (to its switch), an SSDT
 * and an MSDT, laid out and numbered as every famez component lays them out
 * (uapi/linux/famez_bridge_control.h, which a unit test of famez holds to src/shared/genz.c).
 *
 * A manager reads and writes it with control requests, however they reach the bridge: rung
 * directly by a peer of its switch, routed from a CID,SID, or directed along a path of ports;
 * the answer goes back the way the request came. What is written takes effect: CV, CID0 and
 * SID0 are the bridge's IDs (its cid and sid, in its slot too), after which it tells its switch
 * (Link CTL Peer-Attribute); the SSDT and MSDT are where its routed writes may go. FAME-Z's own
 * CTL-Write from a switch that manages the fabric writes the same fields.
 *
 * Requests come from the shared memory, written by every peer: famez_receive() copied the text
 * once and checked its characters; here it is parsed strictly, and what is wrong is refused
 * with its reason (Malformed, OutOfRange, ReadOnly, TagReused, Unsupported) and counted.
 */

#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "famez_bridge.h"

/* Where each region is, and whether it is a table of 4-byte entries. */
static const struct {
	u64 offset;
	u32 size;
	bool table;
} famez_regions[FAMEZ_REGIONS] = {
	[FAMEZ_REGION_CORE] = { FAMEZ_CTL_CORE, FAMEZ_CTL_CORE_SIZE, false },
	[FAMEZ_REGION_CDT] = { FAMEZ_CTL_CDT, FAMEZ_CTL_CDT_SIZE, false },
	[FAMEZ_REGION_IFACE] = { FAMEZ_CTL_INTERFACE0, FAMEZ_CTL_INTERFACE_SIZE, false },
	[FAMEZ_REGION_SSDT] = { FAMEZ_CTL_SSDT, FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE, true },
	[FAMEZ_REGION_MSDT] = { FAMEZ_CTL_MSDT, FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE, true },
};

/* Why a request was refused (its Reason=), as famez names them. */
enum famez_reason {
	FAMEZ_OK,
	FAMEZ_MALFORMED,
	FAMEZ_OUT_OF_RANGE,
	FAMEZ_READ_ONLY,
	FAMEZ_TAG_REUSED,
	FAMEZ_UNSUPPORTED,
};

static const char *const famez_reasons[] = {
	[FAMEZ_OK] = "OK",
	[FAMEZ_MALFORMED] = "Malformed",
	[FAMEZ_OUT_OF_RANGE] = "OutOfRange",
	[FAMEZ_READ_ONLY] = "ReadOnly",
	[FAMEZ_TAG_REUSED] = "TagReused",
	[FAMEZ_UNSUPPORTED] = "Unsupported",
};

/* ---- fields ---- */

static u64 famez_bits_get(const u8 *base, unsigned int bit, unsigned int width)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < width && i < 64; i++)
		if (base[(bit + i) / 8] & BIT((bit + i) % 8))
			v |= BIT_ULL(i);
	return v;
}

static void famez_bits_set(u8 *base, unsigned int bit, unsigned int width, u64 v)
{
	unsigned int i;

	for (i = 0; i < width && i < 64; i++) {
		u8 m = BIT((bit + i) % 8);

		if (v & BIT_ULL(i))
			base[(bit + i) / 8] |= m;
		else
			base[(bit + i) / 8] &= ~m;
	}
}

/* A field of uapi/linux/famez_bridge_control.h: famez_get(ctl->core, FAMEZ_GENZ_CORE_CV). */
#define famez_get(base, ...) \
	famez_bits_get(base, FAMEZ_GENZ_BIT(__VA_ARGS__), FAMEZ_GENZ_WIDTH(__VA_ARGS__))
#define famez_set(base, v, ...) \
	famez_bits_set(base, FAMEZ_GENZ_BIT(__VA_ARGS__), FAMEZ_GENZ_WIDTH(__VA_ARGS__), v)

/* What a manager may write, as the first bit and width of each field (no names). */
struct famez_rw {
	u16 bit;
	u8 width;
};

#define FAMEZ_RW(name, word, bit, width) { (word) * 8 + (bit), (width) },
static const struct famez_rw famez_core_rw[] = { FAMEZ_GENZ_CORE_RW(FAMEZ_RW) };
static const struct famez_rw famez_iface_rw[] = { FAMEZ_GENZ_INTERFACE_RW(FAMEZ_RW) };
static const struct famez_rw famez_cdt_rw[] = { FAMEZ_GENZ_CDT_RW(FAMEZ_RW) };
#undef FAMEZ_RW

static void famez_build_mask(u8 *mask, size_t size, const struct famez_rw *rw, size_t n)
{
	size_t i;
	unsigned int j;

	memset(mask, 0, size);
	for (i = 0; i < n; i++)
		for (j = 0; j < rw[i].width; j++)
			if ((rw[i].bit + j) / 8 < size)
				mask[(rw[i].bit + j) / 8] |= BIT((rw[i].bit + j) % 8);
}

static void famez_header(u8 *base, unsigned int type, size_t size)
{
	famez_set(base, type, FAMEZ_GENZ_TYPE);
	famez_set(base, FAMEZ_GENZ_VERS, FAMEZ_GENZ_VERSION);
	famez_set(base, size / FAMEZ_CTL_UNIT, FAMEZ_GENZ_SIZE);
}

/* A bridge's space, as control_space_new() lays one out: C-CFG, no IDs, empty tables. */
int famez_ctl_init(struct famez_bridge *b)
{
	struct famez_control *c = &b->ctl;

	mutex_init(&c->lock);
	c->ssdt = kvcalloc(FAMEZ_CTL_ENTRIES, sizeof(*c->ssdt), GFP_KERNEL);
	c->msdt = kvcalloc(FAMEZ_CTL_ENTRIES, sizeof(*c->msdt), GFP_KERNEL);
	if (!c->ssdt || !c->msdt)
		return -ENOMEM;
	famez_build_mask(c->core_rw, sizeof(c->core_rw), famez_core_rw,
			 ARRAY_SIZE(famez_core_rw));
	famez_build_mask(c->cdt_rw, sizeof(c->cdt_rw), famez_cdt_rw, ARRAY_SIZE(famez_cdt_rw));
	famez_build_mask(c->iface_rw, sizeof(c->iface_rw), famez_iface_rw,
			 ARRAY_SIZE(famez_iface_rw));

	famez_header(c->core, FAMEZ_GENZ_TYPE_CORE, sizeof(c->core));
	famez_set(c->core, FAMEZ_GENZ_C_CFG, FAMEZ_GENZ_CORE_CSTATE);
	famez_set(c->core, FAMEZ_GENZ_CCLASS_BRIDGE, FAMEZ_GENZ_CORE_BASECCLASS);
	famez_set(c->core, 1, FAMEZ_GENZ_CORE_MAXINTERFACE);
	famez_set(c->core, FAMEZ_CTL_CDT / FAMEZ_CTL_UNIT, FAMEZ_GENZ_CORE_COMPDESTPTR);
	famez_set(c->core, FAMEZ_CTL_INTERFACE0 / FAMEZ_CTL_UNIT, FAMEZ_GENZ_CORE_INTERFACE0PTR);
	/* Unique enough: a manager tells bridges apart by it, nothing trusts it. */
	famez_set(c->core, get_random_u64(), FAMEZ_GENZ_CORE_SERIALNUMBER);

	famez_header(c->cdt, FAMEZ_GENZ_TYPE_CDT, sizeof(c->cdt));
	/* 4096 entries each: the SSDT's size is written 0, as the specification counts. */
	famez_set(c->cdt, FAMEZ_CTL_ENTRIES % 4096, FAMEZ_GENZ_CDT_SSDTSIZE);
	famez_set(c->cdt, FAMEZ_CTL_ENTRIES, FAMEZ_GENZ_CDT_MSDTSIZE);
	famez_set(c->cdt, 1, FAMEZ_GENZ_CDT_MAXROUTES);
	famez_set(c->cdt, FAMEZ_CTL_SSDT / FAMEZ_CTL_UNIT, FAMEZ_GENZ_CDT_SSDTPTR);
	famez_set(c->cdt, FAMEZ_CTL_MSDT / FAMEZ_CTL_UNIT, FAMEZ_GENZ_CDT_MSDTPTR);

	famez_header(c->iface, FAMEZ_GENZ_TYPE_INTERFACE, sizeof(c->iface));
	famez_set(c->iface, 0, FAMEZ_GENZ_IFACE_INTERFACEID);
	famez_set(c->iface, FAMEZ_GENZ_I_DOWN, FAMEZ_GENZ_IFACE_ISTATE);
	famez_set(c->iface, 1, FAMEZ_GENZ_IFACE_IFACEENB);
	famez_set(c->iface, 1, FAMEZ_GENZ_IFACE_INGRESSDRENB);
	return 0;
}

void famez_ctl_free(struct famez_bridge *b)
{
	kvfree(b->ctl.ssdt);
	kvfree(b->ctl.msdt);
}

/* Interface 0's live fields: it leads to our switch, into its port that is our ID. */
static void famez_refresh_iface(struct famez_bridge *b)
{
	struct famez_control *c = &b->ctl;
	bool up = b->fabric && READ_ONCE(b->link) != FAMEZ_LINK_DOWN;
	bool ids = c->switch_known && c->switch_ids;
	unsigned int cstate = !c->switch_known ? FAMEZ_GENZ_C_DOWN :
				      ids ? FAMEZ_GENZ_C_UP : FAMEZ_GENZ_C_CFG;

	famez_set(c->iface, up ? FAMEZ_GENZ_I_UP : FAMEZ_GENZ_I_DOWN, FAMEZ_GENZ_IFACE_ISTATE);
	famez_set(c->iface, b->fabric ? FAMEZ_GENZ_CCLASS_SWITCH : 0,
		  FAMEZ_GENZ_IFACE_PEERBASECCLASS);
	famez_set(c->iface, b->fabric ? b->id : 0, FAMEZ_GENZ_IFACE_PEERINTERFACEID);
	famez_set(c->iface, cstate, FAMEZ_GENZ_IFACE_PEERCSTATE);
	famez_set(c->iface, ids ? c->switch_cid : 0, FAMEZ_GENZ_IFACE_PEERCID);
	famez_set(c->iface, ids ? c->switch_sid : 0, FAMEZ_GENZ_IFACE_PEERSID);
	famez_set(c->iface, ids, FAMEZ_GENZ_IFACE_PEERCIDVALID);
	famez_set(c->iface, ids, FAMEZ_GENZ_IFACE_PEERSIDVALID);
}

static u8 *famez_structure(struct famez_control *c, unsigned int region, const u8 **mask)
{
	switch (region) {
	case FAMEZ_REGION_CORE:
		*mask = c->core_rw;
		return c->core;
	case FAMEZ_REGION_CDT:
		*mask = c->cdt_rw;
		return c->cdt;
	default:
		*mask = c->iface_rw;
		return c->iface;
	}
}

static __le32 *famez_table(struct famez_control *c, unsigned int region)
{
	return region == FAMEZ_REGION_SSDT ? c->ssdt : c->msdt;
}

/* Copies len live bytes at `at` of a region (interface 0's fields refreshed). Under the lock. */
static void famez_copy_region(struct famez_bridge *b, unsigned int region, u64 at, void *out,
			      size_t len)
{
	struct famez_control *c = &b->ctl;
	const u8 *mask;

	if (famez_regions[region].table) {
		memcpy(out, (u8 *)famez_table(c, region) + at, len);
		return;
	}
	if (region == FAMEZ_REGION_IFACE)
		famez_refresh_iface(b);
	memcpy(out, famez_structure(c, region, &mask) + at, len);
}

/* Reads a region's live bytes for sysfs: what a control read of them returns. */
ssize_t famez_ctl_read_region(struct famez_bridge *b, unsigned int region, char *buf,
			      loff_t off, size_t count)
{
	if (region >= FAMEZ_REGIONS || off < 0 || off >= famez_regions[region].size)
		return 0;
	count = min_t(size_t, count, famez_regions[region].size - off);
	mutex_lock(&b->ctl.lock);
	famez_copy_region(b, region, off, buf, count);
	mutex_unlock(&b->ctl.lock);
	return count;
}

/* ---- our IDs ---- */

/*
 * What the core now says: our CID and SID (while CV holds CID0), the fabric manager's, the link
 * state, and our slot's CID and SID, where a peer addressing "CID,SID" looks. Under the lock.
 */
static void famez_apply_ids(struct famez_bridge *b)
{
	struct famez_control *c = &b->ctl;
	bool configured = famez_get(c->core, FAMEZ_GENZ_CORE_CV) & 1;

	WRITE_ONCE(b->pfm_cid, famez_get(c->core, FAMEZ_GENZ_CORE_PFMCID));
	WRITE_ONCE(b->pfm_sid, famez_get(c->core, FAMEZ_GENZ_CORE_PFMSID));
	famez_set_ids(b, configured, famez_get(c->core, FAMEZ_GENZ_CORE_CID0),
		      famez_get(c->core, FAMEZ_GENZ_CORE_SID0));
}

bool famez_ctl_up(struct famez_bridge *b)
{
	bool up;

	mutex_lock(&b->ctl.lock);
	up = famez_get(b->ctl.core, FAMEZ_GENZ_CORE_CSTATE) == FAMEZ_GENZ_C_UP;
	mutex_unlock(&b->ctl.lock);
	return up;
}

/*
 * FAME-Z's CTL-Write from a switch that manages the fabric: what a manager would write, at once.
 * Such a switch routes everything: every SSDT and MSDT entry is valid, by interface 0.
 */
void famez_ctl_configure(struct famez_bridge *b, u16 cid, u16 sid, u16 pfm_cid, u16 pfm_sid)
{
	struct famez_control *c = &b->ctl;
	__le32 everywhere = cpu_to_le32(FAMEZ_GENZ_ROUTE_V);
	unsigned int i;

	mutex_lock(&c->lock);
	famez_set(c->core, cid, FAMEZ_GENZ_CORE_CID0);
	famez_set(c->core, famez_get(c->core, FAMEZ_GENZ_CORE_CV) | 1, FAMEZ_GENZ_CORE_CV);
	famez_set(c->core, sid, FAMEZ_GENZ_CORE_SID0);
	famez_set(c->core, pfm_cid, FAMEZ_GENZ_CORE_PFMCID);
	famez_set(c->core, pfm_sid, FAMEZ_GENZ_CORE_PFMSID);
	famez_set(c->core, 1, FAMEZ_GENZ_CORE_PFMCIDVALID);
	famez_set(c->core, 1, FAMEZ_GENZ_CORE_PFMSIDVALID);
	famez_set(c->core, FAMEZ_GENZ_C_UP, FAMEZ_GENZ_CORE_CSTATE);
	for (i = 0; i < FAMEZ_CTL_ENTRIES; i++) {
		c->ssdt[i] = everywhere;
		c->msdt[i] = everywhere;
	}
	famez_apply_ids(b);
	mutex_unlock(&c->lock);
}

/*
 * Whether a routed message may go to cid,sid: our SSDT's entry for cid (in our subnet), or our
 * MSDT's for sid, is valid. Only once we are C-Up: before, the switch says not-configured.
 */
bool famez_ctl_routable(struct famez_bridge *b, u16 cid, u16 sid)
{
	struct famez_control *c = &b->ctl;
	bool ok = true;
	u32 e = 0;

	mutex_lock(&c->lock);
	if (famez_get(c->core, FAMEZ_GENZ_CORE_CSTATE) == FAMEZ_GENZ_C_UP) {
		if (sid == famez_get(c->core, FAMEZ_GENZ_CORE_SID0))
			e = cid < FAMEZ_CTL_ENTRIES ? le32_to_cpu(c->ssdt[cid]) : 0;
		else
			e = sid < FAMEZ_CTL_ENTRIES ? le32_to_cpu(c->msdt[sid]) : 0;
		ok = e & FAMEZ_GENZ_ROUTE_V;
	}
	mutex_unlock(&c->lock);
	return ok;
}

/* ---- the switch's attributes ---- */

/* Asks our switch what it is (its answer is not for read()); it then asks ours back. */
void famez_ctl_ask_switch(struct famez_bridge *b)
{
	struct famez_addr sw = { .via = FAMEZ_VIA_DIRECT, .id = b->server_id };

	mutex_lock(&b->ctl.lock);
	b->ctl.attributes_asked++;
	mutex_unlock(&b->ctl.lock);
	famez_reply(b, &sw, "Link CTL Peer-Attribute");
}

/* The digits of len bytes at s, a number (decimal, or 0x-hex when hex); false for anything else. */
static bool famez_parse_u64(const char *s, size_t len, bool hex, u64 *ret)
{
	unsigned int base = 10;
	u64 v = 0;
	size_t i;

	if (hex && len > 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		int d = hex_to_bin(s[i]);

		if (d < 0 || d >= base || v > (U64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*ret = v;
	return true;
}

/*
 * Calls f for every "Key=Value" of a comma-separated list, as famez's str_for_each_pair(): false
 * for an empty list and for an item without '=' or with an empty key (after the items before it
 * were given to f); one comma at the end is let through.
 */
static bool famez_for_each_pair(const char *list,
				void (*f)(void *data, const char *key, size_t key_len,
					  const char *value, size_t value_len),
				void *data)
{
	const char *p = list;

	if (!*p)
		return false;
	while (*p) {
		size_t len = strchrnul(p, ',') - p;
		const char *eq = memchr(p, '=', len);

		if (!eq || eq == p)
			return false;
		f(data, p, eq - p, eq + 1, len - (eq - p) - 1);
		p += len;
		if (*p == ',')
			p++;
	}
	return true;
}

static bool famez_key_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(s, name, len);
}

/* What a Link CTL ACK says. */
struct famez_attributes {
	bool cclass, has_cid0, has_sid0, bad;
	u64 cid0, sid0;
};

static void famez_attribute_pair(void *data, const char *key, size_t key_len, const char *value,
				 size_t value_len)
{
	struct famez_attributes *a = data;
	size_t i;

	if (famez_key_is(key, key_len, "cclass") || famez_key_is(key, key_len, "C-Class")) {
		if (value_len == 0 || value_len >= FAMEZ_NAME_MAX)
			a->bad = true;
		for (i = 0; i < value_len; i++)
			if (!isalnum(value[i]) && value[i] != '-' && value[i] != '_')
				a->bad = true;
		a->cclass = true;
	} else if (famez_key_is(key, key_len, "SID0")) {
		a->has_sid0 = true;
		a->bad |= !famez_parse_u64(value, value_len, false, &a->sid0);
	} else if (famez_key_is(key, key_len, "CID0")) {
		a->has_cid0 = true;
		a->bad |= !famez_parse_u64(value, value_len, false, &a->cid0);
	}
	/* Attributes we do not know are ignored. */
}

/*
 * The switch's "Link CTL ACK cclass=..,CID0=..,SID0=.." (or NAK), from its own slot with no
 * envelope: what our interface 0 says of its peer. True when it answers our own request (it is
 * then not for read()).
 */
bool famez_ctl_switch_answer(struct famez_bridge *b, const char *text)
{
	static const char ack[] = "Link CTL ACK ", nak[] = "Link CTL NAK";
	struct famez_control *c = &b->ctl;
	struct famez_attributes a = { };
	bool ours;

	if (strncmp(text, ack, strlen(ack)) && strncmp(text, nak, strlen(nak)))
		return false;
	mutex_lock(&c->lock);
	ours = c->attributes_asked > 0;
	if (ours)
		c->attributes_asked--;
	if (!strncmp(text, ack, strlen(ack))) {
		if (!famez_for_each_pair(text + strlen(ack), famez_attribute_pair, &a) ||
		    a.bad || !a.cclass) {
			atomic64_inc(&b->malformed);
		} else {
			c->switch_known = true;
			c->switch_ids = a.has_cid0 && a.has_sid0 && a.cid0 <= FAMEZ_CID_MAX &&
					a.sid0 <= FAMEZ_SID_MAX;
			c->switch_cid = c->switch_ids ? a.cid0 : 0;
			c->switch_sid = c->switch_ids ? a.sid0 : 0;
		}
	}
	mutex_unlock(&c->lock);
	return ours;
}

/* ---- control requests ---- */

enum famez_key {
	FAMEZ_KEY_OFFSET,
	FAMEZ_KEY_LENGTH,
	FAMEZ_KEY_DATA,
	FAMEZ_KEY_TAG,
	FAMEZ_KEY_REASON,
	FAMEZ_KEY_SPACE, /* FAME-Z's CTL-Write's, never a request's */
	FAMEZ_KEYS,
};

static const char *const famez_keys[FAMEZ_KEYS] = {
	[FAMEZ_KEY_OFFSET] = "Offset", [FAMEZ_KEY_LENGTH] = "Length", [FAMEZ_KEY_DATA] = "Data",
	[FAMEZ_KEY_TAG] = "Tag",       [FAMEZ_KEY_REASON] = "Reason", [FAMEZ_KEY_SPACE] = "Space",
};

#define FAMEZ_OFFSET_MAX 0xffffffffffULL /* 40 bits */

/* A control request, as famez's control_msg_parse() reads one. */
struct famez_request {
	bool write;
	bool has_tag;
	u16 tag;
	u64 offset;
	u32 length;
	unsigned int keys, seen; /* the keys it takes; those met */
	bool bad;                /* a key unknown, repeated, not taken, or with a bad value */
	u8 data[FAMEZ_CTL_DATA_MAX];
};

static bool famez_parse_data(struct famez_request *r, const char *value, size_t len)
{
	if (len == 0 || len % 2 || len > 2 * FAMEZ_CTL_DATA_MAX)
		return false;
	if (hex2bin(r->data, value, len / 2))
		return false;
	r->length = len / 2;
	return true;
}

static bool famez_parse_value(struct famez_request *r, unsigned int k, const char *value,
			      size_t len)
{
	u64 v;

	if (k == FAMEZ_KEY_DATA)
		return famez_parse_data(r, value, len);
	if (!famez_parse_u64(value, len, true, &v))
		return false;
	switch (k) {
	case FAMEZ_KEY_OFFSET:
		r->offset = v;
		return v <= FAMEZ_OFFSET_MAX;
	case FAMEZ_KEY_LENGTH:
		r->length = v;
		return v <= FAMEZ_CTL_DATA_MAX;
	default: /* FAMEZ_KEY_TAG */
		if (v > FAMEZ_CTL_TAG_MAX)
			return false;
		r->tag = v;
		r->has_tag = true;
		return true;
	}
}

/* Never stops the list on a bad pair: the tag may come after it. */
static void famez_request_pair(void *data, const char *key, size_t key_len, const char *value,
			       size_t value_len)
{
	struct famez_request *r = data;
	unsigned int k = 0;

	while (k < FAMEZ_KEYS && !famez_key_is(key, key_len, famez_keys[k]))
		k++;
	if (k == FAMEZ_KEYS || (r->seen & BIT(k))) {
		r->bad = true;
		return;
	}
	r->seen |= BIT(k);
	if (!(r->keys & BIT(k)) || !famez_parse_value(r, k, value, value_len))
		r->bad = true;
}

/*
 * Parses text: 0 with *r for a request, -EBADMSG for a malformed one (r->tag set if it could be
 * read), -ENOMSG for text that is not a request (a response, FAME-Z's CTL-Write Space=...).
 */
static int famez_parse_request(const char *text, struct famez_request *r)
{
	static const struct {
		const char *word;
		bool write;
		unsigned int keys;
	} requests[] = {
		{ "CTL-Read", false,
		  BIT(FAMEZ_KEY_OFFSET) | BIT(FAMEZ_KEY_LENGTH) | BIT(FAMEZ_KEY_TAG) },
		{ "CTL-Write", true,
		  BIT(FAMEZ_KEY_OFFSET) | BIT(FAMEZ_KEY_DATA) | BIT(FAMEZ_KEY_TAG) },
	};
	const char *args = NULL;
	size_t i, n, len;
	bool listed;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < ARRAY_SIZE(requests); i++) {
		n = strlen(requests[i].word);
		if (!strncmp(text, requests[i].word, n) && (text[n] == ' ' || !text[n])) {
			r->write = requests[i].write;
			r->keys = requests[i].keys;
			args = text + n + (text[n] == ' ');
			break;
		}
	}
	if (!args)
		return -ENOMSG;
	listed = famez_for_each_pair(args, famez_request_pair, r);
	if (r->write && (r->seen & BIT(FAMEZ_KEY_SPACE)) && !(r->seen & BIT(FAMEZ_KEY_OFFSET)))
		return -ENOMSG; /* FAME-Z's CTL-Write */
	len = strlen(args);
	/* famez_for_each_pair() lets one comma at the end through: the grammar does not. */
	if (!listed || r->bad || r->seen != r->keys || args[len - 1] == ',')
		return -EBADMSG;
	return 0;
}

/* Who asked: the same key for all of a requester's requests, as famezd and famez-client key. */
static u64 famez_requester(const struct famez_addr *from)
{
	u64 h = 0xcbf29ce484222325ULL;
	unsigned int i;

	switch (from->via) {
	case FAMEZ_VIA_DIRECTED:
		for (i = 0; i < from->path_len; i++)
			h = (h ^ from->path[i]) * 0x100000001b3ULL;
		return BIT_ULL(63) | (h ^ from->path_len) >> 1;
	case FAMEZ_VIA_ROUTED:
		return BIT_ULL(62) | (u64)from->sid << 12 | from->cid;
	default:
		return BIT_ULL(61) | from->id;
	}
}

/* Remembers requester's tag: false when it is among its last FAMEZ_CTL_TAG_WINDOW. */
static bool famez_tag_fresh(struct famez_control *c, u64 requester, u16 tag)
{
	unsigned int i;

	for (i = 0; i < FAMEZ_CTL_TAG_WINDOW; i++)
		if (c->tags[i].used && c->tags[i].requester == requester && c->tags[i].tag == tag)
			return false;
	c->tags[c->next_tag].requester = requester;
	c->tags[c->next_tag].tag = tag;
	c->tags[c->next_tag].used = true;
	c->next_tag = (c->next_tag + 1) % FAMEZ_CTL_TAG_WINDOW;
	return true;
}

/*
 * The region [offset, offset + len) is within, or FAMEZ_REGIONS: 1..FAMEZ_CTL_DATA_MAX bytes of
 * one region, whole entries of a table.
 */
static unsigned int famez_find_region(u64 offset, u32 len)
{
	unsigned int i;

	if (len == 0 || len > FAMEZ_CTL_DATA_MAX)
		return FAMEZ_REGIONS;
	for (i = 0; i < FAMEZ_REGIONS; i++) {
		u64 at = offset - famez_regions[i].offset;

		if (offset < famez_regions[i].offset || at >= famez_regions[i].size ||
		    len > famez_regions[i].size - at)
			continue;
		if (famez_regions[i].table &&
		    (at % FAMEZ_CTL_ENTRY_SIZE || len % FAMEZ_CTL_ENTRY_SIZE))
			return FAMEZ_REGIONS;
		return i;
	}
	return FAMEZ_REGIONS;
}

static enum famez_reason famez_read(struct famez_bridge *b, u64 offset, u32 len, u8 *out)
{
	unsigned int region = famez_find_region(offset, len);

	if (region == FAMEZ_REGIONS)
		return FAMEZ_OUT_OF_RANGE;
	famez_copy_region(b, region, offset - famez_regions[region].offset, out, len);
	return FAMEZ_OK;
}

/* A bridge has one interface: a valid entry leaves by interface 0, or not at all. */
static enum famez_reason famez_write_table(struct famez_control *c, unsigned int region,
					   u64 at, const u8 *data, u32 len)
{
	__le32 *t = famez_table(c, region);
	u32 i;

	for (i = 0; i < len; i += FAMEZ_CTL_ENTRY_SIZE) {
		u32 v = get_unaligned_le32(data + i);

		if ((v & FAMEZ_GENZ_ROUTE_V) &&
		    (v >> FAMEZ_GENZ_ROUTE_EI_SHIFT & FAMEZ_GENZ_ROUTE_EI_MASK))
			return FAMEZ_UNSUPPORTED; /* the entries before it stay written */
		t[(at + i) / FAMEZ_CTL_ENTRY_SIZE] = cpu_to_le32(v);
	}
	return FAMEZ_OK;
}

/*
 * Writes, as control_space_write() does: refused ReadOnly when a bit outside the writable
 * fields changes; CV bit 0 set moves C-CFG to C-Up, cleared C-Up to C-CFG. *changed: our IDs
 * changed (CV bit 0, or CID0 or SID0 while it is set), which our switch is then told.
 */
static enum famez_reason famez_write(struct famez_bridge *b, u64 offset, const u8 *data,
				     u32 len, bool *changed)
{
	unsigned int region = famez_find_region(offset, len);
	struct famez_control *c = &b->ctl;
	u8 old[FAMEZ_CTL_CORE_SIZE];
	const u8 *mask;
	bool was, now, ids;
	u8 *s;
	u32 i;

	*changed = false;
	if (region == FAMEZ_REGIONS)
		return FAMEZ_OUT_OF_RANGE;
	offset -= famez_regions[region].offset;
	if (famez_regions[region].table)
		return famez_write_table(c, region, offset, data, len);
	if (region == FAMEZ_REGION_IFACE)
		famez_refresh_iface(b);
	s = famez_structure(c, region, &mask);
	for (i = 0; i < len; i++)
		if ((s[offset + i] ^ data[i]) & ~mask[offset + i])
			return FAMEZ_READ_ONLY;
	if (region != FAMEZ_REGION_CORE) {
		memcpy(s + offset, data, len);
		return FAMEZ_OK;
	}
	memcpy(old, s, sizeof(old));
	memcpy(s + offset, data, len);
	was = famez_get(old, FAMEZ_GENZ_CORE_CV) & 1;
	now = famez_get(s, FAMEZ_GENZ_CORE_CV) & 1;
	if (now && famez_get(s, FAMEZ_GENZ_CORE_CSTATE) == FAMEZ_GENZ_C_CFG)
		famez_set(s, FAMEZ_GENZ_C_UP, FAMEZ_GENZ_CORE_CSTATE);
	else if (!now && famez_get(s, FAMEZ_GENZ_CORE_CSTATE) == FAMEZ_GENZ_C_UP)
		famez_set(s, FAMEZ_GENZ_C_CFG, FAMEZ_GENZ_CORE_CSTATE);
	/* IDs written while CV is clear are no configuration yet. */
	ids = famez_get(s, FAMEZ_GENZ_CORE_CID0) != famez_get(old, FAMEZ_GENZ_CORE_CID0) ||
	      famez_get(s, FAMEZ_GENZ_CORE_SID0) != famez_get(old, FAMEZ_GENZ_CORE_SID0);
	*changed = was != now || (now && ids);
	famez_apply_ids(b);
	return FAMEZ_OK;
}

/*
 * Answers text when it is a control request (true: it is not for read()), back the way it came
 * from: "CTL-Read-Response Tag=<t>,Data=<hex>" or "Standalone Acknowledgment Tag=<t>,Reason=<r>".
 */
bool famez_ctl_answer(struct famez_bridge *b, const struct famez_addr *from, const char *text)
{
	struct famez_control *c = &b->ctl;
	char hex[2 * FAMEZ_CTL_DATA_MAX + 1];
	struct famez_request r;
	enum famez_reason why;
	bool changed = false;
	int parsed;

	parsed = famez_parse_request(text, &r);
	if (parsed == -ENOMSG)
		return false;
	mutex_lock(&c->lock);
	if (parsed < 0)
		why = FAMEZ_MALFORMED;
	else if (!famez_tag_fresh(c, famez_requester(from), r.tag))
		why = FAMEZ_TAG_REUSED;
	else if (r.write)
		why = famez_write(b, r.offset, r.data, r.length, &changed);
	else
		why = famez_read(b, r.offset, r.length, r.data);
	mutex_unlock(&c->lock);

	atomic64_inc(&b->control_requests);
	if (why != FAMEZ_OK)
		atomic64_inc(&b->control_refused);
	if (why == FAMEZ_OK && !r.write) {
		*bin2hex(hex, r.data, r.length) = '\0';
		famez_reply(b, from, "CTL-Read-Response Tag=%u,Data=%s", r.tag, hex);
	} else {
		famez_reply(b, from, "Standalone Acknowledgment Tag=%u,Reason=%s", r.tag,
			    famez_reasons[why]);
	}
	/* Our switch answers, then asks ours back: it learns what we now are. */
	if (changed && b->fabric)
		famez_ctl_ask_switch(b);
	return true;
}

/* "dr:P1.P2", the text API's name of a path (the way back of what we received). */
int famez_path_format(char *buf, size_t size, const u8 *path, unsigned int len)
{
	int n = scnprintf(buf, size, "dr:");
	unsigned int i;

	for (i = 0; i < len; i++)
		n += scnprintf(buf + n, size - n, "%s%u", i ? "." : "", path[i]);
	return n;
}
