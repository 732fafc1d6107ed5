/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/*
 * Logging to stderr with syslog priorities. Under systemd (stderr connected to the journal) each
 * line carries an sd-daemon "<N>" prefix so the journal keeps the priority; on a terminal it
 * carries the program name instead.
 */

void log_open(const char *program);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs and returns -abs(error) (or 0 when error is 0), so callers can "return log_..._errno()". */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);
/* The same with prefix before the line (e.g. what the line is about). */
int log_internal_prefixed(int level, int error, const char *prefix, const char *fmt, ...)
	_printf_(4, 5);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_full(level, ...) (void)log_internal((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/*
 * A burst limiter: at most `burst` messages per `interval_usec`; the first message after a quiet
 * period reports how many were suppressed.
 */
typedef struct RateLimit {
	unsigned long long interval_usec;
	unsigned burst;
	unsigned long long begin;
	unsigned count;
	unsigned long long suppressed;
} RateLimit;

#define RATELIMIT_INIT(interval, n) ((RateLimit){ .interval_usec = (interval), .burst = (n) })

/* Returns true if a message may be logged now; *suppressed gets the count skipped since. */
bool ratelimit_below(RateLimit *rl, unsigned long long now_usec, unsigned long long *suppressed);

/*
 * Whether a line may be logged under rl now (CLOCK_MONOTONIC). The first line that passes
 * after some were held back is preceded by "N more WHAT were not logged".
 */
bool log_ratelimit_pass(RateLimit *rl, const char *what);
