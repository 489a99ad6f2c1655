/*
 * pflog - one line of the Postfix log, parsed.
 *
 * Both formats: Postfix's own maillog_file ("Nov 27 18:54:24 mx
 * postfix/local[123]: ...") and syslog files, with classic or RFC 3339
 * time stamps ("2026-11-27T18:54:24.010002+00:00 mx postfix/local[123]:
 * ...").  The program name may be any syslog_name ("postfix-out/smtp");
 * the service is the part after the last '/'.
 *
 * pflog_parse() works in place: it writes NUL bytes into the caller's
 * line and every string in struct pflog_line points into that line, so
 * the line must outlive the struct.  Nothing is allocated; a line costs a
 * few hundred nanoseconds.  Reentrant (the time context is the caller's).
 *
 * Only what the route ledger needs is recognised (enum pflog_kind); other
 * well-formed Postfix lines are PFLOG_OTHER, anything that is not a
 * Postfix log line is an error.
 */
#ifndef RECALL_PFLOG_H
#define RECALL_PFLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "logtime.h"

enum pflog_kind {
	PFLOG_OTHER,		/* a Postfix line of no interest */
	PFLOG_CLIENT,		/* smtpd: QID: client=NAME[ADDR] */
	PFLOG_MESSAGE_ID,	/* cleanup: QID: message-id=<..> */
	PFLOG_QUEUED,		/* qmgr: QID: from=<..>, size=, nrcpt= */
	PFLOG_HELD,		/* cleanup milter-hold / hold, postsuper */
	PFLOG_RELEASED,		/* postsuper: QID: released from hold */
	PFLOG_REMOVED,		/* qmgr or postsuper: QID: removed */
	PFLOG_DELIVERED,	/* status=sent into a mailbox on this system */
	PFLOG_RELAYED,		/* status=sent to another host */
	PFLOG_FORWARDED,	/* status=sent (forwarded as CHILD) */
	PFLOG_DEFERRED,		/* status=deferred */
	PFLOG_BOUNCED,		/* status=bounced (or expired) */
};
#define PFLOG_KIND_COUNT (PFLOG_BOUNCED + 1)

#define PFLOG_SESSION_MAX 63

/* Every pointer is into the parsed line, "" when absent (never NULL). */
struct pflog_line {
	enum pflog_kind kind;
	struct logtime time;
	const char *host;	/* syslog host name */
	const char *service;	/* "lmtp", "smtp", "cleanup", ... */
	const char *qid;	/* queue id, "" for lines without one */
	const char *to;		/* delivery: to=<..> without brackets */
	const char *orig_to;	/* delivery: orig_to=<..>, "" if absent */
	const char *relay;	/* delivery: relay=.. */
	const char *dsn;	/* delivery: dsn=X.Y.Z */
	const char *status;	/* delivery: sent, deferred, bounced, ... */
	const char *detail;	/* delivery: the text in parentheses;
				 * held: the reason; client: the client */
	const char *child_qid;	/* forwarded: the new queue id */
	const char *message_id;	/* message-id= value as logged */
	const char *from;	/* queued: from=<..> without brackets */
	/* lmtp 250 reply "<a@b> SESSION Saved": Dovecot's session id. */
	char lmtp_session[PFLOG_SESSION_MAX + 1];
};

/*
 * Parse line: len bytes, a trailing "\n" or "\r\n" is ignored, and the
 * buffer must hold len + 1 writable bytes (NULs are written into
 * line[0..len]; it need not be NUL-terminated before).
 * Returns 0 and fills *out, or -1 with *error_r pointing to a static
 * description when the line is not a Postfix log line.
 */
int pflog_parse(struct logtime_ctx *tctx, char *line, size_t len,
    struct pflog_line *out, const char **error_r);

/* "delivered", "relayed", ...: the ledger's event name for a kind. */
const char *pflog_kind_name(enum pflog_kind kind);

/* Does the service deliver into a local mailbox (local, virtual, lmtp, pipe)? */
bool pflog_local_service(const char *service);

#endif
