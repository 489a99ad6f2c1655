/*
 * dovelog - one line of the Dovecot log, parsed, and the classification
 * of a message access (FACTS-dovecot.md sections 3 and 4).
 *
 * Two kinds of lines matter:
 *   - mail_log plugin lines, with mail_log_prefix
 *     "%s(%u)<%{pid}><%{session}><rip=%{rip}><lip=%{lip}><auth=%{auth_user}>: "
 *     (the default prefix "%s(%u)<%{pid}><%{session}>: " works too):
 *       Nov 27 21:16:36 imap(bob)<25155><ywo+k0hhsaF/AAAC><rip=127.0.0.2>
 *       <lip=127.0.0.1><auth=bob>: Info: flag_change: box=INBOX, uid=1,
 *       msgid=<..>, size=673, ..., flags=(\Seen \Recent)
 *   - event_exporter lines (transport = log, format = json):
 *       Nov 27 21:16:36 stats: Info: {"event":"mail_opened",...}
 * in Dovecot's own log_path format (above) or through syslog
 * ("Nov 27 21:16:36 host dovecot: imap(bob)<...>: flag_change: ...",
 * without the "Info: ").
 *
 * dovelog_parse() cuts the line in place (like pflog_parse) and parses
 * JSON with jansson.  Strings in struct dovelog_line point into the line
 * or into the JSON document the struct holds; they stay valid until
 * dovelog_line_clear() or the next dovelog_parse() on the same struct,
 * and as long as the line buffer lives.  One struct per thread.
 */
#ifndef RECALL_DOVELOG_H
#define RECALL_DOVELOG_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "cidr.h"
#include "logtime.h"

enum dovelog_kind {
	DOVELOG_OTHER,		/* a Dovecot line of no interest */
	DOVELOG_MAIL,		/* a mail_log plugin line */
	DOVELOG_OPENED,		/* event mail_opened */
	DOVELOG_AUTH,		/* event auth_client_request_finished */
	DOVELOG_EXPUNGED,	/* event mail_expunged */
};

enum dovelog_mail_event {
	DOVELOG_SAVE,		/* "save" (LMTP/LDA delivery, APPEND) */
	DOVELOG_COPY,		/* "copy from BOX" (COPY, MOVE) */
	DOVELOG_EXPUNGE,
	DOVELOG_DELETE,		/* \Deleted set */
	DOVELOG_UNDELETE,
	DOVELOG_FLAG_CHANGE,
};

/* Reason codes of mail_opened that mean "the body was read". */
#define DOVELOG_R_FETCH_BODY	0x01u	/* imap:fetch_body */
#define DOVELOG_R_POP3_RETR	0x02u	/* pop3:cmd_retr */
#define DOVELOG_R_POP3_TOP	0x04u	/* pop3:cmd_top */
#define DOVELOG_R_BODY (DOVELOG_R_FETCH_BODY | DOVELOG_R_POP3_RETR \
    | DOVELOG_R_POP3_TOP)

/* Every string is "" when absent (never NULL). */
struct dovelog_line {
	enum dovelog_kind kind;
	struct logtime time;	/* event start_time, else the line's stamp */
	const char *service;	/* imap, pop3, lmtp, lda, doveadm, ... */
	const char *user;
	const char *session;
	const char *remote_ip;	/* mail_log rip / event remote_ip */
	const char *local_ip;
	const char *auth_user;	/* mail_log auth= (master user), event
				 * auth_user/original_user when present */
	/* DOVELOG_MAIL */
	enum dovelog_mail_event event;
	const char *from_box;	/* copy: the source mailbox */
	const char *mailbox;	/* box= / event mailbox */
	unsigned long uid;	/* uid= / event uid; 0 if absent */
	const char *msgid;	/* msgid= as logged (may be truncated "...") */
	const char *flags;	/* the text inside flags=(...) */
	bool seen;		/* \Seen in flags */
	/* events */
	const char *event_name;
	const char *real_remote_ip;	/* auth: before any x-originating-ip */
	long local_port;	/* -1 if absent */
	unsigned reasons;	/* DOVELOG_R_* bits of reason_code[] */
	const char *reason_code; /* the first body code, else the first */
	bool doveadm;		/* category service:doveadm */
	void *json_;		/* private: the json_t the strings live in */
};

/*
 * Parse line (len bytes plus one writable byte, as for pflog_parse).
 * out must be zeroed or cleared; it is cleared first.  Returns 0, or -1
 * with *error_r (static) when the line is not a Dovecot log line or a
 * known line is malformed.
 */
int dovelog_parse(struct logtime_ctx *tctx, char *line, size_t len,
    struct dovelog_line *out, const char **error_r);
void dovelog_line_clear(struct dovelog_line *out);

const char *dovelog_mail_event_name(enum dovelog_mail_event e);

/* ---- classification of a body access --------------------------------- */

enum dovelog_access {
	DOVELOG_ACCESS_NONE,	/* not a download (or recalld's own) */
	DOVELOG_ACCESS_INSIDE,	/* webmail: inside_hosts / inside_ports */
	DOVELOG_ACCESS_MOBILE,	/* sync_gateways */
	DOVELOG_ACCESS_POP3,
	DOVELOG_ACCESS_IMAP,
};

/* events.* of recall.conf, ready for matching.  Owns its lists. */
struct dovelog_policy {
	struct cidr_list inside_hosts;
	long *inside_ports;
	size_t n_inside_ports;
	struct cidr_list gateway_hosts;	/* sync_gateways that are hosts */
	long *gateway_ports;		/* sync_gateways that are ports */
	size_t n_gateway_ports;
	struct strlist ignore_auth;	/* auth users whose sessions are ours */
};

int dovelog_policy_init(struct dovelog_policy *pol,
    const struct recall_cfg *cfg, char **error_r);
void dovelog_policy_free(struct dovelog_policy *pol);

/* What is known about one access; strings may be NULL or "". */
struct dovelog_access_facts {
	const char *service;	/* "imap", "pop3" (event category/field) */
	const char *remote_ip;	/* real_remote_ip when known, else remote_ip */
	long local_port;	/* -1 unknown */
	unsigned reasons;	/* DOVELOG_R_* */
	bool doveadm;
	const char *user;
	const char *auth_user;	/* "" or NULL when unknown */
};

/*
 * Classify: no body reason, a doveadm access or a session of an
 * ignore_auth user (a master user other than the mailbox owner) is NONE;
 * then sync gateway (host or port) is MOBILE; inside host or port is
 * INSIDE; service pop3 is POP3; anything else IMAP.  Pure.
 */
enum dovelog_access dovelog_classify(const struct dovelog_policy *pol,
    const struct dovelog_access_facts *f);
/* "downloaded-imap", "downloaded-pop3", "synced-mobile", "read-inside". */
const char *dovelog_access_event(enum dovelog_access a);
/* The inverse, for rows read back from the ledger; NONE if unknown. */
enum dovelog_access dovelog_access_from_event(const char *event);

/* ---- sessions: auth_client_request_finished, joined by session id ----- */

#define DOVELOG_SESSION_MAX 63
#define DOVELOG_IP_MAX 63
#define DOVELOG_USER_MAX 255

struct dovelog_session {
	char session[DOVELOG_SESSION_MAX + 1];
	char service[16];
	char remote_ip[DOVELOG_IP_MAX + 1];
	char real_remote_ip[DOVELOG_IP_MAX + 1];
	char auth_user[DOVELOG_USER_MAX + 1];
	long local_port;
};

/*
 * Fill *e (NULL strings count as ""; each is cut to its field's size).
 * Returns false, leaving *e zeroed, when session is empty or longer than
 * DOVELOG_SESSION_MAX: such a session cannot be joined.  An entry with
 * only the session set (local_port -1) joins like no entry at all; the
 * caller may remember one to say "no login is known".
 */
bool dovelog_session_set(struct dovelog_session *e, const char *session,
    const char *service, const char *remote_ip, const char *real_remote_ip,
    const char *auth_user, long local_port);
/* The session of an auth line; false for other kinds (see above). */
bool dovelog_session_from_line(struct dovelog_session *e,
    const struct dovelog_line *auth);

/*
 * A bounded, direct-mapped cache of recent sessions (a newer session may
 * evict an older one with the same hash slot).  Owned by the caller;
 * dovelog_sessions_free() releases it.  Logins also outlive the cache in
 * the database (ledger.c), so an evicted session costs a query, not its
 * address.
 */
struct dovelog_sessions;

struct dovelog_sessions *dovelog_sessions_new(size_t slots);
void dovelog_sessions_free(struct dovelog_sessions **s);
/* Remember the session of an auth line (ignored for other kinds). */
void dovelog_sessions_add(struct dovelog_sessions *s,
    const struct dovelog_line *auth);
/* Remember a copy of *e (e.g. read back from the database). */
void dovelog_sessions_put(struct dovelog_sessions *s,
    const struct dovelog_session *e);
/* The session, or NULL.  Valid until the next add or put. */
const struct dovelog_session *dovelog_sessions_find(
    const struct dovelog_sessions *s, const char *session);

/*
 * The facts of a mail_opened line, joined with its session when one is
 * known (real_remote_ip and local_port from the login side).
 */
void dovelog_facts(const struct dovelog_line *opened,
    const struct dovelog_session *sess, struct dovelog_access_facts *f);

#endif
