/*
 * log - logging to syslog or stderr.  See log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static enum log_dest log_dest = LOG_TO_STDERR;
static bool log_debug_on;
static const char *log_ident = "recall";

void
log_init(const char *ident, enum log_dest dest, bool debug)
{
	log_ident = ident;
	log_dest = dest;
	log_debug_on = debug;
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool
log_debug_enabled(void)
{
	return log_debug_on;
}

static void log_vemit(int prio, const char *errstr, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_vemit(int prio, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG) {
		if (errstr != NULL)
			syslog(prio, "%s: %s", msg, errstr);
		else
			syslog(prio, "%s", msg);
	} else {
		static const char *const names[] = {
			[LOG_ERR] = "error", [LOG_WARNING] = "warning",
			[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
		};
		const char *level = prio < (int)(sizeof(names) / sizeof(names[0]))
		    && names[prio] != NULL ? names[prio] : "notice";

		if (errstr != NULL)
			fprintf(stderr, "%s: %s: %s: %s\n", log_ident, level,
			    msg, errstr);
		else
			fprintf(stderr, "%s: %s: %s\n", log_ident, level, msg);
	}
	errno = saved;
}

#define LOG_FN(name, prio, witherr)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	const char *e = (witherr) ? strerror(errno) : NULL;		\
									\
	va_start(ap, fmt);						\
	log_vemit(prio, e, fmt, ap);					\
	va_end(ap);							\
}

LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_errx, LOG_ERR, 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	log_vemit(LOG_ERR, e, fmt, ap);
	va_end(ap);
	exit(code);
}

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}

const char *
log_safe(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return buf;
	if (s == NULL)
		s = "(null)";
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;

		if (o + need + 4 > size) {
			if (size >= 4) {
				o = o > size - 4 ? size - 4 : o;
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}
