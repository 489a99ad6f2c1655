/*
 * request - control-socket requests.  See request.h.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "request.h"
#include "xalloc.h"

const char *
request_op_name(enum request_op op)
{
	return op == REQUEST_RECALL ? "recall" : "status";
}

void
request_clear(struct request *req)
{
	xfree(&req->ref);
	xfree(&req->as);
	req->dry_run = false;
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

int
request_parse(const char *payload, size_t len, struct request *req,
    char **error_r)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *op;

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
	if (strcmp(op, "recall") == 0) {
		req->op = REQUEST_RECALL;
	} else if (strcmp(op, "status") == 0) {
		req->op = REQUEST_STATUS;
	} else {
		*error_r = xstrdup("unknown \"op\" (want recall or status)");
		goto fail;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "op") == 0)
			continue;
		if (strcmp(key, "ref") == 0) {
			if (check_text("ref", v, error_r) < 0)
				goto fail;
			req->ref = xstrdup(json_string_value(v));
		} else if (strcmp(key, "dry_run") == 0
		    && req->op == REQUEST_RECALL) {
			if (!json_is_boolean(v)) {
				*error_r = xstrdup("\"dry_run\" must be true "
				    "or false");
				goto fail;
			}
			req->dry_run = json_is_true(v);
		} else if (strcmp(key, "as") == 0
		    && req->op == REQUEST_RECALL) {
			if (json_is_null(v))
				continue;
			if (check_text("as", v, error_r) < 0)
				goto fail;
			req->as = xstrdup(json_string_value(v));
		} else {
			char *k = xstrndup(key, 64);
			size_t i;

			for (i = 0; k[i] != '\0'; i++)
				if (!isprint((unsigned char)k[i]))
					k[i] = '?';
			*error_r = xasprintf("unknown key \"%s\" in a %s "
			    "request", k, op);
			free(k);
			goto fail;
		}
	}
	if (req->ref == NULL) {
		*error_r = xstrdup("request has no \"ref\"");
		goto fail;
	}
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
