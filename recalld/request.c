/*
 * request - control-socket requests.  See request.h.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "decide.h"
#include "request.h"
#include "xalloc.h"

/* Keys each op accepts besides "op"; "ref" marks a required ref. */
static const struct {
	const char *name;
	enum request_op op;
	bool needs_ref;
	const char *keys[8];
} ops[] = {
	{ "recall", REQUEST_RECALL, true,
	    { "ref", "dry_run", "as", "on_behalf_of", "via", NULL } },
	{ "status", REQUEST_STATUS, true, { "ref", NULL } },
	{ "history", REQUEST_HISTORY, false,
	    { "sender", "recipient", "since", "until", "outcome", "limit",
	    NULL } },
	{ "audit_verify", REQUEST_AUDIT_VERIFY, false, { NULL } },
	{ "restore", REQUEST_RESTORE, true, { "ref", "recipient", NULL } },
	{ "purge", REQUEST_PURGE, false, { NULL } },
	{ "trace", REQUEST_TRACE, true, { "ref", NULL } },
};
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

const char *
request_op_name(enum request_op op)
{
	size_t i;

	for (i = 0; i < N_OPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

void
request_clear(struct request *req)
{
	xfree(&req->ref);
	xfree(&req->as);
	xfree(&req->on_behalf_of);
	xfree(&req->via);
	xfree(&req->recipient);
	xfree(&req->sender);
	xfree(&req->since);
	xfree(&req->until);
	xfree(&req->outcome);
	memset(req, 0, sizeof(*req));
	req->op = REQUEST_STATUS;
}

/* A text field: non-empty, at most ADDR_MAX_LEN bytes, no control bytes. */
static int
check_text(const char *name, json_t *v, char **error_r)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), i;

	if (s == NULL) {
		*error_r = xasprintf("\"%s\" must be a string", name);
		return -1;
	}
	if (len == 0) {
		*error_r = xasprintf("\"%s\" is empty", name);
		return -1;
	}
	if (len > ADDR_MAX_LEN) {
		*error_r = xasprintf("\"%s\" is longer than %d bytes", name,
		    ADDR_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			*error_r = xasprintf("\"%s\" contains a control "
			    "character", name);
			return -1;
		}
	}
	return 0;
}

/* n decimal digits at *p, in [min, max]; advances *p. */
static bool
digits(const char **p, int n, int min, int max)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v >= min && v <= max;
}

bool
request_time_valid(const char *s, bool *is_date_r)
{
	const char *p = s;

	*is_date_r = false;
	if (!digits(&p, 4, 1, 9999) || *p++ != '-' || !digits(&p, 2, 1, 12)
	    || *p++ != '-' || !digits(&p, 2, 1, 31))
		return false;
	if (*p == '\0') {
		*is_date_r = true;
		return true;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!digits(&p, 2, 0, 23) || *p++ != ':' || !digits(&p, 2, 0, 59)
	    || *p++ != ':' || !digits(&p, 2, 0, 60))
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return false;
	p++;
	return digits(&p, 2, 0, 23) && *p++ == ':' && digits(&p, 2, 0, 59)
	    && *p == '\0';
}

static bool
op_has_key(size_t o, const char *key)
{
	size_t k;

	for (k = 0; ops[o].keys[k] != NULL; k++)
		if (strcmp(ops[o].keys[k], key) == 0)
			return true;
	return false;
}

/* Store a validated text value in *dst. */
static int
take_text(const char *key, json_t *v, char **dst, char **error_r)
{
	if (check_text(key, v, error_r) < 0)
		return -1;
	*dst = xstrdup(json_string_value(v));
	return 0;
}

static int
take_key(struct request *req, const char *key, json_t *v, char **error_r)
{
	if (strcmp(key, "dry_run") == 0) {
		if (!json_is_boolean(v)) {
			*error_r = xstrdup("\"dry_run\" must be true or false");
			return -1;
		}
		req->dry_run = json_is_true(v);
		return 0;
	}
	if (json_is_null(v))
		return 0;	/* an optional key given as null */
	if (strcmp(key, "ref") == 0)
		return take_text(key, v, &req->ref, error_r);
	if (strcmp(key, "as") == 0)
		return take_text(key, v, &req->as, error_r);
	if (strcmp(key, "on_behalf_of") == 0)
		return take_text(key, v, &req->on_behalf_of, error_r);
	if (strcmp(key, "recipient") == 0)
		return take_text(key, v, &req->recipient, error_r);
	if (strcmp(key, "sender") == 0)
		return take_text(key, v, &req->sender, error_r);
	if (strcmp(key, "via") == 0) {
		if (take_text(key, v, &req->via, error_r) < 0)
			return -1;
		if (strcmp(req->via, "recallctl") != 0
		    && strcmp(req->via, "mail") != 0) {
			*error_r = xstrdup("\"via\" must be \"recallctl\" or "
			    "\"mail\"");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		bool since = key[0] == 's';
		char **dst = since ? &req->since : &req->until;

		if (take_text(key, v, dst, error_r) < 0)
			return -1;
		if (!request_time_valid(*dst, since ? &req->since_is_date
		    : &req->until_is_date)) {
			*error_r = xasprintf("\"%s\" must be a date "
			    "(2026-11-27) or an RFC 3339 time "
			    "(2026-11-27T10:00:00Z)", key);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "outcome") == 0) {
		enum outcome o;

		if (take_text(key, v, &req->outcome, error_r) < 0)
			return -1;
		if (outcome_parse(req->outcome, &o) < 0) {
			*error_r = xstrdup("\"outcome\" is not an outcome "
			    "(recalled, read, left-external, left-forwarded, "
			    "left-list, left-pop3, left-imap, left-mobile, "
			    "held-recalled, not-found, expired, opted-out, "
			    "pending)");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "limit") == 0) {
		json_int_t n;

		if (!json_is_integer(v) || (n = json_integer_value(v)) < 1
		    || n > REQUEST_MAX_LIMIT) {
			*error_r = xasprintf("\"limit\" must be a number from "
			    "1 to %d", REQUEST_MAX_LIMIT);
			return -1;
		}
		req->limit = (long)n;
		return 0;
	}
	*error_r = xstrdup("internal: key without a parser");
	return -1;
}

int
request_parse(const char *payload, size_t len, struct request *req,
    char **error_r)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *op;
	size_t o;

	memset(req, 0, sizeof(*req));
	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		*error_r = xasprintf("request is not valid JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		*error_r = xstrdup("request must be a JSON object");
		goto fail;
	}
	op = json_string_value(json_object_get(root, "op"));
	if (op == NULL) {
		*error_r = xstrdup("request has no \"op\" string");
		goto fail;
	}
	for (o = 0; o < N_OPS; o++)
		if (strcmp(op, ops[o].name) == 0)
			break;
	if (o == N_OPS) {
		*error_r = xstrdup("unknown \"op\" (want recall, status, "
		    "history, audit_verify, restore or purge)");
		goto fail;
	}
	req->op = ops[o].op;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "op") == 0)
			continue;
		if (!op_has_key(o, key)) {
			char *k = xstrndup(key, 64);
			size_t i;

			for (i = 0; k[i] != '\0'; i++)
				if (!isprint((unsigned char)k[i]))
					k[i] = '?';
			*error_r = xasprintf("unknown key \"%s\" in a %s "
			    "request", k, ops[o].name);
			free(k);
			goto fail;
		}
		if (take_key(req, key, v, error_r) < 0)
			goto fail;
	}
	if (ops[o].needs_ref && req->ref == NULL) {
		*error_r = xstrdup("request has no \"ref\"");
		goto fail;
	}
	if (req->as != NULL && req->on_behalf_of != NULL) {
		*error_r = xstrdup("\"as\" and \"on_behalf_of\" exclude each "
		    "other");
		goto fail;
	}
	if (req->op == REQUEST_RECALL && req->via == NULL)
		req->via = xstrdup("recallctl");
	if (req->op == REQUEST_HISTORY && req->limit == 0)
		req->limit = REQUEST_DEFAULT_LIMIT;
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	request_clear(req);
	return -1;
}

bool
request_ref_is_request_id(const char *ref, long long *id_r)
{
	size_t i, len = strlen(ref);
	long long v = 0;

	if (len == 0 || len > 18)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)ref[i]))
			return false;
		v = v * 10 + (ref[i] - '0');
	}
	if (v == 0)
		return false;
	*id_r = v;
	return true;
}
