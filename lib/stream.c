// SPDX-License-Identifier: GPL-2.0-only
/*
 * stream: buffered sequential I/O with a sticky error and a running CRC32C,
 * over an fd or memory. See stream.h for the contract.
 *
 * Every byte written goes through the buffer and the CRC is computed over
 * that copy (lazily, when the buffer is flushed or the CRC is read), so
 * memory changing under the writer — guest RAM during pre-copy — is sent
 * exactly as it was checksummed. Readers hash bytes as they are consumed;
 * large gets go straight from read(2) into the caller's buffer.
 * Skipped zeros are added to the CRC arithmetically (crc32c_zeros), never
 * hashed, and on a regular file become holes.
 *
 * Neighbours: lib/crc32c (the checksum), migration/format (the framing).
 */
#include "lib/stream.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"

#define MEM_MIN_CAP   (64u << 10)
#define HOLE_MIN      4096u        /* shorter zero runs are written, not seeked */

enum stream_kind { STREAM_FD, STREAM_MEM_READ, STREAM_MEM_WRITE };

struct stream {
	enum stream_kind kind;
	bool writer;
	int err;                /* first error, sticky */
	uint64_t pos;           /* logical offset: bytes put or got (stream_tell) */

	int fd;
	bool close_fd;
	bool regular;           /* regular file: readers seek, writers make holes */
	bool holes;             /* writer: may lseek over zeros */
	bool is_sock;           /* use send(MSG_NOSIGNAL): no SIGPIPE */
	bool ends_in_hole;      /* writer: last thing done was a seek over zeros */
	uint64_t base;          /* fd offset of stream position 0 */

	uint8_t *buf;           /* mem reader: the caller's bytes */
	size_t cap;
	size_t len;             /* writer: bytes buffered; reader: bytes valid */
	size_t off;             /* reader: bytes consumed */

	uint32_t crc;           /* CRC of everything before crc_mark ... */
	uint64_t crc_zeros;     /* ... then this many zeros ... */
	size_t crc_mark;        /* ... then buf[crc_mark .. len or off) */
};

/* ---- construction ---- */

static struct stream *stream_alloc(enum stream_kind kind, bool writer, size_t cap)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->writer = writer;
	s->fd = -1;
	s->cap = cap;
	if (cap) {
		s->buf = malloc(cap);
		if (!s->buf) {
			free(s);
			return NULL;
		}
	}
	return s;
}

static void stream_probe_fd(struct stream *s)
{
	struct stat st;
	off_t cur;

	if (fstat(s->fd, &st) < 0)
		return;
	s->is_sock = S_ISSOCK(st.st_mode);
	if (!S_ISREG(st.st_mode))
		return;
	cur = lseek(s->fd, 0, SEEK_CUR);
	if (cur < 0)
		return;
	s->regular = true;
	s->base = (uint64_t)cur;
	/* Holes are only safe where nothing old would show through, and
	 * O_APPEND would ignore the seek. */
	s->holes = s->writer && st.st_size <= cur && !(fcntl(s->fd, F_GETFL) & O_APPEND);
}

struct stream *stream_new_fd(int fd, unsigned int flags)
{
	bool writer = flags & STREAM_WRITE;
	struct stream *s;

	if (fd < 0 || !(flags & (STREAM_READ | STREAM_WRITE)) ||
	    (flags & STREAM_READ && flags & STREAM_WRITE)) {
		errno = EINVAL;
		return NULL;
	}
	s = stream_alloc(STREAM_FD, writer, STREAM_BUF_SIZE);
	if (!s)
		return NULL;
	s->fd = fd;
	s->close_fd = flags & STREAM_CLOSE_FD;
	stream_probe_fd(s);
	return s;
}

struct stream *stream_new_mem_read(const void *buf, size_t len)
{
	struct stream *s = stream_alloc(STREAM_MEM_READ, false, 0);

	if (!s)
		return NULL;
	s->buf = (uint8_t *)buf;   /* never written through */
	s->cap = s->len = len;
	return s;
}

struct stream *stream_new_mem_write(void)
{
	return stream_alloc(STREAM_MEM_WRITE, true, MEM_MIN_CAP);
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	if (s->writer)
		stream_flush(s);
	if (s->close_fd)
		close(s->fd);
	if (s->kind != STREAM_MEM_READ)
		free(s->buf);
	free(s);
}

const void *stream_mem_data(const struct stream *s, size_t *len)
{
	*len = s->kind == STREAM_MEM_WRITE ? s->len : 0;
	return s->kind == STREAM_MEM_WRITE ? s->buf : NULL;
}

/* ---- state ---- */

int stream_error(const struct stream *s)
{
	return s->err;
}

void stream_set_error(struct stream *s, int err)
{
	if (!s->err && err < 0)
		s->err = err;
}

uint64_t stream_tell(const struct stream *s)
{
	return s->pos;
}

int stream_fd(const struct stream *s)
{
	return s->kind == STREAM_FD ? s->fd : -1;
}

bool stream_seekable(const struct stream *s)
{
	return s->kind == STREAM_MEM_READ || s->regular;
}

/* ---- CRC ---- */

/* End of the bytes in buf the CRC must eventually cover. */
static size_t crc_end(const struct stream *s)
{
	return s->writer ? s->len : s->off;
}

static uint32_t crc_value(const struct stream *s)
{
	uint32_t crc = crc32c_zeros(s->crc, s->crc_zeros);

	return crc32c(crc, s->buf + s->crc_mark, crc_end(s) - s->crc_mark);
}

/* Fold everything pending into s->crc; crc_mark moves to crc_end. */
static void crc_sync(struct stream *s)
{
	s->crc = crc_value(s);
	s->crc_zeros = 0;
	s->crc_mark = crc_end(s);
}

void stream_crc_reset(struct stream *s)
{
	stream_crc_set(s, 0);
}

uint32_t stream_crc(const struct stream *s)
{
	return crc_value(s);
}

void stream_crc_set(struct stream *s, uint32_t crc)
{
	s->crc = crc;
	s->crc_zeros = 0;
	s->crc_mark = crc_end(s);
}

/* ---- writing ---- */

static int write_all(struct stream *s, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = s->is_sock ? send(s->fd, p, len, MSG_NOSIGNAL)
				       : write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write out the fd writer's buffer (after hashing it). */
static void flush_buf(struct stream *s)
{
	int ret;

	if (s->kind != STREAM_FD || !s->len)
		return;
	crc_sync(s);
	ret = write_all(s, s->buf, s->len);
	stream_set_error(s, ret);
	s->len = s->crc_mark = 0;
	s->ends_in_hole = false;
}

/* Make room for at least one byte (fd) or @need bytes (memory). */
static size_t writable(struct stream *s, size_t need)
{
	if (s->kind == STREAM_FD) {
		if (s->len == s->cap)
			flush_buf(s);
		return s->cap - s->len;
	}
	if (s->cap - s->len < need) {
		size_t cap = s->cap;
		uint8_t *nb;

		while (cap - s->len < need)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		nb = realloc(s->buf, cap);
		if (!nb) {
			stream_set_error(s, -ENOMEM);
			return 0;
		}
		s->buf = nb;
		s->cap = cap;
	}
	return need;
}

static bool check_writer(struct stream *s)
{
	if (!s->writer)
		stream_set_error(s, -EBADF);
	return !s->err;
}

void stream_put(struct stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!check_writer(s))
		return;
	while (len && !s->err) {
		size_t n = writable(s, len);

		if (n > len)
			n = len;
		memcpy(s->buf + s->len, p, n);
		s->len += n;
		s->pos += n;
		p += n;
		len -= n;
	}
}

void stream_put_u8(struct stream *s, uint8_t v)
{
	stream_put(s, &v, 1);
}

void stream_put_u16(struct stream *s, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };

	stream_put(s, b, 2);
}

void stream_put_u32(struct stream *s, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	stream_put(s, b, 4);
}

void stream_put_u64(struct stream *s, uint64_t v)
{
	stream_put_u32(s, (uint32_t)v);
	stream_put_u32(s, (uint32_t)(v >> 32));
}

static void put_zeros(struct stream *s, uint64_t n)
{
	while (n && !s->err) {
		size_t k = writable(s, n > STREAM_BUF_SIZE ? STREAM_BUF_SIZE : (size_t)n);

		if (k > n)
			k = (size_t)n;
		memset(s->buf + s->len, 0, k);
		s->len += k;
		s->pos += k;
		n -= k;
	}
}

/* Seek a file writer over @n zero bytes, leaving a hole. */
static void seek_zeros(struct stream *s, uint64_t n)
{
	flush_buf(s);
	if (s->err)
		return;
	if (lseek(s->fd, (off_t)n, SEEK_CUR) < 0) {
		stream_set_error(s, -errno);
		return;
	}
	s->crc_zeros += n;
	s->pos += n;
	s->ends_in_hole = true;
}

static void check_zeros(struct stream *s, uint64_t n);

void stream_skip_zeros(struct stream *s, uint64_t n)
{
	if (s->err || !n)
		return;
	if (!s->writer)
		check_zeros(s, n);
	else if (s->holes && n >= HOLE_MIN)
		seek_zeros(s, n);
	else
		put_zeros(s, n);
}

void stream_align(struct stream *s, uint64_t align)
{
	uint64_t pad = (align - (s->pos & (align - 1))) & (align - 1);

	stream_skip_zeros(s, pad);
}

int stream_flush(struct stream *s)
{
	if (!s->writer || s->err)
		return s->err;
	flush_buf(s);
	if (!s->err && s->ends_in_hole) {
		/* The file must reach past its trailing hole. */
		if (ftruncate(s->fd, (off_t)(s->base + s->pos)) < 0)
			stream_set_error(s, -errno);
		else
			s->ends_in_hole = false;
	}
	return s->err;
}

/* ---- reading ---- */

static bool check_reader(struct stream *s)
{
	if (s->writer)
		stream_set_error(s, -EBADF);
	return !s->err;
}

static ssize_t read_some(struct stream *s, void *p, size_t len)
{
	ssize_t n;

	do
		n = read(s->fd, p, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		stream_set_error(s, -errno);
	return n;
}

/* Refill the fd reader's buffer: returns bytes available, 0 at EOF/error. */
static size_t fill(struct stream *s)
{
	ssize_t n;

	if (s->off < s->len)
		return s->len - s->off;
	if (s->kind != STREAM_FD || s->err)
		return 0;
	crc_sync(s);
	s->off = s->len = s->crc_mark = 0;
	n = read_some(s, s->buf, s->cap);
	if (n <= 0)
		return 0;
	s->len = (size_t)n;
	return s->len;
}

/* Read @len bytes straight into @p (fd reader, buffer empty). */
static size_t read_direct(struct stream *s, uint8_t *p, size_t len)
{
	size_t done = 0;

	crc_sync(s);
	while (done < len) {
		ssize_t n = read_some(s, p + done, len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	s->crc = crc32c(s->crc, p, done);
	return done;
}

/* Consume up to @len buffered bytes into @p (NULL: discard); returns count. */
static size_t take(struct stream *s, uint8_t *p, size_t len)
{
	size_t n = fill(s);

	if (n > len)
		n = len;
	if (p)
		memcpy(p, s->buf + s->off, n);
	s->off += n;
	return n;
}

int stream_get(struct stream *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	if (!check_reader(s)) {
		memset(buf, 0, len);
		return s->err;
	}
	while (done < len) {
		size_t n;

		if (s->kind == STREAM_FD && s->off == s->len && len - done >= s->cap / 2)
			n = read_direct(s, p + done, len - done);
		else
			n = take(s, p + done, len - done);
		if (!n)
			break;
		done += n;
	}
	s->pos += done;
	if (done < len) {
		stream_set_error(s, STREAM_ETRUNC);
		memset(buf, 0, len);
	}
	return s->err;
}

/* Fast path: @n bytes already buffered. */
static const uint8_t *peek(struct stream *s, size_t n)
{
	const uint8_t *p;

	if (s->err || s->writer || s->len - s->off < n)
		return NULL;
	p = s->buf + s->off;
	s->off += n;
	s->pos += n;
	return p;
}

uint8_t stream_get_u8(struct stream *s)
{
	uint8_t v;

	stream_get(s, &v, 1);
	return v;
}

uint16_t stream_get_u16(struct stream *s)
{
	uint8_t b[2];

	stream_get(s, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

uint32_t stream_get_u32(struct stream *s)
{
	const uint8_t *p = peek(s, 4);
	uint8_t b[4];

	if (p)
		return le32(p);
	stream_get(s, b, 4);
	return le32(b);
}

uint64_t stream_get_u64(struct stream *s)
{
	const uint8_t *p = peek(s, 8);
	uint8_t b[8];

	if (!p) {
		stream_get(s, b, 8);
		p = b;
	}
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Consume @n bytes through the CRC; @zeros: fail unless they are all zero. */
static void consume(struct stream *s, uint64_t n, bool zeros)
{
	if (!check_reader(s))
		return;
	while (n) {
		size_t k = fill(s), i;

		if (!k)
			break;
		if (k > n)
			k = (size_t)n;
		for (i = 0; zeros && i < k; i++)
			if (s->buf[s->off + i])
				break;
		if (zeros && i < k) {
			stream_set_error(s, -EBADMSG);
			return;
		}
		s->off += k;
		s->pos += k;
		n -= k;
	}
	if (n)
		stream_set_error(s, STREAM_ETRUNC);
}

static void check_zeros(struct stream *s, uint64_t n)
{
	consume(s, n, true);
}

void stream_skip(struct stream *s, uint64_t n)
{
	consume(s, n, false);
}

/* Seek a regular-file reader to @pos, checking the file is long enough. */
static void seek_file(struct stream *s, uint64_t pos)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0) {
		stream_set_error(s, -errno);
		return;
	}
	if (s->base + pos > (uint64_t)st.st_size) {
		/* Report where the data really ends, not where we stood. */
		if ((uint64_t)st.st_size > s->base + s->pos)
			s->pos = (uint64_t)st.st_size - s->base;
		stream_set_error(s, STREAM_ETRUNC);
		return;
	}
	if (lseek(s->fd, (off_t)(s->base + pos), SEEK_SET) < 0) {
		stream_set_error(s, -errno);
		return;
	}
	s->off = s->len = s->crc_mark = 0;
	s->pos = pos;
}

void stream_seek(struct stream *s, uint64_t pos)
{
	uint32_t crc;

	if (!check_reader(s) || pos < s->pos) {
		stream_set_error(s, -EINVAL);
		return;
	}
	crc_sync(s);
	crc = s->crc;
	if (s->regular && pos - s->pos > s->len - s->off) {
		seek_file(s, pos);
	} else {
		stream_skip(s, pos - s->pos);
	}
	stream_crc_set(s, crc);   /* the bytes passed over do not count */
}

bool stream_eof(struct stream *s)
{
	if (s->writer || s->err)
		return true;
	return fill(s) == 0;
}
