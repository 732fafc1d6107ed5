/* SPDX-License-Identifier: MIT */
/*
 * Real Linux guests: Debian's own kernel under QEMU (TCG) boots an initramfs with the
 * famez_bridge module (tests/guest/build-guest.sh builds it, with W=1 and sparse clean), loads it
 * and runs a guest-side script (tests/guest/NAME.sh) whose "famez-guest: " lines on the serial
 * console the test reads.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "guest.h"
#include "testlib.h"

static Famezd famezd;

static Guest guests[3];

static void teardown(void)
{
	for (size_t i = 0; i < ELEMENTSOF(guests); i++)
		guest_kill(&guests[i]);
	testlib_teardown();
}

/* The counts of a "famez-guest: interrupts A B C ..." line, one per vector. */
static int guest_interrupts(Guest *g, unsigned long counts[], int max)
{
	char *text = testlib_read_file(g->serial), *p;
	int n = 0;

	/* The line after the host rang, not the "interrupts before" one. */
	for (p = text; p && (p = strstr(p, "famez-guest: interrupts ")); p++)
		if (p[strlen("famez-guest: interrupts ")] >= '0' &&
		    p[strlen("famez-guest: interrupts ")] <= '9')
			break;
	ck_assert_msg(p, "no interrupts line: %s", text);
	p += strlen("famez-guest: interrupts ");
	while (n < max && *p && *p != '\n') {
		char *end;

		counts[n++] = strtoul(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	free(text);
	return n;
}

/*
 * Fabric mode: the bridge finds the mailbox, takes its 16 vectors, and of a host peer's rings on
 * every vector takes only the one on the vector that names that peer (authenticated doorbells).
 * The guest waits for that very ring; the host's message after all its rings is the barrier for
 * the others.
 */
START_TEST(test_guest_binds_the_fabric_and_takes_authentic_rings)
{
	static const char *const device[] = {
		"-chardev", NULL, "-device", "ivshmem-doorbell,chardev=iv,vectors=16", NULL
	};
	const char *dev[5];
	char chardev[512], out[256];
	unsigned long counts[16];
	pid_t ringer;

	guest_prepare();
	famezd_start(&famezd, NULL);
	snprintf(chardev, sizeof(chardev), "socket,id=iv,path=%s", famezd.socket_path);
	memcpy(dev, device, sizeof(dev));
	dev[1] = chardev;
	guest_boot(&guests[0], 0, "rings", dev);
	guest_wait_for(&guests[0], "famez-guest: waiting for the ringer", 300000);
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: id 1 server_id 15 vectors 16 fabric 1"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: device /dev/famez_bridge_"));

	/*
	 * famez-client is ID 2: it rings every vector of the guest, then ends with a message. A
	 * ring makes the guest read the ringer's slot (@1024), whoever the message there is for:
	 * first the ringer's conversation with the server (its attributes, asked at join) is done
	 * with, and its slot empty.
	 */
	ringer = famez_client_start_as(famezd.socket_path, "ringer", "ringer",
				       "ping server 60; wait-mem 1088 0 60; int 1 all; "
				       "wait-msg 1 300; send 1 that was all",
				       out, sizeof(out));
	ck_assert_msg(testlib_wait(ringer, 310000) == 0, "%s", testlib_show(out));
	ck_assert(testlib_file_contains(out, "vm0@1: rings counted"));
	guest_finish(&guests[0]);
	ck_assert_msg(testlib_file_contains(guests[0].serial, "famez-guest: got 2:that was all"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert_int_eq(guest_interrupts(&guests[0], counts, 16), 16);
	ck_assert_uint_ge(counts[2], 1);
	for (int v = 0; v < 16; v++)
		if (v != 2 && v != 15) /* the server may ring on 15 */
			ck_assert_msg(counts[v] == 0, "vector %d rang %lu times", v, counts[v]);
	famezd_stop(&famezd);
}
END_TEST

/* Fills the QEMU arguments of a guest on famezd's socket (chardev holds the path). */
static void fabric_device(const char *dev[5], char chardev[512])
{
	snprintf(chardev, 512, "socket,id=iv,path=%s", famezd.socket_path);
	dev[0] = "-chardev";
	dev[1] = chardev;
	dev[2] = "-device";
	dev[3] = "ivshmem-doorbell,chardev=iv,vectors=16";
	dev[4] = NULL;
}

/*
 * The bridge configures itself with no help from userspace (Link RFC, CTL-Write, Standalone
 * Acknowledgment, attributes), then talks through FAME-Z's text API to the server and to a host
 * peer, both ways.
 */
START_TEST(test_guest_is_configured_and_talks_through_the_text_api)
{
	char chardev[512], out[256];
	const char *dev[5];
	pid_t host;
	int status;

	guest_prepare();
	famezd_start(&famezd, NULL);
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "talk", dev);
	guest_wait_for(&guests[0], "famez-guest: nodename ", 300000);
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: link configured cid 100 sid 27 pfm_cid "
					    "1500 pfm_sid 27"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "cclass Bridge"));
	guest_wait_for(&guests[0], "famez-guest: waiting for the host", 120000);
	ck_assert_msg(testlib_file_contains(guests[0].serial, "famez-guest: got 1500,27:pong"),
		      "%s", testlib_show(guests[0].serial));

	/* famez-client (ID 2, not configured: the guest sees it as "2") and the guest talk. */
	host = famez_client_start(famezd.socket_path, "host",
				  "send 1 hello from the host; wait-msg 1 300", out, sizeof(out));
	ck_assert_int_eq(testlib_wait(host, 310000), 0);
	ck_assert_msg(testlib_file_contains(out, "vm0@1: hello from the guest"), "%s",
		      testlib_show(out));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: got 2:hello from the host"));
	guest_finish(&guests[0]);
	ck_assert(testlib_file_contains(guests[0].serial, "dropped 0 malformed 0"));
	famezd_stop(&famezd);
	/* The server saw it configured and took its attributes. */
	ck_assert_msg(testlib_file_contains(famezd.log_path, "configured: SID 27, CID 100"), "%s",
		      testlib_show(famezd.log_path));
	ck_assert(testlib_file_contains(famezd.log_path, "is a Bridge (SID0 27, CID0 100)"));
	(void)status;
}
END_TEST

/*
 * A hostile host peer (ID 2) first rings the guest for a message its slot names for another peer
 * (as a late ring finds one): left alone, counted spurious, never read (the guest's first message
 * is the honest one). It then fills its slot with lengths past the slot, text without its NUL,
 * bytes that are not ASCII, then rings the guest thousands of times with nothing in it: the
 * guest counts all of it, its kernel does not complain, and an honest message still arrives.
 * The hostile peer waits for each piece of garbage to be acknowledged (length 0) before the next,
 * and for the guest to say it counted the empty rings before its honest message.
 */
START_TEST(test_guest_survives_a_hostile_peer)
{
	/*
	 * Peer 2's slot: length @1024+64, text @1024+128. First the server's question (its
	 * attributes, asked at join) and our answer are done with: after the pong nothing but the
	 * garbage is in our slot, and only the guest acknowledges it.
	 */
	static const char garbage[] =
		"ping server 60; wait-mem 1088 0 60; "
		/* "AA" named for peer 7 (byte 111): left alone, until the guest says so */
		"write 1128 0x0700000000000000; write 1152 0x4141; write 1088 2; int 1 2; "
		"wait-msg 1 300; write 1088 0; write 1128 0; "
		"write 1088 100000; int 1 2; wait-mem 1088 0 120; "
		"write 1152 0x4141414141414141; write 1160 0x4141414141414141; write 1088 8; "
		"int 1 2; wait-mem 1088 0 120; "
		"write 1152 0x0000000000ff4141; write 1088 3; int 1 2; wait-mem 1088 0 120; "
		"write 1088 0xffffffffffffffff; int 1 2; wait-mem 1088 0 120; ";
	char chardev[512], out[256], *commands;
	const char *dev[5];
	unsigned long counts[16];
	size_t len = sizeof(garbage) + 3000 * 10 + 64;
	pid_t hostile;

	guest_prepare();
	famezd_start(&famezd, NULL);
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "hostile", dev);
	guest_wait_for(&guests[0], "famez-guest: ready", 300000);

	commands = malloc(len);
	ck_assert_ptr_nonnull(commands);
	strcpy(commands, garbage);
	for (int i = 0; i < 3000; i++)
		strcat(commands, "int 1 2; ");
	strcat(commands, "wait-msg 1 300; send 1 honest");
	hostile = famez_client_start_as(famezd.socket_path, "hostile", "hostile", commands, out,
					sizeof(out));
	free(commands);
	ck_assert_msg(testlib_wait(hostile, 600000) == 0, "%s", testlib_show(out));
	ck_assert_msg(testlib_file_contains(out, "vm0@1: left alone"), "%s", testlib_show(out));
	ck_assert(testlib_file_contains(out, "vm0@1: empty rings counted"));
	guest_finish(&guests[0]);
	ck_assert_msg(testlib_file_contains(guests[0].serial, "famez-guest: got 2:honest"), "%s",
		      testlib_show(guests[0].serial));
	ck_assert_int_eq(guest_interrupts(&guests[0], counts, 16), 16);
	ck_assert_uint_ge(counts[2], 5);
	{
		char *text = testlib_read_file(guests[0].serial);
		char *p = strstr(text, "famez-guest: counters malformed ");
		unsigned long malformed, spurious;

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(sscanf(p, "famez-guest: counters malformed %lu spurious %lu",
					&malformed, &spurious),
				 2);
		ck_assert_uint_ge(malformed, 3);
		ck_assert_uint_ge(spurious, 2);
		free(text);
	}
	famezd_stop(&famezd);
}
END_TEST

static void guest_wait_all(int n)
{
	for (int i = 0; i < n; i++)
		guest_finish(&guests[i]);
}

/* Two guests on one fabric talk both ways: famez-client over the bridge, and the text API. */
START_TEST(test_two_guests_talk)
{
	char chardev[512];
	const char *dev[5];

	guest_prepare();
	famezd_start(&famezd, NULL);
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "pair", dev);
	guest_wait_for(&guests[0], "famez-guest: module loaded", 300000);
	guest_boot(&guests[1], 1, "pair", dev);
	guest_wait_all(2);
	ck_assert_msg(testlib_file_contains(guests[1].serial, "famez-guest: got 100,27:hello from "
							      "guest 1"),
		      "%s", testlib_show(guests[1].serial));
	ck_assert(testlib_file_contains(guests[1].serial, "famez-guest: answered 100,27"));
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: client: vm1@2: hello from guest 2"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "client: pong from Z-switch@15 in "));
	ck_assert(testlib_file_contains(guests[0].serial,
					"client: id 15 nodename Z-switch cclass FabricSwitch cid "
					"1500 sid 27 (server)"));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: peer 2 vm1 Bridge 200 27"));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: client exit 0"));
	famezd_stop(&famezd);
}
END_TEST

/* Plain doorbells: two guests ring each other through the ioctl and an eventfd. */
START_TEST(test_two_guests_ring_each_other_in_ivshmem_mode)
{
	char chardev[512];
	const char *dev[5];

	guest_prepare();
	famezd_start(&famezd, (const char *[]){ "--mode", "ivshmem", "--vectors", "4", NULL });
	fabric_device(dev, chardev);
	dev[3] = "ivshmem-doorbell,chardev=iv,vectors=4";
	guest_boot(&guests[0], 0, "pingpong", dev);
	guest_wait_for(&guests[0], "famez-guest: module loaded", 300000);
	guest_boot(&guests[1], 1, "pingpong", dev);
	guest_wait_all(2);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(testlib_file_contains(guests[i].serial, "famez-guest: client exit 0"),
			      "%s", testlib_show(guests[i].serial));
		ck_assert(testlib_file_contains(guests[i].serial, "vectors 4 fabric 0"));
	}
	famezd_stop(&famezd);
}
END_TEST

/* rmmod and insmod while the fabric is live (and a host peer talks): configured again. */
START_TEST(test_guest_reloads_the_module_on_a_live_fabric)
{
	char chardev[512], out[256];
	const char *dev[5];
	pid_t host;

	guest_prepare();
	famezd_start(&famezd, NULL);
	/* The host pings the server before the guest boots and after it reloaded its module. */
	host = famez_client_start_as(famezd.socket_path, "host", "host",
				     "ping server 60; wait-msg 1 600; ping server 60", out, sizeof(out));
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "reload", dev);
	guest_finish(&guests[0]);
	ck_assert_msg(testlib_file_contains(guests[0].serial, "famez-guest: second link configured"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: removed"));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: got 1500,27:pong"));
	ck_assert_msg(testlib_wait(host, 120000) == 0, "%s", testlib_show(out));
	ck_assert(testlib_file_contains(out, "again@2: reloaded"));
	ck_assert_uint_eq(testlib_count(out, "pong from Z-switch@15"), 2);
	famezd_stop(&famezd);
	ck_assert(testlib_file_contains(famezd.log_path, "again@2 is a Bridge"));
}
END_TEST

/* A guest killed in the middle of a stream of messages costs the others nothing. */
START_TEST(test_guest_killed_mid_message_costs_the_others_nothing)
{
	char chardev[512], out[256];
	const char *dev[5];

	guest_prepare();
	famezd_start(&famezd, NULL);
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "stream", dev);
	guest_wait_for(&guests[0], "famez-guest: module loaded", 300000);
	guest_boot(&guests[1], 1, "stream", dev);
	guest_wait_for(&guests[0], "famez-guest: streaming", 300000);
	guest_wait_for(&guests[1], "famez-guest: read 20", 300000);
	guest_kill(&guests[0]);
	/* A host peer (it gets ID 1 back) pings the server and writes to the other guest. */
	famez_client_run(famezd.socket_path, "host", "ping server 60; send 2 after the kill", out,
			 sizeof(out));
	guest_finish(&guests[1]);
	ck_assert_msg(testlib_file_contains(guests[1].serial, ":after the kill"), "%s",
		      testlib_show(guests[1].serial));
	ck_assert(!testlib_file_contains(guests[1].serial, "read 0 then"));
	famezd_stop(&famezd);
}
END_TEST

/*
 * ivshmem-plain has no interrupts: a memory-only bridge, still a device node. Beside it on the
 * same guest a doorbell device on famezd: two devices, two bridges.
 */
START_TEST(test_guest_plain_device_is_memory_only)
{
	char chardev[512];
	const char *device[] = {
		"-object", "memory-backend-memfd,id=m,size=1M,share=on",
		"-device", "ivshmem-plain,memdev=m",
		"-chardev", chardev, "-device", "ivshmem-doorbell,chardev=iv,vectors=16", NULL
	};

	guest_prepare();
	famezd_start(&famezd, NULL);
	snprintf(chardev, sizeof(chardev), "socket,id=iv,path=%s", famezd.socket_path);
	guest_boot(&guests[0], 0, "probe", device);
	guest_finish(&guests[0]);
	/* The first bridge is the plain one: the guest said what it found and stopped there. */
	ck_assert_msg(testlib_file_contains(guests[0].serial, "server_id 0 vectors 0 fabric 0"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "id 1 server_id 15 vectors 16 fabric 1"));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: device /dev/famez_bridge_02"));
	ck_assert(testlib_file_contains(guests[0].serial, "famez-guest: device /dev/famez_bridge_03"));
	famezd_stop(&famezd);
}
END_TEST

/*
 * The bridge against a local user and a hostile peer, as a review of the driver found it:
 * nobody may open or rename it, names that are not ASCII are neither taken nor shown, a
 * zero-length read() keeps the waiting message, fabric=1 finds the mailbox and a bad nodename= is
 * not taken, writers waiting on a busy slot do not hold up the device's removal, and mmap() honours
 * its offset, refuses private and out-of-range mappings and takes its pages back when the device
 * goes.
 */
START_TEST(test_guest_bridge_resists_users_and_peers)
{
	char chardev[512], out[256];
	const char *dev[5];
	pid_t hostile;
	const char *const want[] = {
		"famez-guest: device mode 600",
		"famez-guest: nobody opens the device: refused",
		"famez-guest: nobody renames the bridge: refused",
		"famez-guest: nobody reads the peers: allowed",
		"famez-guest: a nodename that is not ASCII is refused",
		"famez-guest: read-zero: read(0) returned 0",
		"famez-guest: read-zero: then got 2:hello",
		"famez-guest: peer 2 is AAAA???",
		"famez-guest: fabric=1 gives fabric 1 nodename bridge.02",
		"famez-guest: 3 writers wait",
		"famez-guest: unbind with 3 writers waiting took under 2 s",
		"famez-guest: mmap: whole mapped, second page mapped",
		"famez-guest: mmap: the page at 4096 is the same memory",
		"famez-guest: mmap: private Invalid argument",
		"famez-guest: mmap: past the end Invalid argument",
		"famez-guest: mmap: after unbind SIGBUS",
	};

	guest_prepare();
	famezd_start(&famezd, NULL);
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "attacker", dev);
	guest_wait_for(&guests[0], "famez-guest: ready", 300000);

	/* Its nodename (slot 2 @1024) becomes "AAAA" and three bytes that are not ASCII. */
	hostile = famez_client_start_as(famezd.socket_path, "hostile", "hostile",
					"write 1024 0x00c3c3c341414141; send 1 hello; wait-msg 1 300",
					out, sizeof(out));
	ck_assert_msg(testlib_wait(hostile, 310000) == 0, "%s", testlib_show(out));
	guest_finish(&guests[0]);
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_msg(testlib_file_contains(guests[0].serial, want[i]), "no '%s': %s",
			      want[i], testlib_show(guests[0].serial));
	ck_assert(testlib_count(guests[0].serial, "famez-guest: writer ") == 3);
	famezd_stop(&famezd);
}
END_TEST

/*
 * One guest, two fabric devices, each on another switch of one famezd (docs/switches.md): two
 * bridges, each configured by its own switch with that switch's SID, each seen by that switch
 * alone, each reached by a host peer of its own switch.
 */
START_TEST(test_guest_bridges_on_two_switches)
{
	char dir[300], conf[320], lab_socket[300], dflt_chardev[512], lab_chardev[512], text[512],
		out_dflt[256], out_lab[256];
	const char *device[] = { "-chardev", dflt_chardev,
				 "-device",  "ivshmem-doorbell,chardev=dflt,vectors=16,addr=04.0",
				 "-chardev", lab_chardev,
				 "-device",  "ivshmem-doorbell,chardev=lab,vectors=16,addr=05.0",
				 NULL };
	FILE *f;

	guest_prepare();
	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(conf, sizeof(conf), "%s/lab.conf", dir);
	snprintf(lab_socket, sizeof(lab_socket), "%s/lab.sock", testlib_tmpdir());
	snprintf(text, sizeof(text), "[Switch]\nSocket=%s\nSID=28\n", lab_socket);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	famezd_start(&famezd, (const char *[]){ "--switches-dir", dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch lab: listening on ",
				TESTLIB_WAIT_MS);

	snprintf(dflt_chardev, sizeof(dflt_chardev), "socket,id=dflt,path=%s", famezd.socket_path);
	snprintf(lab_chardev, sizeof(lab_chardev), "socket,id=lab,path=%s", lab_socket);
	guest_boot(&guests[0], 0, "switches", device);
	guest_wait_for(&guests[0], "famez-guest: waiting for the host", 300000);
	/* Slot 04 is on the default switch (SID 27), slot 05 on lab (SID 28). */
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: bridge 04 link configured cid 100 sid 27 "
					    "pfm_cid 1500 pfm_sid 27"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: bridge 05 link configured cid 100 sid 28 "
					    "pfm_cid 1500 pfm_sid 28"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert_uint_eq(testlib_count(guests[0].serial, "famez-guest: device "), 2);
	ck_assert(testlib_file_contains(guests[0].serial,
					"famez-guest: device /dev/famez_bridge_04"));
	ck_assert(testlib_file_contains(guests[0].serial,
					"famez-guest: device /dev/famez_bridge_05"));

	/* Each switch sees the guest's bridge as its ID 1, configured with its own SID. */
	famez_client_run(famezd.socket_path, "default", "who; send 1 for the default bridge",
			 out_dflt, sizeof(out_dflt));
	famez_client_run(lab_socket, "lab", "who; send 1 for the lab bridge", out_lab,
			 sizeof(out_lab));
	ck_assert_msg(
		testlib_file_contains(out_dflt, "id 1 nodename vm0 cclass Bridge cid 100 sid 27\n"),
		"%s", testlib_show(out_dflt));
	ck_assert_msg(
		testlib_file_contains(out_lab, "id 1 nodename vm0 cclass Bridge cid 100 sid 28\n"),
		"%s", testlib_show(out_lab));
	guest_finish(&guests[0]);
	ck_assert_msg(testlib_file_contains(guests[0].serial,
					    "famez-guest: 04 got 2:for the default bridge"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial,
					"famez-guest: 05 got 2:for the lab bridge"));
	famezd_stop(&famezd);
	ck_assert_msg(
		testlib_file_contains(famezd.log_path, "famezd: vm0@1 configured: SID 27, CID 100"),
		"%s", testlib_show(famezd.log_path));
	ck_assert(testlib_file_contains(famezd.log_path,
					"famezd: switch lab: vm0@1 configured: SID 28, CID 100"));
}
END_TEST

/* Writes DIR/NAME.conf: a fabric switch on <tmpdir>/NAME.sock, with `body` after its socket. */
static void write_switch(const char *dir, const char *name, const char *body)
{
	char conf[320];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, name);
	f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Switch]\nSocket=%s/%s.sock\n%s", testlib_tmpdir(), name, body);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Two guests on linked switches, a - b - c (docs/switches.md): the guest on a writes to the one
 * on c by CID,SID and gets its answer, through b, with the shell text API; a write to a subnet
 * nobody routes to fails with EHOSTUNREACH; famezctl topology shows both bridges configured.
 */
START_TEST(test_two_guests_talk_across_linked_switches)
{
	char dir[300], chardev[2][512], topology[300], out[300], a_socket[300];
	const char *dev[2][5] = {
		{ "-chardev", chardev[0], "-device", "ivshmem-doorbell,chardev=fz,vectors=16", NULL },
		{ "-chardev", chardev[1], "-device", "ivshmem-doorbell,chardev=fz,vectors=16", NULL },
	};
	const char *args[] = { "--bus", "system", "--switches-dir", dir, NULL };
	char *const famezctl[] = { getenv("FAMEZCTL"), "topology", NULL };

	guest_prepare();
	testlib_start_private_bus();
	snprintf(dir, sizeof(dir), "%s/switches.d", testlib_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_switch(dir, "a", "SID=28\nLink=16:b:16\n");
	write_switch(dir, "b", "SID=28\nLink=17:c:16\n");
	write_switch(dir, "c", "SID=29\n");
	famezd_start(&famezd, args);
	testlib_wait_for_output(famezd.log_path, "famezd: switch c: listening on ",
				TESTLIB_WAIT_MS);
	snprintf(a_socket, sizeof(a_socket), "%s/a.sock", testlib_tmpdir());
	snprintf(chardev[0], sizeof(chardev[0]), "socket,id=fz,path=%s", a_socket);
	snprintf(chardev[1], sizeof(chardev[1]), "socket,id=fz,path=%s/c.sock", testlib_tmpdir());
	guest_boot(&guests[0], 0, "links", dev[0]);
	guest_wait_for(&guests[0], "famez-guest: module loaded", 300000);
	guest_boot(&guests[1], 1, "links", dev[1]);
	guest_wait_for(&guests[1], "famez-guest: link configured ", 300000);
	guest_wait_for(&guests[0], "famez-guest: waiting for the host", 300000);

	/* Both bridges, configured, each on its own switch, in the picture of the fabric. */
	snprintf(topology, sizeof(topology), "%s/topology.out", testlib_tmpdir());
	snprintf(out, sizeof(out), "%s/topology.err", testlib_tmpdir());
	ck_assert_msg(testlib_run(famezctl, topology, out, TESTLIB_WAIT_MS) == 0, "%s",
		      testlib_show(out));
	ck_assert_msg(testlib_file_contains(topology, "vm0, Bridge, CID 100, SID 28, configured"),
		      "%s", testlib_show(topology));
	ck_assert_msg(testlib_file_contains(topology, "vm1, Bridge, CID 100, SID 29, configured"),
		      "%s", testlib_show(topology));

	/* Go: the guest on a is peer 1 of a. */
	snprintf(out, sizeof(out), "%s/go.out", testlib_tmpdir());
	famez_client_run(a_socket, "go", "send 1 go", out, sizeof(out));
	guest_wait_all(2);
	ck_assert_msg(
		testlib_file_contains(guests[0].serial, "famez-guest: unroutable write refused: "),
		"%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "No route to host"));
	ck_assert(testlib_file_contains(guests[0].serial, "route_refused 1 "));
	ck_assert_msg(testlib_file_contains(guests[1].serial,
					    "famez-guest: got 100,28:hello across the fabric"),
		      "%s", testlib_show(guests[1].serial));
	ck_assert(testlib_file_contains(guests[1].serial, "famez-guest: answered 100,28"));
	ck_assert_msg(testlib_file_contains(guests[0].serial, "famez-guest: got 100,29:hello back"),
		      "%s", testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[1].serial, "routed_received 1"));
	famezd_stop(&famezd);
}
END_TEST

/*
 * The bridge as a Gen-Z component (docs/fabric.md, "Control space") on a switch an external
 * manager configures: its structures in sysfs (control/core@0x0: C-Class bridge, C-CFG);
 * control requests it answers, from the host (a manager on its switch, directly) and directed
 * from itself; what a manager's writes of CV, CID0 and SID0 change (its IDs, C-Up, what famezd
 * learns), what is refused and why (ReadOnly, TagReused, Malformed); directed messages through
 * the text API, a routed write its SSDT refuses, and a relay the switch's manager disabled.
 */
START_TEST(test_guest_bridge_is_a_genz_component)
{
	const char *const options[] = { "--nodename", "mgr", "-v", NULL };
	const char *const want[] = {
		"famez-guest: core size 512 read 512 type 0010 cclass 14 maxinterface 01 cstate 01",
		"famez-guest: files component_destination_table@0x400 core@0x0 interface0@0x1000 "
		"msdt@0x80000 ssdt@0x40000",
		"famez-guest: tables 16384 16384 cdt 64",
		"famez-guest: interface istate 02 peer class 05 port 01 cstate 01",
		"famez-guest: directed to itself: dr:1:CTL-Read-Response Tag=11,Data=14000100",
		"famez-guest: directed to the switch: dr::CTL-Read-Response Tag=12,"
		"Data=0010200000000000",
		"famez-guest: configured link configured cid 1000 sid 28 cstate 02 maxinterface 01",
		"famez-guest: ssdt 1 00000000 2000 00010000",
		"famez-guest: unrouted write refused: ",
		"famez-guest: routed write refused by the switch: ",
		"famez-guest: relay off: dr::Standalone Acknowledgment Tag=13,Reason=OK",
		"famez-guest: directed write refused: ",
		/*
		 * Requests: its own read and the manager's eight, five refused; directed: its read
		 * and its answer to itself, the switch's read, the relay's write and the refused
		 * ping; received: its own read and answer, the switch's two answers. Routes: one
		 * refused here, by its SSDT, two by the switch (no route, relay disabled).
		 */
		"famez-guest: counters control_requests 9 control_refused 5 directed 5 "
		"directed_received 4 route_missing 1 route_refused 2 malformed 0",
	};
	const char *const answers[] = {
		"vm0@1: Standalone Acknowledgment Tag=5,Reason=OK",
		"vm0@1: Standalone Acknowledgment Tag=6,Reason=OK",
		"vm0@1: Standalone Acknowledgment Tag=7,Reason=ReadOnly",
		"vm0@1: Standalone Acknowledgment Tag=5,Reason=TagReused",
		"vm0@1: Standalone Acknowledgment Tag=8,Reason=Malformed",
		"vm0@1: Standalone Acknowledgment Tag=9,Reason=Unsupported",
		"vm0@1: Standalone Acknowledgment Tag=10,Reason=OutOfRange",
		"vm0@1: Standalone Acknowledgment Tag=14,Reason=OK",
	};
	char chardev[512], out[256];
	const char *dev[5];
	pid_t mgr;

	guest_prepare();
	famezd_start(&famezd, (const char *[]){ "--managed-by=external", NULL });
	fabric_device(dev, chardev);
	guest_boot(&guests[0], 0, "control", dev);
	guest_wait_for(&guests[0], "famez-guest: waiting for the host", 300000);

	/*
	 * The manager, ID 2: CV 1 with CID0 1000, then SID0 28; MaxInterface (read-only) 2; a tag
	 * used again; a read without its Length; an SSDT entry for CID 1 by interface 1 (a bridge
	 * has interface 0 alone); a read between the core and the destination table; the SSDT
	 * entry for CID 2000, valid by interface 0. Each answer rings it once on the guest's
	 * vector.
	 */
	mgr = famez_client_start_with(
		famezd.socket_path, "mgr", options,
		"send 1 CTL-Write Offset=0xc0,Data=01e80300,Tag=5; "
		"wait-int 1 1 120; "
		"send 1 CTL-Write Offset=0xb8,Data=1c00,Tag=6; wait-int 1 1 120; "
		"send 1 CTL-Write Offset=0x18,Data=14000200,Tag=7; "
		"wait-int 1 1 120; "
		"send 1 CTL-Read Offset=0x0,Length=4,Tag=5; wait-int 1 1 120; "
		"send 1 CTL-Read Offset=0x0,Tag=8; wait-int 1 1 120; "
		"send 1 CTL-Write Offset=0x40004,Data=00011000,Tag=9; wait-int 1 1 120; "
		"send 1 CTL-Read Offset=0x200,Length=4,Tag=10; wait-int 1 1 120; "
		"send 1 CTL-Write Offset=0x41f40,Data=00010000,Tag=14; wait-int 1 1 120",
		out, sizeof(out));
	ck_assert_msg(testlib_wait(mgr, 700000) == 0, "%s", testlib_show(out));
	for (size_t i = 0; i < ELEMENTSOF(answers); i++)
		ck_assert_msg(testlib_file_contains(out, answers[i]), "no '%s': %s", answers[i],
			      testlib_show(out));
	guest_finish(&guests[0]);
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_msg(testlib_file_contains(guests[0].serial, want[i]), "no '%s': %s",
			      want[i], testlib_show(guests[0].serial));
	ck_assert(testlib_file_contains(guests[0].serial, "No route to host"));
	ck_assert(testlib_file_contains(guests[0].serial, "Network is down"));
	famezd_stop(&famezd);
	/* It told its switch its new IDs: famezd asked back, and took them. */
	ck_assert_msg(
		testlib_file_contains(famezd.log_path, "vm0@1 is a Bridge (SID0 28, CID0 1000)"),
		"%s", testlib_show(famezd.log_path));
}
END_TEST

/* The text after `key` on the line of g's serial console that has it, into out. */
static void serial_value(Guest *g, const char *key, char *out, size_t size)
{
	char *text = testlib_read_file(g->serial), *p = strstr(text, key);

	ck_assert_msg(p, "no '%s': %s", key, testlib_show(g->serial));
	p += strlen(key);
	snprintf(out, size, "%.*s", (int)strcspn(p, " \r\n"), p);
	free(text);
}

/*
 * famez-fm inside a guest, through its bridge (docs/famez-fm.1): two switches a - b that wait for
 * an external manager, a guest on each and the manager's guest on a. It discovers both switches
 * and both guests by directed relay, gives them CIDs (their sysfs shows them) and routes; then
 * the guest on a, told by the manager the far guest's CID,SID, writes to it along those routes
 * and gets its answer.
 */
START_TEST(test_famez_fm_in_a_guest_configures_the_fabric)
{
	char chardev[2][512], a_socket[300], near[32], far[32], want[128];
	const char *dev[2][5] = {
		{ "-chardev", chardev[0], "-device", "ivshmem-doorbell,chardev=fz,vectors=16",
		  NULL },
		{ "-chardev", chardev[1], "-device", "ivshmem-doorbell,chardev=fz,vectors=16",
		  NULL },
	};
	const char *const fm_lines[] = {
		"famez-guest: fm: component self Bridge 100,28 CID 100 SID 28, 1 interface",
		"famez-guest: fm: component dr: FabricSwitch ",
		"famez-guest: fm: component dr:16 FabricSwitch ",
		"famez-guest: fm: fabric: 5 components (2 switches), 4 links, 0 failed",
		"famez-guest: fm: time: discovery ",
		"famez-guest: fm exit 0",
		"famez-guest: manager link configured cid 100 sid 28",
	};
	const char *dir;

	guest_prepare();
	dir = testlib_write_switch("a", 14, "ManagedBy=external\nLink=16:b:16\n");
	testlib_write_switch("b", 14, "ManagedBy=external\n");
	famezd_start(&famezd, (const char *[]){ "--switches-dir", dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch b: listening on ",
				TESTLIB_WAIT_MS);
	snprintf(a_socket, sizeof(a_socket), "%s/a.sock", testlib_tmpdir());
	snprintf(chardev[0], sizeof(chardev[0]), "socket,id=fz,path=%s", a_socket);
	snprintf(chardev[1], sizeof(chardev[1]), "socket,id=fz,path=%s/b.sock", testlib_tmpdir());
	/* The two to be managed first, so that the manager finds them up. */
	guest_boot(&guests[1], 1, "fmtalk", dev[0]);
	guest_boot(&guests[2], 2, "fmtalk", dev[1]);
	guest_wait_for(&guests[1], "famez-guest: ready", 300000);
	guest_wait_for(&guests[2], "famez-guest: ready", 300000);
	guest_boot(&guests[0], 0, "fm", dev[0]);
	guest_wait_all(3);

	for (size_t i = 0; i < ELEMENTSOF(fm_lines); i++)
		ck_assert_msg(testlib_file_contains(guests[0].serial, fm_lines[i]), "no '%s': %s",
			      fm_lines[i], testlib_show(guests[0].serial));
	/* What it gave each (as its own output says) is what each guest's sysfs says. */
	serial_value(&guests[0], "famez-guest: near ", near, sizeof(near));
	serial_value(&guests[0], " far ", far, sizeof(far));
	ck_assert_msg(strstr(near, ",28") && strstr(far, ",28") && strcmp(near, far) != 0,
		      "near %s far %s: %s", near, far, testlib_show(guests[0].serial));
	snprintf(want, sizeof(want), "famez-guest: configured cid %.*s sid 28",
		 (int)strcspn(near, ","), near);
	ck_assert_msg(testlib_file_contains(guests[1].serial, want), "no '%s': %s", want,
		      testlib_show(guests[1].serial));
	snprintf(want, sizeof(want), "famez-guest: configured cid %.*s sid 28",
		 (int)strcspn(far, ","), far);
	ck_assert_msg(testlib_file_contains(guests[2].serial, want), "no '%s': %s", want,
		      testlib_show(guests[2].serial));
	/* Then they talk, by CID,SID along the manager's routes. */
	snprintf(want, sizeof(want), "famez-guest: got 100,28:go %s", far);
	ck_assert_msg(testlib_file_contains(guests[1].serial, want), "no '%s': %s", want,
		      testlib_show(guests[1].serial));
	snprintf(want, sizeof(want), "famez-guest: got %s:hello across", near);
	ck_assert_msg(testlib_file_contains(guests[2].serial, want), "no '%s': %s", want,
		      testlib_show(guests[2].serial));
	snprintf(want, sizeof(want), "famez-guest: got %s:hello back", far);
	ck_assert_msg(testlib_file_contains(guests[1].serial, want), "no '%s': %s", want,
		      testlib_show(guests[1].serial));
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest");
	TCase *tc = tcase_create("guest");

	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_guest_binds_the_fabric_and_takes_authentic_rings);
	tcase_add_test(tc, test_guest_plain_device_is_memory_only);
	tcase_add_test(tc, test_guest_is_configured_and_talks_through_the_text_api);
	tcase_add_test(tc, test_guest_survives_a_hostile_peer);
	tcase_add_test(tc, test_two_guests_talk);
	tcase_add_test(tc, test_two_guests_ring_each_other_in_ivshmem_mode);
	tcase_add_test(tc, test_guest_reloads_the_module_on_a_live_fabric);
	tcase_add_test(tc, test_guest_killed_mid_message_costs_the_others_nothing);
	tcase_add_test(tc, test_guest_bridge_resists_users_and_peers);
	tcase_add_test(tc, test_guest_bridges_on_two_switches);
	tcase_add_test(tc, test_two_guests_talk_across_linked_switches);
	suite_add_tcase(s, tc);
	/* Its own case: CK_RUN_CASE=control runs these alone. */
	tc = tcase_create("control");
	tcase_add_checked_fixture(tc, testlib_setup, teardown);
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_guest_bridge_is_a_genz_component);
	tcase_add_test(tc, test_famez_fm_in_a_guest_configures_the_fabric);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
