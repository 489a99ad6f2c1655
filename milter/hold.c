/*
 * hold - held mail on the MTA host.  See hold.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "hold.h"
#include "log.h"
#include "xalloc.h"

#define HOLD_POSTSUPER	"/usr/sbin/postsuper"
#define HOLD_POSTQUEUE	"/usr/sbin/postqueue"
#define HOLD_CHANNEL	"recall_held_action"
#define HOLD_DB_RETRY	10	/* seconds between connection attempts */
#define HOLD_POLL_EVERY	5	/* seconds between held_action polls */
#define HOLD_QID_MAX	32

struct hold {
	char *dir;		/* spool_dir/held */
	char *config_dir;	/* Postfix's, for -c */
	char *conninfo;
	char *host;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;
	struct db *db;
	time_t db_next_try;
	time_t next_poll;
};

bool
hold_qid_valid(const char *qid)
{
	size_t i;

	if (qid == NULL || qid[0] == '\0')
		return false;
	for (i = 0; qid[i] != '\0'; i++)
		if (i >= HOLD_QID_MAX || !isalnum((unsigned char)qid[i]))
			return false;
	return true;
}

int
hold_open(const char *spool_dir, const char *config_dir, const char *conninfo,
    const char *host, struct hold **h_r, char **error_r)
{
	struct hold *h;
	char *dir = xasprintf("%s/held", spool_dir);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	h = xcalloc(1, sizeof(*h));
	h->dir = dir;
	h->config_dir = xstrdup(config_dir);
	h->conninfo = xstrdup(conninfo);
	h->host = xstrdup(host);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cv, NULL);
	*h_r = h;
	return 0;
}

int
hold_chown(struct hold *h, uid_t uid, gid_t gid, char **error_r)
{
	if (chown(h->dir, uid, gid) < 0) {
		*error_r = xasprintf("chown %s: %s", h->dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
hold_add(struct hold *h, const char *qid, time_t until)
{
	char *tmp, *path, line[32];
	int fd, n, dfd, e;

	if (h == NULL || !hold_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	tmp = xasprintf("%s/.%s.tmp", h->dir, qid);
	path = xasprintf("%s/%s", h->dir, qid);
	n = snprintf(line, sizeof(line), "%lld\n", (long long)until);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fdatasync(fd) < 0
	    || close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		if (fd >= 0)
			(void)close(fd);
		(void)unlink(tmp);
		free(tmp);
		free(path);
		errno = e;
		return -1;
	}
	/* The rename must be durable too. */
	if ((dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(path);
	return 0;
}

void
hold_forget(struct hold *h, const char *qid)
{
	char *path;

	if (h == NULL || !hold_qid_valid(qid))
		return;
	path = xasprintf("%s/%s", h->dir, qid);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("%s: cannot remove %s", qid, path);
	free(path);
}

int
hold_run(char *const argv[], char *out, size_t out_size)
{
	int pfd[2], status, nullfd;
	size_t len = 0;
	ssize_t r;
	pid_t pid;
	char sink[256];

	if (out_size > 0)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		nullfd = open("/dev/null", O_RDONLY);
		if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(pfd[1], 1) < 0
		    || dup2(pfd[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (out_size > 0 && len < out_size - 1)
			r = read(pfd[0], out + len, out_size - 1 - len);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out_size > 0 && len < out_size - 1)
			len += (size_t)r;
	}
	if (out_size > 0)
		out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The first line of out, for a log line. */
static const char *
hold_first_line(char *out)
{
	char *nl = strchr(out, '\n');

	if (nl != NULL)
		*nl = '\0';
	return out;
}

static void
hold_db_mark(struct hold *h, const char *qid, const char *state)
{
	const char *p[3] = { qid, h->host, state };
	char *err = NULL;

	if (h->db == NULL)
		return;
	if (db_exec(h->db, "UPDATE held_message SET state = $3, "
	    "changed_at = now() WHERE queue_id = $1 AND milter_host = $2 "
	    "AND state = 'held'", 3, p, NULL, &err) < 0) {
		log_warnx("%s: held_message not updated: %s", qid, err);
		free(err);
	}
}

/* Release qid: hold -> deferred -> deliver now.  0 or -1 (logged). */
static int
hold_release(struct hold *h, const char *qid, time_t until)
{
	char out[512];
	char *sup[] = { HOLD_POSTSUPER, "-c", h->config_dir, "-H",
	    (char *)qid, NULL };
	char *que[] = { HOLD_POSTQUEUE, "-c", h->config_dir, "-i",
	    (char *)qid, NULL };
	int rc;

	rc = hold_run(sup, out, sizeof(out));
	if (rc != 0) {
		log_warnx("%s: postsuper -H failed (exit %d): %s; will retry",
		    qid, rc, hold_first_line(out));
		return -1;
	}
	rc = hold_run(que, out, sizeof(out));
	if (rc != 0)
		log_warnx("%s: postqueue -i failed (exit %d): %s; the queue "
		    "manager delivers it at its next run", qid, rc,
		    hold_first_line(out));
	log_info("%s: released from hold (hold_external, %lld s late)", qid,
	    (long long)(time(NULL) - until));
	hold_forget(h, qid);
	hold_db_mark(h, qid, "released");
	return 0;
}

/* The release time in h->dir/qid; -1 when the file is gone or bad. */
static long long
hold_until(struct hold *h, const char *qid)
{
	char *path = xasprintf("%s/%s", h->dir, qid), buf[32];
	long long v = -1;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lld", &v) != 1)
		return 0;	/* unreadable: release now */
	return v;
}

/* Release what is due; returns how many messages stay held. */
static size_t
hold_release_due(struct hold *h)
{
	struct dirent *de;
	long long until;
	size_t held = 0;
	DIR *d;
	time_t now = time(NULL);

	if ((d = opendir(h->dir)) == NULL) {
		log_warn("cannot read %s", h->dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!hold_qid_valid(de->d_name))
			continue;
		until = hold_until(h, de->d_name);
		if (until < 0)
			continue;
		if (until > (long long)now
		    || hold_release(h, de->d_name, (time_t)until) < 0)
			held++;
	}
	closedir(d);
	return held;
}

/* Carry out one held_action row. */
static void
hold_delete(struct hold *h, const char *id, const char *qid)
{
	char out[512], *err = NULL;
	char *sup[] = { HOLD_POSTSUPER, "-c", h->config_dir, "-d",
	    (char *)qid, "hold", NULL };
	const char *result, *p[3];
	int rc;

	if (!hold_qid_valid(qid) || hold_until(h, qid) < 0) {
		result = "not-held";
	} else {
		rc = hold_run(sup, out, sizeof(out));
		if (rc == 0 && strstr(out, "Deleted: 1 message") != NULL) {
			result = "deleted";
			hold_forget(h, qid);
			hold_db_mark(h, qid, "deleted");
			log_info("%s: deleted from the hold queue (recall)",
			    qid);
		} else if (rc == 0) {
			result = "not-held";
			hold_forget(h, qid);
		} else {
			log_warnx("%s: postsuper -d failed (exit %d): %s; will "
			    "retry", qid, rc, hold_first_line(out));
			return;
		}
	}
	p[0] = id;
	p[1] = result;
	p[2] = h->host;
	if (db_exec(h->db, "UPDATE held_action SET result = $2, "
	    "done_at = now() WHERE id = $1 AND milter_host = $3", 3, p, NULL,
	    &err) < 0) {
		log_warnx("%s: held_action %s not confirmed: %s", qid, id, err);
		free(err);
	}
}

static void
hold_actions(struct hold *h)
{
	const char *p[1] = { h->host };
	struct db_result *r;
	char *err = NULL;
	int i;

	r = db_query(h->db, "SELECT id, queue_id FROM held_action WHERE "
	    "milter_host = $1 AND done_at IS NULL ORDER BY id LIMIT 100", 1, p,
	    &err);
	if (r == NULL) {
		log_warnx("held_action: %s", err);
		free(err);
		if (!db_alive(h->db))
			db_close(&h->db);
		return;
	}
	for (i = 0; i < db_rows(r) && h->db != NULL; i++)
		hold_delete(h, db_str(r, i, 0), db_str(r, i, 1));
	db_result_free(&r);
}

static void
hold_connect(struct hold *h)
{
	char *err = NULL;

	if (h->db != NULL || time(NULL) < h->db_next_try)
		return;
	h->db_next_try = time(NULL) + HOLD_DB_RETRY;
	if (db_open_as(h->conninfo, "recall_milter", &h->db, &err) < 0
	    || db_listen(h->db, HOLD_CHANNEL, &err) < 0) {
		log_debug("hold: %s", err);
		free(err);
		db_close(&h->db);
		return;
	}
	h->next_poll = 0;
}

static bool
hold_stopping(struct hold *h)
{
	bool stop;

	pthread_mutex_lock(&h->lock);
	stop = h->stop;
	pthread_mutex_unlock(&h->lock);
	return stop;
}

static void *
hold_main(void *arg)
{
	struct hold *h = arg;
	struct pollfd pfd;
	int n;

	while (!hold_stopping(h)) {
		/* A database connection only while something is held. */
		if (hold_release_due(h) > 0)
			hold_connect(h);
		n = 0;
		if (h->db != NULL) {
			pfd.fd = db_socket(h->db);
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 1000) > 0
			    && (n = db_drain_notifies(h->db)) < 0) {
				db_close(&h->db);
				continue;
			}
			if (n > 0 || time(NULL) >= h->next_poll) {
				h->next_poll = time(NULL) + HOLD_POLL_EVERY;
				hold_actions(h);
			}
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_mutex_lock(&h->lock);
			if (!h->stop)
				pthread_cond_timedwait(&h->cv, &h->lock, &ts);
			pthread_mutex_unlock(&h->lock);
		}
	}
	db_close(&h->db);
	return NULL;
}

int
hold_start(struct hold *h, char **error_r)
{
	int e;

	if ((e = pthread_create(&h->thread, NULL, hold_main, h)) != 0) {
		*error_r = xasprintf("hold: cannot start: %s", strerror(e));
		return -1;
	}
	h->running = true;
	return 0;
}

void
hold_stop(struct hold **hp)
{
	struct hold *h = *hp;

	if (h == NULL)
		return;
	if (h->running) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
	}
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cv);
	free(h->dir);
	free(h->config_dir);
	free(h->conninfo);
	free(h->host);
	free(h);
	*hp = NULL;
}
