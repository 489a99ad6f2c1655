/*
 * records - recalld's SQL: messages and recipients (read), recall
 * requests, outcomes and quarantine (write).
 *
 * Every statement goes through lib/db with $n placeholders.  Functions
 * return 0 or -1 with *error_r (heap, caller frees); "not found" is not an
 * error but an empty result (see each function).  Structs filled here own
 * their strings and are released with the matching *_clear().
 * One struct db per thread.
 */
#ifndef RECALL_RECORDS_H
#define RECALL_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "report.h"

struct records_message {
	char *recall_id;
	char *message_id;
	char *sender;
	char *auth_user;	/* NULL when none */
	char *origin;
	long age;		/* seconds since submitted_at, by the DB clock */
};

void records_message_clear(struct records_message *m);

/*
 * Find the message by recall id (24 hex digits, any case).  Returns 1 and
 * fills *m, 0 when there is none, -1 on error.
 */
int records_message_by_recall_id(struct db *db, const char *recall_id,
    struct records_message *m, char **error_r);

/*
 * Every recall id recorded for a normalised Message-ID, newest first,
 * at most max of them (heap array of heap strings; *n_r may be 0).
 */
int records_recall_ids_by_msgid(struct db *db, const char *msgid,
    size_t max, char ***ids_r, size_t *n_r, char **error_r);
void records_ids_free(char ***ids, size_t n);

struct records_recipient {
	char *recipient;
	char *class;	/* local | external | list */
};

int records_recipients(struct db *db, const char *recall_id,
    struct records_recipient **v_r, size_t *n_r, char **error_r);
void records_recipients_free(struct records_recipient **v, size_t n);

/* Serialise recalls of one message across every recalld sharing the DB. */
int records_try_lock(struct db *db, const char *recall_id, bool *locked_r,
    char **error_r);
void records_unlock(struct db *db, const char *recall_id);

/*
 * The newest real request that recalled recipient's copy of recall_id:
 * its id to *id_r and decision time (RFC 3339, heap) to *at_r.  Returns
 * 1, 0 when there is none, -1 on error.
 */
int records_prior_recall(struct db *db, const char *recall_id,
    const char *recipient, long long *id_r, char **at_r, char **error_r);

/* A new recall_request row; its id goes to *id_r.  via: recallctl | mail. */
int records_request_new(struct db *db, const char *recall_id,
    const char *requested_by, const char *report_to, const char *via,
    bool dry_run, long long *id_r, char **error_r);

/* One recall_outcome row; the decision time (RFC 3339) to *at_r (heap). */
int records_outcome_add(struct db *db, long long request_id,
    const char *recipient, const char *copy_addr, const char *outcome,
    const char *reason, char **at_r, char **error_r);

/*
 * Many recall_outcome rows in one statement (call inside a transaction):
 * v[i].at gets the decision time (RFC 3339, heap; the caller frees).
 * The strings of v are borrowed.  Returns 0, or -1 with *error_r (then
 * nothing is written: add the rows one by one instead).
 */
struct records_outcome {
	const char *recipient, *copy_addr, *outcome, *reason;
	char *at;
};

int records_outcome_add_many(struct db *db, long long request_id,
    struct records_outcome *v, size_t n, char **error_r);

int records_request_finish(struct db *db, long long request_id,
    const char *status, char **error_r);

struct records_quarantine {
	long long request_id;
	const char *recipient;
	const char *copy_addr;
	const char *store_user;
	const char *mailbox;
	unsigned long uid;
	const char *flags;
	const char *message;	/* the full text */
	size_t len;
	long days;		/* policy.quarantine_days */
};

/* Keep a copy before it is removed; the row id goes to *id_r. */
int records_quarantine_add(struct db *db, const struct records_quarantine *q,
    long long *id_r, char **error_r);
/*
 * records_quarantine_add() for q[0..n) in few statements (at most
 * RECORDS_QUARANTINE_BYTES of text each; call inside a transaction): the
 * row ids go to ids[0..n).  Returns 0, or -1 with *error_r.
 */
#define RECORDS_QUARANTINE_BYTES (8UL * 1024 * 1024)
int records_quarantine_add_many(struct db *db,
    const struct records_quarantine *q, size_t n, long long *ids,
    char **error_r);

/*
 * The copy stayed in the mailbox (read just before the expunge): mark the
 * quarantine row purged so a restore never puts back a second copy.
 */
int records_quarantine_void(struct db *db, long long id, char **error_r);

/*
 * The request to report for a status query: the newest real (not dry-run)
 * request for recall_id, else the newest dry run.  Returns 1, 0 when
 * there is none, -1 on error.
 */
int records_last_request(struct db *db, const char *recall_id,
    long long *id_r, char **error_r);

/* The recall id of request id.  Returns 1, 0 when unknown, -1 on error. */
int records_request_recall_id(struct db *db, long long id, char **recall_id_r,
    char **error_r);

/* Load request id with its outcomes into rep (report_clear() first). */
int records_load_report(struct db *db, long long id, struct report *rep,
    char **error_r);

#endif
