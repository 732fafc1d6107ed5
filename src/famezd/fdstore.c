/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdref.h"
#include "fdstore.h"
#include "log.h"
#include "macro.h"
#include "state-format.h"

static bool enabled;

bool fdstore_enabled(void)
{
	return enabled;
}

void fdstore_enable(void)
{
	enabled = getenv("NOTIFY_SOCKET") != NULL;
}

const char *fdstore_name(char buf[FD_NAME_MAX], const char *switch_name, FdKind kind, unsigned id,
			 unsigned sub)
{
	if (fd_name_format(buf, FD_NAME_MAX, switch_name, kind, id, sub) < 0)
		buf[0] = '\0';
	return buf;
}

void fdstore_push(const char *name, int fd)
{
	char msg[300];
	int r;

	if (!enabled || fd < 0 || !name[0])
		return;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, false, msg, &fd, 1);
	if (r <= 0)
		log_warning_errno(r,
				  "cannot store %s in systemd's fd store: %m; it will not survive "
				  "a restart",
				  name);
}

void fdstore_remove(const char *name)
{
	if (enabled && name[0])
		sd_notifyf(false, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

/*
 * A peer's eventfds, stored as "vecs-ID-C": chunk C of STASH_FDS_MAX eventfds in flight in a
 * datagram socket, the socket being what systemd stores. systemd compares every fd it is given
 * with every fd it holds (a kcmp() per pair of eventfds), so storing each eventfd on its own
 * made bringing up 1000 peers x 4 vectors cost the manager 25 s of CPU. A datagram socket whose
 * other end is closed does not hang up, so systemd keeps it. The kernel counts fds in flight
 * against the sender's RLIMIT_NOFILE; famezd keeps the same eventfds open itself, so its own fd
 * limit is reached first.
 */
#define STASH_FDS_MAX 253 /* the most one SCM_RIGHTS message carries (SCM_MAX_FD) */

/* Room for the fds of one SCM_RIGHTS message, aligned for its header. */
typedef union StashControl {
	struct cmsghdr align;
	char buf[CMSG_SPACE(STASH_FDS_MAX * sizeof(int))];
} StashControl;

static int stash_fds(const int *fds, unsigned n)
{
	char byte = 0;
	StashControl control = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
	if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) < 0) {
		int r = -errno;

		safe_close(sv[0]);
		safe_close(sv[1]);
		return r;
	}
	safe_close(sv[1]);
	return sv[0];
}

static int push_vectors(const char *switch_name, unsigned id, FdRef *const *vectors, unsigned n)
{
	int fds[STASH_FDS_MAX];
	char name[FD_NAME_MAX];

	if (!enabled)
		return 0;
	for (unsigned c = 0; c * STASH_FDS_MAX < n; c++) {
		unsigned k = MIN(n - c * STASH_FDS_MAX, STASH_FDS_MAX);
		int stash;

		for (unsigned i = 0; i < k; i++)
			fds[i] = vectors[c * STASH_FDS_MAX + i]->fd;
		stash = stash_fds(fds, k);
		if (stash < 0) {
			log_warning_errno(
				stash,
				"cannot store peer %u's eventfds: %m; they will not survive "
				"a restart",
				id);
			return stash;
		}
		fdstore_push(fdstore_name(name, switch_name, FD_KIND_VECS, id, c), stash);
		safe_close(stash);
	}
	return 0;
}

void fdstore_push_peer(const char *switch_name, unsigned id, int fd, FdRef *const *vectors,
		       unsigned n_vectors)
{
	char name[FD_NAME_MAX];

	if (!enabled)
		return;
	fdstore_push(fdstore_name(name, switch_name, FD_KIND_PEER, id, 0), fd);
	(void)push_vectors(switch_name, id, vectors, n_vectors);
}

void fdstore_remove_peer(const char *switch_name, unsigned id, unsigned n_vectors)
{
	char name[FD_NAME_MAX];

	if (!enabled)
		return;
	fdstore_remove(fdstore_name(name, switch_name, FD_KIND_PEER, id, 0));
	for (unsigned c = 0; c * STASH_FDS_MAX < n_vectors; c++)
		fdstore_remove(fdstore_name(name, switch_name, FD_KIND_VECS, id, c));
}

/* The n eventfds a stash holds, copied: the stash keeps them for the next restart. */
static int unstash_fds(int stash, int *fds, unsigned n)
{
	char byte;
	StashControl control;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	size_t got = 0;

	if (recvmsg(stash, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		got = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (got == n && !(msg.msg_flags & MSG_CTRUNC)) {
		memcpy(fds, CMSG_DATA(cmsg), n * sizeof(int));
		return 0;
	}
	for (size_t i = 0; i < got; i++)
		safe_close(((int *)CMSG_DATA(cmsg))[i]);
	return -EBADMSG;
}

/* ---- what systemd passed ---- */

/* By name, then in the order systemd passed them (a name stored twice is taken first-come). */
static int by_name_compare(const void *a, const void *b, void *names)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(((char **)names)[x], ((char **)names)[y]);

	return r ? r : (x > y) - (x < y);
}

int stored_fds_collect(StoredFds *s)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(true, &names);

	memset(s, 0, sizeof(*s));
	if (n <= 0) {
		free(names);
		return n;
	}
	s->n = (size_t)n;
	s->fds = calloc(s->n, sizeof(*s->fds));
	s->taken = calloc(s->n, sizeof(*s->taken));
	s->by_name = calloc(s->n, sizeof(*s->by_name));
	s->names = names;
	if (!s->fds || !s->taken || !s->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		s->fds[i] = SD_LISTEN_FDS_START + (int)i;
		if (!s->names[i] && !(s->names[i] = strdup("unknown")))
			return -ENOMEM;
		s->by_name[i] = i;
	}
	qsort_r(s->by_name, s->n, sizeof(*s->by_name), by_name_compare, s->names);
	return n;
}

/*
 * The first fd not taken that is stored under name, or -1: a binary search in by_name, so that
 * restoring n peers costs O(n log n) rather than O(n^2).
 */
static ssize_t stored_fds_find(const StoredFds *s, const char *name)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->names[s->by_name[mid]], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && strcmp(s->names[s->by_name[lo]], name) == 0; lo++)
		if (!s->taken[s->by_name[lo]])
			return (ssize_t)s->by_name[lo];
	return -1;
}

bool stored_fds_has(const StoredFds *s, const char *name)
{
	return stored_fds_find(s, name) >= 0;
}

int stored_fds_take(StoredFds *s, const char *name)
{
	ssize_t i = stored_fds_find(s, name);

	if (i < 0)
		return -1;
	s->taken[i] = true;
	return s->fds[i];
}

/*
 * Reads all of a file whose size fstat() tells (a memfd). The largest state, thousands of
 * queued messages of many peers, is a few MiB: anything above max is not one.
 */
static int read_all(int fd, size_t max, char **ret, size_t *ret_size)
{
	struct stat st;
	size_t done = 0;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);

		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	*ret = buf;
	*ret_size = done;
	return 0;
}

#define STORED_FILE_MAX (256u << 20)

int stored_fds_read(const StoredFds *s, const char *name, char **ret, size_t *ret_size)
{
	ssize_t i = stored_fds_find(s, name);

	return i < 0 ? -ENOENT : read_all(s->fds[i], STORED_FILE_MAX, ret, ret_size);
}

/* Whether a stored name is a switch's state, the default switch's or another's. */
static bool is_state_name(const char *name)
{
	char switch_name[SWITCH_NAME_MAX + 1];
	unsigned id, sub;
	FdKind kind;

	return fd_name_parse(name, switch_name, &kind, &id, &sub) == 0 && kind == FD_KIND_STATE;
}

void stored_fds_drop_switch(StoredFds *s, const char *switch_name)
{
	char name[SWITCH_NAME_MAX + 1];
	unsigned id, sub;
	FdKind kind;

	for (size_t i = 0; i < s->n; i++) {
		if (s->taken[i] || fd_name_parse(s->names[i], name, &kind, &id, &sub) < 0 ||
		    strcmp(name, switch_name ? switch_name : "") != 0)
			continue;
		s->taken[i] = true;
		fdstore_remove(s->names[i]);
		safe_close(s->fds[i]);
		s->fds[i] = -1;
	}
}

void stored_fds_done(StoredFds *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->taken[i]) {
			/* The old states are replaced by the next save; anything else is stale. */
			if (!is_state_name(s->names[i]))
				log_notice("dropping stored fd %s: nothing uses it now",
					   s->names[i]);
			fdstore_remove(s->names[i]);
			safe_close(s->fds[i]);
		}
		free(s->names[i]);
	}
	free(s->names);
	free(s->fds);
	free(s->taken);
	free(s->by_name);
	memset(s, 0, sizeof(*s));
}

/*
 * famezd 0.1.0 stored each eventfd as "vec-ID-V": taken, they are stored again the way this
 * famezd does, so that a departure removes them.
 */
static void take_vectors_one_by_one(const char *switch_name, StoredFds *stored, unsigned id,
				    FdRef **v, unsigned n)
{
	char name[FD_NAME_MAX];
	int fd;

	for (unsigned i = 0; i < n; i++) {
		fd = stored_fds_take(stored, fdstore_name(name, switch_name, FD_KIND_VEC, id, i));
		if (fd < 0 || !(v[i] = fdref_new(fd)))
			return;
	}
	/* The old names go only once the new form is stored. */
	if (push_vectors(switch_name, id, v, n) < 0)
		return;
	for (unsigned i = 0; i < n; i++)
		fdstore_remove(fdstore_name(name, switch_name, FD_KIND_VEC, id, i));
}

/* From "vecs-ID-C" (see push_vectors()). */
FdRef **fdstore_take_peer_vectors(StoredFds *stored, const char *switch_name, unsigned id,
				  unsigned n)
{
	FdRef **v = calloc(n, sizeof(*v));
	int fds[STASH_FDS_MAX];
	char name[FD_NAME_MAX];
	unsigned done = 0;

	if (!v)
		return NULL;
	if (!stored_fds_has(stored, fdstore_name(name, switch_name, FD_KIND_VECS, id, 0)))
		take_vectors_one_by_one(switch_name, stored, id, v, n);
	else
		for (unsigned c = 0; done < n; c++) {
			unsigned k = MIN(n - done, STASH_FDS_MAX);
			int stash = stored_fds_take(
				stored, fdstore_name(name, switch_name, FD_KIND_VECS, id, c));
			int r = stash < 0 ? -ENOENT : unstash_fds(stash, fds, k);

			safe_close(stash);
			if (r < 0)
				break;
			for (unsigned i = 0; i < k; i++)
				v[done + i] = fdref_new(fds[i]); /* NULL when out of memory */
			done += k;
		}
	for (unsigned i = 0; i < n; i++)
		if (!v[i])
			goto fail;
	return v;
fail:
	for (unsigned i = 0; i < n; i++)
		fdref_unref(v[i]);
	free(v);
	return NULL;
}

int fdstore_push_state(const char *switch_name, uint64_t generation, const char *text, size_t size)
{
	_cleanup_close_ int fd = -1;
	char name[FD_NAME_MAX], old[FD_NAME_MAX];
	ssize_t n;

	if (!enabled)
		return 0;
	fd = memfd_create("famez-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	n = write(fd, text, size);
	if (n != (ssize_t)size)
		return n < 0 ? -errno : -EIO;
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);

	/* The new one first, then the old: a complete state is stored at every moment. */
	fdstore_name(name, switch_name, FD_KIND_STATE, 0, generation % 2 ? 0 : 1);
	fdstore_name(old, switch_name, FD_KIND_STATE, 0, generation % 2 ? 1 : 0);
	fdstore_remove(name);
	fdstore_push(name, fd);
	fdstore_remove(old);
	return 0;
}
