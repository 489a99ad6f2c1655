/*
 * recallreq - find the Message-ID a recall request mail names.  Pure: no
 * libmilter, no I/O.
 *
 * A sender asks for a recall by mailing milter.recall_address either with
 * "Recall: <id@host>" in the Subject (the word in any case, blanks around
 * it optional, the Message-ID with or without angle brackets; RFC 2047
 * encoded words are not decoded, so a client must send the subject as
 * plain ASCII), or with the original message attached as a message/rfc822
 * part.
 *
 * The attachment scan is deliberately minimal and bounded: it looks at
 * most RECALLREQ_BODY_MAX bytes of the body (the milter keeps no more),
 * finds the first part header "Content-Type: message/rfc822" at the start
 * of a line, skips that part's headers to the first empty line, and takes
 * the first "Message-ID:" field of the embedded header block (unfolded,
 * at most ADDR_MAX_LEN bytes).  No MIME tree is built and no transfer
 * encoding is decoded: RFC 2046 allows only 7bit, 8bit and binary for
 * message/rfc822.  A message whose top-level type is message/rfc822 is
 * scanned from the first body byte.
 *
 * Every function returns a new heap string (the normalised Message-ID,
 * "<a@b>") the caller frees, or NULL.  Thread-safe.
 */
#ifndef RECALL_MILTER_RECALLREQ_H
#define RECALL_MILTER_RECALLREQ_H

#include <stdbool.h>
#include <stddef.h>

/* How much of a request mail's body the milter keeps for the scan. */
#define RECALLREQ_BODY_MAX (256 * 1024)

/* "Recall: <id@host>" (case-insensitive keyword) -> "<id@host>", or NULL. */
char *recallreq_from_subject(const char *subject);

/*
 * The Message-ID of the attached original in body[0..len-1], or NULL.
 * top_is_rfc822: the message's own Content-Type is message/rfc822.
 */
char *recallreq_from_body(const char *body, size_t len, bool top_is_rfc822);

/* Is a Content-Type value message/rfc822 (parameters ignored)? */
bool recallreq_is_rfc822(const char *content_type);

#endif
