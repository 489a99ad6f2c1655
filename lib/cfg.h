/*
 * cfg - recall.conf, the one configuration file shared by all programs.
 *
 * cfg_load() parses the file (libconfig syntax) against a table of known
 * keys, fills defaults and checks bounds.  Unknown keys, wrong types, values
 * out of range and missing required keys are reported together, one line
 * each, as "FILE:LINE: message" in *errors_r (heap string, caller frees).
 * The resulting struct recall_cfg is immutable after loading and owned by the
 * caller: release it with cfg_free(&cfg).  Programs that reload build a new
 * one and swap it.
 *
 * Thread-safety: cfg_load is reentrant; a loaded cfg may be read by any
 * number of threads.
 */
#ifndef RECALL_CFG_H
#define RECALL_CFG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_DEFAULT_PATH "/etc/recall/recall.conf"

struct strlist {
	char **v;	/* n strings, each owned by the list */
	size_t n;
};

enum cfg_db_error { CFG_DB_ERROR_SPOOL, CFG_DB_ERROR_TEMPFAIL };

/* Which parts of the file a program needs (a recallctl needs no secrets). */
enum cfg_scope { CFG_SCOPE_ALL, CFG_SCOPE_CLIENT };

struct recall_cfg {
	char *path;
	char *db_conninfo;
	struct strlist local_domains;
	struct strlist mailing_lists;
	char *tag_key_file;
	struct {
		char *socket;
		struct strlist internal_networks;
		char *spool_dir;
		enum cfg_db_error on_db_error;
		long spool_sync_delay;	/* ms a record may wait for fdatasync */
		char *recall_address;	/* NULL when unset */
		long hold_external;	/* seconds, 0 = off */
		char *postfix_config_dir;	/* -c for postsuper/postqueue */
		char *user;		/* NULL when unset */
		char *socket_group;	/* NULL: keep the creating user's group */
		long socket_mode;	/* e.g. 0660 */
	} milter;
	struct {
		char *control_socket;
		struct strlist admins;
		char *report_sender;
		char *sendmail;
		char *user;		/* NULL when unset */
	} recalld;
	struct {
		char *doveadm_url;
		char *doveadm_key_file;
		char *dovecot_user;
	} store;
	struct {
		char *postfix_log;
		char *dovecot_log;
		struct strlist inside_hosts;
		long *inside_ports;
		size_t n_inside_ports;
		struct strlist sync_gateways;
	} events;
	struct {
		long max_age;
		bool recall_read;
		struct strlist opt_out;
		long quarantine_days;
	} policy;
};

/*
 * Load path into *cfg_r.  Returns 0, or -1 with every problem in *errors_r.
 * CFG_SCOPE_CLIENT still rejects unknown keys but requires only what
 * recallctl needs.
 */
int cfg_load(const char *path, enum cfg_scope scope, struct recall_cfg **cfg_r,
    char **errors_r);
void cfg_free(struct recall_cfg **cfg);

/*
 * Refuse a file that holds a secret when group or world can read it, or
 * when it is not a regular file.  Returns 0 or -1 with *error_r set.
 */
int cfg_check_secret_file(const char *path, char **error_r);

/* Is s in list (exact, case-insensitive)? */
bool strlist_contains(const struct strlist *list, const char *s);
void strlist_add(struct strlist *list, const char *s);
void strlist_free(struct strlist *list);

#endif
