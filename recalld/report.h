/*
 * report - the per-recipient result of a recall request, and the JSON
 * that carries it (or an error) back to recallctl.
 *
 * The success object is SPEC's:
 *   {"request": "ID", "message_id": "<...>", "status": "complete|partial|failed",
 *    "copies": [{"recipient": "a@b", "outcome": "recalled", "reason": "...",
 *                "at": "RFC 3339"}]}
 * An error is {"error": "text", "code": "CODE"} with CODE one of the
 * reply_code names; recallctl maps "unavailable" to exit 69, the rest to 2.
 *
 * Ownership: a struct report owns every string in it; report_clear()
 * frees them and leaves an empty report.  The *_json functions return heap
 * strings the caller frees.  Pure (jansson; text from mail goes through
 * auditev_str(), which is pure too).
 */
#ifndef RECALL_REPORT_H
#define RECALL_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "decide.h"

struct report_copy {
	char *recipient;
	char *copy_addr;	/* mailbox owner, "" when none */
	enum outcome outcome;
	char *reason;
	char *at;		/* RFC 3339, UTC */
};

struct report {
	long long request_id;
	char *message_id;
	char *recall_id;
	bool dry_run;
	enum request_status status;
	struct report_copy *copies;
	size_t n_copies;
};

/* Append a copy; every string is copied. */
void report_add(struct report *r, const char *recipient, const char *copy_addr,
    enum outcome outcome, const char *reason, const char *at);
/* Recompute r->status from the copies' outcomes. */
void report_update_status(struct report *r);
void report_clear(struct report *r);

enum reply_code {
	REPLY_BAD_REQUEST,	/* malformed or oversized request */
	REPLY_NOT_FOUND,	/* unknown message or request */
	REPLY_REFUSED,		/* not authorised, or ambiguous reference */
	REPLY_BUSY,		/* another recall of this message is running */
	REPLY_UNAVAILABLE,	/* database down: try later */
	REPLY_INTERNAL,
};

const char *reply_code_name(enum reply_code c);

char *report_json(const struct report *r);
char *reply_error_json(enum reply_code code, const char *message);

#endif
