/*
 * mailreq - recall requests that arrived by mail (issue #5).
 *
 * recall-milter turns a mail to milter.recall_address into a row of
 * mail_request (schema/migrations/004_mail_requests.sql).  mailreq_due(),
 * called from recalld's loop about once a second, LISTENs on
 * recall_mail_request and says when to look: when notified, or every
 * MAILREQ_POLL_S seconds, so a lost notification only delays.  Then
 * mailreq_run(), in a request process of its own (worker.h), claims
 * pending rows one at a time:
 *
 *   UPDATE mail_request SET state = 'running', ... WHERE id =
 *     (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ...
 *
 * so several recalld's sharing the database never run one request twice.
 * A row left 'running' by a recalld that died is claimed again after
 * MAILREQ_STALE_S seconds.  Each request runs through recall_execute()
 * exactly as a control-socket request relayed on_behalf_of requested_by
 * with via "mail": the sender is authorised as that address (own
 * messages only), refusals are audited there, and the report mail goes to
 * the sender.  When there is no report (refused, unknown Message-ID) the
 * sender gets a short notice by mail instead.  The row ends 'done' (with
 * request_id) or 'failed' (with error); a busy message or an unavailable
 * database puts it back to 'pending'.
 *
 * Single-threaded; the LISTEN state of mailreq_due() is static, the main
 * process's.
 */
#ifndef RECALL_MAILREQ_H
#define RECALL_MAILREQ_H

#include <stdbool.h>

#include "recall.h"

#define MAILREQ_POLL_S	5
#define MAILREQ_STALE_S	900
#define MAILREQ_BATCH	20	/* requests per mailreq_run() */

/* The relay name recorded as relayed_by in the audit log. */
#define MAILREQ_RELAY	"recall-by-mail"

/*
 * Whether a request is waiting to run.  Looks (one indexed query) only
 * when notified on env->db's LISTEN or when the poll is due.  false while
 * env->db is NULL.
 */
bool mailreq_due(struct recall_env *env);

/* Run up to MAILREQ_BATCH pending requests.  Nothing while env->db is NULL. */
void mailreq_run(struct recall_env *env);

#endif
