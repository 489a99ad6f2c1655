/*
 * recallreq - the Message-ID of a recall request mail.  See recallreq.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "recallreq.h"
#include "sbuf.h"
#include "xalloc.h"

#define RECALLREQ_KEYWORD "Recall:"

static bool
recallreq_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * A Message-ID we will look up: normalised, with one '@' that is neither
 * first nor last, and no blank inside.  Heap or NULL.
 */
static char *
recallreq_msgid(const char *p, size_t len)
{
	char *raw, *id, *at;
	size_t i;

	if (len == 0 || len > ADDR_MAX_LEN)
		return NULL;
	for (i = 0; i < len; i++)
		if (recallreq_blank(p[i]) || p[i] == '\0')
			return NULL;
	raw = xstrndup(p, len);
	id = addr_msgid_normalise(raw, NULL);
	free(raw);
	if (id == NULL)
		return NULL;
	/* id is "<...>". */
	at = strchr(id, '@');
	if (at == NULL || at == id + 1 || at[1] == '>'
	    || strchr(at + 1, '@') != NULL) {
		free(id);
		return NULL;
	}
	return id;
}

char *
recallreq_from_subject(const char *subject)
{
	const char *p, *end;
	size_t klen = strlen(RECALLREQ_KEYWORD);

	if (subject == NULL)
		return NULL;
	p = subject;
	while (recallreq_blank(*p))
		p++;
	if (strncasecmp(p, RECALLREQ_KEYWORD, klen) != 0)
		return NULL;
	p += klen;
	while (recallreq_blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && recallreq_blank(end[-1]))
		end--;
	return recallreq_msgid(p, (size_t)(end - p));
}

bool
recallreq_is_rfc822(const char *ct)
{
	static const char want[] = "message/rfc822";
	size_t n = sizeof(want) - 1;

	if (ct == NULL)
		return false;
	while (recallreq_blank(*ct))
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (recallreq_blank(*ct))
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* A cursor over the lines of a bounded buffer. */
struct recallreq_lines {
	const char *p, *end;
};

/*
 * The next line (without CR LF / LF) into *line_r, *len_r.  Returns false
 * at the end of the buffer.
 */
static bool
recallreq_next_line(struct recallreq_lines *it, const char **line_r,
    size_t *len_r)
{
	const char *nl;
	size_t len;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	len = nl != NULL ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	*line_r = it->p;
	it->p = nl != NULL ? nl + 1 : it->end;
	if (len > 0 && (*line_r)[len - 1] == '\r')
		len--;
	*len_r = len;
	return true;
}

/* Does the next line continue a folded header field? */
static bool
recallreq_continues(const struct recallreq_lines *it)
{
	return it->p < it->end && (*it->p == ' ' || *it->p == '\t');
}

/*
 * Read one header field starting with line: its unfolded text (at most
 * ADDR_MAX_LEN + 64 bytes kept; more marks it over-long) into field.
 * Returns false when it is over-long.
 */
static bool
recallreq_field(struct recallreq_lines *it, const char *line, size_t len,
    struct sbuf *field)
{
	const size_t max = ADDR_MAX_LEN + 64;
	bool fits = true;

	sbuf_reset(field);
	for (;;) {
		if (fits && field->len + len <= max)
			sbuf_add(field, line, len);
		else
			fits = false;
		if (!recallreq_continues(it)
		    || !recallreq_next_line(it, &line, &len))
			break;
	}
	(void)sbuf_str(field);
	return fits;
}

/* The value of field when its name is name (any case), else NULL. */
static const char *
recallreq_value(const char *field, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(field, name, n) != 0)
		return NULL;
	field += n;
	while (*field == ' ' || *field == '\t')
		field++;
	return *field == ':' ? field + 1 : NULL;
}

/*
 * Scan one header block (ends at an empty line or the end) for the first
 * Message-ID field.  Heap or NULL; the cursor is left after the block.
 */
static char *
recallreq_header_block(struct recallreq_lines *it, struct sbuf *field)
{
	const char *line, *v, *p, *q;
	size_t len;
	char *id = NULL;

	while (recallreq_next_line(it, &line, &len) && len > 0) {
		if (!recallreq_field(it, line, len, field) || id != NULL)
			continue;
		if ((v = recallreq_value(field->buf, "Message-ID")) == NULL)
			continue;
		p = v;
		while (recallreq_blank(*p))
			p++;
		q = p + strlen(p);
		while (q > p && recallreq_blank(q[-1]))
			q--;
		id = recallreq_msgid(p, (size_t)(q - p));
		if (id == NULL)
			return NULL;	/* the attached message's is bad */
	}
	return id;
}

char *
recallreq_from_body(const char *body, size_t len, bool top_is_rfc822)
{
	struct recallreq_lines it;
	struct sbuf field = SBUF_INIT;
	const char *line, *v;
	size_t n;
	char *id = NULL;

	if (body == NULL)
		return NULL;
	if (len > RECALLREQ_BODY_MAX)
		len = RECALLREQ_BODY_MAX;
	it.p = body;
	it.end = body + len;
	if (top_is_rfc822) {
		id = recallreq_header_block(&it, &field);
		sbuf_release(&field);
		return id;
	}
	while (id == NULL && recallreq_next_line(&it, &line, &n)) {
		if (n == 0 || line[0] == ' ' || line[0] == '\t')
			continue;
		if (!recallreq_field(&it, line, n, &field))
			continue;
		v = recallreq_value(field.buf, "Content-Type");
		if (v == NULL || !recallreq_is_rfc822(v))
			continue;
		/* The rest of this part's headers, up to the empty line. */
		while (recallreq_next_line(&it, &line, &n) && n > 0)
			;
		id = recallreq_header_block(&it, &field);
	}
	sbuf_release(&field);
	return id;
}
