/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "shm.h"
#include "size.h"

const char *shm_backing_to_string(ShmBacking backing)
{
	switch (backing) {
	case SHM_BACKING_MEMFD:
		return "memfd";
	case SHM_BACKING_FILE:
		return "file";
	case SHM_BACKING_POSIX:
		return "posix";
	case SHM_BACKING_HUGETLBFS:
		return "hugetlbfs";
	}
	return "unknown";
}

static int set_size(int fd, uint64_t size, const char *what)
{
	char buf[SIZE_STR_MAX];

	if (ftruncate(fd, (off_t)size) < 0)
		return log_error_errno(errno, "cannot size %s to %s: %m", what,
				       format_size(size, buf));
	return 0;
}

static int open_memfd(const ShmConfig *c)
{
	_cleanup_close_ int fd = memfd_create("famez", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int r;

	if (fd < 0)
		return log_error_errno(errno, "cannot create the shared memory (memfd): %m");
	r = set_size(fd, c->size, "the shared memory (memfd)");
	if (r < 0)
		return r;
	/* Peers map the whole size: nobody may shrink it under them (SIGBUS) or grow it. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return log_error_errno(errno, "cannot seal the shared memory: %m");
	return TAKE_FD(fd);
}

/* Reuses an object of the right size, sizes a new one, refuses another size unless asked. */
static int adopt_size(int fd, const ShmConfig *c, const char *what)
{
	char want[SIZE_STR_MAX], have[SIZE_STR_MAX];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "cannot stat %s: %m", what);
	if (c->backing == SHM_BACKING_FILE && !S_ISREG(st.st_mode))
		return log_error_errno(EINVAL, "%s is not a regular file", what);
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

/* Takes the fd of a just opened --shm-file or --shm-name object and checks its size. */
static int adopt_named(int fd, const ShmConfig *c, const char *option)
{
	_cleanup_close_ int owned = fd;
	char what[4096];
	int r;

	snprintf(what, sizeof(what), "%s %s", option, c->location);
	if (fd < 0)
		return log_error_errno(errno, "cannot open %s: %m", what);
	r = adopt_size(fd, c, what);
	if (r < 0)
		return r;
	return TAKE_FD(owned);
}

static int open_file(const ShmConfig *c)
{
	return adopt_named(open(c->location, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600), c,
			   "--shm-file");
}

static int open_posix(const ShmConfig *c)
{
	return adopt_named(shm_open(c->location, O_RDWR | O_CREAT | O_CLOEXEC, 0600), c,
			   "--shm-name");
}

static int open_hugetlbfs(const ShmConfig *c)
{
	_cleanup_close_ int fd = -1;
	char path[4096], page[SIZE_STR_MAX], size[SIZE_STR_MAX];
	struct statfs fs;

	if (statfs(c->location, &fs) < 0)
		return log_error_errno(errno, "cannot use --hugetlbfs %s: %m", c->location);
	if (fs.f_type != HUGETLBFS_MAGIC)
		return log_error_errno(EINVAL, "--hugetlbfs %s is not a hugetlbfs mount",
				       c->location);
	if (fs.f_bsize <= 0 || c->size % (uint64_t)fs.f_bsize != 0)
		return log_error_errno(
			EINVAL, "--shm-size %s is not a multiple of the huge page size %s of %s",
			format_size(c->size, size), format_size((uint64_t)fs.f_bsize, page),
			c->location);

	snprintf(path, sizeof(path), "%s/famez.XXXXXX", c->location);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot create a file in --hugetlbfs %s: %m",
				       c->location);
	/* Only the fd is needed; the name would outlive us. */
	unlink(path);
	if (set_size(fd, c->size, "the hugetlbfs file") < 0)
		return -EINVAL;
	return TAKE_FD(fd);
}

int shm_open_backing(const ShmConfig *c)
{
	switch (c->backing) {
	case SHM_BACKING_MEMFD:
		return open_memfd(c);
	case SHM_BACKING_FILE:
		return open_file(c);
	case SHM_BACKING_POSIX:
		return open_posix(c);
	case SHM_BACKING_HUGETLBFS:
		return open_hugetlbfs(c);
	}
	return -EINVAL;
}
