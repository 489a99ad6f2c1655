/*
 * message - end-of-message processing without libmilter: decide, record
 * (spool), and say which header edits the callback must make.
 *
 * message_finish() works on a msgctx whose message is complete and fills a
 * struct message_result the caller applies with smfi_* calls and then frees
 * with message_result_free().  It never waits on PostgreSQL; it waits only
 * for the spool's fdatasync (group-committed, usually a few ms).
 *
 * Thread-safety: reentrant; the spool and writer lock internally.
 */
#ifndef RECALL_MILTER_MESSAGE_H
#define RECALL_MILTER_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "callbacks.h"
#include "msgctx.h"
#include "spool.h"

enum message_edit_op { MESSAGE_DELETE, MESSAGE_ADD };

struct message_edit {
	enum message_edit_op op;
	const char *name;	/* static */
	int index;		/* MESSAGE_DELETE: 1-based among same name */
	char *value;		/* MESSAGE_ADD: heap */
};

struct message_result {
	bool tempfail;			/* answer 451 4.3.0 */
	const char *reason;		/* static, for the SMTP reply */
	bool reject;			/* answer 5xx: rcode xcode reason */
	const char *rcode, *xcode;	/* static */
	bool discard;			/* a recall request and nothing else */
	char *delrcpt;			/* heap: remove this recipient (the
					   recall address) and deliver the rest */
	char *quarantine;		/* heap: hold the message (hold_external)
					   with this reason */
	struct message_edit *edits;	/* apply in this order */
	size_t n_edits;
	bool wait_commit;		/* on_db_error = tempfail */
	struct spool_cursor end;	/* ... for the record ending here */
	char recall_id[32];		/* "" when none */
};

/*
 * Decide and record the message in mc.  qid is {i} at end of message or
 * NULL.  Always returns a result (errors become tempfail with a log line).
 */
void message_finish(struct msgctx *mc, const char *qid,
    const struct callbacks_env *env, struct message_result *res);
void message_result_free(struct message_result *res);

/* The 5xx for a recall request that is not authenticated. */
#define MESSAGE_REQ_AUTH_TEXT \
	"recall requests must be sent by an authenticated local user"

#endif
