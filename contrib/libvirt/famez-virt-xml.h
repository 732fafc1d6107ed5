/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The XML logic of famez-virt, with no I/O: adds famez's device to a libvirt domain definition,
 * takes it out again, and tells whether a domain has it.
 *
 * In the default form the device is a <qemu:commandline> stanza. Everything famez adds carries
 * an id starting with "famez-" (chardev, device, memory object), which is how it is found again:
 * libvirt keeps neither comments nor unknown attributes there. With `native`, it is libvirt's own
 * <shmem name='famez'> element instead.
 */

#define FAMEZ_VIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

typedef struct FamezVirtConfig {
	const char *socket_path;
	unsigned vectors;
	const char *fam_path; /* fabric-attached memory file, or NULL */
	uint64_t fam_size;
	bool native; /* <shmem> instead of <qemu:commandline> */
} FamezVirtConfig;

typedef struct FamezVirtInfo {
	bool attached;
	bool native;
	char socket_path[4096];
	unsigned vectors;
	bool fam;
} FamezVirtInfo;

/*
 * Each returns 0 with the result, or -EINVAL/-ENOMEM with *error set to a one-line message
 * (free it). *out is the new XML (free it).
 */
int famez_virt_inject(const char *xml, size_t len, const FamezVirtConfig *c, char **out,
		      char **error);
int famez_virt_remove(const char *xml, size_t len, char **out, char **error);
int famez_virt_inspect(const char *xml, size_t len, FamezVirtInfo *info, char **error);
