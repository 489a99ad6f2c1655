/*
 * Unit tests for lib/proto.c (frames fed whole and a byte at a time) and
 * lib/sbuf.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "sbuf.h"
#include "test.h"
#include "xalloc.h"

static size_t
frame(unsigned char *out, const char *payload, uint32_t len)
{
	out[0] = (unsigned char)(len >> 24);
	out[1] = (unsigned char)(len >> 16);
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
	memcpy(out + 4, payload, strlen(payload));
	return 4 + strlen(payload);
}

int
main(void)
{
	struct proto_decoder d;
	unsigned char buf[256];
	char *f = NULL;
	const char *err = NULL;
	size_t n, used, len, i;
	enum proto_status st;
	int frames;

	TEST_BEGIN("proto: two frames in one buffer");
	n = frame(buf, "{\"op\":\"a\"}", 10);
	n += frame(buf + n, "{\"x\":1}", 7);
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	st = proto_decode(&d, buf, n, &used, &f, &len, &err);
	CHECK(st == PROTO_FRAME);
	CHECK_STR(f, "{\"op\":\"a\"}");
	CHECK_INT(len, 10);
	free(f);
	st = proto_decode(&d, buf + used, n - used, &used, &f, &len, &err);
	CHECK(st == PROTO_FRAME);
	CHECK_STR(f, "{\"x\":1}");
	free(f);
	proto_decoder_free(&d);
	TEST_END();

	TEST_BEGIN("proto: fed one byte at a time");
	n = frame(buf, "hello", 5);
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	frames = 0;
	for (i = 0; i < n; i++) {
		st = proto_decode(&d, buf + i, 1, &used, &f, &len, &err);
		CHECK(used == 1);
		CHECK(st != PROTO_ERROR);
		if (st == PROTO_FRAME) {
			CHECK(i == n - 1);
			CHECK_STR(f, "hello");
			free(f);
			frames++;
		}
	}
	CHECK_INT(frames, 1);
	proto_decoder_free(&d);
	TEST_END();

	TEST_BEGIN("proto: oversized, empty and NUL frames are errors");
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	buf[0] = 0x7f; buf[1] = buf[2] = buf[3] = 0xff;
	CHECK(proto_decode(&d, buf, 4, &used, &f, &len, &err) == PROTO_ERROR);
	CHECK(err != NULL && strstr(err, "limit") != NULL);
	proto_decoder_free(&d);
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	memset(buf, 0, 4);
	CHECK(proto_decode(&d, buf, 4, &used, &f, &len, &err) == PROTO_ERROR);
	proto_decoder_free(&d);
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	n = frame(buf, "ab", 3);
	buf[n] = '\0';
	CHECK(proto_decode(&d, buf, n + 1, &used, &f, &len, &err) == PROTO_ERROR);
	CHECK(f == NULL);
	proto_decoder_free(&d);
	TEST_END();

	TEST_BEGIN("proto: send and receive over a socket pair; EOF; truncation");
	{
		int sv[2];

		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		CHECK(proto_send(sv[0], "{\"ok\":true}", 11, 1000, &err) == 0);
		CHECK(proto_recv(sv[1], &f, &len, PROTO_MAX_REQUEST, 1000, &err) == 1);
		CHECK_STR(f, "{\"ok\":true}");
		free(f);
		CHECK(write(sv[0], "\0\0\0\x10" "abc", 7) == 7);
		close(sv[0]);
		CHECK(proto_recv(sv[1], &f, &len, PROTO_MAX_REQUEST, 1000, &err) == -1);
		CHECK(err != NULL && strstr(err, "middle") != NULL);
		close(sv[1]);
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		close(sv[0]);
		CHECK(proto_recv(sv[1], &f, &len, PROTO_MAX_REQUEST, 1000, &err) == 0);
		close(sv[1]);
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		CHECK(proto_recv(sv[1], &f, &len, PROTO_MAX_REQUEST, 50, &err) == -1);
		CHECK(err != NULL && strstr(err, "timed out") != NULL);
		close(sv[0]);
		close(sv[1]);
	}
	TEST_END();

	TEST_BEGIN("sbuf: append, format, printable escaping, detach");
	{
		struct sbuf sb = SBUF_INIT;
		char *s;

		CHECK_STR(sbuf_str(&sb), "");
		for (i = 0; i < 1000; i++)
			sbuf_addf(&sb, "%zu,", i);
		CHECK(strncmp(sb.buf, "0,1,2,", 6) == 0);
		CHECK(sb.len == strlen(sb.buf));
		sbuf_reset(&sb);
		sbuf_add_printable(&sb, "a\r\n\x01\\b\xff", 7);
		CHECK_STR(sb.buf, "a\\x0d\\x0a\\x01\\x5cb\\xff");
		s = sbuf_detach(&sb);
		CHECK(sb.buf == NULL);
		free(s);
		sbuf_release(&sb);
	}
	TEST_END();

	return test_done();
}
