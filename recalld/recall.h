/*
 * recall - the recall flow and status queries, behind the control socket.
 *
 * recall_execute() resolves the message reference, authorises the caller
 * (authorize_request()), records a recall_request, and for each recipient
 * gathers the facts, asks decide() and, for a "recalled" decision, keeps
 * each copy in quarantine, expunges it with "unseen" in the query and
 * looks again: gone is recalled, still there and \Seen is read.  With
 * dry_run the same decisions are made and reported, the request row is
 * recorded with dry_run = true, and no mailbox is touched.
 *
 * Every request, decision, removal and refusal is written to the audit
 * log (auditev.h); a request whose audit record cannot be written is not
 * carried out.  A finished real (not dry-run) request mails its report
 * (mailreport.h).  A trusted caller (authz_caller.trusted) may relay a
 * request on_behalf_of an address: it is then authorised, recorded and
 * reported as that address's own (recall by mail).
 *
 * A Message-ID that names more than one recorded message is refused with
 * the recall ids to use instead: acting on a guess could remove the wrong
 * mail.
 *
 * Blocking: a request runs to its end; recalld serves one request at a
 * time.  Within it, copies are handled in chunks and phases (recall.c),
 * each phase one batch of doveadm commands with several HTTP requests in
 * flight (store.h, struct store_batch) or one SQL transaction.
 *
 * Ownership: the env is borrowed; the report is filled for the caller
 * (report_clear()); *error_r is heap.
 */
#ifndef RECALL_RECALL_H
#define RECALL_RECALL_H

#include "authz.h"
#include "cfg.h"
#include "db.h"
#include "ledger.h"
#include "report.h"
#include "request.h"
#include "store.h"
#include "tag.h"

struct recall_env {
	const struct recall_cfg *cfg;
	const struct tag_keys *keys;
	struct store *store;
	struct db *db;
	/*
	 * The route ledger (ledger.h), or NULL while it cannot start (the
	 * database is down): then every local copy is "pending".  Read up
	 * to the present before every decision.
	 */
	struct ledger *ledger;
};

/*
 * Run req (recall or status) for caller.  Returns 0 with rep filled, or
 * -1 with *code_r and *error_r (text for the user).
 */
int recall_execute(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    struct report *rep, enum reply_code *code_r, char **error_r);

/*
 * recallctl trace: link the message's route_event rows (ledger_link),
 * then answer every one in time order as SPEC's JSON object
 * {"message_id", "events": [{"at", "recipient", "event", "detail"}]}
 * (plus "recall_id").  Authorised like a status query.  Returns 0 with
 * *answer_r (heap), or -1 with *code_r and *error_r.
 */
int recall_trace(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    char **answer_r, enum reply_code *code_r, char **error_r);

/*
 * Audit a refusal of req to actor (recall_id may be NULL; relayed_by is
 * the unix user that relayed an on_behalf_of request, or NULL).
 */
void recall_audit_refusal(const struct recall_env *env, const char *actor,
    const struct request *req, const char *recall_id, const char *relayed_by,
    const char *why);

/*
 * Retry pending copies (SPEC: "pending ... retried"); recalld calls it
 * every RECALL_RETRY_TICK seconds.  A real request with a pending copy is
 * decided again, for its pending recipients only, while its message is
 * younger than policy.max_age, with a backoff: half the time the request
 * has been pending since the copy was last decided, at least
 * RECALL_RETRY_MIN and at most RECALL_RETRY_MAX seconds.  Several recalld
 * hosts share the work safely: a request is taken under its message's
 * advisory lock (the one recallctl recall takes; a busy one is skipped)
 * and re-checked under it.  Each retry is audited ("retry", then the
 * decisions), the outcome rows and the request status are updated, and
 * when no copy is pending any more the final report is mailed (once: the
 * request is not picked up again).  A held message whose deletion was not
 * confirmed in time (held.h) becomes held-recalled once the MTA host
 * confirms it.  Blocking like a recall; at most RECALL_RETRY_BATCH
 * requests per call.
 */
#define RECALL_RETRY_TICK 10
#define RECALL_RETRY_MIN "30"
#define RECALL_RETRY_MAX "900"
#define RECALL_RETRY_BATCH "20"
void recall_retry_tick(const struct recall_env *env);
/* Whether recall_retry_tick() has a request to retry now (one query). */
bool recall_retry_due(const struct recall_env *env);

/*
 * The tokens of recall id under every key (newest first): the token is
 * made with the newest key, but a message tagged before a key rotation
 * carries an older key's token.  Heap array of heap strings.
 */
char **recall_tokens(const struct tag_keys *keys, const char *recall_id,
    size_t *n_r);
void recall_tokens_free(char ***tokens, size_t n);

#endif
