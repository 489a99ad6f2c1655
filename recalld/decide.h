/*
 * decide - what happens to one recipient's copy of a recalled message.
 *
 * Pure: no I/O, no clock, no configuration lookups.  The caller gathers
 * the facts (struct decide_input: the recipient's class, the message's
 * age, policy, the copies the mail store holds, the exposures the route
 * ledger knows) and decide() returns the SPEC outcome with a reason a
 * person can read.  When several outcomes hold, the first of SPEC's
 * precedence wins:
 *
 *     opted-out, expired, left-external, left-list, left-forwarded,
 *     left-mobile, left-pop3, left-imap, read, not-found, pending,
 *     otherwise recalled (held-recalled when the copy is still queued).
 *
 * A "recalled" decision has act = true: the caller may now remove the
 * copies, and afterwards asks decide_removal() for the final outcome
 * (a copy read between the check and the expunge is "read").
 *
 * Ownership: inputs are borrowed for the duration of the call; the reason
 * in a struct decision is a heap string released by decision_clear().
 * Thread-safety: reentrant.
 */
#ifndef RECALL_DECIDE_H
#define RECALL_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

enum outcome {
	OUTCOME_RECALLED,
	OUTCOME_READ,
	OUTCOME_LEFT_EXTERNAL,
	OUTCOME_LEFT_FORWARDED,
	OUTCOME_LEFT_LIST,
	OUTCOME_LEFT_POP3,
	OUTCOME_LEFT_IMAP,
	OUTCOME_LEFT_MOBILE,
	OUTCOME_HELD_RECALLED,
	OUTCOME_NOT_FOUND,
	OUTCOME_EXPIRED,
	OUTCOME_OPTED_OUT,
	OUTCOME_PENDING,
};
#define OUTCOME_COUNT (OUTCOME_PENDING + 1)

/* The SPEC name ("left-external"), or NULL for an out-of-range value. */
const char *outcome_name(enum outcome o);
/* Parse a SPEC name.  Returns 0, or -1 when name is not an outcome. */
int outcome_parse(const char *name, enum outcome *o_r);
/* Does the outcome count as recalled for the request status? */
bool outcome_is_recalled(enum outcome o);

/* What the mail store said when asked for the recipient's copies. */
enum decide_store {
	DECIDE_STORE_NOT_ASKED,		/* not needed (outcome fixed earlier) */
	DECIDE_STORE_OK,		/* answered; copies[] is complete */
	DECIDE_STORE_NO_USER,		/* no such mailbox */
	DECIDE_STORE_UNREACHABLE,	/* could not ask; error says why */
};

/* Where the message stands in the MTA for this recipient (ledger, #4). */
enum decide_delivery {
	DECIDE_DELIVERY_UNKNOWN,	/* no ledger facts: judge by the store */
	DECIDE_DELIVERY_DELIVERED,
	DECIDE_DELIVERY_QUEUED,		/* not delivered yet */
	DECIDE_DELIVERY_HELD,		/* held in the queue (hold_external) */
};

/* One copy in the recipient's mailbox. */
struct decide_copy {
	const char *mailbox;
	unsigned long uid;
	bool seen;
};

/* How a copy (or the recipient) left the system, from the route ledger. */
enum decide_exposure_kind {
	EXPOSURE_LIST,		/* expanded by a mailing list */
	EXPOSURE_FORWARDED,	/* forwarded outside */
	EXPOSURE_MOBILE,	/* synced through a sync gateway */
	EXPOSURE_POP3,		/* body downloaded over POP3 */
	EXPOSURE_IMAP,		/* body downloaded by an outside IMAP client */
};

struct decide_exposure {
	enum decide_exposure_kind kind;
	const char *where;	/* address, host or list; may be NULL */
	const char *at;		/* RFC 3339 time; may be NULL */
};

struct decide_input {
	const char *recipient;
	enum addr_class class;
	const char *local_domains;	/* for reasons: "example.org" */
	long age;			/* seconds since submission */
	long max_age;			/* policy.max_age */
	bool opted_out;			/* recipient in policy.opt_out */
	bool recall_read;		/* policy.recall_read */
	bool dry_run;			/* only the reason text differs */
	enum decide_delivery delivery;
	enum decide_store store;
	const char *store_error;	/* for DECIDE_STORE_UNREACHABLE */
	const struct decide_copy *copies;
	size_t n_copies;
	const struct decide_exposure *exposures;
	size_t n_exposures;
	/*
	 * An earlier request already recalled this recipient's copy (0 when
	 * none): with no copy left, the outcome stays "recalled", so a
	 * repeated recall is idempotent instead of reporting "not-found".
	 */
	long long prior_request;
	const char *prior_at;		/* RFC 3339; may be NULL */
	/*
	 * The route ledger could not be brought up to date before this
	 * decision (why, or NULL when it is current): nothing is removed on
	 * stale facts, the copy is "pending".
	 */
	const char *ledger_error;
	/*
	 * The ledger says this copy never arrived (bounced, or deleted from
	 * the queue): what happened, or NULL.  With no copy in the store
	 * the outcome is "not-found" with this reason.
	 */
	const char *never_delivered;
};

struct decision {
	enum outcome outcome;
	bool act;	/* remove the copies (recalled/held-recalled, not dry) */
	char *reason;	/* heap; decision_clear() frees */
};

/* Decide for one recipient.  d must be zeroed or cleared. */
void decide(const struct decide_input *in, struct decision *d);

/* The result of removing one copy that decide() allowed to remove. */
struct decide_removal {
	const char *mailbox;
	bool gone;		/* no longer in the mailbox */
	bool seen;		/* still there and \Seen now */
	const char *error;	/* the store failed; NULL if not */
};

/*
 * The final outcome after removal: recalled when every copy is gone, read
 * when one was read just before the expunge, pending otherwise.
 * quarantine_days goes into the reason.
 */
void decide_removal(const struct decide_removal *r, size_t n,
    long quarantine_days, struct decision *d);

void decision_clear(struct decision *d);

enum request_status {
	REQUEST_COMPLETE,	/* every copy recalled */
	REQUEST_PARTIAL,	/* some */
	REQUEST_FAILED,		/* none (or no copies at all) */
};

enum request_status decide_request_status(const enum outcome *v, size_t n);
const char *request_status_name(enum request_status s);

/* "2 days", "1 hour", "45 seconds": into buf, returns buf. */
const char *decide_duration(long seconds, char *buf, size_t size);

#endif
