/*
 * authz - who may recall (or see the status of) which message.
 *
 * SPEC: a unix user NAME speaks for NAME@ the first of local_domains, and
 * so does a SASL login NAME without a domain (a login with a domain is
 * that address).  A user may act only on mail whose authenticated (or,
 * for local submission, envelope) sender is that address; recalld.admins
 * may act on any message and name with "as" whom the report goes to.
 *
 * Pure: the caller supplies the facts.  Strings returned are heap memory
 * the caller frees.  Thread-safe.
 */
#ifndef RECALL_AUTHZ_H
#define RECALL_AUTHZ_H

#include <stdbool.h>

#include "cfg.h"

/* The message facts authorization looks at (from table messages). */
struct authz_message {
	const char *sender;	/* envelope sender, normalised */
	const char *auth_user;	/* SASL login, NULL if none */
	const char *origin;	/* smtp | auth | local */
};

/* Who is asking (from the socket's peer credentials). */
struct authz_caller {
	const char *user;	/* unix user name */
	bool admin;		/* in recalld.admins */
	/*
	 * May relay a request on behalf of an address (on_behalf_of, recall
	 * by mail): root, milter.user and recalld.admins.
	 */
	bool trusted;
};

/*
 * The address that sent the message as far as authorization goes, or NULL
 * when it has none a user could own (unauthenticated SMTP).  Heap.
 */
char *authz_message_owner(const struct authz_message *m,
    const struct recall_cfg *cfg);

/*
 * May caller act on message m?  as (may be NULL) is the report address an
 * admin named.  On true, *report_to_r (heap) is where the report goes; on
 * false, *reason_r (heap) says why not, for the user.
 */
bool authorize_request(const struct recall_cfg *cfg,
    const struct authz_caller *caller, const struct authz_message *m,
    const char *as, char **report_to_r, char **reason_r);

#endif
