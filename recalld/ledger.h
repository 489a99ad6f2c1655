/*
 * ledger - the route ledger: log lines into route_event rows, and the
 * exposures of every copy of a recalled message.
 *
 * Ingestion.  struct ledger owns two followers (events.postfix_log,
 * events.dovecot_log; follow.h) and turns each line into at most one
 * route_event row (dedup_key = the line's position, so a replay inserts
 * nothing):
 *   postfix: delivered, relayed, forwarded (+ queue_link child -> parent),
 *            deferred, bounced, held, released, removed;
 *   dovecot: saved, copied, expunged, deleted, seen (flag_change with
 *            \Seen), and body accesses classified as downloaded-imap,
 *            downloaded-pop3, synced-mobile or read-inside (dovelog.h);
 *            recalld's own doveadm access is not recorded.
 * A body access is joined by session to its login (auth_client_request_
 * finished: real client address, listener port, auth user).  Logins are
 * kept in a memory cache and, one row per line with the same dedup key,
 * in table dovecot_login; an access whose session is not in memory (read
 * after a restart, or evicted) asks the table once.  So a restart between
 * a POP3 login and its RETR still classifies the download by address.
 * Postfix rows get their recall id at once when the milter's record (or
 * the parent queue file) is known; every other row is linked later by
 * ledger_link(): queue ids (parent and children), the LMTP session that
 * Postfix's "250 ... SESSION Saved" shares with Dovecot's save line, the
 * Message-ID of save/copy lines, then the (user, mailbox, uid) of each
 * copy.  Linking late makes the result independent of the order in which
 * the two logs and the milter's spool are read.
 *
 * Exposures.  ledger_message_load() links and loads every row of one
 * message once; ledger_copies() answers per envelope recipient, following
 * alias expansion (orig_to) and forwards (child queue ids): one struct
 * ledger_copy per final address, with decide.h's delivery state and
 * exposures, so recall.c can build one decide_input per copy.
 *
 * Ownership: struct ledger borrows cfg (it must outlive the ledger) and
 * owns its followers.  A struct ledger_message and the copies returned
 * own all their strings; free them with the matching *_free().
 * One thread at a time per struct ledger; ledger_copies() is pure.
 */
#ifndef RECALL_LEDGER_H
#define RECALL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "db.h"
#include "decide.h"

struct ledger;

/*
 * A ledger for cfg; host names this machine in follower_state (NULL:
 * gethostname()).  Returns 0 or -1 with *error_r (heap).
 */
int ledger_new(const struct recall_cfg *cfg, const char *host,
    struct ledger **l_r, char **error_r);
void ledger_free(struct ledger **l);
/* Does the ledger follow a Dovecot log (events.dovecot_log set)? */
bool ledger_follows_dovecot(const struct ledger *l);

/* Resume both followers at their saved positions (call once at start). */
int ledger_start(struct ledger *l, struct db *db, char **error_r);

/*
 * Read both logs up to the present, into route_event (called before every
 * decision, and periodically).  *lines_r (may be NULL) gets the number of
 * lines read.  Returns 0 or -1 with *error_r; a failed batch is retried.
 */
int ledger_catch_up(struct ledger *l, struct db *db, size_t *lines_r,
    char **error_r);

/*
 * The follow_line_fn for each source (follow.h), for callers and tests
 * that drive a follower themselves; ctx is the struct ledger.
 */
int ledger_postfix_line(void *ctx, struct db *db, char *line, size_t len,
    const char *dedup_key, char **error_r);
int ledger_dovecot_line(void *ctx, struct db *db, char *line, size_t len,
    const char *dedup_key, char **error_r);
/*
 * Both sources' rows are gathered and written by these follow_flush_fns
 * at the end of each batch (one statement each; a Postfix "forwarded as"
 * line writes the rows before it and itself at once, so that the child
 * queue file's lines find their message).  A line function must be
 * followed by its flush function in the same transaction.
 */
int ledger_postfix_flush(void *ctx, struct db *db, char **error_r);
int ledger_dovecot_flush(void *ctx, struct db *db, char **error_r);

/* Link every row that belongs to recall_id (see above). */
int ledger_link(struct db *db, const char *recall_id, char **error_r);

/* ---- exposures -------------------------------------------------------- */

struct ledger_location {
	char *mailbox;
	unsigned long uid;
};

struct ledger_copy {
	char *copy_addr;	/* the final address of this copy */
	char *store_user;	/* Dovecot user of a mailbox copy, else NULL */
	bool mailbox_copy;	/* delivered into a local mailbox */
	bool bounced;		/* never arrived: bounced, or deleted from
				 * the queue (postsuper -d) */
	enum decide_delivery delivery;
	char *at;		/* delivery (or last attempt) time, or NULL */
	const struct decide_exposure *exposures;	/* into this copy */
	size_t n_exposures;
	struct ledger_location *locations;	/* saves and copies logged */
	size_t n_locations;
	char *seen_at;		/* \Seen logged by flag_change, or NULL */
	char *expunged_at;	/* the last expunge logged, or NULL */
	char *reason;		/* what the ledger knows, one line */
	/* private */
	struct decide_exposure *exp_;
	char **owned_;
	size_t n_owned_;
};

struct ledger_copies {
	struct ledger_copy *v;
	size_t n;
	bool known;	/* the Postfix log knows this recipient */
};

struct ledger_message;

/*
 * Link, then load every row of recall_id.  Returns 1 and *m_r, 0 when
 * the message is unknown, -1 with *error_r.
 */
int ledger_message_load(struct ledger *l, struct db *db,
    const char *recall_id, struct ledger_message **m_r, char **error_r);
void ledger_message_free(struct ledger_message **m);
/* Number of rows loaded (for tests and benchmarks). */
size_t ledger_message_rows(const struct ledger_message *m);

/*
 * Every copy of envelope recipient (as the milter recorded it) in *out
 * (ledger_copies_free()).  When the Postfix log knows nothing about the
 * recipient, out->known is false and one copy for the recipient itself
 * carries what Dovecot logged for its mailbox (delivery UNKNOWN).
 */
void ledger_copies(struct ledger *l, const struct ledger_message *m,
    const char *recipient, struct ledger_copies *out);
void ledger_copies_free(struct ledger_copies *c);

/*
 * The race check after a removal (issue #4): a body access of user's
 * mailbox/uid that the ledger learnt since ledger_message_load(), i.e. a
 * download between the decision and the expunge.  Call after
 * ledger_catch_up().  Looks only at rows not yet linked to a message (a
 * load links everything it knows, so newer rows are unlinked).  Returns
 * 1 with *late filled (ledger_late_clear()), 0 when there is none, -1
 * with *error_r.
 */
struct ledger_late {
	enum decide_exposure_kind kind;
	char *where;		/* address or "port N" */
	char *at;		/* RFC 3339 */
};

int ledger_late_access(struct ledger *l, struct db *db, const char *user,
    const char *mailbox, unsigned long uid, struct ledger_late *late,
    char **error_r);
void ledger_late_clear(struct ledger_late *late);

/*
 * For many removed copies at once, in one query: hit[i] is set when
 * ledger_late_access() may find something for v[i] (an unlinked body
 * access row of that user, mailbox and uid), so only those need asking.
 * Returns 0, or -1 with *error_r.
 */
struct ledger_loc {
	const char *user;
	const char *mailbox;
	unsigned long uid;
};

int ledger_late_candidates(struct db *db, const struct ledger_loc *v,
    size_t n, bool *hit, char **error_r);

/*
 * Forget Dovecot logins older than LEDGER_LOGIN_DAYS (dovecot_login): a
 * session's downloads are classified when they are read, long before.
 * The number of rows removed goes to *n_r.  Returns 0, or -1 with
 * *error_r.
 */
#define LEDGER_LOGIN_DAYS 7
int ledger_logins_purge(struct db *db, long *n_r, char **error_r);

/*
 * hit[i] is set when the Dovecot log (read into the ledger) shows that
 * doveadm expunged v[i] at or after since (RFC 3339): recalld's own
 * expunge took it.  One query.  Returns 0, or -1 with *error_r.
 */
int ledger_expunged(struct db *db, const struct ledger_loc *v, size_t n,
    const char *since, bool *hit, char **error_r);

/*
 * Every route_event row of recall_id (after ledger_link()), in time
 * order, for recallctl trace.  The result is the caller's
 * (db_result_free()); columns: at (RFC 3339), recipient, copy_addr,
 * queue_id, source, event, detail, mailbox, uid, remote_ip, local_port.
 */
struct db_result *ledger_trace(struct db *db, const char *recall_id,
    char **error_r);

/*
 * Convenience: load + copies for one recipient.  Returns 1, 0 when the
 * message is unknown (out empty), -1 with *error_r.
 */
int ledger_exposures(struct ledger *l, struct db *db, const char *recall_id,
    const char *recipient, struct ledger_copies *out, char **error_r);

#endif
