/*
 * store_cover - which users one wildcard doveadm command can serve.
 *
 * A doveadm command whose user is a wildcard ("ab*") runs for every user
 * the userdb lists that matches, in one process, with one setup: measured
 * on the lab (Dovecot 2.3, docs/performance.md) a user costs ~0.7 ms
 * that way, where a command of its own costs ~3.5 ms.  Many copies of one
 * message (a recall of a mail to a large list of local users) are served
 * by a few such commands instead of one per user.
 *
 * store_cover_plan() is pure: given every user the userdb lists (sorted,
 * strcmp order, no duplicates) and the users to reach, it picks prefix
 * patterns ("prefix*") and leaves the other users to one command each,
 * minimising the cost model below.  A pattern never covers more than
 * max_users listed users (answers stay bounded, several commands can run
 * in parallel, and an expunge's query names every copy it may take, which
 * Dovecot evaluates for every user the pattern serves: the caller picks
 * STORE_COVER_MAX_FIND or STORE_COVER_MAX_EXPUNGE).  A wildcard command
 * also makes Dovecot list every user of the userdb: ~40 ms of CPU at
 * 10,000 users (1,001 commands of 10 users against 11 of ~1,000 on the
 * lab), counted as one unit per STORE_COVER_LISTED_PER_UNIT listed users.  Users whose names hold a wildcard
 * character ('*', '?') or are not in the list are always left alone.
 *
 * Ownership: the plan's strings and arrays are heap memory of the plan
 * (store_cover_free()); the inputs are borrowed.
 */
#ifndef RECALL_STORE_COVER_H
#define RECALL_STORE_COVER_H

#include <stddef.h>

/* The cost model, in units of one user served by a wildcard command. */
#define STORE_COVER_COST_CMD 4		/* a wildcard command's own setup */
#define STORE_COVER_COST_SINGLE 5	/* a command for one user */
#define STORE_COVER_LISTED_PER_UNIT 200	/* listing users, per command */
#define STORE_COVER_MAX_FIND 1024
#define STORE_COVER_MAX_EXPUNGE 256

/* No group: the target is served by a command of its own. */
#define STORE_COVER_NONE ((size_t)-1)

struct store_cover {
	char **pattern;		/* pattern[g], "prefix*" */
	size_t n_groups;
	size_t *group;		/* group[t] for targets[t], or STORE_COVER_NONE */
	size_t n_targets;
};

/*
 * Plan for targets[0..n_targets) (duplicates allowed: they share a
 * group) over users[0..n_users) (sorted, unique).  Never fails.
 */
void store_cover_plan(const char *const *users, size_t n_users,
    const char *const *targets, size_t n_targets, size_t max_users,
    struct store_cover *out);
void store_cover_free(struct store_cover *c);

#endif
