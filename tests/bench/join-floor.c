/* SPDX-License-Identifier: MIT */
/*
 * join-floor: the least an ivshmem server can do, as a server famez-load drives like famezd and
 * ivshmem-server: the floor under CPU per join and leave. It makes only the system calls the
 * protocol needs and nothing else: accept4(), one eventfd per vector, the newcomer's handshake
 * (version, id, the shared memory, every peer's vectors, its own) in one sendmmsg(), one message
 * per vector to every other peer, and at a hangup close() and one message to every other peer.
 * Blocking sockets and no queues (famez-load drains every socket), no logs, no accounting, no
 * limits: not a server to run, a measure of what a server's own work costs on top of the kernel's.
 *
 * -e runs the same on sd-event, famezd's loop, instead of a bare epoll: one event source per
 * socket, one dispatched per turn of the loop, a source's removal its own epoll_ctl(). The
 * difference between the two is what the event loop costs.
 *
 * Usage: join-floor -S SOCKET [-n VECTORS] [-e]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#define MAX_PEERS 4096
#define MAX_VECTORS 64
#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))

typedef struct Peer {
	int sock;
	sd_event_source *source; /* -e */
	int64_t id;
	int vectors[MAX_VECTORS];
	unsigned index; /* in peers[] */
} Peer;

/* One protocol message as a sendmmsg() entry: 8 bytes and at most one fd. */
typedef struct Msg {
	int64_t value;
	struct iovec iov;
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} control;
} Msg;

static Peer *peers[MAX_PEERS];
static unsigned n_peers, n_vectors = 1;
static int64_t free_ids[MAX_PEERS];
static unsigned n_free;
static int shm_fd, ep = -1;
static sd_event *event; /* -e */
static Msg msgs[4 + MAX_PEERS * MAX_VECTORS];
static struct mmsghdr mm[ELEMENTS(msgs)];

static void prepare(unsigned i, int64_t value, int fd)
{
	Msg *m = &msgs[i];
	struct msghdr *h = &mm[i].msg_hdr;

	m->value = value;
	m->iov = (struct iovec){ .iov_base = &m->value, .iov_len = sizeof(m->value) };
	*h = (struct msghdr){ .msg_iov = &m->iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		h->msg_control = m->control.buf;
		h->msg_controllen = sizeof(m->control.buf);
		m->control.hdr = (struct cmsghdr){
			.cmsg_len = CMSG_LEN(sizeof(int)),
			.cmsg_level = SOL_SOCKET,
			.cmsg_type = SCM_RIGHTS,
		};
		memcpy(CMSG_DATA(&m->control.hdr), &fd, sizeof(fd));
	}
}

/* Sends msgs[0..n) on sock, blocking; a peer gone is noticed at its hangup. */
static void send_prepared(int sock, unsigned n)
{
	unsigned sent = 0;

	while (sent < n) {
		int r = sendmmsg(sock, mm + sent, n - sent, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		sent += (unsigned)r;
	}
}

static void send_one(int sock, int64_t value, int fd)
{
	prepare(0, value, fd);
	send_prepared(sock, 1);
}

static void leave(Peer *p);

static int on_peer(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	char byte;

	(void)source, (void)revents;
	if (read(fd, &byte, 1) <= 0)
		leave(userdata);
	return 0;
}

/* Its hangup is what is waited for: famez-load's peers never write. */
static void watch(Peer *p)
{
	if (event)
		(void)sd_event_add_io(event, &p->source, p->sock, EPOLLIN, on_peer, p);
	else
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, p->sock,
				&(struct epoll_event){ .events = EPOLLIN, .data.ptr = p });
}

static void join(int sock)
{
	Peer *p;
	unsigned n = 0;

	if (!n_free || n_peers == MAX_PEERS || !(p = calloc(1, sizeof(*p)))) {
		close(sock);
		return;
	}
	p->sock = sock;
	p->id = free_ids[--n_free];
	for (unsigned v = 0; v < n_vectors; v++)
		p->vectors[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	prepare(n++, 0, -1); /* protocol version */
	prepare(n++, p->id, -1);
	prepare(n++, -1, shm_fd);
	for (unsigned i = 0; i < n_peers; i++)
		for (unsigned v = 0; v < n_vectors; v++)
			prepare(n++, peers[i]->id, peers[i]->vectors[v]);
	for (unsigned v = 0; v < n_vectors; v++)
		prepare(n++, p->id, p->vectors[v]);
	send_prepared(sock, n);

	for (unsigned i = 0; i < n_peers; i++) {
		for (unsigned v = 0; v < n_vectors; v++)
			prepare(v, p->id, p->vectors[v]);
		send_prepared(peers[i]->sock, n_vectors);
	}

	p->index = n_peers;
	peers[n_peers++] = p;
	watch(p);
}

static void leave(Peer *p)
{
	/* close() takes the socket out of epoll (famez-load never shares it); sd-event asks. */
	sd_event_source_disable_unref(p->source);
	close(p->sock);
	for (unsigned v = 0; v < n_vectors; v++)
		close(p->vectors[v]);
	peers[p->index] = peers[--n_peers];
	peers[p->index]->index = p->index;
	for (unsigned i = 0; i < n_peers; i++)
		send_one(peers[i]->sock, p->id, -1);
	free_ids[n_free++] = p->id;
	free(p);
}

static int on_listen(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	int sock = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)source, (void)revents, (void)userdata;
	if (sock >= 0)
		join(sock);
	return 0;
}

int main(int argc, char *argv[])
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = NULL;
	bool use_sd_event = false;
	int opt, ls;

	while ((opt = getopt(argc, argv, "S:n:e")) != -1) {
		if (opt == 'S')
			path = optarg;
		else if (opt == 'n')
			n_vectors = (unsigned)atoi(optarg);
		else if (opt == 'e')
			use_sd_event = true;
		else
			return 2;
	}
	if (!path || strlen(path) >= sizeof(addr.sun_path) || n_vectors < 1 ||
	    n_vectors > MAX_VECTORS) {
		fprintf(stderr, "usage: join-floor -S SOCKET [-n VECTORS (1-%d)] [-e]\n",
			MAX_VECTORS);
		return 2;
	}
	for (unsigned i = 0; i < MAX_PEERS; i++)
		free_ids[n_free++] = MAX_PEERS - 1 - i;
	shm_fd = memfd_create("join-floor", MFD_CLOEXEC);
	strcpy(addr.sun_path, path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (shm_fd < 0 || ftruncate(shm_fd, 4 << 20) < 0 || ls < 0 || ep < 0 ||
	    bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 4096) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &(struct epoll_event){ .events = EPOLLIN }) < 0) {
		perror("join-floor");
		return 1;
	}
	if (use_sd_event) {
		if (sd_event_new(&event) < 0 ||
		    sd_event_add_io(event, NULL, ls, EPOLLIN, on_listen, NULL) < 0)
			return 1;
		return sd_event_loop(event) < 0;
	}

	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(ep, ev, ELEMENTS(ev), -1);

		for (int i = 0; i < n; i++) {
			Peer *p = ev[i].data.ptr;
			char byte;

			if (!p) {
				int sock = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

				if (sock >= 0)
					join(sock);
			} else if (read(p->sock, &byte, 1) <= 0) {
				leave(p);
			}
		}
	}
}
