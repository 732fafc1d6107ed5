/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "admission.h"
#include "list.h"
#include "log.h"
#include "peer.h"
#include "switch.h"
#include "time-util.h"
#include "wire.h"

/* How often newcomers waiting for their uid's turn are looked at, at most. */
#define WAIT_TICK_USEC (10 * 1000)

static int on_waiting_timer(sd_event_source *source, uint64_t usec, void *userdata);

/*
 * Tells a client "no" the way QEMU understands: a version it does not speak, then close. cred
 * is who it is, when known.
 */
static void refuse_client(Switch *s, int fd, const struct ucred *cred, const char *why)
{
	struct ucred asked = { .pid = 0 };
	socklen_t len = sizeof(asked);

	if (!cred) {
		(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &asked, &len);
		cred = &asked;
	}
	(void)wire_send(fd, WIRE_VERSION_REFUSED, -1, 0);
	safe_close(fd);
	s->counters.peers_rejected++;

	if (log_ratelimit_pass(&s->refuse_ratelimit, "refusals"))
		switch_log(s, LOG_WARNING, "refused client pid %d: %s", (int)cred->pid, why);
}

/* Out of fds: free the spare one to accept and refuse the client, then take it back. */
void admission_refuse_without_fds(Switch *s)
{
	int fd;

	s->reserve_fd = safe_close(s->reserve_fd);
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0)
		refuse_client(s, fd, NULL, "out of file descriptors (raise LimitNOFILE=)");
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* A newcomer past its uid's join rate, waiting for its turn (uidlimit.h). */
typedef struct Waiting {
	Switch *sw;
	struct Waiting *older, *newer;
	int fd;
	struct ucred cred;
	sd_event_source *io; /* it may hang up while it waits */
} Waiting;

static void waiting_free(Switch *s, Waiting *w)
{
	LIST_UNLINK(s->waiting_oldest, s->waiting_newest, w, older, newer);
	sd_event_source_disable_unref(w->io);
	safe_close(w->fd);
	free(w);
}

static int on_waiting_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Waiting *w = userdata;

	(void)source;
	(void)fd;
	(void)revents;
	/* An ivshmem client only listens: whatever it does now, it gave up. */
	uid_limits_gave_up(w->sw->shared->uid_limits, w->cred.uid);
	waiting_free(w->sw, w);
	return 0;
}

static void arm_waiting_timer(Switch *s, uint64_t usec)
{
	uint64_t now;

	if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	/* One wake-up admits every newcomer whose turn came meanwhile. */
	usec = MAX(usec, WAIT_TICK_USEC);
	if (!s->waiting_timer) {
		if (sd_event_add_time(s->event, &s->waiting_timer, CLOCK_MONOTONIC, now + usec,
				      WAIT_TICK_USEC, on_waiting_timer, s) < 0)
			return;
	} else if (sd_event_source_get_enabled(s->waiting_timer, NULL) <= 0)
		sd_event_source_set_time(s->waiting_timer, now + usec);
	else
		return;
	sd_event_source_set_enabled(s->waiting_timer, SD_EVENT_ONESHOT);
}

static void wait_for_turn(Switch *s, int fd, const struct ucred *cred, uint64_t usec)
{
	Waiting *w = calloc(1, sizeof(*w));

	if (!w || sd_event_add_io(s->event, &w->io, fd, EPOLLIN, on_waiting_io, w) < 0) {
		free(w);
		uid_limits_gave_up(s->shared->uid_limits, cred->uid);
		refuse_client(s, fd, cred, "out of memory");
		return;
	}
	w->sw = s;
	w->fd = fd;
	w->cred = *cred;
	LIST_APPEND(s->waiting_oldest, s->waiting_newest, w, older, newer);
	s->counters.peers_delayed++;
	arm_waiting_timer(s, usec);
}

static void admit_now(Switch *s, int fd, const struct ucred *cred)
{
	char why[128];
	int r;

	if (s->n_peers >= s->config.max_peers) {
		snprintf(why, sizeof(why), "the fabric is full (%u peers, --max-peers %u)",
			 s->n_peers, s->config.max_peers);
		refuse_client(s, fd, cred, why);
		return;
	}
	r = peer_admit(s, fd, cred, NULL);
	if (r == -ENOSPC)
		refuse_client(s, fd, cred,
			      "no peer ID may be given now: every free ID was seen leaving by "
			      "a connected peer");
	else if (r == -EMFILE || r == -ENFILE)
		refuse_client(s, fd, cred, "out of file descriptors (raise LimitNOFILE=)");
	else if (r < 0) {
		snprintf(why, sizeof(why), "cannot set the peer up: %s", strerror(-r));
		refuse_client(s, fd, cred, why);
	}
}

/* Admits, delays or refuses a newcomer by what its uid may cost (uidlimit.h). */
static void judge_client(Switch *s, int fd, const struct ucred *cred, UidVerdict verdict,
			 uint64_t wait_usec)
{
	char why[192];

	switch (verdict) {
	case UID_ADMIT:
		admit_now(s, fd, cred);
		return;
	case UID_WAIT:
		wait_for_turn(s, fd, cred, wait_usec);
		return;
	case UID_TOO_MANY:
		snprintf(why, sizeof(why),
			 "uid %u has %u peers connected or waiting, as many as "
			 "--max-peers-per-uid allows",
			 (unsigned)cred->uid, s->shared->max_peers_per_uid);
		break;
	case UID_TOO_FAST:
		snprintf(why, sizeof(why),
			 "uid %u joins faster than --max-join-rate %u a second, and as many of "
			 "its newcomers wait already",
			 (unsigned)cred->uid, s->shared->max_join_rate);
		break;
	}
	refuse_client(s, fd, cred, why);
}

static int on_waiting_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	Switch *s = userdata;
	uint64_t next = UINT64_MAX;

	(void)source;
	/* Oldest first: each uid's newcomers are admitted in the order they came. */
	for (Waiting *w = s->waiting_oldest, *newer; w; w = newer) {
		uint64_t wait_usec = 0;
		UidVerdict v =
			uid_limits_recheck(s->shared->uid_limits, w->cred.uid, usec, &wait_usec);
		struct ucred cred = w->cred;
		int fd = w->fd;

		newer = w->newer;
		if (v == UID_WAIT) {
			next = MIN(next, wait_usec);
			continue;
		}
		w->fd = -1;
		waiting_free(s, w);
		judge_client(s, fd, &cred, v, 0);
	}
	if (next != UINT64_MAX)
		arm_waiting_timer(s, next);
	return 0;
}

void admission_judge(Switch *s, int fd)
{
	struct ucred cred = { .uid = 0 };
	socklen_t len = sizeof(cred);
	uint64_t now = 0, wait_usec = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		refuse_client(s, fd, &cred, "cannot tell who it is (SO_PEERCRED)");
		return;
	}
	(void)sd_event_now(s->event, CLOCK_MONOTONIC, &now);
	judge_client(s, fd, &cred,
		     uid_limits_check(s->shared->uid_limits, cred.uid, now, &wait_usec), wait_usec);
}

void admission_done(Switch *s)
{
	while (s->waiting_oldest)
		waiting_free(s, s->waiting_oldest);
	s->waiting_timer = sd_event_source_disable_unref(s->waiting_timer);
}
