/*
 * crypto - the one OpenSSL binding: HMAC-SHA256, SHA-256, random bytes,
 * constant-time comparison and wiping.  Thread-safe.
 */
#ifndef RECALL_CRYPTO_H
#define RECALL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32

/* out must hold CRYPTO_SHA256_LEN bytes.  Returns 0 or -1. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char *out);
int crypto_sha256(const void *data, size_t len, unsigned char *out);
/* Cryptographically strong random bytes.  Returns 0 or -1. */
int crypto_random(void *buf, size_t len);
bool crypto_equal(const void *a, const void *b, size_t len);
void crypto_wipe(void *buf, size_t len);
/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void crypto_hex(const unsigned char *in, size_t len, char *out);

#endif
