/*
 * mailer - hand one message to the local sendmail(1).
 *
 * fork + execve of recalld.sendmail with the argv
 *
 *     sendmail -f SENDER -i -- RCPT
 *
 * and the message on standard input; never a shell, so nothing in an
 * address is interpreted.  The program path is used as it is (it may be a
 * wrapper script); it may not contain arguments.  The child gets an empty
 * signal mask, default SIGPIPE, no other descriptors than 0-2 (stdout and
 * stderr go to a pipe whose first line is logged on failure) and the
 * environment PATH=/usr/sbin:/usr/bin:/sbin:/bin only.
 *
 * Blocking, at most MAILER_TIMEOUT_S seconds; then the child is killed.
 * Returns 0 when sendmail exited 0, else -1 with *error_r (heap).
 */
#ifndef RECALL_MAILER_H
#define RECALL_MAILER_H

#include <stddef.h>

#define MAILER_TIMEOUT_S 60

int mailer_send(const char *sendmail, const char *sender, const char *rcpt,
    const char *msg, size_t len, char **error_r);

#endif
