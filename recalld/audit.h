/*
 * audit - the append-only, hash-chained audit trail (table audit_log).
 *
 * Each row stores hash = SHA-256(prev_hash || canonical(row)) in lower-case
 * hex, where prev_hash is the previous row's hash (64 zeros for the first
 * row) and canonical(row) encodes seq, at, actor, action, recall_id,
 * request_id and detail, each as "<byte length>:<bytes>" (SQL NULL as "~"),
 * so no two different rows share an encoding.  `at` is UTC with
 * microseconds ("2026-11-27T21:02:09.123456Z"), exactly what PostgreSQL
 * stores, so the canonical text survives the round trip.
 *
 * audit_append() serialises writers through a transaction-scoped advisory
 * lock, so several recalld hosts on one database extend one chain.
 * audit_verify() walks the table in seq order, in batches.
 *
 * Ownership: strings are borrowed; results are written into caller memory.
 */
#ifndef RECALL_AUDIT_H
#define RECALL_AUDIT_H

#include <stdbool.h>

#include "db.h"
#include "sbuf.h"

#define AUDIT_HASH_HEX 64

struct audit_row {
	const char *seq;	/* decimal */
	const char *at;		/* see above */
	const char *actor;
	const char *action;
	const char *recall_id;	/* may be NULL */
	const char *request_id;	/* decimal, may be NULL */
	const char *detail;
};

/* The canonical encoding of row, appended to out.  Pure. */
void audit_canonical(const struct audit_row *row, struct sbuf *out);
/* hash_r (65 bytes) = hex SHA-256(prev_hash || canonical(row)). */
int audit_hash(const char *prev_hash, const struct audit_row *row,
    char hash_r[AUDIT_HASH_HEX + 1]);

/*
 * Append one entry in its own transaction (do not call inside another).
 * actor: who (unix user, address, or "recalld"); action: a short verb such
 * as "request", "decision", "removal", "refusal", "restore", "purge";
 * detail: the inputs of the decision, as text.  Returns 0, or -1 with
 * *error_r.
 */
int audit_append(struct db *db, const char *actor, const char *action,
    const char *recall_id, const char *request_id, const char *detail,
    char **error_r);

/* One entry for audit_append_many(); fields as for audit_append(). */
struct audit_entry {
	const char *actor;
	const char *action;
	const char *recall_id;	/* may be NULL */
	const char *request_id;	/* decimal, may be NULL */
	const char *detail;
};

/*
 * Append v[0..n) in order, in one transaction under the same lock (all or
 * none; same `at` for all): a recall of many copies writes its decisions
 * in a few statements instead of a transaction each.  Returns 0, or -1
 * with *error_r.
 */
int audit_append_many(struct db *db, const struct audit_entry *v, size_t n,
    char **error_r);

struct audit_verify_result {
	long long rows;		/* rows checked */
	bool ok;
	long long bad_seq;	/* first bad row (or the row after a gap) */
	char why[160];		/* what is wrong with it */
};

/* Check the whole chain.  Returns 0 (see r->ok), or -1 with *error_r. */
int audit_verify(struct db *db, struct audit_verify_result *r,
    char **error_r);

#endif
