/*
 * addr - e-mail address, domain and Message-ID normalisation.  Pure; no I/O.
 *
 * Every function returns a new heap string the caller frees, or NULL when
 * the input is not acceptable (then *error_r, when not NULL, points to a
 * static description).
 */
#ifndef RECALL_ADDR_H
#define RECALL_ADDR_H

#include <stdbool.h>

#include "cfg.h"

/* Longest address or Message-ID we accept (RFC 5321 path is 256). */
#define ADDR_MAX_LEN 998

/*
 * Normalise an envelope address: strip surrounding white space, one pair of
 * angle brackets and a source route ("@a,@b:"), lower-case the domain (the
 * local part keeps its case).  "<>" gives "" (the null sender).  Rejects
 * control characters, NUL-free but over-long input and unbalanced brackets.
 */
char *addr_normalise(const char *in, const char **error_r);

/* The domain part of a normalised address (pointer into addr), or "". */
const char *addr_domain(const char *addr);

/* Is the address's domain one of domains (exact match, case-insensitive)? */
bool addr_in_domains(const char *addr, const struct strlist *domains);

/*
 * Is the address a mailing list: listed itself, or its domain listed?
 * (Entries with an '@' are addresses, others whole domains.)
 */
bool addr_is_list(const char *addr, const struct strlist *lists);

enum addr_class { ADDR_LOCAL, ADDR_EXTERNAL, ADDR_LIST };

enum addr_class addr_classify(const char *addr, const struct recall_cfg *cfg);
const char *addr_class_name(enum addr_class c);

/*
 * Normalise a Message-ID: trim white space and comments-free folding, keep
 * one pair of angle brackets ("a@b" and "<a@b>" both give "<a@b>").
 */
char *addr_msgid_normalise(const char *in, const char **error_r);

/*
 * Expand a store.dovecot_user template for an address: %u the whole
 * address, %n the local part, %d the domain, %% a percent sign.
 */
char *addr_expand_user(const char *tmpl, const char *addr);

/*
 * The address a unix user or SASL login speaks for: a login with a domain is
 * that address, one without gets "@" and the first local domain.
 */
char *addr_for_login(const char *login, const struct recall_cfg *cfg);

#endif
