/*
 * xalloc - memory allocation that either succeeds or does not return.
 *
 * On failure these log "out of memory" and abort(); the MTA then applies its
 * milter_default_action and the message is retried, never lost.  Every
 * pointer returned is owned by the caller and released with free().
 */
#ifndef RECALL_XALLOC_H
#define RECALL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* free(*p) and set *p to NULL; accepts NULL and *p == NULL. */
#define xfree(p) do { free(*(p)); *(p) = NULL; } while (0)

#endif
