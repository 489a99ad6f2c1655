/*
 * authz - who may recall what.  See authz.h.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "authz.h"
#include "xalloc.h"

/* Normalise a, or NULL when it is not an address. */
static char *
norm(const char *a)
{
	char *n;

	if (a == NULL || *a == '\0')
		return NULL;
	n = addr_normalise(a, NULL);
	if (n != NULL && *n == '\0')
		xfree(&n);
	return n;
}

char *
authz_message_owner(const struct authz_message *m,
    const struct recall_cfg *cfg)
{
	char *login, *owner;

	if (m->auth_user != NULL && *m->auth_user != '\0') {
		login = addr_for_login(m->auth_user, cfg);
		owner = norm(login);
		free(login);
		return owner;
	}
	if (m->origin != NULL && strcmp(m->origin, "local") == 0)
		return norm(m->sender);
	return NULL;
}

bool
authorize_request(const struct recall_cfg *cfg,
    const struct authz_caller *caller, const struct authz_message *m,
    const char *as, char **report_to_r, char **reason_r)
{
	char *me, *login, *owner, *as_n = NULL;
	bool ok;

	*report_to_r = NULL;
	*reason_r = NULL;
	login = addr_for_login(caller->user, cfg);
	me = norm(login);
	free(login);
	owner = authz_message_owner(m, cfg);

	if (as != NULL) {
		as_n = norm(as);
		if (as_n == NULL) {
			*reason_r = xstrdup("--as needs an e-mail address");
			ok = false;
			goto out;
		}
	}
	if (caller->admin) {
		ok = true;
		if (as_n != NULL)
			*report_to_r = xstrdup(as_n);
		else if (owner != NULL)
			*report_to_r = xstrdup(owner);
		else if (m->sender != NULL && *m->sender != '\0')
			*report_to_r = xstrdup(m->sender);
		else if (me != NULL)
			*report_to_r = xstrdup(me);
		goto out;
	}
	if (me == NULL) {
		*reason_r = xasprintf("unix user %s speaks for no address",
		    caller->user);
		ok = false;
	} else if (as_n != NULL && strcmp(as_n, me) != 0) {
		*reason_r = xstrdup("only recalld.admins may use --as");
		ok = false;
	} else if (owner == NULL) {
		*reason_r = xasprintf("%s may not recall this message: it was "
		    "not sent by an authenticated or local sender", me);
		ok = false;
	} else if (strcmp(owner, me) != 0) {
		*reason_r = xasprintf("%s may not recall this message: it was "
		    "sent by someone else", me);
		ok = false;
	} else {
		*report_to_r = xstrdup(me);
		ok = true;
	}
out:
	free(me);
	free(owner);
	free(as_n);
	return ok;
}
