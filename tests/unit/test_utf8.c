/*
 * test_utf8 - what counts as UTF-8, and scrubbing what does not.
 */
#include <string.h>

#include "test.h"
#include "utf8.h"

static void
test_valid(void)
{
	static const struct {
		const char *in;
		size_t len;
		bool want;
	} cases[] = {
		{ "", 0, true },
		{ "plain ascii", 11, true },
		{ "caf\xc3\xa9", 5, true },			/* U+00E9 */
		{ "\xe2\x82\xac", 3, true },			/* U+20AC */
		{ "\xf0\x9f\x93\xa7", 4, true },		/* U+1F4E7 */
		{ "\xf4\x8f\xbf\xbf", 4, true },		/* U+10FFFF */
		{ "caf\xe9", 4, false },			/* Latin-1 */
		{ "\xfc", 1, false },
		{ "\xc0\xaf", 2, false },			/* overlong / */
		{ "\xe0\x80\xaf", 3, false },			/* overlong */
		{ "\xed\xa0\x80", 3, false },			/* surrogate */
		{ "\xf4\x90\x80\x80", 4, false },		/* > U+10FFFF */
		{ "\xe2\x82", 2, false },			/* cut short */
		{ "\x80", 1, false },				/* lone continuation */
		{ "a\0b", 3, false },				/* NUL */
	};
	size_t i;

	TEST_BEGIN("utf8: valid and invalid sequences");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(utf8_valid(cases[i].in, cases[i].len), cases[i].want);
	TEST_END();
}

static void
test_scrub(void)
{
	char line[] = "550 Benutzer unbekannt \xfc, caf\xc3\xa9 \xe2\x82 end";
	char ok[] = "caf\xc3\xa9 \xe2\x82\xac";
	size_t len = strlen(line);

	TEST_BEGIN("utf8: scrubbing replaces each bad byte with '?' in place");
	CHECK_INT(utf8_scrub(line, len), 3);
	CHECK_STR(line, "550 Benutzer unbekannt ?, caf\xc3\xa9 ?? end");
	CHECK_INT(strlen(line), len);
	CHECK(utf8_valid(line, len));
	CHECK_INT(utf8_scrub(ok, strlen(ok)), 0);
	CHECK_STR(ok, "caf\xc3\xa9 \xe2\x82\xac");
	TEST_END();
}

/*
 * The ASCII fast path reads eight bytes at a time: a bad byte, a NUL or a
 * multibyte sequence at every offset of a longer line, at the end, and in
 * the bytes after the last full eight, must be seen exactly as byte by
 * byte.
 */
static void
test_every_offset(void)
{
	static const char *const odd[] = { "\xe9", "\x80", "\xc3\xa9",
	    "\xe2\x82\xac", "\xe2\x82" };
	static const size_t bad[] = { 1, 1, 0, 0, 2 };
	char buf[64], want[64];
	size_t k, at, total, n;

	TEST_BEGIN("utf8: a bad byte, NUL or sequence at every offset");
	for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		n = strlen(odd[k]);
		for (total = 1; total <= 40; total++) {
			for (at = 0; at + n <= total; at++) {
				memset(buf, 'a', total);
				memcpy(buf + at, odd[k], n);
				memcpy(want, buf, total);
				memset(want + at, '?', bad[k]);
				CHECK_INT(utf8_valid(buf, total), bad[k] == 0);
				CHECK_INT(utf8_scrub(buf, total), bad[k]);
				CHECK(memcmp(buf, want, total) == 0);
			}
		}
	}
	for (total = 1; total <= 40; total++) {
		for (at = 0; at < total; at++) {
			memset(buf, 'a', total);
			buf[at] = '\0';
			CHECK(!utf8_valid(buf, total));
			CHECK_INT(utf8_scrub(buf, total), 1);
			CHECK_INT(buf[at], '?');
		}
	}
	TEST_END();
}

int
main(void)
{
	test_valid();
	test_scrub();
	test_every_offset();
	return test_done();
}
