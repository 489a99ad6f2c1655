/*
 * report - recall results and their JSON.  See report.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditev.h"
#include "report.h"
#include "xalloc.h"

void
report_add(struct report *r, const char *recipient, const char *copy_addr,
    enum outcome outcome, const char *reason, const char *at)
{
	struct report_copy *c;

	r->copies = xrealloc(r->copies, (r->n_copies + 1) * sizeof(*r->copies));
	c = &r->copies[r->n_copies++];
	c->recipient = xstrdup(recipient);
	c->copy_addr = xstrdup(copy_addr != NULL ? copy_addr : "");
	c->outcome = outcome;
	c->reason = xstrdup(reason);
	c->at = xstrdup(at != NULL ? at : "");
}

void
report_update_status(struct report *r)
{
	enum outcome *v = xcalloc(r->n_copies + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < r->n_copies; i++)
		v[i] = r->copies[i].outcome;
	r->status = decide_request_status(v, r->n_copies);
	free(v);
}

void
report_clear(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n_copies; i++) {
		free(r->copies[i].recipient);
		free(r->copies[i].copy_addr);
		free(r->copies[i].reason);
		free(r->copies[i].at);
	}
	free(r->copies);
	free(r->message_id);
	free(r->recall_id);
	memset(r, 0, sizeof(*r));
}

const char *
reply_code_name(enum reply_code c)
{
	switch (c) {
	case REPLY_BAD_REQUEST:
		return "bad-request";
	case REPLY_NOT_FOUND:
		return "not-found";
	case REPLY_REFUSED:
		return "refused";
	case REPLY_BUSY:
		return "busy";
	case REPLY_UNAVAILABLE:
		return "unavailable";
	case REPLY_INTERNAL:
		return "internal";
	}
	return "internal";
}

/*
 * json_string() refuses text that is not UTF-8; data from mail may not be.
 * Such text is sent with the bad bytes as U+FFFD, never dropped; NULL is
 * sent as "".
 */
static json_t *
jstr(const char *s)
{
	return auditev_str(s != NULL ? s : "");
}

/* Dump, then copy into our own allocation so the caller simply free()s. */
static char *
dump(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *copy;

	json_decref(obj);
	if (text == NULL)
		abort();
	copy = xstrdup(text);
	free(text);
	return copy;
}

char *
report_json(const struct report *r)
{
	json_t *obj = json_object(), *copies = json_array();
	char id[32];
	size_t i;

	snprintf(id, sizeof(id), "%lld", r->request_id);
	json_object_set_new(obj, "request", json_string(id));
	json_object_set_new(obj, "message_id", jstr(r->message_id));
	json_object_set_new(obj, "status",
	    json_string(request_status_name(r->status)));
	for (i = 0; i < r->n_copies; i++) {
		const struct report_copy *c = &r->copies[i];
		json_t *o = json_object();

		json_object_set_new(o, "recipient", jstr(c->recipient));
		json_object_set_new(o, "outcome",
		    json_string(outcome_name(c->outcome)));
		json_object_set_new(o, "reason", jstr(c->reason));
		json_object_set_new(o, "at", jstr(c->at));
		json_array_append_new(copies, o);
	}
	json_object_set_new(obj, "copies", copies);
	return dump(obj);
}

char *
reply_error_json(enum reply_code code, const char *message)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "error", jstr(message));
	json_object_set_new(obj, "code", json_string(reply_code_name(code)));
	return dump(obj);
}
