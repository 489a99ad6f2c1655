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

int
main(void)
{
	test_valid();
	test_scrub();
	return test_done();
}
