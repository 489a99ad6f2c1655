/*
 * writer - the thread that drains the spool into PostgreSQL.
 *
 * It reads batches of records from the spool, inserts them in one
 * transaction with multi-row INSERT ... ON CONFLICT DO NOTHING (so a replay
 * never duplicates: messages by recall_id, recipients by their primary key,
 * route events by dedup_key, recall requests by mail (mail_request) by
 * dedup_key, held messages (held_message) by recall_id), and only then
 * lets the spool remove what it read.  Once it has caught up it lets
 * records gather for up to 50 ms (or 256 KB) per transaction, unless
 * someone waits in writer_wait_committed(); it runs at nice 10 (see
 * WRITER_LINGER_MS and WRITER_NICE in writer.c).  While the database is
 * unreachable it retries with a backoff of 1 s
 * doubling to 8 s; mail keeps flowing meanwhile.  A record the database
 * refuses on a healthy connection is logged and appended to
 * spool_dir/rejected so one bad record cannot stall the rest.
 *
 * The statement builder writer_build() is pure, for unit tests.
 *
 * Thread-safety: writer_connected() and writer_wait_committed() may be
 * called from any thread; start and stop from the main thread.
 */
#ifndef RECALL_MILTER_WRITER_H
#define RECALL_MILTER_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"
#include "spool.h"

struct writer;

int writer_start(const char *conninfo, const char *spool_dir,
    struct spool *spool, const struct spool_cursor *first,
    struct writer **writer_r, char **error_r);
/* Stop the thread (what is not committed stays in the spool). */
void writer_stop(struct writer **writer);

/* Is the thread connected to the database right now?  (NULL: false) */
bool writer_connected(struct writer *w);
/* Wait up to timeout_ms until everything before end is committed. */
bool writer_wait_committed(struct writer *w, const struct spool_cursor *end,
    int timeout_ms);

/* One parameterised statement. */
struct writer_stmt {
	char *sql;		/* heap */
	char **params;		/* nparams heap strings or NULL (SQL NULL) */
	int nparams;
};

struct writer_batch {
	struct writer_stmt *v;
	size_t n;
};

/* The statements that insert recs[0..n-1]. */
void writer_build(const struct record *recs, size_t n,
    struct writer_batch *batch);
void writer_batch_free(struct writer_batch *batch);

#endif
