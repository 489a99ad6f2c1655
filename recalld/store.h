/*
 * store - the mailbox store (Dovecot) through the doveadm HTTP API.
 *
 * The only file that uses libcurl.  A struct store holds one curl handle
 * for single commands and a curl multi handle with STORE_BATCH_PARALLEL
 * easy handles for batches (connections reused across calls), the API URL
 * and the Authorization header built from store.doveadm_key_file.  It is
 * used by one thread at a time.
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
 * Batches: commands for many copies in few HTTP requests.
 * STORE_BATCH_CMDS commands go in one POST (fewer when their answers are
 * expected to exceed STORE_BATCH_BYTES), and STORE_BATCH_PARALLEL POSTs
 * are in flight at once (curl multi): Dovecot serves each connection in
 * its own doveadm process (service doveadm, process_limit; see
 * docs/dovecot.md).  Measured on the lab (bench/recall): one doveadm
 * command costs ~4 ms of Dovecot CPU alone, ~2 ms each with 4 in flight on
 * 2 cores; the HTTP round trip itself is what batching saves.
 */
#define STORE_BATCH_CMDS 100
#define STORE_BATCH_BYTES (64ULL * 1024 * 1024)
#define STORE_BATCH_PARALLEL 8

/*
 * Read the key (first line of store.doveadm_key_file; the file must not be
 * readable by group or others) and prepare the handle.  Returns 0, or -1
 * with *error_r.  Release with store_free().
 */
int store_open(const struct recall_cfg *cfg, struct store **st_r,
    char **error_r);
void store_free(struct store **st);
/*
 * In a child after fork(): drop the curl handles, whose connections are
 * the parent's sockets (closing our copies sends nothing over plain
 * HTTP), and start afresh with the same URL and key.  Returns 0, or -1
 * on out of memory.
 */
int store_after_fork(struct store *st);

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

/*
 * A batch: add operations (each returns its index), run them all with
 * store_batch_run(), then read each result by its index.  An operation's
 * commands always travel in one POST, in the order added, and Dovecot runs
 * the commands of one POST in order.  Memory: every answer is kept until
 * store_batch_free(), so callers bound a batch (recall.c works in chunks).
 * Used by one thread; the struct store must outlive the batch.
 *
 * Wildcards (store_batch.c, store_cover.h): when at least 32 find or
 * expunge operations share their tokens and the userdb lists its users
 * (doveadm "user *"), the users a wildcard serves more cheaply share one
 * command per pattern ("u0*"); an expunge then names each copy by its
 * mailbox GUID and uid.  The results are the same as one command each;
 * a wildcard command that fails is retried as one command each.
 */
struct store_batch;

struct store_batch *store_batch_new(struct store *st);
void store_batch_free(struct store_batch **b);

/*
 * store_find() as a batch operation; with_text also fetches each copy's
 * full text (store_copy.text); size_hint: the expected text size.
 * within_s > 0 looks only at messages Dovecot received in the last
 * within_s seconds (doveadm "younger": the received date is in the index
 * or the file's mtime), so that Dovecot need not read the headers of a
 * mailbox's older mail; 0 looks at all.
 */
size_t store_batch_find(struct store_batch *b, const char *user,
    const char *const *tokens, size_t n_tokens, bool with_text,
    unsigned long long size_hint, long within_s);
/* store_fetch_text() as a batch operation (size_hint: expected size). */
size_t store_batch_text(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, unsigned long long size_hint);
/*
 * store_expunge() under each token, then, with look_again, in the same
 * POST, the look again (store_lookup() under every token): its copies are
 * what is still there (without it, none).  Any failed command makes the
 * operation fail.  mailbox_guid
 * (the find's store_copy.mailbox_guid; "" when unknown) lets the copy
 * share a wildcard command with others (see below).
 */
size_t store_batch_expunge(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, const char *mailbox_guid,
    const char *const *tokens, size_t n_tokens, bool only_unseen,
    bool look_again);
/*
 * The look again alone (store_lookup() under every token), as an expunge
 * operation of no token: its copies are what is still there.
 */
size_t store_batch_lookup(struct store_batch *b, const char *user,
    const char *mailbox, unsigned long uid, const char *const *tokens,
    size_t n_tokens);

/* Send every operation and wait for every answer.  Once per batch. */
void store_batch_run(struct store_batch *b);

/*
 * The result of a find or expunge operation: its copies are moved to
 * *out (store_copies_free()), or a status with *error_r (heap).
 */
enum store_status store_batch_copies(struct store_batch *b, size_t index,
    struct store_copies *out, char **error_r);
/* The result of a text operation, as store_fetch_text(). */
enum store_status store_batch_text_result(struct store_batch *b,
    size_t index, char **text_r, size_t *len_r, bool *exact_r,
    char **error_r);

#endif
