/*
 * Unit tests for recalld/store_cover.c: the wildcard plan.  Every plan is
 * checked against the rules (a pattern's prefix holds every user it is
 * said to serve, at most the cap's number of listed users match it, no
 * wildcard character or split UTF-8 sequence in a prefix) and against
 * the cost of serving every user alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_cover.h"
#include "test.h"
#include "xalloc.h"

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Check c's rules; returns the plan's cost in the model's units. */
static unsigned long long
check_plan(const char *const *users, size_t n_users,
    const char *const *targets, size_t n_targets, size_t max_users,
    const struct store_cover *c)
{
	unsigned long long cost = 0;
	size_t g, i, t;

	CHECK_INT(c->n_targets, n_targets);
	for (g = 0; g < c->n_groups; g++) {
		const char *pat = c->pattern[g];
		size_t plen = strlen(pat) - 1, matched = 0;

		CHECK(pat[plen] == '*');
		CHECK(strcspn(pat, "*?") == plen);
		if (plen > 0)
			CHECK(((unsigned char)pat[plen] & 0xc0) != 0x80
			    && ((unsigned char)pat[plen - 1] & 0xc0) != 0xc0);
		for (i = 0; i < n_users; i++)
			matched += strncmp(users[i], pat, plen) == 0;
		CHECK(matched <= max_users);
		cost += STORE_COVER_COST_CMD
		    + n_users / STORE_COVER_LISTED_PER_UNIT + matched;
	}
	for (t = 0; t < n_targets; t++) {
		g = c->group[t];
		if (g == STORE_COVER_NONE) {
			cost += STORE_COVER_COST_SINGLE;
			continue;
		}
		CHECK(g < c->n_groups);
		if (g < c->n_groups)
			CHECK(strncmp(targets[t], c->pattern[g],
			    strlen(c->pattern[g]) - 1) == 0);
	}
	return cost;
}

/* prefix followed by 1..n, zero-padded to width digits. */
static char **
numbered(const char *prefix, int width, size_t n)
{
	char **v = xcalloc(n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = xasprintf("%s%0*zu", prefix, width, i + 1);
	return v;
}

static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
test_all_users(void)
{
	char **u = numbered("u", 5, 10000);
	struct store_cover c;
	unsigned long long cost;
	size_t t, covered = 0;

	TEST_BEGIN("cover: 10,000 targets of 10,000 users go in patterns");
	store_cover_plan((const char *const *)u, 10000,
	    (const char *const *)u, 10000, STORE_COVER_MAX_EXPUNGE, &c);
	cost = check_plan((const char *const *)u, 10000,
	    (const char *const *)u, 10000, STORE_COVER_MAX_EXPUNGE, &c);
	for (t = 0; t < 10000; t++)
		covered += c.group[t] != STORE_COVER_NONE;
	/* u10000 is alone under "u1": a pattern for one user costs more. */
	CHECK_INT(covered, 9999);
	CHECK(c.n_groups >= 10000 / STORE_COVER_MAX_EXPUNGE);
	CHECK(c.n_groups <= 200);
	CHECK(cost < 10000ULL * STORE_COVER_COST_SINGLE / 2);
	TEST_END();
	store_cover_free(&c);

	/* A find may serve more users a command: fewer, larger patterns. */
	TEST_BEGIN("cover: a find's larger cap makes fewer patterns");
	store_cover_plan((const char *const *)u, 10000,
	    (const char *const *)u, 10000, STORE_COVER_MAX_FIND, &c);
	check_plan((const char *const *)u, 10000, (const char *const *)u,
	    10000, STORE_COVER_MAX_FIND, &c);
	/* "u00*" .. "u09*": 999 or 1,000 users each. */
	CHECK_INT(c.n_groups, 10);
	for (t = 0, covered = 0; t < 10000; t++)
		covered += c.group[t] != STORE_COVER_NONE;
	CHECK_INT(covered, 9999);
	TEST_END();
	store_cover_free(&c);
	free_names(u, 10000);
}

static void
test_sparse(void)
{
	char **u = numbered("u", 4, 1000);
	const char *targets[100], *one[] = { "u0500" };
	struct store_cover c;
	size_t t;

	TEST_BEGIN("cover: one target in ten, and a single one, stay alone");
	for (t = 0; t < 100; t++)
		targets[t] = u[t * 10];
	store_cover_plan((const char *const *)u, 1000, targets, 100,
	    STORE_COVER_MAX_FIND, &c);
	CHECK(check_plan((const char *const *)u, 1000, targets, 100,
	    STORE_COVER_MAX_FIND, &c)
	    <= 100ULL * STORE_COVER_COST_SINGLE);
	CHECK_INT(c.n_groups, 0);
	store_cover_free(&c);
	store_cover_plan((const char *const *)u, 1000, one, 1,
	    STORE_COVER_MAX_FIND, &c);
	CHECK_INT(c.n_groups, 0);
	CHECK(c.group[0] == STORE_COVER_NONE);
	TEST_END();
	store_cover_free(&c);
	free_names(u, 1000);
}

static void
test_dense_block(void)
{
	/* 40 users "sales01".."sales40" all targets, among 2,000 others. */
	char **a = numbered("a", 4, 2000), **s = numbered("sales", 2, 40);
	const char **users = xcalloc(2040 + 1, sizeof(*users));
	struct store_cover c;
	size_t i;

	TEST_BEGIN("cover: a dense block gets one pattern, the rest nothing");
	for (i = 0; i < 2000; i++)
		users[i] = a[i];
	for (i = 0; i < 40; i++)
		users[2000 + i] = s[i];
	qsort(users, 2040, sizeof(*users), cmp);
	store_cover_plan(users, 2040, (const char *const *)s, 40,
	    STORE_COVER_MAX_EXPUNGE, &c);
	check_plan(users, 2040, (const char *const *)s, 40,
	    STORE_COVER_MAX_EXPUNGE, &c);
	CHECK_INT(c.n_groups, 1);
	if (c.n_groups == 1)
		CHECK_STR(c.pattern[0], "sales*");
	for (i = 0; i < 40; i++)
		CHECK(c.group[i] == 0);
	TEST_END();
	store_cover_free(&c);
	free(users);
	free_names(a, 2000);
	free_names(s, 40);
}

static void
test_odd_names(void)
{
	/* "\xc3\xa9" is e-acute: a prefix may not end inside it. */
	const char *users[] = { "ab*1", "ab*2", "ab*3", "ab*4", "ab*5", "ab*6",
	    "\xc3\xa9" "1", "\xc3\xa9" "2", "\xc3\xa9" "3", "\xc3\xa9" "4",
	    "\xc3\xa9" "5", "\xc3\xa9" "6", "\xc3\xa9" "7" };
	const char *targets[] = { "ab*1", "ab*2", "ab*3", "ab*4", "ab*5",
	    "ab*6", "\xc3\xa9" "1", "\xc3\xa9" "2", "\xc3\xa9" "3",
	    "\xc3\xa9" "4", "\xc3\xa9" "5", "\xc3\xa9" "6", "\xc3\xa9" "7",
	    "nobody", "ab*1" };
	size_t n = sizeof(users) / sizeof(users[0]);
	size_t nt = sizeof(targets) / sizeof(targets[0]), g;
	struct store_cover c;

	TEST_BEGIN("cover: wildcards and UTF-8 in names, unknown users");
	qsort(users, n, sizeof(*users), cmp);
	store_cover_plan(users, n, targets, nt, STORE_COVER_MAX_EXPUNGE, &c);
	check_plan(users, n, targets, nt, STORE_COVER_MAX_EXPUNGE, &c);
	for (g = 0; g < c.n_groups; g++)
		printf("# pattern %s\n", c.pattern[g]);
	CHECK(c.group[13] == STORE_COVER_NONE);		/* nobody */
	CHECK(c.group[14] == c.group[0]);		/* a duplicate */
	CHECK(c.group[0] != STORE_COVER_NONE);		/* under "ab*" */
	CHECK(c.group[6] != STORE_COVER_NONE);		/* under "e-acute*" */
	TEST_END();
	store_cover_free(&c);
}

static void
test_empty(void)
{
	const char *targets[] = { "bob" };
	struct store_cover c;

	TEST_BEGIN("cover: no listed users");
	store_cover_plan(NULL, 0, targets, 1, STORE_COVER_MAX_FIND, &c);
	CHECK_INT(c.n_groups, 0);
	CHECK(c.group[0] == STORE_COVER_NONE);
	TEST_END();
	store_cover_free(&c);
}

int
main(void)
{
	test_all_users();
	test_sparse();
	test_dense_block();
	test_odd_names();
	test_empty();
	return test_done();
}
