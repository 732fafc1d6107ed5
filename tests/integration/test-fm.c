/* SPDX-License-Identifier: MIT */
/*
 * famez-fm with real famezd: three switches s1 - s2 - s3, ManagedBy=external, and four
 * famez-clients (alpha on s1, beta on s2, gamma and delta on s3) that nothing configured.
 * famez-fm joins s1 and manages: every component is configured with a CID of its pool, and
 * every pair of clients talks by CID,SID along the routes it wrote, until an LPRT entry is
 * cleared by a control write: that one pair is refused, the others still talk. And with peers
 * that answer the manager with garbage or lies: each fails alone, the rest is configured.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control-msg.h"
#include "envelope.h"
#include "fabric-msg.h"
#include "macro.h"
#include "mailbox.h"
#include "testlib.h"

#define CLIENTS 4
#define SERVER_ID (CLIENTS + 1)
/* Link ports: the first two after the clients and the switch itself. */
#define LINK1 6
#define SID 28
#define LPRT(ingress, cid) (0x1000000 + (ingress)*0x4000 + (cid)*4)

static Famezd famezd;
static const char *switches_dir;

typedef struct Fed {
	pid_t pid;
	int commands;
	char out[256];
	const char *sw, *nodename;
	unsigned cid, sid;
} Fed;

static char *fm_path(void)
{
	static char path[512];
	const char *client = getenv("FAMEZ_CLIENT");

	snprintf(path, sizeof(path), "%.*s/famez-fm", (int)(strrchr(client, '/') - client), client);
	return path;
}

/*
 * Starts famez-fm on s1 with the pool 100-4095, SID 28 and up to three more options (NULL ends
 * them); its output into out and err (room for 300 each).
 */
static pid_t fm_spawn(const char *const more[], char *out, char *err)
{
	char socket[300];
	const char *argv[16] = {
		fm_path(), "--socket", socket, "--cids", "100-4095", "--sid", "28"
	};
	size_t n = 7;

	for (size_t i = 0; more && more[i] && i < 3; i++)
		argv[n++] = more[i];
	snprintf(socket, sizeof(socket), "%s/s1.sock", testlib_tmpdir());
	snprintf(out, 300, "%s/fm.out", testlib_tmpdir());
	snprintf(err, 300, "%s/fm.err", testlib_tmpdir());
	return testlib_spawn((char *const *)argv, out, err);
}

/* Runs famez-fm (fm_spawn()) to completion and asserts it succeeded. */
static void fm_run(const char *const more[], char *out, char *err)
{
	pid_t fm = fm_spawn(more, out, err);

	ck_assert_msg(testlib_wait(fm, 4 * TESTLIB_WAIT_MS) == 0, "%s%s", testlib_show(out),
		      testlib_show(err));
}

static void expect_output(const char *path, const char *needle)
{
	ck_assert_msg(testlib_file_contains(path, needle), "no '%s' in: %s", needle,
		      testlib_show(path));
}

/* s1 -6:6- s2 -7:6- s3, each waiting for a manager. */
static void start_fabric(void)
{
	switches_dir = testlib_write_switch("s1", CLIENTS, "ManagedBy=external\nLink=6:s2:6\n");
	testlib_write_switch("s2", CLIENTS, "ManagedBy=external\nLink=7:s3:6\n");
	testlib_write_switch("s3", CLIENTS, "ManagedBy=external\n");
	famezd_start(&famezd, (const char *[]){ "--switches-dir", switches_dir, NULL });
	testlib_wait_for_output(famezd.log_path, "famezd: switch s3: listening on ",
				TESTLIB_WAIT_MS);
}

static void join(Fed *c, const char *sw, const char *nodename)
{
	char socket[300];
	const char *options[] = { "--nodename", nodename, NULL };

	c->sw = sw;
	c->nodename = nodename;
	snprintf(socket, sizeof(socket), "%s/%s.sock", testlib_tmpdir(), sw);
	c->pid = famez_client_start_fed_with(socket, nodename, options, &c->commands, c->out,
					     sizeof(c->out));
	testlib_wait_for_output(c->out, "fabric nodename ", TESTLIB_WAIT_MS);
}

static void run(Fed *c, const char *command, const char *needle)
{
	unsigned n = testlib_count(c->out, needle);

	famez_client_feed(c->commands, command);
	testlib_wait_for_count(c->out, needle, n + 1, TESTLIB_WAIT_MS);
}

/* The CID the manager gave c, as it says; its SID into c->sid. */
static unsigned configured_cid(Fed *c)
{
	char *text, *at;
	unsigned sid = 0, cid = 0;

	testlib_wait_for_output(c->out, " by a manager", TESTLIB_WAIT_MS);
	text = testlib_read_file(c->out);
	at = strstr(text, "configured SID ");
	ck_assert_msg(at && sscanf(at, "configured SID %u CID %u by a manager", &sid, &cid) == 2,
		      "%s", text);
	free(text);
	c->sid = sid;
	return cid;
}

static void ping(Fed *from, const Fed *to, bool reached)
{
	char command[64], needle[96];

	snprintf(command, sizeof(command), "ping %u,%u " TESTLIB_WAIT_S, to->cid, to->sid);
	/* On one switch a peer whose slot holds that CID,SID is rung directly, as in FAME-Z. */
	if (reached && strcmp(from->sw, to->sw) == 0)
		snprintf(needle, sizeof(needle), "pong from %s@", to->nodename);
	else if (reached)
		snprintf(needle, sizeof(needle), "pong from %u,%u in ", to->cid, to->sid);
	else
		snprintf(needle, sizeof(needle), "cannot reach %u,%u: no-route", to->cid, to->sid);
	run(from, command, needle);
}

START_TEST(test_the_manager_configures_and_routes_the_fabric)
{
	Fed alpha, beta, gamma, delta;
	Fed *all[] = { &alpha, &beta, &gamma, &delta };
	char out[300], err[300], command[128], needle[128];
	char *json;

	start_fabric();
	join(&alpha, "s1", "alpha");
	join(&beta, "s2", "beta");
	join(&gamma, "s3", "gamma");
	join(&delta, "s3", "delta");

	fm_run((const char *const[]){ "--json", "--time", NULL }, out, err);
	json = testlib_read_file(out);
	/* Three switches and five bridges (the manager's too), all configured; seven links. */
	ck_assert_msg(testlib_json_valid(strtok(json, "\n")), "%s", json);
	ck_assert_uint_eq(testlib_count(out, "\"cclass\":\"FabricSwitch\""), 3);
	ck_assert_uint_eq(testlib_count(out, "\"cclass\":\"Bridge\""), 5);
	ck_assert_uint_eq(testlib_count(out, "\"configured\":true"), 8);
	ck_assert_uint_eq(testlib_count(out, "\"manager\":\"100,28\""), 8);
	ck_assert_uint_eq(testlib_count(out, "\"ports\":["), 7);
	ck_assert_msg(!strstr(json, "\"error\""), "%s", json);
	free(json);
	expect_output(out, "time: discovery ");

	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		all[i]->cid = configured_cid(all[i]);
		ck_assert_uint_eq(all[i]->sid, SID);
	}
	/* Every pair talks, both ways, along the routes the manager wrote. */
	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		for (size_t j = 0; j < ELEMENTSOF(all); j++)
			if (i != j)
				ping(all[i], all[j], true);

	/* s2's LPRT entry for gamma, from its port to s1, cleared by a control write. */
	snprintf(command, sizeof(command), "ctl-write dr:%d 0x%x 00000000 " TESTLIB_WAIT_S, LINK1,
		 LPRT(LINK1, gamma.cid));
	snprintf(needle, sizeof(needle), "ctl-write dr:%d 0x%x: OK", LINK1, LPRT(LINK1, gamma.cid));
	run(&alpha, command, needle);
	ping(&alpha, &gamma, false);
	ping(&alpha, &delta, true);
	ping(&beta, &gamma, true);
	ping(&beta, &delta, true);

	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		close(all[i]->commands);
		testlib_stop(all[i]->pid, TESTLIB_WAIT_MS);
	}
	famezd_stop(&famezd);
}
END_TEST

/*
 * famez-fm --subnets: each switch a subnet (SIDs 28, 29, 30 in the order found), and the clients
 * on it; every pair talks across subnets, by SID through the MSDTs and MPRTs it wrote.
 */
START_TEST(test_subnets)
{
	Fed alpha, beta, gamma;
	Fed *all[] = { &alpha, &beta, &gamma };
	char out[300], err[300];

	start_fabric();
	join(&alpha, "s1", "alpha");
	join(&beta, "s2", "beta");
	join(&gamma, "s3", "gamma");
	fm_run((const char *const[]){ "--subnets", NULL }, out, err);
	expect_output(out, "component dr:6 FabricSwitch 103,29 CID 103 "
			   "SID 29");
	expect_output(out, "component dr:6.7 FabricSwitch 105,30 CID 105 "
			   "SID 30");
	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		all[i]->cid = configured_cid(all[i]);
		ck_assert_uint_eq(all[i]->sid, SID + i);
	}
	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		for (size_t j = 0; j < ELEMENTSOF(all); j++)
			if (i != j)
				ping(all[i], all[j], true);
	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		close(all[i]->commands);
		testlib_stop(all[i]->pid, TESTLIB_WAIT_MS);
	}
	famezd_stop(&famezd);
}
END_TEST

/*
 * famez-fm --watch: a component that joins after a pass is found by the next one, given its
 * IDs and routes, and reached; the fabric is printed again, said to have changed.
 */
START_TEST(test_watch_takes_in_a_newcomer)
{
	Fed alpha, beta;
	char out[300], err[300];
	pid_t fm;

	start_fabric();
	join(&alpha, "s1", "alpha");
	fm = fm_spawn((const char *const[]){ "--watch", "1", NULL }, out, err);
	testlib_wait_for_output(out, "fabric: 5 components (3 switches), 4 links, 0 failed",
				TESTLIB_WAIT_MS);
	alpha.cid = configured_cid(&alpha);

	join(&beta, "s3", "beta");
	testlib_wait_for_output(out, "the fabric changed", 2 * TESTLIB_WAIT_MS);
	testlib_wait_for_output(out, "fabric: 6 components (3 switches), 5 links, 0 failed",
				TESTLIB_WAIT_MS);
	beta.cid = configured_cid(&beta);
	ping(&alpha, &beta, true);
	ping(&beta, &alpha, true);

	testlib_stop(fm, TESTLIB_WAIT_MS);
	close(alpha.commands);
	close(beta.commands);
	testlib_stop(alpha.pid, TESTLIB_WAIT_MS);
	testlib_stop(beta.pid, TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

/*
 * A peer that answers the control requests famezd delivers it (directed, along the way back)
 * with garbage (Data that is not hex) or with lies (every byte it is asked for 0xff: a core
 * with C-Class 0xffff, 65535 interfaces, pointers everywhere; every write "OK").
 */
typedef struct Liar {
	RawClient c;
	uint8_t *mem;
	bool garbage;
	bool attributed; /* it answered famezd's Peer-Attribute */
	unsigned answered;
} Liar;

static void liar_join(Liar *l, const char *sw, bool garbage)
{
	char socket[300];
	size_t size;

	memset(l, 0, sizeof(*l));
	l->garbage = garbage;
	snprintf(socket, sizeof(socket), "%s/%s.sock", testlib_tmpdir(), sw);
	ck_assert_int_eq(raw_client_connect(&l->c, socket, true), 0);
	ck_assert(raw_client_read_fabric(&l->c, SERVER_ID, TESTLIB_WAIT_MS));
	l->mem = raw_client_map(&l->c, &size);
	mailbox_set_nodename(mailbox_slot(l->mem, l->c.state.own_id), garbage ? "garbage" : "liar");
}

/* Sends text to the switch from l's slot, along path (directed) or without an envelope. */
static void liar_send(Liar *l, const Envelope *directed, const char *text)
{
	uint8_t *own = mailbox_slot(l->mem, l->c.state.own_id);

	ck_assert(testlib_wait_slot(own, false, TESTLIB_WAIT_MS));
	if (directed)
		envelope_write(own, directed);
	else
		envelope_clear(own);
	ck_assert_int_eq(mailbox_write_message(own, SERVER_ID, text), 0);
	raw_client_ring(&l->c, SERVER_ID, l->c.state.own_id, 1);
}

/* Takes what famezd's slot holds for l, if anything, and answers it. */
static void liar_serve(Liar *l)
{
	uint8_t *sw = mailbox_slot(l->mem, SERVER_ID);
	char text[MAILBOX_MSG_MAX], answer[MAILBOX_MSG_MAX];
	ControlMsg req = { .type = CONTROL_MSG_NONE };
	Envelope env, back;
	size_t len;
	int r;

	if (mailbox_read_message(sw, l->c.state.own_id, text, &len) < 0)
		return;
	r = envelope_read(sw, &env);
	mailbox_acknowledge(sw, l->c.state.own_id);
	if (strcmp(text, "Link CTL Peer-Attribute") == 0) {
		/* What we are, with no IDs yet: the switch shows a bridge on our port. */
		FabricMsg ack = { .type = FABRIC_MSG_ATTRIBUTE_ACK, .no_ids = true };

		snprintf(ack.cclass, sizeof(ack.cclass), "Bridge");
		ck_assert_int_gt(fabric_msg_format(&ack, answer, sizeof(answer)), 0);
		liar_send(l, NULL, answer);
		l->attributed = true;
		return;
	}
	if (r < 0 || env.type != ENVELOPE_DIRECTED_DELIVER || control_msg_parse(text, &req) < 0)
		return;
	if (req.type == CONTROL_MSG_READ && l->garbage) {
		snprintf(answer, sizeof(answer), "CTL-Read-Response Tag=%u,Data=zz", req.tag);
	} else if (req.type == CONTROL_MSG_READ) {
		len = (size_t)snprintf(answer, sizeof(answer),
				       "CTL-Read-Response Tag=%u,Data=", req.tag);
		for (unsigned i = 0; i < req.length && len + 2 < sizeof(answer); i++)
			len += (size_t)snprintf(answer + len, sizeof(answer) - len, "ff");
	} else if (req.type == CONTROL_MSG_WRITE) {
		snprintf(answer, sizeof(answer), "Standalone Acknowledgment Tag=%u,Reason=OK",
			 req.tag);
	} else {
		return;
	}
	back = (Envelope){ .type = ENVELOPE_DIRECTED, .path_len = env.path_len };
	memcpy(back.path, env.path, env.path_len);
	liar_send(l, &back, answer);
	l->answered++;
}

/*
 * Serves l until famezd took its attributes (its switch's interface then shows a bridge there,
 * which the manager walks to), at most TESTLIB_WAIT_MS.
 */
static void liar_ready(Liar *l)
{
	uint64_t deadline = testlib_now_usec() + (uint64_t)TESTLIB_WAIT_MS * 1000;

	while (!l->attributed || !mailbox_slot_is_free(mailbox_slot(l->mem, l->c.state.own_id))) {
		ck_assert_msg(testlib_now_usec() < deadline, "famezd never asked for attributes");
		liar_serve(l);
		poll(NULL, 0, 1);
	}
}

/*
 * Peers that answer the manager with garbage (on s2) and with lies (on s3): each fails alone,
 * with a line that says which and why; every other component is configured and routed (the
 * clients on either side of them talk), and famezd serves on.
 */
START_TEST(test_liars_fail_alone)
{
	Fed alpha, gamma;
	Liar garbage, liar;
	char out[300], err[300];
	uint64_t deadline = testlib_now_usec() + 4 * (uint64_t)TESTLIB_WAIT_MS * 1000;
	int status;
	pid_t fm;

	start_fabric();
	join(&alpha, "s1", "alpha");
	join(&gamma, "s3", "gamma");
	liar_join(&garbage, "s2", true);
	liar_join(&liar, "s3", false);
	liar_ready(&garbage);
	liar_ready(&liar);

	fm = fm_spawn(NULL, out, err);
	while (waitpid(fm, &status, WNOHANG) == 0) {
		ck_assert_msg(testlib_now_usec() < deadline, "famez-fm never finished: %s",
			      testlib_show(out));
		liar_serve(&garbage);
		liar_serve(&liar);
		poll(NULL, 0, 1);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x: %s%s", status,
		      testlib_show(out), testlib_show(err));
	ck_assert_uint_gt(garbage.answered, 0);
	ck_assert_uint_gt(liar.answered, 0);
	/* Each liar failed, by its own path, and nothing else did. */
	expect_output(out, "fabric: 8 components (3 switches), 7 links, "
			   "2 failed");
	expect_output(out, "component dr:6.1 Bridge: failed: a malformed "
			   "answer to a read of ");
	expect_output(out, "component dr:6.7.2 Component: failed: C-Class "
			   "0xffff: neither a switch nor a bridge");
	ck_assert_uint_eq(testlib_count(out, ": failed: "), 2);

	alpha.cid = configured_cid(&alpha);
	gamma.cid = configured_cid(&gamma);
	ping(&alpha, &gamma, true);
	ping(&gamma, &alpha, true);

	raw_client_close(&garbage.c);
	raw_client_close(&liar.c);
	close(alpha.commands);
	close(gamma.commands);
	testlib_stop(alpha.pid, TESTLIB_WAIT_MS);
	testlib_stop(gamma.pid, TESTLIB_WAIT_MS);
	famezd_stop(&famezd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fm");
	TCase *tc = tcase_create("fm");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_the_manager_configures_and_routes_the_fabric);
	tcase_add_test(tc, test_watch_takes_in_a_newcomer);
	tcase_add_test(tc, test_subnets);
	tcase_add_test(tc, test_liars_fail_alone);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
