/*
 * recallctl - the command-line client of recalld.  See recallctl(1).
 *
 * recallctl reads only recalld.control_socket from recall.conf (scope
 * CFG_SCOPE_CLIENT, no secret), sends one request frame over the control
 * socket and prints the answer.  recalld learns who asks from the
 * socket's peer credentials, so recallctl needs no privilege and has no
 * database access.  Options may stand before or after the subcommand
 * (GNU getopt permutation).
 *
 *   recall MSGREF [--dry-run] [--as A]   status MSGREF|REQUEST-ID
 *   history [filters] [--format F]       audit verify
 *   restore REQUEST-ID [--recipient A]   purge (admins: expire now)
 *
 * Hidden, for admins and tests of recall by mail: recall --on-behalf-of
 * ADDRESS [--via mail] relays a request as the milter does.
 *
 * Exit: 0 complete, 1 partial (or a broken audit chain), 2 failed or
 * refused, 64 usage, 69 recalld unavailable, 78 configuration error.
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

#include "version.h"
#include "cfg.h"
#include "proto.h"
#include "recallctl_fmt.h"
#include "recallctl_ops.h"
#include "recallctl_trace.h"
#include "xalloc.h"

/* A recall of many copies may take a while; recalld answers at the end. */
#define CTL_TIMEOUT_MS (15 * 60 * 1000)

struct opts {
	const char *config;
	bool json;
	bool dry_run;
	const char *as;
	const char *on_behalf_of;
	const char *via;
	const char *format;
	const char *recipient;
	struct ops_history_filter hist;
	bool hist_given;	/* any history-only option */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: recallctl [-c file] [--json] recall MSGREF [--dry-run] "
	    "[--as ADDRESS]\n"
	    "       recallctl [-c file] [--json] status MSGREF|REQUEST-ID\n"
	    "       recallctl [-c file] [--json] trace MSGREF\n"
	    "       recallctl [-c file] history [--sender A] [--recipient A] "
	    "[--since T] [--until T]\n"
	    "                 [--outcome O] [--limit N] "
	    "[--format table|json|csv]\n"
	    "       recallctl [-c file] [--json] audit verify\n"
	    "       recallctl [-c file] [--json] restore REQUEST-ID "
	    "[--recipient A]\n"
	    "       recallctl [-c file] [--json] purge\n"
	    "       recallctl -h | -V\n"
	    "MSGREF is a Message-ID (<a@b> or a@b) or a recall id "
	    "(24 hex digits);\n"
	    "T is a date (2026-11-27) or an RFC 3339 time "
	    "(2026-11-27T10:00:00Z).\n"
	    "  -c, --config FILE  configuration (default %s)\n"
	    "      --json         print JSON\n"
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

/*
 * Send req (stolen), read the answer into *answer_r.  Returns 0, or an
 * exit code after reporting the failure.
 */
static int
exchange(const struct opts *o, const char *socket_path, char *req,
    char **answer_r, size_t *len_r)
{
	char *err = NULL;
	const char *perr = NULL;
	int fd, got, code;

	*answer_r = NULL;
	if (req == NULL)
		return fail(o, FMT_EXIT_USAGE, "bad-request",
		    "arguments must be UTF-8 text");
	if ((fd = connect_recalld(socket_path, &err)) < 0) {
		free(req);
		code = fail(o, FMT_EXIT_UNAVAILABLE, "unavailable", err);
		free(err);
		return code;
	}
	if (proto_send(fd, req, strlen(req), 10000, &perr) < 0
	    || (got = proto_recv(fd, answer_r, len_r, PROTO_MAX_FRAME,
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
	return 0;
}

static int
flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "recallctl: cannot write the answer: %s\n",
		    strerror(errno));
		return FMT_EXIT_FAILED;
	}
	return 0;
}

/* recall and status: SPEC's report. */
static int
run_report(const struct opts *o, const char *socket_path, const char *op,
    const char *ref)
{
	struct fmt_reply reply;
	char *req, *answer = NULL, *err = NULL, *out;
	size_t len = 0;
	int code;

	req = strcmp(op, "recall") == 0
	    ? ops_recall_request(ref, o->dry_run, o->as, o->on_behalf_of,
	    o->via) : fmt_request(op, ref, false, NULL);
	if ((code = exchange(o, socket_path, req, &answer, &len)) != 0)
		return code;
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
	return flush_stdout() != 0 ? FMT_EXIT_FAILED : code;
}

/* history, audit_verify, restore, purge. */
static int
run_op(const struct opts *o, const char *socket_path, const char *op,
    char *req, enum ops_format format)
{
	struct fmt_reply reply;
	char *answer = NULL, *err = NULL, *out = NULL, *warn = NULL;
	size_t len = 0;
	int code;

	if ((code = exchange(o, socket_path, req, &answer, &len)) != 0)
		return code;
	if (fmt_reply_parse(answer, len, &reply, &err) == 0) {
		if (reply.is_error) {
			char *msg = fmt_printable(reply.error);

			code = fmt_exit_code(&reply);
			fail(o, code, reply.code, msg);
			free(msg);
			fmt_reply_clear(&reply);
			free(answer);
			return code;
		}
		fmt_reply_clear(&reply);
	}
	xfree(&err);
	code = ops_format_answer(op, answer, len, format, &out, &warn, &err);
	free(answer);
	if (code < 0) {
		code = fail(o, FMT_EXIT_FAILED, "internal", err);
		free(err);
		return code;
	}
	if (warn != NULL)
		fprintf(stderr, "recallctl: %s\n", warn);
	fputs(out, stdout);
	free(out);
	free(warn);
	return flush_stdout() != 0 ? FMT_EXIT_FAILED : code;
}

/* trace: the lead's formatter (recallctl_trace.h). */
static int
run_trace(const struct opts *o, const char *socket_path, const char *ref)
{
	char *answer = NULL, *out = NULL, *err = NULL;
	const char *kind = NULL;
	size_t len = 0;
	int code;

	if ((code = exchange(o, socket_path, fmt_request("trace", ref, false,
	    NULL), &answer, &len)) != 0)
		return code;
	code = trace_format(answer, len, o->json, &out, &err, &kind);
	free(answer);
	if (out == NULL) {
		char *msg = fmt_printable(err != NULL ? err : "?");

		code = fail(o, code, kind != NULL ? kind : "internal", msg);
		free(msg);
		free(err);
		return code;
	}
	fputs(out, stdout);
	free(out);
	free(err);
	return flush_stdout() != 0 ? FMT_EXIT_FAILED : code;
}

int
main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_DRY_RUN, OPT_AS, OPT_OBO, OPT_VIA,
	    OPT_FORMAT, OPT_SENDER, OPT_RECIPIENT, OPT_SINCE, OPT_UNTIL,
	    OPT_OUTCOME, OPT_LIMIT };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "as", required_argument, NULL, OPT_AS },
		{ "on-behalf-of", required_argument, NULL, OPT_OBO },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "sender", required_argument, NULL, OPT_SENDER },
		{ "recipient", required_argument, NULL, OPT_RECIPIENT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "outcome", required_argument, NULL, OPT_OUTCOME },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct recall_cfg *cfg = NULL;
	enum ops_format format = OPS_TABLE;
	const char *cmd, *sock;
	char *errors = NULL, *end;
	int c, code, nargs;
	bool recall_opts;

	memset(&o, 0, sizeof(o));
	o.config = CFG_DEFAULT_PATH;
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
		case OPT_OBO:
			o.on_behalf_of = optarg;
			break;
		case OPT_VIA:
			o.via = optarg;
			break;
		case OPT_FORMAT:
			o.format = optarg;
			break;
		case OPT_SENDER:
			o.hist.sender = optarg;
			o.hist_given = true;
			break;
		case OPT_RECIPIENT:
			o.recipient = optarg;
			break;
		case OPT_SINCE:
			o.hist.since = optarg;
			o.hist_given = true;
			break;
		case OPT_UNTIL:
			o.hist.until = optarg;
			o.hist_given = true;
			break;
		case OPT_OUTCOME:
			o.hist.outcome = optarg;
			o.hist_given = true;
			break;
		case OPT_LIMIT:
			errno = 0;
			o.hist.limit = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o.hist.limit < 1)
				usage_error("--limit needs a positive number");
			o.hist_given = true;
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
	nargs = argc - optind;
	recall_opts = o.dry_run || o.as != NULL || o.on_behalf_of != NULL
	    || o.via != NULL;
	if (strcmp(cmd, "recall") != 0 && recall_opts)
		usage_error("--dry-run and --as go with recall, not %s", cmd);
	if (strcmp(cmd, "history") != 0 && (o.hist_given || o.format != NULL))
		usage_error("--sender, --since, --until, --outcome, --limit "
		    "and --format go with history, not %s", cmd);
	if (o.recipient != NULL && strcmp(cmd, "history") != 0
	    && strcmp(cmd, "restore") != 0)
		usage_error("--recipient goes with history or restore, not %s",
		    cmd);
	if (strcmp(cmd, "recall") == 0 || strcmp(cmd, "status") == 0
	    || strcmp(cmd, "restore") == 0 || strcmp(cmd, "trace") == 0) {
		if (nargs != 1)
			usage_error("%s needs exactly one argument", cmd);
	} else if (strcmp(cmd, "audit") == 0) {
		if (nargs != 1 || strcmp(argv[optind], "verify") != 0)
			usage_error("%s", "audit takes one argument: verify");
	} else if (strcmp(cmd, "history") == 0 || strcmp(cmd, "purge") == 0) {
		if (nargs != 0)
			usage_error("%s takes no argument", cmd);
	} else {
		usage_error("unknown command %s", cmd);
	}
	if (o.via != NULL && strcmp(o.via, "mail") != 0
	    && strcmp(o.via, "recallctl") != 0)
		usage_error("%s", "--via is mail or recallctl");
	if (o.format != NULL) {
		if (strcmp(o.format, "table") == 0)
			format = OPS_TABLE;
		else if (strcmp(o.format, "json") == 0)
			format = OPS_JSON;
		else if (strcmp(o.format, "csv") == 0)
			format = OPS_CSV;
		else
			usage_error("--format is table, json or csv, not %s",
			    o.format);
	} else if (o.json) {
		format = OPS_JSON;
	}
	if (o.hist.outcome != NULL && !fmt_outcome_valid(o.hist.outcome))
		usage_error("--outcome %s is not an outcome (recalled, read, "
		    "left-external, left-forwarded, left-list, left-pop3, "
		    "left-imap, left-mobile, held-recalled, not-found, "
		    "expired, opted-out, pending)", o.hist.outcome);

	if (cfg_load(o.config, CFG_SCOPE_CLIENT, &cfg, &errors) < 0) {
		fprintf(stderr, "%s%s", errors, errors[0] != '\0'
		    && errors[strlen(errors) - 1] != '\n' ? "\n" : "");
		free(errors);
		return FMT_EXIT_CONFIG;
	}
	sock = cfg->recalld.control_socket;
	if (strcmp(cmd, "recall") == 0 || strcmp(cmd, "status") == 0) {
		code = run_report(&o, sock, cmd, argv[optind]);
	} else if (strcmp(cmd, "trace") == 0) {
		code = run_trace(&o, sock, argv[optind]);
	} else if (strcmp(cmd, "history") == 0) {
		o.hist.recipient = o.recipient;
		code = run_op(&o, sock, "history",
		    ops_history_request(&o.hist), format);
	} else if (strcmp(cmd, "audit") == 0) {
		code = run_op(&o, sock, "audit_verify",
		    ops_simple_request("audit_verify"), format);
	} else if (strcmp(cmd, "restore") == 0) {
		code = run_op(&o, sock, "restore",
		    ops_restore_request(argv[optind], o.recipient), format);
	} else {
		code = run_op(&o, sock, "purge", ops_simple_request("purge"),
		    format);
	}
	cfg_free(&cfg);
	return code;
}
