/*
 * server - recalld's control socket: listen, accept, one request, one
 * answer.
 *
 * The socket is a unix stream socket with mode 0666: any local user may
 * connect; what they may do is decided from the peer credentials
 * (SO_PEERCRED uid -> user name -> authorize_request()).  A connection
 * carries one request frame and one answer frame (lib/proto); a client
 * that sends nothing within SERVER_READ_TIMEOUT_MS, a malformed or
 * oversized frame, or invalid JSON gets an error answer (when it can
 * still be written) and is closed.  Nothing a client sends can stop the
 * daemon.
 *
 * Blocking: server_serve() handles one connection to its end; recalld
 * runs it in a child process per connection (worker.h).
 */
#ifndef RECALL_SERVER_H
#define RECALL_SERVER_H

#include "recall.h"

#define SERVER_READ_TIMEOUT_MS 10000
#define SERVER_WRITE_TIMEOUT_MS 10000

/*
 * Create the listening socket at path (non-blocking, close-on-exec, mode
 * 0666).  A stale socket file is replaced; a live one (another recalld
 * answers) is an error.  Returns the fd, or -1 with *error_r (heap).
 */
int server_listen(const char *path, char **error_r);

/*
 * Make env->db usable (connect or reconnect).  Returns 0, or -1 with
 * *error_r (heap).
 */
typedef int server_db_ready_fn(struct recall_env *env, char **error_r);

/* A waiting connection (close-on-exec), or -1 when there is none. */
int server_accept(int listen_fd);

/* Serve the connection fd to its end: one request, one answer; closes fd. */
void server_serve(int fd, struct recall_env *env,
    server_db_ready_fn *db_ready);

/*
 * Answer one request payload from the named caller: the JSON text of the
 * answer (heap).  Split out so tests can drive it without a socket.
 */
char *server_answer(struct recall_env *env, server_db_ready_fn *db_ready,
    const char *user, const char *payload, size_t len);

#endif
