/*
 * db - the one libpq binding.
 *
 * Every statement is sent with PQexecParams and $n placeholders; text in and
 * text out.  A struct db owns one connection and is used by one thread at a
 * time.  Results are owned by the caller and freed with db_result_free().
 * Errors come back as -1 / NULL with *error_r (heap, caller frees) holding
 * PostgreSQL's message on one line.
 */
#ifndef RECALL_DB_H
#define RECALL_DB_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct db_result;
struct sbuf;

/*
 * SQL text for a timestamptz column as RFC 3339 in UTC, whole seconds
 * ("2026-11-27T18:54:24Z"); col is SQL we write, never input.
 */
#define DB_SQL_RFC3339(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * Connect (blocking, with a connect_timeout of 5 s unless conninfo sets
 * one) as PostgreSQL role `role` (recall_milter, recalld; NULL: libpq's
 * default) unless conninfo names a user= or PGUSER is set: so one shared
 * conninfo serves every program, each with its own least-privilege role.
 */
int db_open_as(const char *conninfo, const char *role, struct db **db_r,
    char **error_r);
void db_close(struct db **db);
/*
 * In a child after fork(): let go of the parent's session without ending
 * it (PQfinish() would send the server a Terminate on the shared socket).
 * Closes this process's copy of the socket and sets *db to NULL; the
 * connection's memory is left allocated on purpose (the child ends with
 * _exit()).
 */
void db_forget(struct db **db);
/* Is the connection usable?  Tries one reset when it is not. */
bool db_alive(struct db *db);

/* A statement without a result set; *affected_r (may be NULL) gets the count. */
int db_exec(struct db *db, const char *sql, int nparams,
    const char *const *params, long *affected_r, char **error_r);
/* A statement with a result set; NULL on error. */
struct db_result *db_query(struct db *db, const char *sql, int nparams,
    const char *const *params, char **error_r);

int db_rows(const struct db_result *r);
int db_cols(const struct db_result *r);
/* The value, or NULL for SQL NULL.  Valid until db_result_free(). */
const char *db_value(const struct db_result *r, int row, int col);
/* The value, or "" for SQL NULL. */
const char *db_str(const struct db_result *r, int row, int col);
void db_result_free(struct db_result **r);

/*
 * len bytes as bytea hex input text ("\x4142"), to pass as a $n::bytea
 * parameter.  Returns a heap string the caller frees.
 */
char *db_bytea_encode(const void *data, size_t len);
/*
 * A bytea value as PostgreSQL's hex output text ("\x4142") into bytes.
 * Returns a heap buffer the caller frees, NUL-terminated after *len_r bytes
 * (the bytes may hold NULs themselves), or NULL when s is not in that
 * format (then *len_r is 0).
 */
char *db_bytea_decode(const char *s, size_t *len_r);

/*
 * A PostgreSQL array literal, built element by element and sent as a $n
 * parameter ("$1::text[]"): db_array_add() appends s as element i ("{"
 * before the first, "," before the others; "..." with backslash and
 * double quote escaped; NULL for s is SQL NULL), db_array_end() closes
 * it after n > 0 elements.
 */
void db_array_add(struct sbuf *sb, size_t i, const char *s);
void db_array_end(struct sbuf *sb);

int db_begin(struct db *db, char **error_r);
int db_commit(struct db *db, char **error_r);
void db_rollback(struct db *db);

/*
 * Deferred statements, so that the caller works while PostgreSQL does
 * (libpq pipeline mode).  After db_defer_begin(), db_exec() (and so
 * db_begin(), db_commit()) only queue their statement and return 0 (with
 * *affected_r -1); db_defer_send() sends the queue with a sync point and
 * returns without waiting.  db_defer_wait() reads the results back: 0, or
 * -1 with the first error (the statements after it were skipped, and an
 * open transaction is left aborted: roll it back).  Any other call on db
 * waits first, and fails with the deferred error if there was one;
 * db_rollback() waits and rolls back whatever happened.  db_query() must
 * not be called between db_defer_begin() and db_defer_send().
 */
int db_defer_begin(struct db *db, char **error_r);
int db_defer_send(struct db *db, char **error_r);
int db_defer_wait(struct db *db, char **error_r);

/* The socket, for poll() in event loops (LISTEN/NOTIFY). */
int db_socket(struct db *db);
/* LISTEN channel (an identifier we choose, never from input). */
int db_listen(struct db *db, const char *channel, char **error_r);
/* Consume input; returns the number of notifications seen, or -1. */
int db_drain_notifies(struct db *db);

#endif
