/*
 * test_sbuf - the growable string: display width and padded cells.
 */
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "test.h"

static void
test_utf8_width(void)
{
	static const struct {
		const char *in;
		size_t want;
	} cases[] = {
		{ "", 0 },
		{ "abc", 3 },
		{ "caf\xc3\xa9", 4 },			/* é: 2 bytes, 1 column */
		{ "\xe2\x82\xac" "1", 2 },		/* €: 3 bytes */
		{ "\xf0\x9f\x93\xa7", 1 },		/* 4 bytes */
	};
	size_t i;

	TEST_BEGIN("sbuf: UTF-8 display width counts characters");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(sbuf_utf8_width(cases[i].in), cases[i].want);
	TEST_END();
}

static void
test_add_padded(void)
{
	struct sbuf sb = SBUF_INIT;

	TEST_BEGIN("sbuf: padded cells fill their columns, longer text stays");
	sbuf_init(&sb);
	sbuf_add_padded(&sb, "ab", 4);
	sbuf_adds(&sb, "|");
	sbuf_add_padded(&sb, "caf\xc3\xa9", 6);
	sbuf_adds(&sb, "|");
	sbuf_add_padded(&sb, "toolong", 3);
	sbuf_adds(&sb, "|");
	sbuf_add_padded(&sb, "", 0);
	CHECK_STR(sb.buf, "ab  |caf\xc3\xa9  |toolong|");
	sbuf_release(&sb);
	TEST_END();
}

int
main(void)
{
	test_utf8_width();
	test_add_padded();
	return test_done();
}
