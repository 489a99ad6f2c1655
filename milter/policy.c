/*
 * policy - pure decisions of the milter.  See policy.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "policy.h"

enum policy_origin
policy_origin(const struct policy_client *c, const struct cidr_list *nets)
{
	if (c->auth_authen != NULL && c->auth_authen[0] != '\0')
		return POLICY_AUTH;
	if (c->client_addr != NULL && c->client_addr[0] != '\0'
	    && cidr_list_match(nets, c->client_addr))
		return POLICY_NETWORK;
	/*
	 * Postfix cleanup(8) pretends sendmail/pickup mail comes from
	 * localhost [127.0.0.1] and, unlike smtpd(8), has no {daemon_addr}.
	 * Both must hold, so an SMTP client can never pass for local
	 * submission.
	 */
	if (!c->have_daemon_addr && c->client_addr != NULL
	    && strcmp(c->client_addr, "127.0.0.1") == 0
	    && (c->client_name == NULL
	    || strcasecmp(c->client_name, "localhost") == 0))
		return POLICY_LOCAL;
	return POLICY_OUTSIDE;
}

const char *
policy_origin_name(enum policy_origin o)
{
	switch (o) {
	case POLICY_AUTH:
		return "auth";
	case POLICY_NETWORK:
		return "smtp";
	case POLICY_LOCAL:
		return "local";
	case POLICY_OUTSIDE:
		break;
	}
	return "outside";
}

bool
policy_is_tag_header(const char *name)
{
	size_t len = strlen(TAG_HEADER), n;

	if (name == NULL || strncasecmp(name, TAG_HEADER, len) != 0)
		return false;
	/* "X-Recall-ID " (obsolete blanks before the colon) is one too. */
	n = strspn(name + len, " \t");
	return name[len + n] == '\0';
}

void
policy_plan_tags(bool inside, const struct tag_keys *keys,
    char *const *values, size_t n, bool *remove, enum tag_status *status,
    struct policy_tag_plan *plan)
{
	char id[TAG_ID_HEX + 1];
	enum tag_status st;
	size_t i;

	memset(plan, 0, sizeof(*plan));
	plan->action = inside ? POLICY_TAG_NEW : POLICY_TAG_NONE;
	for (i = 0; i < n; i++) {
		st = tag_verify(keys, values[i] != NULL ? values[i] : "", id,
		    NULL);
		if (status != NULL)
			status[i] = st;
		if (st != TAG_VALID)
			plan->n_invalid++;
		if (inside && st == TAG_VALID
		    && plan->action != POLICY_TAG_REENTRY) {
			plan->action = POLICY_TAG_REENTRY;
			plan->keep = i;
			memcpy(plan->reentry_id, id, sizeof(plan->reentry_id));
			remove[i] = false;
			continue;
		}
		remove[i] = true;
		plan->n_removed++;
	}
}

bool
policy_is_recall_rcpt(const struct recall_cfg *cfg, const char *rcpt)
{
	char *a, *want;
	bool same;

	if (cfg == NULL || cfg->milter.recall_address == NULL || rcpt == NULL)
		return false;
	if ((a = addr_normalise(rcpt, NULL)) == NULL)
		return false;
	want = addr_normalise(cfg->milter.recall_address, NULL);
	same = want != NULL && a[0] != '\0' && strcasecmp(a, want) == 0;
	free(a);
	free(want);
	return same;
}
