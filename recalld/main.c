/*
 * recalld - the recall daemon: serves recallctl over the control socket,
 * decides, removes copies through the doveadm HTTP API, records in
 * PostgreSQL.  See recalld(8).
 *
 * Start-up (still privileged): load recall.conf, the tag keys and the
 * doveadm API key, open the control socket, connect to PostgreSQL (a
 * failure here is logged and retried at each request), then drop to
 * recalld.user when set.  Then one single-threaded poll loop over the
 * control socket and a signalfd:
 *
 *   SIGTERM, SIGINT  remove the socket, let running requests finish,
 *                    exit 0
 *   SIGHUP           reload recall.conf, the tag keys and the API key;
 *                    on any error keep the running configuration
 *   SIGCHLD          a request's process ended
 *
 * Each connection is served by a child process (worker.h), at most
 * WORKER_MAX at once; recall requests by mail and the retries of pending
 * copies run in children too, one of each kind at a time.  The main
 * process follows the logs every second, starts the retries every
 * RECALL_RETRY_TICK seconds (recall.h), and purges expired quarantine at
 * start-up and every QUARANTINE_PURGE_INTERVAL seconds (quarantine.h).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "version.h"
#include "cfg.h"
#include "db.h"
#include "ledger.h"
#include "mailreq.h"
#include "log.h"
#include "quarantine.h"
#include "recall.h"
#include "server.h"
#include "store.h"
#include "tag.h"
#include "worker.h"
#include "xalloc.h"

/*
 * The main process (after daemon()); the request processes it forks
 * connect on their own, and say so only at debug level.
 */
static pid_t main_pid;

/* Everything a configuration (re)load produces. */
struct loaded {
	struct recall_cfg *cfg;
	struct tag_keys keys;
	struct store *store;
};

static void
loaded_free(struct loaded *l)
{
	tag_keys_free(&l->keys);
	store_free(&l->store);
	cfg_free(&l->cfg);
}

/*
 * Load the configuration and the secrets it names.  Returns 0, or -1 with
 * every problem in *errors_r (heap).
 */
static int
load_all(const char *path, struct loaded *l, char **errors_r)
{
	char *err = NULL;

	memset(l, 0, sizeof(*l));
	if (cfg_load(path, CFG_SCOPE_ALL, &l->cfg, errors_r) < 0)
		return -1;
	if (tag_keys_load(l->cfg->tag_key_file, &l->keys, &err) < 0) {
		*errors_r = xasprintf("tag.key_file: %s", err);
		free(err);
		loaded_free(l);
		return -1;
	}
	if (l->keys.n == 0) {
		*errors_r = xasprintf("tag.key_file: %s holds no key",
		    l->cfg->tag_key_file);
		loaded_free(l);
		return -1;
	}
	if (store_open(l->cfg, &l->store, &err) < 0) {
		*errors_r = xasprintf("store.doveadm_key_file: %s", err);
		free(err);
		loaded_free(l);
		return -1;
	}
	return 0;
}

/*
 * Start the route ledger once the database is there: its followers resume
 * at the positions saved in follower_state.  Until then env->ledger stays
 * NULL and every local copy is "pending" (recall.c).
 */
static void
ledger_ready(struct recall_env *env)
{
	struct ledger *l = NULL;
	char *err = NULL;

	if (env->ledger != NULL || env->db == NULL)
		return;
	if (ledger_new(env->cfg, NULL, &l, &err) < 0
	    || ledger_start(l, env->db, &err) < 0) {
		log_warnx("route ledger: %s; retrying", err);
		free(err);
		ledger_free(&l);
		return;
	}
	env->ledger = l;
	if (getpid() == main_pid)
		log_info("route ledger: following %s and %s",
		    *env->cfg->events.postfix_log != '\0'
		    ? env->cfg->events.postfix_log : "(no Postfix log)",
		    *env->cfg->events.dovecot_log != '\0'
		    ? env->cfg->events.dovecot_log : "(no Dovecot log)");
}

static int
db_ready(struct recall_env *env, char **error_r)
{
	if (env->db == NULL || !db_alive(env->db)) {
		db_close(&env->db);
		if (db_open_as(env->cfg->db_conninfo, "recalld", &env->db,
		    error_r) < 0)
			return -1;
		if (getpid() == main_pid)
			log_info("connected to the database");
		else
			log_debug("connected to the database");
	}
	ledger_ready(env);
	return 0;
}

/*
 * Between requests: read both logs up to now (LEDGER_INTERVAL_MS), so
 * that a decision has little left to read.  A database that is down is
 * tried again every LEDGER_RETRY_S seconds; errors are logged once a
 * minute at most.
 */
#define LEDGER_INTERVAL_MS 1000
#define LEDGER_RETRY_S 5

static void
ledger_tick(struct recall_env *env)
{
	static time_t last_try, last_warn;
	char *err = NULL;
	size_t lines = 0;
	time_t now = time(NULL);

	if (env->db == NULL || env->ledger == NULL) {
		if (now - last_try < LEDGER_RETRY_S)
			return;
		last_try = now;
		if (db_ready(env, &err) < 0) {
			if (now - last_warn >= 60) {
				log_warnx("route ledger: %s; retrying", err);
				last_warn = now;
			}
			free(err);
			return;
		}
		if (env->ledger == NULL)
			return;
	}
	if (ledger_catch_up(env->ledger, env->db, &lines, &err) < 0) {
		if (now - last_warn >= 60) {
			log_warnx("route ledger: %s; retrying", err);
			last_warn = now;
		}
		free(err);
		/* A broken connection is reopened at the next turn. */
		if (!db_alive(env->db))
			db_close(&env->db);
		return;
	}
	if (lines > 0)
		log_debug("route ledger: %zu line%s read", lines,
		    lines == 1 ? "" : "s");
}

/* The retries of pending copies, in a child (worker.h). */
static void
retry_task(struct recall_env *env)
{
	if (env->ledger != NULL)
		recall_retry_tick(env);
}

/* setgroups, setresgid, setresuid; then verify root cannot come back. */
static void
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx(EX_NOUSER, "recalld.user: no such user: %s", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0
	    || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0
	    || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal(EX_OSERR, "cannot drop privileges to %s", user);
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx(EX_OSERR, "privileges not dropped: setuid(0) worked");
	log_info("running as %s", user);
}

static void
reload(const char *path, struct loaded *cur, struct recall_env *env)
{
	struct loaded next;
	char *errors = NULL;

	if (load_all(path, &next, &errors) < 0) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", errors);
		free(errors);
		return;
	}
	if (strcmp(next.cfg->recalld.control_socket,
	    cur->cfg->recalld.control_socket) != 0)
		log_warnx("recalld.control_socket changed: restart recalld to "
		    "move the socket");
	if (strcmp(next.cfg->db_conninfo, cur->cfg->db_conninfo) != 0)
		db_close(&env->db);	/* reconnects at the next request */
	/* The ledger borrows the configuration: restart it on the new one. */
	ledger_free(&env->ledger);
	loaded_free(cur);
	*cur = next;
	env->cfg = cur->cfg;
	env->keys = &cur->keys;
	env->store = cur->store;
	log_info("configuration reloaded");
}

static time_t
monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static long long
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Purge expired quarantine and old Dovecot logins; a database problem
 * waits for the next turn.
 */
static void
purge_now(struct recall_env *env)
{
	char *err = NULL;
	long n = 0;

	if (db_ready(env, &err) < 0
	    || quarantine_purge(env, "recalld", &n, &err) < 0) {
		log_warnx("quarantine purge: %s", err);
		free(err);
		return;
	}
	if (ledger_logins_purge(env->db, &n, &err) < 0) {
		log_warnx("dovecot_login purge: %s", err);
		free(err);
	} else if (n > 0)
		log_info("forgot %ld Dovecot login%s older than %d days", n,
		    n == 1 ? "" : "s", LEDGER_LOGIN_DAYS);
}

static _Noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: recalld [-dfhnV] [-c file]\n"
	    "  -c file  configuration (default %s)\n"
	    "  -n       check the configuration and exit\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -d       debug: foreground, verbose log to stderr\n"
	    "  -h       this help\n"
	    "  -V       print the version\n", CFG_DEFAULT_PATH);
	exit(code);
}

static int
check_only(const char *path)
{
	struct loaded l;
	char *errors = NULL, *err = NULL;
	int ret = 0;

	if (cfg_load(path, CFG_SCOPE_ALL, &l.cfg, &errors) < 0) {
		fprintf(stderr, "%s", errors);
		if (errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return EX_CONFIG;
	}
	memset(&l.keys, 0, sizeof(l.keys));
	if (cfg_check_secret_file(l.cfg->store.doveadm_key_file, &err) < 0) {
		fprintf(stderr, "store.doveadm_key_file: %s\n", err);
		xfree(&err);
		ret = EX_CONFIG;
	}
	if (tag_keys_load(l.cfg->tag_key_file, &l.keys, &err) < 0) {
		fprintf(stderr, "tag.key_file: %s\n", err);
		xfree(&err);
		ret = EX_CONFIG;
	}
	tag_keys_free(&l.keys);
	cfg_free(&l.cfg);
	if (ret == 0)
		printf("configuration OK\n");
	return ret;
}

int
main(int argc, char **argv)
{
	const char *path = CFG_DEFAULT_PATH;
	bool check = false, foreground = false, debug = false;
	struct loaded cur;
	struct recall_env env;
	struct pollfd pfd[2];
	struct workers workers;
	int mine[2];
	sigset_t mask;
	char *errors = NULL, *sock_path;
	int c, lfd, sfd;
	bool done = false;
	char *abs_path;
	time_t next_purge, next_retry;
	long long next_ledger;

	while ((c = getopt(argc, argv, "c:dfhnV")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = true;
			foreground = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(0);
		case 'n':
			check = true;
			break;
		case 'V':
			printf("recalld %s\n", RECALL_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	if (check)
		return check_only(path);
	/* daemon() changes to "/": a reload must find the same file. */
	if ((abs_path = realpath(path, NULL)) != NULL)
		path = abs_path;

	log_init("recalld", foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, debug);
	if (load_all(path, &cur, &errors) < 0) {
		fprintf(stderr, "%s\n", errors);
		log_errx("%s", errors);
		free(errors);
		return EX_CONFIG;
	}

	/* Signals become readable events on a signalfd; nothing async. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal(EX_OSERR, "sigprocmask");
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		fatal(EX_OSERR, "signalfd");

	sock_path = xstrdup(cur.cfg->recalld.control_socket);
	if ((lfd = server_listen(sock_path, &errors)) < 0)
		fatalx(EX_UNAVAILABLE, "control socket: %s", errors);

	memset(&env, 0, sizeof(env));
	env.cfg = cur.cfg;
	env.keys = &cur.keys;
	env.store = cur.store;
	if (db_ready(&env, &errors) < 0) {
		log_warnx("%s; retrying at each request and every %d s",
		    errors, LEDGER_RETRY_S);
		xfree(&errors);
	}
	if (!foreground && daemon(0, 0) < 0)
		fatal(EX_OSERR, "daemon");
	main_pid = getpid();
	drop_privileges(cur.cfg->recalld.user);
	log_info("recalld %s listening on %s", RECALL_VERSION, sock_path);

	workers_init(&workers);
	mine[0] = lfd;	/* what a child closes first */
	mine[1] = sfd;
	pfd[0].fd = lfd;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	next_purge = monotonic_now();
	next_ledger = 0;
	next_retry = monotonic_now() + RECALL_RETRY_TICK;
	while (!done) {
		time_t now = monotonic_now();
		int ready;

		if (now >= next_purge) {
			purge_now(&env);
			next_purge = monotonic_now() + QUARANTINE_PURGE_INTERVAL;
			now = monotonic_now();
		}
		/* While WORKER_MAX requests run, new ones wait in the backlog. */
		pfd[0].events = workers_full(&workers) ? 0 : POLLIN;
		ready = poll(pfd, 2, next_purge - now < LEDGER_INTERVAL_MS / 1000
		    ? (int)(next_purge - now) * 1000 : LEDGER_INTERVAL_MS);
		/* Follow the logs between requests, at most once a second. */
		if (ready == 0 || monotonic_ms() >= next_ledger) {
			ledger_tick(&env);
			/* Recall requests by mail, in a child (worker.h). */
			if (!workers_task_running(&workers, WORKER_TASK_MAIL)
			    && mailreq_due(&env))
				(void)workers_task(&workers, WORKER_TASK_MAIL,
				    mine, 2, &env, db_ready, mailreq_run);
			next_ledger = monotonic_ms() + LEDGER_INTERVAL_MS;
		}
		/* Pending copies are retried (recall.h, recall_retry_tick). */
		if (monotonic_now() >= next_retry) {
			if (env.ledger != NULL
			    && !workers_task_running(&workers,
			    WORKER_TASK_RETRY) && recall_retry_due(&env))
				(void)workers_task(&workers, WORKER_TASK_RETRY,
				    mine, 2, &env, db_ready, retry_task);
			next_retry = monotonic_now() + RECALL_RETRY_TICK;
		}
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fatal(EX_OSERR, "poll");
		}
		if (ready == 0)
			continue;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					workers_reap(&workers);
				} else if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading %s", path);
					reload(path, &cur, &env);
				} else {
					log_info("signal %u: exiting",
					    si.ssi_signo);
					done = true;
				}
			}
		}
		if (!done && (pfd[0].revents & POLLIN))
			workers_spawn(&workers, lfd, mine, 2, &env, db_ready);
	}

	close(lfd);
	if (unlink(sock_path) < 0 && errno != ENOENT)
		log_warn("unlink %s", sock_path);
	free(sock_path);
	workers_wait_all(&workers);
	ledger_free(&env.ledger);
	db_close(&env.db);
	loaded_free(&cur);
	close(sfd);
	free(abs_path);
	log_info("stopped");
	return 0;
}
