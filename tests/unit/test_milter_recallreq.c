/*
 * Tests of milter/recallreq.c: the Message-ID of a recall request mail,
 * from the Subject or from the attached original; table-driven, got/want,
 * and the body fed with every truncation length.
 */
#include <stdlib.h>
#include <string.h>

#include "recallreq.h"
#include "test.h"

static const struct {
	const char *subject;
	const char *want;	/* NULL: not a request */
} subjects[] = {
	{ "Recall: <a.1@host.example>", "<a.1@host.example>" },
	{ "recall:<a.1@host.example>", "<a.1@host.example>" },
	{ "  RECALL:   a.1@host.example  ", "<a.1@host.example>" },
	{ "Recall:\r\n <a.1@host.example>", "<a.1@host.example>" },
	{ "Recall: <a.1@host.example> please", NULL },
	{ "Recall: please undo", NULL },
	{ "Re: Recall: <a@b>", NULL },
	{ "Recall: <>", NULL },
	{ "Recall: <@b>", NULL },
	{ "Recall: <a@>", NULL },
	{ "Recall: <a@b@c>", NULL },
	{ "Recall: <a\x01@b>", NULL },
	{ "Recall: =?utf-8?q?x?=", NULL },
	{ "Recall:", NULL },
	{ "", NULL },
};

static const struct {
	const char *name;
	const char *body;
	bool top;
	const char *want;
} bodies[] = {
	{ "multipart, CRLF, folded Message-ID",
	  "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
	  "Content-Type: message/rfc822; name=x.eml\r\n"
	  "Content-Disposition: attachment\r\n\r\n"
	  "Subject: s\r\nMessage-ID:\r\n\t<orig@h.example>\r\n\r\nbody\r\n--b--\r\n",
	  false, "<orig@h.example>" },
	{ "LF only, odd case, folded Content-Type",
	  "--b\nCONTENT-TYPE:\n message/RFC822\n\nmessage-id: <o2@h>\n\nx\n",
	  false, "<o2@h>" },
	{ "top-level message/rfc822",
	  "From: a\r\nMessage-Id: <top@h>\r\n\r\nbody\r\n", true, "<top@h>" },
	{ "Message-ID in the body of the attached message is not used",
	  "Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n"
	  "Message-ID: <body@h>\r\n", false, NULL },
	{ "a plain text body mentioning Message-ID",
	  "Message-ID: <x@h>\r\n", false, NULL },
	{ "first rfc822 part without an id, second with",
	  "Content-Type: message/rfc822\r\n\r\nSubject: a\r\n\r\n"
	  "Content-Type: message/rfc822\r\n\r\nMessage-ID: <two@h>\r\n\r\n",
	  false, "<two@h>" },
	{ "bad Message-ID in the attachment",
	  "Content-Type: message/rfc822\r\n\r\nMessage-ID: <no-at>\r\n\r\n",
	  false, NULL },
	{ "empty", "", false, NULL },
};

int
main(void)
{
	size_t i, n;
	char name[160], *got;

	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		snprintf(name, sizeof(name), "recallreq: subject %zu", i);
		TEST_BEGIN(name);
		got = recallreq_from_subject(subjects[i].subject);
		CHECK_STR(got, subjects[i].want);
		free(got);
		TEST_END();
	}
	TEST_BEGIN("recallreq: NULL subject");
	CHECK(recallreq_from_subject(NULL) == NULL);
	TEST_END();
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(name, sizeof(name), "recallreq: body: %s",
		    bodies[i].name);
		TEST_BEGIN(name);
		got = recallreq_from_body(bodies[i].body,
		    strlen(bodies[i].body), bodies[i].top);
		CHECK_STR(got, bodies[i].want);
		free(got);
		TEST_END();
	}
	TEST_BEGIN("recallreq: every truncation of a body is safe");
	{
		const char *b = bodies[0].body;
		size_t len = strlen(b);

		for (n = 0; n <= len; n++) {
			char *copy = malloc(n + 1);

			/* Exactly n bytes: no NUL within reach of the scan. */
			memcpy(copy, b, n);
			got = recallreq_from_body(copy, n, false);
			if (n == len)
				CHECK_STR(got, "<orig@h.example>");
			free(got);
			free(copy);
		}
	}
	TEST_END();
	TEST_BEGIN("recallreq: Content-Type values");
	CHECK(recallreq_is_rfc822("message/rfc822"));
	CHECK(recallreq_is_rfc822(" Message/RFC822 ; name=x"));
	CHECK(!recallreq_is_rfc822("message/rfc822-headers"));
	CHECK(!recallreq_is_rfc822("text/plain"));
	CHECK(!recallreq_is_rfc822(NULL));
	TEST_END();
	return test_done();
}
