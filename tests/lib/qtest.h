/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A real QEMU with an ivshmem-doorbell device, paused (-S) and driven through the qtest
 * protocol: we program the PCI BARs ourselves, ring doorbells through BAR0, watch MSI-X pending
 * bits in BAR1 and read and write the shared memory in BAR2.
 */
typedef struct QVm {
	pid_t pid;
	int qtest_fd;
	int qmp_fd;
	char log_path[256];
	char buf[4096];
	size_t buf_len;
	uint64_t bar0, bar1, bar2;
} QVm;

/*
 * Starts QEMU connected to the famez socket with `vectors` vectors. Returns 0 when the device is
 * set up and MSI-X enabled, or -1 if QEMU exited (its stderr is in vm->log_path).
 */
int qvm_start(QVm *vm, const char *name, const char *famez_socket, unsigned vectors);
void qvm_stop(QVm *vm);

/* One qtest command; returns the reply's value after "OK" (0 if none). Fails the test on error. */
uint64_t qvm_cmd(QVm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint32_t qvm_ivposition(QVm *vm);
void qvm_ring(QVm *vm, uint32_t peer, uint32_t vector);
uint32_t qvm_pending(QVm *vm);
/*
 * Waits until the pending bit of vector is set; unmasks and re-masks it to clear it. A false
 * answer means that no ring was in the VM's eventfd when it was called (QEMU has taken any such
 * ring before it answers the last read), however short timeout_ms.
 */
bool qvm_wait_pending(QVm *vm, unsigned vector, int timeout_ms);
void qvm_clear_pending(QVm *vm, unsigned vector);
/*
 * Rings peer to_id from `from` on `vector` until `to` shows the pending bit (at most
 * TESTLIB_WAIT_MS). A VM learns of peers asynchronously, so a ring sent before QEMU had the
 * announcement is lost by QEMU itself; a lost announcement would make every ring fail. A ring
 * is sent again only once qvm_wait_pending() said the last one was lost, not merely late: no
 * ring of ours lands after the pending bit was cleared.
 */
void qvm_assert_rings(QVm *from, QVm *to, uint32_t to_id, unsigned vector);
void qvm_shm_write(QVm *vm, uint64_t offset, uint64_t value);
uint64_t qvm_shm_read(QVm *vm, uint64_t offset);
/* Reads a NUL-terminated string of at most size - 1 bytes from the shared memory. */
void qvm_shm_read_string(QVm *vm, uint64_t offset, char *buf, size_t size);
/* Writes a string and its NUL into the shared memory. */
void qvm_shm_write_string(QVm *vm, uint64_t offset, const char *text);
const char *testlib_qemu_path(void);

/*
 * Fabric mode, as a guest driver would: waits for a ring on vector `from`, reads slot `from`
 * (at most size - 1 bytes) and acknowledges it. A ring may find the slot empty (the server
 * rings a guest again when it first hears from it, which can cross the guest's
 * acknowledgment): then the message is the next one to come.
 */
void qvm_mail_receive(QVm *vm, unsigned from, char *text, size_t size);
/*
 * Writes text into the VM's own slot once it is free (at most TESTLIB_WAIT_MS); rings dest on its
 * own vector.
 */
void qvm_mail_send(QVm *vm, unsigned dest, const char *text);
