/*
 * Unit tests for lib/cfg.c: defaults, every error kind with its line, the
 * client scope, secret-file checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "test.h"

static char dir[] = "/tmp/recall-test-cfg.XXXXXX";

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL)
		return path;
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

#define MINIMAL \
	"database = { conninfo = \"dbname=recall\"; };\n" \
	"local_domains = [ \"Example.org\" ];\n" \
	"tag = { key_file = \"/etc/recall/tag.key\"; };\n"

int
main(void)
{
	struct recall_cfg *cfg = NULL;
	char *err = NULL;
	const char *p;

	if (mkdtemp(dir) == NULL)
		return 1;

	TEST_BEGIN("cfg: minimal file gets SPEC defaults");
	p = write_file("min.conf", MINIMAL, 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) == 0);
	if (cfg != NULL) {
		CHECK_STR(cfg->db_conninfo, "dbname=recall");
		CHECK_INT(cfg->local_domains.n, 1);
		CHECK_STR(cfg->local_domains.v[0], "example.org");
		CHECK_STR(cfg->milter.socket, "unix:/run/recall/milter.sock");
		CHECK_STR(cfg->milter.spool_dir, "/var/spool/recall");
		CHECK(cfg->milter.on_db_error == CFG_DB_ERROR_SPOOL);
		CHECK(cfg->milter.recall_address == NULL);
		CHECK_INT(cfg->milter.hold_external, 0);
		CHECK_INT(cfg->milter.spool_sync_delay, 20);
		CHECK_STR(cfg->milter.postfix_config_dir, "/etc/postfix");
		CHECK(cfg->milter.user == NULL);
		CHECK_INT(cfg->milter.internal_networks.n, 1);
		CHECK_STR(cfg->recalld.control_socket, "/run/recall/recalld.sock");
		CHECK(strlist_contains(&cfg->recalld.admins, "root"));
		CHECK_STR(cfg->store.dovecot_user, "%u");
		CHECK_INT(cfg->policy.max_age, 86400);
		CHECK(!cfg->policy.recall_read);
		CHECK_INT(cfg->policy.quarantine_days, 30);
		CHECK_INT(cfg->events.n_inside_ports, 0);
		CHECK_INT(cfg->milter.socket_mode, 0660);
	}
	cfg_free(&cfg);
	CHECK(cfg == NULL);
	TEST_END();

	TEST_BEGIN("cfg: full SPEC example parses");
	p = write_file("full.conf", MINIMAL
	    "mailing_lists = [ \"lists.example.org\", \"all-staff@example.org\" ];\n"
	    "milter = { socket = \"unix:/run/recall/milter.sock\";\n"
	    "  internal_networks = [ \"127.0.0.0/8\", \"10.0.0.0/8\" ];\n"
	    "  spool_dir = \"/var/spool/recall\"; on_db_error = \"tempfail\";\n"
	    "  recall_address = \"recall@example.org\"; hold_external = 60;\n"
	    "  spool_sync_delay = 0;\n"
	    "  postfix_config_dir = \"/etc/postfix-out\";\n"
	    "  user = \"recall\"; socket_mode = \"0666\"; };\n"
	    "recalld = { control_socket = \"/run/recall/recalld.sock\";\n"
	    "  admins = [ \"root\", \"helpdesk\" ]; report_sender = \"postmaster@example.org\";\n"
	    "  sendmail = \"/usr/sbin/sendmail\"; user = \"recall\"; };\n"
	    "store = { doveadm_url = \"http://127.0.0.1:8080/doveadm/v1\";\n"
	    "  doveadm_key_file = \"/etc/recall/doveadm.key\"; dovecot_user = \"%n\"; };\n"
	    "events = { postfix_log = \"/var/log/mail.log\"; dovecot_log = \"/var/log/dovecot.log\";\n"
	    "  inside_hosts = [ \"127.0.0.1\" ]; inside_ports = [ 10143, 10144 ]; sync_gateways = [ ]; };\n"
	    "policy = { max_age = 3600; recall_read = true; opt_out = [ \"Legal@example.org\" ];\n"
	    "  quarantine_days = 7; };\n", 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) == 0);
	if (err != NULL)
		printf("# %s", err);
	if (cfg != NULL) {
		CHECK(cfg->milter.on_db_error == CFG_DB_ERROR_TEMPFAIL);
		CHECK_STR(cfg->milter.recall_address, "recall@example.org");
		CHECK_INT(cfg->milter.hold_external, 60);
		CHECK_INT(cfg->milter.spool_sync_delay, 0);
		CHECK_STR(cfg->milter.postfix_config_dir, "/etc/postfix-out");
		CHECK_INT(cfg->milter.socket_mode, 0666);
		CHECK_INT(cfg->events.n_inside_ports, 2);
		CHECK_INT(cfg->events.inside_ports[1], 10144);
		CHECK(cfg->policy.recall_read);
		CHECK_STR(cfg->policy.opt_out.v[0], "legal@example.org");
		CHECK_INT(cfg->mailing_lists.n, 2);
		CHECK(strlist_contains(&cfg->recalld.admins, "helpdesk"));
	}
	cfg_free(&cfg);
	TEST_END();

	TEST_BEGIN("cfg: unknown keys name the key and the line");
	p = write_file("unknown.conf", MINIMAL
	    "milter = { sockett = \"x\"; };\n"
	    "bogus = 1;\n", 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) < 0);
	CHECK(cfg == NULL);
	CHECK(err != NULL && strstr(err, ":4: unknown key \"milter.sockett\"") != NULL);
	CHECK(err != NULL && strstr(err, ":5: unknown key \"bogus\"") != NULL);
	free(err);
	err = NULL;
	TEST_END();

	TEST_BEGIN("cfg: type and range errors, all reported at once");
	p = write_file("types.conf", MINIMAL
	    "policy = { max_age = \"1d\"; recall_read = 1; quarantine_days = 99999; };\n"
	    "milter = { on_db_error = \"drop\"; internal_networks = \"10/8\";\n"
	    "  spool_sync_delay = 5000; };\n", 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) < 0);
	CHECK(err != NULL && strstr(err, "policy.max_age must be a whole number") != NULL);
	CHECK(err != NULL && strstr(err, "policy.recall_read must be true or false") != NULL);
	CHECK(err != NULL && strstr(err, "policy.quarantine_days must be between 0 and 3650") != NULL);
	CHECK(err != NULL && strstr(err, "milter.on_db_error must be") != NULL);
	CHECK(err != NULL && strstr(err, "milter.internal_networks must be a list") != NULL);
	CHECK(err != NULL && strstr(err, "milter.spool_sync_delay must be between 0 and 1000") != NULL);
	free(err);
	err = NULL;
	TEST_END();

	TEST_BEGIN("cfg: required keys, and the client scope needs none");
	p = write_file("empty.conf", "recalld = { control_socket = \"/tmp/x.sock\"; };\n", 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) < 0);
	CHECK(err != NULL && strstr(err, "\"database.conninfo\" is missing") != NULL);
	CHECK(err != NULL && strstr(err, "\"local_domains\" is missing") != NULL);
	CHECK(err != NULL && strstr(err, "\"tag.key_file\" is missing") != NULL);
	free(err);
	err = NULL;
	CHECK(cfg_load(p, CFG_SCOPE_CLIENT, &cfg, &err) == 0);
	if (cfg != NULL)
		CHECK_STR(cfg->recalld.control_socket, "/tmp/x.sock");
	cfg_free(&cfg);
	TEST_END();

	TEST_BEGIN("cfg: syntax error and missing file give file:line");
	p = write_file("syntax.conf", MINIMAL "milter = { socket = ; };\n", 0644);
	CHECK(cfg_load(p, CFG_SCOPE_ALL, &cfg, &err) < 0);
	CHECK(err != NULL && strstr(err, "syntax.conf:4:") != NULL);
	free(err);
	err = NULL;
	CHECK(cfg_load("/nonexistent/recall.conf", CFG_SCOPE_ALL, &cfg, &err) < 0);
	CHECK(err != NULL && strstr(err, "cannot read") != NULL);
	free(err);
	err = NULL;
	TEST_END();

	TEST_BEGIN("cfg: secret files must not be group/world readable");
	p = write_file("secret.key", "x\n", 0640);
	CHECK(cfg_check_secret_file(p, &err) < 0);
	CHECK(err != NULL && strstr(err, "chmod 600") != NULL);
	free(err);
	err = NULL;
	chmod(p, 0600);
	CHECK(cfg_check_secret_file(p, &err) == 0);
	CHECK(cfg_check_secret_file(dir, &err) < 0);
	free(err);
	err = NULL;
	TEST_END();

	unlink(write_file("min.conf", "", 0600));
	unlink(write_file("full.conf", "", 0600));
	unlink(write_file("unknown.conf", "", 0600));
	unlink(write_file("types.conf", "", 0600));
	unlink(write_file("empty.conf", "", 0600));
	unlink(write_file("syntax.conf", "", 0600));
	unlink(write_file("secret.key", "", 0600));
	rmdir(dir);
	return test_done();
}
