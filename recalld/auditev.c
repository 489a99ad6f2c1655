/*
 * auditev - audit events with JSON details.  See auditev.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auditev.h"
#include "log.h"
#include "xalloc.h"

json_t *
auditev_str(const char *s)
{
	json_t *j;
	char *fixed, *o;
	const unsigned char *p;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* @UNSAFE: each byte becomes at most 3 bytes (U+FFFD). */
	fixed = xmalloc(strlen(s) * 3 + 1);
	for (o = fixed, p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x80) {
			*o++ = (char)*p;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	*o = '\0';
	j = json_string(fixed);
	free(fixed);
	return j != NULL ? j : json_string("");
}

int
auditev_append(struct db *db, const char *actor, const char *action,
    const char *recall_id, long long request_id, json_t *detail)
{
	char req[24], *text, *err = NULL;
	int rc;

	snprintf(req, sizeof(req), "%lld", request_id);
	text = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(detail);
	if (text == NULL)
		abort();	/* only on out of memory */
	rc = audit_append(db, actor, action, recall_id,
	    request_id > 0 ? req : NULL, text, &err);
	if (rc < 0) {
		log_warnx("audit log: %s event of request %s not recorded: %s",
		    action, request_id > 0 ? req : "-", err);
		free(err);
	}
	free(text);
	return rc;
}

static const char *
class_name(enum addr_class c)
{
	return addr_class_name(c);
}

static const char *
delivery_name(enum decide_delivery d)
{
	switch (d) {
	case DECIDE_DELIVERY_UNKNOWN:
		return "unknown";
	case DECIDE_DELIVERY_DELIVERED:
		return "delivered";
	case DECIDE_DELIVERY_QUEUED:
		return "queued";
	case DECIDE_DELIVERY_HELD:
		return "held";
	}
	return "?";
}

static const char *
store_name(enum decide_store s)
{
	switch (s) {
	case DECIDE_STORE_NOT_ASKED:
		return "not-asked";
	case DECIDE_STORE_OK:
		return "ok";
	case DECIDE_STORE_NO_USER:
		return "no-user";
	case DECIDE_STORE_UNREACHABLE:
		return "unreachable";
	}
	return "?";
}

static const char *
exposure_name(enum decide_exposure_kind k)
{
	switch (k) {
	case EXPOSURE_LIST:
		return "list";
	case EXPOSURE_FORWARDED:
		return "forwarded";
	case EXPOSURE_MOBILE:
		return "mobile";
	case EXPOSURE_POP3:
		return "pop3";
	case EXPOSURE_IMAP:
		return "imap";
	}
	return "?";
}

json_t *
auditev_decision(const struct decide_input *in, const struct decision *first,
    const struct decision *final, const struct store_copies *copies)
{
	json_t *o = json_object(), *a, *inputs = json_object();
	size_t i;

	json_object_set_new(o, "recipient", auditev_str(in->recipient));
	json_object_set_new(o, "outcome",
	    json_string(outcome_name(final->outcome)));
	json_object_set_new(o, "reason", auditev_str(final->reason));
	if (first != NULL && (first->outcome != final->outcome
	    || first->act))
		json_object_set_new(o, "decided_before_removal",
		    json_string(outcome_name(first->outcome)));
	json_object_set_new(inputs, "class",
	    json_string(class_name(in->class)));
	json_object_set_new(inputs, "age", json_integer(in->age));
	json_object_set_new(inputs, "max_age", json_integer(in->max_age));
	json_object_set_new(inputs, "opted_out", json_boolean(in->opted_out));
	json_object_set_new(inputs, "recall_read",
	    json_boolean(in->recall_read));
	json_object_set_new(inputs, "dry_run", json_boolean(in->dry_run));
	json_object_set_new(inputs, "delivery",
	    json_string(delivery_name(in->delivery)));
	json_object_set_new(inputs, "store", json_string(store_name(in->store)));
	if (in->store_error != NULL)
		json_object_set_new(inputs, "store_error",
		    auditev_str(in->store_error));
	a = json_array();
	for (i = 0; copies != NULL && i < copies->n; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "mailbox",
		    auditev_str(copies->v[i].mailbox));
		json_object_set_new(c, "uid", json_integer(
		    (json_int_t)copies->v[i].uid));
		json_object_set_new(c, "flags",
		    auditev_str(copies->v[i].flags));
		json_array_append_new(a, c);
	}
	json_object_set_new(inputs, "copies", a);
	a = json_array();
	for (i = 0; i < in->n_exposures; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "kind",
		    json_string(exposure_name(in->exposures[i].kind)));
		json_object_set_new(e, "where",
		    auditev_str(in->exposures[i].where));
		json_object_set_new(e, "at", auditev_str(in->exposures[i].at));
		json_array_append_new(a, e);
	}
	json_object_set_new(inputs, "exposures", a);
	if (in->prior_request > 0)
		json_object_set_new(inputs, "prior_request",
		    json_integer(in->prior_request));
	json_object_set_new(o, "inputs", inputs);
	return o;
}
