/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#include "switch.h"
#include "server.h"
#include "size.h"
#include "wire.h"

#define DEFAULT_SHM_SIZE SWITCH_DEFAULT_SHM_SIZE
#define DEFAULT_VECTORS SWITCH_DEFAULT_VECTORS
/* A guest's doorbell write carries the vector in its low 8 bits (QEMU 7.2 masks it so). */
#define MAX_VECTORS SWITCH_MAX_VECTORS
#define DEFAULT_MAX_QUEUE SWITCH_DEFAULT_MAX_QUEUE
#define DEFAULT_MAX_QUEUE_FDS SWITCH_DEFAULT_MAX_QUEUE_FDS
#define DEFAULT_MAX_JOIN_RATE 1000
#define DEFAULT_FABRIC_CLIENTS SWITCH_DEFAULT_FABRIC_CLIENTS
#define DEFAULT_ACK_TIMEOUT_MSEC SWITCH_DEFAULT_ACK_TIMEOUT_MSEC
#define SWITCH_FILE_MAX (64 * 1024) /* a switch's configuration file, at most */

static const char *arg_pid_file;
static const char *arg_switches_dir = FAMEZ_SYSCONFDIR "/famez/switches.d";
static unsigned arg_max_peers_per_uid, arg_max_join_rate = DEFAULT_MAX_JOIN_RATE;
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
	       "      --managed-by=WHO    fabric mode: famezd (the default) configures the\n"
	       "                          fabric, or external: a manager such as famez-fm does\n"
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
	       "      --switches-dir=DIR  more switches, one NAME.conf file each (default\n"
	       "                          %s)\n"
	       "  -p, --pid-file=PATH     write the process ID to PATH\n"
	       "  -F, --foreground        accepted for ivshmem-server compatibility (famezd\n"
	       "                          always runs in the foreground)\n"
	       "  -v, --verbose           log debug messages\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n"
	       "\n"
	       "The memory is an anonymous memfd unless --shm-file, --shm-name or --hugetlbfs\n"
	       "is given. The options above configure the switch named default; see\n"
	       "famezd(8) and docs/switches.md for the others.\n",
	       famez_default_socket_path(), MAX_VECTORS, DEFAULT_VECTORS, DEFAULT_FABRIC_CLIENTS,
	       WIRE_ID_MAX + 1, DEFAULT_ACK_TIMEOUT_MSEC, FABRIC_SID, DEFAULT_MAX_QUEUE,
	       DEFAULT_MAX_QUEUE_FDS, DEFAULT_MAX_JOIN_RATE, arg_switches_dir);
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
	ARG_MANAGED_BY,
	ARG_SHARED_VECTORS,
	ARG_BUS,
	ARG_FD_STORE,
	ARG_SWITCHES_DIR,
};

static int set_backing(SwitchConfig *c, ShmBacking backing, const char *location)
{
	if (c->shm.backing != SHM_BACKING_MEMFD && c->shm.backing != backing)
		return log_error_errno(EINVAL,
				       "--shm-file, --shm-name and --hugetlbfs exclude each other; "
				       "give one");
	c->shm.backing = backing;
	free(c->shm.location);
	c->shm.location = strdup(location);
	return c->shm.location ? 0 : log_error_errno(ENOMEM, "out of memory");
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
static int fabric_config(SwitchConfig *c)
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
static int parse_argv(int argc, char *argv[], SwitchConfig *c)
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
		{ "managed-by", required_argument, NULL, ARG_MANAGED_BY },
		{ "shared-vectors", no_argument, NULL, ARG_SHARED_VECTORS },
		{ "bus", required_argument, NULL, ARG_BUS },
		{ "fd-store", no_argument, NULL, ARG_FD_STORE },
		{ "switches-dir", required_argument, NULL, ARG_SWITCHES_DIR },
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
			free(c->socket_path);
			c->socket_path = strdup(optarg);
			if (!c->socket_path)
				return log_error_errno(ENOMEM, "out of memory");
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
				c->mode = SWITCH_MODE_FABRIC;
			else if (strcmp(optarg, "ivshmem") == 0)
				c->mode = SWITCH_MODE_IVSHMEM;
			else
				return log_error_errno(
					EINVAL, "--mode %s is not a mode; give fabric or ivshmem",
					optarg);
			break;
		case ARG_FD_STORE:
			arg_fd_store = true;
			break;
		case ARG_SWITCHES_DIR:
			if (!optarg[0])
				return log_error_errno(EINVAL, "--switches-dir needs a directory");
			arg_switches_dir = optarg;
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
		case ARG_MANAGED_BY:
			if (strcmp(optarg, "famezd") != 0 && strcmp(optarg, "external") != 0)
				return log_error_errno(
					EINVAL,
					"--managed-by %s is not a fabric manager; give "
					"famezd or external",
					optarg);
			c->managed_external = strcmp(optarg, "external") == 0;
			c->set |= SWITCH_KEY_MANAGED_BY;
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
			arg_max_peers_per_uid = (unsigned)v;
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
			arg_max_join_rate = (unsigned)v;
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
	if (c->mode == SWITCH_MODE_FABRIC)
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

/*
 * By default one user may take at most half of famezd's fds (each peer costs 1 + vectors), and
 * no more peers than the largest switch holds.
 */
static void default_max_peers_per_uid(SwitchConfig *const *configs, size_t n, rlim_t nofile)
{
	unsigned vectors = 1, peers = 1;

	if (arg_max_peers_per_uid_set)
		return;
	for (size_t i = 0; i < n; i++) {
		vectors = MAX(vectors, configs[i]->vectors);
		peers = MAX(peers, configs[i]->max_peers);
	}
	arg_max_peers_per_uid = (unsigned)MAX(1, MIN(nofile / 2 / (1 + vectors), (rlim_t)peers));
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

/* The switches' configurations, the default one first. */
typedef struct SwitchList {
	SwitchConfig **configs;
	size_t n;
} SwitchList;

static void switch_list_done(SwitchList *l)
{
	for (size_t i = 0; i < l->n; i++) {
		switch_config_done(l->configs[i]);
		free(l->configs[i]);
	}
	free(l->configs);
	*l = (SwitchList){ 0 };
}

static SwitchConfig *switch_list_add(SwitchList *l, const char *name)
{
	SwitchConfig **grown = realloc(l->configs, (l->n + 1) * sizeof(*grown));
	SwitchConfig *c;

	if (!grown)
		return NULL;
	l->configs = grown;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (switch_config_init(c, name) < 0) {
		free(c);
		return NULL;
	}
	l->configs[l->n++] = c;
	return c;
}

static bool switch_list_has(const SwitchList *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->configs[i]->name, name) == 0)
			return true;
	return false;
}

static int read_small_file(int dirfd, const char *name, const char *path, char **ret)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return log_error_errno(errno, "cannot read %s: %m", path);
	buf = malloc(SWITCH_FILE_MAX + 1);
	if (!buf)
		return log_error_errno(ENOMEM, "out of memory");
	n = read(fd, buf, SWITCH_FILE_MAX + 1);
	if (n < 0)
		return log_error_errno(errno, "cannot read %s: %m", path);
	if (n > SWITCH_FILE_MAX)
		return log_error_errno(EFBIG,
				       "%s is larger than %d bytes: not a switch's configuration",
				       path, SWITCH_FILE_MAX);
	if (memchr(buf, '\0', (size_t)n))
		return log_error_errno(EINVAL, "%s holds a NUL byte: not a switch's configuration",
				       path);
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One switch from dir/NAME.conf. */
static int load_switch_file(SwitchList *l, int dirfd, const char *file)
{
	char name[SWITCH_NAME_MAX + 1], path[PATH_MAX], err[SWITCH_CONFIG_ERROR_MAX],
		note[256] = "";
	_cleanup_free_ char *text = NULL;
	size_t len = strlen(file) - strlen(".conf");
	SwitchConfig *c;
	int r;

	snprintf(path, sizeof(path), "%s/%s", arg_switches_dir, file);
	if (len == 0 || len > SWITCH_NAME_MAX)
		return log_error_errno(EINVAL,
				       "%s: a switch's name is 1 to %d letters, digits or _", path,
				       SWITCH_NAME_MAX);
	memcpy(name, file, len);
	name[len] = '\0';
	if (!switch_name_is_valid(name))
		return log_error_errno(EINVAL,
				       "%s: a switch's name is 1 to %d letters, digits or _", path,
				       SWITCH_NAME_MAX);
	if (strcmp(name, SWITCH_DEFAULT_NAME) == 0)
		return log_error_errno(EINVAL,
				       "%s: the default switch is configured by famezd's options "
				       "(FAMEZD_OPTIONS in /etc/default/famez); name this switch "
				       "otherwise",
				       path);
	r = read_small_file(dirfd, file, path, &text);
	if (r < 0)
		return r;
	c = switch_list_add(l, name);
	if (!c)
		return log_error_errno(ENOMEM, "out of memory");
	r = switch_config_parse(c, path, text, err, sizeof(err));
	if (r >= 0)
		r = switch_config_finish(c, note, sizeof(note), err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s", err);
	if (note[0])
		log_notice("%s", note);
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* Every NAME.conf in --switches-dir, by name; a directory that does not exist holds none. */
static int load_switches_dir(SwitchList *l)
{
	_cleanup_(closedirp) DIR *d = opendir(arg_switches_dir);
	char **files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0
				       : log_error_errno(errno, "cannot read --switches-dir %s: %m",
							 arg_switches_dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (grow_array(&files, &cap, n + 1, sizeof(*files)) < 0 ||
		    !(files[n] = strdup(de->d_name))) {
			r = log_error_errno(ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	if (n > 0)
		qsort(files, n, sizeof(*files), name_compare);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = load_switch_file(l, dirfd(d), files[i]);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return r;
}

/*
 * A socket systemd passed as switch-NAME (famez-switch@NAME.socket) for a switch no file
 * configures: that switch runs with every default.
 */
static int add_activated_switches(SwitchList *l, const StoredFds *stored)
{
	char err[SWITCH_CONFIG_ERROR_MAX], note[256];
	size_t plen = strlen(SWITCH_SOCKET_FD_PREFIX);
	size_t first = l->n;

	for (size_t i = 0; i < stored->n; i++) {
		const char *name = stored->names[i] + plen;
		SwitchConfig *c;

		if (strncmp(stored->names[i], SWITCH_SOCKET_FD_PREFIX, plen) != 0 ||
		    sd_is_socket_unix(stored->fds[i], SOCK_STREAM, 1, NULL, 0) <= 0)
			continue;
		if (!switch_name_is_valid(name)) {
			log_warning("systemd passed a socket named %s: %s is not a switch's name "
				    "(1 to %d letters, digits or _); ignoring it",
				    stored->names[i], name, SWITCH_NAME_MAX);
			continue;
		}
		if (switch_list_has(l, name))
			continue;
		c = switch_list_add(l, name);
		if (!c)
			return log_error_errno(ENOMEM, "out of memory");
		if (switch_config_finish(c, note, sizeof(note), err, sizeof(err)) < 0)
			return log_error_errno(EINVAL, "%s", err);
		log_info(
			"switch %s: socket-activated without %s/%s.conf, running with the defaults",
			name, arg_switches_dir, name);
	}
	if (l->n > first + 1)
		qsort(l->configs + first, l->n - first, sizeof(*l->configs), name_compare);
	return 0;
}

static int run(int argc, char *argv[])
{
	SwitchConfig config = {
		.name = SWITCH_DEFAULT_NAME,
		.mode = SWITCH_MODE_FABRIC,
		.ack_timeout_usec = DEFAULT_ACK_TIMEOUT_MSEC * 1000ULL,
		.sid = FABRIC_SID,
		.shm = { .backing = SHM_BACKING_MEMFD, .size = DEFAULT_SHM_SIZE },
		.vectors = DEFAULT_VECTORS,
		.max_peers = WIRE_ID_MAX + 1,
		.max_queue = DEFAULT_MAX_QUEUE,
		.max_queue_fds = DEFAULT_MAX_QUEUE_FDS,
	};
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(server_freep) Server *server = NULL;
	_cleanup_(switch_list_done) SwitchList switches = { 0 };
	char err[SWITCH_CONFIG_ERROR_MAX];
	StoredFds stored = {};
	sigset_t mask;
	int r;

	log_open("famezd");
	r = parse_argv(argc, argv, &config);
	if (r <= 0) {
		switch_config_done(&config);
		return r;
	}
	if (config.shm.truncate && config.shm.backing != SHM_BACKING_FILE &&
	    config.shm.backing != SHM_BACKING_POSIX) {
		switch_config_done(&config);
		return log_error_errno(EINVAL,
				       "--shm-truncate applies to --shm-file or --shm-name");
	}
	/* The default switch's SID is --sid's, or 27: never one given to another switch. */
	config.set = SWITCH_KEY_SID;
	if (!switch_list_add(&switches, SWITCH_DEFAULT_NAME)) {
		switch_config_done(&config);
		return log_error_errno(ENOMEM, "out of memory");
	}
	switch_config_done(switches.configs[0]);
	*switches.configs[0] = config;

	if (arg_fd_store)
		fdstore_enable();
	r = stored_fds_collect(&stored);
	if (r < 0)
		return log_error_errno(r, "cannot take the fds systemd passed: %m");
	r = load_switches_dir(&switches);
	if (r >= 0)
		r = add_activated_switches(&switches, &stored);
	if (r >= 0 && switch_configs_check(switches.configs, switches.n, err, sizeof(err)) < 0)
		r = log_error_errno(EINVAL, "%s", err);
	if (r < 0) {
		stored_fds_done(&stored);
		return r;
	}

	default_max_peers_per_uid(switches.configs, switches.n, raise_nofile_limit());
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Not sd_event_default(): that one asks the kernel its thread ID on every iteration. */
	r = sd_event_new(&event);
	if (r < 0)
		return log_error_errno(r, "cannot create the event loop: %m");
	(void)sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, NULL);
	(void)sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, NULL);
	(void)sd_event_set_watchdog(event, true);

	r = server_new(&server, event, arg_max_peers_per_uid, arg_max_join_rate);
	if (r < 0)
		return log_error_errno(r, "out of memory");
	for (size_t i = 0; r >= 0 && i < switches.n; i++)
		r = server_add_switch(server, switches.configs[i], &stored);
	stored_fds_done(&stored);
	if (r >= 0)
		r = server_link(server);
	if (r < 0)
		return r;
	server_save_state(server, false);
	if (arg_bus != BUS_NONE) {
		/* Without --bus, a machine without a system bus still serves peers. */
		r = bus_service_new(&server->bus, event, server->switches, server->n_switches,
				    server->router, arg_bus, arg_bus_set);
		if (r < 0)
			return r;
		server->shared.status_wanted = true;
	}
	if (arg_pid_file) {
		r = write_pid_file(arg_pid_file);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < server->n_switches; i++)
		switch_log_ready(server->switches[i]);
	if (server->n_switches > 1)
		sd_notifyf(false, "READY=1\nSTATUS=serving %zu switches, 0 peers connected",
			   server->n_switches);
	else
		sd_notifyf(false, "READY=1\nSTATUS=listening on %s, 0 peers connected",
			   server->switches[0]->socket_path);

	r = sd_event_loop(event);
	sd_notify(false, "STOPPING=1");
	/* Peers already given up on do not come back after a restart. */
	server_reap(server);
	/* For the next famezd, if this is a restart: also what peers have not received yet. */
	server_save_state(server, true);
	server_log_totals(server);
	if (arg_pid_file)
		unlink(arg_pid_file);
	return r;
}

int main(int argc, char *argv[])
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
