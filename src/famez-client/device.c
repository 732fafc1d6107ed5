/* SPDX-License-Identifier: MIT */
/*
 * famez-client inside a guest: the fabric through the famez_bridge device (--device) instead of
 * a server socket. What the bridge is comes from its info ioctl, the shared memory is mmap()ed
 * from it, each own vector is bound to an eventfd of ours, rings go through its ring ioctl. On
 * a FAME-Z fabric the bridge is the peer (it owns our slot and answers the link requests), so
 * messages go through its text API: write("ID:text") or write("CID,SID:text") (the bridge
 * routes those it has no slot for), read() -> "CID,SID:text".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/famez_bridge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "size.h"
#include "strutil.h"

/* How often a wait that nothing signals (rfc: the bridge's link state) looks again. */
#define DEVICE_POLL_USEC 20000

int client_device_info(Client *c, struct famez_bridge_info *info)
{
	memset(info, 0, sizeof(*info));
	if (ioctl(c->device_fd, FAMEZ_BRIDGE_IOC_INFO, info) < 0)
		return -errno;
	return 0;
}

int client_device_ring(Client *c, unsigned peer, unsigned vector)
{
	struct famez_bridge_ring ring = { .peer = peer, .vector = vector };

	if (ioctl(c->device_fd, FAMEZ_BRIDGE_IOC_RING, &ring) < 0)
		return command_error(c, "cannot ring peer %u vector %u: %m", peer, vector);
	return 0;
}

int client_device_write(Client *c, const char *dest, const char *text)
{
	char buf[MAILBOX_MSG_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "%s:%s", dest, text);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	/*
	 * The bridge waits (at most 5 s) for the receiver to free our slot; for what it routes or
	 * relays, its errno says why it could not (EHOSTUNREACH: no route or no such component,
	 * ENETDOWN: a switch's relay disabled).
	 */
	if (write(c->device_wfd, buf, (size_t)n) != n)
		return -errno;
	return 0;
}

int client_device_send(Client *c, const char *dest, const char *text)
{
	int r = client_device_write(c, dest, text);

	if (r == -EMSGSIZE)
		return command_error(c, "the message is too long for a slot");
	if (r < 0 && (strchr(dest, ',') || str_has_prefix(dest, "dr:")))
		return command_error(c, "cannot reach %s: %s", dest, strerror(-r));
	if (r < 0)
		return command_error(c, "cannot send to peer %s: %s", dest, strerror(-r));
	return 0;
}

static int on_device(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Client *c = userdata;
	char buf[MAILBOX_MSG_MAX + 32];

	(void)source;
	(void)revents;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		client_fabric_on_device_message(c, buf);
	}
	client_continue(c);
	return 0;
}

static int on_poll_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	client_continue(c);
	return sd_event_source_set_time(source, usec + DEVICE_POLL_USEC);
}

/* Binds an eventfd of ours to every vector of the bridge. */
static int bind_vectors(Client *c, unsigned n)
{
	c->state.self.fds = calloc(n, sizeof(int));
	if (!c->state.self.fds)
		return -ENOMEM;
	for (unsigned v = 0; v < n; v++) {
		struct famez_bridge_bind bind = { .vector = v };
		int r;

		bind.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (bind.fd < 0)
			return -errno;
		c->state.self.fds[v] = bind.fd;
		c->state.self.n_vectors = v + 1;
		if (ioctl(c->device_fd, FAMEZ_BRIDGE_IOC_BIND, &bind) < 0)
			return log_error_errno(errno, "cannot bind vector %u of %s: %m", v,
					       c->device_path);
		r = client_watch_own_vector(c, v);
		if (r < 0)
			return r;
	}
	return 0;
}

int client_device_open(Client *c, const char *nodename, const char *cclass)
{
	struct famez_bridge_info info;
	char size[SIZE_STR_MAX];
	void *p;
	int r;

	c->device = true;
	c->device_fd = open(c->device_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c->device_fd < 0)
		return log_error_errno(errno, "cannot open %s: %m", c->device_path);
	c->device_wfd = open(c->device_path, O_RDWR | O_CLOEXEC);
	if (c->device_wfd < 0)
		return log_error_errno(errno, "cannot open %s: %m", c->device_path);
	r = client_device_info(c, &info);
	if (r < 0)
		return log_error_errno(r, "%s is not a famez bridge: %m", c->device_path);

	c->state.own_id = (uint16_t)info.id;
	c->state.self.id = (uint16_t)info.id;
	if (info.shm_size) {
		p = mmap(NULL, info.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->device_fd, 0);
		if (p == MAP_FAILED)
			return log_error_errno(errno, "cannot map the shared memory of %s: %m",
					       c->device_path);
		c->shm = p;
		c->shm_size = info.shm_size;
	}
	r = bind_vectors(c, info.vectors);
	if (r < 0)
		return log_error_errno(r, "cannot watch the vectors of %s: %m", c->device_path);
	r = sd_event_add_io(c->event, &c->device_source, c->device_fd, EPOLLIN, on_device, c);
	if (r >= 0)
		r = sd_event_add_time_relative(c->event, &c->device_timer, CLOCK_MONOTONIC,
					       DEVICE_POLL_USEC, 1000, on_poll_timer, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->device_timer, SD_EVENT_ON);
	if (r < 0)
		return log_error_errno(r, "cannot watch %s: %m", c->device_path);

	c->settled = true;
	say("connected id %u vectors %u shm %s device %s", c->state.own_id, info.vectors,
	    format_size(c->shm_size, size), c->device_path);
	if (info.flags & FAMEZ_BRIDGE_FABRIC)
		client_fabric_setup(c, nodename, cclass);
	client_continue(c);
	return 0;
}

void client_device_done(Client *c)
{
	c->device_source = sd_event_source_disable_unref(c->device_source);
	c->device_timer = sd_event_source_disable_unref(c->device_timer);
	c->device_wfd = safe_close(c->device_wfd);
	c->device_fd = safe_close(c->device_fd);
}
