/*
 * hold - milter.hold_external on the MTA host: remember which messages the
 * milter put in Postfix's hold queue, release them when their time is up,
 * and delete them when recalld asks (a recall of a held message).
 *
 * The release time of each held message is a small file
 * spool_dir/held/QUEUEID holding "UNTIL-EPOCH-SECONDS\n", written and
 * fsync'ed (hold_add) before the milter answers with smfi_quarantine.  So
 * the release never depends on PostgreSQL, survives a restart of the
 * milter, and stays on the host whose queue holds the mail.
 *
 * One thread (hold_start) wakes every second:
 *   - release: for each file whose time has passed, run
 *       postsuper -c CONFIG_DIR -H QUEUEID     (hold -> deferred)
 *       postqueue -c CONFIG_DIR -i QUEUEID     (deliver now)
 *     with fork/execv, never a shell; remove the file when postsuper
 *     succeeded; then, best effort, mark held_message released.
 *   - delete: while connected to PostgreSQL (LISTEN recall_held_action,
 *     plus a poll), take this host's open held_action rows, run
 *       postsuper -c CONFIG_DIR -d QUEUEID hold
 *     for a message still held here, and record the result in the row
 *     ('deleted', or 'not-held' when it was released already), which is
 *     what recalld waits for before it reports held-recalled.
 * Release and delete run in that one thread, so they never race.
 *
 * postsuper must run as root (or as Postfix's mail_owner): run the milter
 * without milter.user, or as the mail_owner, when hold_external is used.
 *
 * Thread-safety: hold_add and hold_forget may be called from any thread.
 */
#ifndef RECALL_MILTER_HOLD_H
#define RECALL_MILTER_HOLD_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct hold;

/*
 * Create spool_dir/held (0700) if needed.  postfix_config_dir is passed to
 * postsuper/postqueue with -c; host is this milter's host name, as in
 * messages.milter_host.  Returns 0, or -1 with *error_r (heap).
 */
int hold_open(const char *spool_dir, const char *postfix_config_dir,
    const char *conninfo, const char *host, struct hold **hold_r,
    char **error_r);
/* Give the directory to uid/gid (before a privilege drop). */
int hold_chown(struct hold *h, uid_t uid, gid_t gid, char **error_r);
/* Start the thread (after the privilege drop). */
int hold_start(struct hold *h, char **error_r);
/* Stop the thread and free h; accepts NULL.  Held mail stays held. */
void hold_stop(struct hold **h);

/* Remember that qid is held until until (durable).  0 or -1 (errno). */
int hold_add(struct hold *h, const char *qid, time_t until);
/* Forget qid (the MTA did not take the hold).  h may be NULL. */
void hold_forget(struct hold *h, const char *qid);

/* Is qid a Postfix queue id (letters and digits, 1-32)?  Pure. */
bool hold_qid_valid(const char *qid);

/*
 * Run argv[0] (an absolute path) with argv, no shell, stdin from
 * /dev/null; its stdout and stderr (at most out_size - 1 bytes) into out.
 * Returns the exit status (0-255), or -1 when it could not run.
 */
int hold_run(char *const argv[], char *out, size_t out_size);

#endif
