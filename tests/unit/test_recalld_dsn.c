/*
 * Unit tests for recalld/dsn.c: the report mail.  Header injection,
 * RFC 2047 subjects, the RFC 3464 Action/Status mapping, the parts.
 */
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "test.h"
#include "xalloc.h"

static struct report
sample(void)
{
	struct report r;

	memset(&r, 0, sizeof(r));
	r.request_id = 12;
	r.message_id = xstrdup("<m@example.org>");
	report_add(&r, "bob@example.org", "bob@example.org", OUTCOME_RECALLED,
	    "removed unread from INBOX", "2026-11-27T10:00:00Z");
	report_add(&r, "carol@example.org", "", OUTCOME_READ,
	    "read (\\Seen)\r\nBcc: evil@x", "2026-11-27T10:00:00Z");
	report_add(&r, "dave@example.org", "", OUTCOME_PENDING, "store down",
	    "");
	report_update_status(&r);
	return r;
}

/* Does text hold line exactly (between newlines)? */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
			return true;
		p++;
	}
	return false;
}

int
main(void)
{
	struct report r = sample();
	struct dsn_input in;
	char *msg, *s;

	TEST_BEGIN("dsn: Action and Status per outcome");
	CHECK_STR(dsn_action(OUTCOME_RECALLED), "delivered");
	CHECK_STR(dsn_status(OUTCOME_HELD_RECALLED), "2.0.0");
	CHECK_STR(dsn_action(OUTCOME_PENDING), "delayed");
	CHECK_STR(dsn_status(OUTCOME_PENDING), "4.0.0");
	CHECK_STR(dsn_action(OUTCOME_LEFT_IMAP), "failed");
	CHECK_STR(dsn_status(OUTCOME_READ), "5.0.0");
	TEST_END();

	TEST_BEGIN("dsn: fields lose CR, LF and controls; ASCII-only maps 8-bit");
	s = dsn_field("a\r\nBcc: x\tb", 100, 1);
	CHECK_STR(s, "a  Bcc: x b");
	free(s);
	s = dsn_field("caf\xc3\xa9", 100, 1);
	CHECK_STR(s, "caf??");
	free(s);
	s = dsn_field("caf\xc3\xa9", 100, 0);
	CHECK_STR(s, "caf\xc3\xa9");
	free(s);
	s = dsn_field("caf\xc3\xa9", 4, 0);	/* cut inside a character */
	CHECK_STR(s, "caf");
	free(s);
	TEST_END();

	TEST_BEGIN("dsn: invalid UTF-8 becomes U+FFFD, NUL a space");
	s = dsn_utf8_clean("a\xff" "b\0c\xe2\x82", 7);
	CHECK_STR(s, "a\xef\xbf\xbd" "b c\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	TEST_END();

	TEST_BEGIN("dsn: ASCII subject as it is, injection flattened");
	s = dsn_subject("hello\r\nBcc: evil@x");
	CHECK_STR(s, "Subject: Recall report: hello  Bcc: evil@x");
	free(s);
	s = dsn_subject(NULL);
	CHECK_STR(s, "Subject: Recall report: ");
	free(s);
	TEST_END();

	TEST_BEGIN("dsn: non-ASCII subject RFC 2047, words <= 75, folded");
	s = dsn_subject("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, "
	    "eine sehr lange Betreffzeile mit vielen W\xc3\xb6rtern "
	    "und noch mehr Text");
	CHECK(strncmp(s, "Subject: Recall report: =?UTF-8?B?", 34) == 0);
	{
		const char *p = s + strlen("Subject: Recall report: ");
		size_t words = 0;

		while (*p != '\0') {
			const char *e = strstr(p, "?=");

			CHECK(strncmp(p, "=?UTF-8?B?", 10) == 0);
			CHECK(e != NULL);
			if (e == NULL)
				break;
			CHECK((size_t)(e + 2 - p) <= 75);
			words++;
			p = e + 2;
			if (*p == '\n') {
				CHECK(p[1] == ' ');
				p += 2;
			}
		}
		CHECK(words >= 2);
		CHECK(strchr(s, '\r') == NULL);
	}
	free(s);
	TEST_END();

	memset(&in, 0, sizeof(in));
	in.reporting_mta = "mx.example.org";
	in.from = "postmaster@example.org";
	in.to = "alice@example.org\nBcc: evil@x";
	in.subject = "Quarterly";
	in.arrival_date = "Fri, 27 Nov 2026 10:00:00 +0000";
	in.date = "Fri, 27 Nov 2026 10:01:00 +0000";
	in.report_msgid = "<recall-report.12.x@mx>";
	in.boundary = "=_recall_0123";
	in.rep = &r;
	in.headers = "Message-ID: <m@example.org>\r\nSubject: Quarterly\r\n\r\n";
	in.headers_len = strlen(in.headers);
	msg = dsn_compose(&in);

	TEST_BEGIN("dsn: header: multipart/report, delivery-status, no injection");
	CHECK(strstr(msg, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"=_recall_0123\"\n")
	    != NULL);
	CHECK(has_line(msg, "To: alice@example.org Bcc: evil@x"));
	CHECK(!has_line(msg, "Bcc: evil@x"));
	CHECK(has_line(msg, "Subject: Recall report: Quarterly"));
	CHECK(has_line(msg, "Auto-Submitted: auto-replied"));
	CHECK(strchr(msg, '\r') == NULL);
	TEST_END();

	TEST_BEGIN("dsn: three parts in order, closed");
	{
		const char *a = strstr(msg, "Content-Type: text/plain");
		const char *b = strstr(msg, "Content-Type: message/delivery-status");
		const char *c = strstr(msg, "Content-Type: text/rfc822-headers");

		CHECK(a != NULL && b != NULL && c != NULL && a < b && b < c);
		CHECK(strstr(msg, "\n--=_recall_0123--\n") != NULL);
	}
	TEST_END();

	TEST_BEGIN("dsn: per-message and per-recipient fields");
	CHECK(has_line(msg, "Reporting-MTA: dns; mx.example.org"));
	CHECK(has_line(msg, "Arrival-Date: Fri, 27 Nov 2026 10:00:00 +0000"));
	CHECK(has_line(msg, "Original-Recipient: rfc822;bob@example.org"));
	CHECK(has_line(msg, "Final-Recipient: rfc822;carol@example.org"));
	CHECK(has_line(msg, "Action: delivered"));
	CHECK(has_line(msg, "Action: delayed"));
	CHECK(has_line(msg, "Status: 5.0.0"));
	CHECK(has_line(msg, "X-Recall-Outcome: read"));
	/* A reason with CR LF stays one field: no forged Bcc line. */
	CHECK(has_line(msg, "X-Recall-Reason: read (\\Seen)  Bcc: evil@x"));
	TEST_END();

	TEST_BEGIN("dsn: readable table and original header");
	CHECK(strstr(msg, "RECIPIENT          OUTCOME   REASON") != NULL);
	CHECK(strstr(msg, "bob@example.org    recalled  removed unread from "
	    "INBOX") != NULL);
	CHECK(strstr(msg, "partial, 1 of 3 copies recalled") != NULL);
	CHECK(has_line(msg, "Message-ID: <m@example.org>"));
	TEST_END();
	free(msg);

	TEST_BEGIN("dsn: no header block: the Message-ID alone");
	in.headers = NULL;
	in.headers_len = 0;
	msg = dsn_compose(&in);
	CHECK(has_line(msg, "Message-ID: <m@example.org>"));
	free(msg);
	TEST_END();

	report_clear(&r);
	return test_done();
}
