/* SPDX-License-Identifier: MIT */
/*
 * famez-client: an ivshmem peer without a VM. It connects to famezd (or QEMU's ivshmem-server),
 * keeps every peer's eventfds, maps the shared memory, reports the interrupts it receives and
 * runs commands from --exec or standard input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "client-proto.h"
#include "client.h"
#include "doorbell.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "size.h"
#include "wire.h"

static const char *arg_nodename;
static const char *arg_cclass = "Debugger";

void client_exit(Client *c, int code)
{
	c->exit_code = code;
	sd_event_exit(c->event, code);
}

/* Commands print their results on stdout; diagnostics go to stderr. */
bool say_muted;

void say(const char *fmt, ...)
{
	va_list ap;

	if (say_muted)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int command_error(Client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_error("%s", buf);
	c->command_failed = true;
	return -EINVAL;
}

/* ---- interrupts ---- */

static int on_vector(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Client *c = userdata;
	unsigned vector = 0;
	uint64_t count;

	(void)revents;
	for (unsigned i = 0; i < c->n_vector_sources; i++)
		if (c->vector_sources[i] == source)
			vector = i;
	/* A peer holding the same eventfd may have read it first. */
	if (doorbell_take(fd, &count) < 0)
		return 0;
	c->received[vector] += count;
	if (!c->settled) {
		/* The mailbox is looked at once the handshake is read (see on_settled). */
		c->early_rings[vector / 64] |= UINT64_C(1) << (vector % 64);
		return 0;
	}
	/* In fabric mode a ring usually means a message in the ringing peer's slot. */
	if (!client_fabric_on_interrupt(c, vector))
		say("interrupt vector %u count %" PRIu64, vector, c->received[vector]);
	client_continue(c);
	return 0;
}

int client_watch_own_vector(Client *c, unsigned vector)
{
	unsigned n = vector + 1;
	void *p;
	int r;

	if (n > c->n_vector_sources) {
		p = realloc(c->vector_sources, n * sizeof(*c->vector_sources));
		if (!p)
			return -ENOMEM;
		c->vector_sources = p;
		p = realloc(c->received, n * sizeof(*c->received));
		if (!p)
			return -ENOMEM;
		c->received = p;
		p = realloc(c->consumed, n * sizeof(*c->consumed));
		if (!p)
			return -ENOMEM;
		c->consumed = p;
		for (unsigned i = c->n_vector_sources; i < n; i++) {
			c->vector_sources[i] = NULL;
			c->received[i] = c->consumed[i] = 0;
		}
		c->n_vector_sources = n;
	}
	r = sd_event_add_io(c->event, &c->vector_sources[vector], c->state.self.fds[vector],
			    EPOLLIN, on_vector, c);
	return r;
}

static int ring(Client *c, const ClientPeer *p, unsigned vector)
{
	int r;

	if (vector >= p->n_vectors)
		return command_error(c, "peer %u has %u vectors; there is no vector %u", p->id,
				     p->n_vectors, vector);
	r = doorbell_ring(p->fds[vector]);
	if (r == -EAGAIN)
		return command_error(c,
				     "cannot ring peer %u vector %u: its counter is full (the "
				     "peer does not read its interrupts)",
				     p->id, vector);
	if (r < 0)
		return command_error(c, "cannot ring peer %u vector %u: %s", p->id, vector,
				     strerror(-r));
	return 0;
}

static bool ring_all_vectors(const ClientPeer *p, void *data)
{
	Client *c = data;

	for (unsigned v = 0; v < p->n_vectors; v++)
		ring(c, p, v);
	return true;
}

/* ---- shared memory ---- */

static void map_shm(Client *c)
{
	struct stat st;
	void *p;

	if (fstat(c->state.shm_fd, &st) < 0 || st.st_size <= 0) {
		log_warning("the shared memory fd has no size; read and write are unavailable");
		return;
	}
	c->shm_size = (uint64_t)st.st_size;
	p = mmap(NULL, c->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->state.shm_fd, 0);
	if (p == MAP_FAILED) {
		log_warning_errno(errno, "cannot map the shared memory: %m; read and write are "
					 "unavailable");
		return;
	}
	c->shm = p;
}

/* ---- the server connection ---- */

static void on_settled(Client *c)
{
	char size[SIZE_STR_MAX];

	c->settled = true;
	say("connected id %u vectors %u shm %s peers %u", c->state.own_id, c->state.self.n_vectors,
	    format_size(c->shm_size, size), c->state.n_peers);
	client_fabric_setup(c, arg_nodename, arg_cclass);
	/* Messages that arrived with the handshake, such as the server's Peer-Attribute. */
	for (unsigned v = 0; v < MIN(c->n_vector_sources, 256u); v++)
		if ((c->early_rings[v / 64] & (UINT64_C(1) << (v % 64))) &&
		    !client_fabric_on_interrupt(c, v))
			say("interrupt vector %u count %" PRIu64, v, c->received[v]);
	client_continue(c);
}

static int handle_message(Client *c, int64_t value, int fd)
{
	ClientEvent ev;
	int r;

	r = client_state_feed(&c->state, value, fd, &ev);
	if (r == -ECONNREFUSED) {
		log_error("the server refused us (version %" PRId64 "); it may be full", value);
		client_exit(c, EXIT_REFUSED);
		return r;
	}
	if (r < 0) {
		log_error_errno(r, "protocol error from the server (message %" PRId64 "): %m",
				value);
		client_exit(c, EXIT_CONNECTION);
		return r;
	}

	switch (ev.type) {
	case CLIENT_EVENT_SHM:
		map_shm(c);
		break;
	case CLIENT_EVENT_OWN_VECTOR:
		r = client_watch_own_vector(c, ev.vector);
		if (r < 0) {
			log_error_errno(r, "cannot watch vector %u: %m", ev.vector);
			client_exit(c, EXIT_CONNECTION);
			return r;
		}
		break;
	case CLIENT_EVENT_PEER_VECTOR:
		if (c->settled && ev.vector == 0)
			say("peer %u joined", ev.id);
		if (ev.vector == c->state.own_id)
			client_fabric_peer_ringable(c, ev.id);
		break;
	case CLIENT_EVENT_PEER_LEFT:
		if (c->settled)
			say("peer %u left", ev.id);
		break;
	default:
		break;
	}
	return 0;
}

static int on_socket(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Client *c = userdata;

	(void)source;
	(void)revents;
	for (;;) {
		int64_t value;
		int msg_fd;
		int r = wire_read(fd, &c->reader, &value, &msg_fd);

		if (r == 0)
			break;
		if (r < 0) {
			if (r == -EPIPE)
				log_error("the server closed the connection");
			else
				log_error_errno(r, "reading from the server failed: %m");
			client_exit(c, EXIT_CONNECTION);
			return 0;
		}
		if (handle_message(c, value, msg_fd) < 0)
			return 0;
	}

	/* Our own eventfds come last in the handshake: once they are in, the burst is read. */
	if (!c->settled && c->state.phase == CLIENT_PHASE_PEERS && c->state.self.n_vectors > 0)
		on_settled(c);
	else
		client_continue(c);
	return 0;
}

static int connect_server(Client *c, uint64_t wait_usec)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = wait_usec ? now_usec(CLOCK_MONOTONIC) + wait_usec : UINT64_MAX;
	bool told = false;

	if (strlen(c->socket_path) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "socket path %s is too long", c->socket_path);
	strcpy(sa.sun_path, c->socket_path);

	for (;;) {
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return log_error_errno(errno, "cannot create a socket: %m");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			c->fd = TAKE_FD(fd);
			return 0;
		}
		if (errno != ENOENT && errno != ECONNREFUSED)
			return log_error_errno(errno, "cannot connect to %s: %m", c->socket_path);
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			return log_error_errno(errno, "no server on %s (waited %" PRIu64 " s)",
					       c->socket_path, wait_usec / 1000000);
		if (!told) {
			log_info("waiting for a server on %s", c->socket_path);
			told = true;
		}
		usleep(100 * 1000);
	}
}

/* ---- commands ---- */

static bool count_complete(const ClientPeer *p, void *data)
{
	unsigned *counts = data; /* [0]: vectors a peer needs, [1]: peers that have them */

	if (p->n_vectors >= counts[0])
		counts[1]++;
	return true;
}

/*
 * Peers whose eventfds have all arrived: as many as ours (every peer of famezd and
 * ivshmem-server has the same number), so a command right after wait-peers can ring any vector.
 */
static unsigned complete_peers(Client *c)
{
	unsigned counts[2] = { c->state.self.n_vectors, 0 };

	client_state_foreach_peer(&c->state, count_complete, counts);
	return counts[1];
}

/* The 64-bit word at offset (checked by shm_offset()), read once: peers write it any time. */
static uint64_t shm_word(Client *c, uint64_t offset)
{
	uint64_t v;

	memcpy(&v, (uint8_t *)c->shm + offset, sizeof(v));
	return v;
}

static int parse_word(Client *c, const char *arg, uint64_t *value)
{
	char *end;

	errno = 0;
	*value = strtoull(arg, &end, 0);
	if (errno || *end || !*arg)
		return command_error(c, "'%s' is not a 64-bit value", arg);
	return 0;
}

static int on_wait_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	(void)source;
	(void)usec;
	if (c->wait != WAIT_SLEEP) {
		if (c->wait == WAIT_PEERS)
			command_error(c, "wait-peers: timed out with %u of %" PRIu64 " peers",
				      complete_peers(c), c->wait_target);
		else if (c->wait == WAIT_LEFT)
			command_error(c, "wait-left: timed out; peer %" PRIu64 " is still there",
				      c->wait_target);
		else if (c->wait == WAIT_PONG)
			command_error(c, "ping: not every peer answered in time");
		else if (c->wait == WAIT_CONFIGURED)
			command_error(c, "rfc: the server did not configure us in time");
		else if (c->wait == WAIT_INTERRUPT)
			command_error(c,
				      "wait-int: timed out with %" PRIu64 " of %" PRIu64
				      " interrupts on vector %u",
				      c->received[c->wait_vector] - c->consumed[c->wait_vector],
				      c->wait_target, c->wait_vector);
		else if (c->wait == WAIT_MEMORY)
			command_error(c,
				      "wait-mem: timed out; offset %" PRIu64 " holds 0x%" PRIx64
				      ", not 0x%" PRIx64,
				      c->wait_offset, shm_word(c, c->wait_offset), c->wait_target);
		else if (c->wait == WAIT_MESSAGES)
			command_error(
				c, "wait-msg: timed out with %" PRIu64 " of %" PRIu64 " messages",
				c->fabric.messages - c->fabric.messages_consumed, c->wait_target);
		else if (c->wait == WAIT_CONTROL)
			client_control_timed_out(c);
	}
	c->wait = WAIT_NONE;
	c->poll_timer = sd_event_source_disable_unref(c->poll_timer);
	client_continue(c);
	return 0;
}

int start_wait(Client *c, WaitKind kind, const char *seconds)
{
	uint64_t s = 0;

	if (seconds && parse_uint(seconds, 0, 86400 * 365, &s) < 0)
		return command_error(c, "'%s' is not a number of seconds", seconds);
	c->wait = kind;
	if (s == 0)
		return 0;
	c->wait_timer = sd_event_source_disable_unref(c->wait_timer);
	return sd_event_add_time_relative(c->event, &c->wait_timer, CLOCK_MONOTONIC, s * 1000000,
					  1000, on_wait_timer, c);
}

static int on_poll_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	Client *c = userdata;
	int r;

	r = sd_event_source_set_time(source, usec + 1000);
	if (r >= 0)
		r = sd_event_source_set_enabled(source, SD_EVENT_ON);
	if (r < 0)
		return r;
	client_continue(c);
	return 0;
}

/* wait-mem: looks at the word every millisecond until it holds the value or time runs out. */
static int start_memory_wait(Client *c, uint64_t offset, uint64_t value, const char *seconds)
{
	int r;

	c->wait_offset = offset;
	c->wait_target = value;
	r = start_wait(c, WAIT_MEMORY, seconds);
	if (r < 0)
		return r;
	c->poll_timer = sd_event_source_disable_unref(c->poll_timer);
	return sd_event_add_time_relative(c->event, &c->poll_timer, CLOCK_MONOTONIC, 1000, 100,
					  on_poll_timer, c);
}

static bool wait_satisfied(Client *c)
{
	switch (c->wait) {
	case WAIT_NONE:
		return true;
	case WAIT_PEERS:
		return complete_peers(c) >= c->wait_target;
	case WAIT_INTERRUPT:
		if (c->wait_vector < c->n_vector_sources &&
		    c->received[c->wait_vector] - c->consumed[c->wait_vector] >= c->wait_target) {
			c->consumed[c->wait_vector] += c->wait_target;
			return true;
		}
		return false;
	case WAIT_LEFT:
		return !client_state_peer(&c->state, (uint16_t)c->wait_target);
	case WAIT_MEMORY:
		return shm_word(c, c->wait_offset) == c->wait_target;
	case WAIT_SLEEP:
		return false;
	case WAIT_MESSAGES:
	case WAIT_PONG:
	case WAIT_DELIVERED:
	case WAIT_FLOOD:
	case WAIT_CONFIGURED:
	case WAIT_CONTROL:
	case WAIT_MANAGE:
		return client_fabric_wait_satisfied(c);
	case WAIT_DRAIN:
		return c->fabric.in_flight == 0;
	}
	return true;
}

static bool dump_peer(const ClientPeer *p, void *data)
{
	(void)data;
	say("peer %u vectors %u", p->id, p->n_vectors);
	return true;
}

const ClientPeer *lookup_peer(Client *c, const char *arg)
{
	uint64_t id;

	if (parse_uint(arg, 0, WIRE_ID_MAX, &id) < 0) {
		command_error(c, "'%s' is not a peer ID (0..%d)", arg, WIRE_ID_MAX);
		return NULL;
	}
	if (id == c->state.own_id)
		return &c->state.self;
	if (!client_state_peer(&c->state, (uint16_t)id)) {
		command_error(c, "no peer %" PRIu64 "; 'dump' lists the peers", id);
		return NULL;
	}
	return client_state_peer(&c->state, (uint16_t)id);
}

static void command_help(void)
{
	say("commands (separate several with ';'):\n"
	    "  help                      this list\n"
	    "  dump                      own ID, vectors, shared memory size and peers; in\n"
	    "                            fabric mode our configuration, the switch's routing\n"
	    "                            flags and the counters of routed messages\n"
	    "  int PEER VECTOR           ring a vector of a peer\n"
	    "  int PEER all              ring every vector of a peer\n"
	    "  int all                   ring every vector of every other peer\n"
	    "  wait-peers N [SECONDS]    wait until N other peers are connected\n"
	    "  wait-left PEER [SECONDS]  wait until PEER has left\n"
	    "  wait-int VECTOR [N [SECONDS]]  wait for N (default 1) interrupts on own VECTOR\n"
	    "  wait-mem OFFSET VALUE [SECONDS]  wait until the 64-bit word at OFFSET is VALUE\n"
	    "  sleep SECONDS             keep serving events for SECONDS\n"
	    "  stamp                     print the monotonic clock in microseconds\n"
	    "  read OFFSET               print the 64-bit word at OFFSET of the shared memory\n"
	    "  write OFFSET VALUE        store a 64-bit word at OFFSET of the shared memory\n"
	    "  quit                      disconnect and exit");
}

static int shm_offset(Client *c, const char *arg, uint64_t *offset)
{
	char *end;

	if (!c->shm)
		return command_error(c, "the shared memory is not mapped");
	errno = 0;
	*offset = strtoull(arg, &end, 0);
	if (errno || *end || !*arg || *offset > c->shm_size - 8 || *offset % 8)
		return command_error(c, "'%s' is not an 8-byte aligned offset below %" PRIu64, arg,
				     c->shm_size);
	return 0;
}

static void run_command(Client *c, char *line)
{
	char *argv[MAILBOX_MSG_MAX / 2 + 4]; /* every word of the longest message */
	int argc = 0;
	char *save = NULL;
	uint64_t n, off;

	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < (int)ELEMENTSOF(argv);
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return;

	if (strcmp(argv[0], "help") == 0) {
		command_help();
		client_fabric_help();
	} else if (strcmp(argv[0], "dump") == 0) {
		char size[SIZE_STR_MAX];

		say("own id %u vectors %u shm %s (%" PRIu64 " bytes) peers %u", c->state.own_id,
		    c->state.self.n_vectors, format_size(c->shm_size, size), c->shm_size,
		    c->state.n_peers);
		client_state_foreach_peer(&c->state, dump_peer, NULL);
		client_fabric_dump(c);
	} else if (c->device && strcmp(argv[0], "int") == 0 && argc == 3) {
		/* The bridge knows no peers' eventfds: it rings whatever it is asked to. */
		uint64_t peer, vector;

		if (parse_uint(argv[1], 0, WIRE_ID_MAX, &peer) < 0)
			command_error(c, "'%s' is not a peer ID (0..%d)", argv[1], WIRE_ID_MAX);
		else if (strcmp(argv[2], "all") == 0)
			for (unsigned v = 0; v < c->state.self.n_vectors; v++)
				client_device_ring(c, (unsigned)peer, v);
		else if (parse_uint(argv[2], 0, 255, &vector) < 0)
			command_error(c, "'%s' is not a vector number", argv[2]);
		else
			client_device_ring(c, (unsigned)peer, (unsigned)vector);
	} else if (c->device && (strcmp(argv[0], "wait-peers") == 0 ||
				 strcmp(argv[0], "wait-left") == 0 ||
				 (strcmp(argv[0], "int") == 0 && argc == 2))) {
		command_error(c, "'%s' needs a server connection: a bridge does not see peers come "
				 "and go", argv[0]);
	} else if (strcmp(argv[0], "int") == 0 && argc == 2 && strcmp(argv[1], "all") == 0) {
		client_state_foreach_peer(&c->state, ring_all_vectors, c);
	} else if (strcmp(argv[0], "int") == 0 && argc == 3) {
		const ClientPeer *p = lookup_peer(c, argv[1]);

		if (!p)
			return;
		if (strcmp(argv[2], "all") == 0)
			ring_all_vectors(p, c);
		else if (parse_uint(argv[2], 0, CLIENT_VECTORS_MAX - 1, &n) < 0)
			command_error(c, "'%s' is not a vector number", argv[2]);
		else
			ring(c, p, (unsigned)n);
	} else if (strcmp(argv[0], "wait-peers") == 0 && (argc == 2 || argc == 3)) {
		if (parse_uint(argv[1], 0, WIRE_ID_MAX, &n) < 0) {
			command_error(c, "'%s' is not a peer count", argv[1]);
			return;
		}
		c->wait_target = n;
		start_wait(c, WAIT_PEERS, argc == 3 ? argv[2] : NULL);
	} else if (strcmp(argv[0], "wait-left") == 0 && (argc == 2 || argc == 3)) {
		if (parse_uint(argv[1], 0, WIRE_ID_MAX, &n) < 0) {
			command_error(c, "'%s' is not a peer ID", argv[1]);
			return;
		}
		c->wait_target = n;
		start_wait(c, WAIT_LEFT, argc == 3 ? argv[2] : NULL);
	} else if (strcmp(argv[0], "wait-int") == 0 && argc >= 2 && argc <= 4) {
		uint64_t vector, count = 1;

		if (parse_uint(argv[1], 0, CLIENT_VECTORS_MAX - 1, &vector) < 0 ||
		    (argc >= 3 && parse_uint(argv[2], 1, UINT32_MAX, &count) < 0)) {
			command_error(c, "usage: wait-int VECTOR [COUNT [SECONDS]]");
			return;
		}
		c->wait_vector = (unsigned)vector;
		c->wait_target = count;
		start_wait(c, WAIT_INTERRUPT, argc == 4 ? argv[3] : NULL);
	} else if (strcmp(argv[0], "wait-mem") == 0 && (argc == 3 || argc == 4)) {
		uint64_t value;

		if (shm_offset(c, argv[1], &off) < 0 || parse_word(c, argv[2], &value) < 0)
			return;
		start_memory_wait(c, off, value, argc == 4 ? argv[3] : NULL);
	} else if (strcmp(argv[0], "sleep") == 0 && argc == 2) {
		if (parse_uint(argv[1], 1, 86400 * 365, &n) < 0) {
			command_error(c, "'%s' is not a number of seconds", argv[1]);
			return;
		}
		start_wait(c, WAIT_SLEEP, argv[1]);
	} else if (strcmp(argv[0], "stamp") == 0 && argc == 1) {
		say("stamp %" PRIu64, now_usec(CLOCK_MONOTONIC));
	} else if (strcmp(argv[0], "read") == 0 && argc == 2) {
		if (shm_offset(c, argv[1], &off) == 0) {
			say("read %" PRIu64 " 0x%" PRIx64, off, shm_word(c, off));
		}
	} else if (strcmp(argv[0], "write") == 0 && argc == 3) {
		uint64_t v;

		if (shm_offset(c, argv[1], &off) == 0 && parse_word(c, argv[2], &v) == 0)
			memcpy((uint8_t *)c->shm + off, &v, sizeof(v));
	} else if (client_fabric_command(c, argc, argv)) {
		/* done */
	} else if (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0) {
		client_exit(c, c->command_failed ? EXIT_COMMAND_FAILED : EXIT_OK);
	} else {
		command_error(c, "unknown command or wrong arguments: '%s'; try 'help'", argv[0]);
	}
}

static int queue_commands(Client *c, const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *cmd = strtok_r(copy, ";\n", &save); cmd; cmd = strtok_r(NULL, ";\n", &save)) {
		char **p = realloc(c->commands, (c->n_commands + 1) * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->commands = p;
		c->commands[c->n_commands] = strdup(cmd);
		if (!c->commands[c->n_commands])
			return -ENOMEM;
		c->n_commands++;
	}
	return 0;
}

static void client_continue_commands(Client *c);

static void wait_end(Client *c)
{
	c->wait = WAIT_NONE;
	c->wait_timer = sd_event_source_disable_unref(c->wait_timer);
	c->poll_timer = sd_event_source_disable_unref(c->poll_timer);
}

/* Runs queued commands until one waits or none is left. */
void client_continue(Client *c)
{
	/*
	 * Commands call into the mailbox sender, whose callbacks call back here: the outer call
	 * goes on where it is, a nested one would run the next command too early.
	 */
	if (!c->settled || c->continuing || sd_event_get_state(c->event) == SD_EVENT_FINISHED)
		return;
	c->continuing = true;
	client_continue_commands(c);
	c->continuing = false;
}

static void client_continue_commands(Client *c)
{
	if (c->wait != WAIT_NONE) {
		if (!wait_satisfied(c))
			return;
		wait_end(c);
	}
	while (c->first_command < c->n_commands && c->wait == WAIT_NONE) {
		char *cmd = c->commands[c->first_command++];

		run_command(c, cmd);
		free(cmd);
		if (sd_event_get_state(c->event) == SD_EVENT_EXITING)
			return;
		if (c->wait != WAIT_NONE && wait_satisfied(c))
			wait_end(c);
	}
	if (c->wait == WAIT_NONE && c->first_command == c->n_commands &&
	    (c->from_exec || c->stdin_done)) {
		/* Our own answers may still sit in our slot: let them be read first. */
		if (c->fabric.in_flight) {
			c->wait = WAIT_DRAIN;
			return;
		}
		client_exit(c, c->command_failed ? EXIT_COMMAND_FAILED : EXIT_OK);
	}
}

static int on_stdin(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Client *c = userdata;
	char buf[4096];
	ssize_t n;

	(void)revents;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		c->stdin_done = true;
		sd_event_source_set_enabled(source, SD_EVENT_OFF);
		if (c->stdin_len) {
			c->stdin_buf[c->stdin_len] = '\0';
			queue_commands(c, c->stdin_buf);
			c->stdin_len = 0;
		}
		client_continue(c);
		return 0;
	}
	c->stdin_buf = realloc(c->stdin_buf, c->stdin_len + (size_t)n + 1);
	if (!c->stdin_buf)
		return -ENOMEM;
	memcpy(c->stdin_buf + c->stdin_len, buf, (size_t)n);
	c->stdin_len += (size_t)n;

	/* Queue every complete line; keep a partial one for later. */
	for (char *nl; (nl = memchr(c->stdin_buf, '\n', c->stdin_len));) {
		size_t line = (size_t)(nl - c->stdin_buf) + 1;

		*nl = '\0';
		queue_commands(c, c->stdin_buf);
		memmove(c->stdin_buf, c->stdin_buf + line, c->stdin_len - line);
		c->stdin_len -= line;
	}
	client_continue(c);
	return 0;
}

static void help(void)
{
	printf("Usage: famez-client [OPTIONS]\n"
	       "\n"
	       "Join an ivshmem fabric (famezd or QEMU's ivshmem-server) as a peer without a VM:\n"
	       "report the peers and interrupts seen, ring doorbells, read and write the memory.\n"
	       "Commands come from --exec, else from standard input ('help' lists them).\n"
	       "\n"
	       "  -S, --socket=PATH     server socket (default %s)\n"
	       "  -D, --device=PATH     inside a guest: use the famez_bridge device PATH\n"
	       "                        (e.g. /dev/famez_bridge_04) instead of a socket\n"
	       "  -e, --exec=COMMANDS   run COMMANDS (separated by ';') and exit\n"
	       "  -N, --nodename=NAME   fabric mode: our name in the mailbox (default z<ID>)\n"
	       "  -C, --cclass=CLASS    fabric mode: our C-Class (default Debugger)\n"
	       "  -w, --wait=SECONDS    retry connecting for at most SECONDS while no server\n"
	       "                        listens (default: keep retrying)\n"
	       "  -v, --verbose         log debug messages\n"
	       "  -h, --help            show this help\n"
	       "      --version         show the version\n"
	       "\n"
	       "Exit status: 0 success, 1 a command failed, 2 bad usage, 3 no server or the\n"
	       "connection was lost, 4 the server refused us (full). See famez-client(1).\n",
	       famez_default_socket_path());
}

static void client_done(Client *c)
{
	client_fabric_done(c);
	client_device_done(c);
	for (unsigned i = 0; i < c->n_vector_sources; i++)
		sd_event_source_disable_unref(c->vector_sources[i]);
	free(c->vector_sources);
	free(c->received);
	free(c->consumed);
	sd_event_source_disable_unref(c->socket_source);
	sd_event_source_disable_unref(c->stdin_source);
	sd_event_source_disable_unref(c->wait_timer);
	sd_event_source_disable_unref(c->poll_timer);
	for (size_t i = c->first_command; i < c->n_commands; i++)
		free(c->commands[i]);
	free(c->commands);
	free(c->stdin_buf);
	if (c->shm)
		munmap(c->shm, c->shm_size);
	wire_reader_reset(&c->reader);
	client_state_done(&c->state);
	safe_close(c->fd);
	sd_event_unref(c->event);
}

/* famez-client's options: an exit code (help, version, bad usage), or -1 to go on. */
static int parse_options(int argc, char *argv[], Client *c, const char **exec,
			 uint64_t *wait_seconds)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'D' },
		{ "exec", required_argument, NULL, 'e' },
		{ "wait", required_argument, NULL, 'w' },
		{ "nodename", required_argument, NULL, 'N' },
		{ "cclass", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 0x100 },
		{},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":S:D:e:w:N:C:vh", options, NULL)) >= 0) {
		switch (opt) {
		case 'S':
			c->socket_path = optarg;
			break;
		case 'D':
			c->device_path = optarg;
			break;
		case 'e':
			*exec = optarg;
			break;
		case 'N':
			if (!optarg[0] || strlen(optarg) >= MAILBOX_NODENAME_MAX) {
				log_error("--nodename needs 1 to %d characters",
					  MAILBOX_NODENAME_MAX - 1);
				return EXIT_USAGE;
			}
			arg_nodename = optarg;
			break;
		case 'C':
			/* What a Link CTL ACK can carry. */
			if (!optarg[0] || strlen(optarg) >= MAILBOX_CCLASS_MAX ||
			    strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789-_") != strlen(optarg)) {
				log_error("--cclass needs 1 to %d letters, digits, '-' or '_'",
					  MAILBOX_CCLASS_MAX - 1);
				return EXIT_USAGE;
			}
			arg_cclass = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 0, 86400 * 365, wait_seconds) < 0) {
				log_error("--wait %s is not a number of seconds", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			help();
			return EXIT_OK;
		case 0x100:
			printf("famez-client %s\n", FAMEZ_VERSION);
			return EXIT_OK;
		case ':':
			log_error("option '%s' needs an argument; try 'famez-client --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			log_error("unknown option '%s'; try 'famez-client --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'; commands go in --exec or on standard input",
			  argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char *argv[])
{
	Client c = { .fd = -1,
		     .device_fd = -1,
		     .device_wfd = -1,
		     .reader = WIRE_READER_INIT,
		     .exit_code = EXIT_OK };
	const char *exec = NULL;
	uint64_t wait_seconds = 0;
	_cleanup_free_ char *fm_exec = NULL;
	int r;

	log_open("famez-client");
	c.socket_path = famez_default_socket_path();
	client_state_init(&c.state);
	if (strcmp(program_invocation_short_name, "famez-fm") == 0) {
		FmArgs fm = { 0 };

		log_open("famez-fm");
		/* What it prints is the fabric it found, not what it hears. */
		say_muted = true;
		r = client_fm_args(argc, argv, &fm);
		if (r >= 0)
			return r;
		if (fm.socket)
			c.socket_path = fm.socket;
		c.device_path = fm.device;
		if (fm.verbose)
			log_set_max_level(LOG_DEBUG);
		if (fm.wait && parse_uint(fm.wait, 0, 86400 * 365, &wait_seconds) < 0) {
			log_error("--wait %s is not a number of seconds", fm.wait);
			return EXIT_USAGE;
		}
		exec = fm_exec = strdup(fm.exec);
	} else {
		r = parse_options(argc, argv, &c, &exec, &wait_seconds);
		if (r >= 0)
			return r;
	}

	signal(SIGPIPE, SIG_IGN);
	r = sd_event_new(&c.event);
	if (r < 0) {
		log_error_errno(r, "cannot create the event loop: %m");
		return EXIT_CONNECTION;
	}
	if (exec) {
		c.from_exec = true;
		if (queue_commands(&c, exec) < 0)
			return EXIT_USAGE;
	}

	if (c.device_path) {
		r = client_device_open(&c, arg_nodename, arg_cclass);
		if (r < 0) {
			client_done(&c);
			return EXIT_CONNECTION;
		}
	} else if (connect_server(&c, wait_seconds * 1000000) < 0) {
		client_done(&c);
		return EXIT_CONNECTION;
	} else
		r = sd_event_add_io(c.event, &c.socket_source, c.fd, EPOLLIN, on_socket, &c);
	if (r >= 0 && !exec) {
		r = sd_event_add_io(c.event, &c.stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, &c);
		if (r == -EPERM) {
			/* A regular file or /dev/null cannot be polled: it is read at once, in
			 * full. */
			c.stdin_source = NULL;
			on_stdin(NULL, STDIN_FILENO, EPOLLIN, &c);
			while (!c.stdin_done)
				on_stdin(NULL, STDIN_FILENO, EPOLLIN, &c);
			r = 0;
		}
	}
	if (r < 0) {
		log_error_errno(r, "cannot set up the event loop: %m");
		client_done(&c);
		return EXIT_CONNECTION;
	}

	sd_event_loop(c.event);
	r = c.exit_code;
	client_done(&c);
	return r;
}
