/*
 * libFuzzer target: the Dovecot log line parser (mail_log lines and
 * event_exporter JSON through jansson) and the session cache, on arbitrary
 * bytes.  Every parsed line is also classified.
 *
 * FUZZ_SOURCES: recalld/dovelog.c recalld/logtime.c lib/cidr.c lib/cfg.c lib/sbuf.c lib/xalloc.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dovelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dovelog_sessions *sessions;
	static struct dovelog_policy pol;	/* empty lists */
	struct logtime_ctx tc;
	struct dovelog_line d;
	struct dovelog_access_facts f;
	const char *err = NULL;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	if (sessions == NULL)
		sessions = dovelog_sessions_new(64);
	memcpy(s, data, size);
	memset(&d, 0, sizeof(d));
	logtime_init(&tc, 1795867200);
	if (dovelog_parse(&tc, s, size, &d, &err) < 0) {
		if (err == NULL)
			abort();
	} else {
		dovelog_sessions_add(sessions, &d);
		dovelog_facts(&d, dovelog_sessions_find(sessions, d.session),
		    &f);
		(void)dovelog_access_event(dovelog_classify(&pol, &f));
		(void)strlen(d.flags);
		(void)strlen(d.msgid);
		(void)strlen(d.from_box);
	}
	dovelog_line_clear(&d);
	free(s);
	return 0;
}
