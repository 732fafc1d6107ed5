/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mailbox.h"
#include "qtest.h"
#include "testlib.h"

#define PCI_DEVFN 0x20 /* addr=04.0 */
#define BAR0_ADDR 0xfe000000ULL
#define BAR1_ADDR 0xfe001000ULL
#define BAR2_ADDR 0xe0000000ULL

const char *testlib_qemu_path(void)
{
	const char *p = getenv("QEMU");

	return p && p[0] ? p : "/usr/bin/qemu-system-x86_64";
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	testlib_sockaddr(&sa, path);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

/* Reads one line into line (without the newline); false on timeout or EOF. */
static bool read_line(QVm *vm, int fd, char *line, size_t size, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		char *nl = memchr(vm->buf, '\n', vm->buf_len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - vm->buf);

			snprintf(line, size, "%.*s", (int)len, vm->buf);
			memmove(vm->buf, nl + 1, vm->buf_len - len - 1);
			vm->buf_len -= len + 1;
			return true;
		}
		if (testlib_now_usec() >= deadline)
			return false;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, vm->buf + vm->buf_len, sizeof(vm->buf) - vm->buf_len - 1);
		if (n <= 0)
			return false;
		vm->buf_len += (size_t)n;
	}
}

/* False when QEMU went away before answering (it connects qtest before building devices). */
static bool qmp_sync(QVm *vm, const char *qmp_path)
{
	struct sockaddr_un sa;
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	char line[1024];

	testlib_sockaddr(&sa, qmp_path);
	for (;;) {
		vm->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(vm->qmp_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(vm->qmp_fd);
		vm->qmp_fd = -1;
		if (testlib_wait(vm->pid, 0) != -ETIMEDOUT)
			return false;
		ck_assert_msg(testlib_now_usec() < deadline, "no QMP socket from QEMU");
		usleep(10000);
	}
	/* The greeting, then the capabilities negotiation: after it the machine is reset. */
	vm->buf_len = 0;
	if (!read_line(vm, vm->qmp_fd, line, sizeof(line), TESTLIB_WAIT_MS))
		return false;
	ck_assert_ptr_nonnull(strstr(line, "QMP"));
	ck_assert_int_gt(write(vm->qmp_fd, "{\"execute\":\"qmp_capabilities\"}\n", 31), 0);
	if (!read_line(vm, vm->qmp_fd, line, sizeof(line), TESTLIB_WAIT_MS))
		return false;
	ck_assert_ptr_nonnull(strstr(line, "return"));
	vm->buf_len = 0;
	return true;
}

/* Sends one qtest command and returns its reply after "OK" ("" if none); fails on errors. */
static void command_v(QVm *vm, char *reply, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void command_v(QVm *vm, char *reply, size_t size, const char *fmt, va_list ap)
{
	char cmd[2048], line[2048];
	int len;

	len = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	ck_assert_int_lt(len, (int)sizeof(cmd) - 1);
	cmd[len++] = '\n';
	ck_assert_int_eq(write(vm->qtest_fd, cmd, (size_t)len), len);
	for (;;) {
		ck_assert_msg(read_line(vm, vm->qtest_fd, line, sizeof(line), TESTLIB_WAIT_MS),
			      "no qtest reply to %.*s", len - 1, cmd);
		if (strncmp(line, "IRQ", 3) == 0)
			continue;
		ck_assert_msg(strncmp(line, "OK", 2) == 0, "qtest: %.*s -> %s", len - 1, cmd, line);
		snprintf(reply, size, "%s", line[2] ? line + 3 : "");
		return;
	}
}

static void command(QVm *vm, char *reply, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void command(QVm *vm, char *reply, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	command_v(vm, reply, size, fmt, ap);
	va_end(ap);
}

uint64_t qvm_cmd(QVm *vm, const char *fmt, ...)
{
	char reply[128];
	va_list ap;

	va_start(ap, fmt);
	command_v(vm, reply, sizeof(reply), fmt, ap);
	va_end(ap);
	return strtoull(reply, NULL, 0);
}

static void cfg_addr(QVm *vm, unsigned off)
{
	qvm_cmd(vm, "outl 0xcf8 0x%x", 0x80000000u | (PCI_DEVFN << 8) | (off & ~3u));
}

static uint32_t cfg_readl(QVm *vm, unsigned off)
{
	cfg_addr(vm, off);
	return (uint32_t)qvm_cmd(vm, "inl 0xcfc");
}

static uint16_t cfg_readw(QVm *vm, unsigned off)
{
	cfg_addr(vm, off);
	return (uint16_t)qvm_cmd(vm, "inw 0x%x", 0xcfc + (off & 3));
}

static uint8_t cfg_readb(QVm *vm, unsigned off)
{
	cfg_addr(vm, off);
	return (uint8_t)qvm_cmd(vm, "inb 0x%x", 0xcfc + (off & 3));
}

static void cfg_writel(QVm *vm, unsigned off, uint32_t v)
{
	cfg_addr(vm, off);
	qvm_cmd(vm, "outl 0xcfc 0x%x", v);
}

static void cfg_writew(QVm *vm, unsigned off, uint16_t v)
{
	cfg_addr(vm, off);
	qvm_cmd(vm, "outw 0x%x 0x%x", 0xcfc + (off & 3), v);
}

static void setup_pci(QVm *vm)
{
	unsigned cap;

	ck_assert_uint_eq(cfg_readl(vm, 0), 0x11101af4); /* ivshmem 1af4:1110 */
	cfg_writel(vm, 0x10, (uint32_t)BAR0_ADDR);
	cfg_writel(vm, 0x14, (uint32_t)BAR1_ADDR);
	cfg_writel(vm, 0x18, (uint32_t)BAR2_ADDR);
	cfg_writel(vm, 0x1c, (uint32_t)(BAR2_ADDR >> 32));
	cfg_writew(vm, 0x04, 0x7); /* I/O, memory, bus master */
	vm->bar0 = BAR0_ADDR;
	vm->bar1 = BAR1_ADDR;
	vm->bar2 = BAR2_ADDR;

	for (cap = cfg_readb(vm, 0x34); cap; cap = cfg_readb(vm, cap + 1))
		if (cfg_readb(vm, cap) == 0x11)
			break;
	ck_assert_msg(cap, "no MSI-X capability on the ivshmem device");
	cfg_writew(vm, cap + 2, cfg_readw(vm, cap + 2) | 0x8000);
}

int qvm_start(QVm *vm, const char *name, const char *famez_socket, unsigned vectors)
{
	char qtest_path[256], qmp_path[256], qtest_arg[300], qmp_arg[300], chardev[300],
		device[128];
	struct pollfd p;
	int lfd;

	memset(vm, 0, sizeof(*vm));
	vm->qtest_fd = vm->qmp_fd = -1;
	snprintf(qtest_path, sizeof(qtest_path), "%s/%s.qtest", testlib_tmpdir(), name);
	snprintf(qmp_path, sizeof(qmp_path), "%s/%s.qmp", testlib_tmpdir(), name);
	snprintf(vm->log_path, sizeof(vm->log_path), "%s/%s.log", testlib_tmpdir(), name);
	snprintf(qtest_arg, sizeof(qtest_arg), "unix:%s", qtest_path);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
	snprintf(chardev, sizeof(chardev), "socket,id=iv,path=%s", famez_socket);
	snprintf(device, sizeof(device), "ivshmem-doorbell,chardev=iv,vectors=%u,addr=04.0",
		 vectors);

	lfd = listen_unix(qtest_path);
	{
		const char *argv[] = {
			testlib_qemu_path(), "-M",   "pc",     "-S",       "-nodefaults",
			"-display",          "none", "-qtest", qtest_arg,  "-qtest-log",
			"/dev/null",         "-qmp", qmp_arg,  "-chardev", chardev,
			"-device",           device, "-name",  name,       NULL
		};

		vm->pid = testlib_spawn((char *const *)argv, vm->log_path, vm->log_path);
	}

	/* QEMU connects to the qtest socket once the machine is built, or exits if it fails. */
	p = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;;) {
		if (poll(&p, 1, 20) > 0)
			break;
		if (testlib_wait(vm->pid, 0) != -ETIMEDOUT) {
			close(lfd);
			vm->pid = 0;
			return -1;
		}
		ck_assert_msg(testlib_now_usec() < deadline, "QEMU did not start in %d ms",
			      TESTLIB_WAIT_MS);
	}
	vm->qtest_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	unlink(qtest_path);
	ck_assert_int_ge(vm->qtest_fd, 0);

	if (!qmp_sync(vm, qmp_path)) {
		ck_assert_msg(testlib_wait(vm->pid, TESTLIB_WAIT_MS) != -ETIMEDOUT,
			      "QMP of QEMU is silent");
		close(vm->qtest_fd);
		vm->qtest_fd = -1;
		vm->pid = 0;
		return -1;
	}
	setup_pci(vm);
	return 0;
}

void qvm_stop(QVm *vm)
{
	if (vm->qtest_fd >= 0)
		close(vm->qtest_fd);
	if (vm->qmp_fd >= 0)
		close(vm->qmp_fd);
	vm->qtest_fd = vm->qmp_fd = -1;
	if (vm->pid > 0)
		testlib_stop(vm->pid, 5000);
	vm->pid = 0;
}

uint32_t qvm_ivposition(QVm *vm)
{
	return (uint32_t)qvm_cmd(vm, "readl 0x%llx", (unsigned long long)vm->bar0 + 8);
}

void qvm_ring(QVm *vm, uint32_t peer, uint32_t vector)
{
	qvm_cmd(vm, "writel 0x%llx 0x%x", (unsigned long long)vm->bar0 + 12, (peer << 16) | vector);
}

uint32_t qvm_pending(QVm *vm)
{
	return (uint32_t)qvm_cmd(vm, "readl 0x%llx", (unsigned long long)vm->bar1 + 0x800);
}

void qvm_clear_pending(QVm *vm, unsigned vector)
{
	unsigned long long ctrl = vm->bar1 + vector * 16 + 12;

	/* Unmasking delivers the pending message and clears the bit; then mask again. */
	qvm_cmd(vm, "writel 0x%llx 0x0", ctrl);
	qvm_cmd(vm, "writel 0x%llx 0x1", ctrl);
}

bool qvm_wait_pending(QVm *vm, unsigned vector, int timeout_ms)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)timeout_ms * 1000;

	/*
	 * At least two reads, whatever the time: the first may be answered in the main loop
	 * iteration that also takes a ring already in the eventfd, and may come first; the second
	 * comes in a later iteration. A ring in before the call is seen, however late QEMU runs.
	 */
	for (int reads = 1; !(qvm_pending(vm) & (1u << vector)); reads++) {
		if (reads >= 2 && testlib_now_usec() >= deadline)
			return false;
		usleep(1000);
	}
	qvm_clear_pending(vm, vector);
	return true;
}

void qvm_assert_rings(QVm *from, QVm *to, uint32_t to_id, unsigned vector)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	for (;;) {
		qvm_ring(from, to_id, vector);
		if (qvm_wait_pending(to, vector, 100))
			return;
		ck_assert_msg(testlib_now_usec() < deadline, "peer %u never saw vector %u", to_id,
			      vector);
	}
}

void qvm_shm_write(QVm *vm, uint64_t offset, uint64_t value)
{
	qvm_cmd(vm, "writeq 0x%llx 0x%llx", (unsigned long long)(vm->bar2 + offset),
		(unsigned long long)value);
}

uint64_t qvm_shm_read(QVm *vm, uint64_t offset)
{
	return qvm_cmd(vm, "readq 0x%llx", (unsigned long long)(vm->bar2 + offset));
}

void qvm_shm_read_string(QVm *vm, uint64_t offset, char *buf, size_t size)
{
	char reply[2048];
	size_t n = size - 1;

	ck_assert_uint_lt(n, 512);
	command(vm, reply, sizeof(reply), "read 0x%llx %zu",
		(unsigned long long)(vm->bar2 + offset), n);
	ck_assert(strncmp(reply, "0x", 2) == 0);
	for (size_t i = 0; i < n; i++) {
		unsigned byte;

		ck_assert_int_eq(sscanf(reply + 2 + 2 * i, "%2x", &byte), 1);
		buf[i] = (char)byte;
	}
	buf[n] = '\0';
}

void qvm_shm_write_string(QVm *vm, uint64_t offset, const char *text)
{
	char hex[1024] = "0x";
	size_t n = strlen(text) + 1;

	ck_assert_uint_lt(n, 500);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", (unsigned char)text[i]);
	char reply[16];

	command(vm, reply, sizeof(reply), "write 0x%llx %zu %s",
		(unsigned long long)(vm->bar2 + offset), n, hex);
}

/*
 * Acknowledges the message in the slot at offset slot: the length back to 0 and our ID as its
 * last responder, in one qtest write. The server takes our ID alone for the acknowledgment and
 * may write its next message at once: a length written one qtest round trip after the ID would
 * erase that message (a driver's two stores are nanoseconds apart, ours would be milliseconds).
 */
static void ack_slot(QVm *vm, uint64_t slot)
{
	_Static_assert(MAILBOX_SLOT_PEER_ID == MAILBOX_SLOT_MSG_LEN + 8 &&
			       MAILBOX_SLOT_LAST_RESPONDER == MAILBOX_SLOT_MSG_LEN + 16,
		       "length, peer ID and last responder follow each other");
	uint64_t words[3] = { 0, qvm_shm_read(vm, slot + MAILBOX_SLOT_PEER_ID),
			      qvm_ivposition(vm) };
	const uint8_t *bytes = (const uint8_t *)words;
	char hex[2 + 2 * sizeof(words) + 1] = "0x", reply[16];

	for (size_t i = 0; i < sizeof(words); i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", bytes[i]);
	command(vm, reply, sizeof(reply), "write 0x%llx %zu %s",
		(unsigned long long)(vm->bar2 + slot + MAILBOX_SLOT_MSG_LEN), sizeof(words), hex);
}

void qvm_mail_receive(QVm *vm, unsigned from, char *text, size_t size)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;
	uint64_t slot = (uint64_t)from * MAILBOX_SLOT_SIZE;

	ck_assert_msg(qvm_wait_pending(vm, from, TESTLIB_WAIT_MS), "no ring from %u", from);
	while (qvm_shm_read(vm, slot + MAILBOX_SLOT_MSG_LEN) == 0) {
		ck_assert_msg(testlib_now_usec() < deadline, "%u rang; its slot stayed empty", from);
		usleep(1000);
	}
	qvm_shm_read_string(vm, slot + MAILBOX_MSG_OFFSET, text, size);
	ack_slot(vm, slot);
}

void qvm_mail_send(QVm *vm, unsigned dest, const char *text)
{
	uint32_t own = qvm_ivposition(vm);
	uint64_t slot = (uint64_t)own * MAILBOX_SLOT_SIZE;
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	/* The receiver frees our slot once it read the last message. */
	while (qvm_shm_read(vm, slot + MAILBOX_SLOT_MSG_LEN) != 0) {
		ck_assert_msg(testlib_now_usec() < deadline, "%u left our slot full", dest);
		usleep(1000);
	}
	qvm_shm_write_string(vm, slot + MAILBOX_MSG_OFFSET, text);
	qvm_shm_write(vm, slot + MAILBOX_SLOT_MSG_LEN, strlen(text));
	qvm_ring(vm, dest, own);
}
