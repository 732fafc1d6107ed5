/* SPDX-License-Identifier: MIT */
/*
 * famez under a real systemd manager (systemd --user, through systemd-env.sh): socket
 * activation by the first QEMU, the bus name, the watchdog under load, and the unit checks
 * (systemd-analyze verify and the security exposure).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mailbox.h"
#include "qtest.h"
#include "testlib.h"
#include "userunit.h"

#define FABRIC_VECTORS 16
#define EXPOSURE_MAX 1.0

static QVm vms[4];

/*
 * The units as the test found them: stopped, not failed, without options. Check skips the
 * teardown of a test that failed, so each test also starts this way, whatever came before.
 */
static void reset_units(void)
{
	systemctl("stop", "famez.socket", "famez-switch@lab.socket", "famez.service");
	systemctl("reset-failed", "famez.service");
	userunit_set_options(NULL);
}

/* Each test starts with famezd's log empty, so that it reads what its own famezd said. */
static void setup(void)
{
	int fd;

	testlib_setup();
	reset_units();
	fd = open(getenv("FAMEZ_LOG"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	for (int i = 0; i < 4; i++)
		qvm_stop(&vms[i]);
	reset_units();
	testlib_teardown();
}

static void start_vm(int i)
{
	char name[8];

	snprintf(name, sizeof(name), "vm%d", i);
	ck_assert_msg(qvm_start(&vms[i], name, userunit_socket_path(), FABRIC_VECTORS) == 0,
		      "QEMU: %s", testlib_show(vms[i].log_path));
}

static bool service_active(void *data)
{
	(void)data;
	return userunit_is("active");
}

static bool bus_name_owned(void *data)
{
	(void)data;
	return userunit_run("/usr/bin/busctl", "--user", "status", "org.famez", NULL) == 0;
}

/* systemd has famezd's last status (it comes in its own time, as READY=1 does). */
static bool status_shows(void *status)
{
	return systemctl("status", "famez.service") == 0 &&
	       testlib_file_contains(userunit_out, status);
}

START_TEST(test_first_qemu_activates_the_service)
{
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	/* Listening, but nothing runs until a VM connects. */
	ck_assert(userunit_is("inactive"));
	ck_assert_int_eq(access(userunit_socket_path(), F_OK), 0);

	/*
	 * The VM is served by a famezd that systemd may not have seen ready yet: what systemd
	 * and the bus say is waited for.
	 */
	start_vm(0);
	ck_assert_uint_eq(qvm_ivposition(&vms[0]), 1);
	testlib_wait_until(service_active, NULL, TESTLIB_WAIT_MS, "famez.service is not active");
	testlib_wait_until(bus_name_owned, NULL, TESTLIB_WAIT_MS, "nobody owns org.famez");
	testlib_wait_until(status_shows, "1 peer connected", TESTLIB_WAIT_MS,
			   "famez.service's status does not show the VM");
}
END_TEST

START_TEST(test_watchdog_is_fed_under_load)
{
	const char *load = getenv("FAMEZ_LOAD");
	char *restarts, *pid, *pid_after;

	ck_assert_ptr_nonnull(load);
	userunit_set_options("--mode ivshmem --vectors 4");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	ck_assert_int_eq(systemctl("start", "famez.service"), 0);
	pid = userunit_property("MainPID");
	/*
	 * 500 peers x 4 vectors keep famezd busy for several seconds (more under the sanitizers),
	 * longer than the unit's 3 s watchdog; 1000 took more than the 60 s allowed on a slow day.
	 */
	ck_assert_msg(userunit_run(load, "-S", userunit_socket_path(), "--peers", "500",
				   "--vectors", "4", "bringup", NULL) == 0,
		      "%s", testlib_show(userunit_err));
	ck_assert_msg(testlib_file_contains(userunit_out, "messages_lost 0"), "%s",
		      testlib_show(userunit_out));
	ck_assert(userunit_is("active"));
	restarts = userunit_property("NRestarts");
	pid_after = userunit_property("MainPID");
	ck_assert_str_eq(restarts, "0");
	ck_assert_str_eq(pid_after, pid);
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "ivshmem mode"));
	free(restarts);
	free(pid);
	free(pid_after);
	userunit_set_options(NULL);
}
END_TEST

static uint64_t restart_usec; /* how long the last restart took, for the printed figure */

static const char *famezctl_path(void)
{
	return getenv("FAMEZCTL");
}

/* The interrupt count famez-client printed last for `vector`. */
static unsigned client_interrupts(const char *path, unsigned vector)
{
	char *text = testlib_read_file(path), needle[64], *p, *last = NULL;
	unsigned n = 0;

	snprintf(needle, sizeof(needle), "interrupt vector %u count ", vector);
	for (p = text; (p = strstr(p, needle)); p += strlen(needle))
		last = p;
	if (last)
		n = (unsigned)atoi(last + strlen(needle));
	free(text);
	return n;
}

static void assert_vm_rings_client(QVm *vm, const char *client_out, uint32_t client_id,
				   unsigned vector)
{
	unsigned before = client_interrupts(client_out, vector);
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	qvm_ring(vm, client_id, vector);
	while (client_interrupts(client_out, vector) <= before) {
		ck_assert_msg(testlib_now_usec() < deadline, "the client never saw vector %u: %s",
			      vector, testlib_show(client_out));
		usleep(2000);
	}
}

/* Everything a restart must leave working, checked after each one. */
static void assert_fabric_intact(const char *client_out, int round)
{
	char *json;
	uint64_t start = testlib_now_usec();

	/* The VMs still ring each other and the client... */
	qvm_assert_rings(&vms[0], &vms[1], 2, 1);
	if (round >= 0)
		printf("round %d: restart to first doorbell %.1f ms\n", round,
		       (double)(testlib_now_usec() - start + restart_usec) / 1000.0);
	qvm_assert_rings(&vms[1], &vms[0], 1, 2);
	assert_vm_rings_client(&vms[0], client_out, 3, 1);

	/* ...the API lists the same IDs and rings a VM for its caller... */
	ck_assert_int_eq(userunit_run(famezctl_path(), "--user", "--json", "peers", NULL), 0);
	json = testlib_read_file(userunit_out);
	ck_assert_msg(strstr(json, "\"id\":1,") && strstr(json, "\"id\":2,") &&
			      strstr(json, "\"id\":3,"),
		      "%s", json);
	free(json);
	ck_assert_int_eq(userunit_run(famezctl_path(), "--user", "send-interrupt", "1", "3", NULL),
			 0);
	ck_assert(qvm_wait_pending(&vms[0], 3, TESTLIB_WAIT_MS));

	/* ...and the server still answers in the mailbox. */
	ck_assert_int_eq(userunit_run(famezctl_path(), "--user", "ping", "3", NULL), 0);
}

static char *main_pid(void)
{
	return userunit_property("MainPID");
}

static pid_t client_pid;

static void start_fabric_with_client(char *client_out)
{
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	start_vm(0);
	start_vm(1);
	client_pid = famez_client_start_as(userunit_socket_path(), "watcher", "watcher",
					   "sleep " TESTLIB_LIFETIME_S, client_out, 256);
	testlib_wait_for_output(client_out, "connected id 3", TESTLIB_WAIT_MS);
	assert_fabric_intact(client_out, -1);
}

START_TEST(test_restarts_keep_vms_connected)
{
	char client_out[256];

	start_fabric_with_client(client_out);
	for (int round = 1; round <= 3; round++) {
		char *before = main_pid(), *after;
		uint64_t start = testlib_now_usec();

		userunit_restart();
		after = userunit_wait_new_main_pid(before);
		restart_usec = testlib_now_usec() - start;
		assert_fabric_intact(client_out, round);
		free(before);
		free(after);
	}
	/* A QEMU joining afterwards reaches them all and is reached. */
	start_vm(2);
	ck_assert_uint_eq(qvm_ivposition(&vms[2]), 4);
	qvm_assert_rings(&vms[2], &vms[0], 1, 4);
	qvm_assert_rings(&vms[0], &vms[2], 4, 1);
	assert_vm_rings_client(&vms[2], client_out, 3, 4);
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "restored 3 of 3 peers"));
}
END_TEST

START_TEST(test_crash_keeps_vms_connected)
{
	char client_out[256], *restarts;

	start_fabric_with_client(client_out);
	for (int round = 1; round <= 2; round++) {
		char *before = main_pid(), *after;
		uint64_t start = testlib_now_usec();

		ck_assert_int_eq(kill(atoi(before), SIGSEGV), 0);
		after = userunit_wait_new_main_pid(before);
		restart_usec = testlib_now_usec() - start;
		assert_fabric_intact(client_out, round);
		free(before);
		free(after);
	}
	restarts = userunit_property("NRestarts");
	ck_assert_str_eq(restarts, "2");
	free(restarts);
}
END_TEST

/* Whether famez.service's fd store holds fewer fds than `stored` (a string). */
static bool store_below(void *stored)
{
	char *now = userunit_property("NFileDescriptorStore");
	bool below = atoi(now) < atoi(stored);

	free(now);
	return below;
}

/*
 * A peer that closes its connection while no famezd runs (systemd drops the stored connection)
 * is announced as departed by the next famezd, and counted.
 */
START_TEST(test_peer_leaving_while_down_is_announced)
{
	char watcher_out[256], leaver_out[256], *pid, *after, *stored;
	pid_t leaver;

	userunit_set_options("--mode ivshmem --vectors 2");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	famez_client_start(userunit_socket_path(), "watcher", "sleep " TESTLIB_LIFETIME_S,
			   watcher_out, 256);
	testlib_wait_for_output(watcher_out, "connected id 0", TESTLIB_WAIT_MS);
	leaver = famez_client_start(userunit_socket_path(), "leaver", "sleep " TESTLIB_LIFETIME_S,
				    leaver_out, 256);
	testlib_wait_for_output(watcher_out, "peer 1 joined", TESTLIB_WAIT_MS);
	/* The state famezd saves after the join is there once the API lists the peer. */
	ck_assert_int_eq(userunit_run(famezctl_path(), "--user", "--json", "peers", NULL), 0);
	ck_assert_msg(testlib_file_contains(userunit_out, "\"id\":1,"), "%s",
		      testlib_show(userunit_out));

	/*
	 * Stopped once systemd has read all famezd sent about the join (it sends its status
	 * last), the store changes no more but for systemd dropping what hangs up.
	 */
	testlib_wait_until(status_shows, "2 peers connected", TESTLIB_WAIT_MS,
			   "famez.service's status does not show both peers");
	pid = main_pid();
	ck_assert_int_eq(kill(atoi(pid), SIGSTOP), 0);
	stored = userunit_property("NFileDescriptorStore");
	testlib_stop(leaver, TESTLIB_WAIT_MS);
	testlib_wait_until(store_below, stored, TESTLIB_WAIT_MS,
			   "systemd kept the connection that hung up");
	ck_assert_int_eq(kill(atoi(pid), SIGKILL), 0);
	after = userunit_wait_new_main_pid(pid);

	testlib_wait_for_output(watcher_out, "peer 1 left", TESTLIB_WAIT_MS);
	ck_assert(testlib_file_contains(
		getenv("FAMEZ_LOG"), "peer 1 closed its connection while famezd was not running"));
	ck_assert_int_eq(userunit_run(famezctl_path(), "--user", "--json", "status", NULL), 0);
	ck_assert_msg(testlib_file_contains(userunit_out, "\"peers_disconnected\":1,"), "%s",
		      testlib_show(userunit_out));
	free(pid);
	free(after);
	free(stored);
	userunit_set_options(NULL);
}
END_TEST

static bool has_messages(RawClient *c, void *data)
{
	return c->n_log >= *(size_t *)data;
}

static bool has_own_vectors(RawClient *c, void *data)
{
	(void)data;
	return c->state.self.n_vectors == 2;
}

/* Whether c has its own two eventfds and the two of the peer *data. */
static bool knows_both(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, *(uint16_t *)data);

	return c->state.self.n_vectors == 2 && p && p->n_vectors == 2;
}

/*
 * After a restart, famezd hands a newcomer the very eventfds a peer got before it: they were
 * kept in systemd's fd store (together, in one socket per peer), not made anew.
 */
START_TEST(test_restart_keeps_a_peers_eventfds)
{
	RawClient old, newcomer;
	uint16_t old_id;
	uint64_t one = 1, count = 0;
	struct pollfd pfd = { .events = POLLIN };
	char *pid, *after;

	userunit_set_options("--mode ivshmem --vectors 2");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	ck_assert_int_eq(raw_client_connect(&old, userunit_socket_path(), true), 0);
	ck_assert(raw_client_read_until(&old, has_own_vectors, NULL, TESTLIB_WAIT_MS));
	old_id = old.state.own_id;

	pid = main_pid();
	userunit_restart();
	after = userunit_wait_new_main_pid(pid);
	ck_assert_int_eq(raw_client_connect(&newcomer, userunit_socket_path(), true), 0);
	ck_assert(raw_client_read_until(&newcomer, knows_both, &old_id, TESTLIB_WAIT_MS));

	/* The newcomer rings the old peer's vector 1; the old peer's own eventfd sees it. */
	ck_assert_int_eq(write(client_state_peer(&newcomer.state, old_id)->fds[1], &one, 8), 8);
	pfd.fd = old.state.self.fds[1];
	ck_assert_int_eq(poll(&pfd, 1, TESTLIB_WAIT_MS), 1);
	ck_assert_int_eq(read(pfd.fd, &count, 8), 8);
	ck_assert_uint_eq(count, 1);
	raw_client_close(&newcomer);
	raw_client_close(&old);
	free(pid);
	free(after);
	userunit_set_options(NULL);
}
END_TEST

static bool knows_peer(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, *(uint16_t *)data);

	return p && p->n_vectors == 64 && c->state.self.n_vectors == 64;
}

/*
 * A restart keeps what slow peers have not read yet, including the eventfds of peers that left
 * in the meantime, in order, for each of them; it keeps the ID cursor, so that the next ID is
 * above every ID given before (IDs that left while nobody was connected included), and a QEMU
 * that saw IDs leave keeps running and ringing.
 */
START_TEST(test_restart_keeps_what_slow_peers_have_not_read)
{
	enum { VECTORS = 64, BEFORE = 20, SLOW = 3, PASSING = 100 };
	size_t want = 3 + VECTORS + (size_t)VECTORS * 1 /* the VM */, one = 1;
	uint64_t start, deadline, count;
	uint16_t first_passing = BEFORE + 1 + SLOW, vm_id = BEFORE, last_id;
	char *pid, *after, *stored;
	RawClient slow[SLOW], newcomer;

	userunit_set_options("--mode ivshmem --vectors 64");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	/* IDs 0..19 come and go with nobody there to see them leave. */
	for (int i = 0; i < BEFORE; i++) {
		RawClient x;

		ck_assert_int_eq(raw_client_connect(&x, userunit_socket_path(), false), 0);
		ck_assert(raw_client_read_until(&x, has_messages, &one, TESTLIB_WAIT_MS));
		raw_client_close(&x);
	}
	ck_assert_msg(qvm_start(&vms[0], "vm0", userunit_socket_path(), VECTORS) == 0, "QEMU: %s",
		      testlib_show(vms[0].log_path));
	ck_assert_uint_eq(qvm_ivposition(&vms[0]), vm_id);
	for (int i = 0; i < SLOW; i++) {
		ck_assert_int_eq(raw_client_connect(&slow[i], userunit_socket_path(), false), 0);
		ck_assert(raw_client_read_until(&slow[i], has_messages, &want, TESTLIB_WAIT_MS));
		want += VECTORS; /* the next one hears of this one too */
	}
	/* Each peer's 64 eventfds take one place in the store, not 64. */
	stored = userunit_property("NFileDescriptorStore");
	ck_assert_msg(atoi(stored) <= 2 + 2 * (1 + SLOW), "%s fds stored", stored);
	free(stored);
	/* Peers come and go while they read nothing: far more than their sockets hold. */
	for (int i = 0; i < PASSING; i++) {
		RawClient x;

		ck_assert_int_eq(raw_client_connect(&x, userunit_socket_path(), false), 0);
		ck_assert(raw_client_read_until(&x, has_messages, &one, TESTLIB_WAIT_MS));
		raw_client_close(&x);
	}
	last_id = first_passing + PASSING - 1;
	pid = main_pid();
	start = testlib_now_usec();
	userunit_restart();
	after = userunit_wait_new_main_pid(pid);
	/* A figure, not a limit: thousands of queued eventfds once cost systemd tens of seconds. */
	printf("restart with %d messages queued for each of %d peers: %.1f ms\n",
	       PASSING * (VECTORS + 1), SLOW, (double)(testlib_now_usec() - start) / 1000.0);

	for (int k = 0; k < SLOW; k++) {
		size_t total = slow[k].n_log + 0, fds[PASSING] = { 0 }, left[PASSING] = { 0 };
		size_t from;

		(void)total;
		/* Its handshake and the later slow peers' joins, then the passing ones. */
		from = 3 + (size_t)VECTORS * (2 + (size_t)k) + (size_t)VECTORS * (SLOW - 1 - k);
		want = from + (size_t)PASSING * (VECTORS + 1);
		ck_assert_msg(raw_client_read_until(&slow[k], has_messages, &want, TESTLIB_WAIT_MS),
			      "slow peer %d got %zu of %zu messages", k, slow[k].n_log, want);
		ck_assert(!slow[k].eof && !slow[k].error);
		for (size_t i = from; i < slow[k].n_log; i++) {
			int64_t id = slow[k].log[i].value - first_passing;

			ck_assert_msg(id >= 0 && id < PASSING, "slow peer %d message %zu: %lld", k,
				      i, (long long)slow[k].log[i].value);
			/* Its eventfds, then its departure. */
			if (slow[k].log[i].has_fd) {
				ck_assert_uint_eq(left[id], 0);
				fds[id]++;
			} else {
				ck_assert_uint_eq(fds[id], VECTORS);
				left[id]++;
			}
		}
		for (int id = 0; id < PASSING; id++)
			ck_assert_uint_eq(left[id], 1);
	}
	ck_assert(!testlib_file_contains(getenv("FAMEZ_LOG"), "disconnecting it"));

	/* The next ID is above every one given before the restart. */
	ck_assert_int_eq(raw_client_connect(&newcomer, userunit_socket_path(), true), 0);
	ck_assert(raw_client_read_until(&newcomer, knows_peer, &vm_id, TESTLIB_WAIT_MS));
	ck_assert_uint_eq(newcomer.state.own_id, last_id + 1);
	/* The VM is alive: it rings the newcomer (once it has heard of it) and is rung by it. */
	deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	do {
		qvm_ring(&vms[0], newcomer.state.own_id, 5);
		ck_assert_msg(testlib_now_usec() < deadline, "the VM never rang the newcomer");
	} while (poll(&(struct pollfd){ .fd = newcomer.state.self.fds[5], .events = POLLIN }, 1,
		      100) != 1);
	ck_assert_int_eq(read(newcomer.state.self.fds[5], &count, sizeof(count)), sizeof(count));
	ck_assert_int_eq(
		write(client_state_peer(&newcomer.state, vm_id)->fds[7], &(uint64_t){ 1 }, 8), 8);
	ck_assert(qvm_wait_pending(&vms[0], 7, TESTLIB_WAIT_MS));
	raw_client_close(&newcomer);
	for (int k = 0; k < SLOW; k++)
		raw_client_close(&slow[k]);
	free(pid);
	free(after);
}
END_TEST

/* Whether the API lists peer 1 as configured with the SID *data (a string). */
static bool peer_1_configured_with(void *sid)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"link_state\":\"configured\",\"cid\":100,\"sid\":%s,",
		 (const char *)sid);
	return userunit_run(famezctl_path(), "--user", "--json", "status", NULL) == 0 &&
	       testlib_file_contains(userunit_out, "\"id\":1,") &&
	       testlib_file_contains(userunit_out, needle);
}

/*
 * A restart with another --sid keeps the peers and so their mailbox, which is not laid out
 * again: the SID in the server's slot and in a configured peer's is rewritten, and the API says
 * the same.
 */
START_TEST(test_restart_with_another_sid_rewrites_the_slots)
{
	enum { SERVER_ID = 15 }; /* 14 client slots by default */
	char client_out[256], check_out[256], commands[256], *pid, *after;

	userunit_set_options("--sid 27");
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	famez_client_start_as(userunit_socket_path(), "configured", "configured",
			      "rfc " TESTLIB_WAIT_S "\nsleep " TESTLIB_LIFETIME_S, client_out, 256);
	testlib_wait_for_output(client_out, "configured SID 27 CID 100", TESTLIB_WAIT_MS);
	/* famezd took the acknowledgment: the state saved at the stop says so. */
	testlib_wait_until(peer_1_configured_with, "27", TESTLIB_WAIT_MS,
			   "the API does not show peer 1 configured with SID 27");

	pid = main_pid();
	userunit_set_options("--sid 40");
	userunit_restart();
	after = userunit_wait_new_main_pid(pid);

	/* A newcomer waits for both words to say 40, then reads every slot. */
	snprintf(commands, sizeof(commands),
		 "wait-mem %u 40 " TESTLIB_WAIT_S "\nwait-mem %u 40 " TESTLIB_WAIT_S "\nwho",
		 MAILBOX_SLOT_SIZE + MAILBOX_SLOT_PEER_SID,
		 SERVER_ID * MAILBOX_SLOT_SIZE + MAILBOX_SLOT_PEER_SID);
	famez_client_run(userunit_socket_path(), "checker", commands, check_out, sizeof(check_out));
	ck_assert_msg(testlib_file_contains(
			      check_out, "id 1 nodename configured cclass Debugger cid 100 sid 40"),
		      "%s", testlib_show(check_out));
	ck_assert_msg(testlib_file_contains(check_out,
					    "id 15 nodename Z-switch cclass FabricSwitch "
					    "cid 1500 sid 40 (server)"),
		      "%s", testlib_show(check_out));
	ck_assert(peer_1_configured_with("40"));
	ck_assert_msg(testlib_file_contains(getenv("FAMEZ_LOG"),
					    "SID changed from 27 to 40: slots rewritten"),
		      "%s", testlib_show(getenv("FAMEZ_LOG")));
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "restored 1 of 1 peers"));
	free(pid);
	free(after);
	userunit_set_options(NULL);
}
END_TEST

START_TEST(test_stop_disconnects_peers)
{
	char client_out[256];

	start_fabric_with_client(client_out);
	ck_assert_int_eq(systemctl("stop", "famez.service", "famez.socket"), 0);
	/* The store is released: the client sees its connection close and exits (3). */
	testlib_wait_for_output(client_out, "the server closed the connection", TESTLIB_WAIT_MS);
	ck_assert_int_eq(WEXITSTATUS(testlib_wait(client_pid, TESTLIB_WAIT_MS)), 3);
	ck_assert_int_eq(access(userunit_socket_path(), F_OK), -1);
}
END_TEST

/* A famez-client on one switch, driven by the test through its standard input. */
typedef struct FedClient {
	pid_t pid;
	int commands;
	char nodename[16];
	char out[256];
} FedClient;

static void fed_client_start(FedClient *c, const char *socket, const char *nodename,
			     unsigned expected_id)
{
	char connected[64];

	snprintf(c->nodename, sizeof(c->nodename), "%s", nodename);
	c->pid = famez_client_start_fed(socket, nodename, nodename, &c->commands, c->out,
					sizeof(c->out));
	snprintf(connected, sizeof(connected), "connected id %u ", expected_id);
	testlib_wait_for_output(c->out, connected, TESTLIB_WAIT_MS);
}

static void fed_client_done(FedClient *c)
{
	if (c->commands > 0)
		close(c->commands);
	c->commands = -1;
}

/*
 * `from` (ID from_id) pings `to` (ID to_id) and sends it a message, through famezd's mailbox and
 * doorbells: both still connected with the IDs they had. `round` counts the calls for the pair.
 */
static void assert_peers_talk(FedClient *from, unsigned from_id, FedClient *to, unsigned to_id,
			      int round)
{
	char line[128];

	snprintf(line, sizeof(line), "ping %s " TESTLIB_WAIT_S "; send %s round-%d", to->nodename,
		 to->nodename, round);
	famez_client_feed(from->commands, line);
	snprintf(line, sizeof(line), "pong from %s@%u ", to->nodename, to_id);
	testlib_wait_for_count(from->out, line, (unsigned)round, TESTLIB_WAIT_MS);
	snprintf(line, sizeof(line), "%s@%u: round-%d\n", from->nodename, from_id, round);
	testlib_wait_for_output(to->out, line, TESTLIB_WAIT_MS);
}

static const char *lab_socket_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/famez/lab.sock", getenv("XDG_RUNTIME_DIR"));
	return path;
}

static void restart_service(void)
{
	char *before = main_pid(), *after;

	userunit_restart();
	after = userunit_wait_new_main_pid(before);
	free(before);
	free(after);
}

/*
 * Two switches, the default one (famez.socket) and lab (famez-switch@lab.socket), served by one
 * famezd: a restart keeps the peers of both; a change of lab's configuration file drops lab's
 * peers only, one log line each, and the default switch's peers never notice.
 */
START_TEST(test_switches_keep_their_peers_apart)
{
	FedClient c[4] = {
		{ .commands = -1 }, { .commands = -1 }, { .commands = -1 }, { .commands = -1 }
	};
	FedClient *def_a = &c[0], *def_b = &c[1], *lab_a = &c[2], *lab_b = &c[3], newcomer;
	char dir[256], options[512], conf[320], line[160];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(options, sizeof(options), "--switches-dir %s", dir);
	userunit_set_options(options);

	/* The default switch's peers first, so that famezd runs when lab's socket comes. */
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	fed_client_start(def_a, userunit_socket_path(), "def_a", 1);
	fed_client_start(def_b, userunit_socket_path(), "def_b", 2);
	testlib_wait_until(service_active, NULL, TESTLIB_WAIT_MS, "famez.service is not active");

	/*
	 * systemd refuses to start a socket whose service runs: famezd stops, the socket starts
	 * and famezd starts with it, in one transaction, and the default switch keeps its peers.
	 */
	ck_assert_msg(systemctl("restart", "famez.service", "famez-switch@lab.socket") == 0, "%s",
		      testlib_show(userunit_err));
	fed_client_start(lab_a, lab_socket_path(), "lab_a", 1);
	fed_client_start(lab_b, lab_socket_path(), "lab_b", 2);
	ck_assert(
		testlib_file_contains(getenv("FAMEZ_LOG"), "switch lab: socket-activated without"));
	assert_peers_talk(def_b, 2, def_a, 1, 1);
	assert_peers_talk(lab_b, 2, lab_a, 1, 1);

	/* A restart keeps all four: the same IDs, talking again. */
	restart_service();
	assert_peers_talk(def_b, 2, def_a, 1, 2);
	assert_peers_talk(lab_b, 2, lab_a, 1, 2);
	assert_peers_talk(def_a, 1, def_b, 2, 1);
	assert_peers_talk(lab_a, 1, lab_b, 2, 1);
	ck_assert_uint_eq(testlib_count(getenv("FAMEZ_LOG"), "restored 2 of 2 peers"), 3);

	/* lab gets a file that changes it: its peers go, one line each; the default's stay. */
	snprintf(conf, sizeof(conf), "%s/lab.conf", dir);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Switch]\nMaxPeers=8\n");
	ck_assert_int_eq(fclose(f), 0);
	restart_service();
	testlib_wait_for_output(lab_a->out, "the server closed the connection", TESTLIB_WAIT_MS);
	testlib_wait_for_output(lab_b->out, "the server closed the connection", TESTLIB_WAIT_MS);
	for (int i = 2; i < 4; i++) {
		snprintf(line, sizeof(line),
			 "switch lab: peer %d (pid %d) dropped: the switch's configuration "
			 "changed\n",
			 i - 1, (int)c[i].pid);
		ck_assert_msg(testlib_count(getenv("FAMEZ_LOG"), line) == 1, "no '%s' in %s", line,
			      testlib_show(getenv("FAMEZ_LOG")));
	}
	ck_assert_uint_eq(testlib_count(getenv("FAMEZ_LOG"), " dropped: "), 2);
	ck_assert(!testlib_file_contains(getenv("FAMEZ_LOG"), "dropping stored fd"));
	assert_peers_talk(def_b, 2, def_a, 1, 3);
	assert_peers_talk(def_a, 1, def_b, 2, 2);

	/* lab as its file says it, with the next peers kept by the next restart. */
	fed_client_start(&newcomer, lab_socket_path(), "lab_c", 1);
	ck_assert(testlib_file_contains(newcomer.out, "vectors 10 "));
	restart_service();
	famez_client_feed(newcomer.commands, "ping server " TESTLIB_WAIT_S);
	testlib_wait_for_output(newcomer.out, "pong from Z-switch@9 ", TESTLIB_WAIT_MS);
	ck_assert(testlib_file_contains(getenv("FAMEZ_LOG"), "restored 1 of 1 peers"));
	assert_peers_talk(def_b, 2, def_a, 1, 4);
	ck_assert(!testlib_file_contains(newcomer.out, "closed the connection"));

	for (int i = 0; i < 4; i++)
		fed_client_done(&c[i]);
	fed_client_done(&newcomer);
	userunit_set_options(NULL);
}
END_TEST

/*
 * The default switch and lab, linked (lab.conf: Link=16:default:16): peers of each reach the
 * other's by CID,SID through famezd's routes, and a restart keeps the link, the routes and the
 * peers: they talk again, and the new famezd says what it linked.
 */
START_TEST(test_restart_keeps_linked_switches_talking)
{
	FedClient def = { .commands = -1 }, lab = { .commands = -1 };
	char dir[256], options[512], conf[320];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(conf, sizeof(conf), "%s/lab.conf", dir);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Switch]\nSID=28\nLink=16:default:16\n");
	ck_assert_int_eq(fclose(f), 0);
	snprintf(options, sizeof(options), "--switches-dir %s", dir);
	userunit_set_options(options);
	ck_assert_int_eq(systemctl("start", "famez.socket"), 0);
	fed_client_start(&def, userunit_socket_path(), "def", 1);
	testlib_wait_until(service_active, NULL, TESTLIB_WAIT_MS, "famez.service is not active");
	ck_assert_msg(systemctl("restart", "famez.service", "famez-switch@lab.socket") == 0, "%s",
		      testlib_show(userunit_err));
	fed_client_start(&lab, lab_socket_path(), "lab", 1);
	/* Configured, each has its CID: ID 1 of a switch alone in its subnet is 100. */
	famez_client_feed(def.commands, "rfc " TESTLIB_WAIT_S);
	famez_client_feed(lab.commands, "rfc " TESTLIB_WAIT_S);
	testlib_wait_for_output(def.out, "configured SID 27 CID 100", TESTLIB_WAIT_MS);
	testlib_wait_for_output(lab.out, "configured SID 28 CID 100", TESTLIB_WAIT_MS);

	for (int round = 1; round <= 2; round++) {
		char line[64];

		snprintf(line, sizeof(line), "send 100,28 over-%d", round);
		famez_client_feed(def.commands, line);
		snprintf(line, sizeof(line), "100,27: over-%d\n", round);
		testlib_wait_for_output(lab.out, line, TESTLIB_WAIT_MS);
		snprintf(line, sizeof(line), "send 100,27 back-%d", round);
		famez_client_feed(lab.commands, line);
		snprintf(line, sizeof(line), "100,28: back-%d\n", round);
		testlib_wait_for_output(def.out, line, TESTLIB_WAIT_MS);
		famez_client_feed(def.commands, "ping 100,28 " TESTLIB_WAIT_S);
		testlib_wait_for_count(def.out, "pong from 100,28 in ", (unsigned)round,
				       TESTLIB_WAIT_MS);
		if (round == 1)
			restart_service();
	}
	ck_assert_uint_eq(testlib_count(getenv("FAMEZ_LOG"), "restored 1 of 1 peers"), 3);
	ck_assert(!testlib_file_contains(def.out, "closed the connection"));
	ck_assert(!testlib_file_contains(lab.out, "closed the connection"));
	fed_client_done(&def);
	fed_client_done(&lab);
	userunit_set_options(NULL);
}
END_TEST

START_TEST(test_units_verify_and_are_hardened)
{
	char unit[512], *text, *p;
	double exposure;

	snprintf(unit, sizeof(unit), "%s/famez.service", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(userunit_run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) ==
			      0,
		      "%s", testlib_show(userunit_err));
	snprintf(unit, sizeof(unit), "%s/famez.socket", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(userunit_run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) ==
			      0,
		      "%s", testlib_show(userunit_err));
	/* The template, as one of its instances. */
	snprintf(unit, sizeof(unit), "%s/famez-switch@lab.socket", getenv("FAMEZ_UNIT_DIR"));
	ck_assert_msg(userunit_run("/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL) ==
			      0,
		      "%s", testlib_show(userunit_err));

	/* The system unit, as installed. */
	ck_assert(userunit_run("/usr/bin/systemd-analyze", "security", "--offline=true",
			       getenv("FAMEZ_SYSTEM_SERVICE"), NULL) == 0);
	text = testlib_read_file(userunit_out);
	p = strstr(text, "Overall exposure level for famez.service: ");
	ck_assert_msg(p, "%s", text);
	exposure = strtod(p + strlen("Overall exposure level for famez.service: "), NULL);
	ck_assert_msg(exposure <= EXPOSURE_MAX, "exposure %.1f > %.1f:\n%s", exposure, EXPOSURE_MAX,
		      text);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!getenv("FAMEZ_UNIT_DIR")) {
		printf("run through systemd-env.sh, which provides systemd --user\n");
		return 77;
	}
	s = suite_create("systemd");
	tc = tcase_create("systemd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_units_verify_and_are_hardened);
	tcase_add_test(tc, test_first_qemu_activates_the_service);
	tcase_add_test(tc, test_watchdog_is_fed_under_load);
	tcase_add_test(tc, test_restarts_keep_vms_connected);
	tcase_add_test(tc, test_crash_keeps_vms_connected);
	tcase_add_test(tc, test_peer_leaving_while_down_is_announced);
	tcase_add_test(tc, test_restart_keeps_what_slow_peers_have_not_read);
	tcase_add_test(tc, test_restart_keeps_a_peers_eventfds);
	tcase_add_test(tc, test_restart_with_another_sid_rewrites_the_slots);
	tcase_add_test(tc, test_stop_disconnects_peers);
	tcase_add_test(tc, test_switches_keep_their_peers_apart);
	tcase_add_test(tc, test_restart_keeps_linked_switches_talking);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
