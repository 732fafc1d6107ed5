/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "client-proto.h"
#include "envelope.h"
#include "fabric-msg.h"
#include "mailbox.h"
#include "macro.h"
#include "mailsender.h"
#include "time-util.h"
#include "wire.h"

/* Exit codes a script can rely on (see famez-client(1)). */
enum {
	EXIT_OK = 0,
	EXIT_COMMAND_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_CONNECTION = 3,
	EXIT_REFUSED = 4,
};

typedef enum WaitKind {
	WAIT_NONE,
	WAIT_PEERS,      /* until at least `target` other peers are known */
	WAIT_INTERRUPT,  /* until `target` interrupts arrived on `vector` */
	WAIT_LEFT,       /* until peer `target` is gone */
	WAIT_PONG,       /* fabric: until every peer in `fabric.ping_pending` answered */
	WAIT_DELIVERED,  /* fabric: until nothing we sent waits for an acknowledgement */
	WAIT_CONFIGURED, /* fabric: until the server's CTL-Write configured us */
	WAIT_DRAIN,      /* fabric, before exiting: until our last messages were read */
	WAIT_MEMORY,     /* until the word at `wait_offset` of the shared memory is `target` */
	WAIT_MESSAGES,   /* fabric: until `target` messages nobody answers arrived */
	WAIT_SLEEP,      /* until the timer fires */
	WAIT_FLOOD,      /* fabric: until every message of `fabric.flood` was answered */
	WAIT_CONTROL,    /* fabric: until our control request (ctl-read, ctl-write) is answered */
	WAIT_MANAGE,     /* fabric: until the fabric manager's pass is done (never with --watch) */
} WaitKind;

/*
 * Where a message goes: a peer of our switch, a CID,SID the switch routes it to, or the
 * component at the end of a path of ports the switches relay it along (directed).
 */
typedef struct FabricTarget {
	unsigned id;       /* the peer's ID on our switch; 0 when routed or directed */
	bool routed;       /* a route request to the switch (in a guest: "CID,SID:" to it) */
	uint16_t cid, sid; /* the destination of a routed message */
	bool directed;     /* a directed request to the switch (envelope.h) */
	uint8_t path_len;  /* the egress ports of a directed one, from our switch on */
	uint8_t path[ENVELOPE_PATH_MAX];
} FabricTarget;

/* A ping routed to a CID,SID (or directed along a path), waiting for the pong from there. */
typedef struct RoutedPing {
	FabricTarget target;
	uint64_t sent_at;
} RoutedPing;

/* What a message was sent for (its token): what its acknowledgement, or refusal, means. */
typedef enum SendKind {
	SEND_COMMAND = 1, /* send, link: a failure fails the command */
	SEND_PING,        /* a routed ping the switch refuses fails the command at once */
	SEND_REPLY,       /* our answers: a failure is only logged */
	SEND_FLOOD,
	SEND_CONTROL, /* ctl-read, ctl-write: a failure ends the wait for the answer */
	SEND_MANAGE,  /* the fabric manager's requests: a failure is that component's */
} SendKind;

/*
 * Who a message came from: a peer of our switch that rang us, or whom the switch delivered for:
 * a CID,SID it routed from, or the way back along which a directed message came.
 */
typedef struct Origin {
	unsigned id;       /* the ringing peer (with --device: the one whose slot has cid,sid) */
	bool routed;       /* delivered by the switch: cid,sid is the origin, id is 0 */
	uint16_t cid, sid; /* the origin of a routed message, or the ringing peer's slot */
	bool directed;     /* delivered directed by the switch: path is the way back, id is 0 */
	uint8_t path_len;
	uint8_t path[ENVELOPE_PATH_MAX];
} Origin;

typedef struct ClientControl ClientControl;
typedef struct ClientManager ClientManager;

/* flood: numbered messages to one target, a window of them queued at a time, in order. */
typedef struct FabricFlood {
	FabricTarget target;
	char name[MAILBOX_LABEL_MAX]; /* the target's, when it started (a peer may leave) */
	uint64_t total, queued;
	/* Answered: taken (acknowledged, or routed with status ok), or not. */
	uint64_t sent, failed;
	bool stopped; /* a failure: nothing more is queued */
} FabricFlood;

/* Fabric mode: the server put a FAME-Z mailbox at the start of the shared memory. */
typedef struct ClientFabric {
	bool enabled;
	MailboxLayout layout;
	char nodename[MAILBOX_NODENAME_MAX];
	char cclass[MAILBOX_CCLASS_MAX];
	MailSender *sender;
	unsigned in_flight;       /* messages sent and not yet acknowledged or given up */
	bool send_failed;         /* one of them was not acknowledged */
	uint64_t ping_pending[4]; /* IDs we await a pong from */
	uint64_t ping_sent_at[MAIL_DEST_MAX];
	RoutedPing routed_pings[MAIL_DEST_MAX]; /* CID,SIDs we await a routed pong from */
	unsigned n_routed_pings;
	uint64_t sid, cid; /* assigned by the server's CTL-Write */
	bool configured;
	/* Texts for us (not ping, Link, ...), and of those, taken by wait-msg. */
	uint64_t messages, messages_consumed;
	uint64_t ctl_writes_refused; /* CTL-Writes from peers other than the server */
	/* Rings that found the sender's slot holding a message for another addressee: left. */
	uint64_t not_ours;
	/* Route requests the switch took, and refused; messages it delivered from elsewhere. */
	uint64_t routed_sent, routed_refused, routed_received;
	/* Directed requests the switch took, and refused; directed messages it delivered. */
	uint64_t directed_sent, directed_refused, directed_received;
	FabricFlood flood;
	ClientControl *control; /* our Gen-Z control space (control.c); NULL with --device */
	ClientManager *manager; /* manage: the fabric manager at work (manage.c), or NULL */
} ClientFabric;

typedef struct Client {
	sd_event *event;
	const char *socket_path;
	int fd;
	/* --device: a famez_bridge device inside a guest instead of a server socket */
	bool device;
	const char *device_path;
	int device_fd, device_wfd; /* non-blocking for events, blocking for writes */
	sd_event_source *device_source, *device_timer;
	sd_event_source *socket_source;
	WireReader reader;
	ClientState state;
	bool settled; /* the handshake burst has been read */

	void *shm;
	uint64_t shm_size;

	sd_event_source **vector_sources;
	uint64_t *received; /* interrupts per own vector */
	uint64_t *consumed; /* of those, taken by wait-int */
	unsigned n_vector_sources;
	uint64_t early_rings[4]; /* vectors rung before the handshake was read */

	char **commands; /* pending commands, oldest first */
	size_t n_commands, first_command;
	bool from_exec;
	bool stdin_done;
	sd_event_source *stdin_source;
	char *stdin_buf;
	size_t stdin_len;

	WaitKind wait;
	uint64_t wait_target;
	unsigned wait_vector;
	uint64_t wait_offset;
	sd_event_source *wait_timer;
	sd_event_source *poll_timer; /* wait-mem: nothing signals a store, so look every 1 ms */

	bool command_failed;
	bool continuing; /* inside client_continue() */
	int exit_code;

	ClientFabric fabric;
} Client;

void client_exit(Client *c, int code);
/* famez-fm: say() prints nothing (the manager prints its own results). */
extern bool say_muted;
/* Prints a result line on stdout. */
void say(const char *fmt, ...) _printf_(1, 2);
/* Logs a failed command (the exit status becomes 1); returns -EINVAL. */
int command_error(Client *c, const char *fmt, ...) _printf_(2, 3);
/* Runs queued commands until one waits or none is left. */
void client_continue(Client *c);
int start_wait(Client *c, WaitKind kind, const char *seconds);
const ClientPeer *lookup_peer(Client *c, const char *arg);
/* Watches own vector `vector` (its eventfd in c->state.self.fds). */
int client_watch_own_vector(Client *c, unsigned vector);

/* device.c */
struct famez_bridge_info;
int client_device_open(Client *c, const char *nodename, const char *cclass);
void client_device_done(Client *c);
int client_device_info(Client *c, struct famez_bridge_info *info);
int client_device_ring(Client *c, unsigned peer, unsigned vector);
/*
 * Sends text to dest ("ID", "CID,SID" which the bridge routes, or "dr:P.Q" which the switches
 * relay) through its text API: 0 or the write's -errno.
 */
int client_device_write(Client *c, const char *dest, const char *text);
/* The same, a failure a failed command. */
int client_device_send(Client *c, const char *dest, const char *text);

/* fabric.c */
void client_fabric_setup(Client *c, const char *nodename, const char *cclass);
void client_fabric_done(Client *c);
/* The eventfd we ring peer id on just arrived: what waits for it in our slot is rung now. */
void client_fabric_peer_ringable(Client *c, unsigned id);
/* An own vector rang: reads the ringing peer's slot. True when it held a message. */
bool client_fabric_on_interrupt(Client *c, unsigned vector);
/* Runs a fabric command; false if argv[0] is none. */
bool client_fabric_command(Client *c, int argc, char *argv[]);
bool client_fabric_wait_satisfied(Client *c);
/* --device: a message the bridge's read() returned ("CID,SID:text" or "ID:text"). */
void client_fabric_on_device_message(Client *c, const char *msg);
void client_fabric_help(void);
/* dump: the fabric's view of us (configuration, counters). */
void client_fabric_dump(Client *c);
/*
 * What control.c uses of fabric.c: sends text to t (as send does; 0, or -errno with a failed
 * command), a message of the grammar to peer dest of our switch, the answer to o (by the way it
 * came), the one target DEST names (0, or -EINVAL with a failed command), and a label for t
 * ("nodename@id", "CID,SID", "dr:P1.P2").
 */
int client_fabric_send(Client *c, const FabricTarget *t, const char *text, SendKind kind);
void client_fabric_send_msg(Client *c, unsigned dest, const FabricMsg *m);
void client_fabric_reply(Client *c, const Origin *o, const char *text);
int client_fabric_parse_one_dest(Client *c, const char *arg, FabricTarget *t);
const char *client_fabric_target_name(Client *c, const FabricTarget *t,
				      char buf[MAILBOX_LABEL_MAX]);
/* Whether o is where t is: the answer to what we sent t comes from there. */
bool client_fabric_origin_is(Client *c, const FabricTarget *t, const Origin *o);
/* Our configuration changed: ClientFabric's and our slot's CID, SID say so. */
void client_fabric_set_ids(Client *c, bool configured, uint64_t cid, uint64_t sid);

/*
 * control.c: our Gen-Z control space (a bridge's: core, destination table, interface 0 to our
 * switch, SSDT and MSDT), the control requests we answer and those we send.
 */
void client_control_setup(Client *c);
void client_control_done(Client *c);
/*
 * A control request for us (answered, true) or a response to one of ours (taken, true); false
 * for any other text. name labels o for logs.
 */
bool client_control_take(Client *c, const Origin *o, const char *name, const char *text);
/* FAME-Z's CTL-Write from our switch configured us: the control space says so. */
void client_control_configured(Client *c, const FabricMsg *m);
/* Our switch's Link CTL ACK: what interface 0 says of its peer. */
void client_control_switch_attributes(Client *c, const FabricMsg *m);
/* Whether we are C-Up (a CID, so our Peer-Attribute answer carries CID0, SID0). */
bool client_control_up(Client *c);
/* Whether our SSDT (cid, in our subnet) or MSDT (sid, another) has a route there. */
bool client_control_routable(Client *c, uint16_t cid, uint16_t sid);
/* Runs ctl-read, ctl-write, control; false if argv[0] is none of them. */
bool client_control_command(Client *c, int argc, char *argv[]);
bool client_control_wait_satisfied(Client *c);
/* The wait for our request's answer ran out. */
void client_control_timed_out(Client *c);
/* Our request text was not taken (refused by the switch, or not acknowledged): no answer comes. */
void client_control_send_failed(Client *c, const char *text);
void client_control_dump(Client *c);
void client_control_help(void);

/*
 * control.c: answers a control request text for our own control space at once (the manager
 * asking itself): false when text is no request.
 */
bool client_control_answer_self(Client *c, const char *text, char *answer, size_t size);

/* manage.c: the fabric manager (famez-fm) on our transport. */
bool client_manage_command(Client *c, int argc, char *argv[]);
bool client_manage_wait_satisfied(Client *c);
/* A control answer delivered to us: the manager's (true, taken) while a pass runs. */
bool client_manage_take(Client *c, const Origin *o, const char *text);
/* The switch refused one of the manager's requests. */
void client_manage_send_failed(Client *c, const FabricTarget *t, const char *text);
void client_manage_done(Client *c);
void client_manage_help(void);

/* famez-fm: the same program under another name, with its own options (famez-fm(1)). */
typedef struct FmArgs {
	const char *socket, *device, *wait;
	bool verbose;
	char exec[256]; /* the manage command its options make */
} FmArgs;
/* Reads famez-fm's options: an exit code (help, version, bad usage), or -1 to go on with *a. */
int client_fm_args(int argc, char *argv[], FmArgs *a);
