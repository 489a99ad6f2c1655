/*
 * logtime - the time stamps at the start of Postfix and Dovecot log lines.
 *
 * Two forms: the classic "Nov 27 18:48:05" (maillog_file, Dovecot's
 * log_path with the default log_timestamp, traditional syslog), which is
 * local time without a year, and RFC 3339 "2026-11-27T18:54:24.010002+00:00"
 * (rsyslog's high-precision format, Dovecot's event exporter).
 *
 * The year of a classic stamp is the one that puts it closest before the
 * reference time ctx->now (a stamp more than 31 days in the future belongs
 * to the previous year, as at New Year).  Local time is converted with
 * mktime() once per hour of log and cached in the context, so a context is
 * used by one thread at a time.
 *
 * Pure apart from the time-zone database; no allocation.
 */
#ifndef RECALL_LOGTIME_H
#define RECALL_LOGTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct logtime {
	int64_t sec;	/* seconds since the epoch, UTC */
	int32_t usec;	/* 0..999999 */
};

struct logtime_ctx {
	time_t now;		/* reference for the year */
	int now_year;		/* local year of now */
	/* Cache of the last local hour converted (private). */
	int c_year, c_mon, c_mday, c_hour;
	int64_t c_epoch;	/* UTC epoch of that local hour, or -1 */
};

/* Set up ctx with reference time now (0: the current time). */
void logtime_init(struct logtime_ctx *ctx, time_t now);

/*
 * Parse a stamp at the start of s (len bytes, not necessarily
 * NUL-terminated).  Returns the number of bytes consumed (the stamp only,
 * not the blank after it), or 0 when s does not start with a stamp.
 */
size_t logtime_parse(struct logtime_ctx *ctx, const char *s, size_t len,
    struct logtime *t_r);

/*
 * The start every log line shares: drop the trailing CR/LF, NUL-terminate
 * line at the new length (line must have room for *len_io + 1 bytes; it is
 * modified in place), refuse a NUL byte inside, then parse the stamp into
 * *t_r and the one blank after it.  Returns a pointer into line just past
 * that blank, with the line's length without CR/LF in *len_io, or NULL
 * with *error_r (a static string) saying what is wrong.
 */
char *logtime_line_start(struct logtime_ctx *ctx, char *line, size_t *len_io,
    struct logtime *t_r, const char **error_r);

/* "2026-11-27T18:54:24.010002Z" into buf (at least 28 bytes); returns buf. */
#define LOGTIME_BUFSIZE 32
const char *logtime_format(const struct logtime *t, char *buf, size_t size);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t logtime_days(int year, int month, int day);

#endif
