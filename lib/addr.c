/*
 * addr - address, domain and Message-ID normalisation.  See addr.h.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "sbuf.h"
#include "xalloc.h"

static bool
has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/*
 * Is [p, p + len) short enough and free of control characters and angle
 * brackets?  If not, *error_r (when not NULL) gets too_long or bad_char.
 */
static bool
acceptable(const char *p, size_t len, const char *too_long,
    const char *bad_char, const char **error_r)
{
	const char *why = NULL;

	if (len > ADDR_MAX_LEN)
		why = too_long;
	else if (has_ctl(p, len) || memchr(p, '<', len) != NULL
	    || memchr(p, '>', len) != NULL)
		why = bad_char;
	if (why != NULL && error_r != NULL)
		*error_r = why;
	return why == NULL;
}

/* Trim white space: [*p, *q) is what remains. */
static void
trim(const char **p, const char **q)
{
	while (*p < *q && isspace((unsigned char)**p))
		(*p)++;
	while (*q > *p && isspace((unsigned char)(*q)[-1]))
		(*q)--;
}

char *
addr_normalise(const char *in, const char **error_r)
{
	const char *p = in, *q = in + strlen(in), *at;
	char *out, *d;
	size_t len;

	trim(&p, &q);
	if (q - p >= 2 && *p == '<' && q[-1] == '>') {
		p++;
		q--;
		trim(&p, &q);
	} else if ((q > p && (*p == '<' || q[-1] == '>'))) {
		if (error_r != NULL)
			*error_r = "unbalanced angle brackets";
		return NULL;
	}
	/* A source route "@a,@b:user@dom" is obsolete; keep what follows. */
	if (p < q && *p == '@') {
		const char *colon = memchr(p, ':', (size_t)(q - p));

		if (colon == NULL) {
			if (error_r != NULL)
				*error_r = "malformed source route";
			return NULL;
		}
		p = colon + 1;
		/* What follows the route must be a plain address. */
		if (p < q && (*p == '@' || isspace((unsigned char)*p))) {
			if (error_r != NULL)
				*error_r = "malformed source route";
			return NULL;
		}
	}
	len = (size_t)(q - p);
	if (!acceptable(p, len, "address too long", "address contains a "
	    "control character or an angle bracket", error_r))
		return NULL;
	out = xstrndup(p, len);
	if ((at = strrchr(out, '@')) != NULL)
		for (d = out + (at - out) + 1; *d != '\0'; d++)
			*d = (char)tolower((unsigned char)*d);
	return out;
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

bool
addr_in_domains(const char *addr, const struct strlist *domains)
{
	const char *dom = addr_domain(addr);

	return dom[0] != '\0' && strlist_contains(domains, dom);
}

bool
addr_is_list(const char *addr, const struct strlist *lists)
{
	const char *dom = addr_domain(addr);
	size_t i;

	for (i = 0; i < lists->n; i++) {
		const char *e = lists->v[i];

		if (strchr(e, '@') != NULL ? strcasecmp(e, addr) == 0
		    : (dom[0] != '\0' && strcasecmp(e, dom) == 0))
			return true;
	}
	return false;
}

enum addr_class
addr_classify(const char *addr, const struct recall_cfg *cfg)
{
	if (addr_is_list(addr, &cfg->mailing_lists))
		return ADDR_LIST;
	if (addr_in_domains(addr, &cfg->local_domains))
		return ADDR_LOCAL;
	return ADDR_EXTERNAL;
}

const char *
addr_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_LOCAL:
		return "local";
	case ADDR_LIST:
		return "list";
	case ADDR_EXTERNAL:
		break;
	}
	return "external";
}

char *
addr_msgid_normalise(const char *in, const char **error_r)
{
	const char *p = in, *q = in + strlen(in);
	size_t len;
	char *out;

	trim(&p, &q);
	if (q - p >= 2 && *p == '<' && q[-1] == '>') {
		p++;
		q--;
	}
	trim(&p, &q);
	len = (size_t)(q - p);
	if (len == 0) {
		if (error_r != NULL)
			*error_r = "empty Message-ID";
		return NULL;
	}
	if (!acceptable(p, len, "Message-ID too long", "Message-ID contains "
	    "a control character or an angle bracket", error_r))
		return NULL;
	out = xmalloc(len + 3);
	out[0] = '<';
	memcpy(out + 1, p, len);
	out[len + 1] = '>';
	out[len + 2] = '\0';
	return out;
}

char *
addr_expand_user(const char *tmpl, const char *addr)
{
	struct sbuf sb = SBUF_INIT;
	const char *at = strrchr(addr, '@');
	size_t local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	const char *p;

	sbuf_init(&sb);
	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			sbuf_addc(&sb, *p);
			continue;
		}
		switch (*++p) {
		case 'u':
			sbuf_adds(&sb, addr);
			break;
		case 'n':
			sbuf_add(&sb, addr, local_len);
			break;
		case 'd':
			sbuf_adds(&sb, at != NULL ? at + 1 : "");
			break;
		case '%':
			sbuf_addc(&sb, '%');
			break;
		default:
			sbuf_addc(&sb, '%');
			sbuf_addc(&sb, *p);
			break;
		}
	}
	return sbuf_detach(&sb);
}

char *
addr_for_login(const char *login, const struct recall_cfg *cfg)
{
	char *out;

	if (strchr(login, '@') != NULL)
		return addr_normalise(login, NULL);
	if (cfg->local_domains.n == 0)
		return NULL;
	out = xasprintf("%s@%s", login, cfg->local_domains.v[0]);
	return out;
}
