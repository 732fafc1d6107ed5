/* SPDX-License-Identifier: MIT */
/* Size and number parsing as command-line options meet it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[SIZE_STR_MAX];
	uint64_t v, w;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_size(s, &v) == 0) {
		/* What format_size prints parses back to the same size. */
		if (parse_size(format_size(v, buf), &w) != 0 || w != v)
			abort();
		if (size_is_pow2(v) && (size_pow2_below(v) != v || size_pow2_above(v) != v))
			abort();
	}
	(void)parse_uint(s, 1, 65536, &v);
	free(s);
	return 0;
}
