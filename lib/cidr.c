/*
 * cidr - network lists.  See cidr.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "xalloc.h"

/* Parse "addr" or "addr/prefix" into *c.  Returns 0 or -1. */
static int
cidr_parse_one(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned maxbits;
	long prefix;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		maxbits = 128;
	} else {
		return -1;
	}
	c->prefix = maxbits;
	if (slash != NULL) {
		errno = 0;
		prefix = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno != 0 || prefix < 0
		    || prefix > (long)maxbits)
			return -1;
		c->prefix = (unsigned)prefix;
	}
	return 0;
}

int
cidr_list_parse(const struct strlist *in, struct cidr_list *out,
    char **error_r)
{
	size_t i;

	out->v = xcalloc(in->n + 1, sizeof(*out->v));
	out->n = 0;
	for (i = 0; i < in->n; i++) {
		if (cidr_parse_one(in->v[i], &out->v[out->n]) < 0) {
			*error_r = xasprintf("\"%s\" is not an address or a "
			    "network such as 192.0.2.0/24", in->v[i]);
			cidr_list_free(out);
			return -1;
		}
		out->n++;
	}
	return 0;
}

void
cidr_list_free(struct cidr_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static bool
cidr_match_one(const struct cidr *c, int family, const unsigned char *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool
cidr_list_match(const struct cidr_list *list, const char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	size_t len, i;
	int family;

	if (addr == NULL)
		return false;
	len = strlen(addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (strncasecmp(addr, "IPv6:", 5) == 0) {
		addr += 5;
		len -= 5;
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		family = AF_INET6;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (i = 0; i < list->n; i++)
		if (cidr_match_one(&list->v[i], family, a))
			return true;
	return false;
}
