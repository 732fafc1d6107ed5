/* SPDX-License-Identifier: MIT */
/* A switch's configuration file as famezd reads it: parsing, a mode's rules, switches together. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mailbox.h"
#include "paths.h"
#include "switch-config.h"
#include "testlib.h"
#include "wire.h"

static char err[SWITCH_CONFIG_ERROR_MAX], note[SWITCH_CONFIG_ERROR_MAX];

/* Parses text as lab.conf, failing the test on an error. */
static void parse_ok(SwitchConfig *c, const char *text)
{
	ck_assert_int_eq(switch_config_init(c, "lab"), 0);
	err[0] = '\0';
	ck_assert_msg(switch_config_parse(c, "lab.conf", text, err, sizeof(err)) == 0,
		      "parsing failed: %s", err);
}

/* Parses text as lab.conf, which must fail with one line in err; returns err. */
static const char *parse_error(const char *text)
{
	SwitchConfig c;
	int r;

	ck_assert_int_eq(switch_config_init(&c, "lab"), 0);
	err[0] = '\0';
	r = switch_config_parse(&c, "lab.conf", text, err, sizeof(err));
	switch_config_done(&c);
	ck_assert_msg(r == -EINVAL, "%s: parsed (%d)", text, r);
	ck_assert_msg(strncmp(err, "lab.conf:", 9) == 0, "%s: %s", text, err);
	ck_assert_msg(!strchr(err, '\n'), "%s: more than one line: %s", text, err);
	return err;
}

/* The error of one [Switch] line, which must name line 2 and contain what. */
static void assert_bad_line(const char *line, const char *what)
{
	char text[8192];

	snprintf(text, sizeof(text), "[Switch]\n%s\n", line);
	parse_error(text);
	ck_assert_msg(strncmp(err, "lab.conf:2: ", 12) == 0, "%s: %s", line, err);
	ck_assert_msg(strstr(err, what), "%s: %s, not mentioning \"%s\"", line, err, what);
}

/* Parses and finishes text as lab.conf, failing the test on an error. */
static void finish_ok(SwitchConfig *c, const char *text)
{
	parse_ok(c, text);
	ck_assert_msg(switch_config_finish(c, note, sizeof(note), err, sizeof(err)) == 0,
		      "finish failed: %s", err);
}

/* Parses text as lab.conf, which must parse, and finish it, which must fail; returns err. */
static const char *finish_error(const char *text)
{
	SwitchConfig c;
	int r;

	parse_ok(&c, text);
	r = switch_config_finish(&c, note, sizeof(note), err, sizeof(err));
	switch_config_done(&c);
	ck_assert_msg(r == -EINVAL, "%s: finished (%d)", text, r);
	return err;
}

START_TEST(test_names)
{
	ck_assert(switch_name_is_valid("lab"));
	ck_assert(switch_name_is_valid("Lab_2"));
	ck_assert(switch_name_is_valid("_"));
	ck_assert(switch_name_is_valid("abcdefghijklmnopqrstuvwxyz012345"));
	ck_assert(!switch_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	ck_assert(!switch_name_is_valid(""));
	ck_assert(!switch_name_is_valid(NULL));
	ck_assert(!switch_name_is_valid("lab-2"));
	ck_assert(!switch_name_is_valid("lab.conf"));
	ck_assert(!switch_name_is_valid("a/b"));
	ck_assert(!switch_name_is_valid("caf\xc3\xa9"));
	ck_assert(!switch_name_is_valid("lab "));
}
END_TEST

START_TEST(test_init_defaults)
{
	SwitchConfig c;

	ck_assert_int_eq(switch_config_init(&c, "lab"), 0);
	ck_assert_str_eq(c.name, "lab");
	ck_assert_ptr_null(c.source);
	ck_assert_uint_eq(c.set, 0);
	ck_assert_int_eq(c.mode, SWITCH_MODE_FABRIC);
	ck_assert_ptr_null(c.socket_path);
	ck_assert_int_eq(c.shm.backing, SHM_BACKING_MEMFD);
	ck_assert_ptr_null(c.shm.location);
	ck_assert_uint_eq(c.shm.size, SWITCH_DEFAULT_SHM_SIZE);
	ck_assert(!c.shm.truncate);
	ck_assert_uint_eq(c.vectors, SWITCH_DEFAULT_VECTORS);
	ck_assert_uint_eq(c.max_peers, WIRE_ID_MAX + 1);
	ck_assert_uint_eq(c.max_queue, SWITCH_DEFAULT_MAX_QUEUE);
	ck_assert_uint_eq(c.max_queue_fds, SWITCH_DEFAULT_MAX_QUEUE_FDS);
	ck_assert_uint_eq(c.ack_timeout_usec, 1000000);
	ck_assert_uint_eq(c.sid, SWITCH_DEFAULT_SID);
	ck_assert(!c.shared_vectors);
	switch_config_done(&c);
	switch_config_done(&c); /* twice is harmless */

	ck_assert_int_eq(switch_config_init(&c, "no-such name"), -EINVAL);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_empty_file_keeps_defaults)
{
	SwitchConfig c;

	parse_ok(&c, "");
	ck_assert_str_eq(c.source, "lab.conf");
	ck_assert_uint_eq(c.set, 0);
	ck_assert_uint_eq(c.max_peers, WIRE_ID_MAX + 1);
	switch_config_done(&c);

	parse_ok(&c, "# nothing but a comment\n\n[Switch]\n");
	ck_assert_uint_eq(c.set, 0);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_every_fabric_key)
{
	SwitchConfig c;

	parse_ok(&c, "[Switch]\n"
		     "Mode=fabric\n"
		     "Socket=/run/famez/lab.sock\n"
		     "SID=28\n"
		     "MaxPeers=30\n"
		     "SharedMemorySize=16M\n"
		     "SharedMemoryFile=/var/lib/famez/lab.shm\n"
		     "SharedMemoryTruncate=yes\n"
		     "AckTimeoutSec=0.25\n"
		     "SharedVectors=true\n"
		     "MaxQueue=4096\n"
		     "MaxQueueFds=128\n");
	ck_assert_uint_eq(c.set, SWITCH_KEY_MODE | SWITCH_KEY_SOCKET | SWITCH_KEY_SID |
					 SWITCH_KEY_MAX_PEERS | SWITCH_KEY_SHM_SIZE |
					 SWITCH_KEY_SHM_BACKING | SWITCH_KEY_SHM_TRUNCATE |
					 SWITCH_KEY_ACK_TIMEOUT | SWITCH_KEY_SHARED_VECTORS |
					 SWITCH_KEY_MAX_QUEUE | SWITCH_KEY_MAX_QUEUE_FDS);
	ck_assert_int_eq(c.mode, SWITCH_MODE_FABRIC);
	ck_assert_str_eq(c.socket_path, "/run/famez/lab.sock");
	ck_assert_uint_eq(c.sid, 28);
	ck_assert_uint_eq(c.max_peers, 30);
	ck_assert_uint_eq(c.shm.size, 16u << 20);
	ck_assert_int_eq(c.shm.backing, SHM_BACKING_FILE);
	ck_assert_str_eq(c.shm.location, "/var/lib/famez/lab.shm");
	ck_assert(c.shm.truncate);
	ck_assert_uint_eq(c.ack_timeout_usec, 250000);
	ck_assert(c.shared_vectors);
	ck_assert_uint_eq(c.max_queue, 4096);
	ck_assert_uint_eq(c.max_queue_fds, 128);

	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_str_eq(note, "");
	ck_assert_uint_eq(c.vectors, 32);
	ck_assert_uint_eq(c.shm.size, 16u << 20);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_every_ivshmem_key)
{
	SwitchConfig c;

	finish_ok(&c, "[Switch]\n"
		      "Mode=ivshmem\n"
		      "Vectors=256\n"
		      "MaxPeers=65536\n"
		      "SharedMemorySize=1G\n"
		      "SharedMemoryName=/famez-lab\n"
		      "SharedMemoryTruncate=off\n"
		      "MaxQueue=4294967295\n"
		      "MaxQueueFds=64\n");
	ck_assert_int_eq(c.mode, SWITCH_MODE_IVSHMEM);
	ck_assert_uint_eq(c.vectors, 256);
	ck_assert_uint_eq(c.max_peers, 65536);
	ck_assert_uint_eq(c.shm.size, 1u << 30);
	ck_assert_int_eq(c.shm.backing, SHM_BACKING_POSIX);
	ck_assert_str_eq(c.shm.location, "/famez-lab");
	ck_assert(!c.shm.truncate);
	ck_assert_uint_eq(c.max_queue, 4294967295u);
	ck_assert_uint_eq(c.max_queue_fds, 64);
	ck_assert_ptr_null(c.socket_path);
	switch_config_done(&c);

	finish_ok(&c, "[Switch]\nMode=ivshmem\nSharedMemoryHugetlbfs=/dev/hugepages\n");
	ck_assert_int_eq(c.shm.backing, SHM_BACKING_HUGETLBFS);
	ck_assert_str_eq(c.shm.location, "/dev/hugepages");
	ck_assert_uint_eq(c.vectors, SWITCH_DEFAULT_VECTORS);
	ck_assert_uint_eq(c.max_peers, WIRE_ID_MAX + 1);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_comments_and_whitespace)
{
	SwitchConfig c;

	parse_ok(&c, "\xef\xbb\xbf# lab's switch\r\n"
		     "; another comment\n"
		     "\n"
		     "   \t\n"
		     "  [Switch]  \r\n"
		     "  # indented comment with = and [brackets]\n"
		     "\tSID \t=\t 30 \r\n"
		     "Socket = /run/famez/with space.sock\n"
		     "[Switch]\n"
		     "MaxPeers=2"); /* no newline at the end */
	ck_assert_uint_eq(c.sid, 30);
	ck_assert_str_eq(c.socket_path, "/run/famez/with space.sock");
	ck_assert_uint_eq(c.max_peers, 2);
	ck_assert_uint_eq(c.set, SWITCH_KEY_SID | SWITCH_KEY_SOCKET | SWITCH_KEY_MAX_PEERS);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_booleans)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };
	char text[64];
	SwitchConfig c;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[Switch]\nSharedVectors=%s\n", yes[i]);
		parse_ok(&c, text);
		ck_assert_msg(c.shared_vectors, "%s", yes[i]);
		switch_config_done(&c);
		snprintf(text, sizeof(text), "[Switch]\nSharedVectors=%s\n", no[i]);
		parse_ok(&c, text);
		ck_assert_msg(!c.shared_vectors, "%s", no[i]);
		ck_assert(c.set & SWITCH_KEY_SHARED_VECTORS);
		switch_config_done(&c);
	}
	assert_bad_line("SharedVectors=maybe",
			"SharedVectors=maybe: not a boolean; give yes or no");
	assert_bad_line("SharedVectors=", "not a boolean");
	assert_bad_line("SharedVectors=2", "not a boolean");
	assert_bad_line("SharedMemoryTruncate=y", "not a boolean");
}
END_TEST

START_TEST(test_ack_timeouts)
{
	static const struct {
		const char *value;
		uint64_t usec;
	} good[] = {
		{ "1", 1000000 },        { "0.5", 500000 },
		{ "250ms", 250000 },     { "2min", 120000000 },
		{ "1.5s", 1500000 },     { "0.001", 1000 },
		{ "1ms", 1000 },         { "3600", 3600000000 },
		{ "60min", 3600000000 }, { "3600000ms", 3600000000 },
		{ "0.0015s", 1500 },     { "1.0000009", 1000000 },
	};
	static const char *const bad[] = {
		"0",           "0.0009", "0.5ms", "3601", "61min",
		"3600.000001", "1h",     ".5",    "1.",   "5 ms",
		"-1",          "1e3",    "ms",    "",     "99999999999999999999",
	};
	char text[128];
	SwitchConfig c;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[Switch]\nAckTimeoutSec=%s\n", good[i].value);
		parse_ok(&c, text);
		ck_assert_msg(c.ack_timeout_usec == good[i].usec, "%s: %llu µs", good[i].value,
			      (unsigned long long)c.ack_timeout_usec);
		switch_config_done(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "AckTimeoutSec=%s", bad[i]);
		assert_bad_line(text, "not a time from 1ms to 3600s");
	}
}
END_TEST

START_TEST(test_exact_errors)
{
	ck_assert_str_eq(parse_error("[Switch]\nMode=fabric\nSID=70000\n"),
			 "lab.conf:3: SID=70000: not a subnet ID: a number from 0 to 65535");
	ck_assert_str_eq(parse_error("[Switch]\nSharedMemorySize=3M\n"),
			 "lab.conf:2: SharedMemorySize=3M: not a power of two; try 2M or 4M");
	ck_assert_str_eq(parse_error("[Switch]\nSharedMemorySize=9223372036854775809\n"),
			 "lab.conf:2: SharedMemorySize=9223372036854775809: not a power of two; "
			 "try 8E");
	ck_assert_str_eq(parse_error("[Switch]\nMode=bridge\n"),
			 "lab.conf:2: Mode=bridge: not a mode; give fabric or ivshmem");
	ck_assert_str_eq(parse_error("[Switch]\nSID=28\n# again\nSID = 29\n"),
			 "lab.conf:4: SID=29: SID= was given on line 2 already; give it once");
	ck_assert_str_eq(parse_error("SID=28\n[Switch]\n"),
			 "lab.conf:1: SID=28: outside a section; put it under [Switch]");
	ck_assert_str_eq(parse_error("[Switch]\n[Network]\nSID=28\n"),
			 "lab.conf:2: [Network]: not a section of a switch's configuration; the "
			 "only one is [Switch]");
	ck_assert_str_eq(parse_error("[Switch]\nSid=28\n"),
			 "lab.conf:2: Sid=28: unknown key; keys are case-sensitive: SID=");
	ck_assert_str_eq(parse_error("[Switch]\nMaxPeers=0\n"),
			 "lab.conf:2: MaxPeers=0: not a number from 1 to 65536 (peer IDs are 16 "
			 "bits)");
	ck_assert_str_eq(parse_error("[Switch]\nSharedMemoryFile=/a\nSharedMemoryName=b\n"),
			 "lab.conf:3: SharedMemoryName=b: SharedMemoryFile= was given on line 2, "
			 "and SharedMemoryFile=, SharedMemoryName= and SharedMemoryHugetlbfs= "
			 "exclude each other; give one");
	ck_assert_str_eq(parse_error("[Switch]\nMode fabric\n"),
			 "lab.conf:2: Mode fabric: not Key=Value, a [Switch] section or a comment "
			 "(# or ;)");
}
END_TEST

START_TEST(test_unknown_keys_and_syntax)
{
	assert_bad_line("Name=lab", "Name=lab: unknown key; a switch's keys are Mode, Socket");
	assert_bad_line("X-Famez=1", "unknown key");
	assert_bad_line("=fabric", "=fabric: not Key=Value");
	assert_bad_line(" = ", "not Key=Value");
	assert_bad_line("[Switch", "[Switch: not a section; write [Switch]");
	assert_bad_line("[switch]", "not a section of a switch's configuration");
	assert_bad_line("[]", "not a section of a switch's configuration");
	assert_bad_line("SID=28\x01", "a control character (0x01) at byte 7");
	assert_bad_line("Socket=/run/a\rb.sock", "a control character (0x0d)");
	assert_bad_line("SID=28 # a comment", "not a subnet ID");
	assert_bad_line("MaxPeers=1\\", "not a number");
	/* A key in another section is refused with the section. */
	ck_assert_str_eq(parse_error("[Switch]\nSID=28\n[Install]\nWantedBy=x\n"),
			 "lab.conf:3: [Install]: not a section of a switch's configuration; the "
			 "only one is [Switch]");
}
END_TEST

START_TEST(test_long_lines)
{
	char *text = malloc(PATH_MAX + 200), *long_path = malloc(PATH_MAX + 200);
	SwitchConfig c;
	size_t n;

	/* The longest path a file holds is accepted; one byte more is not. */
	memset(long_path, 'a', PATH_MAX - 1);
	long_path[0] = '/';
	long_path[PATH_MAX - 1] = '\0';
	snprintf(text, PATH_MAX + 200, "[Switch]\nSharedMemoryFile=%s\n", long_path);
	parse_ok(&c, text);
	ck_assert_uint_eq(strlen(c.shm.location), PATH_MAX - 1);
	switch_config_done(&c);
	snprintf(text, PATH_MAX + 200, "[Switch]\nSharedMemoryFile=%sa\n", long_path);
	parse_error(text);
	ck_assert_msg(strstr(err, "longer than 4095 bytes; give a shorter path"), "%s", err);
	/* The value is quoted shortened, so that the message stays one line of a reason. */
	ck_assert_msg(strstr(err, "aaa...: longer"), "%s", err);
	ck_assert_uint_lt(strlen(err), 300);

	n = (size_t)snprintf(text, PATH_MAX + 200, "[Switch]\n# ");
	memset(text + n, 'x', PATH_MAX + 100);
	text[n + PATH_MAX + 100] = '\0';
	ck_assert_str_eq(parse_error(text), "lab.conf:2: a line longer than 4160 bytes; not a "
					    "switch's configuration");
	free(text);
	free(long_path);
}
END_TEST

START_TEST(test_bad_values)
{
	char socket[200];

	assert_bad_line("Mode=Fabric", "not a mode");
	assert_bad_line("Mode=", "Mode=: not a mode");
	assert_bad_line("Socket=run/famez/lab.sock",
			"not an absolute path; give one like /run/famez/lab.sock");
	assert_bad_line("Socket=", "not an absolute path");
	memset(socket, 'a', sizeof(socket));
	memcpy(socket, "Socket=/", 8);
	socket[7 + 108] = '\0'; /* a path of 108 bytes */
	assert_bad_line(socket, "longer than 107 bytes, the most a UNIX socket's path holds");

	assert_bad_line("SID=-1", "not a subnet ID");
	assert_bad_line("SID=65536", "SID=65536: not a subnet ID: a number from 0 to 65535");
	assert_bad_line("SID=0x10", "not a subnet ID");
	assert_bad_line("SID=", "not a subnet ID");
	assert_bad_line("MaxPeers=65537", "not a number from 1 to 65536");
	assert_bad_line("MaxPeers=+3", "not a number from 1 to 65536");
	assert_bad_line("Vectors=0", "not a number from 1 to 256 (a guest's doorbell");
	assert_bad_line("Vectors=257", "not a number from 1 to 256");
	assert_bad_line("SharedMemorySize=0", "not a size; give bytes or a number with K, M, G");
	assert_bad_line("SharedMemorySize=4X", "not a size");
	assert_bad_line("SharedMemorySize=4 M", "not a size");
	assert_bad_line("SharedMemorySize=", "not a size");
	assert_bad_line("SharedMemorySize=16E", "SharedMemorySize=16E: too large");
	assert_bad_line("SharedMemorySize=1536", "not a power of two; try 1K or 2K");
	assert_bad_line("SharedMemoryFile=lab.shm", "not an absolute path; give the file's");
	assert_bad_line("SharedMemoryFile=", "not an absolute path");
	assert_bad_line("SharedMemoryHugetlbfs=dev/hugepages", "not an absolute path");
	assert_bad_line("SharedMemoryName=a/b", "not a POSIX shared memory name");
	assert_bad_line("SharedMemoryName=/", "not a POSIX shared memory name");
	assert_bad_line("SharedMemoryName=//a", "not a POSIX shared memory name");
	assert_bad_line("SharedMemoryName=..", "not a POSIX shared memory name");
	assert_bad_line("SharedMemoryName=", "not a POSIX shared memory name");
	assert_bad_line("MaxQueue=63", "MaxQueue=63: not a number from 64 to 4294967295");
	assert_bad_line("MaxQueue=4294967296", "not a number from 64 to 4294967295");
	assert_bad_line("MaxQueueFds=10", "MaxQueueFds=10: not a number from 64 to 4294967295");
	assert_bad_line("MaxQueueFds=1k", "not a number");
}
END_TEST

START_TEST(test_limits_accepted)
{
	char text[300];
	SwitchConfig c;

	snprintf(text, sizeof(text), "[Switch]\nSocket=/%0106d\n", 0);
	parse_ok(&c, text);
	ck_assert_uint_eq(strlen(c.socket_path), 107);
	switch_config_done(&c);

	parse_ok(&c, "[Switch]\nSID=0\nMaxPeers=1\nVectors=1\nSharedMemorySize=1\n");
	ck_assert_uint_eq(c.sid, 0);
	ck_assert_uint_eq(c.shm.size, 1);
	switch_config_done(&c);
	parse_ok(&c, "[Switch]\nSID=65535\nSharedMemorySize=8E\nSharedMemoryName=famez\n");
	ck_assert_uint_eq(c.sid, 65535);
	ck_assert_uint_eq(c.shm.size, UINT64_C(1) << 63);
	ck_assert_str_eq(c.shm.location, "famez");
	switch_config_done(&c);
	parse_ok(&c, "[Switch]\nSharedMemorySize=2T\n");
	ck_assert_uint_eq(c.shm.size, UINT64_C(2) << 40);
	switch_config_done(&c);
}
END_TEST

START_TEST(test_exclusive_backings)
{
	ck_assert_ptr_nonnull(strstr(parse_error("[Switch]\nSharedMemoryName=a\n"
						 "SharedMemoryHugetlbfs=/dev/hugepages\n"),
				     "SharedMemoryName= was given on line 2"));
	ck_assert_ptr_nonnull(strstr(parse_error("[Switch]\nSharedMemoryHugetlbfs=/h\n"
						 "SharedMemoryFile=/f\n"),
				     "exclude each other; give one"));
	/* The same key twice is a key given twice. */
	ck_assert_str_eq(parse_error("[Switch]\nSharedMemoryFile=/a\nSharedMemoryFile=/a\n"),
			 "lab.conf:3: SharedMemoryFile=/a: SharedMemoryFile= was given on line 2 "
			 "already; give it once");
}
END_TEST

START_TEST(test_finish_fabric)
{
	SwitchConfig c;

	/* Defaults: 14 client slots, 16 vectors, 4M holds the mailbox. */
	finish_ok(&c, "");
	ck_assert_uint_eq(c.max_peers, SWITCH_DEFAULT_FABRIC_CLIENTS);
	ck_assert_uint_eq(c.vectors, SWITCH_DEFAULT_FABRIC_CLIENTS + 2);
	ck_assert_uint_eq(c.shm.size, SWITCH_DEFAULT_SHM_SIZE);
	ck_assert_str_eq(note, "");
	switch_config_done(&c);

	/* The most slots; a size too small is raised to the mailbox's power of two, noted. */
	finish_ok(&c, "[Switch]\nMaxPeers=254\nSharedMemorySize=4K\n");
	ck_assert_uint_eq(c.vectors, 256);
	ck_assert_uint_eq(c.shm.size, 128u << 10);
	ck_assert_str_eq(note, "lab.conf: SharedMemorySize=4K cannot hold the mailbox of 254 "
			       "client slots; using 128K");
	switch_config_done(&c);
	finish_ok(&c, "[Switch]\nSharedMemorySize=4K\n");
	ck_assert_uint_eq(c.shm.size, 8u << 10);
	ck_assert_str_eq(note, "lab.conf: SharedMemorySize=4K cannot hold the mailbox of 14 "
			       "client slots; using 8K");
	switch_config_done(&c);
	/* Raised without a note when the size was the default. */
	snprintf(note, sizeof(note), "stale");
	ck_assert_int_eq(switch_config_init(&c, "lab"), 0);
	c.shm.size = 4096;
	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_uint_eq(c.shm.size, 8u << 10);
	ck_assert_str_eq(note, "");
	switch_config_done(&c);

	ck_assert_str_eq(finish_error("[Switch]\nVectors=4\n"),
			 "lab.conf: Vectors= applies to Mode=ivshmem; in fabric mode every peer "
			 "has MaxPeers + 2 vectors");
	ck_assert_str_eq(finish_error("[Switch]\nMaxPeers=255\n"),
			 "lab.conf: MaxPeers=255 is too many for fabric mode: at most 254, so "
			 "that a guest can ring every vector; use Mode=ivshmem for more");
	ck_assert_str_eq(finish_error("[Switch]\nSharedMemoryTruncate=no\n"),
			 "lab.conf: SharedMemoryTruncate= applies to SharedMemoryFile= or "
			 "SharedMemoryName=; remove it");
	ck_assert_ptr_nonnull(strstr(finish_error("[Switch]\nSharedMemoryHugetlbfs=/h\n"
						  "SharedMemoryTruncate=yes\n"),
				     "SharedMemoryTruncate= applies to"));
}
END_TEST

START_TEST(test_finish_ivshmem)
{
	SwitchConfig c;

	finish_ok(&c, "[Switch]\nMode=ivshmem\nVectors=4\nSharedMemorySize=4K\n");
	ck_assert_uint_eq(c.vectors, 4);
	ck_assert_uint_eq(c.max_peers, WIRE_ID_MAX + 1);
	ck_assert_uint_eq(c.shm.size, 4096);
	ck_assert_str_eq(note, "");
	switch_config_done(&c);

	ck_assert_str_eq(finish_error("[Switch]\nMode=ivshmem\nSID=28\n"),
			 "lab.conf: SID= applies to fabric mode; Mode=ivshmem has no fabric "
			 "manager, no mailbox and every vector is shared; remove it");
	ck_assert_ptr_nonnull(strstr(finish_error("[Switch]\nMode=ivshmem\nSharedVectors=no\n"),
				     "lab.conf: SharedVectors= applies to fabric mode"));
	ck_assert_ptr_nonnull(strstr(finish_error("[Switch]\nAckTimeoutSec=2\nMode=ivshmem\n"),
				     "lab.conf: AckTimeoutSec= applies to fabric mode"));
}
END_TEST

/* The default switch, configured by famezd's options: messages name the options. */
START_TEST(test_finish_names_options)
{
	SwitchConfig c;

	ck_assert_int_eq(switch_config_init(&c, SWITCH_DEFAULT_NAME), 0);
	c.max_peers = 300;
	c.set = SWITCH_KEY_MAX_PEERS;
	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "--max-peers 300 is too many for fabric mode: at most 254, so that "
			      "a guest can ring every vector; use --mode ivshmem for more");
	c.max_peers = 254;
	c.shm.size = 4096;
	c.set = SWITCH_KEY_MAX_PEERS | SWITCH_KEY_SHM_SIZE;
	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_str_eq(note, "--shm-size 4K cannot hold the mailbox of 254 client slots; "
			       "using 128K");
	c.mode = SWITCH_MODE_IVSHMEM;
	c.set = SWITCH_KEY_SHARED_VECTORS;
	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "--shared-vectors applies to fabric mode; --mode ivshmem has no "
			      "fabric manager, no mailbox and every vector is shared; remove it");
	switch_config_done(&c);
}
END_TEST

START_TEST(test_links_and_relay)
{
	SwitchConfig c;

	parse_ok(&c, "[Switch]\nLink=16:east:16\n# the other way\nLink = 17:west_2:20\n");
	ck_assert_uint_eq(c.n_links, 2);
	ck_assert_uint_eq(c.links[0].port, 16);
	ck_assert_str_eq(c.links[0].peer, "east");
	ck_assert_uint_eq(c.links[0].peer_port, 16);
	ck_assert_uint_eq(c.links[0].line, 2);
	ck_assert_uint_eq(c.links[1].port, 17);
	ck_assert_str_eq(c.links[1].peer, "west_2");
	ck_assert_uint_eq(c.links[1].peer_port, 20);
	ck_assert_uint_eq(c.links[1].line, 4);
	ck_assert_uint_eq(c.set, SWITCH_KEY_LINK);
	ck_assert(!c.relay_always); /* direct */
	switch_config_done(&c);

	parse_ok(&c, "[Switch]\nLink=65535:abcdefghijklmnopqrstuvwxyz012345:1\n");
	ck_assert_str_eq(c.links[0].peer, "abcdefghijklmnopqrstuvwxyz012345");
	ck_assert_uint_eq(c.links[0].port, 65535);
	switch_config_done(&c);

	parse_ok(&c, "[Switch]\nRelay=always\n");
	ck_assert(c.relay_always);
	ck_assert_uint_eq(c.set, SWITCH_KEY_RELAY);
	ck_assert_uint_eq(c.n_links, 0);
	switch_config_done(&c);
	parse_ok(&c, "[Switch]\nRelay=direct\n");
	ck_assert(!c.relay_always);
	switch_config_done(&c);

	/* Sixteen links, one per link port. */
	{
		char text[1024] = "[Switch]\n";

		for (int i = 0; i < TOPOLOGY_LINKS_MAX; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "Link=%d:s%d:16\n", 16 + i, i);
		parse_ok(&c, text);
		ck_assert_uint_eq(c.n_links, TOPOLOGY_LINKS_MAX);
		switch_config_done(&c);
		strcat(text, "Link=40:s99:16\n");
		ck_assert_str_eq(parse_error(text),
				 "lab.conf:18: Link=40:s99:16: one link too many: a switch has 16 "
				 "link ports; give at most 16 Link=");
	}
}
END_TEST

START_TEST(test_link_and_relay_errors)
{
	static const char *const not_a_link[] = {
		"16-east-16",   "16:east",
		"16:east:16:1", ":east:16",
		"16:east:",     "0:east:16",
		"16:east:0",    "x:east:16",
		"16:east:1x",   "16:east:65536",
		"-1:east:16",   "",
		"16 : east:16", "99999999999999999999:east:16",
	};
	char line[128], expected[256];

	for (size_t i = 0; i < ELEMENTSOF(not_a_link); i++) {
		snprintf(line, sizeof(line), "[Switch]\nLink=%s\n", not_a_link[i]);
		snprintf(expected, sizeof(expected),
			 "lab.conf:2: Link=%s: not PORT:SWITCH:PORT; give this switch's link "
			 "port, the other switch's name and its link port, ports from 1 to 65535, "
			 "like 16:east:16",
			 not_a_link[i]);
		ck_assert_str_eq(parse_error(line), expected);
	}
	ck_assert_str_eq(parse_error("[Switch]\nLink=16:ea-st:16\n"),
			 "lab.conf:2: Link=16:ea-st:16: not a switch's name between the ports; a "
			 "name is 1 to 32 letters, digits or _");
	assert_bad_line("Link=16::16", "not a switch's name");
	assert_bad_line("Link=16:abcdefghijklmnopqrstuvwxyz0123456:16", "not a switch's name");
	ck_assert_str_eq(parse_error("[Switch]\nRelay=sometimes\n"),
			 "lab.conf:2: Relay=sometimes: not a relay mode; give direct or always");
	ck_assert_str_eq(parse_error("[Switch]\nRelay=always\nRelay=direct\n"),
			 "lab.conf:3: Relay=direct: Relay= was given on line 2 already; give it "
			 "once");
	ck_assert_str_eq(parse_error("[Switch]\nlink=16:east:16\n"),
			 "lab.conf:2: link=16:east:16: unknown key; keys are case-sensitive: "
			 "Link=");

	/* Fabric keys. */
	ck_assert_str_eq(finish_error("[Switch]\nMode=ivshmem\nLink=16:east:16\n"),
			 "lab.conf: Link= applies to fabric mode; Mode=ivshmem has no fabric "
			 "manager, no mailbox and every vector is shared; remove it");
	ck_assert_str_eq(finish_error("[Switch]\nRelay=direct\nMode=ivshmem\n"),
			 "lab.conf: Relay= applies to fabric mode; Mode=ivshmem has no fabric "
			 "manager, no mailbox and every vector is shared; remove it");
}
END_TEST

START_TEST(test_managed_by)
{
	SwitchConfig c;

	ck_assert_int_eq(switch_config_init(&c, "lab"), 0);
	ck_assert(!c.managed_external); /* famezd */
	switch_config_done(&c);
	parse_ok(&c, "[Switch]\nManagedBy=external\n");
	ck_assert(c.managed_external);
	ck_assert_uint_eq(c.set, SWITCH_KEY_MANAGED_BY);
	switch_config_done(&c);
	parse_ok(&c, "[Switch]\nManagedBy = famezd\n");
	ck_assert(!c.managed_external);
	ck_assert_uint_eq(c.set, SWITCH_KEY_MANAGED_BY);
	switch_config_done(&c);
	finish_ok(&c, "[Switch]\nSID=30\nManagedBy=external\nLink=16:east:16\n");
	ck_assert(c.managed_external);
	switch_config_done(&c);

	/* Anything else: one line naming the file, the line and the key. */
	ck_assert_str_eq(parse_error("[Switch]\n# who\nManagedBy=famez-fm\n"),
			 "lab.conf:3: ManagedBy=famez-fm: not a fabric manager; give famezd "
			 "(famezd configures the switch and its peers) or external (a manager such "
			 "as famez-fm does)");
	assert_bad_line("ManagedBy=External", "not a fabric manager");
	assert_bad_line("ManagedBy=", "not a fabric manager");
	assert_bad_line("ManagedBy=famezd external", "not a fabric manager");
	ck_assert_str_eq(parse_error("[Switch]\nManagedBy=external\nManagedBy=external\n"),
			 "lab.conf:3: ManagedBy=external: ManagedBy= was given on line 2 already; "
			 "give it once");
	ck_assert_str_eq(parse_error("[Switch]\nManagedby=external\n"),
			 "lab.conf:2: Managedby=external: unknown key; keys are case-sensitive: "
			 "ManagedBy=");
	assert_bad_line("Manager=external", "Relay and ManagedBy");

	/* A fabric key: ivshmem mode has no manager to leave the switch to, either one. */
	ck_assert_str_eq(finish_error("[Switch]\nMode=ivshmem\nManagedBy=external\n"),
			 "lab.conf: ManagedBy= applies to fabric mode; Mode=ivshmem has no fabric "
			 "manager, no mailbox and every vector is shared; remove it");
	ck_assert_str_eq(finish_error("[Switch]\nManagedBy=famezd\nMode=ivshmem\n"),
			 "lab.conf: ManagedBy= applies to fabric mode; Mode=ivshmem has no fabric "
			 "manager, no mailbox and every vector is shared; remove it");
	/* famezd's options name theirs. */
	ck_assert_int_eq(switch_config_init(&c, SWITCH_DEFAULT_NAME), 0);
	c.mode = SWITCH_MODE_IVSHMEM;
	c.set = SWITCH_KEY_MODE | SWITCH_KEY_MANAGED_BY;
	ck_assert_int_eq(switch_config_finish(&c, note, sizeof(note), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "--managed-by applies to fabric mode; --mode ivshmem has no fabric "
			      "manager, no mailbox and every vector is shared; remove it");
	switch_config_done(&c);
}
END_TEST

/* Switches for switch_configs_check(): the default one first, then files by name. */
typedef struct Switches {
	SwitchConfig *configs[20];
	size_t n;
} Switches;

static void add_default(Switches *s, unsigned set)
{
	SwitchConfig *c = calloc(1, sizeof(*c));

	ck_assert_int_eq(switch_config_init(c, SWITCH_DEFAULT_NAME), 0);
	c->set = set;
	ck_assert_int_eq(switch_config_finish(c, note, sizeof(note), err, sizeof(err)), 0);
	s->configs[s->n++] = c;
}

static SwitchConfig *add_file(Switches *s, const char *name, const char *text)
{
	SwitchConfig *c = calloc(1, sizeof(*c));
	char source[64];

	ck_assert_int_eq(switch_config_init(c, name), 0);
	snprintf(source, sizeof(source), "%s.conf", name);
	ck_assert_msg(switch_config_parse(c, source, text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(switch_config_finish(c, note, sizeof(note), err, sizeof(err)) == 0, "%s",
		      err);
	s->configs[s->n++] = c;
	return c;
}

static int check(Switches *s)
{
	err[0] = '\0';
	return switch_configs_check(s->configs, s->n, err, sizeof(err));
}

static void switches_done(Switches *s)
{
	for (size_t i = 0; i < s->n; i++) {
		switch_config_done(s->configs[i]);
		free(s->configs[i]);
	}
	s->n = 0;
}

/* Switches a and b from the given files, checked together: their error, or "" when none. */
static const char *check_files(const char *text_a, const char *text_b)
{
	Switches s = { 0 };
	int r;

	add_file(&s, "a", text_a);
	add_file(&s, "b", text_b);
	r = check(&s);
	switches_done(&s);
	ck_assert_int_eq(r, err[0] ? -EINVAL : 0);
	return err;
}

START_TEST(test_check_names)
{
	Switches s = { 0 };

	add_file(&s, "lab", "");
	add_file(&s, "lab", "[Switch]\nSocket=/run/famez/other.sock\n");
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_str_eq(err, "switch lab (lab.conf) and switch lab (lab.conf) have the same name; "
			      "give each switch a name of its own");
	switches_done(&s);
}
END_TEST

START_TEST(test_check_sockets)
{
	char lab_path[PATH_MAX], text[PATH_MAX + 32], expected[PATH_MAX + 128];
	Switches s = { 0 };

	/* Every default path differs. */
	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "lab", "");
	add_file(&s, "test", "");
	ck_assert_int_eq(check(&s), 0);
	switches_done(&s);

	/* Two files giving the same path. */
	ck_assert_str_eq(
		check_files("[Switch]\nSocket=/run/x.sock\n", "[Switch]\nSocket=/run/x.sock\n"),
		"switch a (a.conf) and switch b (b.conf) both listen on /run/x.sock; "
		"give each its own Socket=");

	/* A file giving the path another switch takes by default. */
	ck_assert_int_eq(famez_switch_socket_path("lab", lab_path, sizeof(lab_path)), 0);
	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "lab", "");
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s\n", lab_path);
	add_file(&s, "test", text);
	ck_assert_int_eq(check(&s), -EINVAL);
	snprintf(expected, sizeof(expected),
		 "switch lab (lab.conf) and switch test (test.conf) both listen on %s; give each "
		 "its own Socket=",
		 lab_path);
	ck_assert_str_eq(err, expected);
	switches_done(&s);

	/* And the default switch's default path. */
	add_default(&s, SWITCH_KEY_SID);
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s\n", famez_default_socket_path());
	add_file(&s, "lab", text);
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "switch default (famezd's options) and switch lab "
					  "(lab.conf) both listen on"));
	switches_done(&s);
}
END_TEST

START_TEST(test_check_shared_memory)
{
	Switches s = { 0 };

	ck_assert_str_eq(check_files("[Switch]\nSharedMemoryFile=/var/lib/famez/x.shm\n",
				     "[Switch]\nSharedMemoryFile=/var/lib/famez/x.shm\n"),
			 "switch a (a.conf) and switch b (b.conf) both keep their shared memory in "
			 "file /var/lib/famez/x.shm; give each its own SharedMemoryFile= or "
			 "SharedMemoryName=");
	/* shm_open() takes "x" and "/x" alike. */
	ck_assert_ptr_nonnull(strstr(
		check_files("[Switch]\nSharedMemoryName=/x\n", "[Switch]\nSharedMemoryName=x\n"),
		"both keep their shared memory in posix /x"));

	/* Distinct objects, a file and an object of one name, hugetlbfs files: no collision. */
	add_file(&s, "a", "[Switch]\nSharedMemoryName=x\n");
	add_file(&s, "b", "[Switch]\nSharedMemoryName=y\n");
	add_file(&s, "c", "[Switch]\nSharedMemoryFile=/x\n");
	add_file(&s, "d", "[Switch]\nSharedMemoryHugetlbfs=/dev/hugepages\n");
	add_file(&s, "e", "[Switch]\nSharedMemoryHugetlbfs=/dev/hugepages\n");
	add_file(&s, "f", "");
	add_file(&s, "g", "");
	ck_assert_int_eq(check(&s), 0);
	switches_done(&s);
}
END_TEST

START_TEST(test_check_sids)
{
	Switches s = { 0 };
	SwitchConfig *lab;

	/* Switches may share a subnet, and then share its CIDs. */
	add_default(&s, SWITCH_KEY_SID);
	lab = add_file(&s, "lab", "[Switch]\nSID=27\n");
	ck_assert_int_eq(check(&s), 0);
	ck_assert_uint_eq(s.configs[0]->cid_base, 0);
	ck_assert_uint_eq(s.configs[0]->cid_stride, 100);
	ck_assert_uint_eq(lab->cid_base, 2048);
	ck_assert_uint_eq(lab->cid_stride, 100);
	switches_done(&s);

	ck_assert_str_eq(check_files("[Switch]\nSID=40\n", "[Switch]\nSID=40\n"), "");
	ck_assert_str_eq(check_files("[Switch]\nSID=40\n", "[Switch]\nMode=ivshmem\n"), "");
}
END_TEST

/* A switch alone in its subnet keeps FAME-Z's CIDs; an ivshmem switch has none. */
START_TEST(test_check_assigns_cids)
{
	Switches s = { 0 };
	SwitchConfig *big, *old, *ext, *lab;

	add_default(&s, SWITCH_KEY_SID);
	big = add_file(&s, "big", "[Switch]\nMaxPeers=254\n");
	old = add_file(&s, "old", "[Switch]\nMode=ivshmem\n");
	ck_assert_int_eq(check(&s), 0);
	ck_assert_uint_eq(s.configs[0]->cid_base, 0);
	ck_assert_uint_eq(s.configs[0]->cid_stride, 100); /* fabric_cid(15, id) */
	ck_assert_uint_eq(big->sid, 28);
	ck_assert_uint_eq(big->cid_base, 0);
	ck_assert_uint_eq(big->cid_stride, 16); /* fabric_cid(255, id) */
	ck_assert_uint_eq(old->cid_stride, 0);
	switches_done(&s);

	/* A switch a manager configures takes no share of its subnet's CIDs. */
	add_default(&s, SWITCH_KEY_SID);
	ext = add_file(&s, "ext", "[Switch]\nSID=27\nManagedBy=external\n");
	lab = add_file(&s, "lab", "[Switch]\nSID=27\n");
	ck_assert_msg(check(&s) == 0, "%s", err);
	ck_assert_uint_eq(ext->cid_base, 0);
	ck_assert_uint_eq(ext->cid_stride, 0);
	ck_assert_uint_eq(lab->cid_base, 2048); /* the second of two, not of three */
	ck_assert_uint_eq(lab->cid_stride, 100);
	{
		TopoSwitch out[3];

		ck_assert_int_eq(switch_configs_topology(s.configs, s.n, out, err, sizeof(err)), 0);
		ck_assert(!out[0].external);
		ck_assert(out[1].external);
		ck_assert(out[1].up);
		ck_assert(!out[1].cid_valid);
		ck_assert(!out[1].relay);
		ck_assert(!out[2].external);
		ck_assert(out[2].cid_valid);
		ck_assert(out[2].relay);
	}
	switches_done(&s);

	/* Seventeen switches of 254 clients cannot share one subnet. */
	for (int i = 0; i < 17; i++) {
		char name[8];

		snprintf(name, sizeof(name), "s%02d", i);
		add_file(&s, name, "[Switch]\nSID=40\nMaxPeers=254\n");
	}
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_str_eq(err, "SID 40: switch s00 needs 255 CIDs (254 clients and itself), but 17 "
			      "switches share the subnet's 4096 CIDs, 240 each; give it fewer "
			      "clients or move a switch to another SID");
	switches_done(&s);
}
END_TEST

START_TEST(test_check_assigns_sids)
{
	Switches s = { 0 };
	SwitchConfig *a, *b, *c, *d, *e;

	add_default(&s, SWITCH_KEY_SID); /* 27 */
	a = add_file(&s, "a", "");       /* 28 is free */
	b = add_file(&s, "b", "[Switch]\nSID=29\n");
	c = add_file(&s, "c", ""); /* 29 is b's: 30 */
	d = add_file(&s, "d", "[Switch]\nMode=ivshmem\n");
	e = add_file(&s, "e", "[Switch]\nSID=31\n"); /* given later, still c's to avoid */
	ck_assert_int_eq(check(&s), 0);
	ck_assert_uint_eq(s.configs[0]->sid, 27);
	ck_assert_uint_eq(a->sid, 28);
	ck_assert_uint_eq(b->sid, 29);
	ck_assert_uint_eq(c->sid, 30);
	ck_assert_uint_eq(d->sid, SWITCH_DEFAULT_SID); /* untouched */
	ck_assert_uint_eq(e->sid, 31);
	ck_assert(!(a->set & SWITCH_KEY_SID));
	switches_done(&s);

	/* Without the default switch, the first file takes 27; SIDs below it are not used. */
	add_file(&s, "a", "[Switch]\nSID=1\n");
	a = add_file(&s, "b", "");
	b = add_file(&s, "c", "[Switch]\nSID=28\n");
	c = add_file(&s, "d", "");
	ck_assert_int_eq(check(&s), 0);
	ck_assert_uint_eq(a->sid, 27);
	ck_assert_uint_eq(c->sid, 29);
	switches_done(&s);
}
END_TEST

/* A line of three: a - b - c, a and b in subnet 28, c in 29; b declares its link to c alone. */
START_TEST(test_topology_of_files)
{
	Switches s = { 0 };
	TopoSwitch out[4];
	SwitchRoutes *routes = NULL;
	const TopoLink *l;

	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "a", "[Switch]\nSID=28\nLink=16:b:16\nRelay=always\n");
	add_file(&s, "b", "[Switch]\nSID=28\nLink=16:a:16\nLink=17:c:16\nMaxPeers=30\n");
	add_file(&s, "c", "[Switch]\nSID=29\n");
	/* b has 30 clients: its link ports are numbered from 32. */
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_str_eq(err, "a.conf:3: Link=16:b:16: port 16 is not a link port of switch b; its "
			      "link ports are 32 to 47");
	switches_done(&s);

	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "a", "[Switch]\nSID=28\nLink=16:b:32\nRelay=always\n");
	add_file(&s, "b", "[Switch]\nSID=28\nLink=32:a:16\nLink=33:c:16\nMaxPeers=30\n");
	add_file(&s, "c", "[Switch]\nSID=29\n");
	ck_assert_msg(check(&s) == 0, "%s", err);
	ck_assert_uint_eq(s.configs[1]->cid_base, 0);
	ck_assert_uint_eq(s.configs[1]->cid_stride, 100);
	ck_assert_uint_eq(s.configs[2]->cid_base, 2048);
	ck_assert_uint_eq(s.configs[2]->cid_stride, 16); /* 31 x 100 > 2048 */
	ck_assert_uint_eq(s.configs[3]->cid_base, 0);

	ck_assert_int_eq(switch_configs_topology(s.configs, s.n, out, err, sizeof(err)), 0);
	ck_assert_str_eq(out[0].name, "default");
	ck_assert_uint_eq(out[0].n_links, 0);
	ck_assert(out[0].up);
	ck_assert_uint_eq(out[1].n_links, 1);
	ck_assert_uint_eq(out[2].n_clients, 30);
	ck_assert_uint_eq(out[2].n_links, 2);
	ck_assert_uint_eq(out[3].n_links, 1);
	l = topology_link(&out[3], 16);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->peer_switch, 2);
	ck_assert_uint_eq(l->peer_port, 33);
	ck_assert(l->up);
	ck_assert_uint_eq(out[2].cid_base, 2048);

	/* a reaches b's clients, and subnet 29 through b. */
	ck_assert_int_eq(routes_compute(&(Topology){ out, 4 }, 1, &routes), 0);
	ck_assert_uint_eq(routes_get(routes, ROUTE_LPRT, 1, 2048 + 16)->egress, 16);
	ck_assert_uint_eq(routes_get(routes, ROUTE_MPRT, 1, 29)->hops, 2);
	ck_assert(!routes_get(routes, ROUTE_MPRT, 1, 27)->valid); /* the default: no link */
	routes = routes_free(routes);
	/* b and c as docs/switches.md shows them. */
	ck_assert_int_eq(routes_compute(&(Topology){ out, 4 }, 2, &routes), 0);
	ck_assert_uint_eq(routes_get(routes, ROUTE_LPRT, 1, 1500)->egress, 32);
	ck_assert_uint_eq(routes_get(routes, ROUTE_MPRT, 1, 29)->egress, 33);
	routes = routes_free(routes);
	ck_assert_int_eq(routes_compute(&(Topology){ out, 4 }, 3, &routes), 0);
	ck_assert_uint_eq(routes_get(routes, ROUTE_MPRT, 1, 28)->egress, 16);
	ck_assert_uint_eq(routes_get(routes, ROUTE_MPRT, 1, 28)->hops, 1);
	routes_free(routes);
	switches_done(&s);

	/* The default switch is linked to by its name. */
	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "lab", "[Switch]\nLink=16:default:17\n");
	ck_assert_msg(check(&s) == 0, "%s", err);
	ck_assert_int_eq(switch_configs_topology(s.configs, s.n, out, err, sizeof(err)), 0);
	ck_assert_uint_eq(topology_link(&out[0], 17)->peer_switch, 1);
	ck_assert_uint_eq(topology_link(&out[0], 17)->peer_port, 16);
	switches_done(&s);
}
END_TEST

/* Switches from files, checked together: "" when they are, else the error. */
static const char *check_fabric(const char *const *texts)
{
	Switches s = { 0 };
	int r;

	for (size_t i = 0; texts[i]; i++) {
		char name[2] = { (char)('a' + i), '\0' };

		add_file(&s, name, texts[i]);
	}
	r = check(&s);
	switches_done(&s);
	ck_assert_int_eq(r, err[0] ? -EINVAL : 0);
	return err;
}

#define FABRIC(...) check_fabric((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(test_links_accepted)
{
	/* One end, both ends alike, two links between the same switches. */
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:17\n", ""), "");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:17\n", "[Switch]\nLink=17:a:16\n"), "");
	ck_assert_str_eq(
		FABRIC("[Switch]\nLink=16:b:17\nLink=17:b:16\n", "[Switch]\nLink=16:a:17\n"), "");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\n", "[Switch]\nLink=17:c:16\n",
				"[Switch]\nLink=17:a:17\n"),
			 "");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=31:b:16\n", ""), "");
	/* Switches of one manager, either one, said or not. */
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=external\nLink=16:b:17\n",
				"[Switch]\nManagedBy=external\n"),
			 "");
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=external\nLink=16:b:17\n",
				"[Switch]\nManagedBy=external\nLink=17:a:16\n"),
			 "");
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=famezd\nLink=16:b:17\n", ""), "");
	/* Unlinked, two managers share a famezd. */
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=external\n", "[Switch]\nLink=16:c:16\n", ""),
			 "");
}
END_TEST

START_TEST(test_links_refused)
{
	Switches s = { 0 };

	ck_assert_str_eq(FABRIC("[Switch]\nSID=28\n\nLink=16:nowhere:16\n"),
			 "a.conf:4: Link=16:nowhere:16: no switch named nowhere");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:a:17\n"),
			 "a.conf:2: Link=16:a:17: links switch a to itself; link another switch");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\n", "[Switch]\nMode=ivshmem\n"),
			 "a.conf:2: Link=16:b:16: switch b is in ivshmem mode, which has no links; "
			 "link fabric switches only");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=15:b:16\n", ""),
			 "a.conf:2: Link=15:b:16: port 15 is not a link port of switch a; its link "
			 "ports are 16 to 31");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=32:b:16\n", ""),
			 "a.conf:2: Link=32:b:16: port 32 is not a link port of switch a; its link "
			 "ports are 16 to 31");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:1\n", ""),
			 "a.conf:2: Link=16:b:1: port 1 is not a link port of switch b; its link "
			 "ports are 16 to 31");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:20\n", "[Switch]\nMaxPeers=2\n"),
			 "a.conf:2: Link=16:b:20: port 20 is not a link port of switch b; its link "
			 "ports are 4 to 19");

	/* A port used twice: in one file, by two files, by the same line again. */
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\nLink=16:c:16\n", "", ""),
			 "a.conf:3: Link=16:c:16: port 16 of switch a is taken by a.conf:2: "
			 "Link=16:b:16; give each link its own port");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:c:16\n", "[Switch]\nLink=16:c:16\n", ""),
			 "b.conf:2: Link=16:c:16: port 16 of switch c is taken by a.conf:2: "
			 "Link=16:c:16; give each link its own port");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:17\nLink=16:b:18\n", ""),
			 "a.conf:3: Link=16:b:18: port 16 of switch a is taken by a.conf:2: "
			 "Link=16:b:17; give each link its own port");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\nLink=17:b:16\n", ""),
			 "a.conf:3: Link=17:b:16: port 16 of switch b is taken by a.conf:2: "
			 "Link=16:b:16; give each link its own port");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\n# again\nLink=16:b:16\n", ""),
			 "a.conf:4: Link=16:b:16: given on line 2 already; give it once");

	/* A link between a switch famezd manages and one a manager does, declared by either. */
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:16\n", "[Switch]\nManagedBy=external\n"),
			 "a.conf:2: Link=16:b:16: links switches of two managers (a is "
			 "ManagedBy=famezd, b ManagedBy=external); give linked switches the same "
			 "ManagedBy=");
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=famezd\n",
				"[Switch]\nManagedBy=external\n\nLink=20:a:31\n"),
			 "b.conf:4: Link=20:a:31: links switches of two managers (b is "
			 "ManagedBy=external, a ManagedBy=famezd); give linked switches the same "
			 "ManagedBy=");
	ck_assert_str_eq(FABRIC("[Switch]\nManagedBy=external\nLink=16:b:16\n",
				"[Switch]\nManagedBy=external\nLink=17:c:16\n", ""),
			 "b.conf:3: Link=17:c:16: links switches of two managers (b is "
			 "ManagedBy=external, c ManagedBy=famezd); give linked switches the same "
			 "ManagedBy=");

	/* Two ends that disagree, on either end's port. */
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:17\n", "[Switch]\nLink=18:a:16\n"),
			 "b.conf:2: Link=18:a:16: a.conf:2: Link=16:b:17 joins port 16 of a to "
			 "port 17 of b, not 18; declare the link alike at both ends");
	ck_assert_str_eq(FABRIC("[Switch]\nLink=16:b:17\n", "[Switch]\nLink=17:a:20\n"),
			 "b.conf:2: Link=17:a:20: a.conf:2: Link=16:b:17 joins port 17 of b to "
			 "port 16 of a, not 20; declare the link alike at both ends");

	/* The default switch: linked to by name, and its own links named as options. */
	add_default(&s, SWITCH_KEY_SID);
	add_file(&s, "lab", "[Switch]\nLink=16:default:3\n");
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_str_eq(err, "lab.conf:2: Link=16:default:3: port 3 is not a link port of switch "
			      "default; its link ports are 16 to 31");
	switches_done(&s);
	add_default(&s, SWITCH_KEY_SID);
	s.configs[0]->links[0] = (SwitchLinkConfig){ 16, "nowhere", 16, 0 };
	s.configs[0]->n_links = 1;
	ck_assert_int_eq(check(&s), -EINVAL);
	ck_assert_str_eq(err, "famezd's options: --link 16:nowhere:16: no switch named nowhere");
	switches_done(&s);
}
END_TEST

START_TEST(test_without_err)
{
	SwitchConfig c;

	ck_assert_int_eq(switch_config_init(&c, "lab"), 0);
	ck_assert_int_eq(switch_config_parse(&c, "lab.conf", "SID=1", NULL, 0), -EINVAL);
	ck_assert_int_eq(switch_config_parse(&c, "lab.conf", "[Switch]\nSID=1\n", err, 0), 0);
	ck_assert_uint_eq(c.sid, 1);
	switch_config_done(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("switch-config");
	TCase *tc = tcase_create("switch-config");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_init_defaults);
	tcase_add_test(tc, test_empty_file_keeps_defaults);
	tcase_add_test(tc, test_every_fabric_key);
	tcase_add_test(tc, test_every_ivshmem_key);
	tcase_add_test(tc, test_comments_and_whitespace);
	tcase_add_test(tc, test_booleans);
	tcase_add_test(tc, test_ack_timeouts);
	tcase_add_test(tc, test_exact_errors);
	tcase_add_test(tc, test_unknown_keys_and_syntax);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_limits_accepted);
	tcase_add_test(tc, test_exclusive_backings);
	tcase_add_test(tc, test_finish_fabric);
	tcase_add_test(tc, test_finish_ivshmem);
	tcase_add_test(tc, test_finish_names_options);
	tcase_add_test(tc, test_links_and_relay);
	tcase_add_test(tc, test_link_and_relay_errors);
	tcase_add_test(tc, test_managed_by);
	tcase_add_test(tc, test_check_names);
	tcase_add_test(tc, test_check_sockets);
	tcase_add_test(tc, test_check_shared_memory);
	tcase_add_test(tc, test_check_sids);
	tcase_add_test(tc, test_check_assigns_sids);
	tcase_add_test(tc, test_check_assigns_cids);
	tcase_add_test(tc, test_topology_of_files);
	tcase_add_test(tc, test_links_accepted);
	tcase_add_test(tc, test_links_refused);
	tcase_add_test(tc, test_without_err);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
