/*
 * history - filtered recall_history.  See history.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "auditev.h"
#include "db.h"
#include "history.h"
#include "proto.h"
#include "xalloc.h"

/* Room left in the answer frame for the envelope around the rows. */
#define HISTORY_FRAME_SLACK 1024

static const char *const columns[] = {
	"request_id", "requested_at", "requested_by", "message_id",
	"recall_id", "sender", "recipient", "copy_addr", "outcome", "reason",
	"decided_at", "dry_run", "request_status",
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* Normalise a filter address; NULL stays NULL. */
static int
filter_addr(const char *name, const char *in, char **out_r, char **error_r)
{
	const char *why = NULL;

	*out_r = NULL;
	if (in == NULL)
		return 0;
	if ((*out_r = addr_normalise(in, &why)) == NULL) {
		*error_r = xasprintf("--%s: %s", name, why != NULL ? why
		    : "not an address");
		return -1;
	}
	return 0;
}

/* A date becomes midnight UTC; an RFC 3339 time stays as it is. */
static char *
filter_time(const char *t, bool is_date)
{
	if (t == NULL)
		return NULL;
	return is_date ? xasprintf("%sT00:00:00Z", t) : xstrdup(t);
}

static json_t *
row_json(const struct db_result *r, int i)
{
	json_t *o = json_object();
	size_t c;

	for (c = 0; c < N_COLUMNS; c++) {
		const char *v = db_value(r, i, (int)c);
		json_t *j;

		if (v == NULL)
			j = json_null();
		else if (c == 0)
			j = json_integer(strtoll(v, NULL, 10));
		else if (c == 11)
			j = json_boolean(strcmp(v, "t") == 0);
		else
			j = auditev_str(v);
		json_object_set_new(o, columns[c], j);
	}
	return o;
}

int
history_answer(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    char **json_r, enum reply_code *code_r, char **error_r)
{
	char *sender = NULL, *rcpt = NULL, *since, *until, *me = NULL;
	char *login = NULL, *local = NULL, limit[24], *text;
	const char *params[9];
	struct db_result *r;
	json_t *rows, *out;
	size_t size = 0;
	bool truncated = false;
	int i, n;

	*json_r = NULL;
	if (filter_addr("sender", req->sender, &sender, error_r) < 0
	    || filter_addr("recipient", req->recipient, &rcpt, error_r) < 0) {
		free(sender);
		*code_r = REPLY_BAD_REQUEST;
		return -1;
	}
	if (!caller->admin) {
		const char *at;

		login = addr_for_login(caller->user, env->cfg);
		me = login != NULL ? addr_normalise(login, NULL) : NULL;
		if (me == NULL || *me == '\0') {
			*code_r = REPLY_REFUSED;
			*error_r = xasprintf("unix user %s speaks for no "
			    "address", caller->user);
			free(sender);
			free(rcpt);
			free(login);
			free(me);
			return -1;
		}
		/* A SASL login without a domain speaks for me too. */
		at = strrchr(me, '@');
		if (at != NULL && env->cfg->local_domains.n > 0
		    && strcasecmp(at + 1, env->cfg->local_domains.v[0]) == 0)
			local = xstrndup(me, (size_t)(at - me));
	}
	since = filter_time(req->since, req->since_is_date);
	until = filter_time(req->until, req->until_is_date);
	snprintf(limit, sizeof(limit), "%ld", req->limit > 0 ? req->limit
	    : (long)REQUEST_DEFAULT_LIMIT);
	params[0] = sender;
	params[1] = rcpt;
	params[2] = since;
	params[3] = until;
	params[4] = req->until_is_date ? "true" : "false";
	params[5] = req->outcome;
	params[6] = me;
	params[7] = local != NULL ? local : me;
	params[8] = limit;
	r = db_query(env->db, "SELECT h.request_id, "
	    DB_SQL_RFC3339("h.requested_at") ", h.requested_by, h.message_id, "
	    "h.recall_id, h.sender, h.recipient, h.copy_addr, h.outcome, "
	    "h.reason, " DB_SQL_RFC3339("h.decided_at") ", h.dry_run, "
	    "h.request_status, m.auth_user, m.origin "
	    "FROM recall_history h JOIN messages m ON m.recall_id = h.recall_id "
	    "WHERE ($1::text IS NULL OR h.sender = $1) "
	    "AND ($2::text IS NULL OR h.recipient = $2 OR h.copy_addr = $2) "
	    "AND ($3::timestamptz IS NULL OR h.requested_at >= $3::timestamptz) "
	    "AND ($4::timestamptz IS NULL OR CASE WHEN $5::boolean "
	    "THEN h.requested_at < $4::timestamptz + interval '1 day' "
	    "ELSE h.requested_at <= $4::timestamptz END) "
	    "AND ($6::text IS NULL OR h.outcome = $6) "
	    "AND ($7::text IS NULL OR lower(m.auth_user) IN (lower($7), "
	    "lower($8)) OR (m.origin = 'local' AND m.sender = $7)) "
	    "ORDER BY h.requested_at, h.request_id, h.recipient, h.copy_addr "
	    "LIMIT $9::int + 1", 9, params, error_r);
	free(since);
	free(until);
	free(sender);
	free(rcpt);
	free(login);
	free(local);
	if (r == NULL) {
		free(me);
		/* A bad time ("2026-02-30") is the caller's, not the DB's. */
		*code_r = strstr(*error_r, "out of range") != NULL
		    || strstr(*error_r, "invalid input syntax") != NULL
		    ? REPLY_BAD_REQUEST : REPLY_UNAVAILABLE;
		return -1;
	}
	rows = json_array();
	n = db_rows(r);
	for (i = 0; i < n; i++) {
		json_t *o;
		char *one;

		if (me != NULL) {
			/* Exactly authz's notion of "sent by me". */
			struct authz_message am = { db_str(r, i, 5),
			    db_value(r, i, 13), db_str(r, i, 14) };
			char *owner = authz_message_owner(&am, env->cfg);
			bool mine = owner != NULL && strcmp(owner, me) == 0;

			free(owner);
			if (!mine)
				continue;
		}
		if (json_array_size(rows) >= (size_t)atol(limit)) {
			truncated = true;
			break;
		}
		o = row_json(r, i);
		one = json_dumps(o, JSON_COMPACT);
		size += (one != NULL ? strlen(one) : 0) + 1;
		free(one);
		if (size > PROTO_MAX_FRAME - HISTORY_FRAME_SLACK) {
			json_decref(o);
			truncated = true;
			break;
		}
		json_array_append_new(rows, o);
	}
	db_result_free(&r);
	free(me);
	out = json_object();
	json_object_set_new(out, "history", rows);
	json_object_set_new(out, "truncated", json_boolean(truncated));
	text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (text == NULL)
		abort();
	*json_r = xstrdup(text);
	free(text);
	return 0;
}
