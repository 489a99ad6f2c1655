/*
 * test_recalld_follow - the durable follower's file logic in a temp
 * directory: partial lines, rotation by rename and by copytruncate (also
 * while stopped), resuming at a saved position, and dedup keys that never
 * repeat.  The database half (follow_catch_up) is exercised by the lab.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "log.h"
#include "test.h"
#include "xalloc.h"

static char dir[] = "/tmp/test_follow.XXXXXX";
static char path[256];

static void
append(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

/* Every line available now, joined with '|'; keys appended to *keys. */
static char *
drain(struct follower *f, char *keys, size_t ksize)
{
	static char out[4096];
	char *line, *err = NULL, key[FOLLOW_KEY_MAX];
	size_t len;
	struct follow_pos at;
	int r;

	out[0] = '\0';
	while ((r = follow_next(f, &line, &len, &at, &err)) == 1) {
		strncat(out, line, len);
		strcat(out, "|");
		if (keys != NULL) {
			follow_dedup_key(f, &at, key, sizeof(key));
			if (strlen(keys) + strlen(key) + 2 < ksize) {
				strcat(keys, key);
				strcat(keys, "\n");
			}
		}
	}
	if (r < 0) {
		printf("# %s\n", err);
		free(err);
	}
	return out;
}

static bool
keys_unique(const char *keys)
{
	const char *a, *b;
	size_t la, lb;

	for (a = keys; *a != '\0'; a += la + 1) {
		la = strcspn(a, "\n");
		for (b = a + la + 1; *b != '\0'; b += lb + 1) {
			lb = strcspn(b, "\n");
			if (la == lb && memcmp(a, b, la) == 0)
				return false;
		}
	}
	return true;
}

static void
test_partial(void)
{
	struct follower *f;
	char *err = NULL;

	unlink(path);
	TEST_BEGIN("follow: a missing file is not an error");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "");
	TEST_END();

	TEST_BEGIN("follow: the last line waits for its newline");
	append(path, "one\ntw");
	CHECK_STR(drain(f, NULL, 0), "one|");
	append(path, "o");
	CHECK_STR(drain(f, NULL, 0), "");
	append(path, "\nthree\n");
	CHECK_STR(drain(f, NULL, 0), "two|three|");
	CHECK_INT(follow_position(f)->off, 14);
	TEST_END();

	TEST_BEGIN("follow: empty lines are lines");
	append(path, "\n\nfour\n");
	CHECK_STR(drain(f, NULL, 0), "||four|");
	TEST_END();
	follow_free(&f);
	CHECK(f == NULL);
	unlink(path);
}

static void
test_rename(void)
{
	struct follower *f;
	char *err = NULL, rot[300], keys[4096] = "";

	snprintf(rot, sizeof(rot), "%s.1", path);
	unlink(path);
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	TEST_BEGIN("follow: rotation by rename finishes the old file first");
	append(path, "a1\na2");
	CHECK_STR(drain(f, keys, sizeof(keys)), "a1|");
	CHECK(rename(path, rot) == 0);
	append(path, "b1\n");		/* the new file */
	append(rot, "\na3\n");		/* late writes to the old one */
	CHECK_STR(drain(f, keys, sizeof(keys)), "a2|a3|b1|");
	CHECK_INT(follow_position(f)->off, 3);
	TEST_END();

	TEST_BEGIN("follow: an unfinished last line of a rotated file is kept");
	CHECK(rename(path, rot) == 0);
	append(rot, "b2-no-newline");
	append(path, "c1\n");
	CHECK_STR(drain(f, keys, sizeof(keys)), "b2-no-newline|c1|");
	TEST_END();

	TEST_BEGIN("follow: dedup keys never repeat across files");
	CHECK(keys_unique(keys));
	TEST_END();
	follow_free(&f);
	unlink(path);
	unlink(rot);
}

static void
test_copytruncate(void)
{
	struct follower *f;
	char *err = NULL, keys[8192] = "";
	uint64_t gen;

	unlink(path);
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	TEST_BEGIN("follow: copytruncate restarts at 0 under a new generation");
	append(path, "x1 a fairly long line so that the head is fingerprinted.\n"
	    "x2 second line\n");
	CHECK_STR(drain(f, keys, sizeof(keys)), "x1 a fairly long line so that "
	    "the head is fingerprinted.|x2 second line|");
	gen = follow_position(f)->gen;
	CHECK(truncate(path, 0) == 0);
	append(path, "y1\n");
	CHECK_STR(drain(f, keys, sizeof(keys)), "y1|");
	CHECK(follow_position(f)->gen != gen);
	TEST_END();

	TEST_BEGIN("follow: truncated and regrown past the offset is noticed");
	append(path, "y2 padding padding padding padding padding padding pad "
	    "padding\n");
	CHECK(drain(f, keys, sizeof(keys))[0] == 'y');
	gen = follow_position(f)->gen;
	CHECK(follow_position(f)->head_len == FOLLOW_HEAD_LEN);
	CHECK(truncate(path, 0) == 0);
	append(path, "z1 different content that is longer than the old file was"
	    " by quite a margin, really\n");
	CHECK_STR(drain(f, keys, sizeof(keys)), "z1 different content that is "
	    "longer than the old file was by quite a margin, really|");
	CHECK(follow_position(f)->gen != gen);
	TEST_END();

	TEST_BEGIN("follow: dedup keys never repeat after truncation");
	CHECK(keys_unique(keys));
	TEST_END();
	follow_free(&f);
	unlink(path);
}

static void
test_resume(void)
{
	struct follower *f;
	struct follow_pos saved;
	char *err = NULL, rot[300];

	snprintf(rot, sizeof(rot), "%s.1", path);
	unlink(path);
	unlink(rot);
	append(path, "r1 the first line of this file, long enough to hash.\n"
	    "r2\n");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "r1 the first line of this file, long "
	    "enough to hash.|r2|");
	saved = *follow_position(f);
	follow_free(&f);

	TEST_BEGIN("follow: resume at the saved position");
	append(path, "r3\n");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, &saved, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "r3|");
	CHECK_INT(follow_position(f)->gen, saved.gen);
	saved = *follow_position(f);
	follow_free(&f);
	TEST_END();

	TEST_BEGIN("follow: renamed while stopped: PATH.1 is finished first");
	append(path, "r4\n");
	CHECK(rename(path, rot) == 0);
	append(path, "s1\n");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, &saved, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "r4|s1|");
	saved = *follow_position(f);
	follow_free(&f);
	TEST_END();

	TEST_BEGIN("follow: truncated while stopped: read again from 0");
	CHECK(truncate(path, 0) == 0);
	append(path, "t1\n");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, &saved, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "t1|");
	CHECK(follow_position(f)->gen != saved.gen);
	TEST_END();

	TEST_BEGIN("follow: seek back to a committed position replays");
	saved = *follow_position(f);
	append(path, "t2\nt3\n");
	CHECK_STR(drain(f, NULL, 0), "t2|t3|");
	CHECK(follow_seek(f, &saved, &err) == 0);
	CHECK_STR(drain(f, NULL, 0), "t2|t3|");
	TEST_END();
	follow_free(&f);
	unlink(path);
	unlink(rot);
}

static void
test_long_line(void)
{
	struct follower *f;
	char *err = NULL, *line, *big;
	size_t len, n = 300000;
	struct follow_pos at;

	unlink(path);
	big = xmalloc(n + 2);
	memset(big, 'L', n);
	big[n] = '\n';
	big[n + 1] = '\0';
	append(path, big);
	append(path, "after\n");
	TEST_BEGIN("follow: a line longer than the read buffer");
	f = follow_new("t", "h", path);
	CHECK(follow_start(f, NULL, &err) == 0);
	CHECK(follow_next(f, &line, &len, &at, &err) == 1);
	CHECK_INT(len, n);
	CHECK(follow_next(f, &line, &len, &at, &err) == 1);
	CHECK_INT(len, 5);
	CHECK_INT(at.off, (long long)n + 1);
	TEST_END();
	follow_free(&f);
	free(big);
	unlink(path);
}

int
main(void)
{
	log_init("# test_recalld_follow", LOG_TO_STDERR, false);
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/mail.log", dir);
	test_partial();
	test_rename();
	test_copytruncate();
	test_resume();
	test_long_line();
	rmdir(dir);
	return test_done();
}
