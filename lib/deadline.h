/*
 * deadline - absolute times for pthread_cond_timedwait(), which waits
 * against CLOCK_REALTIME unless the condition variable says otherwise
 * (ours do not).  No allocation; the caller owns the timespec.
 */
#ifndef RECALL_DEADLINE_H
#define RECALL_DEADLINE_H

#include <stdbool.h>
#include <time.h>

/* *ts = now + ms (ms >= 0), normalised (0 <= tv_nsec < 1e9). */
void deadline_in_ms(struct timespec *ts, long ms);
/* Has the clock reached *ts? */
bool deadline_passed(const struct timespec *ts);

#endif
