/*
 * policy - the milter's decisions, as pure functions: no libmilter, no I/O.
 *
 * Whether a message was submitted from inside, and what to do with the
 * X-Recall-ID headers it arrived with.  Everything here is table-tested in
 * tests/unit/test_milter_policy.c.
 *
 * Thread-safety: reentrant.
 */
#ifndef RECALL_MILTER_POLICY_H
#define RECALL_MILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "cidr.h"
#include "tag.h"

enum policy_origin {
	POLICY_OUTSIDE,		/* not tagged; forged tags removed */
	POLICY_AUTH,		/* SASL-authenticated ({auth_authen}) */
	POLICY_NETWORK,		/* client in milter.internal_networks */
	POLICY_LOCAL,		/* sendmail(1)/pickup: local submission */
};

/* What the MTA told us about the client; any pointer may be NULL. */
struct policy_client {
	const char *auth_authen;	/* {auth_authen} at MAIL */
	const char *client_addr;	/* {client_addr}, else the connect sockaddr */
	const char *client_name;	/* connect host name */
	bool have_daemon_addr;		/* {daemon_addr} was defined at connect */
};

/*
 * Classify the submission.  Authentication wins, then the network, then
 * local submission, which is recognised the way Postfix's cleanup(8)
 * emulates it for sendmail/pickup mail: no {daemon_addr} (only smtpd(8) has
 * a server address) and the pretend client localhost/127.0.0.1.
 */
enum policy_origin policy_origin(const struct policy_client *c,
    const struct cidr_list *nets);
/* "outside", "auth", "smtp" (network), "local": messages.origin values. */
const char *policy_origin_name(enum policy_origin o);
static inline bool
policy_is_inside(enum policy_origin o)
{
	return o != POLICY_OUTSIDE;
}

/* Is a header field name X-Recall-ID (any case, trailing blanks ignored)? */
bool policy_is_tag_header(const char *name);

enum policy_tag_action {
	POLICY_TAG_NONE,	/* outside: only remove */
	POLICY_TAG_NEW,		/* inside: add a fresh tag */
	POLICY_TAG_REENTRY,	/* inside with a valid tag: keep it, record */
};

/*
 * The plan for one message's incoming X-Recall-ID headers (values[0..n-1],
 * in arrival order).  remove[i] says whether header i is removed; status[i]
 * (when status is not NULL) gets each value's verification result.
 *
 * Outside: every header is removed, none added.  Inside: the first header
 * that verifies is kept and makes the message a re-entry of its recall id
 * (reentry_id); every other one is removed.  Inside without a valid tag: all
 * are removed and a new tag is added.
 */
struct policy_tag_plan {
	enum policy_tag_action action;
	size_t keep;			/* index of the kept header (REENTRY) */
	char reentry_id[TAG_ID_HEX + 1];
	size_t n_removed;
	size_t n_invalid;		/* headers that failed verification */
};

void policy_plan_tags(bool inside, const struct tag_keys *keys,
    char *const *values, size_t n, bool *remove, enum tag_status *status,
    struct policy_tag_plan *plan_r);

/*
 * Recall by mail (issue #5): is rcpt (raw, with or without angle
 * brackets) milter.recall_address?  The comparison is on the normalised
 * address and ignores case (the address is ours, not a user's mailbox).
 * False when no recall_address is configured.
 */
bool policy_is_recall_rcpt(const struct recall_cfg *cfg, const char *rcpt);

/*
 * May a submission of this origin ask for a recall by mail?  Only an
 * authenticated one ({auth_authen}): the request is made in that login's
 * name, and an address or a network is no proof of who is asking.
 */
static inline bool
policy_may_request_recall(enum policy_origin o)
{
	return o == POLICY_AUTH;
}

#endif
