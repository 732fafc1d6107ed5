/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "time-util.h"

static const char *log_program = "famez";
static int log_max_level = LOG_INFO;
static bool log_to_journal;

/* JOURNAL_STREAM names the device and inode of the stream systemd connected to stderr. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_open(const char *program)
{
	log_program = program;
	log_to_journal = stderr_is_journal();
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

_printf_(4, 0) static int log_internalv(int level, int error, const char *prefix, const char *fmt,
					va_list ap)
{
	int saved = errno;
	char buf[2048];

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		return -error;

	/* Let "%m" in the format refer to the error being reported. */
	errno = error;
	vsnprintf(buf, sizeof(buf), fmt, ap);

	if (log_to_journal)
		fprintf(stderr, "<%d>%s%s\n", level, prefix, buf);
	else
		fprintf(stderr, "%s: %s%s\n", log_program, prefix, buf);

	errno = saved;
	return -error;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_internalv(level, error, "", fmt, ap);
	va_end(ap);
	return r;
}

int log_internal_prefixed(int level, int error, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_internalv(level, error, prefix, fmt, ap);
	va_end(ap);
	return r;
}

bool ratelimit_below(RateLimit *rl, unsigned long long now_usec, unsigned long long *suppressed)
{
	*suppressed = 0;
	if (rl->begin == 0 || now_usec - rl->begin >= rl->interval_usec) {
		*suppressed = rl->suppressed;
		rl->begin = now_usec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < rl->burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}

bool log_ratelimit_pass(RateLimit *rl, const char *what)
{
	unsigned long long suppressed;

	if (!ratelimit_below(rl, now_usec(CLOCK_MONOTONIC), &suppressed))
		return false;
	if (suppressed)
		log_notice("%llu more %s were not logged", suppressed, what);
	return true;
}
