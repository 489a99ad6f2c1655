/*
 * trivial_milter - the benchmark's yardsticks: threaded libmilter filters
 * that add one header (X-Bench-Tag: <{i}>) at end of message and do no
 * other work.
 *
 *   trivial_milter -p unix:/path/to.sock        # "trivial"
 *   trivial_milter -a -p unix:/path/to.sock     # "skeleton"
 *
 * Without -a only the end-of-message callback is registered, so Postfix
 * sends the filter little more than one packet per message.
 *
 * With -a ("all of recall-milter's steps") the filter is a do-nothing copy
 * of recall-milter's protocol behaviour (milter/callbacks.c): the same
 * callbacks (connect, MAIL, RCPT, header, body, end of message, abort,
 * close), the same negotiation (actions, skipped steps, "no reply" steps,
 * macro lists), and every step before the end of message answers
 * "no reply" when that was negotiated, else "continue".  Postfix then
 * sends it the same packets per connection, recipient, header and body
 * chunk as recall-milter, so the gap between this one and recall-milter
 * is recall-milter's own work, and the gap between this one and the
 * plain mode is the milter protocol.
 *
 * Built by bench/milter/run.sh with cc -Imilter ... -lmilter -lpthread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "negotiate.h"	/* recall-milter's negotiation (milter/) */


/*
 * The "no reply" steps negotiated for a connection.  libmilter sends no
 * reply at all for SMFIS_NOREPLY on a step that was not negotiated as
 * such, so each step must know.  Rather than allocate per connection, the
 * private pointer points into this table: sk_nr[b] for the bits b below.
 */
#define SK_NR_CONN	0x01
#define SK_NR_MAIL	0x02
#define SK_NR_RCPT	0x04
#define SK_NR_HDR	0x08
#define SK_NR_BODY	0x10
static unsigned char sk_nr[32];

static sfsistat
tm_eom(SMFICTX *ctx)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (smfi_addheader(ctx, "X-Bench-Tag",
	    (char *)(qid != NULL ? qid : "none")) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/* The reply for a step: SMFIS_NOREPLY when negotiated so (bit). */
static sfsistat
sk_reply(SMFICTX *ctx, unsigned char bit)
{
	const unsigned char *nr = smfi_getpriv(ctx);

	return nr != NULL && (*nr & bit) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
sk_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned char b = 0;

	(void)f2;
	(void)f3;
	if ((f0 & NEG_ACTIONS_NEED) != NEG_ACTIONS_NEED)
		return SMFIS_REJECT;
	*pf0 = NEG_ACTIONS_NEED
	    | (f0 & (SMFIF_SETSYMLIST | NEG_ACTIONS_WANT));
	*pf1 = f1 & (NEG_STEPS_SKIP | NEG_STEPS_NOREPLY);
	*pf2 = 0;
	*pf3 = 0;
	if ((*pf1 & SMFIP_NR_CONN) != 0)
		b |= SK_NR_CONN;
	if ((*pf1 & SMFIP_NR_MAIL) != 0)
		b |= SK_NR_MAIL;
	if ((*pf1 & SMFIP_NR_RCPT) != 0)
		b |= SK_NR_RCPT;
	if ((*pf1 & SMFIP_NR_HDR) != 0)
		b |= SK_NR_HDR;
	if ((*pf1 & SMFIP_NR_BODY) != 0)
		b |= SK_NR_BODY;
	(void)smfi_setpriv(ctx, &sk_nr[b]);
	if ((f0 & SMFIF_SETSYMLIST) != 0
	    && (smfi_setsymlist(ctx, SMFIM_CONNECT, NEG_MACROS_CONNECT)
	    != MI_SUCCESS
	    || smfi_setsymlist(ctx, SMFIM_ENVFROM, NEG_MACROS_ENVFROM)
	    != MI_SUCCESS
	    || smfi_setsymlist(ctx, SMFIM_EOM, NEG_MACROS_EOM) != MI_SUCCESS))
		fprintf(stderr, "trivial_milter: smfi_setsymlist failed\n");
	return SMFIS_CONTINUE;
}

static sfsistat
sk_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return sk_reply(ctx, SK_NR_CONN);
}

static sfsistat
sk_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return sk_reply(ctx, SK_NR_MAIL);
}

static sfsistat
sk_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return sk_reply(ctx, SK_NR_RCPT);
}

static sfsistat
sk_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return sk_reply(ctx, SK_NR_HDR);
}

static sfsistat
sk_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)data;
	(void)len;
	return sk_reply(ctx, SK_NR_BODY);
}

static sfsistat
sk_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
sk_close(SMFICTX *ctx)
{
	/* Nothing to free; libmilter warns about a pointer left set. */
	if (smfi_getpriv(ctx) != NULL)
		(void)smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;
	const char *conn = NULL;
	bool all = false;
	int ch, i;

	while ((ch = getopt(argc, argv, "ap:")) != -1) {
		if (ch == 'a')
			all = true;
		else if (ch == 'p')
			conn = optarg;
		else
			return 64;
	}
	if (conn == NULL) {
		fprintf(stderr, "usage: trivial_milter [-a] -p unix:/path\n");
		return 64;
	}
	for (i = 0; i < 32; i++)
		sk_nr[i] = (unsigned char)i;
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_eom = tm_eom;
	if (all) {
		/* As in milter/callbacks.c, callbacks_register(). */
		desc.xxfi_name = "skeleton_milter";
		desc.xxfi_flags = NEG_ACTIONS_ALL;
		desc.xxfi_connect = sk_connect;
		desc.xxfi_envfrom = sk_envfrom;
		desc.xxfi_envrcpt = sk_envrcpt;
		desc.xxfi_header = sk_header;
		desc.xxfi_body = sk_body;
		desc.xxfi_abort = sk_abort;
		desc.xxfi_close = sk_close;
		desc.xxfi_negotiate = sk_negotiate;
	} else {
		desc.xxfi_name = "trivial_milter";
		desc.xxfi_flags = SMFIF_ADDHDRS;
	}
	umask(0);	/* Postfix (user postfix) must be able to connect. */
	if (smfi_setconn((char *)conn) != MI_SUCCESS
	    || smfi_register(desc) != MI_SUCCESS
	    || smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "trivial_milter: cannot listen on %s\n", conn);
		return 69;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
