/*
 * Unit tests for recalld/request.c (control-socket requests) and
 * recalld/report.c (the answer JSON).  Table-driven; every malformed
 * request must be refused with a message, never crash.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "request.h"
#include "test.h"
#include "xalloc.h"

struct rcase {
	const char *name;
	const char *json;
	int want_ret;
	enum request_op op;
	const char *ref;
	bool dry_run;
	const char *as;
	const char *want_error;	/* substring, for want_ret < 0 */
};

static const struct rcase cases[] = {
	{ "recall, every field", "{\"op\":\"recall\",\"ref\":\"<a@b>\","
	    "\"dry_run\":true,\"as\":\"x@y\"}", 0, REQUEST_RECALL, "<a@b>",
	    true, "x@y", NULL },
	{ "recall, as null and no dry_run", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"as\":null}", 0, REQUEST_RECALL, "a@b", false, NULL, NULL },
	{ "status", "{\"ref\":\"42\",\"op\":\"status\"}", 0, REQUEST_STATUS,
	    "42", false, NULL, NULL },
	{ "not JSON", "recall <a@b>", -1, 0, NULL, false, NULL, "not valid JSON" },
	{ "empty payload", "", -1, 0, NULL, false, NULL, "not valid JSON" },
	{ "an array", "[\"recall\"]", -1, 0, NULL, false, NULL, "JSON object" },
	{ "no op", "{\"ref\":\"a@b\"}", -1, 0, NULL, false, NULL, "\"op\"" },
	{ "op not a string", "{\"op\":1,\"ref\":\"a@b\"}", -1, 0, NULL, false,
	    NULL, "\"op\"" },
	{ "unknown op", "{\"op\":\"delete\",\"ref\":\"a@b\"}", -1, 0, NULL,
	    false, NULL, "unknown \"op\"" },
	{ "no ref", "{\"op\":\"recall\"}", -1, 0, NULL, false, NULL,
	    "no \"ref\"" },
	{ "ref not a string", "{\"op\":\"recall\",\"ref\":7}", -1, 0, NULL,
	    false, NULL, "must be a string" },
	{ "empty ref", "{\"op\":\"recall\",\"ref\":\"\"}", -1, 0, NULL, false,
	    NULL, "is empty" },
	{ "ref with a control character", "{\"op\":\"recall\",\"ref\":"
	    "\"a\\u0001@b\"}", -1, 0, NULL, false, NULL, "control character" },
	{ "ref with a NUL", "{\"op\":\"recall\",\"ref\":\"a\\u0000@b\"}", -1, 0,
	    NULL, false, NULL, NULL },
	{ "dry_run not a bool", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"dry_run\":\"yes\"}", -1, 0, NULL, false, NULL, "true or false" },
	{ "as not a string", "{\"op\":\"recall\",\"ref\":\"a@b\",\"as\":[]}",
	    -1, 0, NULL, false, NULL, "must be a string" },
	{ "dry_run with status", "{\"op\":\"status\",\"ref\":\"a@b\","
	    "\"dry_run\":true}", -1, 0, NULL, false, NULL, "unknown key" },
	{ "unknown key", "{\"op\":\"recall\",\"ref\":\"a@b\",\"force\":true}",
	    -1, 0, NULL, false, NULL, "unknown key \"force\"" },
	{ "duplicate key", "{\"op\":\"recall\",\"ref\":\"a@b\",\"ref\":\"c@d\"}",
	    -1, 0, NULL, false, NULL, "not valid JSON" },
	{ "trailing garbage", "{\"op\":\"recall\",\"ref\":\"a@b\"} x", -1, 0,
	    NULL, false, NULL, "not valid JSON" },
	{ "invalid UTF-8", "{\"op\":\"recall\",\"ref\":\"\xff@b\"}", -1, 0, NULL,
	    false, NULL, "not valid JSON" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_parse(void)
{
	size_t i;

	for (i = 0; i < N(cases); i++) {
		const struct rcase *c = &cases[i];
		struct request req;
		char *error = NULL;
		int ret;
		char name[128];

		snprintf(name, sizeof(name), "request: %s", c->name);
		TEST_BEGIN(name);
		ret = request_parse(c->json, strlen(c->json), &req, &error);
		CHECK_INT(ret, c->want_ret);
		if (ret == 0) {
			CHECK_INT(req.op, c->op);
			CHECK_STR(req.ref, c->ref);
			CHECK_INT(req.dry_run, c->dry_run);
			CHECK_STR(req.as, c->as);
			request_clear(&req);
		} else {
			CHECK(error != NULL);
			CHECK(req.ref == NULL && req.as == NULL);
			if (c->want_error != NULL && error != NULL
			    && strstr(error, c->want_error) == NULL) {
				printf("# error \"%s\" lacks \"%s\"\n", error,
				    c->want_error);
				test_ok = false;
			}
		}
		free(error);
		TEST_END();
	}
}

static void
test_limits(void)
{
	char *big, *json, *error = NULL;
	struct request req;
	size_t i;

	TEST_BEGIN("request: a ref of ADDR_MAX_LEN bytes is fine, one more is not");
	big = xmalloc(ADDR_MAX_LEN + 2);
	for (i = 0; i < ADDR_MAX_LEN; i++)
		big[i] = 'a';
	big[ADDR_MAX_LEN] = '\0';
	json = xasprintf("{\"op\":\"recall\",\"ref\":\"%s\"}", big);
	CHECK_INT(request_parse(json, strlen(json), &req, &error), 0);
	request_clear(&req);
	free(json);
	big[ADDR_MAX_LEN] = 'a';
	big[ADDR_MAX_LEN + 1] = '\0';
	json = xasprintf("{\"op\":\"recall\",\"ref\":\"%s\"}", big);
	CHECK_INT(request_parse(json, strlen(json), &req, &error), -1);
	CHECK(error != NULL && strstr(error, "longer than") != NULL);
	free(error);
	free(json);
	free(big);
	TEST_END();

	TEST_BEGIN("request: parse does not read past len");
	json = xstrdup("{\"op\":\"status\",\"ref\":\"a@b\"}GARBAGE");
	CHECK_INT(request_parse(json, strlen(json) - 7, &req, &error), 0);
	CHECK_STR(req.ref, "a@b");
	request_clear(&req);
	free(json);
	TEST_END();
}

/* The ops beyond recall and status: their keys and validation. */
static const struct {
	const char *name;
	const char *json;
	int want_ret;
	const char *want_error;
} ocases[] = {
	{ "history, every filter", "{\"op\":\"history\",\"sender\":\"a@b\","
	    "\"recipient\":\"c@d\",\"since\":\"2026-11-27\",\"until\":"
	    "\"2026-11-27T10:00:00.25+01:00\",\"outcome\":\"left-imap\","
	    "\"limit\":10}", 0, NULL },
	{ "history, nothing", "{\"op\":\"history\"}", 0, NULL },
	{ "history, null filters", "{\"op\":\"history\",\"sender\":null}", 0,
	    NULL },
	{ "history, bad outcome", "{\"op\":\"history\",\"outcome\":\"gone\"}",
	    -1, "not an outcome" },
	{ "history, bad since", "{\"op\":\"history\",\"since\":\"today\"}",
	    -1, "RFC 3339" },
	{ "history, month 13", "{\"op\":\"history\",\"since\":\"2026-13-01\"}",
	    -1, "RFC 3339" },
	{ "history, no zone", "{\"op\":\"history\",\"since\":"
	    "\"2026-11-27T10:00:00\"}", -1, "RFC 3339" },
	{ "history, limit 0", "{\"op\":\"history\",\"limit\":0}", -1,
	    "\"limit\"" },
	{ "history, limit a string", "{\"op\":\"history\",\"limit\":\"5\"}",
	    -1, "\"limit\"" },
	{ "history, ref not allowed", "{\"op\":\"history\",\"ref\":\"a@b\"}",
	    -1, "unknown key \"ref\"" },
	{ "audit_verify", "{\"op\":\"audit_verify\"}", 0, NULL },
	{ "audit_verify with a key", "{\"op\":\"audit_verify\",\"x\":1}", -1,
	    "unknown key" },
	{ "restore", "{\"op\":\"restore\",\"ref\":\"12\",\"recipient\":"
	    "\"b@c\"}", 0, NULL },
	{ "restore without ref", "{\"op\":\"restore\"}", -1, "no \"ref\"" },
	{ "purge", "{\"op\":\"purge\"}", 0, NULL },
	{ "recall on behalf, via mail", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"on_behalf_of\":\"x@y\",\"via\":\"mail\"}", 0, NULL },
	{ "recall, via other", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"via\":\"fax\"}", -1, "\"via\"" },
	{ "recall, as and on_behalf_of", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"as\":\"c@d\",\"on_behalf_of\":\"x@y\"}", -1, "exclude" },
	{ "on_behalf_of with a NUL", "{\"op\":\"recall\",\"ref\":\"a@b\","
	    "\"on_behalf_of\":\"x\\u0001@y\"}", -1, "control character" },
};

static void
test_ops(void)
{
	size_t i;

	for (i = 0; i < N(ocases); i++) {
		struct request req;
		char *error = NULL, name[128];
		int ret;

		snprintf(name, sizeof(name), "request op: %s", ocases[i].name);
		TEST_BEGIN(name);
		ret = request_parse(ocases[i].json, strlen(ocases[i].json), &req,
		    &error);
		CHECK_INT(ret, ocases[i].want_ret);
		if (ret == 0) {
			if (req.op == REQUEST_HISTORY)
				CHECK(req.limit > 0);
			if (req.op == REQUEST_RECALL)
				CHECK(req.via != NULL);
			request_clear(&req);
		} else if (error == NULL || strstr(error,
		    ocases[i].want_error) == NULL) {
			printf("# error \"%s\" lacks \"%s\"\n",
			    error != NULL ? error : "(null)",
			    ocases[i].want_error);
			test_ok = false;
		}
		free(error);
		TEST_END();
	}

	TEST_BEGIN("request: parsed history filters and date forms");
	{
		const char *j = "{\"op\":\"history\",\"since\":\"2026-11-27\","
		    "\"until\":\"2026-11-27T10:00:00Z\"}";
		struct request req;
		char *error = NULL;

		CHECK_INT(request_parse(j, strlen(j), &req, &error), 0);
		CHECK_INT(req.op, REQUEST_HISTORY);
		CHECK_STR(req.since, "2026-11-27");
		CHECK(req.since_is_date);
		CHECK(!req.until_is_date);
		CHECK_INT(req.limit, REQUEST_DEFAULT_LIMIT);
		request_clear(&req);
	}
	TEST_END();
}

static void
test_request_id(void)
{
	long long id = 0;

	TEST_BEGIN("request ids are short decimal numbers, nothing else");
	CHECK(request_ref_is_request_id("42", &id) && id == 42);
	CHECK(request_ref_is_request_id("123456789012345678", &id));
	CHECK(!request_ref_is_request_id("1234567890123456789", &id));
	CHECK(!request_ref_is_request_id("0", &id));
	CHECK(!request_ref_is_request_id("", &id));
	CHECK(!request_ref_is_request_id("12a", &id));
	CHECK(!request_ref_is_request_id("-1", &id));
	CHECK(!request_ref_is_request_id("000000000000000000000001", &id));
	CHECK(!request_ref_is_request_id("a@b", &id));
	TEST_END();
}

static void
test_report(void)
{
	struct report r;
	json_t *root, *copies, *c;
	json_error_t jerr;
	char *text;

	memset(&r, 0, sizeof(r));
	r.request_id = 17;
	r.message_id = xstrdup("<m1@example.test>");
	report_add(&r, "bob@example.test", "bob@example.test",
	    OUTCOME_RECALLED, "removed unread from INBOX", "2026-11-27T10:00:00Z");
	report_add(&r, "x@ext.test", NULL, OUTCOME_LEFT_EXTERNAL,
	    "delivered to an address outside example.test",
	    "2026-11-27T10:00:01Z");
	report_update_status(&r);

	TEST_BEGIN("report: SPEC's JSON shape");
	text = report_json(&r);
	root = json_loads(text, 0, &jerr);
	CHECK(root != NULL);
	CHECK_STR(json_string_value(json_object_get(root, "request")), "17");
	CHECK_STR(json_string_value(json_object_get(root, "message_id")),
	    "<m1@example.test>");
	CHECK_STR(json_string_value(json_object_get(root, "status")),
	    "partial");
	copies = json_object_get(root, "copies");
	CHECK_INT(json_array_size(copies), 2);
	c = json_array_get(copies, 1);
	CHECK_STR(json_string_value(json_object_get(c, "recipient")),
	    "x@ext.test");
	CHECK_STR(json_string_value(json_object_get(c, "outcome")),
	    "left-external");
	CHECK_STR(json_string_value(json_object_get(c, "at")),
	    "2026-11-27T10:00:01Z");
	CHECK_INT(json_object_size(root), 4);
	CHECK_INT(json_object_size(c), 4);
	json_decref(root);
	free(text);
	TEST_END();

	TEST_BEGIN("report: text that is not UTF-8 still makes valid JSON");
	report_add(&r, "caf\xe9@example.test", "", OUTCOME_NOT_FOUND,
	    "gone \xff", "");
	text = report_json(&r);
	root = json_loads(text, 0, &jerr);
	CHECK(root != NULL);
	json_decref(root);
	free(text);
	TEST_END();

	TEST_BEGIN("report: clear leaves an empty report");
	report_clear(&r);
	CHECK(r.copies == NULL && r.n_copies == 0 && r.message_id == NULL);
	report_update_status(&r);
	CHECK_STR(request_status_name(r.status), "failed");
	TEST_END();

	TEST_BEGIN("error answer names its code");
	text = reply_error_json(REPLY_UNAVAILABLE, "database down");
	CHECK_STR(text, "{\"error\":\"database down\",\"code\":\"unavailable\"}");
	free(text);
	text = reply_error_json(REPLY_REFUSED, "no");
	CHECK(strstr(text, "\"refused\"") != NULL);
	free(text);
	TEST_END();
}

int
main(void)
{
	test_parse();
	test_limits();
	test_request_id();
	test_ops();
	test_report();
	return test_done();
}
