/*
 * mailreq - recall requests by mail.  See mailreq.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mailer.h"
#include "mailreq.h"
#include "sbuf.h"
#include "xalloc.h"

#define MAILREQ_CHANNEL "recall_mail_request"

static int mailreq_listen_fd = -1;
static time_t mailreq_next_poll;
static time_t mailreq_last_log;

static time_t
mailreq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
mailreq_warn(const char *what, const char *err)
{
	/* A database that is down would otherwise log every tick. */
	if (mailreq_now() - mailreq_last_log < 60)
		return;
	mailreq_last_log = mailreq_now();
	log_warnx("mail requests: %s: %s", what, err);
}

static void
mailreq_finish(struct recall_env *env, const char *id, const char *state,
    long long request_id, const char *error)
{
	char rid[24], *err = NULL;
	const char *p[4] = { id, state, NULL, error };

	if (request_id > 0) {
		snprintf(rid, sizeof(rid), "%lld", request_id);
		p[2] = rid;
	}
	if (db_exec(env->db, "UPDATE mail_request SET state = $2, "
	    "request_id = $3, error = $4, finished_at = CASE WHEN $2 = "
	    "'pending' THEN NULL ELSE now() END WHERE id = $1", 4, p, NULL,
	    &err) < 0) {
		log_warnx("mail request %s: not marked %s: %s", id, state, err);
		free(err);
	}
}

/* A short mail to the sender when the request produced no report. */
static void
mailreq_notice(const struct recall_env *env, const char *to,
    const char *ref, const char *why)
{
	struct sbuf m = SBUF_INIT;
	char *err = NULL;

	sbuf_addf(&m, "From: %s\nTo: %s\nSubject: Recall of %s: not done\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "Your recall request for the message\n\n    %s\n\n"
	    "was not carried out:\n\n    %s\n",
	    env->cfg->recalld.report_sender, to, ref, ref, why);
	if (mailer_send(env->cfg->recalld.sendmail,
	    env->cfg->recalld.report_sender, to, m.buf, m.len, &err) < 0) {
		log_warnx("mail request notice to %s: %s", to, err);
		free(err);
	} else {
		log_info("mail request notice sent to %s", to);
	}
	sbuf_release(&m);
}

/* SQL: a row to claim; STALE is the parameter of MAILREQ_STALE_S. */
#define MAILREQ_OPEN(STALE)						\
	"(state = 'pending' OR (state = 'running' AND claimed_at < now() "	\
	"- make_interval(secs => " STALE "::int)))"

/* Claim and run one request.  Returns 1 when one ran, 0 none, -1 error. */
static int
mailreq_run_one(struct recall_env *env, const char *host)
{
	const char *p[2] = { host, NULL };
	struct db_result *r;
	struct request req;
	struct authz_caller relay = { MAILREQ_RELAY, false, true };
	struct report rep;
	enum reply_code code = REPLY_INTERNAL;
	char stale[16], *err = NULL, *id, *ref, *who;
	int rc;

	snprintf(stale, sizeof(stale), "%d", MAILREQ_STALE_S);
	p[1] = stale;
	r = db_query(env->db, "UPDATE mail_request SET state = 'running', "
	    "claimed_at = now(), claimed_by = $1 WHERE id = (SELECT id FROM "
	    "mail_request WHERE " MAILREQ_OPEN("$2") " ORDER BY id "
	    "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id, ref, requested_by",
	    2, p, &err);
	if (r == NULL) {
		mailreq_warn("claiming", err);
		free(err);
		return -1;
	}
	if (db_rows(r) == 0) {
		db_result_free(&r);
		return 0;
	}
	id = xstrdup(db_str(r, 0, 0));
	ref = xstrdup(db_str(r, 0, 1));
	who = xstrdup(db_str(r, 0, 2));
	db_result_free(&r);

	memset(&req, 0, sizeof(req));
	req.op = REQUEST_RECALL;
	req.ref = ref;
	req.on_behalf_of = who;
	req.via = (char *)"mail";
	log_info("mail request %s: recall of %s for %s", id, ref, who);
	rc = recall_execute(env, &relay, &req, &rep, &code, &err);
	if (rc == 0) {
		mailreq_finish(env, id, "done", rep.request_id, NULL);
		log_info("mail request %s: request %lld, %s", id,
		    rep.request_id, request_status_name(rep.status));
		report_clear(&rep);
	} else if (code == REPLY_BUSY || code == REPLY_UNAVAILABLE) {
		log_info("mail request %s: %s; will retry", id, err);
		mailreq_finish(env, id, "pending", 0, err);
	} else {
		log_info("mail request %s: %s: %s", id, reply_code_name(code),
		    err);
		mailreq_finish(env, id, "failed", 0, err);
		mailreq_notice(env, who, ref, err);
	}
	free(err);
	free(id);
	free(ref);
	free(who);
	return 1;
}

bool
mailreq_due(struct recall_env *env)
{
	char stale[16], *err = NULL;
	const char *p[1] = { stale };
	struct db_result *r;
	int fd, n;

	if (env->db == NULL) {
		mailreq_listen_fd = -1;
		return false;
	}
	fd = db_socket(env->db);
	if (fd < 0)
		return false;
	if (fd != mailreq_listen_fd) {
		/* New (or reset) connection: LISTEN again and look now. */
		if (db_listen(env->db, MAILREQ_CHANNEL, &err) < 0) {
			mailreq_warn("LISTEN", err);
			free(err);
			return false;
		}
		mailreq_listen_fd = fd;
		mailreq_next_poll = 0;
	}
	n = db_drain_notifies(env->db);
	if (n < 0)
		mailreq_listen_fd = -1;
	if (n <= 0 && mailreq_now() < mailreq_next_poll)
		return false;
	mailreq_next_poll = mailreq_now() + MAILREQ_POLL_S;
	/* Only a request to run is worth a process. */
	snprintf(stale, sizeof(stale), "%d", MAILREQ_STALE_S);
	r = db_query(env->db, "SELECT 1 FROM mail_request WHERE "
	    MAILREQ_OPEN("$1") " LIMIT 1", 1, p, &err);
	if (r == NULL) {
		mailreq_warn("looking for requests", err);
		free(err);
		return false;
	}
	n = db_rows(r);
	db_result_free(&r);
	return n > 0;
}

void
mailreq_run(struct recall_env *env)
{
	char host[256];
	int i;

	if (env->db == NULL)
		return;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "recalld");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; i < MAILREQ_BATCH; i++)
		if (mailreq_run_one(env, host) <= 0)
			break;
}
