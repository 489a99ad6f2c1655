/*
 * msgctx - per-connection and per-message state.  See msgctx.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgctx.h"
#include "policy.h"
#include "recallreq.h"
#include "xalloc.h"

struct msgctx *
msgctx_new(void)
{
	return xcalloc(1, sizeof(struct msgctx));
}

static void
msgctx_free_list(char ***v, size_t *n, size_t *cap)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
	*cap = 0;
}

void
msgctx_reset(struct msgctx *ctx)
{
	size_t i;

	conf_release(&ctx->conf);
	xfree(&ctx->sender_raw);
	xfree(&ctx->auth_authen);
	msgctx_free_list(&ctx->rcpts, &ctx->n_rcpts, &ctx->cap_rcpts);
	for (i = 0; i < ctx->n_tags; i++)
		free(ctx->tag_names[i]);
	xfree(&ctx->tag_names);
	msgctx_free_list(&ctx->tags, &ctx->n_tags, &ctx->cap_tags);
	xfree(&ctx->message_id);
	xfree(&ctx->subject);
	xfree(&ctx->recall_rcpt);
	ctx->n_recall_rcpts = 0;
	ctx->top_rfc822 = false;
	sbuf_release(&ctx->body);
	ctx->size = 0;
	ctx->in_message = false;
}

void
msgctx_free(struct msgctx **ctxp)
{
	struct msgctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	msgctx_reset(ctx);
	free(ctx->client_addr);
	free(ctx->client_name);
	free(ctx);
	*ctxp = NULL;
}

enum policy_origin
msgctx_origin(const struct msgctx *ctx)
{
	struct policy_client pc;

	pc.auth_authen = ctx->auth_authen;
	pc.client_addr = ctx->client_addr;
	pc.client_name = ctx->client_name;
	pc.have_daemon_addr = ctx->have_daemon_addr;
	return policy_origin(&pc, &ctx->conf->nets);
}

void
msgctx_set(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? xstrdup(src) : NULL;
}

bool
msgctx_add_rcpt(struct msgctx *ctx, const char *rcpt)
{
	bool is_recall = ctx->conf != NULL
	    && policy_is_recall_rcpt(ctx->conf->cfg, rcpt);

	if (is_recall && ctx->n_recall_rcpts++ == 0)
		ctx->recall_rcpt = xstrdup(rcpt);
	if (ctx->n_rcpts == ctx->cap_rcpts) {
		ctx->cap_rcpts = ctx->cap_rcpts == 0 ? 8 : 2 * ctx->cap_rcpts;
		ctx->rcpts = xrealloc(ctx->rcpts,
		    ctx->cap_rcpts * sizeof(*ctx->rcpts));
	}
	ctx->rcpts[ctx->n_rcpts++] = xstrdup(rcpt != NULL ? rcpt : "");
	return is_recall;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static char *
msgctx_cut(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return xstrdup(s);
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return xstrndup(s, len);
}

void
msgctx_add_header(struct msgctx *ctx, const char *name, const char *value)
{
	if (name == NULL)
		name = "";
	if (value == NULL)
		value = "";
	/* "Name: value\r\n" as it travels; the MTA strips the blank. */
	ctx->size += strlen(name) + 2 + strlen(value) + 2;
	if (policy_is_tag_header(name)) {
		if (ctx->n_tags == ctx->cap_tags) {
			ctx->cap_tags = ctx->cap_tags == 0 ? 2 : 2 * ctx->cap_tags;
			ctx->tags = xrealloc(ctx->tags,
			    ctx->cap_tags * sizeof(*ctx->tags));
			ctx->tag_names = xrealloc(ctx->tag_names,
			    ctx->cap_tags * sizeof(*ctx->tag_names));
		}
		ctx->tags[ctx->n_tags] = xstrdup(value);
		ctx->tag_names[ctx->n_tags] = xstrdup(name);
		ctx->n_tags++;
	} else if (ctx->message_id == NULL
	    && strcasecmp(name, "Message-ID") == 0) {
		ctx->message_id = msgctx_cut(value, 998);
	} else if (ctx->subject == NULL && strcasecmp(name, "Subject") == 0) {
		ctx->subject = msgctx_cut(value, MSGCTX_SUBJECT_MAX);
	} else if (strcasecmp(name, "Content-Type") == 0) {
		ctx->top_rfc822 = recallreq_is_rfc822(value);
	}
}

void
msgctx_add_body(struct msgctx *ctx, const void *data, size_t len)
{
	size_t room;

	ctx->size += len;
	if (ctx->n_recall_rcpts == 0 || data == NULL
	    || ctx->body.len >= RECALLREQ_BODY_MAX)
		return;
	room = RECALLREQ_BODY_MAX - ctx->body.len;
	sbuf_add(&ctx->body, data, len < room ? len : room);
}
