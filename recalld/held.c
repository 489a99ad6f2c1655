/*
 * held - recall of held mail through its MTA host.  See held.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "held.h"
#include "xalloc.h"

#define HELD_POLL_MS 200

int
held_recall(struct db *db, const char *recall_id, long long request_id,
    bool dry_run, enum held_result *result_r, char **where_r,
    char **error_r)
{
	const char *p[4];
	struct db_result *r;
	char rid[24], *qid, *host, *action = NULL;
	struct timespec ts = { 0, HELD_POLL_MS * 1000000L };
	int waited;

	*result_r = HELD_NONE;
	*where_r = NULL;
	p[0] = recall_id;
	r = db_query(db, "SELECT queue_id, milter_host FROM held_message "
	    "WHERE recall_id = $1 AND state = 'held'", 1, p, error_r);
	if (r == NULL)
		return -1;
	if (db_rows(r) == 0) {
		db_result_free(&r);
		return 0;
	}
	qid = xstrdup(db_str(r, 0, 0));
	host = xstrdup(db_str(r, 0, 1));
	db_result_free(&r);
	*where_r = xasprintf("queue id %s on %s", qid, host);
	if (dry_run) {
		*result_r = HELD_WOULD;
		goto out;
	}
	snprintf(rid, sizeof(rid), "%lld", request_id);
	p[0] = recall_id;
	p[1] = qid;
	p[2] = host;
	p[3] = rid;
	r = db_query(db, "INSERT INTO held_action (recall_id, queue_id, "
	    "milter_host, request_id) VALUES ($1, $2, $3, $4) RETURNING id",
	    4, p, error_r);
	if (r == NULL)
		goto fail;
	action = xstrdup(db_str(r, 0, 0));
	db_result_free(&r);
	*result_r = HELD_PENDING;
	p[0] = action;
	for (waited = 0; waited <= HELD_WAIT_MS; waited += HELD_POLL_MS) {
		r = db_query(db, "SELECT result FROM held_action WHERE id = $1 "
		    "AND done_at IS NOT NULL", 1, p, error_r);
		if (r == NULL)
			goto fail;
		if (db_rows(r) > 0) {
			*result_r = strcmp(db_str(r, 0, 0), "deleted") == 0
			    ? HELD_DELETED : HELD_NONE;
			db_result_free(&r);
			break;
		}
		db_result_free(&r);
		nanosleep(&ts, NULL);
	}
out:
	free(action);
	free(qid);
	free(host);
	return 0;
fail:
	free(action);
	free(qid);
	free(host);
	xfree(where_r);
	return -1;
}
