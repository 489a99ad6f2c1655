/*
 * recallctl_ops - history, audit verify, restore, purge on the client
 * side.  See recallctl_ops.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recallctl_fmt.h"
#include "recallctl_ops.h"
#include "sbuf.h"
#include "xalloc.h"

/* The columns of recall_history, in the view's order. */
static const char *const hist_cols[] = {
	"request_id", "requested_at", "requested_by", "message_id",
	"recall_id", "sender", "recipient", "copy_addr", "outcome", "reason",
	"decided_at", "dry_run", "request_status",
};
#define N_HIST_COLS (sizeof(hist_cols) / sizeof(hist_cols[0]))

static char *
dump(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *out;

	json_decref(j);
	if (text == NULL)
		return NULL;
	out = xstrdup(text);
	free(text);
	return out;
}

/* Set key to s when s is not NULL; false when s is not UTF-8. */
static bool
set_opt(json_t *o, const char *key, const char *s)
{
	json_t *v;

	if (s == NULL)
		return true;
	if ((v = json_string(s)) == NULL)
		return false;
	json_object_set_new(o, key, v);
	return true;
}

char *
ops_history_request(const struct ops_history_filter *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string("history"));
	if (!set_opt(o, "sender", f->sender)
	    || !set_opt(o, "recipient", f->recipient)
	    || !set_opt(o, "since", f->since) || !set_opt(o, "until", f->until)
	    || !set_opt(o, "outcome", f->outcome)) {
		json_decref(o);
		return NULL;
	}
	if (f->limit > 0)
		json_object_set_new(o, "limit", json_integer(f->limit));
	return dump(o);
}

char *
ops_simple_request(const char *op)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string(op));
	return dump(o);
}

char *
ops_restore_request(const char *ref, const char *recipient)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string("restore"));
	if (!set_opt(o, "ref", ref) || !set_opt(o, "recipient", recipient)) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *
ops_recall_request(const char *ref, bool dry_run, const char *as,
    const char *on_behalf_of, const char *via)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string("recall"));
	if (!set_opt(o, "ref", ref)) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "dry_run", json_boolean(dry_run));
	if (!set_opt(o, "as", as) || !set_opt(o, "on_behalf_of", on_behalf_of)
	    || !set_opt(o, "via", via)) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

void
ops_csv_field(struct sbuf *sb, const char *s)
{
	const char *p;
	bool quote = *s == '\0' ? false : (s[0] == ' ' || s[strlen(s) - 1] == ' ');

	for (p = s; *p != '\0' && !quote; p++)
		if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
			quote = true;
	if (!quote) {
		sbuf_adds(sb, s);
		return;
	}
	sbuf_addc(sb, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			sbuf_addc(sb, '"');
		sbuf_addc(sb, *p);
	}
	sbuf_addc(sb, '"');
}

/* A history cell as text ("" for null). */
static char *
cell_text(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return xstrdup("");
}

static int
check_history(json_t *rows, char **error_r)
{
	size_t i, c;
	json_t *row;

	if (!json_is_array(rows))
		goto bad;
	json_array_foreach(rows, i, row) {
		if (!json_is_object(row))
			goto bad;
		for (c = 0; c < N_HIST_COLS; c++)
			if (json_object_get(row, hist_cols[c]) == NULL)
				goto bad;
	}
	return 0;
bad:
	*error_r = xstrdup("recalld's history answer does not have the "
	    "expected shape");
	return -1;
}

/* The table: the columns a person reads, reason last. */
static char *
history_table(json_t *rows)
{
	static const char *const show[] = { "requested_at", "request_id",
	    "requested_by", "sender", "message_id", "recipient", "outcome",
	    "reason" };
	static const char *const head[] = { "REQUESTED", "REQUEST", "BY",
	    "SENDER", "MESSAGE-ID", "RECIPIENT", "OUTCOME", "REASON" };
	enum { NS = sizeof(show) / sizeof(show[0]) };
	struct sbuf sb = SBUF_INIT;
	size_t n = json_array_size(rows), i, k, w[NS];
	char **cells = xcalloc(n * NS + 1, sizeof(*cells));

	sbuf_init(&sb);
	for (k = 0; k < NS; k++)
		w[k] = strlen(head[k]);
	for (i = 0; i < n; i++) {
		json_t *row = json_array_get(rows, i);

		for (k = 0; k < NS; k++) {
			char *t = cell_text(json_object_get(row, show[k]));

			if (strcmp(show[k], "request_id") == 0
			    && json_is_true(json_object_get(row, "dry_run"))) {
				char *d = xasprintf("%s (dry)", t);

				free(t);
				t = d;
			}
			cells[i * NS + k] = fmt_printable(t);
			free(t);
			if (sbuf_utf8_width(cells[i * NS + k]) > w[k])
				w[k] = sbuf_utf8_width(cells[i * NS + k]);
		}
	}
	for (i = 0; i <= n; i++) {
		for (k = 0; k < NS; k++) {
			const char *s = i == 0 ? head[k] : cells[(i - 1) * NS + k];

			if (k + 1 == NS) {
				sbuf_adds(&sb, s);
				break;
			}
			sbuf_add_padded(&sb, s, w[k] + 2);
		}
		sbuf_addc(&sb, '\n');
	}
	for (i = 0; i < n * NS; i++)
		free(cells[i]);
	free(cells);
	sbuf_addf(&sb, "%zu row%s\n", n, n == 1 ? "" : "s");
	return sbuf_detach(&sb);
}

static char *
history_csv(json_t *rows)
{
	struct sbuf sb = SBUF_INIT;
	size_t i, c;
	json_t *row;

	sbuf_init(&sb);
	for (c = 0; c < N_HIST_COLS; c++) {
		if (c > 0)
			sbuf_addc(&sb, ',');
		sbuf_adds(&sb, hist_cols[c]);
	}
	sbuf_adds(&sb, "\r\n");
	json_array_foreach(rows, i, row) {
		for (c = 0; c < N_HIST_COLS; c++) {
			char *t = cell_text(json_object_get(row, hist_cols[c]));

			if (c > 0)
				sbuf_addc(&sb, ',');
			ops_csv_field(&sb, t);
			free(t);
		}
		sbuf_adds(&sb, "\r\n");
	}
	return sbuf_detach(&sb);
}

static int
format_history(json_t *root, enum ops_format format, char **out_r,
    char **warn_r, char **error_r)
{
	json_t *rows = json_object_get(root, "history");
	char *text;

	if (check_history(rows, error_r) < 0)
		return -1;
	if (json_is_true(json_object_get(root, "truncated")))
		*warn_r = xstrdup("more rows match than one answer holds; "
		    "narrow the filters (--since, --until) or raise --limit");
	switch (format) {
	case OPS_JSON:
		text = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL)
			abort();
		*out_r = xasprintf("%s\n", text);
		free(text);
		break;
	case OPS_CSV:
		*out_r = history_csv(rows);
		break;
	case OPS_TABLE:
		*out_r = history_table(rows);
		break;
	}
	return 0;
}

static int
format_audit(json_t *root, enum ops_format format, char **out_r,
    char **error_r)
{
	json_t *a = json_object_get(root, "audit"), *rows, *intact;
	char *why;

	rows = json_object_get(a, "rows");
	intact = json_object_get(a, "intact");
	if (!json_is_integer(rows) || !json_is_boolean(intact)
	    || (json_is_false(intact)
	    && (!json_is_integer(json_object_get(a, "bad_seq"))
	    || !json_is_string(json_object_get(a, "why"))))) {
		*error_r = xstrdup("recalld's audit answer does not have the "
		    "expected shape");
		return -1;
	}
	if (format == OPS_JSON) {
		char *text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (text == NULL)
			abort();
		*out_r = xasprintf("%s\n", text);
		free(text);
	} else if (json_is_true(intact)) {
		*out_r = xasprintf("audit log: %lld rows, chain intact\n",
		    (long long)json_integer_value(rows));
	} else {
		why = fmt_printable(json_string_value(json_object_get(a,
		    "why")));
		*out_r = xasprintf("audit log: chain broken at row %lld: %s\n",
		    (long long)json_integer_value(json_object_get(a,
		    "bad_seq")), why);
		free(why);
	}
	return json_is_true(intact) ? 0 : 1;
}

/* The string member key of o, or "?". */
static const char *
str_or_q(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "?";
}

static int
format_restore(json_t *root, enum ops_format format, char **out_r,
    char **error_r)
{
	json_t *req = json_object_get(root, "request");
	json_t *ok = json_object_get(root, "restored");
	json_t *bad = json_object_get(root, "failed"), *c;
	struct sbuf sb = SBUF_INIT;
	size_t i;

	if (!json_is_string(req) || !json_is_array(ok) || !json_is_array(bad)) {
		*error_r = xstrdup("recalld's restore answer does not have "
		    "the expected shape");
		return -1;
	}
	sbuf_init(&sb);
	if (format == OPS_JSON) {
		char *text = json_dumps(root, JSON_COMPACT
		    | JSON_PRESERVE_ORDER);

		if (text == NULL)
			abort();
		sbuf_addf(&sb, "%s\n", text);
		free(text);
	} else {
		json_array_foreach(ok, i, c) {
			char *r = fmt_printable(str_or_q(c, "recipient"));
			char *m = fmt_printable(str_or_q(c, "mailbox"));

			sbuf_addf(&sb, "%s: restored into %s (uid %lld)\n", r, m,
			    (long long)json_integer_value(json_object_get(c,
			    "uid")));
			free(r);
			free(m);
		}
		json_array_foreach(bad, i, c) {
			char *r = fmt_printable(str_or_q(c, "recipient"));
			char *e = fmt_printable(str_or_q(c, "error"));

			sbuf_addf(&sb, "%s: NOT restored: %s\n", r, e);
			free(r);
			free(e);
		}
		sbuf_addf(&sb, "request %s: %zu cop%s restored, %zu failed\n",
		    json_string_value(req), json_array_size(ok),
		    json_array_size(ok) == 1 ? "y" : "ies",
		    json_array_size(bad));
	}
	*out_r = sbuf_detach(&sb);
	if (json_array_size(bad) == 0)
		return 0;
	return json_array_size(ok) > 0 ? 1 : 2;
}

int
ops_format_answer(const char *op, const char *payload, size_t len,
    enum ops_format format, char **out_r, char **warn_r, char **error_r)
{
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	*out_r = NULL;
	*warn_r = NULL;
	root = json_loadb(payload, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		*error_r = xstrdup("recalld answered with something that is "
		    "not a JSON object");
		return -1;
	}
	if (strcmp(op, "history") == 0) {
		rc = format_history(root, format, out_r, warn_r, error_r);
	} else if (strcmp(op, "audit_verify") == 0) {
		rc = format_audit(root, format, out_r, error_r);
	} else if (strcmp(op, "restore") == 0) {
		rc = format_restore(root, format, out_r, error_r);
	} else if (strcmp(op, "purge") == 0) {
		json_t *n = json_object_get(root, "purged");

		if (!json_is_integer(n)) {
			*error_r = xstrdup("recalld's purge answer does not "
			    "have the expected shape");
		} else {
			*out_r = format == OPS_JSON ? xasprintf("{\"purged\":"
			    "%lld}\n", (long long)json_integer_value(n))
			    : xasprintf("purged %lld expired quarantine "
			    "cop%s\n", (long long)json_integer_value(n),
			    json_integer_value(n) == 1 ? "y" : "ies");
			rc = 0;
		}
	} else {
		*error_r = xasprintf("internal: no formatter for %s", op);
	}
	json_decref(root);
	return rc;
}
