/*
 * recallctl_fmt - requests, answers and their display.  See
 * recallctl_fmt.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recallctl_fmt.h"
#include "sbuf.h"
#include "xalloc.h"

static const char *const outcomes[] = {
	"recalled", "read", "left-external", "left-forwarded", "left-list",
	"left-pop3", "left-imap", "left-mobile", "held-recalled", "not-found",
	"expired", "opted-out", "pending",
};

/* Dump and copy into a plain malloc'ed string with a newline. */
static char *
dump(json_t *j, size_t flags)
{
	char *text = json_dumps(j, flags), *out;

	json_decref(j);
	if (text == NULL)
		abort();
	out = xasprintf("%s\n", text);
	free(text);
	return out;
}

char *
fmt_request(const char *op, const char *ref, bool dry_run, const char *as)
{
	json_t *o = json_object(), *jref, *jas;
	char *text;
	size_t len;

	/* json_string() refuses text that is not UTF-8. */
	jref = json_string(ref);
	jas = as != NULL ? json_string(as) : json_null();
	if (jref == NULL || jas == NULL) {
		json_decref(jref);
		json_decref(jas);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "op", json_string(op));
	json_object_set_new(o, "ref", jref);
	if (strcmp(op, "recall") == 0) {
		json_object_set_new(o, "dry_run", json_boolean(dry_run));
		json_object_set_new(o, "as", jas);
	} else {
		json_decref(jas);
	}
	text = dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	len = strlen(text);
	if (len > 0 && text[len - 1] == '\n')
		text[len - 1] = '\0';
	return text;
}

void
fmt_reply_clear(struct fmt_reply *r)
{
	size_t i;

	for (i = 0; i < r->n_copies; i++) {
		free(r->copies[i].recipient);
		free(r->copies[i].outcome);
		free(r->copies[i].reason);
		free(r->copies[i].at);
	}
	free(r->copies);
	free(r->error);
	free(r->code);
	free(r->request);
	free(r->message_id);
	free(r->status);
	memset(r, 0, sizeof(*r));
}

/* The string member key of o, copied, or NULL. */
static char *
member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? xstrdup(s) : NULL;
}

static bool
is_outcome(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(outcomes[i], s) == 0)
			return true;
	return false;
}

bool
fmt_outcome_valid(const char *s)
{
	return is_outcome(s);
}

int
fmt_reply_parse(const char *payload, size_t len, struct fmt_reply *r,
    char **error_r)
{
	json_error_t jerr;
	json_t *root, *copies, *c;
	size_t i;

	memset(r, 0, sizeof(*r));
	root = json_loadb(payload, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		*error_r = xasprintf("recalld answered with something that is "
		    "not a JSON object%s%s", root == NULL ? ": " : "",
		    root == NULL ? jerr.text : "");
		json_decref(root);
		return -1;
	}
	if (json_object_get(root, "error") != NULL) {
		r->is_error = true;
		r->error = member(root, "error");
		r->code = member(root, "code");
		if (r->error == NULL)
			r->error = xstrdup("(no text)");
		if (r->code == NULL)
			r->code = xstrdup("internal");
		json_decref(root);
		return 0;
	}
	r->request = member(root, "request");
	r->message_id = member(root, "message_id");
	r->status = member(root, "status");
	copies = json_object_get(root, "copies");
	if (r->request == NULL || r->message_id == NULL || r->status == NULL
	    || !json_is_array(copies)
	    || (strcmp(r->status, "complete") != 0
	    && strcmp(r->status, "partial") != 0
	    && strcmp(r->status, "failed") != 0))
		goto bad;
	r->copies = xcalloc(json_array_size(copies) + 1, sizeof(*r->copies));
	json_array_foreach(copies, i, c) {
		struct fmt_copy *fc = &r->copies[r->n_copies++];

		fc->recipient = member(c, "recipient");
		fc->outcome = member(c, "outcome");
		fc->reason = member(c, "reason");
		fc->at = member(c, "at");
		if (fc->recipient == NULL || fc->outcome == NULL
		    || fc->reason == NULL || fc->at == NULL
		    || !is_outcome(fc->outcome))
			goto bad;
	}
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	fmt_reply_clear(r);
	*error_r = xstrdup("recalld's answer does not have the expected shape");
	return -1;
}

int
fmt_exit_code(const struct fmt_reply *r)
{
	if (r->is_error)
		return strcmp(r->code, "unavailable") == 0
		    ? FMT_EXIT_UNAVAILABLE : FMT_EXIT_FAILED;
	if (strcmp(r->status, "complete") == 0)
		return FMT_EXIT_COMPLETE;
	if (strcmp(r->status, "partial") == 0)
		return FMT_EXIT_PARTIAL;
	return FMT_EXIT_FAILED;
}

char *
fmt_json(const struct fmt_reply *r)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "request", json_string(r->request));
	json_object_set_new(o, "message_id", json_string(r->message_id));
	json_object_set_new(o, "status", json_string(r->status));
	for (i = 0; i < r->n_copies; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "recipient",
		    json_string(r->copies[i].recipient));
		json_object_set_new(c, "outcome",
		    json_string(r->copies[i].outcome));
		json_object_set_new(c, "reason",
		    json_string(r->copies[i].reason));
		json_object_set_new(c, "at", json_string(r->copies[i].at));
		json_array_append_new(a, c);
	}
	json_object_set_new(o, "copies", a);
	return dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

char *
fmt_error_json(const char *code, const char *message)
{
	json_t *o = json_object();
	json_t *m = json_string(message);

	json_object_set_new(o, "error", m != NULL ? m : json_string("?"));
	json_object_set_new(o, "code", json_string(code));
	return dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

char *
fmt_printable(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;

	sbuf_init(&sb);
	for (; *p != '\0'; p++) {
		/* C0, DEL, and C1 controls (UTF-8 C2 80..C2 9F). */
		if (*p < 0x20 || *p == 0x7f) {
			sbuf_addf(&sb, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			sbuf_addf(&sb, "\\xc2\\x%02x", p[1]);
			p++;
		} else {
			sbuf_addc(&sb, (char)*p);
		}
	}
	return sbuf_detach(&sb);
}

/* A table cell: padded to w columns and a gap of two, but the last. */
static void
cell(struct sbuf *sb, const char *s, size_t w, bool last)
{
	if (last)
		sbuf_adds(sb, s);
	else
		sbuf_add_padded(sb, s, w + 2);
}

char *
fmt_table(const struct fmt_reply *r, bool dry_run)
{
	static const char *const head[4] = { "RECIPIENT", "OUTCOME", "AT",
	    "REASON" };
	struct sbuf sb = SBUF_INIT;
	size_t w[4], i, k, recalled = 0;
	char **cells;

	sbuf_init(&sb);
	cells = xcalloc(4 * r->n_copies + 1, sizeof(*cells));
	for (k = 0; k < 4; k++)
		w[k] = strlen(head[k]);
	for (i = 0; i < r->n_copies; i++) {
		const struct fmt_copy *c = &r->copies[i];
		const char *v[4] = { c->recipient, c->outcome, c->at,
		    c->reason };

		for (k = 0; k < 4; k++) {
			cells[4 * i + k] = fmt_printable(v[k]);
			if (sbuf_utf8_width(cells[4 * i + k]) > w[k])
				w[k] = sbuf_utf8_width(cells[4 * i + k]);
		}
		if (strcmp(c->outcome, "recalled") == 0
		    || strcmp(c->outcome, "held-recalled") == 0)
			recalled++;
	}
	if (r->n_copies > 0) {
		for (k = 0; k < 4; k++)
			cell(&sb, head[k], w[k], k == 3);
		sbuf_addc(&sb, '\n');
		for (i = 0; i < r->n_copies; i++) {
			for (k = 0; k < 4; k++)
				cell(&sb, cells[4 * i + k], w[k], k == 3);
			sbuf_addc(&sb, '\n');
		}
	}
	for (i = 0; i < 4 * r->n_copies; i++)
		free(cells[i]);
	free(cells);
	{
		char *mid = fmt_printable(r->message_id);
		char *req = fmt_printable(r->request);

		sbuf_addf(&sb, "request %s: %s, %zu of %zu cop%s %s%s "
		    "(message %s)\n", req, r->status, recalled, r->n_copies,
		    r->n_copies == 1 ? "y" : "ies",
		    dry_run ? "would be recalled" : "recalled",
		    dry_run ? "; dry run, nothing was changed" : "", mid);
		free(mid);
		free(req);
	}
	return sbuf_detach(&sb);
}
