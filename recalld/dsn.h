/*
 * dsn - the report mail of a recall request, composed as a delivery
 * status notification (RFC 6522 multipart/report, report-type
 * delivery-status, RFC 3464 fields).  Pure: no I/O, no clock.
 *
 * The message has three parts:
 *
 *   1. text/plain (UTF-8): a readable table, one line per recipient
 *      (recipient, outcome, reason);
 *   2. message/delivery-status: per message Reporting-MTA, Arrival-Date and
 *      X-Recall-Request/-Message-ID/-Status; per recipient Original-
 *      Recipient and Final-Recipient (rfc822;addr), Action, Status, and the
 *      extension fields X-Recall-Outcome, X-Recall-Reason, X-Recall-At;
 *   3. text/rfc822-headers: the original message's header.
 *
 * Action and Status per outcome (RFC 3464 has no "recalled"; its Action
 * says what happened to the recall of that copy):
 *
 *   recalled, held-recalled   Action: delivered   Status: 2.0.0
 *   pending                   Action: delayed     Status: 4.0.0
 *   every other outcome       Action: failed      Status: 5.0.0
 *
 * Header injection: every value that goes into a header field is
 * sanitised (control characters, CR and LF become spaces; DSN fields
 * are ASCII, other bytes become '?'); the Subject is RFC 2047 encoded
 * (UTF-8, base64) when it is not plain ASCII, invalid UTF-8 replaced by
 * U+FFFD first.  Lines end in LF (sendmail's local convention).
 *
 * Ownership: inputs are borrowed; results are heap strings the caller
 * frees.  Thread-safe.
 */
#ifndef RECALL_DSN_H
#define RECALL_DSN_H

#include <stddef.h>

#include "report.h"

/* Longest original header block copied into part 3. */
#define DSN_MAX_HEADERS (64 * 1024)

struct dsn_input {
	const char *reporting_mta;	/* host name */
	const char *from;		/* recalld.report_sender */
	const char *to;			/* report_to */
	const char *subject;		/* the original's; may be NULL */
	const char *arrival_date;	/* RFC 5322 date; may be NULL */
	const char *date;		/* now, RFC 5322 */
	const char *report_msgid;	/* "<...>" of the report itself */
	const char *boundary;		/* unique, [0-9A-Za-z=_.-] only */
	const struct report *rep;	/* request id, Message-ID, copies */
	const char *headers;		/* the original header block; may be NULL */
	size_t headers_len;
};

char *dsn_compose(const struct dsn_input *in);

/* RFC 3464 Action and Status for an outcome. */
const char *dsn_action(enum outcome o);
const char *dsn_status(enum outcome o);

/* A header value on one line: controls to spaces; ascii_only: 8-bit to '?'. */
char *dsn_field(const char *s, size_t max, int ascii_only);

/* "Recall report: SUBJECT", RFC 2047 encoded and folded as needed. */
char *dsn_subject(const char *subject);

/* s with invalid UTF-8 sequences replaced by U+FFFD. */
char *dsn_utf8_clean(const char *s, size_t len);

#endif
