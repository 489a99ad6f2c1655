/*
 * quarantine - restore and purge.  See quarantine.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "auditev.h"
#include "db.h"
#include "log.h"
#include "quarantine.h"
#include "xalloc.h"

/* The flags to set again: every word of flags but \Recent (heap array). */
static char **
restorable_flags(const char *flags, size_t *n_r)
{
	char *copy = xstrdup(flags), *save = NULL, *w;
	char **v = xcalloc(strlen(flags) / 2 + 2, sizeof(*v));
	size_t n = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		if (strcasecmp(w, "\\Recent") != 0)
			v[n++] = xstrdup(w);
	free(copy);
	*n_r = n;
	return v;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Does copies hold mailbox/uid? */
static bool
has_copy(const struct store_copies *c, const char *mailbox, unsigned long uid)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].uid == uid && strcmp(c->v[i].mailbox, mailbox) == 0)
			return true;
	return false;
}

/*
 * Put one claimed row back.  Returns 0 with the new uid in *uid_r (0 when
 * the copy cannot be found afterwards), or -1 with *error_r.
 */
static int
put_back(const struct recall_env *env, const char *recall_id,
    const char *user, const char *mailbox, const char *flags,
    const char *text, size_t len, unsigned long *uid_r, char **error_r)
{
	struct store_copies before = { NULL, 0 }, after = { NULL, 0 };
	char **tokens, **fl, b1[256], b2[256];
	size_t n_tokens, n_fl, i;
	enum store_status s;
	int rc = -1;

	*uid_r = 0;
	tokens = recall_tokens(env->keys, recall_id, &n_tokens);
	s = store_find(env->store, user, (const char *const *)tokens,
	    n_tokens, &before, error_r);
	if (s == STORE_OK)
		s = store_save(env->store, user, mailbox, text, len, error_r);
	if (s == STORE_OK)
		s = store_find(env->store, user, (const char *const *)tokens,
		    n_tokens, &after, error_r);
	if (s != STORE_OK)
		goto out;
	for (i = 0; i < after.n; i++)
		if (strcmp(after.v[i].mailbox, mailbox) == 0
		    && !has_copy(&before, mailbox, after.v[i].uid)
		    && after.v[i].uid > *uid_r)
			*uid_r = after.v[i].uid;
	rc = 0;
	if (*uid_r == 0) {
		log_warnx("restore: %s/%s: saved, but the copy is not found by "
		    "its tag; flags not restored",
		    log_safe(b1, sizeof(b1), user),
		    log_safe(b2, sizeof(b2), mailbox));
		goto out;
	}
	fl = restorable_flags(flags, &n_fl);
	if (store_flags_add(env->store, user, mailbox, *uid_r,
	    (const char *const *)fl, n_fl, error_r) != STORE_OK) {
		/* The copy is back; only its flags are not. */
		log_warnx("restore: %s/%s uid %lu: flags not restored: %s",
		    log_safe(b1, sizeof(b1), user),
		    log_safe(b2, sizeof(b2), mailbox), *uid_r, *error_r);
		xfree(error_r);
	}
	strv_free(fl, n_fl);
out:
	store_copies_free(&before);
	store_copies_free(&after);
	recall_tokens_free(&tokens, n_tokens);
	return rc;
}

static void
add_failed(json_t *failed, const char *recipient, const char *mailbox,
    const char *error)
{
	json_t *o = json_object();

	json_object_set_new(o, "recipient", auditev_str(recipient));
	json_object_set_new(o, "mailbox", auditev_str(mailbox));
	json_object_set_new(o, "error", auditev_str(error));
	json_array_append_new(failed, o);
}

int
quarantine_restore(const struct recall_env *env, const char *actor,
    const struct request *req, char **json_r, enum reply_code *code_r,
    char **error_r)
{
	char idbuf[24], *rcpt = NULL, *recall_id = NULL, *err = NULL;
	char b1[256], b2[256], b3[256];
	const char *why = NULL;
	const char *params[2];
	struct db_result *r = NULL;
	long long id;
	int i, rows, open_rows = 0, n_restored = 0;
	json_t *out, *restored, *failed;

	*json_r = NULL;
	if (!request_ref_is_request_id(req->ref, &id)) {
		*code_r = REPLY_BAD_REQUEST;
		*error_r = xstrdup("restore needs a request id (a number, as "
		    "recallctl status shows)");
		return -1;
	}
	if (req->recipient != NULL
	    && (rcpt = addr_normalise(req->recipient, &why)) == NULL) {
		*code_r = REPLY_BAD_REQUEST;
		*error_r = xasprintf("--recipient: %s", why != NULL ? why
		    : "not an address");
		return -1;
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", id);
	params[0] = idbuf;
	params[1] = rcpt;
	r = db_query(env->db, "SELECT recall_id FROM recall_request "
	    "WHERE id = $1::bigint", 1, params, error_r);
	if (r == NULL)
		goto dberror;
	if (db_rows(r) == 0) {
		db_result_free(&r);
		free(rcpt);
		*code_r = REPLY_NOT_FOUND;
		*error_r = xasprintf("no recall request %lld", id);
		return -1;
	}
	recall_id = xstrdup(db_str(r, 0, 0));
	db_result_free(&r);
	r = db_query(env->db, "SELECT id, recipient, store_user, mailbox, "
	    "flags, " DB_SQL_RFC3339("restored_at") ", "
	    DB_SQL_RFC3339("purged_at") " FROM quarantine "
	    "WHERE request_id = $1::bigint AND ($2::text IS NULL "
	    "OR recipient = $2 OR copy_addr = $2) ORDER BY id",
	    2, params, error_r);
	if (r == NULL)
		goto dberror;
	rows = db_rows(r);
	for (i = 0; i < rows; i++)
		if (db_value(r, i, 5) == NULL && db_value(r, i, 6) == NULL)
			open_rows++;
	if (rows == 0 || open_rows == 0) {
		*code_r = rows == 0 ? REPLY_NOT_FOUND : REPLY_REFUSED;
		if (rows == 0)
			*error_r = xasprintf("request %lld kept no copy in "
			    "quarantine%s%s", id, rcpt != NULL ? " for " : "",
			    rcpt != NULL ? rcpt : "");
		else if (db_value(r, 0, 5) != NULL)
			*error_r = xasprintf("request %lld: already restored "
			    "(at %s); nothing left to restore", id,
			    db_str(r, 0, 5));
		else
			*error_r = xasprintf("request %lld: the quarantine "
			    "copy was purged at %s (expired, or never "
			    "removed)", id, db_str(r, 0, 6));
		if (rows > 0)
			recall_audit_refusal(env, actor, req, recall_id, NULL,
			    *error_r);
		db_result_free(&r);
		free(rcpt);
		free(recall_id);
		return -1;
	}

	out = json_object();
	restored = json_array();
	failed = json_array();
	for (i = 0; i < rows; i++) {
		const char *qid = db_str(r, i, 0), *recipient = db_str(r, i, 1);
		const char *user = db_str(r, i, 2), *mailbox = db_str(r, i, 3);
		const char *flags = db_str(r, i, 4);
		const char *p1[1] = { qid };
		struct db_result *claim;
		char *text;
		size_t len = 0;
		unsigned long uid = 0;

		if (db_value(r, i, 5) != NULL || db_value(r, i, 6) != NULL)
			continue;
		claim = db_query(env->db, "UPDATE quarantine SET restored_at "
		    "= now() WHERE id = $1::bigint AND restored_at IS NULL "
		    "AND purged_at IS NULL RETURNING message", 1, p1, &err);
		if (claim == NULL || db_rows(claim) == 0) {
			add_failed(failed, recipient, mailbox, claim == NULL
			    ? err : "restored or purged meanwhile");
			db_result_free(&claim);
			xfree(&err);
			continue;
		}
		text = db_bytea_decode(db_str(claim, 0, 0), &len);
		db_result_free(&claim);
		if (text == NULL || put_back(env, recall_id, user, mailbox,
		    flags, text, len, &uid, &err) < 0) {
			char *e2 = NULL;

			if (db_exec(env->db, "UPDATE quarantine SET "
			    "restored_at = NULL WHERE id = $1::bigint", 1, p1,
			    NULL, &e2) < 0) {
				log_warnx("restore: quarantine row %s: %s", qid,
				    e2);
				free(e2);
			}
			add_failed(failed, recipient, mailbox, text == NULL
			    ? "quarantine copy unreadable" : err);
			log_warnx("restore of request %lld: %s: %s", id,
			    log_safe(b1, sizeof(b1), recipient),
			    text == NULL ? "unreadable" : err);
			free(text);
			xfree(&err);
			continue;
		}
		free(text);
		n_restored++;
		{
			json_t *o = json_object(), *ev = json_object();

			json_object_set_new(o, "recipient", auditev_str(recipient));
			json_object_set_new(o, "mailbox", auditev_str(mailbox));
			json_object_set_new(o, "uid", json_integer((json_int_t)uid));
			json_object_set_new(o, "flags", auditev_str(flags));
			json_array_append_new(restored, o);
			json_object_set_new(ev, "quarantine_id",
			    json_integer(strtoll(qid, NULL, 10)));
			json_object_set_new(ev, "recipient", auditev_str(recipient));
			json_object_set_new(ev, "store_user", auditev_str(user));
			json_object_set_new(ev, "mailbox", auditev_str(mailbox));
			json_object_set_new(ev, "uid", json_integer((json_int_t)uid));
			json_object_set_new(ev, "flags", auditev_str(flags));
			(void)auditev_append(env->db, actor, "restore",
			    recall_id, id, ev);
		}
		log_info("request %lld: %s restored into %s/%s uid %lu by %s",
		    id, log_safe(b1, sizeof(b1), recipient),
		    log_safe(b2, sizeof(b2), user),
		    log_safe(b3, sizeof(b3), mailbox), uid, actor);
	}
	db_result_free(&r);
	json_object_set_new(out, "request", json_string(idbuf));
	json_object_set_new(out, "restored", restored);
	json_object_set_new(out, "failed", failed);
	*json_r = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (*json_r == NULL)
		abort();
	{
		char *copy = xstrdup(*json_r);

		free(*json_r);
		*json_r = copy;
	}
	free(rcpt);
	free(recall_id);
	(void)n_restored;
	return 0;

dberror:
	free(rcpt);
	free(recall_id);
	*code_r = REPLY_UNAVAILABLE;
	return -1;
}

int
quarantine_purge(const struct recall_env *env, const char *actor,
    long *n_r, char **error_r)
{
	struct db_result *r;
	char batch[24];
	const char *params[1] = { batch };
	int i;

	*n_r = 0;
	snprintf(batch, sizeof(batch), "%d", QUARANTINE_PURGE_BATCH);
	r = db_query(env->db, "SELECT id FROM quarantine WHERE purged_at IS "
	    "NULL AND expires_at <= now() ORDER BY id LIMIT $1::int",
	    1, params, error_r);
	if (r == NULL)
		return -1;
	for (i = 0; i < db_rows(r); i++) {
		const char *p1[1] = { db_str(r, i, 0) };
		struct db_result *u;
		char *err = NULL;
		json_t *ev;

		/* Another recalld may purge the same row: only one wins. */
		u = db_query(env->db, "UPDATE quarantine q SET message = "
		    "'\\x'::bytea, purged_at = now() WHERE id = $1::bigint "
		    "AND purged_at IS NULL AND expires_at <= now() RETURNING "
		    "q.request_id, q.recipient, q.store_user, q.mailbox, q.uid, "
		    DB_SQL_RFC3339("q.expires_at") ", "
		    "q.restored_at IS NOT NULL, "
		    "(SELECT recall_id FROM recall_request rr "
		    "WHERE rr.id = q.request_id)", 1, p1, &err);
		if (u == NULL) {
			log_warnx("purge: quarantine row %s: %s", p1[0], err);
			free(err);
			continue;
		}
		if (db_rows(u) == 1) {
			ev = json_object();
			json_object_set_new(ev, "quarantine_id",
			    json_integer(strtoll(p1[0], NULL, 10)));
			json_object_set_new(ev, "recipient",
			    auditev_str(db_str(u, 0, 1)));
			json_object_set_new(ev, "store_user",
			    auditev_str(db_str(u, 0, 2)));
			json_object_set_new(ev, "mailbox",
			    auditev_str(db_str(u, 0, 3)));
			json_object_set_new(ev, "uid",
			    json_integer(strtoll(db_str(u, 0, 4), NULL, 10)));
			json_object_set_new(ev, "expired_at",
			    auditev_str(db_str(u, 0, 5)));
			json_object_set_new(ev, "was_restored", json_boolean(
			    strcmp(db_str(u, 0, 6), "t") == 0));
			(void)auditev_append(env->db, actor, "purge",
			    db_value(u, 0, 7),
			    strtoll(db_str(u, 0, 0), NULL, 10), ev);
			(*n_r)++;
		}
		db_result_free(&u);
	}
	db_result_free(&r);
	if (*n_r > 0)
		log_info("purged %ld expired quarantine cop%s", *n_r,
		    *n_r == 1 ? "y" : "ies");
	return 0;
}
