/*
 * auditev - audit events with a JSON detail: the one place that says what
 * recalld writes to audit_log (audit.c) for each kind of event.
 *
 * detail is a JSON object (compact, keys in insertion order), so auditors
 * can query it with detail::jsonb ->> 'key' (docs/auditing.md).  Actions:
 *
 *   request   who asked, as whom, the ref, dry run, via, report_to
 *   decision  per recipient: outcome, reason and every input of decide()
 *   removal   per copy removed: store user, mailbox, uid, quarantine id
 *   refusal   who, what (op, ref), why
 *   restore   per copy put back: quarantine id, mailbox, new uid
 *   purge     per expired quarantine row cleared
 *   report    the report mail: to whom, sendmail's result
 *
 * Each call is its own transaction (audit_append()): never call inside
 * another.  On failure the event is logged with log_warnx and -1 returned;
 * callers decide whether that stops them (a request that cannot be
 * audited is not carried out).
 *
 * Ownership: detail is stolen (json_decref'ed) in every case.
 */
#ifndef RECALL_AUDITEV_H
#define RECALL_AUDITEV_H

#include <jansson.h>

#include "db.h"
#include "decide.h"
#include "store_api.h"

/* request_id 0 = none.  recall_id may be NULL. */
int auditev_append(struct db *db, const char *actor, const char *action,
    const char *recall_id, long long request_id, json_t *detail);

/*
 * The detail of a decision: the final outcome and reason, the initial
 * decision when removal changed it, and decide()'s inputs with each
 * copy's flags.  New reference.
 */
json_t *auditev_decision(const struct decide_input *in,
    const struct decision *first, const struct decision *final,
    const struct store_copies *copies);

/* A JSON string for any C string (invalid UTF-8 bytes become U+FFFD). */
json_t *auditev_str(const char *s);

#endif
