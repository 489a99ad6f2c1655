/*
 * End-to-end tests of milter/callbacks.c through the link-time fakes of
 * libmilter (fake_libmilter.c): each case drives one message through the
 * xxfi callbacks and checks the header edits and the spooled record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "conf.h"
#include "fake_libmilter.h"
#include "log.h"
#include "message.h"
#include "msgctx.h"
#include "record.h"
#include "spool.h"
#include "tag.h"
#include "test.h"

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char tmpdir[] = "/tmp/test_milter_cb.XXXXXX";
static struct spool *spool;
static struct spool_cursor rcur;
static struct tag_keys keys;

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		printf("# cannot write %s\n", path);
		exit(1);
	}
	chmod(path, (mode_t)mode);
}

static void setup_with(const char *on_db_error, const char *extra);

static void
setup(const char *on_db_error)
{
	setup_with(on_db_error, "");
}

static void
setup_with(const char *on_db_error, const char *extra)
{
	char path[256], key[256], conf_text[1024], *err = NULL;
	struct milter_conf *conf;

	snprintf(key, sizeof(key), "%s/tag.key", tmpdir);
	write_file(key, KEY_A "\n", 0600);
	snprintf(conf_text, sizeof(conf_text),
	    "database = { conninfo = \"host=/nonexistent\"; };\n"
	    "local_domains = [ \"example.org\" ];\n"
	    "mailing_lists = [ \"lists.example.org\", \"all@example.org\" ];\n"
	    "tag = { key_file = \"%s\"; };\n"
	    "milter = { internal_networks = [ \"10.0.0.0/8\" ];\n"
	    "  spool_dir = \"%s/spool\"; on_db_error = \"%s\";\n%s };\n",
	    key, tmpdir, on_db_error, extra);
	snprintf(path, sizeof(path), "%s/recall.conf", tmpdir);
	write_file(path, conf_text, 0644);
	if (conf_load(path, &conf, &err) < 0) {
		printf("# conf: %s\n", err);
		exit(1);
	}
	conf_install(conf);
}

/* The records spooled since the last call. */
static size_t
spooled(struct record *out, size_t max)
{
	char *buf, *p, *nl;
	size_t len, n = 0;
	off_t end;
	const char *why;

	while (spool_read(spool, &rcur, 1 << 20, &buf, &len, &end) == 1) {
		for (p = buf; (nl = memchr(p, '\n', (size_t)(buf + len - p)))
		    != NULL; p = nl + 1) {
			if (n < max && record_decode(p, (size_t)(nl - p),
			    &out[n], &why) == 0)
				n++;
		}
		rcur.off = end;
		free(buf);
	}
	return n;
}

static void
clear_records(struct record *r, size_t n)
{
	while (n-- > 0)
		record_clear(&r[n]);
}

struct msg {
	const char *client_addr;	/* connect sockaddr text */
	const char *host;
	bool daemon_addr;
	const char *auth;
	const char *qid;
	const char *from;
	const char *const *rcpts;
	const char *const *hdrs;	/* name, value, ..., NULL */
	const char *body;
};

static int last_rcpt_rc;

static int
run(struct smfi_str *ctx, const struct msg *m)
{
	unsigned long pf0, pf1, pf2, pf3;
	char *argv[2] = { NULL, NULL };
	size_t i;
	int rc;

	fake_clear_edits(ctx);
	CHECK_INT(cb_negotiate(ctx, 0x1ff, 0x1fffff, 0, 0, &pf0, &pf1, &pf2,
	    &pf3), SMFIS_CONTINUE);
	fake_macro(ctx, "{daemon_addr}", m->daemon_addr ? "192.0.2.1" : NULL);
	fake_macro(ctx, "{client_addr}", m->client_addr);
	cb_connect(ctx, (char *)m->host, NULL);
	fake_macro(ctx, "{auth_authen}", m->auth);
	fake_macro(ctx, "i", m->qid);
	argv[0] = (char *)m->from;
	cb_envfrom(ctx, argv);
	for (i = 0; m->rcpts[i] != NULL; i++) {
		argv[0] = (char *)m->rcpts[i];
		last_rcpt_rc = cb_envrcpt(ctx, argv);
	}
	for (i = 0; m->hdrs != NULL && m->hdrs[i] != NULL; i += 2)
		cb_header(ctx, (char *)m->hdrs[i], (char *)m->hdrs[i + 1]);
	if (m->body != NULL)
		cb_body(ctx, (unsigned char *)m->body, strlen(m->body));
	rc = cb_eom(ctx);
	return rc;
}

static const char *const one_rcpt[] = { "<bob@example.org>", NULL };

static void
test_outside_forged(void)
{
	static const char *const hdrs[] = { "Subject", "hi",
	    "X-Recall-ID", "r1-forged", "x-recall-id", "two",
	    "X-RECALL-ID", "three", NULL };
	struct msg m = { "192.0.2.7", "client.example", true, NULL, "QID1",
	    "<eve@ext.test>", one_rcpt, hdrs, "body\r\n" };
	struct smfi_str *ctx = fake_ctx_new();
	struct record r[2];

	TEST_BEGIN("callbacks: outside mail with 3 forged tags (odd case): "
	    "all removed, none added, nothing recorded");
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_CHANGE, "X-Recall-ID"), 3);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 0);
	/* Deleted from the last to the first so indexes stay valid. */
	CHECK_INT(ctx->edits[0].index, 3);
	CHECK_INT(ctx->edits[1].index, 2);
	CHECK_INT(ctx->edits[2].index, 1);
	CHECK(ctx->edits[0].value == NULL);
	CHECK_INT(spooled(r, 2), 0);
	TEST_END();
	cb_close(ctx);
	fake_ctx_free(&ctx);
}

static void
test_inside_tagged(void)
{
	static const char *const hdrs[] = { "Subject", "report",
	    "Message-ID", "<abc@host.example.org>", NULL };
	static const char *const rcpts[] = { "<bob@example.org>",
	    "carol@ext.test", "<all@example.org>", "x@lists.example.org",
	    NULL };
	struct msg m = { "192.0.2.7", "client.example", true, "alice",
	    "QID2", "<alice@Example.ORG>", rcpts, hdrs, "hello\r\n" };
	struct smfi_str *ctx = fake_ctx_new();
	struct record r[2];
	char id[TAG_ID_HEX + 1], tok[TAG_TOKEN_LEN + 1] = "";

	TEST_BEGIN("callbacks: authenticated mail is tagged once and "
	    "recorded");
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "Message-ID"), 0);
	CHECK_INT(fake_count(ctx, FAKE_CHANGE, "X-Recall-ID"), 0);
	if (fake_added(ctx, "X-Recall-ID", 0) != NULL)
		snprintf(tok, sizeof(tok), "%s", fake_added(ctx, "X-Recall-ID",
		    0));
	CHECK(tag_verify(&keys, tok, id, NULL) == TAG_VALID);
	CHECK_INT(spooled(r, 2), 1);
	CHECK_STR(r[0].recall_id, id);
	CHECK_STR(r[0].message_id, "<abc@host.example.org>");
	CHECK_STR(r[0].sender, "alice@example.org");
	CHECK_STR(r[0].auth_user, "alice");
	CHECK_STR(r[0].queue_id, "QID2");
	CHECK_STR(r[0].origin, "auth");
	CHECK_STR(r[0].subject, "report");
	CHECK_STR(r[0].client_addr, "192.0.2.7");
	CHECK_INT(r[0].size, strlen("Subject: report\r\n")
	    + strlen("Message-ID: <abc@host.example.org>\r\n") + 7);
	CHECK_INT(r[0].n_rcpts, 4);
	if (r[0].n_rcpts == 4) {
		CHECK_STR(r[0].rcpts[0].addr, "bob@example.org");
		CHECK_STR(r[0].rcpts[0].class, "local");
		CHECK_STR(r[0].rcpts[1].addr, "carol@ext.test");
		CHECK_STR(r[0].rcpts[1].class, "external");
		CHECK_STR(r[0].rcpts[2].class, "list");
		CHECK_STR(r[0].rcpts[3].class, "list");
	}
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("callbacks: second message on the same connection gets "
	    "its own tag; missing Message-ID is added");
	{
		static const char *const h2[] = { "Subject", "again", NULL };

		m.hdrs = h2;
		m.qid = "QID3";
		CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
		CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
		CHECK_INT(fake_count(ctx, FAKE_ADD, "Message-ID"), 1);
		CHECK_INT(spooled(r, 2), 1);
		CHECK(fake_added(ctx, "X-Recall-ID", 0) != NULL
		    && strcmp(fake_added(ctx, "X-Recall-ID", 0), tok) != 0);
		if (r[0].recall_id != NULL) {
			char want[128];

			snprintf(want, sizeof(want), "<%s@example.org>",
			    r[0].recall_id);
			CHECK_STR(fake_added(ctx, "Message-ID", 0), want);
			CHECK_STR(r[0].message_id, want);
		}
		clear_records(r, 1);
	}
	TEST_END();
	cb_close(ctx);
	fake_ctx_free(&ctx);
}

static void
test_reentry_and_bad(void)
{
	struct smfi_str *ctx = fake_ctx_new();
	char id[TAG_ID_HEX + 1], tok[TAG_TOKEN_LEN + 1];
	char good[TAG_TOKEN_LEN + 1];
	const char *hdrs[] = { "X-Recall-ID", tok, NULL };
	struct msg m = { "10.1.2.3", "relay.example.org", true, NULL, "QID4",
	    "alice@example.org", one_rcpt, hdrs, NULL };
	struct record r[2];

	tag_new_id(id);
	tag_make(&keys, id, tok);
	memcpy(good, tok, sizeof(good));
	TEST_BEGIN("callbacks: inside mail with a valid tag is a re-entry: "
	    "no edits, route event recorded");
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(ctx->n_edits, 0);
	CHECK_INT(spooled(r, 2), 1);
	CHECK_INT(r[0].type, RECORD_REENTRY);
	CHECK_STR(r[0].recall_id, id);
	CHECK_STR(r[0].queue_id, "QID4");
	CHECK_STR(r[0].origin, "smtp");
	CHECK_INT(r[0].n_rcpts, 1);
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("callbacks: inside mail with a bad tag: removed and "
	    "replaced");
	tok[TAG_TOKEN_LEN - 1] = tok[TAG_TOKEN_LEN - 1] == 'a' ? 'b' : 'a';
	m.qid = "QID5";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_CHANGE, "X-Recall-ID"), 1);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
	CHECK_INT(spooled(r, 2), 1);
	CHECK_INT(r[0].type, RECORD_MESSAGE);
	CHECK(r[0].recall_id != NULL && strcmp(r[0].recall_id, id) != 0);
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("callbacks: a valid tag from outside is removed too");
	memcpy(tok, good, sizeof(good));
	CHECK(tag_verify(&keys, tok, id, NULL) == TAG_VALID);
	m.client_addr = "192.0.2.9";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_CHANGE, "X-Recall-ID"), 1);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 0);
	CHECK_INT(spooled(r, 2), 0);
	TEST_END();
	cb_close(ctx);
	fake_ctx_free(&ctx);
}

static void
test_edge(void)
{
	static const char *const brackets[] = { "<bob@Example.Org>",
	    "bob2@example.org", " <carol@ext.test> ", NULL };
	struct msg m = { "127.0.0.1", "localhost", false, NULL, NULL,
	    "root@mx.example.org", brackets, NULL, "x" };
	struct smfi_str *ctx = fake_ctx_new();
	struct record r[2];
	const char **many;
	char (*addrs)[40];
	size_t i;

	TEST_BEGIN("callbacks: missing {i}: recorded without a queue id, "
	    "mail not failed");
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
	CHECK_INT(spooled(r, 2), 1);
	CHECK(r[0].queue_id == NULL);
	TEST_END();

	TEST_BEGIN("callbacks: local submission (no {daemon_addr}) is "
	    "inside");
	CHECK_STR(r[0].origin, "local");
	TEST_END();

	TEST_BEGIN("callbacks: addresses with and without angle brackets");
	CHECK_STR(r[0].sender, "root@mx.example.org");
	CHECK_INT(r[0].n_rcpts, 3);
	if (r[0].n_rcpts == 3) {
		CHECK_STR(r[0].rcpts[0].addr, "bob@example.org");
		CHECK_STR(r[0].rcpts[1].addr, "bob2@example.org");
		CHECK_STR(r[0].rcpts[2].addr, "carol@ext.test");
		CHECK_STR(r[0].rcpts[2].class, "external");
	}
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("callbacks: 1,000 recipients all recorded");
	many = calloc(1001, sizeof(*many));
	addrs = calloc(1000, sizeof(*addrs));
	for (i = 0; i < 1000; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "<user%zu@%s>", i,
		    i % 2 ? "example.org" : "ext.test");
		many[i] = addrs[i];
	}
	m.rcpts = many;
	m.qid = "QID6";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(spooled(r, 2), 1);
	CHECK_INT(r[0].n_rcpts, 1000);
	if (r[0].n_rcpts == 1000) {
		CHECK_STR(r[0].rcpts[999].addr, "user999@example.org");
		CHECK_STR(r[0].rcpts[999].class, "local");
		CHECK_STR(r[0].rcpts[998].class, "external");
	}
	clear_records(r, 1);
	free(many);
	free(addrs);
	TEST_END();

	TEST_BEGIN("callbacks: huge and malformed header values are kept "
	    "valid UTF-8");
	{
		char *huge = malloc(100001);
		const char *hdrs[] = { "Subject", huge, "Message-ID",
		    "not an id \xff\xfe", NULL };

		memset(huge, 'A', 100000);
		huge[100000] = '\0';
		huge[5] = (char)0xc3;	/* a broken UTF-8 sequence */
		m.rcpts = one_rcpt;
		m.hdrs = hdrs;
		CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
		CHECK_INT(spooled(r, 2), 1);
		CHECK(r[0].subject != NULL
		    && strlen(r[0].subject) <= MSGCTX_SUBJECT_MAX);
		CHECK(r[0].subject != NULL && r[0].subject[5] == '?');
		CHECK(r[0].message_id != NULL
		    && strchr(r[0].message_id, '\xff') == NULL);
		CHECK_INT(fake_count(ctx, FAKE_ADD, "Message-ID"), 0);
		clear_records(r, 1);
		free(huge);
	}
	TEST_END();

	TEST_BEGIN("callbacks: the MTA refusing an edit means tempfail");
	m.hdrs = NULL;
	ctx->fail_edits = 1;
	CHECK_INT(run(ctx, &m), SMFIS_TEMPFAIL);
	CHECK(ctx->reply != NULL && strncmp(ctx->reply, "451 4.3.0", 9) == 0);
	ctx->fail_edits = 0;
	spooled(r, 2);
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("callbacks: abort and close without a message are safe");
	CHECK_INT(cb_abort(ctx), SMFIS_CONTINUE);
	CHECK_INT(cb_close(ctx), SMFIS_CONTINUE);
	CHECK_INT(cb_close(ctx), SMFIS_CONTINUE);
	TEST_END();
	fake_ctx_free(&ctx);
}

static void
test_strict(void)
{
	struct msg m = { "10.0.0.1", "h", true, NULL, "QID7", "a@example.org",
	    one_rcpt, NULL, NULL };
	struct smfi_str *ctx = fake_ctx_new();
	struct record r[2];

	setup("tempfail");
	TEST_BEGIN("callbacks: on_db_error=tempfail with the database down "
	    "tempfails inside mail and records nothing");
	CHECK_INT(run(ctx, &m), SMFIS_TEMPFAIL);
	CHECK(ctx->reply != NULL && strncmp(ctx->reply, "451", 3) == 0);
	CHECK_INT(spooled(r, 2), 0);
	TEST_END();

	TEST_BEGIN("callbacks: on_db_error=tempfail does not affect outside "
	    "mail");
	m.client_addr = "192.0.2.1";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	TEST_END();
	cb_close(ctx);
	fake_ctx_free(&ctx);
}

static void
test_recall_by_mail(void)
{
	static const char *const to_recall[] = { "<Recall@example.org>", NULL };
	static const char *const to_both[] = { "<bob@example.org>",
	    "<recall@example.org>", NULL };
	static const char *const subj[] = { "Subject",
	    "recall:   <orig.1@host.example.org>  ", NULL };
	static const char *const plain[] = { "Subject", "hello", NULL };
	static const char *const mime[] = { "Subject", "Fwd: oops",
	    "Content-Type", "multipart/mixed; boundary=\"b\"", NULL };
	static const char *const body =
	    "--b\r\nContent-Type: text/plain\r\n\r\nplease recall\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n"
	    "Content-Disposition: attachment\r\n\r\n"
	    "From: alice@example.org\r\nSubject: oops\r\n"
	    "Message-Id:\r\n <att.2@host.example.org>\r\n\r\nbody\r\n--b--\r\n";
	struct msg m = { "192.0.2.7", "client.example", true, "alice",
	    "RQ1", "<alice@example.org>", to_recall, subj, "x\r\n" };
	struct smfi_str *ctx = fake_ctx_new();
	struct record r[3];

	setup_with("spool", "  recall_address = \"recall@example.org\";\n");
	TEST_BEGIN("recall by mail: authenticated request is discarded and "
	    "spooled as a recall_request");
	CHECK_INT(run(ctx, &m), SMFIS_DISCARD);
	CHECK_INT(ctx->n_edits, 0);
	CHECK_INT(spooled(r, 3), 1);
	CHECK_INT(r[0].type, RECORD_RECALL_REQUEST);
	CHECK_STR(r[0].ref, "<orig.1@host.example.org>");
	CHECK_STR(r[0].requested_by, "alice@example.org");
	CHECK_STR(r[0].auth_user, "alice");
	CHECK_STR(r[0].queue_id, "RQ1");
	CHECK(r[0].key != NULL && strlen(r[0].key) == TAG_ID_HEX);
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("recall by mail: the original attached as message/rfc822");
	m.hdrs = mime;
	m.body = body;
	m.qid = "RQ2";
	CHECK_INT(run(ctx, &m), SMFIS_DISCARD);
	CHECK_INT(spooled(r, 3), 1);
	CHECK_STR(r[0].ref, "<att.2@host.example.org>");
	clear_records(r, 1);
	TEST_END();

	TEST_BEGIN("recall by mail: no Message-ID -> 550 5.6.0, nothing "
	    "spooled");
	m.hdrs = plain;
	m.body = "just text\r\n";
	m.qid = "RQ3";
	CHECK_INT(run(ctx, &m), SMFIS_REJECT);
	CHECK(ctx->reply != NULL && strncmp(ctx->reply, "550 5.6.0", 9) == 0);
	CHECK_INT(spooled(r, 3), 0);
	TEST_END();

	TEST_BEGIN("recall by mail: other recipients: recall address removed, "
	    "the rest tagged and recorded without it");
	m.hdrs = subj;
	m.rcpts = to_both;
	m.qid = "RQ4";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_DELRCPT, "rcpt"), 1);
	CHECK_STR(ctx->edits[0].value, "<recall@example.org>");
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
	CHECK_INT(spooled(r, 3), 2);
	CHECK_INT(r[0].type, RECORD_RECALL_REQUEST);
	CHECK_INT(r[1].type, RECORD_MESSAGE);
	CHECK_INT(r[1].n_rcpts, 1);
	if (r[1].n_rcpts == 1)
		CHECK_STR(r[1].rcpts[0].addr, "bob@example.org");
	clear_records(r, 2);
	TEST_END();

	TEST_BEGIN("recall by mail: outside sender refused with 550 5.7.1 at "
	    "end of message (RCPT needs no reply)");
	free(ctx->reply);
	ctx->reply = NULL;
	m.auth = NULL;
	m.rcpts = to_recall;
	m.qid = "RQ5";
	CHECK_INT(run(ctx, &m), SMFIS_REJECT);
	CHECK_INT(last_rcpt_rc, SMFIS_NOREPLY);
	CHECK(ctx->reply != NULL && strcmp(ctx->reply, "550 5.7.1 "
	    MESSAGE_REQ_AUTH_TEXT) == 0);
	CHECK_INT(spooled(r, 3), 0);
	TEST_END();

	TEST_BEGIN("recall by mail: outside sender to the recall address and "
	    "others: the recall address removed, no request, the others get "
	    "the message");
	free(ctx->reply);
	ctx->reply = NULL;
	m.rcpts = to_both;
	m.qid = "RQ5b";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK(ctx->reply == NULL);
	CHECK_INT(fake_count(ctx, FAKE_DELRCPT, "rcpt"), 1);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 0);
	CHECK_INT(spooled(r, 3), 0);
	TEST_END();

	TEST_BEGIN("recall by mail: inside network without auth is refused");
	free(ctx->reply);
	ctx->reply = NULL;
	m.rcpts = to_recall;
	m.client_addr = "10.0.0.9";
	m.qid = "RQ6";
	CHECK_INT(run(ctx, &m), SMFIS_REJECT);
	CHECK(ctx->reply != NULL && strncmp(ctx->reply, "550 5.7.1", 9) == 0);
	CHECK_INT(spooled(r, 3), 0);
	TEST_END();

	TEST_BEGIN("recall by mail: inside network without auth, other "
	    "recipients: recall address removed, the message tagged and "
	    "recorded for them, no request");
	free(ctx->reply);
	ctx->reply = NULL;
	m.rcpts = to_both;
	m.qid = "RQ7";
	CHECK_INT(run(ctx, &m), SMFIS_CONTINUE);
	CHECK_INT(fake_count(ctx, FAKE_DELRCPT, "rcpt"), 1);
	CHECK_INT(fake_count(ctx, FAKE_ADD, "X-Recall-ID"), 1);
	CHECK_INT(spooled(r, 3), 1);
	CHECK_INT(r[0].type, RECORD_MESSAGE);
	clear_records(r, 1);
	TEST_END();
	cb_close(ctx);
	fake_ctx_free(&ctx);
	setup("spool");
}

int
main(void)
{
	struct callbacks_env env = { NULL, NULL, "test-host", 50, NULL };
	char path[256], *err = NULL;

	log_init("test_milter_callbacks", LOG_TO_STDERR, false);
	if (mkdtemp(tmpdir) == NULL) {
		printf("# mkdtemp failed\n");
		return 1;
	}
	tag_keys_parse(KEY_A "\n", &keys, &err);
	setup("spool");
	snprintf(path, sizeof(path), "%s/spool", tmpdir);
	if (spool_open(path, 0, &spool, &rcur, &err) < 0) {
		printf("# %s\n", err);
		return 1;
	}
	env.spool = spool;
	callbacks_init(&env);
	test_outside_forged();
	test_inside_tagged();
	test_reentry_and_bad();
	test_edge();
	test_strict();
	test_recall_by_mail();
	spool_close(&spool);
	conf_shutdown();
	tag_keys_free(&keys);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path) != 0)
		printf("# cleanup failed\n");
	return test_done();
}
