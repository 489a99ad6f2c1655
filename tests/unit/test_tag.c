/*
 * Unit tests for lib/tag.c: token format, verification, key rotation and
 * the key file parser.
 */
#include <stdlib.h>
#include <string.h>

#include "tag.h"
#include "test.h"

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void
load(struct tag_keys *k, const char *text)
{
	char *err = NULL;

	if (tag_keys_parse(text, k, &err) < 0) {
		printf("# unexpected key error: %s\n", err);
		free(err);
		test_ok = false;
	}
}

int
main(void)
{
	struct tag_keys a, ba, b;
	char id[TAG_ID_HEX + 1], id2[TAG_ID_HEX + 1], tok[TAG_TOKEN_LEN + 1];
	char upper[TAG_TOKEN_LEN + 3], *err = NULL;
	size_t idx = 99, i;

	TEST_BEGIN("tag: new ids are well-formed and differ");
	CHECK(tag_new_id(id) == 0);
	CHECK(tag_new_id(id2) == 0);
	CHECK(tag_is_id(id));
	CHECK(strcmp(id, id2) != 0);
	TEST_END();

	TEST_BEGIN("tag: token is fixed-length, versioned, URL-safe, verifies");
	load(&a, "# comment\n\n" KEY_A "\n");
	CHECK(tag_make(&a, id, tok) == 0);
	CHECK_INT(strlen(tok), TAG_TOKEN_LEN);
	CHECK(strncmp(tok, "r1-", 3) == 0);
	CHECK(strspn(tok, "abcdefghijklmnopqrstuvwxyz0123456789-_") == TAG_TOKEN_LEN);
	CHECK(tag_verify(&a, tok, id2, &idx) == TAG_VALID);
	CHECK_STR(id2, id);
	CHECK_INT(idx, 0);
	TEST_END();

	TEST_BEGIN("tag: same id and key give the same token");
	{
		char tok2[TAG_TOKEN_LEN + 1];

		CHECK(tag_make(&a, id, tok2) == 0);
		CHECK_STR(tok2, tok);
	}
	TEST_END();

	TEST_BEGIN("tag: upper case and surrounding space still verify");
	snprintf(upper, sizeof(upper), " %s ", tok);
	for (i = 0; upper[i] != '\0'; i++)
		upper[i] = (char)(upper[i] >= 'a' && upper[i] <= 'z'
		    ? upper[i] - 32 : upper[i]);
	CHECK(tag_verify(&a, upper, id2, NULL) == TAG_VALID);
	TEST_END();

	TEST_BEGIN("tag: rotation - old tags verify with the old key second");
	load(&ba, KEY_B "\n" KEY_A "\n");
	CHECK(tag_verify(&ba, tok, id2, &idx) == TAG_VALID);
	CHECK_INT(idx, 1);
	TEST_END();

	TEST_BEGIN("tag: a tag under an unknown key is BAD_MAC with its id");
	load(&b, KEY_B "\n");
	memset(id2, 0, sizeof(id2));
	CHECK(tag_verify(&b, tok, id2, NULL) == TAG_BAD_MAC);
	CHECK_STR(id2, id);
	TEST_END();

	TEST_BEGIN("tag: every single-character change is rejected");
	for (i = 0; i < TAG_TOKEN_LEN; i++) {
		char t[TAG_TOKEN_LEN + 1];

		memcpy(t, tok, sizeof(t));
		t[i] = t[i] == '0' ? '1' : '0';
		if (tag_verify(&a, t, id2, NULL) == TAG_VALID) {
			printf("# change at %zu verified\n", i);
			test_ok = false;
		}
	}
	TEST_END();

	TEST_BEGIN("tag: malformed values");
	{
		static const char *const bad[] = { "", "r1-", "x", "r2-0",
		    "r1-00112233445566778899aabb+00112233445566778899aabbccddeeff",
		    "r1-00112233445566778899aabbX00112233445566778899aabbccddeeff",
		    "r1-0011223344556677g899aabb-00112233445566778899aabbccddeeff",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(tag_verify(&a, bad[i], id2, NULL) == TAG_MALFORMED);
		CHECK(tag_verify(&a, "r1-00112233445566778899aabb-00112233445566778899aabbccddeeff",
		    id2, NULL) == TAG_BAD_MAC);
	}
	TEST_END();

	TEST_BEGIN("tag: key file errors");
	{
		struct tag_keys k;

		CHECK(tag_keys_parse("", &k, &err) < 0);
		free(err);
		CHECK(tag_keys_parse("abcd\n", &k, &err) < 0);
		CHECK(err != NULL && strstr(err, "line 1") != NULL);
		free(err);
		CHECK(tag_keys_parse(KEY_A "\nzz" KEY_B, &k, &err) < 0);
		CHECK(err != NULL && strstr(err, "line 2") != NULL);
		free(err);
		CHECK(tag_make(&a, "not-an-id", tok) < 0);
	}
	TEST_END();

	tag_keys_free(&a);
	tag_keys_free(&ba);
	tag_keys_free(&b);
	return test_done();
}
