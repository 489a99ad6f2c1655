/*
 * recallctl_ops - recallctl's side of the ops beyond recall and status:
 * history, audit verify, restore and purge.  Requests out, answers in,
 * and how they are shown.
 *
 * Pure (jansson only, no I/O) so tests can feed any answer.  An answer
 * of the wrong shape is an error, never half a table.  Text from the
 * answer is printed with control characters escaped (fmt_printable()),
 * except in CSV and JSON, which carry it exactly (quoted/escaped).
 *
 * Ownership: every char * returned is heap memory the caller frees.
 */
#ifndef RECALL_RECALLCTL_OPS_H
#define RECALL_RECALLCTL_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"

struct ops_history_filter {
	const char *sender, *recipient, *since, *until, *outcome;
	long limit;	/* 0: recalld's default */
};

/* The request frames; NULL when a value is not UTF-8. */
char *ops_history_request(const struct ops_history_filter *f);
char *ops_simple_request(const char *op);	/* audit_verify, purge */
char *ops_restore_request(const char *ref, const char *recipient);
char *ops_recall_request(const char *ref, bool dry_run, const char *as,
    const char *on_behalf_of, const char *via);

enum ops_format { OPS_TABLE, OPS_JSON, OPS_CSV };

/*
 * Format an answer of op ("history", "audit_verify", "restore", "purge")
 * into *out_r.  Returns the exit code (0 success, 1 partial or a broken
 * audit chain, 2 failure), or -1 with *error_r when the answer has the
 * wrong shape.  *warn_r (may be NULL on return) is a line for stderr
 * (history truncated).
 */
int ops_format_answer(const char *op, const char *payload, size_t len,
    enum ops_format format, char **out_r, char **warn_r, char **error_r);

/* One CSV field (RFC 4180): quoted when it holds , " CR LF or spaces. */
void ops_csv_field(struct sbuf *sb, const char *s);

#endif
