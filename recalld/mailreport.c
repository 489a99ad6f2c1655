/*
 * mailreport - the report mail of a request.  See mailreport.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditev.h"
#include "crypto.h"
#include "db.h"
#include "dsn.h"
#include "log.h"
#include "mailer.h"
#include "mailreport.h"
#include "xalloc.h"

/* The original's header block from quarantine, or NULL. */
static char *
original_headers(struct db *db, const char *recall_id, long long request_id,
    size_t *len_r)
{
	char req[24], *err = NULL, *h = NULL;
	const char *params[3] = { recall_id, req, NULL };
	struct db_result *r;
	char max[24];

	snprintf(req, sizeof(req), "%lld", request_id);
	snprintf(max, sizeof(max), "%d", DSN_MAX_HEADERS);
	params[2] = max;
	/* The header ends at the first empty line (LF LF in Maildir text). */
	r = db_query(db, "SELECT substring(q.message FROM 1 FOR least("
	    "coalesce(nullif(position('\\x0a0a'::bytea IN q.message), 0), "
	    "$3::int), $3::int)) FROM quarantine q "
	    "JOIN recall_request r ON r.id = q.request_id "
	    "WHERE r.recall_id = $1 AND length(q.message) > 0 "
	    "ORDER BY q.request_id = $2::bigint DESC, q.id LIMIT 1",
	    3, params, &err);
	if (r == NULL) {
		log_warnx("report of request %s: original header: %s", req,
		    err);
		free(err);
		return NULL;
	}
	if (db_rows(r) == 1)
		h = db_bytea_decode(db_str(r, 0, 0), len_r);
	db_result_free(&r);
	return h;
}

void
mailreport_send(const struct recall_env *env, const char *actor,
    const struct records_message *m, const struct report *rep,
    const char *report_to)
{
	struct dsn_input in;
	struct db_result *r;
	char host[256] = "localhost", date[64], boundary[64], mid[128];
	unsigned char rnd[12];
	char rhex[25], *headers = NULL, *msg, *err = NULL;
	const char *params[1] = { m->recall_id };
	size_t hlen = 0;
	time_t now = time(NULL);
	struct tm tm;
	json_t *ev;
	int rc;

	if (report_to == NULL || *report_to == '\0') {
		log_info("request %lld: no address to mail the report to",
		    rep->request_id);
		return;
	}
	memset(&in, 0, sizeof(in));
	r = db_query(env->db, "SELECT subject, to_char(submitted_at AT TIME "
	    "ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS \"+0000\"') "
	    "FROM messages WHERE recall_id = $1", 1, params, &err);
	if (r == NULL) {
		log_warnx("report of request %lld: %s", rep->request_id, err);
		xfree(&err);
	}
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (crypto_random(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));
	crypto_hex(rnd, sizeof(rnd), rhex);
	snprintf(boundary, sizeof(boundary), "=_recall_%s", rhex);
	snprintf(mid, sizeof(mid), "<recall-report.%lld.%s@%.60s>",
	    rep->request_id, rhex, host);
	headers = original_headers(env->db, m->recall_id, rep->request_id,
	    &hlen);

	in.reporting_mta = host;
	in.from = env->cfg->recalld.report_sender;
	in.to = report_to;
	in.subject = r != NULL && db_rows(r) == 1 ? db_value(r, 0, 0) : NULL;
	in.arrival_date = r != NULL && db_rows(r) == 1 ? db_value(r, 0, 1)
	    : NULL;
	in.date = date;
	in.report_msgid = mid;
	in.boundary = boundary;
	in.rep = rep;
	in.headers = headers;
	in.headers_len = hlen;
	msg = dsn_compose(&in);
	db_result_free(&r);
	free(headers);

	rc = mailer_send(env->cfg->recalld.sendmail,
	    env->cfg->recalld.report_sender, report_to, msg, strlen(msg), &err);
	free(msg);
	{
		char safe[256];

		if (rc == 0)
			log_info("request %lld: report mailed to %s",
			    rep->request_id,
			    log_safe(safe, sizeof(safe), report_to));
		else
			log_warnx("request %lld: report to %s not mailed: %s",
			    rep->request_id,
			    log_safe(safe, sizeof(safe), report_to), err);
	}
	ev = json_object();
	json_object_set_new(ev, "to", auditev_str(report_to));
	json_object_set_new(ev, "report_message_id", json_string(mid));
	json_object_set_new(ev, "sent", json_boolean(rc == 0));
	if (rc < 0)
		json_object_set_new(ev, "error", auditev_str(err));
	(void)auditev_append(env->db, actor, "report", m->recall_id,
	    rep->request_id, ev);
	free(err);
}
