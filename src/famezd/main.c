/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "fabric.h"
#include "fdstore.h"
#include "log.h"
#include "macro.h"
#include "mailbox.h"
#include "paths.h"
#include "server.h"
#include "size.h"
#include "wire.h"

#define DEFAULT_SHM_SIZE (UINT64_C(4) << 20)
#define DEFAULT_VECTORS 1
/* A guest's doorbell write carries the vector in its low 8 bits (QEMU 7.2 masks it so). */
#define MAX_VECTORS 256
#define DEFAULT_MAX_QUEUE (1u << 20)
#define DEFAULT_MAX_QUEUE_FDS 8192
#define DEFAULT_MAX_JOIN_RATE 1000
#define DEFAULT_FABRIC_CLIENTS 14
#define DEFAULT_ACK_TIMEOUT_MSEC 1000

static const char *arg_pid_file;
static BusKind arg_bus = BUS_SYSTEM;
static bool arg_bus_set;
static bool arg_vectors_set, arg_max_peers_set, arg_shm_size_set, arg_fd_store;
static bool arg_max_peers_per_uid_set, arg_sid_set;

static void help(void)
{
	printf("Usage: famezd [OPTIONS]\n"
	       "\n"
	       "Serve the ivshmem protocol on a UNIX socket: QEMU ivshmem-doorbell devices and\n"
	       "other clients connected to it share memory and ring each other's doorbells.\n"
	       "\n"
	       "      --mode=MODE         fabric (default): famezd is a FAME-Z peer with a\n"
	       "                          mailbox; ivshmem: exactly QEMU's ivshmem-server\n"
	       "  -S, --socket=PATH       listen on PATH (default %s,\n"
	       "                          unless systemd passes a socket)\n"
	       "  -l, --shm-size=SIZE     shared memory size, a power of two with an optional\n"
	       "                          K/M/G/T suffix (default 4M)\n"
	       "  -n, --vectors=N         ivshmem mode: interrupt vectors per peer, 1..%d\n"
	       "                          (default %d; fabric mode: --max-peers + 2)\n"
	       "      --max-peers=N       client slots: refuse clients beyond N connected\n"
	       "                          peers (fabric mode 1..254, default %d; ivshmem mode\n"
	       "                          up to %u, the default)\n"
	       "      --bus=BUS           publish the org.famez API on the system bus (default),\n"
	       "                          the user bus, or none\n"
	       "      --fd-store          keep peers connected across restarts in systemd's\n"
	       "                          file descriptor store (FileDescriptorStoreMax=)\n"
	       "      --ack-timeout=MSEC  fabric mode: how long a peer may leave the server's\n"
	       "                          message unacknowledged (default %d)\n"
	       "      --sid=N             fabric mode: the subnet ID peers are configured with\n"
	       "                          (0..65535, default %d)\n"
	       "      --shared-vectors    fabric mode: let every peer ring every vector of\n"
	       "                          every other, as FAME-Z does (default: a peer reaches\n"
	       "                          only the vector that names itself)\n"
	       "      --shm-file=PATH     keep the memory in a regular file (created if missing)\n"
	       "      --shm-truncate      resize an existing --shm-file/--shm-name of another "
	       "size\n"
	       "  -M, --shm-name=NAME     use the POSIX shared memory object NAME\n"
	       "  -m, --hugetlbfs=DIR     use an unlinked file in the hugetlbfs mount DIR\n"
	       "      --max-queue=N       messages waiting for one peer beyond its handshake\n"
	       "                          before it is disconnected as not reading\n"
	       "                          (default %u)\n"
	       "      --max-queue-fds=N   the same in file descriptors, which a peer that\n"
	       "                          does not read keeps open (default %u)\n"
	       "      --max-peers-per-uid=N  peers one user may have connected or waiting\n"
	       "                          (default: as many as half the open-file limit\n"
	       "                          serves; root is not limited)\n"
	       "      --max-join-rate=N   joins a second one user may make; faster ones wait\n"
	       "                          their turn (default %u, 0: no limit; root is not\n"
	       "                          limited)\n"
	       "  -p, --pid-file=PATH     write the process ID to PATH\n"
	       "  -F, --foreground        accepted for ivshmem-server compatibility (famezd\n"
	       "                          always runs in the foreground)\n"
	       "  -v, --verbose           log debug messages\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n"
	       "\n"
	       "The memory is an anonymous memfd unless --shm-file, --shm-name or --hugetlbfs\n"
	       "is given. See famezd(8).\n",
	       famez_default_socket_path(), MAX_VECTORS, DEFAULT_VECTORS, DEFAULT_FABRIC_CLIENTS,
	       WIRE_ID_MAX + 1, DEFAULT_ACK_TIMEOUT_MSEC, FABRIC_SID, DEFAULT_MAX_QUEUE,
	       DEFAULT_MAX_QUEUE_FDS,
	       DEFAULT_MAX_JOIN_RATE);
}

enum {
	ARG_VERSION = 0x100,
	ARG_MAX_PEERS,
	ARG_SHM_FILE,
	ARG_SHM_TRUNCATE,
	ARG_MAX_QUEUE,
	ARG_MAX_QUEUE_FDS,
	ARG_MAX_PEERS_PER_UID,
	ARG_MAX_JOIN_RATE,
	ARG_MODE,
	ARG_ACK_TIMEOUT,
	ARG_SID,
	ARG_SHARED_VECTORS,
	ARG_BUS,
	ARG_FD_STORE,
};

static int set_backing(ServerConfig *c, ShmBacking backing, const char *location)
{
	if (c->shm.backing != SHM_BACKING_MEMFD && c->shm.backing != backing)
		return log_error_errno(EINVAL,
				       "--shm-file, --shm-name and --hugetlbfs exclude each other; "
				       "give one");
	c->shm.backing = backing;
	c->shm.location = location;
	return 0;
}

static int size_error(const char *arg, uint64_t size)
{
	char below[SIZE_STR_MAX], above[SIZE_STR_MAX];
	uint64_t up = size_pow2_above(size);

	if (up == 0)
		return log_error_errno(EINVAL, "--shm-size %s is not a power of two; try %s", arg,
				       format_size(size_pow2_below(size), below));
	return log_error_errno(EINVAL, "--shm-size %s is not a power of two; try %s or %s", arg,
			       format_size(size_pow2_below(size), below), format_size(up, above));
}

/*
 * Fabric mode derives the vectors from the client slots (vector index = sender ID) and needs
 * room for the mailbox at the start of the shared memory.
 */
static int fabric_config(ServerConfig *c)
{
	char have[SIZE_STR_MAX], need_str[SIZE_STR_MAX];
	uint64_t need;

	if (arg_vectors_set)
		return log_error_errno(EINVAL,
				       "--vectors applies to --mode ivshmem; in fabric mode every "
				       "peer has --max-peers + 2 vectors");
	if (!arg_max_peers_set)
		c->max_peers = DEFAULT_FABRIC_CLIENTS;
	if (c->max_peers > MAILBOX_CLIENTS_MAX)
		return log_error_errno(EINVAL,
				       "--max-peers %u is too many for fabric mode: at most %d, so "
				       "that a guest can ring every vector; use --mode ivshmem for "
				       "more",
				       c->max_peers, MAILBOX_CLIENTS_MAX);
	c->vectors = c->max_peers + 2;

	need = size_pow2_above(mailbox_size(c->max_peers));
	if (c->shm.size < need) {
		if (arg_shm_size_set)
			log_notice("--shm-size %s cannot hold the mailbox of %u client slots; "
				   "using %s",
				   format_size(c->shm.size, have), c->max_peers,
				   format_size(need, need_str));
		c->shm.size = need;
	}
	return 1;
}

/* Returns 1 to run, 0 to exit successfully (help, version), -errno on a bad option. */
static int parse_argv(int argc, char *argv[], ServerConfig *c)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "shm-size", required_argument, NULL, 'l' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "shm-name", required_argument, NULL, 'M' },
		{ "hugetlbfs", required_argument, NULL, 'm' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "max-peers", required_argument, NULL, ARG_MAX_PEERS },
		{ "shm-file", required_argument, NULL, ARG_SHM_FILE },
		{ "shm-truncate", no_argument, NULL, ARG_SHM_TRUNCATE },
		{ "max-queue", required_argument, NULL, ARG_MAX_QUEUE },
		{ "max-queue-fds", required_argument, NULL, ARG_MAX_QUEUE_FDS },
		{ "max-peers-per-uid", required_argument, NULL, ARG_MAX_PEERS_PER_UID },
		{ "max-join-rate", required_argument, NULL, ARG_MAX_JOIN_RATE },
		{ "mode", required_argument, NULL, ARG_MODE },
		{ "ack-timeout", required_argument, NULL, ARG_ACK_TIMEOUT },
		{ "sid", required_argument, NULL, ARG_SID },
		{ "shared-vectors", no_argument, NULL, ARG_SHARED_VECTORS },
		{ "bus", required_argument, NULL, ARG_BUS },
		{ "fd-store", no_argument, NULL, ARG_FD_STORE },
		{},
	};
	uint64_t v;
	int opt, r;

	opterr = 0; /* one message of our own per error */
	while ((opt = getopt_long(argc, argv, ":S:l:n:M:m:p:Fvh", options, NULL)) >= 0) {
		switch (opt) {
		case 'S':
			if (!optarg[0])
				return log_error_errno(EINVAL, "--socket needs a path");
			c->socket_path = optarg;
			break;
		case 'l':
			r = parse_size(optarg, &v);
			if (r == -ERANGE)
				return log_error_errno(r, "--shm-size %s is too large", optarg);
			if (r < 0)
				return log_error_errno(
					r,
					"--shm-size %s is not a size; give bytes or a "
					"number with K, M, G or T, like 4M",
					optarg);
			if (!size_is_pow2(v))
				return size_error(optarg, v);
			c->shm.size = v;
			arg_shm_size_set = true;
			break;
		case 'n':
			r = parse_uint(optarg, 1, MAX_VECTORS, &v);
			if (r < 0)
				return log_error_errno(
					r,
					"--vectors %s is not a number from 1 to %d "
					"(a guest's doorbell write addresses at most %d "
					"vectors)",
					optarg, MAX_VECTORS, MAX_VECTORS);
			c->vectors = (unsigned)v;
			arg_vectors_set = true;
			break;
		case ARG_MAX_PEERS:
			r = parse_uint(optarg, 1, WIRE_ID_MAX + 1, &v);
			if (r < 0)
				return log_error_errno(
					r,
					"--max-peers %s is not a number from 1 to %d "
					"(peer IDs are 16 bits)",
					optarg, WIRE_ID_MAX + 1);
			c->max_peers = (unsigned)v;
			arg_max_peers_set = true;
			break;
		case ARG_MODE:
			if (strcmp(optarg, "fabric") == 0)
				c->mode = SERVER_MODE_FABRIC;
			else if (strcmp(optarg, "ivshmem") == 0)
				c->mode = SERVER_MODE_IVSHMEM;
			else
				return log_error_errno(
					EINVAL, "--mode %s is not a mode; give fabric or ivshmem",
					optarg);
			break;
		case ARG_FD_STORE:
			arg_fd_store = true;
			break;
		case ARG_BUS:
			if (strcmp(optarg, "system") == 0)
				arg_bus = BUS_SYSTEM;
			else if (strcmp(optarg, "user") == 0)
				arg_bus = BUS_USER;
			else if (strcmp(optarg, "none") == 0)
				arg_bus = BUS_NONE;
			else
				return log_error_errno(
					EINVAL,
					"--bus %s is not a bus; give system, user or "
					"none",
					optarg);
			arg_bus_set = true;
			break;
		case ARG_ACK_TIMEOUT:
			r = parse_uint(optarg, 1, 3600 * 1000, &v);
			if (r < 0)
				return log_error_errno(
					r,
					"--ack-timeout %s is not a number of milliseconds "
					"from 1 to 3600000",
					optarg);
			c->ack_timeout_usec = v * 1000;
			break;
		case ARG_SID:
			r = parse_uint(optarg, 0, FABRIC_SID_MAX, &v);
			if (r < 0)
				return log_error_errno(
					r, "--sid %s is not a subnet ID: a number from 0 to %d",
					optarg, FABRIC_SID_MAX);
			c->sid = (unsigned)v;
			arg_sid_set = true;
			break;
		case ARG_SHARED_VECTORS:
			c->shared_vectors = true;
			break;
		case ARG_MAX_QUEUE:
			r = parse_uint(optarg, 64, UINT32_MAX, &v);
			if (r < 0)
				return log_error_errno(
					r, "--max-queue %s is not a number from 64 to %u", optarg,
					UINT32_MAX);
			c->max_queue = (size_t)v;
			break;
		case ARG_MAX_QUEUE_FDS:
			r = parse_uint(optarg, 64, UINT32_MAX, &v);
			if (r < 0)
				return log_error_errno(
					r, "--max-queue-fds %s is not a number from 64 to %u",
					optarg, UINT32_MAX);
			c->max_queue_fds = (size_t)v;
			break;
		case ARG_MAX_PEERS_PER_UID:
			r = parse_uint(optarg, 1, WIRE_ID_MAX + 1, &v);
			if (r < 0)
				return log_error_errno(
					r, "--max-peers-per-uid %s is not a number from 1 to %d",
					optarg, WIRE_ID_MAX + 1);
			c->max_peers_per_uid = (unsigned)v;
			arg_max_peers_per_uid_set = true;
			break;
		case ARG_MAX_JOIN_RATE:
			r = parse_uint(optarg, 0, 1000000, &v);
			if (r < 0)
				return log_error_errno(
					r,
					"--max-join-rate %s is not a number of joins a second from "
					"0 (no limit) to 1000000",
					optarg);
			c->max_join_rate = (unsigned)v;
			break;
		case 'M':
			r = set_backing(c, SHM_BACKING_POSIX, optarg);
			if (r < 0)
				return r;
			break;
		case 'm':
			r = set_backing(c, SHM_BACKING_HUGETLBFS, optarg);
			if (r < 0)
				return r;
			break;
		case ARG_SHM_FILE:
			r = set_backing(c, SHM_BACKING_FILE, optarg);
			if (r < 0)
				return r;
			break;
		case ARG_SHM_TRUNCATE:
			c->shm.truncate = true;
			break;
		case 'p':
			arg_pid_file = optarg;
			break;
		case 'F':
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("famezd %s\n", FAMEZ_VERSION);
			return 0;
		case ':':
			return log_error_errno(EINVAL,
					       "option '%s' needs an argument; try 'famezd --help'",
					       argv[optind - 1]);
		default:
			return log_error_errno(EINVAL, "unknown option '%s'; try 'famezd --help'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "unexpected argument '%s'; try 'famezd --help'",
				       argv[optind]);
	if (c->mode == SERVER_MODE_FABRIC)
		return fabric_config(c);
	if (c->shared_vectors || arg_sid_set)
		return log_error_errno(EINVAL, "--%s applies to fabric mode; ivshmem mode has no "
					       "fabric manager and every vector is shared",
				       c->shared_vectors ? "shared-vectors" : "sid");
	return 1;
}

/*
 * Every peer needs its socket and its eventfds: take all the fds the hard limit allows.
 * Returns the limit in force.
 */
static rlim_t raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur >= rl.rlim_max)
		return rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warning_errno(errno, "cannot raise the open-file limit: %m");
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* By default one user may take at most half of famezd's fds (each peer costs 1 + vectors). */
static void default_max_peers_per_uid(ServerConfig *c, rlim_t nofile)
{
	rlim_t n = nofile / 2 / (1 + c->vectors);

	if (!arg_max_peers_per_uid_set)
		c->max_peers_per_uid = (unsigned)MAX(1, MIN(n, (rlim_t)c->max_peers));
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return log_error_errno(errno, "cannot write --pid-file %s: %m", path);
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0)
		return log_error_errno(errno, "cannot write --pid-file %s: %m", path);
	return 0;
}

static int on_exit_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *data)
{
	(void)data;
	log_info("received %s, exiting", strsignal((int)si->ssi_signo));
	return sd_event_exit(sd_event_source_get_event(source), 0);
}

static int run(int argc, char *argv[])
{
	ServerConfig config = {
		.mode = SERVER_MODE_FABRIC,
		.ack_timeout_usec = DEFAULT_ACK_TIMEOUT_MSEC * 1000ULL,
		.sid = FABRIC_SID,
		.shm = { .backing = SHM_BACKING_MEMFD, .size = DEFAULT_SHM_SIZE },
		.vectors = DEFAULT_VECTORS,
		.max_peers = WIRE_ID_MAX + 1,
		.max_queue = DEFAULT_MAX_QUEUE,
		.max_queue_fds = DEFAULT_MAX_QUEUE_FDS,
		.max_join_rate = DEFAULT_MAX_JOIN_RATE,
	};
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(server_freep) Server *server = NULL;
	StoredFds stored = {};
	char size[SIZE_STR_MAX];
	sigset_t mask;
	int r;

	log_open("famezd");
	r = parse_argv(argc, argv, &config);
	if (r <= 0)
		return r;
	if (config.shm.truncate && config.shm.backing != SHM_BACKING_FILE &&
	    config.shm.backing != SHM_BACKING_POSIX)
		return log_error_errno(EINVAL,
				       "--shm-truncate applies to --shm-file or --shm-name");

	default_max_peers_per_uid(&config, raise_nofile_limit());
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "cannot create the event loop: %m");
	(void)sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, NULL);
	(void)sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, NULL);
	(void)sd_event_set_watchdog(event, true);

	if (arg_fd_store)
		fdstore_enable();
	r = stored_fds_collect(&stored);
	if (r < 0)
		return log_error_errno(r, "cannot take the fds systemd passed: %m");
	r = server_new(&server, event, &config, &stored);
	if (r < 0)
		return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
	r = server_start(server, &stored);
	if (r < 0)
		return r;
	if (server->restoring) {
		r = fdstore_restore_peers(server, &stored);
		if (r < 0)
			log_warning("starting without the peers of the previous famezd");
	}
	stored_fds_done(&stored);
	(void)fdstore_save_state(server, false);
	if (arg_bus != BUS_NONE) {
		/* Without --bus, a machine without a system bus still serves peers. */
		r = bus_service_new(&server->bus, server, arg_bus, arg_bus_set);
		if (r < 0)
			return r;
	}
	if (arg_pid_file) {
		r = write_pid_file(arg_pid_file);
		if (r < 0)
			return r;
	}

	log_info("listening on %s (%s mode): %s shared memory of %s, %u vector%s per peer, "
		 "at most %u peers",
		 server->socket_path, server_mode_to_string(config.mode),
		 shm_backing_to_string(config.shm.backing), format_size(config.shm.size, size),
		 config.vectors, config.vectors == 1 ? "" : "s", config.max_peers);
	sd_notifyf(false, "READY=1\nSTATUS=listening on %s, 0 peers connected",
		   server->socket_path);

	r = sd_event_loop(event);
	sd_notify(false, "STOPPING=1");
	/* Peers already given up on do not come back after a restart. */
	server_reap(server);
	/* For the next famezd, if this is a restart: also what peers have not received yet. */
	(void)fdstore_save_state(server, true);
	log_info("served %llu peers, refused %llu, %llu left, %llu protocol errors",
		 (unsigned long long)server->counters.peers_accepted,
		 (unsigned long long)server->counters.peers_rejected,
		 (unsigned long long)server->counters.peers_disconnected,
		 (unsigned long long)server->counters.protocol_errors);
	if (config.mode == SERVER_MODE_FABRIC)
		log_info("mailbox: %llu messages received, %llu sent, %llu unacknowledged, "
			 "%llu unknown; %llu interrupts received, %llu sent",
			 (unsigned long long)server->counters.messages_received,
			 (unsigned long long)server->counters.messages_sent,
			 (unsigned long long)server->counters.messages_unacknowledged,
			 (unsigned long long)server->counters.messages_unknown,
			 (unsigned long long)server->counters.interrupts_received,
			 (unsigned long long)server->counters.interrupts_sent);
	if (arg_pid_file)
		unlink(arg_pid_file);
	return r;
}

int main(int argc, char *argv[])
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
