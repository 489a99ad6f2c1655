/*
 * worker - every control connection is served by a child process, so
 * that a long recall (10,000 copies take half a minute) holds back no
 * other request.
 *
 * The parent accepts a connection and fork()s; the child serves that one
 * connection (server_serve()) with a database session, store connections
 * and a route ledger of its own, and ends with _exit().  What must not
 * run twice at once is serialised by PostgreSQL, as between several
 * recalld hosts: a recall holds its message's advisory lock (a second
 * recall of the same message is answered "busy"), the audit chain has
 * its lock, and the log followers lock their position rows (a follower
 * that finds its position moved by another process goes on from there).
 *
 * At most WORKER_MAX children serve connections at once; while that many
 * run, the parent accepts nothing and new connections wait in the
 * socket's backlog.  The main process's own long work (recall requests by
 * mail, retries of pending copies) runs the same way, one child per kind
 * at a time (workers_task()), so that it never holds back accepting.  Children ignore SIGTERM, SIGINT and SIGHUP (they stay
 * blocked, as in the parent): a stop lets running requests finish.
 *
 * Memory: struct workers is the caller's and holds no heap.
 */
#ifndef RECALL_WORKER_H
#define RECALL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "server.h"

#define WORKER_MAX 4

/* Work of the main process's own that runs in a child, one at a time. */
enum worker_task {
	WORKER_TASK_MAIL,	/* recall requests by mail (mailreq.h) */
	WORKER_TASK_RETRY,	/* pending copies of earlier requests */
	WORKER_TASKS
};

struct workers {
	pid_t pid[WORKER_MAX];	/* connections */
	int n;
	pid_t task[WORKER_TASKS];	/* 0: not running */
};

typedef void worker_task_fn(struct recall_env *env);

void workers_init(struct workers *w);
bool workers_full(const struct workers *w);

/*
 * Accept one waiting connection, if any, and fork a child to serve it.
 * The child closes the n_close descriptors of close_fds (the listening
 * socket, the signalfd) first.  When fork() fails the connection is
 * served here, in the parent.
 */
void workers_spawn(struct workers *w, int listen_fd, const int *close_fds,
    size_t n_close, struct recall_env *env, server_db_ready_fn *db_ready);

/* Whether task t's child is still running. */
bool workers_task_running(const struct workers *w, enum worker_task t);

/*
 * Run fn(env) in a child prepared as for a connection, after db_ready()
 * (fn is not called when the database is unreachable), unless task t's
 * previous child still runs.  Returns whether a child was started.
 */
bool workers_task(struct workers *w, enum worker_task t,
    const int *close_fds, size_t n_close, struct recall_env *env,
    server_db_ready_fn *db_ready, worker_task_fn *fn);

/* Collect the children that ended (no wait); log any that failed. */
void workers_reap(struct workers *w);

/* Wait until every child has ended. */
void workers_wait_all(struct workers *w);

#endif
