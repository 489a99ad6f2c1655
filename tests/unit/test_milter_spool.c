/*
 * Unit tests for milter/spool.c, milter/record.c and the statement
 * builder of milter/writer.c: durable append from many threads, reading
 * back, a torn last record skipped, replay after a restart, and inserts
 * that are idempotent by construction.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "record.h"
#include "spool.h"
#include "test.h"
#include "writer.h"

static char tmpdir[] = "/tmp/test_milter_spool.XXXXXX";
static char spooldir[300];

/* Read every line after *cur; returns the count, lines into out. */
static size_t
read_all(struct spool *sp, struct spool_cursor *cur, char **out, size_t max)
{
	char *buf, *p, *nl;
	size_t len, n = 0;
	off_t end;

	while (spool_read(sp, cur, 4096, &buf, &len, &end) == 1) {
		for (p = buf; (nl = memchr(p, '\n', (size_t)(buf + len - p)))
		    != NULL; p = nl + 1) {
			if (n < max)
				out[n] = strndup(p, (size_t)(nl - p));
			n++;
		}
		cur->off = end;
		free(buf);
	}
	return n;
}

static void
free_lines(char **v, size_t n)
{
	while (n-- > 0)
		free(v[n]);
}

struct appender {
	struct spool *sp;
	int id;
};

static void *
append_many(void *arg)
{
	struct appender *a = arg;
	char line[64];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "t%d-%d", a->id, i);
		if (spool_append(a->sp, line, strlen(line), NULL) < 0)
			return (void *)1;
	}
	return NULL;
}

/* 8 threads x 100 appends at once; returns how many threads failed. */
static int
append_threads(struct spool *sp)
{
	struct appender a[8];
	pthread_t t[8];
	void *res;
	int i, bad = 0;

	for (i = 0; i < 8; i++) {
		a[i].sp = sp;
		a[i].id = i;
		pthread_create(&t[i], NULL, append_many, &a[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], &res);
		bad += res != NULL;
	}
	return bad;
}

static void
test_spool(void)
{
	struct spool *sp;
	struct spool_cursor cur, end;
	char *lines[1000], *err = NULL, path[400];
	uint64_t appends, syncs;
	size_t n;
	int fd;

	TEST_BEGIN("spool: open creates the directory and a segment");
	CHECK(spool_open(spooldir, 0, &sp, &cur, &err) == 0);
	TEST_END();

	TEST_BEGIN("spool: 8 threads x 100 appends, group-committed, all "
	    "read back once");
	CHECK_INT(append_threads(sp), 0);
	spool_stats(sp, &appends, &syncs);
	CHECK_INT(appends, 800);
	CHECK(syncs <= appends);
	printf("# 800 appends took %llu fdatasync calls\n",
	    (unsigned long long)syncs);
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 800);
	free_lines(lines, n < 1000 ? n : 1000);
	TEST_END();

	TEST_BEGIN("spool: nothing more to read; append returns its end");
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 0);
	CHECK(spool_append(sp, "last", 4, &end) == 0);
	CHECK_INT(end.seg, cur.seg);
	CHECK_INT(end.off, cur.off + 5);
	TEST_END();

	/* A crash mid-write: a torn line at the end of the segment. */
	snprintf(path, sizeof(path), "%s/spool.%010llu", spooldir,
	    (unsigned long long)end.seg);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "{\"v\":1,\"type\":\"mess", 19) != 19)
		test_ok = false;
	close(fd);
	spool_close(&sp);

	TEST_BEGIN("spool: after a restart every segment is replayed and a "
	    "torn last record is skipped");
	CHECK(spool_open(spooldir, 0, &sp, &cur, &err) == 0);
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 801);
	if (n >= 801)
		CHECK_STR(lines[800], "last");
	free_lines(lines, n < 1000 ? n : 1000);
	TEST_END();

	TEST_BEGIN("spool: committed segments are removed, the current one "
	    "stays; a second restart replays nothing old");
	spool_remove_before(sp, &cur);
	CHECK(access(path, F_OK) != 0);
	CHECK(spool_append(sp, "new", 3, NULL) == 0);
	spool_close(&sp);
	CHECK(spool_open(spooldir, 0, &sp, &cur, &err) == 0);
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(lines[0], "new");
	free_lines(lines, n);
	spool_close(&sp);
	TEST_END();
}

/* Deadline ms from now (CLOCK_REALTIME), and ms elapsed since t0. */
static struct timespec
deadline_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000L
	    + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void *
wake_later(void *arg)
{
	usleep(50 * 1000);
	spool_wake(arg);
	return NULL;
}

static void *
append_later(void *arg)
{
	static const char *const lines[] = { "a", "b", "cdef" };
	size_t i;

	for (i = 0; i < 3; i++) {
		usleep(50 * 1000);
		if (spool_append(arg, lines[i], strlen(lines[i]), NULL) < 0)
			return arg;
	}
	return NULL;
}

/* What the writer's linger (writer.c) relies on. */
static void
test_spool_pending(void)
{
	struct spool *sp;
	struct spool_cursor cur, end;
	struct timespec dl, t0;
	char *err = NULL, *lines[1];
	uint64_t gen, gen2;
	pthread_t t;

	TEST_BEGIN("spool: pending counts durable bytes after the cursor");
	CHECK(spool_open(spooldir, 0, &sp, &cur, &err) == 0);
	/* Segments of earlier runs: a whole finished segment is "many". */
	CHECK(spool_pending(sp, &cur, NULL) == SPOOL_PENDING_MANY);
	(void)read_all(sp, &cur, lines, 0);
	spool_remove_before(sp, &cur);
	CHECK_INT(spool_pending(sp, &cur, &gen), 0);
	CHECK(spool_append(sp, "abc", 3, &end) == 0);
	CHECK_INT(spool_pending(sp, &cur, NULL), 4);
	CHECK_INT(spool_pending(sp, &end, NULL), 0);
	TEST_END();

	TEST_BEGIN("spool: wait_more times out when nothing comes");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = deadline_in(100);
	spool_wait_more(sp, &cur, 5, gen, &dl);
	CHECK(ms_since(&t0) >= 90);
	TEST_END();

	TEST_BEGIN("spool: wait_more returns at once when enough is there, or "
	    "after a wake");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = deadline_in(5000);
	spool_wait_more(sp, &cur, 4, gen, &dl);
	CHECK(ms_since(&t0) < 1000);
	(void)spool_pending(sp, &cur, &gen);
	pthread_create(&t, NULL, wake_later, sp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = deadline_in(5000);
	spool_wait_more(sp, &cur, 5, gen, &dl);
	CHECK(ms_since(&t0) < 1000);
	pthread_join(t, NULL);
	(void)spool_pending(sp, &cur, &gen2);
	CHECK(gen2 != gen);
	/* A wake that came before the wait is not lost. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	spool_wait_more(sp, &cur, 5, gen, &dl);
	CHECK(ms_since(&t0) < 1000);
	TEST_END();

	TEST_BEGIN("spool: wait_more returns only once want bytes are "
	    "durable, on the commit that reaches it");
	(void)spool_pending(sp, &cur, &gen);
	pthread_create(&t, NULL, append_later, sp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = deadline_in(5000);
	/* 4 bytes are there; append_later adds 2 + 2 + 5 after 50 ms each. */
	spool_wait_more(sp, &cur, 13, gen, &dl);
	CHECK(ms_since(&t0) >= 140);
	CHECK(ms_since(&t0) < 1000);
	CHECK(spool_pending(sp, &cur, NULL) >= 13);
	pthread_join(t, NULL);
	spool_close(&sp);
	TEST_END();
}

/* milter.spool_sync_delay > 0: appends return at once, the syncer syncs. */
static void
test_spool_delayed(void)
{
	struct spool *sp;
	struct spool_cursor cur, end;
	struct timespec dl;
	char *err = NULL, *lines[1000];
	uint64_t appends, syncs, gen;
	size_t n;

	TEST_BEGIN("spool, delayed sync: before the syncer starts, an append "
	    "is durable when it returns");
	CHECK(spool_open(spooldir, 30, &sp, &cur, &err) == 0);
	(void)read_all(sp, &cur, lines, 0);
	spool_remove_before(sp, &cur);
	CHECK(spool_append(sp, "early", 5, &end) == 0);
	CHECK_INT(spool_pending(sp, &cur, NULL), 6);
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 1);
	free_lines(lines, n);
	TEST_END();

	TEST_BEGIN("spool, delayed sync: 8 threads x 100 appends take a few "
	    "syncs, and every line becomes durable without a waiter");
	CHECK(spool_start_syncer(sp, &err) == 0);
	CHECK_INT(append_threads(sp), 0);
	/* The syncer makes them durable within its delay; allow 10 s. */
	(void)spool_pending(sp, &cur, &gen);
	dl = deadline_in(10000);
	/* "tI-J\n": 10 lines of 5 bytes and 90 of 6 per thread. */
	spool_wait_more(sp, &cur, 8 * (10 * 5 + 90 * 6), gen, &dl);
	n = read_all(sp, &cur, lines, 1000);
	CHECK_INT(n, 800);
	free_lines(lines, n < 1000 ? n : 1000);
	spool_stats(sp, &appends, &syncs);
	CHECK_INT(appends, 801);
	/* 1 for "early", then one per 30 ms round at most. */
	CHECK(syncs < 400);
	printf("# 800 delayed appends took %llu fdatasync calls\n",
	    (unsigned long long)(syncs - 1));
	TEST_END();

	TEST_BEGIN("spool, delayed sync: close syncs what is left; a restart "
	    "replays it");
	CHECK(spool_append(sp, "at-close", 8, NULL) == 0);
	spool_close(&sp);
	CHECK(spool_open(spooldir, 30, &sp, &cur, &err) == 0);
	n = read_all(sp, &cur, lines, 1000);
	CHECK(n >= 1);
	if (n >= 1)
		CHECK_STR(lines[n - 1], "at-close");
	free_lines(lines, n < 1000 ? n : 1000);
	spool_remove_before(sp, &cur);
	spool_close(&sp);
	TEST_END();
}

static void
test_record(void)
{
	struct record r, back;
	const char *why;
	char *line;

	memset(&r, 0, sizeof(r));
	r.type = RECORD_MESSAGE;
	r.key = strdup("0123456789abcdef01234567");
	r.recall_id = strdup(r.key);
	r.message_id = strdup("<a@b>");
	r.sender = strdup("");
	r.subject = strdup("caf\xc3\xa9 \xff bad\r\n folded");
	r.at = strdup("2026-11-27T21:00:00.000001Z");
	r.origin = strdup("auth");
	r.size = 1234;
	record_add_rcpt(&r, "bob@example.org", "local");
	TEST_BEGIN("record: encode is one line, decode gives it back, bad "
	    "UTF-8 cleaned");
	line = record_encode(&r);
	CHECK(strchr(line, '\n') == NULL);
	CHECK(record_decode(line, strlen(line), &back, &why) == 0);
	CHECK_STR(back.recall_id, r.recall_id);
	CHECK_STR(back.sender, "");
	CHECK(back.auth_user == NULL);
	CHECK(back.queue_id == NULL);
	CHECK_STR(back.subject, "caf\xc3\xa9 ? bad   folded");
	CHECK_INT(back.size, 1234);
	CHECK_INT(back.n_rcpts, 1);
	record_clear(&back);
	TEST_END();

	TEST_BEGIN("record: torn and foreign lines are refused");
	CHECK(record_decode(line, strlen(line) - 3, &back, &why) < 0);
	CHECK(record_decode("{\"v\":2}", 7, &back, &why) < 0);
	CHECK(record_decode("{\"v\":1,\"type\":\"message\"}", 25, &back,
	    &why) < 0);
	CHECK(record_decode("", 0, &back, &why) < 0);
	TEST_END();
	free(line);
	record_clear(&r);
}

static void
test_writer_build(void)
{
	struct record r[2];
	struct writer_batch b1, b2;
	char name[32];
	size_t i, j;
	int k;

	memset(r, 0, sizeof(r));
	r[0].type = RECORD_MESSAGE;
	r[0].key = strdup("0123456789abcdef01234567");
	r[0].recall_id = strdup(r[0].key);
	r[0].message_id = strdup("<a@b>");
	r[0].sender = strdup("a@b");
	r[0].at = strdup("2026-11-27T21:00:00Z");
	r[0].origin = strdup("smtp");
	for (i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "u%zu@example.org", i);
		record_add_rcpt(&r[0], name, "local");
	}
	r[1].type = RECORD_REENTRY;
	r[1].key = strdup("ffffffffffffffffffffffff");
	r[1].recall_id = strdup("0123456789abcdef01234567");
	r[1].at = strdup("2026-11-27T21:00:01Z");
	r[1].origin = strdup("local");
	r[1].queue_id = strdup("ABC");
	record_add_rcpt(&r[1], "bob@example.org", "local");
	record_add_rcpt(&r[1], "ext@ext.test", "external");

	TEST_BEGIN("writer: statements are parameterised multi-row inserts "
	    "with ON CONFLICT DO NOTHING, within the parameter limit");
	writer_build(r, 2, &b1);
	CHECK_INT(b1.n, 4);	/* messages, 2 x recipients, events */
	for (i = 0; i < b1.n; i++) {
		CHECK(strstr(b1.v[i].sql, "ON CONFLICT DO NOTHING") != NULL);
		CHECK(b1.v[i].nparams <= 65535);
		CHECK(strchr(b1.v[i].sql, '\'') == NULL);
	}
	if (b1.n == 4) {
		CHECK(strncmp(b1.v[0].sql, "INSERT INTO messages", 20) == 0);
		CHECK_INT(b1.v[1].nparams + b1.v[2].nparams, 6000 * 3);
		CHECK(strncmp(b1.v[3].sql, "INSERT INTO route_event", 23) == 0);
		CHECK_INT(b1.v[3].nparams, 2 * 8);
		CHECK_STR(b1.v[3].params[0], "milter:reentry:"
		    "ffffffffffffffffffffffff:bob@example.org");
	}
	TEST_END();

	TEST_BEGIN("writer: a replay builds the very same statements and "
	    "keys (so it inserts nothing twice)");
	writer_build(r, 2, &b2);
	CHECK_INT(b2.n, b1.n);
	for (i = 0; i < b1.n && i < b2.n; i++) {
		CHECK_STR(b2.v[i].sql, b1.v[i].sql);
		CHECK_INT(b2.v[i].nparams, b1.v[i].nparams);
		for (k = 0, j = 0; k < b1.v[i].nparams; k++)
			if ((b1.v[i].params[k] == NULL)
			    != (b2.v[i].params[k] == NULL)
			    || (b1.v[i].params[k] != NULL
			    && strcmp(b1.v[i].params[k], b2.v[i].params[k])
			    != 0))
				j++;
		CHECK_INT(j, 0);
	}
	TEST_END();
	writer_batch_free(&b1);
	writer_batch_free(&b2);
	record_clear(&r[0]);
	record_clear(&r[1]);
}

int
main(void)
{
	char cmd[400];

	log_init("test_milter_spool", LOG_TO_STDERR, false);
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(spooldir, sizeof(spooldir), "%s/spool", tmpdir);
	test_spool();
	test_spool_pending();
	test_spool_delayed();
	test_record();
	test_writer_build();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	return test_done();
}
