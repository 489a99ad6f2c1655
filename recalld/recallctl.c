/*
 * recallctl - the command-line client of recalld.  See recallctl(1).
 *
 * recallctl reads only recalld.control_socket from recall.conf (scope
 * CFG_SCOPE_CLIENT, no secret), sends one request frame over the control
 * socket and prints the answer as a table or, with --json, as SPEC's JSON
 * object.  recalld learns who asks from the socket's peer credentials, so
 * recallctl needs no privilege.  Options may stand before or after the
 * subcommand (GNU getopt permutation).
 *
 * Exit: 0 complete, 1 partial, 2 failed or refused, 64 usage, 69 recalld
 * unavailable, 78 configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "proto.h"
#include "recallctl_fmt.h"
#include "xalloc.h"

#ifndef RECALL_VERSION
#define RECALL_VERSION "0.1.0"
#endif

/* A recall of many copies may take a while; recalld answers at the end. */
#define CTL_TIMEOUT_MS (15 * 60 * 1000)

struct opts {
	const char *config;
	bool json;
	bool dry_run;
	const char *as;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: recallctl [-c file] [--json] recall MSGREF [--dry-run] "
	    "[--as ADDRESS]\n"
	    "       recallctl [-c file] [--json] status MSGREF|REQUEST-ID\n"
	    "       recallctl -h | -V\n"
	    "MSGREF is a Message-ID (<a@b> or a@b) or a recall id "
	    "(24 hex digits).\n"
	    "  -c, --config FILE  configuration (default %s)\n"
	    "      --json         print one JSON object\n"
	    "      --dry-run      say what would be recalled; change nothing\n"
	    "      --as ADDRESS   admins: send the report to ADDRESS\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n", CFG_DEFAULT_PATH);
}

static _Noreturn void __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "recallctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(FMT_EXIT_USAGE);
}

/*
 * Report an error the user must see, on stderr and, with --json, as an
 * error object on stdout.  Returns code for "return fail(...)".
 */
static int
fail(const struct opts *o, int code, const char *kind, const char *msg)
{
	fprintf(stderr, "recallctl: %s\n", msg);
	if (o->json) {
		char *j = fmt_error_json(kind, msg);

		fputs(j, stdout);
		free(j);
	}
	return code;
}

/* Connect to recalld.  Returns the fd, or -1 with *error_r. */
static int
connect_recalld(const char *path, char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		*error_r = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = xasprintf("recalld is not available (%s: %s)", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Send the request, read and print the answer; returns the exit code. */
static int
run(const struct opts *o, const char *socket_path, const char *op,
    const char *ref)
{
	struct fmt_reply reply;
	char *req, *answer = NULL, *err = NULL, *out;
	const char *perr = NULL;
	size_t len = 0;
	int fd, got, code;

	req = fmt_request(op, ref, o->dry_run, o->as);
	if (req == NULL)
		return fail(o, FMT_EXIT_USAGE, "bad-request",
		    "MSGREF and --as must be UTF-8 text");
	if ((fd = connect_recalld(socket_path, &err)) < 0) {
		free(req);
		code = fail(o, FMT_EXIT_UNAVAILABLE, "unavailable", err);
		free(err);
		return code;
	}
	if (proto_send(fd, req, strlen(req), 10000, &perr) < 0
	    || (got = proto_recv(fd, &answer, &len, PROTO_MAX_FRAME,
	    CTL_TIMEOUT_MS, &perr)) <= 0) {
		char *msg = xasprintf("recalld is not available (%s)",
		    perr != NULL ? perr : "it closed the connection");

		free(req);
		close(fd);
		code = fail(o, FMT_EXIT_UNAVAILABLE, "unavailable", msg);
		free(msg);
		return code;
	}
	free(req);
	close(fd);
	if (fmt_reply_parse(answer, len, &reply, &err) < 0) {
		free(answer);
		code = fail(o, FMT_EXIT_FAILED, "internal", err);
		free(err);
		return code;
	}
	free(answer);
	code = fmt_exit_code(&reply);
	if (reply.is_error) {
		char *msg = fmt_printable(reply.error);

		fail(o, code, reply.code, msg);
		free(msg);
	} else {
		out = o->json ? fmt_json(&reply)
		    : fmt_table(&reply, o->dry_run);
		fputs(out, stdout);
		free(out);
	}
	fmt_reply_clear(&reply);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "recallctl: cannot write the answer: %s\n",
		    strerror(errno));
		return FMT_EXIT_FAILED;
	}
	return code;
}

int
main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_DRY_RUN, OPT_AS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "as", required_argument, NULL, OPT_AS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { CFG_DEFAULT_PATH, false, false, NULL };
	struct recall_cfg *cfg = NULL;
	const char *cmd, *ref;
	char *errors = NULL;
	int c, code;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case OPT_AS:
			o.as = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("recallctl %s\n", RECALL_VERSION);
			return 0;
		case ':':
			usage_error("option %s needs an argument",
			    argv[optind - 1]);
		default:
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("%s", "no command given");
	cmd = argv[optind++];
	if (strcmp(cmd, "recall") != 0 && strcmp(cmd, "status") != 0) {
		if (strcmp(cmd, "trace") == 0 || strcmp(cmd, "history") == 0
		    || strcmp(cmd, "audit") == 0
		    || strcmp(cmd, "restore") == 0) {
			fprintf(stderr, "recallctl: %s is not available in "
			    "this version\n", cmd);
			return FMT_EXIT_FAILED;
		}
		usage_error("unknown command %s", cmd);
	}
	if (argc - optind != 1)
		usage_error("%s needs exactly one argument", cmd);
	ref = argv[optind];
	if (strcmp(cmd, "recall") != 0 && (o.dry_run || o.as != NULL))
		usage_error("--dry-run and --as go with recall, not %s", cmd);

	if (cfg_load(o.config, CFG_SCOPE_CLIENT, &cfg, &errors) < 0) {
		fprintf(stderr, "%s%s", errors, errors[0] != '\0'
		    && errors[strlen(errors) - 1] != '\n' ? "\n" : "");
		free(errors);
		return FMT_EXIT_CONFIG;
	}
	code = run(&o, cfg->recalld.control_socket, cmd, ref);
	cfg_free(&cfg);
	return code;
}
