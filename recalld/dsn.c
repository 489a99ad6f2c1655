/*
 * dsn - the report mail.  See dsn.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "sbuf.h"
#include "xalloc.h"

/* Longest subject (bytes of UTF-8) and DSN field value we copy. */
#define DSN_MAX_SUBJECT 300
#define DSN_MAX_FIELD 900
/* Longest line in the text part before it is cut (RFC 5322: 998). */
#define DSN_MAX_LINE 990

const char *
dsn_action(enum outcome o)
{
	if (outcome_is_recalled(o))
		return "delivered";
	return o == OUTCOME_PENDING ? "delayed" : "failed";
}

const char *
dsn_status(enum outcome o)
{
	if (outcome_is_recalled(o))
		return "2.0.0";
	return o == OUTCOME_PENDING ? "4.0.0" : "5.0.0";
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
	    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

char *
dsn_utf8_clean(const char *s, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	sbuf_init(&sb);
	while (i < len) {
		if (p[i] == '\0') {
			sbuf_addc(&sb, ' ');
			i++;
		} else if ((k = utf8_seq(p + i, len - i)) == 0) {
			sbuf_adds(&sb, "\xef\xbf\xbd");
			i++;
		} else {
			sbuf_add(&sb, p + i, k);
			i += k;
		}
	}
	return sbuf_detach(&sb);
}

char *
dsn_field(const char *s, size_t max, int ascii_only)
{
	struct sbuf sb = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");

	sbuf_init(&sb);
	for (; *p != '\0' && sb.len < max; p++) {
		if (*p < 0x20 || *p == 0x7f)
			sbuf_addc(&sb, ' ');
		else if (*p >= 0x80 && ascii_only)
			sbuf_addc(&sb, '?');
		else
			sbuf_addc(&sb, (char)*p);
	}
	if (!ascii_only) {
		/* Cut on a character boundary, then mend what is left. */
		char *clean;

		while (sb.len > 0 && *p != '\0'
		    && ((unsigned char)sb.buf[sb.len - 1] & 0xc0) == 0x80)
			sb.len--;
		if (sb.len > 0 && *p != '\0'
		    && (unsigned char)sb.buf[sb.len - 1] >= 0xc0)
			sb.len--;
		sb.buf[sb.len] = '\0';
		clean = dsn_utf8_clean(sb.buf, sb.len);
		sbuf_release(&sb);
		return clean;
	}
	return sbuf_detach(&sb);
}

static void
base64_add(struct sbuf *sb, const unsigned char *in, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		sbuf_addc(sb, tbl[in[i] >> 2]);
		sbuf_addc(sb, tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)]);
		sbuf_addc(sb, tbl[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)]);
		sbuf_addc(sb, tbl[in[i + 2] & 63]);
	}
	if (i < len) {
		sbuf_addc(sb, tbl[in[i] >> 2]);
		if (i + 1 < len) {
			sbuf_addc(sb, tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)]);
			sbuf_addc(sb, tbl[(in[i + 1] & 15) << 2]);
		} else {
			sbuf_addc(sb, tbl[(in[i] & 3) << 4]);
			sbuf_addc(sb, '=');
		}
		sbuf_addc(sb, '=');
	}
}

char *
dsn_subject(const char *subject)
{
	struct sbuf sb = SBUF_INIT;
	char *v = dsn_field(subject, DSN_MAX_SUBJECT, 0);
	const unsigned char *p = (const unsigned char *)v;
	bool ascii = true;
	size_t i, len = strlen(v), chunk;

	sbuf_init(&sb);
	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			ascii = false;
	sbuf_adds(&sb, "Subject: Recall report: ");
	if (ascii) {
		sbuf_adds(&sb, v);
		free(v);
		return sbuf_detach(&sb);
	}
	/*
	 * RFC 2047: encoded words of at most 75 characters, whole UTF-8
	 * characters only, one per folded line.  45 bytes give 60 base64
	 * characters + 12 for "=?UTF-8?B?" and "?=".
	 */
	for (i = 0; i < len; i += chunk) {
		size_t k;

		chunk = 0;
		while (i + chunk < len) {
			k = utf8_seq(p + i + chunk, len - i - chunk);
			if (k == 0)
				k = 1;	/* cannot happen: v is clean */
			if (chunk + k > 45)
				break;
			chunk += k;
		}
		if (i > 0)
			sbuf_adds(&sb, "\n ");
		sbuf_adds(&sb, "=?UTF-8?B?");
		base64_add(&sb, p + i, chunk);
		sbuf_adds(&sb, "?=");
	}
	free(v);
	return sbuf_detach(&sb);
}

/* One line of the text part, cut at DSN_MAX_LINE bytes. */
static void
text_line(struct sbuf *sb, const char *line)
{
	char *v = dsn_field(line, DSN_MAX_LINE, 0);

	sbuf_adds(sb, v);
	sbuf_addc(sb, '\n');
	free(v);
}

static void
text_part(struct sbuf *sb, const struct dsn_input *in)
{
	const struct report *r = in->rep;
	struct sbuf line = SBUF_INIT;
	size_t i, wr = strlen("RECIPIENT"), wo = strlen("OUTCOME"), n = 0;
	char *subj = dsn_field(in->subject, DSN_MAX_SUBJECT, 0);

	sbuf_init(&line);
	for (i = 0; i < r->n_copies; i++) {
		if (sbuf_utf8_width(r->copies[i].recipient) > wr)
			wr = sbuf_utf8_width(r->copies[i].recipient);
		if (strlen(outcome_name(r->copies[i].outcome)) > wo)
			wo = strlen(outcome_name(r->copies[i].outcome));
		n += outcome_is_recalled(r->copies[i].outcome);
	}
	if (wr > 60)
		wr = 60;
	sbuf_addf(&line, "Recall request %lld for your message %s",
	    r->request_id, r->message_id);
	text_line(sb, line.buf);
	sbuf_reset(&line);
	sbuf_addf(&line, "(subject \"%s\"): %s, %zu of %zu cop%s recalled.",
	    subj, request_status_name(r->status), n, r->n_copies,
	    r->n_copies == 1 ? "y" : "ies");
	text_line(sb, line.buf);
	sbuf_addc(sb, '\n');
	sbuf_reset(&line);
	sbuf_add_padded(&line, "RECIPIENT", wr + 2);
	sbuf_add_padded(&line, "OUTCOME", wo + 2);
	sbuf_adds(&line, "REASON");
	text_line(sb, line.buf);
	for (i = 0; i < r->n_copies; i++) {
		sbuf_reset(&line);
		sbuf_add_padded(&line, r->copies[i].recipient, wr + 2);
		sbuf_add_padded(&line, outcome_name(r->copies[i].outcome),
		    wo + 2);
		sbuf_adds(&line, r->copies[i].reason);
		text_line(sb, line.buf);
	}
	sbuf_addc(sb, '\n');
	text_line(sb, "recalled: removed unread and kept in quarantine; "
	    "read: the recipient had read it; left-*: a copy left the mail "
	    "system; pending: will be retried.");
	text_line(sb, "The recipients are not told about the recall.");
	sbuf_release(&line);
	free(subj);
}

static void
dsn_fieldline(struct sbuf *sb, const char *name, const char *prefix,
    const char *value)
{
	char *v = dsn_field(value, DSN_MAX_FIELD, 1);

	sbuf_addf(sb, "%s: %s%s\n", name, prefix, v);
	free(v);
}

static void
status_part(struct sbuf *sb, const struct dsn_input *in)
{
	const struct report *r = in->rep;
	char id[32];
	size_t i;

	snprintf(id, sizeof(id), "%lld", r->request_id);
	dsn_fieldline(sb, "Reporting-MTA", "dns; ", in->reporting_mta);
	if (in->arrival_date != NULL)
		dsn_fieldline(sb, "Arrival-Date", "", in->arrival_date);
	dsn_fieldline(sb, "X-Recall-Request", "", id);
	dsn_fieldline(sb, "X-Recall-Message-ID", "", r->message_id);
	dsn_fieldline(sb, "X-Recall-Status", "",
	    request_status_name(r->status));
	for (i = 0; i < r->n_copies; i++) {
		const struct report_copy *c = &r->copies[i];

		sbuf_addc(sb, '\n');
		dsn_fieldline(sb, "Original-Recipient", "rfc822;",
		    c->recipient);
		dsn_fieldline(sb, "Final-Recipient", "rfc822;",
		    c->copy_addr != NULL && *c->copy_addr != '\0'
		    ? c->copy_addr : c->recipient);
		dsn_fieldline(sb, "Action", "", dsn_action(c->outcome));
		dsn_fieldline(sb, "Status", "", dsn_status(c->outcome));
		dsn_fieldline(sb, "X-Recall-Outcome", "",
		    outcome_name(c->outcome));
		dsn_fieldline(sb, "X-Recall-Reason", "", c->reason);
		if (c->at != NULL && *c->at != '\0')
			dsn_fieldline(sb, "X-Recall-At", "", c->at);
	}
}

/* The original header block: NUL and CR dropped, cut on a line end. */
static void
headers_part(struct sbuf *sb, const struct dsn_input *in)
{
	size_t len = in->headers_len, i;
	const char *h = in->headers;

	if (h == NULL || len == 0) {
		char *mid = dsn_field(in->rep->message_id, DSN_MAX_FIELD, 1);

		sbuf_addf(sb, "Message-ID: %s\n", mid);
		free(mid);
		return;
	}
	if (len > DSN_MAX_HEADERS) {
		len = DSN_MAX_HEADERS;
		while (len > 0 && h[len - 1] != '\n')
			len--;
	}
	for (i = 0; i < len; i++) {
		if (h[i] == '\r' || h[i] == '\0')
			continue;
		sbuf_addc(sb, h[i]);
	}
	if (sb->len > 0 && sb->buf[sb->len - 1] != '\n')
		sbuf_addc(sb, '\n');
}

char *
dsn_compose(const struct dsn_input *in)
{
	struct sbuf sb = SBUF_INIT;
	char *from, *to, *subject, *date, *mid;

	sbuf_init(&sb);
	from = dsn_field(in->from, DSN_MAX_FIELD, 0);
	to = dsn_field(in->to, DSN_MAX_FIELD, 0);
	date = dsn_field(in->date, 64, 1);
	mid = dsn_field(in->report_msgid, DSN_MAX_FIELD, 1);
	subject = dsn_subject(in->subject);
	sbuf_addf(&sb, "From: %s\nTo: %s\n%s\nDate: %s\nMessage-ID: %s\n",
	    from, to, subject, date, mid);
	sbuf_adds(&sb, "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n");
	sbuf_addf(&sb, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"%s\"\n\n", in->boundary);
	sbuf_adds(&sb, "This is a MIME-encapsulated recall report.\n\n");

	sbuf_addf(&sb, "--%s\n", in->boundary);
	sbuf_adds(&sb, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Content-Description: Recall report\n\n");
	text_part(&sb, in);

	sbuf_addf(&sb, "\n--%s\n", in->boundary);
	sbuf_adds(&sb, "Content-Type: message/delivery-status\n"
	    "Content-Description: Recall status per recipient\n\n");
	status_part(&sb, in);

	sbuf_addf(&sb, "\n--%s\n", in->boundary);
	sbuf_adds(&sb, "Content-Type: text/rfc822-headers\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Content-Description: Header of the recalled message\n\n");
	headers_part(&sb, in);
	sbuf_addf(&sb, "\n--%s--\n", in->boundary);
	free(from);
	free(to);
	free(date);
	free(mid);
	free(subject);
	return sbuf_detach(&sb);
}
