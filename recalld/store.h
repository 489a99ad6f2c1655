/*
 * store - the mailbox store (Dovecot) through the doveadm HTTP API.
 *
 * The only file that uses libcurl.  A struct store holds one curl handle
 * (connection reuse), the API URL and the Authorization header built from
 * store.doveadm_key_file.  It is used by one thread at a time.
 *
 * Every operation names the Dovecot user (store.dovecot_user expanded for
 * the recipient) and returns a store_status; on anything but STORE_OK,
 * *error_r (heap, caller frees) says why.  Nothing here changes new/,
 * \Recent or \Seen (doveadm never does, FACTS-dovecot.md section 2).
 */
#ifndef RECALL_STORE_H
#define RECALL_STORE_H

#include <stdbool.h>

#include "cfg.h"
#include "store_api.h"

struct store;

/*
 * Read the key (first line of store.doveadm_key_file; the file must not be
 * readable by group or others) and prepare the handle.  Returns 0, or -1
 * with *error_r.  Release with store_free().
 */
int store_open(const struct recall_cfg *cfg, struct store **st_r,
    char **error_r);
void store_free(struct store **st);

/*
 * Every copy in every mailbox of user whose X-Recall-ID equals one of
 * tokens exactly (a header search per token, then the exact check).
 * Copies are appended to out (store_copies_free()).
 */
enum store_status store_find(struct store *st, const char *user,
    const char *const *tokens, size_t n_tokens, struct store_copies *out,
    char **error_r);

/*
 * The copy mailbox/uid, if it still carries token: appended to out (0 or
 * 1 copies).  Used after an expunge to see whether the copy is gone.
 */
enum store_status store_lookup(struct store *st, const char *user,
    const char *mailbox, unsigned long uid, const char *token,
    struct store_copies *out, char **error_r);

/*
 * The full message (header and body) of mailbox/uid into *text_r (heap,
 * NUL-terminated, length *len_r), or NULL when it is gone.  *exact_r is
 * false when Dovecot's JSON altered non-UTF-8 bytes (see store_api.h).
 */
enum store_status store_fetch_text(struct store *st, const char *user,
    const char *mailbox, unsigned long uid, char **text_r, size_t *len_r,
    bool *exact_r, char **error_r);

/*
 * Expunge mailbox/uid if it still carries token and, with only_unseen, if
 * at this instant it is still unseen: the query is then "mailbox B uid U
 * unseen header X-Recall-ID T", so Dovecot itself re-checks \Seen.
 * STORE_OK says nothing about whether a message was removed; ask
 * store_lookup() afterwards.
 */
enum store_status store_expunge(struct store *st, const char *user,
    const char *mailbox, unsigned long uid, const char *token,
    bool only_unseen, char **error_r);

/*
 * Put a message back (restore from quarantine): create mailbox when it
 * is missing (an error creating it is ignored: it usually exists), then
 * "save" text into it.  Text that is not UTF-8 is sent with the bad bytes
 * as U+FFFD (the API carries JSON strings).  Dovecot's save answers no
 * uid: find the copy with store_find() afterwards.
 */
enum store_status store_save(struct store *st, const char *user,
    const char *mailbox, const char *text, size_t len, char **error_r);

/* Add flags (IMAP flags and keywords) to mailbox/uid. */
enum store_status store_flags_add(struct store *st, const char *user,
    const char *mailbox, unsigned long uid, const char *const *flags,
    size_t n_flags, char **error_r);

#endif
