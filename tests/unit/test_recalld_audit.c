/*
 * Unit tests for recalld/audit.c: the canonical encoding and the chain hash.
 * (The database side is tested end to end in tests/integration.)
 */
#include <string.h>

#include "audit.h"
#include "test.h"

int
main(void)
{
	struct audit_row a = { "1", "2026-11-27T21:02:09.123456Z", "alice",
	    "request", "00112233445566778899aabb", NULL, "ref=<x@y>" };
	struct audit_row b;
	struct sbuf sb = SBUF_INIT;
	char h1[AUDIT_HASH_HEX + 1], h2[AUDIT_HASH_HEX + 1];
	char zero[AUDIT_HASH_HEX + 1];

	memset(zero, '0', AUDIT_HASH_HEX);
	zero[AUDIT_HASH_HEX] = '\0';

	TEST_BEGIN("audit: canonical encoding is length-prefixed, NULL is ~");
	audit_canonical(&a, &sb);
	CHECK_STR(sb.buf, "1:127:2026-11-27T21:02:09.123456Z5:alice7:request"
	    "24:00112233445566778899aabb~9:ref=<x@y>");
	sbuf_release(&sb);
	TEST_END();

	TEST_BEGIN("audit: hash is hex SHA-256 and depends on every field");
	CHECK(audit_hash(zero, &a, h1) == 0);
	CHECK_INT(strlen(h1), 64);
	CHECK(strspn(h1, "0123456789abcdef") == 64);
	CHECK(audit_hash(zero, &a, h2) == 0);
	CHECK_STR(h2, h1);
	b = a;
	b.actor = "mallory";
	CHECK(audit_hash(zero, &b, h2) == 0 && strcmp(h1, h2) != 0);
	b = a;
	b.request_id = "";
	CHECK(audit_hash(zero, &b, h2) == 0 && strcmp(h1, h2) != 0);
	b = a;
	b.seq = "2";
	CHECK(audit_hash(zero, &b, h2) == 0 && strcmp(h1, h2) != 0);
	CHECK(audit_hash(h1, &a, h2) == 0 && strcmp(h1, h2) != 0);
	TEST_END();

	TEST_BEGIN("audit: moving bytes between fields changes the encoding");
	b = a;
	b.actor = "alicer";
	b.action = "equest";
	CHECK(audit_hash(zero, &b, h2) == 0 && strcmp(h1, h2) != 0);
	TEST_END();

	return test_done();
}
