/*
 * sbuf - growable strings.  See sbuf.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "xalloc.h"

void
sbuf_init(struct sbuf *sb)
{
	sb->cap = 64;
	sb->buf = xmalloc(sb->cap);
	sb->buf[0] = '\0';
	sb->len = 0;
}

static void
sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t need;

	if (sb->buf == NULL)
		sbuf_init(sb);
	/* @UNSAFE: hand-computed size, checked for overflow first. */
	if (extra > SIZE_MAX - sb->len - 1)
		abort();
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	while (sb->cap < need)
		sb->cap = sb->cap > SIZE_MAX / 2 ? need : sb->cap * 2;
	sb->buf = xrealloc(sb->buf, sb->cap);
}

void
sbuf_release(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

char *
sbuf_detach(struct sbuf *sb)
{
	char *p;

	if (sb->buf == NULL)
		sbuf_init(sb);
	p = sb->buf;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return p;
}

void
sbuf_reset(struct sbuf *sb)
{
	if (sb->buf == NULL)
		sbuf_init(sb);
	sb->len = 0;
	sb->buf[0] = '\0';
}

void
sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	sbuf_grow(sb, len);
	if (len > 0)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void
sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void
sbuf_addc(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void
sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	sbuf_grow(sb, 0);
	va_copy(ap2, ap);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	if ((size_t)n >= sb->cap - sb->len) {
		sbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		if (n < 0)
			abort();
	}
	sb->len += (size_t)n;
}

void
sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void
sbuf_add_printable(struct sbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			sbuf_addc(sb, (char)c);
		} else {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			sbuf_add(sb, esc, sizeof(esc));
		}
	}
}

size_t
sbuf_utf8_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
sbuf_add_padded(struct sbuf *sb, const char *s, size_t w)
{
	size_t have = sbuf_utf8_width(s);

	sbuf_adds(sb, s);
	for (; have < w; have++)
		sbuf_addc(sb, ' ');
}

const char *
sbuf_str(struct sbuf *sb)
{
	if (sb->buf == NULL)
		sbuf_init(sb);
	return sb->buf;
}
