/*
 * store_api - the doveadm HTTP API's JSON: commands out, responses in.
 *
 * Pure (jansson only, no I/O) so every shape Dovecot can answer with is
 * unit-tested without a server; store.c does the transport.  Verified
 * shapes (Dovecot 2.3.19, FACTS-dovecot.md):
 *
 *   request   [["fetch",{"user":U,"field":[...],"query":[...]},"TAG"]]
 *   success   [["doveadmResponse",[{"uid":"1",...}],"TAG"]]
 *   failure   [["error",{"type":"exitCode","exitCode":67},"TAG"]]
 *
 * Dovecot's header search is a case-insensitive substring match, so
 * store_api_parse_copies() keeps only rows whose hdr.x-recall-id (one
 * value per line when the header occurs more than once) equals a token
 * exactly (ignoring case, as tags are parsed case-insensitively).
 *
 * Ownership: returned strings and struct store_copies contents are heap
 * memory owned by the caller (free(), store_copies_free()).
 */
#ifndef RECALL_STORE_API_H
#define RECALL_STORE_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* doveadm's exit code for an unknown user (EX_NOUSER). */
#define STORE_EXIT_NOUSER 67

enum store_status {
	STORE_OK,
	STORE_NO_USER,		/* the store does not know the user */
	STORE_UNAVAILABLE,	/* connection refused, timeout, HTTP 5xx */
	STORE_FAILED,		/* any other error: bad key, bad answer */
};

struct store_copy {
	char *mailbox;
	unsigned long uid;
	char *guid;	/* may be "" */
	char *mailbox_guid;	/* may be "" */
	char *flags;	/* "\\Seen \\Recent" */
	bool seen;
	unsigned long long size;	/* size.physical, 0 when not fetched */
	/* The full text when the fetch asked for it, else NULL. */
	char *text;
	size_t text_len;
	bool text_exact;	/* text_len == size (see parse_text below) */
};

struct store_copies {
	struct store_copy *v;
	size_t n;
};

void store_copies_free(struct store_copies *c);

/*
 * A one-command request.  fields may be NULL for commands without one
 * (expunge).  Returns a heap JSON text.
 */
char *store_api_command(const char *cmd, const char *user,
    const char *const *fields, size_t n_fields, const char *const *query,
    size_t n_query, const char *tag);

/*
 * Check the response envelope of a one-command request.  On STORE_OK the
 * rows (a JSON array) are left for the other parsers; on an error status
 * *error_r (heap) says why.  body need not be NUL-terminated.
 */
enum store_status store_api_check(const char *body, size_t len,
    const char *tag, char **error_r);

/*
 * Rows of a fetch with fields mailbox, uid, flags, hdr.x-recall-id (guid
 * optional) whose header equals one of tokens; appended to out.
 */
enum store_status store_api_parse_copies(const char *body, size_t len,
    const char *tag, const char *const *tokens, size_t n_tokens,
    struct store_copies *out, char **error_r);

/*
 * The first row of a fetch with fields text and size.physical.  No row
 * gives STORE_OK with *text_r NULL (the message is gone).  *exact_r says
 * whether the text has the message's physical size: Dovecot's JSON
 * replaces bytes that are not UTF-8, so a raw 8-bit message comes back
 * altered.
 */
enum store_status store_api_parse_text(const char *body, size_t len,
    const char *tag, char **text_r, size_t *len_r, bool *exact_r,
    char **error_r);

/*
 * Batches: one POST carries many commands, [[cmd, params, tag], ...], and
 * the answer holds one item per command, matched by tag.
 * store_api_parse_batch() loads the answer array (*root_r, the caller
 * json_decref()s it); the item parsers below read one item each, with
 * the same rules and errors as the one-command parsers above.
 */
enum store_status store_api_parse_batch(const char *body, size_t len,
    json_t **root_r, char **error_r);
enum store_status store_api_item_check(json_t *item, const char *tag,
    char **error_r);
enum store_status store_api_item_copies(json_t *item, const char *tag,
    const char *const *tokens, size_t n_tokens, struct store_copies *out,
    char **error_r);
enum store_status store_api_item_text(json_t *item, const char *tag,
    char **text_r, size_t *len_r, bool *exact_r, char **error_r);

/*
 * One row of a fetch (as above): appended to out when its header equals
 * one of tokens and out does not hold that mailbox/uid yet.
 */
enum store_status store_api_row_copy(json_t *row, const char *const *tokens,
    size_t n_tokens, struct store_copies *out, char **error_r);
/* The uid of a fetch row ("uid": "17"), or 0 when absent or malformed. */
unsigned long store_api_row_uid(json_t *row);
/* The rows (borrowed from item) of a successful answer item. */
enum store_status store_api_item_rows(json_t *item, const char *tag,
    json_t **rows_r, char **error_r);

/*
 * The answer to [["user",{"userMask":["*"]},tag]]: every user the userdb
 * lists, sorted (strcmp) and unique, into *users_r (heap array of heap
 * strings, *n_r of them).  A userdb that cannot list gives STORE_FAILED.
 */
enum store_status store_api_parse_users(const char *body, size_t len,
    const char *tag, char ***users_r, size_t *n_r, char **error_r);

/* Is "\\Seen" among the space-separated IMAP flags? */
bool store_flags_seen(const char *flags);

/* Does one line of a (possibly multi-line) header value equal token? */
bool store_header_has_token(const char *value, const char *token);

#endif
