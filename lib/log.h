/*
 * log - syslog (facility mail) or stderr logging, one module for all programs.
 *
 * log_init() once in main().  After it, every function is thread-safe (syslog
 * and stdio lock internally) and preserves errno.  log_warn/fatal append the
 * text of errno; log_warnx/fatalx do not.  fatal*() exit with the given
 * sysexits code and must never be called inside a milter callback.
 * Mail data passed in log lines must go through log_safe() first.
 */
#ifndef RECALL_LOG_H
#define RECALL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_dest { LOG_TO_SYSLOG, LOG_TO_STDERR };

void log_init(const char *ident, enum log_dest dest, bool debug);
bool log_debug_enabled(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void fatalx(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Copy s into buf (size bytes) with control and non-ASCII bytes shown as
 * \xNN, truncated with "..." when it does not fit.  Returns buf.
 */
const char *log_safe(char *buf, size_t size, const char *s);

#endif
