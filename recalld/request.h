/*
 * request - parse and validate one control-socket request.
 *
 *   {"op": "recall", "ref": "MSGREF", "dry_run": false, "as": null,
 *    "on_behalf_of": null, "via": "recallctl"}
 *   {"op": "status", "ref": "MSGREF|REQUEST-ID"}
 *   {"op": "history", "sender": A, "recipient": A, "since": T, "until": T,
 *    "outcome": O, "limit": N}                      (every filter optional)
 *   {"op": "audit_verify"}
 *   {"op": "restore", "ref": "REQUEST-ID", "recipient": A}  (recipient optional)
 *   {"op": "purge"}
 *   {"op": "trace", "ref": "MSGREF"}
 *
 * Strict: the payload must be one JSON object with an "op" string; each op
 * accepts only its own keys (table op_keys[] in request.c), a key may
 * appear once, optional keys may be null (= absent).  Text values must be
 * non-empty, at most ADDR_MAX_LEN bytes, without control characters.
 * Times (since, until) are RFC 3339 ("2026-11-27T10:00:00Z", an offset,
 * optional fractions) or a date ("2026-11-27", meaning 00:00 UTC); outcome
 * is one of SPEC's outcome names; via is "recallctl" or "mail"; limit is
 * 1..REQUEST_MAX_LIMIT.  The error text is meant for the user.
 *
 * Ownership: a struct request owns its strings; request_clear() frees
 * them.  *error_r is a heap string the caller frees.  Pure (jansson only).
 */
#ifndef RECALL_REQUEST_H
#define RECALL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum request_op {
	REQUEST_RECALL,
	REQUEST_STATUS,
	REQUEST_HISTORY,
	REQUEST_AUDIT_VERIFY,
	REQUEST_RESTORE,
	REQUEST_PURGE,
	REQUEST_TRACE,		/* recallctl trace (issue #4) */
};

#define REQUEST_DEFAULT_LIMIT 1000
#define REQUEST_MAX_LIMIT 100000

struct request {
	enum request_op op;
	char *ref;		/* recall, status, restore; as given */
	bool dry_run;		/* recall */
	char *as;		/* recall: admins' report address, or NULL */
	char *on_behalf_of;	/* recall: address a trusted caller relays */
	char *via;		/* recall: "recallctl" (default) or "mail" */
	char *recipient;	/* restore; history filter */
	char *sender;		/* history filters, NULL when not given */
	char *since;
	bool since_is_date;	/* "YYYY-MM-DD" */
	char *until;
	bool until_is_date;
	char *outcome;
	long limit;		/* history: 0 = REQUEST_DEFAULT_LIMIT */
};

int request_parse(const char *payload, size_t len, struct request *req,
    char **error_r);
void request_clear(struct request *req);
const char *request_op_name(enum request_op op);

/*
 * Is ref a request id (1 to 18 decimal digits)?  A recall id has 24 hex
 * digits and a Message-ID an '@', so the forms never overlap.
 */
bool request_ref_is_request_id(const char *ref, long long *id_r);

/*
 * Is s a time recallctl history accepts: RFC 3339 or YYYY-MM-DD?  Sets
 * *is_date_r for the date form.  Checks ranges (month 1-12, ...), not
 * the calendar (PostgreSQL rejects 2026-02-30 later).
 */
bool request_time_valid(const char *s, bool *is_date_r);

#endif
