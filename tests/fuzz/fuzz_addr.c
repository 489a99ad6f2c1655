/*
 * libFuzzer target: envelope address and Message-ID normalisation, and
 * network matching, on arbitrary bytes.
 *
 * FUZZ_SOURCES: lib/addr.c lib/cidr.c lib/cfg.c lib/sbuf.c lib/xalloc.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recall_cfg cfg;
	struct strlist nets = { NULL, 0 };
	struct cidr_list cl;
	const char *e;
	char *s, *a, *a2, *m, *u, *err = NULL;

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	strlist_add(&cfg.local_domains, "example.org");
	strlist_add(&cfg.mailing_lists, "lists.example.org");
	if ((a = addr_normalise(s, &e)) != NULL) {
		/* Normalising is idempotent. */
		a2 = addr_normalise(a, &e);
		if (a2 == NULL || strcmp(a, a2) != 0)
			abort();
		(void)addr_classify(a, &cfg);
		u = addr_expand_user("%n/%d/%u/%%", a);
		free(u);
		free(a2);
		free(a);
	}
	if ((m = addr_msgid_normalise(s, &e)) != NULL) {
		if (m[0] != '<' || m[strlen(m) - 1] != '>')
			abort();
		free(m);
	}
	strlist_add(&nets, s);
	if (cidr_list_parse(&nets, &cl, &err) == 0) {
		(void)cidr_list_match(&cl, "127.0.0.1");
		(void)cidr_list_match(&cl, "2001:db8::1");
		cidr_list_free(&cl);
	} else {
		free(err);
	}
	strlist_free(&nets);
	strlist_free(&cfg.local_domains);
	strlist_free(&cfg.mailing_lists);
	free(s);
	return 0;
}
