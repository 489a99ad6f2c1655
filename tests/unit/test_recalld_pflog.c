/*
 * test_recalld_pflog - the Postfix log parser: every sample line of
 * FACTS-postfix.md and lines captured from the lab, in both formats, whole
 * and fed one byte at a time through the follower; garbage is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "pflog.h"
#include "test.h"
#include "xalloc.h"

/* 2026-11-28 12:00:00 UTC: the reference "now" for the year. */
#define NOW 1795867200

struct want {
	const char *name;
	const char *line;
	int rc;
	enum pflog_kind kind;
	const char *service, *qid, *to, *orig_to, *relay, *status;
	const char *detail, *child, *msgid, *session;
	const char *time;	/* RFC 3339 UTC, or NULL: not checked */
};

static const struct want cases[] = {
	{ "virtual delivered", "Nov 27 18:54:24 mx postfix/virtual[123]: "
	    "93210510197: to=<alice@example.test>, relay=virtual, delay=0.02, "
	    "delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
	    0, PFLOG_DELIVERED, "virtual", "93210510197", "alice@example.test",
	    "", "virtual", "sent", "delivered to maildir", "", "", "",
	    "2026-11-27T18:54:24.000000Z" },
	{ "local delivered", "Nov 27 18:54:24 mx postfix/local[123]: "
	    "B3428510197: to=<pflab1@local.test>, relay=local, delay=0.02, "
	    "delays=0/0.01/0/0.01, dsn=2.0.0, status=sent (delivered to maildir)",
	    0, PFLOG_DELIVERED, "local", "B3428510197", "pflab1@local.test",
	    "", "local", "sent", "delivered to maildir", "", "", "", NULL },
	{ "smtp relayed", "Nov 27 18:54:24 mx postfix/smtp[123]: "
	    "149F951027E: to=<u@ext.test>, relay=127.0.0.1[127.0.0.1]:20026, "
	    "delay=0.04, delays=0.04/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
	    0, PFLOG_RELAYED, "smtp", "149F951027E", "u@ext.test", "",
	    "127.0.0.1[127.0.0.1]:20026", "sent", "250 2.0.0 Ok", "", "", "",
	    NULL },
	{ "smtp deferred", "Nov 27 18:54:24 mx postfix/smtp[123]: "
	    "3C3EC510281: to=<u@defer.test>, relay=127.0.0.1[127.0.0.1]:20027, "
	    "delay=0.06, delays=0.05/0/0/0.01, dsn=4.3.0, status=deferred (host "
	    "127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command failed (in "
	    "reply to RCPT TO command))",
	    0, PFLOG_DEFERRED, "smtp", "3C3EC510281", "u@defer.test", "",
	    "127.0.0.1[127.0.0.1]:20027", "deferred", "host 127.0.0.1[127.0.0.1]"
	    " said: 450 4.3.0 Error: command failed (in reply to RCPT TO "
	    "command)", "", "", "", NULL },
	{ "smtp bounced", "Nov 27 18:54:24 mx postfix/smtp[123]: 61A83510281: "
	    "to=<u@bounce.test>, relay=127.0.0.1[127.0.0.1]:20028, delay=0.1, "
	    "dsn=5.3.0, status=bounced (host 127.0.0.1[127.0.0.1] said: 500 "
	    "5.3.0 Error: command failed (in reply to RCPT TO command))",
	    0, PFLOG_BOUNCED, "smtp", "61A83510281", "u@bounce.test", "",
	    "127.0.0.1[127.0.0.1]:20028", "bounced", NULL, "", "", "", NULL },
	{ "local forwarded as", "Nov 27 18:54:24 mx postfix/local[77]: "
	    "A0090510101: to=<pflab2@local.test>, relay=local, delay=0.06, "
	    "delays=0/0/0/0.06, dsn=2.0.0, status=sent (forwarded as AC92A510204)",
	    0, PFLOG_FORWARDED, "local", "A0090510101", "pflab2@local.test", "",
	    "local", "sent", "forwarded as AC92A510204", "AC92A510204", "", "",
	    NULL },
	{ "child with orig_to", "Nov 27 18:54:24 mx postfix/smtp[78]: "
	    "AC92A510204: to=<ext-fwd@ext.test>, orig_to=<pflab2@local.test>, "
	    "relay=127.0.0.1[127.0.0.1]:20026, delay=0.1, dsn=2.0.0, "
	    "status=sent (250 2.0.0 Ok)",
	    0, PFLOG_RELAYED, "smtp", "AC92A510204", "ext-fwd@ext.test",
	    "pflab2@local.test", NULL, "sent", NULL, "", "", "", NULL },
	{ "cleanup message-id", "Nov 27 18:54:24 mx postfix/cleanup[9]: "
	    "AC92A510204: message-id=<20261127185424.010002@vm>",
	    0, PFLOG_MESSAGE_ID, "cleanup", "AC92A510204", "", "", "", "", "",
	    "", "20261127185424.010002@vm", "", NULL },
	{ "milter-hold", "Nov 27 18:54:24 mx postfix/cleanup[9]: 4F1B2510300: "
	    "milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter "
	    "triggers HOLD action; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
	    0, PFLOG_HELD, "cleanup", "4F1B2510300", "", "", "", "",
	    "END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD "
	    "action; from=<a@b> to=<c@d> proto=ESMTP helo=<x>", "", "", "",
	    NULL },
	{ "postsuper released", "Nov 27 18:54:24 mx postfix/postsuper[5]: "
	    "0286A510227: released from hold", 0, PFLOG_RELEASED, "postsuper",
	    "0286A510227", "", "", "", "", "", "", "", "", NULL },
	{ "postsuper placed on hold", "Nov 27 21:16:47 mx postfix/postsuper"
	    "[26099]: A901FA7C615: placed on hold", 0, PFLOG_HELD, "postsuper",
	    "A901FA7C615", "", "", "", "", "placed on hold", "", "", "", NULL },
	{ "postsuper removed", "Nov 27 21:16:48 mx postfix/postsuper[26298]: "
	    "A901FA7C615: removed", 0, PFLOG_REMOVED, "postsuper",
	    "A901FA7C615", "", "", "", "", NULL, "", "", "", NULL },
	{ "qmgr removed", "Nov 27 21:16:06 mx postfix/qmgr[21897]: 64A96A7C615:"
	    " removed", 0, PFLOG_REMOVED, "qmgr", "64A96A7C615", "", "", "",
	    "", "", "", "", "", NULL },
	{ "qmgr queued", "Nov 27 21:16:06 mx postfix/qmgr[21897]: 64A96A7C615:"
	    " from=<sender@example.test>, size=454, nrcpt=1 (queue active)",
	    0, PFLOG_QUEUED, "qmgr", "64A96A7C615", "", "", "", "", "", "", "",
	    "", NULL },
	{ "smtpd client", "Nov 27 18:54:24 mx postfix/smtpd[4]: 738245101A7: "
	    "client=localhost[127.0.0.1]", 0, PFLOG_CLIENT, "smtpd",
	    "738245101A7", "", "", "", "", "localhost[127.0.0.1]", "", "", "",
	    NULL },
	{ "bounce notification", "Nov 27 18:54:24 mx postfix/bounce[4]: "
	    "61A83510281: sender non-delivery notification: 6E299510287",
	    0, PFLOG_OTHER, "bounce", "61A83510281", "", "", "", "", "", "", "",
	    "", NULL },
	{ "pickup", "Nov 27 18:54:24 mx postfix/pickup[4]: 340DE5101EF: uid=0 "
	    "from=<root@mx.lab.test>", 0, PFLOG_OTHER, "pickup", "340DE5101EF",
	    "", "", "", "", "", "", "", "", NULL },
	/* Captured from the lab (tests/lab/lab.sh, Postfix 3.7.11). */
	{ "lab lmtp delivered", "Nov 27 21:16:06 mx postfix/lmtp[22104]: "
	    "7B2F6A7C615: to=<carol@example.test>, orig_to=<team@example.test>, "
	    "relay=mx.lab.test[/tmp/lab.WBHm/dovecot/run/lmtp], delay=0.01, "
	    "delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 "
	    "<carol@example.test> CBc7HhbzCWtZVgAAg+zDdQ:R2 Saved)",
	    0, PFLOG_DELIVERED, "lmtp", "7B2F6A7C615", "carol@example.test",
	    "team@example.test", "mx.lab.test[/tmp/lab.WBHm/dovecot/run/lmtp]",
	    "sent", "250 2.0.0 <carol@example.test> CBc7HhbzCWtZVgAAg+zDdQ:R2 "
	    "Saved", "", "", "CBc7HhbzCWtZVgAAg+zDdQ:R2", NULL },
	{ "lab virtual alias outside", "Nov 27 21:16:06 mx postfix/smtp[22660]: "
	    "9176AA7C615: to=<outside@ext.test>, orig_to=<fwd@example.test>, "
	    "relay=127.0.0.1[127.0.0.1]:25285, delay=0.02, delays=0/0.01/0/0, "
	    "dsn=2.0.0, status=sent (250 2.0.0 Ok)",
	    0, PFLOG_RELAYED, "smtp", "9176AA7C615", "outside@ext.test",
	    "fwd@example.test", NULL, "sent", NULL, "", "", "", NULL },
	{ "lab local alias forwarded", "Nov 27 21:16:19 mx postfix/local[23782]:"
	    " 82A55A7C6D4: to=<lalias@localhost>, relay=local, delay=0.02, "
	    "delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (forwarded as "
	    "85074A7C6D6)", 0, PFLOG_FORWARDED, "local", "82A55A7C6D4",
	    "lalias@localhost", "", "local", "sent", NULL, "85074A7C6D6", "",
	    "", NULL },
	{ "lab noqueue reject", "Nov 27 21:16:06 mx postfix/smtpd[22620]: "
	    "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 "
	    "<lalias@localhost>: Recipient address rejected", 0, PFLOG_OTHER,
	    "smtpd", "", "", "", "", "", "", "", "", "", NULL },
	{ "lab warning", "Nov 27 21:16:06 mx postfix/smtpd[22620]: warning: "
	    "/tmp/x/aliases, line 4: record is in \"key: value\" format",
	    0, PFLOG_OTHER, "smtpd", "", "", "", "", "", "", "", "", "", NULL },
	{ "lab postfix-script", "Nov 27 21:15:50 mx postfix/postfix-script"
	    "[21183]: starting the Postfix mail system", 0, PFLOG_OTHER,
	    "postfix-script", "", "", "", "", "", "", "", "", "", NULL },
	/* Syslog formats. */
	{ "rfc3339 syslog", "2026-11-27T18:54:24.010002+01:00 mx "
	    "postfix/local[123]: B3428510197: to=<pflab1@local.test>, "
	    "relay=local, delay=0.02, dsn=2.0.0, status=sent (delivered to "
	    "maildir)", 0, PFLOG_DELIVERED, "local", "B3428510197",
	    "pflab1@local.test", "", "local", "sent", NULL, "", "", "",
	    "2026-11-27T17:54:24.010002Z" },
	{ "rfc3339 Z", "2026-11-27T18:54:24Z mx postfix-out/smtp[1]: "
	    "149F951027E: to=<u@ext.test>, relay=r[1.2.3.4]:25, dsn=2.0.0, "
	    "status=sent (250 ok)", 0, PFLOG_RELAYED, "smtp", "149F951027E",
	    "u@ext.test", "", "r[1.2.3.4]:25", "sent", "250 ok", "", "", "",
	    "2026-11-27T18:54:24.000000Z" },
	{ "single-digit day", "Nov  7 08:05:09 mx postfix/qmgr[1]: 64A96A7C615: "
	    "removed", 0, PFLOG_REMOVED, "qmgr", "64A96A7C615", "", "", "", "",
	    "", "", "", "", "2026-11-07T08:05:09.000000Z" },
	{ "december read in november is last year", "Dec 31 23:59:59 mx "
	    "postfix/qmgr[1]: 64A96A7C615: removed", 0, PFLOG_REMOVED, "qmgr",
	    "64A96A7C615", "", "", "", "", "", "", "", "",
	    "2025-12-31T23:59:59.000000Z" },
	{ "long queue id", "Nov 27 18:54:24 mx postfix/virtual[1]: "
	    "4Jk2Zq0xNRzBbWf: to=<a@example.test>, relay=virtual, dsn=2.0.0, "
	    "status=sent (delivered to maildir)", 0, PFLOG_DELIVERED, "virtual",
	    "4Jk2Zq0xNRzBbWf", "a@example.test", "", "virtual", "sent", NULL,
	    "", "", "", NULL },
	{ "pipe to dovecot-lda", "Nov 27 18:54:24 mx postfix/pipe[1]: "
	    "93210510197: to=<a@example.test>, relay=dovecot, delay=0.1, "
	    "dsn=2.0.0, status=sent (delivered via dovecot service)", 0,
	    PFLOG_DELIVERED, "pipe", "93210510197", "a@example.test", "",
	    "dovecot", "sent", NULL, "", "", "", NULL },
	{ "pipe to a list manager", "Nov 27 18:54:24 mx postfix/pipe[1]: "
	    "93210510197: to=<l@lists.example.test>, relay=mailman, dsn=2.0.0, "
	    "status=sent (delivered via mailman service)", 0, PFLOG_RELAYED,
	    "pipe", "93210510197", "l@lists.example.test", "", "mailman",
	    "sent", NULL, "", "", "", NULL },
	{ "CRLF", "Nov 27 18:54:24 mx postfix/qmgr[1]: 64A96A7C615: removed\r\n",
	    0, PFLOG_REMOVED, "qmgr", "64A96A7C615", "", "", "", "", "", "", "",
	    "", NULL },
	{ "another program", "Nov 27 18:54:24 mx dovecot: imap(bob): Info: x",
	    0, PFLOG_OTHER, "dovecot", "", "", "", "", "", "", "", "", "", NULL },
	/* Garbage. */
	{ "empty", "", -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL },
	{ "no time", "hello world: foo", -1, PFLOG_OTHER, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bad month", "Foo 27 18:54:24 mx postfix/qmgr[1]: 64A96A7C615: removed",
	    -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL },
	{ "bad day", "Feb 30 18:54:24 mx postfix/qmgr[1]: 64A96A7C615: removed",
	    -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL },
	{ "bad hour", "2026-11-27T25:54:24Z mx postfix/qmgr[1]: 64A96A7C615: "
	    "removed", -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL },
	{ "time only", "Nov 27 18:54:24", -1, PFLOG_OTHER, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "no tag", "Nov 27 18:54:24 mx", -1, PFLOG_OTHER, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bad pid", "Nov 27 18:54:24 mx postfix/qmgr[1x]: 64A96A7C615: removed",
	    -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL },
	{ "delivery without status", "Nov 27 18:54:24 mx postfix/smtp[1]: "
	    "149F951027E: to=<u@ext.test>, relay=x", -1, PFLOG_OTHER, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "unterminated address", "Nov 27 18:54:24 mx postfix/smtp[1]: "
	    "149F951027E: to=<u@ext.test, status=sent (x)", -1, PFLOG_OTHER,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "forwarded without id", "Nov 27 18:54:24 mx postfix/local[1]: "
	    "A0090510101: to=<a@b>, relay=local, status=sent (forwarded as )",
	    -1, PFLOG_OTHER, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL },
};

static void
check_line(const struct want *w, struct pflog_line *got, int rc)
{
	char t[LOGTIME_BUFSIZE];

	CHECK_INT(rc, w->rc);
	if (rc != 0 || w->rc != 0)
		return;
	CHECK_STR(pflog_kind_name(got->kind), pflog_kind_name(w->kind));
	CHECK_STR(got->service, w->service);
	CHECK_STR(got->qid, w->qid);
	CHECK_STR(got->to, w->to);
	CHECK_STR(got->orig_to, w->orig_to);
	if (w->relay != NULL)
		CHECK_STR(got->relay, w->relay);
	CHECK_STR(got->status, w->status);
	if (w->detail != NULL)
		CHECK_STR(got->detail, w->detail);
	CHECK_STR(got->child_qid, w->child);
	CHECK_STR(got->message_id, w->msgid);
	CHECK_STR(got->lmtp_session, w->session);
	if (w->time != NULL)
		CHECK_STR(logtime_format(&got->time, t, sizeof(t)), w->time);
}

/* Parse a copy of s (the parser writes into its input). */
static int
parse(const char *s, size_t len, struct pflog_line *out, char **copy_r)
{
	struct logtime_ctx tc;
	const char *err;
	char *c = xmalloc(len + 1);

	memcpy(c, s, len);
	logtime_init(&tc, NOW);
	*copy_r = c;
	return pflog_parse(&tc, c, len, out, &err);
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pflog_line got;
		char *copy, name[160];
		int rc;

		snprintf(name, sizeof(name), "pflog: %s", cases[i].name);
		TEST_BEGIN(name);
		rc = parse(cases[i].line, strlen(cases[i].line), &got, &copy);
		check_line(&cases[i], &got, rc);
		free(copy);
		TEST_END();
	}
}

/*
 * Write every valid case to a file one byte at a time; after each byte the
 * follower hands out only complete lines, and each parses as a whole line.
 */
static void
test_byte_at_a_time(void)
{
	char path[] = "/tmp/test_pflog.XXXXXX", *line, *err = NULL;
	struct follower *f;
	struct follow_pos at;
	size_t i, k, len, got = 0, want = 0;
	int fd, r;
	bool ok = true;

	TEST_BEGIN("pflog: every line fed one byte at a time");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = follow_new("postfix", "test", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].line;
		size_t n = strlen(s);

		if (cases[i].rc != 0 || strchr(s, '\n') != NULL)
			continue;
		want++;
		for (k = 0; k <= n; k++) {
			if (write(fd, k < n ? &s[k] : "\n", 1) != 1)
				ok = false;
			while ((r = follow_next(f, &line, &len, &at, &err)) == 1) {
				struct pflog_line p;
				struct logtime_ctx tc;
				const char *perr;

				got++;
				if (k != n) {
					printf("# line handed out before its "
					    "newline: %s\n", cases[i].name);
					ok = false;
				}
				logtime_init(&tc, NOW);
				if (pflog_parse(&tc, line, len, &p, &perr) != 0
				    || p.kind != cases[i].kind
				    || strcmp(p.qid, cases[i].qid) != 0) {
					printf("# %s: differs\n", cases[i].name);
					ok = false;
				}
			}
			if (r < 0)
				ok = false;
		}
	}
	CHECK(ok);
	CHECK_INT(got, want);
	follow_free(&f);
	close(fd);
	unlink(path);
	TEST_END();
}

/* Every prefix of every line is refused or parsed, never crashes. */
static void
test_prefixes(void)
{
	size_t i, n;

	TEST_BEGIN("pflog: every prefix of every line is handled");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n <= strlen(cases[i].line); n++) {
			struct pflog_line p;
			char *copy;

			(void)parse(cases[i].line, n, &p, &copy);
			free(copy);
		}
	}
	TEST_END();
}

int
main(void)
{
	/* Classic stamps are local time: pin the zone. */
	setenv("TZ", "UTC", 1);
	tzset();
	test_table();
	test_byte_at_a_time();
	test_prefixes();
	return test_done();
}
