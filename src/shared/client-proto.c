/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "client-proto.h"
#include "macro.h"

static void peer_close_fds(ClientPeer *p)
{
	for (unsigned i = 0; i < p->n_vectors; i++)
		safe_close(p->fds[i]);
	free(p->fds);
	p->fds = NULL;
	p->n_vectors = 0;
}

void client_state_init(ClientState *s)
{
	*s = (ClientState){ .shm_fd = -1 };
}

void client_state_done(ClientState *s)
{
	if (s->peers) {
		for (unsigned id = 0; id <= WIRE_ID_MAX; id++)
			if (s->peers[id]) {
				peer_close_fds(s->peers[id]);
				free(s->peers[id]);
			}
		free(s->peers);
	}
	peer_close_fds(&s->self);
	safe_close(s->shm_fd);
	client_state_init(s);
}

static int peer_add_fd(ClientPeer *p, int fd)
{
	int *fds;

	if (p->n_vectors >= CLIENT_VECTORS_MAX)
		return -E2BIG;
	fds = realloc(p->fds, (p->n_vectors + 1) * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	p->fds = fds;
	p->fds[p->n_vectors++] = fd;
	return 0;
}

static int feed_peer_message(ClientState *s, int64_t value, int fd, ClientEvent *ev)
{
	uint16_t id = (uint16_t)value;
	ClientPeer *p;
	int r;

	if (value < 0 || value > WIRE_ID_MAX)
		return -EPROTO;

	if (id == s->own_id) {
		if (fd < 0)
			return -EPROTO; /* the server says we left */
		r = peer_add_fd(&s->self, fd);
		if (r < 0)
			return r;
		*ev = (ClientEvent){ .type = CLIENT_EVENT_OWN_VECTOR,
				     .id = id,
				     .vector = s->self.n_vectors - 1 };
		return 0;
	}

	if (!s->peers) {
		s->peers = calloc(WIRE_ID_MAX + 1, sizeof(*s->peers));
		if (!s->peers)
			return -ENOMEM;
	}
	p = s->peers[id];

	if (fd < 0) {
		if (!p) {
			*ev = (ClientEvent){ .type = CLIENT_EVENT_NONE, .id = id };
			return 0;
		}
		peer_close_fds(p);
		free(p);
		s->peers[id] = NULL;
		s->n_peers--;
		*ev = (ClientEvent){ .type = CLIENT_EVENT_PEER_LEFT, .id = id };
		return 0;
	}

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->id = id;
		s->peers[id] = p;
		s->n_peers++;
	}
	r = peer_add_fd(p, fd);
	if (r < 0)
		return r;
	*ev = (ClientEvent){ .type = CLIENT_EVENT_PEER_VECTOR,
			     .id = id,
			     .vector = p->n_vectors - 1 };
	return 0;
}

int client_state_feed(ClientState *s, int64_t value, int fd, ClientEvent *ev)
{
	_cleanup_close_ int owned = fd;
	int r;

	switch (s->phase) {
	case CLIENT_PHASE_VERSION:
		if (fd >= 0)
			return -EPROTO;
		if (value != WIRE_PROTOCOL_VERSION) {
			s->refused_version = value;
			return -ECONNREFUSED;
		}
		s->phase = CLIENT_PHASE_ID;
		*ev = (ClientEvent){ .type = CLIENT_EVENT_VERSION };
		return 0;

	case CLIENT_PHASE_ID:
		if (fd >= 0 || value < 0 || value > WIRE_ID_MAX)
			return -EPROTO;
		s->own_id = (uint16_t)value;
		s->self.id = s->own_id;
		s->phase = CLIENT_PHASE_SHM;
		*ev = (ClientEvent){ .type = CLIENT_EVENT_OWN_ID, .id = s->own_id };
		return 0;

	case CLIENT_PHASE_SHM:
		if (fd < 0 || value != WIRE_SHM_ID)
			return -EPROTO;
		s->shm_fd = TAKE_FD(owned);
		s->phase = CLIENT_PHASE_PEERS;
		*ev = (ClientEvent){ .type = CLIENT_EVENT_SHM };
		return 0;

	case CLIENT_PHASE_PEERS:
		r = feed_peer_message(s, value, owned, ev);
		if (r == 0 && owned >= 0)
			owned = -1; /* kept in the peer's vector table */
		return r;
	}
	return -EPROTO;
}

const ClientPeer *client_state_peer(const ClientState *s, uint16_t id)
{
	return s->peers ? s->peers[id] : NULL;
}

void client_state_foreach_peer(const ClientState *s, bool (*f)(const ClientPeer *p, void *data),
			       void *data)
{
	if (!s->peers)
		return;
	for (unsigned id = 0; id <= WIRE_ID_MAX; id++)
		if (s->peers[id] && !f(s->peers[id], data))
			return;
}
