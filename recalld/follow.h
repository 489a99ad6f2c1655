/*
 * follow - follow a log file durably, line by line.
 *
 * A follower reads one file (events.postfix_log or events.dovecot_log)
 * from a position (device, inode, generation, offset) and hands out
 * complete lines only: a last line without its newline stays in the
 * buffer until the newline arrives.  At end of file it notices rotation:
 *   - by rename (the path names another inode): the old file is read to
 *     its end through the still-open descriptor, then the new one from 0;
 *   - by copytruncate (the file is shorter than the offset, or its first
 *     bytes changed): the file is read again from 0 under a new
 *     generation.
 * The generation is a number chosen when a file is first seen (the time
 * in microseconds), so a recycled inode number never repeats a key.
 *
 * follow_catch_up() reads to the end of the file now, in transactions:
 * the callback writes a batch of lines (route_event rows keyed by
 * follow_dedup_key(), "host/source/dev/inode/generation/offset") and the
 * position is saved in follower_state in the same transaction, so after a
 * crash a line is neither lost nor inserted twice.  The row is locked
 * (FOR UPDATE) per batch, so two recallds on one host never interleave.
 * A full batch is committed deferred (db_defer_begin()) while the next one
 * is read and parsed, so recalld's parsing and PostgreSQL's writing
 * overlap; the position in memory moves on only once the commit is known.
 *
 * Ownership: a struct follower owns its descriptor and buffer; lines handed
 * out point into that buffer and stay valid until the next follow_next().
 * One thread at a time per follower.
 */
#ifndef RECALL_FOLLOW_H
#define RECALL_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct follow_pos {
	uint64_t dev;
	uint64_t ino;
	uint64_t gen;		/* generation of this file (see above) */
	int64_t off;		/* offset of the next line to read */
	uint32_t head_len;	/* bytes fingerprinted, 0 = none yet */
	uint64_t head_hash;	/* FNV-1a of the first head_len bytes */
};

#define FOLLOW_HEAD_LEN 64
#define FOLLOW_KEY_MAX 256

struct follower;

/* A follower for path (copied); nothing is opened yet. */
struct follower *follow_new(const char *source, const char *host,
    const char *path);
void follow_free(struct follower **f);

/*
 * Open the file and resume at saved (NULL: no saved position, start at
 * the beginning of the current file).  When saved names a file that was
 * renamed away, PATH.1 and PATH.0 are looked at and the rest of that file
 * is read first.  A missing file is not an error: follow_next() returns 0
 * until it appears.  Returns 0, or -1 with *error_r (heap).
 */
int follow_start(struct follower *f, const struct follow_pos *saved,
    char **error_r);

/*
 * The next complete line: 1 with *line_r (writable, *len_r bytes without
 * the newline, line[*len_r] writable too) and the line's own position in
 * *at_r; 0 when there is none now; -1 with *error_r on a read error.
 */
int follow_next(struct follower *f, char **line_r, size_t *len_r,
    struct follow_pos *at_r, char **error_r);

/* The position after the last line handed out. */
const struct follow_pos *follow_position(const struct follower *f);

/* Go back (or forward) to pos, e.g. the last committed one. */
int follow_seek(struct follower *f, const struct follow_pos *pos,
    char **error_r);

/* The dedup key of the line at *at into buf (FOLLOW_KEY_MAX bytes). */
const char *follow_dedup_key(const struct follower *f,
    const struct follow_pos *at, char *buf, size_t size);

const char *follow_source(const struct follower *f);

/* ---- with the database ----------------------------------------------- */

/*
 * Called for each line inside the batch transaction.  line is writable
 * (len bytes plus one).  Return 0, or -1 with *error_r (heap) to roll the
 * batch back; it is retried at the next catch-up.
 */
typedef int follow_line_fn(void *ctx, struct db *db, char *line, size_t len,
    const char *dedup_key, char **error_r);

/*
 * Called at the end of each batch, before the position is saved in the
 * same transaction: a line function that gathers rows in ctx writes them
 * here (one statement for the batch).  Return 0, or -1 with *error_r
 * (heap) to roll the batch back.  When a batch fails, the caller of
 * follow_catch_up() drops what ctx gathered.
 */
typedef int follow_flush_fn(void *ctx, struct db *db, char **error_r);

/* Load the saved position from follower_state and follow_start(). */
int follow_load(struct follower *f, struct db *db, char **error_r);

/*
 * Read everything up to the end of the file now, in batches of at most
 * batch lines per transaction (0: 2000).  *lines_r (may be NULL) gets the
 * number of lines read.  Returns 0, or -1 with *error_r (heap); after an
 * error the follower is back at the last committed position.
 */
int follow_catch_up(struct follower *f, struct db *db, follow_line_fn *fn,
    follow_flush_fn *flush, void *ctx, size_t batch, size_t *lines_r,
    char **error_r);

#endif
