/*
 * msgctx - what the milter remembers about one MTA connection and the
 * message in progress on it.
 *
 * One struct msgctx per milter connection (libmilter's smfi_setpriv), made
 * by msgctx_new() and freed by msgctx_free(), which accepts NULL.  The
 * message part is cleared by msgctx_reset() at each MAIL FROM, at the end of
 * a message and on abort; the connection part lives until close.  All
 * strings are owned by the struct.
 *
 * Thread-safety: libmilter calls the callbacks of one connection from one
 * thread at a time, so a msgctx needs no lock.
 */
#ifndef RECALL_MILTER_MSGCTX_H
#define RECALL_MILTER_MSGCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "conf.h"
#include "policy.h"
#include "sbuf.h"

/* Longest Subject we keep; longer ones are cut at a character boundary. */
#define MSGCTX_SUBJECT_MAX 998

struct msgctx {
	/* Connection. */
	char *client_addr;		/* {client_addr} or from the sockaddr */
	char *client_name;
	bool have_daemon_addr;
	bool nr_conn, nr_mail, nr_rcpt;	/* no-reply steps negotiated */
	bool nr_hdr, nr_body;

	/* Message (reset at MAIL FROM). */
	bool in_message;
	struct milter_conf *conf;	/* one reference while in a message */
	struct timeval started;		/* MAIL FROM time */
	char *sender_raw;		/* as given to xxfi_envfrom */
	char *auth_authen;
	char **rcpts;			/* raw, as given to xxfi_envrcpt */
	size_t n_rcpts, cap_rcpts;
	char **tags;			/* values of X-Recall-ID, in order */
	char **tag_names;		/* their names as received */
	size_t n_tags, cap_tags;
	char *message_id;		/* first Message-ID value, raw */
	char *subject;			/* first Subject value, cut */
	uint64_t size;			/* header + body bytes, CRLF counted */

	/* Recall by mail (milter.recall_address). */
	size_t n_recall_rcpts;		/* recipients that are the address */
	char *recall_rcpt;		/* the first one, raw (for delrcpt) */
	bool top_rfc822;		/* Content-Type: message/rfc822 */
	struct sbuf body;		/* first RECALLREQ_BODY_MAX bytes,
					   kept only when n_recall_rcpts > 0 */
};

struct msgctx *msgctx_new(void);
void msgctx_free(struct msgctx **ctx);
/* Forget the message (not the connection); releases its conf. */
void msgctx_reset(struct msgctx *ctx);

/*
 * Remember a recipient.  Returns true when it is milter.recall_address
 * (under ctx->conf; false without one).
 */
bool msgctx_add_rcpt(struct msgctx *ctx, const char *rcpt);
/* Account for one header and keep the ones we need. */
void msgctx_add_header(struct msgctx *ctx, const char *name,
    const char *value);
/* Count a body chunk; keep it (bounded) when the message is a request. */
void msgctx_add_body(struct msgctx *ctx, const void *data, size_t len);

/* The origin of the message in progress (needs ctx->conf). */
enum policy_origin msgctx_origin(const struct msgctx *ctx);

/* Replace *dst with a copy of src (NULL allowed). */
void msgctx_set(char **dst, const char *src);

#endif
