/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "polkit.h"

/* CheckAuthorization flag: polkit may ask the user through an agent. */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef enum Verdict {
	VERDICT_PENDING,
	VERDICT_ALLOWED,
	VERDICT_DENIED,
	VERDICT_CHALLENGE, /* would be allowed after interactive authentication */
	VERDICT_FAILED,    /* polkit could not be asked */
} Verdict;

typedef struct PolkitQuery {
	PolkitRegistry *registry;
	struct PolkitQuery *next;
	sd_bus_message *call; /* the method call waiting for the answer */
	char *action;
	sd_bus_slot *slot;
	Verdict verdict;
	char *failure; /* for VERDICT_FAILED */
} PolkitQuery;

struct PolkitRegistry {
	PolkitQuery *queries; /* few at a time: a list is enough */
};

int polkit_registry_new(PolkitRegistry **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void query_free(PolkitQuery *q)
{
	sd_bus_slot_unref(q->slot);
	sd_bus_message_unref(q->call);
	free(q->action);
	free(q->failure);
	free(q);
}

static void query_unlink(PolkitQuery *q)
{
	for (PolkitQuery **p = &q->registry->queries; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			return;
		}
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r)
{
	if (!r)
		return NULL;
	while (r->queries) {
		PolkitQuery *q = r->queries;

		r->queries = q->next;
		query_free(q);
	}
	free(r);
	return NULL;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	PolkitQuery *q = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	int authorized = 0, challenge = 0, r;

	(void)ret_error;
	q->slot = sd_bus_slot_unref(q->slot);
	if (e) {
		q->verdict = VERDICT_FAILED;
		q->failure = strdup(e->message ? e->message : e->name);
	} else {
		r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
		if (r >= 0)
			r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
		if (r < 0) {
			q->verdict = VERDICT_FAILED;
			q->failure = strdup("polkit sent an answer famezd cannot read");
		} else
			q->verdict = authorized ? VERDICT_ALLOWED
				     : challenge ? VERDICT_CHALLENGE
						 : VERDICT_DENIED;
	}
	/* Run the method again: this time polkit_authorize() finds the verdict. */
	r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->call), q->call);
	if (r < 0) {
		log_warning_errno(r, "cannot resume a method call after polkit answered: %m");
		query_unlink(q);
		query_free(q);
	}
	return 1;
}

static PolkitQuery *find(PolkitRegistry *r, sd_bus_message *call, const char *action)
{
	for (PolkitQuery *q = r->queries; q; q = q->next)
		if (q->call == call && strcmp(q->action, action) == 0)
			return q;
	return NULL;
}

static int verdict_to_result(PolkitQuery *q, sd_bus_error *error)
{
	switch (q->verdict) {
	case VERDICT_ALLOWED:
		return 1;
	case VERDICT_CHALLENGE:
		return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
					 "%s needs authentication; call again with interactive "
					 "set, with a polkit agent running",
					 q->action);
	case VERDICT_DENIED:
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "not authorized for %s (polkit)", q->action);
	case VERDICT_FAILED:
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "cannot ask polkit about %s, so it is denied: %s", q->action,
					 q->failure ? q->failure : "unknown error");
	case VERDICT_PENDING:
		break;
	}
	return 0;
}

int polkit_authorize(PolkitRegistry *reg, sd_bus_message *call, const char *action,
		     bool interactive, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *request = NULL;
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	sd_bus *bus = sd_bus_message_get_bus(call);
	const char *sender = sd_bus_message_get_sender(call);
	PolkitQuery *q = find(reg, call, action);
	uid_t uid;
	int r;

	if (q) {
		if (q->verdict == VERDICT_PENDING)
			return 0; /* the same call, dispatched again before polkit answered */
		r = verdict_to_result(q, error);
		query_unlink(q);
		query_free(q);
		return r;
	}

	r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
	if (r >= 0)
		r = sd_bus_creds_get_euid(creds, &uid);
	if (r < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "cannot tell who is calling: %s", strerror(-r));
	if (uid == 0)
		return 1;
	if (!sender)
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
					"a caller without a bus name cannot be authorized");

	r = sd_bus_message_new_method_call(bus, &request, "org.freedesktop.PolicyKit1",
					   "/org/freedesktop/PolicyKit1/Authority",
					   "org.freedesktop.PolicyKit1.Authority",
					   "CheckAuthorization");
	if (r >= 0)
		r = sd_bus_message_append(request, "(sa{sv})sa{ss}us", "system-bus-name", 1,
					  "name", "s", sender, action, 0,
					  interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "");
	if (r < 0)
		return sd_bus_error_set_errno(error, r);

	q = calloc(1, sizeof(*q));
	if (!q || !(q->action = strdup(action))) {
		free(q);
		return sd_bus_error_set_errno(error, -ENOMEM);
	}
	q->registry = reg;
	q->call = sd_bus_message_ref(call);
	/* Interactive authentication may take a person a while. */
	r = sd_bus_call_async(bus, &q->slot, request, on_polkit_reply, q,
			      interactive ? UINT64_MAX : 0);
	if (r < 0) {
		query_free(q);
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "cannot ask polkit about %s: %s", action, strerror(-r));
	}
	q->next = reg->queries;
	reg->queries = q;
	return 0;
}
