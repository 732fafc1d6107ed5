/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "paths.h"

const char *famez_default_socket_path(void)
{
	static char path[PATH_MAX];
	const char *runtime = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0 || !runtime || runtime[0] != '/')
		return "/run/famez/famez.sock";
	snprintf(path, sizeof(path), "%s/famez/famez.sock", runtime);
	return path;
}
