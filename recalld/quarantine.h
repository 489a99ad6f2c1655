/*
 * quarantine - restore recalled copies, and purge expired ones.
 *
 * Restore (recallctl restore, admins only): every copy request REQ-ID
 * kept in quarantine (for one recipient with "recipient") that is neither
 * restored nor purged is put back into the same mailbox of the same
 * Dovecot user through the doveadm API ("save"), then given its original
 * flags ("flagsAdd"; \Recent cannot be set and is left out).  A row is
 * claimed first (restored_at set with a conditional UPDATE), so two
 * restores, even on two hosts, never put back the same copy twice; a
 * failed save releases the claim.  Each copy put back is audited
 * ("restore").  A request whose copies are all restored already, or
 * purged, is refused.
 *
 * Purge: rows whose expires_at has passed lose their message bytes and
 * get purged_at; each is audited ("purge").  recalld runs it at start-up
 * and every QUARANTINE_PURGE_INTERVAL seconds; admins can run it at once
 * (recallctl purge).  At most QUARANTINE_PURGE_BATCH rows a run.
 *
 * Answers are JSON texts (heap); errors come back as -1 with *code_r and
 * *error_r (heap).
 */
#ifndef RECALL_QUARANTINE_H
#define RECALL_QUARANTINE_H

#include "recall.h"

#define QUARANTINE_PURGE_INTERVAL 3600
#define QUARANTINE_PURGE_BATCH 1000

/*
 * {"request": "ID", "restored": [{"recipient", "mailbox", "uid", "flags"}],
 *  "failed": [{"recipient", "mailbox", "error"}]}
 */
int quarantine_restore(const struct recall_env *env, const char *actor,
    const struct request *req, char **json_r, enum reply_code *code_r,
    char **error_r);

/* Purge what expired; the number of rows to *n_r.  Returns 0 or -1. */
int quarantine_purge(const struct recall_env *env, const char *actor,
    long *n_r, char **error_r);

#endif
