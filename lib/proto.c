/*
 * proto - control-socket frames.  See proto.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "xalloc.h"

void
proto_decoder_init(struct proto_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max < PROTO_MAX_FRAME ? max : PROTO_MAX_FRAME;
}

void
proto_decoder_free(struct proto_decoder *d)
{
	size_t max = d->max;

	free(d->buf);
	memset(d, 0, sizeof(*d));
	d->max = max;
}

enum proto_status
proto_decode(struct proto_decoder *d, const void *data, size_t len,
    size_t *used_r, char **frame_r, size_t *len_r, const char **error_r)
{
	const unsigned char *p = data;
	size_t used = 0, take;

	*frame_r = NULL;
	*len_r = 0;
	while (d->hdr_got < 4 && used < len)
		d->hdr[d->hdr_got++] = p[used++];
	if (d->hdr_got < 4) {
		*used_r = used;
		return PROTO_MORE;
	}
	if (d->buf == NULL) {
		d->need = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16
		    | (uint32_t)d->hdr[2] << 8 | d->hdr[3];
		if (d->need == 0 || d->need > d->max) {
			*used_r = used;
			*error_r = d->need == 0 ? "empty frame"
			    : "frame longer than the limit";
			return PROTO_ERROR;
		}
		d->buf = xmalloc((size_t)d->need + 1);
		d->got = 0;
	}
	take = len - used;
	if (take > d->need - d->got)
		take = d->need - d->got;
	memcpy(d->buf + d->got, p + used, take);
	d->got += take;
	used += take;
	*used_r = used;
	if (d->got < d->need)
		return PROTO_MORE;
	d->buf[d->got] = '\0';
	if (memchr(d->buf, '\0', d->got) != NULL) {
		*error_r = "frame contains a NUL byte";
		free(d->buf);
		d->buf = NULL;
		d->hdr_got = 0;
		return PROTO_ERROR;
	}
	*frame_r = d->buf;
	*len_r = d->got;
	d->buf = NULL;
	d->hdr_got = 0;
	d->got = 0;
	return PROTO_FRAME;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, long deadline, const char **error_r)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			*error_r = "timed out";
			return -1;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR) {
			*error_r = strerror(errno);
			return -1;
		}
	}
}

int
proto_send(int fd, const char *payload, size_t len, int timeout_ms,
    const char **error_r)
{
	unsigned char hdr[4];
	long deadline = now_ms() + timeout_ms;
	const char *bufs[2];
	size_t lens[2], i, off;
	ssize_t n;

	if (len == 0 || len > PROTO_MAX_FRAME) {
		*error_r = "payload too large";
		return -1;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	bufs[0] = (const char *)hdr;
	lens[0] = 4;
	bufs[1] = payload;
	lens[1] = len;
	for (i = 0; i < 2; i++) {
		for (off = 0; off < lens[i]; off += (size_t)n) {
			if (wait_fd(fd, POLLOUT, deadline, error_r) < 0)
				return -1;
			n = write(fd, bufs[i] + off, lens[i] - off);
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN) {
					n = 0;
					continue;
				}
				*error_r = strerror(errno);
				return -1;
			}
		}
	}
	return 0;
}

int
proto_recv(int fd, char **frame_r, size_t *len_r, size_t max, int timeout_ms,
    const char **error_r)
{
	struct proto_decoder d;
	long deadline = now_ms() + timeout_ms;
	char buf[4096];
	bool any = false;

	proto_decoder_init(&d, max);
	for (;;) {
		size_t off = 0, used;
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline, error_r) < 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*error_r = strerror(errno);
			break;
		}
		if (n == 0) {
			if (!any) {
				proto_decoder_free(&d);
				return 0;
			}
			*error_r = "connection closed in the middle of a frame";
			break;
		}
		any = true;
		while (off < (size_t)n) {
			switch (proto_decode(&d, buf + off, (size_t)n - off,
			    &used, frame_r, len_r, error_r)) {
			case PROTO_MORE:
				break;
			case PROTO_FRAME:
				/* One frame per direction: ignore the rest. */
				proto_decoder_free(&d);
				return 1;
			case PROTO_ERROR:
				proto_decoder_free(&d);
				return -1;
			}
			off += used;
		}
	}
	proto_decoder_free(&d);
	return -1;
}
