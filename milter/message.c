/*
 * message - end-of-message decisions and recording.  See message.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "addr.h"
#include "hold.h"
#include "log.h"
#include "message.h"
#include "policy.h"
#include "recallreq.h"
#include "record.h"
#include "tag.h"
#include "writer.h"
#include "xalloc.h"

static void
message_edit(struct message_result *res, enum message_edit_op op,
    const char *name, int index, const char *value)
{
	struct message_edit *e;

	res->edits = xrealloc(res->edits,
	    (res->n_edits + 1) * sizeof(*res->edits));
	e = &res->edits[res->n_edits++];
	e->op = op;
	e->name = name;
	e->index = index;
	e->value = value != NULL ? xstrdup(value) : NULL;
}

void
message_result_free(struct message_result *res)
{
	size_t i;

	for (i = 0; i < res->n_edits; i++)
		free(res->edits[i].value);
	free(res->edits);
	free(res->delrcpt);
	free(res->quarantine);
	memset(res, 0, sizeof(*res));
}

static void
message_tempfail(struct message_result *res, const char *reason)
{
	res->tempfail = true;
	res->reason = reason;
}

/* Normalised address, or the cleaned raw text when it does not parse. */
static char *
message_addr(const char *raw)
{
	char *a = addr_normalise(raw != NULL ? raw : "", NULL);

	return a != NULL ? a : record_clean_text(raw != NULL ? raw : "");
}

static void
message_rcpts(const struct msgctx *mc, const struct recall_cfg *cfg,
    struct record *r)
{
	char *a;
	size_t i;

	for (i = 0; i < mc->n_rcpts; i++) {
		/* The recall address is removed (smfi_delrcpt), not sent to. */
		if (mc->n_recall_rcpts > 0
		    && policy_is_recall_rcpt(cfg, mc->rcpts[i]))
			continue;
		a = message_addr(mc->rcpts[i]);
		record_add_rcpt(r, a, addr_class_name(addr_classify(a, cfg)));
		free(a);
	}
}

/* Fill the parts that every record has. */
static void
message_common(const struct msgctx *mc, const char *qid,
    const struct callbacks_env *env, enum policy_origin origin,
    const struct timeval *at, struct record *r)
{
	char when[40];

	record_time(at, when, sizeof(when));
	r->at = xstrdup(when);
	r->client_addr = mc->client_addr != NULL ? xstrdup(mc->client_addr)
	    : NULL;
	r->queue_id = qid != NULL ? xstrdup(qid) : NULL;
	r->origin = xstrdup(policy_origin_name(origin));
	r->host = env->hostname != NULL ? xstrdup(env->hostname) : NULL;
	message_rcpts(mc, mc->conf->cfg, r);
}

/* Append r to the spool.  Returns 0 or -1 (logged). */
static int
message_spool(const char *q, const struct callbacks_env *env,
    const struct record *r, struct message_result *res)
{
	char *line = record_encode(r);
	int rc;

	rc = spool_append(env->spool, line, strlen(line), &res->end);
	free(line);
	if (rc < 0)
		log_warn("%s: cannot write the record to the spool", q);
	return rc;
}

static void
message_reject(struct message_result *res, const char *rcode,
    const char *xcode, const char *text)
{
	res->reject = true;
	res->rcode = rcode;
	res->xcode = xcode;
	res->reason = text;
}

/*
 * A message to milter.recall_address: check the sender, find the
 * Message-ID and spool a recall_request record.  Returns 0 when the
 * request is queued (res says whether the message itself is discarded or
 * only loses that recipient) or refused while other recipients keep the
 * message (res->delrcpt), -1 when res now rejects or tempfails it.
 */
static int
message_recall_request(struct msgctx *mc, const char *qid,
    const struct callbacks_env *env, enum policy_origin origin,
    struct message_result *res)
{
	const struct recall_cfg *cfg = mc->conf->cfg;
	const char *q = qid != NULL ? qid : "NOQUEUE";
	struct record rec;
	struct timeval now;
	char when[40], id[TAG_ID_HEX + 1], b1[160], b2[160];
	char *ref, *who;
	int rc;

	if (!policy_may_request_recall(origin)) {
		bool alone = mc->n_recall_rcpts == mc->n_rcpts;

		log_info("%s: recall request refused: sender %s is not "
		    "authenticated (origin %s)%s", q, log_safe(b1, sizeof(b1),
		    mc->sender_raw != NULL ? mc->sender_raw : ""),
		    policy_origin_name(origin), alone ? "" : "; the recall "
		    "address is removed, the other recipients get the message");
		if (alone) {
			message_reject(res, "550", "5.7.1",
			    MESSAGE_REQ_AUTH_TEXT);
			return -1;
		}
		res->delrcpt = xstrdup(mc->recall_rcpt);
		return 0;
	}
	ref = recallreq_from_subject(mc->subject);
	if (ref == NULL)
		ref = recallreq_from_body(mc->body.buf, mc->body.len,
		    mc->top_rfc822);
	if (ref == NULL) {
		log_info("%s: recall request from %s without a Message-ID; "
		    "rejected", q, log_safe(b1, sizeof(b1), mc->auth_authen));
		message_reject(res, "550", "5.6.0", "recall request without "
		    "a Message-ID: put \"Recall: <message-id>\" in the "
		    "Subject or attach the original message");
		return -1;
	}
	who = addr_for_login(mc->auth_authen, cfg);
	if (tag_new_id(id) < 0) {
		free(ref);
		free(who);
		message_tempfail(res, "recall: internal error");
		return -1;
	}
	memset(&rec, 0, sizeof(rec));
	gettimeofday(&now, NULL);
	record_time(&now, when, sizeof(when));
	rec.type = RECORD_RECALL_REQUEST;
	rec.key = xstrdup(id);
	rec.ref = ref;
	rec.requested_by = who;
	rec.auth_user = xstrdup(mc->auth_authen);
	rec.queue_id = qid != NULL ? xstrdup(qid) : NULL;
	rec.at = xstrdup(when);
	rec.origin = xstrdup(policy_origin_name(origin));
	rec.host = env->hostname != NULL ? xstrdup(env->hostname) : NULL;
	rc = message_spool(q, env, &rec, res);
	if (rc < 0) {
		message_tempfail(res, "recall: local spool error, try again "
		    "later");
	} else {
		log_info("%s: recall request from %s: %s queued", q,
		    log_safe(b1, sizeof(b1), who), log_safe(b2, sizeof(b2),
		    ref));
		if (mc->n_recall_rcpts == mc->n_rcpts)
			res->discard = true;
		else
			res->delrcpt = xstrdup(mc->recall_rcpt);
	}
	record_clear(&rec);
	return rc;
}

/* Does the message (recall address aside) go to an external address? */
static bool
message_has_external(const struct msgctx *mc, const struct recall_cfg *cfg)
{
	char *a;
	bool ext = false;
	size_t i;

	for (i = 0; i < mc->n_rcpts && !ext; i++) {
		if (mc->n_recall_rcpts > 0
		    && policy_is_recall_rcpt(cfg, mc->rcpts[i]))
			continue;
		a = message_addr(mc->rcpts[i]);
		ext = addr_classify(a, cfg) == ADDR_EXTERNAL;
		free(a);
	}
	return ext;
}

static void
message_log_removed(const char *q, const char *value, const char *why)
{
	char buf[160];

	log_info("%s: removed header " TAG_HEADER ": %s (%s)", q,
	    log_safe(buf, sizeof(buf), value), why);
}

/*
 * hold_external: an inside message with an external recipient is held in
 * the MTA's hold queue until now + hold_external.  The release time is
 * made durable on this host first (hold_add); without it, or without a
 * queue id to release by, the message is not held.
 */
static void
message_plan_hold(const struct msgctx *mc, const char *qid,
    const struct callbacks_env *env, const struct timeval *now,
    struct record *rec, struct message_result *res)
{
	const struct recall_cfg *cfg = mc->conf->cfg;
	struct timeval until;
	char when[40];

	if (cfg->milter.hold_external <= 0 || env->hold == NULL
	    || !message_has_external(mc, cfg))
		return;
	if (qid == NULL) {
		log_warnx("NOQUEUE: no queue id: not held for hold_external");
		return;
	}
	until = *now;
	until.tv_sec += cfg->milter.hold_external;
	if (hold_add(env->hold, qid, until.tv_sec) < 0) {
		log_warn("%s: cannot record the hold; delivered without "
		    "holding", qid);
		return;
	}
	record_time(&until, when, sizeof(when));
	rec->hold_until = xstrdup(when);
	res->quarantine = xasprintf("recall: held for %ld s for external "
	    "recipients (milter.hold_external)", cfg->milter.hold_external);
}

void
message_finish(struct msgctx *mc, const char *qid,
    const struct callbacks_env *env, struct message_result *res)
{
	const struct milter_conf *conf = mc->conf;
	const char *q = qid != NULL ? qid : "NOQUEUE";
	struct policy_client pc;
	struct policy_tag_plan plan;
	struct record rec;
	enum policy_origin origin;
	enum tag_status *status;
	struct timeval now;
	char id[TAG_ID_HEX + 1], token[TAG_TOKEN_LEN + 1], sbuf[160];
	char *msgid;
	bool *remove, inside, strict;
	size_t i;

	memset(res, 0, sizeof(*res));
	memset(&rec, 0, sizeof(rec));
	if (qid == NULL)
		log_warnx("NOQUEUE: queue id ({i}) missing at end of message; "
		    "recording none");
	pc.auth_authen = mc->auth_authen;
	pc.client_addr = mc->client_addr;
	pc.client_name = mc->client_name;
	pc.have_daemon_addr = mc->have_daemon_addr;
	origin = policy_origin(&pc, &conf->nets);
	inside = policy_is_inside(origin);
	strict = conf->cfg->milter.on_db_error == CFG_DB_ERROR_TEMPFAIL;

	remove = xcalloc(mc->n_tags + 1, sizeof(*remove));
	status = xcalloc(mc->n_tags + 1, sizeof(*status));
	policy_plan_tags(inside, &conf->keys, mc->tags, mc->n_tags, remove,
	    status, &plan);

	/*
	 * A request that goes nowhere else needs no database: its record
	 * waits in the spool like any other.
	 */
	if (inside && strict && !writer_connected(env->writer)
	    && mc->n_recall_rcpts < mc->n_rcpts) {
		log_warnx("%s: database unavailable and on_db_error is "
		    "\"tempfail\": temporary failure", q);
		message_tempfail(res, "recall: database unavailable, try "
		    "again later");
		goto out;
	}
	if (mc->n_recall_rcpts > 0 && (message_recall_request(mc, qid, env,
	    origin, res) < 0 || res->discard))
		goto out;

	gettimeofday(&now, NULL);
	if (plan.action == POLICY_TAG_NEW) {
		if (tag_new_id(id) < 0 || tag_make(&conf->keys, id, token) < 0) {
			log_warnx("%s: cannot make a tag", q);
			message_tempfail(res, "recall: internal error");
			goto out;
		}
		rec.type = RECORD_MESSAGE;
		rec.key = xstrdup(id);
		rec.recall_id = xstrdup(id);
		msgid = mc->message_id != NULL
		    ? addr_msgid_normalise(mc->message_id, NULL) : NULL;
		if (msgid == NULL && mc->message_id != NULL) {
			/* Malformed: keep what the message says. */
			char *c = record_clean_text(mc->message_id);

			msgid = xasprintf("<%s>", c);
			free(c);
		}
		if (msgid == NULL)
			msgid = xasprintf("<%s@%s>", id,
			    conf->cfg->local_domains.v[0]);
		rec.message_id = msgid;
		rec.sender = message_addr(mc->sender_raw);
		rec.auth_user = mc->auth_authen != NULL
		    ? xstrdup(mc->auth_authen) : NULL;
		rec.size = (long long)mc->size;
		rec.subject = mc->subject != NULL ? xstrdup(mc->subject) : NULL;
		message_common(mc, qid, env, origin, &mc->started, &rec);
		message_plan_hold(mc, qid, env, &now, &rec, res);
	} else if (plan.action == POLICY_TAG_REENTRY) {
		if (tag_new_id(id) < 0) {
			message_tempfail(res, "recall: internal error");
			goto out;
		}
		rec.type = RECORD_REENTRY;
		rec.key = xstrdup(id);
		rec.recall_id = xstrdup(plan.reentry_id);
		rec.detail = xasprintf("re-entered the MTA (%s submission "
		    "from %s)", policy_origin_name(origin),
		    mc->client_addr != NULL ? mc->client_addr : "unknown");
		message_common(mc, qid, env, origin, &now, &rec);
	}
	if (rec.key != NULL && message_spool(q, env, &rec, res) < 0) {
		message_tempfail(res, "recall: local spool error, try again "
		    "later");
		if (res->quarantine != NULL)
			hold_forget(env->hold, qid);
		goto out;
	}

	/* Remove from the last to the first, so indexes stay valid. */
	for (i = mc->n_tags; i-- > 0;) {
		if (!remove[i])
			continue;
		message_edit(res, MESSAGE_DELETE, TAG_HEADER, (int)i + 1, NULL);
		message_log_removed(q, mc->tags[i], !inside ? "from outside"
		    : status[i] != TAG_VALID ? "invalid tag" : "extra tag");
		if (inside && status[i] != TAG_VALID)
			log_warnx("%s: inside mail arrived with an invalid "
			    TAG_HEADER "; replaced", q);
	}
	if (plan.action == POLICY_TAG_NEW) {
		message_edit(res, MESSAGE_ADD, TAG_HEADER, 0, token);
		if (mc->message_id == NULL)
			message_edit(res, MESSAGE_ADD, "Message-ID", 0,
			    rec.message_id);
		snprintf(res->recall_id, sizeof(res->recall_id), "%s", id);
		res->wait_commit = strict;
		log_info("%s: tagged recall_id=%s origin=%s sender=<%s> "
		    "nrcpt=%zu size=%lld%s%s", q, id, rec.origin,
		    log_safe(sbuf, sizeof(sbuf), rec.sender), rec.n_rcpts,
		    rec.size, mc->message_id == NULL ? " message-id=added"
		    : "", rec.hold_until != NULL ? " held" : "");
	} else if (plan.action == POLICY_TAG_REENTRY) {
		snprintf(res->recall_id, sizeof(res->recall_id), "%s",
		    plan.reentry_id);
		res->wait_commit = strict;
		log_info("%s: re-entry of recall_id=%s origin=%s nrcpt=%zu", q,
		    plan.reentry_id, rec.origin, mc->n_rcpts);
	}
out:
	record_clear(&rec);
	free(remove);
	free(status);
}
