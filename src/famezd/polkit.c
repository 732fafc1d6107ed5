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
	char **details; /* KEY, VALUE, ..., NULL */
	bool interactive;
	sd_bus_slot *slot;
	Verdict verdict;
	char *failure;         /* for VERDICT_FAILED */
	sd_event_source *done; /* frees the answered query if the call did not come back for it */
} PolkitQuery;

/*
 * Callers' uids by unique bus name. The bus never gives a unique name twice, so an entry stays
 * true; a small cache saves the bus a question on every call of the same client.
 */
#define UID_CACHE_SIZE 32

typedef struct UidCacheEntry {
	char *sender;
	uid_t uid;
} UidCacheEntry;

struct PolkitRegistry {
	PolkitQuery *queries; /* few at a time: a list is enough */
	UidCacheEntry uids[UID_CACHE_SIZE];
	unsigned next_uid;
};

static bool uid_cache_get(PolkitRegistry *r, const char *sender, uid_t *uid)
{
	for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
		if (r->uids[i].sender && strcmp(r->uids[i].sender, sender) == 0) {
			*uid = r->uids[i].uid;
			return true;
		}
	return false;
}

static void uid_cache_put(PolkitRegistry *r, const char *sender, uid_t uid)
{
	UidCacheEntry *e = &r->uids[r->next_uid++ % UID_CACHE_SIZE];

	free(e->sender);
	e->sender = strdup(sender);
	e->uid = uid;
}

unsigned polkit_registry_pending(const PolkitRegistry *r)
{
	unsigned n = 0;

	for (const PolkitQuery *q = r->queries; q; q = q->next)
		n++;
	return n;
}

int polkit_registry_new(PolkitRegistry **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void strv_free(char **l)
{
	for (char **i = l; i && *i; i++)
		free(*i);
	free(l);
}

static char **strv_copy(const char *const *l)
{
	size_t n = 0;
	char **copy;

	while (l && l[n])
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy && i < n; i++)
		if (!(copy[i] = strdup(l[i]))) {
			strv_free(copy);
			return NULL;
		}
	return copy;
}

static void query_free(PolkitQuery *q)
{
	sd_event_source_disable_unref(q->done);
	sd_bus_slot_unref(q->slot);
	sd_bus_message_unref(q->call);
	free(q->action);
	strv_free(q->details);
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
	for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
		free(r->uids[i].sender);
	free(r);
	return NULL;
}

static int on_query_done(sd_event_source *source, void *userdata)
{
	PolkitQuery *q = userdata;

	(void)source;
	query_unlink(q);
	query_free(q);
	return 0;
}

/*
 * Puts the waiting call back in the bus's read queue, so its handler runs again and takes the
 * verdict. A handler may return before it asks again (the peer it names left meanwhile), and
 * a call to an object that is gone never reaches a handler: the query is then freed once the
 * bus has nothing left to dispatch. Should the call come later than that, polkit is asked
 * again, which costs a question and never lets anything through.
 */
static void resume(PolkitQuery *q)
{
	sd_bus *bus = sd_bus_message_get_bus(q->call);
	int r;

	r = sd_event_add_defer(sd_bus_get_event(bus), &q->done, on_query_done, q);
	if (r >= 0)
		r = sd_event_source_set_priority(q->done, SD_EVENT_PRIORITY_IDLE);
	if (r >= 0)
		r = sd_bus_enqueue_for_read(bus, q->call);
	if (r < 0) {
		log_warning_errno(r, "cannot resume a method call after polkit answered: %m");
		query_unlink(q);
		query_free(q);
	}
}

static void fail_query(PolkitQuery *q, const sd_bus_error *e, const char *fallback)
{
	q->verdict = VERDICT_FAILED;
	q->failure = strdup(e && (e->message || e->name) ? (e->message ? e->message : e->name)
							 : fallback);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	PolkitQuery *q = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	int authorized = 0, challenge = 0, r;

	(void)ret_error;
	q->slot = sd_bus_slot_unref(q->slot);
	if (e)
		fail_query(q, e, NULL);
	else {
		r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
		if (r >= 0)
			r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
		if (r < 0)
			fail_query(q, NULL, "polkit sent an answer famezd cannot read");
		else
			q->verdict = authorized  ? VERDICT_ALLOWED
				     : challenge ? VERDICT_CHALLENGE
						 : VERDICT_DENIED;
	}
	resume(q);
	return 1;
}

static int ask_polkit(PolkitQuery *q)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *request = NULL;
	sd_bus *bus = sd_bus_message_get_bus(q->call);
	int r;

	r = sd_bus_message_new_method_call(bus, &request, "org.freedesktop.PolicyKit1",
					   "/org/freedesktop/PolicyKit1/Authority",
					   "org.freedesktop.PolicyKit1.Authority",
					   "CheckAuthorization");
	if (r >= 0)
		r = sd_bus_message_append(request, "(sa{sv})s", "system-bus-name", 1, "name", "s",
					  sd_bus_message_get_sender(q->call), q->action);
	if (r >= 0)
		r = sd_bus_message_open_container(request, 'a', "{ss}");
	for (char **d = q->details; r >= 0 && d[0] && d[1]; d += 2)
		r = sd_bus_message_append(request, "{ss}", d[0], d[1]);
	if (r >= 0)
		r = sd_bus_message_close_container(request);
	if (r >= 0)
		r = sd_bus_message_append(request, "us",
					  q->interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "");
	/* Interactive authentication may take a person a while. */
	if (r >= 0)
		r = sd_bus_call_async(bus, &q->slot, request, on_polkit_reply, q,
				      q->interactive ? UINT64_MAX : 0);
	return r;
}

static int on_uid_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	PolkitQuery *q = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	uint32_t uid;
	int r;

	(void)ret_error;
	q->slot = sd_bus_slot_unref(q->slot);
	r = e ? -EIO : sd_bus_message_read(reply, "u", &uid);
	if (r < 0) {
		fail_query(q, e, "cannot tell who is calling");
		resume(q);
		return 1;
	}
	uid_cache_put(q->registry, sd_bus_message_get_sender(q->call), uid);
	if (uid == 0) {
		q->verdict = VERDICT_ALLOWED;
		resume(q);
		return 1;
	}
	r = ask_polkit(q);
	if (r < 0) {
		fail_query(q, NULL, strerror(-r));
		resume(q);
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
					 "cannot ask polkit about %s, so it is denied: %s",
					 q->action, q->failure ? q->failure : "unknown error");
	case VERDICT_PENDING:
		break;
	}
	return 0;
}

int polkit_authorize(PolkitRegistry *reg, sd_bus_message *call, const char *action,
		     const char *const *details, bool interactive, sd_bus_error *error)
{
	sd_bus *bus = sd_bus_message_get_bus(call);
	const char *sender = sd_bus_message_get_sender(call);
	PolkitQuery *q = find(reg, call, action);
	bool uid_known;
	uid_t uid;
	int r;

	if (q) {
		if (q->verdict == VERDICT_PENDING)
			return 0; /* the same call, dispatched again before the answer */
		r = verdict_to_result(q, error);
		query_unlink(q);
		query_free(q);
		return r;
	}

	if (!sender)
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
					"a caller without a bus name cannot be authorized");
	uid_known = uid_cache_get(reg, sender, &uid);
	if (uid_known && uid == 0)
		return 1;

	q = calloc(1, sizeof(*q));
	if (!q || !(q->action = strdup(action)) || !(q->details = strv_copy(details))) {
		if (q)
			query_free(q);
		return sd_bus_error_set_errno(error, -ENOMEM);
	}
	q->registry = reg;
	q->call = sd_bus_message_ref(call);
	q->interactive = interactive;
	/* Who is calling is a question to the bus, asked without waiting like polkit's. */
	if (uid_known)
		r = ask_polkit(q);
	else
		r = sd_bus_call_method_async(bus, &q->slot, "org.freedesktop.DBus",
					     "/org/freedesktop/DBus", "org.freedesktop.DBus",
					     "GetConnectionUnixUser", on_uid_reply, q, "s", sender);
	if (r < 0) {
		query_free(q);
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "cannot authorize %s: %s", action, strerror(-r));
	}
	q->next = reg->queries;
	reg->queries = q;
	return 0;
}
