// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-stream: lib/stream and lib/crc32c. Round trips through the memory,
 * pipe and file backends, the sticky error, truncation, holes for skipped
 * zeros, the running CRC against crc32c() of the same bytes, and CRC-32C
 * known vectors. With -b it also prints crc32c and stream throughput.
 * The migration format on top is tests/unit/test-format.c.
 */
#include "lib/stream.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "tests/unit/unit.h"

static char tmpdir[] = "/tmp/test-stream.XXXXXX";

/* Deterministic bytes, different for each seed. */
static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void test_crc_vectors(void)
{
	uint8_t zeros[32] = { 0 }, ones[32], inc[32];

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	CHECK_EQ_U64(crc32c(0, "123456789", 9), 0xE3069283);
	CHECK_EQ_U64(crc32c_sw(0, "123456789", 9), 0xE3069283);
	CHECK_EQ_U64(crc32c(0, "", 0), 0);
	/* RFC 3720 (iSCSI) B.4 test vectors */
	CHECK_EQ_U64(crc32c(0, zeros, 32), 0x8A9136AA);
	CHECK_EQ_U64(crc32c(0, ones, 32), 0x62A8AB43);
	CHECK_EQ_U64(crc32c(0, inc, 32), 0x46DD794E);
	CHECK_EQ_U64(crc32c_zeros(0, 32), 0x8A9136AA);
}

static void test_crc_paths(void)
{
	size_t n = 1 << 20;
	uint8_t *b = malloc(n);
	int bad = 0;

	fill_pattern(b, n, 1);
	for (size_t len = 0; len < 70000; len += len < 100 ? 1 : 1237) {
		size_t o = len % 13, cut = len / 3;
		uint32_t whole = crc32c(5, b + o, len);

		bad += whole != crc32c_sw(5, b + o, len);
		bad += crc32c(0, b + o, len) != crc32c_combine(crc32c(0, b + o, cut),
				crc32c(0, b + o + cut, len - cut), len - cut);
		bad += crc32c(crc32c(5, b + o, cut), b + o + cut, len - cut) != whole;
	}
	CHECK_EQ_INT(bad, 0);
	memset(b, 0, n);
	for (size_t len = 0; len < n; len += 4099)
		bad += crc32c_zeros(0xdeadbeef, len) != crc32c(0xdeadbeef, b, len);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_U64(crc32c_zeros(1, 1ull << 34),
		     crc32c_zeros(crc32c_zeros(1, 1ull << 33), 1ull << 33));
	free(b);
}

/* Put a mix of everything; the reader checks it back. */
static void put_mix(struct stream *s, const uint8_t *big, size_t big_len)
{
	stream_put_u8(s, 0xab);
	stream_put_u16(s, 0xbeef);
	stream_put_u32(s, 0x01020304);
	stream_put_u64(s, 0x1122334455667788ull);
	stream_put(s, big, big_len);
	stream_skip_zeros(s, 10000);
	stream_put_u32(s, 7);
	stream_align(s, 4096);
	stream_put(s, "tail", 4);
}

static void get_mix(struct stream *s, const uint8_t *big, size_t big_len)
{
	uint8_t *back = malloc(big_len);
	char tail[5] = { 0 };

	CHECK_EQ_U64(stream_get_u8(s), 0xab);
	CHECK_EQ_U64(stream_get_u16(s), 0xbeef);
	CHECK_EQ_U64(stream_get_u32(s), 0x01020304);
	CHECK_EQ_U64(stream_get_u64(s), 0x1122334455667788ull);
	stream_get(s, back, big_len);
	CHECK(memcmp(back, big, big_len) == 0);
	stream_skip_zeros(s, 10000);
	CHECK_EQ_U64(stream_get_u32(s), 7);
	stream_align(s, 4096);
	CHECK_EQ_U64(stream_tell(s) % 4096, 0);
	stream_get(s, tail, 4);
	CHECK_STR(tail, "tail");
	CHECK_EQ_INT(stream_error(s), 0);
	CHECK(stream_eof(s));
	free(back);
}

static size_t mix_len(size_t big_len)
{
	size_t n = 1 + 2 + 4 + 8 + big_len + 10000 + 4;

	return ((n + 4095) & ~(size_t)4095) + 4;
}

static void test_mem_roundtrip(void)
{
	size_t big_len = 700000, len;
	uint8_t *big = malloc(big_len);
	struct stream *w = stream_new_mem_write(), *r;
	const void *data;
	uint32_t wcrc;

	fill_pattern(big, big_len, 2);
	stream_crc_reset(w);
	put_mix(w, big, big_len);
	wcrc = stream_crc(w);
	CHECK_EQ_INT(stream_flush(w), 0);
	data = stream_mem_data(w, &len);
	CHECK_EQ_U64(len, mix_len(big_len));
	CHECK_EQ_U64(stream_tell(w), len);
	CHECK_EQ_U64(wcrc, crc32c(0, data, len));
	r = stream_new_mem_read(data, len);
	stream_crc_reset(r);
	get_mix(r, big, big_len);
	CHECK_EQ_U64(stream_crc(r), wcrc);
	stream_free(r);
	stream_free(w);
	free(big);
}

struct pipe_writer {
	int fd;
	const uint8_t *big;
	size_t big_len;
	uint32_t crc;
};

static void *pipe_writer_main(void *arg)
{
	struct pipe_writer *pw = arg;
	struct stream *w = stream_new_fd(pw->fd, STREAM_WRITE | STREAM_CLOSE_FD);

	put_mix(w, pw->big, pw->big_len);
	pw->crc = stream_crc(w);
	stream_flush(w);
	stream_free(w);
	return NULL;
}

static void test_pipe_roundtrip(void)
{
	int fds[2];
	struct pipe_writer pw = { .big_len = 3 << 20 };
	uint8_t *big = malloc(pw.big_len);
	struct stream *r;
	pthread_t t;

	fill_pattern(big, pw.big_len, 3);
	pw.big = big;
	CHECK(pipe(fds) == 0);
	pw.fd = fds[1];
	pthread_create(&t, NULL, pipe_writer_main, &pw);
	r = stream_new_fd(fds[0], STREAM_READ | STREAM_CLOSE_FD);
	CHECK(!stream_seekable(r));
	get_mix(r, big, pw.big_len);
	pthread_join(t, NULL);
	CHECK_EQ_U64(stream_crc(r), pw.crc);
	stream_free(r);
	free(big);
}

static char *tmp_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* A file writer leaves holes for skipped zeros and reads back the same. */
static void test_file_holes(void)
{
	size_t big_len = 1 << 20;
	uint8_t *big = malloc(big_len);
	int fd = open(tmp_path("holes"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct stream *w = stream_new_fd(fd, STREAM_WRITE), *r;
	struct stat st;

	fill_pattern(big, big_len, 4);
	CHECK(stream_seekable(w));
	stream_crc_reset(w);
	stream_put(w, big, 4096);
	stream_skip_zeros(w, 64ull << 20);      /* 64 MiB hole in the middle */
	stream_put(w, big, big_len);
	stream_skip_zeros(w, 16ull << 20);      /* and one at the end */
	CHECK_EQ_INT(stream_flush(w), 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ_U64((uint64_t)st.st_size, 4096 + (80ull << 20) + big_len);
	CHECK((uint64_t)st.st_blocks * 512 < 4 * big_len);   /* sparse */
	lseek(fd, 0, SEEK_SET);
	r = stream_new_fd(fd, STREAM_READ);
	stream_crc_reset(r);
	stream_skip(r, 4096 + (64ull << 20) + big_len);
	stream_skip_zeros(r, 16ull << 20);
	CHECK(stream_eof(r));
	CHECK_EQ_INT(stream_error(r), 0);
	CHECK_EQ_U64(stream_crc(r), stream_crc(w));
	stream_free(r);
	stream_free(w);
	close(fd);
	free(big);
}

static void test_seek(void)
{
	uint8_t buf[20000];
	struct stream *r;

	fill_pattern(buf, sizeof(buf), 5);
	r = stream_new_mem_read(buf, sizeof(buf));
	stream_crc_reset(r);
	stream_skip(r, 100);
	stream_seek(r, 10000);
	stream_skip(r, 50);
	CHECK_EQ_U64(stream_tell(r), 10050);
	CHECK_EQ_U64(stream_crc(r), crc32c(crc32c(0, buf, 100), buf + 10000, 50));
	stream_seek(r, 30000);
	CHECK_EQ_INT(stream_error(r), STREAM_ETRUNC);
	stream_free(r);
}

static void test_file_seek(void)
{
	size_t len = 2 << 20;
	uint8_t *buf = malloc(len);
	int fd = open(tmp_path("seek"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct stream *r;

	fill_pattern(buf, len, 6);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	r = stream_new_fd(fd, STREAM_READ);
	stream_skip(r, 10);
	stream_crc_reset(r);
	stream_seek(r, len - 100);
	stream_skip(r, 100);
	CHECK_EQ_U64(stream_crc(r), crc32c(0, buf + len - 100, 100));
	CHECK(stream_eof(r));
	stream_seek(r, len + 1);
	CHECK_EQ_INT(stream_error(r), STREAM_ETRUNC);
	stream_free(r);
	close(fd);
	free(buf);
}

static void test_sticky(void)
{
	uint8_t buf[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct stream *r = stream_new_mem_read(buf, 9), *w;
	uint8_t out[8];
	int fd;

	CHECK_EQ_U64(stream_get_u64(r), 0x0807060504030201ull);
	CHECK_EQ_U64(stream_get_u32(r), 0);       /* only 1 byte left */
	CHECK_EQ_INT(stream_error(r), STREAM_ETRUNC);
	CHECK_EQ_U64(stream_get_u8(r), 0);        /* sticky: even though 1 is left */
	memset(out, 0xff, sizeof(out));
	CHECK_EQ_INT(stream_get(r, out, 1), STREAM_ETRUNC);
	CHECK_EQ_U64(out[0], 0);
	stream_set_error(r, -EIO);                /* the first error stays */
	CHECK_EQ_INT(stream_error(r), STREAM_ETRUNC);
	stream_free(r);

	fd = open("/dev/full", O_WRONLY);
	w = stream_new_fd(fd, STREAM_WRITE | STREAM_CLOSE_FD);
	for (int i = 0; i < 100000; i++)
		stream_put_u64(w, i);
	CHECK_EQ_INT(stream_error(w), -ENOSPC);
	CHECK_EQ_INT(stream_flush(w), -ENOSPC);
	stream_free(w);

	r = stream_new_mem_read(buf, 16);
	stream_put_u8(r, 1);                      /* wrong direction */
	CHECK_EQ_INT(stream_error(r), -EBADF);
	stream_free(r);
	r = stream_new_mem_read(buf, 16);
	stream_skip_zeros(r, 4);                  /* not zeros */
	CHECK_EQ_INT(stream_error(r), -EBADMSG);
	stream_free(r);
}

static void test_closed_socket(void)
{
	int sv[2];
	struct stream *w;
	uint8_t page[4096] = { 0 };

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	w = stream_new_fd(sv[0], STREAM_WRITE | STREAM_CLOSE_FD);
	for (int i = 0; i < 200; i++)
		stream_put(w, page, sizeof(page));
	CHECK_EQ_INT(stream_flush(w), -EPIPE);    /* and no SIGPIPE */
	stream_free(w);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sock_bench {
	int fd;
	const uint8_t *buf;
	size_t len;
	int rounds;
};

static void *sock_writer(void *arg)
{
	struct sock_bench *b = arg;
	struct stream *w = stream_new_fd(b->fd, STREAM_WRITE | STREAM_CLOSE_FD);

	for (int i = 0; i < b->rounds; i++)
		for (size_t o = 0; o < b->len; o += 4096)
			stream_put(w, b->buf + o, 4096);
	stream_flush(w);
	stream_free(w);
	return NULL;
}

/* Writer thread to reader over a unix socket, 4 KiB at a time, CRC on both. */
static void bench_socket(const uint8_t *buf, size_t len)
{
	struct sock_bench b = { .buf = buf, .len = len, .rounds = 8 };
	uint8_t page[4096];
	struct stream *r;
	pthread_t t;
	int sv[2];
	double t0 = now();

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	b.fd = sv[0];
	pthread_create(&t, NULL, sock_writer, &b);
	r = stream_new_fd(sv[1], STREAM_READ | STREAM_CLOSE_FD);
	while (!stream_get(r, page, sizeof(page)))
		;
	pthread_join(t, NULL);
	printf("stream over a unix socket, 4 KiB puts and gets, CRC both ends: %.0f MB/s\n",
	       stream_tell(r) / (now() - t0) / 1e6);
	stream_free(r);
}

static void bench(void)
{
	size_t n = 64 << 20;
	uint8_t *b = malloc(n);
	double t;
	uint32_t c = 0;
	int fd;
	struct stream *s;

	fill_pattern(b, n, 7);
	for (size_t bs = 4096; bs <= n; bs *= 64) {
		t = now();
		for (int i = 0; i < 8; i++)
			for (size_t o = 0; o < n; o += bs)
				c = crc32c(c, b + o, bs);
		printf("crc32c %s, %zu-byte buffers: %.0f MB/s\n",
		       crc32c_hw_available() ? "sse4.2" : "table", bs, 8 * n / (now() - t) / 1e6);
	}
	t = now();
	c = crc32c_sw(c, b, n);
	printf("crc32c table: %.0f MB/s\n", n / (now() - t) / 1e6);
	t = now();
	for (int i = 0; i < 1000000; i++)
		c = crc32c_zeros(c, 4096);
	printf("crc32c_zeros(4096): %.1f ns\n", (now() - t) * 1e3);
	fd = open("/dev/null", O_WRONLY);
	s = stream_new_fd(fd, STREAM_WRITE | STREAM_CLOSE_FD);
	t = now();
	for (int i = 0; i < 8; i++)
		for (size_t o = 0; o < n; o += 4096)
			stream_put(s, b + o, 4096);
	stream_flush(s);
	printf("stream to /dev/null, 4 KiB puts with CRC: %.0f MB/s (crc %08x)\n",
	       8 * n / (now() - t) / 1e6, stream_crc(s));
	stream_free(s);
	s = stream_new_mem_read(b, n);
	t = now();
	while (!stream_eof(s))
		stream_skip(s, 4096);
	printf("stream from memory, 4 KiB skips with CRC: %.0f MB/s (crc %08x)\n",
	       n / (now() - t) / 1e6, stream_crc(s));
	stream_free(s);
	bench_socket(b, n);
	free(b);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(tmpdir))
		return 2;
	test_crc_vectors();
	test_crc_paths();
	test_mem_roundtrip();
	test_pipe_roundtrip();
	test_file_holes();
	test_seek();
	test_file_seek();
	test_sticky();
	test_closed_socket();
	if (argc > 1 && !strcmp(argv[1], "-b"))
		bench();
	unlink(tmp_path("holes"));
	unlink(tmp_path("seek"));
	rmdir(tmpdir);
	return UNIT_DONE();
}
