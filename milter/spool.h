/*
 * spool - the milter's durable local spool of records.
 *
 * Records are lines appended to segment files spool_dir/spool.NNNNNNNNNN.
 * With a sync delay of 0, spool_append() returns only once its line is on
 * disk (fdatasync): appends are group-committed, so while one thread syncs,
 * the lines of the others gather and the next sync covers them all.  With
 * a delay of d > 0 ms (milter.spool_sync_delay, the default), it returns
 * once the line is written (in the page cache: a crash of the process
 * loses nothing) and a sync thread makes every line durable at most d ms
 * after the first unsynced one, in one fdatasync for all of them; only a
 * crash of the whole host within those d ms can lose lines.  Readers only
 * ever see durable lines.  A segment is closed when it
 * reaches SPOOL_SEGMENT_MAX bytes (or the writer asks while idle) and a new
 * one is started; the process never appends to a segment it did not create,
 * so a crash can leave at most one torn line, at the end of a closed
 * segment, which spool_read() skips with a warning.
 *
 * The writer thread reads with spool_read() from a cursor, commits what it
 * read to PostgreSQL, and then removes the segments before its cursor with
 * spool_remove_before().  Nothing is removed before it is committed, and a
 * replay after a crash re-sends lines that may already be in the database:
 * the writer's inserts are idempotent.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef RECALL_MILTER_SPOOL_H
#define RECALL_MILTER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SPOOL_SEGMENT_MAX	(4 * 1024 * 1024)
#define SPOOL_IDLE_ROTATE	(256 * 1024)

struct spool;

/* A position in the spool: a segment and a byte offset in it. */
struct spool_cursor {
	uint64_t seg;
	off_t off;
};

/*
 * Open dir (created 0700 when missing), list the segments left by earlier
 * runs and start a new one; sync_delay_ms as above (0: every append waits
 * for its sync; > 0 needs spool_start_syncer()).  *first_r (may be NULL) gets
 * the cursor where reading must start.  Returns 0, or -1 with *error_r
 * (heap).
 */
int spool_open(const char *dir, long sync_delay_ms, struct spool **spool_r,
    struct spool_cursor *first_r, char **error_r);
/*
 * Start the sync thread when the sync delay is > 0 (after any fork: a
 * daemon calls this once it is detached).  Until then every append waits
 * for its own sync.  Returns 0, or -1 with *error_r (heap).
 */
int spool_start_syncer(struct spool *spool, char **error_r);
/*
 * Make every line appended so far durable now (joining a sync in
 * progress), without waiting for the sync delay.  Returns 0, or -1 with
 * errno set.
 */
int spool_sync_now(struct spool *spool);
/* Sync what is left, stop the sync thread, close. */
void spool_close(struct spool **spool);
/* Give the spool directory and its segments to uid/gid (before a drop). */
int spool_chown(struct spool *spool, uid_t uid, gid_t gid, char **error_r);

/*
 * Append one line (len bytes, no newline); with a sync delay of 0, wait
 * until it is durable.  *end_r (may be NULL) gets the cursor just after it.  Returns 0, or -1 with
 * errno set (the line is then not in the spool).
 */
int spool_append(struct spool *spool, const char *line, size_t len,
    struct spool_cursor *end_r);

/*
 * Read whole durable lines after *cur, about max_bytes (at least one line),
 * into *buf_r (heap, caller frees; lines end in '\n') and *len_r.  *cur may
 * move forward to the start of a later segment (a finished segment, or a
 * torn tail skipped); the lines end at {cur->seg, *end_r}.  Returns 1 with
 * lines, 0 when nothing is durable yet, -1 on an I/O error (logged).
 */
int spool_read(struct spool *spool, struct spool_cursor *cur,
    size_t max_bytes, char **buf_r, size_t *len_r, off_t *end_r);
/*
 * Remove every finished segment before cur.seg (this lists spool_dir).
 * Returns the number of segments that could not be removed (logged).
 */
int spool_remove_before(struct spool *spool, const struct spool_cursor *cur);
/*
 * The reader is idle at cur: if that is the end of the current segment and
 * the segment holds at least SPOOL_IDLE_ROTATE bytes, start a new one so the
 * old one can be removed.
 */
void spool_rotate_idle(struct spool *spool, const struct spool_cursor *cur);
/* Wait up to timeout_ms for durable data after cur. */
void spool_wait(struct spool *spool, const struct spool_cursor *cur,
    int timeout_ms);
/*
 * The number of durable bytes after cur, SPOOL_PENDING_MANY when a whole
 * finished segment lies after it; *gen_r (may be NULL) gets the count of
 * spool_wake() calls so far, for spool_wait_more().
 */
#define SPOOL_PENDING_MANY	UINT64_MAX
uint64_t spool_pending(struct spool *spool, const struct spool_cursor *cur,
    uint64_t *gen_r);
/*
 * Wait until at least want durable bytes follow cur, spool_wake() was
 * called since spool_pending() returned gen, or the CLOCK_REALTIME
 * deadline passed.  A group commit that leaves fewer than want bytes after
 * cur does not wake the caller, so a reader letting a batch gather sleeps
 * through the commits instead of waking once per sync.
 */
void spool_wait_more(struct spool *spool, const struct spool_cursor *cur,
    uint64_t want, uint64_t gen, const struct timespec *deadline);
/* Wake spool_wait() and spool_wait_more() callers. */
void spool_wake(struct spool *spool);

/* Counters for logs and benchmarks. */
void spool_stats(struct spool *spool, uint64_t *appends_r, uint64_t *syncs_r);

static inline int
spool_cursor_cmp(const struct spool_cursor *a, const struct spool_cursor *b)
{
	if (a->seg != b->seg)
		return a->seg < b->seg ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return 0;
}

#endif
