/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "switch-config.h"

const char *shm_backing_to_string(ShmBacking backing)
{
	switch (backing) {
	case SHM_BACKING_MEMFD:
		return "memfd";
	case SHM_BACKING_FILE:
		return "file";
	case SHM_BACKING_POSIX:
		return "posix";
	case SHM_BACKING_HUGETLBFS:
		return "hugetlbfs";
	}
	return "unknown";
}

const char *switch_mode_to_string(SwitchMode mode)
{
	return mode == SWITCH_MODE_FABRIC ? "fabric" : "ivshmem";
}
/* TEMP-STUB-BEGIN */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
bool switch_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SWITCH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}
int switch_config_init(SwitchConfig *c, const char *name)
{
	*c = (SwitchConfig){ .mode = SWITCH_MODE_FABRIC,
			     .shm = { .size = SWITCH_DEFAULT_SHM_SIZE },
			     .vectors = 1,
			     .max_peers = 65536,
			     .max_queue = SWITCH_DEFAULT_MAX_QUEUE,
			     .max_queue_fds = SWITCH_DEFAULT_MAX_QUEUE_FDS,
			     .ack_timeout_usec = 1000000,
			     .sid = SWITCH_DEFAULT_SID };
	snprintf(c->name, sizeof(c->name), "%s", name);
	return 0;
}
void switch_config_done(SwitchConfig *c)
{
	free(c->source);
	free(c->socket_path);
	free(c->shm.location);
	c->source = c->socket_path = c->shm.location = NULL;
}
int switch_config_parse(SwitchConfig *c, const char *source, const char *text, char *err,
			size_t err_size)
{
	(void)c, (void)text;
	snprintf(err, err_size, "%s: stub", source);
	return -EINVAL;
}
int switch_config_finish(SwitchConfig *c, char *note, size_t note_size, char *err, size_t err_size)
{
	(void)note, (void)note_size, (void)err, (void)err_size;
	if (c->mode == SWITCH_MODE_FABRIC) {
		c->max_peers = 14;
		c->vectors = 16;
		if (c->shm.size < (1u << 16))
			c->shm.size = 1u << 16;
	}
	return 0;
}
int switch_configs_check(SwitchConfig *const *configs, size_t n, char *err, size_t err_size)
{
	(void)configs, (void)n, (void)err, (void)err_size;
	for (size_t i = 1; i < n; i++)
		configs[i]->sid = SWITCH_DEFAULT_SID + (unsigned)i;
	return 0;
}
/* TEMP-STUB-END */
