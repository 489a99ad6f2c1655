/*
 * utf8 - UTF-8 checks.  See utf8.h.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/*
 * The length of the run of ASCII bytes other than NUL at s, eight at a
 * time: log lines are mostly ASCII, and byte by byte this was the largest
 * share of the Dovecot log's parsing.
 */
static size_t
ascii_run(const unsigned char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;
	uint64_t w;

	while (len - i >= 8) {
		memcpy(&w, s + i, 8);
		/* a byte >= 0x80, or a zero byte (the classic test) */
		if ((w & highs) != 0 || ((w - ones) & ~w & highs) != 0)
			break;
		i += 8;
	}
	while (i < len && s[i] >= 0x01 && s[i] < 0x80)
		i++;
	return i;
}

size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c;
	size_t n, i;
	unsigned long cp;

	if (len == 0)
		return 0;
	c = s[0];
	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;	/* NUL, a continuation byte, 0xc0, 0xc1, >0xf4 */
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
	    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;	/* overlong, surrogate, too large */
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		i += ascii_run(p + i, len - i);
		if (i == len)
			break;
		if ((n = utf8_seq_len(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
utf8_scrub(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, n, bad = 0;

	while (i < len) {
		i += ascii_run(p + i, len - i);
		if (i == len)
			break;
		if ((n = utf8_seq_len(p + i, len - i)) == 0) {
			p[i++] = '?';
			bad++;
		} else {
			i += n;
		}
	}
	return bad;
}
