/*
 * history - recallctl history: rows of the view recall_history, filtered.
 *
 * Filters (all optional, all $n parameters): sender (the message's
 * envelope sender), recipient (envelope recipient or mailbox owner),
 * since/until (requested_at; a date means 00:00 UTC of that day for since
 * and the whole day for until), outcome.  Rows come in requested_at order,
 * at most req->limit of them and no more than fit in one answer frame;
 * "truncated" says when rows were left out.
 *
 * Admins see every row.  Anyone else sees only requests about mail they
 * sent: rows whose message's owner (authz_message_owner(): the
 * authenticated sender, or for local submission the envelope sender) is
 * the address the caller speaks for.
 *
 * Answer: {"history": [ROW...], "truncated": false}, ROW being the view's
 * columns: request_id (number), requested_at, requested_by, message_id,
 * recall_id, sender, recipient, copy_addr, outcome, reason, decided_at
 * (RFC 3339 UTC), dry_run (bool), request_status (string or null).
 */
#ifndef RECALL_HISTORY_H
#define RECALL_HISTORY_H

#include "recall.h"

int history_answer(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    char **json_r, enum reply_code *code_r, char **error_r);

#endif
