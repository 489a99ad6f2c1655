/*
 * Unit tests for lib/addr.c and lib/cidr.c.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "cidr.h"
#include "test.h"
#include "xalloc.h"

struct norm_case {
	const char *in, *want;	/* want NULL: rejected */
};

int
main(void)
{
	static const struct norm_case norm[] = {
		{ "<alice@Example.ORG>", "alice@example.org" },
		{ "alice@example.org", "alice@example.org" },
		{ "  <Alice@EXAMPLE.org>  ", "Alice@example.org" },
		{ "<>", "" },
		{ "<@relay.example,@b.example:bob@Example.org>", "bob@example.org" },
		{ "\"quoted;local\"@example.org", "\"quoted;local\"@example.org" },
		{ "<alice@example.org", NULL },
		{ "alice@example.org>", NULL },
		{ "ali\rce@example.org", NULL },
		{ "a<b@example.org", NULL },
		{ "<@nocolon>", NULL },
		{ "@a:@b:c@d", NULL },
		{ "@B:@B:", NULL },
		{ "p\xc3\xa4r@example.org", "p\xc3\xa4r@example.org" },
	};
	static const struct norm_case msgid[] = {
		{ "<a@b>", "<a@b>" }, { "a@b", "<a@b>" }, { "  <x.y@z> ", "<x.y@z>" },
		{ "", NULL }, { "<>", NULL }, { "a\nb@c", NULL }, { "<a<b>", NULL },
	};
	struct recall_cfg cfg;
	struct cidr_list nets;
	struct strlist in = { NULL, 0 };
	char *got, *err = NULL;
	const char *e;
	size_t i;

	TEST_BEGIN("addr: envelope address normalisation table");
	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		e = NULL;
		got = addr_normalise(norm[i].in, &e);
		CHECK_STR(got, norm[i].want);
		if (got == NULL)
			CHECK(e != NULL);
		free(got);
	}
	TEST_END();

	TEST_BEGIN("addr: over-long address rejected");
	{
		char *big = xmalloc(ADDR_MAX_LEN + 10);

		memset(big, 'a', ADDR_MAX_LEN + 9);
		big[ADDR_MAX_LEN + 9] = '\0';
		CHECK(addr_normalise(big, &e) == NULL);
		CHECK(addr_msgid_normalise(big, &e) == NULL);
		free(big);
	}
	TEST_END();

	TEST_BEGIN("addr: Message-ID normalisation table");
	for (i = 0; i < sizeof(msgid) / sizeof(msgid[0]); i++) {
		got = addr_msgid_normalise(msgid[i].in, &e);
		CHECK_STR(got, msgid[i].want);
		free(got);
	}
	TEST_END();

	TEST_BEGIN("addr: classification local / external / list");
	memset(&cfg, 0, sizeof(cfg));
	strlist_add(&cfg.local_domains, "example.org");
	strlist_add(&cfg.mailing_lists, "lists.example.org");
	strlist_add(&cfg.mailing_lists, "all-staff@example.org");
	CHECK(addr_classify("bob@example.org", &cfg) == ADDR_LOCAL);
	CHECK(addr_classify("bob@EXAMPLE.org", &cfg) == ADDR_LOCAL);
	CHECK(addr_classify("x@ext.test", &cfg) == ADDR_EXTERNAL);
	CHECK(addr_classify("dev@lists.example.org", &cfg) == ADDR_LIST);
	CHECK(addr_classify("all-staff@example.org", &cfg) == ADDR_LIST);
	CHECK(addr_classify("nodomain", &cfg) == ADDR_EXTERNAL);
	CHECK(addr_classify("x@sub.example.org", &cfg) == ADDR_EXTERNAL);
	CHECK_STR(addr_class_name(ADDR_LIST), "list");
	TEST_END();

	TEST_BEGIN("addr: dovecot user template and login mapping");
	got = addr_expand_user("%n", "bob@example.org");
	CHECK_STR(got, "bob");
	free(got);
	got = addr_expand_user("%u|%d|%%|%x", "bob@example.org");
	CHECK_STR(got, "bob@example.org|example.org|%|%x");
	free(got);
	got = addr_for_login("alice", &cfg);
	CHECK_STR(got, "alice@example.org");
	free(got);
	got = addr_for_login("alice@Other.test", &cfg);
	CHECK_STR(got, "alice@other.test");
	free(got);
	TEST_END();

	TEST_BEGIN("cidr: parse and match v4, v6, mapped, brackets");
	strlist_add(&in, "127.0.0.0/8");
	strlist_add(&in, "192.0.2.7");
	strlist_add(&in, "2001:db8::/32");
	strlist_add(&in, "10.1.0.0/20");
	CHECK(cidr_list_parse(&in, &nets, &err) == 0);
	CHECK(cidr_list_match(&nets, "127.1.2.3"));
	CHECK(cidr_list_match(&nets, "[127.0.0.1]"));
	CHECK(cidr_list_match(&nets, "::ffff:127.0.0.1"));
	CHECK(cidr_list_match(&nets, "192.0.2.7"));
	CHECK(!cidr_list_match(&nets, "192.0.2.8"));
	CHECK(cidr_list_match(&nets, "IPv6:2001:db8::1"));
	CHECK(!cidr_list_match(&nets, "2001:db9::1"));
	CHECK(cidr_list_match(&nets, "10.1.15.255"));
	CHECK(!cidr_list_match(&nets, "10.1.16.0"));
	CHECK(!cidr_list_match(&nets, "not-an-ip"));
	CHECK(!cidr_list_match(&nets, NULL));
	cidr_list_free(&nets);
	TEST_END();

	TEST_BEGIN("cidr: bad networks are errors naming the item");
	{
		static const char *const bad[] = { "10.0.0.0/33", "1.2.3",
		    "::1/129", "10.0.0.0/", "x/8" };

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct strlist one = { NULL, 0 };

			strlist_add(&one, bad[i]);
			err = NULL;
			CHECK(cidr_list_parse(&one, &nets, &err) < 0);
			CHECK(err != NULL && strstr(err, bad[i]) != NULL);
			free(err);
			strlist_free(&one);
		}
	}
	TEST_END();

	strlist_free(&in);
	strlist_free(&cfg.local_domains);
	strlist_free(&cfg.mailing_lists);
	return test_done();
}
