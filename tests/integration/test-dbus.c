/* SPDX-License-Identifier: MIT */
/*
 * The org.famez API on a private system bus with the project's policy and the real polkitd
 * (run through bus-env.sh): root may do everything, nobody may read but is denied every change,
 * a polkit rule lets a group through, introspection matches the installed XML, famezctl's JSON
 * carries what its tables show, and real QEMUs are rung, listed and watched.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "mailbox.h"
#include "guest.h"
#include "qtest.h"
#include "testlib.h"

typedef enum Caller {
	ROOT,
	NOBODY, /* uid 65534: no rule, no agent, no session */
	DAEMON, /* uid 1, group daemon: the test rule lets it ring doorbells */
} Caller;

static Famezd famezd;
static char out[256], err[256];

static const char *famezctl_path(void)
{
	const char *p = getenv("FAMEZCTL");

	ck_assert_msg(p, "FAMEZCTL is not set; run the tests through meson test");
	return p;
}

/* What runs a program as caller: setpriv's arguments (none for root); returns how many. */
static int run_as(Caller caller, const char *argv[])
{
	if (caller == ROOT)
		return 0;
	argv[0] = "/usr/bin/setpriv";
	argv[1] = caller == NOBODY ? "--reuid=65534" : "--reuid=1";
	argv[2] = caller == NOBODY ? "--regid=65534" : "--regid=1";
	argv[3] = caller == NOBODY ? "--clear-groups" : "--init-groups";
	return 4;
}

/*
 * Runs famezctl as caller with args (NULL-terminated, at most 10); stdout in `out`, stderr in
 * `err`; returns the exit status.
 */
static int ctlv(Caller caller, const char *const args[])
{
	const char *argv[20];
	int n = run_as(caller, argv);

	snprintf(out, sizeof(out), "%s/ctl.out", testlib_tmpdir());
	snprintf(err, sizeof(err), "%s/ctl.err", testlib_tmpdir());
	argv[n++] = famezctl_path();
	argv[n++] = "--no-ask-password";
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(i, 10);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return testlib_run((char *const *)argv, out, err, TESTLIB_WAIT_MS);
}

static int ctl(Caller caller, const char *a1, const char *a2, const char *a3, const char *a4)
{
	return ctlv(caller, (const char *const[]){ a1, a2, a3, a4, NULL });
}

static void start_famezd_with(const char *mode, const char *extra)
{
	const char *args[] = { "--bus", "system", "--mode", mode, extra, NULL };

	famezd_start(&famezd, args);
	ck_assert(testlib_file_contains(famezd.log_path, "owning org.famez on the system bus"));
}

static void start_famezd_in(const char *mode)
{
	start_famezd_with(mode, NULL);
}

static void start_famezd(void)
{
	start_famezd_in("fabric");
}

/* A famez-client peer named alpha that runs commands; returns its pid. */
static pid_t start_alpha(const char *commands, char *alpha_out)
{
	pid_t pid = famez_client_start_as(famezd.socket_path, "alpha", "alpha", commands, alpha_out,
					  256);

	testlib_wait_for_output(alpha_out, "fabric nodename alpha", TESTLIB_WAIT_MS);
	return pid;
}

static void assert_ctlv(int want, Caller caller, const char *const args[])
{
	int r = ctlv(caller, args);

	ck_assert_msg(r == want, "famezctl %s %s: exit %d, expected %d: %s%s", args[0],
		      args[1] ? args[1] : "", r, want, testlib_show(out), testlib_show(err));
}

static void assert_ctl(int want, Caller caller, const char *a1, const char *a2, const char *a3,
		       const char *a4)
{
	assert_ctlv(want, caller, (const char *const[]){ a1, a2, a3, a4, NULL });
}

/* famezctl ARGS... as caller exits with want. */
#define ASSERT_CTL(want, caller, ...)                                                              \
	assert_ctlv(want, caller, (const char *const[]){ __VA_ARGS__, NULL })

START_TEST(test_root_may_do_everything)
{
	char alpha_out[256];
	pid_t alpha;
	int status;

	start_famezd();
	alpha = start_alpha("wait-int 0 1 " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S,
			    alpha_out);

	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	ck_assert(testlib_file_contains(out, "alpha"));
	ck_assert(testlib_file_contains(out, "Debugger"));

	assert_ctl(0, ROOT, "send-interrupt", "1", "0", NULL);
	testlib_wait_for_output(alpha_out, "interrupt vector 0 count 1", TESTLIB_WAIT_MS);

	assert_ctl(0, ROOT, "send", "1", "hello", "dbus");
	testlib_wait_for_output(alpha_out, "Z-switch@15: hello dbus", TESTLIB_WAIT_MS);

	assert_ctl(0, ROOT, "ping", "1", NULL, NULL);
	ck_assert(testlib_file_contains(out, "pong from peer 1: time="));

	/* Invalid arguments are named errors and change nothing. */
	assert_ctl(1, ROOT, "send-interrupt", "1", "99", NULL);
	ck_assert(testlib_file_contains(err, "there is no vector 99"));

	assert_ctl(0, ROOT, "disconnect", "1", NULL, NULL);
	status = testlib_wait(alpha, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "alpha: 0x%x", status);
	ck_assert(testlib_file_contains(famezd.log_path, "disconnected by an administrator"));

	assert_ctl(5, ROOT, "send-interrupt", "1", "0", NULL);
	ck_assert(testlib_file_contains(err, "no peer 1 is connected"));
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_nobody_reads_but_is_denied_every_change)
{
	char alpha_out[256];

	start_famezd();
	start_alpha("sleep " TESTLIB_LIFETIME_S, alpha_out);

	assert_ctl(0, NOBODY, "status", NULL, NULL, NULL);
	ck_assert(testlib_file_contains(out, "alpha"));
	assert_ctl(0, NOBODY, "--json", "peers", NULL, NULL);

	/* auth_admin: denied, unless someone authenticates, which nobody can here. */
	assert_ctl(4, NOBODY, "send-interrupt", "1", "0", NULL);
	ck_assert_msg(testlib_file_contains(err, "org.famez.send-interrupt needs authentication"),
		      "%s", testlib_show(err));
	assert_ctl(4, NOBODY, "send", "1", "hello", NULL);
	ck_assert(testlib_file_contains(err, "org.famez.send-message"));
	assert_ctl(4, NOBODY, "ping", "1", NULL, NULL);
	assert_ctl(4, NOBODY, "disconnect", "1", NULL, NULL);
	ck_assert(testlib_file_contains(err, "org.famez.disconnect-peer"));

	/*
	 * Nothing happened: alpha is still there and was neither rung nor written to. Root's two
	 * pings are the barrier: a message would have come before them through the server's
	 * slot, and alpha takes a ring before the second ping's (it answered the first one).
	 */
	assert_ctl(0, ROOT, "peers", NULL, NULL, NULL);
	ck_assert(testlib_file_contains(out, "alpha"));
	assert_ctl(0, ROOT, "ping", "1", "--count=2", NULL);
	ck_assert_uint_eq(testlib_count(alpha_out, "Z-switch@15: ping"), 2);
	ck_assert(!testlib_file_contains(alpha_out, "interrupt vector 0"));
	ck_assert(!testlib_file_contains(alpha_out, "hello"));
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_polkit_rule_lets_a_group_through)
{
	char alpha_out[256];

	start_famezd();
	start_alpha("wait-int 0 1 " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S, alpha_out);
	/* The rule grants send-interrupt to group daemon, and nothing else. */
	assert_ctl(0, DAEMON, "send-interrupt", "1", "0", NULL);
	testlib_wait_for_output(alpha_out, "interrupt vector 0 count 1", TESTLIB_WAIT_MS);
	assert_ctl(4, DAEMON, "send", "1", "hello", NULL);
	famezd_stop(&famezd);
}
END_TEST

/* The <interface name="NAME">...</interface> element of an introspection document. */
static char *interface_section(const char *xml, const char *name)
{
	char open[128];
	const char *start, *end;

	snprintf(open, sizeof(open), "<interface name=\"%s\">", name);
	start = strstr(xml, open);
	ck_assert_msg(start, "no interface %s in %s", name, xml);
	end = strstr(start, "</interface>");
	ck_assert_ptr_nonnull(end);
	return strndup(start, (size_t)(end - start));
}

static void assert_introspection_matches(const char *path, const char *interface)
{
	const char *argv[] = { "/usr/bin/busctl", "--system", "introspect", "--xml-interface",
			       "org.famez",       path,       NULL };
	char installed[512];
	char *live_xml, *file_xml, *live, *file;

	snprintf(out, sizeof(out), "%s/introspect.xml", testlib_tmpdir());
	ck_assert_int_eq(testlib_run((char *const *)argv, out, NULL, TESTLIB_WAIT_MS), 0);
	snprintf(installed, sizeof(installed), "%s/dbus/%s.xml", getenv("FAMEZ_SOURCE_ROOT"),
		 interface);
	live_xml = testlib_read_file(out);
	file_xml = testlib_read_file(installed);
	ck_assert_ptr_nonnull(file_xml);
	live = interface_section(live_xml, interface);
	file = interface_section(file_xml, interface);
	ck_assert_msg(strcmp(live, file) == 0,
		      "%s drifted from dbus/%s.xml; regenerate it from 'busctl introspect "
		      "--xml-interface org.famez %s'",
		      interface, interface, path);
	free(live_xml);
	free(file_xml);
	free(live);
	free(file);
}

START_TEST(test_introspection_matches_the_installed_xml)
{
	char alpha_out[256];

	start_famezd();
	start_alpha("sleep " TESTLIB_LIFETIME_S, alpha_out);
	assert_introspection_matches("/org/famez", "org.famez.Server1");
	assert_introspection_matches("/org/famez/peer/1", "org.famez.Peer1");
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_json_carries_the_table_values)
{
	char alpha_out[256], table[8192], pid_json[64], pid_text[32];
	pid_t alpha;
	char *json;

	start_famezd();
	alpha = start_alpha("sleep " TESTLIB_LIFETIME_S, alpha_out);
	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	snprintf(table, sizeof(table), "%s", testlib_show(out));
	assert_ctl(0, ROOT, "--json", "status", NULL, NULL);
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json), "not JSON: %s", json);

	snprintf(pid_json, sizeof(pid_json), "\"pid\":%d,", (int)alpha);
	snprintf(pid_text, sizeof(pid_text), " %d ", (int)alpha);
	ck_assert(strstr(json, pid_json));
	ck_assert(strstr(table, pid_text));
	ck_assert(strstr(json, "\"nodename\":\"alpha\"") && strstr(table, " alpha "));
	ck_assert(strstr(json, "\"cclass\":\"Debugger\"") && strstr(table, " Debugger "));
	ck_assert(strstr(json, "\"link_state\":\"up\",\"cid\":0,\"sid\":0") &&
		  strstr(table, " up "));
	ck_assert(strstr(json, "\"mode\":\"fabric\"") && strstr(table, "fabric mode"));
	ck_assert(strstr(json, "\"peer_count\":1,") && strstr(table, "Peers: 1 of 14"));
	ck_assert(strstr(json, "\"server_peer_id\":15,") && strstr(table, "the server is peer 15"));
	free(json);

	/* Two pings, two answers, each as its own record; alpha was asked twice. */
	assert_ctl(0, ROOT, "--json", "ping", "1", "--count=2");
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json), "not JSON: %s", json);
	ck_assert_uint_eq(testlib_count(out, "{\"peer\":1,\"usec\":"), 2);
	ck_assert_msg(json[0] == '[', "%s", json);
	free(json);
	ck_assert_uint_eq(testlib_count(alpha_out, "Z-switch@15: ping"), 2);
	famezd_stop(&famezd);
}
END_TEST

static QVm vms[3];
static Guest guest;

static void teardown_vms(void)
{
	for (int i = 0; i < 3; i++)
		qvm_stop(&vms[i]);
	guest_kill(&guest);
	testlib_teardown();
}

/* A real Linux guest with famez_bridge configures itself at boot: famezctl shows it so. */
START_TEST(test_a_guest_bridge_is_listed_configured)
{
	char chardev[512];
	const char *device[] = { "-chardev", chardev, "-device",
				 "ivshmem-doorbell,chardev=iv,vectors=16", NULL };
	const char *want = "\"nodename\":\"vm0\",\"cclass\":\"Bridge\","
			   "\"link_state\":\"configured\",\"cid\":100,\"sid\":27";

	guest_prepare();
	start_famezd();
	snprintf(chardev, sizeof(chardev), "socket,id=iv,path=%s", famezd.socket_path);
	/* The guest stays up (waiting for a message) until it is killed. */
	guest_boot(&guest, 0, "probe", device);
	guest_wait_for(&guest, "famez-guest: probed", 300000);
	for (int i = 0; i < 1200; i++) {
		assert_ctl(0, ROOT, "--json", "peers", NULL, NULL);
		if (testlib_file_contains(out, want))
			break;
		usleep(50000);
	}
	ck_assert_msg(testlib_file_contains(out, want), "%s", testlib_show(out));
	guest_kill(&guest);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_qemu_rung_listed_and_watched)
{
	char mon_out[256], mon_err[256], pid_json[64], needle[128];
	const char *mon_argv[] = { famezctl_path(), "--json", "monitor", NULL };
	pid_t mon;
	uint32_t id0, id2;
	char *events, *connected, *disconnected, *json;

	start_famezd();
	for (int i = 0; i < 2; i++) {
		char name[8];

		snprintf(name, sizeof(name), "vm%d", i);
		ck_assert_msg(qvm_start(&vms[i], name, famezd.socket_path, 16) == 0, "QEMU: %s",
			      testlib_show(vms[i].log_path));
	}
	id0 = qvm_ivposition(&vms[0]);

	/* A server-originated interrupt reaches the guest as an MSI-X pending bit. */
	snprintf(needle, sizeof(needle), "%u", id0);
	assert_ctl(0, ROOT, "send-interrupt", needle, "1", NULL);
	ck_assert(qvm_wait_pending(&vms[0], 1, TESTLIB_WAIT_MS));

	/* The peers are the VMs, with their pids and names. */
	assert_ctl(0, ROOT, "--json", "peers", NULL, NULL);
	json = testlib_read_file(out);
	ck_assert(testlib_json_valid(json));
	free(json);
	for (int i = 0; i < 2; i++) {
		snprintf(pid_json, sizeof(pid_json), "\"vm_name\":\"vm%d\",\"pid\":%d,", i,
			 (int)vms[i].pid);
		ck_assert_msg(testlib_file_contains(out, pid_json), "%s not in %s", pid_json,
			      testlib_show(out));
	}
	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	for (int i = 0; i < 2; i++) {
		char name[8], *table = testlib_read_file(out), *line;

		snprintf(name, sizeof(name), " vm%d ", i);
		snprintf(needle, sizeof(needle), " %d ", (int)vms[i].pid);
		line = strstr(table, name);
		ck_assert_msg(line, "%s", table);
		*strchrnul(line, '\n') = '\0';
		ck_assert_msg(strstr(line, needle), "no pid %d in: %s", (int)vms[i].pid, line);
		free(table);
	}

	/* Peers coming and going are seen in order. */
	snprintf(mon_out, sizeof(mon_out), "%s/monitor.out", testlib_tmpdir());
	snprintf(mon_err, sizeof(mon_err), "%s/monitor.err", testlib_tmpdir());
	mon = testlib_spawn((char *const *)mon_argv, mon_out, mon_err);
	testlib_wait_for_output(mon_err, "watching org.famez", TESTLIB_WAIT_MS);
	ck_assert_int_eq(qvm_start(&vms[2], "vm2", famezd.socket_path, 16), 0);
	id2 = qvm_ivposition(&vms[2]);
	qvm_stop(&vms[2]);
	snprintf(needle, sizeof(needle), "{\"event\":\"PeerDisconnected\",\"peer\":%u,", id2);
	testlib_wait_for_output(mon_out, needle, TESTLIB_WAIT_MS);
	testlib_stop(mon, TESTLIB_WAIT_MS);
	events = testlib_read_file(mon_out);
	snprintf(needle, sizeof(needle), "{\"event\":\"PeerConnected\",\"peer\":%u,", id2);
	connected = strstr(events, needle);
	snprintf(needle, sizeof(needle), "{\"event\":\"PeerDisconnected\",\"peer\":%u,", id2);
	disconnected = strstr(events, needle);
	ck_assert_msg(connected && disconnected && connected < disconnected, "events: %s", events);
	free(events);
	famezd_stop(&famezd);
}
END_TEST

static bool has_own_vectors(RawClient *c, void *data)
{
	return c->state.self.n_vectors == (unsigned)(uintptr_t)data;
}

/* A counter a peer keeps full is an error for the caller, not a famezd stuck in write(). */
START_TEST(test_send_interrupt_to_a_full_counter)
{
	RawClient c;
	uint64_t count = UINT64_C(0xfffffffffffffffe);
	int fd;

	start_famezd_in("ivshmem");
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&c, has_own_vectors, (void *)1, TESTLIB_WAIT_MS));
	fd = c.state.self.fds[0];
	ck_assert_int_eq(write(fd, &count, sizeof(count)), sizeof(count));
	ck_assert_int_ne(fcntl(fd, F_SETFL, 0), -1); /* a plain write() would now wait */

	assert_ctl(1, ROOT, "send-interrupt", "0", "0", NULL);
	ck_assert_msg(testlib_file_contains(err, "the peer does not read its interrupts"), "%s",
		      testlib_show(err));
	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	/* Once it reads, it is rung again. */
	ck_assert_int_eq(read(fd, &count, sizeof(count)), sizeof(count));
	assert_ctl(0, ROOT, "send-interrupt", "0", "0", NULL);
	ck_assert_int_eq(read(fd, &count, sizeof(count)), sizeof(count));
	ck_assert_uint_eq(count, 1);
	raw_client_close(&c);
	famezd_stop(&famezd);
}
END_TEST

#define BATCH 100 /* below the bus's 128 pending replies per connection */

static int count_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	(void)m, (void)error;
	(*(int *)userdata)--;
	return 0;
}

/*
 * As nobody: for each batch of peer IDs read from cmd, a SendInterrupt to each (every other
 * one through its Peer1 object), then a property read (which famezd answers after it has seen
 * the calls), "s" on done; then "d" once every call was answered.
 */
static void _noreturn_ call_as_nobody(int cmd, int done)
{
	uint16_t ids[BATCH];
	sd_bus *bus = NULL;
	ssize_t n;

	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0 || sd_bus_open_system(&bus) < 0)
		_exit(2);
	while ((n = read(cmd, ids, sizeof(ids))) > 0) {
		int pending = 0;
		uint32_t peers;

		for (size_t i = 0; i < (size_t)n / sizeof(ids[0]); i++) {
			char path[64];
			int r;

			snprintf(path, sizeof(path), "/org/famez/peer/%u", ids[i]);
			if (i % 2)
				r = sd_bus_call_method_async(bus, NULL, "org.famez", path,
							     "org.famez.Peer1", "SendInterrupt",
							     count_reply, &pending, "ub", 0, 0);
			else
				r = sd_bus_call_method_async(bus, NULL, "org.famez", "/org/famez",
							     "org.famez.Server1", "SendInterrupt",
							     count_reply, &pending, "qub", ids[i],
							     0, 0);
			if (r < 0)
				_exit(3);
			pending++;
		}
		if (sd_bus_get_property_trivial(bus, "org.famez", "/org/famez", "org.famez.Server1",
						"PeerCount", NULL, 'u', &peers) < 0 ||
		    write(done, "s", 1) != 1)
			_exit(4);
		while (pending > 0)
			if (sd_bus_process(bus, NULL) == 0 && sd_bus_wait(bus, 30000000) <= 0)
				_exit(5);
		if (write(done, "d", 1) != 1)
			_exit(6);
	}
	sd_bus_flush_close_unref(bus);
	_exit(0);
}

static void expect_from(int fd, char want, sd_bus *bus)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint32_t pending = 0;
	char got = 0;

	if (poll(&p, 1, 30000) == 1 && read(fd, &got, 1) == 1 && got == want)
		return;
	(void)sd_bus_get_property_trivial(bus, "org.famez", "/org/famez", "org.famez.Server1",
					  "AuthorizationsPending", NULL, 'u', &pending);
	ck_abort_msg("the caller did not say '%c'; famezd has %u questions to polkit pending", want,
		     pending);
}

/*
 * Calls whose peer leaves while polkit thinks them over: famezd frees each question however
 * the call ends (the handler finds no peer, or the object is gone), so its memory stays flat
 * over 10,000 of them. polkitd is held with SIGSTOP so that every peer is gone by its answer.
 */
START_TEST(test_polkit_questions_for_vanished_peers_are_freed)
{
	pid_t polkitd = atoi(getenv("FAMEZ_POLKITD_PID")), caller;
	int cmd[2], done[2], status;
	long rss_start = 0, rss_end;
	uint64_t deadline;
	uint32_t pending = 1;
	char asan[1024];
	RawClient peers[BATCH];
	uint16_t ids[BATCH];
	sd_bus *bus;

	/*
	 * Built with AddressSanitizer, famezd would hold freed memory in a quarantine before
	 * reusing it; without one, its RSS shows what it keeps.
	 */
	snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=0",
		 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
		 getenv("ASAN_OPTIONS") ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	start_famezd_in("ivshmem");
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	ck_assert_int_eq(pipe2(cmd, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(done, O_CLOEXEC), 0);
	caller = fork();
	ck_assert_int_ge(caller, 0);
	if (caller == 0) {
		close(cmd[1]);
		close(done[0]);
		call_as_nobody(cmd[0], done[1]);
	}
	close(cmd[0]);
	close(done[1]);

	for (int round = 0; round < 10000 / BATCH; round++) {
		uint32_t n_peers = 1;

		for (int i = 0; i < BATCH; i++) {
			ck_assert_int_eq(raw_client_connect(&peers[i], famezd.socket_path, true),
					 0);
			ck_assert(raw_client_read_until(&peers[i], has_own_vectors, (void *)1,
							TESTLIB_WAIT_MS));
			ids[i] = peers[i].state.own_id;
		}
		ck_assert_int_eq(kill(polkitd, SIGSTOP), 0);
		ck_assert_int_eq(write(cmd[1], ids, sizeof(ids)), sizeof(ids));
		expect_from(done[0], 's', bus);
		for (int i = 0; i < BATCH; i++)
			raw_client_close(&peers[i]);
		deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
		while (n_peers && testlib_now_usec() < deadline) {
			ck_assert_int_ge(sd_bus_get_property_trivial(bus, "org.famez", "/org/famez",
								     "org.famez.Server1",
								     "PeerCount", NULL, 'u',
								     &n_peers),
					 0);
			if (n_peers)
				usleep(10000);
		}
		ck_assert_uint_eq(n_peers, 0);
		ck_assert_int_eq(kill(polkitd, SIGCONT), 0);
		expect_from(done[0], 'd', bus);
		if (round == 9)
			rss_start = testlib_rss_kib(famezd.pid);
	}
	rss_end = testlib_rss_kib(famezd.pid);
	/* Not one question is kept, once the bus has dispatched what was left. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	for (;;) {
		ck_assert_int_ge(sd_bus_get_property_trivial(
					 bus, "org.famez", "/org/famez", "org.famez.Server1",
					 "AuthorizationsPending", NULL, 'u', &pending),
				 0);
		if (pending == 0 || testlib_now_usec() >= deadline)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(pending, 0);
	close(cmd[1]);
	status = testlib_wait(caller, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "caller: 0x%x", status);
	printf("famezd's RSS over the last 9000 calls: %ld -> %ld KiB\n", rss_start, rss_end);
	/*
	 * A question kept would cost about a kilobyte: 9,000 of them some 9 MiB. Under
	 * AddressSanitizer the allocator's own growth hides that; the count above is the check.
	 */
	if (!getenv("FAMEZ_SANITIZED"))
		ck_assert_msg(rss_end - rss_start < 1024, "famezd grew from %ld to %ld KiB",
			      rss_start, rss_end);
	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* Holds a connection to famezd, as a process whose command line names a VM (no Check here). */
static int hold_connection(const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* famezctl peers lists the peer of test_vm_names_are_made_safe, by its VM name. */
static bool evil_vm_listed(void *data)
{
	(void)data;
	return ctl(ROOT, "peers", NULL, NULL, NULL) == 0 && testlib_file_contains(out, "evil");
}

START_TEST(test_vm_names_are_made_safe)
{
	char self[4096], name_out[256];
	const char *argv[] = { self,
			       "--hold-connection",
			       famezd.socket_path,
			       "-name",
			       "guest=evil\x1b]0;pwned\x07\xff\xfe-vm,debug-threads=on",
			       NULL };
	const char *get[] = { "/usr/bin/busctl",   "--system",        "get-property", "org.famez",
			      "/org/famez/peer/1", "org.famez.Peer1", "VmName",       NULL };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *table;

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	start_famezd();
	testlib_spawn((char *const *)argv, NULL, NULL);
	testlib_wait_until(evil_vm_listed, NULL, TESTLIB_WAIT_MS, "the peer was not listed");
	/* The whole Peer object reads, its name escaped where it could drive a terminal. */
	snprintf(name_out, sizeof(name_out), "%s/name.out", testlib_tmpdir());
	ck_assert_msg(testlib_run((char *const *)get, name_out, name_out, TESTLIB_WAIT_MS) == 0,
		      "%s", testlib_show(name_out));
	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	table = testlib_read_file(out);
	ck_assert_msg(strstr(table, "evil\\x1b]0;pwned\\x07\xef\xbf\xbd\xef\xbf\xbd-vm"), "%s",
		      table);
	ck_assert_ptr_null(strchr(table, '\x1b'));
	ck_assert_ptr_null(strchr(table, '\x07'));
	free(table);
	assert_ctl(0, ROOT, "--json", "peers", NULL, NULL);
	ck_assert(testlib_file_contains(out, "\"vm_name\":\"evil\\\\x1b]0;pwned"));
	famezd_stop(&famezd);
}
END_TEST

/*
 * `famezctl --json monitor` run by root and by nobody, their outputs in root_out and nobody_out;
 * returns once both are subscribed (famezctl says so).
 */
static void start_monitors(char root_out[256], char nobody_out[256])
{
	const Caller callers[] = { ROOT, NOBODY };
	char *outs[] = { root_out, nobody_out };
	char errs[2][256];

	for (size_t i = 0; i < 2; i++) {
		const char *argv[8];
		int n = run_as(callers[i], argv);

		argv[n++] = famezctl_path();
		argv[n++] = "--json";
		argv[n++] = "monitor";
		argv[n] = NULL;
		snprintf(outs[i], 256, "%s/monitor-%zu.out", testlib_tmpdir(), i);
		snprintf(errs[i], sizeof(errs[i]), "%s/monitor-%zu.err", testlib_tmpdir(), i);
		testlib_spawn((char *const *)argv, outs[i], errs[i]);
	}
	for (size_t i = 0; i < 2; i++)
		testlib_wait_for_output(errs[i], "watching org.famez", TESTLIB_WAIT_MS);
}

/* What guests write in their mailboxes goes to root on the system bus, not to every user. */
START_TEST(test_message_text_is_for_root_only)
{
	char root_out[256], nobody_out[256], spy_out[256], client_out[256];
	const char *spy[] = { "/usr/bin/setpriv",      "--reuid=65534",
			      "--regid=65534",         "--clear-groups",
			      "/usr/bin/dbus-monitor", "--system",
			      "sender='org.famez'",    NULL };

	start_famezd();
	snprintf(spy_out, sizeof(spy_out), "%s/spy.out", testlib_tmpdir());
	testlib_spawn((char *const *)spy, spy_out, NULL);
	/*
	 * Every listener is subscribed before the talker comes: famezctl says so, dbus-monitor
	 * prints the bus's NameAcquired once its match rules are in.
	 */
	start_monitors(root_out, nobody_out);
	testlib_wait_for_output(spy_out, "member=NameAcquired", TESTLIB_WAIT_MS);

	famez_client_run(famezd.socket_path, "talker", "send server top-secret-42", client_out,
			 sizeof(client_out));
	testlib_wait_for_output(root_out, "\"text\":\"top-secret-42\"", TESTLIB_WAIT_MS);
	/*
	 * The others hear the peer come and go, never what it said. famezd signals the
	 * departure after the text, and the bus keeps its order: once the departure is in,
	 * the text would be too.
	 */
	testlib_wait_for_output(nobody_out, "\"event\":\"PeerDisconnected\"", TESTLIB_WAIT_MS);
	testlib_wait_for_output(spy_out, "member=PeerDisconnected", TESTLIB_WAIT_MS);
	ck_assert_msg(testlib_file_contains(nobody_out, "\"event\":\"PeerConnected\""), "%s",
		      testlib_show(nobody_out));
	ck_assert_msg(!testlib_file_contains(nobody_out, "top-secret-42"), "%s",
		      testlib_show(nobody_out));
	ck_assert_msg(!testlib_file_contains(spy_out, "top-secret-42"), "%s",
		      testlib_show(spy_out));
	famezd_stop(&famezd);
}
END_TEST

static uint64_t u64_property(sd_bus *bus, const char *path, const char *interface, const char *name)
{
	uint64_t v = 0;

	ck_assert_int_ge(
		sd_bus_get_property_trivial(bus, "org.famez", path, interface, name, NULL, 't', &v),
		0);
	return v;
}

/* What a peer did is counted on the bus, per peer and in all, the lines held back too. */
START_TEST(test_what_a_peer_did_is_counted)
{
	char text[32];
	RawClient c;
	uint8_t *mem;
	size_t size;
	sd_bus *bus;

	/* With debug lines, where what a peer writes into its slot is logged. */
	start_famezd_with("fabric", "--verbose");
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&c, 15, TESTLIB_WAIT_MS));
	mem = raw_client_map(&c, &size);
	/* One malformed message, then a hundred the server does not know. */
	mailbox_set_u64(mailbox_slot(mem, 1), MAILBOX_SLOT_MSG_LEN, 100000);
	raw_client_ring(&c, 15, 1, 1);
	ck_assert(testlib_wait_slot(mailbox_slot(mem, 1), false, TESTLIB_WAIT_MS));
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "chatter %d", i);
		raw_client_mail(&c, mem, 15, text, TESTLIB_WAIT_MS);
	}
	ck_assert(testlib_wait_slot(mailbox_slot(mem, 1), false, TESTLIB_WAIT_MS));

	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/peer/1", "org.famez.Peer1", "ProtocolErrors"), 1);
	ck_assert_uint_eq(u64_property(bus, "/org/famez", "org.famez.Server1", "MessagesUnknown"),
			  100);
	/*
	 * 20 lines a peer out of 203: its connection, then each message's ring and what it was
	 * (its error, the unknown ones).
	 */
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/peer/1", "org.famez.Peer1", "LogMessagesSuppressed"),
		183);
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez", "org.famez.Server1", "LogMessagesSuppressed"), 183);
	assert_ctl(0, ROOT, "status", NULL, NULL, NULL);
	ck_assert_msg(testlib_file_contains(out, "Held back: 183 log lines about peers"), "%s",
		      testlib_show(out));
	ck_assert(testlib_file_contains(out, "messages received (100 unknown)"));
	munmap(mem, size);
	raw_client_close(&c);
	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

typedef struct CallResult {
	int ok;
	char error[128]; /* the name of the last error */
} CallResult;

/*
 * As uid and gid (and no other group), on one bus connection: `n` calls of SendInterrupt to
 * peer's vector 0, one after the other. What became of them, in *result.
 */
static void interrupts_as(uid_t uid, gid_t gid, uint16_t peer, int n, CallResult *result)
{
	int pipefd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		CallResult r = { 0 };
		sd_bus *bus = NULL;

		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0 || sd_bus_open_system(&bus) < 0)
			_exit(2);
		for (int i = 0; i < n; i++) {
			sd_bus_error e = SD_BUS_ERROR_NULL;

			if (sd_bus_call_method(bus, "org.famez", "/org/famez", "org.famez.Server1",
					       "SendInterrupt", &e, NULL, "qub", peer, 0, 0) >= 0)
				r.ok++;
			else
				snprintf(r.error, sizeof(r.error), "%s", e.name ? e.name : "?");
			sd_bus_error_free(&e);
		}
		_exit(write(pipefd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 3);
	}
	close(pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], result, sizeof(*result)), sizeof(*result));
	close(pipefd[0]);
	status = testlib_wait(pid, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "caller: 0x%x", status);
}

/* Whoever was let through once is asked again: polkit decides every call, not the first. */
START_TEST(test_every_call_on_a_connection_is_checked)
{
	char alpha_out[256];
	CallResult r;

	start_famezd();
	start_alpha("wait-int 0 2 " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S, alpha_out);
	interrupts_as(65534, 65534, 1, 2, &r);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_str_eq(r.error, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired");
	/* The rule lets group daemon ring: both of its calls go through. */
	interrupts_as(1, 1, 1, 2, &r);
	ck_assert_int_eq(r.ok, 2);
	testlib_wait_for_output(alpha_out, "interrupt vector 0 count 2", TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

/* The D-Bus text limit is the mailbox's: 382 and 383 characters go, 384 do not. */
START_TEST(test_message_length_limit_over_the_bus)
{
	char text[400], alpha_out[256], needle[420];

	start_famezd();
	start_alpha("sleep " TESTLIB_LIFETIME_S, alpha_out);
	for (size_t n = 382; n <= 384; n++) {
		memset(text, 'a' + (char)(n - 382), n);
		text[n] = '\0';
		assert_ctl(n < 384 ? 0 : 1, ROOT, "send", "1", text, NULL);
		if (n < 384) {
			snprintf(needle, sizeof(needle), "Z-switch@15: %s\n", text);
			testlib_wait_for_output(alpha_out, needle, TESTLIB_WAIT_MS);
		} else
			ck_assert_msg(testlib_file_contains(err,
							    "the message has 384 characters; a "
							    "mailbox slot holds 383"),
				      "%s", testlib_show(err));
	}
	famezd_stop(&famezd);
}
END_TEST

typedef struct PeerProperties {
	uint16_t id;
	uint32_t pid, uid, gid, vectors;
	uint64_t connected_at, sent, received, unacknowledged, interrupts, errors, suppressed;
	uint16_t sid, cid;
	char *nodename, *cclass, *vm_name, *link_state;
} PeerProperties;

static void peer_property(sd_bus *bus, const char *path, const char *name, char type, void *value)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = type == 's' ? sd_bus_get_property_string(bus, "org.famez", path, "org.famez.Peer1",
							 name, &e, value)
			    : sd_bus_get_property_trivial(bus, "org.famez", path, "org.famez.Peer1",
							  name, &e, type, value);

	ck_assert_msg(r >= 0, "%s of %s: %s", name, path, e.message);
}

/* Every property of a peer's object. */
static void get_peer(sd_bus *bus, unsigned id, PeerProperties *p)
{
	char path[64];

	snprintf(path, sizeof(path), "/org/famez/peer/%u", id);
	peer_property(bus, path, "Id", 'q', &p->id);
	peer_property(bus, path, "Pid", 'u', &p->pid);
	peer_property(bus, path, "Uid", 'u', &p->uid);
	peer_property(bus, path, "Gid", 'u', &p->gid);
	peer_property(bus, path, "Vectors", 'u', &p->vectors);
	peer_property(bus, path, "ConnectedAt", 't', &p->connected_at);
	peer_property(bus, path, "MessagesSent", 't', &p->sent);
	peer_property(bus, path, "MessagesReceived", 't', &p->received);
	peer_property(bus, path, "MessagesUnacknowledged", 't', &p->unacknowledged);
	peer_property(bus, path, "InterruptsSent", 't', &p->interrupts);
	peer_property(bus, path, "ProtocolErrors", 't', &p->errors);
	peer_property(bus, path, "LogMessagesSuppressed", 't', &p->suppressed);
	peer_property(bus, path, "Nodename", 's', &p->nodename);
	peer_property(bus, path, "CClass", 's', &p->cclass);
	peer_property(bus, path, "VmName", 's', &p->vm_name);
	peer_property(bus, path, "LinkState", 's', &p->link_state);
	peer_property(bus, path, "SID", 'q', &p->sid);
	peer_property(bus, path, "CID", 'q', &p->cid);
}

static void peer_properties_done(PeerProperties *p)
{
	free(p->nodename);
	free(p->cclass);
	free(p->vm_name);
	free(p->link_state);
	*p = (PeerProperties){ 0 };
}

static uint64_t realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Receives from the server until a message starting with prefix comes; it goes into text. */
static void vm_expect(QVm *vm, const char *prefix, char text[MAILBOX_MSG_MAX])
{
	for (int i = 0; i < 5; i++) {
		qvm_mail_receive(vm, 15, text, MAILBOX_MSG_MAX);
		if (strncmp(text, prefix, strlen(prefix)) == 0)
			return;
	}
	ck_abort_msg("no \"%s...\" from the server, last \"%s\"", prefix, text);
}

/* A VM sets itself up as FAME-Z's guest driver does: its names, RFC, acknowledgment, attributes. */
static void vm_configure(QVm *vm, const char *nodename)
{
	uint32_t own = qvm_ivposition(vm);
	uint64_t slot = (uint64_t)own * MAILBOX_SLOT_SIZE;
	char text[MAILBOX_MSG_MAX], reply[128];
	const char *tag;

	qvm_shm_write_string(vm, slot + MAILBOX_SLOT_NODENAME, nodename);
	qvm_shm_write_string(vm, slot + MAILBOX_SLOT_CCLASS, "Bridge");
	qvm_mail_send(vm, 15, "Link RFC TTC=27us");
	vm_expect(vm, "CTL-Write ", text);
	tag = strstr(text, "Tag=");
	ck_assert_ptr_nonnull(tag);
	snprintf(reply, sizeof(reply), "Standalone Acknowledgment %s,Reason=OK", tag);
	qvm_mail_send(vm, 15, reply);
	vm_expect(vm, "Link CTL Peer-Attribute", text);
	snprintf(reply, sizeof(reply), "Link CTL ACK C-Class=Bridge,SID0=27,CID0=%u", own * 100);
	qvm_mail_send(vm, 15, reply);
}

/* How famezctl's JSON shows a configured peer. */
static void identity_json(char *buf, size_t size, const char *cclass, unsigned cid)
{
	snprintf(buf, size, "\"cclass\":\"%s\",\"link_state\":\"configured\",\"cid\":%u,\"sid\":27",
		 cclass, cid);
}

static void assert_identity(sd_bus *bus, QVm *vm, unsigned id, const char *cclass, unsigned cid)
{
	PeerProperties p = { 0 };
	char in_slot[MAILBOX_CCLASS_MAX], json[160];
	uint64_t slot = (uint64_t)id * MAILBOX_SLOT_SIZE;

	/* In the mailbox, as any peer reads it. */
	qvm_shm_read_string(vm, slot + MAILBOX_SLOT_CCLASS, in_slot, sizeof(in_slot));
	ck_assert_str_eq(in_slot, cclass);
	ck_assert_uint_eq(qvm_shm_read(vm, slot + MAILBOX_SLOT_PEER_SID), 27);
	ck_assert_uint_eq(qvm_shm_read(vm, slot + MAILBOX_SLOT_PEER_CID), cid);
	/* On the bus, once the peer's answer with its C-Class was read. */
	for (uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;;) {
		get_peer(bus, id, &p);
		if (strcmp(p.cclass, cclass) == 0 || testlib_now_usec() >= deadline)
			break;
		peer_properties_done(&p);
		usleep(10000);
	}
	ck_assert_str_eq(p.cclass, cclass);
	ck_assert_str_eq(p.link_state, "configured");
	ck_assert_uint_eq(p.sid, 27);
	ck_assert_uint_eq(p.cid, cid);
	peer_properties_done(&p);
	/* And in famezctl's peers, which out holds. */
	identity_json(json, sizeof(json), cclass, cid);
	ck_assert_msg(testlib_file_contains(out, json), "no %s in %s", json, testlib_show(out));
}

/* The peers of the test below: what each says it is, and the CID the server gives it. */
static const struct {
	const char *cclass;
	unsigned cid;
} identities[] = { { "Bridge", 100 }, { "Bridge", 200 }, { "Tester", 300 } };

/* famezctl's peers, left in out, show each of them configured. */
static bool identities_listed(void *data)
{
	char json[160];

	(void)data;
	assert_ctl(0, ROOT, "--json", "peers", NULL, NULL);
	for (size_t i = 0; i < ELEMENTSOF(identities); i++) {
		identity_json(json, sizeof(json), identities[i].cclass, identities[i].cid);
		if (!testlib_file_contains(out, json))
			return false;
	}
	return true;
}

/* Two QEMUs and a famez-client configured: each one's C-Class, CID and SID, everywhere. */
START_TEST(test_fabric_identities_in_the_mailbox_on_the_bus_and_in_famezctl)
{
	char client_out[256];
	pid_t client;
	sd_bus *bus;

	start_famezd();
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	for (int i = 0; i < 2; i++) {
		char name[8];

		snprintf(name, sizeof(name), "vm%d", i);
		ck_assert_msg(qvm_start(&vms[i], name, famezd.socket_path, 16) == 0, "%s: %s", name,
			      testlib_show(vms[i].log_path));
		vm_configure(&vms[i], name);
	}
	client = famez_client_start_with(famezd.socket_path, "tester",
					 (const char *[]){ "--cclass", "Tester", NULL },
					 "rfc " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S,
					 client_out, sizeof(client_out));
	testlib_wait_for_output(client_out, "configured SID 27 CID 300", TESTLIB_WAIT_MS);

	/* The last answers of the VMs and the client are read by famezd in their own time. */
	testlib_wait_until(identities_listed, NULL, TESTLIB_WAIT_MS,
			   "famezctl did not list every peer configured");
	assert_identity(bus, &vms[1], 1, identities[0].cclass, identities[0].cid);
	assert_identity(bus, &vms[0], 2, identities[1].cclass, identities[1].cid);
	assert_identity(bus, &vms[0], 3, identities[2].cclass, identities[2].cid);
	/* The table has the same columns. */
	assert_ctl(0, ROOT, "peers", NULL, NULL, NULL);
	ck_assert_msg(testlib_file_contains(out, " Tester       configured   300    27  "), "%s",
		      testlib_show(out));

	testlib_stop(client, TESTLIB_WAIT_MS);
	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* Every method and property of a peer's own object, with what it does seen from the peer. */
START_TEST(test_peer_objects_do_what_they_say)
{
	RawClient c;
	PeerProperties p = { 0 };
	uint64_t count;
	uint8_t *mem, *server_slot;
	char text[MAILBOX_MSG_MAX];
	size_t size, len;
	sd_bus *bus;
	sd_bus_error e = SD_BUS_ERROR_NULL;

	start_famezd();
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	ck_assert_int_eq(raw_client_connect(&c, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_fabric(&c, 15, TESTLIB_WAIT_MS));
	mem = raw_client_map(&c, &size);
	server_slot = mailbox_slot(mem, 15);
	mailbox_set_nodename(mailbox_slot(mem, 1), "raw-peer");
	/* Answer the server's join-time question with attributes of our own. */
	ck_assert(testlib_wait_slot(server_slot, true, TESTLIB_WAIT_MS));
	mailbox_acknowledge(server_slot, 1);
	raw_client_mail(&c, mem, 15, "Link CTL ACK C-Class=Tester,SID0=5,CID0=6", TESTLIB_WAIT_MS);
	ck_assert(testlib_wait_slot(mailbox_slot(mem, 1), false, TESTLIB_WAIT_MS));

	get_peer(bus, 1, &p);
	ck_assert_uint_eq(p.id, 1);
	ck_assert_uint_eq(p.pid, (uint32_t)getpid());
	ck_assert_uint_eq(p.uid, 0);
	ck_assert_uint_eq(p.gid, 0);
	ck_assert_uint_eq(p.vectors, 16);
	ck_assert_uint_ge(p.connected_at, realtime_usec() - 60000000);
	ck_assert_uint_le(p.connected_at, realtime_usec());
	ck_assert_str_eq(p.nodename, "raw-peer");
	ck_assert_str_eq(p.cclass, "Tester");
	ck_assert_str_eq(p.vm_name, "");
	ck_assert_uint_eq(p.sent, 1);
	ck_assert_uint_eq(p.received, 1);
	ck_assert_uint_eq(p.unacknowledged, 0);
	ck_assert_uint_eq(p.interrupts, 0);
	ck_assert_uint_eq(p.errors, 0);
	ck_assert_uint_eq(p.suppressed, 0);
	ck_assert_str_eq(p.link_state, "up");
	ck_assert_uint_eq(p.sid, 0);
	ck_assert_uint_eq(p.cid, 0);
	peer_properties_done(&p);

	/* Configured by the server: the link state and the IDs it gave follow. */
	raw_client_mail(&c, mem, 15, "Link RFC TTC=27us", TESTLIB_WAIT_MS);
	ck_assert(testlib_wait_message(server_slot, c.state.own_id, text, &len, TESTLIB_WAIT_MS));
	ck_assert_str_eq(text, "CTL-Write Space=0,PFMCID=1500,PFMSID=27,CID=100,SID=27,Tag=1");
	mailbox_acknowledge(server_slot, 1);
	raw_client_mail(&c, mem, 15, "Standalone Acknowledgment Tag=1,Reason=OK", TESTLIB_WAIT_MS);
	ck_assert(testlib_wait_message(server_slot, c.state.own_id, text, &len, TESTLIB_WAIT_MS));
	ck_assert_str_eq(text, "Link CTL Peer-Attribute");
	mailbox_acknowledge(server_slot, 1);
	get_peer(bus, 1, &p);
	ck_assert_str_eq(p.link_state, "configured");
	ck_assert_uint_eq(p.sid, 27);
	ck_assert_uint_eq(p.cid, 100);
	ck_assert_uint_eq(p.received, 3);
	peer_properties_done(&p);
	/* Drain the rings of those three, so that only the next ones count below. */
	for (int v = 0; v < 16; v++)
		(void)!read(c.state.self.fds[v], &count, sizeof(count));

	/* SendInterrupt rings the vector named, and counts it. */
	ck_assert_int_ge(sd_bus_call_method(bus, "org.famez", "/org/famez/peer/1",
					    "org.famez.Peer1", "SendInterrupt", &e, NULL, "ub", 3,
					    0),
			 0);
	ck_assert_int_eq(read(c.state.self.fds[3], &count, sizeof(count)), sizeof(count));
	ck_assert_uint_eq(count, 1);
	ck_assert_int_lt(sd_bus_call_method(bus, "org.famez", "/org/famez/peer/1",
					    "org.famez.Peer1", "SendInterrupt", &e, NULL, "ub", 16,
					    0),
			 0);
	ck_assert(sd_bus_error_has_name(&e, "org.famez.Error.InvalidVector"));
	sd_bus_error_free(&e);

	/* SendMessage puts the text in the server's slot and rings us on the server's vector. */
	ck_assert_int_ge(sd_bus_call_method(bus, "org.famez", "/org/famez/peer/1",
					    "org.famez.Peer1", "SendMessage", &e, NULL, "sb",
					    "hello over Peer1", 0),
			 0);
	ck_assert(testlib_wait_message(server_slot, c.state.own_id, text, &len, TESTLIB_WAIT_MS));
	ck_assert_str_eq(text, "hello over Peer1");
	ck_assert_int_eq(read(c.state.self.fds[15], &count, sizeof(count)), sizeof(count));
	mailbox_acknowledge(server_slot, 1);

	/* A malformed message counts against it. */
	mailbox_set_u64(mailbox_slot(mem, 1), MAILBOX_SLOT_MSG_LEN, 9999);
	raw_client_ring(&c, 15, 1, 1);
	ck_assert(testlib_wait_slot(mailbox_slot(mem, 1), false, TESTLIB_WAIT_MS));
	get_peer(bus, 1, &p);
	ck_assert_uint_eq(p.interrupts, 1);
	ck_assert_uint_eq(p.sent, 4);
	ck_assert_uint_eq(p.errors, 1);
	peer_properties_done(&p);

	/* Disconnect closes its connection, and the object goes with it. */
	ck_assert_int_ge(sd_bus_call_method(bus, "org.famez", "/org/famez/peer/1",
					    "org.famez.Peer1", "Disconnect", &e, NULL, "b", 0),
			 0);
	raw_client_read_closed(&c, TESTLIB_WAIT_MS);
	ck_assert(c.eof);
	ck_assert_int_lt(sd_bus_call_method(bus, "org.famez", "/org/famez/peer/1",
					    "org.famez.Peer1", "SendInterrupt", &e, NULL, "ub", 0,
					    0),
			 0);
	ck_assert_msg(sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.UnknownObject"), "%s",
		      e.name);
	sd_bus_error_free(&e);
	munmap(mem, size);
	raw_client_close(&c);
	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* ---- several switches ---- */

static char lab_socket[256];

/*
 * famezd with two switches, started the way systemd starts it: systemd-socket-activate passes
 * the default switch's socket and lab's (named switch-lab, as famez-switch@lab.socket names it)
 * and starts famezd at the first connection to either. lab.conf gives lab 6 client slots, so 8
 * vectors and the server is lab's peer 7 (on the default switch: 14, 16 and 15). first_peer makes
 * the first connection: a famez-client named first_peer on lab, the only peer there, and it waits
 * for famezd to own its name on the bus.
 */
static pid_t start_two_switches(const char *first_peer, const char *commands, char *peer_out)
{
	const char *argv[20] = { "/usr/bin/systemd-socket-activate",
				 "-l",
				 famezd.socket_path,
				 "-l",
				 lab_socket,
				 "--fdname=famez.socket:switch-lab",
				 "-E",
				 "DBUS_SYSTEM_BUS_ADDRESS" };
	char switches_dir[256], conf[300];
	size_t n = 8;
	pid_t peer;
	FILE *f;

	snprintf(famezd.socket_path, sizeof(famezd.socket_path), "%s/famez.sock", testlib_tmpdir());
	snprintf(lab_socket, sizeof(lab_socket), "%s/lab.sock", testlib_tmpdir());
	snprintf(famezd.log_path, sizeof(famezd.log_path), "%s/famezd.log", testlib_tmpdir());
	snprintf(switches_dir, sizeof(switches_dir), "%s/switches.d", testlib_tmpdir());
	snprintf(conf, sizeof(conf), "%s/lab.conf", switches_dir);
	ck_assert_int_eq(mkdir(switches_dir, 0755), 0);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Switch]\nSocket=%s\nMaxPeers=6\n", lab_socket);
	ck_assert_int_eq(fclose(f), 0);
	/* The activator passes the environment it is told to pass, and nothing else. */
	if (getenv("ASAN_OPTIONS")) {
		argv[n++] = "-E";
		argv[n++] = "ASAN_OPTIONS";
	}
	argv[n++] = testlib_famezd_path();
	argv[n++] = "--bus";
	argv[n++] = "system";
	argv[n++] = "--switches-dir";
	argv[n++] = switches_dir;
	argv[n] = NULL;
	/* systemd-socket-activate execs famezd: its pid is famezd's. */
	famezd.pid = testlib_spawn((char *const *)argv, famezd.log_path, famezd.log_path);
	testlib_wait_for_path(famezd.socket_path, TESTLIB_WAIT_MS);
	testlib_wait_for_path(lab_socket, TESTLIB_WAIT_MS);
	peer = famez_client_start_as(lab_socket, first_peer, first_peer, commands, peer_out, 256);
	testlib_wait_for_output(peer_out, "fabric nodename", TESTLIB_WAIT_MS);
	testlib_wait_for_output(famezd.log_path, "owning org.famez on the system bus",
				TESTLIB_WAIT_MS);
	return peer;
}

/* A famez-client named name on socket, joined; returns its pid. */
static pid_t start_peer_on(const char *socket, const char *name, const char *commands,
			   char *peer_out)
{
	pid_t pid = famez_client_start_as(socket, name, name, commands, peer_out, 256);

	testlib_wait_for_output(peer_out, "fabric nodename", TESTLIB_WAIT_MS);
	return pid;
}

static char *string_property(sd_bus *bus, const char *path, const char *interface, const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *value = NULL;

	ck_assert_msg(sd_bus_get_property_string(bus, "org.famez", path, interface, name, &e,
						 &value) >= 0,
		      "%s of %s: %s", name, path, e.message);
	return value;
}

static void assert_string_property(sd_bus *bus, const char *path, const char *interface,
				   const char *name, const char *want)
{
	char *value = string_property(bus, path, interface, name);

	ck_assert_msg(strcmp(value, want) == 0, "%s of %s is \"%s\", not \"%s\"", name, path, value,
		      want);
	free(value);
}

/* ListPeers of one object: exactly one peer, with this ID, object path and nodename. */
static void assert_lists_one_peer(sd_bus *bus, const char *path, const char *interface, unsigned id,
				  const char *peer_path, const char *nodename)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *listed_path, *listed_nodename;
	uint32_t pid, uid;
	uint64_t since;
	uint16_t listed_id;

	ck_assert_msg(sd_bus_call_method(bus, "org.famez", path, interface, "ListPeers", &e, &reply,
					 NULL) >= 0,
		      "ListPeers of %s: %s", path, e.message);
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(qouuts)"), 0);
	ck_assert_int_gt(sd_bus_message_read(reply, "(qouuts)", &listed_id, &listed_path, &pid,
					     &uid, &since, &listed_nodename),
			 0);
	ck_assert_uint_eq(listed_id, id);
	ck_assert_str_eq(listed_path, peer_path);
	ck_assert_str_eq(listed_nodename, nodename);
	ck_assert_msg(sd_bus_message_at_end(reply, false) > 0, "%s lists more than one peer", path);
}

/* Every switch on its own object, listed by Server1; each lists its own peers only. */
START_TEST(test_every_switch_has_its_object_and_its_peers)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char alpha_out[256], beta_out[256], nodes[256];
	const char *names[2], *paths[2];
	const char *tree[] = { "/usr/bin/busctl", "--system", "--list", "tree", "org.famez", NULL };
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint32_t count;
	sd_bus *bus;

	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, beta_out);
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);

	/* Server1's Switches: the default switch first, then by name. */
	ck_assert_int_ge(sd_bus_get_property(bus, "org.famez", "/org/famez", "org.famez.Server1",
					     "Switches", &e, &reply, "a(so)"),
			 0);
	ck_assert_int_eq(
		sd_bus_message_read(reply, "a(so)", 2, &names[0], &paths[0], &names[1], &paths[1]),
		1);
	ck_assert_str_eq(names[0], "default");
	ck_assert_str_eq(paths[0], "/org/famez/switch/default");
	ck_assert_str_eq(names[1], "lab");
	ck_assert_str_eq(paths[1], "/org/famez/switch/lab");

	/* Each Switch1 is its switch; Server1 is the default one's. */
	assert_string_property(bus, "/org/famez/switch/lab", "org.famez.Switch1", "Name", "lab");
	assert_string_property(bus, "/org/famez/switch/lab", "org.famez.Switch1", "SocketPath",
			       lab_socket);
	assert_string_property(bus, "/org/famez/switch/default", "org.famez.Switch1", "Name",
			       "default");
	assert_string_property(bus, "/org/famez/switch/default", "org.famez.Switch1", "SocketPath",
			       famezd.socket_path);
	assert_string_property(bus, "/org/famez", "org.famez.Server1", "SocketPath",
			       famezd.socket_path);
	ck_assert_int_ge(sd_bus_get_property_trivial(bus, "org.famez", "/org/famez/switch/lab",
						     "org.famez.Switch1", "PeerCount", &e, 'u',
						     &count),
			 0);
	ck_assert_uint_eq(count, 1);

	/* Both peers are ID 1, each on its own switch, at paths below the object that lists it. */
	assert_lists_one_peer(bus, "/org/famez/switch/lab", "org.famez.Switch1", 1,
			      "/org/famez/switch/lab/peer/1", "alpha");
	assert_lists_one_peer(bus, "/org/famez/switch/default", "org.famez.Switch1", 1,
			      "/org/famez/switch/default/peer/1", "beta");
	assert_lists_one_peer(bus, "/org/famez", "org.famez.Server1", 1, "/org/famez/peer/1",
			      "beta");
	assert_string_property(bus, "/org/famez/switch/lab/peer/1", "org.famez.Peer1", "Nodename",
			       "alpha");
	assert_string_property(bus, "/org/famez/switch/default/peer/1", "org.famez.Peer1",
			       "Nodename", "beta");
	assert_string_property(bus, "/org/famez/peer/1", "org.famez.Peer1", "Nodename", "beta");

	/* The tree has every object, and introspection matches the installed XML. */
	snprintf(nodes, sizeof(nodes), "%s/tree.out", testlib_tmpdir());
	ck_assert_int_eq(testlib_run((char *const *)tree, nodes, NULL, TESTLIB_WAIT_MS), 0);
	ck_assert_msg(testlib_file_contains(nodes, "/org/famez/switch/lab/peer/1\n") &&
			      testlib_file_contains(nodes, "/org/famez/switch/default/peer/1\n") &&
			      testlib_file_contains(nodes, "/org/famez/peer/1\n"),
		      "%s", testlib_show(nodes));
	ck_assert_msg(!testlib_file_contains(nodes, "/org/famez/peer/2"), "%s",
		      testlib_show(nodes));
	assert_introspection_matches("/org/famez/switch/lab", "org.famez.Switch1");
	assert_introspection_matches("/org/famez", "org.famez.Server1");

	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* A signal of famezd's the test heard: PeerConnected/PeerDisconnected's path, MessageReceived's
 * text. */
typedef struct Heard {
	char path[96], interface[32], member[32], arg[64];
	uint16_t id;
} Heard;

static Heard heard[64];
static size_t n_heard;

static int on_heard(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *interface = sd_bus_message_get_interface(m);
	const char *signature = sd_bus_message_get_signature(m, true);
	const char *arg = "", *reason;
	Heard *h = &heard[n_heard];
	int r;

	(void)userdata, (void)error;
	if (n_heard >= ELEMENTSOF(heard) || strncmp(interface, "org.famez.", 10) != 0)
		return 0;
	if (strcmp(signature, "qos") == 0)
		r = sd_bus_message_read(m, "qos", &h->id, &arg, &reason);
	else
		r = sd_bus_message_read(m, signature, &h->id, &arg);
	ck_assert_msg(r > 0, "%s with %s", sd_bus_message_get_member(m), signature);
	snprintf(h->path, sizeof(h->path), "%s", sd_bus_message_get_path(m));
	snprintf(h->interface, sizeof(h->interface), "%s", interface);
	snprintf(h->member, sizeof(h->member), "%s", sd_bus_message_get_member(m));
	snprintf(h->arg, sizeof(h->arg), "%s", arg);
	n_heard++;
	return 0;
}

/* How many member signals were heard on path, with arg (NULL: any). */
static size_t count_heard(const char *path, const char *member, const char *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < n_heard; i++)
		n += strcmp(heard[i].path, path) == 0 && strcmp(heard[i].member, member) == 0 &&
		     (!arg || strcmp(heard[i].arg, arg) == 0);
	return n;
}

typedef struct Expected {
	sd_bus *bus;
	const char *path, *member, *arg;
} Expected;

static bool signal_heard(void *data)
{
	Expected *x = data;

	while (sd_bus_process(x->bus, NULL) > 0)
		;
	return count_heard(x->path, x->member, x->arg) > 0;
}

static void wait_heard(sd_bus *bus, const char *path, const char *member, const char *arg)
{
	Expected x = { bus, path, member, arg };
	char what[256];

	snprintf(what, sizeof(what), "no %s(%s) on %s", member, arg ? arg : "", path);
	testlib_wait_until(signal_heard, &x, TESTLIB_WAIT_MS, what);
}

/*
 * Signals go out on the switch's own object, and for the default switch on Server1 too; a
 * message sent through lab's Switch1 reaches lab's peer, not the default switch's peer of the
 * same ID.
 */
START_TEST(test_signals_and_messages_stay_on_their_switch)
{
	char alpha_out[256], beta_out[256], talker_out[256], late_out[256];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus;

	n_heard = 0;
	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, beta_out);
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	ck_assert_int_ge(
		sd_bus_match_signal(bus, NULL, "org.famez", NULL, NULL, NULL, on_heard, NULL), 0);

	/* Root hears every signal; lab's peer 2 comes, talks and goes. */
	famez_client_run(lab_socket, "talker", "send server hello-from-lab", talker_out,
			 sizeof(talker_out));
	wait_heard(bus, "/org/famez/switch/lab", "PeerDisconnected",
		   "/org/famez/switch/lab/peer/2");
	ck_assert_uint_eq(count_heard("/org/famez/switch/lab", "PeerConnected",
				      "/org/famez/switch/lab/peer/2"),
			  1);
	ck_assert_uint_eq(count_heard("/org/famez/switch/lab", "MessageReceived", "hello-from-lab"),
			  1);
	/* A newcomer on the default switch, heard on both of its objects, comes after that. */
	start_peer_on(famezd.socket_path, "late", "sleep " TESTLIB_LIFETIME_S, late_out);
	wait_heard(bus, "/org/famez", "PeerConnected", "/org/famez/peer/2");
	wait_heard(bus, "/org/famez/switch/default", "PeerConnected",
		   "/org/famez/switch/default/peer/2");
	/* Nothing of lab's went out on the default switch's objects. */
	ck_assert_uint_eq(count_heard("/org/famez", "MessageReceived", "hello-from-lab"), 0);
	ck_assert_uint_eq(
		count_heard("/org/famez/switch/default", "MessageReceived", "hello-from-lab"), 0);
	ck_assert_uint_eq(count_heard("/org/famez", "PeerDisconnected", NULL), 0);
	ck_assert_uint_eq(count_heard("/org/famez/switch/default", "PeerDisconnected", NULL), 0);
	for (size_t i = 0; i < n_heard; i++)
		ck_assert_msg(strcmp(heard[i].path, "/org/famez") == 0
				      ? strcmp(heard[i].interface, "org.famez.Server1") == 0
				      : strcmp(heard[i].interface, "org.famez.Switch1") == 0,
			      "%s on %s of %s", heard[i].member, heard[i].interface, heard[i].path);

	/* A message through lab's Switch1 goes to lab's peer 1, alpha. */
	ck_assert_msg(sd_bus_call_method(bus, "org.famez", "/org/famez/switch/lab",
					 "org.famez.Switch1", "SendMessage", &e, NULL, "qsb", 1,
					 "for-alpha", 0) >= 0,
		      "%s", e.message);
	testlib_wait_for_output(alpha_out, "Z-switch@7: for-alpha", TESTLIB_WAIT_MS);
	/* And one through Server1 to the default switch's peer 1, beta: after the other. */
	ck_assert_msg(sd_bus_call_method(bus, "org.famez", "/org/famez", "org.famez.Server1",
					 "SendMessage", &e, NULL, "qsb", 1, "for-beta", 0) >= 0,
		      "%s", e.message);
	testlib_wait_for_output(beta_out, "Z-switch@15: for-beta", TESTLIB_WAIT_MS);
	ck_assert_msg(!testlib_file_contains(beta_out, "for-alpha"), "%s", testlib_show(beta_out));
	ck_assert_msg(!testlib_file_contains(alpha_out, "for-beta"), "%s", testlib_show(alpha_out));
	/* A peer ID the switch does not have is not looked up on another switch. */
	ck_assert_int_lt(sd_bus_call_method(bus, "org.famez", "/org/famez/switch/lab",
					    "org.famez.Switch1", "SendInterrupt", &e, NULL, "qub",
					    2, 0, 0),
			 0);
	ck_assert_msg(sd_bus_error_has_name(&e, "org.famez.Error.NoSuchPeer"), "%s", e.name);
	sd_bus_error_free(&e);

	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* busctl call as caller, with up to three arguments; its stderr in err. Its exit status. */
static int busctl_as(Caller caller, const char *path, const char *interface, const char *method,
		     const char *signature, const char *a1, const char *a2, const char *a3)
{
	const char *argv[20];
	int n = run_as(caller, argv);
	const char *call[] = {
		"/usr/bin/busctl", "--system", "call", "org.famez", path, interface, method,
		signature,         a1,         a2,     a3,          NULL
	};

	for (size_t i = 0; i < ELEMENTSOF(call); i++)
		argv[n++] = call[i];
	snprintf(err, sizeof(err), "%s/busctl.err", testlib_tmpdir());
	return testlib_run((char *const *)argv, NULL, err, TESTLIB_WAIT_MS);
}

/*
 * polkit hears which switch a call is for: bus-env.sh's rule lets group daemon send messages
 * on switch lab only. nobody is denied there as everywhere.
 */
START_TEST(test_polkit_decides_by_switch)
{
	char alpha_out[256], beta_out[256];

	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, beta_out);

	ck_assert_int_ne(busctl_as(NOBODY, "/org/famez/switch/lab", "org.famez.Switch1",
				   "SendMessage", "qsb", "1", "from-nobody", "false"),
			 0);
	ck_assert_msg(testlib_file_contains(err, "org.famez.send-message needs authentication"),
		      "%s", testlib_show(err));
	ck_assert_int_ne(busctl_as(NOBODY, "/org/famez/switch/lab/peer/1", "org.famez.Peer1",
				   "Disconnect", "b", "false", NULL, NULL),
			 0);
	ck_assert_msg(testlib_file_contains(err, "org.famez.disconnect-peer needs authentication"),
		      "%s", testlib_show(err));
	/* Group daemon: on lab, yes; on the default switch, by any of its objects, no. */
	ck_assert_msg(busctl_as(DAEMON, "/org/famez/switch/lab", "org.famez.Switch1", "SendMessage",
				"qsb", "1", "from-daemon", "false") == 0,
		      "%s", testlib_show(err));
	testlib_wait_for_output(alpha_out, "Z-switch@7: from-daemon", TESTLIB_WAIT_MS);
	ck_assert_int_ne(busctl_as(DAEMON, "/org/famez/switch/default", "org.famez.Switch1",
				   "SendMessage", "qsb", "1", "from-daemon", "false"),
			 0);
	ck_assert_int_ne(busctl_as(DAEMON, "/org/famez", "org.famez.Server1", "SendMessage", "qsb",
				   "1", "from-daemon", "false"),
			 0);
	ck_assert_int_ne(busctl_as(DAEMON, "/org/famez/peer/1", "org.famez.Peer1", "SendMessage",
				   "sb", "from-daemon", "false", NULL),
			 0);
	ck_assert_msg(testlib_file_contains(err, "org.famez.send-message needs authentication"),
		      "%s", testlib_show(err));
	/* Root's message to beta comes after any of those would have: none came. */
	assert_ctl(0, ROOT, "send", "1", "from-root", NULL);
	testlib_wait_for_output(beta_out, "Z-switch@15: from-root", TESTLIB_WAIT_MS);
	ck_assert_msg(!testlib_file_contains(beta_out, "from-daemon"), "%s",
		      testlib_show(beta_out));
	ck_assert_msg(!testlib_file_contains(alpha_out, "from-nobody"), "%s",
		      testlib_show(alpha_out));
	famezd_stop(&famezd);
}
END_TEST

/* The text of file from the first from_text on, up to the first until_text after it (not with it).
 */
static char *section_of(const char *file, const char *from_text, const char *until_text)
{
	char *all = testlib_read_file(file), *from, *until, *section;

	ck_assert_ptr_nonnull(all);
	from = strstr(all, from_text);
	ck_assert_msg(from, "no \"%s\" in %s", from_text, all);
	until = until_text ? strstr(from + strlen(from_text), until_text) : NULL;
	section = strndup(from, until ? (size_t)(until - from) : strlen(from));
	free(all);
	return section;
}

/* famezctl's status, switches, --switch and JSON with two switches. */
START_TEST(test_famezctl_shows_every_switch)
{
	char alpha_out[256], beta_out[256], *section, *json;

	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, beta_out);

	/* One section per switch, each with its own peers. */
	ASSERT_CTL(0, ROOT, "status");
	ck_assert_msg(testlib_file_contains(out, "famezd " FAMEZ_VERSION ", 2 switches\n"), "%s",
		      testlib_show(out));
	section = section_of(out, "\nSwitch default, fabric mode, SID 27\n", "\nSwitch lab");
	ck_assert_msg(strstr(section, famezd.socket_path) && strstr(section, " beta ") &&
			      !strstr(section, " alpha "),
		      "%s", section);
	free(section);
	section = section_of(out, "\nSwitch lab, fabric mode, SID 28\n", NULL);
	ck_assert_msg(strstr(section, lab_socket) && strstr(section, " alpha ") &&
			      !strstr(section, " beta ") && strstr(section, "Peers: 1 of 6"),
		      "%s", section);
	free(section);

	/* One switch, named after the command or before it. */
	ASSERT_CTL(0, ROOT, "status", "--switch", "lab");
	ck_assert_msg(testlib_file_contains(out, "Switch lab, fabric mode") &&
			      testlib_file_contains(out, " alpha ") &&
			      !testlib_file_contains(out, " beta ") &&
			      !testlib_file_contains(out, "Switch default"),
		      "%s", testlib_show(out));
	ASSERT_CTL(0, ROOT, "--switch=lab", "peers");
	ck_assert_msg(testlib_file_contains(out, " alpha ") &&
			      !testlib_file_contains(out, " beta "),
		      "%s", testlib_show(out));
	ASSERT_CTL(0, ROOT, "peers");
	ck_assert_msg(testlib_file_contains(out, " beta ") &&
			      !testlib_file_contains(out, " alpha "),
		      "%s", testlib_show(out));

	/* JSON: the default switch's fields at the top, as with one switch, and every switch. */
	ASSERT_CTL(0, ROOT, "status", "--json");
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json), "not JSON: %s", json);
	ck_assert_msg(strncmp(json, "{\"name\":\"default\",", 18) == 0, "%s", json);
	ck_assert_msg(strstr(json, "\"peers\":[{\"id\":1,\"path\":\"/org/famez/peer/1\","), "%s",
		      json);
	free(json);
	section = section_of(out, "\"switches\":[{\"name\":\"default\",", ",{\"name\":\"lab\",");
	ck_assert_msg(strstr(section, "\"nodename\":\"beta\"") && strstr(section, "\"sid\":27,"),
		      "%s", section);
	free(section);
	section = section_of(out, ",{\"name\":\"lab\",", NULL);
	ck_assert_msg(strstr(section, "\"nodename\":\"alpha\"") && strstr(section, "\"sid\":28,") &&
			      !strstr(section, "\"nodename\":\"beta\""),
		      "%s", section);
	free(section);
	ASSERT_CTL(0, ROOT, "--json", "--switch", "lab", "status");
	ck_assert_msg(testlib_file_contains(out, "{\"name\":\"lab\",") &&
			      testlib_count(out, "\"name\":") == 2 &&
			      !testlib_file_contains(out, "\"nodename\":\"beta\""),
		      "%s", testlib_show(out));

	/* The switches, as a table and as JSON. */
	ASSERT_CTL(0, ROOT, "switches");
	section = section_of(out, "\ndefault ", "\n");
	ck_assert_msg(strstr(section, " fabric ") && strstr(section, " 27 ") &&
			      strstr(section, " 1/14 ") && strstr(section, famezd.socket_path),
		      "%s", section);
	free(section);
	section = section_of(out, "\nlab ", "\n");
	ck_assert_msg(strstr(section, " 28 ") && strstr(section, lab_socket), "%s", section);
	free(section);
	ASSERT_CTL(0, ROOT, "--json", "switches");
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json), "not JSON: %s", json);
	ck_assert_msg(
		strstr(json, "[{\"name\":\"default\",\"path\":\"/org/famez/switch/default\","
			     "\"mode\":\"fabric\",\"sid\":27,") &&
			strstr(json, "},{\"name\":\"lab\",\"path\":\"/org/famez/switch/lab\","),
		"%s", json);
	free(json);

	/* A switch famezd does not have, and a name no switch can have. */
	ASSERT_CTL(6, ROOT, "--switch", "nope", "status");
	ck_assert_msg(testlib_file_contains(err, "famezd has no switch 'nope'"), "%s",
		      testlib_show(err));
	ASSERT_CTL(6, ROOT, "send", "--switch", "nope", "1", "hello");
	ASSERT_CTL(2, ROOT, "--switch", "no/such", "status");
	famezd_stop(&famezd);
}
END_TEST

/* Every command about a peer acts on the switch --switch names. */
START_TEST(test_famezctl_acts_on_the_switch_named)
{
	char alpha_out[256], beta_out[256];
	pid_t alpha;
	int status;

	alpha = start_two_switches(
		"alpha", "wait-int 0 1 " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, beta_out);

	ASSERT_CTL(0, ROOT, "--switch", "lab", "send-interrupt", "1", "0");
	testlib_wait_for_output(alpha_out, "interrupt vector 0 count 1", TESTLIB_WAIT_MS);
	ASSERT_CTL(0, ROOT, "send", "--switch", "lab", "1", "hello", "lab");
	testlib_wait_for_output(alpha_out, "Z-switch@7: hello lab", TESTLIB_WAIT_MS);
	ASSERT_CTL(0, ROOT, "ping", "1", "--switch=lab", "-c", "2");
	ck_assert_uint_eq(testlib_count(out, "pong from peer 1: time="), 2);
	ck_assert_uint_eq(testlib_count(alpha_out, "Z-switch@7: ping"), 2);
	/* "--" ends the options: the rest is the message. */
	ASSERT_CTL(0, ROOT, "send", "--switch", "lab", "--", "1", "--json");
	testlib_wait_for_output(alpha_out, "Z-switch@7: --json", TESTLIB_WAIT_MS);
	/* nobody is denied on lab as everywhere. */
	ASSERT_CTL(4, NOBODY, "--switch", "lab", "send", "1", "from-nobody");
	ck_assert_msg(testlib_file_contains(err, "org.famez.send-message needs authentication"),
		      "%s", testlib_show(err));
	/* Root's message to beta comes after anything that went to the wrong peer. */
	ASSERT_CTL(0, ROOT, "send", "1", "for-beta");
	testlib_wait_for_output(beta_out, "Z-switch@15: for-beta", TESTLIB_WAIT_MS);
	ck_assert_msg(!testlib_file_contains(beta_out, "hello lab") &&
			      !testlib_file_contains(beta_out, "ping"),
		      "%s", testlib_show(beta_out));

	ASSERT_CTL(0, ROOT, "disconnect", "--switch", "lab", "1");
	status = testlib_wait(alpha, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "alpha: 0x%x", status);
	ASSERT_CTL(5, ROOT, "--switch", "lab", "send-interrupt", "1", "0");
	/* beta, peer 1 of the default switch, is still there. */
	ASSERT_CTL(0, ROOT, "ping", "1");
	famezd_stop(&famezd);
}
END_TEST

/*
 * famezctl monitor hears every switch and says which; what lab's guests write goes to root,
 * not to other users (the policy covers Switch1 as it does Server1).
 */
START_TEST(test_monitor_hears_every_switch_and_text_stays_root_only)
{
	char alpha_out[256], root_out[256], nobody_out[256], talker_out[256];

	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	start_monitors(root_out, nobody_out);

	famez_client_run(lab_socket, "talker", "send server lab-secret-7", talker_out,
			 sizeof(talker_out));
	testlib_wait_for_output(
		root_out,
		"{\"event\":\"MessageReceived\",\"peer\":2,\"text\":\"lab-secret-7\","
		"\"switch\":\"lab\"}",
		TESTLIB_WAIT_MS);
	testlib_wait_for_output(root_out,
				"{\"event\":\"PeerDisconnected\",\"peer\":2,"
				"\"path\":\"/org/famez/switch/lab/peer/2\",",
				TESTLIB_WAIT_MS);
	/* The departure comes after the text: once nobody has it, the text is not coming. */
	testlib_wait_for_output(nobody_out,
				"\"reason\":\"closed the connection\",\"switch\":\"lab\"}",
				TESTLIB_WAIT_MS);
	ck_assert_msg(!testlib_file_contains(nobody_out, "lab-secret-7"), "%s",
		      testlib_show(nobody_out));
	/* The default switch's events come once, from Server1, with the paths they always had. */
	start_peer_on(famezd.socket_path, "beta", "sleep " TESTLIB_LIFETIME_S, talker_out);
	testlib_wait_for_output(
		root_out,
		"{\"event\":\"PeerConnected\",\"peer\":1,\"path\":\"/org/famez/peer/1\","
		"\"switch\":\"default\"}",
		TESTLIB_WAIT_MS);
	/* Its answer to the server comes after: a PeerConnected from Switch1 would be in. */
	testlib_wait_for_output(root_out, "{\"event\":\"MessageReceived\",\"peer\":1,",
				TESTLIB_WAIT_MS);
	ck_assert_uint_eq(testlib_count(root_out, "{\"event\":\"PeerConnected\",\"peer\":1,"), 1);
	famezd_stop(&famezd);
}
END_TEST

/* famez-virt with args (NULL-terminated, at most 8); stdout in out, stderr in err; its status. */
static int famez_virt(const char *const args[])
{
	const char *argv[10] = { getenv("FAMEZ_VIRT") };
	int n = 1;

	ck_assert_msg(argv[0], "FAMEZ_VIRT is not set; run the tests through meson test");
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(n, 9);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/virt.out", testlib_tmpdir());
	snprintf(err, sizeof(err), "%s/virt.err", testlib_tmpdir());
	return testlib_run((char *const *)argv, out, err, TESTLIB_WAIT_MS);
}

/* famez-virt --switch takes the socket and vectors of the switch named, from famezd on the bus. */
START_TEST(test_famez_virt_takes_the_switch_named)
{
	char alpha_out[256], domain[256], want[512];
	FILE *f;

	start_two_switches("alpha", "sleep " TESTLIB_LIFETIME_S, alpha_out);
	snprintf(domain, sizeof(domain), "%s/dom.xml", testlib_tmpdir());
	f = fopen(domain, "we");
	ck_assert_ptr_nonnull(f);
	fputs("<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory>"
	      "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_msg(famez_virt((const char *const[]){ "-v", "inject", domain, "--switch", "lab",
							NULL }) == 0,
		      "%s", testlib_show(err));
	snprintf(want, sizeof(want), "path=%s\"", lab_socket);
	ck_assert_msg(testlib_file_contains(out, want) && testlib_file_contains(out, ",vectors=8,"),
		      "%s", testlib_show(out));
	ck_assert_msg(testlib_file_contains(err, "(from the switch of famezd on the system bus)"),
		      "%s", testlib_show(err));
	/* Without --switch, the default switch's, as always. */
	ck_assert_int_eq(famez_virt((const char *const[]){ "inject", domain, NULL }), 0);
	snprintf(want, sizeof(want), "path=%s\"", famezd.socket_path);
	ck_assert_msg(testlib_file_contains(out, want) &&
			      testlib_file_contains(out, ",vectors=16,"),
		      "%s", testlib_show(out));
	/* A switch famezd does not have is an error, not the built-in defaults. */
	ck_assert_int_eq(
		famez_virt((const char *const[]){ "inject", "--switch", "nope", domain, NULL }), 1);
	ck_assert_msg(testlib_file_contains(err, "cannot read switch nope from famezd") &&
			      testlib_file_contains(err, "famezd has no such switch"),
		      "%s", testlib_show(err));
	famezd_stop(&famezd);
}
END_TEST

/* ---- the fabric of linked switches ---- */

/*
 * famezd with the switches of docs/switches.md's example, "Three switches in a line": a (14
 * clients) and b (30) in subnet 28, c (14) in 29, a - b - c, b declaring both links; the
 * default switch (subnet 27) on its own. A famez-client on each of a, b and c: alpha, beta,
 * gamma, each peer 1 of its switch.
 */
static void start_linked_switches(void)
{
	static const char *const files[][2] = {
		{ "a", "SID=28\nLink=16:b:32\n" },
		{ "b", "SID=28\nMaxPeers=30\nLink=32:a:16\nLink=33:c:16\n" },
		{ "c", "SID=29\n" },
	};
	static const char *const peers[] = { "alpha", "beta", "gamma" };
	char dir[256], conf[300], socket[300], peer_out[300];

	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		FILE *f;

		snprintf(conf, sizeof(conf), "%s/%s.conf", dir, files[i][0]);
		f = fopen(conf, "we");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "[Switch]\nSocket=%s/%s.sock\n%s", testlib_tmpdir(), files[i][0],
			files[i][1]);
		ck_assert_int_eq(fclose(f), 0);
	}
	famezd_start(&famezd,
		     (const char *const[]){ "--bus", "system", "--switches-dir", dir, NULL });
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		snprintf(socket, sizeof(socket), "%s/%s.sock", testlib_tmpdir(), files[i][0]);
		testlib_wait_for_path(socket, TESTLIB_WAIT_MS);
		snprintf(peer_out, sizeof(peer_out), "%s/%s.out", testlib_tmpdir(), peers[i]);
		start_peer_on(socket, peers[i], "sleep " TESTLIB_LIFETIME_S, peer_out);
	}
	testlib_wait_for_output(famezd.log_path, "owning org.famez on the system bus",
				TESTLIB_WAIT_MS);
}

static const char *a_socket(void)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/a.sock", testlib_tmpdir());
	return path;
}

static const char *c_socket(void)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/c.sock", testlib_tmpdir());
	return path;
}

/*
 * GetTopology's answer, a line each: "N id|name|cclass|switch|cid|sid|configured" for the
 * nodes, "L source|target|source port|target port|up" for the links.
 */
static char *topology_lines(sd_bus *bus, size_t *n_nodes, size_t *n_links)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *id, *name, *cclass, *sw, *manager, *source, *target;
	uint16_t cid, sid, source_port, target_port;
	int configured, up, r;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(sd_bus_call_method(bus, "org.famez", "/org/famez", "org.famez.Server1",
					 "GetTopology", &e, &reply, NULL) >= 0,
		      "GetTopology: %s", e.message);
	*n_nodes = *n_links = 0;
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ssssqqbs)"), 0);
	while ((r = sd_bus_message_read(reply, "(ssssqqbs)", &id, &name, &cclass, &sw, &cid, &sid,
					&configured, &manager)) > 0) {
		fprintf(f, "N %s|%s|%s|%s|%u|%u|%d|%s\n", id, name, cclass, sw, cid, sid,
			configured, manager);
		(*n_nodes)++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ssqqb)"), 0);
	while ((r = sd_bus_message_read(reply, "(ssqqb)", &source, &target, &source_port,
					&target_port, &up)) > 0) {
		fprintf(f, "L %s|%s|%u|%u|%d\n", source, target, source_port, target_port, up);
		(*n_links)++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* Every switch, every peer and every link once, with the CIDs of docs/switches.md. */
START_TEST(test_topology_lists_every_switch_peer_and_link)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	static const char *const want[] = {
		"N default|default|FabricSwitch|default|1500|27|1|famezd\n",
		"N a|a|FabricSwitch|a|1500|28|1|famezd\n",
		"N a:1|alpha|Debugger|a|100|28|",
		"N b|b|FabricSwitch|b|2544|28|1|famezd\n",
		"N b:1|beta|Debugger|b|2064|28|",
		"N c|c|FabricSwitch|c|1500|29|1|famezd\n",
		"N c:1|gamma|Debugger|c|100|29|",
		"L a|b|16|32|1\n",
		"L b|c|33|16|1\n",
		"L a|a:1|1|0|1\n",
		"L b|b:1|1|0|1\n",
		"L c|c:1|1|0|1\n",
	};
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *kind, *peer_switch;
	uint64_t relayed, dropped, refused;
	uint16_t port, peer_port;
	size_t n_nodes, n_links;
	char *lines;
	sd_bus *bus;
	int up;

	start_linked_switches();
	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	lines = topology_lines(bus, &n_nodes, &n_links);
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_msg(strstr(lines, want[i]), "no \"%s\" in:\n%s", want[i], lines);
	ck_assert_msg(n_nodes == 7 && n_links == 5, "%s", lines);
	free(lines);

	/* b's ports: its peer's, then its two links, with what crossed them (nothing yet). */
	ck_assert_int_ge(sd_bus_get_property(bus, "org.famez", "/org/famez/switch/b",
					     "org.famez.Switch1", "Ports", &e, &reply,
					     "a(qssqbttt)"),
			 0);
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(qssqbttt)"), 0);
	ck_assert_int_gt(sd_bus_message_read(reply, "(qssqbttt)", &port, &kind, &peer_switch,
					     &peer_port, &up, &relayed, &dropped, &refused),
			 0);
	ck_assert(port == 1 && strcmp(kind, "client") == 0 && !*peer_switch && up);
	ck_assert_int_gt(sd_bus_message_read(reply, "(qssqbttt)", &port, &kind, &peer_switch,
					     &peer_port, &up, &relayed, &dropped, &refused),
			 0);
	ck_assert(port == 32 && strcmp(kind, "link") == 0 && strcmp(peer_switch, "a") == 0 &&
		  peer_port == 16 && up && relayed == 0 && dropped == 0 && refused == 0);
	ck_assert_int_gt(sd_bus_message_read(reply, "(qssqbttt)", &port, &kind, &peer_switch,
					     &peer_port, &up, &relayed, &dropped, &refused),
			 0);
	ck_assert(port == 33 && strcmp(peer_switch, "c") == 0 && peer_port == 16);
	ck_assert_int_gt(sd_bus_message_at_end(reply, false), 0);
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/switch/b", "org.famez.Switch1", "RelaysRefused"), 0);
	sd_bus_flush_close_unref(bus);
	famezd_stop(&famezd);
}
END_TEST

/* The counters of port `port` of switch `sw` (its Ports property): relayed, dropped, refused. */
static void port_counters(sd_bus *bus, const char *sw, uint16_t port, uint64_t counts[3])
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char path[128];
	const char *kind, *peer_switch;
	uint16_t p, peer_port;
	int up, r;

	snprintf(path, sizeof(path), "/org/famez/switch/%s", sw);
	ck_assert_int_ge(sd_bus_get_property(bus, "org.famez", path, "org.famez.Switch1", "Ports",
					     &e, &reply, "a(qssqbttt)"),
			 0);
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(qssqbttt)"), 0);
	while ((r = sd_bus_message_read(reply, "(qssqbttt)", &p, &kind, &peer_switch, &peer_port,
					&up, &counts[0], &counts[1], &counts[2])) > 0)
		if (p == port)
			return;
	ck_abort_msg("switch %s has no port %u", sw, port);
}

/*
 * A routed message from a to c and one to nobody on c: every switch and port on the way counts
 * what crossed it, c what it refused, on D-Bus and in famezctl status.
 */
START_TEST(test_relays_are_counted_per_switch_and_port)
{
	char delta_out[300], epsilon_out[300], status_out[300], status_err[300];
	uint64_t counts[3];
	pid_t epsilon;
	sd_bus *bus;

	start_linked_switches();
	/* delta: peer 2 of c, configured: CID 200,29. */
	snprintf(delta_out, sizeof(delta_out), "%s/delta.out", testlib_tmpdir());
	start_peer_on(c_socket(), "delta", "rfc 5; sleep " TESTLIB_LIFETIME_S, delta_out);
	testlib_wait_for_output(delta_out, "configured SID 29 CID 200", TESTLIB_WAIT_MS);
	snprintf(epsilon_out, sizeof(epsilon_out), "%s/epsilon.out", testlib_tmpdir());
	epsilon = famez_client_start_as(a_socket(), "epsilon", "epsilon",
					"rfc 5; send 200,29 counted; send 300,29 nobody",
					epsilon_out, 256);
	ck_assert_int_ne(testlib_wait(epsilon, 2 * TESTLIB_WAIT_MS), 0);
	ck_assert_msg(testlib_file_contains(epsilon_out, "cannot reach 300,29: unreachable"), "%s",
		      testlib_show(epsilon_out));
	testlib_wait_for_output(delta_out, "200,28: counted", TESTLIB_WAIT_MS);

	ck_assert_int_eq(sd_bus_open_system(&bus), 0);
	/* a -> port 16 -> b (ingress 32) -> port 33 -> c (ingress 16) -> port 2: delta. */
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/switch/a", "org.famez.Switch1", "RelaysRouted"), 1);
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/switch/b", "org.famez.Switch1", "RelaysRouted"), 1);
	ck_assert_uint_eq(
		u64_property(bus, "/org/famez/switch/c", "org.famez.Switch1", "RelaysRefused"), 1);
	port_counters(bus, "a", 16, counts);
	ck_assert(counts[0] == 1 && counts[1] == 0 && counts[2] == 0);
	port_counters(bus, "b", 33, counts);
	ck_assert(counts[0] == 1 && counts[2] == 0);
	port_counters(bus, "c", 16, counts);
	ck_assert_uint_eq(counts[2], 1);
	port_counters(bus, "c", 2, counts);
	ck_assert_uint_eq(counts[0], 1);
	sd_bus_flush_close_unref(bus);

	snprintf(status_out, sizeof(status_out), "%s/status.out", testlib_tmpdir());
	snprintf(status_err, sizeof(status_err), "%s/status.err", testlib_tmpdir());
	ck_assert_int_eq(
		testlib_run((char *const[]){ getenv("FAMEZCTL"), "status", "--switch", "c", NULL },
			    status_out, status_err, TESTLIB_WAIT_MS),
		0);
	ck_assert_msg(testlib_file_contains(status_out, "Relays: 1 routed, 0 dropped, 1 refused"),
		      "%s", testlib_show(status_out));
	famezd_stop(&famezd);
}
END_TEST

/* famezctl topology: the tree, JSON in FAME-Z's viewer's shape, and a graph dot can draw. */
START_TEST(test_famezctl_shows_the_topology)
{
	const char *dot[] = { "/usr/bin/dot", "-Tsvg", NULL, "-o", NULL, NULL };
	static const char *const drawn[] = {
		">alpha</text>",
		">beta</text>",
		">gamma</text>",
		"<title>a&#45;&#45;b</title>",
		"<title>b&#45;&#45;c</title>",
		"<title>a&#45;&#45;a:1</title>",
		"<title>b&#45;&#45;b:1</title>",
		"<title>c&#45;&#45;c:1</title>",
	};
	char gv[256], svg[256], *section, *json;

	start_linked_switches();
	ASSERT_CTL(0, NOBODY, "topology");
	ck_assert_msg(testlib_file_contains(out, "Fabric: 4 switches, 2 links between them, 3 "
						 "peers\n"),
		      "%s", testlib_show(out));
	section = section_of(out, "\nSwitch b: SID 28, CID 2544, configured by famezd\n", "\n\n");
	ck_assert_msg(strstr(section, "\n  port 1: beta, Debugger, CID 2064, SID 28, ") &&
			      strstr(section, "\n  port 32 -> a:16 up\n  port 33 -> c:16 up"),
		      "%s", section);
	free(section);
	ck_assert_msg(testlib_file_contains(out, "\n  port 16 -> b:33 up\n"), "%s",
		      testlib_show(out));

	ASSERT_CTL(0, ROOT, "topology", "--json");
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json), "not JSON: %s", json);
	/* The document starts with the default switch. */
	ck_assert_msg(strstr(json, "{\"nodes\":[{\"id\":\"default\",\"name\":\"default\","
				   "\"cclass\":\"FabricSwitch\",\"cid\":1500,\"sid\":27,"
				   "\"switch\":\"default\",\"configured\":true,"
				   "\"manager\":\"famezd\"},") == json &&
			      strstr(json,
				     "{\"id\":\"b:1\",\"name\":\"beta\",\"cclass\":"
				     "\"Debugger\",\"cid\":2064,\"sid\":28,\"switch\":\"b\",") &&
			      strstr(json, "],\"links\":[{\"source\":\"a\",\"target\":\"b\","
					   "\"ports\":[16,32],\"up\":true},") &&
			      strstr(json, "{\"source\":\"c\",\"target\":\"c:1\",\"ports\":[1,0],"
					   "\"up\":true}]}"),
		      "%s", json);
	free(json);

	/* Graphviz draws it: every peer and every link is in the picture. */
	ck_assert_msg(access(dot[0], X_OK) == 0,
		      "no %s: install graphviz (tools/deps.sh --test installs it)", dot[0]);
	ASSERT_CTL(0, ROOT, "topology", "--dot");
	snprintf(gv, sizeof(gv), "%s/fabric.gv", testlib_tmpdir());
	snprintf(svg, sizeof(svg), "%s/fabric.svg", testlib_tmpdir());
	ck_assert_int_eq(rename(out, gv), 0);
	dot[2] = gv;
	dot[4] = svg;
	ck_assert_msg(testlib_run((char *const *)dot, NULL, err, TESTLIB_WAIT_MS) == 0, "%s",
		      testlib_show(err));
	for (size_t i = 0; i < ELEMENTSOF(drawn); i++)
		ck_assert_msg(testlib_file_contains(svg, drawn[i]), "no %s in the SVG of %s",
			      drawn[i], testlib_show(gv));
	/* --dot is topology's only. */
	ASSERT_CTL(2, ROOT, "status", "--dot");
	famezd_stop(&famezd);
}
END_TEST

/* famezctl routes: a's way to b's CIDs and to c's subnet both go by port 16, its link to b. */
START_TEST(test_famezctl_shows_the_routes)
{
	char *section, *json;

	start_linked_switches();
	ASSERT_CTL(0, NOBODY, "routes");
	section = section_of(out, "Switch a: SID 28\n", "\n\n");
	ck_assert_msg(strstr(section,
			     "  LPRT, ingress ports 1-16:\n"
			     "    CID 100..1400 every 100 -> port 1..14, one each (hops 0)\n"
			     "    CID 2064..2544 -> port 16 (hops 1)\n"
			     "  MPRT, ingress ports 1-16:\n"
			     "    SID 29 -> port 16 (hops 2)"),
		      "%s", section);
	free(section);
	section = section_of(out, "\nSwitch b: SID 28\n", "\n\n");
	ck_assert_msg(strstr(section,
			     "    CID 100..1500 -> port 32 (hops 1)\n"
			     "    CID 2064..2528 every 16 -> port 1..30, one each (hops 0)\n") &&
			      strstr(section, "    SID 29 -> port 33 (hops 1)"),
		      "%s", section);
	free(section);
	ck_assert_msg(testlib_file_contains(out, "Switch default: SID 27\n") &&
			      testlib_file_contains(out, "  MPRT: no routes\n"),
		      "%s", testlib_show(out));

	ASSERT_CTL(0, ROOT, "routes", "--switch", "c", "--json");
	json = testlib_read_file(out);
	ck_assert_msg(testlib_json_valid(json) &&
			      strstr(json, "[{\"switch\":\"c\",\"sid\":29,") == json &&
			      strstr(json, "{\"table\":\"MPRT\",\"ingress\":[1,2,3,4,5,6,7,8,9,10,"
					   "11,12,13,14,15,16],\"first\":28,\"last\":28,"
					   "\"egress\":16,\"hops\":1}]}]"),
		      "%s", json);
	free(json);
	ASSERT_CTL(6, ROOT, "routes", "--switch", "nope");
	famezd_stop(&famezd);
}
END_TEST

/* SetLinkState: polkit decides; a link taken down takes the routes beyond it away, and back. */
START_TEST(test_a_link_taken_down_and_up)
{
	char *section;

	start_linked_switches();
	ASSERT_CTL(4, NOBODY, "set-link", "33", "down", "--switch", "b");
	ck_assert_msg(testlib_file_contains(err, "org.famez.set-link-state"), "%s",
		      testlib_show(err));
	ASSERT_CTL(1, ROOT, "set-link", "34", "down", "--switch", "b");
	ck_assert_msg(testlib_file_contains(err, "switch b has no link on port 34"), "%s",
		      testlib_show(err));
	ASSERT_CTL(6, ROOT, "set-link", "33", "down", "--switch", "nope");
	ASSERT_CTL(2, ROOT, "set-link", "33", "sideways");

	/* Either end names the link; both ends see it down. */
	ASSERT_CTL(0, ROOT, "set-link", "16", "down", "--switch", "c");
	ck_assert(testlib_file_contains(
		famezd.log_path, "switch c: link 16 to b:33 taken down by an administrator"));
	ASSERT_CTL(0, ROOT, "topology");
	ck_assert_msg(testlib_file_contains(out, "  port 33 -> c:16 down\n") &&
			      testlib_file_contains(out, "  port 16 -> b:33 down\n"),
		      "%s", testlib_show(out));
	ASSERT_CTL(0, ROOT, "routes", "--switch", "a");
	section = section_of(out, "Switch a: SID 28\n", NULL);
	ck_assert_msg(strstr(section, "  MPRT: no routes\n"), "%s", section);
	free(section);

	ASSERT_CTL(0, ROOT, "set-link", "33", "up", "--switch", "b");
	ASSERT_CTL(0, ROOT, "routes", "--switch", "a");
	ck_assert_msg(testlib_file_contains(out, "    SID 29 -> port 16 (hops 2)\n"), "%s",
		      testlib_show(out));
	famezd_stop(&famezd);
}
END_TEST

/* A switch's control space on the bus: famezctl control shows it, control-write and route
 * write it (polkit decides), and a route entry cleared stops that ingress port alone. */
START_TEST(test_control_space_over_the_bus)
{
	char theta_out[300], eta_out[300], zeta_out[300], iota_out[300], b_socket[300], *section;
	pid_t eta, zeta;

	start_linked_switches();
	ASSERT_CTL(0, NOBODY, "control", "--switch", "a");
	/* a is C-Up with CID 1500 (0x5dc); its port 16 leads to b's port 32, CID 2544, SID 28. */
	section = section_of(out, "core@0x0 (type 0x0, 512 bytes)\n", "component_switch@");
	ck_assert_msg(strstr(section, "  CState=0x2\n") && strstr(section, "  BaseCClass=0x5\n") &&
			      strstr(section, "  CV=0x1\n") && strstr(section, "  CID0=0x5dc\n") &&
			      strstr(section, "  SID0=0x1c\n"),
		      "%s", section);
	free(section);
	ck_assert_msg(testlib_file_contains(out, "component_switch@0x200 (type 0x7, 112 bytes)\n"),
		      "%s", testlib_show(out));
	ASSERT_CTL(0, NOBODY, "control", "interface16", "--switch", "a");
	ck_assert_msg(testlib_file_contains(out, "interface16@0x3000 (type 0x2, 176 bytes)\n") &&
			      testlib_file_contains(out, "  IState=0x2\n") &&
			      testlib_file_contains(out, "  PeerInterfaceID=0x20\n") &&
			      testlib_file_contains(out, "  PeerBaseCClass=0x5\n") &&
			      testlib_file_contains(out, "  PeerCID=0x9f0\n") &&
			      testlib_file_contains(out, "  PeerSID=0x1c\n"),
		      "%s", testlib_show(out));
	ASSERT_CTL(2, NOBODY, "control", "interface99", "--switch", "a");

	ASSERT_CTL(4, NOBODY, "control-write", "0xc0", "00", "--switch", "a");
	ck_assert_msg(testlib_file_contains(err, "org.famez.write-control"), "%s",
		      testlib_show(err));
	ASSERT_CTL(1, ROOT, "control-write", "0x18", "ff", "--switch", "a");
	ck_assert_msg(testlib_file_contains(err, "ReadOnly"), "%s", testlib_show(err));
	ASSERT_CTL(1, ROOT, "control-write", "0x1f8", "00000000000000000000", "--switch", "a");
	ck_assert_msg(testlib_file_contains(err, "OutOfRange"), "%s", testlib_show(err));
	ASSERT_CTL(2, ROOT, "control-write", "0x18", "f", "--switch", "a");

	/* Port 3 of a no longer routes to iota (b:2, 2080,28); port 2 still does. */
	ASSERT_CTL(4, NOBODY, "route", "3", "2080", "none", "--switch", "a");
	ASSERT_CTL(0, ROOT, "route", "3", "2080", "none", "--switch", "a");
	snprintf(b_socket, sizeof(b_socket), "%s/b.sock", testlib_tmpdir());
	snprintf(iota_out, sizeof(iota_out), "%s/iota.out", testlib_tmpdir());
	start_peer_on(b_socket, "iota", "rfc 5; sleep " TESTLIB_LIFETIME_S, iota_out);
	testlib_wait_for_output(iota_out, "configured SID 28 CID 2080", TESTLIB_WAIT_MS);
	snprintf(theta_out, sizeof(theta_out), "%s/theta.out", testlib_tmpdir());
	start_peer_on(a_socket(), "theta", "rfc 5; send 2080,28 through; sleep " TESTLIB_LIFETIME_S,
		      theta_out);
	testlib_wait_for_output(iota_out, "200,28: through", TESTLIB_WAIT_MS);
	snprintf(eta_out, sizeof(eta_out), "%s/eta.out", testlib_tmpdir());
	eta = famez_client_start_as(a_socket(), "eta", "eta", "rfc 5; send 2080,28 blocked",
				    eta_out, 256);
	ck_assert_int_ne(testlib_wait(eta, 2 * TESTLIB_WAIT_MS), 0);
	ck_assert_msg(testlib_file_contains(eta_out, "configured SID 28 CID 300") &&
			      testlib_file_contains(eta_out, "cannot reach 2080,28: no-route"),
		      "%s", testlib_show(eta_out));
	ASSERT_CTL(0, ROOT, "routes", "--switch", "a");
	ck_assert_msg(testlib_file_contains(out, "  LPRT, ingress port 3:\n"), "%s",
		      testlib_show(out));

	/* Written back, port 3 routes again. */
	ASSERT_CTL(0, ROOT, "route", "3", "2080", "16", "1", "--switch", "a");
	snprintf(zeta_out, sizeof(zeta_out), "%s/zeta.out", testlib_tmpdir());
	zeta = famez_client_start_as(a_socket(), "zeta", "zeta", "rfc 5; send 2080,28 again",
				     zeta_out, 256);
	ck_assert_int_eq(testlib_wait(zeta, 2 * TESTLIB_WAIT_MS), 0);
	testlib_wait_for_output(iota_out, "300,28: again", TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

/* Whether polkit's name is gone from the bus. */
static bool polkit_gone(void *data)
{
	const char *argv[] = { "/usr/bin/busctl", "--system", "status",
			       "org.freedesktop.PolicyKit1", NULL };

	(void)data;
	return testlib_run((char *const *)argv, NULL, NULL, TESTLIB_WAIT_MS) != 0;
}

/* Runs last: it stops polkitd for good. */
START_TEST(test_without_polkit_only_root_is_allowed)
{
	char alpha_out[256];

	start_famezd();
	start_alpha("wait-int 0 1 " TESTLIB_WAIT_S "; sleep " TESTLIB_LIFETIME_S, alpha_out);
	kill(atoi(getenv("FAMEZ_POLKITD_PID")), SIGKILL);
	testlib_wait_until(polkit_gone, NULL, TESTLIB_WAIT_MS, "polkit's name stayed on the bus");
	assert_ctl(4, NOBODY, "send-interrupt", "1", "0", NULL);
	ck_assert_msg(testlib_file_contains(err, "cannot ask polkit"), "%s", testlib_show(err));
	assert_ctl(0, ROOT, "send-interrupt", "1", "0", NULL);
	testlib_wait_for_output(alpha_out, "interrupt vector 0 count 1", TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

int main(int argc, char *argv[])
{
	Suite *s;
	TCase *tc;
	TCase *qemu;
	TCase *last;
	TCase *polkit;

	/* What test_vm_names_are_made_safe runs: its "-name" follows the socket. */
	if (argc >= 3 && strcmp(argv[1], "--hold-connection") == 0)
		return hold_connection(argv[2]);

	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") || !getenv("FAMEZ_POLKITD_PID")) {
		printf("run through bus-env.sh, which provides the bus and polkitd\n");
		return 77;
	}
	s = suite_create("dbus");
	tc = tcase_create("dbus");
	qemu = tcase_create("dbus-qemu");
	last = tcase_create("dbus-without-polkit");
	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_root_may_do_everything);
	tcase_add_test(tc, test_nobody_reads_but_is_denied_every_change);
	tcase_add_test(tc, test_polkit_rule_lets_a_group_through);
	tcase_add_test(tc, test_introspection_matches_the_installed_xml);
	tcase_add_test(tc, test_json_carries_the_table_values);
	tcase_add_test(tc, test_send_interrupt_to_a_full_counter);
	tcase_add_test(tc, test_vm_names_are_made_safe);
	tcase_add_test(tc, test_message_text_is_for_root_only);
	tcase_add_test(tc, test_what_a_peer_did_is_counted);
	tcase_add_test(tc, test_every_call_on_a_connection_is_checked);
	tcase_add_test(tc, test_message_length_limit_over_the_bus);
	tcase_add_test(tc, test_peer_objects_do_what_they_say);
	tcase_add_test(tc, test_every_switch_has_its_object_and_its_peers);
	tcase_add_test(tc, test_signals_and_messages_stay_on_their_switch);
	tcase_add_test(tc, test_polkit_decides_by_switch);
	tcase_add_test(tc, test_famezctl_shows_every_switch);
	tcase_add_test(tc, test_famezctl_acts_on_the_switch_named);
	tcase_add_test(tc, test_monitor_hears_every_switch_and_text_stays_root_only);
	tcase_add_test(tc, test_famez_virt_takes_the_switch_named);
	tcase_add_test(tc, test_topology_lists_every_switch_peer_and_link);
	tcase_add_test(tc, test_famezctl_shows_the_topology);
	tcase_add_test(tc, test_famezctl_shows_the_routes);
	tcase_add_test(tc, test_a_link_taken_down_and_up);
	tcase_add_test(tc, test_control_space_over_the_bus);
	tcase_add_test(tc, test_relays_are_counted_per_switch_and_port);
	suite_add_tcase(s, tc);
	polkit = tcase_create("dbus-polkit-questions");
	tcase_add_checked_fixture(polkit, testlib_setup, testlib_teardown);
	tcase_set_timeout(polkit, 120);
	tcase_add_test(polkit, test_polkit_questions_for_vanished_peers_are_freed);
	suite_add_tcase(s, polkit);
	tcase_add_checked_fixture(qemu, testlib_setup, teardown_vms);
	tcase_set_timeout(qemu, 600);
	tcase_add_test(qemu, test_qemu_rung_listed_and_watched);
	tcase_add_test(qemu, test_fabric_identities_in_the_mailbox_on_the_bus_and_in_famezctl);
	tcase_add_test(qemu, test_a_guest_bridge_is_listed_configured);
	suite_add_tcase(s, qemu);
	tcase_add_checked_fixture(last, testlib_setup, testlib_teardown);
	tcase_set_timeout(last, 60);
	tcase_add_test(last, test_without_polkit_only_root_is_allowed);
	suite_add_tcase(s, last);
	return testlib_run_suite(s);
}
