/*
 * libFuzzer target: the control-socket frame decoder, fed the input in
 * chunks whose sizes come from the input itself.
 *
 * FUZZ_SOURCES: lib/proto.c lib/xalloc.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_decoder d;
	const char *err;
	size_t off = 0, used, len, chunk;
	char *frame;

	if (size == 0)
		return 0;
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
