/*
 * Tests of milter/hold.c without Postfix: queue id validation, the
 * exec helper (no shell), and the durable release-time files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "log.h"
#include "test.h"

int
main(void)
{
	char dir[] = "/tmp/test_milter_hold.XXXXXX", path[256], out[64];
	char buf[64];
	struct hold *h = NULL;
	char *err = NULL;
	FILE *fp;

	log_init("test_milter_hold", LOG_TO_STDERR, false);
	if (mkdtemp(dir) == NULL)
		return 1;

	TEST_BEGIN("hold: queue ids");
	CHECK(hold_qid_valid("4F2B1A7C3D"));
	CHECK(hold_qid_valid("3k2Jq1Z9xLzv"));
	CHECK(!hold_qid_valid(""));
	CHECK(!hold_qid_valid(NULL));
	CHECK(!hold_qid_valid("../etc"));
	CHECK(!hold_qid_valid("A B"));
	CHECK(!hold_qid_valid("-d"));
	CHECK(!hold_qid_valid("0123456789012345678901234567890123"));
	TEST_END();

	TEST_BEGIN("hold: hold_run runs argv without a shell");
	{
		char *argv[] = { "/bin/echo", "a;b", "$(x)", NULL };
		char *bad[] = { "/nonexistent/prog", NULL };
		char *fail[] = { "/bin/false", NULL };

		CHECK_INT(hold_run(argv, out, sizeof(out)), 0);
		CHECK_STR(out, "a;b $(x)\n");
		CHECK_INT(hold_run(bad, out, sizeof(out)), 127);
		CHECK_INT(hold_run(fail, out, sizeof(out)), 1);
	}
	TEST_END();

	TEST_BEGIN("hold: hold_run truncates long output safely");
	{
		char *argv[] = { "/bin/echo", "0123456789012345678901234567890123456789", NULL };
		char small[8];

		CHECK_INT(hold_run(argv, small, sizeof(small)), 0);
		CHECK_STR(small, "0123456");
	}
	TEST_END();

	TEST_BEGIN("hold: add writes spool_dir/held/QID, forget removes it");
	CHECK_INT(hold_open(dir, "/etc/postfix", "host=/nonexistent", "h",
	    &h, &err), 0);
	CHECK_INT(hold_add(h, "ABC123", 1234567890), 0);
	snprintf(path, sizeof(path), "%s/held/ABC123", dir);
	fp = fopen(path, "r");
	CHECK(fp != NULL);
	if (fp != NULL) {
		CHECK(fgets(buf, sizeof(buf), fp) != NULL);
		CHECK_STR(buf, "1234567890\n");
		fclose(fp);
	}
	CHECK(hold_add(h, "../x", 1) < 0);
	hold_forget(h, "ABC123");
	CHECK(access(path, F_OK) < 0);
	hold_forget(NULL, "ABC123");
	hold_stop(&h);
	CHECK(h == NULL);
	TEST_END();

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# cleanup failed\n");
	return test_done();
}
