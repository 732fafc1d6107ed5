/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "fdref.h"
#include "macro.h"

static size_t orphaned; /* single-threaded callers */

FdRef *fdref_new(int fd)
{
	FdRef *ref = malloc(sizeof(*ref));

	if (!ref) {
		safe_close(fd);
		return NULL;
	}
	*ref = (FdRef){ .fd = fd, .n_ref = 1 };
	return ref;
}

size_t fdref_orphaned(void)
{
	return orphaned;
}

FdRef *fdref_disown(FdRef *ref)
{
	if (ref && ref->n_ref > 1 && !ref->orphaned) {
		ref->orphaned = true;
		orphaned++;
	}
	return fdref_unref(ref);
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
		orphaned -= ref->orphaned;
		safe_close(ref->fd);
		free(ref);
	}
	return NULL;
}
