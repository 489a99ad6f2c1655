/*
 * decide - the outcome for one recipient's copy.  Pure.  See decide.h.
 *
 * The precedence is a table: each rule says whether its outcome holds and,
 * if so, writes the reason.  The first rule that holds wins, so the order
 * of rules[] *is* SPEC's precedence and nothing else encodes it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "sbuf.h"
#include "xalloc.h"

static const char *const outcome_names[OUTCOME_COUNT] = {
	[OUTCOME_RECALLED] = "recalled",
	[OUTCOME_READ] = "read",
	[OUTCOME_LEFT_EXTERNAL] = "left-external",
	[OUTCOME_LEFT_FORWARDED] = "left-forwarded",
	[OUTCOME_LEFT_LIST] = "left-list",
	[OUTCOME_LEFT_POP3] = "left-pop3",
	[OUTCOME_LEFT_IMAP] = "left-imap",
	[OUTCOME_LEFT_MOBILE] = "left-mobile",
	[OUTCOME_HELD_RECALLED] = "held-recalled",
	[OUTCOME_NOT_FOUND] = "not-found",
	[OUTCOME_EXPIRED] = "expired",
	[OUTCOME_OPTED_OUT] = "opted-out",
	[OUTCOME_PENDING] = "pending",
};

const char *
outcome_name(enum outcome o)
{
	if ((unsigned)o >= OUTCOME_COUNT)
		return NULL;
	return outcome_names[o];
}

int
outcome_parse(const char *name, enum outcome *o_r)
{
	unsigned i;

	for (i = 0; i < OUTCOME_COUNT; i++) {
		if (strcmp(outcome_names[i], name) == 0) {
			*o_r = (enum outcome)i;
			return 0;
		}
	}
	return -1;
}

bool
outcome_is_recalled(enum outcome o)
{
	return o == OUTCOME_RECALLED || o == OUTCOME_HELD_RECALLED;
}

const char *
decide_duration(long seconds, char *buf, size_t size)
{
	static const struct {
		long secs;
		const char *unit;
	} units[] = {
		{ 86400, "day" }, { 3600, "hour" }, { 60, "minute" },
		{ 1, "second" },
	};
	size_t i;
	long n;

	if (seconds < 0)
		seconds = 0;
	/* The largest unit that divides evenly: exact, never rounded. */
	for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++) {
		if (seconds >= units[i].secs && seconds % units[i].secs == 0)
			break;
	}
	n = seconds / units[i].secs;
	snprintf(buf, size, "%ld %s%s", n, units[i].unit, n == 1 ? "" : "s");
	return buf;
}

/* " at T" when at is known. */
static void
add_at(struct sbuf *sb, const char *at)
{
	if (at != NULL && *at != '\0')
		sbuf_addf(sb, " at %s", at);
}

static const struct decide_exposure *
find_exposure(const struct decide_input *in, enum decide_exposure_kind kind)
{
	size_t i;

	for (i = 0; i < in->n_exposures; i++)
		if (in->exposures[i].kind == kind)
			return &in->exposures[i];
	return NULL;
}

static const char *
or_unknown(const char *s)
{
	return s != NULL && *s != '\0' ? s : "an unknown place";
}

/* Each rule: does its outcome hold?  If so, append the reason. */
typedef bool rule_fn(const struct decide_input *, struct sbuf *);

static bool
rule_opted_out(const struct decide_input *in, struct sbuf *sb)
{
	if (!in->opted_out)
		return false;
	sbuf_addf(sb, "%s is in policy.opt_out: its mail is never recalled",
	    in->recipient);
	return true;
}

static bool
rule_expired(const struct decide_input *in, struct sbuf *sb)
{
	char age[32], max[32];

	if (in->age <= in->max_age)
		return false;
	sbuf_addf(sb, "submitted %s ago; mail older than %s "
	    "(policy.max_age) cannot be recalled",
	    decide_duration(in->age, age, sizeof(age)),
	    decide_duration(in->max_age, max, sizeof(max)));
	return true;
}

static bool
rule_left_external(const struct decide_input *in, struct sbuf *sb)
{
	/* Held in our queue (hold_external), it has not left yet. */
	if (in->class != ADDR_EXTERNAL
	    || in->delivery == DECIDE_DELIVERY_HELD)
		return false;
	sbuf_addf(sb, "delivered to an address outside %s",
	    or_unknown(in->local_domains));
	return true;
}

static bool
rule_left_list(const struct decide_input *in, struct sbuf *sb)
{
	const struct decide_exposure *e;

	if (in->class == ADDR_LIST) {
		sbuf_addf(sb, "%s is a mailing list; the list sent it on "
		    "to its members", in->recipient);
		return true;
	}
	if ((e = find_exposure(in, EXPOSURE_LIST)) == NULL)
		return false;
	sbuf_addf(sb, "expanded by the mailing list %s", or_unknown(e->where));
	add_at(sb, e->at);
	return true;
}

static bool
rule_left_forwarded(const struct decide_input *in, struct sbuf *sb)
{
	const struct decide_exposure *e;

	if ((e = find_exposure(in, EXPOSURE_FORWARDED)) == NULL)
		return false;
	sbuf_addf(sb, "forwarded outside the system to %s",
	    or_unknown(e->where));
	add_at(sb, e->at);
	return true;
}

static bool
rule_left_mobile(const struct decide_input *in, struct sbuf *sb)
{
	const struct decide_exposure *e;

	if ((e = find_exposure(in, EXPOSURE_MOBILE)) == NULL)
		return false;
	sbuf_addf(sb, "synced to a mobile device through %s",
	    or_unknown(e->where));
	add_at(sb, e->at);
	return true;
}

static bool
rule_left_pop3(const struct decide_input *in, struct sbuf *sb)
{
	const struct decide_exposure *e;

	if ((e = find_exposure(in, EXPOSURE_POP3)) == NULL)
		return false;
	sbuf_addf(sb, "body downloaded over POP3 from %s",
	    or_unknown(e->where));
	add_at(sb, e->at);
	return true;
}

static bool
rule_left_imap(const struct decide_input *in, struct sbuf *sb)
{
	const struct decide_exposure *e;

	if ((e = find_exposure(in, EXPOSURE_IMAP)) == NULL)
		return false;
	sbuf_addf(sb, "body downloaded over IMAP from %s",
	    or_unknown(e->where));
	add_at(sb, e->at);
	return true;
}

static bool
rule_read(const struct decide_input *in, struct sbuf *sb)
{
	size_t i;

	if (in->store != DECIDE_STORE_OK || in->recall_read)
		return false;
	for (i = 0; i < in->n_copies; i++) {
		if (in->copies[i].seen) {
			sbuf_addf(sb, "read (\\Seen) in %s before the recall",
			    in->copies[i].mailbox);
			return true;
		}
	}
	return false;
}

static bool
rule_not_found(const struct decide_input *in, struct sbuf *sb)
{
	if (in->delivery == DECIDE_DELIVERY_QUEUED
	    || in->delivery == DECIDE_DELIVERY_HELD)
		return false;
	if (in->store == DECIDE_STORE_NO_USER) {
		sbuf_addf(sb, "no such mailbox: the mail store does not know "
		    "%s", in->recipient);
		return true;
	}
	if (in->never_delivered != NULL && in->n_copies == 0
	    && in->store != DECIDE_STORE_UNREACHABLE) {
		sbuf_addf(sb, "never delivered: %s", in->never_delivered);
		return true;
	}
	if (in->store != DECIDE_STORE_OK || in->n_copies > 0
	    || in->prior_request > 0)
		return false;
	sbuf_adds(sb, "no copy is in the mailbox any more "
	    "(deleted by the recipient)");
	return true;
}

static bool
rule_pending(const struct decide_input *in, struct sbuf *sb)
{
	if (in->delivery == DECIDE_DELIVERY_QUEUED) {
		sbuf_adds(sb, "not delivered yet; will be retried");
		return true;
	}
	if (in->ledger_error != NULL) {
		sbuf_addf(sb, "the route ledger could not be read up to now "
		    "(%s); nothing is removed on old facts; will be retried",
		    in->ledger_error);
		return true;
	}
	if (in->delivery == DECIDE_DELIVERY_HELD)
		return false;
	if (in->store == DECIDE_STORE_UNREACHABLE) {
		sbuf_addf(sb, "the mail store is unreachable (%s); "
		    "will be retried", in->store_error != NULL
		    ? in->store_error : "no detail");
		return true;
	}
	if (in->store == DECIDE_STORE_NOT_ASKED) {
		/* A caller bug; never remove what we did not look at. */
		sbuf_adds(sb, "the mail store was not consulted");
		return true;
	}
	return false;
}

static const struct {
	enum outcome outcome;
	rule_fn *holds;
} rules[] = {
	{ OUTCOME_OPTED_OUT, rule_opted_out },
	{ OUTCOME_EXPIRED, rule_expired },
	{ OUTCOME_LEFT_EXTERNAL, rule_left_external },
	{ OUTCOME_LEFT_LIST, rule_left_list },
	{ OUTCOME_LEFT_FORWARDED, rule_left_forwarded },
	{ OUTCOME_LEFT_MOBILE, rule_left_mobile },
	{ OUTCOME_LEFT_POP3, rule_left_pop3 },
	{ OUTCOME_LEFT_IMAP, rule_left_imap },
	{ OUTCOME_READ, rule_read },
	{ OUTCOME_NOT_FOUND, rule_not_found },
	{ OUTCOME_PENDING, rule_pending },
};

/* The mailboxes of the copies, "INBOX" or "INBOX, Archive". */
static void
add_mailboxes(struct sbuf *sb, const struct decide_copy *c, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(c[j].mailbox, c[i].mailbox) == 0)
				break;
		if (j < i)
			continue;
		if (i > 0)
			sbuf_adds(sb, ", ");
		sbuf_adds(sb, c[i].mailbox);
	}
}

void
decide(const struct decide_input *in, struct decision *d)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	bool any_seen = false;

	assert(in->recipient != NULL);
	decision_clear(d);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].holds(in, &sb)) {
			d->outcome = rules[i].outcome;
			d->act = false;
			d->reason = sbuf_detach(&sb);
			return;
		}
	}

	/* Nothing stops the recall. */
	if (in->delivery == DECIDE_DELIVERY_HELD) {
		d->outcome = OUTCOME_HELD_RECALLED;
		sbuf_adds(&sb, in->dry_run
		    ? "held in the MTA queue; would be deleted before it leaves"
		    : "held in the MTA queue; to be deleted before it leaves");
	} else if (in->n_copies == 0 && in->prior_request > 0) {
		/* Nothing left to do: our own earlier recall removed it. */
		d->outcome = OUTCOME_RECALLED;
		sbuf_addf(&sb, "already recalled by request %lld",
		    in->prior_request);
		add_at(&sb, in->prior_at);
		d->reason = sbuf_detach(&sb);
		return;
	} else {
		d->outcome = OUTCOME_RECALLED;
		for (i = 0; i < in->n_copies; i++)
			any_seen |= in->copies[i].seen;
		sbuf_adds(&sb, any_seen ? "read, recalled by policy "
		    "(policy.recall_read) in " : "unread in ");
		add_mailboxes(&sb, in->copies, in->n_copies);
		if (in->dry_run)
			sbuf_adds(&sb, "; would be recalled");
	}
	d->act = !in->dry_run;
	d->reason = sbuf_detach(&sb);
}

void
decide_removal(const struct decide_removal *r, size_t n,
    long quarantine_days, struct decision *d)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;

	decision_clear(d);
	d->act = false;
	for (i = 0; i < n; i++) {
		if (!r[i].gone && r[i].seen) {
			d->outcome = OUTCOME_READ;
			sbuf_addf(&sb, "read (\\Seen) in %s just before the "
			    "recall", r[i].mailbox);
			d->reason = sbuf_detach(&sb);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		if (!r[i].gone) {
			d->outcome = OUTCOME_PENDING;
			sbuf_addf(&sb, "could not be removed from %s (%s); "
			    "will be retried", r[i].mailbox, r[i].error != NULL
			    ? r[i].error : "still in the mailbox");
			d->reason = sbuf_detach(&sb);
			return;
		}
	}
	if (n == 0) {
		d->outcome = OUTCOME_PENDING;
		d->reason = xstrdup("no copy was removed; will be retried");
		return;
	}
	d->outcome = OUTCOME_RECALLED;
	sbuf_adds(&sb, "removed unread from ");
	for (i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(r[j].mailbox, r[i].mailbox) == 0)
				break;
		if (j < i)
			continue;
		if (i > 0)
			sbuf_adds(&sb, ", ");
		sbuf_adds(&sb, r[i].mailbox);
	}
	sbuf_addf(&sb, "; kept in quarantine for %ld day%s",
	    quarantine_days, quarantine_days == 1 ? "" : "s");
	d->reason = sbuf_detach(&sb);
}

void
decision_clear(struct decision *d)
{
	xfree(&d->reason);
	d->outcome = OUTCOME_PENDING;
	d->act = false;
}

enum request_status
decide_request_status(const enum outcome *v, size_t n)
{
	size_t i, recalled = 0;

	for (i = 0; i < n; i++)
		if (outcome_is_recalled(v[i]))
			recalled++;
	if (n > 0 && recalled == n)
		return REQUEST_COMPLETE;
	return recalled > 0 ? REQUEST_PARTIAL : REQUEST_FAILED;
}

const char *
request_status_name(enum request_status s)
{
	switch (s) {
	case REQUEST_COMPLETE:
		return "complete";
	case REQUEST_PARTIAL:
		return "partial";
	case REQUEST_FAILED:
		return "failed";
	}
	return "failed";
}
