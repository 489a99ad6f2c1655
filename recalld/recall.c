/*
 * recall - the recall flow.  See recall.h.
 *
 * The decision is decide()'s alone; this file only gathers facts and
 * carries decisions out.  Copies are handled a chunk at a time, in
 * phases, each phase one batch of doveadm commands (store_batch, few HTTP
 * requests, several in flight) or one SQL transaction for the chunk.
 * The order keeps nothing destroyed without a kept copy:
 *
 *   1. find every copy (header search, exact token check; small texts
 *      come with it);
 *   2. decide every copy (decide.c);
 *   3. fetch the full text of each copy to remove that came without one;
 *   4. insert them into quarantine, one transaction, committed;
 *   5. expunge with "unseen" in the query (Dovecot re-checks \Seen) and
 *      look again in the same request: gone is removed; still there means
 *      it was read just before (or the store failed), and the quarantine
 *      row is voided;
 *   6. read the logs again and check the race (a download just before
 *      the expunge turns "recalled", or "read", into left-*);
 *   7. record outcomes (one transaction) and audit events (one batch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "audit.h"
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
/*
 * Copies decided and carried out together (memory: their texts, which
 * come with the find).  Once the message's size is known, small messages
 * go RECALL_CHUNK_MAX at a time (with the texts at most RECALL_TEXT_BYTES):
 * fewer, larger wildcard commands and fewer phase boundaries.
 */
#define RECALL_CHUNK 1000
#define RECALL_CHUNK_MAX 4000
/* Texts in memory at once while they are kept in quarantine. */
#define RECALL_TEXT_BYTES (64ULL * 1024 * 1024)
/*
 * Texts up to this size come with the find (one command less a copy),
 * unless copies share their file (texts_by_guid, judged on a chunk of at
 * least RECALL_SHARE_PROBE texts).
 */
#define RECALL_INLINE_TEXT (64UL * 1024)
#define RECALL_SHARE_PROBE 32

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
		    "recorded (a message sent seconds ago may not be "
		    "recorded yet: try again)", msgid);
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
	/* The largest copy seen so far (size.physical), 0 when none yet. */
	unsigned long long size_hint;
	/* Fetch texts once per GUID after the find (else with the find). */
	bool texts_by_guid;
};

/*
 * Audit events of a chunk, written together (audit_append_many()): one
 * transaction per chunk instead of one per event.
 */
struct audit_queue {
	struct audit_entry *v;
	char **details;
	size_t n, cap;
	char request_id[24];
};

static void
auditq_add(struct audit_queue *q, const struct recall_job *job,
    const char *action, json_t *detail)
{
	char *text = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(detail);
	if (text == NULL)
		abort();	/* only on out of memory */
	if (q->n == q->cap) {
		q->cap = q->cap == 0 ? 256 : 2 * q->cap;
		q->v = xrealloc(q->v, q->cap * sizeof(*q->v));
		q->details = xrealloc(q->details, q->cap * sizeof(*q->details));
	}
	snprintf(q->request_id, sizeof(q->request_id), "%lld",
	    job->request_id);
	q->details[q->n] = text;
	q->v[q->n] = (struct audit_entry){ job->actor, action,
	    job->m->recall_id, q->request_id, text };
	q->n++;
}

static void
auditq_flush(struct audit_queue *q, const struct recall_job *job)
{
	char *err = NULL;
	size_t i;

	if (q->n > 0 && audit_append_many(job->env->db, q->v, q->n, &err) < 0) {
		log_warnx("audit log: %zu events of request %lld not recorded: "
		    "%s", q->n, job->request_id, err);
		free(err);
	}
	for (i = 0; i < q->n; i++)
		free(q->details[i]);
	q->n = 0;
}

static void
auditq_free(struct audit_queue *q)
{
	free(q->v);
	free(q->details);
	memset(q, 0, sizeof(*q));
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One copy to decide: an envelope recipient and one of its copies in the
 * ledger (lc, or NULL when the ledger does not apply: external, list,
 * opted out, expired, or the ledger is not current).  It goes through
 * the phases of recall_chunk() below.
 */
struct item {
	const struct records_recipient *rc;
	const struct ledger_copy *lc;
	const char *copy_addr;
	char *user;		/* Dovecot user when the store is asked */
	bool ask_store;
	size_t op;		/* its operation in the current batch */
	struct decide_input in;
	struct decision d, first;
	struct store_copies copies;
	struct decide_copy *dc;
	char *serr, *prior_at;
	/* Removal, one entry per copy (when d.act). */
	struct removal *rm;
	size_t vanished;
};

struct removal {
	struct decide_removal r;
	char *error;
	long long qid;		/* quarantine row, 0 when none */
	size_t op;
	bool vanished;		/* gone before we touched it */
	bool removed;		/* gone by our expunge */
	bool late;		/* the ledger may know a late download */
};

/* Fill it->in from what is known without the store (the decide inputs). */
static void
item_prepare(const struct recall_job *job, struct item *it)
{
	const struct recall_env *env = job->env;
	const struct recall_cfg *cfg = env->cfg;
	const struct records_recipient *rc = it->rc;
	const struct ledger_copy *lc = it->lc;
	struct decide_input *in = &it->in;
	bool local;

	memset(in, 0, sizeof(*in));
	it->d = (struct decision){ OUTCOME_PENDING, false, NULL };
	it->first = it->d;
	it->copy_addr = "";
	in->recipient = rc->recipient;
	in->class = recipient_class(env, rc->recipient, rc->class);
	in->local_domains = cfg->local_domains.n > 0
	    ? cfg->local_domains.v[0] : NULL;
	in->age = job->m->age;
	in->max_age = cfg->policy.max_age;
	in->opted_out = strlist_contains(&cfg->policy.opt_out, rc->recipient);
	in->recall_read = cfg->policy.recall_read;
	in->dry_run = job->dry_run;
	in->delivery = DECIDE_DELIVERY_UNKNOWN;
	in->store = DECIDE_STORE_NOT_ASKED;
	local = in->class == ADDR_LOCAL && !in->opted_out
	    && in->age <= in->max_age;
	if (local && lc == NULL)
		in->ledger_error = job->ledger_error != NULL
		    ? job->ledger_error : "no route facts";
	if (lc != NULL) {
		in->delivery = lc->delivery;
		in->exposures = lc->exposures;
		in->n_exposures = lc->n_exposures;
		if (lc->bounced)
			in->never_delivered = lc->reason;
	}
	if (local && (lc == NULL || (lc->mailbox_copy
	    && lc->store_user != NULL))) {
		it->ask_store = true;
		it->copy_addr = lc != NULL ? lc->copy_addr : rc->recipient;
		it->user = lc != NULL ? xstrdup(lc->store_user)
		    : addr_expand_user(cfg->store.dovecot_user, rc->recipient);
	} else if (lc != NULL) {
		/* Not a mailbox copy: relayed, piped, bounced or queued. */
		it->copy_addr = lc->copy_addr;
		if (lc->bounced)
			in->store = DECIDE_STORE_OK;
	}
}

/* The find's answer for it: the copies, and what decide() needs. */
static void
item_found(struct recall_job *job, struct item *it, enum store_status s)
{
	const struct recall_env *env = job->env;
	char *dberr = NULL;
	size_t i;

	it->in.store = map_store(s);
	it->in.store_error = it->serr;
	if (s == STORE_FAILED || s == STORE_UNAVAILABLE)
		log_warnx("request %lld: store user %s: %s", job->request_id,
		    it->user, it->serr);
	it->dc = xcalloc(it->copies.n + 1, sizeof(*it->dc));
	for (i = 0; i < it->copies.n; i++) {
		it->dc[i].mailbox = it->copies.v[i].mailbox;
		it->dc[i].uid = it->copies.v[i].uid;
		it->dc[i].seen = it->copies.v[i].seen;
		if (it->copies.v[i].size > job->size_hint)
			job->size_hint = it->copies.v[i].size;
	}
	it->in.copies = it->dc;
	it->in.n_copies = it->copies.n;
	if (s == STORE_OK && it->copies.n == 0
	    && records_prior_recall(env->db, job->m->recall_id,
	    it->rc->recipient, &it->in.prior_request, &it->prior_at,
	    &dberr) < 0) {
		log_warnx("request %lld: %s: %s", job->request_id,
		    it->rc->recipient, dberr);
		xfree(&dberr);
	}
	it->in.prior_at = it->prior_at;
}

/*
 * Ask the store for the copies of items v[0..n), in one batch.
 *
 * The find looks first only at the mail Dovecot received since the
 * message was submitted (RECALL_FIND_MARGIN earlier, for clocks that
 * disagree).  In a mailbox of thousands of messages whose X-Recall-ID
 * Dovecot has not cached, that spares it reading every file: 0.53 s a
 * user with 3,000 messages, 0.08 s with the limit (docs/performance.md).
 * A delivered copy, and a copy moved or copied from it, keeps its
 * received date, so it is found.  A user where nothing is found is asked
 * again over all their mail (a copy appended with an older date), so the
 * answer is the same as without the limit.
 */
#define RECALL_FIND_MARGIN (24L * 3600)

static void
find_batch(struct recall_job *job, struct item *v, size_t n)
{
	struct store_batch *b = store_batch_new(job->env->store), *b2 = NULL;
	bool with_text = !job->dry_run && !job->texts_by_guid
	    && job->size_hint > 0 && job->size_hint <= RECALL_INLINE_TEXT;
	long within = job->m->age >= 0 ? job->m->age + RECALL_FIND_MARGIN : 0;
	enum store_status *st = xcalloc(n + 1, sizeof(*st));
	size_t i, asked = 0, again = 0;

	for (i = 0; i < n; i++)
		if (v[i].ask_store) {
			v[i].op = store_batch_find(b, v[i].user,
			    (const char *const *)job->tokens, job->n_tokens,
			    with_text, job->size_hint, within);
			asked++;
		}
	store_batch_run(b);
	for (i = 0; i < n; i++) {
		if (!v[i].ask_store)
			continue;
		st[i] = store_batch_copies(b, v[i].op, &v[i].copies,
		    &v[i].serr);
		if (st[i] == STORE_OK && v[i].copies.n == 0 && within > 0) {
			if (b2 == NULL)
				b2 = store_batch_new(job->env->store);
			v[i].op = store_batch_find(b2, v[i].user,
			    (const char *const *)job->tokens, job->n_tokens,
			    with_text, job->size_hint, 0);
			again++;
		}
	}
	if (b2 != NULL) {
		log_info("request %lld: %zu of %zu users have no copy received "
		    "since the submission: looking at all their mail",
		    job->request_id, again, asked);
		store_batch_run(b2);
		for (i = 0; i < n; i++)
			if (v[i].ask_store && st[i] == STORE_OK
			    && v[i].copies.n == 0) {
				store_copies_free(&v[i].copies);
				st[i] = store_batch_copies(b2, v[i].op,
				    &v[i].copies, &v[i].serr);
			}
		store_batch_free(&b2);
	}
	for (i = 0; i < n; i++)
		if (v[i].ask_store)
			item_found(job, &v[i], st[i]);
	free(st);
	store_batch_free(&b);
}

/*
 * Phase 1: ask the store for the copies of every item.  The message's
 * size is unknown before the first copy is found, so the first copy is
 * asked for alone, and the others then bring their texts along when the
 * message is small (RECALL_INLINE_TEXT): one command a copy less.
 */
static void
phase_find(struct recall_job *job, struct item *v, size_t n)
{
	size_t i = 0;

	if (!job->dry_run && job->size_hint == 0) {
		while (i < n && !v[i].ask_store)
			i++;
		if (i < n) {
			find_batch(job, &v[i], 1);
			i++;
		}
		/* The items before i do not ask the store. */
	}
	find_batch(job, &v[i], n - i);
}

static void
removal_fail(struct removal *rm, const char *what, const char *err)
{
	free(rm->error);
	rm->error = xasprintf("%s%s", what, err);
	rm->r.error = rm->error;
}

/*
 * The texts of the copies to remove (*pos onwards) that have none yet,
 * for as many copies as fit in RECALL_TEXT_BYTES (one at least): one
 * batch.  *end_r gets where the group ends.
 */
struct pos {
	size_t i, k;
};

static bool
pos_next(struct item *v, size_t n, struct pos *p)
{
	for (; p->i < n; p->i++, p->k = 0)
		for (; v[p->i].d.act && p->k < v[p->i].copies.n; p->k++)
			if (v[p->i].rm[p->k].error == NULL
			    && !v[p->i].rm[p->k].vanished)
				return true;
	return false;
}

/* Is p before end (removal order)? */
static bool
pos_before(const struct pos *p, const struct pos *end)
{
	return p->i < end->i || (p->i == end->i && p->k < end->k);
}

/* A copy whose text is still to come: from its own fetch, or rep's. */
struct text_need {
	const char *guid;
	unsigned long long size;
	struct pos at;
	size_t rep;		/* index in the need list of the copy fetched */
	bool again;		/* rep's fetch brought nothing: its own */
};

static int
text_need_cmp(const void *x, const void *y)
{
	const struct text_need *a = x, *b = y;
	int c = strcmp(a->guid, b->guid);

	if (c != 0)
		return c;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return pos_before(&a->at, &b->at) ? -1 : pos_before(&b->at, &a->at);
}

/* Fetch the texts of need[i] where need[i].rep == i, in one batch. */
static void
text_fetch(const struct recall_job *job, struct item *v,
    const struct text_need *need, size_t m)
{
	struct store_batch *b = store_batch_new(job->env->store);
	size_t i;

	for (i = 0; i < m; i++) {
		struct item *it = &v[need[i].at.i];
		struct store_copy *c = &it->copies.v[need[i].at.k];

		if (need[i].rep == i)
			it->rm[need[i].at.k].op = store_batch_text(b, it->user,
			    c->mailbox, c->uid, c->size);
	}
	store_batch_run(b);
	for (i = 0; i < m; i++) {
		struct item *it = &v[need[i].at.i];
		struct store_copy *c = &it->copies.v[need[i].at.k];
		struct removal *rm = &it->rm[need[i].at.k];
		enum store_status s;
		char *err = NULL;

		if (need[i].rep != i)
			continue;
		s = store_batch_text_result(b, rm->op, &c->text, &c->text_len,
		    &c->text_exact, &err);
		if (s != STORE_OK)
			removal_fail(rm, "no quarantine copy, not removed: ",
			    err);
		else if (c->text == NULL)
			rm->vanished = rm->r.gone = true;
		free(err);
	}
	store_batch_free(&b);
}

/*
 * The texts of the copies from `from` on, up to RECALL_TEXT_BYTES (*end_r:
 * where the group ends).  Copies of one message that Dovecot delivered
 * together (LMTP, one transaction to many recipients) are one file, linked
 * into every mailbox: the same GUID.  A GUID names one immutable message,
 * so the text is fetched once per GUID and size, and shared; should that
 * fetch fail or find the copy gone, the others are fetched on their own.
 * Returns how many texts were fetched and how many copies needed one.
 */
static void
text_group(const struct recall_job *job, struct item *v, size_t n,
    struct pos from, struct pos *end_r, size_t *fetched_r, size_t *needed_r)
{
	unsigned long long bytes = 0;
	struct text_need *need = NULL;
	struct pos p = from;
	size_t m = 0, cap = 0, i, again = 0;

	while (pos_next(v, n, &p)) {
		struct store_copy *c = &v[p.i].copies.v[p.k];

		if (bytes > 0 && bytes + c->size > RECALL_TEXT_BYTES)
			break;
		bytes += c->size;
		if (c->text == NULL) {
			if (m == cap) {
				cap = cap == 0 ? 64 : 2 * cap;
				need = xrealloc(need, cap * sizeof(*need));
			}
			need[m++] = (struct text_need){ c->guid != NULL
			    ? c->guid : "", c->size, p, 0, false };
		}
		p.k++;
	}
	*end_r = p;
	if (m > 1)
		qsort(need, m, sizeof(*need), text_need_cmp);
	for (i = 0; i < m; i++)
		need[i].rep = i > 0 && *need[i].guid != '\0'
		    && strcmp(need[i - 1].guid, need[i].guid) == 0
		    && need[i - 1].size == need[i].size ? need[i - 1].rep : i;
	text_fetch(job, v, need, m);
	*fetched_r = 0;
	for (i = 0; i < m; i++) {
		const struct text_need *r = &need[need[i].rep];
		const struct store_copy *rc = &v[r->at.i].copies.v[r->at.k];
		struct store_copy *c = &v[need[i].at.i].copies.v[need[i].at.k];

		if (need[i].rep == i) {
			(*fetched_r)++;
			continue;
		}
		if (rc->text == NULL) {
			need[i].again = true;	/* its own fetch, below */
			again++;
			continue;
		}
		c->text = xmalloc(rc->text_len + 1);
		memcpy(c->text, rc->text, rc->text_len + 1);
		c->text_len = rc->text_len;
		c->text_exact = rc->text_exact;
	}
	if (again > 0) {
		/* Only the copies whose own fetch is still to do. */
		for (i = 0; i < m; i++)
			need[i].rep = need[i].again ? i : m;
		text_fetch(job, v, need, m);
		*fetched_r += again;
	}
	*needed_r = m;
	free(need);
}

/*
 * Phases 3 and 4: fetch the full text of every copy to remove (those that
 * did not come with the find) and keep it in quarantine, group by group
 * (at most RECALL_TEXT_BYTES of text in memory), all in one transaction
 * committed before anything is expunged.  If the transaction fails, no
 * copy of the chunk is removed.
 */
static void
phase_keep(struct recall_job *job, struct item *v, size_t n)
{
	const struct recall_env *env = job->env;
	struct pos p = { 0, 0 }, end;
	char *err = NULL;
	size_t i, k, fetched = 0, needed = 0;
	bool ok;

	ok = db_begin(env->db, &err) == 0;
	while (ok && pos_next(v, n, &p)) {
		struct records_quarantine *q = NULL;
		long long *ids;
		struct pos g;
		size_t m = 0, cap = 0, j, f, nd;

		text_group(job, v, n, p, &end, &f, &nd);
		fetched += f;
		needed += nd;
		/* The group's rows, in one or a few statements. */
		for (g = p; pos_next(v, n, &g) && pos_before(&g, &end); g.k++) {
			struct store_copy *c = &v[g.i].copies.v[g.k];

			if (!c->text_exact)
				log_warnx("request %lld: %s %s/%lu: the "
				    "quarantine copy is not byte-exact (8-bit "
				    "data Dovecot's API does not carry)",
				    job->request_id, v[g.i].user, c->mailbox,
				    c->uid);
			if (m == cap) {
				cap = cap == 0 ? 64 : 2 * cap;
				q = xrealloc(q, cap * sizeof(*q));
			}
			memset(&q[m], 0, sizeof(q[m]));
			q[m].request_id = job->request_id;
			q[m].recipient = v[g.i].rc->recipient;
			q[m].copy_addr = v[g.i].copy_addr;
			q[m].store_user = v[g.i].user;
			q[m].mailbox = c->mailbox;
			q[m].uid = c->uid;
			q[m].flags = c->flags;
			q[m].message = c->text != NULL ? c->text : "";
			q[m].len = c->text_len;
			q[m].days = env->cfg->policy.quarantine_days;
			m++;
		}
		ids = xcalloc(m + 1, sizeof(*ids));
		ok = records_quarantine_add_many(env->db, q, m, ids, &err) == 0;
		for (j = 0, g = p; pos_next(v, n, &g) && pos_before(&g, &end);
		    g.k++, j++) {
			v[g.i].rm[g.k].qid = ok ? ids[j] : 0;
			/* In the database now (or never will be). */
			xfree(&v[g.i].copies.v[g.k].text);
		}
		free(ids);
		free(q);
		p = end;
	}
	/*
	 * Texts by GUID pay when copies share their file; when they do not
	 * (one delivery a copy), the next chunks bring them with the find.
	 */
	if (needed > 0)
		log_info("request %lld: %zu texts fetched for %zu copies",
		    job->request_id, fetched, needed);
	if (needed >= RECALL_SHARE_PROBE)
		job->texts_by_guid = 2 * fetched <= needed;
	if (ok)
		ok = db_commit(env->db, &err) == 0;
	else
		db_rollback(env->db);
	for (i = 0; i < n; i++)
		for (k = 0; k < v[i].copies.n; k++) {
			struct removal *rm = v[i].d.act ? &v[i].rm[k] : NULL;

			xfree(&v[i].copies.v[k].text);
			if (rm != NULL && !ok && rm->error == NULL
			    && !rm->vanished) {
				rm->qid = 0;
				removal_fail(rm, "no quarantine copy, not "
				    "removed: ", err);
			}
		}
	free(err);
}

/*
 * What is known of removal k of it after the expunge: gone (audited as a
 * removal), or still there (seen: read just before) and its quarantine
 * row is voided.
 */
static void
removal_settle(const struct recall_job *job, struct audit_queue *aq,
    struct item *it, size_t k, bool gone, bool seen)
{
	const struct recall_env *env = job->env;
	const struct store_copy *c = &it->copies.v[k];
	struct removal *rm = &it->rm[k];
	char *verr = NULL;

	if (gone) {
		json_t *ev = json_object();

		rm->r.gone = rm->removed = true;
		json_object_set_new(ev, "recipient",
		    auditev_str(it->rc->recipient));
		json_object_set_new(ev, "store_user", auditev_str(it->user));
		json_object_set_new(ev, "mailbox", auditev_str(c->mailbox));
		json_object_set_new(ev, "uid", json_integer((json_int_t)c->uid));
		json_object_set_new(ev, "flags", auditev_str(c->flags));
		json_object_set_new(ev, "quarantine_id", json_integer(rm->qid));
		auditq_add(aq, job, "removal", ev);
		return;
	}
	rm->r.seen = seen && !env->cfg->policy.recall_read;
	if (records_quarantine_void(env->db, rm->qid, &verr) < 0) {
		log_warnx("request %lld: quarantine row %lld: %s",
		    job->request_id, rm->qid, verr);
		free(verr);
	}
}

/* loc[j]: where the copy of removal at[j] is. */
static void
loc_fill(struct item *v, const struct pos *at, size_t m,
    struct ledger_loc *loc)
{
	size_t j;

	for (j = 0; j < m; j++) {
		const struct item *it = &v[at[j].i];
		const struct store_copy *c = &it->copies.v[at[j].k];

		loc[j] = (struct ledger_loc){ it->user, c->mailbox, c->uid };
	}
}

/* Whether it->copies holds mailbox/uid. */
static bool
item_has_copy(const struct item *it, const char *mailbox, unsigned long uid)
{
	size_t k;

	for (k = 0; k < it->copies.n; k++)
		if (it->copies.v[k].uid == uid
		    && strcmp(it->copies.v[k].mailbox, mailbox) == 0)
			return true;
	return false;
}

/*
 * gone[j]: removal at[j] is gone from where it was, and the Dovecot log
 * did not show our expunge of it.  A client may have moved it in the
 * meantime (IMAP MOVE, a filter): one find over all the user's mail each,
 * and a copy of the message where none was before means the copy moved.
 * It is then not removed, and stays pending for the next try.
 */
static void
removal_moved(const struct recall_job *job, struct item *v,
    const struct pos *at, size_t m, bool *gone)
{
	struct store_batch *b = store_batch_new(job->env->store);
	size_t j, i, *op = xcalloc(m + 1, sizeof(*op));

	for (j = 0; j < m; j++)
		if (gone[j])
			op[j] = store_batch_find(b, v[at[j].i].user,
			    (const char *const *)job->tokens, job->n_tokens,
			    false, 0, 0);
	store_batch_run(b);
	for (j = 0; j < m; j++) {
		struct item *it = &v[at[j].i];
		struct removal *rm = &it->rm[at[j].k];
		struct store_copies now = { NULL, 0 };
		char *err = NULL, *why;

		if (!gone[j])
			continue;
		if (store_batch_copies(b, op[j], &now, &err) != STORE_OK) {
			free(err);	/* gone is what we know */
			continue;
		}
		for (i = 0; i < now.n; i++)
			if (!item_has_copy(it, now.v[i].mailbox, now.v[i].uid))
				break;
		if (i < now.n) {
			why = xasprintf("moved to %s during the recall",
			    now.v[i].mailbox);
			log_info("request %lld: %s: the copy in %s was %s",
			    job->request_id, it->user,
			    it->copies.v[at[j].k].mailbox, why);
			removal_fail(rm, "", why);
			free(why);
			gone[j] = false;
		}
		store_copies_free(&now);
	}
	free(op);
	store_batch_free(&b);
}

/*
 * Look again at the removals (i, k) of at[0..m): gone, or still there.
 * by_log: the Dovecot log did not show them taken by our expunge, so a
 * copy gone may have moved instead (removal_moved()).
 */
static void
removal_look_again(const struct recall_job *job, struct audit_queue *aq,
    struct item *v, const struct pos *at, size_t m, bool by_log)
{
	struct store_batch *b = store_batch_new(job->env->store);
	bool *gone = xcalloc(m + 1, sizeof(*gone)), *seen;
	size_t j, n_gone = 0;

	for (j = 0; j < m; j++) {
		struct item *it = &v[at[j].i];
		const struct store_copy *c = &it->copies.v[at[j].k];

		it->rm[at[j].k].op = store_batch_lookup(b, it->user,
		    c->mailbox, c->uid, (const char *const *)job->tokens,
		    job->n_tokens);
	}
	store_batch_run(b);
	seen = xcalloc(m + 1, sizeof(*seen));
	for (j = 0; j < m; j++) {
		struct item *it = &v[at[j].i];
		struct removal *rm = &it->rm[at[j].k];
		struct store_copies after = { NULL, 0 };
		char *err = NULL;

		if (store_batch_copies(b, rm->op, &after, &err) != STORE_OK) {
			removal_fail(rm, "", err);
		} else {
			gone[j] = after.n == 0;
			seen[j] = after.n > 0 && after.v[0].seen;
			n_gone += gone[j];
		}
		free(err);
		store_copies_free(&after);
	}
	store_batch_free(&b);
	if (by_log && n_gone > 0)
		removal_moved(job, v, at, m, gone);
	for (j = 0; j < m; j++)
		removal_settle(job, aq, &v[at[j].i], at[j].k, gone[j],
		    seen[j]);
	free(gone);
	free(seen);
}

/*
 * The Dovecot log says which expunges took their copy (mail_log
 * "expunge" lines of doveadm, read into the ledger): those are gone
 * without asking Dovecot again.  Log lines arrive a little after the
 * answer, so the log is read again while it brings news (at least
 * RECALL_LOG_WAIT_MIN_MS, at most RECALL_LOG_WAIT_MAX_MS); the removals
 * it does not show are looked at again.  at[0..m) is compacted.
 */
#define RECALL_LOG_WAIT_MIN_MS 500
#define RECALL_LOG_WAIT_MAX_MS 3000
#define RECALL_LOG_POLL_MS 50

static void
removal_confirm(const struct recall_job *job, struct audit_queue *aq,
    struct item *v, struct pos *at, size_t m, const char *since)
{
	const struct recall_env *env = job->env;
	struct ledger_loc *loc = xcalloc(m + 1, sizeof(*loc));
	bool *hit = xcalloc(m + 1, sizeof(*hit));
	long long t0 = now_ms(), news = t0;
	char *err = NULL;
	size_t j, left = m, asked = m, rounds = 0;

	while (left > 0) {
		rounds++;
		if (ledger_catch_up(env->ledger, env->db, NULL, &err) < 0
		    || (loc_fill(v, at, left, loc),
		    ledger_expunged(env->db, loc, left, since, hit,
		    &err) < 0)) {
			log_warnx("request %lld: the log cannot confirm the "
			    "removals (%s): looking again", job->request_id,
			    err);
			xfree(&err);
			break;
		}
		for (j = 0; j < left; ) {
			if (!hit[j]) {
				j++;
				continue;
			}
			removal_settle(job, aq, &v[at[j].i], at[j].k, true,
			    false);
			at[j] = at[left - 1];
			hit[j] = hit[left - 1];
			left--;
			news = now_ms();
		}
		if (left == 0 || now_ms() - t0 >= RECALL_LOG_WAIT_MAX_MS
		    || (now_ms() - t0 >= RECALL_LOG_WAIT_MIN_MS
		    && now_ms() - news >= RECALL_LOG_WAIT_MIN_MS))
			break;
		{
			struct timespec ts = { 0, RECALL_LOG_POLL_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	log_info("request %lld: %zu of %zu removals confirmed by the log in "
	    "%lld ms, %zu reads", job->request_id, asked - left, asked,
	    now_ms() - t0, rounds);
	if (left > 0)
		log_info("request %lld: %zu of %zu removals not in the Dovecot "
		    "log: looking again", job->request_id, left, asked);
	removal_look_again(job, aq, v, at, left, true);
	free(loc);
	free(hit);
}

/*
 * Phase 5: expunge every quarantined copy ("unseen" in the query unless
 * policy.recall_read).  Then what is gone: from the Dovecot log when
 * recalld follows it (removal_confirm; events.dovecot_log), else by
 * looking again in the same request.  Gone is removed; still there is
 * read just before (or the store failed), and the quarantine row is
 * voided.
 */
static void
phase_expunge(const struct recall_job *job, struct audit_queue *aq,
    struct item *v, size_t n)
{
	const struct recall_env *env = job->env;
	struct store_batch *b = store_batch_new(env->store);
	bool by_log = env->ledger != NULL
	    && ledger_follows_dovecot(env->ledger);
	struct pos *at = NULL;
	size_t i, k, m = 0, cap = 0;
	char since[32];
	time_t t = time(NULL) - 1;	/* log lines have whole seconds */
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < n; i++)
		for (k = 0; v[i].d.act && k < v[i].copies.n; k++)
			if (v[i].rm[k].qid != 0)
				v[i].rm[k].op = store_batch_expunge(b,
				    v[i].user, v[i].copies.v[k].mailbox,
				    v[i].copies.v[k].uid,
				    v[i].copies.v[k].mailbox_guid,
				    (const char *const *)job->tokens,
				    job->n_tokens,
				    !env->cfg->policy.recall_read, !by_log);
	store_batch_run(b);
	for (i = 0; i < n; i++)
		for (k = 0; v[i].d.act && k < v[i].copies.n; k++) {
			struct removal *rm = &v[i].rm[k];
			struct store_copies after = { NULL, 0 };
			char *err = NULL;

			if (rm->qid == 0)
				continue;
			if (store_batch_copies(b, rm->op, &after, &err)
			    != STORE_OK) {
				removal_fail(rm, "", err);
				removal_settle(job, aq, &v[i], k, false, false);
			} else if (!by_log) {
				removal_settle(job, aq, &v[i], k, after.n == 0,
				    after.n > 0 && after.v[0].seen);
			} else {
				if (m == cap) {
					cap = cap == 0 ? 64 : 2 * cap;
					at = xrealloc(at, cap * sizeof(*at));
				}
				at[m++] = (struct pos){ i, k };
			}
			free(err);
			store_copies_free(&after);
		}
	store_batch_free(&b);
	if (m > 0)
		removal_confirm(job, aq, v, at, m, since);
	free(at);
}

/*
 * The race (issue #4): a client may download a copy between the decision
 * and the expunge.  BODY.PEEK[] and POP3 TOP leave it unseen, so the
 * "unseen" expunge takes it anyway; BODY[] and POP3 RETR set \Seen, so the
 * expunge leaves it, and the look again finds it read.  Either way the copy
 * has left, and a download outranks a read.  After the removal the logs
 * are read up to now (once per chunk, by the caller); a download of a
 * copy the expunge touched turns "recalled" or "read" into the left-*
 * outcome it would have had.
 */

/* Removal rm may have a late download: gone by our hand, or read since. */
static bool
late_candidate(const struct removal *rm)
{
	return rm->removed || (!rm->r.gone && rm->r.seen);
}

static void
recheck_late(const struct recall_job *job, struct item *it)
{
	const struct recall_env *env = job->env;
	struct ledger_late late;
	struct decision *d = &it->d;
	char *err = NULL;
	size_t i;
	int r;

	if (env->ledger == NULL)
		return;
	for (i = 0; i < it->copies.n; i++) {
		const struct store_copy *c = &it->copies.v[i];

		if (!late_candidate(&it->rm[i]) || !it->rm[i].late)
			continue;
		r = ledger_late_access(env->ledger, env->db, it->user,
		    c->mailbox, c->uid, &late, &err);
		if (r < 0) {
			log_warnx("request %lld: %s: %s", job->request_id,
			    it->user, err);
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
		    "before the recall (%s %s%s)",
		    late.kind == EXPOSURE_MOBILE ? "synced to a mobile device"
		    : late.kind == EXPOSURE_POP3 ? "body downloaded over POP3"
		    : "body downloaded over IMAP", late.where, late.at,
		    it->rm[i].removed ? "the mailbox copy in" : "the copy stays in",
		    c->mailbox, it->rm[i].removed ? " was removed and is kept "
		    "in quarantine" : "");
		ledger_late_clear(&late);
		return;
	}
}

/* Phase 6: the final outcome of every item that removed copies. */
static void
phase_verify(const struct recall_job *job, struct item *v, size_t n)
{
	const struct recall_env *env = job->env;
	char *err = NULL;
	size_t i, k, touched = 0;

	for (i = 0; i < n; i++)
		for (k = 0; v[i].d.act && k < v[i].copies.n; k++)
			touched += late_candidate(&v[i].rm[k]);
	/* Read the logs up to after the expunges, once for the chunk. */
	if (touched > 0 && env->ledger != NULL
	    && ledger_catch_up(env->ledger, env->db, NULL, &err) < 0) {
		log_warnx("request %lld: the logs could not be read again "
		    "after the removal: %s", job->request_id, err);
		xfree(&err);
	}
	/* Which of those copies may have a late download: one query. */
	if (touched > 0 && env->ledger != NULL) {
		struct ledger_loc *loc = xcalloc(touched, sizeof(*loc));
		bool *hit = xcalloc(touched, sizeof(*hit));
		size_t m = 0;

		for (i = 0; i < n; i++)
			for (k = 0; v[i].d.act && k < v[i].copies.n; k++)
				if (late_candidate(&v[i].rm[k]))
					loc[m++] = (struct ledger_loc){
					    v[i].user, v[i].copies.v[k].mailbox,
					    v[i].copies.v[k].uid };
		if (ledger_late_candidates(env->db, loc, m, hit, &err) < 0) {
			/* Ask for every copy one by one instead. */
			log_warnx("request %lld: %s", job->request_id, err);
			xfree(&err);
			for (m = 0; m < touched; m++)
				hit[m] = true;
		}
		m = 0;
		for (i = 0; i < n; i++)
			for (k = 0; v[i].d.act && k < v[i].copies.n; k++)
				if (late_candidate(&v[i].rm[k]))
					v[i].rm[k].late = hit[m++];
		free(loc);
		free(hit);
	}
	for (i = 0; i < n; i++) {
		struct item *it = &v[i];
		struct decide_removal *rv;

		if (!it->d.act)
			continue;
		for (k = 0; k < it->copies.n; k++)
			it->vanished += it->rm[k].vanished;
		if (it->vanished == it->copies.n) {
			decision_clear(&it->d);
			it->d.outcome = OUTCOME_NOT_FOUND;
			it->d.reason = xstrdup("deleted by the recipient during "
			    "the recall");
			continue;
		}
		rv = xcalloc(it->copies.n + 1, sizeof(*rv));
		for (k = 0; k < it->copies.n; k++)
			rv[k] = it->rm[k].r;
		decide_removal(rv, it->copies.n,
		    env->cfg->policy.quarantine_days, &it->d);
		free(rv);
		if (it->d.outcome == OUTCOME_RECALLED
		    || it->d.outcome == OUTCOME_READ)
			recheck_late(job, it);
	}
}

/* Phase 7: record, log, audit and report every item's outcome. */
static void
phase_record(const struct recall_job *job, struct audit_queue *aq,
    struct item *v, size_t n, struct report *rep)
{
	const struct recall_env *env = job->env;
	struct records_outcome *rows = xcalloc(n + 1, sizeof(*rows));
	char *err = NULL;
	size_t i;
	bool txn, one = false;

	/* A fan-out (alias, forward) has several copies per recipient. */
	for (i = 0; i < n; i++) {
		struct item *it = &v[i];

		if (*it->copy_addr != '\0'
		    && strcasecmp(it->copy_addr, it->rc->recipient) != 0) {
			char *reason = xasprintf("copy for %s: %s",
			    it->copy_addr, it->d.reason);

			free(it->d.reason);
			it->d.reason = reason;
		}
		rows[i] = (struct records_outcome){ it->rc->recipient,
		    it->copy_addr, outcome_name(it->d.outcome), it->d.reason,
		    NULL };
	}
	/*
	 * One transaction and one statement for the chunk's outcome rows;
	 * should the statement fail, row by row after its savepoint.
	 */
	txn = db_begin(env->db, &err) == 0;
	if (!txn)
		xfree(&err);
	if (txn && db_exec(env->db, "SAVEPOINT outcomes", 0, NULL, NULL,
	    &err) == 0 && records_outcome_add_many(env->db, job->request_id,
	    rows, n, &err) == 0)
		one = true;
	else if (txn) {
		log_warnx("request %lld: outcomes one by one: %s",
		    job->request_id, err);
		xfree(&err);
		if (db_exec(env->db, "ROLLBACK TO SAVEPOINT outcomes", 0, NULL,
		    NULL, &err) < 0)
			xfree(&err);
	}
	for (i = 0; !one && i < n; i++)
		if (records_outcome_add(env->db, job->request_id,
		    rows[i].recipient, rows[i].copy_addr, rows[i].outcome,
		    rows[i].reason, &rows[i].at, &err) < 0) {
			log_warnx("request %lld: %s: outcome not recorded: %s",
			    job->request_id, rows[i].recipient, err);
			xfree(&err);
		}
	if (txn && db_commit(env->db, &err) < 0) {
		log_warnx("request %lld: %zu outcomes not recorded: %s",
		    job->request_id, n, err);
		xfree(&err);
	}
	for (i = 0; i < n; i++) {
		struct item *it = &v[i];
		const struct records_recipient *rc = it->rc;

		log_info("request %lld: %s%s%s: %s: %s", job->request_id,
		    rc->recipient, *it->copy_addr != '\0' ? " copy " : "",
		    it->copy_addr, outcome_name(it->d.outcome), it->d.reason);
		auditq_add(aq, job, "decision", auditev_decision(&it->in,
		    &it->first, &it->d, &it->copies));
		report_add(rep, rc->recipient, it->copy_addr, it->d.outcome,
		    it->d.reason, rows[i].at);
		free(rows[i].at);
	}
	free(rows);
	auditq_flush(aq, job);
}

static void
item_clear(struct item *it)
{
	size_t k;

	for (k = 0; it->rm != NULL && k < it->copies.n; k++)
		free(it->rm[k].error);
	free(it->rm);
	decision_clear(&it->d);
	free(it->dc);
	store_copies_free(&it->copies);
	free(it->serr);
	free(it->prior_at);
	free(it->user);
	memset(it, 0, sizeof(*it));
}

/*
 * Decide and carry out items v[0..n) in phases, each phase one batch for
 * the whole chunk: find → decide → fetch texts → quarantine (committed)
 * → expunge and look again → re-read the logs and verify → record.
 */
static void
recall_chunk(struct recall_job *job, struct item *v, size_t n,
    struct report *rep)
{
	struct audit_queue aq;
	long long t[7];
	size_t i;

	memset(&aq, 0, sizeof(aq));
	t[0] = now_ms();
	phase_find(job, v, n);
	t[1] = now_ms();
	for (i = 0; i < n; i++) {
		decide(&v[i].in, &v[i].d);
		v[i].first.outcome = v[i].d.outcome;
		v[i].first.act = v[i].d.act;
		if (v[i].d.act)
			v[i].rm = xcalloc(v[i].copies.n + 1,
			    sizeof(*v[i].rm));
		for (size_t k = 0; v[i].d.act && k < v[i].copies.n; k++)
			v[i].rm[k].r.mailbox = v[i].copies.v[k].mailbox;
	}
	t[2] = now_ms();
	phase_keep(job, v, n);
	t[3] = now_ms();
	phase_expunge(job, &aq, v, n);
	t[4] = now_ms();
	phase_verify(job, v, n);
	t[5] = now_ms();
	phase_record(job, &aq, v, n, rep);
	t[6] = now_ms();
	auditq_free(&aq);
	log_info("request %lld: %zu cop%s in %lld ms: find+decide %lld, "
	    "texts+quarantine %lld, expunge %lld, verify %lld, record %lld",
	    job->request_id, n, n == 1 ? "y" : "ies", t[6] - t[0],
	    t[1] - t[0], t[3] - t[1], t[4] - t[3], t[5] - t[4], t[6] - t[5]);
}

/*
 * Decide for every envelope recipient: one item per copy the route ledger
 * knows (an alias fanning out to two mailboxes is two copies), carried out
 * a chunk at a time (RECALL_CHUNK, memory: the texts of one chunk).
 */
static void
recall_recipients(struct recall_job *job,
    const struct records_recipient *rcpts, size_t n, struct report *rep)
{
	const struct recall_cfg *cfg = job->env->cfg;
	struct ledger_copies *lc = xcalloc(n + 1, sizeof(*lc));
	struct item *v = NULL;
	size_t n_items = 0, cap = 0, i, k, at, m, rest, chunks;

	for (i = 0; i < n; i++) {
		const struct records_recipient *rc = &rcpts[i];
		bool ledger = job->lm != NULL
		    && recipient_class(job->env, rc->recipient, rc->class)
		    == ADDR_LOCAL
		    && !strlist_contains(&cfg->policy.opt_out, rc->recipient)
		    && job->m->age <= cfg->policy.max_age;

		if (ledger)
			ledger_copies(job->env->ledger, job->lm,
			    rc->recipient, &lc[i]);
		for (k = 0; k < (lc[i].n > 0 ? lc[i].n : 1); k++) {
			if (n_items == cap) {
				cap = cap == 0 ? 64 : 2 * cap;
				v = xrealloc(v, cap * sizeof(*v));
			}
			memset(&v[n_items], 0, sizeof(v[n_items]));
			v[n_items].rc = rc;
			v[n_items].lc = lc[i].n > 0 ? &lc[i].v[k] : NULL;
			n_items++;
		}
	}
	for (at = 0; at < n_items; at += m) {
		m = RECALL_CHUNK;
		if (job->size_hint > 0 && RECALL_TEXT_BYTES / job->size_hint > m)
			m = RECALL_TEXT_BYTES / job->size_hint;
		if (m > RECALL_CHUNK_MAX)
			m = RECALL_CHUNK_MAX;
		/* The rest in equal chunks: no small one at the end. */
		rest = n_items - at;
		chunks = (rest + m - 1) / m;
		m = (rest + chunks - 1) / chunks;

		for (i = at; i < at + m; i++)
			item_prepare(job, &v[i]);
		recall_chunk(job, &v[at], m, rep);
		for (i = at; i < at + m; i++)
			item_clear(&v[i]);
	}
	free(v);
	for (i = 0; i < n; i++)
		ledger_copies_free(&lc[i]);
	free(lc);
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
	long long t0 = now_ms(), t1;
	size_t lines = 0;
	int r;

	if (env->ledger == NULL) {
		job->ledger_error = xstrdup("the route ledger is not running "
		    "(the database was unavailable)");
		return;
	}
	if (ledger_catch_up(env->ledger, env->db, &lines, &err) < 0) {
		log_warnx("request %lld: reading the logs: %s",
		    job->request_id, err);
		job->ledger_error = xasprintf("reading the logs: %s", err);
		free(err);
		return;
	}
	t1 = now_ms();
	r = ledger_message_load(env->ledger, env->db, job->m->recall_id,
	    &job->lm, &err);
	log_info("request %lld: logs read up to now in %lld ms (%zu lines), "
	    "the message's ledger (%zu rows) in %lld ms", job->request_id,
	    t1 - t0, lines, r > 0 ? ledger_message_rows(job->lm) : 0,
	    now_ms() - t1);
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
	size_t n = 0;
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
	job.texts_by_guid = true;
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
		recall_recipients(&job, rcpts, n, rep);
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
	if (!req->dry_run) {
		long long t0 = now_ms();

		mailreport_send(env, who->user, m, rep, report_to);
		log_info("request %lld: report done in %lld ms", job.request_id,
		    now_ms() - t0);
	}
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

/* ---- retry of pending copies --------------------------------------------- */

/*
 * A held message whose deletion this request asked for (recall_held):
 * 1 with *where_r when the MTA host confirmed "deleted", 0 when its
 * answer is still awaited (*waiting_r) or there is no such action, -1 on
 * error.
 */
static int
retry_held(struct db *db, long long request_id, bool *waiting_r,
    char **where_r, char **error_r)
{
	char id[24];
	const char *p[1] = { id };
	struct db_result *r;
	int ret = 0;

	*waiting_r = false;
	*where_r = NULL;
	snprintf(id, sizeof(id), "%lld", request_id);
	r = db_query(db, "SELECT done_at IS NOT NULL, coalesce(result, ''), "
	    "queue_id, milter_host FROM held_action WHERE request_id = $1 "
	    "ORDER BY id DESC LIMIT 1", 1, p, error_r);
	if (r == NULL)
		return -1;
	if (db_rows(r) == 1) {
		if (strcmp(db_str(r, 0, 0), "t") != 0) {
			*waiting_r = true;
		} else if (strcmp(db_str(r, 0, 1), "deleted") == 0) {
			*where_r = xasprintf("queue id %s on %s",
			    db_str(r, 0, 2), db_str(r, 0, 3));
			ret = 1;
		}
	}
	db_result_free(&r);
	return ret;
}

/*
 * Decide the pending copies of request id (recall id rid) again, under
 * the message's lock (taken by the caller).  Returns 0, or -1 when the
 * database failed.
 */
static int
retry_request(const struct recall_env *env, long long id, const char *rid)
{
	struct records_message m;
	struct records_recipient *all = NULL, *pend;
	struct recall_job job;
	struct report rep;
	struct db_result *r = NULL;
	char idbuf[24], *t0 = NULL, *report_to = NULL, *err = NULL;
	char *where = NULL;
	const char *p[3];
	size_t n_all = 0, n_pend = 0, i;
	bool waiting = false, still_pending;
	int held, j;
	json_t *ev;

	memset(&m, 0, sizeof(m));
	memset(&job, 0, sizeof(job));
	job.texts_by_guid = true;
	memset(&rep, 0, sizeof(rep));
	snprintf(idbuf, sizeof(idbuf), "%lld", id);
	p[0] = idbuf;
	/* Still pending once we hold the lock?  Another host may be done. */
	r = db_query(env->db, "SELECT DISTINCT o.recipient, "
	    "to_char(now(), 'YYYY-MM-DD HH24:MI:SS.USOF'), "
	    "coalesce(q.report_to, '') FROM recall_outcome o "
	    "JOIN recall_request q ON q.id = o.request_id "
	    "WHERE o.request_id = $1 AND o.outcome = 'pending'", 1, p, &err);
	if (r == NULL)
		goto dberror;
	if (db_rows(r) == 0) {
		db_result_free(&r);
		return 0;
	}
	j = records_message_by_recall_id(env->db, rid, &m, &err);
	if (j == 0)
		err = xstrdup("the message is not recorded any more");
	if (j <= 0 || records_recipients(env->db, rid, &all, &n_all,
	    &err) < 0) {
		db_result_free(&r);
		goto dberror;
	}
	t0 = xstrdup(db_str(r, 0, 1));
	report_to = xstrdup(db_str(r, 0, 2));
	/* The recipients with a pending copy, with the milter's class. */
	pend = xcalloc(n_all + 1, sizeof(*pend));
	for (i = 0; i < n_all; i++)
		for (j = 0; j < db_rows(r); j++)
			if (strcmp(all[i].recipient, db_str(r, j, 0)) == 0) {
				pend[n_pend++] = all[i];
				break;
			}
	db_result_free(&r);

	job.env = env;
	job.m = &m;
	job.actor = "recalld";
	job.request_id = id;
	job.tokens = recall_tokens(env->keys, rid, &job.n_tokens);
	held = retry_held(env->db, id, &waiting, &where, &err);
	if (held < 0) {
		log_warnx("request %lld: held mail: %s", id, err);
		xfree(&err);
	}
	if (waiting) {
		/* The MTA host has not answered yet: nothing to decide. */
		recall_tokens_free(&job.tokens, job.n_tokens);
		records_recipients_free(&all, n_all);
		free(pend);
		records_message_clear(&m);
		free(t0);
		free(report_to);
		return 0;
	}
	ev = json_object();
	json_object_set_new(ev, "retry_of", json_integer(id));
	json_object_set_new(ev, "pending_recipients",
	    json_integer((json_int_t)n_pend));
	(void)auditev_append(env->db, "recalld", "retry", rid, id, ev);
	log_info("request %lld: retrying %zu pending recipient%s", id, n_pend,
	    n_pend == 1 ? "" : "s");

	if (held == 1) {
		/* The MTA host confirmed the deletion after recall_held's wait. */
		struct audit_queue aq;
		struct item *v = xcalloc(n_pend + 1, sizeof(*v));

		memset(&aq, 0, sizeof(aq));
		for (i = 0; i < n_pend; i++) {
			v[i].rc = &pend[i];
			item_prepare(&job, &v[i]);
			v[i].copy_addr = "";
			v[i].d.outcome = OUTCOME_HELD_RECALLED;
			v[i].d.reason = xasprintf("held in the MTA queue (%s) "
			    "and deleted before it left", where);
			v[i].first = (struct decision){ OUTCOME_PENDING, false,
			    NULL };
		}
		phase_record(&job, &aq, v, n_pend, &rep);
		auditq_free(&aq);
		for (i = 0; i < n_pend; i++)
			item_clear(&v[i]);
		free(v);
	} else {
		recall_ledger_load(&job);
		if (recall_held(&job, pend, n_pend, &rep) == 0)
			recall_recipients(&job, pend, n_pend, &rep);
		ledger_message_free(&job.lm);
		xfree(&job.ledger_error);
	}
	free(where);
	report_clear(&rep);

	/*
	 * A pending row whose copy was decided under another copy_addr this
	 * time (the ledger knows the copy now) is replaced, not kept.
	 */
	p[1] = t0;
	if (db_exec(env->db, "DELETE FROM recall_outcome WHERE request_id = $1 "
	    "AND outcome = 'pending' AND decided_at < $2::timestamptz "
	    "AND (recipient, copy_addr) NOT IN (SELECT recipient, copy_addr "
	    "FROM recall_outcome WHERE request_id = $1 AND decided_at >= "
	    "$2::timestamptz) AND recipient IN (SELECT recipient FROM "
	    "recall_outcome WHERE request_id = $1 AND decided_at >= "
	    "$2::timestamptz)", 2, p, NULL, &err) < 0)
		goto dberror_job;
	if (records_load_report(env->db, id, &rep, &err) < 0)
		goto dberror_job;
	still_pending = false;
	for (i = 0; i < rep.n_copies; i++)
		still_pending = still_pending
		    || rep.copies[i].outcome == OUTCOME_PENDING;
	if (records_request_finish(env->db, id, request_status_name(rep.status),
	    &err) < 0)
		goto dberror_job;
	log_info("request %lld: after the retry: %s%s", id,
	    request_status_name(rep.status), still_pending ? " (pending)" : "");
	/* The final report, once: a request left pending is not picked up
	 * again, and the lock keeps other hosts out meanwhile. */
	if (!still_pending)
		mailreport_send(env, "recalld", &m, &rep, report_to);
	report_clear(&rep);
	recall_tokens_free(&job.tokens, job.n_tokens);
	records_recipients_free(&all, n_all);
	free(pend);
	records_message_clear(&m);
	free(t0);
	free(report_to);
	return 0;

dberror_job:
	report_clear(&rep);
	recall_tokens_free(&job.tokens, job.n_tokens);
	free(pend);
dberror:
	log_warnx("request %lld: retry: %s", id, err);
	free(err);
	records_recipients_free(&all, n_all);
	records_message_clear(&m);
	free(t0);
	free(report_to);
	return -1;
}

/*
 * Real, finished requests with a pending copy, of a message younger than
 * policy.max_age ($1, seconds), whose backoff has passed: wait half the
 * time the request has been pending, at least RECALL_RETRY_MIN and at most
 * RECALL_RETRY_MAX seconds since the copy was last decided.
 */
#define RETRY_DUE_SQL(COLS)						\
	"SELECT " COLS " FROM recall_request q "			\
	"JOIN messages m ON m.recall_id = q.recall_id "			\
	"WHERE NOT q.dry_run AND q.status IS NOT NULL "			\
	"AND m.submitted_at > now() - make_interval(secs => $1::bigint) " \
	"AND EXISTS (SELECT 1 FROM recall_outcome o "			\
	" WHERE o.request_id = q.id AND o.outcome = 'pending' "		\
	" AND now() - o.decided_at >= greatest(interval '"		\
	RECALL_RETRY_MIN " seconds', least(interval '" RECALL_RETRY_MAX	\
	" seconds', (o.decided_at - q.requested_at) / 2))) "

/*
 * Run sql (RETRY_DUE_SQL and what follows) with policy.max_age as $1.
 * NULL (logged) on a database error or without a database.
 */
static struct db_result *
retry_query(const struct recall_env *env, const char *sql)
{
	struct db_result *r;
	char maxage[24], *err = NULL;
	const char *p[1] = { maxage };

	if (env->db == NULL)
		return NULL;
	snprintf(maxage, sizeof(maxage), "%ld", env->cfg->policy.max_age);
	if ((r = db_query(env->db, sql, 1, p, &err)) == NULL) {
		log_warnx("retry of pending copies: %s", err);
		free(err);
	}
	return r;
}

bool
recall_retry_due(const struct recall_env *env)
{
	struct db_result *r = retry_query(env, RETRY_DUE_SQL("1") "LIMIT 1");
	bool due = r != NULL && db_rows(r) > 0;

	db_result_free(&r);
	return due;
}

void
recall_retry_tick(const struct recall_env *env)
{
	struct db_result *r;
	char *err = NULL;
	int i;

	r = retry_query(env, RETRY_DUE_SQL("q.id, q.recall_id")
	    "ORDER BY q.id LIMIT " RECALL_RETRY_BATCH);
	if (r == NULL)
		return;
	for (i = 0; i < db_rows(r); i++) {
		long long id = strtoll(db_str(r, i, 0), NULL, 10);
		const char *rid = db_str(r, i, 1);
		bool locked = false;

		/* The lock recallctl recall takes: one host, one recall. */
		if (records_try_lock(env->db, rid, &locked, &err) < 0) {
			log_warnx("retry of request %lld: %s", id, err);
			xfree(&err);
			continue;
		}
		if (!locked)
			continue;	/* another recalld (or a recall) has it */
		(void)retry_request(env, id, rid);
		records_unlock(env->db, rid);
	}
	db_result_free(&r);
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
