/*
 * Unit tests for recalld/recallctl_ops.c: requests for the admin and
 * auditor ops, and how their answers are shown (table, JSON, CSV).
 */
#include <stdlib.h>
#include <string.h>

#include "recallctl_ops.h"
#include "test.h"
#include "xalloc.h"

static const char hist[] =
    "{\"history\":[{\"request_id\":7,\"requested_at\":\"2026-11-27T10:00:00Z\","
    "\"requested_by\":\"root\",\"message_id\":\"<a\\\"b,c@x>\","
    "\"recall_id\":\"00112233445566778899aabb\",\"sender\":\"alice@x\","
    "\"recipient\":\"bob@x\",\"copy_addr\":\"bob@x\",\"outcome\":\"read\","
    "\"reason\":\"read, then\\nmore\",\"decided_at\":\"2026-11-27T10:00:01Z\","
    "\"dry_run\":false,\"request_status\":null}],\"truncated\":true}";

int
main(void)
{
	struct sbuf sb = SBUF_INIT;
	char *out = NULL, *warn = NULL, *err = NULL, *req;
	struct ops_history_filter f;

	TEST_BEGIN("csv: RFC 4180 quoting");
	sbuf_init(&sb);
	ops_csv_field(&sb, "plain");
	sbuf_addc(&sb, '|');
	ops_csv_field(&sb, "a,b");
	sbuf_addc(&sb, '|');
	ops_csv_field(&sb, "say \"hi\"");
	sbuf_addc(&sb, '|');
	ops_csv_field(&sb, "two\nlines");
	sbuf_addc(&sb, '|');
	ops_csv_field(&sb, " padded ");
	sbuf_addc(&sb, '|');
	ops_csv_field(&sb, "");
	CHECK_STR(sb.buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|"
	    "\" padded \"|");
	sbuf_release(&sb);
	TEST_END();

	TEST_BEGIN("history: csv has a header and quotes what needs it");
	CHECK_INT(ops_format_answer("history", hist, strlen(hist), OPS_CSV,
	    &out, &warn, &err), 0);
	CHECK(out != NULL && strncmp(out, "request_id,requested_at,requested_by,"
	    "message_id,recall_id,sender,recipient,copy_addr,outcome,reason,"
	    "decided_at,dry_run,request_status\r\n", 125) == 0);
	CHECK(out != NULL && strstr(out, ",\"<a\"\"b,c@x>\",") != NULL);
	CHECK(out != NULL && strstr(out, ",\"read, then\nmore\",") != NULL);
	CHECK(out != NULL && strstr(out, ",false,\r\n") != NULL);
	CHECK(warn != NULL);
	xfree(&out);
	xfree(&warn);
	TEST_END();

	TEST_BEGIN("history: json is the bare array");
	CHECK_INT(ops_format_answer("history", hist, strlen(hist), OPS_JSON,
	    &out, &warn, &err), 0);
	CHECK(out != NULL && out[0] == '[' && strstr(out, "\"truncated\"")
	    == NULL);
	xfree(&out);
	xfree(&warn);
	TEST_END();

	TEST_BEGIN("history: the table escapes control characters");
	CHECK_INT(ops_format_answer("history", hist, strlen(hist), OPS_TABLE,
	    &out, &warn, &err), 0);
	CHECK(out != NULL && strstr(out, "read, then\\x0amore") != NULL);
	CHECK(out != NULL && strstr(out, "\n1 row\n") != NULL);
	xfree(&out);
	xfree(&warn);
	TEST_END();

	TEST_BEGIN("history: a row without its columns is refused");
	{
		const char *b = "{\"history\":[{\"x\":1}]}";

		CHECK_INT(ops_format_answer("history", b, strlen(b), OPS_TABLE,
		    &out, &warn, &err), -1);
	}
	CHECK(err != NULL && out == NULL);
	xfree(&err);
	TEST_END();

	TEST_BEGIN("audit: intact, broken, malformed");
	{
		const char *g = "{\"audit\":{\"rows\":12,\"intact\":true}}";

		CHECK_INT(ops_format_answer("audit_verify", g, strlen(g),
		    OPS_TABLE, &out, &warn, &err), 0);
	}
	CHECK_STR(out, "audit log: 12 rows, chain intact\n");
	xfree(&out);
	{
		const char *b = "{\"audit\":{\"rows\":5,\"intact\":false,"
		    "\"bad_seq\":5,\"why\":\"row changed\\n\"}}";

		CHECK_INT(ops_format_answer("audit_verify", b, strlen(b),
		    OPS_TABLE, &out, &warn, &err), 1);
		CHECK_STR(out, "audit log: chain broken at row 5: row "
		    "changed\\x0a\n");
		xfree(&out);
		b = "{\"audit\":{\"rows\":5,\"intact\":false}}";
		CHECK_INT(ops_format_answer("audit_verify", b, strlen(b),
		    OPS_TABLE, &out, &warn, &err), -1);
		xfree(&err);
	}
	TEST_END();

	TEST_BEGIN("restore: exit 0 all, 1 some, 2 none");
	{
		const char *all = "{\"request\":\"3\",\"restored\":[{\"recipient\":"
		    "\"b@x\",\"mailbox\":\"INBOX\",\"uid\":4,\"flags\":\"\"}],"
		    "\"failed\":[]}";
		const char *none = "{\"request\":\"3\",\"restored\":[],\"failed\":"
		    "[{\"recipient\":\"b@x\",\"mailbox\":\"INBOX\",\"error\":\"e\"}]}";

		CHECK_INT(ops_format_answer("restore", all, strlen(all),
		    OPS_TABLE, &out, &warn, &err), 0);
		CHECK(out != NULL && strstr(out, "b@x: restored into INBOX "
		    "(uid 4)") != NULL);
		xfree(&out);
		CHECK_INT(ops_format_answer("restore", none, strlen(none),
		    OPS_TABLE, &out, &warn, &err), 2);
		xfree(&out);
	}
	TEST_END();

	TEST_BEGIN("requests: history filters, recall on behalf, not UTF-8");
	memset(&f, 0, sizeof(f));
	f.sender = "a@b";
	f.limit = 5;
	req = ops_history_request(&f);
	CHECK_STR(req, "{\"op\":\"history\",\"sender\":\"a@b\",\"limit\":5}");
	free(req);
	req = ops_recall_request("<m@x>", false, NULL, "a@b", "mail");
	CHECK_STR(req, "{\"op\":\"recall\",\"ref\":\"<m@x>\",\"dry_run\":false,"
	    "\"on_behalf_of\":\"a@b\",\"via\":\"mail\"}");
	free(req);
	CHECK(ops_restore_request("\xff", NULL) == NULL);
	TEST_END();

	return test_done();
}
