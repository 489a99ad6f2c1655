/*
 * recall-milter - tag, check and record mail for recall.
 *
 * SYNOPSIS
 *	recall-milter [-c FILE] [-n] [-f] [-d] [-h] [-V]
 *
 * main() loads the configuration and keys, opens the spool and the milter
 * socket while still privileged, drops to milter.user, starts the writer
 * and the SIGUSR1 reload thread, and hands over to smfi_main().  libmilter
 * handles SIGHUP, SIGTERM and SIGINT itself (they stop the filter).
 * See docs/recall-milter.8.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "version.h"
#include "callbacks.h"
#include "conf.h"
#include "hold.h"
#include "log.h"
#include "spool.h"
#include "writer.h"
#include "xalloc.h"

#define MILTER_NAME "recall-milter"

static const char *config_path = CFG_DEFAULT_PATH;

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: " MILTER_NAME " [-c FILE] [-n] [-f] [-d] [-h] "
	    "[-V]\n"
	    "  -c FILE  configuration (default " CFG_DEFAULT_PATH ")\n"
	    "  -n       check the configuration and exit\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -d       like -f, with debug logging\n"
	    "  -h       this help\n"
	    "  -V       print the version\n");
}

/* The path of a "unix:" / "local:" socket spec, or NULL for inet. */
static const char *
main_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/*
 * Remove a stale unix socket: one nobody listens on.  A live one means
 * another instance is running, which is fatal.
 */
static void
main_clear_socket(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISSOCK(st.st_mode))
		fatalx(EX_CONFIG, "%s exists and is not a socket", path);
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx(EX_CONFIG, "%s: socket path too long", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		fatal(EX_OSERR, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx(EX_TEMPFAIL, "%s: another milter is listening there",
		    path);
	close(fd);
	if (unlink(path) < 0)
		fatal(EX_OSERR, "cannot remove stale socket %s", path);
	log_info("removed stale socket %s", path);
}

static void
main_open_socket(const struct recall_cfg *cfg, const struct passwd *pw)
{
	const char *path = main_unix_path(cfg->milter.socket);
	mode_t mode = (mode_t)cfg->milter.socket_mode, old;
	struct group *gr = NULL;

	if (path != NULL)
		main_clear_socket(path);
	if (smfi_setconn(cfg->milter.socket) != MI_SUCCESS)
		fatalx(EX_CONFIG, "bad milter.socket \"%s\"", cfg->milter.socket);
	old = umask(~mode & 0777);
	if (smfi_opensocket(true) != MI_SUCCESS)
		fatalx(EX_OSERR, "cannot open milter socket %s",
		    cfg->milter.socket);
	umask(old);
	if (path == NULL)
		return;
	if (cfg->milter.socket_group != NULL
	    && (gr = getgrnam(cfg->milter.socket_group)) == NULL)
		fatalx(EX_CONFIG, "milter.socket_group: no group \"%s\"",
		    cfg->milter.socket_group);
	if (chmod(path, mode) < 0)
		fatal(EX_OSERR, "chmod %s", path);
	if ((gr != NULL || pw != NULL) && chown(path,
	    pw != NULL ? pw->pw_uid : (uid_t)-1,
	    gr != NULL ? gr->gr_gid : (gid_t)-1) < 0)
		fatal(EX_OSERR, "chown %s", path);
}

/* getpwnam, setgroups, setresgid, setresuid; then verify. */
static void
main_drop(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) < 0
	    || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0
	    || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal(EX_OSERR, "cannot drop privileges to %s", pw->pw_name);
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx(EX_SOFTWARE, "privileges were not dropped");
	log_info("running as %s", pw->pw_name);
}

/* SIGUSR1: load a new snapshot and install it; keep the old on error. */
static void *
main_reloader(void *arg)
{
	sigset_t *set = arg;
	struct milter_conf *conf;
	char *errors;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (conf_load(config_path, &conf, &errors) < 0) {
			log_errx("reload failed, keeping the old configuration: "
			    "%s", errors);
			free(errors);
			continue;
		}
		conf_install(conf);
		log_info("configuration reloaded from %s", config_path);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct milter_conf *conf;
	struct spool *spool;
	struct spool_cursor first;
	struct writer *writer = NULL;
	struct hold *hold = NULL;
	struct callbacks_env env;
	struct passwd *pw = NULL;
	static sigset_t usr1;
	pthread_t reloader;
	char hostname[256], *errors, *abs_path;
	bool check = false, foreground = false, debug = false;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:nfdhV")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			foreground = debug = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf(MILTER_NAME " %s\n", RECALL_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init(MILTER_NAME, foreground || check ? LOG_TO_STDERR
	    : LOG_TO_SYSLOG, debug);
	if (conf_load(config_path, &conf, &errors) < 0) {
		fprintf(stderr, "%s", errors);
		if (!check && !foreground)
			log_errx("configuration errors:\n%s", errors);
		free(errors);
		return EX_CONFIG;
	}
	/* daemon() changes to /: keep finding the file on reload. */
	if ((abs_path = realpath(config_path, NULL)) != NULL)
		config_path = abs_path;
	if (check) {
		printf("configuration OK\n");
		conf_release(&conf);
		return EX_OK;
	}
	if (conf->cfg->milter.user != NULL
	    && (pw = getpwnam(conf->cfg->milter.user)) == NULL)
		fatalx(EX_CONFIG, "milter.user: no user \"%s\"",
		    conf->cfg->milter.user);

	/* Privileged setup: spool, socket. */
	if (spool_open(conf->cfg->milter.spool_dir,
	    conf->cfg->milter.spool_sync_delay, &spool, &first, &errors)
	    < 0)
		fatalx(EX_CANTCREAT, "%s", errors);
	if (pw != NULL && spool_chown(spool, pw->pw_uid, pw->pw_gid,
	    &errors) < 0)
		fatalx(EX_OSERR, "%s", errors);
	if (gethostname(hostname, sizeof(hostname)) < 0)
		snprintf(hostname, sizeof(hostname), "localhost");
	hostname[sizeof(hostname) - 1] = '\0';
	if (hold_open(conf->cfg->milter.spool_dir,
	    conf->cfg->milter.postfix_config_dir, conf->cfg->db_conninfo,
	    hostname, &hold, &errors) < 0)
		fatalx(EX_CANTCREAT, "%s", errors);
	if (pw != NULL && hold_chown(hold, pw->pw_uid, pw->pw_gid, &errors)
	    < 0)
		fatalx(EX_OSERR, "%s", errors);
	if (!foreground && daemon(0, 0) < 0)
		fatal(EX_OSERR, "daemon");
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (callbacks_register(MILTER_NAME) < 0)
		fatalx(EX_SOFTWARE, "smfi_register failed");
	main_open_socket(conf->cfg, pw);
	if (pw != NULL)
		main_drop(pw);

	/* Unprivileged from here. */
	if (spool_start_syncer(spool, &errors) < 0)
		fatalx(EX_OSERR, "%s", errors);
	if (writer_start(conf->cfg->db_conninfo, conf->cfg->milter.spool_dir,
	    spool, &first, &writer, &errors) < 0)
		fatalx(EX_OSERR, "%s", errors);
	memset(&env, 0, sizeof(env));
	env.spool = spool;
	env.writer = writer;
	env.hostname = hostname;
	env.hold = hold;
	env.commit_timeout_ms = CALLBACKS_COMMIT_TIMEOUT_MS;
	callbacks_init(&env);
	log_info("listening on %s, spool %s (sync delay %ld ms), "
	    "on_db_error %s", conf->cfg->milter.socket,
	    conf->cfg->milter.spool_dir, conf->cfg->milter.spool_sync_delay,
	    conf->cfg->milter.on_db_error == CFG_DB_ERROR_TEMPFAIL
	    ? "tempfail" : "spool");
	conf_install(conf);
	if (hold_start(hold, &errors) < 0)
		fatalx(EX_OSERR, "%s", errors);
	if ((rc = pthread_create(&reloader, NULL, main_reloader, &usr1)) != 0)
		fatalx(EX_OSERR, "cannot start the reload thread: %s",
		    strerror(rc));
	rc = smfi_main();
	log_info("stopping");
	hold_stop(&hold);
	writer_stop(&writer);
	spool_close(&spool);
	conf_shutdown();
	return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
