/*
 * store - the doveadm HTTP API over libcurl.  See store.h.
 *
 * The one libcurl binding.  JSON in and out is store_api.c's business.
 * Classification of failures: no connection, a timeout or an HTTP 5xx is
 * STORE_UNAVAILABLE (the copy is "pending" and retried); a refused key
 * (HTTP 401/403) or an answer we cannot read is STORE_FAILED, which the
 * caller also reports as pending but logs as a configuration problem.
 */
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "dsn.h"
#include "store.h"
#include "sbuf.h"
#include "xalloc.h"

/* Largest answer we accept: a full message plus JSON escaping. */
#define STORE_MAX_ANSWER (512UL * 1024 * 1024)
#define STORE_CONNECT_TIMEOUT 5L
#define STORE_TIMEOUT 120L

struct store {
	CURL *curl;
	char *url;
	struct curl_slist *headers;	/* holds the key: wiped on free */
	/* Batches (store_batch_run): a multi handle and its easy handles,
	 * kept between batches so their connections are reused. */
	CURLM *multi;
	CURL *slot[STORE_BATCH_PARALLEL];
};

static bool store_curl_ready;

/* RFC 4648 base64 of len bytes, as a heap string. */
static char *
base64(const unsigned char *in, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	/* @UNSAFE: 4 output bytes per 3 input bytes, rounded up, plus NUL. */
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tbl[in[i] >> 2];
		*o++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = tbl[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*o++ = tbl[in[i + 2] & 63];
	}
	if (i < len) {
		*o++ = tbl[in[i] >> 2];
		if (i + 1 < len) {
			*o++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*o++ = tbl[(in[i + 1] & 15) << 2];
		} else {
			*o++ = tbl[(in[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The first line of path, without the line end, as a heap string. */
static int
read_key(const char *path, char **key_r, char **error_r)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (cfg_check_secret_file(path, error_r) < 0)
		return -1;
	if ((fp = fopen(path, "r")) == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	if (n < 0) {
		free(line);
		*error_r = xasprintf("%s: empty; the doveadm API key belongs on "
		    "its first line", path);
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'
	    || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n == 0) {
		crypto_wipe(line, cap);
		free(line);
		*error_r = xasprintf("%s: the first line (the doveadm API key) "
		    "is empty", path);
		return -1;
	}
	*key_r = line;
	return 0;
}

int
store_open(const struct recall_cfg *cfg, struct store **st_r,
    char **error_r)
{
	struct store *st;
	char *key, *b64, *hdr;

	*st_r = NULL;
	if (read_key(cfg->store.doveadm_key_file, &key, error_r) < 0)
		return -1;
	if (!store_curl_ready) {
		/* Called from main() before any thread exists. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			free(key);
			*error_r = xstrdup("curl_global_init failed");
			return -1;
		}
		store_curl_ready = true;
	}
	b64 = base64((const unsigned char *)key, strlen(key));
	crypto_wipe(key, strlen(key));
	free(key);
	hdr = xasprintf("Authorization: X-Dovecot-API %s", b64);
	crypto_wipe(b64, strlen(b64));
	free(b64);

	st = xcalloc(1, sizeof(*st));
	st->url = xstrdup(cfg->store.doveadm_url);
	st->headers = curl_slist_append(NULL, hdr);
	crypto_wipe(hdr, strlen(hdr));
	free(hdr);
	if (st->headers != NULL)
		st->headers = curl_slist_append(st->headers,
		    "Content-Type: application/json");
	if (st->headers == NULL || (st->curl = curl_easy_init()) == NULL) {
		store_free(&st);
		*error_r = xstrdup("curl: out of memory");
		return -1;
	}
	*st_r = st;
	return 0;
}

void
store_free(struct store **stp)
{
	struct store *st = *stp;
	struct curl_slist *h;

	if (st == NULL)
		return;
	if (st->curl != NULL)
		curl_easy_cleanup(st->curl);
	for (size_t i = 0; i < STORE_BATCH_PARALLEL; i++)
		if (st->slot[i] != NULL)
			curl_easy_cleanup(st->slot[i]);
	if (st->multi != NULL)
		curl_multi_cleanup(st->multi);
	for (h = st->headers; h != NULL; h = h->next)
		crypto_wipe(h->data, strlen(h->data));
	curl_slist_free_all(st->headers);
	free(st->url);
	free(st);
	*stp = NULL;
}

struct answer {
	struct sbuf body;
	bool too_big;
};

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t len = size * nmemb;

	if (a->body.len + len > STORE_MAX_ANSWER) {
		a->too_big = true;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	sbuf_add(&a->body, data, len);
	return len;
}

/* Prepare handle h to POST request; the answer goes to a. */
static void
post_setup(struct store *st, CURL *h, const char *request, struct answer *a,
    char *errbuf)
{
	sbuf_init(&a->body);
	a->too_big = false;
	errbuf[0] = '\0';
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, st->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, st->headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, request);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(request));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, STORE_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, STORE_TIMEOUT);
	/* The API is http or https only; never follow redirects elsewhere. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
}

/* The status of a finished transfer on h (curl's result rc). */
static enum store_status
post_status(struct store *st, CURL *h, CURLcode rc, const struct answer *a,
    const char *errbuf, char **error_r)
{
	long http = 0;

	if (rc != CURLE_OK) {
		if (a->too_big) {
			*error_r = xstrdup("doveadm API: answer too large");
			return STORE_FAILED;
		}
		*error_r = xasprintf("doveadm API %s: %s", st->url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		return STORE_UNAVAILABLE;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
	if (http == 200)
		return STORE_OK;
	if (http == 401 || http == 403) {
		*error_r = xasprintf("doveadm API refused our key (HTTP %ld); "
		    "check store.doveadm_key_file against doveadm_api_key",
		    http);
		return STORE_FAILED;
	}
	*error_r = xasprintf("doveadm API: HTTP %ld", http);
	return http >= 500 ? STORE_UNAVAILABLE : STORE_FAILED;
}

/*
 * POST request; on STORE_OK the answer body is in a->body (caller
 * releases it either way).
 */
static enum store_status
post(struct store *st, const char *request, struct answer *a,
    char **error_r)
{
	char errbuf[CURL_ERROR_SIZE];

	post_setup(st, st->curl, request, a, errbuf);
	return post_status(st, st->curl, curl_easy_perform(st->curl), a,
	    errbuf, error_r);
}

static const char *const copy_fields[] = {
	"mailbox", "uid", "guid", "flags", "hdr.x-recall-id", "size.physical",
	"text",		/* last: only when the caller asks for the text */
};
#define N_COPY_FIELDS (sizeof(copy_fields) / sizeof(copy_fields[0]) - 1)

enum store_status
store_find(struct store *st, const char *user, const char *const *tokens,
    size_t n_tokens, struct store_copies *out, char **error_r)
{
	struct answer a;
	enum store_status s = STORE_OK;
	size_t i;

	for (i = 0; i < n_tokens && s == STORE_OK; i++) {
		const char *query[] = { "mailbox", "*", "header", "X-Recall-ID",
		    tokens[i] };
		char *req = store_api_command("fetch", user, copy_fields,
		    N_COPY_FIELDS, query, 5, "find");

		s = post(st, req, &a, error_r);
		free(req);
		if (s == STORE_OK)
			s = store_api_parse_copies(a.body.buf, a.body.len,
			    "find", tokens, n_tokens, out, error_r);
		sbuf_release(&a.body);
	}
	return s;
}

enum store_status
store_lookup(struct store *st, const char *user, const char *mailbox,
    unsigned long uid, const char *token, struct store_copies *out,
    char **error_r)
{
	char uidbuf[24];
	const char *query[] = { "mailbox", mailbox, "uid", uidbuf };
	struct answer a;
	enum store_status s;
	char *req;

	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	req = store_api_command("fetch", user, copy_fields, N_COPY_FIELDS,
	    query, 4, "look");
	s = post(st, req, &a, error_r);
	free(req);
	if (s == STORE_OK)
		s = store_api_parse_copies(a.body.buf, a.body.len, "look",
		    &token, 1, out, error_r);
	sbuf_release(&a.body);
	return s;
}

enum store_status
store_fetch_text(struct store *st, const char *user, const char *mailbox,
    unsigned long uid, char **text_r, size_t *len_r, bool *exact_r,
    char **error_r)
{
	static const char *const fields[] = { "text", "size.physical" };
	char uidbuf[24];
	const char *query[] = { "mailbox", mailbox, "uid", uidbuf };
	struct answer a;
	enum store_status s;
	char *req;

	*text_r = NULL;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	req = store_api_command("fetch", user, fields, 2, query, 4, "text");
	s = post(st, req, &a, error_r);
	free(req);
	if (s == STORE_OK)
		s = store_api_parse_text(a.body.buf, a.body.len, "text",
		    text_r, len_r, exact_r, error_r);
	sbuf_release(&a.body);
	return s;
}

enum store_status
store_expunge(struct store *st, const char *user, const char *mailbox,
    unsigned long uid, const char *token, bool only_unseen, char **error_r)
{
	char uidbuf[24];
	const char *q_unseen[] = { "mailbox", mailbox, "uid", uidbuf,
	    "unseen", "header", "X-Recall-ID", token };
	const char *q_any[] = { "mailbox", mailbox, "uid", uidbuf,
	    "header", "X-Recall-ID", token };
	struct answer a;
	enum store_status s;
	char *req;

	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	req = only_unseen
	    ? store_api_command("expunge", user, NULL, 0, q_unseen, 8, "exp")
	    : store_api_command("expunge", user, NULL, 0, q_any, 7, "exp");
	s = post(st, req, &a, error_r);
	free(req);
	if (s == STORE_OK)
		s = store_api_check(a.body.buf, a.body.len, "exp", error_r);
	sbuf_release(&a.body);
	return s;
}

/* Post one command built by the caller (stolen) and check its envelope. */
static enum store_status
post_command(struct store *st, json_t *params, const char *cmd,
    const char *tag, char **error_r)
{
	json_t *req = json_pack("[[s o s]]", cmd, params, tag);
	struct answer a;
	enum store_status s;
	char *text;

	if (req == NULL)
		abort();	/* strings are UTF-8 here: only on OOM */
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		abort();
	s = post(st, text, &a, error_r);
	free(text);
	if (s == STORE_OK)
		s = store_api_check(a.body.buf, a.body.len, tag, error_r);
	sbuf_release(&a.body);
	return s;
}

enum store_status
store_save(struct store *st, const char *user, const char *mailbox,
    const char *text, size_t len, char **error_r)
{
	char *clean, *err = NULL;
	json_t *p, *u, *m;
	enum store_status s;

	u = json_string(user);
	m = json_string(mailbox);
	if (u == NULL || m == NULL) {
		json_decref(u);
		json_decref(m);
		*error_r = xstrdup("user or mailbox name is not UTF-8");
		return STORE_FAILED;
	}
	p = json_pack("{s:O, s:[O]}", "user", u, "mailbox", m);
	/* It usually exists; a real problem shows in the save below. */
	(void)post_command(st, p, "mailboxCreate", "mc", &err);
	free(err);

	clean = dsn_utf8_clean(text, len);
	p = json_pack("{s:o, s:o, s:s}", "user", u, "mailbox", m, "file",
	    clean);
	free(clean);
	if (p == NULL)
		abort();
	s = post_command(st, p, "save", "sv", error_r);
	return s;
}

enum store_status
store_flags_add(struct store *st, const char *user, const char *mailbox,
    unsigned long uid, const char *const *flags, size_t n_flags,
    char **error_r)
{
	char uidbuf[24];
	json_t *p, *fl = json_array();
	size_t i;

	if (n_flags == 0) {
		json_decref(fl);
		return STORE_OK;
	}
	for (i = 0; i < n_flags; i++) {
		json_t *f = json_string(flags[i]);

		if (f == NULL) {
			json_decref(fl);
			*error_r = xstrdup("a flag is not UTF-8");
			return STORE_FAILED;
		}
		json_array_append_new(fl, f);
	}
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	p = json_pack("{s:s?, s:o, s:[s, s?, s, s]}", "user", user, "flag", fl,
	    "query", "mailbox", mailbox, "uid", uidbuf);
	if (p == NULL) {
		*error_r = xstrdup("user or mailbox name is not UTF-8");
		return STORE_FAILED;
	}
	return post_command(st, p, "flagsAdd", "fa", error_r);
}

/* ---- batches ------------------------------------------------------------ */

enum batch_kind {
	BATCH_FIND,		/* fetch per token (+ text) */
	BATCH_TEXT,		/* fetch text of mailbox/uid */
	BATCH_EXPUNGE,		/* expunge per token, then look per token */
};

/* One operation: one or more consecutive commands, never split. */
struct batch_op {
	enum batch_kind kind;
	size_t first, n_cmds;	/* its commands in store_batch.cmds */
	size_t n_exp;		/* BATCH_EXPUNGE: the first n_exp expunge */
	unsigned long long weight;	/* expected answer bytes */
	char **tokens;
	size_t n_tokens;
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
	json_t *cmds;		/* [[cmd, params, tag], ...] */
	size_t *cmd_op;		/* command index -> op index */
	struct batch_op *ops;
	size_t n_ops, cap_ops;
	size_t per_post;	/* commands per POST, see store_batch_run() */
	bool ran;
};

/* One POST in flight: the operations [o0, o1). */
struct batch_post {
	CURL *h;
	size_t o0, o1;
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
	b->cmds = json_array();
	if (b->cmds == NULL)
		abort();
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
		free(op->error);
		free(op->text);
		store_copies_free(&op->copies);
	}
	free(b->ops);
	free(b->cmd_op);
	json_decref(b->cmds);
	free(b);
	*bp = NULL;
}

static struct batch_op *
batch_op_new(struct store_batch *b, enum batch_kind kind,
    const char *const *tokens, size_t n_tokens, size_t *index_r)
{
	struct batch_op *op;
	size_t k;

	assert(!b->ran);
	if (b->n_ops == b->cap_ops) {
		b->cap_ops = b->cap_ops == 0 ? 64 : 2 * b->cap_ops;
		b->ops = xrealloc(b->ops, b->cap_ops * sizeof(*b->ops));
	}
	*index_r = b->n_ops;
	op = &b->ops[b->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->first = json_array_size(b->cmds);
	op->status = STORE_OK;
	op->tokens = xcalloc(n_tokens + 1, sizeof(*op->tokens));
	for (k = 0; k < n_tokens; k++)
		op->tokens[k] = xstrdup(tokens[k]);
	op->n_tokens = n_tokens;
	return op;
}

/* Add a command to op; fields may be NULL (expunge). */
static void
batch_cmd(struct store_batch *b, struct batch_op *op, const char *cmd,
    const char *user, const char *const *fields, size_t n_fields,
    const char *const *query, size_t n_query)
{
	size_t idx = json_array_size(b->cmds), i;
	json_t *params = json_object(), *f, *q, *item;
	char tag[32];

	/* Strings that are not UTF-8 give a NULL json_string: the command
	 * then fails at Dovecot (no user) and says so; nothing is guessed. */
	json_object_set_new(params, "user", json_string(user));
	if (fields != NULL) {
		f = json_array();
		for (i = 0; i < n_fields; i++)
			json_array_append_new(f, json_string(fields[i]));
		json_object_set_new(params, "field", f);
	}
	q = json_array();
	for (i = 0; i < n_query; i++)
		json_array_append_new(q, json_string(query[i]));
	json_object_set_new(params, "query", q);
	snprintf(tag, sizeof(tag), "c%zu", idx);
	item = json_pack("[s o s]", cmd, params, tag);
	if (item == NULL || json_array_append_new(b->cmds, item) < 0)
		abort();	/* only on out of memory */
	b->cmd_op = xrealloc(b->cmd_op, (idx + 1) * sizeof(*b->cmd_op));
	b->cmd_op[idx] = (size_t)(op - b->ops);
	op->n_cmds++;
}

size_t
store_batch_find(struct store_batch *b, const char *user,
    const char *const *tokens, size_t n_tokens, bool with_text,
    unsigned long long size_hint)
{
	struct batch_op *op;
	size_t index, i;

	op = batch_op_new(b, BATCH_FIND, tokens, n_tokens, &index);
	op->weight = 1024 + (with_text ? size_hint : 0);
	for (i = 0; i < n_tokens; i++) {
		const char *query[] = { "mailbox", "*", "header", "X-Recall-ID",
		    tokens[i] };

		batch_cmd(b, op, "fetch", user, copy_fields,
		    N_COPY_FIELDS + (with_text ? 1 : 0), query, 5);
	}
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
	batch_cmd(b, op, "fetch", user, fields, 2, query, 4);
	return index;
}

size_t
store_batch_expunge(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, const char *const *tokens,
    size_t n_tokens, bool only_unseen)
{
	char uidbuf[24];
	struct batch_op *op;
	size_t index, i;

	op = batch_op_new(b, BATCH_EXPUNGE, tokens, n_tokens, &index);
	op->weight = 1024;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", uid);
	/* Expunge under the token the copy actually carries. */
	for (i = 0; i < n_tokens; i++) {
		const char *q[] = { "mailbox", mailbox, "uid", uidbuf,
		    "unseen", "header", "X-Recall-ID", tokens[i] };
		const char *q_any[] = { "mailbox", mailbox, "uid", uidbuf,
		    "header", "X-Recall-ID", tokens[i] };

		if (only_unseen)
			batch_cmd(b, op, "expunge", user, NULL, 0, q, 8);
		else
			batch_cmd(b, op, "expunge", user, NULL, 0, q_any, 7);
	}
	op->n_exp = op->n_cmds;
	/*
	 * Look again in the same POST, after the expunges: Dovecot runs the
	 * commands of one request in order.  Any token counts.
	 */
	{
		const char *q[] = { "mailbox", mailbox, "uid", uidbuf };

		batch_cmd(b, op, "fetch", user, copy_fields, N_COPY_FIELDS,
		    q, 4);
	}
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

/* One answer item: give it to its operation. */
static void
batch_item(struct store_batch *b, const struct batch_post *p, json_t *item)
{
	const char *tag = json_string_value(json_array_get(item, 2));
	struct batch_op *op;
	enum store_status s;
	char *end, *err = NULL;
	unsigned long long idx;
	size_t k;

	if (tag == NULL || tag[0] != 'c' || (idx = strtoull(tag + 1, &end,
	    10), *end != '\0') || idx >= json_array_size(b->cmds)
	    || b->cmd_op[idx] < p->o0 || b->cmd_op[idx] >= p->o1)
		return;		/* not ours: the op stays unanswered */
	op = &b->ops[b->cmd_op[idx]];
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
	default:
		s = k < op->n_exp ? store_api_item_check(item, tag, &err)
		    : store_api_item_copies(item, tag,
		    (const char *const *)op->tokens, op->n_tokens,
		    &op->copies, &err);
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

	s = post_status(b->st, p->h, rc, &p->a, p->errbuf, &err);
	if (s == STORE_OK)
		s = store_api_parse_batch(p->a.body.buf, p->a.body.len, &root,
		    &err);
	if (s == STORE_OK)
		json_array_foreach(root, i, item)
			batch_item(b, p, item);
	json_decref(root);
	for (i = p->o0; i < p->o1; i++) {
		if (s != STORE_OK)
			batch_op_fail(&b->ops[i], s, err);
		else if (b->ops[i].answered < b->ops[i].n_cmds)
			batch_op_fail(&b->ops[i], STORE_FAILED,
			    "doveadm API: a command of the batch got no answer");
	}
	free(err);
	sbuf_release(&p->a.body);
	free(p->request);
	p->request = NULL;
	p->busy = false;
}

/* Start the next POST from operation *next on p's handle. */
static bool
batch_post_start(struct store_batch *b, struct batch_post *p, size_t *next)
{
	json_t *arr;
	size_t cmds = 0, i;
	unsigned long long weight = 0;

	if (*next >= b->n_ops)
		return false;
	p->o0 = *next;
	while (*next < b->n_ops && (*next == p->o0
	    || (cmds + b->ops[*next].n_cmds <= b->per_post
	    && weight + b->ops[*next].weight <= STORE_BATCH_BYTES))) {
		cmds += b->ops[*next].n_cmds;
		weight += b->ops[*next].weight;
		(*next)++;
	}
	p->o1 = *next;
	arr = json_array();
	for (i = b->ops[p->o0].first; i < b->ops[p->o1 - 1].first
	    + b->ops[p->o1 - 1].n_cmds; i++)
		json_array_append(arr, json_array_get(b->cmds, i));
	p->request = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (p->request == NULL)
		abort();
	post_setup(b->st, p->h, p->request, &p->a, p->errbuf);
	if (curl_multi_add_handle(b->st->multi, p->h) != CURLM_OK) {
		batch_post_done(b, p, CURLE_FAILED_INIT);
		return true;
	}
	p->busy = true;
	return true;
}

void
store_batch_run(struct store_batch *b)
{
	struct store *st = b->st;
	struct batch_post posts[STORE_BATCH_PARALLEL];
	size_t next = 0, i, n_slots = 0;
	int running = 0, left;
	bool busy;
	CURLMsg *msg;

	assert(!b->ran);
	b->ran = true;
	if (b->n_ops == 0)
		return;
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
		size_t total = json_array_size(b->cmds), posts;

		posts = (total + STORE_BATCH_CMDS - 1) / STORE_BATCH_CMDS;
		posts = (posts + n_slots - 1) / n_slots * n_slots;
		b->per_post = (total + posts - 1) / posts;
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
}

enum store_status
store_batch_copies(struct store_batch *b, size_t index,
    struct store_copies *out, char **error_r)
{
	struct batch_op *op = &b->ops[index];

	assert(b->ran && op->kind != BATCH_TEXT);
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
