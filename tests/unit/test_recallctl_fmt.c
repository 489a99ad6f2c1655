/*
 * Unit tests for recalld/recallctl_fmt.c: recallctl's request, answer
 * checking, exit codes, table and JSON output.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "recallctl_fmt.h"
#include "test.h"

#define ANSWER \
	"{\"request\":\"12\",\"message_id\":\"<m1@example.test>\"," \
	"\"status\":\"partial\",\"copies\":[" \
	"{\"recipient\":\"bob@example.test\",\"outcome\":\"recalled\"," \
	"\"reason\":\"removed unread from INBOX\"," \
	"\"at\":\"2026-11-27T10:00:00Z\"}," \
	"{\"recipient\":\"carol@example.test\",\"outcome\":\"read\"," \
	"\"reason\":\"read (\\\\Seen) in INBOX before the recall\"," \
	"\"at\":\"2026-11-27T10:00:01Z\"}," \
	"{\"recipient\":\"x@ext.test\",\"outcome\":\"left-external\"," \
	"\"reason\":\"delivered to an address outside example.test\"," \
	"\"at\":\"2026-11-27T10:00:02Z\"}]}"

static int
parse(const char *s, struct fmt_reply *r)
{
	char *error = NULL;
	int ret = fmt_reply_parse(s, strlen(s), r, &error);

	free(error);
	return ret;
}

static void
test_request(void)
{
	char *s;

	TEST_BEGIN("request: recall carries dry_run and as");
	s = fmt_request("recall", "<a@b>", true, NULL);
	CHECK_STR(s, "{\"op\":\"recall\",\"ref\":\"<a@b>\",\"dry_run\":true,"
	    "\"as\":null}");
	free(s);
	s = fmt_request("recall", "a\"b@c", false, "x@y");
	CHECK_STR(s, "{\"op\":\"recall\",\"ref\":\"a\\\"b@c\",\"dry_run\":false,"
	    "\"as\":\"x@y\"}");
	free(s);
	TEST_END();

	TEST_BEGIN("request: status has op and ref only");
	s = fmt_request("status", "42", false, NULL);
	CHECK_STR(s, "{\"op\":\"status\",\"ref\":\"42\"}");
	free(s);
	TEST_END();

	TEST_BEGIN("request: text that is not UTF-8 is refused here");
	CHECK(fmt_request("recall", "\xff@b", false, NULL) == NULL);
	CHECK(fmt_request("recall", "a@b", false, "\xfe") == NULL);
	TEST_END();
}

static void
test_answers(void)
{
	static const struct {
		const char *name;
		const char *json;
		int want_parse;
		int want_exit;
	} t[] = {
		{ "partial exits 1", ANSWER, 0, 1 },
		{ "complete exits 0", "{\"request\":\"1\",\"message_id\":\"<a@b>\","
		    "\"status\":\"complete\",\"copies\":[]}", 0, 0 },
		{ "failed exits 2", "{\"request\":\"1\",\"message_id\":\"<a@b>\","
		    "\"status\":\"failed\",\"copies\":[]}", 0, 2 },
		{ "refused exits 2", "{\"error\":\"no\",\"code\":\"refused\"}", 0,
		    2 },
		{ "not found exits 2", "{\"error\":\"no such message\","
		    "\"code\":\"not-found\"}", 0, 2 },
		{ "database down exits 69", "{\"error\":\"db\",\"code\":"
		    "\"unavailable\"}", 0, 69 },
		{ "an error without code exits 2", "{\"error\":\"x\"}", 0, 2 },
		{ "unknown status is refused", "{\"request\":\"1\",\"message_id\":"
		    "\"<a@b>\",\"status\":\"done\",\"copies\":[]}", -1, 0 },
		{ "unknown outcome is refused", "{\"request\":\"1\",\"message_id\":"
		    "\"<a@b>\",\"status\":\"failed\",\"copies\":[{\"recipient\":"
		    "\"a\",\"outcome\":\"gone\",\"reason\":\"r\",\"at\":\"\"}]}",
		    -1, 0 },
		{ "a copy without reason is refused", "{\"request\":\"1\","
		    "\"message_id\":\"<a@b>\",\"status\":\"failed\",\"copies\":"
		    "[{\"recipient\":\"a\",\"outcome\":\"read\",\"at\":\"\"}]}",
		    -1, 0 },
		{ "copies not an array is refused", "{\"request\":\"1\","
		    "\"message_id\":\"<a@b>\",\"status\":\"failed\",\"copies\":{}}",
		    -1, 0 },
		{ "not JSON is refused", "<html>", -1, 0 },
		{ "an array is refused", "[]", -1, 0 },
	};
	struct fmt_reply r;
	size_t i;
	char name[128];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(name, sizeof(name), "answer: %s", t[i].name);
		TEST_BEGIN(name);
		CHECK_INT(parse(t[i].json, &r), t[i].want_parse);
		if (t[i].want_parse == 0)
			CHECK_INT(fmt_exit_code(&r), t[i].want_exit);
		else
			CHECK(r.copies == NULL && r.status == NULL);
		fmt_reply_clear(&r);
		TEST_END();
	}
}

static void
test_output(void)
{
	struct fmt_reply r;
	char *s;
	json_t *j;
	json_error_t jerr;

	TEST_BEGIN("table: aligned columns and a summary");
	CHECK_INT(parse(ANSWER, &r), 0);
	s = fmt_table(&r, false);
	CHECK_STR(s,
	    "RECIPIENT           OUTCOME        AT                    REASON\n"
	    "bob@example.test    recalled       2026-11-27T10:00:00Z  "
	    "removed unread from INBOX\n"
	    "carol@example.test  read           2026-11-27T10:00:01Z  "
	    "read (\\Seen) in INBOX before the recall\n"
	    "x@ext.test          left-external  2026-11-27T10:00:02Z  "
	    "delivered to an address outside example.test\n"
	    "request 12: partial, 1 of 3 copies recalled "
	    "(message <m1@example.test>)\n");
	free(s);
	TEST_END();

	TEST_BEGIN("table: dry run says nothing changed");
	s = fmt_table(&r, true);
	CHECK(strstr(s, "1 of 3 copies would be recalled; dry run, nothing was "
	    "changed") != NULL);
	free(s);
	TEST_END();

	TEST_BEGIN("json: SPEC's object, one line");
	s = fmt_json(&r);
	CHECK(s[strlen(s) - 1] == '\n');
	CHECK(strchr(s, '\n') == s + strlen(s) - 1);
	j = json_loads(s, 0, &jerr);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "request")), "12");
	CHECK_STR(json_string_value(json_object_get(j, "status")), "partial");
	CHECK_INT(json_array_size(json_object_get(j, "copies")), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "copies"), 1), "outcome")), "read");
	json_decref(j);
	free(s);
	fmt_reply_clear(&r);
	TEST_END();

	TEST_BEGIN("table: control characters cannot reach the terminal");
	CHECK_INT(parse("{\"request\":\"1\",\"message_id\":\"<a\\u001b[2J@b>\","
	    "\"status\":\"failed\",\"copies\":[{\"recipient\":\"e\\u001b]0;x"
	    "\\u0007@v\",\"outcome\":\"not-found\",\"reason\":\"r\\nfake line"
	    "\\u0085\",\"at\":\"\"}]}", &r), 0);
	s = fmt_table(&r, false);
	CHECK(strchr(s, '\033') == NULL);
	CHECK(strchr(s, '\007') == NULL);
	CHECK(strstr(s, "\xc2\x85") == NULL);
	CHECK(strstr(s, "e\\x1b]0;x\\x07@v") != NULL);
	CHECK(strstr(s, "r\\x0afake line\\xc2\\x85") != NULL);
	free(s);
	fmt_reply_clear(&r);
	TEST_END();

	TEST_BEGIN("table: no copies, summary only");
	CHECK_INT(parse("{\"request\":\"3\",\"message_id\":\"<a@b>\","
	    "\"status\":\"failed\",\"copies\":[]}", &r), 0);
	s = fmt_table(&r, false);
	CHECK_STR(s, "request 3: failed, 0 of 0 copies recalled "
	    "(message <a@b>)\n");
	free(s);
	fmt_reply_clear(&r);
	TEST_END();

	TEST_BEGIN("error json");
	s = fmt_error_json("unavailable", "recalld is not available");
	CHECK_STR(s, "{\"error\":\"recalld is not available\","
	    "\"code\":\"unavailable\"}\n");
	free(s);
	TEST_END();
}

int
main(void)
{
	test_request();
	test_answers();
	test_output();
	return test_done();
}
