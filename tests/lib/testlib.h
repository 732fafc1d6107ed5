/* SPDX-License-Identifier: MIT */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "client-proto.h"
#include "mailbox.h"
#include "wire.h"

/* Runs one suite, prints Check's summary and returns the exit status for meson. */
int testlib_run_suite(Suite *s);

uint64_t testlib_now_usec(void);

/*
 * The bound of a wait for something that comes in milliseconds when all is well: a daemon's
 * reaction, a handshake, a process that has nothing left to do but exit. Generous enough for a
 * loaded 2-core machine and a build under AddressSanitizer; it costs nothing when the thing comes
 * at once. TESTLIB_WAIT_S is the same in seconds, for famez-client's commands.
 */
#define TESTLIB_WAIT_MS 30000
#define TESTLIB_WAIT_S "30"
/*
 * The lifetime ("sleep N") of a famez-client that serves a test in the background: longer than
 * any test. The test ends it, or its teardown does.
 */
#define TESTLIB_LIFETIME_S "3600"

/* Polls cond(data) until it holds; fails the test after timeout_ms, saying what never came. */
void testlib_wait_until(bool (*cond)(void *data), void *data, int timeout_ms, const char *what);
/* Waits until path exists; fails the test after timeout_ms. */
void testlib_wait_for_path(const char *path, int timeout_ms);

/*
 * The fixture of every integration test: ignores SIGPIPE; at the end stops every process the
 * test started with testlib_spawn() and still running, and removes the temporary directory.
 */
void testlib_setup(void);
void testlib_teardown(void);

/* A temporary directory for one test, removed with its content by testlib_tmpdir_done(). */
const char *testlib_tmpdir(void);
void testlib_tmpdir_done(void);

/* Starts argv[0] with stdout and stderr going to the given files (NULL: inherited). */
pid_t testlib_spawn(char *const argv[], const char *stdout_path, const char *stderr_path);
/*
 * A bus of the test's own as the system bus's address (DBUS_SYSTEM_BUS_ADDRESS): a session-style
 * dbus-daemon, which lets root own org.famez with no policy file. Stopped with the test's
 * children.
 */
void testlib_start_private_bus(void);
/* Waits at most timeout_ms; returns the wait status, or -ETIMEDOUT (the process is left). */
int testlib_wait(pid_t pid, int timeout_ms);
/* SIGTERM, then SIGKILL after timeout_ms; returns the wait status. */
int testlib_stop(pid_t pid, int timeout_ms);

/* A process's resident memory in KiB (VmRSS of /proc/PID/status); fails the test if unreadable. */
long testlib_rss_kib(pid_t pid);

/* Reads a whole (small) file into a malloc'ed string; NULL if it cannot be read. */
char *testlib_read_file(const char *path);
bool testlib_file_contains(const char *path, const char *needle);
/* How many times needle occurs in the file (0 if it cannot be read). */
unsigned testlib_count(const char *path, const char *needle);
/*
 * A file's content for a failure message: Check evaluates a message's arguments whether or not
 * the check fails, so this returns one of a few static buffers (the end of a long file).
 */
const char *testlib_show(const char *path);

/* A famezd started for one test, listening on <tmpdir>/famez.sock. */
typedef struct Famezd {
	pid_t pid;
	char socket_path[256];
	char log_path[256];
} Famezd;

/* Starts famezd with the extra options (NULL-terminated) and waits until it accepts. */
void famezd_start(Famezd *f, const char *const extra[]);
/*
 * Writes <tmpdir>/switches.d/<name>.conf: a switch listening on <tmpdir>/<name>.sock with
 * max_peers clients, and body (more [Switch] keys, each ending in a newline). Returns the
 * directory, for famezd's --switches-dir.
 */
const char *testlib_write_switch(const char *name, unsigned max_peers, const char *body);
/* Stops it with SIGTERM and asserts a clean exit. */
void famezd_stop(Famezd *f);
/* Runs famezd to completion (for option errors) and returns its exit status; stderr in log. */
int famezd_run(const char *const args[], const char *log_path, int timeout_ms);

/* The program paths meson passes in the environment. */
const char *testlib_famezd_path(void);
const char *testlib_client_path(void);

struct sockaddr_un;
/* Fills a sockaddr_un for path (asserts that it fits). */
void testlib_sockaddr(struct sockaddr_un *sa, const char *path);

/* Runs famez-client --exec commands on socket; its stdout goes to <tmpdir>/<name>.out (in out). */
/* The same, naming itself `nodename` in fabric mode (stdout and stderr both go to out). */
pid_t famez_client_start_as(const char *socket, const char *name, const char *nodename,
			    const char *commands, char *out, size_t out_size);
pid_t famez_client_start(const char *socket, const char *name, const char *commands, char *out,
			 size_t out_size);
/* The same with options before --exec (a NULL-terminated list). */
pid_t famez_client_start_with(const char *socket, const char *name, const char *const options[],
			      const char *commands, char *out, size_t out_size);
/*
 * A famez-client that takes its commands from standard input, as a person at a terminal would:
 * famez_client_feed() sends it one line at a time to the write end *commands. It exits when the
 * test closes that end.
 */
pid_t famez_client_start_fed(const char *socket, const char *name, const char *nodename,
			     int *commands, char *out, size_t out_size);
/* The same with options (a NULL-terminated list), e.g. --nodename NAME -v. */
pid_t famez_client_start_fed_with(const char *socket, const char *name, const char *const options[],
				  int *commands, char *out, size_t out_size);
void famez_client_feed(int commands, const char *line);
/* Waits until the file contains needle; fails the test after timeout_ms. */
void testlib_wait_for_output(const char *path, const char *needle, int timeout_ms);
/* Waits until the file contains needle at least n times; fails the test after timeout_ms. */
void testlib_wait_for_count(const char *path, const char *needle, unsigned n, int timeout_ms);

/*
 * Two famez-client processes on a fresh server with 2 vectors: they get IDs 0 and 1, learn of
 * each other, ring each other (1 -> vector 1 of the second, the second -> vector 0 of the
 * first), and the first sees the second leave. Fails the test otherwise.
 */
void famez_client_pair_check(const char *socket);

/* Runs argv to completion (at most timeout_ms) with output in files; returns its exit code. */
int testlib_run(char *const argv[], const char *stdout_path, const char *stderr_path,
		int timeout_ms);

/* Whether s is one well-formed JSON value (with optional trailing whitespace). */
bool testlib_json_valid(const char *s);

/* Connects a non-blocking socket to path; -errno on failure. */
int testlib_connect(const char *path);
/*
 * Connects n (at most 256) sockets to path as user uid (group uid too, no others), one right
 * after the other, from a child process that hands them back: the server sees uid as who
 * connected. The path must be reachable by uid. Fills fds[] (non-blocking) or fails the test.
 */
void testlib_connect_as(uid_t uid, const char *path, int n, int fds[]);

/* An in-process ivshmem client that logs every message it receives. */
typedef struct RawMessage {
	int64_t value;
	bool has_fd;
} RawMessage;

typedef struct RawClient {
	int fd;
	WireReader reader;
	ClientState state;
	RawMessage *log;
	size_t n_log, cap_log;
	bool keep_fds; /* keep eventfds in ClientState (else each fd is checked and closed) */
	bool eof;
	int error;
} RawClient;

int raw_client_connect(RawClient *c, const char *path, bool keep_fds);
/* The same on a socket connected already (owned from then on). */
void raw_client_adopt(RawClient *c, int fd, bool keep_fds);
/* Reads at most max messages without blocking; returns how many were read. */
size_t raw_client_read(RawClient *c, size_t max);
/* Reads until pred(c, data) holds or timeout_ms passes; returns whether it held. */
bool raw_client_read_until(RawClient *c, bool (*pred)(RawClient *c, void *data), void *data,
			   int timeout_ms);
/* Reads until the server closes the connection (or it fails); whether it did in timeout_ms. */
bool raw_client_read_closed(RawClient *c, int timeout_ms);
void raw_client_close(RawClient *c);

/* Fabric mode: reads until the whole handshake is in, the server's ID server_id among it. */
bool raw_client_read_fabric(RawClient *c, unsigned server_id, int timeout_ms);
/* Maps all of the raw client's shared memory read-write; its size in *size. */
uint8_t *raw_client_map(RawClient *c, size_t *size);
/* Adds `times` to the eventfd of peer's vector as the handshake gave it (keep_fds). */
void raw_client_ring(RawClient *c, uint16_t peer, unsigned vector, uint64_t times);
/*
 * Fabric mode, mem the raw client's mapped memory: writes text into its own slot, waiting at
 * most wait_ms for the slot to be free (then taking it), and rings dest on vector = its ID.
 */
void raw_client_mail(RawClient *c, uint8_t *mem, unsigned dest, const char *text, int wait_ms);
/* Waits at most timeout_ms for a mailbox slot to hold a message (or to be free); whether it did. */
bool testlib_wait_slot(const uint8_t *slot, bool full, int timeout_ms);
/*
 * Waits at most timeout_ms for a sender's slot to hold a message for reader (named for it, or
 * for anyone) and reads it into out, its length in *len; whether it did. A message for another
 * peer may hold the slot meanwhile: the sender writes ours once that one is taken or given up.
 */
bool testlib_wait_message(const uint8_t *slot, unsigned reader, char out[MAILBOX_MSG_MAX],
			  size_t *len, int timeout_ms);

/*
 * Runs famez-client `commands` to completion and asserts it succeeded; its output in out.
 * famez_client_pong_usec() reads "pong from FROM in N us" from that output.
 */
void famez_client_run(const char *socket, const char *name, const char *commands, char *out,
		      size_t out_size);
uint64_t famez_client_pong_usec(const char *out, const char *from);
/* The round trips of every "pong from FROM in N us" line of that output, sorted; how many. */
size_t famez_client_pong_times(const char *out, const char *from, uint64_t usec[], size_t max);
/*
 * Whether famez-client's output holds the messages of a flood from origin ("CID,SID" for a
 * routed one, "nodename@id" else), as a receiver prints them: the lines "ORIGIN: seq=1" to
 * "ORIGIN: seq=N", in that order, each once (other lines may come between). 0 if so, else the
 * seq expected where one was missing, repeated or out of order (N + 1 for one beyond N).
 */
unsigned famez_client_flood_check(const char *out, const char *origin, unsigned n);
/* A newcomer famez-client pings the fabric-mode server: a pong within 1.5 s, or the test fails. */
void famez_client_ping_ok(const char *socket, const char *name, const char *server_label);
