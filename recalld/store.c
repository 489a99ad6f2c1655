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
#include "store_impl.h"
#include "sbuf.h"
#include "xalloc.h"

/* Largest answer we accept: a full message plus JSON escaping. */
#define STORE_MAX_ANSWER (512UL * 1024 * 1024)
#define STORE_CONNECT_TIMEOUT 5L
#define STORE_TIMEOUT 120L


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

int
store_after_fork(struct store *st)
{
	size_t i;

	if (st->curl != NULL)
		curl_easy_cleanup(st->curl);
	for (i = 0; i < STORE_BATCH_PARALLEL; i++)
		if (st->slot[i] != NULL) {
			curl_easy_cleanup(st->slot[i]);
			st->slot[i] = NULL;
		}
	if (st->multi != NULL)
		curl_multi_cleanup(st->multi);
	st->multi = NULL;
	st->curl = curl_easy_init();
	return st->curl != NULL ? 0 : -1;
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
	for (size_t i = 0; i < st->n_users; i++)
		free(st->users[i]);
	free(st->users);
	free(st->url);
	free(st);
	*stp = NULL;
}


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
void
store_post_setup(struct store *st, CURL *h, const char *request, struct answer *a,
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
enum store_status
store_post_status(struct store *st, CURL *h, CURLcode rc, const struct answer *a,
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
enum store_status
store_post(struct store *st, const char *request, struct answer *a,
    char **error_r)
{
	char errbuf[CURL_ERROR_SIZE];

	store_post_setup(st, st->curl, request, a, errbuf);
	return store_post_status(st, st->curl, curl_easy_perform(st->curl), a,
	    errbuf, error_r);
}

const char *const store_copy_fields[] = {
	"mailbox", "uid", "guid", "mailbox-guid", "flags", "hdr.x-recall-id",
	"size.physical",
	"text",		/* last: only when the caller asks for the text */
};

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
		char *req = store_api_command("fetch", user, store_copy_fields,
		    STORE_N_COPY_FIELDS, query, 5, "find");

		s = store_post(st, req, &a, error_r);
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
	req = store_api_command("fetch", user, store_copy_fields, STORE_N_COPY_FIELDS,
	    query, 4, "look");
	s = store_post(st, req, &a, error_r);
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
	s = store_post(st, req, &a, error_r);
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
	s = store_post(st, req, &a, error_r);
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
	s = store_post(st, text, &a, error_r);
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
