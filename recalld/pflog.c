/*
 * pflog - the Postfix log line parser.  See pflog.h.
 *
 * The line is cut in place: each field's end gets a NUL, so the parser
 * never allocates.  Every step checks the bytes left before it looks, and
 * the line is NUL-terminated at len before the first step, so strchr()
 * and friends cannot run past it.
 */
#include <string.h>

#include "pflog.h"

static const char *const kind_names[PFLOG_KIND_COUNT] = {
	[PFLOG_OTHER] = "other",
	[PFLOG_CLIENT] = "client",
	[PFLOG_MESSAGE_ID] = "message-id",
	[PFLOG_QUEUED] = "queued",
	[PFLOG_HELD] = "held",
	[PFLOG_RELEASED] = "released",
	[PFLOG_REMOVED] = "removed",
	[PFLOG_DELIVERED] = "delivered",
	[PFLOG_RELAYED] = "relayed",
	[PFLOG_FORWARDED] = "forwarded",
	[PFLOG_DEFERRED] = "deferred",
	[PFLOG_BOUNCED] = "bounced",
};

const char *
pflog_kind_name(enum pflog_kind kind)
{
	if ((unsigned)kind >= PFLOG_KIND_COUNT)
		return "other";
	return kind_names[kind];
}

bool
pflog_local_service(const char *service)
{
	return strcmp(service, "local") == 0 || strcmp(service, "virtual") == 0
	    || strcmp(service, "lmtp") == 0 || strcmp(service, "discard") == 0;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
	    || (c >= 'a' && c <= 'z');
}

/*
 * The length of the queue id at s, or 0.  Short ids are upper-case hex;
 * long ids (enable_long_queue_ids) use letters and digits without vowels,
 * so words such as "warning" or "statistics" never pass for one.
 */
static size_t
qid_len(const char *s)
{
	size_t n, hex = 0;
	bool vowel = false;

	for (n = 0; is_alnum(s[n]) && n <= 32; n++) {
		if ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'F'))
			hex++;
		if (strchr("AEIOUaeiou", s[n]) != NULL)
			vowel = true;
	}
	if (n > 32 || s[n] != ':' || s[n + 1] != ' ')
		return 0;
	if (n >= 6 && hex == n)
		return n;
	if (n >= 12 && !vowel)
		return n;
	return 0;
}

/* "<addr>" at *p, up to ">, " or ">" at the end: the address, cut. */
static const char *
take_bracketed(char **p)
{
	char *s = *p + 1, *e;

	for (e = s; (e = strchr(e, '>')) != NULL; e++)
		if (e[1] == '\0' || (e[1] == ',' && e[2] == ' '))
			break;
	if (e == NULL)
		return NULL;
	*e = '\0';
	*p = e[1] == '\0' ? e + 1 : e + 3;
	return s;
}

/* A plain value up to ", " or the end, cut. */
static const char *
take_plain(char **p)
{
	char *s = *p, *e = strstr(s, ", ");

	if (e == NULL) {
		*p = s + strlen(s);
	} else {
		*e = '\0';
		*p = e + 2;
	}
	return s;
}

/* "250 2.0.0 <bob@example.test> AMexGBbzCWtZVgAAg+zDdQ:R2 Saved". */
static void
lmtp_session(struct pflog_line *out)
{
	const char *d = out->detail, *s, *e;

	if (!starts(d, "250 ") || (s = strstr(d, "> ")) == NULL)
		return;
	s += 2;
	if ((e = strchr(s, ' ')) == NULL || strcmp(e, " Saved") != 0)
		return;
	if (e - s == 0 || e - s > PFLOG_SESSION_MAX)
		return;
	memcpy(out->lmtp_session, s, (size_t)(e - s));
	out->lmtp_session[e - s] = '\0';
}

/* QID: to=<a>, [orig_to=<b>,] relay=R, ..., dsn=X, status=S (detail) */
static int
parse_delivery(char *p, struct pflog_line *out, const char **error_r)
{
	while (*p != '\0') {
		char *key = p, *eq = strchr(p, '=');
		const char *val;

		if (eq == NULL)
			break;
		*eq = '\0';
		p = eq + 1;
		if (strcmp(key, "status") == 0) {
			char *paren = strstr(p, " (");
			size_t n;

			out->status = p;
			if (paren != NULL) {
				*paren = '\0';
				out->detail = paren + 2;
				n = strlen(out->detail);
				if (n > 0 && out->detail[n - 1] == ')')
					((char *)out->detail)[n - 1] = '\0';
			}
			break;
		}
		if (*p == '<') {
			if ((val = take_bracketed(&p)) == NULL) {
				*error_r = "unterminated <address>";
				return -1;
			}
		} else {
			val = take_plain(&p);
		}
		if (strcmp(key, "to") == 0)
			out->to = val;
		else if (strcmp(key, "orig_to") == 0)
			out->orig_to = val;
		else if (strcmp(key, "relay") == 0)
			out->relay = val;
		else if (strcmp(key, "dsn") == 0)
			out->dsn = val;
	}
	if (*out->to == '\0' || *out->status == '\0') {
		*error_r = "delivery line without to= or status=";
		return -1;
	}
	if (strcmp(out->status, "sent") == 0) {
		if (starts(out->detail, "forwarded as ")) {
			const char *c = out->detail + 13;
			size_t n;

			for (n = 0; is_alnum(c[n]); n++)
				;
			if (n == 0 || c[n] != '\0') {
				*error_r = "forwarded as without a queue id";
				return -1;
			}
			out->kind = PFLOG_FORWARDED;
			out->child_qid = c;
		} else if (pflog_local_service(out->service)
		    || (strcmp(out->service, "pipe") == 0
		    && strstr(out->relay, "dovecot") != NULL)) {
			out->kind = PFLOG_DELIVERED;
			if (strcmp(out->service, "lmtp") == 0)
				lmtp_session(out);
		} else {
			out->kind = PFLOG_RELAYED;
		}
	} else if (strcmp(out->status, "deferred") == 0) {
		out->kind = PFLOG_DEFERRED;
	} else if (strcmp(out->status, "bounced") == 0
	    || strcmp(out->status, "expired") == 0) {
		out->kind = PFLOG_BOUNCED;
	} else {
		out->kind = PFLOG_OTHER;	/* verify probes: deliverable */
	}
	return 0;
}

/* The text after "QID: ", by service. */
static int
parse_body(char *p, struct pflog_line *out, const char **error_r)
{
	const char *svc = out->service;

	if (starts(p, "to=<"))
		return parse_delivery(p, out, error_r);
	if (strcmp(svc, "cleanup") == 0) {
		if (starts(p, "message-id=")) {
			p += 11;
			if (*p == '<' && p[strlen(p) - 1] == '>') {
				p[strlen(p) - 1] = '\0';
				p++;
			}
			out->message_id = p;
			out->kind = PFLOG_MESSAGE_ID;
		} else if (starts(p, "milter-hold: ") || starts(p, "hold: ")) {
			out->detail = strchr(p, ' ') + 1;
			out->kind = PFLOG_HELD;
		}
	} else if (strcmp(svc, "postsuper") == 0) {
		if (strcmp(p, "placed on hold") == 0) {
			out->detail = p;
			out->kind = PFLOG_HELD;
		} else if (strcmp(p, "released from hold") == 0) {
			out->kind = PFLOG_RELEASED;
		} else if (strcmp(p, "removed") == 0) {
			out->detail = "deleted by postsuper";
			out->kind = PFLOG_REMOVED;
		}
	} else if (strcmp(svc, "qmgr") == 0) {
		if (strcmp(p, "removed") == 0) {
			out->kind = PFLOG_REMOVED;
		} else if (starts(p, "from=<")) {
			char *q = p + 5;
			const char *from = take_bracketed(&q);

			if (from == NULL) {
				*error_r = "unterminated from=<";
				return -1;
			}
			out->from = from;
			if (starts(q, "status=expired")) {
				out->status = "expired";
				out->detail = q + 15;
				out->kind = PFLOG_BOUNCED;
			} else {
				out->kind = PFLOG_QUEUED;
			}
		}
	} else if (strcmp(svc, "smtpd") == 0 && starts(p, "client=")) {
		out->detail = p + 7;
		out->kind = PFLOG_CLIENT;
	}
	return 0;
}

int
pflog_parse(struct logtime_ctx *tctx, char *line, size_t len,
    struct pflog_line *out, const char **error_r)
{
	char *p, *e, *tag, *slash, *br;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->host = out->service = out->qid = out->to = out->orig_to = "";
	out->relay = out->dsn = out->status = out->detail = "";
	out->child_qid = out->message_id = out->from = "";
	if ((p = logtime_line_start(tctx, line, &len, &out->time, error_r))
	    == NULL)
		return -1;
	/* host */
	if ((e = strchr(p, ' ')) == NULL || e == p) {
		*error_r = "no host name";
		return -1;
	}
	*e = '\0';
	out->host = p;
	/* tag: NAME/SERVICE[PID]: or NAME/SERVICE: */
	tag = e + 1;
	if ((e = strstr(tag, ": ")) == NULL || e == tag) {
		*error_r = "no program name";
		return -1;
	}
	*e = '\0';
	p = e + 2;
	if ((br = strchr(tag, '[')) != NULL) {
		char *d;

		for (d = br + 1; *d >= '0' && *d <= '9'; d++)
			;
		if (d == br + 1 || d[0] != ']' || d[1] != '\0') {
			*error_r = "malformed [pid]";
			return -1;
		}
		*br = '\0';
	}
	if (strchr(tag, ' ') != NULL) {
		*error_r = "blank in program name";
		return -1;
	}
	if ((slash = strrchr(tag, '/')) == NULL) {
		/* Another program in a shared syslog file. */
		out->service = tag;
		out->kind = PFLOG_OTHER;
		return 0;
	}
	out->service = slash + 1;
	if ((n = qid_len(p)) == 0) {
		out->kind = PFLOG_OTHER;	/* warning:, connect from, ... */
		return 0;
	}
	p[n] = '\0';
	out->qid = p;
	return parse_body(p + n + 2, out, error_r);
}
