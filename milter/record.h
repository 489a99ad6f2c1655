/*
 * record - what the milter records about a message, and its spool line.
 *
 * A record is one JSON object on one line (jansson, compact):
 *
 *   {"v":1,"type":"message","key":ID,"recall_id":ID,"message_id":..,
 *    "sender":..,"auth_user":..|null,"client_addr":..|null,
 *    "queue_id":..|null,"size":N,"subject":..|null,"at":RFC3339,
 *    "origin":"auth|smtp|local","host":..,"rcpts":[[addr,class],..]}
 *   {"v":1,"type":"reentry","key":K,"recall_id":ID,"queue_id":..|null,
 *    "client_addr":..,"at":..,"origin":..,"host":..,"detail":..,
 *    "rcpts":[[addr,class],..]}
 *   {"v":1,"type":"recall_request","key":K,"ref":"<id@host>",
 *    "requested_by":ADDR,"auth_user":LOGIN,"queue_id":..|null,"at":..,
 *    "origin":"auth","host":..,"rcpts":[]}
 *
 * A message record may also carry "hold_until":RFC3339 when the milter
 * quarantined it for milter.hold_external (table held_message).
 *
 * "key" makes every insert idempotent: messages.recall_id for a message,
 * route_event.dedup_key prefix for a re-entry, mail_request.dedup_key
 * for a recall request.  Strings are made valid
 * UTF-8 (bad bytes become '?') before they are stored, since both jansson
 * and PostgreSQL insist on it.
 *
 * A struct record owns all its strings; record_clear() frees them.
 */
#ifndef RECALL_MILTER_RECORD_H
#define RECALL_MILTER_RECORD_H

#include <stddef.h>
#include <sys/time.h>

enum record_type { RECORD_MESSAGE, RECORD_REENTRY, RECORD_RECALL_REQUEST };

struct record_rcpt {
	char *addr;
	char *class;		/* "local", "external", "list" */
};

struct record {
	enum record_type type;
	char *key;
	char *recall_id;
	char *message_id;	/* RECORD_MESSAGE */
	char *sender;		/* RECORD_MESSAGE */
	char *auth_user;	/* NULL: none */
	char *client_addr;	/* NULL: unknown */
	char *queue_id;		/* NULL: {i} was missing */
	long long size;
	char *subject;		/* NULL: none */
	char *at;		/* RFC 3339, UTC, microseconds */
	char *origin;
	char *host;		/* the milter's host name */
	char *detail;		/* RECORD_REENTRY */
	char *ref;		/* RECORD_RECALL_REQUEST: normalised Message-ID */
	char *requested_by;	/* RECORD_RECALL_REQUEST: the login's address */
	char *hold_until;	/* RECORD_MESSAGE: RFC 3339, NULL: not held */
	struct record_rcpt *rcpts;
	size_t n_rcpts;
};

/* Add a recipient (copies both strings). */
void record_add_rcpt(struct record *r, const char *addr, const char *class);
void record_clear(struct record *r);

/* The spool line for r, without a newline (heap, caller frees). */
char *record_encode(const struct record *r);
/*
 * Parse one spool line (len bytes, no newline) into *r (zeroed first).
 * Returns 0, or -1 with *error_r pointing to a static description.
 */
int record_decode(const char *line, size_t len, struct record *r,
    const char **error_r);

/* s as valid UTF-8 without control characters other than tab (heap). */
char *record_clean_text(const char *s);
/* tv as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into buf (at least 32 bytes). */
void record_time(const struct timeval *tv, char *buf, size_t size);

#endif
