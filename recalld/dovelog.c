/*
 * dovelog - the Dovecot log line parser and access classification.
 * See dovelog.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dovelog.h"
#include "xalloc.h"

static const char *const mail_event_names[] = {
	[DOVELOG_SAVE] = "save",
	[DOVELOG_COPY] = "copy",
	[DOVELOG_EXPUNGE] = "expunge",
	[DOVELOG_DELETE] = "delete",
	[DOVELOG_UNDELETE] = "undelete",
	[DOVELOG_FLAG_CHANGE] = "flag_change",
};

const char *
dovelog_mail_event_name(enum dovelog_mail_event e)
{
	if ((unsigned)e > DOVELOG_FLAG_CHANGE)
		return "other";
	return mail_event_names[e];
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
dovelog_line_clear(struct dovelog_line *out)
{
	json_t *j = out->json_;

	if (j != NULL)
		json_decref(j);
	memset(out, 0, sizeof(*out));
	out->service = out->user = out->session = out->remote_ip = "";
	out->local_ip = out->auth_user = out->from_box = out->mailbox = "";
	out->msgid = out->flags = out->event_name = out->real_remote_ip = "";
	out->reason_code = "";
	out->local_port = -1;
}

/* ---- mail_log lines --------------------------------------------------- */

static const char *const mail_fields[] = {
	"box", "uid", "msgid", "size", "vsize", "from", "subject", "flags",
	NULL,
};

/* Is s "KEY=" for a known mail_log field? */
static bool
field_start(const char *s)
{
	size_t i, n;

	for (i = 0; mail_fields[i] != NULL; i++) {
		n = strlen(mail_fields[i]);
		if (strncmp(s, mail_fields[i], n) == 0 && s[n] == '=')
			return true;
	}
	return false;
}

/* The end of the value starting at s: the next ", KEY=" or the end. */
static char *
value_end(char *s)
{
	char *e;

	for (e = s; (e = strstr(e, ", ")) != NULL; e += 2)
		if (field_start(e + 2))
			return e;
	return s + strlen(s);
}

static int
parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/*
 * "box=INBOX, uid=1, msgid=<..>, size=1, vsize=1, from=.., subject=..,
 * flags=(\Seen)".  from and subject may hold anything, so flags (always
 * the last field) is taken from the end and the scan stops at from=.
 */
static int
parse_mail_fields(char *p, struct dovelog_line *out, const char **error_r)
{
	size_t n = strlen(p);
	char *fl;

	if (n > 0 && p[n - 1] == ')') {
		if (starts(p, "flags=("))
			fl = p;
		else if ((fl = strstr(p, ", flags=(")) != NULL) {
			char *more;

			/* The last one: subject may contain the text. */
			while ((more = strstr(fl + 2, ", flags=(")) != NULL)
				fl = more;
			*fl = '\0';
			fl += 2;
		}
		if (fl != NULL) {
			p[n - 1] = '\0';
			out->flags = fl + 7;
			out->seen = strstr(out->flags, "\\Seen") != NULL;
			if (fl == p)
				return 0;
		}
	}
	while (*p != '\0') {
		char *eq = strchr(p, '='), *e;
		const char *key = p;

		if (eq == NULL)
			break;
		*eq = '\0';
		if (strcmp(key, "from") == 0 || strcmp(key, "subject") == 0)
			break;
		e = value_end(eq + 1);
		p = *e != '\0' ? e + 2 : e;
		*e = '\0';
		if (strcmp(key, "box") == 0) {
			out->mailbox = eq + 1;
		} else if (strcmp(key, "uid") == 0) {
			if (parse_ulong(eq + 1, &out->uid) < 0) {
				*error_r = "mail_log: bad uid";
				return -1;
			}
		} else if (strcmp(key, "msgid") == 0) {
			out->msgid = eq + 1;
		}
	}
	return 0;
}

/* "EVENT: fields" after the prefix; *p is the text after "Info: ". */
static int
parse_mail_body(char *p, struct dovelog_line *out, const char **error_r)
{
	static const struct {
		const char *word;
		enum dovelog_mail_event ev;
	} events[] = {
		{ "save: ", DOVELOG_SAVE }, { "append: ", DOVELOG_SAVE },
		{ "expunge: ", DOVELOG_EXPUNGE }, { "delete: ", DOVELOG_DELETE },
		{ "undelete: ", DOVELOG_UNDELETE },
		{ "flag_change: ", DOVELOG_FLAG_CHANGE },
	};
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		if (starts(p, events[i].word)) {
			out->kind = DOVELOG_MAIL;
			out->event = events[i].ev;
			return parse_mail_fields(p + strlen(events[i].word), out,
			    error_r);
		}
	}
	if (starts(p, "copy from ")) {
		char *box = p + 10, *e;

		/* The source box ends at the ": " before the first field. */
		for (e = box; (e = strstr(e, ": ")) != NULL; e += 2)
			if (field_start(e + 2))
				break;
		if (e == NULL) {
			*error_r = "mail_log: copy without fields";
			return -1;
		}
		*e = '\0';
		out->kind = DOVELOG_MAIL;
		out->event = DOVELOG_COPY;
		out->from_box = box;
		return parse_mail_fields(e + 2, out, error_r);
	}
	return 0;	/* "Disconnected", "Mailbox created", ... */
}

/*
 * "SERVICE(USER)<PID><SESSION><rip=..><lip=..><auth=..>: " or without
 * the groups.  Returns the text after ": ", or NULL if p is no prefix.
 */
static char *
parse_prefix(char *p, struct dovelog_line *out)
{
	char *paren = strchr(p, '('), *e, *colon = strstr(p, ": ");
	int pos = 0;

	if (colon == NULL)
		return NULL;
	if (paren == NULL || paren > colon) {
		*colon = '\0';		/* "stats: ", "imap-login: " */
		out->service = p;
		return colon + 2;
	}
	*paren = '\0';
	out->service = p;
	if ((e = strchr(paren + 1, ')')) == NULL)
		return NULL;
	*e = '\0';
	out->user = paren + 1;
	p = e + 1;
	while (*p == '<') {
		char *g = p + 1;

		if ((e = strchr(g, '>')) == NULL)
			return NULL;
		*e = '\0';
		p = e + 1;
		if (starts(g, "rip="))
			out->remote_ip = g + 4;
		else if (starts(g, "lip="))
			out->local_ip = g + 4;
		else if (starts(g, "auth="))
			out->auth_user = g + 5;
		else if (pos++ == 1)
			out->session = g;	/* 0: pid, 1: session */
	}
	if (p[0] != ':' || p[1] != ' ')
		return NULL;
	return p + 2;
}

/* ---- event exporter lines --------------------------------------------- */

static const char *
jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "";
}

static int
parse_event(struct logtime_ctx *tctx, char *p, size_t len,
    struct dovelog_line *out, const char **error_r)
{
	json_t *j, *fields, *v;
	json_error_t jerr;
	const char *name, *st;
	size_t i;

	/*
	 * Most events are of no interest, and so is every mail_opened
	 * without a body reason code (LMTP delivery, header fetches): skip
	 * them before paying for the JSON parser.  The exporter writes
	 * "event" first.
	 */
	if (starts(p, "{\"event\":\"")) {
		const char *n = p + 10;

		if (!starts(n, "mail_opened\"") && !starts(n, "mail_expunged\"")
		    && !starts(n, "auth_client_request_finished\""))
			return 0;
		if (starts(n, "mail_opened\"")
		    && memmem(p, len, "imap:fetch_body", 15) == NULL
		    && memmem(p, len, "pop3:cmd_retr", 13) == NULL
		    && memmem(p, len, "pop3:cmd_top", 12) == NULL)
			return 0;
	}
	j = json_loadb(p, len, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		if (j != NULL)
			json_decref(j);
		*error_r = "event: not a JSON object";
		return -1;
	}
	out->json_ = j;
	name = jstr(j, "event");
	out->event_name = name;
	if (strcmp(name, "mail_opened") == 0)
		out->kind = DOVELOG_OPENED;
	else if (strcmp(name, "auth_client_request_finished") == 0)
		out->kind = DOVELOG_AUTH;
	else if (strcmp(name, "mail_expunged") == 0)
		out->kind = DOVELOG_EXPUNGED;
	else
		return 0;
	fields = json_object_get(j, "fields");
	if (!json_is_object(fields)) {
		out->kind = DOVELOG_OTHER;
		*error_r = "event: no fields";
		return -1;
	}
	st = jstr(j, "start_time");
	if (*st != '\0')
		(void)logtime_parse(tctx, st, strlen(st), &out->time);
	out->service = "";
	json_array_foreach(json_object_get(j, "categories"), i, v) {
		const char *c = json_string_value(v);

		if (c == NULL || !starts(c, "service:"))
			continue;
		if (strcmp(c, "service:doveadm") == 0)
			out->doveadm = true;
		if (*out->service == '\0')
			out->service = c + 8;
	}
	out->user = jstr(fields, "user");
	out->session = jstr(fields, "session");
	out->remote_ip = jstr(fields, "remote_ip");
	out->local_ip = jstr(fields, "local_ip");
	out->real_remote_ip = jstr(fields, "real_remote_ip");
	out->mailbox = jstr(fields, "mailbox");
	out->auth_user = jstr(fields, "auth_user");
	if ((v = json_object_get(fields, "local_port")) != NULL
	    && json_is_integer(v))
		out->local_port = (long)json_integer_value(v);
	if ((v = json_object_get(fields, "uid")) != NULL && json_is_integer(v)
	    && json_integer_value(v) >= 0)
		out->uid = (unsigned long)json_integer_value(v);
	if (out->kind == DOVELOG_AUTH) {
		const char *svc = jstr(fields, "service");

		if (*svc != '\0')
			out->service = svc;
	}
	json_array_foreach(json_object_get(fields, "reason_code"), i, v) {
		const char *c = json_string_value(v);
		unsigned bit = 0;

		if (c == NULL)
			continue;
		if (strcmp(c, "imap:fetch_body") == 0)
			bit = DOVELOG_R_FETCH_BODY;
		else if (strcmp(c, "pop3:cmd_retr") == 0)
			bit = DOVELOG_R_POP3_RETR;
		else if (strcmp(c, "pop3:cmd_top") == 0)
			bit = DOVELOG_R_POP3_TOP;
		if (bit != 0 && out->reasons == 0)
			out->reason_code = c;
		else if (*out->reason_code == '\0')
			out->reason_code = c;
		out->reasons |= bit;
	}
	return 0;
}

int
dovelog_parse(struct logtime_ctx *tctx, char *line, size_t len,
    struct dovelog_line *out, const char **error_r)
{
	char *p, *sp, *body;

	dovelog_line_clear(out);
	if ((p = logtime_line_start(tctx, line, &len, &out->time, error_r))
	    == NULL)
		return -1;
	/* Through syslog: "HOST dovecot: " or "HOST dovecot[PID]: ". */
	if ((sp = strchr(p, ' ')) != NULL && starts(sp + 1, "dovecot")) {
		char *t = sp + 8;

		if (*t == '[') {
			for (t++; *t >= '0' && *t <= '9'; t++)
				;
			if (*t == ']')
				t++;
		}
		if (t[0] == ':' && t[1] == ' ')
			p = t + 2;
	}
	if ((body = parse_prefix(p, out)) == NULL) {
		*error_r = "no Dovecot log prefix";
		return -1;
	}
	if (starts(body, "Info: "))
		body += 6;
	if (strcmp(out->service, "stats") == 0 && body[0] == '{')
		return parse_event(tctx, body, len - (size_t)(body - line), out,
		    error_r);
	if (*out->session == '\0' && *out->user == '\0')
		return 0;
	return parse_mail_body(body, out, error_r);
}

/* ---- classification --------------------------------------------------- */

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int
dovelog_policy_init(struct dovelog_policy *pol, const struct recall_cfg *cfg,
    char **error_r)
{
	struct strlist hosts = { NULL, 0 };
	size_t i;
	int rc = -1;

	memset(pol, 0, sizeof(*pol));
	if (cidr_list_parse(&cfg->events.inside_hosts, &pol->inside_hosts,
	    error_r) < 0)
		return -1;
	pol->n_inside_ports = cfg->events.n_inside_ports;
	pol->inside_ports = xcalloc(pol->n_inside_ports + 1, sizeof(long));
	for (i = 0; i < pol->n_inside_ports; i++)
		pol->inside_ports[i] = cfg->events.inside_ports[i];
	pol->gateway_ports = xcalloc(cfg->events.sync_gateways.n + 1,
	    sizeof(long));
	for (i = 0; i < cfg->events.sync_gateways.n; i++) {
		const char *g = cfg->events.sync_gateways.v[i];

		if (all_digits(g) && strlen(g) <= 5)
			pol->gateway_ports[pol->n_gateway_ports++] = atol(g);
		else
			strlist_add(&hosts, g);
	}
	if (cidr_list_parse(&hosts, &pol->gateway_hosts, error_r) == 0)
		rc = 0;
	strlist_free(&hosts);
	if (rc < 0)
		dovelog_policy_free(pol);
	return rc;
}

void
dovelog_policy_free(struct dovelog_policy *pol)
{
	cidr_list_free(&pol->inside_hosts);
	cidr_list_free(&pol->gateway_hosts);
	xfree(&pol->inside_ports);
	xfree(&pol->gateway_ports);
	strlist_free(&pol->ignore_auth);
	memset(pol, 0, sizeof(*pol));
}

static bool
port_in(long port, const long *v, size_t n)
{
	size_t i;

	if (port < 0)
		return false;
	for (i = 0; i < n; i++)
		if (v[i] == port)
			return true;
	return false;
}

enum dovelog_access
dovelog_classify(const struct dovelog_policy *pol,
    const struct dovelog_access_facts *f)
{
	const char *ip = f->remote_ip != NULL ? f->remote_ip : "";
	const char *au = f->auth_user != NULL ? f->auth_user : "";
	const char *svc = f->service != NULL ? f->service : "";

	if ((f->reasons & DOVELOG_R_BODY) == 0 || f->doveadm
	    || strcmp(svc, "doveadm") == 0)
		return DOVELOG_ACCESS_NONE;
	if (*au != '\0' && (f->user == NULL || strcmp(au, f->user) != 0)
	    && strlist_contains(&pol->ignore_auth, au))
		return DOVELOG_ACCESS_NONE;
	if (port_in(f->local_port, pol->gateway_ports, pol->n_gateway_ports)
	    || (*ip != '\0' && cidr_list_match(&pol->gateway_hosts, ip)))
		return DOVELOG_ACCESS_MOBILE;
	if (port_in(f->local_port, pol->inside_ports, pol->n_inside_ports)
	    || (*ip != '\0' && cidr_list_match(&pol->inside_hosts, ip)))
		return DOVELOG_ACCESS_INSIDE;
	if (strcmp(svc, "pop3") == 0
	    || (f->reasons & (DOVELOG_R_POP3_RETR | DOVELOG_R_POP3_TOP)) != 0)
		return DOVELOG_ACCESS_POP3;
	return DOVELOG_ACCESS_IMAP;
}

static const char *const access_events[] = {
	[DOVELOG_ACCESS_NONE] = "opened",
	[DOVELOG_ACCESS_INSIDE] = "read-inside",
	[DOVELOG_ACCESS_MOBILE] = "synced-mobile",
	[DOVELOG_ACCESS_POP3] = "downloaded-pop3",
	[DOVELOG_ACCESS_IMAP] = "downloaded-imap",
};

const char *
dovelog_access_event(enum dovelog_access a)
{
	if ((unsigned)a > DOVELOG_ACCESS_IMAP)
		return "opened";
	return access_events[a];
}

enum dovelog_access
dovelog_access_from_event(const char *event)
{
	unsigned i;

	for (i = DOVELOG_ACCESS_INSIDE; i <= DOVELOG_ACCESS_IMAP; i++)
		if (strcmp(access_events[i], event) == 0)
			return (enum dovelog_access)i;
	return DOVELOG_ACCESS_NONE;
}

/* ---- sessions --------------------------------------------------------- */

struct dovelog_sessions {
	size_t slots;
	struct dovelog_session v[];
};

static size_t
session_hash(const char *s, size_t slots)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % slots);
}

struct dovelog_sessions *
dovelog_sessions_new(size_t slots)
{
	struct dovelog_sessions *s;

	if (slots == 0)
		slots = 1;
	s = xcalloc(1, sizeof(*s) + slots * sizeof(s->v[0]));
	s->slots = slots;
	return s;
}

void
dovelog_sessions_free(struct dovelog_sessions **s)
{
	xfree(s);
}

static void
copy_field(char *dst, size_t size, const char *src)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool
dovelog_session_set(struct dovelog_session *e, const char *session,
    const char *service, const char *remote_ip, const char *real_remote_ip,
    const char *auth_user, long local_port)
{
	memset(e, 0, sizeof(*e));
	e->local_port = -1;
	if (session == NULL || *session == '\0'
	    || strlen(session) > DOVELOG_SESSION_MAX)
		return false;
	copy_field(e->session, sizeof(e->session), session);
	copy_field(e->service, sizeof(e->service), service);
	copy_field(e->remote_ip, sizeof(e->remote_ip), remote_ip);
	copy_field(e->real_remote_ip, sizeof(e->real_remote_ip),
	    real_remote_ip);
	copy_field(e->auth_user, sizeof(e->auth_user), auth_user);
	e->local_port = local_port;
	return true;
}

bool
dovelog_session_from_line(struct dovelog_session *e,
    const struct dovelog_line *a)
{
	if (a->kind != DOVELOG_AUTH) {
		memset(e, 0, sizeof(*e));
		e->local_port = -1;
		return false;
	}
	return dovelog_session_set(e, a->session, a->service, a->remote_ip,
	    a->real_remote_ip, a->auth_user, a->local_port);
}

void
dovelog_sessions_put(struct dovelog_sessions *s,
    const struct dovelog_session *e)
{
	if (e->session[0] == '\0')
		return;
	s->v[session_hash(e->session, s->slots)] = *e;
}

void
dovelog_sessions_add(struct dovelog_sessions *s,
    const struct dovelog_line *a)
{
	struct dovelog_session e;

	if (dovelog_session_from_line(&e, a))
		dovelog_sessions_put(s, &e);
}

const struct dovelog_session *
dovelog_sessions_find(const struct dovelog_sessions *s, const char *session)
{
	const struct dovelog_session *e;

	if (*session == '\0')
		return NULL;
	e = &s->v[session_hash(session, s->slots)];
	return strcmp(e->session, session) == 0 ? e : NULL;
}

void
dovelog_facts(const struct dovelog_line *o, const struct dovelog_session *sess,
    struct dovelog_access_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->service = o->service;
	f->remote_ip = o->remote_ip;
	f->local_port = o->local_port;
	f->reasons = o->reasons;
	f->doveadm = o->doveadm;
	f->user = o->user;
	f->auth_user = o->auth_user;
	if (sess == NULL)
		return;
	/* The login side knows the real peer, even behind x-originating-ip. */
	if (sess->real_remote_ip[0] != '\0')
		f->remote_ip = sess->real_remote_ip;
	else if (*f->remote_ip == '\0')
		f->remote_ip = sess->remote_ip;
	if (sess->local_port >= 0 && sess->local_port != 0)
		f->local_port = sess->local_port;
	if (*f->service == '\0')
		f->service = sess->service;
	if (sess->auth_user[0] != '\0' && (f->auth_user == NULL
	    || *f->auth_user == '\0'))
		f->auth_user = sess->auth_user;
}
