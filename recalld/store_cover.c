/*
 * store_cover - which users one wildcard doveadm command can serve.  See
 * store_cover.h.
 *
 * The listed users, sorted, form a trie: the users under one prefix are
 * a contiguous range.  For each range with targets, the cheaper of "one
 * pattern for the range" and "the best plan of each sub-range" wins
 * (bottom-up), so the plan is optimal for the cost model.  The work is
 * linear in the bytes of the names the targets lead to.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_cover.h"
#include "xalloc.h"

struct range {
	size_t lo, hi, depth;
};

struct plan {
	const char *const *users;
	size_t *below;		/* below[i]: target users among users[0..i) */
	struct range *g;
	size_t n_g, cap_g;
	size_t max_users;
	unsigned long long cmd;	/* the cost of one wildcard command */
};

static size_t
targets_in(const struct plan *p, size_t lo, size_t hi)
{
	return p->below[hi] - p->below[lo];
}

/*
 * Can users[lo..hi), sharing depth bytes, be named "prefix*"?  Not when
 * the prefix holds a wildcard character itself, nor when it ends inside
 * a UTF-8 sequence (the pattern would not be valid UTF-8 for the JSON).
 */
static bool
prefix_ok(const struct plan *p, size_t lo, size_t hi, size_t depth)
{
	const char *first = p->users[lo], *last = p->users[hi - 1];
	size_t i;

	for (i = 0; i < depth; i++)
		if (first[i] == '*' || first[i] == '?')
			return false;
	if (((unsigned char)first[depth] & 0xc0) == 0x80
	    || ((unsigned char)last[depth] & 0xc0) == 0x80)
		return false;
	return true;
}

/*
 * The cost of serving the targets among users[lo..hi), which share their
 * first depth bytes; the groups chosen are appended to p->g.
 */
static unsigned long long
plan_range(struct plan *p, size_t lo, size_t hi, size_t depth)
{
	size_t t = targets_in(p, lo, hi), mark = p->n_g, i, j;
	unsigned long long split = 0, pattern;

	if (t == 0)
		return 0;
	if (t == 1)
		return STORE_COVER_COST_SINGLE;
	/* The user equal to the prefix sorts first; then one range per
	 * next byte. */
	i = lo;
	if (p->users[lo][depth] == '\0') {
		split += targets_in(p, lo, lo + 1) * STORE_COVER_COST_SINGLE;
		i++;
	}
	while (i < hi) {
		unsigned char c = (unsigned char)p->users[i][depth];

		for (j = i + 1; j < hi
		    && (unsigned char)p->users[j][depth] == c; j++)
			;
		split += plan_range(p, i, j, depth + 1);
		i = j;
	}
	if (hi - lo > p->max_users || !prefix_ok(p, lo, hi, depth))
		return split;
	pattern = p->cmd + (unsigned long long)(hi - lo);
	if (pattern >= split)
		return split;
	p->n_g = mark;		/* drop the sub-ranges' groups */
	if (p->n_g == p->cap_g) {
		p->cap_g = p->cap_g == 0 ? 16 : 2 * p->cap_g;
		p->g = xrealloc(p->g, p->cap_g * sizeof(*p->g));
	}
	p->g[p->n_g++] = (struct range){ lo, hi, depth };
	return pattern;
}

/* The index of name in users[0..n), or n. */
static size_t
find_user(const char *const *users, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(users[mid], name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n;
}

void
store_cover_plan(const char *const *users, size_t n_users,
    const char *const *targets, size_t n_targets, size_t max_users,
    struct store_cover *out)
{
	struct plan p;
	size_t *at = xcalloc(n_targets + 1, sizeof(*at));
	bool *is = xcalloc(n_users + 1, sizeof(*is));
	size_t i, g;

	memset(out, 0, sizeof(*out));
	out->n_targets = n_targets;
	out->group = xcalloc(n_targets + 1, sizeof(*out->group));
	memset(&p, 0, sizeof(p));
	p.users = users;
	p.max_users = max_users;
	p.cmd = STORE_COVER_COST_CMD + n_users / STORE_COVER_LISTED_PER_UNIT;
	p.below = xcalloc(n_users + 1, sizeof(*p.below));
	for (i = 0; i < n_targets; i++) {
		at[i] = find_user(users, n_users, targets[i]);
		if (at[i] < n_users)
			is[at[i]] = true;
	}
	for (i = 0; i < n_users; i++)
		p.below[i + 1] = p.below[i] + (is[i] ? 1 : 0);
	if (n_users > 0)
		(void)plan_range(&p, 0, n_users, 0);
	/* The groups come out ordered by range: search them by index. */
	out->n_groups = p.n_g;
	out->pattern = xcalloc(p.n_g + 1, sizeof(*out->pattern));
	for (g = 0; g < p.n_g; g++)
		out->pattern[g] = xasprintf("%.*s*", (int)p.g[g].depth,
		    users[p.g[g].lo]);
	for (i = 0; i < n_targets; i++) {
		size_t lo = 0, hi = p.n_g;

		out->group[i] = STORE_COVER_NONE;
		if (at[i] == n_users)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (at[i] < p.g[mid].lo)
				hi = mid;
			else if (at[i] >= p.g[mid].hi)
				lo = mid + 1;
			else {
				out->group[i] = mid;
				break;
			}
		}
	}
	free(p.g);
	free(p.below);
	free(is);
	free(at);
}

void
store_cover_free(struct store_cover *c)
{
	size_t g;

	for (g = 0; g < c->n_groups; g++)
		free(c->pattern[g]);
	free(c->pattern);
	free(c->group);
	memset(c, 0, sizeof(*c));
}
