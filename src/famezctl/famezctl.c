/* SPDX-License-Identifier: MIT */
/* famezctl: the command line over famezd's org.famez D-Bus API. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "control-msg.h"
#include "control-view.h"
#include "fabric-view.h"
#include "json.h"
#include "macro.h"
#include "size.h"
#include "strutil.h"
#include "switch-config.h"
#include "time-util.h"

#define BUS_NAME "org.famez"
#define BUS_PATH "/org/famez"
#define SWITCH_PATH "/org/famez/switch"
#define SERVER_INTERFACE "org.famez.Server1"
#define SWITCH_INTERFACE "org.famez.Switch1"
#define PEER_INTERFACE "org.famez.Peer1"
#define PATH_MAX_LEN (sizeof(SWITCH_PATH) + SWITCH_NAME_MAX + 1)

/* Exit codes a script can rely on (see famezctl(1)). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_RUNNING = 3,
	EXIT_DENIED = 4,
	EXIT_NO_SUCH_PEER = 5,
	EXIT_NO_SUCH_SWITCH = 6,
};

static bool arg_user, arg_json, arg_dot, arg_no_ask_password;
static unsigned arg_count = 1;
static const char *arg_switch; /* NULL: the default switch, at /org/famez */
static pid_t agent_pid;

/* One switch as famezctl shows it: its Switch1 properties, and the peers it lists. */
typedef struct SwitchInfo {
	char *name, *version, *mode, *socket_path, *backing;
	uint64_t shm_size, started_at;
	uint32_t vectors, max_peers, peer_count;
	uint16_t sid;
	int32_t server_peer_id;
	uint64_t accepted, rejected, disconnected, interrupts_sent, interrupts_received,
		messages_sent, messages_received, protocol_errors;
	/* What famezd held back or undid (absent from an older famezd: 0). */
	uint64_t delayed, pauses, interrupts_full, messages_unknown, shm_resizes, log_suppressed;
	uint64_t relays_routed, relays_dropped, relays_refused;
	uint32_t ids_parked;
} SwitchInfo;

typedef struct PeerInfo {
	uint16_t id;
	char *path;
	uint32_t pid, uid, vectors;
	uint64_t connected_at;
	uint16_t sid, cid;
	char *nodename, *cclass, *vm_name, *link_state;
} PeerInfo;

/*
 * The object a command about switch name (NULL: the default switch) calls: the default switch
 * where it always was, Server1 at /org/famez; any switch named at /org/famez/switch/NAME.
 */
static const char *switch_object(const char *name, char path[PATH_MAX_LEN])
{
	if (!name)
		return BUS_PATH;
	snprintf(path, PATH_MAX_LEN, SWITCH_PATH "/%s", name);
	return path;
}

static const char *switch_interface(const char *name)
{
	return name ? SWITCH_INTERFACE : SERVER_INTERFACE;
}

/* Maps a D-Bus error to our exit code and prints it as one line. */
static int fail(const sd_bus_error *e, int r, const char *what)
{
	if (e && sd_bus_error_is_set(e)) {
		/* A switch's object that is not there: famezd has no such switch. */
		if (arg_switch && sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_OBJECT,
							 SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
			fprintf(stderr,
				"famezctl: famezd has no switch '%s'; 'famezctl switches' lists "
				"them\n",
				arg_switch);
			return EXIT_NO_SUCH_SWITCH;
		}
		fprintf(stderr, "famezctl: %s\n", e->message ? e->message : e->name);
		if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
					   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
			return EXIT_DENIED;
		if (sd_bus_error_has_name(e, "org.famez.Error.NoSuchPeer"))
			return EXIT_NO_SUCH_PEER;
		if (sd_bus_error_has_name(e, "org.famez.Error.NoSuchSwitch"))
			return EXIT_NO_SUCH_SWITCH;
		if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
					   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
			fprintf(stderr, "famezctl: famezd is not running on the %s bus\n",
				arg_user ? "user" : "system");
			return EXIT_NOT_RUNNING;
		}
		return EXIT_FAILED;
	}
	fprintf(stderr, "famezctl: %s: %s\n", what, strerror(-r));
	return EXIT_FAILED;
}

/* ---- property maps ---- */

typedef struct PropertyMap {
	const char *name;
	char type;
	void *target;
} PropertyMap;

/* Reads an a{sv} of properties into the fields the map names; others are skipped. */
static int read_properties(sd_bus_message *m, const PropertyMap *map)
{
	int r = sd_bus_message_enter_container(m, 'a', "{sv}");

	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const PropertyMap *p;
		const char *name;

		r = sd_bus_message_read(m, "s", &name);
		if (r < 0)
			return r;
		for (p = map; p->name && strcmp(p->name, name) != 0; p++)
			;
		if (p->name) {
			char sig[2] = { p->type, 0 };

			r = sd_bus_message_enter_container(m, 'v', sig);
			if (r < 0)
				return r;
			if (p->type == 's') {
				const char *s;

				/* Peers choose their names: never print them raw on a terminal. */
				r = sd_bus_message_read(m, "s", &s);
				if (r >= 0 &&
				    !(*(char **)p->target = str_sanitize(s, strlen(s), SIZE_MAX)))
					r = -ENOMEM;
			} else
				r = sd_bus_message_read_basic(m, p->type, p->target);
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(m);
		} else
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int get_all(sd_bus *bus, const char *path, const char *interface, const PropertyMap *map,
		   sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
				   error, &reply, "s", interface);

	return r < 0 ? r : read_properties(reply, map);
}

/* The properties of switch name's Switch1 object. */
static int get_switch(sd_bus *bus, const char *name, SwitchInfo *i, sd_bus_error *error)
{
	char path[PATH_MAX_LEN];
	const PropertyMap map[] = {
		{ "Name", 's', &i->name },
		{ "SID", 'q', &i->sid },
		{ "Version", 's', &i->version },
		{ "Mode", 's', &i->mode },
		{ "SocketPath", 's', &i->socket_path },
		{ "SharedMemoryBacking", 's', &i->backing },
		{ "SharedMemorySize", 't', &i->shm_size },
		{ "Vectors", 'u', &i->vectors },
		{ "MaxPeers", 'u', &i->max_peers },
		{ "ServerPeerId", 'i', &i->server_peer_id },
		{ "PeerCount", 'u', &i->peer_count },
		{ "StartedAt", 't', &i->started_at },
		{ "PeersAccepted", 't', &i->accepted },
		{ "PeersRejected", 't', &i->rejected },
		{ "PeersDisconnected", 't', &i->disconnected },
		{ "InterruptsSent", 't', &i->interrupts_sent },
		{ "InterruptsReceived", 't', &i->interrupts_received },
		{ "MessagesSent", 't', &i->messages_sent },
		{ "MessagesReceived", 't', &i->messages_received },
		{ "ProtocolErrors", 't', &i->protocol_errors },
		{ "PeersDelayed", 't', &i->delayed },
		{ "AdmissionPauses", 't', &i->pauses },
		{ "InterruptsFull", 't', &i->interrupts_full },
		{ "MessagesUnknown", 't', &i->messages_unknown },
		{ "SharedMemoryResizes", 't', &i->shm_resizes },
		{ "LogMessagesSuppressed", 't', &i->log_suppressed },
		{ "IdsParked", 'u', &i->ids_parked },
		{ "RelaysRouted", 't', &i->relays_routed },
		{ "RelaysDropped", 't', &i->relays_dropped },
		{ "RelaysRefused", 't', &i->relays_refused },
		{},
	};

	return get_all(bus, switch_object(name, path), SWITCH_INTERFACE, map, error);
}

static void switch_info_done(SwitchInfo *i)
{
	free(i->name);
	free(i->version);
	free(i->mode);
	free(i->socket_path);
	free(i->backing);
}

static void peers_free(PeerInfo *peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(peers[i].path);
		free(peers[i].nodename);
		free(peers[i].cclass);
		free(peers[i].vm_name);
		free(peers[i].link_state);
	}
	free(peers);
}

/* The peers of switch name (NULL: the default switch), listed by the object switch_object() names.
 */
static int get_peers(sd_bus *bus, const char *name, PeerInfo **ret, size_t *n_ret,
		     sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char object[PATH_MAX_LEN];
	PeerInfo *peers = NULL;
	size_t n = 0;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, switch_object(name, object), switch_interface(name),
			       "ListPeers", error, &reply, NULL);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "(qouuts)");
	if (r < 0)
		return r;
	for (;;) {
		const char *path, *nodename;
		PeerInfo *p;

		p = realloc(peers, (n + 1) * sizeof(*peers));
		if (!p) {
			peers_free(peers, n);
			return -ENOMEM;
		}
		peers = p;
		p = &peers[n];
		memset(p, 0, sizeof(*p));
		r = sd_bus_message_read(reply, "(qouuts)", &p->id, &path, &p->pid, &p->uid,
					&p->connected_at, &nodename);
		if (r <= 0)
			break;
		p->path = strdup(path);
		n++;
		{
			const PropertyMap map[] = {
				{ "Nodename", 's', &p->nodename },
				{ "CClass", 's', &p->cclass },
				{ "VmName", 's', &p->vm_name },
				{ "Vectors", 'u', &p->vectors },
				{ "LinkState", 's', &p->link_state },
				{ "SID", 'q', &p->sid },
				{ "CID", 'q', &p->cid },
				{},
			};
			sd_bus_error e = SD_BUS_ERROR_NULL;

			/* A peer that left meanwhile keeps what ListPeers said. */
			if (get_all(bus, p->path, PEER_INTERFACE, map, &e) < 0 && !p->nodename)
				p->nodename = str_sanitize(nodename, strlen(nodename), SIZE_MAX);
			sd_bus_error_free(&e);
		}
	}
	if (r < 0) {
		peers_free(peers, n);
		return r;
	}
	*ret = peers;
	*n_ret = n;
	return 0;
}

/* ---- output ---- */

static const char *format_time(uint64_t usec, char buf[32])
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (!usec || !localtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, 32, "-");
	return buf;
}

static const char *format_ago(uint64_t usec, char buf[32])
{
	uint64_t now = now_usec(CLOCK_REALTIME), s = now > usec ? (now - usec) / 1000000 : 0;

	if (s < 120)
		snprintf(buf, 32, "%" PRIu64 "s ago", s);
	else if (s < 7200)
		snprintf(buf, 32, "%" PRIu64 "min ago", s / 60);
	else if (s < 172800)
		snprintf(buf, 32, "%" PRIu64 "h ago", s / 3600);
	else
		snprintf(buf, 32, "%" PRIu64 " days ago", s / 86400);
	return buf;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_peer_table(const PeerInfo *peers, size_t n)
{
	if (n == 0) {
		printf("No peers connected.\n");
		return;
	}
	printf("%5s  %-16s %-12s %-10s %5s %5s  %-16s %8s  %s\n", "ID", "NODENAME", "C-CLASS",
	       "LINK", "CID", "SID", "VM", "PID", "CONNECTED");
	for (size_t i = 0; i < n; i++) {
		const PeerInfo *p = &peers[i];
		bool configured = p->link_state && strcmp(p->link_state, "configured") == 0;
		char when[32], cid[8] = "-", sid[8] = "-";

		if (configured) {
			snprintf(cid, sizeof(cid), "%u", p->cid);
			snprintf(sid, sizeof(sid), "%u", p->sid);
		}
		printf("%5u  %-16s %-12s %-10s %5s %5s  %-16s %8" PRIu32 "  %s\n", p->id,
		       or_dash(p->nodename), or_dash(p->cclass), or_dash(p->link_state), cid, sid,
		       or_dash(p->vm_name), p->pid, format_time(p->connected_at, when));
	}
}

static void json_peer(Json *j, const PeerInfo *p)
{
	json_object_begin(j);
	json_key_uint(j, "id", p->id);
	json_key_string(j, "path", p->path);
	json_key_string(j, "nodename", p->nodename ? p->nodename : "");
	json_key_string(j, "cclass", p->cclass ? p->cclass : "");
	json_key_string(j, "link_state", p->link_state ? p->link_state : "");
	json_key_uint(j, "cid", p->cid);
	json_key_uint(j, "sid", p->sid);
	json_key_string(j, "vm_name", p->vm_name ? p->vm_name : "");
	json_key_uint(j, "pid", p->pid);
	json_key_uint(j, "uid", p->uid);
	json_key_uint(j, "vectors", p->vectors);
	json_key_uint(j, "connected_at", p->connected_at);
	json_object_end(j);
}

static void json_peers(Json *j, const PeerInfo *peers, size_t n)
{
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_peer(j, &peers[i]);
	json_array_end(j);
}

/* One switch's fields; the same at the top of status's document and in its "switches". */
static void json_switch(Json *j, const SwitchInfo *i, const PeerInfo *peers, size_t n)
{
	json_key_string(j, "name", i->name);
	json_key_string(j, "version", i->version);
	json_key_string(j, "mode", i->mode);
	json_key_uint(j, "sid", i->sid);
	json_key_string(j, "socket_path", i->socket_path);
	json_key_string(j, "shared_memory_backing", i->backing);
	json_key_uint(j, "shared_memory_size", i->shm_size);
	json_key_uint(j, "vectors", i->vectors);
	json_key_uint(j, "max_peers", i->max_peers);
	json_key_int(j, "server_peer_id", i->server_peer_id);
	json_key_uint(j, "peer_count", i->peer_count);
	json_key_uint(j, "started_at", i->started_at);
	json_key(j, "counters");
	json_object_begin(j);
	json_key_uint(j, "peers_accepted", i->accepted);
	json_key_uint(j, "peers_rejected", i->rejected);
	json_key_uint(j, "peers_disconnected", i->disconnected);
	json_key_uint(j, "interrupts_sent", i->interrupts_sent);
	json_key_uint(j, "interrupts_received", i->interrupts_received);
	json_key_uint(j, "messages_sent", i->messages_sent);
	json_key_uint(j, "messages_received", i->messages_received);
	json_key_uint(j, "protocol_errors", i->protocol_errors);
	json_key_uint(j, "peers_delayed", i->delayed);
	json_key_uint(j, "admission_pauses", i->pauses);
	json_key_uint(j, "interrupts_full", i->interrupts_full);
	json_key_uint(j, "messages_unknown", i->messages_unknown);
	json_key_uint(j, "shared_memory_resizes", i->shm_resizes);
	json_key_uint(j, "log_messages_suppressed", i->log_suppressed);
	json_key_uint(j, "ids_parked", i->ids_parked);
	json_key_uint(j, "relays_routed", i->relays_routed);
	json_key_uint(j, "relays_dropped", i->relays_dropped);
	json_key_uint(j, "relays_refused", i->relays_refused);
	json_object_end(j);
	json_key(j, "peers");
	json_peers(j, peers, n);
}

/* One switch's lines of status, then its peers. */
static void print_switch(const SwitchInfo *i, const PeerInfo *peers, size_t n)
{
	char size[SIZE_STR_MAX], started[32], ago[32];

	printf("     Socket: %s\n", i->socket_path);
	printf("     Memory: %s, %s\n", i->backing, format_size(i->shm_size, size));
	if (i->server_peer_id >= 0)
		printf("    Vectors: %" PRIu32 " per peer; the server is peer %" PRIi32 "\n",
		       i->vectors, i->server_peer_id);
	else
		printf("    Vectors: %" PRIu32 " per peer\n", i->vectors);
	printf("      Peers: %" PRIu32 " of %" PRIu32 "\n", i->peer_count, i->max_peers);
	printf("    Started: %s (%s)\n", format_time(i->started_at, started),
	       format_ago(i->started_at, ago));
	printf("   Counters: %" PRIu64 " accepted, %" PRIu64 " refused, %" PRIu64
	       " delayed, %" PRIu64 " disconnected, %" PRIu64 " protocol errors\n",
	       i->accepted, i->rejected, i->delayed, i->disconnected, i->protocol_errors);
	printf(" Interrupts: %" PRIu64 " received, %" PRIu64 " sent, %" PRIu64
	       " not rung (counter full)\n",
	       i->interrupts_received, i->interrupts_sent, i->interrupts_full);
	if (i->server_peer_id >= 0)
		printf("    Mailbox: %" PRIu64 " messages received (%" PRIu64 " unknown), %" PRIu64
		       " sent\n",
		       i->messages_received, i->messages_unknown, i->messages_sent);
	if (i->server_peer_id >= 0)
		printf("     Relays: %" PRIu64 " routed, %" PRIu64 " dropped, %" PRIu64
		       " refused (famezctl topology, famezctl routes)\n",
		       i->relays_routed, i->relays_dropped, i->relays_refused);
	if (i->log_suppressed || i->shm_resizes || i->ids_parked)
		printf("  Held back: %" PRIu64 " log lines about peers, %" PRIu64
		       " memory resizes undone, %" PRIu32 " IDs parked\n",
		       i->log_suppressed, i->shm_resizes, i->ids_parked);
	printf("\n");
	print_peer_table(peers, n);
}

/* A switch as status shows it. */
typedef struct SwitchStatus {
	SwitchInfo info;
	PeerInfo *peers;
	size_t n_peers;
} SwitchStatus;

static void switches_free(SwitchStatus *switches, size_t n)
{
	for (size_t i = 0; switches && i < n; i++) {
		switch_info_done(&switches[i].info);
		peers_free(switches[i].peers, switches[i].n_peers);
	}
	free(switches);
}

/* The names of famezd's switches (Server1.Switches), the default one first. */
static int get_switch_names(sd_bus *bus, char ***ret, size_t *n_ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *name, *path;
	char **names = NULL;
	size_t n = 0;
	int r;

	r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, SERVER_INTERFACE, "Switches", error,
				&reply, "a(so)");
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(so)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &name, &path)) > 0) {
		char **grown = realloc(names, (n + 1) * sizeof(*names));

		if (!grown || !(grown[n] = strdup(name))) {
			names = grown ? grown : names;
			r = -ENOMEM;
			break;
		}
		names = grown;
		n++;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return r;
	}
	*ret = names;
	*n_ret = n;
	return 0;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The switch --switch names, as a list of one. */
static int get_named_switch(char ***ret, size_t *n_ret)
{
	char **names = calloc(1, sizeof(*names));

	if (!names || !(names[0] = strdup(arg_switch))) {
		free(names);
		return -ENOMEM;
	}
	*ret = names;
	*n_ret = 1;
	return 0;
}

/* The switches a command shows: the one --switch names, else every one; their peers if asked. */
static int get_switches(sd_bus *bus, bool with_peers, SwitchStatus **ret, size_t *n_ret,
			sd_bus_error *error)
{
	SwitchStatus *switches = NULL;
	char **names = NULL;
	size_t n = 0;
	int r;

	r = arg_switch ? get_named_switch(&names, &n) : get_switch_names(bus, &names, &n, error);
	if (r >= 0 && !(switches = calloc(n ? n : 1, sizeof(*switches))))
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		/* The default switch's peers are listed where they always were, on Server1. */
		const char *peers_of =
			arg_switch || strcmp(names[i], SWITCH_DEFAULT_NAME) != 0 ? names[i] : NULL;

		r = get_switch(bus, names[i], &switches[i].info, error);
		if (r >= 0 && with_peers)
			r = get_peers(bus, peers_of, &switches[i].peers, &switches[i].n_peers,
				      error);
	}
	names_free(names, n);
	if (r < 0) {
		switches_free(switches, n);
		return r;
	}
	*ret = switches;
	*n_ret = n;
	return 0;
}

/* ---- commands ---- */

/*
 * Every switch (or the one --switch names): one section each, the default one first. A famezd
 * of one switch is shown as it always was. The JSON document has the first switch's fields at
 * its top, as when famezd had one switch, and every switch in "switches".
 */
static int cmd_status(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	SwitchStatus *shown = NULL;
	size_t n = 0;
	int r;

	r = get_switches(bus, true, &shown, &n, &error);
	if (r < 0) {
		r = fail(&error, r, "cannot read famezd's status");
		sd_bus_error_free(&error);
		return r;
	}

	if (arg_json) {
		Json j = JSON_INIT(stdout);

		json_object_begin(&j);
		if (n > 0)
			json_switch(&j, &shown[0].info, shown[0].peers, shown[0].n_peers);
		json_key(&j, "switches");
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_object_begin(&j);
			json_switch(&j, &shown[i].info, shown[i].peers, shown[i].n_peers);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		json_end(&j);
	} else if (n == 1 && !arg_switch) {
		printf("famezd %s, %s mode\n", shown[0].info.version, shown[0].info.mode);
		print_switch(&shown[0].info, shown[0].peers, shown[0].n_peers);
	} else {
		printf("famezd %s", n > 0 ? shown[0].info.version : "");
		if (!arg_switch)
			printf(", %zu switches", n);
		printf("\n");
		for (size_t i = 0; i < n; i++) {
			const SwitchInfo *info = &shown[i].info;

			printf("\nSwitch %s, %s mode", info->name, info->mode);
			if (info->server_peer_id >= 0)
				printf(", SID %u", info->sid);
			printf("\n");
			print_switch(info, shown[i].peers, shown[i].n_peers);
		}
	}
	switches_free(shown, n);
	return EXIT_OK;
}

/* Every switch (or the one --switch names): its name, mode, SID, peers and socket. */
static int cmd_switches(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	SwitchStatus *switches = NULL;
	Json j = JSON_INIT(stdout);
	size_t n = 0;
	int r;

	r = get_switches(bus, false, &switches, &n, &error);
	if (r < 0) {
		r = fail(&error, r, "cannot list the switches");
		sd_bus_error_free(&error);
		return r;
	}
	if (arg_json)
		json_array_begin(&j);
	else
		printf("%-16s %-8s %5s %9s  %s\n", "NAME", "MODE", "SID", "PEERS", "SOCKET");
	for (size_t i = 0; i < n; i++) {
		const SwitchInfo *info = &switches[i].info;
		char path[PATH_MAX_LEN], sid[8] = "-", peers[24];

		if (arg_json) {
			json_object_begin(&j);
			json_key_string(&j, "name", info->name);
			json_key_string(&j, "path", switch_object(info->name, path));
			json_key_string(&j, "mode", info->mode);
			json_key_uint(&j, "sid", info->sid);
			json_key_string(&j, "socket_path", info->socket_path);
			json_key_uint(&j, "vectors", info->vectors);
			json_key_uint(&j, "peer_count", info->peer_count);
			json_key_uint(&j, "max_peers", info->max_peers);
			json_object_end(&j);
			continue;
		}
		if (info->server_peer_id >= 0)
			snprintf(sid, sizeof(sid), "%u", info->sid);
		snprintf(peers, sizeof(peers), "%" PRIu32 "/%" PRIu32, info->peer_count,
			 info->max_peers);
		printf("%-16s %-8s %5s %9s  %s\n", info->name, info->mode, sid, peers,
		       info->socket_path);
	}
	if (arg_json) {
		json_array_end(&j);
		json_end(&j);
	}
	switches_free(switches, n);
	return EXIT_OK;
}

static int cmd_peers(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	PeerInfo *peers = NULL;
	size_t n = 0;
	int r = get_peers(bus, arg_switch, &peers, &n, &error);

	if (r < 0) {
		r = fail(&error, r, "cannot list the peers");
		sd_bus_error_free(&error);
		return r;
	}
	if (arg_json) {
		Json j = JSON_INIT(stdout);

		json_peers(&j, peers, n);
		json_end(&j);
	} else
		print_peer_table(peers, n);
	peers_free(peers, n);
	return EXIT_OK;
}

static int parse_peer(const char *arg, uint16_t *id)
{
	uint64_t v;

	if (parse_uint(arg, 0, 65535, &v) < 0) {
		fprintf(stderr,
			"famezctl: '%s' is not a peer ID (0..65535); 'famezctl peers' "
			"lists them\n",
			arg);
		return -EINVAL;
	}
	*id = (uint16_t)v;
	return 0;
}

/* Runs a polkit text agent for this call when a person may be asked. */
static bool interactive(void)
{
	return !arg_no_ask_password && isatty(STDIN_FILENO);
}

static void agent_start(void)
{
	int pipefd[2];
	char fdstr[16], pidstr[16], c;

	if (!interactive() || access("/usr/bin/pkttyagent", X_OK) < 0 || geteuid() == 0)
		return;
	if (pipe2(pipefd, 0) < 0)
		return;
	snprintf(fdstr, sizeof(fdstr), "%d", pipefd[1]);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	agent_pid = fork();
	if (agent_pid == 0) {
		close(pipefd[0]);
		execl("/usr/bin/pkttyagent", "pkttyagent", "--notify-fd", fdstr, "--fallback",
		      "--process", pidstr, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	/* The agent closes the fd once it is registered. */
	while (agent_pid > 0 && read(pipefd[0], &c, 1) > 0)
		;
	close(pipefd[0]);
}

static void agent_stop(void)
{
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, NULL, 0);
		agent_pid = 0;
	}
}

/* Calls a method that may ask polkit, with a text agent when a person may be asked. */
static int call_authorized(sd_bus *bus, const char *path, const char *interface, const char *method,
			   const char *what, const char *types, va_list ap)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, interface, method);
	if (r >= 0)
		r = sd_bus_message_appendv(m, types, ap);
	if (r >= 0)
		r = sd_bus_message_set_allow_interactive_authorization(m, interactive());
	if (r < 0)
		return fail(NULL, r, what);
	agent_start();
	r = sd_bus_call(bus, m, UINT64_MAX, &error, NULL);
	agent_stop();
	if (r < 0) {
		r = fail(&error, r, what);
		sd_bus_error_free(&error);
		return r;
	}
	return EXIT_OK;
}

/* A method of the switch --switch names (the default one: on Server1). */
static int call_simple(sd_bus *bus, const char *method, const char *what, const char *types, ...)
{
	char object[PATH_MAX_LEN];
	va_list ap;
	int r;

	va_start(ap, types);
	r = call_authorized(bus, switch_object(arg_switch, object), switch_interface(arg_switch),
			    method, what, types, ap);
	va_end(ap);
	return r;
}

/* A method of Server1 itself, about the whole fabric. */
static int call_server(sd_bus *bus, const char *method, const char *what, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = call_authorized(bus, BUS_PATH, SERVER_INTERFACE, method, what, types, ap);
	va_end(ap);
	return r;
}

static int cmd_send_interrupt(sd_bus *bus, char **args, int n)
{
	uint16_t id;
	uint64_t vector;

	if (n != 2)
		return fprintf(stderr, "famezctl: send-interrupt needs PEER VECTOR\n"), EXIT_USAGE;
	if (parse_peer(args[0], &id) < 0)
		return EXIT_USAGE;
	if (parse_uint(args[1], 0, UINT32_MAX, &vector) < 0)
		return fprintf(stderr, "famezctl: '%s' is not a vector number\n", args[1]),
		       EXIT_USAGE;
	return call_simple(bus, "SendInterrupt", "cannot send the interrupt", "qub", id,
			   (uint32_t)vector, interactive());
}

static int cmd_send(sd_bus *bus, char **args, int n)
{
	char text[4096] = "";
	uint16_t id;

	if (n < 2)
		return fprintf(stderr, "famezctl: send needs PEER TEXT\n"), EXIT_USAGE;
	if (parse_peer(args[0], &id) < 0)
		return EXIT_USAGE;
	for (int i = 1; i < n; i++) {
		if (i > 1)
			strncat(text, " ", sizeof(text) - strlen(text) - 1);
		strncat(text, args[i], sizeof(text) - strlen(text) - 1);
	}
	return call_simple(bus, "SendMessage", "cannot send the message", "qsb", id, text,
			   interactive());
}

static int cmd_disconnect(sd_bus *bus, char **args, int n)
{
	uint16_t id;

	if (n != 1)
		return fprintf(stderr, "famezctl: disconnect needs PEER\n"), EXIT_USAGE;
	if (parse_peer(args[0], &id) < 0)
		return EXIT_USAGE;
	return call_simple(bus, "DisconnectPeer", "cannot disconnect the peer", "qb", id,
			   interactive());
}

static int cmd_ping(sd_bus *bus, char **args, int n)
{
	Json j = JSON_INIT(stdout);
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	char object[PATH_MAX_LEN];
	unsigned answered = 0;
	uint16_t id;
	int status = EXIT_OK;

	if (n != 1)
		return fprintf(stderr, "famezctl: ping needs PEER\n"), EXIT_USAGE;
	if (parse_peer(args[0], &id) < 0)
		return EXIT_USAGE;
	if (arg_json)
		json_array_begin(&j);
	for (unsigned i = 0; i < arg_count; i++) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
		sd_bus_error error = SD_BUS_ERROR_NULL;
		uint64_t usec;
		int r = sd_bus_call_method(bus, BUS_NAME, switch_object(arg_switch, object),
					   switch_interface(arg_switch), "Ping", &error, &reply,
					   "q", id);

		if (r >= 0)
			r = sd_bus_message_read(reply, "t", &usec);
		if (r < 0) {
			status = fail(&error, r, "ping failed");
			sd_bus_error_free(&error);
			if (status != EXIT_FAILED)
				break; /* denied, no such peer, not running: no point going on */
			continue;
		}
		answered++;
		sum += usec;
		min = MIN(min, usec);
		max = MAX(max, usec);
		if (arg_json) {
			json_object_begin(&j);
			json_key_uint(&j, "peer", id);
			json_key_uint(&j, "usec", usec);
			json_object_end(&j);
		} else
			printf("pong from peer %u: time=%" PRIu64 " us\n", id, usec);
	}
	if (arg_json) {
		json_array_end(&j);
		json_end(&j);
	} else if (arg_count > 1 && answered)
		printf("%u pings, %u answered, min/avg/max %" PRIu64 "/%" PRIu64 "/%" PRIu64
		       " us\n",
		       arg_count, answered, min, sum / answered, max);
	return status;
}

/* ---- the fabric ---- */

/* A peer's choice, made safe to print (str_sanitize()); NULL when out of memory. */
static char *sanitized(const char *s)
{
	return str_sanitize(s, strlen(s), SIZE_MAX);
}

static int read_nodes(sd_bus_message *reply, FabricView *v)
{
	const char *id, *name, *cclass, *sw, *manager;
	size_t cap = 0;
	int r = sd_bus_message_enter_container(reply, 'a', "(ssssqqbs)");

	while (r >= 0) {
		FabricNode *n;
		uint16_t cid, sid;
		int configured;

		r = sd_bus_message_read(reply, "(ssssqqbs)", &id, &name, &cclass, &sw, &cid, &sid,
					&configured, &manager);
		if (r <= 0)
			break;
		r = grow_array(&v->nodes, &cap, v->n_nodes + 1, sizeof(*v->nodes));
		if (r < 0)
			break;
		n = &v->nodes[v->n_nodes++];
		*n = (FabricNode){ .id = strdup(id),
				   .name = sanitized(name),
				   .cclass = sanitized(cclass),
				   .switch_name = strdup(sw),
				   .cid = cid,
				   .sid = sid,
				   .configured = configured,
				   .manager = sanitized(manager) };
		if (!n->id || !n->name || !n->cclass || !n->switch_name || !n->manager)
			r = -ENOMEM;
	}
	return r < 0 ? r : sd_bus_message_exit_container(reply);
}

static int read_links(sd_bus_message *reply, FabricView *v)
{
	const char *source, *target;
	size_t cap = 0;
	int r = sd_bus_message_enter_container(reply, 'a', "(ssqqb)");

	while (r >= 0) {
		uint16_t source_port, target_port;
		FabricLink *l;
		int up;

		r = sd_bus_message_read(reply, "(ssqqb)", &source, &target, &source_port,
					&target_port, &up);
		if (r <= 0)
			break;
		r = grow_array(&v->links, &cap, v->n_links + 1, sizeof(*v->links));
		if (r < 0)
			break;
		l = &v->links[v->n_links++];
		*l = (FabricLink){ .source = strdup(source),
				   .target = strdup(target),
				   .source_port = source_port,
				   .target_port = target_port,
				   .up = up };
		if (!l->source || !l->target)
			r = -ENOMEM;
	}
	return r < 0 ? r : sd_bus_message_exit_container(reply);
}

/* Every switch, every peer of a fabric switch, every link: the whole fabric, --switch or not. */
static int cmd_topology(sd_bus *bus)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	FabricView v = { 0 };
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, SERVER_INTERFACE, "GetTopology", &error,
			       &reply, NULL);
	if (r >= 0)
		r = read_nodes(reply, &v);
	if (r >= 0)
		r = read_links(reply, &v);
	if (r < 0) {
		fabric_view_done(&v);
		r = fail(&error, r, "cannot read the fabric's topology");
		sd_bus_error_free(&error);
		return r;
	}
	if (arg_dot)
		fabric_view_print_dot(&v, stdout);
	else if (arg_json)
		fabric_view_print_json(&v, stdout);
	else
		fabric_view_print_tree(&v, stdout);
	fabric_view_done(&v);
	return EXIT_OK;
}

static int read_route_lines(sd_bus_message *reply, SwitchRouteTables *t)
{
	size_t cap = 0;
	int r = sd_bus_message_enter_container(reply, 'a', "(saqqqqy)");

	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "saqqqqy")) > 0) {
		const void *ingress;
		const char *table;
		size_t size;
		RouteLine *l;

		r = grow_array(&t->lines, &cap, t->n_lines + 1, sizeof(*t->lines));
		if (r >= 0)
			r = sd_bus_message_read(reply, "s", &table);
		if (r >= 0)
			r = sd_bus_message_read_array(reply, 'q', &ingress, &size);
		if (r < 0)
			break;
		l = &t->lines[t->n_lines++];
		*l = (RouteLine){ .table = strdup(table),
				  .ingress = malloc(size ? size : 1),
				  .n_ingress = size / sizeof(uint16_t) };
		if (!l->table || !l->ingress) {
			r = -ENOMEM;
			break;
		}
		memcpy(l->ingress, ingress, size);
		r = sd_bus_message_read(reply, "qqqy", &l->first, &l->last, &l->egress, &l->hops);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	return r < 0 ? r : sd_bus_message_exit_container(reply);
}

/* The SID and the routing tables of switch name. */
static int get_routes(sd_bus *bus, const char *name, SwitchRouteTables *t, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char path[PATH_MAX_LEN];
	int r;

	t->name = strdup(name);
	if (!t->name)
		return -ENOMEM;
	switch_object(name, path);
	r = sd_bus_get_property_trivial(bus, BUS_NAME, path, SWITCH_INTERFACE, "SID", error, 'q',
					&t->sid);
	if (r >= 0)
		r = sd_bus_call_method(bus, BUS_NAME, path, SWITCH_INTERFACE, "GetRoutes", error,
				       &reply, NULL);
	return r < 0 ? r : read_route_lines(reply, t);
}

/* The routing tables of every switch, or of the one --switch names. */
static int cmd_routes(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	SwitchRouteTables *tables = NULL;
	char **names = NULL;
	int r, status = EXIT_OK;
	size_t n = 0;

	r = arg_switch ? get_named_switch(&names, &n) : get_switch_names(bus, &names, &n, &error);
	if (r >= 0 && !(tables = calloc(n ? n : 1, sizeof(*tables))))
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = get_routes(bus, names[i], &tables[i], &error);
	if (r < 0)
		status = fail(&error, r, "cannot read the routes");
	else if (arg_json)
		routes_print_json(tables, n, stdout);
	else
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				printf("\n");
			routes_print(&tables[i], stdout);
		}
	for (size_t i = 0; tables && i < n; i++)
		switch_route_tables_done(&tables[i]);
	free(tables);
	names_free(names, n);
	sd_bus_error_free(&error);
	return status;
}

/* set-link PORT up|down: a link of the switch --switch names (the default one). */
static int cmd_set_link(sd_bus *bus, char **args, int n)
{
	uint64_t port;
	bool up;

	if (n != 2)
		return fprintf(stderr, "famezctl: set-link needs PORT up|down\n"), EXIT_USAGE;
	if (parse_uint(args[0], 1, UINT16_MAX, &port) < 0)
		return fprintf(stderr,
			       "famezctl: '%s' is not a port; 'famezctl topology' shows the "
			       "links\n",
			       args[0]),
		       EXIT_USAGE;
	if (strcmp(args[1], "up") != 0 && strcmp(args[1], "down") != 0)
		return fprintf(stderr, "famezctl: set-link takes up or down, not '%s'\n", args[1]),
		       EXIT_USAGE;
	up = strcmp(args[1], "up") == 0;
	return call_server(bus, "SetLinkState", "cannot set the link's state", "sqbb",
			   arg_switch ? arg_switch : SWITCH_DEFAULT_NAME, (uint16_t)port, up,
			   interactive());
}

/* ---- control space ---- */

typedef struct ControlCall {
	sd_bus *bus;
	const char *path, *interface; /* the switch's or a peer's object */
	sd_bus_error error;
	int r;
} ControlCall;

/* Reads a piece of the control space of the switch --switch names, or of one of its peers. */
static int read_control(void *userdata, uint64_t offset, uint32_t len, uint8_t *buf)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	ControlCall *call = userdata;
	const void *data;
	size_t size;
	int r;

	r = sd_bus_call_method(call->bus, BUS_NAME, call->path, call->interface, "ReadControl",
			       &call->error, &reply, "tu", offset, len);
	if (r >= 0)
		r = sd_bus_message_read_array(reply, 'y', &data, &size);
	if (r >= 0 && size != len)
		r = -EBADMSG;
	if (r < 0)
		return call->r = r;
	memcpy(buf, data, len);
	return 0;
}

/*
 * Every structure of the control space of the switch, or of its peer (peer != 0): EXIT_OK, or
 * the exit code after saying why.
 */
static int read_structures(sd_bus *bus, uint16_t peer, ControlStructure **list, size_t *count)
{
	char object[PATH_MAX_LEN + 16];
	ControlCall call = { .bus = bus, .error = SD_BUS_ERROR_NULL };
	int r;

	if (peer) {
		if (arg_switch)
			snprintf(object, sizeof(object), SWITCH_PATH "/%s/peer/%u", arg_switch, peer);
		else
			snprintf(object, sizeof(object), BUS_PATH "/peer/%u", peer);
		call.path = object;
		call.interface = PEER_INTERFACE;
	} else {
		call.path = switch_object(arg_switch, object);
		call.interface = switch_interface(arg_switch);
	}
	r = control_view_read(read_control, &call, list, count);

	if (r >= 0)
		return EXIT_OK;
	r = call.r < 0 ? fail(&call.error, r, "cannot read the control space")
		       : fail(NULL, r, "the control space makes no sense");
	sd_bus_error_free(&call.error);
	return r;
}

/*
 * control [PEER] [STRUCTURE]: the structures of the switch, or of one of its peers, decoded
 * (one: every field; all: the nonzero ones).
 */
static int cmd_control(sd_bus *bus, char **args, int n)
{
	ControlStructure *list = NULL;
	uint16_t peer = 0;
	size_t count = 0;
	bool found = false;
	int r;

	if (n >= 1 && args[0][0] >= '0' && args[0][0] <= '9') {
		if (parse_peer(args[0], &peer) < 0)
			return EXIT_USAGE;
		args++;
		n--;
	}
	if (n > 1)
		return fprintf(stderr, "famezctl: control takes [PEER] [STRUCTURE]\n"), EXIT_USAGE;
	r = read_structures(bus, peer, &list, &count);
	if (r != EXIT_OK)
		return r;
	for (size_t i = 0; i < count; i++) {
		if (n == 1 && strcmp(list[i].name, args[0]) != 0)
			continue;
		found = true;
		control_view_print(stdout, &list[i], n == 1);
	}
	control_view_free(list, count);
	if (!found)
		return fprintf(stderr,
			       "famezctl: no structure '%s'; 'famezctl control' lists them\n",
			       args[0]),
		       EXIT_USAGE;
	return EXIT_OK;
}

/* Bytes from hex digits: their count, or -EINVAL. */
static int parse_hex(const char *hex, uint8_t *buf, size_t size)
{
	size_t len = strlen(hex);

	if (len == 0 || len % 2 || len / 2 > size)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		int hi = str_hex_digit(hex[i]), lo = str_hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

static int write_control(sd_bus *bus, uint64_t offset, const uint8_t *data, size_t len)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char object[PATH_MAX_LEN];
	int r;

	r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, switch_object(arg_switch, object),
					   switch_interface(arg_switch), "WriteControl");
	if (r >= 0)
		r = sd_bus_message_append(m, "t", offset);
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', data, len);
	if (r >= 0)
		r = sd_bus_message_append(m, "b", interactive());
	if (r >= 0)
		r = sd_bus_message_set_allow_interactive_authorization(m, interactive());
	if (r < 0)
		return fail(NULL, r, "cannot write the control space");
	agent_start();
	r = sd_bus_call(bus, m, UINT64_MAX, &error, NULL);
	agent_stop();
	if (r < 0) {
		r = fail(&error, r, "cannot write the control space");
		sd_bus_error_free(&error);
		return r;
	}
	return EXIT_OK;
}

/* control-write OFFSET HEX */
static int cmd_control_write(sd_bus *bus, char **args, int n)
{
	uint8_t data[CONTROL_DATA_MAX];
	uint64_t offset;
	int len;

	if (n != 2)
		return fprintf(stderr, "famezctl: control-write needs OFFSET HEX\n"), EXIT_USAGE;
	if (str_parse_uint(args[0], strlen(args[0]), true, &offset) < 0)
		return fprintf(stderr, "famezctl: '%s' is not an offset (0x... or decimal)\n",
			       args[0]),
		       EXIT_USAGE;
	len = parse_hex(args[1], data, sizeof(data));
	if (len < 0)
		return fprintf(stderr,
			       "famezctl: '%s' is not 1 to %d bytes in hex digits (two a byte)\n",
			       args[1], CONTROL_DATA_MAX),
		       EXIT_USAGE;
	return write_control(bus, offset, data, (size_t)len);
}

/*
 * route PORT CID EGRESS [HOPS] | route PORT CID none: the LPRT entry of ingress PORT for CID,
 * written into the switch's control space as a manager would.
 */
static int cmd_route(sd_bus *bus, char **args, int n)
{
	uint64_t port, cid, egress = 0, hops = 0, offset = 0;
	ControlStructure *list = NULL;
	bool clear = n >= 3 && strcmp(args[2], "none") == 0;
	char name[CONTROL_VIEW_NAME_MAX];
	size_t count = 0;
	uint32_t entry;
	uint8_t bytes[GENZ_ROUTE_SIZE];
	int r;

	if (n < 3 || n > 4 || (clear && n != 3) || parse_uint(args[0], 1, 4095, &port) < 0 ||
	    parse_uint(args[1], 0, 4095, &cid) < 0 ||
	    (!clear && parse_uint(args[2], 1, 4095, &egress) < 0) ||
	    (n == 4 && parse_uint(args[3], 0, 63, &hops) < 0))
		return fprintf(stderr,
			       "famezctl: route needs PORT CID EGRESS [HOPS] or PORT CID none "
			       "(ports and CIDs 0 to 4095, hops 0 to 63)\n"),
		       EXIT_USAGE;
	r = read_structures(bus, 0, &list, &count);
	if (r != EXIT_OK)
		return r;
	snprintf(name, sizeof(name), "interface%" PRIu64, port);
	for (size_t i = 0; i < count; i++)
		if (strcmp(list[i].name, name) == 0)
			offset = control_view_lprt_entry(&list[i], (unsigned)cid);
	control_view_free(list, count);
	if (!offset)
		return fprintf(stderr,
			       "famezctl: port %" PRIu64 " has no LPRT; 'famezctl control' shows "
			       "the interfaces\n",
			       port),
		       EXIT_USAGE;
	entry = genz_route_pack((GenzRoute){ .valid = !clear,
					     .hc = (uint8_t)hops,
					     .mhc = (uint8_t)hops,
					     .ei = (uint16_t)egress });
	for (unsigned i = 0; i < GENZ_ROUTE_SIZE; i++)
		bytes[i] = (uint8_t)(entry >> (8 * i));
	return write_control(bus, offset, bytes, sizeof(bytes));
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *member = sd_bus_message_get_member(m), *path = "", *text = "";
	const char *object = sd_bus_message_get_path(m), *name = SWITCH_DEFAULT_NAME;
	uint16_t id = 0;
	int r;

	(void)userdata, (void)error;
	/* The default switch's events come from Server1, as they always did. */
	if (strncmp(object, SWITCH_PATH "/", strlen(SWITCH_PATH) + 1) == 0) {
		name = object + strlen(SWITCH_PATH) + 1;
		if (!arg_switch && strcmp(name, SWITCH_DEFAULT_NAME) == 0)
			return 0;
	}
	if (strcmp(member, "PeerConnected") == 0)
		r = sd_bus_message_read(m, "qo", &id, &path);
	else if (strcmp(member, "PeerDisconnected") == 0)
		r = sd_bus_message_read(m, "qos", &id, &path, &text);
	else if (strcmp(member, "MessageReceived") == 0)
		r = sd_bus_message_read(m, "qs", &id, &text);
	else
		return 0;
	if (r < 0)
		return 0;
	if (arg_json) {
		Json j = JSON_INIT(stdout);

		json_object_begin(&j);
		json_key_string(&j, "event", member);
		json_key_uint(&j, "peer", id);
		if (*path)
			json_key_string(&j, "path", path);
		if (strcmp(member, "PeerDisconnected") == 0)
			json_key_string(&j, "reason", text);
		if (strcmp(member, "MessageReceived") == 0)
			json_key_string(&j, "text", text);
		/* Last, so that what a famezd of one switch printed still starts each line. */
		json_key_string(&j, "switch", name);
		json_object_end(&j);
		json_end(&j);
		fflush(stdout);
		return 0;
	}
	/* Another switch's lines say which switch. */
	if (strcmp(name, SWITCH_DEFAULT_NAME) != 0)
		printf("%s: ", name);
	if (strcmp(member, "PeerConnected") == 0)
		printf("peer %u connected (%s)\n", id, path);
	else if (strcmp(member, "PeerDisconnected") == 0)
		printf("peer %u disconnected: %s\n", id, text);
	else
		printf("peer %u says: %s\n", id, text);
	fflush(stdout);
	return 0;
}

static int cmd_monitor(sd_bus *bus)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char object[PATH_MAX_LEN];
	int r;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (arg_switch) {
		/* One switch, which must be there: nothing would ever come from one that is not. */
		char *name = NULL;

		r = sd_bus_get_property_string(bus, BUS_NAME, switch_object(arg_switch, object),
					       SWITCH_INTERFACE, "Name", &error, &name);
		free(name);
		if (r < 0) {
			r = fail(&error, r, "cannot watch famezd's signals");
			sd_bus_error_free(&error);
			return r;
		}
		r = sd_bus_match_signal(bus, NULL, BUS_NAME, object, SWITCH_INTERFACE, NULL,
					on_signal, NULL);
	} else {
		/* Every switch: the default one on Server1, the others on their Switch1. */
		r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, SERVER_INTERFACE, NULL,
					on_signal, NULL);
		if (r >= 0)
			r = sd_bus_match_signal(bus, NULL, BUS_NAME, NULL, SWITCH_INTERFACE, NULL,
						on_signal, NULL);
	}
	if (r < 0)
		return fail(NULL, r, "cannot watch famezd's signals");
	fprintf(stderr, "famezctl: watching org.famez on the %s bus; Ctrl-C stops\n",
		arg_user ? "user" : "system");
	while (!stop) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return fail(NULL, r, "lost the bus");
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR)
			return fail(NULL, r, "lost the bus");
	}
	return EXIT_OK;
}

static int parse_count(const char *arg)
{
	uint64_t v;

	if (parse_uint(arg, 1, 1000000, &v) < 0) {
		fprintf(stderr, "famezctl: --count %s is not a number from 1 to 1000000\n", arg);
		return -EINVAL;
	}
	arg_count = (unsigned)v;
	return 0;
}

static int parse_switch(const char *arg)
{
	if (!switch_name_is_valid(arg)) {
		fprintf(stderr,
			"famezctl: --switch %s is not a switch name (1 to %d letters, digits or "
			"_); 'famezctl switches' lists them\n",
			arg, SWITCH_NAME_MAX);
		return -EINVAL;
	}
	arg_switch = arg;
	return 0;
}

/*
 * The command's arguments, with the options that may also follow the command taken out:
 * --switch and --json for every command, -c/--count for ping, --dot for topology. "--" ends them,
 * so that a message may start with a dash. 0, or -EINVAL after saying why.
 */
static int take_trailing_options(const char *command, int argc, char *argv[], char **args,
				 int *n_args)
{
	bool options = true;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool ping = strcmp(command, "ping") == 0;

		if (options && strcmp(a, "--") == 0)
			options = false;
		else if (options && strcmp(a, "--switch") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "famezctl: option '--switch' needs an argument\n");
				return -EINVAL;
			}
			if (parse_switch(argv[++i]) < 0)
				return -EINVAL;
		} else if (options && strncmp(a, "--switch=", 9) == 0) {
			if (parse_switch(a + 9) < 0)
				return -EINVAL;
		} else if (options && strcmp(a, "--json") == 0)
			arg_json = true;
		else if (options && strcmp(a, "--dot") == 0)
			arg_dot = true;
		else if (options && ping && (strcmp(a, "-c") == 0 || strcmp(a, "--count") == 0)) {
			if (i + 1 >= argc || parse_count(argv[++i]) < 0)
				return -EINVAL;
		} else if (options && ping && strncmp(a, "--count=", 8) == 0) {
			if (parse_count(a + 8) < 0)
				return -EINVAL;
		} else
			args[n++] = argv[i];
	}
	*n_args = n;
	return 0;
}

static void help(void)
{
	printf("Usage: famezctl [OPTIONS] [COMMAND]\n"
	       "\n"
	       "Query and control famezd through its org.famez D-Bus API.\n"
	       "\n"
	       "Commands:\n"
	       "  status                   every switch and its peers (the default)\n"
	       "  switches                 the switches: name, mode, SID, peers, socket\n"
	       "  peers                    the connected peers of one switch\n"
	       "  send-interrupt PEER VEC  ring vector VEC of a peer\n"
	       "  send PEER TEXT           send a mailbox message (fabric mode)\n"
	       "  ping PEER [-c N]         ping a peer through its mailbox (fabric mode)\n"
	       "  disconnect PEER          disconnect a peer\n"
	       "  monitor                  print peers coming and going, and messages, as they\n"
	       "                           happen, until interrupted\n"
	       "  topology                 the fabric: every switch, its links and its peers\n"
	       "  routes                   the routing tables (LPRT, MPRT) of every switch\n"
	       "  set-link PORT up|down    take a link of a switch up or down\n"
	       "  control [PEER] [STRUCTURE]\n"
	       "                           the Gen-Z control structures of a switch, or of a\n"
	       "                           peer of it, decoded\n"
	       "  control-write OFFSET HEX write bytes into a switch's control space\n"
	       "  route PORT CID EGRESS [HOPS]|none\n"
	       "                           write or clear the LPRT entry of ingress PORT for CID\n"
	       "\n"
	       "Options:\n"
	       "      --system             talk to famezd on the system bus (default)\n"
	       "      --user               talk to famezd on the user bus\n"
	       "      --switch=NAME        the switch to show or act on (default: the default\n"
	       "                           switch; status, routes: every switch)\n"
	       "      --json               machine-readable output\n"
	       "      --dot                topology: a Graphviz graph (famezctl topology --dot |\n"
	       "                           dot -Tsvg > fabric.svg)\n"
	       "      --no-ask-password    never ask for authentication\n"
	       "  -c, --count=N            ping: how many times (default 1)\n"
	       "  -h, --help               show this help\n"
	       "      --version            show the version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 bad usage, 3 famezd is not running,\n"
	       "4 not authorized, 5 no such peer, 6 no such switch. See famezctl(1).\n");
}

static int run(sd_bus *bus, const char *command, char **args, int n)
{
	if (strcmp(command, "status") == 0 && n == 0)
		return cmd_status(bus);
	if (strcmp(command, "switches") == 0 && n == 0)
		return cmd_switches(bus);
	if (strcmp(command, "peers") == 0 && n == 0)
		return cmd_peers(bus);
	if (strcmp(command, "send-interrupt") == 0)
		return cmd_send_interrupt(bus, args, n);
	if (strcmp(command, "send") == 0)
		return cmd_send(bus, args, n);
	if (strcmp(command, "ping") == 0 && n <= 1)
		return cmd_ping(bus, args, n);
	if (strcmp(command, "ping") == 0)
		return fprintf(stderr, "famezctl: ping takes PEER [-c N]\n"), EXIT_USAGE;
	if (strcmp(command, "disconnect") == 0)
		return cmd_disconnect(bus, args, n);
	if (strcmp(command, "monitor") == 0 && n == 0)
		return cmd_monitor(bus);
	if (strcmp(command, "topology") == 0 && n == 0)
		return cmd_topology(bus);
	if (strcmp(command, "routes") == 0 && n == 0)
		return cmd_routes(bus);
	if (strcmp(command, "set-link") == 0)
		return cmd_set_link(bus, args, n);
	if (strcmp(command, "control") == 0)
		return cmd_control(bus, args, n);
	if (strcmp(command, "control-write") == 0)
		return cmd_control_write(bus, args, n);
	if (strcmp(command, "route") == 0)
		return cmd_route(bus, args, n);
	fprintf(stderr,
		"famezctl: unknown command or extra arguments: '%s'; try 'famezctl --help'\n",
		command);
	return EXIT_USAGE;
}

int main(int argc, char *argv[])
{
	enum {
		ARG_SYSTEM = 0x100,
		ARG_USER,
		ARG_SWITCH,
		ARG_JSON,
		ARG_DOT,
		ARG_NO_ASK,
		ARG_VERSION
	};
	static const struct option options[] = {
		{ "system", no_argument, NULL, ARG_SYSTEM },
		{ "user", no_argument, NULL, ARG_USER },
		{ "switch", required_argument, NULL, ARG_SWITCH },
		{ "json", no_argument, NULL, ARG_JSON },
		{ "dot", no_argument, NULL, ARG_DOT },
		{ "no-ask-password", no_argument, NULL, ARG_NO_ASK },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const char *command;
	char **args;
	int opt, r, n;

	/* Options come before the command ("+"); some may also follow it (take_trailing_options).
	 */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:h", options, NULL)) >= 0) {
		switch (opt) {
		case ARG_SYSTEM:
			arg_user = false;
			break;
		case ARG_USER:
			arg_user = true;
			break;
		case ARG_SWITCH:
			if (parse_switch(optarg) < 0)
				return EXIT_USAGE;
			break;
		case ARG_JSON:
			arg_json = true;
			break;
		case ARG_DOT:
			arg_dot = true;
			break;
		case ARG_NO_ASK:
			arg_no_ask_password = true;
			break;
		case 'c':
			if (parse_count(optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			help();
			return EXIT_OK;
		case ARG_VERSION:
			printf("famezctl %s\n", FAMEZ_VERSION);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "famezctl: option '%s' needs an argument\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "famezctl: unknown option '%s'; try 'famezctl --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}

	command = optind < argc ? argv[optind++] : "status";
	args = calloc((size_t)(argc - optind) + 1, sizeof(*args));
	if (!args)
		return fail(NULL, -ENOMEM, "cannot start");
	if (take_trailing_options(command, argc - optind, argv + optind, args, &n) < 0) {
		free(args);
		return EXIT_USAGE;
	}
	if (arg_dot && strcmp(command, "topology") != 0) {
		fprintf(stderr, "famezctl: --dot is for 'famezctl topology' only\n");
		free(args);
		return EXIT_USAGE;
	}
	r = arg_user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "famezctl: cannot connect to the %s bus: %s\n",
			arg_user ? "user" : "system", strerror(-r));
		free(args);
		return EXIT_NOT_RUNNING;
	}
	r = run(bus, command, args, n);
	free(args);
	return r;
}
