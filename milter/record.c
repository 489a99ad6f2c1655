/*
 * record - the spool line of a recorded message.  See record.h.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "utf8.h"
#include "xalloc.h"

#define RECORD_VERSION 1

void
record_add_rcpt(struct record *r, const char *addr, const char *class)
{
	r->rcpts = xrealloc(r->rcpts, (r->n_rcpts + 1) * sizeof(*r->rcpts));
	r->rcpts[r->n_rcpts].addr = xstrdup(addr);
	r->rcpts[r->n_rcpts].class = xstrdup(class);
	r->n_rcpts++;
}

void
record_clear(struct record *r)
{
	size_t i;

	free(r->key);
	free(r->recall_id);
	free(r->message_id);
	free(r->sender);
	free(r->auth_user);
	free(r->client_addr);
	free(r->queue_id);
	free(r->subject);
	free(r->at);
	free(r->origin);
	free(r->host);
	free(r->detail);
	free(r->ref);
	free(r->requested_by);
	free(r->hold_until);
	for (i = 0; i < r->n_rcpts; i++) {
		free(r->rcpts[i].addr);
		free(r->rcpts[i].class);
	}
	free(r->rcpts);
	memset(r, 0, sizeof(*r));
}

char *
record_clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;
	char *out = xmalloc(left + 1), *o = out;

	while (left > 0) {
		n = utf8_seq_len(p, left);
		if (n == 0 || (n == 1 && ((*p < 0x20 && *p != '\t')
		    || *p == 0x7f))) {
			/* Folding (CR LF) becomes a blank; other bytes '?'. */
			*o++ = (*p == '\r' || *p == '\n') ? ' ' : '?';
			p++;
			left--;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
		left -= n;
	}
	*o = '\0';
	return out;
}

void
record_time(const struct timeval *tv, char *buf, size_t size)
{
	struct tm tm;
	time_t t = tv->tv_sec;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ", base, (long)tv->tv_usec);
}

/* A JSON string for s (cleaned), or null for NULL. */
static json_t *
record_jstr(const char *s)
{
	char *clean;
	json_t *j;

	if (s == NULL)
		return json_null();
	clean = record_clean_text(s);
	j = json_string(clean);
	free(clean);
	if (j == NULL)
		abort();	/* cannot happen: clean is valid UTF-8 */
	return j;
}

static const char *
record_type_name(enum record_type t)
{
	switch (t) {
	case RECORD_MESSAGE:
		return "message";
	case RECORD_REENTRY:
		return "reentry";
	case RECORD_RECALL_REQUEST:
		return "recall_request";
	}
	return "?";
}

char *
record_encode(const struct record *r)
{
	json_t *o = json_object(), *rc = json_array();
	char *line;
	size_t i;

	if (o == NULL || rc == NULL)
		abort();
	json_object_set_new(o, "v", json_integer(RECORD_VERSION));
	json_object_set_new(o, "type", json_string(record_type_name(r->type)));
	json_object_set_new(o, "key", record_jstr(r->key));
	json_object_set_new(o, "recall_id", record_jstr(r->recall_id));
	if (r->type == RECORD_MESSAGE) {
		json_object_set_new(o, "message_id", record_jstr(r->message_id));
		json_object_set_new(o, "sender", record_jstr(r->sender));
		json_object_set_new(o, "auth_user", record_jstr(r->auth_user));
		json_object_set_new(o, "size", json_integer(r->size));
		json_object_set_new(o, "subject", record_jstr(r->subject));
		if (r->hold_until != NULL)
			json_object_set_new(o, "hold_until",
			    record_jstr(r->hold_until));
	} else if (r->type == RECORD_RECALL_REQUEST) {
		json_object_set_new(o, "ref", record_jstr(r->ref));
		json_object_set_new(o, "requested_by",
		    record_jstr(r->requested_by));
		json_object_set_new(o, "auth_user", record_jstr(r->auth_user));
	} else {
		json_object_set_new(o, "detail", record_jstr(r->detail));
	}
	json_object_set_new(o, "client_addr", record_jstr(r->client_addr));
	json_object_set_new(o, "queue_id", record_jstr(r->queue_id));
	json_object_set_new(o, "at", record_jstr(r->at));
	json_object_set_new(o, "origin", record_jstr(r->origin));
	json_object_set_new(o, "host", record_jstr(r->host));
	for (i = 0; i < r->n_rcpts; i++)
		json_array_append_new(rc, json_pack("[oo]",
		    record_jstr(r->rcpts[i].addr),
		    record_jstr(r->rcpts[i].class)));
	json_object_set_new(o, "rcpts", rc);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL)
		abort();	/* out of memory */
	return line;
}

/* The string member name of o: a copy, NULL for null; -1 if neither. */
static int
record_get(json_t *o, const char *name, bool required, char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

int
record_decode(const char *line, size_t len, struct record *r,
    const char **error_r)
{
	json_error_t jerr;
	json_t *o, *v, *rc, *e;
	const char *type;
	bool msg, req;
	size_t i;
	int bad = 0;

	memset(r, 0, sizeof(*r));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		*error_r = "not a JSON line";
		return -1;
	}
	v = json_object_get(o, "v");
	type = json_string_value(json_object_get(o, "type"));
	if (!json_is_integer(v) || json_integer_value(v) != RECORD_VERSION
	    || type == NULL || (strcmp(type, "message") != 0
	    && strcmp(type, "reentry") != 0
	    && strcmp(type, "recall_request") != 0)) {
		json_decref(o);
		*error_r = "unknown record version or type";
		return -1;
	}
	msg = strcmp(type, "message") == 0;
	req = strcmp(type, "recall_request") == 0;
	r->type = msg ? RECORD_MESSAGE : req ? RECORD_RECALL_REQUEST
	    : RECORD_REENTRY;
	bad |= record_get(o, "key", true, &r->key);
	bad |= record_get(o, "recall_id", !req, &r->recall_id);
	bad |= record_get(o, "ref", req, &r->ref);
	bad |= record_get(o, "requested_by", req, &r->requested_by);
	bad |= record_get(o, "hold_until", false, &r->hold_until);
	bad |= record_get(o, "message_id", msg, &r->message_id);
	bad |= record_get(o, "sender", msg, &r->sender);
	bad |= record_get(o, "auth_user", false, &r->auth_user);
	bad |= record_get(o, "client_addr", false, &r->client_addr);
	bad |= record_get(o, "queue_id", false, &r->queue_id);
	bad |= record_get(o, "subject", false, &r->subject);
	bad |= record_get(o, "at", true, &r->at);
	bad |= record_get(o, "origin", true, &r->origin);
	bad |= record_get(o, "host", false, &r->host);
	bad |= record_get(o, "detail", false, &r->detail);
	v = json_object_get(o, "size");
	r->size = json_is_integer(v) ? json_integer_value(v) : 0;
	rc = json_object_get(o, "rcpts");
	if (!json_is_array(rc))
		bad = -1;
	json_array_foreach(rc, i, e) {
		const char *a = json_string_value(json_array_get(e, 0));
		const char *c = json_string_value(json_array_get(e, 1));

		if (a == NULL || c == NULL) {
			bad = -1;
			break;
		}
		record_add_rcpt(r, a, c);
	}
	json_decref(o);
	if (bad != 0) {
		record_clear(r);
		*error_r = "a field is missing or has the wrong type";
		return -1;
	}
	return 0;
}
