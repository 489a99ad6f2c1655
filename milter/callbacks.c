/*
 * callbacks - libmilter adapters.  See callbacks.h.
 *
 * Each callback only moves what libmilter hands over into the msgctx and,
 * at end of message, applies what message_finish() decided.  The steps we
 * need no reply for are negotiated as "no reply" (SMFIP_NR_*), so Postfix
 * does not wait for a round trip per header or body chunk.
 */
#include <stdbool.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "conf.h"
#include "hold.h"
#include "log.h"
#include "message.h"
#include "msgctx.h"
#include "negotiate.h"
#include "policy.h"
#include "writer.h"
#include "xalloc.h"

static struct callbacks_env cb_env;


void
callbacks_init(const struct callbacks_env *env)
{
	cb_env = *env;
	if (cb_env.commit_timeout_ms <= 0)
		cb_env.commit_timeout_ms = CALLBACKS_COMMIT_TIMEOUT_MS;
}

static struct msgctx *
cb_ctx(SMFICTX *ctx)
{
	struct msgctx *mc = smfi_getpriv(ctx);

	if (mc == NULL) {
		mc = msgctx_new();
		if (smfi_setpriv(ctx, mc) != MI_SUCCESS)
			log_warnx("smfi_setpriv failed");
	}
	return mc;
}

/* The reply for a step that may have been negotiated as "no reply". */
static sfsistat
cb_continue(bool noreply)
{
	return noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct msgctx *mc;

	(void)f2;
	(void)f3;
	if ((f0 & NEG_ACTIONS_NEED) != NEG_ACTIONS_NEED) {
		log_warnx("the MTA does not let a filter add and change "
		    "headers; refusing the connection");
		return SMFIS_REJECT;
	}
	mc = cb_ctx(ctx);
	/*
	 * No step before the end of message needs a reply: outside mail to
	 * the recall address is refused there (message.c), so every message
	 * is spared a round trip per recipient.
	 */
	*pf0 = NEG_ACTIONS_NEED
	    | (f0 & (SMFIF_SETSYMLIST | NEG_ACTIONS_WANT));
	*pf1 = f1 & (NEG_STEPS_SKIP | NEG_STEPS_NOREPLY);
	mc->nr_conn = (*pf1 & SMFIP_NR_CONN) != 0;
	mc->nr_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
	mc->nr_rcpt = (*pf1 & SMFIP_NR_RCPT) != 0;
	mc->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	mc->nr_body = (*pf1 & SMFIP_NR_BODY) != 0;
	*pf2 = 0;
	*pf3 = 0;
	if ((f0 & SMFIF_SETSYMLIST) != 0
	    && (smfi_setsymlist(ctx, SMFIM_CONNECT, NEG_MACROS_CONNECT)
	    != MI_SUCCESS
	    || smfi_setsymlist(ctx, SMFIM_ENVFROM, NEG_MACROS_ENVFROM)
	    != MI_SUCCESS
	    || smfi_setsymlist(ctx, SMFIM_EOM, NEG_MACROS_EOM) != MI_SUCCESS))
		log_warnx("smfi_setsymlist failed; using the MTA's macros");
	return SMFIS_CONTINUE;
}

/* The client address from the connect sockaddr, or NULL. */
static char *
cb_sockaddr(const struct sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN];
	const void *a;

	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return NULL;
	if (inet_ntop(sa->sa_family, a, buf, sizeof(buf)) == NULL)
		return NULL;
	return xstrdup(buf);
}

sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct msgctx *mc = cb_ctx(ctx);
	const char *m = smfi_getsymval(ctx, "{client_addr}");

	free(mc->client_addr);
	mc->client_addr = m != NULL && m[0] != '\0' ? xstrdup(m)
	    : cb_sockaddr(sa);
	msgctx_set(&mc->client_name, host);
	mc->have_daemon_addr = smfi_getsymval(ctx, "{daemon_addr}") != NULL;
	return cb_continue(mc->nr_conn);
}

sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct msgctx *mc = cb_ctx(ctx);
	const char *m;

	msgctx_reset(mc);
	mc->in_message = true;
	mc->conf = conf_acquire();
	gettimeofday(&mc->started, NULL);
	msgctx_set(&mc->sender_raw, argv != NULL ? argv[0] : NULL);
	m = smfi_getsymval(ctx, "{auth_authen}");
	msgctx_set(&mc->auth_authen, m != NULL && m[0] != '\0' ? m : NULL);
	/* Some MTAs only define {client_addr} from MAIL on. */
	if ((m = smfi_getsymval(ctx, "{client_addr}")) != NULL && m[0] != '\0')
		msgctx_set(&mc->client_addr, m);
	return cb_continue(mc->nr_mail);
}

sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct msgctx *mc = cb_ctx(ctx);
	const char *rcpt = argv != NULL ? argv[0] : NULL;
	const char *qid;
	char buf[160];

	/*
	 * An MTA that cannot take RCPT without a reply (milter protocol
	 * before version 6) gets outside mail to the recall address refused
	 * here, for that recipient; otherwise end of message deals with it.
	 */
	if (!mc->nr_rcpt && mc->conf != NULL
	    && policy_is_recall_rcpt(mc->conf->cfg, rcpt)
	    && !policy_may_request_recall(msgctx_origin(mc))) {
		qid = smfi_getsymval(ctx, "i");
		log_info("%s: recall request refused at RCPT: sender %s is "
		    "not authenticated", qid != NULL ? qid : "NOQUEUE",
		    log_safe(buf, sizeof(buf), mc->sender_raw != NULL
		    ? mc->sender_raw : ""));
		(void)smfi_setreply(ctx, "550", "5.7.1",
		    MESSAGE_REQ_AUTH_TEXT);
		return SMFIS_REJECT;
	}
	msgctx_add_rcpt(mc, rcpt);
	return cb_continue(mc->nr_rcpt);
}

sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct msgctx *mc = cb_ctx(ctx);

	msgctx_add_header(mc, name, value);
	return cb_continue(mc->nr_hdr);
}

sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct msgctx *mc = cb_ctx(ctx);

	msgctx_add_body(mc, data, len);
	return cb_continue(mc->nr_body);
}

/* Apply the header edits; -1 when the MTA refused one. */
static int
cb_apply(SMFICTX *ctx, const char *q, const struct message_result *res)
{
	const struct message_edit *e;
	size_t i;
	int r;

	for (i = 0; i < res->n_edits; i++) {
		e = &res->edits[i];
		if (e->op == MESSAGE_DELETE)
			r = smfi_chgheader(ctx, (char *)e->name, e->index, NULL);
		else
			r = smfi_addheader(ctx, (char *)e->name, e->value);
		if (r != MI_SUCCESS) {
			log_warnx("%s: the MTA refused to %s header %s", q,
			    e->op == MESSAGE_DELETE ? "remove" : "add",
			    e->name);
			return -1;
		}
	}
	return 0;
}

sfsistat
cb_eom(SMFICTX *ctx)
{
	struct msgctx *mc = cb_ctx(ctx);
	struct message_result res;
	const char *qid = smfi_getsymval(ctx, "i");
	const char *q = qid != NULL ? qid : "NOQUEUE";
	sfsistat rc = SMFIS_CONTINUE;

	if (!mc->in_message || mc->conf == NULL) {
		/* No MAIL FROM seen, or no configuration: cannot decide. */
		log_warnx("%s: end of message without a transaction", q);
		msgctx_reset(mc);
		return SMFIS_TEMPFAIL;
	}
	message_finish(mc, qid, &cb_env, &res);
	if (res.reject) {
		(void)smfi_setreply(ctx, (char *)res.rcode, (char *)res.xcode,
		    (char *)res.reason);
		message_result_free(&res);
		msgctx_reset(mc);
		return SMFIS_REJECT;
	}
	if (res.discard && !res.tempfail) {
		/* A recall request and nothing else: not delivered. */
		message_result_free(&res);
		msgctx_reset(mc);
		return SMFIS_DISCARD;
	}
	if (!res.tempfail && res.delrcpt != NULL
	    && smfi_delrcpt(ctx, res.delrcpt) != MI_SUCCESS) {
		log_warnx("%s: the MTA refused to remove recipient %s", q,
		    res.delrcpt);
		res.tempfail = true, res.reason = "recall: recipient removal "
		    "failed";
	}
	if (!res.tempfail && cb_apply(ctx, q, &res) < 0)
		res.tempfail = true, res.reason = "recall: header edit failed";
	if (!res.tempfail && res.quarantine != NULL
	    && smfi_quarantine(ctx, res.quarantine) != MI_SUCCESS) {
		/* Not held: it goes out now, which loses nothing. */
		log_warnx("%s: the MTA refused to hold the message; "
		    "delivering without holding", q);
		hold_forget(cb_env.hold, qid);
	}
	if (!res.tempfail && res.wait_commit
	    && !writer_wait_committed(cb_env.writer, &res.end,
	    cb_env.commit_timeout_ms)) {
		log_warnx("%s: record not committed to the database within "
		    "%d ms and on_db_error is \"tempfail\": temporary failure",
		    q, cb_env.commit_timeout_ms);
		res.tempfail = true;
		res.reason = "recall: database unavailable, try again later";
	}
	if (res.tempfail) {
		(void)smfi_setreply(ctx, "451", "4.3.0", (char *)res.reason);
		if (res.quarantine != NULL)
			hold_forget(cb_env.hold, qid);
		rc = SMFIS_TEMPFAIL;
	}
	message_result_free(&res);
	msgctx_reset(mc);
	return rc;
}

sfsistat
cb_abort(SMFICTX *ctx)
{
	struct msgctx *mc = smfi_getpriv(ctx);

	if (mc != NULL)
		msgctx_reset(mc);
	return SMFIS_CONTINUE;
}

sfsistat
cb_close(SMFICTX *ctx)
{
	struct msgctx *mc = smfi_getpriv(ctx);

	if (mc != NULL) {
		msgctx_free(&mc);
		(void)smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int
callbacks_register(const char *name)
{
	struct smfiDesc desc;

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)name;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = NEG_ACTIONS_ALL;
	desc.xxfi_connect = cb_connect;
	desc.xxfi_envfrom = cb_envfrom;
	desc.xxfi_envrcpt = cb_envrcpt;
	desc.xxfi_header = cb_header;
	desc.xxfi_body = cb_body;
	desc.xxfi_eom = cb_eom;
	desc.xxfi_abort = cb_abort;
	desc.xxfi_close = cb_close;
	desc.xxfi_negotiate = cb_negotiate;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
