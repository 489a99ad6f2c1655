/*
 * sbuf - a growable, always NUL-terminated string.
 *
 * A struct sbuf owns its buffer.  sbuf_init() on a zeroed struct, or
 * SBUF_INIT; sbuf_release() frees the buffer and leaves an empty sbuf.
 * sbuf_detach() hands the buffer to the caller (free() it) and resets.
 * Pointers into ->buf are invalidated by every append.
 */
#ifndef RECALL_SBUF_H
#define RECALL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *buf;	/* never NULL after init; NUL-terminated */
	size_t len;	/* bytes before the NUL */
	size_t cap;	/* allocated bytes */
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s with control characters and non-ASCII shown as \xNN (for logs). */
void sbuf_add_printable(struct sbuf *sb, const char *s, size_t len);
/*
 * The display width of UTF-8 text s: one column a character (continuation
 * bytes take none; wide characters are not told apart).
 */
size_t sbuf_utf8_width(const char *s);
/* Append s, then blanks until it fills w columns (sbuf_utf8_width()). */
void sbuf_add_padded(struct sbuf *sb, const char *s, size_t w);
/* Return ->buf, initialising an untouched SBUF_INIT to "". */
const char *sbuf_str(struct sbuf *sb);

#endif
