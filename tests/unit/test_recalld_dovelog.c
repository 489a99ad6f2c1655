/*
 * test_recalld_dovelog - the Dovecot log parser (mail_log lines and
 * event_exporter JSON), the classification of body accesses and the
 * session cache: FACTS-dovecot.md samples and lab captures, whole and one
 * byte at a time through the follower.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dovelog.h"
#include "follow.h"
#include "test.h"
#include "xalloc.h"

#define NOW 1795867200	/* 2026-11-28 12:00:00 UTC */

struct want {
	const char *name;
	const char *line;
	int rc;
	enum dovelog_kind kind;
	int event;		/* enum dovelog_mail_event for DOVELOG_MAIL */
	const char *service, *user, *session, *rip, *auth, *box, *msgid;
	unsigned long uid;
	int seen;
	unsigned reasons;
	long port;
	int doveadm;
	const char *time;
};

#define NA 0
static const struct want cases[] = {
	{ "imap flag_change seen", "Nov 27 18:48:05 imap(carol)<26960>"
	    "<DYwnfUZhmMF/AAAB><rip=127.0.0.1><lip=127.0.0.1><auth=carol>: Info: "
	    "flag_change: box=INBOX, uid=1, msgid=<R163146@lab.example>, size=197,"
	    " vsize=197, from=Sender <sender@lab.example>, subject=test R163146, "
	    "flags=(\\Seen \\Recent)", 0, DOVELOG_MAIL, DOVELOG_FLAG_CHANGE,
	    "imap", "carol", "DYwnfUZhmMF/AAAB", "127.0.0.1", "carol", "INBOX",
	    "<R163146@lab.example>", 1, 1, 0, -1, 0,
	    "2026-11-27T18:48:05.000000Z" },
	{ "pop3 flag_change", "Nov 27 18:48:05 pop3(carol)<3265><QSlFgUZh4sZ/AAAB>"
	    "<rip=127.0.0.1><lip=127.0.0.1><auth=carol>: Info: flag_change: "
	    "box=INBOX, uid=1, msgid=<R042656@lab.example>, size=197, vsize=197, "
	    "from=Sender <sender@lab.example>, subject=test R042656, "
	    "flags=(\\Seen \\Recent)", 0, DOVELOG_MAIL, DOVELOG_FLAG_CHANGE,
	    "pop3", "carol", "QSlFgUZh4sZ/AAAB", "127.0.0.1", "carol", "INBOX",
	    "<R042656@lab.example>", 1, 1, 0, -1, 0, NULL },
	{ "flag_change not seen", "Nov 27 18:48:05 imap(alice)<2618>"
	    "<FA0igUZhH+J/AAAC><rip=127.0.0.2><lip=127.0.0.1><auth=alice>: Info: "
	    "flag_change: box=INBOX, uid=1, msgid=<R940307@lab.example>, size=1, "
	    "vsize=1, from=a, subject=b, flags=(\\Answered \\Recent $Forwarded)",
	    0, DOVELOG_MAIL, DOVELOG_FLAG_CHANGE, "imap", "alice",
	    "FA0igUZhH+J/AAAC", "127.0.0.2", "alice", "INBOX",
	    "<R940307@lab.example>", 1, 0, 0, -1, 0, NULL },
	{ "copy from", "Nov 27 18:48:05 imap(alice)<2618><FA0igUZhH+J/AAAC>"
	    "<rip=127.0.0.2><lip=127.0.0.1><auth=alice>: Info: copy from INBOX: "
	    "box=Archive, uid=2, msgid=<R940307@lab.example>, size=1, vsize=1, "
	    "from=a, subject=b, flags=(\\Answered $Forwarded)", 0, DOVELOG_MAIL,
	    DOVELOG_COPY, "imap", "alice", "FA0igUZhH+J/AAAC", "127.0.0.2",
	    "alice", "Archive", "<R940307@lab.example>", 2, 0, 0, -1, 0, NULL },
	{ "master user expunge", "Nov 27 18:48:05 imap(carol)<27477>"
	    "<B1K3fUZhxsF/AAAB><rip=127.0.0.1><lip=127.0.0.1><auth=recall>: Info:"
	    " expunge: box=INBOX, uid=1, msgid=<R929177@lab.example>, size=1, "
	    "vsize=1, from=a, subject=b, flags=(\\Deleted \\Recent)", 0,
	    DOVELOG_MAIL, DOVELOG_EXPUNGE, "imap", "carol", "B1K3fUZhxsF/AAAB",
	    "127.0.0.1", "recall", "INBOX", "<R929177@lab.example>", 1, 0, 0,
	    -1, 0, NULL },
	{ "delete", "Nov 27 18:48:05 imap(carol)<27477><B1K3fUZhxsF/AAAB>"
	    "<rip=127.0.0.1><lip=127.0.0.1><auth=recall>: Info: delete: box=INBOX,"
	    " uid=1, msgid=<R929177@lab.example>, size=1, vsize=1, from=a, "
	    "subject=b, flags=(\\Deleted \\Recent)", 0, DOVELOG_MAIL,
	    DOVELOG_DELETE, "imap", "carol", "B1K3fUZhxsF/AAAB", "127.0.0.1",
	    "recall", "INBOX", "<R929177@lab.example>", 1, 0, 0, -1, 0, NULL },
	{ "lda save, empty rip", "Nov 27 18:48:05 lda(bob)<2589>"
	    "<bIGNFHXQCWsdCgAAg+zDdQ><rip=><lip=><auth=bob>: Info: save: box=INBOX,"
	    " uid=1, msgid=<R387930@lab.example>, size=123, vsize=130, "
	    "from=x@lab.example, subject=lda R387930, flags=()", 0, DOVELOG_MAIL,
	    DOVELOG_SAVE, "lda", "bob", "bIGNFHXQCWsdCgAAg+zDdQ", "", "bob",
	    "INBOX", "<R387930@lab.example>", 1, 0, 0, -1, 0, NULL },
	{ "lab lmtp save second rcpt", "Nov 27 21:16:06 lmtp(carol)<22105>"
	    "<CBc7HhbzCWtZVgAAg+zDdQ:R2><rip=><lip=><auth=carol>: Info: save: "
	    "box=INBOX, uid=2, msgid=<20261127211606.022622@vm>, size=622, "
	    "vsize=641, from=sender@example.test, subject=test team@example.test,"
	    " flags=()", 0, DOVELOG_MAIL, DOVELOG_SAVE, "lmtp", "carol",
	    "CBc7HhbzCWtZVgAAg+zDdQ:R2", "", "carol", "INBOX",
	    "<20261127211606.022622@vm>", 2, 0, 0, -1, 0, NULL },
	{ "subject with a fake flags field", "Nov 27 21:16:06 lmtp(bob)<1><S1>"
	    "<rip=><lip=><auth=bob>: Info: save: box=INBOX, uid=7, msgid=<m@x>, "
	    "size=1, vsize=1, from=a, subject=x, flags=(\\Seen), uid=9, "
	    "flags=()", 0, DOVELOG_MAIL, DOVELOG_SAVE, "lmtp", "bob", "S1", "",
	    "bob", "INBOX", "<m@x>", 7, 0, 0, -1, 0, NULL },
	{ "doveadm http expunge", "Nov 27 21:16:36 doveadm(bob)<25174>"
	    "<eB5uDzTzCWtWYgAAg+zDdQ><rip=127.0.0.1><lip=127.0.0.1><auth=bob>: "
	    "Info: expunge: box=INBOX, uid=2, msgid=<20261127211606.022622@vm>, "
	    "size=622, vsize=641, from=sender@example.test, subject=test, "
	    "flags=()", 0, DOVELOG_MAIL, DOVELOG_EXPUNGE, "doveadm", "bob",
	    "eB5uDzTzCWtWYgAAg+zDdQ", "127.0.0.1", "bob", "INBOX",
	    "<20261127211606.022622@vm>", 2, 0, 0, -1, 0, NULL },
	{ "default prefix", "Nov 27 21:16:36 imap(bob)<25174><SESS>: Info: "
	    "expunge: box=INBOX, uid=3, msgid=<a@b>", 0, DOVELOG_MAIL,
	    DOVELOG_EXPUNGE, "imap", "bob", "SESS", "", "", "INBOX", "<a@b>", 3,
	    0, 0, -1, 0, NULL },
	{ "syslog format", "Nov 27 21:16:36 host dovecot: imap(bob)<25174><SESS>"
	    "<rip=10.0.0.1><lip=10.0.0.2><auth=bob>: flag_change: box=INBOX, "
	    "uid=3, msgid=<a@b>, flags=(\\Seen)", 0, DOVELOG_MAIL,
	    DOVELOG_FLAG_CHANGE, "imap", "bob", "SESS", "10.0.0.1", "bob",
	    "INBOX", "<a@b>", 3, 1, 0, -1, 0, NULL },
	{ "syslog rfc3339 with pid", "2026-11-27T21:16:36.5+00:00 host "
	    "dovecot[12]: imap(bob)<1><S><rip=10.0.0.1><lip=10.0.0.2><auth=bob>:"
	    " expunge: box=INBOX, uid=3, msgid=<a@b>", 0, DOVELOG_MAIL,
	    DOVELOG_EXPUNGE, "imap", "bob", "S", "10.0.0.1", "bob", "INBOX",
	    "<a@b>", 3, 0, 0, -1, 0, "2026-11-27T21:16:36.500000Z" },
	{ "imap mail_opened body", "Nov 27 18:48:05 stats: Info: {\"event\":"
	    "\"mail_opened\",\"hostname\":\"vm\",\"start_time\":\"2026-11-27T18:48:"
	    "05.265825Z\",\"end_time\":\"2026-11-27T18:48:05.3Z\",\"categories\":"
	    "[\"storage\",\"maildir\",\"mail\",\"service:imap\",\"imap\",\"mailbox"
	    "\"],\"fields\":{\"user\":\"bob\",\"local_ip\":\"127.0.0.1\",\"local_"
	    "port\":31144,\"remote_ip\":\"127.0.0.1\",\"remote_port\":34735,\"sess"
	    "ion\":\"OuUcgEZhr4d/AAAB\",\"duration\":16,\"cmd_name\":\"UID FETCH\","
	    "\"reason_code\":[\"imap:cmd_uid_fetch\",\"imap:fetch_body\"],\"mailbox"
	    "\":\"INBOX\",\"reason\":\"prefetch\",\"seq\":1,\"uid\":1,\"mail_age_"
	    "days\":0}}", 0, DOVELOG_OPENED, NA, "imap", "bob", "OuUcgEZhr4d/AAAB",
	    "127.0.0.1", "", "INBOX", "", 1, 0, DOVELOG_R_FETCH_BODY, 31144, 0,
	    "2026-11-27T18:48:05.265825Z" },
	{ "pop3 mail_opened retr", "Nov 27 21:16:36 stats: Info: {\"event\":"
	    "\"mail_opened\",\"hostname\":\"vm\",\"start_time\":\"2026-11-27T21:16:"
	    "36.193530Z\",\"end_time\":\"2026-11-27T21:16:36.193653Z\",\"categorie"
	    "s\":[\"maildir\",\"service:pop3\",\"mail\",\"storage\",\"mailbox\"],"
	    "\"fields\":{\"reason_code\":[\"pop3:cmd_retr\"],\"duration\":39,\"use"
	    "r\":\"carol\",\"session\":\"2hM/k0hhsLx/AAAB\",\"mailbox\":\"INBOX\","
	    "\"reason\":\"access\",\"seq\":1,\"uid\":1,\"mail_age_days\":0}}", 0,
	    DOVELOG_OPENED, NA, "pop3", "carol", "2hM/k0hhsLx/AAAB", "", "",
	    "INBOX", "", 1, 0, DOVELOG_R_POP3_RETR, -1, 0, NULL },
	{ "pop3 top", "Nov 27 21:16:36 stats: Info: {\"event\":\"mail_opened\","
	    "\"categories\":[\"service:pop3\"],\"fields\":{\"reason_code\":[\"pop3:"
	    "cmd_top\"],\"user\":\"bob\",\"session\":\"50k/k0hhtLx/AAAB\",\"mailbo"
	    "x\":\"INBOX\",\"uid\":3}}", 0, DOVELOG_OPENED, NA, "pop3", "bob",
	    "50k/k0hhtLx/AAAB", "", "", "INBOX", "", 3, 0, DOVELOG_R_POP3_TOP, -1,
	    0, "2026-11-27T21:16:36.000000Z" },
	{ "lmtp mail_opened is no download", "Nov 27 21:16:06 stats: Info: {\"event\":\"mail_op"
	    "ened\",\"categories\":[\"maildir\",\"lmtp\",\"service:lmtp\"],\"fields"
	    "\":{\"reason_code\":[\"lmtp:cmd_data\"],\"user\":\"bob\",\"session\":"
	    "\"AMexGBbzCWtZVgAAg+zDdQ\",\"mailbox\":\"INBOX\",\"uid\":0}}", 0,
	    DOVELOG_OTHER, NA, "stats", "", "", "", "", "", "", 0, 0, 0, -1, 0,
	    NULL },
	{ "doveadm mail_opened", "Nov 27 21:16:06 stats: Info: {\"event\":\"mail"
	    "_opened\",\"categories\":[\"service:doveadm\",\"mail\"],\"fields\":{"
	    "\"reason_code\":[\"doveadm:cmd_fetch\",\"imap:fetch_body\"],\"user\":"
	    "\"bob\",\"session\":\"X\",\"mailbox\":\"INBOX\",\"uid\":4}}", 0,
	    DOVELOG_OPENED, NA, "doveadm", "bob", "X", "", "", "INBOX", "", 4, 0,
	    DOVELOG_R_FETCH_BODY, -1, 1, NULL },
	{ "auth finished", "Nov 27 21:16:36 stats: Info: {\"event\":\"auth_clien"
	    "t_request_finished\",\"hostname\":\"vm\",\"start_time\":\"2026-11-27T2"
	    "1:16:36.188124Z\",\"end_time\":\"2026-11-27T21:16:36.188359Z\",\"categ"
	    "ories\":[\"service:pop3-login\",\"auth-client\"],\"fields\":{\"durati"
	    "on\":180,\"id\":1,\"mechanism\":\"PLAIN\",\"service\":\"pop3\",\"trans"
	    "port\":\"trusted\",\"session\":\"2hM/k0hhsLx/AAAB\",\"local_ip\":\"127."
	    "0.0.1\",\"remote_ip\":\"127.0.0.1\",\"local_port\":25283,\"remote_port"
	    "\":48304,\"real_local_ip\":\"127.0.0.1\",\"real_remote_ip\":\"127.0.0."
	    "1\",\"real_local_port\":25283,\"real_remote_port\":48304,\"user\":\"ca"
	    "rol\"}}", 0, DOVELOG_AUTH, NA, "pop3", "carol", "2hM/k0hhsLx/AAAB",
	    "127.0.0.1", "", "", "", 0, 0, 0, 25283, 0, NULL },
	{ "mail_expunged", "Nov 27 21:16:36 stats: Info: {\"event\":\"mail_expun"
	    "ged\",\"categories\":[\"service:doveadm\"],\"fields\":{\"reason_code\""
	    ":[\"doveadm:cmd_expunge\"],\"uid\":2,\"user\":\"bob\",\"session\":\"k"
	    "\",\"mailbox\":\"INBOX\"}}", 0, DOVELOG_EXPUNGED, NA, "doveadm", "bob",
	    "k", "", "", "INBOX", "", 2, 0, 0, -1, 1, NULL },
	{ "other event", "Nov 27 21:16:36 stats: Info: {\"event\":\"imap_command"
	    "_finished\",\"fields\":{}}", 0, DOVELOG_OTHER, NA, "stats", "", "", "",
	    "", "", "", 0, 0, 0, -1, 0, NULL },
	{ "login line", "Nov 27 21:16:36 imap-login: Info: Login: user=<bob>, "
	    "method=PLAIN, rip=127.0.0.2, lip=127.0.0.1, mpid=25155, session="
	    "<ywo+k0hhsaF/AAAC>", 0, DOVELOG_OTHER, NA, "imap-login", "", "", "",
	    "", "", "", 0, 0, 0, -1, 0, NULL },
	{ "lmtp connect", "Nov 27 21:16:06 lmtp(22105): Info: Connect from local",
	    0, DOVELOG_OTHER, NA, "lmtp", "22105", "", "", "", "", "", 0, 0, 0,
	    -1, 0, NULL },
	{ "disconnected", "Nov 27 21:16:36 imap(bob)<25155><ywo+k0hhsaF/AAAC>"
	    "<rip=127.0.0.2><lip=127.0.0.1><auth=bob>: Info: Disconnected: Logged "
	    "out in=60 out=1609", 0, DOVELOG_OTHER, NA, "imap", "bob",
	    "ywo+k0hhsaF/AAAC", "127.0.0.2", "bob", "", "", 0, 0, 0, -1, 0, NULL },
	{ "master start", "Nov 27 21:15:49 master: Info: Dovecot v2.3.19.1 "
	    "starting up", 0, DOVELOG_OTHER, NA, "master", "", "", "", "", "", "",
	    0, 0, 0, -1, 0, NULL },
	/* Garbage. */
	{ "empty", "", -1, DOVELOG_OTHER, NA, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, 0, 0, 0, 0, 0, NULL },
	{ "no time", "imap(bob): Info: x", -1, DOVELOG_OTHER, NA, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL },
	{ "no prefix", "Nov 27 21:16:36 nothing here", -1, DOVELOG_OTHER, NA,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL },
	{ "broken json", "Nov 27 21:16:36 stats: Info: {\"event\":", -1,
	    DOVELOG_OTHER, NA, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
	    0, 0, NULL },
	{ "json without fields", "Nov 27 21:16:36 stats: Info: {\"event\":\"mail"
	    "_opened\",\"x\":\"imap:fetch_body\"}", -1, DOVELOG_OTHER, NA, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, 0, 0, 0, 0, 0, NULL },
	{ "bad uid", "Nov 27 21:16:36 imap(bob)<1><S>: Info: expunge: box=INBOX,"
	    " uid=x1, msgid=<a@b>", -1, DOVELOG_OTHER, NA, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL },
	{ "unclosed group", "Nov 27 21:16:36 imap(bob)<1<S: Info: x", -1,
	    DOVELOG_OTHER, NA, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
	    0, 0, NULL },
};

static int
parse(const char *s, size_t len, struct dovelog_line *out, char **copy_r)
{
	struct logtime_ctx tc;
	const char *err;
	char *c = xmalloc(len + 1);

	memcpy(c, s, len);
	logtime_init(&tc, NOW);
	*copy_r = c;
	return dovelog_parse(&tc, c, len, out, &err);
}

static void
check_line(const struct want *w, const struct dovelog_line *d, int rc)
{
	char t[LOGTIME_BUFSIZE];

	CHECK_INT(rc, w->rc);
	if (rc != 0 || w->rc != 0)
		return;
	CHECK_INT(d->kind, w->kind);
	if (w->kind == DOVELOG_MAIL)
		CHECK_STR(dovelog_mail_event_name(d->event),
		    dovelog_mail_event_name((enum dovelog_mail_event)w->event));
	CHECK_STR(d->service, w->service);
	CHECK_STR(d->user, w->user);
	CHECK_STR(d->session, w->session);
	CHECK_STR(d->remote_ip, w->rip);
	CHECK_STR(d->auth_user, w->auth);
	CHECK_STR(d->mailbox, w->box);
	CHECK_STR(d->msgid, w->msgid);
	CHECK_INT(d->uid, w->uid);
	CHECK_INT(d->seen, w->seen);
	CHECK_INT(d->reasons, w->reasons);
	CHECK_INT(d->local_port, w->port);
	CHECK_INT(d->doveadm, w->doveadm);
	if (w->time != NULL)
		CHECK_STR(logtime_format(&d->time, t, sizeof(t)), w->time);
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dovelog_line d;
		char *copy, name[160];
		int rc;

		memset(&d, 0, sizeof(d));
		snprintf(name, sizeof(name), "dovelog: %s", cases[i].name);
		TEST_BEGIN(name);
		rc = parse(cases[i].line, strlen(cases[i].line), &d, &copy);
		check_line(&cases[i], &d, rc);
		dovelog_line_clear(&d);
		free(copy);
		TEST_END();
	}
}

static void
test_byte_at_a_time(void)
{
	char path[] = "/tmp/test_dovelog.XXXXXX", *line, *err = NULL;
	struct follower *f;
	struct follow_pos at;
	struct dovelog_line d;
	size_t i, k, len, got = 0, want = 0;
	int fd, r;
	bool ok = true;

	TEST_BEGIN("dovelog: every line fed one byte at a time");
	memset(&d, 0, sizeof(d));
	fd = mkstemp(path);
	f = follow_new("dovecot", "test", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].line;
		size_t n = strlen(s);

		if (cases[i].rc != 0)
			continue;
		want++;
		for (k = 0; k <= n; k++) {
			if (write(fd, k < n ? &s[k] : "\n", 1) != 1)
				ok = false;
			while ((r = follow_next(f, &line, &len, &at, &err)) == 1) {
				struct logtime_ctx tc;
				const char *perr;

				got++;
				ok &= k == n;
				logtime_init(&tc, NOW);
				if (dovelog_parse(&tc, line, len, &d, &perr) != 0
				    || d.kind != cases[i].kind
				    || d.uid != cases[i].uid) {
					printf("# %s: differs\n", cases[i].name);
					ok = false;
				}
			}
			ok &= r == 0;
		}
	}
	CHECK(ok);
	CHECK_INT(got, want);
	dovelog_line_clear(&d);
	follow_free(&f);
	close(fd);
	unlink(path);
	TEST_END();
}

static void
test_prefixes(void)
{
	size_t i, n;

	TEST_BEGIN("dovelog: every prefix of every line is handled");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n <= strlen(cases[i].line); n++) {
			struct dovelog_line d;
			char *copy;

			memset(&d, 0, sizeof(d));
			(void)parse(cases[i].line, n, &d, &copy);
			dovelog_line_clear(&d);
			free(copy);
		}
	}
	TEST_END();
}

/* ---- classification --------------------------------------------------- */

struct cwant {
	const char *name;
	const char *service, *ip;
	long port;
	unsigned reasons;
	bool doveadm;
	const char *user, *auth;
	enum dovelog_access want;
};

static const struct cwant ccases[] = {
	{ "imap body from a desktop", "imap", "127.0.0.2", 31143,
	    DOVELOG_R_FETCH_BODY, false, "bob", "bob", DOVELOG_ACCESS_IMAP },
	{ "imap header only", "imap", "127.0.0.2", 31143, 0, false, "bob", "",
	    DOVELOG_ACCESS_NONE },
	{ "pop3 retr", "pop3", "127.0.0.1", 31110, DOVELOG_R_POP3_RETR, false,
	    "carol", "", DOVELOG_ACCESS_POP3 },
	{ "pop3 top without a session", "pop3", "", -1, DOVELOG_R_POP3_TOP,
	    false, "carol", "", DOVELOG_ACCESS_POP3 },
	{ "webmail port", "imap", "127.0.0.1", 31144, DOVELOG_R_FETCH_BODY,
	    false, "bob", "", DOVELOG_ACCESS_INSIDE },
	{ "webmail host", "imap", "10.1.2.3", 31143, DOVELOG_R_FETCH_BODY,
	    false, "bob", "", DOVELOG_ACCESS_INSIDE },
	{ "sync gateway host", "imap", "127.0.0.3", 31143, DOVELOG_R_FETCH_BODY,
	    false, "bob", "", DOVELOG_ACCESS_MOBILE },
	{ "sync gateway port", "imap", "192.0.2.9", 31145,
	    DOVELOG_R_FETCH_BODY, false, "bob", "", DOVELOG_ACCESS_MOBILE },
	{ "doveadm", "doveadm", "127.0.0.1", -1, DOVELOG_R_FETCH_BODY, true,
	    "bob", "", DOVELOG_ACCESS_NONE },
	{ "master user of recalld", "imap", "127.0.0.2", 31143,
	    DOVELOG_R_FETCH_BODY, false, "bob", "recall", DOVELOG_ACCESS_NONE },
	{ "another master user", "imap", "127.0.0.2", 31143,
	    DOVELOG_R_FETCH_BODY, false, "bob", "helpdesk", DOVELOG_ACCESS_IMAP },
	{ "ipv6 outside", "imap", "2001:db8::1", 31143, DOVELOG_R_FETCH_BODY,
	    false, "bob", "", DOVELOG_ACCESS_IMAP },
};

static void
make_cfg(struct recall_cfg *cfg)
{
	static long ports[] = { 31144 };

	memset(cfg, 0, sizeof(*cfg));
	strlist_add(&cfg->events.inside_hosts, "10.1.2.0/24");
	cfg->events.inside_ports = ports;
	cfg->events.n_inside_ports = 1;
	strlist_add(&cfg->events.sync_gateways, "127.0.0.3");
	strlist_add(&cfg->events.sync_gateways, "31145");
}

static void
test_classify(void)
{
	struct recall_cfg cfg;
	struct dovelog_policy pol;
	char *err = NULL;
	size_t i;

	make_cfg(&cfg);
	TEST_BEGIN("classify: policy from recall.conf");
	CHECK(dovelog_policy_init(&pol, &cfg, &err) == 0);
	CHECK_INT(pol.n_gateway_ports, 1);
	CHECK_INT(pol.gateway_hosts.n, 1);
	TEST_END();
	strlist_add(&pol.ignore_auth, "recall");
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		struct dovelog_access_facts f = { ccases[i].service,
		    ccases[i].ip, ccases[i].port, ccases[i].reasons,
		    ccases[i].doveadm, ccases[i].user, ccases[i].auth };
		char name[160];

		snprintf(name, sizeof(name), "classify: %s", ccases[i].name);
		TEST_BEGIN(name);
		CHECK_STR(dovelog_access_event(dovelog_classify(&pol, &f)),
		    dovelog_access_event(ccases[i].want));
		TEST_END();
	}
	TEST_BEGIN("classify: event names round-trip");
	for (i = DOVELOG_ACCESS_INSIDE; i <= DOVELOG_ACCESS_IMAP; i++)
		CHECK_INT(dovelog_access_from_event(dovelog_access_event(
		    (enum dovelog_access)i)), i);
	CHECK_INT(dovelog_access_from_event("saved"), DOVELOG_ACCESS_NONE);
	TEST_END();
	TEST_BEGIN("classify: bad sync_gateways entry is refused");
	strlist_add(&cfg.events.sync_gateways, "not-an-address");
	{
		struct dovelog_policy p2;

		CHECK(dovelog_policy_init(&p2, &cfg, &err) < 0);
		free(err);
	}
	TEST_END();
	dovelog_policy_free(&pol);
	strlist_free(&cfg.events.inside_hosts);
	strlist_free(&cfg.events.sync_gateways);
}

/* POP3 mail_opened joined to its login by session. */
static void
test_sessions(void)
{
	static const char auth[] = "Nov 27 21:16:36 stats: Info: {\"event\":"
	    "\"auth_client_request_finished\",\"categories\":[\"service:imap-login"
	    "\"],\"fields\":{\"service\":\"imap\",\"session\":\"S1\",\"remote_ip\""
	    ":\"203.0.113.9\",\"real_remote_ip\":\"127.0.0.1\",\"local_port\":143,"
	    "\"user\":\"bob\"}}";
	static const char opened[] = "Nov 27 21:16:37 stats: Info: {\"event\":"
	    "\"mail_opened\",\"categories\":[\"service:imap\"],\"fields\":{\"user"
	    "\":\"bob\",\"session\":\"S1\",\"remote_ip\":\"203.0.113.9\",\"local_"
	    "port\":143,\"reason_code\":[\"imap:fetch_body\"],\"mailbox\":\"INBOX"
	    "\",\"uid\":5}}";
	struct dovelog_sessions *s = dovelog_sessions_new(8);
	struct dovelog_line a, o;
	struct dovelog_access_facts f;
	const struct dovelog_session *se;
	char *c1, *c2;

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	TEST_BEGIN("sessions: x-originating-ip is undone by real_remote_ip");
	CHECK(parse(auth, strlen(auth), &a, &c1) == 0);
	dovelog_sessions_add(s, &a);
	CHECK(parse(opened, strlen(opened), &o, &c2) == 0);
	se = dovelog_sessions_find(s, "S1");
	CHECK(se != NULL);
	CHECK(dovelog_sessions_find(s, "S2") == NULL);
	dovelog_facts(&o, se, &f);
	CHECK_STR(f.remote_ip, "127.0.0.1");
	CHECK_INT(f.local_port, 143);
	dovelog_facts(&o, NULL, &f);
	CHECK_STR(f.remote_ip, "203.0.113.9");
	TEST_END();
	dovelog_line_clear(&a);
	dovelog_line_clear(&o);
	free(c1);
	free(c2);
	dovelog_sessions_free(&s);
	CHECK(s == NULL);
}

/*
 * The join across a restart (ledger.c): a login read before recalld
 * restarted is stored (dovecot_login) and read back into a fresh cache
 * with dovelog_session_set().  Each case: what the access is classified
 * as with the login in memory, with the login read back, and with no
 * login known (the entry a failed look-up leaves, and no entry at all).
 */
struct rwant {
	const char *name;
	const char *auth;	/* the login's JSON fields */
	const char *opened;	/* the access's service and JSON fields */
	const char *ip;		/* f.remote_ip with the login */
	long port;		/* f.local_port with the login */
	enum dovelog_access want, want_unknown;
};

#define AUTH_HEAD "Nov 27 21:16:36 stats: Info: {\"event\":" \
    "\"auth_client_request_finished\",\"categories\":[\"auth-client\"]," \
    "\"fields\":{\"session\":\"S1\","
#define OPEN_HEAD "Nov 27 21:16:37 stats: Info: {\"event\":\"mail_opened\"," \
    "\"categories\":[\"service:"

static const struct rwant rcases[] = {
	{ "pop3 retr from a desktop",
	    "\"service\":\"pop3\",\"remote_ip\":\"127.0.0.2\",\"real_remote_ip"
	    "\":\"127.0.0.2\",\"local_port\":31110,\"user\":\"bob\"",
	    "pop3\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"reason_code\":[\"pop3:cmd_retr\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "127.0.0.2", 31110,
	    DOVELOG_ACCESS_POP3, DOVELOG_ACCESS_POP3 },
	{ "pop3 top from an inside host",
	    "\"service\":\"pop3\",\"remote_ip\":\"10.1.2.3\",\"real_remote_ip"
	    "\":\"10.1.2.3\",\"local_port\":31110,\"user\":\"bob\"",
	    "pop3\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"reason_code\":[\"pop3:cmd_top\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "10.1.2.3", 31110,
	    DOVELOG_ACCESS_INSIDE, DOVELOG_ACCESS_POP3 },
	{ "pop3 through the gateway's listener",
	    "\"service\":\"pop3\",\"remote_ip\":\"192.0.2.7\",\"real_remote_ip"
	    "\":\"192.0.2.7\",\"local_port\":31145,\"user\":\"bob\"",
	    "pop3\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"reason_code\":[\"pop3:cmd_retr\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "192.0.2.7", 31145,
	    DOVELOG_ACCESS_MOBILE, DOVELOG_ACCESS_POP3 },
	{ "pop3 login without real_remote_ip",
	    "\"service\":\"pop3\",\"remote_ip\":\"127.0.0.3\","
	    "\"local_port\":31110,\"user\":\"bob\"",
	    "pop3\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"reason_code\":[\"pop3:cmd_retr\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "127.0.0.3", 31110,
	    DOVELOG_ACCESS_MOBILE, DOVELOG_ACCESS_POP3 },
	{ "imap webmail behind x-originating-ip",
	    "\"service\":\"imap\",\"remote_ip\":\"203.0.113.9\",\"real_remote_ip"
	    "\":\"10.1.2.5\",\"local_port\":31143,\"user\":\"bob\"",
	    "imap\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"remote_ip\":\"203.0.113.9\",\"local_port\":31143,"
	    "\"reason_code\":[\"imap:fetch_body\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "10.1.2.5", 31143,
	    DOVELOG_ACCESS_INSIDE, DOVELOG_ACCESS_IMAP },
	{ "pop3 of recalld's master user",
	    "\"service\":\"pop3\",\"remote_ip\":\"127.0.0.2\",\"real_remote_ip"
	    "\":\"127.0.0.2\",\"local_port\":31110,\"user\":\"bob\","
	    "\"auth_user\":\"recall\"",
	    "pop3\"],\"fields\":{\"user\":\"bob\",\"session\":\"S1\","
	    "\"reason_code\":[\"pop3:cmd_retr\"],\"mailbox\":\"INBOX\","
	    "\"uid\":1}}", "127.0.0.2", 31110,
	    DOVELOG_ACCESS_NONE, DOVELOG_ACCESS_POP3 },
};

static void
same_facts(const struct dovelog_access_facts *got,
    const struct dovelog_access_facts *want)
{
	CHECK_STR(got->service, want->service);
	CHECK_STR(got->remote_ip, want->remote_ip);
	CHECK_INT(got->local_port, want->local_port);
	CHECK_INT(got->reasons, want->reasons);
	CHECK_STR(got->auth_user != NULL ? got->auth_user : "",
	    want->auth_user != NULL ? want->auth_user : "");
}

static void
test_sessions_restart(void)
{
	struct recall_cfg cfg;
	struct dovelog_policy pol;
	char *err = NULL;
	size_t i;

	make_cfg(&cfg);
	if (dovelog_policy_init(&pol, &cfg, &err) < 0) {
		TEST_BEGIN("sessions: policy");
		CHECK(err == NULL);
		TEST_END();
		free(err);
		return;
	}
	strlist_add(&pol.ignore_auth, "recall");
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rwant *c = &rcases[i];
		struct dovelog_sessions *before = dovelog_sessions_new(8);
		struct dovelog_sessions *after = dovelog_sessions_new(8);
		struct dovelog_session stored, back, none;
		const struct dovelog_session *se;
		struct dovelog_access_facts f1, f2, f3;
		struct dovelog_line a, o;
		char *la, *lo, *c1 = NULL, *c2 = NULL, name[160];

		memset(&a, 0, sizeof(a));
		memset(&o, 0, sizeof(o));
		la = xasprintf("%s%s}}", AUTH_HEAD, c->auth);
		lo = xasprintf("%s%s", OPEN_HEAD, c->opened);
		snprintf(name, sizeof(name), "sessions after a restart: %s",
		    c->name);
		TEST_BEGIN(name);
		CHECK(parse(la, strlen(la), &a, &c1) == 0);
		CHECK(parse(lo, strlen(lo), &o, &c2) == 0);
		CHECK_INT(a.kind, DOVELOG_AUTH);
		CHECK_INT(o.kind, DOVELOG_OPENED);
		/* Before the restart: the login line itself. */
		dovelog_sessions_add(before, &a);
		se = dovelog_sessions_find(before, "S1");
		CHECK(se != NULL);
		dovelog_facts(&o, se, &f1);
		CHECK_STR(f1.remote_ip, c->ip);
		CHECK_INT(f1.local_port, c->port);
		CHECK_STR(dovelog_access_event(dovelog_classify(&pol, &f1)),
		    dovelog_access_event(c->want));
		/* After: the stored row, read back into a fresh cache. */
		CHECK(dovelog_session_from_line(&stored, &a));
		CHECK(dovelog_session_set(&back, stored.session, stored.service,
		    stored.remote_ip, stored.real_remote_ip, stored.auth_user,
		    stored.local_port));
		CHECK(dovelog_sessions_find(after, "S1") == NULL);
		dovelog_sessions_put(after, &back);
		se = dovelog_sessions_find(after, "S1");
		CHECK(se != NULL);
		dovelog_facts(&o, se, &f2);
		same_facts(&f2, &f1);
		CHECK_STR(dovelog_access_event(dovelog_classify(&pol, &f2)),
		    dovelog_access_event(c->want));
		/* No login known: the remembered miss joins like none. */
		CHECK(dovelog_session_set(&none, "S1", NULL, NULL, NULL, NULL,
		    -1));
		dovelog_sessions_put(after, &none);
		dovelog_facts(&o, dovelog_sessions_find(after, "S1"), &f2);
		dovelog_facts(&o, NULL, &f3);
		same_facts(&f2, &f3);
		CHECK_STR(dovelog_access_event(dovelog_classify(&pol, &f3)),
		    dovelog_access_event(c->want_unknown));
		TEST_END();
		dovelog_line_clear(&a);
		dovelog_line_clear(&o);
		free(la);
		free(lo);
		free(c1);
		free(c2);
		dovelog_sessions_free(&before);
		dovelog_sessions_free(&after);
	}
	TEST_BEGIN("sessions: what cannot be joined is refused");
	{
		struct dovelog_session e;
		struct dovelog_sessions *s = dovelog_sessions_new(4);
		struct dovelog_line d;
		char longs[DOVELOG_SESSION_MAX + 2];

		memset(longs, 'x', sizeof(longs) - 1);
		longs[sizeof(longs) - 1] = '\0';
		CHECK(!dovelog_session_set(&e, longs, "pop3", "", "", "", 110));
		CHECK(e.session[0] == '\0' && e.local_port == -1);
		CHECK(!dovelog_session_set(&e, "", "pop3", "", "", "", 110));
		CHECK(!dovelog_session_set(&e, NULL, "pop3", "", "", "", 110));
		dovelog_sessions_put(s, &e);	/* ignored */
		CHECK(dovelog_sessions_find(s, "") == NULL);
		memset(&d, 0, sizeof(d));
		dovelog_line_clear(&d);
		d.kind = DOVELOG_OPENED;
		d.session = "S1";
		CHECK(!dovelog_session_from_line(&e, &d));
		dovelog_sessions_add(s, &d);	/* not a login: ignored */
		CHECK(dovelog_sessions_find(s, "S1") == NULL);
		/* Long values are cut to their field, never overflow. */
		CHECK(dovelog_session_set(&e, "S2", longs, longs, longs, longs,
		    1));
		CHECK_INT(strlen(e.service), sizeof(e.service) - 1);
		CHECK_INT(strlen(e.real_remote_ip), DOVELOG_IP_MAX);
		dovelog_sessions_free(&s);
	}
	TEST_END();
	dovelog_policy_free(&pol);
	strlist_free(&cfg.events.inside_hosts);
	strlist_free(&cfg.events.sync_gateways);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_table();
	test_byte_at_a_time();
	test_prefixes();
	test_classify();
	test_sessions();
	test_sessions_restart();
	return test_done();
}
