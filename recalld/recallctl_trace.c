/*
 * recallctl_trace - recallctl's view of a trace.  See recallctl_trace.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recallctl_fmt.h"
#include "recallctl_trace.h"
#include "sbuf.h"
#include "xalloc.h"

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Column width of s (printable form), for the table. */
static size_t
width(const char *s)
{
	char *p = fmt_printable(s);
	size_t n = strlen(p);

	free(p);
	return n;
}

static void
add_col(struct sbuf *sb, const char *s, size_t w)
{
	char *p = fmt_printable(s);
	size_t n = strlen(p);

	sbuf_adds(sb, p);
	while (n++ < w)
		sbuf_addc(sb, ' ');
	sbuf_adds(sb, "  ");
	free(p);
}

int
trace_format(const char *answer, size_t len, bool json, char **out_r,
    char **error_r, const char **code_r)
{
	json_error_t jerr;
	json_t *o, *events, *e;
	struct sbuf sb = SBUF_INIT;
	const char *msgid, *err;
	size_t i, wa = 2, wr = 9, we = 5;
	char *p;

	*out_r = NULL;
	*error_r = NULL;
	*code_r = "internal";
	o = json_loadb(answer, len, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		*error_r = xstrdup("recalld sent an answer that is not a JSON "
		    "object");
		return FMT_EXIT_FAILED;
	}
	if ((err = str(o, "error")) != NULL) {
		const char *code = str(o, "code");

		*error_r = fmt_printable(err);
		*code_r = code != NULL && strcmp(code, "unavailable") == 0
		    ? "unavailable" : code != NULL && strcmp(code,
		    "not-found") == 0 ? "not-found" : code != NULL
		    && strcmp(code, "refused") == 0 ? "refused" : "failed";
		json_decref(o);
		return strcmp(*code_r, "unavailable") == 0
		    ? FMT_EXIT_UNAVAILABLE : FMT_EXIT_FAILED;
	}
	msgid = str(o, "message_id");
	events = json_object_get(o, "events");
	if (msgid == NULL || !json_is_array(events)) {
		json_decref(o);
		*error_r = xstrdup("recalld sent a trace without message_id "
		    "or events");
		return FMT_EXIT_FAILED;
	}
	json_array_foreach(events, i, e) {
		if (!json_is_object(e) || str(e, "at") == NULL
		    || str(e, "recipient") == NULL || str(e, "event") == NULL
		    || str(e, "detail") == NULL) {
			json_decref(o);
			*error_r = xstrdup("recalld sent a malformed trace "
			    "event");
			return FMT_EXIT_FAILED;
		}
	}
	if (json) {
		json_t *out = json_object();

		/* SPEC's keys, in SPEC's order. */
		json_object_set(out, "message_id", json_object_get(o,
		    "message_id"));
		json_object_set(out, "events", events);
		p = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(out);
		json_decref(o);
		if (p == NULL)
			abort();
		*out_r = xasprintf("%s\n", p);
		free(p);
		return 0;
	}
	json_array_foreach(events, i, e) {
		size_t n;

		if ((n = width(str(e, "at"))) > wa)
			wa = n;
		if ((n = width(str(e, "recipient"))) > wr)
			wr = n;
		if ((n = width(str(e, "event"))) > we)
			we = n;
	}
	add_col(&sb, "AT", wa);
	add_col(&sb, "RECIPIENT", wr);
	add_col(&sb, "EVENT", we);
	sbuf_adds(&sb, "DETAIL\n");
	json_array_foreach(events, i, e) {
		add_col(&sb, str(e, "at"), wa);
		add_col(&sb, str(e, "recipient"), wr);
		add_col(&sb, str(e, "event"), we);
		p = fmt_printable(str(e, "detail"));
		sbuf_adds(&sb, p);
		sbuf_addc(&sb, '\n');
		free(p);
	}
	p = fmt_printable(msgid);
	sbuf_addf(&sb, "message %s: %zu event%s\n", p,
	    json_array_size(events), json_array_size(events) == 1 ? "" : "s");
	free(p);
	json_decref(o);
	*out_r = sbuf_detach(&sb);
	return 0;
}
