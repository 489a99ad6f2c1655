/*
 * libFuzzer target: the Postfix log line parser on arbitrary bytes.
 * Invariants: it never reads or writes outside the line; every string it
 * returns lies inside the line buffer; a refused line sets an error.
 *
 * FUZZ_SOURCES: recalld/pflog.c recalld/logtime.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const char *s, const char *buf, size_t size)
{
	if (*s == '\0')
		return;		/* "" may be a literal */
	if (s < buf || s > buf + size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logtime_ctx tc;
	struct pflog_line p;
	const char *err = NULL;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	logtime_init(&tc, 1795867200);
	if (pflog_parse(&tc, s, size, &p, &err) < 0) {
		if (err == NULL)
			abort();
	} else {
		inside(p.qid, s, size);
		inside(p.to, s, size);
		inside(p.orig_to, s, size);
		inside(p.relay, s, size);
		inside(p.child_qid, s, size);
		inside(p.message_id, s, size);
		if (strlen(p.lmtp_session) > PFLOG_SESSION_MAX)
			abort();
		if (p.kind == PFLOG_FORWARDED && *p.child_qid == '\0')
			abort();
		(void)strlen(p.detail);
		(void)pflog_kind_name(p.kind);
	}
	free(s);
	return 0;
}
