/*
 * follow - durable log file follower.  See follow.h.
 *
 * The buffer holds the bytes read but not yet handed out: buf[start..len)
 * starts at file offset pos.off.  A line is handed out only when its
 * newline is in the buffer, except when the file was renamed away and its
 * writer can no longer finish it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "log.h"
#include "xalloc.h"

#define FOLLOW_READ 65536
#define FOLLOW_LINE_MAX (4u << 20)	/* longer lines are cut */

struct follower {
	char *source;
	char *host;
	char *path;
	int fd;
	struct follow_pos pos;
	char *buf;
	size_t cap, start, len;
	bool idle;	/* the last read hit the end of the file */
};

struct follower *
follow_new(const char *source, const char *host, const char *path)
{
	struct follower *f = xcalloc(1, sizeof(*f));

	f->source = xstrdup(source);
	f->host = xstrdup(host);
	f->path = xstrdup(path);
	f->fd = -1;
	f->cap = FOLLOW_READ + 1;
	f->buf = xmalloc(f->cap);
	return f;
}

void
follow_free(struct follower **fp)
{
	struct follower *f = *fp;

	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->source);
	free(f->host);
	free(f->path);
	free(f->buf);
	xfree(fp);
}

const char *
follow_source(const struct follower *f)
{
	return f->source;
}

const struct follow_pos *
follow_position(const struct follower *f)
{
	return &f->pos;
}

const char *
follow_dedup_key(const struct follower *f, const struct follow_pos *at,
    char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRId64,
	    f->host, f->source, at->dev, at->ino, at->gen, at->off);
	return buf;
}

/* A generation number never handed out before by this process. */
static uint64_t
new_gen(void)
{
	static uint64_t last;
	struct timespec ts;
	uint64_t g;

	clock_gettime(CLOCK_REALTIME, &ts);
	g = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (g <= last)
		g = last + 1;
	last = g;
	return g;
}

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* Hash of the first n bytes of fd; -1 when the file is shorter. */
static int
head_hash(int fd, uint32_t n, uint64_t *h_r)
{
	char tmp[FOLLOW_HEAD_LEN];
	ssize_t got;

	if (n > sizeof(tmp))
		n = sizeof(tmp);
	do
		got = pread(fd, tmp, n, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0 || (size_t)got < n)
		return -1;
	*h_r = fnv1a(tmp, n);
	return 0;
}

static void
reset_buf(struct follower *f)
{
	f->start = f->len = 0;
	f->idle = false;
}

/* Start reading the open file f->fd afresh (a new file or generation). */
static void
fresh_file(struct follower *f, const struct stat *st)
{
	memset(&f->pos, 0, sizeof(f->pos));
	f->pos.dev = (uint64_t)st->st_dev;
	f->pos.ino = (uint64_t)st->st_ino;
	f->pos.gen = new_gen();
	reset_buf(f);
	(void)lseek(f->fd, 0, SEEK_SET);
}

/* Open f->path as a new file; 0 also when it does not exist (yet). */
static int
open_new(struct follower *f, char **error_r)
{
	struct stat st;

	if ((f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("open %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(f->fd, &st) < 0) {
		*error_r = xasprintf("fstat %s: %s", f->path, strerror(errno));
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	fresh_file(f, &st);
	return 0;
}

/* Does fd still hold the file saved describes, at least up to its offset? */
static bool
same_content(int fd, const struct stat *st, const struct follow_pos *saved)
{
	uint64_t h;

	if ((uint64_t)st->st_dev != saved->dev
	    || (uint64_t)st->st_ino != saved->ino || st->st_size < saved->off)
		return false;
	if (saved->head_len > 0 && (head_hash(fd, saved->head_len, &h) < 0
	    || h != saved->head_hash))
		return false;
	return true;
}

/* Try to open path and resume at saved in it. 1 resumed, 0 not. */
static int
try_resume(struct follower *f, const char *path,
    const struct follow_pos *saved)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0 || (uint64_t)st.st_dev != saved->dev
	    || (uint64_t)st.st_ino != saved->ino)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !same_content(fd, &st, saved)
	    || lseek(fd, saved->off, SEEK_SET) != saved->off) {
		close(fd);
		return 0;
	}
	f->fd = fd;
	f->pos = *saved;
	reset_buf(f);
	return 1;
}

int
follow_start(struct follower *f, const struct follow_pos *saved,
    char **error_r)
{
	static const char *const rotated[] = { ".1", ".0" };
	struct stat st;
	size_t i;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	reset_buf(f);
	if (saved == NULL)
		return open_new(f, error_r);
	if (try_resume(f, f->path, saved))
		return 0;
	if (stat(f->path, &st) == 0 && (uint64_t)st.st_dev == saved->dev
	    && (uint64_t)st.st_ino == saved->ino) {
		/* Same file, but shorter or rewritten: copytruncate. */
		log_info("%s: %s was truncated; reading it from the start",
		    f->source, f->path);
		return open_new(f, error_r);
	}
	for (i = 0; i < sizeof(rotated) / sizeof(rotated[0]); i++) {
		char *p = xasprintf("%s%s", f->path, rotated[i]);
		int r = try_resume(f, p, saved);

		if (r)
			log_info("%s: finishing the rotated %s", f->source, p);
		free(p);
		if (r)
			return 0;
	}
	log_warnx("%s: the file at the saved position is gone; lines written "
	    "to it after offset %" PRId64 " were not read", f->source,
	    saved->off);
	return open_new(f, error_r);
}

int
follow_seek(struct follower *f, const struct follow_pos *pos, char **error_r)
{
	struct stat st;

	if (f->fd >= 0 && fstat(f->fd, &st) == 0
	    && (uint64_t)st.st_dev == pos->dev && (uint64_t)st.st_ino == pos->ino
	    && f->pos.gen == pos->gen) {
		if (lseek(f->fd, pos->off, SEEK_SET) != pos->off) {
			*error_r = xasprintf("seek %s: %s", f->path,
			    strerror(errno));
			return -1;
		}
		f->pos = *pos;
		reset_buf(f);
		return 0;
	}
	return follow_start(f, pos, error_r);
}

/* Hand out buf[start..start+n) as a line; consumed bytes include the \n. */
static int
hand_out(struct follower *f, size_t n, size_t consumed, char **line_r,
    size_t *len_r, struct follow_pos *at_r)
{
	*line_r = f->buf + f->start;
	*len_r = n;
	*at_r = f->pos;
	f->pos.off += (int64_t)consumed;
	f->start += consumed;
	return 1;
}

/*
 * Was the file truncated (copytruncate) under us: shorter than what was
 * read, or its first bytes changed?  1 (and restarted at 0), 0, or -1.
 */
static int
check_truncated(struct follower *f, char **error_r)
{
	struct stat fs;
	uint64_t h;

	if (fstat(f->fd, &fs) < 0) {
		*error_r = xasprintf("fstat %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fs.st_size < f->pos.off + (int64_t)(f->len - f->start)
	    || (f->pos.head_len > 0 && (head_hash(f->fd, f->pos.head_len,
	    &h) < 0 || h != f->pos.head_hash))) {
		log_info("%s: %s was truncated; reading it from the start",
		    f->source, f->path);
		fresh_file(f, &fs);
		return 1;
	}
	return 0;
}

/* At the end of the file: rotated, truncated, or just nothing new? */
static int
at_eof(struct follower *f, char **line_r, size_t *len_r,
    struct follow_pos *at_r, bool *again, char **error_r)
{
	struct stat ps;
	uint64_t h;
	int r;

	*again = false;
	if (stat(f->path, &ps) == 0 && ((uint64_t)ps.st_dev != f->pos.dev
	    || (uint64_t)ps.st_ino != f->pos.ino)) {
		/* Renamed away and read to its end. */
		if (f->len > f->start) {
			/* The writer is gone: the last line stays unfinished. */
			f->buf[f->len] = '\0';
			return hand_out(f, f->len - f->start, f->len - f->start,
			    line_r, len_r, at_r);
		}
		close(f->fd);
		f->fd = -1;
		if (open_new(f, error_r) < 0)
			return -1;
		*again = f->fd >= 0;
		return 0;
	}
	if ((r = check_truncated(f, error_r)) != 0) {
		*again = r > 0;
		return r < 0 ? -1 : 0;
	}
	/* Fingerprint up to FOLLOW_HEAD_LEN bytes of what was read. */
	if (f->pos.head_len < FOLLOW_HEAD_LEN
	    && f->pos.off > (int64_t)f->pos.head_len) {
		uint32_t n = f->pos.off < FOLLOW_HEAD_LEN
		    ? (uint32_t)f->pos.off : FOLLOW_HEAD_LEN;

		if (head_hash(f->fd, n, &h) == 0) {
			f->pos.head_len = n;
			f->pos.head_hash = h;
		}
	}
	return 0;
}

int
follow_next(struct follower *f, char **line_r, size_t *len_r,
    struct follow_pos *at_r, char **error_r)
{
	for (;;) {
		char *nl;
		ssize_t n;
		bool again;
		int r;

		if (f->len > f->start && (nl = memchr(f->buf + f->start, '\n',
		    f->len - f->start)) != NULL) {
			size_t k = (size_t)(nl - (f->buf + f->start));

			return hand_out(f, k, k + 1, line_r, len_r, at_r);
		}
		if (f->fd < 0) {
			if (open_new(f, error_r) < 0)
				return -1;
			if (f->fd < 0)
				return 0;
		}
		/* Make room: move the partial line to the front, or grow. */
		if (f->start > 0) {
			memmove(f->buf, f->buf + f->start, f->len - f->start);
			f->len -= f->start;
			f->start = 0;
		}
		if (f->cap - f->len < FOLLOW_READ + 1) {
			if (f->len >= FOLLOW_LINE_MAX) {
				/* A monster line: cut it here. */
				f->buf[f->len] = '\0';
				return hand_out(f, f->len, f->len, line_r,
				    len_r, at_r);
			}
			f->cap = f->len + FOLLOW_READ + 1;
			f->buf = xrealloc(f->buf, f->cap);
		}
		/*
		 * After a pause the file may have been truncated and have
		 * grown again past our offset: look before reading on.
		 */
		if (f->idle) {
			f->idle = false;
			if (check_truncated(f, error_r) < 0)
				return -1;
		}
		n = read(f->fd, f->buf + f->len, f->cap - f->len - 1);
		if (n > 0) {
			f->len += (size_t)n;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = xasprintf("read %s: %s", f->path,
			    strerror(errno));
			return -1;
		}
		r = at_eof(f, line_r, len_r, at_r, &again, error_r);
		if (r == 0 && !again)
			f->idle = true;
		if (r != 0 || !again)
			return r;
	}
}

/* ---- with the database ------------------------------------------------ */

static int
parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* The saved position: 1 found, 0 none, -1 error.  lock: FOR UPDATE. */
static int
load_pos(struct follower *f, struct db *db, bool lock,
    struct follow_pos *p, char **error_r)
{
	const char *params[2] = { f->source, f->host };
	struct db_result *r;
	int64_t v[6];
	int i, found = 0;

	r = db_query(db, lock
	    ? "SELECT dev, inode, generation, \"offset\", head_len, head_hash"
	    "  FROM follower_state WHERE source = $1 AND host = $2 FOR UPDATE"
	    : "SELECT dev, inode, generation, \"offset\", head_len, head_hash"
	    "  FROM follower_state WHERE source = $1 AND host = $2",
	    2, params, error_r);
	if (r == NULL)
		return -1;
	if (db_rows(r) == 1) {
		for (i = 0; i < 6; i++) {
			if (parse_i64(db_str(r, 0, i), &v[i]) < 0) {
				*error_r = xasprintf("follower_state: bad "
				    "value %s", db_str(r, 0, i));
				db_result_free(&r);
				return -1;
			}
		}
		p->dev = (uint64_t)v[0];
		p->ino = (uint64_t)v[1];
		p->gen = (uint64_t)v[2];
		p->off = v[3];
		p->head_len = (uint32_t)v[4];
		p->head_hash = (uint64_t)v[5];
		found = 1;
	}
	db_result_free(&r);
	return found;
}

static int
save_pos(struct follower *f, struct db *db, char **error_r)
{
	char dev[24], ino[24], gen[24], off[24], hl[24], hh[24];
	const char *params[9] = { f->source, f->host, f->path, dev, ino, gen,
	    off, hl, hh };

	snprintf(dev, sizeof(dev), "%" PRId64, (int64_t)f->pos.dev);
	snprintf(ino, sizeof(ino), "%" PRId64, (int64_t)f->pos.ino);
	snprintf(gen, sizeof(gen), "%" PRId64, (int64_t)f->pos.gen);
	snprintf(off, sizeof(off), "%" PRId64, f->pos.off);
	snprintf(hl, sizeof(hl), "%" PRIu32, f->pos.head_len);
	snprintf(hh, sizeof(hh), "%" PRId64, (int64_t)f->pos.head_hash);
	return db_exec(db,
	    "INSERT INTO follower_state (source, host, path, dev, inode,"
	    "  generation, \"offset\", head_len, head_hash, updated_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())"
	    " ON CONFLICT (source, host) DO UPDATE SET path = $3, dev = $4,"
	    "  inode = $5, generation = $6, \"offset\" = $7, head_len = $8,"
	    "  head_hash = $9, updated_at = now()",
	    9, params, NULL, error_r);
}

int
follow_load(struct follower *f, struct db *db, char **error_r)
{
	struct follow_pos p;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = load_pos(f, db, false, &p, error_r)) < 0)
		return -1;
	return follow_start(f, r == 1 ? &p : NULL, error_r);
}

static bool
pos_equal(const struct follow_pos *a, const struct follow_pos *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->gen == b->gen
	    && a->off == b->off;
}

/*
 * In a transaction: lock the position row and, when another recalld on
 * this host moved on from *committed, go where it is.  1 when the row
 * exists (*dbpos), 0 when not, -1 on error.
 */
static int
lock_and_join(struct follower *f, struct db *db, bool lock,
    struct follow_pos *committed, struct follow_pos *dbpos, char **error_r)
{
	int found;

	memset(dbpos, 0, sizeof(*dbpos));
	if ((found = load_pos(f, db, lock, dbpos, error_r)) <= 0)
		return found;
	if (!pos_equal(dbpos, committed)) {
		if (follow_seek(f, dbpos, error_r) < 0)
			return -1;
		*committed = f->pos;
		return 2;
	}
	return 1;
}

#define LOCK_POS_SQL "SELECT 1 FROM follower_state" \
	" WHERE source = $1 AND host = $2 FOR UPDATE"

/*
 * The batches overlap: a full batch's rows, its position and its COMMIT,
 * then the next batch's BEGIN and the lock of the position row, are sent
 * deferred (db_defer_begin()), and the next batch's lines are read and
 * parsed while PostgreSQL writes them.  Their outcome is read back before
 * anything else is asked of the database, so "committed" moves only once
 * it is known, and a failure goes back to the position before the failed
 * batch.  A second recalld on this host that moved on while we waited for
 * the lock is seen then: the batch just parsed is rolled back and read
 * again from the other's position.
 */
int
follow_catch_up(struct follower *f, struct db *db, follow_line_fn *fn,
    follow_flush_fn *flush, void *ctx, size_t batch, size_t *lines_r,
    char **error_r)
{
	struct follow_pos committed = f->pos, sent, dbpos, at;
	const char *lp[2] = { f->source, f->host };
	char key[FOLLOW_KEY_MAX], *line, *err = NULL;
	size_t len, count, total = 0, sent_count = 0;
	bool deferred = false;
	int r, found;

	if (batch == 0)
		batch = 2000;
	if (lines_r != NULL)
		*lines_r = 0;
	if (db_begin(db, error_r) < 0)
		return -1;
	if ((found = lock_and_join(f, db, true, &committed, &dbpos,
	    error_r)) < 0)
		goto fail;
	for (;;) {
		for (count = 0; count < batch; count++) {
			r = follow_next(f, &line, &len, &at, &err);
			if (r < 0) {
				*error_r = err;
				goto fail;
			}
			if (r == 0)
				break;
			follow_dedup_key(f, &at, key, sizeof(key));
			if (fn(ctx, db, line, len, key, error_r) < 0)
				goto fail;
		}
		if (deferred) {
			/* The previous batch is in, and the row locked. */
			if (db_defer_wait(db, error_r) < 0)
				goto fail;
			deferred = false;
			committed = sent;
			total += sent_count;
			if ((found = lock_and_join(f, db, false, &committed,
			    &dbpos, error_r)) < 0)
				goto fail;
			if (found == 2) {
				/* Moved on: what was parsed is void. */
				if (flush != NULL && flush(ctx, db, error_r) < 0)
					goto fail;
				db_rollback(db);
				if (db_begin(db, error_r) < 0)
					return -1;
				if ((found = lock_and_join(f, db, true,
				    &committed, &dbpos, error_r)) < 0)
					goto fail;
				continue;
			}
		}
		if (count == 0 && found && pos_equal(&f->pos, &committed)
		    && f->pos.head_len == dbpos.head_len) {
			db_rollback(db);	/* nothing new */
			break;
		}
		if (count < batch) {
			/* The last batch: written and waited for. */
			if ((flush != NULL && flush(ctx, db, error_r) < 0)
			    || save_pos(f, db, error_r) < 0
			    || db_commit(db, error_r) < 0)
				goto fail;
			committed = f->pos;
			total += count;
			break;
		}
		if (db_defer_begin(db, error_r) < 0)
			goto fail;
		deferred = true;
		if ((flush != NULL && flush(ctx, db, error_r) < 0)
		    || save_pos(f, db, error_r) < 0
		    || db_commit(db, error_r) < 0
		    || db_begin(db, error_r) < 0
		    || db_exec(db, LOCK_POS_SQL, 2, lp, NULL, error_r) < 0
		    || db_defer_send(db, error_r) < 0)
			goto fail;
		sent = f->pos;
		sent_count = count;
	}
	if (lines_r != NULL)
		*lines_r = total;
	return 0;
fail:
	db_rollback(db);
	if (follow_seek(f, &committed, &err) < 0) {
		log_warnx("%s: %s", f->source, err);
		free(err);
	}
	return -1;
}
