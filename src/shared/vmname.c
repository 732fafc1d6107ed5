/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "strutil.h"
#include "vmname.h"

/* The name in an -name value: "web", "web,process=x", "guest=web,debug-threads=on". */
static char *name_of_value(const char *value)
{
	const char *start = value, *end;

	for (const char *p = value; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n > 6 && strncmp(p, "guest=", 6) == 0) {
			start = p + 6;
			break;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	end = strchr(start, ',');
	if (start == value && strncmp(value, "guest=", 6) != 0 && strchr(value, '=') &&
	    (!end || memchr(value, '=', (size_t)(end - value))))
		return NULL; /* only options, no name */
	/* Whoever started the process chose these bytes: they reach terminals and D-Bus. */
	return str_sanitize(start, end ? (size_t)(end - start) : strlen(start), VM_NAME_MAX);
}

char *vm_name_from_cmdline(const char *cmdline, size_t len)
{
	const char *end = cmdline + len;

	for (const char *arg = cmdline; arg < end; arg += strnlen(arg, (size_t)(end - arg)) + 1) {
		const char *next;

		if (strcmp(arg, "-name") != 0 && strcmp(arg, "--name") != 0)
			continue;
		next = arg + strnlen(arg, (size_t)(end - arg)) + 1;
		if (next >= end || !memchr(next, '\0', (size_t)(end - next)))
			return NULL;
		return next[0] ? name_of_value(next) : NULL;
	}
	return NULL;
}

char *vm_name_of_pid(pid_t pid)
{
	char path[64], buf[16384];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (pid <= 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0'; /* a cut-off last argument still ends */
	return vm_name_from_cmdline(buf, (size_t)n + 1);
}
