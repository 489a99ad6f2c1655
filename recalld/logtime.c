/*
 * logtime - log time stamps.  See logtime.h.
 */
#include <stdio.h>
#include <string.h>

#include "logtime.h"

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

void
logtime_init(struct logtime_ctx *ctx, time_t now)
{
	struct tm tm;

	memset(ctx, 0, sizeof(*ctx));
	ctx->now = now != 0 ? now : time(NULL);
	if (localtime_r(&ctx->now, &tm) == NULL)
		ctx->now_year = 1970;
	else
		ctx->now_year = tm.tm_year + 1900;
	ctx->c_epoch = -1;
}

int64_t
logtime_days(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil. */
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* n decimal digits at s into *v; 0 if any is not a digit. */
static int
digits(const char *s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 1;
}

/* UTC epoch of a local wall-clock hour, through a one-entry cache. */
static int64_t
local_hour(struct logtime_ctx *ctx, int y, int mo, int d, int h)
{
	struct tm tm;
	time_t t;

	if (ctx->c_epoch != -1 && ctx->c_year == y && ctx->c_mon == mo
	    && ctx->c_mday == d && ctx->c_hour == h)
		return ctx->c_epoch;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)	/* outside time_t: treat as UTC */
		t = (time_t)(logtime_days(y, mo, d) * 86400 + h * 3600);
	ctx->c_year = y;
	ctx->c_mon = mo;
	ctx->c_mday = d;
	ctx->c_hour = h;
	ctx->c_epoch = (int64_t)t;
	return ctx->c_epoch;
}

/* ".ffffff" at s: microseconds into *usec, bytes consumed returned. */
static size_t
fraction(const char *s, size_t len, int32_t *usec)
{
	size_t i = 1;
	int32_t u = 0, scale = 100000;

	*usec = 0;
	if (len < 2 || s[0] != '.' || s[1] < '0' || s[1] > '9')
		return 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		u += (s[i] - '0') * scale;
		scale /= 10;
	}
	*usec = u;
	return i;
}

static int
valid_date(int y, int mo, int d, int h, int mi, int se)
{
	return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1
	    && d <= days_in_month(y, mo) && h <= 23 && mi <= 59 && se <= 60;
}

/* "Nov 27 18:48:05" or "Nov  7 18:48:05", optionally ".ffffff". */
static size_t
parse_classic(struct logtime_ctx *ctx, const char *s, size_t len,
    struct logtime *t)
{
	const char *m;
	int mo, d, h, mi, se, y;
	size_t n = 15;
	int64_t sec;

	if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':'
	    || s[12] != ':')
		return 0;
	for (m = months; *m != '\0'; m += 3)
		if (memcmp(m, s, 3) == 0)
			break;
	if (*m == '\0')
		return 0;
	mo = (int)(m - months) / 3 + 1;
	if (s[4] == ' ') {
		if (!digits(s + 5, 1, &d))
			return 0;
	} else if (!digits(s + 4, 2, &d))
		return 0;
	if (!digits(s + 7, 2, &h) || !digits(s + 10, 2, &mi)
	    || !digits(s + 13, 2, &se))
		return 0;
	y = ctx->now_year;
	if (!valid_date(y, mo, d, h, mi, se)
	    && !(mo == 2 && d == 29 && valid_date(y - 1, mo, d, h, mi, se)))
		return 0;
	/*
	 * No year in the stamp: this year, unless that lies more than 31
	 * days ahead of the reference (a December line read in January).
	 */
	if (!valid_date(y, mo, d, h, mi, se)
	    || local_hour(ctx, y, mo, d, h) + mi * 60 + se
	    > (int64_t)ctx->now + 31 * 86400) {
		y--;
		if (!valid_date(y, mo, d, h, mi, se))
			return 0;
	}
	sec = local_hour(ctx, y, mo, d, h) + mi * 60 + se;
	n += fraction(s + n, len - n, &t->usec);
	t->sec = sec;
	return n;
}

/* "2026-11-27T18:54:24[.ffffff][Z|+HH:MM|+HHMM]" ('T' or ' '). */
static size_t
parse_iso(struct logtime_ctx *ctx, const char *s, size_t len,
    struct logtime *t)
{
	int y, mo, d, h, mi, se, oh, om;
	size_t n = 19;
	int64_t sec;

	if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T'
	    && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return 0;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo)
	    || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h)
	    || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return 0;
	if (!valid_date(y, mo, d, h, mi, se))
		return 0;
	n += fraction(s + n, len - n, &t->usec);
	if (n < len && s[n] == 'Z') {
		sec = logtime_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
		n++;
	} else if (n + 3 <= len && (s[n] == '+' || s[n] == '-')
	    && digits(s + n + 1, 2, &oh)) {
		int sign = s[n] == '-' ? -1 : 1;
		size_t k = n + 3;

		om = 0;
		if (k + 3 <= len && s[k] == ':' && digits(s + k + 1, 2, &om))
			k += 3;
		else if (k + 2 <= len && digits(s + k, 2, &om))
			k += 2;
		if (oh > 23 || om > 59)
			return 0;
		sec = logtime_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se
		    - sign * (oh * 3600 + om * 60);
		n = k;
	} else {
		/* No zone: local time. */
		sec = local_hour(ctx, y, mo, d, h) + mi * 60 + se;
	}
	t->sec = sec;
	return n;
}

size_t
logtime_parse(struct logtime_ctx *ctx, const char *s, size_t len,
    struct logtime *t_r)
{
	size_t n;

	t_r->sec = 0;
	t_r->usec = 0;
	if (len == 0)
		return 0;
	if (s[0] >= '0' && s[0] <= '9')
		n = parse_iso(ctx, s, len, t_r);
	else
		n = parse_classic(ctx, s, len, t_r);
	if (n == 0) {
		t_r->sec = 0;
		t_r->usec = 0;
	}
	return n;
}

char *
logtime_line_start(struct logtime_ctx *ctx, char *line, size_t *len_io,
    struct logtime *t_r, const char **error_r)
{
	size_t len = *len_io, n;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	*len_io = len;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in line";
		return NULL;
	}
	if ((n = logtime_parse(ctx, line, len, t_r)) == 0) {
		*error_r = "no time stamp";
		return NULL;
	}
	if (line[n] != ' ') {
		*error_r = "no blank after the time stamp";
		return NULL;
	}
	return line + n + 1;
}

const char *
logtime_format(const struct logtime *t, char *buf, size_t size)
{
	int64_t days = t->sec >= 0 ? t->sec / 86400 : (t->sec - 86399) / 86400;
	int64_t rem = t->sec - days * 86400;
	int64_t z, era, doe, yoe, y, doy, mp, d, m;

	/* Howard Hinnant's civil_from_days. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06dZ",
	    (long long)y, (long long)m, (long long)d, (long long)(rem / 3600),
	    (long long)(rem / 60 % 60), (long long)(rem % 60), (int)t->usec);
	return buf;
}
