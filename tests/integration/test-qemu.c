/* SPDX-License-Identifier: MIT */
/*
 * famezd with real QEMU ivshmem-doorbell devices, driven through qtest: IDs, doorbells on every
 * vector between every pair, shared memory, departures, late joiners and the peer limit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtest.h"
#include "testlib.h"

#define VECTORS 2
#define MAX_VMS 4

static Famezd famezd;
static QVm vms[MAX_VMS];

static void teardown(void)
{
	for (int i = 0; i < MAX_VMS; i++)
		qvm_stop(&vms[i]);
	testlib_teardown();
}

static void start_vm_with(int i, unsigned vectors)
{
	char name[16];

	snprintf(name, sizeof(name), "vm%d", i);
	ck_assert_msg(qvm_start(&vms[i], name, famezd.socket_path, vectors) == 0,
		      "QEMU %s failed: %s", name, testlib_show(vms[i].log_path));
}

static void start_vm(int i)
{
	start_vm_with(i, VECTORS);
}

/* Rings `to` from `from` until its pending bit shows, and checks no other vector fired. */
static void assert_rings(QVm *from, QVm *to, unsigned vector)
{
	ck_assert_uint_eq(qvm_pending(to) & (1u << vector), 0);
	qvm_assert_rings(from, to, qvm_ivposition(to), vector);
	ck_assert_uint_eq(qvm_pending(to), 0);
}

static void assert_all_ring_all(const int *which, int n)
{
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++) {
			if (a == b)
				continue;
			for (unsigned v = 0; v < VECTORS; v++)
				assert_rings(&vms[which[a]], &vms[which[b]], v);
		}
}

static bool peer_gone(RawClient *c, void *data)
{
	return !client_state_peer(&c->state, (uint16_t)(uintptr_t)data);
}

static bool peer_known(RawClient *c, void *data)
{
	const ClientPeer *p = client_state_peer(&c->state, (uint16_t)(uintptr_t)data);

	return p && p->n_vectors == VECTORS;
}

START_TEST(test_vms_share_memory_and_ring_each_other)
{
	const char *args[] = { "--mode", "ivshmem", "--vectors", "2", NULL };
	const int first[] = { 0, 1, 2 }, after[] = { 0, 2, 3 };
	RawClient observer;
	uint32_t ids[MAX_VMS];

	famezd_start(&famezd, args);
	for (int i = 0; i < 3; i++)
		start_vm(i);

	for (int i = 0; i < 3; i++) {
		ids[i] = qvm_ivposition(&vms[i]);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
	}
	assert_all_ring_all(first, 3);

	/* One VM's store is every VM's load. */
	qvm_shm_write(&vms[0], 64, 0xfab0c0de12345678ULL);
	ck_assert_uint_eq(qvm_shm_read(&vms[1], 64), 0xfab0c0de12345678ULL);
	ck_assert_uint_eq(qvm_shm_read(&vms[2], 64), 0xfab0c0de12345678ULL);
	qvm_shm_write(&vms[2], 4096, 42);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 4096), 42);

	/* A client outside QEMU rings a VM through the eventfds famezd handed it. */
	ck_assert_int_eq(raw_client_connect(&observer, famezd.socket_path, true), 0);
	ck_assert(raw_client_read_until(&observer, peer_known, (void *)(uintptr_t)ids[1],
					TESTLIB_WAIT_MS));
	{
		const ClientPeer *p = client_state_peer(&observer.state, (uint16_t)ids[1]);
		uint64_t one = 1;

		ck_assert_int_eq(write(p->fds[1], &one, 8), 8);
		ck_assert(qvm_wait_pending(&vms[1], 1, TESTLIB_WAIT_MS));
	}

	/* A VM that leaves is gone for everyone; the others carry on. */
	qvm_stop(&vms[1]);
	ck_assert(raw_client_read_until(&observer, peer_gone, (void *)(uintptr_t)ids[1],
					TESTLIB_WAIT_MS));

	/* A VM that joins later reaches and is reached by all, under a new ID. */
	start_vm(3);
	ids[3] = qvm_ivposition(&vms[3]);
	for (int j = 0; j < 3; j++)
		ck_assert_uint_ne(ids[3], ids[j]);
	assert_all_ring_all(after, 3);
	ck_assert_uint_eq(qvm_shm_read(&vms[3], 64), 0xfab0c0de12345678ULL);

	raw_client_close(&observer);
	for (int i = 0; i < MAX_VMS; i++)
		qvm_stop(&vms[i]);
	famezd_stop(&famezd);
}
END_TEST

START_TEST(test_vm_over_the_limit_fails_with_version_error)
{
	const char *args[] = { "--mode", "ivshmem", "--vectors", "2", "--max-peers", "2", NULL };
	const int both[] = { 0, 1 };

	famezd_start(&famezd, args);
	start_vm(0);
	start_vm(1);

	ck_assert_int_eq(qvm_start(&vms[2], "vm2", famezd.socket_path, VECTORS), -1);
	ck_assert_msg(testlib_file_contains(vms[2].log_path, "version -1"),
		      "QEMU did not report the refusal: %s", testlib_show(vms[2].log_path));

	assert_all_ring_all(both, 2);
	for (int i = 0; i < MAX_VMS; i++)
		qvm_stop(&vms[i]);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "the fabric is full"));
}
END_TEST

/* Fabric mode: 14 client slots, 16 vectors, the server is ID 15. */
#define FABRIC_VECTORS 16
#define SERVER_ID 15
/* FAME-Z's last published slot layout: length @64, peer ID @72, last responder @80. */
#define SLOT(id) ((uint64_t)(id)*512)
#define SLOT_LEN 64
#define SLOT_PEER_ID 72
#define SLOT_RESPONDER 80

static void start_fabric_vm(int i)
{
	start_vm_with(i, FABRIC_VECTORS);
}

static void vm_receive(QVm *vm, char *text, size_t size)
{
	qvm_mail_receive(vm, SERVER_ID, text, size);
}

static void vm_send(QVm *vm, const char *text)
{
	qvm_mail_send(vm, SERVER_ID, text);
}

START_TEST(test_vm_talks_to_the_server_through_the_mailbox)
{
	char text[64];
	uint32_t own;

	famezd_start(&famezd, NULL);
	start_fabric_vm(0);
	own = qvm_ivposition(&vms[0]);
	ck_assert_uint_eq(own, 1);

	/* The globals in slot 0, as FAME-Z lays them out. */
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 0), 512);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 8), 128);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 16), 14);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 24), 16);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], 32), SERVER_ID);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], SLOT(own) + SLOT_PEER_ID), own);

	/*
	 * ping -> pong, with our slot acknowledged by the server. The server asked for our
	 * attributes when we joined, before MSI-X was on to take the ring: hearing from us, it
	 * rings again, and that question comes first.
	 */
	vm_send(&vms[0], "ping");
	vm_receive(&vms[0], text, 24);
	ck_assert_str_eq(text, "Link CTL Peer-Attribute");
	vm_receive(&vms[0], text, 5);
	ck_assert_str_eq(text, "pong");
	ck_assert_uint_eq(qvm_shm_read(&vms[0], SLOT(own) + SLOT_LEN), 0);
	ck_assert_uint_eq(qvm_shm_read(&vms[0], SLOT(own) + SLOT_RESPONDER), SERVER_ID);

	/* We answer as a bridge; the server records it. */
	qvm_shm_write_string(&vms[0], SLOT(own), "vm0");
	vm_send(&vms[0], "Link CTL ACK C-Class=Bridge,SID0=0,CID0=0");
	qvm_stop(&vms[0]);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "vm0@1 is a Bridge"));
}
END_TEST

START_TEST(test_vm_without_driver_does_not_stall_others)
{
	char out[256], *text, *p;
	pid_t c;
	int status;

	famezd_start(&famezd, NULL);
	start_fabric_vm(0); /* never reads its mailbox */
	c = famez_client_start(famezd.socket_path, "client", "ping server 5", out, sizeof(out));
	status = testlib_wait(c, TESTLIB_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", testlib_show(out));
	text = testlib_read_file(out);
	p = strstr(text, "pong from Z-switch@15 in ");
	ck_assert_msg(p, "%s", text);
	ck_assert_uint_lt(strtoull(p + strlen("pong from Z-switch@15 in "), NULL, 10), 1500000);
	free(text);
	qvm_stop(&vms[0]);
	famezd_stop(&famezd);
}
END_TEST

/* A client takes ID 2, and the VM (ID 1, connected throughout) and it ring each other. */
static void vm_and_client_ring(const char *name)
{
	char out[256];
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	pid_t c = famez_client_start(famezd.socket_path, name,
				     "wait-int 1 1 " TESTLIB_WAIT_S "; int 1 2", out, sizeof(out));
	int status;

	testlib_wait_for_output(out, "connected id 2", TESTLIB_WAIT_MS);
	/* Ring until the client has set its vector up and seen it. */
	while ((status = testlib_wait(c, 50)) == -ETIMEDOUT) {
		qvm_ring(&vms[0], 2, 1);
		ck_assert_msg(testlib_now_usec() < deadline, "%s never saw the VM's ring: %s", name,
			      testlib_show(out));
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", name,
		      testlib_show(out));
	ck_assert(testlib_file_contains(out, "interrupt vector 1"));
	ck_assert(qvm_wait_pending(&vms[0], 2, TESTLIB_WAIT_MS));
}

START_TEST(test_recycled_id_reaches_and_is_reached_by_a_vm)
{
	famezd_start(&famezd, NULL);
	start_fabric_vm(0);
	ck_assert_uint_eq(qvm_ivposition(&vms[0]), 1);
	/* The old holder of ID 2, then the new one: the VM was never told the ID left. */
	vm_and_client_ring("old");
	vm_and_client_ring("new");
	/* The VM still talks to the server (which also asks for its attributes again). */
	{
		char text[64] = "";

		vm_send(&vms[0], "ping");
		for (int i = 0; i < 3 && strcmp(text, "pong") != 0; i++)
			vm_receive(&vms[0], text, 24);
		ck_assert_str_eq(text, "pong");
	}
	qvm_stop(&vms[0]);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "peer 2 connected"));
}
END_TEST

/* Rings `to` (ID to_id) from `from` on `vector` a few times; whether its pending bit showed. */
static bool rings_within(QVm *from, QVm *to, uint32_t to_id, unsigned vector)
{
	for (int i = 0; i < 5; i++) {
		qvm_ring(from, to_id, vector);
		if (qvm_wait_pending(to, vector, 50))
			return true;
	}
	return false;
}

static void wait_slot_len(QVm *vm, unsigned id, bool full, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	while ((qvm_shm_read(vm, SLOT(id) + SLOT_LEN) != 0) != full &&
	       testlib_now_usec() < deadline)
		usleep(5000);
}

/*
 * The vector is the sender's ID. Unless --shared-vectors, a VM ringing another on a vector not
 * its own, or famez-client spoofing a VM, reaches nobody, the server included.
 */
static void check_spoofing(bool shared)
{
	char out[256];
	uint32_t a, b;

	famezd_start(&famezd, shared ? (const char *[]){ "--shared-vectors", NULL } : NULL);
	start_fabric_vm(0);
	start_fabric_vm(1);
	a = qvm_ivposition(&vms[0]);
	b = qvm_ivposition(&vms[1]);
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(b, 2);
	/*
	 * The server rings each VM on its own vector, 15, with its join-time question; neither
	 * answers, so each falls silent with nothing kept, and the server rings them no more. A
	 * ring on 15 after that can only be a spoof.
	 */
	testlib_wait_for_count(famezd.log_path, "did not acknowledge", 2, TESTLIB_WAIT_MS);
	qvm_clear_pending(&vms[0], SERVER_ID);
	qvm_clear_pending(&vms[1], SERVER_ID);

	/* Its own vector reaches the other VM, both ways. */
	qvm_assert_rings(&vms[0], &vms[1], b, a);
	qvm_assert_rings(&vms[1], &vms[0], a, b);
	/* Posing as the server, or as ID 3. */
	ck_assert_int_eq(rings_within(&vms[0], &vms[1], b, SERVER_ID), shared);
	ck_assert_int_eq(rings_within(&vms[0], &vms[1], b, 3), shared);
	ck_assert_int_eq(rings_within(&vms[1], &vms[0], a, 0), shared);

	/* famez-client (ID 3) poses as VM a towards VM b, then as VM b towards the server. */
	famez_client_run(famezd.socket_path, "spoofer", "spoof 1 2 ping; spoof 2 server ping", out,
			 sizeof(out));
	ck_assert(testlib_file_contains(out, "spoofed 1 -> 2"));
	ck_assert(testlib_file_contains(out, "spoofed 2 -> 15"));
	/* A ring that went anywhere is in the eventfd: one wait sees it, or it did not land. */
	ck_assert_int_eq(qvm_wait_pending(&vms[1], a, shared ? TESTLIB_WAIT_MS : 500), shared);
	/*
	 * The server reads slot 2 only when rung on vector 2, which only b can do. Where it may
	 * not, two pings one after the other are the barrier: the server takes a ring that came
	 * first before the second ping's.
	 */
	if (shared)
		wait_slot_len(&vms[0], b, false, TESTLIB_WAIT_MS);
	else
		famez_client_run(famezd.socket_path, "barrier",
				 "ping server " TESTLIB_WAIT_S "; ping server " TESTLIB_WAIT_S, out,
				 sizeof(out));
	ck_assert_int_eq(qvm_shm_read(&vms[0], SLOT(b) + SLOT_LEN) == 0, shared);
	if (!shared) {
		qvm_ring(&vms[1], SERVER_ID, b);
		wait_slot_len(&vms[0], b, false, TESTLIB_WAIT_MS);
		ck_assert_uint_eq(qvm_shm_read(&vms[0], SLOT(b) + SLOT_LEN), 0);
	}
	qvm_stop(&vms[0]);
	qvm_stop(&vms[1]);
	famezd_stop(&famezd);
}

START_TEST(test_doorbells_are_authenticated)
{
	check_spoofing(false);
}
END_TEST

START_TEST(test_shared_vectors_let_spoofs_land)
{
	check_spoofing(true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qemu");
	TCase *tc = tcase_create("qemu");

	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_vms_share_memory_and_ring_each_other);
	tcase_add_test(tc, test_vm_over_the_limit_fails_with_version_error);
	tcase_add_test(tc, test_vm_talks_to_the_server_through_the_mailbox);
	tcase_add_test(tc, test_vm_without_driver_does_not_stall_others);
	tcase_add_test(tc, test_recycled_id_reaches_and_is_reached_by_a_vm);
	tcase_add_test(tc, test_doorbells_are_authenticated);
	tcase_add_test(tc, test_shared_vectors_let_spoofs_land);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
