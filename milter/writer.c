/*
 * writer - spool to PostgreSQL.  See writer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "deadline.h"
#include "log.h"
#include "sbuf.h"
#include "writer.h"
#include "xalloc.h"

#define WRITER_READ_BYTES	(512 * 1024)
/*
 * Batching: once it has caught up, the writer lets records gather for up to
 * WRITER_LINGER_MS, or until WRITER_BATCH_BYTES are waiting, before it
 * reads and commits them.  The writer reads only durable records (synced
 * by the spool, at most milter.spool_sync_delay after they are written), so
 * this only delays their arrival in the database, and it turns one
 * transaction per group commit (about one per message under load) into a
 * few per second: PostgreSQL's and our own CPU time per message drop, and
 * that CPU is what Postfix competes for.  The linger is kept short because
 * a message can be recalled only once its record is in the database: at
 * 200 ms a recall right after delivery could find nothing.  A waiting
 * writer_wait_committed() (on_db_error "tempfail") or a stop ends the
 * linger at once.
 */
#define WRITER_LINGER_MS	50
#define WRITER_BATCH_BYTES	(256 * 1024)
/*
 * The thread runs at this nice value (Linux: per thread), so that on a busy
 * MTA host the callbacks, and Postfix, get the CPU first.  A nice value, not
 * SCHED_IDLE: under CFS a niced thread still gets its share (about 1/10 of a
 * core against one busy nice 0 thread), so the writer never starves and the
 * spool always drains; SCHED_IDLE could stall it for as long as the host is
 * saturated.  PostgreSQL's backend is another process and keeps its own
 * priority.
 */
#define WRITER_NICE		10
#define WRITER_BACKOFF_MAX	8
#define WRITER_LOG_EVERY	60	/* seconds between "still down" lines */

/* Rows per INSERT, within PostgreSQL's 65535 parameters. */
#define MSG_COLS	11
#define MSG_ROWS	500
#define RCPT_COLS	3
#define RCPT_ROWS	5000
#define EVENT_COLS	8
#define EVENT_ROWS	2000
#define MREQ_COLS	7
#define MREQ_ROWS	1000
#define HELD_COLS	4
#define HELD_ROWS	1000

struct writer {
	char *conninfo;
	char *rejected_path;
	struct spool *spool;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;		/* committed moved, or stop */
	bool stop;
	bool connected;
	int waiters;			/* in writer_wait_committed() */
	struct spool_cursor cur;	/* the thread's read position */
	struct spool_cursor committed;	/* everything before is in the DB */
	uint64_t swept;			/* no finished segment is left
					   before this one */
	struct db *db;
};

/* Statement building (pure). */

struct writer_rows {
	struct sbuf sql;
	char **params;
	int nparams, nrows;
};

static void
writer_rows_begin(struct writer_rows *rows, const char *head)
{
	sbuf_init(&rows->sql);
	sbuf_adds(&rows->sql, head);
	rows->params = NULL;
	rows->nparams = 0;
	rows->nrows = 0;
}

static void
writer_rows_add(struct writer_rows *rows, char **vals, int ncols)
{
	int i;

	rows->params = xrealloc(rows->params,
	    (size_t)(rows->nparams + ncols) * sizeof(char *));
	sbuf_adds(&rows->sql, rows->nrows > 0 ? ", (" : " (");
	for (i = 0; i < ncols; i++) {
		sbuf_addf(&rows->sql, "%s$%d", i > 0 ? ", " : "",
		    rows->nparams + 1);
		rows->params[rows->nparams++] = vals[i];
	}
	sbuf_addc(&rows->sql, ')');
	rows->nrows++;
}

static void
writer_rows_end(struct writer_rows *rows, struct writer_batch *b)
{
	if (rows->nrows == 0) {
		sbuf_release(&rows->sql);
		return;
	}
	sbuf_adds(&rows->sql, " ON CONFLICT DO NOTHING");
	b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
	b->v[b->n].sql = sbuf_detach(&rows->sql);
	b->v[b->n].params = rows->params;
	b->v[b->n].nparams = rows->nparams;
	b->n++;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

#define MSG_HEAD "INSERT INTO messages (recall_id, message_id, sender, " \
	"auth_user, client_addr, queue_id, size, subject, submitted_at, " \
	"origin, milter_host) VALUES"
#define RCPT_HEAD "INSERT INTO recipients (recall_id, recipient, class) VALUES"
#define EVENT_HEAD "INSERT INTO route_event (dedup_key, recall_id, " \
	"queue_id, recipient, at, source, event, detail) VALUES"

#define MREQ_HEAD "INSERT INTO mail_request (dedup_key, ref, requested_by, " \
	"auth_user, queue_id, milter_host, received_at) VALUES"
#define HELD_HEAD "INSERT INTO held_message (recall_id, queue_id, " \
	"milter_host, hold_until) VALUES"

/* Recall requests by mail and held messages (after their messages). */
static void
writer_build_extra(const struct record *recs, size_t n,
    struct writer_batch *b)
{
	struct writer_rows q, h;
	char *v[MREQ_COLS];
	size_t i;

	writer_rows_begin(&q, MREQ_HEAD);
	writer_rows_begin(&h, HELD_HEAD);
	for (i = 0; i < n; i++) {
		if (recs[i].type == RECORD_RECALL_REQUEST) {
			if (q.nrows == MREQ_ROWS) {
				writer_rows_end(&q, b);
				writer_rows_begin(&q, MREQ_HEAD);
			}
			v[0] = xstrdup(recs[i].key);
			v[1] = xstrdup(recs[i].ref);
			v[2] = xstrdup(recs[i].requested_by);
			v[3] = dup_or_null(recs[i].auth_user);
			v[4] = dup_or_null(recs[i].queue_id);
			v[5] = dup_or_null(recs[i].host);
			v[6] = xstrdup(recs[i].at);
			writer_rows_add(&q, v, MREQ_COLS);
		} else if (recs[i].type == RECORD_MESSAGE
		    && recs[i].hold_until != NULL && recs[i].queue_id != NULL) {
			if (h.nrows == HELD_ROWS) {
				writer_rows_end(&h, b);
				writer_rows_begin(&h, HELD_HEAD);
			}
			v[0] = xstrdup(recs[i].recall_id);
			v[1] = xstrdup(recs[i].queue_id);
			v[2] = xstrdup(recs[i].host != NULL ? recs[i].host : "");
			v[3] = xstrdup(recs[i].hold_until);
			writer_rows_add(&h, v, HELD_COLS);
		}
	}
	writer_rows_end(&q, b);
	writer_rows_end(&h, b);
}

void
writer_build(const struct record *recs, size_t n, struct writer_batch *b)
{
	struct writer_rows m, r, e;
	char *v[MSG_COLS];
	size_t i, j;

	b->v = NULL;
	b->n = 0;
	/* Messages first: recipients refer to them. */
	writer_rows_begin(&m, MSG_HEAD);
	for (i = 0; i < n; i++) {
		if (recs[i].type != RECORD_MESSAGE)
			continue;
		if (m.nrows == MSG_ROWS) {
			writer_rows_end(&m, b);
			writer_rows_begin(&m, MSG_HEAD);
		}
		v[0] = xstrdup(recs[i].recall_id);
		v[1] = xstrdup(recs[i].message_id);
		v[2] = xstrdup(recs[i].sender);
		v[3] = dup_or_null(recs[i].auth_user);
		v[4] = dup_or_null(recs[i].client_addr);
		v[5] = dup_or_null(recs[i].queue_id);
		v[6] = xasprintf("%lld", recs[i].size);
		v[7] = dup_or_null(recs[i].subject);
		v[8] = xstrdup(recs[i].at);
		v[9] = xstrdup(recs[i].origin);
		v[10] = dup_or_null(recs[i].host);
		writer_rows_add(&m, v, MSG_COLS);
	}
	writer_rows_end(&m, b);
	writer_rows_begin(&r, RCPT_HEAD);
	writer_rows_begin(&e, EVENT_HEAD);
	for (i = 0; i < n; i++) {
		if (recs[i].type == RECORD_RECALL_REQUEST)
			continue;
		for (j = 0; j < recs[i].n_rcpts; j++) {
			const struct record_rcpt *rc = &recs[i].rcpts[j];

			if (recs[i].type == RECORD_MESSAGE) {
				if (r.nrows == RCPT_ROWS) {
					writer_rows_end(&r, b);
					writer_rows_begin(&r, RCPT_HEAD);
				}
				v[0] = xstrdup(recs[i].recall_id);
				v[1] = xstrdup(rc->addr);
				v[2] = xstrdup(rc->class);
				writer_rows_add(&r, v, RCPT_COLS);
				continue;
			}
			if (e.nrows == EVENT_ROWS) {
				writer_rows_end(&e, b);
				writer_rows_begin(&e, EVENT_HEAD);
			}
			/* One event per recipient; the key names both. */
			v[0] = xasprintf("milter:reentry:%s:%s", recs[i].key,
			    rc->addr);
			v[1] = xstrdup(recs[i].recall_id);
			v[2] = dup_or_null(recs[i].queue_id);
			v[3] = xstrdup(rc->addr);
			v[4] = xstrdup(recs[i].at);
			v[5] = xstrdup("milter");
			v[6] = xstrdup("reentry");
			v[7] = xstrdup(recs[i].detail != NULL ? recs[i].detail
			    : "");
			writer_rows_add(&e, v, EVENT_COLS);
		}
	}
	writer_rows_end(&r, b);
	writer_rows_end(&e, b);
	writer_build_extra(recs, n, b);
}

void
writer_batch_free(struct writer_batch *b)
{
	size_t i;
	int j;

	for (i = 0; i < b->n; i++) {
		for (j = 0; j < b->v[i].nparams; j++)
			free(b->v[i].params[j]);
		free(b->v[i].params);
		free(b->v[i].sql);
	}
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

/* The thread. */

/* Run recs in one transaction.  Returns 0 or -1 with *error_r (heap). */
static int
writer_commit(struct db *db, const struct record *recs, size_t n,
    char **error_r)
{
	struct writer_batch b;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	writer_build(recs, n, &b);
	if (db_begin(db, error_r) < 0) {
		writer_batch_free(&b);
		return -1;
	}
	for (i = 0; i < b.n && rc == 0; i++)
		rc = db_exec(db, b.v[i].sql, b.v[i].nparams,
		    (const char *const *)b.v[i].params, NULL, error_r);
	writer_batch_free(&b);
	if (rc == 0)
		rc = db_commit(db, error_r);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

static void
writer_reject(struct writer *w, const char *line, size_t len)
{
	int fd = open(w->rejected_path, O_WRONLY | O_APPEND | O_CREAT
	    | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, line, len) != (ssize_t)len
	    || write(fd, "\n", 1) != 1)
		log_warn("writer: cannot append to %s", w->rejected_path);
	if (fd >= 0)
		close(fd);
}

/* Sleep up to secs unless stopped; returns true when stopping. */
static bool
writer_sleep(struct writer *w, int secs)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&w->lock);
	if (!w->stop)
		pthread_cond_timedwait(&w->cv, &w->lock, &ts);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static bool
writer_stopping(struct writer *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* Someone waits for a commit, or the thread is to stop. */
static bool
writer_hurried(struct writer *w)
{
	bool hurry;

	pthread_mutex_lock(&w->lock);
	hurry = w->stop || w->waiters > 0;
	pthread_mutex_unlock(&w->lock);
	return hurry;
}

/*
 * Let a batch gather after w->cur (see WRITER_LINGER_MS).  The thread
 * sleeps until the deadline, a full batch, a waiter or a stop: the group
 * commits in between do not wake it.  The wake-up generation is read
 * before writer_hurried() so that a waiter or a stop arriving in between
 * ends spool_wait_more() at once.
 */
static void
writer_linger(struct writer *w)
{
	struct timespec deadline;
	uint64_t have, gen;

	deadline_in_ms(&deadline, WRITER_LINGER_MS);
	for (;;) {
		have = spool_pending(w->spool, &w->cur, &gen);
		if (have == 0 || have >= WRITER_BATCH_BYTES || writer_hurried(w))
			return;
		if (deadline_passed(&deadline))
			return;
		spool_wait_more(w->spool, &w->cur, WRITER_BATCH_BYTES, gen,
		    &deadline);
	}
}

static void
writer_set_connected(struct writer *w, bool on)
{
	pthread_mutex_lock(&w->lock);
	w->connected = on;
	pthread_mutex_unlock(&w->lock);
}

static void
writer_publish(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->committed = w->cur;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
	/* Segments end only when the cursor moves on to the next one. */
	if (w->cur.seg > w->swept
	    && spool_remove_before(w->spool, &w->cur) == 0)
		w->swept = w->cur.seg;
}

/* Parse the lines of buf; bad lines are logged and skipped. */
static size_t
writer_parse(const struct writer *w, char *buf, size_t len,
    struct record **recs_r, char ***lines_r)
{
	struct record *recs = NULL;
	char **lines = NULL, *p = buf, *nl;
	const char *why;
	size_t n = 0;

	while (p < buf + len && (nl = memchr(p, '\n', (size_t)(buf + len - p)))
	    != NULL) {
		*nl = '\0';
		recs = xrealloc(recs, (n + 1) * sizeof(*recs));
		lines = xrealloc(lines, (n + 1) * sizeof(*lines));
		if (record_decode(p, (size_t)(nl - p), &recs[n], &why) < 0) {
			log_warnx("writer: spool segment %llu: skipping a bad "
			    "record: %s", (unsigned long long)w->cur.seg, why);
		} else {
			lines[n] = p;
			n++;
		}
		p = nl + 1;
	}
	*recs_r = recs;
	*lines_r = lines;
	return n;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct record *recs;
	char *buf, *err = NULL, **lines;
	size_t len, n, i;
	off_t end;
	int backoff = 1, r;
	time_t last_log = 0;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE) < 0)
		log_warn("writer: cannot lower the thread's priority");
	while (!writer_stopping(w)) {
		if (w->db == NULL) {
			if (db_open_as(w->conninfo, "recall_milter", &w->db, &err) < 0) {
				if (time(NULL) - last_log >= WRITER_LOG_EVERY) {
					log_warnx("writer: %s; records wait in "
					    "the spool, retrying", err);
					last_log = time(NULL);
				}
				xfree(&err);
				if (writer_sleep(w, backoff))
					break;
				backoff = backoff * 2 > WRITER_BACKOFF_MAX
				    ? WRITER_BACKOFF_MAX : backoff * 2;
				continue;
			}
			log_info("writer: connected to the database");
			writer_set_connected(w, true);
			backoff = 1;
			last_log = 0;
		}
		writer_linger(w);
		r = spool_read(w->spool, &w->cur, WRITER_READ_BYTES, &buf,
		    &len, &end);
		if (r < 0) {
			if (writer_sleep(w, 1))
				break;
			continue;
		}
		if (r == 0) {
			writer_publish(w);
			spool_rotate_idle(w->spool, &w->cur);
			spool_wait(w->spool, &w->cur, 1000);
			continue;
		}
		n = writer_parse(w, buf, len, &recs, &lines);
		if (writer_commit(w->db, recs, n, &err) == 0) {
			log_debug("writer: committed %zu records", n);
			w->cur.off = end;
		} else if (!db_alive(w->db)) {
			log_warnx("writer: %s; will retry", err);
			xfree(&err);
			db_close(&w->db);
			writer_set_connected(w, false);
		} else {
			/* Find the record the database refuses. */
			log_warnx("writer: batch refused (%s); retrying one "
			    "record at a time", err);
			xfree(&err);
			for (i = 0; i < n; i++) {
				if (writer_commit(w->db, &recs[i], 1, &err) == 0)
					continue;
				log_errx("writer: record %s refused, kept in "
				    "%s: %s", recs[i].key, w->rejected_path,
				    err);
				xfree(&err);
				writer_reject(w, lines[i], strlen(lines[i]));
			}
			if (db_alive(w->db))
				w->cur.off = end;
		}
		for (i = 0; i < n; i++)
			record_clear(&recs[i]);
		free(recs);
		free(lines);
		free(buf);
		if (w->db != NULL)
			writer_publish(w);
	}
	db_close(&w->db);
	return NULL;
}

int
writer_start(const char *conninfo, const char *spool_dir, struct spool *spool,
    const struct spool_cursor *first, struct writer **w_r, char **error_r)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	int e;

	w->conninfo = xstrdup(conninfo);
	w->rejected_path = xasprintf("%s/rejected", spool_dir);
	w->spool = spool;
	w->cur = *first;
	w->committed = *first;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((e = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		*error_r = xasprintf("writer: cannot start: %s", strerror(e));
		free(w->conninfo);
		free(w->rejected_path);
		free(w);
		return -1;
	}
	*w_r = w;
	return 0;
}

void
writer_stop(struct writer **wp)
{
	struct writer *w = *wp;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
	spool_wake(w->spool);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cv);
	free(w->conninfo);
	free(w->rejected_path);
	free(w);
	*wp = NULL;
}

bool
writer_connected(struct writer *w)
{
	bool on;

	if (w == NULL)
		return false;
	pthread_mutex_lock(&w->lock);
	on = w->connected;
	pthread_mutex_unlock(&w->lock);
	return on;
}

bool
writer_wait_committed(struct writer *w, const struct spool_cursor *end,
    int timeout_ms)
{
	struct timespec ts;
	bool done;

	if (w == NULL)
		return false;
	deadline_in_ms(&ts, timeout_ms);
	pthread_mutex_lock(&w->lock);
	w->waiters++;
	pthread_mutex_unlock(&w->lock);
	/* A waiter's record need not wait out the spool's sync delay. */
	if (spool_sync_now(w->spool) < 0)
		log_warn("spool: fdatasync failed");
	spool_wake(w->spool);		/* end a linger */
	pthread_mutex_lock(&w->lock);
	while (!(done = spool_cursor_cmp(&w->committed, end) >= 0) && !w->stop
	    && pthread_cond_timedwait(&w->cv, &w->lock, &ts) != ETIMEDOUT)
		;
	w->waiters--;
	pthread_mutex_unlock(&w->lock);
	return done;
}
