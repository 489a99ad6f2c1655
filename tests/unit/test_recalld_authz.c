/*
 * Unit tests for recalld/authz.c: who may recall which message (SPEC
 * "recallctl": users their own mail, admins anything, --as for admins).
 */
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "test.h"

struct acase {
	const char *name;
	const char *user;
	bool admin;
	const char *sender;
	const char *auth_user;
	const char *origin;
	const char *as;
	bool want;
	const char *want_report_to;	/* on success */
	const char *want_reason;	/* substring, on refusal */
};

static const struct acase cases[] = {
	{ "user recalls own authenticated mail", "alice", false,
	    "alice@example.test", "alice", "auth", NULL, true,
	    "alice@example.test", NULL },
	{ "SASL login with a domain is that address", "alice", false,
	    "whatever@else.test", "alice@example.test", "auth", NULL, true,
	    "alice@example.test", NULL },
	{ "auth user decides, not the envelope sender", "alice", false,
	    "alice@example.test", "bob", "auth", NULL, false, NULL,
	    "someone else" },
	{ "local submission: the envelope sender", "carol", false,
	    "carol@example.test", NULL, "local", NULL, true,
	    "carol@example.test", NULL },
	{ "local submission by someone else", "carol", false,
	    "bob@example.test", NULL, "local", NULL, false, NULL,
	    "someone else" },
	{ "unauthenticated SMTP: users may not", "alice", false,
	    "alice@example.test", NULL, "smtp", NULL, false, NULL,
	    "not sent by an authenticated or local sender" },
	{ "another user's mail is refused", "mallory", false,
	    "alice@example.test", "alice", "auth", NULL, false, NULL,
	    "mallory@example.test may not recall" },
	{ "a user may not use --as for someone else", "alice", false,
	    "alice@example.test", "alice", "auth", "boss@example.test", false,
	    NULL, "only recalld.admins" },
	{ "a user may name themself with --as", "alice", false,
	    "alice@example.test", "alice", "auth", "<alice@EXAMPLE.test>", true,
	    "alice@example.test", NULL },
	{ "admin recalls anything; report to the sender", "root", true,
	    "bob@example.test", "bob", "auth", NULL, true, "bob@example.test",
	    NULL },
	{ "admin --as sends the report there", "root", true,
	    "bob@example.test", "bob", "auth", "Audit@Example.Test", true,
	    "Audit@example.test", NULL },
	{ "admin, unauthenticated mail: report to the envelope sender", "root",
	    true, "x@outside.test", NULL, "smtp", NULL, true, "x@outside.test",
	    NULL },
	{ "admin --as must be an address", "root", true, "bob@example.test",
	    "bob", "auth", "<>", false, NULL, "needs an e-mail address" },
	{ "case of the local part matters", "Alice", false,
	    "alice@example.test", "alice", "auth", NULL, false, NULL,
	    "someone else" },
};

int
main(void)
{
	char *domains[] = { "example.test", "other.test" };
	struct recall_cfg cfg;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.local_domains.v = domains;
	cfg.local_domains.n = 2;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct acase *c = &cases[i];
		struct authz_caller caller = { c->user, c->admin, false };
		struct authz_message m = { c->sender, c->auth_user, c->origin };
		char *report_to = NULL, *reason = NULL;
		bool got;
		char name[160];

		snprintf(name, sizeof(name), "authz: %s", c->name);
		TEST_BEGIN(name);
		got = authorize_request(&cfg, &caller, &m, c->as, &report_to,
		    &reason);
		CHECK_INT(got, c->want);
		if (c->want) {
			CHECK_STR(report_to, c->want_report_to);
			CHECK(reason == NULL);
		} else {
			CHECK(report_to == NULL);
			CHECK(reason != NULL);
			if (reason != NULL && strstr(reason, c->want_reason)
			    == NULL) {
				printf("# reason \"%s\" lacks \"%s\"\n", reason,
				    c->want_reason);
				test_ok = false;
			}
		}
		free(report_to);
		free(reason);
		TEST_END();
	}

	TEST_BEGIN("authz: message owner");
	{
		struct authz_message m = { "a@example.test", NULL, "smtp" };
		char *o = authz_message_owner(&m, &cfg);

		CHECK(o == NULL);
		m.origin = "local";
		o = authz_message_owner(&m, &cfg);
		CHECK_STR(o, "a@example.test");
		free(o);
		m.sender = "";
		CHECK(authz_message_owner(&m, &cfg) == NULL);
	}
	TEST_END();
	return test_done();
}
