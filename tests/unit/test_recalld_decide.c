/*
 * Unit tests for recalld/decide.c: every outcome, SPEC's precedence, the
 * removal result, the request status.  Table-driven: each case names the
 * facts that differ from a "recallable" baseline and the outcome wanted.
 */
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "test.h"

static const struct decide_copy unread[] = { { "INBOX", 7, false } };
static const struct decide_copy seen[] = { { "INBOX", 7, true } };
static const struct decide_copy two[] = {
	{ "INBOX", 7, false }, { "Archive", 2, false },
};
static const struct decide_exposure ex_list[] = {
	{ EXPOSURE_LIST, "staff@lists.example.test", "2026-11-27T10:00:00Z" },
};
static const struct decide_exposure ex_fwd[] = {
	{ EXPOSURE_FORWARDED, "bob@gmail.test", "2026-11-27T10:00:00Z" },
};
static const struct decide_exposure ex_mobile[] = {
	{ EXPOSURE_MOBILE, "192.0.2.9", NULL },
};
static const struct decide_exposure ex_pop3[] = {
	{ EXPOSURE_POP3, "192.0.2.8", "2026-11-27T10:01:00Z" },
};
static const struct decide_exposure ex_imap[] = {
	{ EXPOSURE_IMAP, "192.0.2.7", "2026-11-27T10:02:00Z" },
};
/* Every kind at once, in an order unlike the precedence. */
static const struct decide_exposure ex_all[] = {
	{ EXPOSURE_IMAP, "192.0.2.7", NULL },
	{ EXPOSURE_POP3, "192.0.2.8", NULL },
	{ EXPOSURE_MOBILE, "192.0.2.9", NULL },
	{ EXPOSURE_FORWARDED, "bob@gmail.test", NULL },
	{ EXPOSURE_LIST, "staff@lists.example.test", NULL },
};
static const struct decide_exposure ex_pop_imap[] = {
	{ EXPOSURE_IMAP, "192.0.2.7", NULL },
	{ EXPOSURE_POP3, "192.0.2.8", NULL },
};
static const struct decide_exposure ex_mob_pop[] = {
	{ EXPOSURE_POP3, "192.0.2.8", NULL },
	{ EXPOSURE_MOBILE, "192.0.2.9", NULL },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define COPIES(a) (a), N(a)
#define EXPOSED(a) (a), N(a)

struct dcase {
	const char *name;
	enum addr_class class;
	long age;
	bool opted_out;
	bool recall_read;
	bool dry_run;
	enum decide_delivery delivery;
	enum decide_store store;
	const struct decide_copy *copies;
	size_t n_copies;
	const struct decide_exposure *exposures;
	size_t n_exposures;
	enum outcome want;
	bool want_act;
	const char *want_reason;	/* a substring of the reason */
};

#define LOCAL ADDR_LOCAL
#define EXT ADDR_EXTERNAL
#define LIST ADDR_LIST
#define DU DECIDE_DELIVERY_UNKNOWN
#define OK DECIDE_STORE_OK
#define NO_ASK DECIDE_STORE_NOT_ASKED

static const struct dcase cases[] = {
	/* Each outcome on its own. */
	{ "recalled: one unread copy", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(unread), NULL, 0, OUTCOME_RECALLED, true, "unread in INBOX" },
	{ "recalled: copies in two mailboxes", LOCAL, 60, false, false, false,
	    DU, OK, COPIES(two), NULL, 0, OUTCOME_RECALLED, true,
	    "unread in INBOX, Archive" },
	{ "recalled: dry run acts on nothing", LOCAL, 60, false, false, true,
	    DU, OK, COPIES(unread), NULL, 0, OUTCOME_RECALLED, false,
	    "would be recalled" },
	{ "read: \\Seen copy", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(seen), NULL, 0, OUTCOME_READ, false,
	    "read (\\Seen) in INBOX before the recall" },
	{ "recalled: read copy with policy.recall_read", LOCAL, 60, false, true,
	    false, DU, OK, COPIES(seen), NULL, 0, OUTCOME_RECALLED, true,
	    "policy.recall_read" },
	{ "left-external", EXT, 60, false, false, false, DU, NO_ASK, NULL, 0,
	    NULL, 0, OUTCOME_LEFT_EXTERNAL, false,
	    "delivered to an address outside example.test" },
	{ "left-list: the recipient is a list", LIST, 60, false, false, false,
	    DU, NO_ASK, NULL, 0, NULL, 0, OUTCOME_LEFT_LIST, false,
	    "is a mailing list" },
	{ "left-list: expanded through an alias", LOCAL, 60, false, false,
	    false, DU, OK, COPIES(unread), EXPOSED(ex_list), OUTCOME_LEFT_LIST,
	    false, "expanded by the mailing list staff@lists.example.test" },
	{ "left-forwarded", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(unread), EXPOSED(ex_fwd), OUTCOME_LEFT_FORWARDED, false,
	    "forwarded outside the system to bob@gmail.test at 2026" },
	{ "left-mobile", LOCAL, 60, false, false, false, DU, OK, COPIES(unread),
	    EXPOSED(ex_mobile), OUTCOME_LEFT_MOBILE, false,
	    "synced to a mobile device through 192.0.2.9" },
	{ "left-pop3", LOCAL, 60, false, false, false, DU, OK, COPIES(unread),
	    EXPOSED(ex_pop3), OUTCOME_LEFT_POP3, false,
	    "body downloaded over POP3 from 192.0.2.8 at 2026-11-27T10:01:00Z" },
	{ "left-imap", LOCAL, 60, false, false, false, DU, OK, COPIES(unread),
	    EXPOSED(ex_imap), OUTCOME_LEFT_IMAP, false,
	    "body downloaded over IMAP from 192.0.2.7" },
	{ "not-found: no copy left", LOCAL, 60, false, false, false, DU, OK,
	    NULL, 0, NULL, 0, OUTCOME_NOT_FOUND, false, "deleted by the recipient" },
	{ "not-found: no such mailbox", LOCAL, 60, false, false, false, DU,
	    DECIDE_STORE_NO_USER, NULL, 0, NULL, 0, OUTCOME_NOT_FOUND, false,
	    "no such mailbox" },
	{ "expired", LOCAL, 2 * 86400, false, false, false, DU, OK,
	    COPIES(unread), NULL, 0, OUTCOME_EXPIRED, false,
	    "submitted 2 days ago; mail older than 1 day (policy.max_age)" },
	{ "not expired at exactly max_age", LOCAL, 86400, false, false, false,
	    DU, OK, COPIES(unread), NULL, 0, OUTCOME_RECALLED, true, "unread" },
	{ "opted-out", LOCAL, 60, true, false, false, DU, NO_ASK, NULL, 0, NULL,
	    0, OUTCOME_OPTED_OUT, false, "policy.opt_out" },
	{ "pending: store unreachable", LOCAL, 60, false, false, false, DU,
	    DECIDE_STORE_UNREACHABLE, NULL, 0, NULL, 0, OUTCOME_PENDING, false,
	    "unreachable (connection refused)" },
	{ "pending: not delivered yet", LOCAL, 60, false, false, false,
	    DECIDE_DELIVERY_QUEUED, OK, NULL, 0, NULL, 0, OUTCOME_PENDING,
	    false, "not delivered yet" },
	{ "pending: store never asked (caller bug) removes nothing", LOCAL, 60,
	    false, false, false, DU, NO_ASK, NULL, 0, NULL, 0, OUTCOME_PENDING,
	    false, "not consulted" },
	{ "held-recalled: external copy still held", EXT, 60, false, false,
	    false, DECIDE_DELIVERY_HELD, NO_ASK, NULL, 0, NULL, 0,
	    OUTCOME_HELD_RECALLED, true, "held in the MTA queue" },
	{ "held-recalled: dry run", EXT, 60, false, false, true,
	    DECIDE_DELIVERY_HELD, NO_ASK, NULL, 0, NULL, 0,
	    OUTCOME_HELD_RECALLED, false, "would be deleted" },
	{ "expired beats held-recalled", EXT, 9 * 86400, false, false, false,
	    DECIDE_DELIVERY_HELD, NO_ASK, NULL, 0, NULL, 0, OUTCOME_EXPIRED,
	    false, "9 days" },
	{ "left-external once delivered (no longer held)", EXT, 60, false,
	    false, false, DECIDE_DELIVERY_DELIVERED, NO_ASK, NULL, 0, NULL, 0,
	    OUTCOME_LEFT_EXTERNAL, false, "outside" },
	{ "held-recalled: local copy still held", LOCAL, 60, false, false,
	    false, DECIDE_DELIVERY_HELD, OK, NULL, 0, NULL, 0,
	    OUTCOME_HELD_RECALLED, true, "held in the MTA queue" },

	/* Filled in after the table (prior_request is not a column). */
	{ "recalled: already recalled by an earlier request", LOCAL, 60, false,
	    false, false, DU, OK, NULL, 0, NULL, 0, OUTCOME_RECALLED, false,
	    "already recalled by request 4 at 2026-11-27T09:00:00Z" },
	{ "a copy back in the mailbox is decided afresh", LOCAL, 60, false,
	    false, false, DU, OK, COPIES(seen), NULL, 0, OUTCOME_READ, false,
	    "read" },

	/* Precedence: each pair, the earlier outcome wins. */
	{ "opted-out beats expired", LOCAL, 9 * 86400, true, false, false, DU,
	    OK, COPIES(seen), NULL, 0, OUTCOME_OPTED_OUT, false, "opt_out" },
	{ "expired beats left-external", EXT, 9 * 86400, false, false, false,
	    DU, NO_ASK, NULL, 0, NULL, 0, OUTCOME_EXPIRED, false, "9 days" },
	{ "left-external beats left-list", EXT, 60, false, false, false, DU,
	    NO_ASK, NULL, 0, EXPOSED(ex_list), OUTCOME_LEFT_EXTERNAL, false,
	    "outside" },
	{ "left-list beats left-forwarded", LOCAL, 60, false, false, false, DU,
	    OK, COPIES(unread), EXPOSED(ex_all), OUTCOME_LEFT_LIST, false,
	    "mailing list" },
	{ "left-forwarded beats left-mobile", LOCAL, 60, false, false, false,
	    DU, OK, COPIES(unread), ex_all, 4, OUTCOME_LEFT_FORWARDED, false,
	    "forwarded" },
	{ "left-mobile beats left-pop3", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(unread), EXPOSED(ex_mob_pop), OUTCOME_LEFT_MOBILE, false,
	    "mobile" },
	{ "left-pop3 beats left-imap", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(unread), EXPOSED(ex_pop_imap), OUTCOME_LEFT_POP3, false,
	    "POP3" },
	{ "left-imap beats read", LOCAL, 60, false, false, false, DU, OK,
	    COPIES(seen), EXPOSED(ex_imap), OUTCOME_LEFT_IMAP, false, "IMAP" },
	{ "left-pop3 even with policy.recall_read", LOCAL, 60, false, true,
	    false, DU, OK, COPIES(seen), EXPOSED(ex_pop3), OUTCOME_LEFT_POP3,
	    false, "POP3" },
	{ "read beats recalled (one of two copies seen)", LOCAL, 60, false,
	    false, false, DU, OK, (const struct decide_copy[]){ { "INBOX", 7,
	    false }, { "Archive", 3, true } }, 2, NULL, 0, OUTCOME_READ, false,
	    "in Archive" },
	{ "not-found beats pending-by-store", LOCAL, 60, false, false, false,
	    DECIDE_DELIVERY_DELIVERED, DECIDE_STORE_NO_USER, NULL, 0, NULL, 0,
	    OUTCOME_NOT_FOUND, false, "no such mailbox" },
	{ "expired beats store unreachable", LOCAL, 9 * 86400, false, false,
	    false, DU, DECIDE_STORE_UNREACHABLE, NULL, 0, NULL, 0,
	    OUTCOME_EXPIRED, false, "policy.max_age" },
	{ "a queued copy is pending, not not-found", LOCAL, 60, false, false,
	    false, DECIDE_DELIVERY_QUEUED, OK, NULL, 0, NULL, 0,
	    OUTCOME_PENDING, false, "not delivered yet" },
};

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < N(cases); i++) {
		const struct dcase *c = &cases[i];
		struct decide_input in;
		struct decision d = { OUTCOME_PENDING, false, NULL };

		memset(&in, 0, sizeof(in));
		in.recipient = "bob@example.test";
		in.class = c->class;
		in.local_domains = "example.test";
		in.age = c->age;
		in.max_age = 86400;
		in.opted_out = c->opted_out;
		in.recall_read = c->recall_read;
		in.dry_run = c->dry_run;
		in.delivery = c->delivery;
		in.store = c->store;
		in.store_error = "connection refused";
		in.copies = c->copies;
		in.n_copies = c->n_copies;
		in.exposures = c->exposures;
		in.n_exposures = c->n_exposures;
		if (strstr(c->name, "earlier request") != NULL
		    || strstr(c->name, "afresh") != NULL) {
			in.prior_request = 4;
			in.prior_at = "2026-11-27T09:00:00Z";
		}

		TEST_BEGIN(c->name);
		decide(&in, &d);
		CHECK_STR(outcome_name(d.outcome), outcome_name(c->want));
		CHECK_INT(d.act, c->want_act);
		CHECK(d.reason != NULL);
		if (d.reason != NULL && strstr(d.reason, c->want_reason) == NULL) {
			printf("# reason \"%s\" lacks \"%s\"\n", d.reason,
			    c->want_reason);
			test_ok = false;
		}
		decision_clear(&d);
		CHECK(d.reason == NULL);
		TEST_END();
	}
}

static void
test_removal(void)
{
	struct decision d = { OUTCOME_PENDING, false, NULL };
	struct decide_removal gone[] = { { "INBOX", true, false, NULL },
	    { "Archive", true, false, NULL } };
	struct decide_removal seen_now[] = { { "INBOX", true, false, NULL },
	    { "Archive", false, true, NULL } };
	struct decide_removal failed[] = { { "INBOX", false, false,
	    "HTTP 500" } };
	struct decide_removal stuck[] = { { "INBOX", false, false, NULL } };

	TEST_BEGIN("removal: every copy gone is recalled");
	decide_removal(gone, 2, 30, &d);
	CHECK_STR(outcome_name(d.outcome), "recalled");
	CHECK_STR(d.reason, "removed unread from INBOX, Archive; kept in "
	    "quarantine for 30 days");
	TEST_END();

	TEST_BEGIN("removal: a copy read just before the expunge is read");
	decide_removal(seen_now, 2, 30, &d);
	CHECK_STR(outcome_name(d.outcome), "read");
	CHECK_STR(d.reason, "read (\\Seen) in Archive just before the recall");
	TEST_END();

	TEST_BEGIN("removal: a store error is pending with the error");
	decide_removal(failed, 1, 1, &d);
	CHECK_STR(outcome_name(d.outcome), "pending");
	CHECK(strstr(d.reason, "HTTP 500") != NULL);
	TEST_END();

	TEST_BEGIN("removal: a copy still there and unseen is pending");
	decide_removal(stuck, 1, 1, &d);
	CHECK_STR(outcome_name(d.outcome), "pending");
	CHECK(strstr(d.reason, "still in the mailbox") != NULL);
	TEST_END();

	TEST_BEGIN("removal: nothing removed is pending, never recalled");
	decide_removal(NULL, 0, 1, &d);
	CHECK_STR(outcome_name(d.outcome), "pending");
	TEST_END();

	TEST_BEGIN("removal: singular day");
	decide_removal(gone, 1, 1, &d);
	CHECK_STR(d.reason, "removed unread from INBOX; kept in quarantine "
	    "for 1 day");
	TEST_END();
	decision_clear(&d);
}

static void
test_status(void)
{
	enum outcome all[] = { OUTCOME_RECALLED, OUTCOME_HELD_RECALLED };
	enum outcome some[] = { OUTCOME_RECALLED, OUTCOME_READ,
	    OUTCOME_LEFT_EXTERNAL };
	enum outcome none[] = { OUTCOME_READ, OUTCOME_NOT_FOUND };

	TEST_BEGIN("request status: complete, partial, failed");
	CHECK_STR(request_status_name(decide_request_status(all, 2)),
	    "complete");
	CHECK_STR(request_status_name(decide_request_status(some, 3)),
	    "partial");
	CHECK_STR(request_status_name(decide_request_status(none, 2)),
	    "failed");
	CHECK_STR(request_status_name(decide_request_status(NULL, 0)),
	    "failed");
	TEST_END();
}

static void
test_names(void)
{
	enum outcome o;
	unsigned i;
	bool all = true;

	TEST_BEGIN("outcome names round-trip and match the schema's list");
	for (i = 0; i < OUTCOME_COUNT; i++) {
		if (outcome_name((enum outcome)i) == NULL
		    || outcome_parse(outcome_name((enum outcome)i), &o) < 0
		    || o != (enum outcome)i)
			all = false;
	}
	CHECK(all);
	CHECK(outcome_parse("recalled ", &o) < 0);
	CHECK(outcome_parse("", &o) < 0);
	CHECK(outcome_name((enum outcome)99) == NULL);
	CHECK_STR(outcome_name(OUTCOME_LEFT_EXTERNAL), "left-external");
	CHECK_STR(outcome_name(OUTCOME_HELD_RECALLED), "held-recalled");
	TEST_END();
}

static void
test_duration(void)
{
	static const struct {
		long secs;
		const char *want;
	} t[] = {
		{ 0, "0 seconds" }, { 1, "1 second" }, { 45, "45 seconds" },
		{ 60, "1 minute" }, { 90, "90 seconds" }, { 3600, "1 hour" },
		{ 7200, "2 hours" }, { 86400, "1 day" }, { 90000, "25 hours" },
		{ 172800, "2 days" }, { -5, "0 seconds" },
	};
	char buf[32];
	size_t i;

	TEST_BEGIN("durations read naturally");
	for (i = 0; i < N(t); i++)
		CHECK_STR(decide_duration(t[i].secs, buf, sizeof(buf)),
		    t[i].want);
	TEST_END();
}

/* The ledger inputs (issue #4): a stale ledger, a copy never delivered. */
static void
test_ledger_inputs(void)
{
	struct decide_input in;
	struct decision d = { OUTCOME_PENDING, false, NULL };

	memset(&in, 0, sizeof(in));
	in.recipient = "bob@example.test";
	in.class = ADDR_LOCAL;
	in.max_age = 86400;
	in.age = 60;
	in.store = DECIDE_STORE_OK;
	in.copies = unread;
	in.n_copies = 1;
	in.ledger_error = "reading the logs: permission denied";

	TEST_BEGIN("pending: a stale ledger removes nothing");
	decide(&in, &d);
	CHECK_STR(outcome_name(d.outcome), "pending");
	CHECK_INT(d.act, false);
	CHECK(d.reason != NULL && strstr(d.reason, "permission denied") != NULL);
	TEST_END();

	TEST_BEGIN("a stale ledger does not hide a read copy");
	in.copies = seen;
	decide(&in, &d);
	CHECK_STR(outcome_name(d.outcome), "read");
	TEST_END();

	TEST_BEGIN("a stale ledger does not hide a known exposure");
	in.exposures = ex_pop3;
	in.n_exposures = 1;
	decide(&in, &d);
	CHECK_STR(outcome_name(d.outcome), "left-pop3");
	TEST_END();

	TEST_BEGIN("not-found: never delivered, with the ledger's reason");
	memset(&in, 0, sizeof(in));
	in.recipient = "bob@example.test";
	in.class = ADDR_LOCAL;
	in.max_age = 86400;
	in.store = DECIDE_STORE_OK;
	in.never_delivered = "bounced at 2026-11-27T10:00:00Z";
	decide(&in, &d);
	CHECK_STR(outcome_name(d.outcome), "not-found");
	CHECK(d.reason != NULL && strstr(d.reason, "never delivered: bounced")
	    != NULL);
	TEST_END();

	TEST_BEGIN("never delivered but a copy is there: decided on the copy");
	in.copies = unread;
	in.n_copies = 1;
	decide(&in, &d);
	CHECK_STR(outcome_name(d.outcome), "recalled");
	TEST_END();
	decision_clear(&d);
}

int
main(void)
{
	test_cases();
	test_ledger_inputs();
	test_removal();
	test_status();
	test_names();
	test_duration();
	return test_done();
}
