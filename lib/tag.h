/*
 * tag - the X-Recall-ID token.
 *
 * A token is TAG_TOKEN_LEN characters, lower-case, URL-safe:
 *
 *     r1-<recall id: 24 hex digits>-<HMAC: 32 hex digits>
 *
 * The recall id is 96 random bits that name one message.  The HMAC is the
 * first 128 bits of HMAC-SHA256(key, "recall-tag-v1:" recall-id).  The
 * version prefix lets a later format coexist.  Parsing is case-insensitive
 * so a header folded to upper case by some relay still verifies.
 *
 * A struct tag_keys holds the keys of tag.key_file, newest first: new tags
 * are made with the first, verification tries each (key rotation).  It is
 * immutable after loading and owned by the caller (tag_keys_free()).
 */
#ifndef RECALL_TAG_H
#define RECALL_TAG_H

#include <stdbool.h>
#include <stddef.h>

#define TAG_HEADER "X-Recall-ID"
#define TAG_ID_HEX 24
#define TAG_MAC_HEX 32
#define TAG_TOKEN_LEN (3 + TAG_ID_HEX + 1 + TAG_MAC_HEX)	/* 60 */
#define TAG_KEY_LEN 32

struct tag_keys {
	unsigned char (*key)[TAG_KEY_LEN];
	size_t n;
};

/*
 * Parse a key file: one key per line as 64 hex digits, newest first; blank
 * lines and lines starting with '#' are ignored.  The file must not be
 * readable by group or others.  Returns 0, or -1 with *error_r (heap).
 */
int tag_keys_load(const char *path, struct tag_keys *keys, char **error_r);
/* Same, from text already in memory (for tests). */
int tag_keys_parse(const char *text, struct tag_keys *keys, char **error_r);
void tag_keys_free(struct tag_keys *keys);

/* A new random recall id: TAG_ID_HEX hex digits + NUL.  Returns 0 or -1. */
int tag_new_id(char id[TAG_ID_HEX + 1]);

/* The token for id under the newest key into token.  Returns 0 or -1. */
int tag_make(const struct tag_keys *keys, const char *id,
    char token[TAG_TOKEN_LEN + 1]);

enum tag_status {
	TAG_VALID,		/* well-formed and the HMAC verifies */
	TAG_BAD_MAC,		/* well-formed but no key verifies it */
	TAG_MALFORMED,		/* not a token of a version we know */
};

/*
 * Parse and verify a header value (surrounding white space is ignored).
 * On TAG_VALID and TAG_BAD_MAC, id_r receives the recall id.  Which key
 * verified goes to *key_index_r (0 = newest) when not NULL.
 */
enum tag_status tag_verify(const struct tag_keys *keys, const char *value,
    char id_r[TAG_ID_HEX + 1], size_t *key_index_r);

/* Is s a well-formed recall id (24 hex digits)? */
bool tag_is_id(const char *s);

#endif
