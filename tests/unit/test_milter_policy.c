/*
 * Unit tests for milter/policy.c: inside/outside, tag header names, and
 * the plan for incoming X-Recall-ID headers.  Table-driven, got/want.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "policy.h"
#include "tag.h"
#include "test.h"

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void
test_origin(void)
{
	static const struct {
		const char *name;
		const char *auth, *addr, *host;
		bool daemon_addr;
		enum policy_origin want;
	} cases[] = {
		{ "auth wins over outside address", "alice", "192.0.2.7",
		    "client.example", true, POLICY_AUTH },
		{ "empty auth is no auth", "", "192.0.2.7", "x", true,
		    POLICY_OUTSIDE },
		{ "internal network", NULL, "10.1.2.3", "h", true,
		    POLICY_NETWORK },
		{ "internal v6 network", NULL, "2001:db8::5", "h", true,
		    POLICY_NETWORK },
		{ "outside", NULL, "192.0.2.7", "client.example", true,
		    POLICY_OUTSIDE },
		{ "local submission (no daemon_addr, localhost)", NULL,
		    "127.0.0.1", "localhost", false, POLICY_LOCAL },
		{ "loopback SMTP is not local submission", NULL, "127.0.0.1",
		    "localhost", true, POLICY_OUTSIDE },
		{ "no daemon_addr but remote address", NULL, "192.0.2.7",
		    "localhost", false, POLICY_OUTSIDE },
		{ "no daemon_addr, other name", NULL, "127.0.0.1",
		    "evil.example", false, POLICY_OUTSIDE },
		{ "no address at all", NULL, NULL, NULL, true, POLICY_OUTSIDE },
	};
	struct strlist nets_in = { NULL, 0 };
	struct cidr_list nets;
	char *err = NULL;
	size_t i;

	strlist_add(&nets_in, "10.0.0.0/8");
	strlist_add(&nets_in, "2001:db8::/32");
	if (cidr_list_parse(&nets_in, &nets, &err) < 0) {
		printf("# cidr: %s\n", err);
		exit(1);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_client c = { cases[i].auth, cases[i].addr,
		    cases[i].host, cases[i].daemon_addr };
		char name[128];

		snprintf(name, sizeof(name), "policy: origin: %s",
		    cases[i].name);
		TEST_BEGIN(name);
		CHECK_STR(policy_origin_name(policy_origin(&c, &nets)),
		    policy_origin_name(cases[i].want));
		TEST_END();
	}
	cidr_list_free(&nets);
	strlist_free(&nets_in);
}

static void
test_header_names(void)
{
	static const struct {
		const char *name;
		bool want;
	} cases[] = {
		{ "X-Recall-ID", true }, { "x-recall-id", true },
		{ "X-RECALL-ID", true }, { "x-ReCaLl-Id", true },
		{ "X-Recall-ID ", true }, { "X-Recall-ID\t", true },
		{ "X-Recall-IDs", false }, { "X-Recall", false },
		{ "Recall-ID", false }, { "", false }, { NULL, false },
		{ "X-Recall-ID-2", false },
	};
	size_t i;

	TEST_BEGIN("policy: X-Recall-ID header names, any case");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (policy_is_tag_header(cases[i].name) != cases[i].want) {
			printf("# %s: got %d\n", cases[i].name ? cases[i].name
			    : "(null)", !cases[i].want);
			test_ok = false;
		}
	TEST_END();
}

static void
test_plan(void)
{
	struct tag_keys keys, old;
	struct policy_tag_plan plan;
	char id[TAG_ID_HEX + 1], good[TAG_TOKEN_LEN + 1];
	char good2[TAG_TOKEN_LEN + 1], oldtok[TAG_TOKEN_LEN + 1], *err = NULL;
	char bad[TAG_TOKEN_LEN + 1];
	bool rm[4];

	if (tag_keys_parse(KEY_A "\n" KEY_B "\n", &keys, &err) < 0
	    || tag_keys_parse(KEY_B "\n", &old, &err) < 0) {
		printf("# keys: %s\n", err);
		exit(1);
	}
	tag_new_id(id);
	tag_make(&keys, id, good);
	tag_new_id(id);
	tag_make(&keys, id, good2);
	tag_make(&old, id, oldtok);
	strcpy(bad, good);
	bad[TAG_TOKEN_LEN - 1] = bad[TAG_TOKEN_LEN - 1] == '0' ? '1' : '0';

	{
		char *v[] = { good, "forged", "X" };

		TEST_BEGIN("policy: outside removes every tag, valid or not");
		policy_plan_tags(false, &keys, v, 3, rm, NULL, &plan);
		CHECK_INT(plan.action, POLICY_TAG_NONE);
		CHECK(rm[0] && rm[1] && rm[2]);
		CHECK_INT(plan.n_removed, 3);
		TEST_END();
	}
	{
		TEST_BEGIN("policy: inside without tags gets a new one");
		policy_plan_tags(true, &keys, NULL, 0, rm, NULL, &plan);
		CHECK_INT(plan.action, POLICY_TAG_NEW);
		CHECK_INT(plan.n_removed, 0);
		TEST_END();
	}
	{
		char *v[] = { good };

		TEST_BEGIN("policy: inside with a valid tag is a re-entry, "
		    "nothing removed");
		policy_plan_tags(true, &keys, v, 1, rm, NULL, &plan);
		CHECK_INT(plan.action, POLICY_TAG_REENTRY);
		CHECK(!rm[0]);
		CHECK_INT(plan.n_removed, 0);
		CHECK(strncmp(plan.reentry_id, good + 3, TAG_ID_HEX) == 0);
		TEST_END();
	}
	{
		char *v[] = { bad };

		TEST_BEGIN("policy: inside with a bad MAC: removed, new tag");
		policy_plan_tags(true, &keys, v, 1, rm, NULL, &plan);
		CHECK_INT(plan.action, POLICY_TAG_NEW);
		CHECK(rm[0]);
		CHECK_INT(plan.n_invalid, 1);
		TEST_END();
	}
	{
		char *v[] = { "junk", oldtok, good, "  " };
		enum tag_status st[4];

		TEST_BEGIN("policy: first valid tag (rotated key) kept, "
		    "others removed");
		policy_plan_tags(true, &keys, v, 4, rm, st, &plan);
		CHECK_INT(plan.action, POLICY_TAG_REENTRY);
		CHECK_INT(plan.keep, 1);
		CHECK(rm[0] && !rm[1] && rm[2] && rm[3]);
		CHECK_INT(st[0], TAG_MALFORMED);
		CHECK_INT(st[1], TAG_VALID);
		CHECK_INT(plan.n_removed, 3);
		TEST_END();
	}
	{
		char upper[TAG_TOKEN_LEN + 8];
		char *v[] = { upper };
		size_t i;

		snprintf(upper, sizeof(upper), "  %s\t", good2);
		for (i = 0; upper[i] != '\0'; i++)
			upper[i] = (char)toupper((unsigned char)upper[i]);
		TEST_BEGIN("policy: upper-cased, padded tag still verifies");
		policy_plan_tags(true, &keys, v, 1, rm, NULL, &plan);
		CHECK_INT(plan.action, POLICY_TAG_REENTRY);
		TEST_END();
	}
	{
		struct recall_cfg c;

		memset(&c, 0, sizeof(c));
		TEST_BEGIN("policy: no recall_address, no request");
		CHECK(!policy_is_recall_rcpt(NULL, "recall@example.org"));
		CHECK(!policy_is_recall_rcpt(&c, "recall@example.org"));
		TEST_END();
		c.milter.recall_address = "Recall@Example.ORG";
		TEST_BEGIN("policy: recall_address matched with/without <>, any case");
		CHECK(policy_is_recall_rcpt(&c, "<recall@example.org>"));
		CHECK(policy_is_recall_rcpt(&c, "recall@EXAMPLE.org"));
		CHECK(policy_is_recall_rcpt(&c, "RECALL@example.org"));
		CHECK(!policy_is_recall_rcpt(&c, "<recall2@example.org>"));
		CHECK(!policy_is_recall_rcpt(&c, "<>"));
		CHECK(!policy_is_recall_rcpt(&c, NULL));
		TEST_END();
		TEST_BEGIN("policy: only authenticated mail may request a recall");
		CHECK(policy_may_request_recall(POLICY_AUTH));
		CHECK(!policy_may_request_recall(POLICY_NETWORK));
		CHECK(!policy_may_request_recall(POLICY_LOCAL));
		CHECK(!policy_may_request_recall(POLICY_OUTSIDE));
		TEST_END();
	}
	tag_keys_free(&keys);
	tag_keys_free(&old);
}

int
main(void)
{
	test_origin();
	test_header_names();
	test_plan();
	return test_done();
}
