/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/*
 * Asynchronous polkit authorization of D-Bus method calls.
 *
 * A method handler calls polkit_authorize() before changing anything:
 *   > 0  allowed: go on;
 *   = 0  the question went to polkit: return 1 from the handler without replying; when polkit
 *        answers, the call is put back in the bus's read queue and the handler runs again,
 *        and this time polkit_authorize() has the answer;
 *   < 0  denied or failed, with *error set: return it.
 * Root is allowed without asking polkit; who is calling comes from the bus, asked asynchronously
 * and cached by unique name. Without polkit on the bus every other caller is denied.
 *
 * details: what polkit rules may look up about the request (action.lookup(KEY)), as KEY, VALUE
 * pairs in a NULL-terminated list, or NULL for none.
 */

typedef struct PolkitRegistry PolkitRegistry;

int polkit_registry_new(PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

int polkit_authorize(PolkitRegistry *r, sd_bus_message *call, const char *action,
		     const char *const *details, bool interactive, sd_bus_error *error);

/* Questions not freed yet: asked, or answered and waiting for their call to come back. */
unsigned polkit_registry_pending(const PolkitRegistry *r);
