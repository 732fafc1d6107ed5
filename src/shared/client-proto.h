/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

/*
 * The client side of the ivshmem protocol as a state machine with no I/O: feed it each message
 * read from the server (value and fd) and it keeps the client's own ID, the shared-memory fd and
 * every peer's eventfds, reporting what each message meant. famez-client and the tests use it.
 */

#define CLIENT_VECTORS_MAX 2048 /* the most an ivshmem-doorbell device accepts */

typedef struct ClientPeer {
	uint16_t id;
	unsigned n_vectors;
	int *fds; /* eventfds in vector order */
} ClientPeer;

typedef enum ClientEventType {
	CLIENT_EVENT_NONE,        /* a departure of a peer never announced: nothing to do */
	CLIENT_EVENT_VERSION,     /* protocol version 0 accepted */
	CLIENT_EVENT_OWN_ID,      /* id */
	CLIENT_EVENT_SHM,         /* the shared memory fd arrived */
	CLIENT_EVENT_OWN_VECTOR,  /* vector: one of our own eventfds */
	CLIENT_EVENT_PEER_VECTOR, /* id, vector: another peer's eventfd */
	CLIENT_EVENT_PEER_LEFT,   /* id */
} ClientEventType;

typedef struct ClientEvent {
	ClientEventType type;
	uint16_t id;
	unsigned vector;
} ClientEvent;

typedef enum ClientPhase {
	CLIENT_PHASE_VERSION,
	CLIENT_PHASE_ID,
	CLIENT_PHASE_SHM,
	CLIENT_PHASE_PEERS,
} ClientPhase;

typedef struct ClientState {
	ClientPhase phase;
	int64_t refused_version; /* the version a refusing server sent */
	uint16_t own_id;
	int shm_fd;
	ClientPeer self;
	ClientPeer **peers; /* indexed by ID, allocated with the first peer */
	unsigned n_peers;   /* other peers with at least one vector */
} ClientState;

void client_state_init(ClientState *s);
void client_state_done(ClientState *s);

/*
 * Processes one message. Takes ownership of fd (-1 for none) whatever the outcome. Returns 0 with
 * *ev describing it, -ECONNREFUSED when the server sent a version other than 0 (see
 * refused_version), -EPROTO for a message that breaks the protocol, -E2BIG for a peer with more
 * than CLIENT_VECTORS_MAX vectors, -ENOMEM.
 */
int client_state_feed(ClientState *s, int64_t value, int fd, ClientEvent *ev);

/* The peer with this ID (not ourselves), or NULL. */
const ClientPeer *client_state_peer(const ClientState *s, uint16_t id);

/* Calls f for every other known peer in ID order; stops early when f returns false. */
void client_state_foreach_peer(const ClientState *s, bool (*f)(const ClientPeer *p, void *data),
			       void *data);
