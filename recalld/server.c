/*
 * server - the control socket.  See server.h.
 */
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "history.h"
#include "log.h"
#include "proto.h"
#include "quarantine.h"
#include "server.h"
#include "xalloc.h"

static int
fill_sockaddr(const char *path, struct sockaddr_un *sun, char **error_r)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		*error_r = xasprintf("%s: socket path too long (at most %zu "
		    "bytes)", path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Is another process listening on path? */
static bool
socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

int
server_listen(const char *path, char **error_r)
{
	struct sockaddr_un sun;
	struct stat st;
	char *dir, *slash;
	int fd;

	if (fill_sockaddr(path, &sun, error_r) < 0)
		return -1;
	/* The parent directory (e.g. /run/recall) may vanish on reboot. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			*error_r = xasprintf("mkdir %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*error_r = xasprintf("%s exists and is not a socket",
			    path);
			return -1;
		}
		if (socket_is_live(&sun)) {
			*error_r = xasprintf("%s: another recalld is "
			    "listening there", path);
			return -1;
		}
		if (unlink(path) < 0) {
			*error_r = xasprintf("unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = xasprintf("bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Open to every local user: authorization is by peer credentials. */
	if (chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* The peer's unix user name (heap), or NULL. */
static char *
peer_user(int fd, uid_t *uid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char *buf;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	char *name = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control socket: SO_PEERCRED");
		return NULL;
	}
	*uid_r = cred.uid;
	if (size <= 0)
		size = 16384;
	buf = xmalloc((size_t)size);
	if (getpwuid_r(cred.uid, &pw, buf, (size_t)size, &res) == 0
	    && res != NULL)
		name = xstrdup(pw.pw_name);
	free(buf);
	return name;
}

/* {"audit": {"rows": N, "intact": true|false, "bad_seq": S, "why": W}} */
static char *
audit_verify_json(struct recall_env *env, enum reply_code *code_r,
    char **error_r)
{
	struct audit_verify_result vr;
	json_t *o, *a;
	char *text, *copy;

	if (audit_verify(env->db, &vr, error_r) < 0) {
		*code_r = REPLY_UNAVAILABLE;
		return NULL;
	}
	a = json_object();
	json_object_set_new(a, "rows", json_integer(vr.rows));
	json_object_set_new(a, "intact", json_boolean(vr.ok));
	if (!vr.ok) {
		json_object_set_new(a, "bad_seq", json_integer(vr.bad_seq));
		json_object_set_new(a, "why", json_string(vr.why));
		log_warnx("audit verify: chain broken at row %lld: %s",
		    vr.bad_seq, vr.why);
	}
	o = json_object();
	json_object_set_new(o, "audit", a);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();
	copy = xstrdup(text);
	free(text);
	return copy;
}

/* The admin-only ops: audit_verify, restore, purge. */
static char *
admin_op(struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, enum reply_code *code_r, char **error_r)
{
	char *answer = NULL;
	long n = 0;

	if (!caller->admin) {
		*error_r = xasprintf("%s is for recalld.admins only",
		    req->op == REQUEST_AUDIT_VERIFY ? "audit verify"
		    : request_op_name(req->op));
		log_warnx("refused %s to %s: not an admin",
		    request_op_name(req->op), caller->user);
		recall_audit_refusal(env, caller->user, req, NULL, NULL,
		    *error_r);
		*code_r = REPLY_REFUSED;
		return NULL;
	}
	switch (req->op) {
	case REQUEST_AUDIT_VERIFY:
		return audit_verify_json(env, code_r, error_r);
	case REQUEST_RESTORE:
		if (quarantine_restore(env, caller->user, req, &answer, code_r,
		    error_r) < 0)
			return NULL;
		return answer;
	case REQUEST_PURGE:
		if (quarantine_purge(env, caller->user, &n, error_r) < 0) {
			*code_r = REPLY_UNAVAILABLE;
			return NULL;
		}
		return xasprintf("{\"purged\":%ld}", n);
	default:
		break;
	}
	*code_r = REPLY_INTERNAL;
	*error_r = xstrdup("internal: not an admin op");
	return NULL;
}

char *
server_answer(struct recall_env *env, server_db_ready_fn *db_ready,
    const char *user, const char *payload, size_t len)
{
	struct request req;
	struct report rep;
	struct authz_caller caller;
	enum reply_code code = REPLY_INTERNAL;
	char *error = NULL, *answer;
	char safe[256], safe_as[256];

	if (request_parse(payload, len, &req, &error) < 0) {
		log_warnx("bad request from %s: %s", user, error);
		answer = reply_error_json(REPLY_BAD_REQUEST, error);
		free(error);
		return answer;
	}
	log_info("%s %s%s from %s%s%s", request_op_name(req.op),
	    log_safe(safe, sizeof(safe), req.ref != NULL ? req.ref : "-"),
	    req.dry_run ? " (dry run)"
	    : "", user, req.as != NULL ? " as " : "",
	    req.as != NULL ? log_safe(safe_as, sizeof(safe_as), req.as) : "");
	if (db_ready(env, &error) < 0) {
		log_warnx("%s", error);
		answer = reply_error_json(REPLY_UNAVAILABLE, error);
		free(error);
		request_clear(&req);
		return answer;
	}
	caller.user = user;
	caller.admin = strlist_contains(&env->cfg->recalld.admins, user);
	caller.trusted = caller.admin || strcmp(user, "root") == 0
	    || (env->cfg->milter.user != NULL
	    && strcmp(user, env->cfg->milter.user) == 0);
	switch (req.op) {
	case REQUEST_RECALL:
	case REQUEST_STATUS:
		if (recall_execute(env, &caller, &req, &rep, &code,
		    &error) < 0) {
			answer = NULL;
		} else {
			answer = report_json(&rep);
			report_clear(&rep);
		}
		break;
	case REQUEST_HISTORY:
		if (history_answer(env, &caller, &req, &answer, &code,
		    &error) < 0)
			answer = NULL;
		break;
	case REQUEST_TRACE:
		if (recall_trace(env, &caller, &req, &answer, &code,
		    &error) < 0)
			answer = NULL;
		break;
	default:
		answer = admin_op(env, &caller, &req, &code, &error);
		break;
	}
	if (answer == NULL) {
		answer = reply_error_json(code, error != NULL ? error
		    : "unknown error");
		free(error);
	}
	request_clear(&req);
	return answer;
}

int
server_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK
	    && errno != EINTR && errno != ECONNABORTED)
		log_warn("control socket: accept");
	return fd;
}

void
server_serve(int fd, struct recall_env *env, server_db_ready_fn *db_ready)
{
	char *frame = NULL, *answer = NULL, *user;
	const char *perr = NULL;
	size_t len = 0;
	uid_t uid = (uid_t)-1;
	int got;

	if ((user = peer_user(fd, &uid)) == NULL) {
		log_warnx("control socket: refusing uid %ld: no such user",
		    (long)uid);
		answer = reply_error_json(REPLY_REFUSED,
		    "your uid has no user name");
		/* Drain the request first so the client sees the answer. */
		got = proto_recv(fd, &frame, &len, PROTO_MAX_REQUEST,
		    SERVER_READ_TIMEOUT_MS, &perr);
		goto reply;
	}
	got = proto_recv(fd, &frame, &len, PROTO_MAX_REQUEST,
	    SERVER_READ_TIMEOUT_MS, &perr);
	if (got == 0)
		goto out;	/* connected and left: nothing to answer */
	if (got < 0) {
		log_warnx("control socket: bad request from %s: %s", user,
		    perr != NULL ? perr : "read error");
		answer = reply_error_json(REPLY_BAD_REQUEST,
		    perr != NULL ? perr : "cannot read the request");
		goto reply;
	}
	answer = server_answer(env, db_ready, user, frame, len);
	if (strlen(answer) > PROTO_MAX_FRAME) {
		/* The request ran and is recorded; only the answer is lost. */
		log_warnx("answer to %s too large for one frame (%zu bytes)",
		    user, strlen(answer));
		free(answer);
		answer = reply_error_json(REPLY_INTERNAL, "the report is too "
		    "large for the control socket; the request ran and is "
		    "recorded in the database (recall_history)");
	}
reply:
	if (answer != NULL && proto_send(fd, answer, strlen(answer),
	    SERVER_WRITE_TIMEOUT_MS, &perr) < 0)
		log_warnx("control socket: cannot answer %s: %s",
		    user != NULL ? user : "?", perr != NULL ? perr : "?");
out:
	(void)got;
	free(answer);
	free(frame);
	free(user);
	close(fd);
}
