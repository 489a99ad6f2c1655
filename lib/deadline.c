/*
 * deadline - absolute times for timed waits.  See deadline.h.
 */
#include "deadline.h"

#define NSEC_PER_SEC 1000000000L

void
deadline_in_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= NSEC_PER_SEC) {
		ts->tv_sec++;
		ts->tv_nsec -= NSEC_PER_SEC;
	}
}

bool
deadline_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > ts->tv_sec
	    || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}
