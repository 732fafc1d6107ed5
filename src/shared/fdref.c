/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "fdref.h"
#include "macro.h"

static size_t live; /* single-threaded callers */

FdRef *fdref_new(int fd)
{
	FdRef *ref = malloc(sizeof(*ref));

	if (!ref) {
		safe_close(fd);
		return NULL;
	}
	*ref = (FdRef){ .fd = fd, .n_ref = 1 };
	live++;
	return ref;
}

size_t fdref_live(void)
{
	return live;
}

FdRef *fdref_ref(FdRef *ref)
{
	if (ref)
		ref->n_ref++;
	return ref;
}

FdRef *fdref_unref(FdRef *ref)
{
	if (ref && --ref->n_ref == 0) {
		safe_close(ref->fd);
		free(ref);
		live--;
	}
	return NULL;
}
