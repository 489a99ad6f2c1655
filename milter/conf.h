/*
 * conf - the milter's configuration snapshot: recall.conf, the tag keys and
 * the parsed internal networks, loaded together and swapped as one.
 *
 * A snapshot is immutable and reference-counted.  conf_acquire() returns the
 * current one with a reference the caller gives back with conf_release();
 * conf_install() makes a new one current (SIGUSR1 reload) and drops the
 * process's reference to the old one, which is freed when the last message
 * that uses it ends.  So a message is decided under one configuration from
 * MAIL FROM to end of message, even across a reload.
 *
 * Thread-safety: conf_acquire, conf_release and conf_install may be called
 * from any thread.
 */
#ifndef RECALL_MILTER_CONF_H
#define RECALL_MILTER_CONF_H

#include "cfg.h"
#include "cidr.h"
#include "tag.h"

struct milter_conf {
	int refs;			/* under the module lock */
	struct recall_cfg *cfg;		/* owned */
	struct tag_keys keys;		/* owned */
	struct cidr_list nets;		/* milter.internal_networks, owned */
};

/*
 * Load path and the files it names into a new snapshot (one reference, for
 * the caller).  Returns 0, or -1 with every problem in *errors_r (heap, one
 * per line, caller frees).
 */
int conf_load(const char *path, struct milter_conf **conf_r, char **errors_r);
/* Build a snapshot from parts already loaded (tests); takes ownership. */
struct milter_conf *conf_from_parts(struct recall_cfg *cfg,
    struct tag_keys *keys, struct cidr_list *nets);

/* Make conf current; the caller's reference passes to the module. */
void conf_install(struct milter_conf *conf);
/* The current snapshot with a new reference, or NULL before any install. */
struct milter_conf *conf_acquire(void);
/* Drop a reference; frees the snapshot after the last.  Sets *conf NULL. */
void conf_release(struct milter_conf **conf);
/* Drop the module's reference to the current snapshot (at exit). */
void conf_shutdown(void);

#endif
