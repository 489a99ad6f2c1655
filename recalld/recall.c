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
#include <strings.h>

#include "addr.h"
#include "auditev.h"
#include "log.h"
#include "held.h"
#include "mailreport.h"
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

void
recall_audit_refusal(const struct recall_env *env, const char *actor,
    const struct request *req, const char *recall_id, const char *relayed_by,
    const char *why)
{
	json_t *d = json_object();

	json_object_set_new(d, "op", json_string(request_op_name(req->op)));
	if (req->ref != NULL)
		json_object_set_new(d, "ref", auditev_str(req->ref));
	if (req->as != NULL)
		json_object_set_new(d, "as", auditev_str(req->as));
	if (req->on_behalf_of != NULL)
		json_object_set_new(d, "on_behalf_of",
		    auditev_str(req->on_behalf_of));
	if (relayed_by != NULL)
		json_object_set_new(d, "relayed_by", auditev_str(relayed_by));
	if (req->recipient != NULL)
		json_object_set_new(d, "recipient", auditev_str(req->recipient));
	json_object_set_new(d, "why", auditev_str(why));
	(void)auditev_append(env->db, actor, "refusal", recall_id, 0, d);
}

/* relayed_by: the unix user that relayed an on_behalf_of request. */
static int
authorize(const struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, const char *relayed_by,
    const struct records_message *m, char **report_to_r,
    enum reply_code *code_r, char **error_r)
{
	struct authz_message am = { m->sender, m->auth_user, m->origin };
	char *reason = NULL;

	if (authorize_request(env->cfg, caller, &am, req->as, report_to_r,
	    &reason))
		return 0;
	log_warnx("refused %s (uid name %s) for message %s: %s",
	    caller->admin ? "admin" : "user", caller->user, m->recall_id,
	    reason);
	recall_audit_refusal(env, caller->user, req, m->recall_id, relayed_by,
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
	const char *actor;	/* who asked (audit_log.actor) */
	long long request_id;
	char **tokens;
	size_t n_tokens;
	bool dry_run;
	/* The route ledger's rows of the message, read before deciding. */
	struct ledger_message *lm;	/* NULL: see ledger_error */
	char *ledger_error;		/* why the ledger is not current */
};

/*
 * Remove one copy (steps 1-4 above).  Fills r; *vanished_r is set when
 * the copy was gone before we touched it.
 */
static void
remove_copy(const struct recall_job *job, const char *recipient,
    const char *copy_addr, const char *user, const struct store_copy *c,
    struct decide_removal *r, char **errbuf, bool *vanished_r)
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
	q.copy_addr = copy_addr;
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
		json_t *ev = json_object();

		r->gone = true;
		json_object_set_new(ev, "recipient", auditev_str(recipient));
		json_object_set_new(ev, "store_user", auditev_str(user));
		json_object_set_new(ev, "mailbox", auditev_str(c->mailbox));
		json_object_set_new(ev, "uid", json_integer((json_int_t)c->uid));
		json_object_set_new(ev, "flags", auditev_str(c->flags));
		json_object_set_new(ev, "quarantine_id", json_integer(qid));
		(void)auditev_append(env->db, job->actor, "removal",
		    job->m->recall_id, job->request_id, ev);
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

/*
 * The race (issue #4): a client may download a copy between the decision
 * and the expunge (BODY.PEEK[] and POP3 TOP leave it unseen, so the
 * "unseen" expunge takes it anyway).  After the removal, read the logs up
 * to now; a body access of a removed copy turns "recalled" into the left-*
 * outcome it would have had, with the copy kept in quarantine.
 */
static void
recheck_removed(const struct recall_job *job, const char *user,
    const struct store_copies *copies, const bool *removed,
    struct decision *d)
{
	const struct recall_env *env = job->env;
	struct ledger_late late;
	char *err = NULL;
	size_t i;
	int r;

	if (env->ledger == NULL)
		return;
	if (ledger_catch_up(env->ledger, env->db, NULL, &err) < 0) {
		log_warnx("request %lld: %s: the logs could not be read again "
		    "after the removal: %s", job->request_id, user, err);
		xfree(&err);
	}
	for (i = 0; i < copies->n; i++) {
		if (!removed[i])
			continue;
		r = ledger_late_access(env->ledger, env->db, user,
		    copies->v[i].mailbox, copies->v[i].uid, &late, &err);
		if (r < 0) {
			log_warnx("request %lld: %s: %s", job->request_id,
			    user, err);
			xfree(&err);
			continue;
		}
		if (r == 0)
			continue;
		decision_clear(d);
		d->outcome = late.kind == EXPOSURE_MOBILE ? OUTCOME_LEFT_MOBILE
		    : late.kind == EXPOSURE_POP3 ? OUTCOME_LEFT_POP3
		    : OUTCOME_LEFT_IMAP;
		d->reason = xasprintf("%s from %s at %s: downloaded just "
		    "before the recall (the mailbox copy in %s was removed "
		    "and is kept in quarantine)",
		    late.kind == EXPOSURE_MOBILE ? "synced to a mobile device"
		    : late.kind == EXPOSURE_POP3 ? "body downloaded over POP3"
		    : "body downloaded over IMAP", late.where, late.at,
		    copies->v[i].mailbox);
		log_warnx("request %lld: %s %s/%lu: %s", job->request_id, user,
		    copies->v[i].mailbox, copies->v[i].uid, d->reason);
		ledger_late_clear(&late);
		return;
	}
}

/*
 * Decide for one copy of a recipient (lc: the ledger's copy, or NULL when
 * the ledger does not apply: external, list, opted out, expired, or the
 * ledger is not current), act on the decision, record and report it.
 */
static void
recall_copy(const struct recall_job *job, const struct records_recipient *rc,
    const struct ledger_copy *lc, struct report *rep)
{
	const struct recall_env *env = job->env;
	const struct recall_cfg *cfg = env->cfg;
	struct decide_input in;
	struct decision d = { OUTCOME_PENDING, false, NULL };
	struct decision first = { OUTCOME_PENDING, false, NULL };
	struct store_copies copies = { NULL, 0 };
	struct decide_copy *dc = NULL;
	char *user = NULL, *serr = NULL, *at = NULL, *dberr = NULL;
	char *prior_at = NULL, *reason = NULL;
	const char *copy_addr = "";
	bool local;
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
	local = in.class == ADDR_LOCAL && !in.opted_out
	    && in.age <= in.max_age;
	if (local && lc == NULL)
		in.ledger_error = job->ledger_error != NULL
		    ? job->ledger_error : "no route facts";
	if (lc != NULL) {
		in.delivery = lc->delivery;
		in.exposures = lc->exposures;
		in.n_exposures = lc->n_exposures;
		if (lc->bounced)
			in.never_delivered = lc->reason;
	}

	if (local && (lc == NULL || (lc->mailbox_copy
	    && lc->store_user != NULL))) {
		enum store_status s;

		copy_addr = lc != NULL ? lc->copy_addr : rc->recipient;
		user = lc != NULL ? xstrdup(lc->store_user)
		    : addr_expand_user(cfg->store.dovecot_user, rc->recipient);
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
	} else if (lc != NULL) {
		/* Not a mailbox copy: relayed, piped, bounced or queued. */
		copy_addr = lc->copy_addr;
		if (lc->bounced)
			in.store = DECIDE_STORE_OK;
	}
	decide(&in, &d);
	first.outcome = d.outcome;
	first.act = d.act;

	if (d.act) {
		struct decide_removal *rv = xcalloc(copies.n + 1, sizeof(*rv));
		char **errs = xcalloc(copies.n + 1, sizeof(*errs));
		bool *removed = xcalloc(copies.n + 1, sizeof(*removed));
		size_t vanished = 0;
		bool v;

		for (i = 0; i < copies.n; i++) {
			remove_copy(job, rc->recipient, copy_addr, user,
			    &copies.v[i], &rv[i], &errs[i], &v);
			vanished += v;
			removed[i] = rv[i].gone && !v;
		}
		if (vanished == copies.n) {
			decision_clear(&d);
			d.outcome = OUTCOME_NOT_FOUND;
			d.reason = xstrdup("deleted by the recipient during "
			    "the recall");
		} else {
			decide_removal(rv, copies.n,
			    cfg->policy.quarantine_days, &d);
			if (d.outcome == OUTCOME_RECALLED)
				recheck_removed(job, user, &copies, removed,
				    &d);
		}
		for (i = 0; i < copies.n; i++)
			free(errs[i]);
		free(errs);
		free(removed);
		free(rv);
	}

	/* A fan-out (alias, forward) has several copies per recipient. */
	if (*copy_addr != '\0' && strcasecmp(copy_addr, rc->recipient) != 0) {
		reason = xasprintf("copy for %s: %s", copy_addr, d.reason);
		free(d.reason);
		d.reason = reason;
	}
	if (records_outcome_add(env->db, job->request_id, rc->recipient,
	    copy_addr, outcome_name(d.outcome), d.reason, &at, &dberr) < 0) {
		log_warnx("request %lld: %s: outcome not recorded: %s",
		    job->request_id, rc->recipient, dberr);
		free(dberr);
	}
	log_info("request %lld: %s%s%s: %s: %s", job->request_id,
	    rc->recipient, *copy_addr != '\0' ? " copy " : "", copy_addr,
	    outcome_name(d.outcome), d.reason);
	(void)auditev_append(env->db, job->actor, "decision",
	    job->m->recall_id, job->request_id,
	    auditev_decision(&in, &first, &d, &copies));
	report_add(rep, rc->recipient, copy_addr, d.outcome, d.reason, at);

	free(at);
	free(prior_at);
	decision_clear(&d);
	free(dc);
	store_copies_free(&copies);
	free(serr);
	free(user);
}

/*
 * Decide for one envelope recipient: one decision per copy the route
 * ledger knows (an alias fanning out to two mailboxes is two copies).
 */
static void
recall_recipient(const struct recall_job *job,
    const struct records_recipient *rc, struct report *rep)
{
	const struct recall_cfg *cfg = job->env->cfg;
	struct ledger_copies lc;
	size_t i;

	if (job->lm == NULL
	    || recipient_class(job->env, rc->recipient, rc->class) != ADDR_LOCAL
	    || strlist_contains(&cfg->policy.opt_out, rc->recipient)
	    || job->m->age > cfg->policy.max_age) {
		recall_copy(job, rc, NULL, rep);
		return;
	}
	ledger_copies(job->env->ledger, job->lm, rc->recipient, &lc);
	for (i = 0; i < lc.n; i++)
		recall_copy(job, rc, &lc.v[i], rep);
	if (lc.n == 0)
		recall_copy(job, rc, NULL, rep);
	ledger_copies_free(&lc);
}

/*
 * Read both logs up to the present and load the message's ledger into
 * job (job->lm, or job->ledger_error when that is not possible).
 */
static void
recall_ledger_load(struct recall_job *job)
{
	const struct recall_env *env = job->env;
	char *err = NULL;
	int r;

	if (env->ledger == NULL) {
		job->ledger_error = xstrdup("the route ledger is not running "
		    "(the database was unavailable)");
		return;
	}
	if (ledger_catch_up(env->ledger, env->db, NULL, &err) < 0) {
		log_warnx("request %lld: reading the logs: %s",
		    job->request_id, err);
		job->ledger_error = xasprintf("reading the logs: %s", err);
		free(err);
		return;
	}
	r = ledger_message_load(env->ledger, env->db, job->m->recall_id,
	    &job->lm, &err);
	if (r < 0) {
		log_warnx("request %lld: loading the ledger: %s",
		    job->request_id, err);
		job->ledger_error = xasprintf("loading the ledger: %s", err);
		free(err);
	} else if (r == 0) {
		job->ledger_error = xstrdup("the message is unknown to the "
		    "ledger");
	}
}

/*
 * hold_external (issue #3): a message still held in its MTA queue is
 * deleted there, for every recipient at once (held.h).  Returns 1 when
 * that decided every recipient, 0 to decide per recipient as usual (not
 * held, released meanwhile, or a recipient whose copy must not go:
 * opted-out, or the message is past policy.max_age).
 */
static int
recall_held(const struct recall_job *job,
    const struct records_recipient *rcpts, size_t n, struct report *rep)
{
	const struct recall_env *env = job->env;
	enum held_result hr;
	enum outcome o;
	char *where = NULL, *err = NULL, *reason, *at = NULL;
	size_t i;

	if (job->m->age > env->cfg->policy.max_age)
		return 0;
	for (i = 0; i < n; i++)
		if (strlist_contains(&env->cfg->policy.opt_out,
		    rcpts[i].recipient))
			return 0;
	if (held_recall(env->db, job->m->recall_id, job->request_id,
	    job->dry_run, &hr, &where, &err) < 0) {
		log_warnx("request %lld: held mail: %s", job->request_id, err);
		free(err);
		return 0;
	}
	if (hr == HELD_NONE) {
		free(where);
		return 0;
	}
	o = hr == HELD_PENDING ? OUTCOME_PENDING : OUTCOME_HELD_RECALLED;
	reason = hr == HELD_DELETED ? xasprintf("held in the MTA queue (%s) "
	    "and deleted before it left", where)
	    : hr == HELD_WOULD ? xasprintf("held in the MTA queue (%s); would "
	    "be deleted before it leaves", where)
	    : xasprintf("held in the MTA queue (%s); its deletion is asked "
	    "for but not confirmed by the MTA host yet", where);
	for (i = 0; i < n; i++) {
		if (records_outcome_add(env->db, job->request_id,
		    rcpts[i].recipient, "", outcome_name(o), reason, &at,
		    &err) < 0) {
			log_warnx("request %lld: %s: outcome not recorded: %s",
			    job->request_id, rcpts[i].recipient, err);
			xfree(&err);
		}
		log_info("request %lld: %s: %s: %s", job->request_id,
		    rcpts[i].recipient, outcome_name(o), reason);
		report_add(rep, rcpts[i].recipient, "", o, reason, at);
		{
			json_t *d = json_object();

			json_object_set_new(d, "recipient",
			    auditev_str(rcpts[i].recipient));
			json_object_set_new(d, "outcome",
			    json_string(outcome_name(o)));
			json_object_set_new(d, "reason", auditev_str(reason));
			json_object_set_new(d, "held", auditev_str(where));
			(void)auditev_append(env->db, job->actor, "decision",
			    job->m->recall_id, job->request_id, d);
		}
		xfree(&at);
	}
	free(reason);
	free(where);
	return 1;
}

static int
do_recall(const struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, const struct records_message *m,
    struct report *rep, enum reply_code *code_r, char **error_r)
{
	struct records_recipient *rcpts = NULL;
	struct recall_job job;
	struct authz_caller relayed;
	const struct authz_caller *who = caller;
	const char *relayed_by = NULL;
	char *report_to = NULL, *dberr = NULL, *obo = NULL;
	size_t n = 0, i;
	bool locked = false;
	json_t *ev;

	if (req->on_behalf_of != NULL) {
		/*
		 * Recall by mail: the milter (or an admin) relays a request of
		 * the authenticated sender, who gets a user's rights, no more.
		 */
		const char *why = NULL;

		if (!caller->trusted) {
			*error_r = xstrdup("only root, milter.user and "
			    "recalld.admins may relay a request on_behalf_of "
			    "another address");
			recall_audit_refusal(env, caller->user, req,
			    m->recall_id, NULL, *error_r);
			*code_r = REPLY_REFUSED;
			return -1;
		}
		if ((obo = addr_normalise(req->on_behalf_of, &why)) == NULL
		    || *obo == '\0' || strchr(obo, '@') == NULL) {
			*error_r = xasprintf("on_behalf_of is not an address: "
			    "%s", why != NULL ? why : "no domain");
			free(obo);
			*code_r = REPLY_BAD_REQUEST;
			return -1;
		}
		relayed.user = obo;
		relayed.admin = false;
		relayed.trusted = false;
		who = &relayed;
		relayed_by = caller->user;
	}
	if (authorize(env, who, req, relayed_by, m, &report_to, code_r,
	    error_r) < 0) {
		free(obo);
		return -1;
	}
	memset(&job, 0, sizeof(job));
	job.env = env;
	job.m = m;
	job.actor = who->user;
	job.dry_run = req->dry_run;
	job.tokens = recall_tokens(env->keys, m->recall_id, &job.n_tokens);
	if (job.n_tokens == 0) {
		free(report_to);
		free(obo);
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
			free(obo);
			recall_tokens_free(&job.tokens, job.n_tokens);
			*code_r = REPLY_BUSY;
			*error_r = xasprintf("another recall of %s is running; "
			    "try again when it is done", m->message_id);
			return -1;
		}
	}
	if (records_request_new(env->db, m->recall_id, who->user, report_to,
	    req->via, req->dry_run, &job.request_id, &dberr) < 0
	    || records_recipients(env->db, m->recall_id, &rcpts, &n,
	    &dberr) < 0)
		goto dberror;

	/* No audit record, no recall: nothing is touched unrecorded. */
	ev = json_object();
	json_object_set_new(ev, "requested_by", auditev_str(who->user));
	if (relayed_by != NULL)
		json_object_set_new(ev, "relayed_by", auditev_str(relayed_by));
	json_object_set_new(ev, "admin", json_boolean(who->admin));
	json_object_set_new(ev, "ref", auditev_str(req->ref));
	json_object_set_new(ev, "message_id", auditev_str(m->message_id));
	json_object_set_new(ev, "as", auditev_str(req->as));
	json_object_set_new(ev, "report_to", auditev_str(report_to));
	json_object_set_new(ev, "via", auditev_str(req->via));
	json_object_set_new(ev, "dry_run", json_boolean(req->dry_run));
	json_object_set_new(ev, "recipients", json_integer((json_int_t)n));
	if (auditev_append(env->db, who->user, "request", m->recall_id,
	    job.request_id, ev) < 0) {
		(void)records_request_finish(env->db, job.request_id, "failed",
		    &dberr);
		xfree(&dberr);
		dberr = xstrdup("the audit log cannot be written; nothing was "
		    "done");
		goto dberror;
	}

	log_info("request %lld: %srecall of %s (recall id %s) by %s%s%s%s, "
	    "report to %s, %zu recipient%s", job.request_id,
	    req->dry_run ? "dry-run " : "", m->message_id, m->recall_id,
	    who->user, who->admin ? " (admin)" : "",
	    relayed_by != NULL ? " relayed by " : "",
	    relayed_by != NULL ? relayed_by : "",
	    report_to != NULL ? report_to : "nobody", n, n == 1 ? "" : "s");
	rep->request_id = job.request_id;
	rep->message_id = xstrdup(m->message_id);
	rep->recall_id = xstrdup(m->recall_id);
	rep->dry_run = req->dry_run;
	recall_ledger_load(&job);
	if (recall_held(&job, rcpts, n, rep) == 0)
		for (i = 0; i < n; i++)
			recall_recipient(&job, &rcpts[i], rep);
	ledger_message_free(&job.lm);
	xfree(&job.ledger_error);
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
	if (!req->dry_run)
		mailreport_send(env, who->user, m, rep, report_to);
	records_recipients_free(&rcpts, n);
	recall_tokens_free(&job.tokens, job.n_tokens);
	free(report_to);
	free(obo);
	return 0;

dberror:
	if (locked)
		records_unlock(env->db, m->recall_id);
	records_recipients_free(&rcpts, n);
	recall_tokens_free(&job.tokens, job.n_tokens);
	free(report_to);
	free(obo);
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
	if (authorize(env, caller, req, NULL, &m, &report_to, code_r,
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

/* ---- trace --------------------------------------------------------------- */

/* One trace event's detail: everything a row says besides its event. */
static char *
trace_detail(const struct db_result *r, int i)
{
	struct sbuf sb = SBUF_INIT;
	const char *source = db_str(r, i, 4), *detail = db_str(r, i, 6);
	const char *copy = db_str(r, i, 2), *rcpt = db_str(r, i, 1);
	const char *qid = db_str(r, i, 3), *box = db_str(r, i, 7);
	const char *uid = db_str(r, i, 8), *ip = db_str(r, i, 9);
	const char *port = db_str(r, i, 10);

	sbuf_adds(&sb, source);
	if (*qid != '\0')
		sbuf_addf(&sb, " %s", qid);
	if (*copy != '\0' && strcasecmp(copy, rcpt) != 0)
		sbuf_addf(&sb, " %s %s", strcmp(source, "dovecot") == 0
		    ? "user" : "to", copy);
	if (*box != '\0')
		sbuf_addf(&sb, " %s", box);
	if (*uid != '\0')
		sbuf_addf(&sb, " uid %s", uid);
	if (*ip != '\0')
		sbuf_addf(&sb, " from %s", ip);
	if (*port != '\0')
		sbuf_addf(&sb, " port %s", port);
	if (*detail != '\0')
		sbuf_addf(&sb, ": %s", detail);
	return sbuf_detach(&sb);
}

int
recall_trace(const struct recall_env *env, const struct authz_caller *caller,
    const struct request *req, char **answer_r, enum reply_code *code_r,
    char **error_r)
{
	struct records_message m;
	struct db_result *r;
	char *report_to = NULL, *err = NULL, *text;
	json_t *o, *events;
	int i;

	*answer_r = NULL;
	memset(&m, 0, sizeof(m));
	if (resolve(env, req->ref, &m, code_r, error_r) < 0)
		return -1;
	if (authorize(env, caller, req, NULL, &m, &report_to, code_r,
	    error_r) < 0) {
		records_message_clear(&m);
		return -1;
	}
	free(report_to);
	/* Everything up to now, as for a decision. */
	if (env->ledger != NULL
	    && ledger_catch_up(env->ledger, env->db, NULL, &err) < 0) {
		log_warnx("trace %s: reading the logs: %s", m.recall_id, err);
		xfree(&err);
	}
	if ((r = ledger_trace(env->db, m.recall_id, &err)) == NULL) {
		records_message_clear(&m);
		*code_r = REPLY_UNAVAILABLE;
		*error_r = err;
		return -1;
	}
	o = json_object();
	events = json_array();
	json_object_set_new(o, "message_id", json_string(m.message_id));
	json_object_set_new(o, "recall_id", json_string(m.recall_id));
	for (i = 0; i < db_rows(r); i++) {
		json_t *e = json_object();
		const char *rcpt = db_str(r, i, 1);
		char *detail = trace_detail(r, i);

		json_object_set_new(e, "at", json_string(db_str(r, i, 0)));
		json_object_set_new(e, "recipient", auditev_str(*rcpt != '\0'
		    ? rcpt : db_str(r, i, 2)));
		json_object_set_new(e, "event", auditev_str(db_str(r, i, 5)));
		json_object_set_new(e, "detail", auditev_str(detail));
		json_array_append_new(events, e);
		free(detail);
	}
	json_object_set_new(o, "events", events);
	db_result_free(&r);
	records_message_clear(&m);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();
	*answer_r = xstrdup(text);
	free(text);
	return 0;
}
