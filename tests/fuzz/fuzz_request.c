/*
 * libFuzzer target: the control protocol's request decoder end to end:
 * frames (lib/proto.c, fed in chunks whose sizes come from the input) and
 * each frame's JSON (recalld/request.c).  Every frame must be parsed into
 * a request or refused with a message; a parsed request must obey the
 * invariants request.h states.
 *
 * FUZZ_SOURCES: lib/proto.c lib/xalloc.c lib/sbuf.c lib/addr.c lib/cfg.c recalld/request.c recalld/decide.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "proto.h"
#include "../../recalld/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A text field a parsed request holds: bounded, no control bytes. */
static void
check_text(const char *s)
{
	size_t i, len;

	if (s == NULL)
		return;
	len = strlen(s);
	if (len == 0 || len > ADDR_MAX_LEN)
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void
parse_one(const char *frame, size_t len)
{
	struct request req;
	char *error = NULL;
	bool is_date;

	if (request_parse(frame, len, &req, &error) < 0) {
		if (error == NULL || *error == '\0')
			abort();
		free(error);
		return;
	}
	check_text(req.ref);
	check_text(req.as);
	check_text(req.on_behalf_of);
	check_text(req.recipient);
	check_text(req.sender);
	check_text(req.outcome);
	if ((req.op == REQUEST_RECALL || req.op == REQUEST_STATUS
	    || req.op == REQUEST_RESTORE) && req.ref == NULL)
		abort();
	if (req.op == REQUEST_RECALL && (req.via == NULL
	    || (strcmp(req.via, "mail") != 0
	    && strcmp(req.via, "recallctl") != 0)))
		abort();
	if (req.since != NULL && !request_time_valid(req.since, &is_date))
		abort();
	if (req.until != NULL && !request_time_valid(req.until, &is_date))
		abort();
	if (req.as != NULL && req.on_behalf_of != NULL)
		abort();
	request_clear(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_decoder d;
	const char *err;
	size_t off, used, len, chunk;
	char *frame, *copy;
	bool is_date;

	if (size == 0)
		return 0;
	/* The whole input as one payload, too (most inputs are no frames). */
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	parse_one(copy, size - 1);
	(void)request_time_valid(copy, &is_date);
	free(copy);

	chunk = (size_t)data[0] % 7 + 1;
	off = 1;
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		switch (proto_decode(&d, data + off, n, &used, &frame, &len,
		    &err)) {
		case PROTO_FRAME:
			if (strlen(frame) != len || len > PROTO_MAX_REQUEST)
				abort();
			parse_one(frame, len);
			free(frame);
			break;
		case PROTO_ERROR:
			proto_decoder_free(&d);
			return 0;
		case PROTO_MORE:
			if (used != n)
				abort();
			break;
		}
		off += used;
	}
	proto_decoder_free(&d);
	return 0;
}
