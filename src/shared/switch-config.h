/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology.h"

/*
 * What one switch of famezd is: its socket, its shared memory, its mode and its limits. The
 * default switch is configured by famezd's options, every other one by a file of its own,
 * SWITCHES_DIR/NAME.conf (docs/switches.md):
 *
 *   [Switch]
 *   Mode=fabric
 *   Socket=/run/famez/lab.sock
 *   SID=28
 *   ...
 *
 * Everything here is pure: no fd is opened, nothing is logged; errors come back as one line
 * naming the file, the line and the key.
 */

#define SWITCH_NAME_MAX 32 /* [A-Za-z0-9_]{1,32}: a D-Bus path element and a systemd fd name */
#define SWITCH_DEFAULT_NAME "default"
#define SWITCH_CONFIG_ERROR_MAX 512

/* Where the shared memory handed to every peer lives. */
typedef enum ShmBacking {
	SHM_BACKING_MEMFD,     /* anonymous, sealed against resizing (default) */
	SHM_BACKING_FILE,      /* a regular file: persists across runs */
	SHM_BACKING_POSIX,     /* a POSIX shared memory object, as ivshmem-server -M */
	SHM_BACKING_HUGETLBFS, /* anonymous huge pages of a hugetlbfs mount's size, sealed */
} ShmBacking;

typedef struct ShmConfig {
	ShmBacking backing;
	char *location; /* file path, object name or directory; NULL for memfd (owned) */
	uint64_t size;  /* a power of two */
	bool truncate;  /* SHM_BACKING_FILE/POSIX: resize an existing object of another size */
} ShmConfig;

const char *shm_backing_to_string(ShmBacking backing);

typedef enum SwitchMode {
	SWITCH_MODE_FABRIC,  /* famezd is a FAME-Z peer with a mailbox (the default) */
	SWITCH_MODE_IVSHMEM, /* exactly QEMU's ivshmem-server protocol */
} SwitchMode;

const char *switch_mode_to_string(SwitchMode mode);

/* Which keys a configuration set explicitly (the rest are defaults, some derived). */
typedef enum SwitchConfigKey {
	SWITCH_KEY_MODE = 1u << 0,
	SWITCH_KEY_SOCKET = 1u << 1,
	SWITCH_KEY_SID = 1u << 2,
	SWITCH_KEY_MAX_PEERS = 1u << 3,
	SWITCH_KEY_VECTORS = 1u << 4,
	SWITCH_KEY_SHM_SIZE = 1u << 5,
	SWITCH_KEY_SHM_BACKING = 1u << 6,
	SWITCH_KEY_ACK_TIMEOUT = 1u << 7,
	SWITCH_KEY_SHARED_VECTORS = 1u << 8,
	SWITCH_KEY_MAX_QUEUE = 1u << 9,
	SWITCH_KEY_MAX_QUEUE_FDS = 1u << 10,
	SWITCH_KEY_SHM_TRUNCATE = 1u << 11,
	SWITCH_KEY_LINK = 1u << 12,
	SWITCH_KEY_RELAY = 1u << 13,
	SWITCH_KEY_MANAGED_BY = 1u << 14,
} SwitchConfigKey;

/* Link=PORT:SWITCH:PORT: this switch's link port joined to another switch's. */
typedef struct SwitchLinkConfig {
	unsigned port;
	char peer[SWITCH_NAME_MAX + 1];
	unsigned peer_port;
	unsigned line; /* in source, for messages */
} SwitchLinkConfig;

typedef struct SwitchConfig {
	char name[SWITCH_NAME_MAX + 1];
	char *source; /* the file it came from, for messages; NULL: famezd's options (owned) */
	unsigned set; /* SwitchConfigKey bits */
	SwitchMode mode;
	char *socket_path; /* owned; NULL: the default path for the name (or systemd's socket) */
	ShmConfig shm;
	unsigned vectors;
	unsigned max_peers;
	size_t max_queue;          /* messages queued to one peer before it counts as not reading */
	size_t max_queue_fds;      /* the same in fds: what a peer that never reads keeps open */
	uint64_t ack_timeout_usec; /* fabric mode: how long a receiver may hold the server's slot */
	unsigned sid;              /* fabric mode: the subnet ID the fabric manager assigns */
	bool shared_vectors; /* fabric mode: every peer may ring every vector (FAME-Z's way) */
	/* fabric mode: links to other switches, as this file declares them (either end may). */
	SwitchLinkConfig links[TOPOLOGY_LINKS_MAX];
	unsigned n_links;
	bool relay_always; /* Relay=always: peers' direct doorbells reach no one; all is routed */
	/*
	 * ManagedBy=external: famezd configures nothing; the switch and its peers wait in C-CFG
	 * for a fabric manager's control writes (docs/fabric.md, "Control space").
	 */
	bool managed_external;
	/* Set by switch_configs_check(): the CIDs this switch gives (topology.h). */
	unsigned cid_base, cid_stride;
} SwitchConfig;

/* Defaults, as famezd's options document them. */
#define SWITCH_DEFAULT_SHM_SIZE (UINT64_C(4) << 20)
#define SWITCH_DEFAULT_VECTORS 1
#define SWITCH_MAX_VECTORS 256 /* a guest's doorbell write carries the vector in 8 bits */
#define SWITCH_DEFAULT_MAX_QUEUE (1u << 20)
#define SWITCH_DEFAULT_MAX_QUEUE_FDS 8192
#define SWITCH_DEFAULT_FABRIC_CLIENTS 14
#define SWITCH_DEFAULT_ACK_TIMEOUT_MSEC 1000
#define SWITCH_DEFAULT_SID 27 /* the subnet FAME-Z's fabric manager assigns */
#define SWITCH_SID_MAX 0xffff

/* Whether name is [A-Za-z0-9_]{1,32}. */
bool switch_name_is_valid(const char *name);

/* A configuration with every default and the given name (valid, or the result is -EINVAL). */
int switch_config_init(SwitchConfig *c, const char *name);
void switch_config_done(SwitchConfig *c);

/*
 * Parses the text of one switch's file (source names it in errors) on top of c, which
 * switch_config_init() prepared. 0, or -EINVAL/-ENOMEM with one line in err naming the file,
 * the line and the key ("lab.conf:3: SID=70000: not a subnet ID: a number from 0 to 65535").
 * Unknown keys, sections other than [Switch], keys given twice and values out of range are
 * errors: famezd refuses to start rather than guess.
 */
int switch_config_parse(SwitchConfig *c, const char *source, const char *text, char *err,
			size_t err_size);

/*
 * What a mode implies, once every key is known: in fabric mode the vectors follow the client
 * slots (max_peers + 2), max_peers defaults to 14 and at most fits the mailbox, and the shared
 * memory grows to hold the mailbox (a note in note when a SharedMemorySize= was too small);
 * in ivshmem mode the fabric's keys are errors. 0 or -EINVAL with err set.
 */
int switch_config_finish(SwitchConfig *c, char *note, size_t note_size, char *err, size_t err_size);

/*
 * Checks the switches of one famezd together: names, socket paths and named shared memory must
 * not collide (SIDs may: the switches of one subnet share its CIDs). A fabric switch that did
 * not set its SID gets the lowest free one from SWITCH_DEFAULT_SID up, in the order given (the
 * default switch first, then by name). Then every switch gets its cid_base and cid_stride from
 * switch_configs_topology(), whose refusals it passes on. 0 or -EINVAL with err naming both
 * switches, or the link.
 */
int switch_configs_check(SwitchConfig *const *configs, size_t n, char *err, size_t err_size);

/*
 * The fabric of checked configurations: out[i] is configs[i] (ivshmem-mode switches are down
 * and linkless; n_clients is a fabric switch's max_peers), with every link on both of its ends,
 * up, and the CIDs assigned (topology_assign_cids()). A link may be declared by one end or by
 * both, alike. Links are checked here (and by switch_configs_check()): a link naming an unknown
 * switch or an ivshmem-mode one, a port out of range or used twice, a link of a switch to
 * itself, or two ends that declare it differently: -EINVAL with err naming the file, its line
 * and the link ("lab.conf:4: Link=16:nowhere:16: no switch named nowhere"; "famezd's options"
 * for the default switch). Subnets whose switches cannot share their CIDs: -EINVAL, err naming
 * the SID. -ENOMEM.
 */
int switch_configs_topology(SwitchConfig *const *configs, size_t n, TopoSwitch *out, char *err,
			    size_t err_size);
