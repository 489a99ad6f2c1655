/*
 * spool - durable, group-committed record spool.  See spool.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "spool.h"
#include "xalloc.h"

#define SPOOL_PREFIX "spool."

struct spool {
	char *dir;
	int dirfd;
	pthread_mutex_t lock;
	pthread_cond_t synced_cv;	/* a sync finished */
	pthread_cond_t data_cv;		/* new durable data, or wake-up */
	uint64_t seg;			/* current segment */
	int fd;				/* its append descriptor */
	off_t seg_size;			/* bytes written to it */
	off_t seg_synced;		/* of which durable */
	uint64_t written, synced;	/* bytes over all segments */
	bool syncing;			/* a thread is in fdatasync() */
	/*
	 * Delayed sync (sync_delay_ms > 0): appends return once written and
	 * the syncer thread makes them durable within sync_delay_ms.
	 */
	long sync_delay_ms;
	pthread_t syncer;
	bool have_syncer;
	bool sync_due;			/* the syncer was told of new bytes */
	bool stopping;			/* spool_close(): the syncer ends */
	pthread_cond_t sync_cv;		/* to the syncer: new bytes, or stop */
	uint64_t wake_gen;		/* spool_wake() calls */
	/*
	 * Readers waiting in spool_wait() or spool_wait_more(), and the
	 * smallest offset in the current segment one of them waits for: a
	 * sync that leaves seg_synced below it wakes nobody, so a reader
	 * letting a batch gather is not woken once per group commit.
	 */
	int data_waiters;
	off_t data_wait_off;
	uint64_t n_appends, n_syncs;
};

static char *
spool_path(const struct spool *sp, uint64_t seg)
{
	return xasprintf("%s/" SPOOL_PREFIX "%010" PRIu64, sp->dir, seg);
}

/* Parse "spool.NNNNNNNNNN"; returns 0 and the number, or -1. */
static int
spool_parse_name(const char *name, uint64_t *seg_r)
{
	const char *p;
	uint64_t v = 0;

	if (strncmp(name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0)
		return -1;
	p = name + strlen(SPOOL_PREFIX);
	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > UINT64_MAX / 10 - 1)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*seg_r = v;
	return 0;
}

/*
 * The smallest segment number > after (after = UINT64_MAX: the smallest of
 * all), or UINT64_MAX when there is none.
 */
static uint64_t
spool_next_segment(const struct spool *sp, uint64_t after, uint64_t *max_r)
{
	uint64_t best = UINT64_MAX, max = 0, v;
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY)) < 0
	    || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		log_warn("spool: cannot list %s", sp->dir);
		return UINT64_MAX;
	}
	while ((de = readdir(d)) != NULL) {
		if (spool_parse_name(de->d_name, &v) < 0)
			continue;
		if (v > max)
			max = v;
		if ((after == UINT64_MAX || v > after) && v < best)
			best = v;
	}
	closedir(d);
	if (max_r != NULL)
		*max_r = max;
	return best;
}

/* Create segment seg and make its directory entry durable. */
static int
spool_create_segment(struct spool *sp, uint64_t seg)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), SPOOL_PREFIX "%010" PRIu64, seg);
	fd = openat(sp->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL
	    | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fsync(sp->dirfd) < 0) {
		close(fd);
		return -1;
	}
	sp->fd = fd;
	sp->seg = seg;
	sp->seg_size = 0;
	sp->seg_synced = 0;
	return 0;
}

static void *spool_syncer(void *);
static int spool_sync_locked(struct spool *, uint64_t);

int
spool_open(const char *dir, long sync_delay_ms, struct spool **spool_r,
    struct spool_cursor *first_r, char **error_r)
{
	struct spool *sp;
	uint64_t first, max = 0;

	*spool_r = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("spool: cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->dir = xstrdup(dir);
	sp->fd = -1;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		*error_r = xasprintf("spool: cannot open %s: %s", dir,
		    strerror(errno));
		free(sp->dir);
		free(sp);
		return -1;
	}
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->synced_cv, NULL);
	pthread_cond_init(&sp->data_cv, NULL);
	pthread_cond_init(&sp->sync_cv, NULL);
	sp->sync_delay_ms = sync_delay_ms > 0 ? sync_delay_ms : 0;
	first = spool_next_segment(sp, UINT64_MAX, &max);
	if (spool_create_segment(sp, max + 1) < 0) {
		*error_r = xasprintf("spool: cannot create a segment in %s: %s",
		    dir, strerror(errno));
		spool_close(&sp);
		return -1;
	}
	if (first_r != NULL) {
		first_r->seg = first != UINT64_MAX ? first : sp->seg;
		first_r->off = 0;
	}
	if (first != UINT64_MAX)
		log_info("spool: %s: replaying segments %" PRIu64 " to %"
		    PRIu64, dir, first, max);
	*spool_r = sp;
	return 0;
}

int
spool_sync_now(struct spool *sp)
{
	int r, saved;

	pthread_mutex_lock(&sp->lock);
	r = spool_sync_locked(sp, sp->written);
	saved = errno;
	pthread_mutex_unlock(&sp->lock);
	errno = saved;
	return r;
}

int
spool_start_syncer(struct spool *sp, char **error_r)
{
	int rc;

	if (sp->sync_delay_ms == 0 || sp->have_syncer)
		return 0;
	if ((rc = pthread_create(&sp->syncer, NULL, spool_syncer, sp)) != 0) {
		*error_r = xasprintf("spool: cannot start the sync thread: %s",
		    strerror(rc));
		return -1;
	}
	pthread_mutex_lock(&sp->lock);
	sp->have_syncer = true;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

void
spool_close(struct spool **spp)
{
	struct spool *sp = *spp;

	if (sp == NULL)
		return;
	if (sp->have_syncer) {
		pthread_mutex_lock(&sp->lock);
		sp->stopping = true;
		pthread_cond_signal(&sp->sync_cv);
		pthread_mutex_unlock(&sp->lock);
		pthread_join(sp->syncer, NULL);
	}
	if (sp->fd >= 0) {
		(void)fdatasync(sp->fd);
		close(sp->fd);
	}
	close(sp->dirfd);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->synced_cv);
	pthread_cond_destroy(&sp->data_cv);
	pthread_cond_destroy(&sp->sync_cv);
	free(sp->dir);
	free(sp);
	*spp = NULL;
}

int
spool_chown(struct spool *sp, uid_t uid, gid_t gid, char **error_r)
{
	uint64_t seg = UINT64_MAX;
	char *path;

	if (fchown(sp->dirfd, uid, gid) < 0) {
		*error_r = xasprintf("spool: chown %s: %s", sp->dir,
		    strerror(errno));
		return -1;
	}
	while ((seg = spool_next_segment(sp, seg, NULL)) != UINT64_MAX) {
		path = spool_path(sp, seg);
		if (chown(path, uid, gid) < 0) {
			*error_r = xasprintf("spool: chown %s: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

/* Close the current segment (synced) and start the next.  Locked. */
static int
spool_rotate_locked(struct spool *sp)
{
	int old = sp->fd;

	while (sp->syncing)
		pthread_cond_wait(&sp->synced_cv, &sp->lock);
	if (sp->synced < sp->written && fdatasync(old) < 0)
		return -1;
	if (spool_create_segment(sp, sp->seg + 1) < 0) {
		sp->fd = old;
		return -1;
	}
	close(old);
	sp->synced = sp->written;
	pthread_cond_broadcast(&sp->synced_cv);
	pthread_cond_broadcast(&sp->data_cv);
	return 0;
}

/* Write all of buf, or undo a partial write and fail. */
static int
spool_write_all(struct spool *sp, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int saved;

	while (done < len) {
		n = write(sp->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			saved = n < 0 ? errno : ENOSPC;
			if (done > 0 && ftruncate(sp->fd, sp->seg_size) < 0)
				log_warn("spool: cannot undo a partial write");
			errno = saved;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * Make every byte up to mine durable: the group commit.  The first thread
 * to get here syncs for everyone written so far while later ones wait for
 * it.  Locked (unlocked during fdatasync()).  Returns 0, or -1 with errno.
 */
static int
spool_sync_locked(struct spool *sp, uint64_t mine)
{
	uint64_t target;
	off_t seg_target;
	int fd, r, saved;

	while (sp->synced < mine) {
		if (sp->syncing) {
			pthread_cond_wait(&sp->synced_cv, &sp->lock);
			continue;
		}
		sp->syncing = true;
		target = sp->written;
		seg_target = sp->seg_size;
		fd = sp->fd;
		pthread_mutex_unlock(&sp->lock);
		r = fdatasync(fd);
		saved = errno;
		pthread_mutex_lock(&sp->lock);
		sp->syncing = false;
		sp->n_syncs++;
		if (r == 0 && target > sp->synced) {
			sp->synced = target;
			if (fd == sp->fd)
				sp->seg_synced = seg_target;
			if (sp->data_waiters > 0
			    && sp->seg_synced >= sp->data_wait_off)
				pthread_cond_broadcast(&sp->data_cv);
		}
		pthread_cond_broadcast(&sp->synced_cv);
		if (r < 0) {
			errno = saved;
			return -1;
		}
	}
	return 0;
}

/*
 * The syncer (sync_delay_ms > 0): when told of new bytes, it lets more
 * gather for sync_delay_ms and syncs them all at once.  On this kind of
 * load one fdatasync() per message costs more than the rest of the
 * milter's work (docs/performance.md).  At spool_close() it syncs what is
 * left and ends.
 */
static void *
spool_syncer(void *arg)
{
	struct spool *sp = arg;
	struct timespec ts;
	bool warned = false;

	pthread_mutex_lock(&sp->lock);
	while (!sp->stopping) {
		if (!sp->sync_due) {
			pthread_cond_wait(&sp->sync_cv, &sp->lock);
			continue;
		}
		deadline_in_ms(&ts, sp->sync_delay_ms);
		while (!sp->stopping && pthread_cond_timedwait(&sp->sync_cv,
		    &sp->lock, &ts) != ETIMEDOUT)
			;
		/* Bytes written from now on need another round. */
		sp->sync_due = false;
		if (spool_sync_locked(sp, sp->written) < 0) {
			if (!warned)
				log_warn("spool: fdatasync failed; records "
				    "wait in the spool until it works");
			warned = true;
			sp->sync_due = true;
		} else
			warned = false;
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

int
spool_append(struct spool *sp, const char *line, size_t len,
    struct spool_cursor *end_r)
{
	uint64_t mine;
	char *buf;
	int r, saved;

	buf = xmalloc(len + 1);
	memcpy(buf, line, len);
	buf[len] = '\n';
	pthread_mutex_lock(&sp->lock);
	if (sp->seg_size >= SPOOL_SEGMENT_MAX && spool_rotate_locked(sp) < 0)
		log_warn("spool: cannot start a new segment, appending to %"
		    PRIu64, sp->seg);
	if (spool_write_all(sp, buf, len + 1) < 0) {
		saved = errno;
		pthread_mutex_unlock(&sp->lock);
		free(buf);
		errno = saved;
		return -1;
	}
	free(buf);
	sp->seg_size += (off_t)len + 1;
	sp->written += len + 1;
	sp->n_appends++;
	mine = sp->written;
	if (end_r != NULL) {
		end_r->seg = sp->seg;
		end_r->off = sp->seg_size;
	}
	if (sp->have_syncer) {
		/* The syncer makes it durable; tell it once per batch. */
		if (!sp->sync_due) {
			sp->sync_due = true;
			pthread_cond_signal(&sp->sync_cv);
		}
		pthread_mutex_unlock(&sp->lock);
		return 0;
	}
	r = spool_sync_locked(sp, mine);
	saved = errno;
	pthread_mutex_unlock(&sp->lock);
	errno = saved;
	return r;
}

int
spool_read(struct spool *sp, struct spool_cursor *cur, size_t max_bytes,
    char **buf_r, size_t *len_r, off_t *end_r)
{
	uint64_t cseg, next;
	off_t csynced, limit, want;
	struct stat st;
	char *path, *buf, *nl;
	ssize_t n;
	int fd;

	*buf_r = NULL;
	*len_r = 0;
	for (;;) {
		pthread_mutex_lock(&sp->lock);
		cseg = sp->seg;
		csynced = sp->seg_synced;
		pthread_mutex_unlock(&sp->lock);
		if (cur->seg > cseg) {
			cur->seg = cseg;
			cur->off = 0;
		}
		/* Caught up: the usual case for an idle writer. */
		if (cur->seg == cseg && cur->off >= csynced)
			return 0;
		path = spool_path(sp, cur->seg);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			log_warn("spool: cannot open %s", path);
			free(path);
			return -1;
		}
		limit = 0;
		if (cur->seg == cseg)
			limit = csynced;
		else if (fd >= 0 && fstat(fd, &st) == 0)
			limit = st.st_size;
		if (fd < 0 || cur->off >= limit) {
			if (fd >= 0)
				close(fd);
			free(path);
			if (cur->seg == cseg)
				return 0;
			/* A finished segment: go on with the next one. */
			next = spool_next_segment(sp, cur->seg, NULL);
			cur->seg = next != UINT64_MAX && next <= cseg ? next
			    : cseg;
			cur->off = 0;
			continue;
		}
		want = limit - cur->off;
		if ((size_t)want > max_bytes)
			want = (off_t)max_bytes;
		for (;;) {
			buf = xmalloc((size_t)want + 1);
			n = pread(fd, buf, (size_t)want, cur->off);
			if (n < 0) {
				log_warn("spool: cannot read %s", path);
				free(buf);
				close(fd);
				free(path);
				return -1;
			}
			buf[n] = '\0';
			nl = memrchr(buf, '\n', (size_t)n);
			if (nl != NULL || cur->off + n >= limit)
				break;
			/* One line longer than max_bytes: read it whole. */
			free(buf);
			want = limit - cur->off;
		}
		close(fd);
		if (nl == NULL) {
			/* No newline up to the end of a finished segment. */
			log_warnx("spool: %s: skipping a torn last record of %zd "
			    "bytes at offset %jd (crash while writing?)", path,
			    n, (intmax_t)cur->off);
			free(buf);
			free(path);
			cur->off = limit;
			continue;
		}
		free(path);
		*buf_r = buf;
		*len_r = (size_t)(nl - buf) + 1;
		*end_r = cur->off + (off_t)*len_r;
		return 1;
	}
}

int
spool_remove_before(struct spool *sp, const struct spool_cursor *cur)
{
	uint64_t seg = UINT64_MAX;
	char *path;
	int failed = 0;

	while ((seg = spool_next_segment(sp, seg, NULL)) != UINT64_MAX
	    && seg < cur->seg) {
		pthread_mutex_lock(&sp->lock);
		if (seg == sp->seg) {
			pthread_mutex_unlock(&sp->lock);
			break;
		}
		pthread_mutex_unlock(&sp->lock);
		path = spool_path(sp, seg);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_warn("spool: cannot remove %s", path);
			failed++;
		} else {
			log_debug("spool: removed %s", path);
		}
		free(path);
	}
	return failed;
}

void
spool_rotate_idle(struct spool *sp, const struct spool_cursor *cur)
{
	pthread_mutex_lock(&sp->lock);
	if (cur->seg == sp->seg && cur->off == sp->seg_size
	    && sp->seg_size >= SPOOL_IDLE_ROTATE && sp->synced == sp->written
	    && spool_rotate_locked(sp) < 0)
		log_warn("spool: cannot start a new segment");
	pthread_mutex_unlock(&sp->lock);
}

/* Register a reader that waits for seg_synced >= off.  Locked. */
static void
spool_wait_begin(struct spool *sp, off_t off)
{
	if (sp->data_waiters++ == 0 || off < sp->data_wait_off)
		sp->data_wait_off = off;
}

/* Locked.  A remaining waiter may be woken early; it checks again. */
static void
spool_wait_end(struct spool *sp)
{
	sp->data_waiters--;
}

void
spool_wait(struct spool *sp, const struct spool_cursor *cur, int timeout_ms)
{
	struct timespec ts;

	deadline_in_ms(&ts, timeout_ms);
	pthread_mutex_lock(&sp->lock);
	if (cur->seg == sp->seg && cur->off >= sp->seg_synced) {
		spool_wait_begin(sp, cur->off + 1);
		pthread_cond_timedwait(&sp->data_cv, &sp->lock, &ts);
		spool_wait_end(sp);
	}
	pthread_mutex_unlock(&sp->lock);
}

/* Durable bytes after cur, SPOOL_PENDING_MANY past a finished segment. */
static uint64_t
spool_pending_locked(const struct spool *sp, const struct spool_cursor *cur)
{
	if (cur->seg < sp->seg)
		return SPOOL_PENDING_MANY;
	if (cur->seg > sp->seg || cur->off >= sp->seg_synced)
		return 0;
	return (uint64_t)(sp->seg_synced - cur->off);
}

uint64_t
spool_pending(struct spool *sp, const struct spool_cursor *cur,
    uint64_t *gen_r)
{
	uint64_t n;

	pthread_mutex_lock(&sp->lock);
	n = spool_pending_locked(sp, cur);
	if (gen_r != NULL)
		*gen_r = sp->wake_gen;
	pthread_mutex_unlock(&sp->lock);
	return n;
}

void
spool_wait_more(struct spool *sp, const struct spool_cursor *cur,
    uint64_t want, uint64_t gen, const struct timespec *deadline)
{
	pthread_mutex_lock(&sp->lock);
	while (spool_pending_locked(sp, cur) < want && sp->wake_gen == gen) {
		/* pending < want: cur is in the current segment. */
		spool_wait_begin(sp, cur->off + (off_t)want);
		if (pthread_cond_timedwait(&sp->data_cv, &sp->lock, deadline)
		    == ETIMEDOUT) {
			spool_wait_end(sp);
			break;
		}
		spool_wait_end(sp);
	}
	pthread_mutex_unlock(&sp->lock);
}

void
spool_wake(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	sp->wake_gen++;
	pthread_cond_broadcast(&sp->data_cv);
	pthread_mutex_unlock(&sp->lock);
}

void
spool_stats(struct spool *sp, uint64_t *appends_r, uint64_t *syncs_r)
{
	pthread_mutex_lock(&sp->lock);
	*appends_r = sp->n_appends;
	*syncs_r = sp->n_syncs;
	pthread_mutex_unlock(&sp->lock);
}
