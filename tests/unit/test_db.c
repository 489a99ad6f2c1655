/*
 * test_db - the parts of the libpq binding that need no server: bytea hex
 * text, both ways.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "test.h"

static void
test_bytea_decode(void)
{
	static const struct {
		const char *name, *in, *want;
		size_t want_len;
	} cases[] = {
		{ "empty", "\\x", "", 0 },
		{ "text", "\\x414243", "ABC", 3 },
		{ "upper-case digits", "\\x4A4b", "JK", 2 },
		{ "NUL and LF bytes", "\\x00410a", "\0A\n", 3 },
		{ "no \\x prefix", "414243", NULL, 0 },
		{ "escape format", "\\101", NULL, 0 },
		{ "not hex", "\\x41zz", NULL, 0 },
	};
	size_t i;

	TEST_BEGIN("db: bytea hex text decodes, malformed text is refused");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got_len = 99;
		char *got = db_bytea_decode(cases[i].in, &got_len);

		if (cases[i].want == NULL) {
			if (got != NULL)
				printf("# %s: decoded, want NULL\n",
				    cases[i].name);
			CHECK(got == NULL);
		} else {
			CHECK(got != NULL);
			if (got != NULL) {
				CHECK(memcmp(got, cases[i].want,
				    cases[i].want_len) == 0);
				CHECK(got[got_len] == '\0');
			}
		}
		CHECK_INT(got_len, cases[i].want_len);
		free(got);
	}
	TEST_END();
}

static void
test_bytea_encode(void)
{
	static const char bytes[] = { 'A', '\0', '\n', (char)0xff };
	char *hex, *back;
	size_t len = 0;

	TEST_BEGIN("db: bytea hex text encodes and decodes back");
	hex = db_bytea_encode("", 0);
	CHECK_STR(hex, "\\x");
	free(hex);
	hex = db_bytea_encode(bytes, sizeof(bytes));
	CHECK_STR(hex, "\\x41000aff");
	back = db_bytea_decode(hex, &len);
	CHECK(back != NULL);
	CHECK_INT(len, sizeof(bytes));
	if (back != NULL)
		CHECK(memcmp(back, bytes, sizeof(bytes)) == 0);
	free(back);
	free(hex);
	TEST_END();
}

int
main(void)
{
	test_bytea_decode();
	test_bytea_encode();
	return test_done();
}
