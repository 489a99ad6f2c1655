/*
 * fake_libmilter - link-time fakes of libmilter for unit tests.  See
 * fake_libmilter.h.  Only what milter/callbacks.c uses is faked.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfapi.h>

#include "fake_libmilter.h"

struct smfi_str *
fake_ctx_new(void)
{
	return calloc(1, sizeof(struct smfi_str));
}

void
fake_clear_edits(struct smfi_str *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_edits; i++) {
		free(ctx->edits[i].name);
		free(ctx->edits[i].value);
	}
	ctx->n_edits = 0;
	free(ctx->reply);
	ctx->reply = NULL;
}

void
fake_ctx_free(struct smfi_str **ctxp)
{
	struct smfi_str *ctx = *ctxp;
	size_t i;

	if (ctx == NULL)
		return;
	fake_clear_edits(ctx);
	for (i = 0; i < ctx->n_macros; i++) {
		free(ctx->macro_name[i]);
		free(ctx->macro_value[i]);
	}
	for (i = 0; i < 8; i++)
		free(ctx->symlist[i]);
	free(ctx);
	*ctxp = NULL;
}

void
fake_macro(struct smfi_str *ctx, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < ctx->n_macros; i++) {
		if (strcmp(ctx->macro_name[i], name) != 0)
			continue;
		free(ctx->macro_value[i]);
		ctx->macro_value[i] = value != NULL ? strdup(value) : NULL;
		return;
	}
	if (ctx->n_macros < FAKE_MAX_MACROS && value != NULL) {
		ctx->macro_name[ctx->n_macros] = strdup(name);
		ctx->macro_value[ctx->n_macros] = strdup(value);
		ctx->n_macros++;
	}
}

size_t
fake_count(const struct smfi_str *ctx, enum fake_edit_op op, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < ctx->n_edits; i++)
		if (ctx->edits[i].op == op
		    && strcasecmp(ctx->edits[i].name, name) == 0)
			n++;
	return n;
}

const char *
fake_added(const struct smfi_str *ctx, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < ctx->n_edits; i++)
		if (ctx->edits[i].op == FAKE_ADD
		    && strcasecmp(ctx->edits[i].name, name) == 0 && n-- == 0)
			return ctx->edits[i].value;
	return NULL;
}

static int
fake_edit(SMFICTX *ctx, enum fake_edit_op op, const char *name, int index,
    const char *value)
{
	struct fake_edit *e;

	if (ctx->fail_edits || ctx->n_edits == FAKE_MAX_EDITS)
		return MI_FAILURE;
	e = &ctx->edits[ctx->n_edits++];
	e->op = op;
	e->name = strdup(name);
	e->index = index;
	e->value = value != NULL ? strdup(value) : NULL;
	return MI_SUCCESS;
}

char *
smfi_getsymval(SMFICTX *ctx, char *name)
{
	size_t i;

	for (i = 0; i < ctx->n_macros; i++)
		if (strcmp(ctx->macro_name[i], name) == 0)
			return ctx->macro_value[i];
	return NULL;
}

int
smfi_setpriv(SMFICTX *ctx, void *priv)
{
	ctx->priv = priv;
	return MI_SUCCESS;
}

void *
smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

int
smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	return fake_edit(ctx, FAKE_ADD, name, 0, value);
}

int
smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value)
{
	return fake_edit(ctx, FAKE_CHANGE, name, index, value);
}

int
smfi_insheader(SMFICTX *ctx, int index, char *name, char *value)
{
	return fake_edit(ctx, FAKE_INSERT, name, index, value);
}

int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *text)
{
	size_t len = strlen(rcode) + strlen(xcode) + strlen(text) + 3;

	free(ctx->reply);
	ctx->reply = malloc(len);
	if (ctx->reply != NULL) {
		strcpy(ctx->reply, rcode);
		strcat(ctx->reply, " ");
		strcat(ctx->reply, xcode);
		strcat(ctx->reply, " ");
		strcat(ctx->reply, text);
	}
	return MI_SUCCESS;
}

int
smfi_setsymlist(SMFICTX *ctx, int stage, char *list)
{
	if (stage < 0 || stage >= 8)
		return MI_FAILURE;
	free(ctx->symlist[stage]);
	ctx->symlist[stage] = strdup(list);
	return MI_SUCCESS;
}

int
smfi_register(struct smfiDesc desc)
{
	(void)desc;
	return MI_SUCCESS;
}

int
smfi_delrcpt(SMFICTX *ctx, char *rcpt)
{
	return fake_edit(ctx, FAKE_DELRCPT, "rcpt", 0, rcpt);
}

int
smfi_quarantine(SMFICTX *ctx, char *reason)
{
	return fake_edit(ctx, FAKE_QUARANTINE, "quarantine", 0, reason);
}
