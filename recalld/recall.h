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
#include "report.h"
#include "request.h"
#include "store.h"
#include "tag.h"

struct recall_env {
	const struct recall_cfg *cfg;
	const struct tag_keys *keys;
	struct store *store;
	struct db *db;
};

/*
 * Run req (recall or status) for caller.  Returns 0 with rep filled, or
 * -1 with *code_r and *error_r (text for the user).
 */
int recall_execute(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    struct report *rep, enum reply_code *code_r, char **error_r);

/*
 * The tokens of recall id under every key (newest first): the token is
 * made with the newest key, but a message tagged before a key rotation
 * carries an older key's token.  Heap array of heap strings.
 */
char **recall_tokens(const struct tag_keys *keys, const char *recall_id,
    size_t *n_r);
void recall_tokens_free(char ***tokens, size_t n);

#endif
