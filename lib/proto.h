/*
 * proto - the frame format of the control socket between recallctl and
 * recalld.
 *
 * A frame is a 4-byte big-endian payload length followed by that many bytes
 * of UTF-8 JSON.  A payload is at most PROTO_MAX_FRAME bytes; a longer
 * length, a short read or a payload with a NUL byte is an error, and the
 * connection is closed.  One request frame, one response frame.
 *
 * The decoder is incremental and pure (no I/O) so it can be fed a byte at a
 * time and fuzzed.  Payloads returned are heap strings the caller frees.
 */
#ifndef RECALL_PROTO_H
#define RECALL_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* The largest frame at all (an answer about 10,000+ recipients fits). */
#define PROTO_MAX_FRAME (64 * 1024 * 1024)
/* The largest request recalld accepts: requests are small. */
#define PROTO_MAX_REQUEST (64 * 1024)

struct proto_decoder {
	unsigned char hdr[4];
	size_t hdr_got;
	uint32_t need;
	char *buf;
	size_t got;
	size_t max;	/* frames longer than this are errors */
};

enum proto_status { PROTO_MORE, PROTO_FRAME, PROTO_ERROR };

/* max: the longest payload to accept (at most PROTO_MAX_FRAME). */
void proto_decoder_init(struct proto_decoder *d, size_t max);
void proto_decoder_free(struct proto_decoder *d);
/*
 * Feed len bytes.  *used_r gets how many were consumed.  On PROTO_FRAME the
 * payload (NUL-terminated, length in *len_r) goes to *frame_r, and the
 * decoder is ready for the next frame.  On PROTO_ERROR *error_r is a static
 * string.
 */
enum proto_status proto_decode(struct proto_decoder *d, const void *data,
    size_t len, size_t *used_r, char **frame_r, size_t *len_r,
    const char **error_r);

/* Blocking helpers over a socket, with a timeout in milliseconds. */
int proto_send(int fd, const char *payload, size_t len, int timeout_ms,
    const char **error_r);
/*
 * Returns 1 with a frame, 0 on clean EOF before any byte, -1 on error.
 * Accepts payloads up to max bytes.
 */
int proto_recv(int fd, char **frame_r, size_t *len_r, size_t max,
    int timeout_ms, const char **error_r);

#endif
