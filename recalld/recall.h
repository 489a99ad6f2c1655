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
 * Blocking: a request runs to its end (doveadm and SQL calls in turn);
 * recalld serves one request at a time.
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
 * The tokens of recall id under every key (newest first): the token is
 * made with the newest key, but a message tagged before a key rotation
 * carries an older key's token.  Heap array of heap strings.
 */
char **recall_tokens(const struct tag_keys *keys, const char *recall_id,
    size_t *n_r);
void recall_tokens_free(char ***tokens, size_t n);

#endif
