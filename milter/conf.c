/*
 * conf - refcounted configuration snapshots.  See conf.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include "conf.h"
#include "sbuf.h"
#include "xalloc.h"

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct milter_conf *conf_current;	/* holds one reference */

static void
conf_destroy(struct milter_conf *conf)
{
	cfg_free(&conf->cfg);
	tag_keys_free(&conf->keys);
	cidr_list_free(&conf->nets);
	free(conf);
}

struct milter_conf *
conf_from_parts(struct recall_cfg *cfg, struct tag_keys *keys,
    struct cidr_list *nets)
{
	struct milter_conf *conf = xcalloc(1, sizeof(*conf));

	conf->refs = 1;
	conf->cfg = cfg;
	conf->keys = *keys;
	conf->nets = *nets;
	keys->key = NULL;
	keys->n = 0;
	nets->v = NULL;
	nets->n = 0;
	return conf;
}

int
conf_load(const char *path, struct milter_conf **conf_r, char **errors_r)
{
	struct recall_cfg *cfg = NULL;
	struct tag_keys keys = { NULL, 0 };
	struct cidr_list nets = { NULL, 0 };
	struct sbuf err = SBUF_INIT;
	char *e = NULL;

	*conf_r = NULL;
	if (cfg_load(path, CFG_SCOPE_ALL, &cfg, errors_r) < 0)
		return -1;
	if (tag_keys_load(cfg->tag_key_file, &keys, &e) < 0) {
		sbuf_addf(&err, "%s\n", e);
		xfree(&e);
	} else if (keys.n == 0) {
		sbuf_addf(&err, "%s: no key in the file\n", cfg->tag_key_file);
	}
	if (cidr_list_parse(&cfg->milter.internal_networks, &nets, &e) < 0) {
		sbuf_addf(&err, "%s: milter.internal_networks: %s\n", path, e);
		xfree(&e);
	}
	if (cfg->local_domains.n == 0)
		sbuf_addf(&err, "%s: local_domains is empty\n", path);
	if (err.len > 0) {
		cfg_free(&cfg);
		tag_keys_free(&keys);
		cidr_list_free(&nets);
		*errors_r = sbuf_detach(&err);
		return -1;
	}
	sbuf_release(&err);
	*conf_r = conf_from_parts(cfg, &keys, &nets);
	return 0;
}

void
conf_install(struct milter_conf *conf)
{
	struct milter_conf *old;

	pthread_mutex_lock(&conf_lock);
	old = conf_current;
	conf_current = conf;
	pthread_mutex_unlock(&conf_lock);
	conf_release(&old);
}

struct milter_conf *
conf_acquire(void)
{
	struct milter_conf *conf;

	pthread_mutex_lock(&conf_lock);
	conf = conf_current;
	if (conf != NULL)
		conf->refs++;
	pthread_mutex_unlock(&conf_lock);
	return conf;
}

void
conf_release(struct milter_conf **confp)
{
	struct milter_conf *conf = *confp;
	int left;

	if (conf == NULL)
		return;
	*confp = NULL;
	pthread_mutex_lock(&conf_lock);
	left = --conf->refs;
	pthread_mutex_unlock(&conf_lock);
	if (left == 0)
		conf_destroy(conf);
}

void
conf_shutdown(void)
{
	conf_install(NULL);
}
