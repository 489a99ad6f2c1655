/*
 * Unit tests for recalld/store_api.c: the doveadm HTTP API's JSON, with the
 * answers Dovecot 2.3.19 really gives (FACTS-dovecot.md), the substring
 * pitfall of header search, and answers it should never give.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store_api.h"
#include "test.h"

#define TOK "r1-0123456789abcdef01234567-0123456789abcdef0123456789abcdef"
#define OLD "r1-0123456789abcdef01234567-ffffffffffffffffffffffffffffffff"

static enum store_status
parse(const char *body, const char *const *tokens, size_t n,
    struct store_copies *out, char **error)
{
	return store_api_parse_copies(body, strlen(body), "find", tokens, n,
	    out, error);
}

static void
test_copies(void)
{
	const char *tokens[] = { TOK, OLD };
	struct store_copies c = { NULL, 0 };
	char *error = NULL;
	const char *real =
	    "[[\"doveadmResponse\",["
	    "{\"mailbox\":\"INBOX\",\"uid\":\"1\",\"guid\":\"g1\","
	    "\"flags\":\"\\\\Recent\",\"hdr.x-recall-id\":\"" TOK "\"},"
	    "{\"mailbox\":\"INBOX\",\"uid\":\"2\",\"guid\":\"g2\","
	    "\"flags\":\"\\\\Seen \\\\Recent\",\"hdr.x-recall-id\":\"X" TOK "Y"
	    "\\n" TOK "\"},"
	    "{\"mailbox\":\"Archive\",\"uid\":\"3\",\"guid\":\"g3\","
	    "\"flags\":\"\",\"hdr.x-recall-id\":\"X" TOK "Y\"},"
	    "{\"mailbox\":\"Junk\",\"uid\":\"4\",\"guid\":\"g4\","
	    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "0\"}"
	    "],\"find\"]]";

	TEST_BEGIN("copies: only exact token matches are ours");
	CHECK_INT(parse(real, tokens, 1, &c, &error), STORE_OK);
	CHECK_INT(c.n, 2);
	if (c.n == 2) {
		CHECK_STR(c.v[0].mailbox, "INBOX");
		CHECK_INT(c.v[0].uid, 1);
		CHECK_STR(c.v[0].guid, "g1");
		CHECK(!c.v[0].seen);
		CHECK_INT(c.v[1].uid, 2);
		CHECK(c.v[1].seen);
	}
	store_copies_free(&c);
	TEST_END();

	TEST_BEGIN("copies: case and surrounding space do not matter");
	{
		char *upper = strdup("[[\"doveadmResponse\",[{\"mailbox\":"
		    "\"INBOX\",\"uid\":\"9\",\"flags\":\"\",\"hdr.x-recall-id\":"
		    "\"  " TOK "\\r\"}],\"find\"]]");
		char *p;

		for (p = strstr(upper, "r1-"); *p != '\\'; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
		CHECK_INT(parse(upper, tokens, 1, &c, &error), STORE_OK);
		CHECK_INT(c.n, 1);
		store_copies_free(&c);
		free(upper);
	}
	TEST_END();

	TEST_BEGIN("copies: an older key's token is found; duplicates once");
	CHECK_INT(parse("[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\","
	    "\"uid\":\"5\",\"flags\":\"\",\"hdr.x-recall-id\":\"" OLD "\"}],"
	    "\"find\"]]", tokens, 2, &c, &error), STORE_OK);
	CHECK_INT(parse("[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\","
	    "\"uid\":\"5\",\"flags\":\"\",\"hdr.x-recall-id\":\"" OLD "\"}],"
	    "\"find\"]]", tokens, 2, &c, &error), STORE_OK);
	CHECK_INT(c.n, 1);
	store_copies_free(&c);
	TEST_END();

	TEST_BEGIN("copies: no rows is no copies");
	CHECK_INT(parse("[[\"doveadmResponse\",[],\"find\"]]", tokens, 1, &c,
	    &error), STORE_OK);
	CHECK_INT(c.n, 0);
	TEST_END();

	TEST_BEGIN("copies: unknown user (exit code 67) is STORE_NO_USER");
	CHECK_INT(parse("[[\"error\",{\"type\":\"exitCode\", \"exitCode\":67},"
	    "\"find\"]]", tokens, 1, &c, &error), STORE_NO_USER);
	free(error);
	error = NULL;
	TEST_END();

	TEST_BEGIN("copies: tempfail (75) is unavailable, other codes failed");
	CHECK_INT(parse("[[\"error\",{\"type\":\"exitCode\",\"exitCode\":75},"
	    "\"find\"]]", tokens, 1, &c, &error), STORE_UNAVAILABLE);
	free(error);
	CHECK_INT(parse("[[\"error\",{\"type\":\"exitCode\",\"exitCode\":68},"
	    "\"find\"]]", tokens, 1, &c, &error), STORE_FAILED);
	CHECK(error != NULL && strstr(error, "68") != NULL);
	free(error);
	error = NULL;
	TEST_END();
}

static void
test_bad_answers(void)
{
	static const char *const bad[] = {
		"",
		"null",
		"{}",
		"[]",
		"[[]]",
		"[[\"doveadmResponse\",[]]]",
		"[[\"doveadmResponse\",[],\"other\"]]",
		"[[\"doveadmResponse\",{},\"find\"]]",
		"[[\"somethingElse\",[],\"find\"]]",
		"[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\"}],\"find\"]]",
		"[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\",\"uid\":\"0\","
		    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "\"}],\"find\"]]",
		"[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\",\"uid\":\"1x\","
		    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "\"}],\"find\"]]",
		"[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\",\"uid\":1,"
		    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "\"}],\"find\"]]",
		"[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\",\"uid\":\"1\","
		    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "\"}],\"find\"]",
		"[[\"doveadmResponse\",[7],\"find\"]]",
		"[[\"doveadmResponse\",[],\"find\"],[\"doveadmResponse\",[],"
		    "\"find\"]]",
	};
	const char *tokens[] = { TOK };
	struct store_copies c = { NULL, 0 };
	char *error = NULL;
	size_t i;
	bool all = true;

	TEST_BEGIN("copies: malformed answers are STORE_FAILED with a reason");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum store_status s = parse(bad[i], tokens, 1, &c, &error);

		if (s != STORE_FAILED || error == NULL || c.n != 0) {
			printf("# case %zu: status %d\n", i, (int)s);
			all = false;
		}
		free(error);
		error = NULL;
		store_copies_free(&c);
	}
	CHECK(all);
	TEST_END();
}

static void
test_text(void)
{
	char *text = NULL, *error = NULL;
	size_t len = 0;
	bool exact = false;
	const char *ok = "[[\"doveadmResponse\",[{\"text\":\"From: a@x\\n\\nb\\n\","
	    "\"size.physical\":\"13\"}],\"text\"]]";
	const char *altered = "[[\"doveadmResponse\",[{\"text\":\"caf\\ufffd\","
	    "\"size.physical\":\"4\"}],\"text\"]]";

	TEST_BEGIN("text: the full message and its exactness");
	CHECK_INT(store_api_parse_text(ok, strlen(ok), "text", &text, &len,
	    &exact, &error), STORE_OK);
	CHECK_STR(text, "From: a@x\n\nb\n");
	CHECK_INT(len, 13);
	CHECK(exact);
	free(text);
	CHECK_INT(store_api_parse_text(altered, strlen(altered), "text", &text,
	    &len, &exact, &error), STORE_OK);
	CHECK(!exact);
	free(text);
	TEST_END();

	TEST_BEGIN("text: a message that is gone gives NULL, not an error");
	CHECK_INT(store_api_parse_text("[[\"doveadmResponse\",[],\"text\"]]",
	    31, "text", &text, &len, &exact, &error), STORE_OK);
	CHECK(text == NULL);
	TEST_END();

	TEST_BEGIN("text: a row without text is an error");
	CHECK_INT(store_api_parse_text("[[\"doveadmResponse\",[{}],\"text\"]]",
	    33, "text", &text, &len, &exact, &error), STORE_FAILED);
	free(error);
	TEST_END();

	TEST_BEGIN("text: an embedded NUL keeps its length");
	{
		const char *nul = "[[\"doveadmResponse\",[{\"text\":\"a\\u0000b\","
		    "\"size.physical\":\"3\"}],\"text\"]]";

		CHECK_INT(store_api_parse_text(nul, strlen(nul), "text", &text,
		    &len, &exact, &error), STORE_OK);
		CHECK_INT(len, 3);
		CHECK(exact);
		free(text);
	}
	TEST_END();
}

static void
test_helpers(void)
{
	char *cmd;
	const char *fields[] = { "uid", "flags" };
	const char *query[] = { "mailbox", "INBOX \"x\"", "uid", "3" };
	json_t *j;
	json_error_t jerr;

	TEST_BEGIN("flags: \\Seen among others, any case, not a prefix");
	CHECK(store_flags_seen("\\Seen"));
	CHECK(store_flags_seen("\\Recent \\seen $Forwarded"));
	CHECK(!store_flags_seen("\\Recent"));
	CHECK(!store_flags_seen(""));
	CHECK(!store_flags_seen("\\Seenx \\Answered"));
	CHECK(!store_flags_seen("$Seen"));
	TEST_END();

	TEST_BEGIN("header: one value per line, exact");
	CHECK(store_header_has_token(TOK, TOK));
	CHECK(store_header_has_token("junk\n" TOK, TOK));
	CHECK(store_header_has_token(" " TOK " \r", TOK));
	CHECK(!store_header_has_token("x" TOK, TOK));
	CHECK(!store_header_has_token("", TOK));
	CHECK(!store_header_has_token(TOK, ""));
	CHECK(!store_header_has_token("r1-0123", TOK));
	TEST_END();

	TEST_BEGIN("command: the verified request shape, quoting safe");
	cmd = store_api_command("fetch", "bob", fields, 2, query, 4, "t1");
	j = json_loads(cmd, 0, &jerr);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_array_get(json_array_get(j, 0), 0)),
	    "fetch");
	CHECK_STR(json_string_value(json_array_get(json_array_get(j, 0), 2)),
	    "t1");
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    json_array_get(j, 0), 1), "user")), "bob");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    json_array_get(json_array_get(j, 0), 1), "query"), 1)),
	    "INBOX \"x\"");
	json_decref(j);
	free(cmd);
	cmd = store_api_command("expunge", "bob", NULL, 0, query, 4, "e");
	CHECK(strstr(cmd, "\"field\"") == NULL);
	free(cmd);
	TEST_END();
}

/*
 * A batch answer: one item per command, matched by tag; an error in one
 * item does not spoil the others; a find with text carries each copy's
 * text and size.
 */
static void
test_batch(void)
{
	const char *tokens[] = { TOK };
	struct store_copies c = { NULL, 0 };
	json_t *root = NULL;
	char *error = NULL, *text = NULL;
	size_t len = 0;
	bool exact = false;
	const char *body =
	    "[[\"doveadmResponse\",[{\"mailbox\":\"INBOX\",\"uid\":\"7\","
	    "\"flags\":\"\",\"hdr.x-recall-id\":\"" TOK "\","
	    "\"size.physical\":\"5\",\"text\":\"Hi\\r\\n.\"}],\"c0\"],"
	    "[\"error\",{\"type\":\"exitCode\",\"exitCode\":67},\"c1\"],"
	    "[\"doveadmResponse\",[],\"c2\"],"
	    "[\"doveadmResponse\",[{\"text\":\"abc\",\"size.physical\":\"4\"}],"
	    "\"c3\"]]";

	TEST_BEGIN("store_api: a batch answer, item by item");
	CHECK_INT(store_api_parse_batch(body, strlen(body), &root, &error),
	    STORE_OK);
	CHECK_INT(json_array_size(root), 4);
	CHECK_INT(store_api_item_copies(json_array_get(root, 0), "c0", tokens,
	    1, &c, &error), STORE_OK);
	CHECK_INT(c.n, 1);
	if (c.n == 1) {
		CHECK_INT(c.v[0].uid, 7);
		CHECK_INT(c.v[0].size, 5);
		CHECK_INT(c.v[0].text_len, 5);
		CHECK(c.v[0].text_exact);
		CHECK_STR(c.v[0].text, "Hi\r\n.");
	}
	CHECK_INT(store_api_item_copies(json_array_get(root, 1), "c1", tokens,
	    1, &c, &error), STORE_NO_USER);
	free(error);
	error = NULL;
	CHECK_INT(store_api_item_check(json_array_get(root, 2), "c2", &error),
	    STORE_OK);
	/* A tag that is not the one asked for is refused. */
	CHECK_INT(store_api_item_check(json_array_get(root, 2), "c9", &error),
	    STORE_FAILED);
	free(error);
	error = NULL;
	CHECK_INT(store_api_item_text(json_array_get(root, 3), "c3", &text,
	    &len, &exact, &error), STORE_OK);
	CHECK_STR(text, "abc");
	CHECK(!exact);		/* size.physical 4: altered by the JSON */
	free(text);
	store_copies_free(&c);
	json_decref(root);
	CHECK_INT(store_api_parse_batch("{}", 2, &root, &error), STORE_FAILED);
	free(error);
	TEST_END();
}

int
main(void)
{
	test_copies();
	test_bad_answers();
	test_text();
	test_helpers();
	test_batch();
	return test_done();
}
