/*
 * test.h - the unit-test harness: one "ok - NAME" or "not ok - NAME" line
 * per case (tests/run.sh counts them), got/want diagnostics on "# " lines.
 *
 *	TEST_BEGIN("name");  ...  CHECK(expr); CHECK_STR(got, want); ...
 *	TEST_END();
 *	return test_done();
 */
#ifndef RECALL_TEST_H
#define RECALL_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *test_name;
static bool test_ok;
static int test_failures;

#define TEST_BEGIN(name) do { test_name = (name); test_ok = true; } while (0)
#define TEST_END() do {							\
	printf("%s - %s\n", test_ok ? "ok" : "not ok", test_name);	\
	if (!test_ok)							\
		test_failures++;					\
	fflush(stdout);							\
} while (0)

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		printf("# %s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #expr);					\
		test_ok = false;					\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *got_ = (got), *want_ = (want);			\
	if ((got_ == NULL) != (want_ == NULL)				\
	    || (got_ != NULL && strcmp(got_, want_) != 0)) {		\
		printf("# %s:%d: got \"%s\", want \"%s\"\n", __FILE__,	\
		    __LINE__, got_ ? got_ : "(null)",			\
		    want_ ? want_ : "(null)");				\
		test_ok = false;					\
	}								\
} while (0)

#define CHECK_INT(got, want) do {					\
	long long got_ = (long long)(got), want_ = (long long)(want);	\
	if (got_ != want_) {						\
		printf("# %s:%d: %s: got %lld, want %lld\n", __FILE__,	\
		    __LINE__, #got, got_, want_);			\
		test_ok = false;					\
	}								\
} while (0)

static inline int
test_done(void)
{
	return test_failures == 0 ? 0 : 1;
}

#endif
