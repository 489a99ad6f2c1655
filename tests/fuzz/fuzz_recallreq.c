/*
 * libFuzzer target: the recall-by-mail Message-ID finder (Subject and the
 * attached message/rfc822 scan) on arbitrary bytes.  Built by `make fuzz`.
 *
 * FUZZ_SOURCES: milter/recallreq.c lib/addr.c lib/sbuf.c lib/xalloc.c lib/cfg.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter/recallreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *id;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	free(recallreq_from_subject(s));
	/* The body is not NUL-terminated in the milter: pass the exact size. */
	id = recallreq_from_body((const char *)data, size, false);
	free(id);
	id = recallreq_from_body((const char *)data, size, true);
	free(id);
	(void)recallreq_is_rfc822(s);
	free(s);
	return 0;
}
