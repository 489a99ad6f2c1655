/*
 * records - recalld's SQL.  See records.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "sbuf.h"
#include "xalloc.h"

void
records_message_clear(struct records_message *m)
{
	xfree(&m->recall_id);
	xfree(&m->message_id);
	xfree(&m->sender);
	xfree(&m->auth_user);
	xfree(&m->origin);
	m->age = 0;
}

static long long
to_ll(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : v;
}

int
records_message_by_recall_id(struct db *db, const char *recall_id,
    struct records_message *m, char **error_r)
{
	char id[32];
	const char *params[1] = { id };
	struct db_result *r;
	size_t i;

	snprintf(id, sizeof(id), "%.24s", recall_id);
	for (i = 0; id[i] != '\0'; i++)
		id[i] = (char)tolower((unsigned char)id[i]);
	r = db_query(db, "SELECT recall_id, message_id, sender, auth_user, "
	    "origin, floor(extract(epoch FROM now() - submitted_at))::bigint "
	    "FROM messages WHERE recall_id = $1", 1, params, error_r);
	if (r == NULL)
		return -1;
	if (db_rows(r) == 0) {
		db_result_free(&r);
		return 0;
	}
	m->recall_id = xstrdup(db_str(r, 0, 0));
	m->message_id = xstrdup(db_str(r, 0, 1));
	m->sender = xstrdup(db_str(r, 0, 2));
	m->auth_user = db_value(r, 0, 3) != NULL
	    ? xstrdup(db_value(r, 0, 3)) : NULL;
	m->origin = xstrdup(db_str(r, 0, 4));
	m->age = (long)to_ll(db_str(r, 0, 5));
	db_result_free(&r);
	return 1;
}

int
records_recall_ids_by_msgid(struct db *db, const char *msgid, size_t max,
    char ***ids_r, size_t *n_r, char **error_r)
{
	char limit[24];
	const char *params[2] = { msgid, limit };
	struct db_result *r;
	int i;

	*ids_r = NULL;
	*n_r = 0;
	snprintf(limit, sizeof(limit), "%zu", max);
	r = db_query(db, "SELECT recall_id FROM messages WHERE message_id = $1 "
	    "ORDER BY submitted_at DESC, recorded_at DESC LIMIT $2::int",
	    2, params, error_r);
	if (r == NULL)
		return -1;
	*ids_r = xcalloc((size_t)db_rows(r) + 1, sizeof(**ids_r));
	for (i = 0; i < db_rows(r); i++)
		(*ids_r)[i] = xstrdup(db_str(r, i, 0));
	*n_r = (size_t)db_rows(r);
	db_result_free(&r);
	return 0;
}

void
records_ids_free(char ***ids, size_t n)
{
	size_t i;

	if (*ids == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*ids)[i]);
	xfree(ids);
}

int
records_recipients(struct db *db, const char *recall_id,
    struct records_recipient **v_r, size_t *n_r, char **error_r)
{
	const char *params[1] = { recall_id };
	struct db_result *r;
	int i;

	*v_r = NULL;
	*n_r = 0;
	r = db_query(db, "SELECT recipient, class FROM recipients "
	    "WHERE recall_id = $1 ORDER BY recipient", 1, params, error_r);
	if (r == NULL)
		return -1;
	*v_r = xcalloc((size_t)db_rows(r) + 1, sizeof(**v_r));
	for (i = 0; i < db_rows(r); i++) {
		(*v_r)[i].recipient = xstrdup(db_str(r, i, 0));
		(*v_r)[i].class = xstrdup(db_str(r, i, 1));
	}
	*n_r = (size_t)db_rows(r);
	db_result_free(&r);
	return 0;
}

void
records_recipients_free(struct records_recipient **v, size_t n)
{
	size_t i;

	if (*v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*v)[i].recipient);
		free((*v)[i].class);
	}
	xfree(v);
}

int
records_try_lock(struct db *db, const char *recall_id, bool *locked_r,
    char **error_r)
{
	const char *params[1] = { recall_id };
	struct db_result *r;

	*locked_r = false;
	r = db_query(db, "SELECT pg_try_advisory_lock(hashtextextended("
	    "'recall:' || $1, 0))", 1, params, error_r);
	if (r == NULL)
		return -1;
	*locked_r = strcmp(db_str(r, 0, 0), "t") == 0;
	db_result_free(&r);
	return 0;
}

void
records_unlock(struct db *db, const char *recall_id)
{
	const char *params[1] = { recall_id };
	struct db_result *r;
	char *error = NULL;

	r = db_query(db, "SELECT pg_advisory_unlock(hashtextextended("
	    "'recall:' || $1, 0))", 1, params, &error);
	/* A lost connection releases the lock anyway. */
	db_result_free(&r);
	free(error);
}

int
records_prior_recall(struct db *db, const char *recall_id,
    const char *recipient, long long *id_r, char **at_r, char **error_r)
{
	const char *params[2] = { recall_id, recipient };
	struct db_result *r;
	int found;

	*at_r = NULL;
	r = db_query(db, "SELECT r.id, " DB_SQL_RFC3339("o.decided_at")
	    " FROM recall_outcome o JOIN recall_request r ON r.id = o.request_id"
	    " WHERE r.recall_id = $1 AND o.recipient = $2 AND NOT r.dry_run"
	    " AND o.outcome = 'recalled'"
	    /* A restored copy is back in the mailbox: that recall is undone. */
	    " AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE"
	    "  q.request_id = r.id AND q.recipient = o.recipient"
	    "  AND q.restored_at IS NOT NULL)"
	    " ORDER BY o.decided_at DESC LIMIT 1",
	    2, params, error_r);
	if (r == NULL)
		return -1;
	found = db_rows(r) > 0;
	if (found) {
		*id_r = to_ll(db_str(r, 0, 0));
		*at_r = xstrdup(db_str(r, 0, 1));
	}
	db_result_free(&r);
	return found;
}

int
records_request_new(struct db *db, const char *recall_id,
    const char *requested_by, const char *report_to, const char *via,
    bool dry_run, long long *id_r, char **error_r)
{
	const char *params[5] = { recall_id, requested_by, report_to,
	    dry_run ? "true" : "false", via != NULL ? via : "recallctl" };
	struct db_result *r;

	r = db_query(db, "INSERT INTO recall_request (recall_id, requested_by, "
	    "report_to, via, dry_run) VALUES ($1, $2, $3, $5, $4) "
	    "RETURNING id", 5, params, error_r);
	if (r == NULL)
		return -1;
	*id_r = to_ll(db_str(r, 0, 0));
	db_result_free(&r);
	return 0;
}

int
records_outcome_add(struct db *db, long long request_id,
    const char *recipient, const char *copy_addr, const char *outcome,
    const char *reason, char **at_r, char **error_r)
{
	char id[24];
	const char *params[5] = { id, recipient, copy_addr, outcome, reason };
	struct db_result *r;

	*at_r = NULL;
	snprintf(id, sizeof(id), "%lld", request_id);
	r = db_query(db, "INSERT INTO recall_outcome (request_id, recipient, "
	    "copy_addr, outcome, reason) VALUES ($1, $2, $3, $4, $5) "
	    /* A retry of a pending copy decides it again (recall_retry). */
	    "ON CONFLICT (request_id, recipient, copy_addr) DO UPDATE SET "
	    "outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, "
	    "decided_at = now() "
	    "RETURNING " DB_SQL_RFC3339("decided_at"), 5, params, error_r);
	if (r == NULL)
		return -1;
	*at_r = xstrdup(db_str(r, 0, 0));
	db_result_free(&r);
	return 0;
}

int
records_outcome_add_many(struct db *db, long long request_id,
    struct records_outcome *v, size_t n, char **error_r)
{
	struct sbuf col[4];
	const char *params[5];
	char id[24];
	struct db_result *r;
	size_t i, k;

	if (n == 0)
		return 0;
	for (k = 0; k < 4; k++)
		sbuf_init(&col[k]);
	for (i = 0; i < n; i++) {
		const char *f[4] = { v[i].recipient, v[i].copy_addr,
		    v[i].outcome, v[i].reason };

		for (k = 0; k < 4; k++)
			db_array_add(&col[k], i, f[k]);
	}
	snprintf(id, sizeof(id), "%lld", request_id);
	params[0] = id;
	for (k = 0; k < 4; k++) {
		db_array_end(&col[k]);
		params[k + 1] = sbuf_str(&col[k]);
	}
	/* decided_at is now(): the same for every row of the transaction. */
	r = db_query(db, "WITH ins AS (INSERT INTO recall_outcome "
	    "(request_id, recipient, copy_addr, outcome, reason) "
	    "SELECT $1, t.r, t.c, t.o, t.w FROM unnest($2::text[], "
	    "$3::text[], $4::text[], $5::text[]) AS t(r, c, o, w) "
	    /* A retry of a pending copy decides it again (recall_retry). */
	    "ON CONFLICT (request_id, recipient, copy_addr) DO UPDATE SET "
	    "outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, "
	    "decided_at = now() RETURNING 1) "
	    "SELECT (SELECT count(*) FROM ins), " DB_SQL_RFC3339("now()"),
	    5, params, error_r);
	for (k = 0; k < 4; k++)
		sbuf_release(&col[k]);
	if (r == NULL)
		return -1;
	if (strtoull(db_str(r, 0, 0), NULL, 10) != n) {
		db_result_free(&r);
		*error_r = xstrdup("recall_outcome: not every row was written");
		return -1;
	}
	for (i = 0; i < n; i++)
		v[i].at = xstrdup(db_str(r, 0, 1));
	db_result_free(&r);
	return 0;
}

int
records_request_finish(struct db *db, long long request_id,
    const char *status, char **error_r)
{
	char id[24];
	const char *params[2] = { id, status };

	snprintf(id, sizeof(id), "%lld", request_id);
	return db_exec(db, "UPDATE recall_request SET status = $2, "
	    "finished_at = now() WHERE id = $1", 2, params, NULL, error_r);
}

int
records_quarantine_add(struct db *db, const struct records_quarantine *q,
    long long *id_r, char **error_r)
{
	char req[24], uid[24], days[24];
	char *hex;
	const char *params[9];
	struct db_result *r;

	snprintf(req, sizeof(req), "%lld", q->request_id);
	snprintf(uid, sizeof(uid), "%lu", q->uid);
	snprintf(days, sizeof(days), "%ld", q->days);
	hex = db_bytea_encode(q->message, q->len);
	params[0] = req;
	params[1] = q->recipient;
	params[2] = q->copy_addr;
	params[3] = q->store_user;
	params[4] = q->mailbox;
	params[5] = uid;
	params[6] = q->flags;
	params[7] = hex;
	params[8] = days;
	r = db_query(db, "INSERT INTO quarantine (request_id, recipient, "
	    "copy_addr, store_user, mailbox, uid, flags, message, expires_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bytea, "
	    "now() + make_interval(days => $9::int)) RETURNING id",
	    9, params, error_r);
	free(hex);
	if (r == NULL)
		return -1;
	*id_r = to_ll(db_str(r, 0, 0));
	db_result_free(&r);
	return 0;
}

/* Rows q[0..n) (one request, one policy) in one INSERT with ids[]. */
static int
quarantine_insert(struct db *db, const struct records_quarantine *q,
    size_t n, long long *ids, char **error_r)
{
	struct sbuf col[8];
	const char *params[10];
	char req[24], days[24], count[24];
	struct db_result *r;
	size_t i, k;
	int rc;

	snprintf(count, sizeof(count), "%zu", n);
	params[0] = count;
	r = db_query(db, "SELECT nextval('quarantine_id_seq') FROM "
	    "generate_series(1, $1::int) ORDER BY 1", 1, params, error_r);
	if (r == NULL)
		return -1;
	if ((size_t)db_rows(r) != n) {
		db_result_free(&r);
		*error_r = xstrdup("quarantine: no row ids");
		return -1;
	}
	for (i = 0; i < n; i++)
		ids[i] = to_ll(db_str(r, (int)i, 0));
	db_result_free(&r);
	for (k = 0; k < 8; k++)
		sbuf_init(&col[k]);
	for (i = 0; i < n; i++) {
		char id[24], uid[24], *hex = db_bytea_encode(q[i].message,
		    q[i].len);
		const char *f[8] = { id, q[i].recipient, q[i].copy_addr,
		    q[i].store_user, q[i].mailbox, uid, q[i].flags, hex };

		snprintf(id, sizeof(id), "%lld", ids[i]);
		snprintf(uid, sizeof(uid), "%lu", q[i].uid);
		for (k = 0; k < 8; k++)
			db_array_add(&col[k], i, f[k]);
		free(hex);
	}
	snprintf(req, sizeof(req), "%lld", q[0].request_id);
	snprintf(days, sizeof(days), "%ld", q[0].days);
	for (k = 0; k < 8; k++) {
		db_array_end(&col[k]);
		params[k] = sbuf_str(&col[k]);
	}
	params[8] = req;
	params[9] = days;
	rc = db_exec(db, "INSERT INTO quarantine (id, request_id, recipient, "
	    "copy_addr, store_user, mailbox, uid, flags, message, expires_at) "
	    "SELECT t.id, $9, t.r, t.c, t.u, t.b, t.i, t.f, t.m, "
	    "now() + make_interval(days => $10::int) FROM unnest("
	    "$1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
	    "$6::bigint[], $7::text[], $8::bytea[]) "
	    "AS t(id, r, c, u, b, i, f, m)", 10, params, NULL, error_r);
	for (k = 0; k < 8; k++)
		sbuf_release(&col[k]);
	return rc;
}

int
records_quarantine_add_many(struct db *db,
    const struct records_quarantine *q, size_t n, long long *ids,
    char **error_r)
{
	size_t i = 0, j;

	while (i < n) {
		unsigned long long bytes = q[i].len;

		for (j = i + 1; j < n && q[j].request_id == q[i].request_id
		    && q[j].days == q[i].days
		    && bytes + q[j].len <= RECORDS_QUARANTINE_BYTES; j++)
			bytes += q[j].len;
		if (quarantine_insert(db, &q[i], j - i, &ids[i], error_r) < 0)
			return -1;
		i = j;
	}
	return 0;
}

int
records_quarantine_void(struct db *db, long long id, char **error_r)
{
	char qid[24];
	const char *params[1] = { qid };

	snprintf(qid, sizeof(qid), "%lld", id);
	return db_exec(db, "UPDATE quarantine SET purged_at = now() "
	    "WHERE id = $1", 1, params, NULL, error_r);
}

int
records_last_request(struct db *db, const char *recall_id, long long *id_r,
    char **error_r)
{
	const char *params[1] = { recall_id };
	struct db_result *r;
	int found;

	r = db_query(db, "SELECT id FROM recall_request WHERE recall_id = $1 "
	    "ORDER BY dry_run, requested_at DESC, id DESC LIMIT 1",
	    1, params, error_r);
	if (r == NULL)
		return -1;
	found = db_rows(r) > 0;
	if (found)
		*id_r = to_ll(db_str(r, 0, 0));
	db_result_free(&r);
	return found;
}

int
records_request_recall_id(struct db *db, long long id, char **recall_id_r,
    char **error_r)
{
	char rid[24];
	const char *params[1] = { rid };
	struct db_result *r;
	int found;

	*recall_id_r = NULL;
	snprintf(rid, sizeof(rid), "%lld", id);
	r = db_query(db, "SELECT recall_id FROM recall_request WHERE id = $1",
	    1, params, error_r);
	if (r == NULL)
		return -1;
	found = db_rows(r) > 0;
	if (found)
		*recall_id_r = xstrdup(db_str(r, 0, 0));
	db_result_free(&r);
	return found;
}

int
records_load_report(struct db *db, long long id, struct report *rep,
    char **error_r)
{
	char rid[24];
	const char *params[1] = { rid };
	struct db_result *r;
	int i;

	snprintf(rid, sizeof(rid), "%lld", id);
	r = db_query(db, "SELECT r.id, m.message_id, r.recall_id, r.dry_run, "
	    "coalesce(r.status, '') FROM recall_request r "
	    "JOIN messages m ON m.recall_id = r.recall_id WHERE r.id = $1",
	    1, params, error_r);
	if (r == NULL)
		return -1;
	if (db_rows(r) == 0) {
		db_result_free(&r);
		*error_r = xasprintf("no request %lld", id);
		return -1;
	}
	rep->request_id = to_ll(db_str(r, 0, 0));
	rep->message_id = xstrdup(db_str(r, 0, 1));
	rep->recall_id = xstrdup(db_str(r, 0, 2));
	rep->dry_run = strcmp(db_str(r, 0, 3), "t") == 0;
	db_result_free(&r);

	r = db_query(db, "SELECT recipient, copy_addr, outcome, reason, "
	    DB_SQL_RFC3339("decided_at") " FROM recall_outcome "
	    "WHERE request_id = $1 ORDER BY recipient, copy_addr",
	    1, params, error_r);
	if (r == NULL)
		return -1;
	for (i = 0; i < db_rows(r); i++) {
		enum outcome o;

		if (outcome_parse(db_str(r, i, 2), &o) < 0)
			o = OUTCOME_PENDING;	/* the CHECK makes this moot */
		report_add(rep, db_str(r, i, 0), db_str(r, i, 1), o,
		    db_str(r, i, 3), db_str(r, i, 4));
	}
	db_result_free(&r);
	/* From the rows: the stored status once finished, and while running. */
	report_update_status(rep);
	return 0;
}
