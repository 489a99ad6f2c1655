/*
 * store_impl - what store.c (transport, single commands) shares with
 * store_batch.c (batches).  Internal to the store; nothing else includes
 * it.
 */
#ifndef RECALL_STORE_IMPL_H
#define RECALL_STORE_IMPL_H

#include <curl/curl.h>
#include <time.h>

#include "sbuf.h"
#include "store.h"

struct store {
	CURL *curl;
	char *url;
	struct curl_slist *headers;	/* holds the key: wiped on free */
	/* Batches (store_batch_run): a multi handle and its easy handles,
	 * kept between batches so their connections are reused. */
	CURLM *multi;
	CURL *slot[STORE_BATCH_PARALLEL];
	/* Every user the userdb lists (store_batch.c's wildcard plan),
	 * sorted, fetched at users_at; users_failed when it cannot list. */
	char **users;
	size_t n_users;
	time_t users_at;
	bool users_failed;
};

struct answer {
	struct sbuf body;
	bool too_big;
};

/* The fields of a copy; the last ("text") only when the text is wanted. */
extern const char *const store_copy_fields[];
#define STORE_N_COPY_FIELDS 7

/* Prepare handle h to POST request; the answer goes to a. */
void store_post_setup(struct store *st, CURL *h, const char *request,
    struct answer *a, char *errbuf);
/* The status of a finished transfer on h (curl's result rc). */
enum store_status store_post_status(struct store *st, CURL *h, CURLcode rc,
    const struct answer *a, const char *errbuf, char **error_r);
/* POST request on the single handle; the caller releases a->body. */
enum store_status store_post(struct store *st, const char *request,
    struct answer *a, char **error_r);

#endif
