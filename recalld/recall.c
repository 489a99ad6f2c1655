/*
 * recall - the recall flow.  See recall.h.
 *
 * The decision is decide()'s alone; this file only gathers facts and
 * carries decisions out.  Order of the removal of one copy, chosen so
 * that nothing is destroyed without a kept copy:
 *
 *   1. fetch the full text from the store;
 *   2. insert it into quarantine (committed);
 *   3. expunge with "unseen" in the query (Dovecot re-checks \Seen);
 *   4. look again: gone is recalled; still there means it was read just
 *      before (or the store failed), and the quarantine row is voided.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "recall.h"
#include "records.h"
#include "sbuf.h"
#include "xalloc.h"

/* How many recall ids an ambiguous Message-ID error lists. */
#define RECALL_MAX_AMBIGUOUS 10

char **
recall_tokens(const struct tag_keys *keys, const char *recall_id,
    size_t *n_r)
{
	char **v = xcalloc(keys->n + 1, sizeof(*v));
	char tok[TAG_TOKEN_LEN + 1];
	size_t i, n = 0;

	for (i = 0; i < keys->n; i++) {
		/* A one-key view: tag_make uses the first key it is given. */
		struct tag_keys one = { &keys->key[i], 1 };

		if (tag_make(&one, recall_id, tok) == 0)
			v[n++] = xstrdup(tok);
	}
	*n_r = n;
	return v;
}

void
recall_tokens_free(char ***tokens, size_t n)
{
	size_t i;

	if (*tokens == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*tokens)[i]);
	xfree(tokens);
}

/* Lower-case copy of s when it is a recall id, else NULL. */
static char *
as_recall_id(const char *s)
{
	char *id;
	size_t i;

	if (strlen(s) != TAG_ID_HEX)
		return NULL;
	id = xstrdup(s);
	for (i = 0; id[i] != '\0'; i++)
		if (id[i] >= 'A' && id[i] <= 'F')
			id[i] = (char)(id[i] - 'A' + 'a');
	if (!tag_is_id(id))
		xfree(&id);
	return id;
}

/*
 * Resolve a MSGREF (recall id or Message-ID) to one message.  Returns 0,
 * or -1 with code and error.
 */
static int
resolve(const struct recall_env *env, const char *ref,
    struct records_message *m, enum reply_code *code_r, char **error_r)
{
	char *rid, *msgid, *dberr = NULL, **ids = NULL;
	const char *why = NULL;
	size_t n = 0, i;
	int found;

	if ((rid = as_recall_id(ref)) != NULL) {
		found = records_message_by_recall_id(env->db, rid, m, &dberr);
		free(rid);
		goto found;
	}
	msgid = addr_msgid_normalise(ref, &why);
	if (msgid == NULL) {
		*code_r = REPLY_BAD_REQUEST;
		*error_r = xasprintf("not a Message-ID or recall id: %s",
		    why != NULL ? why : "malformed");
		return -1;
	}
	if (records_recall_ids_by_msgid(env->db, msgid,
	    RECALL_MAX_AMBIGUOUS + 1, &ids, &n, &dberr) < 0) {
		free(msgid);
		found = -1;
		goto found;
	}
	if (n == 0) {
		*code_r = REPLY_NOT_FOUND;
		*error_r = xasprintf("no message with Message-ID %s is "
		    "recorded", msgid);
		free(msgid);
		records_ids_free(&ids, n);
		return -1;
	}
	if (n > 1) {
		struct sbuf sb = SBUF_INIT;

		sbuf_addf(&sb, "Message-ID %s names %s%zu recorded messages; "
		    "recall one by its recall id:", msgid,
		    n > RECALL_MAX_AMBIGUOUS ? "more than " : "",
		    n > RECALL_MAX_AMBIGUOUS ? (size_t)RECALL_MAX_AMBIGUOUS : n);
		for (i = 0; i < n && i < RECALL_MAX_AMBIGUOUS; i++)
			sbuf_addf(&sb, " %s", ids[i]);
		*code_r = REPLY_REFUSED;
		*error_r = sbuf_detach(&sb);
		free(msgid);
		records_ids_free(&ids, n);
		return -1;
	}
	found = records_message_by_recall_id(env->db, ids[0], m, &dberr);
	free(msgid);
	records_ids_free(&ids, n);
found:
	if (found < 0) {
		*code_r = REPLY_UNAVAILABLE;
		*error_r = dberr;
		return -1;
	}
	if (found == 0) {
		*code_r = REPLY_NOT_FOUND;
		*error_r = xasprintf("no message with recall id %s is recorded",
		    ref);
		return -1;
	}
	return 0;
}

static int
authorize(const struct recall_env *env, const struct authz_caller *caller,
    const struct records_message *m, const char *as, char **report_to_r,
    enum reply_code *code_r, char **error_r)
{
	struct authz_message am = { m->sender, m->auth_user, m->origin };
	char *reason = NULL;

	if (authorize_request(env->cfg, caller, &am, as, report_to_r,
	    &reason))
		return 0;
	log_warnx("refused %s (uid name %s) for message %s: %s",
	    caller->admin ? "admin" : "user", caller->user, m->recall_id,
	    reason);
	*code_r = REPLY_REFUSED;
	*error_r = reason;
	return -1;
}

/* The class the milter recorded, or a wider one the current config sees. */
static enum addr_class
recipient_class(const struct recall_env *env, const char *recipient,
    const char *recorded)
{
	enum addr_class now = addr_classify(recipient, env->cfg);
	enum addr_class then = strcmp(recorded, "list") == 0 ? ADDR_LIST
	    : strcmp(recorded, "external") == 0 ? ADDR_EXTERNAL : ADDR_LOCAL;

	if (then == ADDR_LIST || now == ADDR_LIST)
		return ADDR_LIST;
	if (then == ADDR_EXTERNAL || now == ADDR_EXTERNAL)
		return ADDR_EXTERNAL;
	return ADDR_LOCAL;
}

static enum decide_store
map_store(enum store_status s)
{
	switch (s) {
	case STORE_OK:
		return DECIDE_STORE_OK;
	case STORE_NO_USER:
		return DECIDE_STORE_NO_USER;
	case STORE_UNAVAILABLE:
	case STORE_FAILED:
		break;
	}
	return DECIDE_STORE_UNREACHABLE;
}

/* What one recall touches: the request, the message and its tokens. */
struct recall_job {
	const struct recall_env *env;
	const struct records_message *m;
	long long request_id;
	char **tokens;
	size_t n_tokens;
	bool dry_run;
};

/*
 * Remove one copy (steps 1-4 above).  Fills r; *vanished_r is set when
 * the copy was gone before we touched it.
 */
static void
remove_copy(const struct recall_job *job, const char *recipient,
    const char *user, const struct store_copy *c, struct decide_removal *r,
    char **errbuf, bool *vanished_r)
{
	const struct recall_env *env = job->env;
	struct records_quarantine q;
	struct store_copies after = { NULL, 0 };
	char *text = NULL, *err = NULL;
	size_t len = 0;
	bool exact = false;
	long long qid = 0;
	enum store_status s;
	const char *token = job->tokens[0];
	size_t k;

	memset(r, 0, sizeof(*r));
	r->mailbox = c->mailbox;
	*vanished_r = false;
	s = store_fetch_text(env->store, user, c->mailbox, c->uid, &text, &len,
	    &exact, &err);
	if (s != STORE_OK) {
		*errbuf = xasprintf("no quarantine copy, not removed: %s", err);
		r->error = *errbuf;
		free(err);
		return;
	}
	if (text == NULL) {
		*vanished_r = true;
		r->gone = true;
		return;
	}
	if (!exact)
		log_warnx("request %lld: %s %s/%lu: the quarantine copy is not "
		    "byte-exact (8-bit data Dovecot's API does not carry)",
		    job->request_id, user, c->mailbox, c->uid);
	memset(&q, 0, sizeof(q));
	q.request_id = job->request_id;
	q.recipient = recipient;
	q.copy_addr = recipient;
	q.store_user = user;
	q.mailbox = c->mailbox;
	q.uid = c->uid;
	q.flags = c->flags;
	q.message = text;
	q.len = len;
	q.days = env->cfg->policy.quarantine_days;
	if (records_quarantine_add(env->db, &q, &qid, &err) < 0) {
		free(text);
		*errbuf = xasprintf("no quarantine copy, not removed: %s", err);
		r->error = *errbuf;
		free(err);
		return;
	}
	free(text);

	/* Expunge under the token the copy actually carries. */
	for (k = 0; k < job->n_tokens; k++) {
		s = store_expunge(env->store, user, c->mailbox, c->uid,
		    job->tokens[k], !env->cfg->policy.recall_read, &err);
		if (s != STORE_OK)
			break;
	}
	if (s == STORE_OK)
		s = store_lookup(env->store, user, c->mailbox, c->uid, token,
		    &after, &err);
	/* The lookup checks the newest token; an older one may remain. */
	for (k = 1; s == STORE_OK && after.n == 0 && k < job->n_tokens; k++)
		s = store_lookup(env->store, user, c->mailbox, c->uid,
		    job->tokens[k], &after, &err);
	if (s != STORE_OK) {
		*errbuf = err;
		r->error = *errbuf;
	} else if (after.n == 0) {
		r->gone = true;
	} else {
		r->seen = after.v[0].seen && !env->cfg->policy.recall_read;
	}
	if (!r->gone) {
		char *verr = NULL;

		if (records_quarantine_void(env->db, qid, &verr) < 0) {
			log_warnx("request %lld: quarantine row %lld: %s",
			    job->request_id, qid, verr);
			free(verr);
		}
	}
	store_copies_free(&after);
}

/* Decide for one recipient, act on the decision, record and report it. */
static void
recall_recipient(const struct recall_job *job,
    const struct records_recipient *rc, struct report *rep)
{
	const struct recall_env *env = job->env;
	const struct recall_cfg *cfg = env->cfg;
	struct decide_input in;
	struct decision d = { OUTCOME_PENDING, false, NULL };
	struct store_copies copies = { NULL, 0 };
	struct decide_copy *dc = NULL;
	char *user = NULL, *serr = NULL, *at = NULL, *dberr = NULL;
	char *prior_at = NULL;
	const char *copy_addr = "";
	size_t i;

	memset(&in, 0, sizeof(in));
	in.recipient = rc->recipient;
	in.class = recipient_class(env, rc->recipient, rc->class);
	in.local_domains = cfg->local_domains.n > 0 ? cfg->local_domains.v[0]
	    : NULL;
	in.age = job->m->age;
	in.max_age = cfg->policy.max_age;
	in.opted_out = strlist_contains(&cfg->policy.opt_out, rc->recipient);
	in.recall_read = cfg->policy.recall_read;
	in.dry_run = job->dry_run;
	in.delivery = DECIDE_DELIVERY_UNKNOWN;
	in.store = DECIDE_STORE_NOT_ASKED;

	if (in.class == ADDR_LOCAL && !in.opted_out && in.age <= in.max_age) {
		enum store_status s;

		copy_addr = rc->recipient;
		user = addr_expand_user(cfg->store.dovecot_user, rc->recipient);
		s = store_find(env->store, user,
		    (const char *const *)job->tokens, job->n_tokens, &copies,
		    &serr);
		in.store = map_store(s);
		in.store_error = serr;
		if (s == STORE_FAILED || s == STORE_UNAVAILABLE)
			log_warnx("request %lld: store user %s: %s",
			    job->request_id, user, serr);
		dc = xcalloc(copies.n + 1, sizeof(*dc));
		for (i = 0; i < copies.n; i++) {
			dc[i].mailbox = copies.v[i].mailbox;
			dc[i].uid = copies.v[i].uid;
			dc[i].seen = copies.v[i].seen;
		}
		in.copies = dc;
		in.n_copies = copies.n;
		if (s == STORE_OK && copies.n == 0
		    && records_prior_recall(env->db, job->m->recall_id,
		    rc->recipient, &in.prior_request, &prior_at, &dberr) < 0) {
			log_warnx("request %lld: %s: %s", job->request_id,
			    rc->recipient, dberr);
			xfree(&dberr);
		}
		in.prior_at = prior_at;
	}
	decide(&in, &d);

	if (d.act) {
		struct decide_removal *rv = xcalloc(copies.n + 1, sizeof(*rv));
		char **errs = xcalloc(copies.n + 1, sizeof(*errs));
		size_t vanished = 0;
		bool v;

		for (i = 0; i < copies.n; i++) {
			remove_copy(job, rc->recipient, user, &copies.v[i],
			    &rv[i], &errs[i], &v);
			vanished += v;
		}
		if (vanished == copies.n) {
			decision_clear(&d);
			d.outcome = OUTCOME_NOT_FOUND;
			d.reason = xstrdup("deleted by the recipient during "
			    "the recall");
		} else {
			decide_removal(rv, copies.n,
			    cfg->policy.quarantine_days, &d);
		}
		for (i = 0; i < copies.n; i++)
			free(errs[i]);
		free(errs);
		free(rv);
	}

	if (records_outcome_add(env->db, job->request_id, rc->recipient,
	    copy_addr, outcome_name(d.outcome), d.reason, &at, &dberr) < 0) {
		log_warnx("request %lld: %s: outcome not recorded: %s",
		    job->request_id, rc->recipient, dberr);
		free(dberr);
	}
	log_info("request %lld: %s: %s: %s", job->request_id, rc->recipient,
	    outcome_name(d.outcome), d.reason);
	report_add(rep, rc->recipient, copy_addr, d.outcome, d.reason, at);

	free(at);
	free(prior_at);
	decision_clear(&d);
	free(dc);
	store_copies_free(&copies);
	free(serr);
	free(user);
}

static int
do_recall(const struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, const struct records_message *m,
    struct report *rep, enum reply_code *code_r, char **error_r)
{
	struct records_recipient *rcpts = NULL;
	struct recall_job job;
	char *report_to = NULL, *dberr = NULL;
	size_t n = 0, i;
	bool locked = false;

	if (authorize(env, caller, m, req->as, &report_to, code_r,
	    error_r) < 0)
		return -1;
	memset(&job, 0, sizeof(job));
	job.env = env;
	job.m = m;
	job.dry_run = req->dry_run;
	job.tokens = recall_tokens(env->keys, m->recall_id, &job.n_tokens);
	if (job.n_tokens == 0) {
		free(report_to);
		recall_tokens_free(&job.tokens, job.n_tokens);
		*code_r = REPLY_INTERNAL;
		*error_r = xstrdup("cannot make the message's tag "
		    "(tag.key_file)");
		return -1;
	}
	if (!req->dry_run) {
		if (records_try_lock(env->db, m->recall_id, &locked,
		    &dberr) < 0)
			goto dberror;
		if (!locked) {
			free(report_to);
			recall_tokens_free(&job.tokens, job.n_tokens);
			*code_r = REPLY_BUSY;
			*error_r = xasprintf("another recall of %s is running; "
			    "try again when it is done", m->message_id);
			return -1;
		}
	}
	if (records_request_new(env->db, m->recall_id, caller->user,
	    report_to, req->dry_run, &job.request_id, &dberr) < 0
	    || records_recipients(env->db, m->recall_id, &rcpts, &n,
	    &dberr) < 0)
		goto dberror;

	log_info("request %lld: %srecall of %s (recall id %s) by %s%s, "
	    "report to %s, %zu recipient%s", job.request_id,
	    req->dry_run ? "dry-run " : "", m->message_id, m->recall_id,
	    caller->user, caller->admin ? " (admin)" : "",
	    report_to != NULL ? report_to : "nobody", n, n == 1 ? "" : "s");
	rep->request_id = job.request_id;
	rep->message_id = xstrdup(m->message_id);
	rep->recall_id = xstrdup(m->recall_id);
	rep->dry_run = req->dry_run;
	for (i = 0; i < n; i++)
		recall_recipient(&job, &rcpts[i], rep);
	report_update_status(rep);
	if (records_request_finish(env->db, job.request_id,
	    request_status_name(rep->status), &dberr) < 0) {
		log_warnx("request %lld: status not recorded: %s",
		    job.request_id, dberr);
		xfree(&dberr);
	}
	log_info("request %lld: %s", job.request_id,
	    request_status_name(rep->status));
	if (locked)
		records_unlock(env->db, m->recall_id);
	records_recipients_free(&rcpts, n);
	recall_tokens_free(&job.tokens, job.n_tokens);
	free(report_to);
	return 0;

dberror:
	if (locked)
		records_unlock(env->db, m->recall_id);
	records_recipients_free(&rcpts, n);
	recall_tokens_free(&job.tokens, job.n_tokens);
	free(report_to);
	*code_r = REPLY_UNAVAILABLE;
	*error_r = dberr;
	return -1;
}

static int
do_status(const struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, struct report *rep, enum reply_code *code_r,
    char **error_r)
{
	struct records_message m;
	char *rid = NULL, *report_to = NULL, *dberr = NULL;
	long long id = 0;
	int found;

	memset(&m, 0, sizeof(m));
	if (request_ref_is_request_id(req->ref, &id)) {
		found = records_request_recall_id(env->db, id, &rid, &dberr);
		if (found > 0)
			found = records_message_by_recall_id(env->db, rid, &m,
			    &dberr);
		free(rid);
		if (found < 0)
			goto dberror;
		if (found == 0) {
			*code_r = REPLY_NOT_FOUND;
			*error_r = xasprintf("no recall request %lld", id);
			return -1;
		}
	} else if (resolve(env, req->ref, &m, code_r, error_r) < 0) {
		return -1;
	}
	if (authorize(env, caller, &m, NULL, &report_to, code_r,
	    error_r) < 0) {
		records_message_clear(&m);
		return -1;
	}
	free(report_to);
	if (id == 0) {
		found = records_last_request(env->db, m.recall_id, &id, &dberr);
		if (found < 0)
			goto dberror;
		if (found == 0) {
			*code_r = REPLY_NOT_FOUND;
			*error_r = xasprintf("no recall of %s was requested",
			    m.message_id);
			records_message_clear(&m);
			return -1;
		}
	}
	records_message_clear(&m);
	if (records_load_report(env->db, id, rep, &dberr) < 0) {
		report_clear(rep);
		goto dberror;
	}
	return 0;

dberror:
	records_message_clear(&m);
	*code_r = REPLY_UNAVAILABLE;
	*error_r = dberr;
	return -1;
}

int
recall_execute(const struct recall_env *env,
    const struct authz_caller *caller, const struct request *req,
    struct report *rep, enum reply_code *code_r, char **error_r)
{
	struct records_message m;
	int ret;

	memset(rep, 0, sizeof(*rep));
	*error_r = NULL;
	if (req->op == REQUEST_STATUS)
		return do_status(env, caller, req, rep, code_r, error_r);
	memset(&m, 0, sizeof(m));
	if (resolve(env, req->ref, &m, code_r, error_r) < 0)
		return -1;
	ret = do_recall(env, caller, req, &m, rep, code_r, error_r);
	records_message_clear(&m);
	if (ret < 0)
		report_clear(rep);
	return ret;
}
