/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Where the shared memory handed to every peer lives. */
typedef enum ShmBacking {
	SHM_BACKING_MEMFD,     /* anonymous, sealed against resizing (default) */
	SHM_BACKING_FILE,      /* a regular file: persists across runs */
	SHM_BACKING_POSIX,     /* a POSIX shared memory object, as ivshmem-server -M */
	SHM_BACKING_HUGETLBFS, /* an unlinked file in a hugetlbfs mount, as ivshmem-server -m */
} ShmBacking;

typedef struct ShmConfig {
	ShmBacking backing;
	const char *location; /* file path, object name or directory; NULL for memfd */
	uint64_t size;        /* a power of two */
	bool truncate; /* SHM_BACKING_FILE/POSIX: resize an existing object of another size */
} ShmConfig;

const char *shm_backing_to_string(ShmBacking backing);

/* Opens or creates the memory and returns its fd (O_CLOEXEC). Logs why it failed; -errno. */
int shm_open_backing(const ShmConfig *config);
