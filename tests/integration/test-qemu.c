/* SPDX-License-Identifier: MIT */
/*
 * famezd with real QEMU ivshmem-doorbell devices, driven through qtest: IDs, doorbells on every
 * vector between every pair, shared memory, departures, late joiners and the peer limit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

static void start_vm(int i)
{
	char name[16];

	snprintf(name, sizeof(name), "vm%d", i);
	ck_assert_msg(qvm_start(&vms[i], name, famezd.socket_path, VECTORS) == 0,
		      "QEMU %s failed: %s", name, testlib_read_file(vms[i].log_path));
}

/*
 * Rings `to` from `from` on `vector` until the pending bit shows. A VM learns of peers
 * asynchronously, so a ring sent before the announcement arrived is lost by QEMU itself; famezd
 * losing the announcement would make every ring fail.
 */
static void assert_rings(QVm *from, QVm *to, unsigned vector)
{
	uint32_t to_id = qvm_ivposition(to);
	uint64_t deadline = testlib_now_usec() + 10000000;

	ck_assert_uint_eq(qvm_pending(to) & (1u << vector), 0);
	for (;;) {
		qvm_ring(from, to_id, vector);
		if (qvm_wait_pending(to, vector, 100))
			break;
		ck_assert_msg(testlib_now_usec() < deadline, "VM %u never saw vector %u from VM %u",
			      to_id, vector, qvm_ivposition(from));
	}
	/* Exactly that bit: no other vector fired. */
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
	ck_assert(raw_client_read_until(&observer, peer_known, (void *)(uintptr_t)ids[1], 5000));
	{
		const ClientPeer *p = client_state_peer(&observer.state, (uint16_t)ids[1]);
		uint64_t one = 1;

		ck_assert_int_eq(write(p->fds[1], &one, 8), 8);
		ck_assert(qvm_wait_pending(&vms[1], 1, 5000));
	}

	/* A VM that leaves is gone for everyone; the others carry on. */
	qvm_stop(&vms[1]);
	ck_assert(raw_client_read_until(&observer, peer_gone, (void *)(uintptr_t)ids[1], 5000));

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
		      "QEMU did not report the refusal: %s", testlib_read_file(vms[2].log_path));

	assert_all_ring_all(both, 2);
	for (int i = 0; i < MAX_VMS; i++)
		qvm_stop(&vms[i]);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "the fabric is full"));
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
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
