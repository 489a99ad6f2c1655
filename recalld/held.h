/*
 * held - a recall of mail still held in an MTA's hold queue
 * (milter.hold_external), from recalld's side.
 *
 * The queue is on the MTA host, which may not be this host, so recalld
 * does not touch it: held_recall() adds a held_action row for the host in
 * held_message.milter_host and waits (at most HELD_WAIT_MS, polling) for
 * that host's recall-milter to delete the queue file and answer in the
 * row (see milter/hold.h).  Deleting the queue file removes the message
 * for every recipient at once, local ones included: their copies were
 * held with it and were never delivered.
 *
 * Blocking up to HELD_WAIT_MS.  Strings returned are heap (caller frees).
 */
#ifndef RECALL_HELD_H
#define RECALL_HELD_H

#include <stdbool.h>

#include "db.h"

#define HELD_WAIT_MS 15000

enum held_result {
	HELD_NONE,	/* not held (never, or released): decide as usual */
	HELD_DELETED,	/* deleted from the queue before it left */
	HELD_WOULD,	/* dry run: held, would be deleted */
	HELD_PENDING,	/* held; deletion asked for, not confirmed yet */
};

/*
 * Is recall_id held?  If so (and not dry_run), ask for its deletion and
 * wait for the answer.  *where_r gets "queue id QID on HOST" when held.
 * Returns 0 with *result_r, or -1 with *error_r.
 */
int held_recall(struct db *db, const char *recall_id, long long request_id,
    bool dry_run, enum held_result *result_r, char **where_r,
    char **error_r);

#endif
