/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "state-format.h"

/* ---- fd names ---- */

typedef struct FdKindInfo {
	const char *word;
	bool queue_only; /* named in queue entries only, never stored: no switch prefix */
	bool has_id, has_sub;
} FdKindInfo;

static const FdKindInfo fd_kinds[] = {
	[FD_KIND_NONE] = { "-", true, false, false },
	[FD_KIND_SHM] = { "shm", false, false, false },
	[FD_KIND_STATE] = { "state", false, false, false },
	[FD_KIND_PEER] = { "peer", false, true, false },
	[FD_KIND_VECS] = { "vecs", false, true, true },
	[FD_KIND_IDVEC] = { "idvec", false, true, true },
	[FD_KIND_VEC] = { "vec", false, true, true },
	[FD_KIND_DECOY] = { "decoy", true, true, false },
	[FD_KIND_GONE] = { "gone", true, false, false },
};

int fd_name_format(char *buf, size_t size, const char *switch_name, FdKind kind, unsigned id,
		   unsigned sub)
{
	bool prefixed = switch_name && switch_name[0];
	const char *dot = prefixed ? "." : "";
	const FdKindInfo *k;
	int n;

	if ((size_t)kind >= ELEMENTSOF(fd_kinds))
		return -EINVAL;
	k = &fd_kinds[kind];
	if ((prefixed && (k->queue_only || !switch_name_is_valid(switch_name))) ||
	    (k->has_id && id > WIRE_ID_MAX) || (k->has_sub && sub > FD_NAME_SUB_MAX) ||
	    (kind == FD_KIND_STATE && sub > 1))
		return -EINVAL;
	if (!prefixed)
		switch_name = "";
	if (kind == FD_KIND_STATE)
		n = snprintf(buf, size, "%s%s%s-%c", switch_name, dot, k->word, 'a' + (int)sub);
	else if (k->has_sub)
		n = snprintf(buf, size, "%s%s%s-%u-%u", switch_name, dot, k->word, id, sub);
	else if (k->has_id)
		n = snprintf(buf, size, "%s%s%s-%u", switch_name, dot, k->word, id);
	else
		n = snprintf(buf, size, "%s%s%s", switch_name, dot, k->word);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < size ? n : -ENAMETOOLONG;
}

/* "-N" at *p, N decimal without leading zeros and at most max: 0 with *p past it, or -EINVAL. */
static int take_name_number(const char **p, unsigned max, unsigned *value)
{
	const char *s = *p;
	unsigned long v = 0;

	if (s[0] != '-' || s[1] < '0' || s[1] > '9' || (s[1] == '0' && s[2] >= '0' && s[2] <= '9'))
		return -EINVAL;
	for (s++; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*value = (unsigned)v;
	*p = s;
	return 0;
}

int fd_name_parse(const char *name, char switch_name[SWITCH_NAME_MAX + 1], FdKind *kind,
		  unsigned *id, unsigned *sub)
{
	const char *dot = strchr(name, '.'), *p = name;

	switch_name[0] = '\0';
	*id = *sub = 0;
	if (dot) {
		size_t n = (size_t)(dot - name);

		if (n > SWITCH_NAME_MAX)
			return -EINVAL;
		memcpy(switch_name, name, n);
		switch_name[n] = '\0';
		if (!switch_name_is_valid(switch_name))
			return -EINVAL;
		p = dot + 1;
	}
	for (size_t i = 0; i < ELEMENTSOF(fd_kinds); i++) {
		const FdKindInfo *k = &fd_kinds[i];
		size_t len = strlen(k->word);
		unsigned ignored;

		if (strncmp(p, k->word, len) != 0 || (p[len] != '\0' && p[len] != '-'))
			continue;
		if (dot && k->queue_only)
			return -EINVAL;
		p += len;
		*kind = (FdKind)i;
		if (i == FD_KIND_STATE) {
			if (p[0] != '-' || (p[1] != 'a' && p[1] != 'b') || p[2] != '\0')
				return -EINVAL;
			*sub = (unsigned)(p[1] - 'a');
			return 0;
		}
		/* Earlier famezd wrote "gone-K", one for each eventfd it stored. */
		if (i == FD_KIND_GONE && *p && take_name_number(&p, UINT_MAX, &ignored) < 0)
			return -EINVAL;
		if (k->has_id && take_name_number(&p, WIRE_ID_MAX, id) < 0)
			return -EINVAL;
		if (k->has_sub && take_name_number(&p, FD_NAME_SUB_MAX, sub) < 0)
			return -EINVAL;
		return *p ? -EINVAL : 0;
	}
	return -EINVAL;
}

/* ---- building a state ---- */

void saved_state_done(SavedState *st)
{
	for (size_t i = 0; i < st->n_peers; i++)
		free(st->peers[i].queue);
	free(st->peers);
	free(st->peer_index);
	free(st->departed);
	memset(st, 0, sizeof(*st));
}

SavedPeer *saved_state_peer(const SavedState *st, unsigned id)
{
	if (!st->peer_index || id > WIRE_ID_MAX || !st->peer_index[id])
		return NULL;
	return &st->peers[st->peer_index[id] - 1];
}

int saved_state_add_peer(SavedState *st, unsigned id, SavedPeer **ret)
{
	SavedPeer *p;

	if (id > WIRE_ID_MAX)
		return -EINVAL;
	if (saved_state_peer(st, id))
		return -EEXIST;
	if (!st->peer_index && !(st->peer_index = calloc(WIRE_ID_MAX + 1, sizeof(*st->peer_index))))
		return -ENOMEM;
	if (grow_array(&st->peers, &st->peers_cap, st->n_peers + 1, sizeof(*st->peers)) < 0)
		return -ENOMEM;
	p = &st->peers[st->n_peers];
	memset(p, 0, sizeof(*p));
	p->id = id;
	st->peer_index[id] = (uint32_t)++st->n_peers;
	*ret = p;
	return 0;
}

/* What separates the words of a line. */
#define BLANKS " \t\n\r\v\f"

/* Whether s is one word of a line: not empty, no white space, shorter than size. */
static bool is_word(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n > 0 && n < size && strcspn(s, BLANKS) == n;
}

int saved_peer_queue(SavedPeer *p, int64_t value, size_t head_sent, const char *fd_name)
{
	SavedQueueEntry *e;

	if (!is_word(fd_name, sizeof(e->fd_name)))
		return -EINVAL;
	if (grow_array(&p->queue, &p->queue_cap, p->n_queue + 1, sizeof(*p->queue)) < 0)
		return -ENOMEM;
	e = &p->queue[p->n_queue++];
	e->value = value;
	e->head_sent = head_sent;
	snprintf(e->fd_name, sizeof(e->fd_name), "%s", fd_name);
	return 0;
}

int saved_state_add_departures(SavedState *st, uint32_t from, uint32_t to, uint64_t seq)
{
	if (from > to || to > WIRE_ID_MAX)
		return -EINVAL;
	if (grow_array(&st->departed, &st->departed_cap, st->n_departed + 1,
		       sizeof(*st->departed)) < 0)
		return -ENOMEM;
	st->departed[st->n_departed++] = (SavedDepartures){ from, to, seq };
	return 0;
}

/* ---- writing ---- */

static int format_peer(const SavedPeer *p, FILE *f)
{
	const FabricPeer *fp = &p->fabric;

	if (fp->cclass[0] && !is_word(fp->cclass, sizeof(fp->cclass)))
		return -EINVAL;
	fprintf(f, "peer %u %" PRIu64 " %d %u %u %" PRIu64 " %" PRIu64 "\n", p->id, p->join_seq,
		p->pid, p->uid, p->gid, p->connected_at, p->interrupts_sent);
	fprintf(f,
		"fabric %u %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d %" PRIx64 " %" PRIx64
		" %" PRIx64 " %" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		p->id, fp->cclass[0] ? fp->cclass : "-", fp->sid0, fp->cid0, fp->rfc_tag,
		fp->configured, fp->attributes_lost | fp->attributes_asked << 1, fp->known_ids[0],
		fp->known_ids[1], fp->known_ids[2], fp->known_ids[3], fp->messages_sent,
		fp->messages_received, fp->messages_unacknowledged);
	for (size_t i = 0; i < p->n_queue; i++) {
		const SavedQueueEntry *e = &p->queue[i];

		if (!is_word(e->fd_name, sizeof(e->fd_name)))
			return -EINVAL;
		fprintf(f, "queue %u %zu %" PRId64 " %s\n", p->id, e->head_sent, e->value,
			e->fd_name);
	}
	return 0;
}

int state_format(const SavedState *st, FILE *f)
{
	if (!is_word(st->mode, sizeof(st->mode)))
		return -EINVAL;
	fprintf(f, STATE_MAGIC "\n");
	fprintf(f, "generation %" PRIu64 "\n", st->generation);
	fprintf(f, "config %s %u %u %" PRIu64, st->mode, st->vectors, st->max_peers, st->shm_size);
	if (st->has_sid)
		fprintf(f, " %u", st->sid);
	fprintf(f, "\nids %" PRIu32 " %" PRIu64 "\n", st->next_id, st->seq);
	for (size_t i = 0; i < st->n_departed; i++)
		fprintf(f, "departed %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", st->departed[i].from,
			st->departed[i].to, st->departed[i].seq);
	fprintf(f, "counters");
	for (size_t i = 0; i < STATE_COUNTERS; i++)
		fprintf(f, " %" PRIu64, st->counters[i]);
	fprintf(f, "\n");
	if (st->has_next_tag)
		fprintf(f, "next-tag %" PRIu64 "\n", st->next_tag);
	for (size_t i = 0; i < st->n_peers; i++) {
		int r = format_peer(&st->peers[i], f);

		if (r < 0)
			return r;
	}
	fprintf(f, "end\n");
	return ferror(f) ? -EIO : 0;
}

/* ---- reading ---- */

/* The next word of the line at *p, copied into out: 0 with *p past it, or -EBADMSG. */
static int take_word(char **p, char *out, size_t size)
{
	char *s = *p + strspn(*p, BLANKS);
	size_t n = strcspn(s, BLANKS);

	if (n == 0 || n >= size)
		return -EBADMSG;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return 0;
}

/* The next word as an unsigned number in base (10 or 16) of at most max. */
static int take_u64(char **p, int base, uint64_t max, uint64_t *value)
{
	char word[24], *end;
	uint64_t v;

	*value = 0;
	if (take_word(p, word, sizeof(word)) < 0 ||
	    (!(word[0] >= '0' && word[0] <= '9') &&
	     !(base == 16 && strchr("abcdefABCDEF", word[0]))))
		return -EBADMSG;
	errno = 0;
	v = strtoull(word, &end, base);
	if (errno || *end || v > max)
		return -EBADMSG;
	*value = v;
	return 0;
}

static int take_unsigned(char **p, unsigned max, unsigned *value)
{
	uint64_t v;
	int r = take_u64(p, 10, max, &v);

	*value = (unsigned)v;
	return r;
}

static int take_size(char **p, size_t *value)
{
	uint64_t v;
	int r = take_u64(p, 10, SIZE_MAX, &v);

	*value = (size_t)v;
	return r;
}

static int take_i64(char **p, int64_t min, int64_t max, int64_t *value)
{
	char word[24], *end;
	long long v;

	*value = 0;
	if (take_word(p, word, sizeof(word)) < 0 ||
	    !((word[0] >= '0' && word[0] <= '9') || word[0] == '-'))
		return -EBADMSG;
	errno = 0;
	v = strtoll(word, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EBADMSG;
	*value = v;
	return 0;
}

/* Whether the line has no word left. */
static bool at_end(const char *p)
{
	return p[strspn(p, BLANKS)] == '\0';
}

static int parse_config(SavedState *st, char *line)
{
	if (take_word(&line, st->mode, sizeof(st->mode)) < 0 ||
	    take_unsigned(&line, UINT_MAX, &st->vectors) < 0 ||
	    take_unsigned(&line, UINT_MAX, &st->max_peers) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &st->shm_size) < 0)
		return -EBADMSG;
	/* The SID came later; a state without it says nothing of the SID it was written with. */
	if (at_end(line))
		return 0;
	st->has_sid = true;
	return take_unsigned(&line, SWITCH_SID_MAX, &st->sid);
}

static int parse_departed(SavedState *st, char *line)
{
	uint64_t from, to, seq;

	if (take_u64(&line, 10, WIRE_ID_MAX, &from) < 0 || take_u64(&line, 10, UINT64_MAX, &to) < 0)
		return -EBADMSG;
	/* "departed FROM TO SEQ", or "departed ID SEQ" as famezd 0.1.0 wrote it. */
	if (at_end(line)) {
		seq = to;
		to = from;
	} else if (take_u64(&line, 10, UINT64_MAX, &seq) < 0) {
		return -EBADMSG;
	}
	if (to > WIRE_ID_MAX || to < from)
		return -EBADMSG;
	return saved_state_add_departures(st, (uint32_t)from, (uint32_t)to, seq);
}

static int parse_counters(SavedState *st, char *line)
{
	size_t n = 0;

	/* Eleven, as famezd 0.1.0 wrote them, or sixteen. */
	while (n < STATE_COUNTERS && !at_end(line))
		if (take_u64(&line, 10, UINT64_MAX, &st->counters[n++]) < 0)
			return -EBADMSG;
	return n >= STATE_COUNTERS_MIN ? 0 : -EBADMSG;
}

static int parse_peer(SavedState *st, char *line)
{
	unsigned id;
	int64_t pid;
	SavedPeer *p;
	int r;

	if (take_unsigned(&line, WIRE_ID_MAX, &id) < 0)
		return -EBADMSG;
	r = saved_state_add_peer(st, id, &p);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	if (take_u64(&line, 10, UINT64_MAX, &p->join_seq) < 0 ||
	    take_i64(&line, INT_MIN, INT_MAX, &pid) < 0 ||
	    take_unsigned(&line, UINT_MAX, &p->uid) < 0 ||
	    take_unsigned(&line, UINT_MAX, &p->gid) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &p->connected_at) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &p->interrupts_sent) < 0)
		return -EBADMSG;
	p->pid = (int)pid;
	return 0;
}

static int parse_fabric(SavedState *st, char *line)
{
	char cclass[FABRIC_CCLASS_MAX];
	FabricPeer fp = { 0 };
	unsigned id, configured, attributes;
	SavedPeer *p;

	if (take_unsigned(&line, WIRE_ID_MAX, &id) < 0 || !(p = saved_state_peer(st, id)) ||
	    take_word(&line, cclass, sizeof(cclass)) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &fp.sid0) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &fp.cid0) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &fp.rfc_tag) < 0 ||
	    take_unsigned(&line, 1, &configured) < 0 || take_unsigned(&line, 3, &attributes) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < ELEMENTSOF(fp.known_ids); i++)
		if (take_u64(&line, 16, UINT64_MAX, &fp.known_ids[i]) < 0)
			return -EBADMSG;
	if (take_u64(&line, 10, UINT64_MAX, &fp.messages_sent) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &fp.messages_received) < 0 ||
	    take_u64(&line, 10, UINT64_MAX, &fp.messages_unacknowledged) < 0)
		return -EBADMSG;
	snprintf(fp.cclass, sizeof(fp.cclass), "%s", strcmp(cclass, "-") ? cclass : "");
	fp.configured = configured;
	/* Bit 0: the request was lost; bit 1: it is outstanding (earlier famezd: 0 or 1). */
	fp.attributes_lost = attributes & 1;
	fp.attributes_asked = attributes & 2;
	p->fabric = fp;
	return 0;
}

static int parse_queue(SavedState *st, char *line)
{
	char fd_name[FD_NAME_MAX];
	size_t head_sent;
	int64_t value;
	unsigned id;
	SavedPeer *p;

	if (take_unsigned(&line, WIRE_ID_MAX, &id) < 0 || !(p = saved_state_peer(st, id)) ||
	    take_size(&line, &head_sent) < 0 || take_i64(&line, INT64_MIN, INT64_MAX, &value) < 0 ||
	    take_word(&line, fd_name, sizeof(fd_name)) < 0)
		return -EBADMSG;
	return saved_peer_queue(p, value, head_sent, fd_name);
}

/* One line, its newline taken off: 0, 1 for "end", or -errno. */
static int parse_line(SavedState *st, char *line)
{
	char word[16];

	if (take_word(&line, word, sizeof(word)) < 0)
		return -EBADMSG;
	if (strcmp(word, "generation") == 0)
		return take_u64(&line, 10, UINT64_MAX, &st->generation);
	if (strcmp(word, "config") == 0)
		return parse_config(st, line);
	if (strcmp(word, "ids") == 0) {
		uint64_t next;

		if (take_u64(&line, 10, UINT32_MAX, &next) < 0 ||
		    take_u64(&line, 10, UINT64_MAX, &st->seq) < 0)
			return -EBADMSG;
		st->next_id = (uint32_t)next;
		return 0;
	}
	if (strcmp(word, "departed") == 0)
		return parse_departed(st, line);
	if (strcmp(word, "counters") == 0)
		return parse_counters(st, line);
	if (strcmp(word, "next-tag") == 0) {
		st->has_next_tag = true;
		return take_u64(&line, 10, UINT64_MAX, &st->next_tag);
	}
	if (strcmp(word, "peer") == 0)
		return parse_peer(st, line);
	if (strcmp(word, "fabric") == 0)
		return parse_fabric(st, line);
	/* "gone N": earlier famezd stored departed peers' eventfds; nothing uses them now. */
	if (strcmp(word, "gone") == 0)
		return 0;
	if (strcmp(word, "queue") == 0)
		return parse_queue(st, line);
	if (strcmp(word, "end") == 0)
		return at_end(line) ? 1 : -EBADMSG;
	return -EBADMSG;
}

int state_parse(const char *text, size_t len, SavedState *st)
{
	char line[STATE_LINE_MAX];
	size_t pos = 0;
	bool first = true;
	int r = 0;

	memset(st, 0, sizeof(*st));
	while (r == 0 && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (n >= sizeof(line) || memchr(text + pos, '\0', n)) {
			r = -EBADMSG;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (first)
			r = strcmp(line, STATE_MAGIC) == 0 ? 0 : -EBADMSG;
		else
			r = parse_line(st, line);
		first = false;
	}
	/* Complete: its "end" came, and nothing after it; and it says what it was written for. */
	if (r == 1 && pos == len && st->mode[0])
		return 0;
	saved_state_done(st);
	return r == -ENOMEM ? r : -EBADMSG;
}
