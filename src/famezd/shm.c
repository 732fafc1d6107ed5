/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "doorbell.h"
#include "log.h"
#include "macro.h"
#include "shm.h"
#include "size.h"

#define SEALS (F_SEAL_GROW | F_SEAL_SHRINK)

static int set_size(int fd, uint64_t size, const char *what)
{
	char buf[SIZE_STR_MAX];

	if (ftruncate(fd, (off_t)size) < 0)
		return log_error_errno(errno, "cannot size %s to %s: %m", what,
				       format_size(size, buf));
	return 0;
}

/* An anonymous memfd (of huge pages with MFD_HUGETLB), sized and sealed. */
static int open_memfd(const ShmConfig *c, unsigned flags, const char *what)
{
	_cleanup_close_ int fd = memfd_create("famez", MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
	int r;

	if (fd < 0)
		return log_error_errno(errno, "cannot create %s: %m", what);
	r = set_size(fd, c->size, what);
	if (r < 0)
		return r;
	/* Peers map the whole size: nobody may shrink it under them (SIGBUS) or grow it. */
	if (fcntl(fd, F_ADD_SEALS, SEALS | F_SEAL_SEAL) < 0)
		return log_error_errno(errno, "cannot seal %s: %m", what);
	return TAKE_FD(fd);
}

/* Reuses an object of the right size, sizes a new one, refuses another size unless asked. */
static int adopt_size(int fd, const ShmConfig *c, const char *what)
{
	char want[SIZE_STR_MAX], have[SIZE_STR_MAX];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "cannot stat %s: %m", what);
	if ((uint64_t)st.st_size == c->size)
		return 0;
	if (st.st_size != 0 && !c->truncate)
		return log_error_errno(
			EEXIST,
			"%s has %s, not the %s asked for; pass --shm-size %s to use it "
			"as it is, or --shm-truncate to resize it",
			what, format_size((uint64_t)st.st_size, have), format_size(c->size, want),
			have);
	return set_size(fd, c->size, what);
}

/*
 * A file or object that was there already: every peer gets it read-write, so it must be ours
 * alone, not one another user planted (or can change) for famezd to hand out.
 */
static int check_owned(int fd, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "cannot stat %s: %m", what);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(EINVAL, "%s is not a regular file", what);
	if (st.st_uid != geteuid())
		return log_error_errno(EPERM,
				       "%s belongs to uid %u, not to famezd's uid %u: another "
				       "user may have put it there; remove it, or if it is yours, "
				       "chown it to uid %u",
				       what, (unsigned)st.st_uid, (unsigned)geteuid(),
				       (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return log_error_errno(
			EPERM,
			"%s can be written by %s (mode %04o): another user may "
			"have changed it; remove it, or if it is yours, chmod go-w it",
			what, st.st_mode & S_IWOTH ? "every user" : "its group",
			(unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * Takes the fd of an --shm-file or --shm-name object: created (exclusively) by us, or checked
 * to be ours. A symbolic link is never followed (errno ELOOP).
 */
static int adopt_named(int fd, bool created, const ShmConfig *c, const char *option)
{
	_cleanup_close_ int owned = fd;
	char what[4096];
	int r;

	snprintf(what, sizeof(what), "%s %s", option, c->location);
	if (fd < 0 && errno == ELOOP)
		return log_error_errno(ELOOP,
				       "%s is a symbolic link, which famezd does not follow (it "
				       "could point anywhere): give the real path",
				       what);
	if (fd < 0)
		return log_error_errno(errno, "cannot open %s: %m", what);
	if (created)
		r = set_size(fd, c->size, what);
	else {
		r = check_owned(fd, what);
		if (r >= 0)
			r = adopt_size(fd, c, what);
	}
	if (r < 0)
		return r;
	return TAKE_FD(owned);
}

static int open_file(const ShmConfig *c)
{
	int flags = O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
	int fd = open(c->location, flags | O_CREAT | O_EXCL, 0600);
	bool created = fd >= 0;

	if (!created && errno == EEXIST)
		fd = open(c->location, flags);
	return adopt_named(fd, created, c, "--shm-file");
}

static int open_posix(const ShmConfig *c)
{
	/* shm_open() never follows symbolic links. */
	int fd = shm_open(c->location, O_RDWR | O_CREAT | O_EXCL, 0600);
	bool created = fd >= 0;

	if (!created && errno == EEXIST)
		fd = shm_open(c->location, O_RDWR, 0);
	return adopt_named(fd, created, c, "--shm-name");
}

/*
 * Huge pages of the mount's page size, as an anonymous memfd: unlike a file in the mount, it
 * can be sealed, so no peer can shrink it.
 */
static int open_hugetlbfs(const ShmConfig *c)
{
	char page[SIZE_STR_MAX], size[SIZE_STR_MAX];
	struct statfs fs;

	if (statfs(c->location, &fs) < 0)
		return log_error_errno(errno, "cannot use --hugetlbfs %s: %m", c->location);
	if (fs.f_type != HUGETLBFS_MAGIC)
		return log_error_errno(EINVAL, "--hugetlbfs %s is not a hugetlbfs mount",
				       c->location);
	if (fs.f_bsize <= 0 || !size_is_pow2((uint64_t)fs.f_bsize) ||
	    c->size % (uint64_t)fs.f_bsize != 0)
		return log_error_errno(
			EINVAL, "--shm-size %s is not a multiple of the huge page size %s of %s",
			format_size(c->size, size), format_size((uint64_t)fs.f_bsize, page),
			c->location);
	return open_memfd(
		c, MFD_HUGETLB | (unsigned)__builtin_ctzll((uint64_t)fs.f_bsize) << MFD_HUGE_SHIFT,
		"the shared memory (huge pages)");
}

int shm_open_backing(const ShmConfig *c)
{
	switch (c->backing) {
	case SHM_BACKING_MEMFD:
		return open_memfd(c, 0, "the shared memory (memfd)");
	case SHM_BACKING_FILE:
		return open_file(c);
	case SHM_BACKING_POSIX:
		return open_posix(c);
	case SHM_BACKING_HUGETLBFS:
		return open_hugetlbfs(c);
	}
	return -EINVAL;
}

bool shm_is_resizable(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals < 0 || (seals & SEALS) != SEALS;
}

int shm_check_stored(int fd, const ShmConfig *c)
{
	char want[SIZE_STR_MAX], have[SIZE_STR_MAX];
	bool sealed_backing =
		c->backing == SHM_BACKING_MEMFD || c->backing == SHM_BACKING_HUGETLBFS;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "cannot stat the stored shared memory: %m");
	if ((uint64_t)st.st_size == c->size && (!sealed_backing || !shm_is_resizable(fd)))
		return 0;
	format_size((uint64_t)st.st_size, have);
	format_size(c->size, want);
	if (sealed_backing)
		return log_error_errno(EINVAL,
				       "the stored shared memory is not the sealed %s famezd "
				       "made (it has %s): not using it",
				       want, have);
	log_warning("the shared memory was resized to %s while famezd was down (a peer can do "
		    "that to a --shm-file or --shm-name object); sizing it back to %s",
		    have, want);
	return set_size(fd, c->size, "the stored shared memory");
}

/* ---- keeping memory that cannot be sealed at its size ---- */

struct ShmWatch {
	int fd;
	uint64_t size;
	uint64_t *repairs;
	RateLimit log_limit;        /* resizes a peer made */
	RateLimit sigbus_log_limit; /* mailbox touches while cut off: each its own, or a resize
				     * storm hides the one a watcher waits for */
	sd_event_source *inotify;
	sd_event_source *fault;
	ShmRepairedFunc repaired;
	void *userdata;
};

/* What the SIGBUS handler needs; one guarded mapping per process. */
static struct {
	uint8_t *volatile addr;
	volatile size_t len;
	int fault_fd; /* an eventfd of our own that tells the event loop */
	volatile sig_atomic_t fell_back;
} guard = { .fault_fd = -1 };

/*
 * Async-signal-safe: zeroed private memory in place of the guarded mapping lets the faulting
 * access complete; the event loop repairs the rest. A SIGBUS anywhere else is a real fault:
 * the default action, at once.
 */
static void on_sigbus(int signo, siginfo_t *info, void *context)
{
	uint8_t *a = info->si_addr;
	uint64_t one = 1;
	int saved = errno;

	(void)context;
	if (guard.addr && a >= guard.addr && a < guard.addr + guard.len &&
	    mmap(guard.addr, guard.len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
		guard.fell_back = 1;
		(void)!write(guard.fault_fd, &one, sizeof(one));
	} else
		signal(signo, SIG_DFL);
	errno = saved;
}

static void repair(ShmWatch *w)
{
	char want[SIZE_STR_MAX], have[SIZE_STR_MAX];
	struct stat st;

	if (fstat(w->fd, &st) < 0)
		return;
	if ((uint64_t)st.st_size != w->size) {
		(*w->repairs)++;
		if (ftruncate(w->fd, (off_t)w->size) < 0) {
			log_error_errno(errno, "cannot size the shared memory back: %m");
			return;
		}
		if (log_ratelimit_pass(&w->log_limit, "shared-memory resizes"))
			log_warning("a peer resized the shared memory to %s; sized it back to %s "
				    "(what it cut off is lost)",
				    format_size((uint64_t)st.st_size, have),
				    format_size(w->size, want));
	}
	if (guard.fell_back) {
		if (mmap(guard.addr, guard.len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 w->fd, 0) == MAP_FAILED) {
			log_error_errno(errno, "cannot map the shared memory again: %m");
			return;
		}
		guard.fell_back = 0;
		if (log_ratelimit_pass(&w->sigbus_log_limit, "mailbox touches while cut off"))
			log_warning("the mailbox was touched while a peer had cut it off "
				    "(SIGBUS); it is mapped again");
	}
	/*
	 * Whatever a peer cut off came back zeroed, even if it sized the memory back itself
	 * before famezd looked: the owner of the guarded mapping checks what it keeps there.
	 */
	if (w->repaired)
		w->repaired(w->userdata);
}

static int on_inotify(sd_event_source *source, const struct inotify_event *event, void *userdata)
{
	(void)source;
	(void)event;
	repair(userdata);
	return 0;
}

static int on_fault(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	uint64_t count;

	(void)source;
	(void)revents;
	(void)doorbell_take(fd, &count);
	repair(userdata);
	return 0;
}

int shm_watch_new(ShmWatch **ret, sd_event *event, int fd, const ShmConfig *c, uint64_t *repairs)
{
	ShmWatch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->size = c->size;
	w->repairs = repairs;
	w->log_limit = RATELIMIT_INIT(10 * 1000000ULL, 5);
	w->sigbus_log_limit = RATELIMIT_INIT(10 * 1000000ULL, 5);
	r = sd_event_add_inotify_fd(event, &w->inotify, fd, IN_MODIFY, on_inotify, w);
	if (r < 0) {
		shm_watch_free(w);
		return log_error_errno(r, "cannot watch the shared memory for resizes: %m");
	}
	/* Before anything that might touch the memory. */
	(void)sd_event_source_set_priority(w->inotify, SD_EVENT_PRIORITY_IMPORTANT);
	*ret = w;
	return 0;
}

int shm_watch_guard(ShmWatch *w, void *addr, size_t len, ShmRepairedFunc repaired, void *userdata)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	int r;

	guard.fault_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (guard.fault_fd < 0)
		return -errno;
	r = sd_event_add_io(sd_event_source_get_event(w->inotify), &w->fault, guard.fault_fd,
			    EPOLLIN, on_fault, w);
	if (r < 0)
		return r;
	(void)sd_event_source_set_priority(w->fault, SD_EVENT_PRIORITY_IMPORTANT);
	w->repaired = repaired;
	w->userdata = userdata;
	guard.len = len;
	guard.addr = addr;
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

ShmWatch *shm_watch_free(ShmWatch *w)
{
	if (!w)
		return NULL;
	sd_event_source_disable_unref(w->fault);
	sd_event_source_disable_unref(w->inotify);
	if (guard.fault_fd >= 0) {
		signal(SIGBUS, SIG_DFL);
		guard.addr = NULL;
		guard.len = 0;
		guard.fault_fd = safe_close(guard.fault_fd);
	}
	free(w);
	return NULL;
}
