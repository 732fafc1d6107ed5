/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "switch-config.h"

const char *famez_default_socket_path(void)
{
	static char path[PATH_MAX];
	const char *runtime = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0 || !runtime || runtime[0] != '/')
		return "/run/famez/famez.sock";
	snprintf(path, sizeof(path), "%s/famez/famez.sock", runtime);
	return path;
}

int famez_switch_socket_path(const char *name, char *buf, size_t size)
{
	const char *def = famez_default_socket_path();
	const char *slash = strrchr(def, '/');
	int n;

	if (strcmp(name, SWITCH_DEFAULT_NAME) == 0)
		n = snprintf(buf, size, "%s", def);
	else
		n = snprintf(buf, size, "%.*s/%s.sock", (int)(slash - def), def, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
