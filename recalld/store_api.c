/*
 * store_api - doveadm HTTP API JSON.  See store_api.h.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_api.h"
#include "xalloc.h"

void
store_copies_free(struct store_copies *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].mailbox);
		free(c->v[i].guid);
		free(c->v[i].mailbox_guid);
		free(c->v[i].flags);
		free(c->v[i].text);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static json_t *
string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

char *
store_api_command(const char *cmd, const char *user,
    const char *const *fields, size_t n_fields, const char *const *query,
    size_t n_query, const char *tag)
{
	json_t *params, *req;
	char *text, *copy;

	params = json_object();
	json_object_set_new(params, "user", json_string(user));
	if (fields != NULL)
		json_object_set_new(params, "field",
		    string_array(fields, n_fields));
	json_object_set_new(params, "query", string_array(query, n_query));
	req = json_pack("[[s o s]]", cmd, params, tag);
	if (req == NULL)
		abort();	/* only on invalid UTF-8 or OOM: callers check */
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		abort();
	/* jansson's allocator is malloc; copy so ownership is plain free(). */
	copy = xstrdup(text);
	free(text);
	return copy;
}

/*
 * The rows of one answer item [kind, params, tag] to tag (borrowed from
 * item), or a status with *error_r.
 */
static enum store_status
item_envelope(json_t *item, const char *tag, json_t **rows_r,
    char **error_r)
{
	json_t *params;
	const char *kind, *gottag;

	*rows_r = NULL;
	if (!json_is_array(item) || json_array_size(item) != 3
	    || (kind = json_string_value(json_array_get(item, 0))) == NULL
	    || (gottag = json_string_value(json_array_get(item, 2))) == NULL) {
		*error_r = xstrdup("doveadm API: unexpected answer shape");
		return STORE_FAILED;
	}
	if (strcmp(gottag, tag) != 0) {
		*error_r = xstrdup("doveadm API: answer to another command");
		return STORE_FAILED;
	}
	params = json_array_get(item, 1);
	if (strcmp(kind, "error") == 0) {
		json_int_t code = json_integer_value(json_object_get(params,
		    "exitCode"));
		const char *type = json_string_value(json_object_get(params,
		    "type"));

		if (code == STORE_EXIT_NOUSER) {
			*error_r = xstrdup("no such user");
			return STORE_NO_USER;
		}
		*error_r = xasprintf("doveadm API: error %s %lld",
		    type != NULL ? type : "?", (long long)code);
		/* EX_TEMPFAIL: the store says try again later. */
		return code == 75 ? STORE_UNAVAILABLE : STORE_FAILED;
	}
	if (strcmp(kind, "doveadmResponse") != 0 || !json_is_array(params)) {
		*error_r = xstrdup("doveadm API: unexpected answer kind");
		return STORE_FAILED;
	}
	*rows_r = params;
	return STORE_OK;
}

enum store_status
store_api_parse_batch(const char *body, size_t len, json_t **root_r,
    char **error_r)
{
	json_error_t jerr;
	json_t *root;

	*root_r = NULL;
	/* A message may hold NUL bytes; Dovecot sends them as \u0000. */
	root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		*error_r = xasprintf("doveadm API: bad JSON answer: %s",
		    jerr.text);
		return STORE_FAILED;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		*error_r = xstrdup("doveadm API: unexpected answer shape");
		return STORE_FAILED;
	}
	*root_r = root;
	return STORE_OK;
}

/*
 * Parse body and return the rows of the response to tag (borrowed from
 * *root_r, which the caller json_decref()s), or NULL with a status.
 */
static enum store_status
envelope(const char *body, size_t len, const char *tag, json_t **root_r,
    json_t **rows_r, char **error_r)
{
	json_t *root;
	enum store_status st;

	*root_r = NULL;
	*rows_r = NULL;
	if ((st = store_api_parse_batch(body, len, &root, error_r)) != STORE_OK)
		return st;
	if (json_array_size(root) != 1) {
		json_decref(root);
		*error_r = xstrdup("doveadm API: unexpected answer shape");
		return STORE_FAILED;
	}
	st = item_envelope(json_array_get(root, 0), tag, rows_r, error_r);
	if (st != STORE_OK) {
		json_decref(root);
		return st;
	}
	*root_r = root;
	return STORE_OK;
}

enum store_status
store_api_check(const char *body, size_t len, const char *tag,
    char **error_r)
{
	json_t *root, *rows;
	enum store_status st;

	st = envelope(body, len, tag, &root, &rows, error_r);
	json_decref(root);
	return st;
}

bool
store_flags_seen(const char *flags)
{
	const char *p = flags, *e;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == 5 && strncasecmp(p, "\\Seen", 5) == 0)
			return true;
		p = e;
	}
	return false;
}

bool
store_header_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value, *s, *e;

	if (tlen == 0)
		return false;
	while (*p != '\0') {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		/* One value per line; trim white space and a CR. */
		for (s = p; s < e && isspace((unsigned char)*s); s++)
			;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if ((size_t)(e - s) == tlen && strncasecmp(s, token, tlen) == 0)
			return true;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

/* A decimal uid as Dovecot prints it ("17"); 0 is no valid uid. */
static int
parse_uid(const char *s, unsigned long *uid_r)
{
	char *end;
	unsigned long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 0xffffffffUL)
		return -1;
	*uid_r = v;
	return 0;
}

/* size.physical ("197"), or 0 when absent or malformed. */
static unsigned long long
size_value(const char *s)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' ? v : 0;
}

enum store_status
store_api_row_copy(json_t *row, const char *const *tokens, size_t n_tokens,
    struct store_copies *out, char **error_r)
{
	const char *mailbox, *uid, *flags, *hdr, *guid, *mguid, *size;
	struct store_copy *c;
	unsigned long uidv;
	json_t *text;
	size_t k;

	mailbox = json_string_value(json_object_get(row, "mailbox"));
	uid = json_string_value(json_object_get(row, "uid"));
	flags = json_string_value(json_object_get(row, "flags"));
	hdr = json_string_value(json_object_get(row, "hdr.x-recall-id"));
	guid = json_string_value(json_object_get(row, "guid"));
	mguid = json_string_value(json_object_get(row, "mailbox-guid"));
	size = json_string_value(json_object_get(row, "size.physical"));
	text = json_object_get(row, "text");
	if (mailbox == NULL || flags == NULL || hdr == NULL
	    || parse_uid(uid, &uidv) < 0) {
		*error_r = xstrdup("doveadm API: fetch row without "
		    "mailbox, uid, flags or hdr.x-recall-id");
		return STORE_FAILED;
	}
	for (k = 0; k < n_tokens; k++)
		if (store_header_has_token(hdr, tokens[k]))
			break;
	if (k == n_tokens)
		return STORE_OK;	/* a substring match: not ours */
	/* The same copy found under two tokens counts once. */
	for (k = 0; k < out->n; k++)
		if (out->v[k].uid == uidv
		    && strcmp(out->v[k].mailbox, mailbox) == 0)
			return STORE_OK;
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	c = &out->v[out->n++];
	memset(c, 0, sizeof(*c));
	c->mailbox = xstrdup(mailbox);
	c->uid = uidv;
	c->guid = xstrdup(guid != NULL ? guid : "");
	c->mailbox_guid = xstrdup(mguid != NULL ? mguid : "");
	c->flags = xstrdup(flags);
	c->seen = store_flags_seen(flags);
	c->size = size_value(size);
	if (json_is_string(text)) {
		c->text_len = json_string_length(text);
		c->text = xmalloc(c->text_len + 1);
		memcpy(c->text, json_string_value(text), c->text_len);
		c->text[c->text_len] = '\0';
		c->text_exact = size != NULL && c->size == c->text_len;
	}
	return STORE_OK;
}

/* Append the rows of a fetch answer that carry one of tokens to out. */
static enum store_status
rows_to_copies(json_t *rows, const char *const *tokens, size_t n_tokens,
    struct store_copies *out, char **error_r)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
		if (store_api_row_copy(row, tokens, n_tokens, out, error_r)
		    != STORE_OK)
			return STORE_FAILED;
	return STORE_OK;
}

unsigned long
store_api_row_uid(json_t *row)
{
	unsigned long uid;

	return parse_uid(json_string_value(json_object_get(row, "uid")),
	    &uid) == 0 ? uid : 0;
}

enum store_status
store_api_item_rows(json_t *item, const char *tag, json_t **rows_r,
    char **error_r)
{
	return item_envelope(item, tag, rows_r, error_r);
}

static int
users_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum store_status
store_api_parse_users(const char *body, size_t len, const char *tag,
    char ***users_r, size_t *n_r, char **error_r)
{
	json_error_t jerr;
	json_t *root, *item, *params, *list, *name;
	const char *kind, *gottag;
	char **v;
	size_t i, n = 0;

	*users_r = NULL;
	*n_r = 0;
	root = json_loadb(body, len, 0, &jerr);
	item = json_array_get(root, 0);
	kind = json_string_value(json_array_get(item, 0));
	gottag = json_string_value(json_array_get(item, 2));
	params = json_array_get(item, 1);
	list = json_object_get(params, "userList");
	if (root == NULL || kind == NULL || gottag == NULL
	    || strcmp(gottag, tag) != 0) {
		json_decref(root);
		*error_r = xstrdup("doveadm API: unexpected answer shape");
		return STORE_FAILED;
	}
	if (strcmp(kind, "doveadmResponse") != 0 || !json_is_array(list)) {
		json_decref(root);
		*error_r = xstrdup("doveadm API: the userdb does not list "
		    "users");
		return STORE_FAILED;
	}
	v = xcalloc(json_array_size(list) + 1, sizeof(*v));
	json_array_foreach(list, i, name)
		if (json_is_string(name) && json_string_length(name) > 0
		    && strlen(json_string_value(name))
		    == json_string_length(name))
			v[n++] = xstrdup(json_string_value(name));
	json_decref(root);
	qsort(v, n, sizeof(*v), users_cmp);
	/* Unique, so that each name is one trie leaf. */
	for (i = 1; n > 0 && i < n; ) {
		if (strcmp(v[i - 1], v[i]) == 0) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
			n--;
		} else
			i++;
	}
	*users_r = v;
	*n_r = n;
	return STORE_OK;
}

enum store_status
store_api_item_copies(json_t *item, const char *tag,
    const char *const *tokens, size_t n_tokens, struct store_copies *out,
    char **error_r)
{
	json_t *rows;
	enum store_status st;

	if ((st = item_envelope(item, tag, &rows, error_r)) != STORE_OK)
		return st;
	return rows_to_copies(rows, tokens, n_tokens, out, error_r);
}

enum store_status
store_api_item_check(json_t *item, const char *tag, char **error_r)
{
	json_t *rows;

	return item_envelope(item, tag, &rows, error_r);
}

enum store_status
store_api_parse_copies(const char *body, size_t len, const char *tag,
    const char *const *tokens, size_t n_tokens, struct store_copies *out,
    char **error_r)
{
	json_t *root, *rows;
	enum store_status st;

	st = envelope(body, len, tag, &root, &rows, error_r);
	if (st != STORE_OK)
		return st;
	st = rows_to_copies(rows, tokens, n_tokens, out, error_r);
	json_decref(root);
	return st;
}

enum store_status
store_api_item_text(json_t *item, const char *tag, char **text_r,
    size_t *len_r, bool *exact_r, char **error_r)
{
	json_t *rows, *row, *text;
	enum store_status st;
	const char *size;
	size_t tlen;

	*text_r = NULL;
	*len_r = 0;
	*exact_r = false;
	if ((st = item_envelope(item, tag, &rows, error_r)) != STORE_OK)
		return st;
	if (json_array_size(rows) == 0)
		return STORE_OK;
	row = json_array_get(rows, 0);
	text = json_object_get(row, "text");
	if (!json_is_string(text)) {
		*error_r = xstrdup("doveadm API: fetch row without text");
		return STORE_FAILED;
	}
	tlen = json_string_length(text);
	*text_r = xmalloc(tlen + 1);
	memcpy(*text_r, json_string_value(text), tlen);
	(*text_r)[tlen] = '\0';
	*len_r = tlen;
	size = json_string_value(json_object_get(row, "size.physical"));
	*exact_r = size != NULL && size_value(size) == tlen;
	return STORE_OK;
}

enum store_status
store_api_parse_text(const char *body, size_t len, const char *tag,
    char **text_r, size_t *len_r, bool *exact_r, char **error_r)
{
	json_t *root, *rows;
	enum store_status st;

	*text_r = NULL;
	*len_r = 0;
	*exact_r = false;
	st = envelope(body, len, tag, &root, &rows, error_r);
	if (st != STORE_OK)
		return st;
	st = store_api_item_text(json_array_get(root, 0), tag, text_r, len_r,
	    exact_r, error_r);
	json_decref(root);
	return st;
}
