/*
 * audit - the hash-chained audit trail.  See audit.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "xalloc.h"

#define AUDIT_GENESIS \
    "0000000000000000000000000000000000000000000000000000000000000000"
/* Any constant: it only names our lock among other advisory locks. */
#define AUDIT_LOCK_KEY "7242316901"
#define AUDIT_BATCH "5000"

/* The canonical text of a timestamptz column, as audit.h describes. */
#define AUDIT_AT_SQL \
    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static void
audit_field(struct sbuf *out, const char *v)
{
	if (v == NULL)
		sbuf_addc(out, '~');
	else
		sbuf_addf(out, "%zu:%s", strlen(v), v);
}

void
audit_canonical(const struct audit_row *row, struct sbuf *out)
{
	audit_field(out, row->seq);
	audit_field(out, row->at);
	audit_field(out, row->actor);
	audit_field(out, row->action);
	audit_field(out, row->recall_id);
	audit_field(out, row->request_id);
	audit_field(out, row->detail);
}

int
audit_hash(const char *prev_hash, const struct audit_row *row,
    char hash_r[AUDIT_HASH_HEX + 1])
{
	struct sbuf sb = SBUF_INIT;
	unsigned char md[CRYPTO_SHA256_LEN];
	int rc;

	sbuf_adds(&sb, prev_hash);
	audit_canonical(row, &sb);
	rc = crypto_sha256(sb.buf, sb.len, md);
	sbuf_release(&sb);
	if (rc < 0)
		return -1;
	crypto_hex(md, sizeof(md), hash_r);
	return 0;
}

int
audit_append(struct db *db, const char *actor, const char *action,
    const char *recall_id, const char *request_id, const char *detail,
    char **error_r)
{
	const struct audit_entry e = { actor, action, recall_id, request_id,
	    detail };

	return audit_append_many(db, &e, 1, error_r);
}

static void
audit_bad(struct audit_verify_result *r, long long seq, const char *why)
{
	r->ok = false;
	r->bad_seq = seq;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

int
audit_verify(struct db *db, struct audit_verify_result *r, char **error_r)
{
	char prev[AUDIT_HASH_HEX + 1], after[32], hash[AUDIT_HASH_HEX + 1];
	long long expect = 1;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);
	snprintf(after, sizeof(after), "0");
	for (;;) {
		const char *p[] = { after };
		struct db_result *res;
		int i, n;

		res = db_query(db, "SELECT seq, " AUDIT_AT_SQL ", actor, action, "
		    "recall_id, request_id, detail, prev_hash, hash "
		    "FROM audit_log WHERE seq > $1::bigint ORDER BY seq "
		    "LIMIT " AUDIT_BATCH, 1, p, error_r);
		if (res == NULL)
			return -1;
		n = db_rows(res);
		for (i = 0; i < n; i++) {
			struct audit_row row = { db_str(res, i, 0),
			    db_str(res, i, 1), db_str(res, i, 2),
			    db_str(res, i, 3), db_value(res, i, 4),
			    db_value(res, i, 5), db_str(res, i, 6) };
			long long seq = strtoll(row.seq, NULL, 10);

			r->rows++;
			if (seq != expect) {
				audit_bad(r, expect, seq > expect
				    ? "row missing (gap in the sequence)"
				    : "sequence out of order");
				break;
			}
			if (strcmp(db_str(res, i, 7), prev) != 0) {
				audit_bad(r, seq, "prev_hash does not match the "
				    "previous row's hash (row removed or "
				    "inserted out of chain)");
				break;
			}
			if (audit_hash(prev, &row, hash) < 0) {
				db_result_free(&res);
				*error_r = xstrdup("audit: SHA-256 failed");
				return -1;
			}
			if (strcmp(hash, db_str(res, i, 8)) != 0) {
				audit_bad(r, seq, "content does not match its "
				    "hash (row changed)");
				break;
			}
			snprintf(prev, sizeof(prev), "%s", hash);
			expect = seq + 1;
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s", db_str(res, n - 1, 0));
		db_result_free(&res);
		if (!r->ok || n == 0)
			return 0;
	}
}

/*
 * Rows per INSERT statement in audit_append_many(): one array parameter a
 * column (a recall of 10,000 copies writes 20,000 rows).
 */
#define AUDIT_INSERT_ROWS 2000
#define AUDIT_COLS 8	/* besides "at", the same for the whole batch */

int
audit_append_many(struct db *db, const struct audit_entry *v, size_t n,
    char **error_r)
{
	const char *lock[] = { AUDIT_LOCK_KEY };
	struct db_result *last = NULL, *now = NULL;
	char prev[AUDIT_HASH_HEX + 1], seq[32];
	char (*hash)[AUDIT_HASH_HEX + 1] = NULL;
	const char *p[AUDIT_COLS + 1];
	struct sbuf col[AUDIT_COLS];
	long long next = 1;
	size_t g, k, c;
	int rc = -1;

	if (n == 0)
		return 0;
	if (db_begin(db, error_r) < 0)
		return -1;
	for (c = 0; c < AUDIT_COLS; c++)
		sbuf_init(&col[c]);
	if ((last = db_query(db, "SELECT pg_advisory_xact_lock($1::bigint)",
	    1, lock, error_r)) == NULL)
		goto out;
	db_result_free(&last);
	last = db_query(db, "SELECT seq, hash FROM audit_log "
	    "ORDER BY seq DESC LIMIT 1", 0, NULL, error_r);
	if (last == NULL)
		goto out;
	snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);
	if (db_rows(last) == 1) {
		next = strtoll(db_str(last, 0, 0), NULL, 10) + 1;
		snprintf(prev, sizeof(prev), "%s", db_str(last, 0, 1));
	}
	/* One time for the whole batch: it is one transaction. */
	now = db_query(db, "SELECT to_char(clock_timestamp() AT TIME ZONE "
	    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 0, NULL, error_r);
	if (now == NULL)
		goto out;
	hash = xcalloc(AUDIT_INSERT_ROWS, sizeof(*hash));
	for (g = 0; g < n; g += AUDIT_INSERT_ROWS) {
		size_t rows = n - g < AUDIT_INSERT_ROWS ? n - g
		    : AUDIT_INSERT_ROWS;

		for (c = 0; c < AUDIT_COLS; c++)
			sbuf_reset(&col[c]);
		for (k = 0; k < rows; k++) {
			const struct audit_entry *e = &v[g + k];
			struct audit_row row;
			const char *f[AUDIT_COLS];

			snprintf(seq, sizeof(seq), "%lld", next++);
			row = (struct audit_row){ seq, db_str(now, 0, 0),
			    e->actor, e->action, e->recall_id, e->request_id,
			    e->detail != NULL ? e->detail : "" };
			if (audit_hash(k == 0 ? prev : hash[k - 1], &row,
			    hash[k]) < 0) {
				*error_r = xstrdup("audit: SHA-256 failed");
				goto out;
			}
			f[0] = row.seq;
			f[1] = row.actor;
			f[2] = row.action;
			f[3] = row.recall_id;
			f[4] = row.request_id;
			f[5] = row.detail;
			f[6] = k == 0 ? prev : hash[k - 1];
			f[7] = hash[k];
			for (c = 0; c < AUDIT_COLS; c++)
				db_array_add(&col[c], k, f[c]);
		}
		p[0] = db_str(now, 0, 0);
		for (c = 0; c < AUDIT_COLS; c++) {
			db_array_end(&col[c]);
			p[c + 1] = sbuf_str(&col[c]);
		}
		if (db_exec(db, "INSERT INTO audit_log (seq, at, actor, action, "
		    "recall_id, request_id, detail, prev_hash, hash) "
		    "SELECT t.s, $1::timestamptz, t.a, t.c, t.r, t.q, t.d, "
		    "t.p, t.h FROM unnest($2::bigint[], $3::text[], $4::text[], "
		    "$5::text[], $6::bigint[], $7::text[], $8::text[], "
		    "$9::text[]) WITH ORDINALITY AS t(s, a, c, r, q, d, p, h, o) "
		    "ORDER BY t.o", AUDIT_COLS + 1, p, NULL, error_r) < 0)
			goto out;
		snprintf(prev, sizeof(prev), "%s", hash[rows - 1]);
	}
	rc = db_commit(db, error_r);
out:
	if (rc < 0)
		db_rollback(db);
	db_result_free(&last);
	db_result_free(&now);
	for (c = 0; c < AUDIT_COLS; c++)
		sbuf_release(&col[c]);
	free(hash);
	return rc;
}
