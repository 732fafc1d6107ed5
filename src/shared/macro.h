/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

/* Hand ownership of a pointer or fd on: returns the value and clears the variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		typeof(p) _taken = (p);                                                            \
		(p) = NULL;                                                                        \
		_taken;                                                                            \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _taken = (fd);                                                                 \
		(fd) = -1;                                                                         \
		_taken;                                                                            \
	})

/*
 * Makes room for at least need elements of size bytes in *array, which holds *cap, growing it
 * geometrically so that appending n elements one by one costs O(n). 0, or -ENOMEM with the
 * array untouched.
 */
static inline int grow_array(void *array, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 8;
	void *grown;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / 2 / size)
		return -ENOMEM;
	while (c < need)
		c *= 2;
	grown = realloc(*(void **)array, c * size);
	if (!grown)
		return -ENOMEM;
	*(void **)array = grown;
	*cap = c;
	return 0;
}

/* Closes fd if it is valid, keeping errno, and returns -1 for "fd = safe_close(fd)". */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)

/* Declares name##p(), a cleanup helper calling func() on a pointer when it is non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

/* Returns a negative errno, falling back to -EIO when errno was not set. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
