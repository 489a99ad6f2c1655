/*
 * callbacks - the libmilter callbacks: thin adapters between libmilter and
 * msgctx/policy/record/spool.  With main.c, the only file that includes
 * <libmilter/mfapi.h>.
 *
 * The cb_* functions are exported for the unit tests, which drive them
 * through link-time fakes of smfi_* (tests/unit/fake_libmilter.c).  This
 * header avoids mfapi.h: SMFICTX is struct smfi_str, sfsistat is int.
 *
 * Thread-safety: libmilter runs each connection in its own thread;
 * per-connection state is in the msgctx of smfi_setpriv, the shared parts
 * (configuration, spool, writer) lock internally.
 */
#ifndef RECALL_MILTER_CALLBACKS_H
#define RECALL_MILTER_CALLBACKS_H

#include <stddef.h>
#include <sys/socket.h>

struct smfi_str;
struct hold;
struct spool;
struct writer;

/* How long on_db_error = "tempfail" waits for the database commit. */
#define CALLBACKS_COMMIT_TIMEOUT_MS 3000

struct callbacks_env {
	struct spool *spool;		/* where records go */
	struct writer *writer;		/* NULL: none (tests) */
	const char *hostname;		/* recorded as messages.milter_host */
	int commit_timeout_ms;
	struct hold *hold;		/* hold_external; NULL: never hold */
};

/* Set the environment before the first callback (not owned). */
void callbacks_init(const struct callbacks_env *env);
/* smfi_register() our filter description.  Returns 0 or -1. */
int callbacks_register(const char *name);

int cb_negotiate(struct smfi_str *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3);
int cb_connect(struct smfi_str *ctx, char *host, struct sockaddr *sa);
int cb_envfrom(struct smfi_str *ctx, char **argv);
int cb_envrcpt(struct smfi_str *ctx, char **argv);
int cb_header(struct smfi_str *ctx, char *name, char *value);
int cb_body(struct smfi_str *ctx, unsigned char *data, size_t len);
int cb_eom(struct smfi_str *ctx);
int cb_abort(struct smfi_str *ctx);
int cb_close(struct smfi_str *ctx);

#endif
