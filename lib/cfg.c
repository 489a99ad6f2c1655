/*
 * cfg - the libconfig binding: recall.conf into struct recall_cfg.
 *
 * Every key is declared once in cfg_keys[] with its type, default, bounds
 * and whether it is required.  Anything in the file that is not in the table
 * is an error naming the key and its line.  See cfg.h.
 */
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cfg.h"
#include "sbuf.h"
#include "xalloc.h"

enum cfg_type {
	T_STR,		/* char * */
	T_STRLIST,	/* struct strlist */
	T_LONG,		/* long, within [min, max] */
	T_BOOL,		/* bool */
	T_DBERR,	/* enum cfg_db_error */
	T_MODE,		/* long, octal string such as "0660" */
	T_PORTS,	/* long * + count */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *def;	/* default as text; NULL = unset */
	long min, max;
	bool required;		/* for CFG_SCOPE_ALL */
	bool lower;		/* fold list items to lower case */
};

#define OFF(f) offsetof(struct recall_cfg, f)

static const struct cfg_key cfg_keys[] = {
	{ "database.conninfo", T_STR, OFF(db_conninfo), NULL, 0, 0, true, false },
	{ "local_domains", T_STRLIST, OFF(local_domains), NULL, 0, 0, true, true },
	{ "mailing_lists", T_STRLIST, OFF(mailing_lists), "", 0, 0, false, true },
	{ "tag.key_file", T_STR, OFF(tag_key_file), NULL, 0, 0, true, false },
	{ "milter.socket", T_STR, OFF(milter.socket),
	    "unix:/run/recall/milter.sock", 0, 0, false, false },
	{ "milter.internal_networks", T_STRLIST, OFF(milter.internal_networks),
	    "127.0.0.0/8", 0, 0, false, false },
	{ "milter.spool_dir", T_STR, OFF(milter.spool_dir), "/var/spool/recall",
	    0, 0, false, false },
	{ "milter.on_db_error", T_DBERR, OFF(milter.on_db_error), "spool",
	    0, 0, false, false },
	{ "milter.spool_sync_delay", T_LONG, OFF(milter.spool_sync_delay),
	    "20", 0, 1000, false, false },
	{ "milter.recall_address", T_STR, OFF(milter.recall_address), NULL,
	    0, 0, false, false },
	{ "milter.hold_external", T_LONG, OFF(milter.hold_external), "0",
	    0, 86400, false, false },
	{ "milter.postfix_config_dir", T_STR, OFF(milter.postfix_config_dir),
	    "/etc/postfix", 0, 0, false, false },
	{ "milter.user", T_STR, OFF(milter.user), NULL, 0, 0, false, false },
	{ "milter.socket_group", T_STR, OFF(milter.socket_group), NULL,
	    0, 0, false, false },
	{ "milter.socket_mode", T_MODE, OFF(milter.socket_mode), "0660",
	    0, 0777, false, false },
	{ "recalld.control_socket", T_STR, OFF(recalld.control_socket),
	    "/run/recall/recalld.sock", 0, 0, false, false },
	{ "recalld.admins", T_STRLIST, OFF(recalld.admins), "root", 0, 0,
	    false, false },
	{ "recalld.report_sender", T_STR, OFF(recalld.report_sender),
	    "postmaster", 0, 0, false, false },
	{ "recalld.sendmail", T_STR, OFF(recalld.sendmail), "/usr/sbin/sendmail",
	    0, 0, false, false },
	{ "recalld.user", T_STR, OFF(recalld.user), NULL, 0, 0, false, false },
	{ "store.doveadm_url", T_STR, OFF(store.doveadm_url),
	    "http://127.0.0.1:8080/doveadm/v1", 0, 0, false, false },
	{ "store.doveadm_key_file", T_STR, OFF(store.doveadm_key_file),
	    "/etc/recall/doveadm.key", 0, 0, false, false },
	{ "store.dovecot_user", T_STR, OFF(store.dovecot_user), "%u", 0, 0,
	    false, false },
	{ "events.postfix_log", T_STR, OFF(events.postfix_log),
	    "/var/log/mail.log", 0, 0, false, false },
	{ "events.dovecot_log", T_STR, OFF(events.dovecot_log),
	    "/var/log/dovecot.log", 0, 0, false, false },
	{ "events.inside_hosts", T_STRLIST, OFF(events.inside_hosts),
	    "127.0.0.1", 0, 0, false, false },
	{ "events.inside_ports", T_PORTS, OFF(events.inside_ports), "", 1, 65535,
	    false, false },
	{ "events.sync_gateways", T_STRLIST, OFF(events.sync_gateways), "",
	    0, 0, false, false },
	{ "policy.max_age", T_LONG, OFF(policy.max_age), "86400", 0,
	    100L * 365 * 86400, false, false },
	{ "policy.recall_read", T_BOOL, OFF(policy.recall_read), "false", 0, 0,
	    false, false },
	{ "policy.opt_out", T_STRLIST, OFF(policy.opt_out), "", 0, 0, false,
	    true },
	{ "policy.quarantine_days", T_LONG, OFF(policy.quarantine_days), "30",
	    0, 3650, false, false },
};

#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const struct cfg_key *
cfg_find_key(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* Is name a group that some key lives in ("milter" for "milter.socket")? */
static bool
cfg_is_group(const char *name)
{
	size_t len = strlen(name), i;

	for (i = 0; i < N_KEYS; i++)
		if (strncmp(cfg_keys[i].name, name, len) == 0
		    && cfg_keys[i].name[len] == '.')
			return true;
	return false;
}

void
strlist_add(struct strlist *list, const char *s)
{
	list->v = xrealloc(list->v, (list->n + 1) * sizeof(*list->v));
	list->v[list->n++] = xstrdup(s);
}

void
strlist_free(struct strlist *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

bool
strlist_contains(const struct strlist *list, const char *s)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strcasecmp(list->v[i], s) == 0)
			return true;
	return false;
}

static void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int
cfg_parse_long(const char *s, long *r)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*r = v;
	return 0;
}

/* Set the default of key k (a compile-time constant, so it cannot fail). */
static void
cfg_set_default(struct recall_cfg *cfg, const struct cfg_key *k)
{
	void *field = (char *)cfg + k->off;
	char *copy, *tok, *save = NULL;

	if (k->def == NULL)
		return;
	switch (k->type) {
	case T_STR:
		*(char **)field = xstrdup(k->def);
		break;
	case T_STRLIST:
		copy = xstrdup(k->def);
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			strlist_add(field, tok);
		free(copy);
		break;
	case T_LONG:
		(void)cfg_parse_long(k->def, field);
		break;
	case T_MODE:
		*(long *)field = strtol(k->def, NULL, 8);
		break;
	case T_BOOL:
		*(bool *)field = strcmp(k->def, "true") == 0;
		break;
	case T_DBERR:
		*(enum cfg_db_error *)field = CFG_DB_ERROR_SPOOL;
		break;
	case T_PORTS:
		break;
	}
}

static void cfg_error(struct sbuf *err, const char *path,
    const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
cfg_error(struct sbuf *err, const char *path, const config_setting_t *s,
    const char *fmt, ...)
{
	va_list ap;

	sbuf_addf(err, "%s:%d: ", path,
	    s != NULL ? config_setting_source_line(s) : 0);
	va_start(ap, fmt);
	sbuf_vaddf(err, fmt, ap);
	va_end(ap);
	sbuf_addc(err, '\n');
}

/* Store setting s into the field of key k.  Errors go to err. */
static void
cfg_set_value(struct recall_cfg *cfg, const struct cfg_key *k,
    const config_setting_t *s, const char *path, struct sbuf *err)
{
	void *field = (char *)cfg + k->off;
	int type = config_setting_type(s);
	const char *str;
	long long v;
	int i, n;

	switch (k->type) {
	case T_STR:
		if (type != CONFIG_TYPE_STRING) {
			cfg_error(err, path, s, "%s must be a string", k->name);
			return;
		}
		str = config_setting_get_string(s);
		if (str[0] == '\0') {
			cfg_error(err, path, s, "%s must not be empty", k->name);
			return;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(str);
		return;
	case T_STRLIST:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
			cfg_error(err, path, s, "%s must be a list of strings "
			    "such as [ \"a\", \"b\" ]", k->name);
			return;
		}
		strlist_free(field);
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_STRING
			    || config_setting_get_string(e)[0] == '\0') {
				cfg_error(err, path, s, "%s: every item must be "
				    "a non-empty string", k->name);
				return;
			}
			strlist_add(field, config_setting_get_string(e));
			if (k->lower)
				str_lower(((struct strlist *)field)->v[i]);
		}
		return;
	case T_LONG:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			cfg_error(err, path, s, "%s must be a whole number",
			    k->name);
			return;
		}
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max) {
			sbuf_addf(err, "%s:%d: %s must be between %ld and %ld\n",
			    path, config_setting_source_line(s), k->name,
			    k->min, k->max);
			return;
		}
		*(long *)field = (long)v;
		return;
	case T_MODE: {
		char *end;
		long mode;

		str = type == CONFIG_TYPE_STRING ? config_setting_get_string(s)
		    : "";
		errno = 0;
		mode = strtol(str, &end, 8);
		if (str[0] == '\0' || *end != '\0' || errno != 0
		    || mode < k->min || mode > k->max) {
			cfg_error(err, path, s, "%s must be an octal mode in "
			    "quotes, such as \"0660\"", k->name);
			return;
		}
		*(long *)field = mode;
		return;
	}
	case T_BOOL:
		if (type != CONFIG_TYPE_BOOL) {
			cfg_error(err, path, s, "%s must be true or false",
			    k->name);
			return;
		}
		*(bool *)field = config_setting_get_bool(s) != 0;
		return;
	case T_DBERR:
		str = type == CONFIG_TYPE_STRING ? config_setting_get_string(s)
		    : "";
		if (strcmp(str, "spool") == 0)
			*(enum cfg_db_error *)field = CFG_DB_ERROR_SPOOL;
		else if (strcmp(str, "tempfail") == 0)
			*(enum cfg_db_error *)field = CFG_DB_ERROR_TEMPFAIL;
		else
			cfg_error(err, path, s, "%s must be \"spool\" or "
			    "\"tempfail\"", k->name);
		return;
	case T_PORTS:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
			cfg_error(err, path, s, "%s must be a list of port "
			    "numbers", k->name);
			return;
		}
		n = config_setting_length(s);
		free(cfg->events.inside_ports);
		cfg->events.inside_ports = xcalloc((size_t)n + 1, sizeof(long));
		cfg->events.n_inside_ports = 0;
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_INT
			    || config_setting_get_int(e) < k->min
			    || config_setting_get_int(e) > k->max) {
				cfg_error(err, path, s, "%s: every item must be "
				    "a port number (1-65535)", k->name);
				return;
			}
			cfg->events.inside_ports[cfg->events.n_inside_ports++] =
			    config_setting_get_int(e);
		}
		return;
	}
}

/* Walk group g (named prefix), applying known keys and reporting others. */
static void
cfg_walk(struct recall_cfg *cfg, const config_setting_t *g, const char *prefix,
    const char *path, bool *seen, struct sbuf *err)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g,
		    (unsigned)i);
		const char *name = config_setting_name(s);
		char *full;
		const struct cfg_key *k;

		if (name == NULL)
			continue;
		full = prefix[0] != '\0' ? xasprintf("%s.%s", prefix, name)
		    : xstrdup(name);
		k = cfg_find_key(full);
		if (k != NULL) {
			seen[k - cfg_keys] = true;
			cfg_set_value(cfg, k, s, path, err);
		} else if (cfg_is_group(full)) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				cfg_error(err, path, s, "%s must be a group "
				    "such as { ... }", full);
			else
				cfg_walk(cfg, s, full, path, seen, err);
		} else {
			cfg_error(err, path, s, "unknown key \"%s\"", full);
		}
		free(full);
	}
}

int
cfg_load(const char *path, enum cfg_scope scope, struct recall_cfg **cfg_r,
    char **errors_r)
{
	struct recall_cfg *cfg;
	struct sbuf err = SBUF_INIT;
	bool seen[N_KEYS] = { false };
	config_t lc;
	size_t i;

	*cfg_r = NULL;
	*errors_r = NULL;
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			sbuf_addf(&err, "%s: cannot read: %s\n", path,
			    strerror(errno));
		else
			sbuf_addf(&err, "%s:%d: %s\n", path,
			    config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		*errors_r = sbuf_detach(&err);
		return -1;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	for (i = 0; i < N_KEYS; i++)
		cfg_set_default(cfg, &cfg_keys[i]);
	cfg_walk(cfg, config_root_setting(&lc), "", path, seen, &err);
	for (i = 0; i < N_KEYS; i++)
		if (scope == CFG_SCOPE_ALL && cfg_keys[i].required && !seen[i])
			sbuf_addf(&err, "%s: required key \"%s\" is missing\n",
			    path, cfg_keys[i].name);
	if (scope == CFG_SCOPE_ALL
	    && seen[cfg_find_key("local_domains") - cfg_keys]
	    && cfg->local_domains.n == 0)
		sbuf_addf(&err, "%s: local_domains must name at least one "
		    "domain\n", path);
	config_destroy(&lc);
	if (err.len > 0) {
		cfg_free(&cfg);
		*errors_r = sbuf_detach(&err);
		return -1;
	}
	sbuf_release(&err);
	*cfg_r = cfg;
	return 0;
}

void
cfg_free(struct recall_cfg **cfgp)
{
	struct recall_cfg *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < N_KEYS; i++) {
		void *field = (char *)cfg + cfg_keys[i].off;

		if (cfg_keys[i].type == T_STR)
			free(*(char **)field);
		else if (cfg_keys[i].type == T_STRLIST)
			strlist_free(field);
	}
	free(cfg->events.inside_ports);
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}

int
cfg_check_secret_file(const char *path, char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = xasprintf("%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		*error_r = xasprintf("%s holds a secret and must not be "
		    "accessible by group or others (mode %04o; chmod 600)",
		    path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
