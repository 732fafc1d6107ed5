/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * For tests run through systemd-env.sh: famez.socket and famez.service under systemd --user.
 * Commands run with userunit_run() leave their output in userunit_out and userunit_err.
 */
extern char userunit_out[256], userunit_err[256];

/* Runs a command (NULL-terminated arguments, at most 60 s); returns its exit status. */
int userunit_run(const char *a0, ...);
#define systemctl(...) userunit_run("/usr/bin/systemctl", "--user", __VA_ARGS__, NULL)

/* Restarts famez.service; a failure says why, from systemctl status. */
void userunit_restart(void);
/* The socket famez.socket listens on. */
const char *userunit_socket_path(void);
/* A property of famez.service, e.g. "MainPID", as a string to free. */
char *userunit_property(const char *name);
/* Whether famez.service's ActiveState is `state`. */
bool userunit_is(const char *state);
/* Gives famezd options through a drop-in, as /etc/default/famez would (NULL: none). */
void userunit_set_options(const char *options);
/* Waits until famez.service runs with a main PID other than `old`; returns it (to free). */
char *userunit_wait_new_main_pid(const char *old);
