/*
 * worker - a child process per control connection.  See worker.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "ledger.h"
#include "log.h"
#include "store.h"
#include "worker.h"

void
workers_init(struct workers *w)
{
	memset(w, 0, sizeof(*w));
}

bool
workers_full(const struct workers *w)
{
	return w->n >= WORKER_MAX;
}

/*
 * In the child: nothing of the parent's that talks to a server is used.
 * The database session and the store's connections are let go of (the
 * parent's go on), and the ledger is dropped: db_ready() connects and
 * starts a new one, whose followers resume at the saved positions.
 */
static void
child_prepare(const int *close_fds, size_t n_close, struct recall_env *env)
{
	size_t i;

	for (i = 0; i < n_close; i++)
		(void)close(close_fds[i]);
	db_forget(&env->db);
	ledger_free(&env->ledger);
	if (store_after_fork(env->store) < 0) {
		log_warnx("request process: out of memory");
		_exit(1);
	}
}

void
workers_spawn(struct workers *w, int listen_fd, const int *close_fds,
    size_t n_close, struct recall_env *env, server_db_ready_fn *db_ready)
{
	pid_t pid;
	int fd;

	if ((fd = server_accept(listen_fd)) < 0)
		return;
	if (workers_full(w)) {
		/* The caller polls only when there is room; be safe anyway. */
		server_serve(fd, env, db_ready);
		return;
	}
	pid = fork();
	if (pid == 0) {
		child_prepare(close_fds, n_close, env);
		server_serve(fd, env, db_ready);
		/* No exit handlers: they are the parent's (and its
		 * sanitizers'). */
		_exit(0);
	}
	if (pid < 0) {
		log_warn("fork; serving the request in the main process");
		server_serve(fd, env, db_ready);
		return;
	}
	(void)close(fd);
	w->pid[w->n++] = pid;
}

bool
workers_task_running(const struct workers *w, enum worker_task t)
{
	return w->task[t] != 0;
}

bool
workers_task(struct workers *w, enum worker_task t, const int *close_fds,
    size_t n_close, struct recall_env *env, server_db_ready_fn *db_ready,
    worker_task_fn *fn)
{
	char *err = NULL;
	pid_t pid;

	if (workers_task_running(w, t))
		return false;
	pid = fork();
	if (pid == 0) {
		child_prepare(close_fds, n_close, env);
		if (db_ready(env, &err) < 0) {
			log_warnx("request process: %s", err);
			_exit(1);
		}
		fn(env);
		_exit(0);
	}
	if (pid < 0) {
		log_warn("fork");
		return false;
	}
	w->task[t] = pid;
	return true;
}

/* Log how child pid ended, when it failed. */
static void
log_end(pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("request process %ld killed by signal %d",
		    (long)pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("request process %ld exited with status %d",
		    (long)pid, WEXITSTATUS(status));
}

/* Child i ended with status: log a failure, forget it. */
static void
ended(struct workers *w, int i, int status)
{
	pid_t pid = w->pid[i];

	w->pid[i] = w->pid[--w->n];
	log_end(pid, status);
}

/* Reap task children; wait for them with block. */
static void
reap_tasks(struct workers *w, bool block)
{
	pid_t pid;
	int t, status;

	for (t = 0; t < WORKER_TASKS; t++) {
		if (w->task[t] == 0)
			continue;
		do
			pid = waitpid(w->task[t], &status, block ? 0 : WNOHANG);
		while (pid < 0 && errno == EINTR);
		if (pid == w->task[t])
			log_end(pid, status);
		if (pid == w->task[t] || pid < 0)
			w->task[t] = 0;
	}
}

/*
 * Our own children only, by pid: the main process also runs programs
 * of its own (mailer.c waits for those itself).
 */
void
workers_reap(struct workers *w)
{
	pid_t pid;
	int i = 0, status;

	reap_tasks(w, false);
	while (i < w->n) {
		pid = waitpid(w->pid[i], &status, WNOHANG);
		if (pid == w->pid[i])
			ended(w, i, status);	/* slot i now holds another */
		else if (pid < 0 && errno == ECHILD)
			w->pid[i] = w->pid[--w->n];	/* not ours any more */
		else
			i++;
	}
}

void
workers_wait_all(struct workers *w)
{
	pid_t pid;
	int t, n = w->n, status;

	for (t = 0; t < WORKER_TASKS; t++)
		n += w->task[t] != 0;
	if (n > 0)
		log_info("waiting for %d running request%s to finish", n,
		    n == 1 ? "" : "s");
	reap_tasks(w, true);
	while (w->n > 0) {
		pid = waitpid(w->pid[0], &status, 0);
		if (pid == w->pid[0])
			ended(w, 0, status);
		else if (pid < 0 && errno != EINTR)
			w->pid[0] = w->pid[--w->n];
	}
}
