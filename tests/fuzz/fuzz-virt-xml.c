/* SPDX-License-Identifier: MIT */
/*
 * famez-virt's XML logic on arbitrary input: never a crash, and on anything it accepts,
 * injecting twice equals injecting once and removing leaves nothing of famez's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "famez-virt-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const FamezVirtConfig c = { .socket_path = "/run/famez/famez.sock", .vectors = 16 };
	char *once = NULL, *twice = NULL, *back = NULL, *error = NULL;
	FamezVirtInfo info;

	if (famez_virt_inject((const char *)data, size, &c, &once, &error) == 0) {
		if (famez_virt_inject(once, strlen(once), &c, &twice, &error) != 0 ||
		    strcmp(once, twice) != 0)
			abort();
		if (famez_virt_remove(once, strlen(once), &back, &error) != 0)
			abort();
		if (famez_virt_inspect(back, strlen(back), &info, &error) != 0 || info.attached)
			abort();
	}
	free(error);
	error = NULL;
	(void)famez_virt_inspect((const char *)data, size, &info, &error);
	free(error);
	free(once);
	free(twice);
	free(back);
	return 0;
}
