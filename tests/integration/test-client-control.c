/* SPDX-License-Identifier: MIT */
/*
 * famez-client as a Gen-Z component, with real famezd: two switches s1 - s2, both
 * ManagedBy=external, so nothing has a CID until a manager writes one. The manager is the test,
 * through famez-client A on s1 and its ctl-read and ctl-write: directed requests read and write
 * the switches' control spaces and that of famez-client B on s2, whose answers come back along
 * the path; a manager's write configures B; refusals carry their reason; and once the manager
 * wrote every CID, SID, relay and route, A pings B by its CID,SID, until a route is cleared.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

#define CLIENTS 4
/* The link's port on both switches: the first after the clients and the switch itself. */
#define LINK 6
#define LINK_S "6"
/* The subnet the manager gives everything, and the CIDs. */
#define SID 28
#define SID_HEX "1c00"
#define A_CID 100
#define B_CID 200
#define S1_CID 1000
#define S2_CID 2000

/* Core structure: CStatus (C-State in bits 0..2), C-Class, SID0, CV and CID0. */
#define CSTATUS 0x8
#define CCLASS 0x18
#define SID0 0xb8
#define CV_CID0 0xc0
/* Component Switch Structure at 0x200: PktRelayEnb, bit 48 of the word at 0x208. */
#define SWITCH_OPCTL 0x208
/* Interface 0 of a bridge: PeerInterfaceID (bytes 0x34, 0x35), PeerBaseCClass (0x36). */
#define IFACE0_PEER 0x1030
#define SSDT(cid) (0x40000 + (cid)*4)
#define LPRT(ingress, cid) (0x1000000 + (ingress)*0x4000 + (cid)*4)

static Famezd famezd;
static const char *switches_dir;

/* A famez-client fed commands one at a time; its output (stdout and stderr) in out. */
typedef struct Fed {
	pid_t pid;
	int commands;
	char out[256];
} Fed;

static void write_switch(const char *name, const char *body)
{
	switches_dir = testlib_write_switch(name, CLIENTS, body);
}

/* s1 - s2, each waiting for a manager. */
static void start_fabric(void)
{
	write_switch("s1", "ManagedBy=external\nLink=" LINK_S ":s2:" LINK_S "\n");
	write_switch("s2", "ManagedBy=external\nLink=" LINK_S ":s1:" LINK_S "\n");
	famezd_start(&famezd, (const char *[]){ "--switches-dir", switches_dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch s2: listening on ",
				TESTLIB_WAIT_MS);
}

/* Joins switch sw as nodename (verbose: with -v), once famez-client is on the fabric. */
static void join(Fed *c, const char *sw, const char *nodename, bool verbose)
{
	char socket[300];
	const char *options[] = { "--nodename", nodename, verbose ? "-v" : NULL, NULL };

	snprintf(socket, sizeof(socket), "%s/%s.sock", testlib_tmpdir(), sw);
	c->pid = famez_client_start_fed_with(socket, nodename, options, &c->commands, c->out,
					     sizeof(c->out));
	testlib_wait_for_output(c->out, "fabric nodename ", TESTLIB_WAIT_MS);
}

/* The clients leave (NULL ends the list), then famezd stops: a clean exit. */
static void stop_fabric(Fed *c, ...)
{
	va_list ap;

	va_start(ap, c);
	for (; c; c = va_arg(ap, Fed *)) {
		close(c->commands);
		testlib_stop(c->pid, TESTLIB_WAIT_MS);
	}
	va_end(ap);
	famezd_stop(&famezd);
}

/* Runs command and waits until needle appears once more in c's output. */
static void run(Fed *c, const char *command, const char *needle)
{
	unsigned n = testlib_count(c->out, needle);

	famez_client_feed(c->commands, command);
	testlib_wait_for_count(c->out, needle, n + 1, TESTLIB_WAIT_MS);
}

static void expect(const char *path, const char *needle)
{
	ck_assert_msg(testlib_file_contains(path, needle), "no '%s' in: %s", needle,
		      testlib_show(path));
}

/* ctl-write DEST OFFSET HEX, answered as result says ("OK", "refused: ReadOnly"). */
static void ctl_write(Fed *c, const char *dest, unsigned long offset, const char *hex,
		      const char *result)
{
	char command[400], needle[128];

	snprintf(command, sizeof(command), "ctl-write %s 0x%lx %s " TESTLIB_WAIT_S, dest, offset,
		 hex);
	snprintf(needle, sizeof(needle), "ctl-write %s 0x%lx: %s", dest, offset, result);
	run(c, command, needle);
}

/* A route entry of an SSDT or LPRT: valid, out of egress interface ei. */
static void write_route(Fed *c, const char *dest, unsigned long offset, unsigned ei)
{
	char hex[16];
	uint32_t v = 1u << 8 | ei << 20;

	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
		 v >> 24);
	ctl_write(c, dest, offset, hex, "OK");
}

/* A component's SID0, then CV with CID0 (4 bytes: CV, then CID0 in bits 8..19). */
static void write_ids(Fed *c, const char *dest, unsigned cid)
{
	char hex[16];

	ctl_write(c, dest, SID0, SID_HEX, "OK");
	snprintf(hex, sizeof(hex), "01%02x%02x00", cid & 0xff, cid >> 8);
	ctl_write(c, dest, CV_CID0, hex, "OK");
}

/*
 * ctl-read DEST OFFSET LENGTH: the bytes of its answer, the last line "ctl-read DEST
 * 0xOFFSET: HEX" of the output.
 */
static void ctl_read(Fed *c, const char *dest, unsigned long offset, unsigned len, uint8_t *data)
{
	char command[128], needle[128];
	char *text, *at = NULL, *p;

	snprintf(command, sizeof(command), "ctl-read %s 0x%lx %u " TESTLIB_WAIT_S, dest, offset,
		 len);
	snprintf(needle, sizeof(needle), "ctl-read %s 0x%lx: ", dest, offset);
	run(c, command, needle);
	text = testlib_read_file(c->out);
	ck_assert_ptr_nonnull(text);
	for (p = strstr(text, needle); p; p = strstr(p + 1, needle))
		at = p;
	at += strlen(needle);
	for (unsigned i = 0; i < len; i++) {
		unsigned byte;

		ck_assert_msg(sscanf(at + 2 * i, "%2x", &byte) == 1, "short answer: %s", at);
		data[i] = (uint8_t)byte;
	}
	ck_assert_msg(at[2 * len] == '\n', "long answer: %s", at);
	free(text);
}

/* The C-State of a component's core (CStatus bits 0..2) and its C-Class. */
static void expect_core(Fed *c, const char *dest, unsigned cclass, unsigned cstate)
{
	uint8_t core[64];

	ctl_read(c, dest, 0, sizeof(core), core);
	ck_assert_uint_eq(core[CCLASS] | core[CCLASS + 1] << 8, cclass);
	ck_assert_uint_eq(core[CSTATUS] & 7, cstate);
}

START_TEST(test_a_manager_reads_and_writes_along_paths)
{
	Fed a, b;
	uint8_t word[8];

	start_fabric();
	join(&a, "s1", "aye", false);
	join(&b, "s2", "bee", false);

	/* Our switch (dr:), the next one (dr:LINK) and B behind it, all C-CFG. */
	expect_core(&a, "dr:", 0x5, 1);
	expect_core(&a, "dr:" LINK_S, 0x5, 1);
	expect_core(&a, "dr:" LINK_S ".1", 0x14, 1);
	/* B's interface 0 leads to port 1 of a switch. */
	ctl_read(&a, "dr:" LINK_S ".1", IFACE0_PEER, 8, word);
	ck_assert_uint_eq(word[4] | (word[5] & 0xf) << 8, 1);
	ck_assert_uint_eq(word[6] | word[7] << 8, 0x5);

	/* The manager gives B its IDs: B is C-Up, and tells its switch. */
	write_ids(&a, "dr:" LINK_S ".1", B_CID);
	testlib_wait_for_output(b.out, "configured SID 28 CID 200 by a manager", TESTLIB_WAIT_MS);
	expect_core(&a, "dr:" LINK_S ".1", 0x14, 2);
	ctl_read(&a, "dr:" LINK_S ".1", CV_CID0, 4, word);
	ck_assert_uint_eq(word[0], 1);
	ck_assert_uint_eq(word[1] | (word[2] & 0xf) << 8, B_CID);
	testlib_wait_for_output(famezd.log_path, "bee@1 is a Debugger (SID0 28, CID0 200)",
				TESTLIB_WAIT_MS);
	run(&b, "who", "(us)");
	expect(b.out, "id 1 nodename bee cclass Debugger cid 200 sid 28 (us)");
	run(&b, "control core", "core@0x0:");
	expect(b.out, "  CID0=0xc8");
	expect(b.out, "  CState=0x2");

	/* Control requests answered are no messages: B printed none of them, and counted them. */
	run(&b, "dump", "fabric control ");
	expect(b.out, "fabric control C-Up answered 6 malformed 0 out-of-range 0 read-only 0 "
		      "tag-reused 0 unsupported 0 unmatched-responses 0");
	ck_assert(!testlib_file_contains(b.out, "CTL-Read"));

	/* Directed messages: along the path, and refused where it leads nowhere. */
	famez_client_feed(a.commands, "send dr:" LINK_S ".1 hello along");
	testlib_wait_for_output(b.out, "dr:" LINK_S ".1: hello along", TESTLIB_WAIT_MS);
	run(&a, "send dr:9 lost", "cannot reach dr:9: no-route");
	run(&a, "ping dr:" LINK_S ".1 " TESTLIB_WAIT_S, "pong from dr:" LINK_S ".1 in ");
	run(&a, "ping dr: " TESTLIB_WAIT_S, "pong from dr: in ");
	run(&a, "dump", "fabric routes ");
	expect(a.out, "directed-refused 1");
	stop_fabric(&a, &b, NULL);
}
END_TEST

START_TEST(test_refusals_carry_their_reason)
{
	Fed a, b, c;
	uint8_t core[64];

	start_fabric();
	join(&a, "s1", "aye", true);
	join(&c, "s1", "cee", false);
	join(&b, "s2", "bee", false);

	/* MaxInterface is read-only; 0x1f8 + 16 runs past the core; EI 3 is no interface. */
	ctl_write(&a, "dr:" LINK_S ".1", CCLASS, "14000200", "refused: ReadOnly");
	run(&a, "ctl-read dr:" LINK_S ".1 0x1f8 16",
	    "ctl-read dr:" LINK_S ".1 0x1f8: refused: "
	    "OutOfRange");
	ctl_write(&a, "dr:" LINK_S ".1", SSDT(A_CID), "00013000", "refused: Unsupported");
	run(&b, "dump", "fabric control ");
	expect(b.out, "answered 0 malformed 0 out-of-range 1 read-only 1 tag-reused 0 "
		      "unsupported 1");

	/* A tag reused, rung directly: raw requests, whose answers match no request of A's. */
	run(&a, "send cee CTL-Read Offset=0,Length=8,Tag=7",
	    "cee@2: CTL-Read-Response Tag=7,Data=");
	run(&a, "send cee CTL-Read Offset=0,Length=8,Tag=7",
	    "cee@2: Standalone Acknowledgment Tag=7,Reason=TagReused");
	run(&a, "send cee CTL-Read Offset=zz,Length=8,Tag=9",
	    "cee@2: Standalone Acknowledgment Tag=9,Reason=Malformed");
	run(&a, "dump", "fabric control ");
	expect(a.out, "unmatched-responses 3");
	run(&c, "dump", "fabric control ");
	expect(c.out, "answered 1 malformed 1 out-of-range 0 read-only 0 tag-reused 1");
	ck_assert(!testlib_file_contains(c.out, "aye@1: CTL-Read"));

	/* famezd answers a control request rung to it directly from its switch's space. */
	run(&a, "ctl-read server 0x18 2", "ctl-read server 0x18: 0500");
	run(&a, "ctl-read server 0x1f8 16", "ctl-read server 0x1f8: refused: OutOfRange");
	/* Our own space. */
	ctl_read(&a, "self", 0, sizeof(core), core);
	ck_assert_uint_eq(core[CCLASS], 0x14);
	ck_assert_uint_eq(core[CSTATUS] & 7, 1);
	stop_fabric(&a, &b, &c, NULL);
}
END_TEST

START_TEST(test_routes_a_manager_wrote)
{
	Fed a, b;

	start_fabric();
	join(&a, "s1", "aye", true);
	join(&b, "s2", "bee", false);

	/* No CID yet: the switch refuses, as always. */
	run(&a, "ping 200,28 " TESTLIB_WAIT_S, "cannot reach 200,28: not-configured");

	/* The manager configures A itself, B, and both switches, relays enabled. */
	write_ids(&a, "self", A_CID);
	testlib_wait_for_output(a.out, "configured SID 28 CID 100 by a manager", TESTLIB_WAIT_MS);
	testlib_wait_for_output(famezd.log_path, "aye@1 is a Debugger (SID0 28, CID0 100)",
				TESTLIB_WAIT_MS);
	write_ids(&a, "dr:" LINK_S ".1", B_CID);
	testlib_wait_for_output(famezd.log_path, "bee@1 is a Debugger (SID0 28, CID0 200)",
				TESTLIB_WAIT_MS);
	write_ids(&a, "dr:", S1_CID);
	write_ids(&a, "dr:" LINK_S, S2_CID);
	ctl_write(&a, "dr:", SWITCH_OPCTL, "0000000000000100", "OK");
	ctl_write(&a, "dr:" LINK_S, SWITCH_OPCTL, "0000000000000100", "OK");
	/* s1: from A (port 1) to B over the link, and back; s2 the same from its side. */
	write_route(&a, "dr:", LPRT(1, B_CID), LINK);
	write_route(&a, "dr:", LPRT(LINK, A_CID), 1);
	write_route(&a, "dr:" LINK_S, LPRT(LINK, B_CID), 1);
	write_route(&a, "dr:" LINK_S, LPRT(1, A_CID), LINK);

	/* A's SSDT has no route to B yet: refused at A, never sent. */
	run(&a, "ping 200,28 " TESTLIB_WAIT_S, "no route to 200,28 in our SSDT or MSDT");
	expect(a.out, "cannot reach 200,28: no-route");
	write_route(&a, "self", SSDT(B_CID), 0);
	/* B's has none back to A: B drops its pong. */
	run(&a, "ping 200,28 1", "ping: not every peer answered in time");
	testlib_wait_for_output(b.out, "cannot reach 100,28: no-route", TESTLIB_WAIT_MS);
	write_route(&a, "dr:" LINK_S ".1", SSDT(A_CID), 0);

	run(&a, "ping 200,28 " TESTLIB_WAIT_S, "pong from 200,28 in ");
	expect(b.out, "100,28: ping");
	run(&a, "ctl-read 200,28 0xc0 4 " TESTLIB_WAIT_S, "ctl-read 200,28 0xc0: 01c80000");

	/* A route cleared on s1: the switch refuses. */
	ctl_write(&a, "dr:", LPRT(1, B_CID), "00000000", "OK");
	run(&a, "ping 200,28 " TESTLIB_WAIT_S, "cannot reach 200,28: no-route");
	ck_assert_uint_eq(testlib_count(a.out, "cannot reach 200,28: no-route"), 2);
	run(&a, "dump", "fabric routes ");
	expect(a.out, "routed-sent 3 routed-refused 3");
	stop_fabric(&a, &b, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client-control");
	TCase *tc = tcase_create("client-control");

	tcase_add_checked_fixture(tc, testlib_setup, testlib_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_a_manager_reads_and_writes_along_paths);
	tcase_add_test(tc, test_refusals_carry_their_reason);
	tcase_add_test(tc, test_routes_a_manager_wrote);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
