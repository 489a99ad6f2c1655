/*
 * cidr - lists of IPv4/IPv6 networks, for milter.internal_networks.
 *
 * cidr_list_parse() builds a list from strings such as "127.0.0.0/8",
 * "10.1.2.3" and "::1/128"; the caller frees it with cidr_list_free().
 * Matching is pure and thread-safe.
 */
#ifndef RECALL_CIDR_H
#define RECALL_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

struct cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;		/* bits */
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* Returns 0, or -1 with *error_r (heap, caller frees) naming the bad item. */
int cidr_list_parse(const struct strlist *in, struct cidr_list *out,
    char **error_r);
void cidr_list_free(struct cidr_list *list);
/* Does the textual address (v4, v6, or v4-mapped v6, brackets allowed) match? */
bool cidr_list_match(const struct cidr_list *list, const char *addr);

#endif
