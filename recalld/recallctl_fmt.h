/*
 * recallctl_fmt - recallctl's side of the control protocol: the request
 * it sends, the answer it reads, and how it shows the answer.
 *
 * Pure (jansson only, no I/O) so tests can feed it any answer.  The
 * answer is checked against SPEC's shape before anything is printed; an
 * answer recalld should never send is an error, not half a table.
 * Text from the answer (addresses, reasons) is printed with control
 * characters escaped, so a crafted address cannot drive the terminal.
 *
 * Ownership: struct fmt_reply owns its strings (fmt_reply_clear());
 * every char * returned is heap memory the caller frees.
 */
#ifndef RECALL_RECALLCTL_FMT_H
#define RECALL_RECALLCTL_FMT_H

#include <stdbool.h>
#include <stddef.h>

/* recallctl's exit codes (SPEC). */
#define FMT_EXIT_COMPLETE 0
#define FMT_EXIT_PARTIAL 1
#define FMT_EXIT_FAILED 2	/* failed or refused */
#define FMT_EXIT_USAGE 64	/* EX_USAGE */
#define FMT_EXIT_UNAVAILABLE 69	/* EX_UNAVAILABLE: recalld (or its DB) */
#define FMT_EXIT_CONFIG 78	/* EX_CONFIG */

struct fmt_copy {
	char *recipient;
	char *outcome;
	char *reason;
	char *at;
};

struct fmt_reply {
	bool is_error;
	char *error;		/* is_error: the text */
	char *code;		/* is_error: "unavailable", "refused", ... */
	char *request;
	char *message_id;
	char *status;		/* complete | partial | failed */
	struct fmt_copy *copies;
	size_t n_copies;
};

/*
 * The request frame for op "recall" or "status" (as may be NULL), or NULL
 * when ref or as is not UTF-8.
 */
char *fmt_request(const char *op, const char *ref, bool dry_run,
    const char *as);

/* Is s one of SPEC's outcome names? */
bool fmt_outcome_valid(const char *s);

/* Parse and check an answer.  Returns 0, or -1 with *error_r. */
int fmt_reply_parse(const char *payload, size_t len, struct fmt_reply *r,
    char **error_r);
void fmt_reply_clear(struct fmt_reply *r);

/* The exit code an answer means. */
int fmt_exit_code(const struct fmt_reply *r);

/* SPEC's JSON object (one line, with a newline). */
char *fmt_json(const struct fmt_reply *r);
/* {"error": ..., "code": ...} (one line, with a newline). */
char *fmt_error_json(const char *code, const char *message);

/*
 * The table: a header line, one line per copy (recipient, outcome, at,
 * reason), and a summary line.  dry_run adds that nothing was changed.
 */
char *fmt_table(const struct fmt_reply *r, bool dry_run);

/* s with control characters shown as \xNN (heap). */
char *fmt_printable(const char *s);

#endif
