/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream: the one byte stream of migration — a save file, a socket or pipe,
 * or a memory buffer in tests — written or read sequentially through a
 * buffer (256 KiB; large puts and gets go straight to write(2)/read(2)).
 *
 * Errors are sticky: after the first failure every put does nothing, every
 * get returns zeros, and stream_error() returns that first negative errno.
 * Callers check once per section, not per call. Reading past the end gives
 * -EPIPE (STREAM_ETRUNC), which the format layer reports as "truncated".
 *
 * A running CRC32C covers every byte put or got since stream_crc_reset();
 * zeros skipped with stream_skip_zeros() count as zeros, computed in O(log n).
 *
 * It does not know the migration format (migration/format.c does), frame
 * records, compress, rate-limit or retry: fds must be blocking; to cancel a
 * transfer blocked in write(2), shutdown(2) the socket from another thread
 * (the stream then fails with -EPIPE). One thread uses a stream at a time.
 */
#ifndef PGR_STREAM_H
#define PGR_STREAM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_BUF_SIZE  (256u << 10)
#define STREAM_ETRUNC    (-EPIPE)   /* read past the end of the data */

/* stream_new_fd() flags */
#define STREAM_READ      (1u << 0)
#define STREAM_WRITE     (1u << 1)
#define STREAM_CLOSE_FD  (1u << 2)  /* stream_free() closes the fd */

struct stream;

/*
 * Read or write @fd (exactly one of STREAM_READ, STREAM_WRITE). Offsets
 * (stream_tell) count from the fd's position at this call. A writer on a
 * regular file that is empty from the current position on (new or O_TRUNC,
 * not O_APPEND) leaves holes for skipped zeros. NULL + errno on failure.
 */
struct stream *stream_new_fd(int fd, unsigned int flags);
/* Read @len bytes at @buf (not copied: must outlive the stream). */
struct stream *stream_new_mem_read(const void *buf, size_t len);
/* Write into a growing memory buffer; see stream_mem_data(). */
struct stream *stream_new_mem_write(void);
/* Flush (writers) and free; errors are lost: read stream_error() before. */
void stream_free(struct stream *s);

/* The memory writer's bytes so far (valid until the next put or free). */
const void *stream_mem_data(const struct stream *s, size_t *len);

/* First error, 0 if none. */
int stream_error(const struct stream *s);
/* Record @err (negative errno) unless an error is already recorded. */
void stream_set_error(struct stream *s, int err);
/* Write out buffered bytes; returns stream_error(). */
int stream_flush(struct stream *s);
/* Bytes put or got (including skipped) since the stream was created. */
uint64_t stream_tell(const struct stream *s);
/* The fd of an fd stream, -1 for memory streams. */
int stream_fd(const struct stream *s);
/* 1 if the stream is a regular file (readers can seek, writers make holes). */
bool stream_seekable(const struct stream *s);

/* ---- writing ---- */
void stream_put(struct stream *s, const void *buf, size_t len);
void stream_put_u8(struct stream *s, uint8_t v);
void stream_put_u16(struct stream *s, uint16_t v);
void stream_put_u32(struct stream *s, uint32_t v);
void stream_put_u64(struct stream *s, uint64_t v);
/*
 * @n zero bytes: a seekable file writer seeks over them (a hole, extending
 * the file at flush if it ends in one); other writers write zeros. Readers:
 * read @n bytes and fail with -EBADMSG if any is not zero.
 */
void stream_skip_zeros(struct stream *s, uint64_t n);
/* Pad with zeros (writer) or consume zero padding (reader) up to a multiple
 * of @align (a power of two) of stream_tell(). */
void stream_align(struct stream *s, uint64_t align);

/* ---- reading ---- */
/* Read @len bytes into @buf (zeroed on error); returns stream_error(). */
int stream_get(struct stream *s, void *buf, size_t len);
uint8_t stream_get_u8(struct stream *s);
uint16_t stream_get_u16(struct stream *s);
uint32_t stream_get_u32(struct stream *s);
uint64_t stream_get_u64(struct stream *s);
/* Read and discard @n bytes; they enter the CRC. */
void stream_skip(struct stream *s, uint64_t n);
/*
 * Move a reader forward to offset @pos (>= stream_tell()). The bytes passed
 * over do NOT enter the CRC. Seeks on regular files and memory, reads and
 * discards elsewhere. STREAM_ETRUNC if @pos lies past the end of a file.
 */
void stream_seek(struct stream *s, uint64_t pos);
/* 1 if a reader has no more bytes (may block to find out). */
bool stream_eof(struct stream *s);

/* ---- running CRC32C (lib/crc32c conventions) ---- */
void stream_crc_reset(struct stream *s);              /* to 0 */
uint32_t stream_crc(const struct stream *s);
void stream_crc_set(struct stream *s, uint32_t crc);  /* resume a saved value */

#endif
