/*
 * negotiate - what recall-milter asks of the MTA when a connection starts:
 * the actions it needs or uses when offered, the steps it skips, the steps
 * it takes without a reply, and the macros it wants per step.  Only
 * macros: they expand to names of <libmilter/mfapi.h>, so include that
 * first.
 *
 * milter/callbacks.c negotiates with these, and so does the benchmark's
 * skeleton yardstick (bench/milter/trivial_milter.c -a), which must send
 * Postfix exactly what recall-milter sends to be a fair comparison.
 */
#ifndef RECALL_MILTER_NEGOTIATE_H
#define RECALL_MILTER_NEGOTIATE_H

/* Tagging and removing forged tags: refused without them. */
#define NEG_ACTIONS_NEED (SMFIF_ADDHDRS | SMFIF_CHGHDRS)
/* Recall by mail and hold_external; used when offered. */
#define NEG_ACTIONS_WANT (SMFIF_DELRCPT | SMFIF_QUARANTINE)
/* What smfi_register() announces. */
#define NEG_ACTIONS_ALL (NEG_ACTIONS_NEED | SMFIF_SETSYMLIST \
	| NEG_ACTIONS_WANT)
#define NEG_STEPS_SKIP (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA \
	| SMFIP_NOEOH)
/* No step before the end of message needs a reply. */
#define NEG_STEPS_NOREPLY (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT \
	| SMFIP_NR_HDR | SMFIP_NR_BODY)

/* Macros asked for, per step (Postfix honours these lists). */
#define NEG_MACROS_CONNECT "j _ {daemon_name} {daemon_addr} {client_addr} " \
	"{client_name}"
#define NEG_MACROS_ENVFROM "i {auth_type} {auth_authen} {auth_author} " \
	"{mail_addr} {client_addr}"
#define NEG_MACROS_EOM "i"

#endif
