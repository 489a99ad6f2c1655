/*
 * crypto - the OpenSSL binding.  See crypto.h.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#include "crypto.h"

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char *out)
{
	unsigned int outlen = 0;

	if (keylen > 0x7fffffff)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen)
	    == NULL || outlen != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_sha256(const void *data, size_t len, unsigned char *out)
{
	unsigned int outlen = 0;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1
	    || outlen != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_random(void *buf, size_t len)
{
	if (len > 0x7fffffff)
		return -1;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

bool
crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_wipe(void *buf, size_t len)
{
	OPENSSL_cleanse(buf, len);
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}
