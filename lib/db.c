/*
 * db - the libpq binding.  See db.h.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "db.h"
#include "sbuf.h"
#include "xalloc.h"

struct db {
	PGconn *conn;
	/*
	 * Deferred statements (db_defer_begin()): "queuing" until
	 * db_defer_send(); then "out" until their results are read back.
	 * "pending" counts them.
	 */
	bool queuing, out;
	int pending;
};

struct db_result {
	PGresult *res;
};

/* PostgreSQL's message on one line, as a heap string. */
static char *
db_error_text(const char *what, const char *pgmsg)
{
	char *s = xasprintf("%s: %s", what, pgmsg != NULL && *pgmsg != '\0'
	    ? pgmsg : "unknown error");
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	for (p = s + strlen(s); p > s && p[-1] == ' '; p--)
		p[-1] = '\0';
	return s;
}

int
db_open_as(const char *conninfo, const char *role, struct db **db_r,
    char **error_r)
{
	/*
	 * Later entries win, and conninfo is expanded in place of "dbname":
	 * a user= in conninfo beats the program's role, and so does PGUSER
	 * (then no role is passed at all).
	 */
	const char *keys[5], *vals[5];
	struct db *db;
	PGconn *conn;
	int n = 0;

	*db_r = NULL;
	if (role != NULL && getenv("PGUSER") == NULL) {
		keys[n] = "user";
		vals[n++] = role;
	}
	keys[n] = "connect_timeout";
	vals[n++] = "5";
	keys[n] = "application_name";
	vals[n++] = "recall";
	keys[n] = "dbname";
	vals[n++] = conninfo;
	keys[n] = vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		*error_r = xstrdup("database: out of memory");
		return -1;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		*error_r = db_error_text("database connection failed",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return -1;
	}
	db = xcalloc(1, sizeof(*db));
	db->conn = conn;
	*db_r = db;
	return 0;
}

void
db_close(struct db **dbp)
{
	if (*dbp == NULL)
		return;
	PQfinish((*dbp)->conn);
	free(*dbp);
	*dbp = NULL;
}

void
db_forget(struct db **dbp)
{
	int fd;

	if (*dbp == NULL)
		return;
	if ((fd = PQsocket((*dbp)->conn)) >= 0)
		(void)close(fd);
	*dbp = NULL;
}

bool
db_alive(struct db *db)
{
	/* A deferred sequence cut short leaves libpq in pipeline mode,
	 * where no plain statement runs: start afresh. */
	if (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF) {
		db->queuing = db->out = false;
		db->pending = 0;
		if (PQexitPipelineMode(db->conn) == 0)
			PQreset(db->conn);
	}
	if (PQstatus(db->conn) == CONNECTION_OK
	    && PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF)
		return true;
	PQreset(db->conn);
	return PQstatus(db->conn) == CONNECTION_OK;
}

static int db_wait_pending(struct db *db, char **error_r);

static PGresult *
db_run(struct db *db, const char *sql, int nparams, const char *const *params,
    char **error_r, ExecStatusType want)
{
	PGresult *res;

	if (db->out && db_wait_pending(db, error_r) < 0)
		return NULL;
	res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL) {
		*error_r = db_error_text("database", PQerrorMessage(db->conn));
		return NULL;
	}
	/* A statement run for its effect may return rows: not an error. */
	if (PQresultStatus(res) != want && !(want == PGRES_COMMAND_OK
	    && PQresultStatus(res) == PGRES_TUPLES_OK)) {
		*error_r = db_error_text("database",
		    PQresultErrorMessage(res)[0] != '\0'
		    ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

int
db_exec(struct db *db, const char *sql, int nparams,
    const char *const *params, long *affected_r, char **error_r)
{
	PGresult *res;

	if (db->queuing) {
		if (PQsendQueryParams(db->conn, sql, nparams, NULL, params,
		    NULL, NULL, 0) == 0) {
			*error_r = db_error_text("database",
			    PQerrorMessage(db->conn));
			return -1;
		}
		db->pending++;
		if (affected_r != NULL)
			*affected_r = -1;
		return 0;
	}
	res = db_run(db, sql, nparams, params, error_r, PGRES_COMMAND_OK);
	if (res == NULL)
		return -1;
	if (affected_r != NULL)
		*affected_r = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

struct db_result *
db_query(struct db *db, const char *sql, int nparams,
    const char *const *params, char **error_r)
{
	PGresult *res = db_run(db, sql, nparams, params, error_r,
	    PGRES_TUPLES_OK);
	struct db_result *r;

	if (res == NULL)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->res = res;
	return r;
}

int
db_rows(const struct db_result *r)
{
	return PQntuples(r->res);
}

int
db_cols(const struct db_result *r)
{
	return PQnfields(r->res);
}

const char *
db_value(const struct db_result *r, int row, int col)
{
	if (row < 0 || row >= PQntuples(r->res) || col < 0
	    || col >= PQnfields(r->res) || PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

const char *
db_str(const struct db_result *r, int row, int col)
{
	const char *v = db_value(r, row, col);

	return v != NULL ? v : "";
}

void
db_result_free(struct db_result **r)
{
	if (*r == NULL)
		return;
	PQclear((*r)->res);
	free(*r);
	*r = NULL;
}

char *
db_bytea_encode(const void *data, size_t len)
{
	/* @UNSAFE: 2 bytes per input byte, "\x" and the NUL. */
	char *hex = xmalloc(2 * len + 3);

	hex[0] = '\\';
	hex[1] = 'x';
	crypto_hex(data, len, hex + 2);
	return hex;
}

char *
db_bytea_decode(const char *s, size_t *len_r)
{
	size_t n, i;
	char *out;

	*len_r = 0;
	if (s[0] != '\\' || s[1] != 'x')
		return NULL;
	s += 2;
	n = strlen(s) / 2;
	out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

void
db_array_add(struct sbuf *sb, size_t i, const char *s)
{
	sbuf_addc(sb, i == 0 ? '{' : ',');
	if (s == NULL) {
		sbuf_adds(sb, "NULL");
		return;
	}
	sbuf_addc(sb, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_addc(sb, '\\');
		sbuf_addc(sb, *s);
	}
	sbuf_addc(sb, '"');
}

void
db_array_end(struct sbuf *sb)
{
	sbuf_addc(sb, '}');
}

int
db_begin(struct db *db, char **error_r)
{
	return db_exec(db, "BEGIN", 0, NULL, NULL, error_r);
}

int
db_commit(struct db *db, char **error_r)
{
	return db_exec(db, "COMMIT", 0, NULL, NULL, error_r);
}

void
db_rollback(struct db *db)
{
	char *err = NULL;

	/* A deferred failure was (or will never be) reported elsewhere. */
	if (db->queuing && db_defer_send(db, &err) < 0) {
		free(err);
		err = NULL;
	}
	if (db->out && db_wait_pending(db, &err) < 0) {
		free(err);
		err = NULL;
	}
	if (db_exec(db, "ROLLBACK", 0, NULL, NULL, &err) < 0)
		free(err);
}

int
db_defer_begin(struct db *db, char **error_r)
{
	if (db->out && db_wait_pending(db, error_r) < 0)
		return -1;
	if (PQenterPipelineMode(db->conn) == 0) {
		*error_r = db_error_text("database: pipeline mode",
		    PQerrorMessage(db->conn));
		return -1;
	}
	db->queuing = true;
	return 0;
}

int
db_defer_send(struct db *db, char **error_r)
{
	db->queuing = false;
	if (PQpipelineSync(db->conn) == 0) {
		*error_r = db_error_text("database", PQerrorMessage(db->conn));
		/* Nothing can be read back: leave the connection to reset. */
		db->pending = 0;
		db->out = false;
		(void)PQexitPipelineMode(db->conn);
		return -1;
	}
	db->out = true;
	return 0;
}

/*
 * Read back every result of the deferred statements and the sync point,
 * and leave pipeline mode.  The first error is the outcome.
 */
static int
db_wait_pending(struct db *db, char **error_r)
{
	PGresult *res;
	char *first = NULL;
	int left = db->pending;

	db->pending = 0;
	db->out = false;
	while (left > 0) {
		/* One statement: its result, then NULL. */
		while ((res = PQgetResult(db->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (first == NULL && st != PGRES_COMMAND_OK
			    && st != PGRES_TUPLES_OK)
				first = db_error_text("database",
				    st == PGRES_PIPELINE_ABORTED
				    ? "statement skipped after an error"
				    : PQresultErrorMessage(res)[0] != '\0'
				    ? PQresultErrorMessage(res)
				    : PQerrorMessage(db->conn));
			PQclear(res);
		}
		left--;
		if (PQstatus(db->conn) != CONNECTION_OK)
			break;
	}
	/* The sync point. */
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQexitPipelineMode(db->conn) == 0 && first == NULL)
		first = db_error_text("database: pipeline mode",
		    PQerrorMessage(db->conn));
	if (first != NULL) {
		*error_r = first;
		return -1;
	}
	return 0;
}

int
db_defer_wait(struct db *db, char **error_r)
{
	return db->out ? db_wait_pending(db, error_r) : 0;
}

int
db_socket(struct db *db)
{
	return PQsocket(db->conn);
}

int
db_listen(struct db *db, const char *channel, char **error_r)
{
	char *sql;
	int rc;

	/* An identifier cannot be a parameter; channel is our own constant. */
	sql = xasprintf("LISTEN %s", channel);
	rc = db_exec(db, sql, 0, NULL, NULL, error_r);
	free(sql);
	return rc;
}

int
db_drain_notifies(struct db *db)
{
	PGnotify *n;
	int count = 0;

	if (PQconsumeInput(db->conn) == 0)
		return -1;
	while ((n = PQnotifies(db->conn)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}
