/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "admission.h"
#include "fabric.h"
#include "fdstore.h"
#include "mailbox.h"
#include "paths.h"
#include "size.h"
#include "peer.h"
#include "restore.h"
#include "switch.h"
#include "time-util.h"
#include "wire.h"

/* Below the peers: departures already seen are handled before a newcomer is judged. */
#define LISTEN_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)
/* How many connections one wake-up accepts while there is room. */
#define ACCEPT_BATCH 32
/* How soon sends refused for too many fds in flight are tried again. */
#define FLUSH_RETRY_USEC (10 * 1000)
/* How long after a burst drained the heap is trimmed: once for a whole bring-up. */
#define TRIM_DELAY_USEC (1000 * 1000)
/* While newcomers wait for fds, how often famezd looks whether they came back. */
#define FD_PRESSURE_CHECK_USEC (100 * 1000)

/* Maps the mailbox at the start of the shared memory and becomes a peer of the fabric. */
static int switch_setup_fabric(Switch *s, StoredFds *restore)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = mailbox_size(s->config.max_peers);
	void *p;
	int r;

	s->mailbox_map_size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, s->mailbox_map_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->shm->fd, 0);
	if (p == MAP_FAILED)
		return switch_log_errno(s, LOG_ERR, errno,
					"cannot map the shared memory for the mailbox: %m");
	s->mailbox = p;
	r = fabric_new(&s->fabric, s, s->mailbox, restore);
	if (r < 0)
		return switch_log_errno(s, LOG_ERR, r, "cannot set the fabric up: %m");
	if (s->shm_watch) {
		r = shm_watch_guard(s->shm_watch, s->mailbox, s->mailbox_map_size,
				    fabric_check_mailbox, s->fabric);
		if (r < 0)
			return switch_log_errno(s, LOG_ERR, r,
						"cannot guard the mailbox against resizes: %m");
	}
	return 0;
}

/*
 * The shared memory to hand out: the stored one after a restart if it is still what it was,
 * else a new one. Memory that cannot be sealed is watched so that no peer can resize it.
 */
static int switch_setup_shm(Switch *s, StoredFds *stored)
{
	char name[FD_NAME_MAX];
	int r;

	fdstore_name(name, switch_store_name(s), FD_KIND_SHM, 0, 0);
	r = s->restoring ? stored_fds_take(stored, name) : -1;

	if (r >= 0 && shm_check_stored(r, &s->config.shm) < 0) {
		safe_close(r);
		r = -1;
	}
	if (r < 0) {
		s->restoring = false;
		r = shm_open_backing(&s->config.shm);
		if (r < 0)
			return r;
		fdstore_push(name, r);
	}
	s->shm = fdref_new(r);
	if (!s->shm)
		return -ENOMEM;
	if (!shm_is_resizable(s->shm->fd))
		return 0;
	return shm_watch_new(&s->shm_watch, s->event, s->shm->fd, &s->config.shm,
			     &s->counters.shm_resizes);
}

static size_t open_file_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
		       ? (size_t)rl.rlim_cur
		       : 1024;
}

void switch_reap(Switch *s)
{
	while (s->broken) {
		Peer *p = s->broken;

		s->broken = p->next_broken;
		if (!s->broken)
			s->broken_tail = NULL;
		peer_depart(p, p->broken_reason);
	}
}

static int reap_peers(sd_event_source *source, void *userdata)
{
	(void)source;
	switch_reap(userdata);
	return 0;
}

void switch_schedule_reap(Switch *s, Peer *p)
{
	/* First broken, first reaped: departures are announced in the order they happened. */
	p->next_broken = NULL;
	if (s->broken_tail)
		s->broken_tail->next_broken = p;
	else
		s->broken = p;
	s->broken_tail = p;
	sd_event_source_set_enabled(s->reap_source, SD_EVENT_ONESHOT);
}

static int flush_peers(sd_event_source *source, uint64_t usec, void *userdata)
{
	Switch *s = userdata;

	(void)source;
	(void)usec;
	for (Peer *p = s->oldest; p; p = p->newer)
		if (p->flush_later && !p->broken)
			peer_flush(p);
	return 0;
}

/*
 * Arms the one-shot timer *source of s (made on first use) delay_usec from now, unless it is
 * armed already: what is due then happens once for everything scheduled meanwhile.
 */
static void schedule_once(Switch *s, sd_event_source **source, uint64_t delay_usec,
			  uint64_t accuracy_usec, sd_event_time_handler_t handler)
{
	uint64_t now;

	if (*source && sd_event_source_get_enabled(*source, NULL) > 0)
		return;
	if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	if (*source) {
		sd_event_source_set_time(*source, now + delay_usec);
		sd_event_source_set_enabled(*source, SD_EVENT_ONESHOT);
		return;
	}
	if (sd_event_add_time(s->event, source, CLOCK_MONOTONIC, now + delay_usec, accuracy_usec,
			      handler, s) >= 0)
		(void)sd_event_source_set_enabled(*source, SD_EVENT_ONESHOT);
}

void switch_schedule_flush(Switch *s)
{
	schedule_once(s, &s->flush_timer, FLUSH_RETRY_USEC, 1000, flush_peers);
}

static int trim_heap(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	(void)userdata;
	malloc_trim(0);
	return 0;
}

void switch_schedule_trim(Switch *s)
{
	schedule_once(s, &s->trim_timer, TRIM_DELAY_USEC, TRIM_DELAY_USEC / 10, trim_heap);
}

static int send_status(sd_event_source *source, void *userdata)
{
	Switch *s = userdata;

	(void)source;
	switch_emit(s, peer_count_changed);
	(void)restore_save_state(s, false);
	return 0;
}

void switch_status_changed(Switch *s)
{
	if (s->shared->status_wanted)
		sd_event_source_set_enabled(s->status_source, SD_EVENT_ONESHOT);
}

int switch_new(Switch **ret, sd_event *event, SwitchShared *shared, SwitchConfig *config,
	       StoredFds *stored)
{
	_cleanup_(switch_freep) Switch *s = NULL;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		switch_config_done(config);
		return -ENOMEM;
	}
	s->config = *config;
	*config = (SwitchConfig){ 0 };
	config = &s->config;
	s->event = sd_event_ref(event);
	s->shared = shared;
	s->is_default = strcmp(config->name, SWITCH_DEFAULT_NAME) == 0;
	if (!s->is_default)
		snprintf(s->log_prefix, sizeof(s->log_prefix), "switch %s: ", config->name);
	s->listen_fd = -1;
	s->reserve_fd = -1;
	s->started_at = now_usec(CLOCK_REALTIME);
	s->refuse_ratelimit = RATELIMIT_INIT(10 * 1000000ULL, 5);
	s->fd_limit = open_file_limit();

	s->peers_by_id = calloc(WIRE_ID_MAX + 1, sizeof(*s->peers_by_id));
	if (!s->peers_by_id)
		return -ENOMEM;
	if (config->mode == SWITCH_MODE_FABRIC)
		r = idalloc_new(&s->ids, 1, config->max_peers, IDALLOC_LOWEST_FREE);
	else
		r = idalloc_new(&s->ids, 0, WIRE_ID_MAX, IDALLOC_MONOTONIC);
	if (r < 0)
		return r;

	r = sd_event_add_defer(event, &s->reap_source, reap_peers, s);
	if (r < 0)
		return r;
	(void)sd_event_source_set_priority(s->reap_source, SD_EVENT_PRIORITY_IMPORTANT);
	(void)sd_event_source_set_enabled(s->reap_source, SD_EVENT_OFF);

	/* Idle priority: one STATUS= line after a burst of joins, not one per join. */
	r = sd_event_add_defer(event, &s->status_source, send_status, s);
	if (r < 0)
		return r;
	(void)sd_event_source_set_priority(s->status_source, SD_EVENT_PRIORITY_IDLE);
	(void)sd_event_source_set_enabled(s->status_source, SD_EVENT_OFF);

	/* After a restart the peers are kept only if everything they depend on is stored. */
	s->restoring = stored && fdstore_enabled() && restore_has_usable_state(s, stored);
	r = switch_setup_shm(s, stored);
	if (r < 0)
		return r;

	if (config->mode == SWITCH_MODE_FABRIC) {
		r = switch_setup_fabric(s, s->restoring ? stored : NULL);
		if (r < 0)
			return r;
	}

	/* A spare fd, so that a client can still be told "no" when we run out of them. */
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	*ret = TAKE_PTR(s);
	return 0;
}

static void switch_remove_socket(Switch *s)
{
	struct stat st;

	if (!s->socket_bound || !s->socket_path)
		return;
	/* Only the file we bound: a successor may have replaced it already. */
	if (lstat(s->socket_path, &st) == 0 && st.st_dev == s->socket_dev &&
	    st.st_ino == s->socket_ino)
		unlink(s->socket_path);
	s->socket_bound = false;
}

static void free_parked_vectors(void *vectors, void *userdata)
{
	Switch *s = userdata;

	peer_free_vectors(vectors, s->config.vectors);
}

Switch *switch_free(Switch *s)
{
	if (!s)
		return NULL;
	while (s->oldest)
		peer_depart(s->oldest, PEER_DEPART_SHUTDOWN);
	admission_done(s);
	if (s->ids)
		idalloc_clear_parked(s->ids, free_parked_vectors, s);
	s->broken = s->broken_tail = NULL;
	sd_event_source_disable_unref(s->listen_source);
	sd_event_source_disable_unref(s->reap_source);
	sd_event_source_disable_unref(s->status_source);
	sd_event_source_disable_unref(s->flush_timer);
	sd_event_source_disable_unref(s->trim_timer);
	sd_event_source_disable_unref(s->fd_pressure_timer);
	fabric_free(s->fabric);
	shm_watch_free(s->shm_watch);
	if (s->mailbox)
		munmap(s->mailbox, s->mailbox_map_size);
	switch_remove_socket(s);
	safe_close(s->listen_fd);
	safe_close(s->reserve_fd);
	free(s->socket_path);
	fdref_unref(s->shm);
	idalloc_free(s->ids);
	free(s->peers_by_id);
	sd_event_unref(s->event);
	switch_config_done(&s->config);
	free(s);
	return NULL;
}

void switch_drop_idle_holders(Switch *s)
{
	for (Peer *p = s->oldest; p; p = p->newer)
		peer_check_reading(p, true);
	switch_reap(s);
}

static int on_fd_pressure(sd_event_source *source, uint64_t usec, void *userdata)
{
	Switch *s = userdata;

	(void)usec;
	/*
	 * Nothing new is queued while newcomers wait: a peer that does not read is let go here,
	 * on every switch (the fds are famezd's, whichever switch's peers hold them).
	 */
	if (s->shared->events && s->shared->events->fds_short)
		switch_emit(s, fds_short);
	else
		switch_drop_idle_holders(s);
	if (fdref_orphaned() > s->fd_limit / 4) {
		(void)sd_event_source_set_time_relative(source, FD_PRESSURE_CHECK_USEC);
		(void)sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
		return 0;
	}
	switch_log(s, LOG_NOTICE,
		   "eventfds held for unread messages are down to %zu (of %zu fds): admitting "
		   "newcomers again",
		   fdref_orphaned(), s->fd_limit);
	(void)sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
	return 0;
}

/*
 * When queued messages alone hold half of the open-file limit (eventfds of peers gone, kept for
 * slow readers that have yet to read of them), newcomers wait in the listen backlog (QEMU waits
 * with them) until that is down to a quarter: admitting them would run famezd out of fds, and a
 * peer that reads, however far behind, is not cut off; one that holds some and does not read
 * is. fds that connected peers own count for nothing here: running out of those is a refusal
 * that says to raise LimitNOFILE=.
 */
static bool hold_newcomers(Switch *s)
{
	int r;

	if (fdref_orphaned() <= s->fd_limit / 2)
		return false;
	(void)sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
	if (!s->fd_pressure_timer) {
		r = sd_event_add_time_relative(s->event, &s->fd_pressure_timer, CLOCK_MONOTONIC,
					       FD_PRESSURE_CHECK_USEC, 0, on_fd_pressure, s);
		if (r < 0) {
			(void)sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
			return false;
		}
	} else {
		(void)sd_event_source_set_time_relative(s->fd_pressure_timer,
							FD_PRESSURE_CHECK_USEC);
		(void)sd_event_source_set_enabled(s->fd_pressure_timer, SD_EVENT_ONESHOT);
	}
	s->counters.admission_pauses++;
	switch_log(s, LOG_NOTICE,
		   "%zu eventfds (of %zu fds) are held for messages slow readers have yet to read: "
		   "newcomers wait",
		   fdref_orphaned(), s->fd_limit);
	return true;
}

static int on_listen(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	Switch *s = userdata;

	(void)source;
	(void)fd;
	(void)revents;
	for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
		int cfd;

		if (hold_newcomers(s))
			return 0;

		/*
		 * When full, judge one newcomer per wake-up: the event loop then sees any peer
		 * that left before the next one connected, and that one gets its place back.
		 */
		if (i > 0 && s->n_peers >= s->config.max_peers)
			break;

		cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				admission_refuse_without_fds(s);
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				switch_log_errno(s, LOG_WARNING, errno, "accept failed: %m");
			return 0;
		}
		admission_judge(s, cfd);
	}
	return 0;
}

/*
 * Whether a socket systemd passed under name is this switch's: famez-switch@NAME.socket names
 * it switch-NAME; any other (famez.socket, a socket activated by hand) is the default switch's.
 */
static bool socket_is_ours(const Switch *s, const char *name)
{
	if (strncmp(name, SWITCH_SOCKET_FD_PREFIX, strlen(SWITCH_SOCKET_FD_PREFIX)) == 0)
		return strcmp(name + strlen(SWITCH_SOCKET_FD_PREFIX), s->config.name) == 0;
	return s->is_default;
}

/* Of what systemd passed, the first listening AF_UNIX stream socket that is ours. */
static int take_activated_socket(Switch *s, StoredFds *stored)
{
	for (size_t i = 0; i < stored->n; i++) {
		int fd = stored->fds[i];

		if (stored->taken[i] || !socket_is_ours(s, stored->names[i]) ||
		    sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			continue;
		stored->taken[i] = true;
		s->listen_fd = fd;
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		return 1;
	}
	if (s->is_default && getenv("LISTEN_FDS") && stored->n > 0 && !fdstore_enabled())
		return log_error_errno(EBADF,
				       "systemd passed %zu fds, none a listening AF_UNIX stream "
				       "socket; check ListenStream= in famez.socket",
				       stored->n);
	return 0;
}

/* Whether a server is accepting on path. Refused means a stale file left by a dead server. */
static bool socket_is_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return true; /* cannot tell: do not remove anything */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return true;
	return errno != ECONNREFUSED;
}

static int ensure_parent_dir(const char *path, bool create)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	struct stat st;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == 0)
		return 0;
	if (!create || errno != ENOENT)
		return log_error_errno(errno, "cannot listen on %s: directory %s: %m", path, dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create %s for the socket: %m", dir);
	return 0;
}

static int bind_socket(Switch *s, const char *path, bool is_default)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG,
				       "socket path %s is longer than %zu bytes; choose a shorter "
				       "--socket",
				       path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path));

	r = ensure_parent_dir(path, is_default);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return switch_log_errno(s, LOG_ERR, errno, "cannot create a socket: %m");
	s->listen_fd = fd;

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return switch_log_errno(s, LOG_ERR, errno, "cannot bind %s: %m", path);
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			return log_error_errno(EEXIST,
					       "%s exists and is not a socket; remove it or choose "
					       "another --socket",
					       path);
		if (socket_is_live(path))
			return log_error_errno(
				EADDRINUSE,
				"another server is listening on %s; stop it or choose "
				"another --socket",
				path);
		switch_log(s, LOG_NOTICE, "removing stale socket %s left by a server that is gone",
			   path);
		if (unlink(path) < 0 && errno != ENOENT)
			return log_error_errno(errno, "cannot remove stale socket %s: %m", path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return switch_log_errno(s, LOG_ERR, errno, "cannot bind %s: %m", path);
	}
	if (lstat(path, &st) == 0) {
		s->socket_dev = st.st_dev;
		s->socket_ino = st.st_ino;
	}
	s->socket_bound = true;
	if (listen(fd, SOMAXCONN) < 0)
		return switch_log_errno(s, LOG_ERR, errno, "cannot listen on %s: %m", path);
	return 0;
}

static char *socket_name(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || len <= sizeof(sa_family_t))
		return strdup("(unnamed)");
	if (sa.sun_path[0] == '\0')
		return strdup("(abstract)");
	return strndup(sa.sun_path, sizeof(sa.sun_path));
}

int switch_start(Switch *s, StoredFds *stored)
{
	int r;

	r = take_activated_socket(s, stored);
	if (r < 0)
		return r;
	if (r > 0) {
		if (s->config.socket_path)
			switch_log(s, LOG_NOTICE,
				   "using the socket passed by systemd; --socket %s is ignored",
				   s->config.socket_path);
		s->socket_path = socket_name(s->listen_fd);
	} else {
		char path[PATH_MAX];
		bool is_default = !s->config.socket_path;

		if (is_default)
			r = famez_switch_socket_path(s->config.name, path, sizeof(path));
		else
			r = snprintf(path, sizeof(path), "%s", s->config.socket_path) < 0 ? -EINVAL
											  : 0;
		if (r < 0)
			return switch_log_errno(s, LOG_ERR, r, "no socket path: %m");
		s->socket_path = strdup(path);
		if (!s->socket_path)
			return -ENOMEM;
		r = bind_socket(s, path, is_default);
		if (r < 0)
			return r;
	}
	if (!s->socket_path)
		return -ENOMEM;

	r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_listen, s);
	if (r < 0)
		return switch_log_errno(s, LOG_ERR, r, "cannot watch the listening socket: %m");
	(void)sd_event_source_set_priority(s->listen_source, LISTEN_PRIORITY);
	(void)sd_event_source_set_description(s->listen_source, "listen");
	return 0;
}

void switch_log_ready(const Switch *s)
{
	char size[SIZE_STR_MAX];

	switch_log(s, LOG_INFO,
		   "listening on %s (%s mode): %s shared memory of %s, %u vector%s per peer, at "
		   "most %u peers",
		   s->socket_path, switch_mode_to_string(s->config.mode),
		   shm_backing_to_string(s->config.shm.backing),
		   format_size(s->config.shm.size, size), s->config.vectors,
		   s->config.vectors == 1 ? "" : "s", s->config.max_peers);
}
