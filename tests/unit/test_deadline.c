/*
 * test_deadline - absolute deadlines for timed waits.
 */
#include <time.h>

#include "deadline.h"
#include "test.h"

/* t in nanoseconds. */
static long long
ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void
test_in_ms(void)
{
	static const long cases[] = { 0, 1, 999, 1000, 1001, 1999, 20000 };
	struct timespec before, after, ts;
	long long want;
	size_t i;

	TEST_BEGIN("deadline: now + ms, normalised");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clock_gettime(CLOCK_REALTIME, &before);
		deadline_in_ms(&ts, cases[i]);
		clock_gettime(CLOCK_REALTIME, &after);
		CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
		/* ms after a moment between the two clock readings */
		want = cases[i] * 1000000LL;
		CHECK(ns(&ts) >= ns(&before) + want);
		CHECK(ns(&ts) <= ns(&after) + want);
	}
	TEST_END();
}

static void
test_passed(void)
{
	struct timespec ts;

	TEST_BEGIN("deadline: passed now, not an hour ahead");
	deadline_in_ms(&ts, 0);
	CHECK(deadline_passed(&ts));
	deadline_in_ms(&ts, 3600 * 1000L);
	CHECK(!deadline_passed(&ts));
	TEST_END();
}

int
main(void)
{
	test_in_ms();
	test_passed();
	return test_done();
}
