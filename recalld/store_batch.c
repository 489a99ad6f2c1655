/*
 * store_batch - many doveadm commands in few HTTP requests.  See store.h.
 *
 * Operations (find, text, expunge and look again) are added one copy at
 * a time.  At run time, when many find or expunge operations share their
 * tokens, the users a wildcard serves more cheaply (store_cover.c) are
 * merged into one command per pattern: "fetch" or "expunge" with user
 * "prefix*"; for an expunge, the query names each copy exactly (mailbox
 * GUID and uid) besides the token and "unseen".  The answer rows carry
 * "username" and go back to their operations.  A merged command that
 * fails is not trusted: its operations then run again one by one (a find
 * only reads; an expunge removes nothing twice and its look again tells
 * what is gone).
 *
 * Memory: every answer is kept until store_batch_free().
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "store.h"
#include "store_cover.h"
#include "store_impl.h"
#include "xalloc.h"

/* Merging is considered from this many operations of one kind on. */
#define BATCH_GROUP_MIN_OPS 32
/* Seconds the userdb's list of users is reused. */
#define BATCH_USERS_TTL 60

enum batch_kind {
	BATCH_FIND,		/* fetch per token (+ text) */
	BATCH_TEXT,		/* fetch text of mailbox/uid */
	BATCH_EXPUNGE,		/* expunge per token, then look again */
	BATCH_GFIND,		/* BATCH_FIND for a pattern's users */
	BATCH_GEXPUNGE,		/* BATCH_EXPUNGE for a pattern's copies */
};

enum op_state {
	OP_SEND,		/* its own commands go in the next round */
	OP_GROUPED,		/* a group operation serves it */
	OP_DONE,
};

/* One operation: its commands always travel together, in order. */
struct batch_op {
	enum batch_kind kind;
	enum op_state state;
	json_t *cmds;		/* [[cmd, params], ...] */
	size_t first;		/* its first command on the wire this round */
	size_t n_exp;		/* (G)EXPUNGE: the first n_exp expunge */
	unsigned long long weight;	/* expected answer bytes */
	char **tokens;
	size_t n_tokens;
	/* What merging needs (FIND, EXPUNGE); pattern for groups. */
	char *user, *mailbox, *mailbox_guid;
	unsigned long uid;
	bool with_text, only_unseen, look_again;
	long within;		/* FIND: seconds, 0 = no limit */
	size_t group;		/* OP_GROUPED: its group operation */
	size_t *members;	/* groups: member operations, by user */
	size_t n_members;
	enum store_status status;
	char *error;
	size_t answered;	/* commands answered */
	struct store_copies copies;	/* FIND, EXPUNGE (the look again) */
	char *text;		/* TEXT */
	size_t len;
	bool exact;
};

struct store_batch {
	struct store *st;
	struct batch_op *ops;
	size_t n_ops, cap_ops;
	/* The current round on the wire. */
	json_t *wire;		/* [[cmd, params, tag], ...] */
	size_t *wire_op;	/* wire command -> operation */
	size_t *order;		/* the operations sent, in order */
	size_t n_order;
	size_t per_post;	/* commands per POST, see batch_round() */
	bool ran;
};

/* One POST in flight: operations order[o0..o1), commands wire[w0..w1). */
struct batch_post {
	CURL *h;
	size_t o0, o1, w0, w1;
	char *request;
	struct answer a;
	char errbuf[CURL_ERROR_SIZE];
	bool busy;
};

struct store_batch *
store_batch_new(struct store *st)
{
	struct store_batch *b = xcalloc(1, sizeof(*b));

	b->st = st;
	return b;
}

void
store_batch_free(struct store_batch **bp)
{
	struct store_batch *b = *bp;
	size_t i, k;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_ops; i++) {
		struct batch_op *op = &b->ops[i];

		for (k = 0; k < op->n_tokens; k++)
			free(op->tokens[k]);
		free(op->tokens);
		json_decref(op->cmds);
		free(op->user);
		free(op->mailbox);
		free(op->mailbox_guid);
		free(op->members);
		free(op->error);
		free(op->text);
		store_copies_free(&op->copies);
	}
	free(b->ops);
	free(b);
	*bp = NULL;
}

/* A new operation (its index in *index_r); valid until the next one. */
static struct batch_op *
batch_op_new(struct store_batch *b, enum batch_kind kind,
    const char *const *tokens, size_t n_tokens, size_t *index_r)
{
	struct batch_op *op;
	size_t k;

	assert(!b->ran || kind == BATCH_GFIND || kind == BATCH_GEXPUNGE);
	if (b->n_ops == b->cap_ops) {
		b->cap_ops = b->cap_ops == 0 ? 64 : 2 * b->cap_ops;
		b->ops = xrealloc(b->ops, b->cap_ops * sizeof(*b->ops));
	}
	*index_r = b->n_ops;
	op = &b->ops[b->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->state = OP_SEND;
	op->status = STORE_OK;
	op->cmds = json_array();
	if (op->cmds == NULL)
		abort();	/* only on out of memory */
	op->tokens = xcalloc(n_tokens + 1, sizeof(*op->tokens));
	for (k = 0; k < n_tokens; k++)
		op->tokens[k] = xstrdup(tokens[k]);
	op->n_tokens = n_tokens;
	return op;
}

/* Add a command to op; fields may be NULL (expunge). */
static void
batch_cmd(struct batch_op *op, const char *cmd, const char *user,
    const char *const *fields, size_t n_fields, json_t *query)
{
	json_t *params = json_object(), *f, *item;
	size_t i;

	/* Strings that are not UTF-8 give a NULL json_string: the command
	 * then fails at Dovecot (no user) and says so; nothing is guessed. */
	json_object_set_new(params, "user", json_string(user));
	if (fields != NULL) {
		f = json_array();
		for (i = 0; i < n_fields; i++)
			json_array_append_new(f, json_string(fields[i]));
		json_object_set_new(params, "field", f);
	}
	json_object_set_new(params, "query", query);
	item = json_pack("[s o]", cmd, params);
	if (item == NULL || json_array_append_new(op->cmds, item) < 0)
		abort();	/* only on out of memory */
}

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		abort();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The find's query for token: every mailbox, maybe recent mail only. */
static json_t *
find_query(const char *token, long within)
{
	const char *all[] = { "mailbox", "*", "header", "X-Recall-ID", token };
	char secs[24];
	const char *recent[] = { "mailbox", "*", "younger", secs, "header",
	    "X-Recall-ID", token };

	if (within <= 0)
		return strings(all, 5);
	snprintf(secs, sizeof(secs), "%ld", within);
	return strings(recent, 7);
}

size_t
store_batch_find(struct store_batch *b, const char *user,
    const char *const *tokens, size_t n_tokens, bool with_text,
    unsigned long long size_hint, long within_s)
{
	struct batch_op *op;
	size_t index, i;

	op = batch_op_new(b, BATCH_FIND, tokens, n_tokens, &index);
	op->weight = 1024 + (with_text ? size_hint : 0);
	op->user = xstrdup(user);
	op->with_text = with_text;
	op->within = within_s > 0 ? within_s : 0;
	for (i = 0; i < n_tokens; i++)
		batch_cmd(op, "fetch", user, store_copy_fields,
		    STORE_N_COPY_FIELDS + (with_text ? 1 : 0),
		    find_query(tokens[i], op->within));
	return index;
}

size_t
store_batch_text(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, unsigned long long size_hint)
{
	static const char *const fields[] = { "text", "size.physical" };
	char uidbuf[24];
	const char *query[] = { "mailbox", mailbox, "uid", uidbuf };
	struct batch_op *op;
	size_t index;

	op = batch_op_new(b, BATCH_TEXT, NULL, 0, &index);
	/* JSON escaping can double a text; count it twice to be safe. */
	op->weight = 1024 + 2 * size_hint;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	batch_cmd(op, "fetch", user, fields, 2, strings(query, 4));
	return index;
}

size_t
store_batch_expunge(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, const char *mailbox_guid,
    const char *const *tokens, size_t n_tokens, bool only_unseen,
    bool look_again)
{
	char uidbuf[24];
	struct batch_op *op;
	size_t index, i;

	op = batch_op_new(b, BATCH_EXPUNGE, tokens, n_tokens, &index);
	op->weight = 1024;
	op->user = xstrdup(user);
	op->mailbox = xstrdup(mailbox);
	op->mailbox_guid = xstrdup(mailbox_guid != NULL ? mailbox_guid : "");
	op->uid = uid;
	op->only_unseen = only_unseen;
	op->look_again = look_again;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	/* Expunge under the token the copy actually carries. */
	for (i = 0; i < n_tokens; i++) {
		const char *q[] = { "mailbox", mailbox, "uid", uidbuf,
		    "unseen", "header", "X-Recall-ID", tokens[i] };
		const char *q_any[] = { "mailbox", mailbox, "uid", uidbuf,
		    "header", "X-Recall-ID", tokens[i] };

		batch_cmd(op, "expunge", user, NULL, 0, only_unseen
		    ? strings(q, 8) : strings(q_any, 7));
	}
	op->n_exp = n_tokens;
	/*
	 * Look again in the same POST, after the expunges: Dovecot runs the
	 * commands of one request in order.  Any token counts.
	 */
	if (look_again) {
		const char *q[] = { "mailbox", mailbox, "uid", uidbuf };

		batch_cmd(op, "fetch", user, store_copy_fields,
		    STORE_N_COPY_FIELDS, strings(q, 4));
	}
	return index;
}

size_t
store_batch_lookup(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, const char *const *tokens,
    size_t n_tokens)
{
	char uidbuf[24];
	const char *q[] = { "mailbox", mailbox, "uid", uidbuf };
	struct batch_op *op;
	size_t index;

	/* A look again alone: an expunge of no token. */
	op = batch_op_new(b, BATCH_EXPUNGE, tokens, n_tokens, &index);
	op->weight = 1024;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	batch_cmd(op, "fetch", user, store_copy_fields, STORE_N_COPY_FIELDS,
	    strings(q, 4));
	return index;
}

static void
batch_op_fail(struct batch_op *op, enum store_status s, const char *error)
{
	if (op->status != STORE_OK)
		return;		/* the first error says most */
	op->status = s;
	free(op->error);
	op->error = xstrdup(error);
}

/* ---- merging into wildcard commands ------------------------------------ */

/*
 * The userdb's users (st->users), fetched at most every BATCH_USERS_TTL
 * seconds.  Returns 0, or -1 when the userdb does not list users.
 */
static int
batch_users(struct store *st)
{
	static const char request[] =
	    "[[\"user\",{\"userMask\":[\"*\"]},\"ul\"]]";
	struct answer a;
	enum store_status s;
	time_t now = time(NULL);
	char *err = NULL;
	size_t i;

	if (st->users_at != 0 && now - st->users_at < BATCH_USERS_TTL)
		return st->users_failed ? -1 : 0;
	for (i = 0; i < st->n_users; i++)
		free(st->users[i]);
	free(st->users);
	st->users = NULL;
	st->n_users = 0;
	st->users_at = now;
	s = store_post(st, request, &a, &err);
	if (s == STORE_OK)
		s = store_api_parse_users(a.body.buf, a.body.len, "ul",
		    &st->users, &st->n_users, &err);
	sbuf_release(&a.body);
	if (s != STORE_OK) {
		if (!st->users_failed)
			log_info("doveadm: users are not listed (%s): one "
			    "command a copy", err);
		st->users_failed = true;
		free(err);
		return -1;
	}
	st->users_failed = false;
	return 0;
}

static bool
mergeable(const struct batch_op *op)
{
	if (op->state != OP_SEND)
		return false;
	if (op->kind == BATCH_FIND)
		return true;
	/* The exact selection names the copy by mailbox GUID and uid. */
	return op->kind == BATCH_EXPUNGE && op->user != NULL
	    && op->mailbox_guid[0] != '\0';
}

/* What operations must share to be merged: kind, flags, tokens. */
static char *
merge_key(const struct batch_op *op)
{
	struct sbuf sb;
	size_t k;

	sbuf_init(&sb);
	sbuf_addf(&sb, "%d %d %d %d %ld", (int)op->kind, op->with_text,
	    op->only_unseen, op->look_again, op->within);
	if (op->kind == BATCH_EXPUNGE) {
		sbuf_addc(&sb, '\n');
		sbuf_adds(&sb, op->mailbox);
	}
	for (k = 0; k < op->n_tokens; k++) {
		sbuf_addc(&sb, '\n');
		sbuf_adds(&sb, op->tokens[k]);
	}
	return sbuf_detach(&sb);
}

struct keyed {
	const char *key;
	size_t op;
};

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* The exact selection of a group's copies: ( ( mailbox-guid G uid U )
 * OR ( ... ) ... ). */
static void
add_selection(json_t *q, const struct store_batch *b, const size_t *m,
    size_t n)
{
	char uidbuf[24];
	size_t i;

	json_array_append_new(q, json_string("("));
	for (i = 0; i < n; i++) {
		const struct batch_op *op = &b->ops[m[i]];

		if (i > 0)
			json_array_append_new(q, json_string("OR"));
		snprintf(uidbuf, sizeof(uidbuf), "%lu", op->uid);
		json_array_append_new(q, json_string("("));
		json_array_append_new(q, json_string("mailbox-guid"));
		json_array_append_new(q, json_string(op->mailbox_guid));
		json_array_append_new(q, json_string("uid"));
		json_array_append_new(q, json_string(uidbuf));
		json_array_append_new(q, json_string(")"));
	}
	json_array_append_new(q, json_string(")"));
}

/* The commands of group g (its members set). */
static void
group_commands(struct store_batch *b, size_t g)
{
	struct batch_op *op = &b->ops[g];
	const struct batch_op *m0 = &b->ops[op->members[0]];
	size_t i;

	for (i = 0; i < op->n_members; i++)
		op->weight += b->ops[op->members[i]].weight;
	if (op->kind == BATCH_GFIND) {
		for (i = 0; i < op->n_tokens; i++)
			batch_cmd(op, "fetch", op->user, store_copy_fields,
			    STORE_N_COPY_FIELDS + (m0->with_text ? 1 : 0),
			    find_query(op->tokens[i], m0->within));
		return;
	}
	for (i = 0; i < op->n_tokens; i++) {
		json_t *q = json_array();

		json_array_append_new(q, json_string("mailbox"));
		json_array_append_new(q, json_string(m0->mailbox));
		if (m0->only_unseen)
			json_array_append_new(q, json_string("unseen"));
		json_array_append_new(q, json_string("header"));
		json_array_append_new(q, json_string("X-Recall-ID"));
		json_array_append_new(q, json_string(op->tokens[i]));
		add_selection(q, b, op->members, op->n_members);
		batch_cmd(op, "expunge", op->user, NULL, 0, q);
	}
	op->n_exp = op->n_tokens;
	if (m0->look_again) {
		json_t *q = json_array();

		json_array_append_new(q, json_string("mailbox"));
		json_array_append_new(q, json_string(m0->mailbox));
		add_selection(q, b, op->members, op->n_members);
		batch_cmd(op, "fetch", op->user, store_copy_fields,
		    STORE_N_COPY_FIELDS, q);
	}
}

static int
member_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Merge the operations k[0..n) (one key) where a pattern pays. */
static void
merge_class(struct store_batch *b, const struct keyed *k, size_t n)
{
	struct store *st = b->st;
	const char **targets = xcalloc(n + 1, sizeof(*targets));
	struct keyed *mem = xcalloc(n + 1, sizeof(*mem));
	struct store_cover c;
	size_t i, g, n_mem;

	for (i = 0; i < n; i++)
		targets[i] = b->ops[k[i].op].user;
	store_cover_plan((const char *const *)st->users, st->n_users,
	    targets, n, b->ops[k[0].op].kind == BATCH_FIND
	    ? STORE_COVER_MAX_FIND : STORE_COVER_MAX_EXPUNGE, &c);
	for (g = 0; g < c.n_groups; g++) {
		struct batch_op *op;
		size_t gi, first = k[0].op;

		for (n_mem = 0, i = 0; i < n; i++)
			if (c.group[i] == g)
				mem[n_mem++] = (struct keyed){
				    b->ops[k[i].op].user, k[i].op };
		if (n_mem < 2)
			continue;
		/* Members by user: answer rows are matched by user. */
		qsort(mem, n_mem, sizeof(*mem), member_cmp);
		op = batch_op_new(b, b->ops[first].kind == BATCH_FIND
		    ? BATCH_GFIND : BATCH_GEXPUNGE,
		    (const char *const *)b->ops[first].tokens,
		    b->ops[first].n_tokens, &gi);
		op->user = xstrdup(c.pattern[g]);
		op->members = xcalloc(n_mem, sizeof(*op->members));
		op->n_members = n_mem;
		for (i = 0; i < n_mem; i++) {
			op->members[i] = mem[i].op;
			b->ops[mem[i].op].state = OP_GROUPED;
			b->ops[mem[i].op].group = gi;
		}
		group_commands(b, gi);
	}
	store_cover_free(&c);
	free(mem);
	free(targets);
}

/* Merge what pays into group operations (before the first round). */
static void
batch_merge(struct store_batch *b)
{
	struct keyed *k;
	size_t n = 0, n_ops = b->n_ops, i, j;

	for (i = 0; i < n_ops; i++)
		n += mergeable(&b->ops[i]);
	if (n < BATCH_GROUP_MIN_OPS || batch_users(b->st) < 0)
		return;
	k = xcalloc(n + 1, sizeof(*k));
	for (n = 0, i = 0; i < n_ops; i++)
		if (mergeable(&b->ops[i])) {
			k[n].key = merge_key(&b->ops[i]);
			k[n++].op = i;
		}
	qsort(k, n, sizeof(*k), keyed_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(k[i].key, k[j].key) == 0; j++)
			;
		if (j - i >= BATCH_GROUP_MIN_OPS)
			merge_class(b, &k[i], j - i);
	}
	for (i = 0; i < n; i++)
		free((char *)k[i].key);
	free(k);
}

/*
 * Give the rows of a group's fetch to its members (by user; for the look
 * again of an expunge also by mailbox and uid).  Rows of users that are
 * not members are not ours: a pattern also matches other users.
 */
static void
group_rows(struct store_batch *b, struct batch_op *g, json_t *rows)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		const char *user = json_string_value(json_object_get(row,
		    "username"));
		const char *mailbox;
		size_t lo = 0, hi = g->n_members, j;

		if (user == NULL) {
			batch_op_fail(g, STORE_FAILED, "doveadm API: a row "
			    "of a wildcard command without username");
			return;
		}
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(b->ops[g->members[mid]].user, user) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		mailbox = json_string_value(json_object_get(row, "mailbox"));
		for (j = lo; j < g->n_members
		    && strcmp(b->ops[g->members[j]].user, user) == 0; j++) {
			struct batch_op *m = &b->ops[g->members[j]];
			char *err = NULL;

			if (g->kind == BATCH_GEXPUNGE && (mailbox == NULL
			    || strcmp(mailbox, m->mailbox) != 0
			    || store_api_row_uid(row) != m->uid))
				continue;
			if (store_api_row_copy(row,
			    (const char *const *)m->tokens, m->n_tokens,
			    &m->copies, &err) != STORE_OK) {
				batch_op_fail(g, STORE_FAILED, err);
				free(err);
				return;
			}
		}
	}
}

/*
 * After a round: the members of a group that succeeded are answered;
 * those of a group that failed are sent again, one by one.  Returns
 * whether a round is needed for them.
 */
static bool
batch_settle_groups(struct store_batch *b)
{
	bool again = false;
	size_t i, j;

	for (i = 0; i < b->n_ops; i++) {
		struct batch_op *g = &b->ops[i];

		if ((g->kind != BATCH_GFIND && g->kind != BATCH_GEXPUNGE)
		    || g->n_members == 0 || g->state != OP_DONE
		    || b->ops[g->members[0]].state != OP_GROUPED)
			continue;
		if (g->status != STORE_OK)
			log_warnx("doveadm: the command for users %s failed "
			    "(%s); asking its %zu users one by one", g->user,
			    g->error, g->n_members);
		for (j = 0; j < g->n_members; j++) {
			struct batch_op *m = &b->ops[g->members[j]];

			if (g->status == STORE_OK) {
				m->state = OP_DONE;
				m->answered = json_array_size(m->cmds);
				continue;
			}
			store_copies_free(&m->copies);
			m->state = OP_SEND;
			again = true;
		}
	}
	return again;
}

/* ---- the wire ----------------------------------------------------------- */

/* One answer item: give it to its operation. */
static void
batch_item(struct store_batch *b, const struct batch_post *p, json_t *item)
{
	const char *tag = json_string_value(json_array_get(item, 2));
	struct batch_op *op;
	enum store_status s;
	json_t *rows = NULL;
	char *end, *err = NULL;
	unsigned long long idx;
	size_t k;

	if (tag == NULL || tag[0] != 'c' || (idx = strtoull(tag + 1, &end,
	    10), *end != '\0') || idx < p->w0 || idx >= p->w1)
		return;		/* not ours: the op stays unanswered */
	op = &b->ops[b->wire_op[idx]];
	k = idx - op->first;
	op->answered++;
	switch (op->kind) {
	case BATCH_FIND:
		s = store_api_item_copies(item, tag,
		    (const char *const *)op->tokens, op->n_tokens,
		    &op->copies, &err);
		break;
	case BATCH_TEXT:
		free(op->text);
		s = store_api_item_text(item, tag, &op->text, &op->len,
		    &op->exact, &err);
		break;
	case BATCH_EXPUNGE:
		s = k < op->n_exp ? store_api_item_check(item, tag, &err)
		    : store_api_item_copies(item, tag,
		    (const char *const *)op->tokens, op->n_tokens,
		    &op->copies, &err);
		break;
	case BATCH_GFIND:
	case BATCH_GEXPUNGE:
	default:
		s = store_api_item_rows(item, tag, &rows, &err);
		if (s == STORE_OK && (op->kind == BATCH_GFIND
		    || k >= op->n_exp))
			group_rows(b, op, rows);
		break;
	}
	if (s != STORE_OK)
		batch_op_fail(op, s, err);
	free(err);
}

/* A POST is done (rc from curl): parse its answer into its operations. */
static void
batch_post_done(struct store_batch *b, struct batch_post *p, CURLcode rc)
{
	json_t *root = NULL, *item;
	enum store_status s;
	char *err = NULL;
	size_t i;

	s = store_post_status(b->st, p->h, rc, &p->a, p->errbuf, &err);
	if (s == STORE_OK)
		s = store_api_parse_batch(p->a.body.buf, p->a.body.len, &root,
		    &err);
	if (s == STORE_OK)
		json_array_foreach(root, i, item)
			batch_item(b, p, item);
	json_decref(root);
	for (i = p->o0; i < p->o1; i++) {
		struct batch_op *op = &b->ops[b->order[i]];

		if (s != STORE_OK)
			batch_op_fail(op, s, err);
		else if (op->answered < json_array_size(op->cmds))
			batch_op_fail(op, STORE_FAILED,
			    "doveadm API: a command of the batch got no answer");
	}
	free(err);
	sbuf_release(&p->a.body);
	free(p->request);
	p->request = NULL;
	p->busy = false;
}

static bool
is_group(const struct batch_op *op)
{
	return op->kind == BATCH_GFIND || op->kind == BATCH_GEXPUNGE;
}

/*
 * Start the next POST from order[*next] on p's handle.  A group goes
 * alone: it serves many users and runs long.
 */
static bool
batch_post_start(struct store_batch *b, struct batch_post *p, size_t *next)
{
	json_t *arr;
	size_t cmds = 0, i;
	unsigned long long weight = 0;

	if (*next >= b->n_order)
		return false;
	p->o0 = *next;
	while (*next < b->n_order) {
		const struct batch_op *op = &b->ops[b->order[*next]];
		size_t n = json_array_size(op->cmds);

		if (*next > p->o0 && (is_group(op)
		    || is_group(&b->ops[b->order[p->o0]])
		    || cmds + n > b->per_post
		    || weight + op->weight > STORE_BATCH_BYTES))
			break;
		cmds += n;
		weight += op->weight;
		(*next)++;
	}
	p->o1 = *next;
	p->w0 = b->ops[b->order[p->o0]].first;
	p->w1 = p->w0 + cmds;
	arr = json_array();
	for (i = p->w0; i < p->w1; i++)
		json_array_append(arr, json_array_get(b->wire, i));
	p->request = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (p->request == NULL)
		abort();
	store_post_setup(b->st, p->h, p->request, &p->a, p->errbuf);
	if (curl_multi_add_handle(b->st->multi, p->h) != CURLM_OK) {
		batch_post_done(b, p, CURLE_FAILED_INIT);
		return true;
	}
	p->busy = true;
	return true;
}

/* Lay the operations to send on the wire, in order. */
static void
batch_wire(struct store_batch *b)
{
	size_t i, k, n = 0;

	b->wire = json_array();
	b->order = xcalloc(b->n_ops + 1, sizeof(*b->order));
	b->n_order = 0;
	for (i = 0; i < b->n_ops; i++)
		if (b->ops[i].state == OP_SEND)
			n += json_array_size(b->ops[i].cmds);
	b->wire_op = xcalloc(n + 1, sizeof(*b->wire_op));
	for (i = 0; i < b->n_ops; i++) {
		struct batch_op *op = &b->ops[i];
		json_t *c;

		if (op->state != OP_SEND)
			continue;
		b->order[b->n_order++] = i;
		op->first = json_array_size(b->wire);
		json_array_foreach(op->cmds, k, c) {
			char tag[32];
			size_t idx = json_array_size(b->wire);
			json_t *item;

			snprintf(tag, sizeof(tag), "c%zu", idx);
			item = json_pack("[O O s]", json_array_get(c, 0),
			    json_array_get(c, 1), tag);
			if (item == NULL
			    || json_array_append_new(b->wire, item) < 0)
				abort();	/* only on out of memory */
			b->wire_op[idx] = i;
		}
	}
}

static void
batch_unwire(struct store_batch *b)
{
	size_t i;

	for (i = 0; i < b->n_order; i++)
		b->ops[b->order[i]].state = OP_DONE;
	json_decref(b->wire);
	b->wire = NULL;
	free(b->wire_op);
	b->wire_op = NULL;
	free(b->order);
	b->order = NULL;
	b->n_order = 0;
}

/* Send every operation in state OP_SEND and wait for every answer. */
static void
batch_round(struct store_batch *b)
{
	struct store *st = b->st;
	struct batch_post posts[STORE_BATCH_PARALLEL];
	size_t next = 0, i, n_slots = 0;
	int running = 0, left;
	bool busy;
	CURLMsg *msg;

	batch_wire(b);
	if (b->n_order == 0) {
		batch_unwire(b);
		return;
	}
	if (st->multi == NULL && (st->multi = curl_multi_init()) == NULL)
		abort();	/* only on out of memory */
	memset(posts, 0, sizeof(posts));
	for (i = 0; i < STORE_BATCH_PARALLEL; i++) {
		if (st->slot[i] == NULL
		    && (st->slot[i] = curl_easy_init()) == NULL)
			break;
		posts[i].h = st->slot[i];
		n_slots++;
	}
	if (n_slots == 0)
		abort();	/* curl_easy_init fails only on out of memory */
	/*
	 * Even POSTs, a multiple of the slots: 500 commands go as 8 POSTs of
	 * 63, not 5 of 100 of which the last would run alone at the end.
	 */
	{
		size_t total = json_array_size(b->wire), n_posts;

		n_posts = (total + STORE_BATCH_CMDS - 1) / STORE_BATCH_CMDS;
		n_posts = (n_posts + n_slots - 1) / n_slots * n_slots;
		b->per_post = (total + n_posts - 1) / n_posts;
	}
	for (i = 0; i < n_slots; i++)
		(void)batch_post_start(b, &posts[i], &next);
	for (;;) {
		curl_multi_perform(st->multi, &running);
		while ((msg = curl_multi_info_read(st->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < n_slots; i++)
				if (posts[i].busy && posts[i].h == msg->easy_handle)
					break;
			if (i == n_slots)
				continue;
			/* msg is invalid after remove_handle: copy first. */
			{
				CURLcode rc = msg->data.result;

				curl_multi_remove_handle(st->multi, posts[i].h);
				batch_post_done(b, &posts[i], rc);
			}
			while (!posts[i].busy
			    && batch_post_start(b, &posts[i], &next))
				;
		}
		for (busy = false, i = 0; i < n_slots; i++)
			busy = busy || posts[i].busy;
		if (!busy)
			break;
		curl_multi_poll(st->multi, NULL, 0, 1000, NULL);
	}
	batch_unwire(b);
}

void
store_batch_run(struct store_batch *b)
{
	size_t i, grouped = 0, groups = 0;

	assert(!b->ran);
	b->ran = true;
	if (b->n_ops == 0)
		return;
	batch_merge(b);
	for (i = 0; i < b->n_ops; i++) {
		grouped += b->ops[i].state == OP_GROUPED;
		groups += is_group(&b->ops[i]);
	}
	if (groups > 0)
		log_info("doveadm: %zu of %zu operations in %zu wildcard "
		    "commands", grouped, b->n_ops - groups, groups);
	batch_round(b);
	if (batch_settle_groups(b))
		batch_round(b);
}

enum store_status
store_batch_copies(struct store_batch *b, size_t index,
    struct store_copies *out, char **error_r)
{
	struct batch_op *op = &b->ops[index];

	assert(b->ran && op->kind != BATCH_TEXT && !is_group(op));
	if (op->status != STORE_OK) {
		*error_r = xstrdup(op->error);
		return op->status;
	}
	*out = op->copies;
	op->copies.v = NULL;
	op->copies.n = 0;
	return STORE_OK;
}

enum store_status
store_batch_text_result(struct store_batch *b, size_t index, char **text_r,
    size_t *len_r, bool *exact_r, char **error_r)
{
	struct batch_op *op = &b->ops[index];

	assert(b->ran && op->kind == BATCH_TEXT);
	*text_r = NULL;
	*len_r = 0;
	*exact_r = false;
	if (op->status != STORE_OK) {
		*error_r = xstrdup(op->error);
		return op->status;
	}
	*text_r = op->text;
	*len_r = op->len;
	*exact_r = op->exact;
	op->text = NULL;
	return STORE_OK;
}
