/*
 * recallctl_trace - how recallctl shows the answer to "trace MSGREF".
 *
 * recalld answers SPEC's object
 *   {"message_id": "<...>", "events": [{"at": ..., "recipient": ...,
 *    "event": ..., "detail": ...}]}
 * (plus "recall_id"), or {"error": ..., "code": ...}.  Pure (jansson
 * only); text from the answer is printed with control characters
 * escaped.  Ownership: every char * returned is heap, the caller frees.
 */
#ifndef RECALL_RECALLCTL_TRACE_H
#define RECALL_RECALLCTL_TRACE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The text to print for answer (a table, or the JSON object on one
 * line) into *out_r, or an error message into *error_r (then *code_r is
 * the error's code name, static).  Returns the exit code: 0 for a trace,
 * 69 for "unavailable", 2 for any other error or a malformed answer.
 */
int trace_format(const char *answer, size_t len, bool json, char **out_r,
    char **error_r, const char **code_r);

#endif
