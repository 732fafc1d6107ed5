/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "router.h"
#include "switch.h"

/*
 * famezd as a whole: the event loop, the switches it serves (the default one first, then the
 * others by name), what they share (per-user limits, the log budget for lines about peers) and
 * the D-Bus API over them all. The switches report up through SwitchEvents; the server passes
 * that on to the API and to systemd (STATUS=).
 */
typedef struct Server {
	sd_event *event;
	SwitchShared shared;
	Switch **switches;
	size_t n_switches;
	BusService *bus; /* owned; NULL without the API */
	Router *router;  /* the fabric the switches make (router.h); NULL before server_link() */
} Server;

int server_new(Server **ret, sd_event *event, unsigned max_peers_per_uid, unsigned max_join_rate);
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/*
 * Sets up a switch of config (taken, whatever the outcome), starts it listening and restores its
 * peers from systemd's fd store when it kept them. The default switch comes first.
 */
int server_add_switch(Server *s, SwitchConfig *config, StoredFds *stored);

Switch *server_default_switch(const Server *s);
/*
 * Once every switch is added: links them into one fabric, computes the routes, and takes the
 * route requests restored peers left in their slots. 0, or a negative errno (logged).
 */
int server_link(Server *s);

/* Disconnects on every switch the peers already given up on (before the state is saved). */
void server_reap(Server *s);
/* Stores every switch's state (fdstore.h); with_queues at a graceful stop. */
void server_save_state(Server *s, bool with_queues);
/* Logs what every switch served. */
void server_log_totals(const Server *s);
