/* SPDX-License-Identifier: MIT */
/*
 * A switch's configuration file as an administrator, or a careless tool, may write it: parsed,
 * finished and checked beside the default switch. Errors are one line; what is accepted keeps
 * the mode's rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "size.h"
#include "switch-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one_line(const char *s)
{
	if (strchr(s, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SWITCH_CONFIG_ERROR_MAX] = "", note[SWITCH_CONFIG_ERROR_MAX] = "";
	SwitchConfig def, lab;
	SwitchConfig *const configs[] = { &def, &lab };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (switch_config_init(&def, SWITCH_DEFAULT_NAME) < 0 ||
	    switch_config_init(&lab, "lab") < 0)
		abort();
	def.set = SWITCH_KEY_SID;
	if (switch_config_finish(&def, note, sizeof(note), err, sizeof(err)) < 0)
		abort();

	if (switch_config_parse(&lab, "lab.conf", text, err, sizeof(err)) < 0 ||
	    switch_config_finish(&lab, note, sizeof(note), err, sizeof(err)) < 0) {
		check_one_line(err);
		goto done;
	}
	check_one_line(note);
	if (!size_is_pow2(lab.shm.size) || lab.vectors < 1 || lab.vectors > SWITCH_MAX_VECTORS)
		abort();
	if (lab.mode == SWITCH_MODE_FABRIC &&
	    (lab.max_peers > MAILBOX_CLIENTS_MAX || lab.vectors != lab.max_peers + 2 ||
	     lab.shm.size < mailbox_size(lab.max_peers)))
		abort();
	if (switch_configs_check(configs, 2, err, sizeof(err)) < 0)
		check_one_line(err);
	else if (lab.mode == SWITCH_MODE_FABRIC && lab.sid == def.sid)
		abort();
done:
	switch_config_done(&def);
	switch_config_done(&lab);
	free(text);
	return 0;
}
