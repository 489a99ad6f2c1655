/*
 * tag - the X-Recall-ID token and its keys.  See tag.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "crypto.h"
#include "sbuf.h"
#include "tag.h"
#include "xalloc.h"

#define TAG_PREFIX "r1-"
#define TAG_MAC_CONTEXT "recall-tag-v1:"
/* A key file this long is surely not a key file. */
#define TAG_KEYFILE_MAX (64 * 1024)

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
tag_keys_parse(const char *text, struct tag_keys *keys, char **error_r)
{
	const char *line = text, *end;
	int lineno = 0;

	keys->key = NULL;
	keys->n = 0;
	for (; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		const char *p, *q;
		size_t i, len;

		lineno++;
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		for (p = line; p < end && isspace((unsigned char)*p); p++)
			;
		for (q = end; q > p && isspace((unsigned char)q[-1]); q--)
			;
		if (p == q || *p == '#')
			continue;
		len = (size_t)(q - p);
		if (len != 2 * TAG_KEY_LEN) {
			*error_r = xasprintf("line %d: a key is %d hex digits, "
			    "this line has %zu characters", lineno,
			    2 * TAG_KEY_LEN, len);
			goto fail;
		}
		keys->key = xrealloc(keys->key, (keys->n + 1) * sizeof(*keys->key));
		for (i = 0; i < TAG_KEY_LEN; i++) {
			int hi = hexval((unsigned char)p[2 * i]);
			int lo = hexval((unsigned char)p[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				*error_r = xasprintf("line %d: a key must be "
				    "hex digits only", lineno);
				keys->n++;
				goto fail;
			}
			keys->key[keys->n][i] = (unsigned char)(hi << 4 | lo);
		}
		keys->n++;
	}
	if (keys->n == 0) {
		*error_r = xstrdup("no key found (one key per line, 64 hex "
		    "digits, newest first)");
		return -1;
	}
	return 0;
fail:
	tag_keys_free(keys);
	return -1;
}

int
tag_keys_load(const char *path, struct tag_keys *keys, char **error_r)
{
	struct sbuf sb = SBUF_INIT;
	char buf[4096], *err = NULL;
	size_t n;
	FILE *fp;
	int rc;

	keys->key = NULL;
	keys->n = 0;
	if (cfg_check_secret_file(path, error_r) < 0)
		return -1;
	if ((fp = fopen(path, "r")) == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		sbuf_add(&sb, buf, n);
		if (sb.len > TAG_KEYFILE_MAX)
			break;
	}
	if (ferror(fp) || sb.len > TAG_KEYFILE_MAX) {
		*error_r = xasprintf("%s: %s", path, ferror(fp)
		    ? strerror(errno) : "too large for a key file");
		fclose(fp);
		crypto_wipe(buf, sizeof(buf));
		if (sb.buf != NULL)
			crypto_wipe(sb.buf, sb.len);
		sbuf_release(&sb);
		return -1;
	}
	fclose(fp);
	rc = tag_keys_parse(sbuf_str(&sb), keys, &err);
	if (rc < 0) {
		*error_r = xasprintf("%s: %s", path, err);
		free(err);
	}
	crypto_wipe(buf, sizeof(buf));
	crypto_wipe(sb.buf, sb.len);
	sbuf_release(&sb);
	return rc;
}

void
tag_keys_free(struct tag_keys *keys)
{
	if (keys->key != NULL)
		crypto_wipe(keys->key, keys->n * sizeof(*keys->key));
	free(keys->key);
	keys->key = NULL;
	keys->n = 0;
}

int
tag_new_id(char id[TAG_ID_HEX + 1])
{
	unsigned char raw[TAG_ID_HEX / 2];

	if (crypto_random(raw, sizeof(raw)) < 0)
		return -1;
	crypto_hex(raw, sizeof(raw), id);
	return 0;
}

bool
tag_is_id(const char *s)
{
	size_t i;

	for (i = 0; i < TAG_ID_HEX; i++)
		if (hexval((unsigned char)s[i]) < 0)
			return false;
	return s[TAG_ID_HEX] == '\0';
}

/* mac_hex receives TAG_MAC_HEX digits + NUL for id under key. */
static int
tag_mac(const unsigned char *key, const char *id, char *mac_hex)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char data[sizeof(TAG_MAC_CONTEXT) + TAG_ID_HEX];

	memcpy(data, TAG_MAC_CONTEXT, sizeof(TAG_MAC_CONTEXT) - 1);
	memcpy(data + sizeof(TAG_MAC_CONTEXT) - 1, id, TAG_ID_HEX);
	if (crypto_hmac_sha256(key, TAG_KEY_LEN, data,
	    sizeof(TAG_MAC_CONTEXT) - 1 + TAG_ID_HEX, mac) < 0)
		return -1;
	crypto_hex(mac, TAG_MAC_HEX / 2, mac_hex);
	return 0;
}

int
tag_make(const struct tag_keys *keys, const char *id,
    char token[TAG_TOKEN_LEN + 1])
{
	char mac[TAG_MAC_HEX + 1], lid[TAG_ID_HEX + 1];
	size_t i;

	if (keys->n == 0 || !tag_is_id(id))
		return -1;
	for (i = 0; i < TAG_ID_HEX; i++)
		lid[i] = (char)tolower((unsigned char)id[i]);
	lid[TAG_ID_HEX] = '\0';
	if (tag_mac(keys->key[0], lid, mac) < 0)
		return -1;
	snprintf(token, TAG_TOKEN_LEN + 1, "%s%s-%s", TAG_PREFIX, lid, mac);
	return 0;
}

enum tag_status
tag_verify(const struct tag_keys *keys, const char *value,
    char id_r[TAG_ID_HEX + 1], size_t *key_index_r)
{
	char tok[TAG_TOKEN_LEN + 1], mac[TAG_MAC_HEX + 1];
	const char *p, *q;
	size_t i, len;

	for (p = value; isspace((unsigned char)*p); p++)
		;
	for (q = p + strlen(p); q > p && isspace((unsigned char)q[-1]); q--)
		;
	len = (size_t)(q - p);
	if (len != TAG_TOKEN_LEN)
		return TAG_MALFORMED;
	for (i = 0; i < len; i++)
		tok[i] = (char)tolower((unsigned char)p[i]);
	tok[len] = '\0';
	if (strncmp(tok, TAG_PREFIX, 3) != 0 || tok[3 + TAG_ID_HEX] != '-')
		return TAG_MALFORMED;
	for (i = 3; i < len; i++)
		if (i != 3 + TAG_ID_HEX && hexval((unsigned char)tok[i]) < 0)
			return TAG_MALFORMED;
	memcpy(id_r, tok + 3, TAG_ID_HEX);
	id_r[TAG_ID_HEX] = '\0';
	for (i = 0; i < keys->n; i++) {
		if (tag_mac(keys->key[i], id_r, mac) < 0)
			continue;
		if (crypto_equal(mac, tok + 4 + TAG_ID_HEX, TAG_MAC_HEX)) {
			if (key_index_r != NULL)
				*key_index_r = i;
			return TAG_VALID;
		}
	}
	return TAG_BAD_MAC;
}
