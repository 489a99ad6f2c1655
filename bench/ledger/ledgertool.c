/*
 * ledgertool - drive the route ledger by hand and for bench/ledger/run.sh.
 *
 *   ledgertool parse pflog|dovelog FILE    parse every line, print lines/s
 *   ledgertool ingest CONF                 catch up both logs into the DB
 *   ledgertool copies CONF RECALL_ID RCPT  the copies and exposures
 *   ledgertool latency CONF RECALL_ID RCPT N   N loads, print ms per load
 *
 * Built from recalld's objects by run.sh; not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cfg.h"
#include "db.h"
#include "dovelog.h"
#include "ledger.h"
#include "log.h"
#include "pflog.h"
#include "xalloc.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU time (user + system), in seconds. */
static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
	    + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int
parse_file(const char *which, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lines = 0, bad = 0, kinds = 0;
	ssize_t n;
	struct logtime_ctx tc;
	struct dovelog_line d;
	double t0, t;
	bool pf = strcmp(which, "pflog") == 0;

	if (fp == NULL) {
		perror(path);
		return 2;
	}
	memset(&d, 0, sizeof(d));
	logtime_init(&tc, 0);
	t0 = now_s();
	while ((n = getline(&line, &cap, fp)) > 0) {
		const char *err;
		struct pflog_line p;

		lines++;
		if (pf) {
			if (pflog_parse(&tc, line, (size_t)n, &p, &err) < 0)
				bad++;
			else if (p.kind != PFLOG_OTHER)
				kinds++;
		} else {
			if (dovelog_parse(&tc, line, (size_t)n, &d, &err) < 0)
				bad++;
			else if (d.kind != DOVELOG_OTHER)
				kinds++;
		}
	}
	t = now_s() - t0;
	printf("%s: %zu lines (%zu of interest, %zu refused) in %.3f s: "
	    "%.0f lines/s\n", which, lines, kinds, bad, t, (double)lines / t);
	dovelog_line_clear(&d);
	free(line);
	fclose(fp);
	return 0;
}

static void
print_copies(const struct ledger_copies *c)
{
	size_t i, j;

	printf("known=%d copies=%zu\n", c->known, c->n);
	for (i = 0; i < c->n; i++) {
		const struct ledger_copy *k = &c->v[i];

		printf("  %s user=%s delivery=%d bounced=%d locations=%zu\n",
		    k->copy_addr, k->store_user ? k->store_user : "-",
		    (int)k->delivery, k->bounced, k->n_locations);
		for (j = 0; j < k->n_exposures; j++)
			printf("    exposure %d where=%s at=%s\n",
			    (int)k->exposures[j].kind,
			    k->exposures[j].where ? k->exposures[j].where : "-",
			    k->exposures[j].at ? k->exposures[j].at : "-");
		printf("    reason: %s\n", k->reason);
	}
}

int
main(int argc, char **argv)
{
	struct recall_cfg *cfg = NULL;
	struct ledger *l = NULL;
	struct db *db = NULL;
	char *err = NULL;
	size_t lines;

	log_init("ledgertool", LOG_TO_STDERR, getenv("DEBUG") != NULL);
	if (argc == 4 && strcmp(argv[1], "parse") == 0)
		return parse_file(argv[2], argv[3]);
	if (argc < 3) {
		fprintf(stderr, "usage: see the source\n");
		return 64;
	}
	if (cfg_load(argv[2], CFG_SCOPE_ALL, &cfg, &err) < 0
	    || db_open_as(cfg->db_conninfo, "recalld", &db, &err) < 0
	    || ledger_new(cfg, NULL, &l, &err) < 0
	    || ledger_start(l, db, &err) < 0) {
		fprintf(stderr, "ledgertool: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "ingest") == 0) {
		double t0 = now_s(), c0 = cpu_s();

		if (ledger_catch_up(l, db, &lines, &err) < 0) {
			fprintf(stderr, "ledgertool: %s\n", err);
			return 1;
		}
		printf("ingested %zu lines in %.3f s (cpu %.3f s)\n", lines,
		    now_s() - t0, cpu_s() - c0);
	} else if (strcmp(argv[1], "copies") == 0 && argc == 5) {
		struct ledger_copies c;
		int r = ledger_exposures(l, db, argv[3], argv[4], &c, &err);

		if (r < 0) {
			fprintf(stderr, "ledgertool: %s\n", err);
			return 1;
		}
		print_copies(&c);
		ledger_copies_free(&c);
	} else if (strcmp(argv[1], "latency") == 0 && argc == 6) {
		int i, n = atoi(argv[5]);
		double t0 = now_s();

		for (i = 0; i < n; i++) {
			struct ledger_copies c;

			if (ledger_exposures(l, db, argv[3], argv[4], &c,
			    &err) < 0) {
				fprintf(stderr, "ledgertool: %s\n", err);
				return 1;
			}
			ledger_copies_free(&c);
		}
		printf("%.2f ms per decision lookup (%d runs)\n",
		    (now_s() - t0) * 1000 / n, n);
	}
	ledger_free(&l);
	db_close(&db);
	cfg_free(&cfg);
	return 0;
}
