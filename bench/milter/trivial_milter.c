/*
 * trivial_milter - the benchmark's yardstick: a threaded libmilter filter
 * that adds one header (X-Bench-Tag: <{i}>) at end of message and does
 * nothing else (no other callback is registered).
 *
 *   trivial_milter -p unix:/path/to.sock
 *
 * Built by bench/milter/run.sh with cc ... -lmilter -lpthread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static sfsistat
tm_eom(SMFICTX *ctx)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (smfi_addheader(ctx, "X-Bench-Tag",
	    (char *)(qid != NULL ? qid : "none")) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;
	const char *conn = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "p:")) != -1) {
		if (ch == 'p')
			conn = optarg;
		else
			return 64;
	}
	if (conn == NULL) {
		fprintf(stderr, "usage: trivial_milter -p unix:/path\n");
		return 64;
	}
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = "trivial_milter";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_ADDHDRS;
	desc.xxfi_eom = tm_eom;
	umask(0);	/* Postfix (user postfix) must be able to connect. */
	if (smfi_setconn((char *)conn) != MI_SUCCESS
	    || smfi_register(desc) != MI_SUCCESS
	    || smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "trivial_milter: cannot listen on %s\n", conn);
		return 69;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
