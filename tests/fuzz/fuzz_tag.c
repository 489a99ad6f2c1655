/*
 * libFuzzer target: the X-Recall-ID token parser and verifier, and the key
 * file parser, on arbitrary bytes.  Built by `make fuzz` with clang.
 *
 * FUZZ_SOURCES: lib/tag.c lib/crypto.c lib/cfg.c lib/sbuf.c lib/xalloc.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key_text[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	static struct tag_keys keys;
	char id[TAG_ID_HEX + 1], tok[TAG_TOKEN_LEN + 1], *s, *err = NULL;
	struct tag_keys k2;
	enum tag_status st;

	if (keys.n == 0 && tag_keys_parse(key_text, &keys, &err) < 0)
		abort();
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	st = tag_verify(&keys, s, id, NULL);
	if (st != TAG_MALFORMED) {
		/* What verifies must round-trip through tag_make. */
		if (!tag_is_id(id))
			abort();
		if (st == TAG_VALID && (tag_make(&keys, id, tok) < 0
		    || tag_verify(&keys, tok, id, NULL) != TAG_VALID))
			abort();
	}
	if (tag_keys_parse(s, &k2, &err) == 0)
		tag_keys_free(&k2);
	else
		free(err);
	free(s);
	return 0;
}
