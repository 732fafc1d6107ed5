/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "macro.h"
#include "mailbox.h"
#include "paths.h"
#include "size.h"
#include "switch-config.h"
#include "wire.h"

/* Room for any path after its key; longer lines are not a switch's configuration. */
#define SWITCH_LINE_MAX (PATH_MAX + 64)
/* How much of a key or value an error quotes: enough to recognize it, short enough for a line. */
#define QUOTE_MAX 64
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)
#define ACK_TIMEOUT_USEC_MIN UINT64_C(1000)
#define ACK_TIMEOUT_USEC_MAX (UINT64_C(3600) * 1000000)

const char *shm_backing_to_string(ShmBacking backing)
{
	switch (backing) {
	case SHM_BACKING_MEMFD:
		return "memfd";
	case SHM_BACKING_FILE:
		return "file";
	case SHM_BACKING_POSIX:
		return "posix";
	case SHM_BACKING_HUGETLBFS:
		return "hugetlbfs";
	}
	return "unknown";
}

const char *switch_mode_to_string(SwitchMode mode)
{
	return mode == SWITCH_MODE_FABRIC ? "fabric" : "ivshmem";
}

bool switch_name_is_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > SWITCH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		/* ASCII only, whatever the locale: the name becomes a D-Bus path element. */
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '_')
			return false;
	}
	return true;
}

int switch_config_init(SwitchConfig *c, const char *name)
{
	*c = (SwitchConfig){
		.mode = SWITCH_MODE_FABRIC,
		.shm = { .backing = SHM_BACKING_MEMFD, .size = SWITCH_DEFAULT_SHM_SIZE },
		.vectors = SWITCH_DEFAULT_VECTORS,
		.max_peers = WIRE_ID_MAX + 1,
		.max_queue = SWITCH_DEFAULT_MAX_QUEUE,
		.max_queue_fds = SWITCH_DEFAULT_MAX_QUEUE_FDS,
		.ack_timeout_usec = SWITCH_DEFAULT_ACK_TIMEOUT_MSEC * UINT64_C(1000),
		.sid = SWITCH_DEFAULT_SID,
	};
	if (!switch_name_is_valid(name))
		return -EINVAL;
	strcpy(c->name, name);
	return 0;
}

void switch_config_done(SwitchConfig *c)
{
	free(c->source);
	c->source = NULL;
	free(c->socket_path);
	c->socket_path = NULL;
	free(c->shm.location);
	c->shm.location = NULL;
}

/* Writes one line into err (which may be NULL) and returns r. */
_printf_(4, 5) static int fail(int r, char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return r;
}

/* The first QUOTE_MAX bytes of s, and "..." when there is more. */
#define QUOTE_FMT "%.*s%s"
#define QUOTE_ARGS(s) QUOTE_MAX, (s), strlen(s) > QUOTE_MAX ? "..." : ""

/* Each key's parser reads Parser.value into Parser.c; 0 or -errno with the error written. */
typedef struct Parser Parser;
typedef int (*KeyParser)(Parser *p);

typedef struct KeyInfo {
	const char *name;   /* in a switch's file */
	const char *option; /* the same as famezd's option, for the default switch's messages */
	SwitchConfigKey bit;
	KeyParser parse;
	bool repeats; /* may be given more than once (Link=) */
} KeyInfo;

enum { KEY_COUNT = 17 };

struct Parser {
	SwitchConfig *c;
	const char *source;
	unsigned line;
	const char *key; /* the current line's key and value, trimmed; NULL outside a Key=Value */
	const char *value;
	const KeyInfo *info; /* the current line's key */
	char *err;
	size_t err_size;
	unsigned key_lines[KEY_COUNT]; /* where each key was given; 0: not yet */
	unsigned backing_line;         /* where a SharedMemoryFile/Name/Hugetlbfs= was given */
	const char *backing_key;       /* which of them */
};

/* One line in err: "SOURCE:LINE: KEY=VALUE: why; what to give". */
_printf_(3, 4) static int parser_fail(Parser *p, int r, const char *fmt, ...)
{
	char why[SWITCH_CONFIG_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->key)
		return fail(r, p->err, p->err_size, "%s:%u: " QUOTE_FMT "=" QUOTE_FMT ": %s",
			    p->source, p->line, QUOTE_ARGS(p->key), QUOTE_ARGS(p->value), why);
	return fail(r, p->err, p->err_size, "%s:%u: %s", p->source, p->line, why);
}

static int parse_number(Parser *p, uint64_t min, uint64_t max, uint64_t *ret, const char *what)
{
	if (parse_uint(p->value, min, max, ret) < 0)
		return parser_fail(p, -EINVAL, "not %s from %llu to %llu", what,
				   (unsigned long long)min, (unsigned long long)max);
	return 0;
}

/* yes/no/true/false/on/off/1/0, in any case. */
static int parse_boolean(Parser *p, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(p->value, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(p->value, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return parser_fail(p, -EINVAL, "not a boolean; give yes or no");
}

static int set_string(Parser *p, char **field)
{
	char *s = strdup(p->value);

	if (!s)
		return parser_fail(p, -ENOMEM, "out of memory");
	free(*field);
	*field = s;
	return 0;
}

static int parse_mode(Parser *p)
{
	if (strcmp(p->value, "fabric") == 0)
		p->c->mode = SWITCH_MODE_FABRIC;
	else if (strcmp(p->value, "ivshmem") == 0)
		p->c->mode = SWITCH_MODE_IVSHMEM;
	else
		return parser_fail(p, -EINVAL, "not a mode; give fabric or ivshmem");
	return 0;
}

static int parse_socket(Parser *p)
{
	if (p->value[0] != '/')
		return parser_fail(p, -EINVAL,
				   "not an absolute path; give one like /run/famez/%s.sock",
				   p->c->name);
	if (strlen(p->value) > SOCKET_PATH_MAX)
		return parser_fail(p, -EINVAL,
				   "longer than %zu bytes, the most a UNIX socket's path holds; "
				   "give a shorter one",
				   SOCKET_PATH_MAX);
	return set_string(p, &p->c->socket_path);
}

static int parse_sid(Parser *p)
{
	uint64_t v;
	int r = parse_number(p, 0, SWITCH_SID_MAX, &v, "a subnet ID: a number");

	if (r < 0)
		return r;
	p->c->sid = (unsigned)v;
	return 0;
}

static int parse_max_peers(Parser *p)
{
	uint64_t v;

	if (parse_uint(p->value, 1, WIRE_ID_MAX + 1, &v) < 0)
		return parser_fail(p, -EINVAL, "not a number from 1 to %d (peer IDs are 16 bits)",
				   WIRE_ID_MAX + 1);
	p->c->max_peers = (unsigned)v;
	return 0;
}

static int parse_vectors(Parser *p)
{
	uint64_t v;

	if (parse_uint(p->value, 1, SWITCH_MAX_VECTORS, &v) < 0)
		return parser_fail(p, -EINVAL,
				   "not a number from 1 to %d (a guest's doorbell write addresses "
				   "at most %d vectors)",
				   SWITCH_MAX_VECTORS, SWITCH_MAX_VECTORS);
	p->c->vectors = (unsigned)v;
	return 0;
}

static int parse_shm_size(Parser *p)
{
	char below[SIZE_STR_MAX], above[SIZE_STR_MAX];
	uint64_t v, up;
	int r = parse_size(p->value, &v);

	if (r == -ERANGE)
		return parser_fail(p, -EINVAL, "too large; give at most 8E");
	if (r < 0)
		return parser_fail(p, -EINVAL,
				   "not a size; give bytes or a number with K, M, G or T, like 4M");
	if (!size_is_pow2(v)) {
		up = size_pow2_above(v);
		if (up == 0)
			return parser_fail(p, -EINVAL, "not a power of two; try %s",
					   format_size(size_pow2_below(v), below));
		return parser_fail(p, -EINVAL, "not a power of two; try %s or %s",
				   format_size(size_pow2_below(v), below), format_size(up, above));
	}
	p->c->shm.size = v;
	return 0;
}

/* SharedMemoryFile=, SharedMemoryName= and SharedMemoryHugetlbfs= exclude each other. */
static int set_backing(Parser *p, ShmBacking backing)
{
	if (p->backing_key)
		return parser_fail(
			p, -EINVAL,
			"%s= was given on line %u, and SharedMemoryFile=, "
			"SharedMemoryName= and SharedMemoryHugetlbfs= exclude each other; "
			"give one",
			p->backing_key, p->backing_line);
	p->backing_key = p->info->name;
	p->backing_line = p->line;
	p->c->shm.backing = backing;
	return set_string(p, &p->c->shm.location);
}

static int parse_absolute_path(Parser *p, const char *what, ShmBacking backing)
{
	if (p->value[0] != '/')
		return parser_fail(p, -EINVAL, "not an absolute path; give the %s's, from /", what);
	if (strlen(p->value) >= PATH_MAX)
		return parser_fail(p, -EINVAL, "longer than %d bytes; give a shorter path",
				   PATH_MAX - 1);
	return set_backing(p, backing);
}

static int parse_shm_file(Parser *p)
{
	return parse_absolute_path(p, "file", SHM_BACKING_FILE);
}

static int parse_shm_hugetlbfs(Parser *p)
{
	return parse_absolute_path(p, "hugetlbfs mount", SHM_BACKING_HUGETLBFS);
}

/* A POSIX shared memory object's name, as shm_open() takes it: one optional leading slash. */
static int parse_shm_name(Parser *p)
{
	const char *name = p->value[0] == '/' ? p->value + 1 : p->value;
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return parser_fail(p, -EINVAL,
				   "not a POSIX shared memory name; give 1 to %d characters "
				   "without /, like famez-%s",
				   NAME_MAX, p->c->name);
	return set_backing(p, SHM_BACKING_POSIX);
}

static int parse_shm_truncate(Parser *p)
{
	return parse_boolean(p, &p->c->shm.truncate);
}

/*
 * Seconds with an optional fraction, or a number with ms, s or min: "1", "0.5", "250ms",
 * "2min", in µs. Digits beyond the µs are dropped.
 */
static int parse_duration_usec(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "", 1000000 },
		{ "s", 1000000 },
		{ "ms", 1000 },
		{ "min", 60000000 },
	};
	uint64_t whole = 0, fraction = 0, scale = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (whole > UINT32_MAX) /* hours upon hours: out of any range, and of 64 bits */
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++)
			if (scale < 1000000000) {
				fraction = fraction * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
	}
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (strcmp(s, units[i].suffix) == 0) {
			*ret = whole * units[i].usec + fraction * units[i].usec / scale;
			return 0;
		}
	return -EINVAL;
}

static int parse_ack_timeout(Parser *p)
{
	uint64_t v;

	if (parse_duration_usec(p->value, &v) < 0 || v < ACK_TIMEOUT_USEC_MIN ||
	    v > ACK_TIMEOUT_USEC_MAX)
		return parser_fail(p, -EINVAL,
				   "not a time from 1ms to 3600s; give seconds, like 1 or 0.5, or "
				   "a number with ms, s or min, like 250ms");
	p->c->ack_timeout_usec = v;
	return 0;
}

static int parse_shared_vectors(Parser *p)
{
	return parse_boolean(p, &p->c->shared_vectors);
}

static int parse_queue_limit(Parser *p, size_t *field)
{
	uint64_t v;
	int r = parse_number(p, 64, UINT32_MAX, &v, "a number");

	if (r < 0)
		return r;
	*field = (size_t)v;
	return 0;
}

static int parse_max_queue(Parser *p)
{
	return parse_queue_limit(p, &p->c->max_queue);
}

static int parse_max_queue_fds(Parser *p)
{
	return parse_queue_limit(p, &p->c->max_queue_fds);
}

static int parse_relay(Parser *p)
{
	if (strcmp(p->value, "direct") == 0)
		p->c->relay_always = false;
	else if (strcmp(p->value, "always") == 0)
		p->c->relay_always = true;
	else
		return parser_fail(p, -EINVAL, "not a relay mode; give direct or always");
	return 0;
}

static int parse_managed_by(Parser *p)
{
	if (strcmp(p->value, "famezd") == 0)
		p->c->managed_external = false;
	else if (strcmp(p->value, "external") == 0)
		p->c->managed_external = true;
	else
		return parser_fail(
			p, -EINVAL,
			"not a fabric manager; give famezd (famezd configures the "
			"switch and its peers) or external (a manager such as famez-fm does)");
	return 0;
}

/* One port of PORT:SWITCH:PORT, from start to end. */
static bool parse_link_port(const char *start, const char *end, unsigned *ret)
{
	char buf[8];
	uint64_t v;

	if (end - start >= (ptrdiff_t)sizeof(buf))
		return false;
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\0';
	if (parse_uint(buf, 1, UINT16_MAX, &v) < 0)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* Link=PORT:SWITCH:PORT; which switches and ports exist is switch_configs_topology()'s. */
static int parse_link(Parser *p)
{
	const char *first = strchr(p->value, ':');
	const char *second = first ? strchr(first + 1, ':') : NULL;
	SwitchLinkConfig *l = &p->c->links[p->c->n_links];
	size_t name_len;

	if (p->c->n_links >= TOPOLOGY_LINKS_MAX)
		return parser_fail(p, -EINVAL,
				   "one link too many: a switch has %d link ports; give at most "
				   "%d Link=",
				   TOPOLOGY_LINKS_MAX, TOPOLOGY_LINKS_MAX);
	if (!second || strchr(second + 1, ':') || !parse_link_port(p->value, first, &l->port) ||
	    !parse_link_port(second + 1, second + 1 + strlen(second + 1), &l->peer_port))
		return parser_fail(p, -EINVAL,
				   "not PORT:SWITCH:PORT; give this switch's link port, the other "
				   "switch's name and its link port, ports from 1 to %d, like "
				   "16:east:16",
				   UINT16_MAX);
	name_len = (size_t)(second - first - 1);
	if (name_len <= SWITCH_NAME_MAX) {
		memcpy(l->peer, first + 1, name_len);
		l->peer[name_len] = '\0';
	}
	if (name_len > SWITCH_NAME_MAX || !switch_name_is_valid(l->peer))
		return parser_fail(p, -EINVAL,
				   "not a switch's name between the ports; a name is 1 to %d "
				   "letters, digits or _",
				   SWITCH_NAME_MAX);
	l->line = p->line;
	p->c->n_links++;
	return 0;
}

static const KeyInfo keys[] = {
	{ "Mode", "--mode", SWITCH_KEY_MODE, parse_mode },
	{ "Socket", "--socket", SWITCH_KEY_SOCKET, parse_socket },
	{ "SID", "--sid", SWITCH_KEY_SID, parse_sid },
	{ "MaxPeers", "--max-peers", SWITCH_KEY_MAX_PEERS, parse_max_peers },
	{ "Vectors", "--vectors", SWITCH_KEY_VECTORS, parse_vectors },
	{ "SharedMemorySize", "--shm-size", SWITCH_KEY_SHM_SIZE, parse_shm_size },
	{ "SharedMemoryFile", "--shm-file", SWITCH_KEY_SHM_BACKING, parse_shm_file },
	{ "SharedMemoryName", "--shm-name", SWITCH_KEY_SHM_BACKING, parse_shm_name },
	{ "SharedMemoryHugetlbfs", "--hugetlbfs", SWITCH_KEY_SHM_BACKING, parse_shm_hugetlbfs },
	{ "SharedMemoryTruncate", "--shm-truncate", SWITCH_KEY_SHM_TRUNCATE, parse_shm_truncate },
	{ "AckTimeoutSec", "--ack-timeout", SWITCH_KEY_ACK_TIMEOUT, parse_ack_timeout },
	{ "SharedVectors", "--shared-vectors", SWITCH_KEY_SHARED_VECTORS, parse_shared_vectors },
	{ "MaxQueue", "--max-queue", SWITCH_KEY_MAX_QUEUE, parse_max_queue },
	{ "MaxQueueFds", "--max-queue-fds", SWITCH_KEY_MAX_QUEUE_FDS, parse_max_queue_fds },
	{ "Link", "--link", SWITCH_KEY_LINK, parse_link, .repeats = true },
	{ "Relay", "--relay", SWITCH_KEY_RELAY, parse_relay },
	{ "ManagedBy", "--managed-by", SWITCH_KEY_MANAGED_BY, parse_managed_by },
};
_Static_assert(ELEMENTSOF(keys) == KEY_COUNT, "Parser.key_lines has a line per key");

static int parse_unknown_key(Parser *p)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcasecmp(p->key, keys[i].name) == 0)
			return parser_fail(p, -EINVAL, "unknown key; keys are case-sensitive: %s=",
					   keys[i].name);
	return parser_fail(p, -EINVAL,
			   "unknown key; a switch's keys are Mode, Socket, SID, MaxPeers, Vectors, "
			   "SharedMemorySize, SharedMemoryFile, SharedMemoryName, "
			   "SharedMemoryHugetlbfs, SharedMemoryTruncate, AckTimeoutSec, "
			   "SharedVectors, MaxQueue, MaxQueueFds, Link, Relay and ManagedBy");
}

static int parse_assignment(Parser *p)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		int r;

		if (strcmp(p->key, keys[i].name) != 0)
			continue;
		if (p->key_lines[i] && !keys[i].repeats)
			return parser_fail(p, -EINVAL,
					   "%s= was given on line %u already; give it once",
					   keys[i].name, p->key_lines[i]);
		if (!p->key_lines[i])
			p->key_lines[i] = p->line;
		p->info = &keys[i];
		r = keys[i].parse(p);
		if (r < 0)
			return r;
		p->c->set |= keys[i].bit;
		return 0;
	}
	return parse_unknown_key(p);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static char *strip(char *s)
{
	char *end = s + strlen(s);

	while (is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	*end = '\0';
	return s;
}

static int parse_line(Parser *p, char *line, bool *in_switch)
{
	char *s = strip(line), *eq;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	for (const char *t = s; *t; t++)
		if (((unsigned char)*t < 0x20 && *t != '\t') || *t == 0x7f)
			return parser_fail(p, -EINVAL,
					   "a control character (0x%02x) at byte %zu; "
					   "not a switch's configuration",
					   (unsigned)(unsigned char)*t, (size_t)(t - line) + 1);
	if (*s == '[') {
		if (s[strlen(s) - 1] != ']')
			return parser_fail(p, -EINVAL, QUOTE_FMT ": not a section; write [Switch]",
					   QUOTE_ARGS(s));
		if (strcmp(s, "[Switch]") != 0)
			return parser_fail(p, -EINVAL,
					   QUOTE_FMT ": not a section of a switch's configuration; "
						     "the only one is [Switch]",
					   QUOTE_ARGS(s));
		*in_switch = true;
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq || eq == s)
		return parser_fail(p, -EINVAL,
				   QUOTE_FMT
				   ": not Key=Value, a [Switch] section or a comment (# or ;)",
				   QUOTE_ARGS(s));
	*eq = '\0';
	p->key = strip(s);
	p->value = strip(eq + 1);
	if (!*in_switch)
		return parser_fail(p, -EINVAL, "outside a section; put it under [Switch]");
	return parse_assignment(p);
}

int switch_config_parse(SwitchConfig *c, const char *source, const char *text, char *err,
			size_t err_size)
{
	Parser p = { .c = c, .source = source, .err = err, .err_size = err_size };
	_cleanup_free_ char *line = NULL;
	bool in_switch = false;
	char *copy;

	if (!source || !text)
		return fail(-EINVAL, err, err_size, "no configuration to parse");
	copy = strdup(source);
	line = malloc(SWITCH_LINE_MAX + 1);
	if (!copy || !line) {
		free(copy);
		return fail(-ENOMEM, err, err_size, "%s: out of memory", source);
	}
	free(c->source);
	c->source = copy;

	if (strncmp(text, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark, as systemd allows */
		text += 3;
	while (*text) {
		const char *end = strchrnul(text, '\n');
		size_t len = (size_t)(end - text);
		int r;

		p.line++;
		p.key = p.value = NULL;
		if (len > SWITCH_LINE_MAX)
			return parser_fail(
				&p, -EINVAL,
				"a line longer than %d bytes; not a switch's configuration",
				SWITCH_LINE_MAX);
		memcpy(line, text, len);
		line[len] = '\0';
		r = parse_line(&p, line, &in_switch);
		if (r < 0)
			return r;
		text = *end ? end + 1 : end;
	}
	return 0;
}

static const KeyInfo *key_info(SwitchConfigKey bit)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].bit == bit)
			return &keys[i];
	return NULL;
}

/*
 * How a message names a key: "SID=" in a file's messages, "--sid" in those of famezd's options
 * (the default switch without a file); with a value, "SID=28" or "--sid 28".
 */
static const char *key_ref(const SwitchConfig *c, SwitchConfigKey bit, const char *value, char *buf,
			   size_t size)
{
	const KeyInfo *k = key_info(bit);

	if (c->source)
		snprintf(buf, size, "%s=%s", k->name, value ? value : "");
	else
		snprintf(buf, size, "%s%s%s", k->option, value ? " " : "", value ? value : "");
	return buf;
}

/* "lab.conf: " for a switch's file, nothing for famezd's options. */
static const char *message_prefix(const SwitchConfig *c, char *buf, size_t size)
{
	if (c->source)
		snprintf(buf, size, "%s: ", c->source);
	else if (strcmp(c->name, SWITCH_DEFAULT_NAME) != 0)
		snprintf(buf, size, "switch %s: ", c->name);
	else
		buf[0] = '\0';
	return buf;
}

#define KEY_REF_MAX 64

static int finish_ivshmem(const SwitchConfig *c, char *err, size_t err_size)
{
	static const SwitchConfigKey fabric_keys[] = {
		SWITCH_KEY_SID,  SWITCH_KEY_SHARED_VECTORS, SWITCH_KEY_ACK_TIMEOUT,
		SWITCH_KEY_LINK, SWITCH_KEY_RELAY,          SWITCH_KEY_MANAGED_BY,
	};
	char prefix[PATH_MAX + 16], key[KEY_REF_MAX], mode[KEY_REF_MAX];

	for (size_t i = 0; i < ELEMENTSOF(fabric_keys); i++)
		if (c->set & fabric_keys[i])
			return fail(-EINVAL, err, err_size,
				    "%s%s applies to fabric mode; %s has no fabric manager, no "
				    "mailbox and every vector is shared; remove it",
				    message_prefix(c, prefix, sizeof(prefix)),
				    key_ref(c, fabric_keys[i], NULL, key, sizeof(key)),
				    key_ref(c, SWITCH_KEY_MODE, "ivshmem", mode, sizeof(mode)));
	return 0;
}

/*
 * Fabric mode derives the vectors from the client slots (vector index = sender ID) and needs
 * room for the mailbox at the start of the shared memory.
 */
static int finish_fabric(SwitchConfig *c, char *note, size_t note_size, char *err, size_t err_size)
{
	char prefix[PATH_MAX + 16], key[KEY_REF_MAX], other[KEY_REF_MAX], mode[KEY_REF_MAX];
	char have[SIZE_STR_MAX], need_str[SIZE_STR_MAX], peers[16];
	uint64_t need;

	message_prefix(c, prefix, sizeof(prefix));
	if (c->set & SWITCH_KEY_VECTORS)
		return fail(-EINVAL, err, err_size,
			    "%s%s applies to %s; in fabric mode every peer has %s + 2 vectors",
			    prefix, key_ref(c, SWITCH_KEY_VECTORS, NULL, key, sizeof(key)),
			    key_ref(c, SWITCH_KEY_MODE, "ivshmem", mode, sizeof(mode)),
			    c->source ? "MaxPeers" : "--max-peers");
	if (!(c->set & SWITCH_KEY_MAX_PEERS))
		c->max_peers = SWITCH_DEFAULT_FABRIC_CLIENTS;
	if (c->max_peers > MAILBOX_CLIENTS_MAX) {
		snprintf(peers, sizeof(peers), "%u", c->max_peers);
		return fail(-EINVAL, err, err_size,
			    "%s%s is too many for fabric mode: at most %d, so that a guest can "
			    "ring every vector; use %s for more",
			    prefix, key_ref(c, SWITCH_KEY_MAX_PEERS, peers, key, sizeof(key)),
			    MAILBOX_CLIENTS_MAX,
			    key_ref(c, SWITCH_KEY_MODE, "ivshmem", mode, sizeof(mode)));
	}
	c->vectors = c->max_peers + 2;

	need = size_pow2_above(mailbox_size(c->max_peers));
	if (c->shm.size < need) {
		if (c->set & SWITCH_KEY_SHM_SIZE)
			fail(0, note, note_size,
			     "%s%s cannot hold the mailbox of %u client slots; using %s", prefix,
			     key_ref(c, SWITCH_KEY_SHM_SIZE, format_size(c->shm.size, have), other,
				     sizeof(other)),
			     c->max_peers, format_size(need, need_str));
		c->shm.size = need;
	}
	return 0;
}

int switch_config_finish(SwitchConfig *c, char *note, size_t note_size, char *err, size_t err_size)
{
	char prefix[PATH_MAX + 16], key[KEY_REF_MAX];

	if (note && note_size > 0)
		note[0] = '\0';
	if ((c->set & SWITCH_KEY_SHM_TRUNCATE) && c->shm.backing != SHM_BACKING_FILE &&
	    c->shm.backing != SHM_BACKING_POSIX)
		return fail(-EINVAL, err, err_size, "%s%s applies to %s; remove it",
			    message_prefix(c, prefix, sizeof(prefix)),
			    key_ref(c, SWITCH_KEY_SHM_TRUNCATE, NULL, key, sizeof(key)),
			    c->source ? "SharedMemoryFile= or SharedMemoryName="
				      : "--shm-file or --shm-name");
	if (c->mode == SWITCH_MODE_IVSHMEM)
		return finish_ivshmem(c, err, err_size);
	return finish_fabric(c, note, note_size, err, err_size);
}

/* "switch lab (/etc/famez/switches.d/lab.conf)", for messages about two switches. */
static const char *switch_label(const SwitchConfig *c, char *buf, size_t size)
{
	if (c->source)
		snprintf(buf, size, "switch %s (%s)", c->name, c->source);
	else if (strcmp(c->name, SWITCH_DEFAULT_NAME) == 0)
		snprintf(buf, size, "switch %s (famezd's options)", c->name);
	else
		snprintf(buf, size, "switch %s (no configuration file)", c->name);
	return buf;
}

#define LABEL_MAX (PATH_MAX + SWITCH_NAME_MAX + 16)

_printf_(6, 7) static int collision(const SwitchConfig *a, const SwitchConfig *b, char *err,
				    size_t err_size, const char *what_to_do, const char *fmt, ...)
{
	char label_a[LABEL_MAX], label_b[LABEL_MAX], why[SWITCH_CONFIG_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fail(-EINVAL, err, err_size, "%s and %s %s; %s", switch_label(a, label_a, LABEL_MAX),
		    switch_label(b, label_b, LABEL_MAX), why, what_to_do);
}

static int socket_path(const SwitchConfig *c, char *buf, size_t size, char *err, size_t err_size)
{
	char label[LABEL_MAX];

	if (c->socket_path) {
		snprintf(buf, size, "%s", c->socket_path);
		return 0;
	}
	if (famez_switch_socket_path(c->name, buf, size) < 0)
		return fail(-EINVAL, err, err_size,
			    "%s: the default socket path is too long; give it a Socket=",
			    switch_label(c, label, sizeof(label)));
	return 0;
}

/* A named shared memory both switches would map: the same file, or the same POSIX object. */
static bool same_shm(const ShmConfig *a, const ShmConfig *b)
{
	const char *la = a->location, *lb = b->location;

	if (a->backing != b->backing || !la || !lb)
		return false;
	if (a->backing == SHM_BACKING_POSIX) {
		/* shm_open() takes "name" and "/name" alike. */
		la += la[0] == '/';
		lb += lb[0] == '/';
		return strcmp(la, lb) == 0;
	}
	return a->backing == SHM_BACKING_FILE && strcmp(la, lb) == 0;
}

static bool explicit_sid(const SwitchConfig *c)
{
	return c->mode == SWITCH_MODE_FABRIC && (c->set & SWITCH_KEY_SID);
}

static int check_pair(const SwitchConfig *a, const SwitchConfig *b, char *err, size_t err_size)
{
	char path_a[PATH_MAX], path_b[PATH_MAX];
	int r;

	if (strcmp(a->name, b->name) == 0)
		return collision(a, b, err, err_size, "give each switch a name of its own",
				 "have the same name");
	r = socket_path(a, path_a, sizeof(path_a), err, err_size);
	if (r < 0)
		return r;
	r = socket_path(b, path_b, sizeof(path_b), err, err_size);
	if (r < 0)
		return r;
	if (strcmp(path_a, path_b) == 0)
		return collision(a, b, err, err_size,
				 "give each its own Socket=", "both listen on " QUOTE_FMT,
				 QUOTE_ARGS(path_a));
	if (same_shm(&a->shm, &b->shm))
		return collision(a, b, err, err_size,
				 "give each its own SharedMemoryFile= or SharedMemoryName=",
				 "both keep their shared memory in %s " QUOTE_FMT,
				 shm_backing_to_string(a->shm.backing),
				 QUOTE_ARGS(a->shm.location));
	/* Switches may share a SID: the switches of a subnet share its CIDs (topology.h). */
	return 0;
}

/* Who declared a link end: the configuration and its Link=. */
typedef struct LinkDeclaration {
	size_t config;
	const SwitchLinkConfig *link;
} LinkDeclaration;

typedef struct LinkCheck {
	SwitchConfig *const *configs;
	size_t n;
	Topology t;
	LinkDeclaration *declared; /* [switch * TOPOLOGY_LINKS_MAX + its link's index] */
	char *err;
	size_t err_size;
} LinkCheck;

#define LINK_REF_MAX (PATH_MAX + SWITCH_NAME_MAX + 64)

/* "lab.conf:4: Link=16:east:16", or "famezd's options: --link 16:east:16". */
static const char *link_ref(const SwitchConfig *c, const SwitchLinkConfig *l, char *buf,
			    size_t size)
{
	char value[SWITCH_NAME_MAX + 32], key[KEY_REF_MAX + SWITCH_NAME_MAX];

	snprintf(value, sizeof(value), "%u:%s:%u", l->port, l->peer, l->peer_port);
	key_ref(c, SWITCH_KEY_LINK, value, key, sizeof(key));
	if (c->source)
		snprintf(buf, size, "%s:%u: %s", c->source, l->line, key);
	else
		snprintf(buf, size, "famezd's options: %s", key);
	return buf;
}

/* One line naming Link= l of configs[config]: "lab.conf:4: Link=16:east:16: why". */
_printf_(4, 5) static int link_fail(LinkCheck *k, size_t config, const SwitchLinkConfig *l,
				    const char *fmt, ...)
{
	char where[LINK_REF_MAX], why[SWITCH_CONFIG_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fail(-EINVAL, k->err, k->err_size, "%s: %s",
		    link_ref(k->configs[config], l, where, sizeof(where)), why);
}

static int link_switch_check(LinkCheck *k, size_t config, const SwitchLinkConfig *l, size_t sw,
			     unsigned port)
{
	const TopoSwitch *s = &k->t.switches[sw];
	unsigned first = topology_first_link_port(s->n_clients);

	if (k->configs[sw]->mode != SWITCH_MODE_FABRIC)
		return link_fail(k, config, l,
				 "switch %s is in ivshmem mode, which has no links; link fabric "
				 "switches only",
				 s->name);
	if (port < first || port - first >= TOPOLOGY_LINKS_MAX)
		return link_fail(k, config, l,
				 "port %u is not a link port of switch %s; its link ports are %u "
				 "to %u",
				 port, s->name, first, first + TOPOLOGY_LINKS_MAX - 1);
	return 0;
}

/*
 * Whether declaration l of config, joining port of switch sw to peer_port of switch peer, may
 * take that port: it is free, or the other end declared the same link (1: nothing to add).
 */
static int link_end_check(LinkCheck *k, size_t config, const SwitchLinkConfig *l, size_t sw,
			  unsigned port, size_t peer, unsigned peer_port)
{
	const TopoSwitch *s = &k->t.switches[sw];
	const TopoLink *taken = topology_link(s, port);
	const LinkDeclaration *d;
	char other[LINK_REF_MAX];

	if (!taken)
		return 0;
	d = &k->declared[sw * TOPOLOGY_LINKS_MAX + (size_t)(taken - s->links)];
	link_ref(k->configs[d->config], d->link, other, sizeof(other));
	if (d->config == config && d->link->port == l->port && d->link->peer_port == l->peer_port &&
	    strcmp(d->link->peer, l->peer) == 0)
		return link_fail(k, config, l, "given on line %u already; give it once",
				 d->link->line);
	/* Declared by the other end, between the same two switches: the same link, or a quarrel. */
	if (d->config == (sw == config ? peer : sw) && taken->peer_switch == peer) {
		if (taken->peer_port == peer_port)
			return 1;
		return link_fail(k, config, l,
				 "%s joins port %u of %s to port %u of %s, not %u; declare the "
				 "link alike at both ends",
				 other, port, s->name, taken->peer_port, k->t.switches[peer].name,
				 peer_port);
	}
	return link_fail(k, config, l,
			 "port %u of switch %s is taken by %s; give each link its own port", port,
			 s->name, other);
}

static int link_add(LinkCheck *k, size_t config, const SwitchLinkConfig *l)
{
	size_t peer;
	int r;

	for (peer = 0; peer < k->n; peer++)
		if (strcmp(k->configs[peer]->name, l->peer) == 0)
			break;
	if (peer == k->n)
		return link_fail(k, config, l, "no switch named %s", l->peer);
	if (peer == config)
		return link_fail(k, config, l, "links switch %s to itself; link another switch",
				 l->peer);
	if (k->configs[peer]->managed_external != k->configs[config]->managed_external)
		return link_fail(k, config, l,
				 "links switches of two managers (%s is ManagedBy=%s, %s "
				 "ManagedBy=%s); give linked switches the same ManagedBy=",
				 k->configs[config]->name,
				 k->configs[config]->managed_external ? "external" : "famezd",
				 l->peer,
				 k->configs[peer]->managed_external ? "external" : "famezd");
	r = link_switch_check(k, config, l, config, l->port);
	if (r >= 0)
		r = link_switch_check(k, config, l, peer, l->peer_port);
	if (r >= 0)
		r = link_end_check(k, config, l, config, l->port, peer, l->peer_port);
	if (r == 0)
		r = link_end_check(k, config, l, peer, l->peer_port, config, l->port);
	if (r != 0)
		return r < 0 ? r : 0;
	k->declared[config * TOPOLOGY_LINKS_MAX + k->t.switches[config].n_links] =
		(LinkDeclaration){ config, l };
	k->declared[peer * TOPOLOGY_LINKS_MAX + k->t.switches[peer].n_links] =
		(LinkDeclaration){ config, l };
	if (topology_connect(&k->t, config, l->port, peer, l->peer_port) < 0)
		return link_fail(k, config, l, "cannot be linked"); /* checked above: never */
	return 0;
}

int switch_configs_topology(SwitchConfig *const *configs, size_t n, TopoSwitch *out, char *err,
			    size_t err_size)
{
	_cleanup_free_ LinkDeclaration *declared =
		calloc(MAX(n, (size_t)1) * TOPOLOGY_LINKS_MAX, sizeof(*declared));
	LinkCheck k = { configs, n, { out, n }, declared, err, err_size };
	int r;

	if (!declared)
		return fail(-ENOMEM, err, err_size, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const SwitchConfig *c = configs[i];
		bool fabric = c->mode == SWITCH_MODE_FABRIC;

		out[i] = (TopoSwitch){
			.name = c->name,
			.sid = c->sid,
			.n_clients = fabric ? c->max_peers : 0,
			.up = fabric,
			.external = c->managed_external,
		};
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned j = 0; j < MIN(configs[i]->n_links, (unsigned)TOPOLOGY_LINKS_MAX);
		     j++) {
			r = link_add(&k, i, &configs[i]->links[j]);
			if (r < 0)
				return r;
		}
	/* Its own words: "SID 27: switch c needs 255 CIDs ...". */
	return topology_assign_cids(&k.t, err, err_size) < 0 ? -EINVAL : 0;
}

/* Every switch's CIDs, from the fabric its configuration makes. */
static int assign_cids(SwitchConfig *const *configs, size_t n, char *err, size_t err_size)
{
	_cleanup_free_ TopoSwitch *switches = calloc(MAX(n, (size_t)1), sizeof(*switches));
	int r;

	if (!switches)
		return fail(-ENOMEM, err, err_size, "out of memory");
	r = switch_configs_topology(configs, n, switches, err, err_size);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		configs[i]->cid_base = switches[i].cid_base;
		configs[i]->cid_stride = switches[i].cid_stride;
	}
	return 0;
}

int switch_configs_check(SwitchConfig *const *configs, size_t n, char *err, size_t err_size)
{
	char label[LABEL_MAX];
	int r;

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			r = check_pair(configs[i], configs[j], err, err_size);
			if (r < 0)
				return r;
		}

	for (size_t i = 0; i < n; i++) {
		SwitchConfig *c = configs[i];
		unsigned sid = SWITCH_DEFAULT_SID;
		bool taken;

		if (c->mode != SWITCH_MODE_FABRIC || (c->set & SWITCH_KEY_SID))
			continue;
		/* Taken: by a switch that gave its SID, or by one before this that got one. */
		do {
			taken = false;
			for (size_t j = 0; j < n && !taken; j++)
				taken = j != i && configs[j]->mode == SWITCH_MODE_FABRIC &&
					(explicit_sid(configs[j]) || j < i) &&
					configs[j]->sid == sid;
		} while (taken && ++sid <= SWITCH_SID_MAX);
		if (sid > SWITCH_SID_MAX)
			return fail(-EINVAL, err, err_size,
				    "%s: every subnet ID from %d to %d is taken; give it a SID=",
				    switch_label(c, label, sizeof(label)), SWITCH_DEFAULT_SID,
				    SWITCH_SID_MAX);
		c->sid = sid;
	}
	return assign_cids(configs, n, err, err_size);
}
