// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-stream: libFuzzer target for the migration stream reader. Each input
 * is a whole stream in memory, walked by format_walk() exactly as
 * pgr-migdump and restore read it. Any crash, sanitizer report, leak or
 * unbounded allocation is a bug in migration/format.c or lib/stream.c.
 *
 * Mutated bytes almost never keep their checksums right, which would stop
 * the walk at the first section. So each input is walked as given, and
 * then with every CRC (header, sections, RAM image chunks) recomputed by
 * the small framing-only fixer below — from memory and from a memfd, so the
 * parsers behind the checksums and the fd/seek/SEEK_DATA paths are
 * exercised too. The fixer trusts nothing and clamps every length.
 * Seeds: tests/fuzz/seeds/fuzz-stream/; `make fuzz` runs it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "migration/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute a RAM_IMAGE's chunk CRCs and return its section CRC, or the
 * plain CRC when the tables do not describe a layout that fits. */
static uint32_t fix_image(uint8_t *b, size_t off, uint64_t len)
{
	const uint8_t *p = b + off + PGR_MIG_SECTION_SIZE;
	uint64_t nr = le(p, 4), tab, data, pos, chunks = 0;
	uint8_t *crc_at;

	if (len < 8 || nr == 0 || nr > PGR_MIG_IMAGE_MAX_REGIONS || 8 + 24 * nr > len)
		return crc32c(0, b + off, PGR_MIG_SECTION_SIZE + len);
	tab = off + PGR_MIG_SECTION_SIZE + 8 + 24 * nr;
	data = (tab + 4095) & ~4095ull;
	pos = data;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t sz = le(p + 8 + 24 * i + 8, 8);

		if (sz > len || pos + sz > off + PGR_MIG_SECTION_SIZE + len)
			return crc32c(0, b + off, PGR_MIG_SECTION_SIZE + len);
		pos += sz;
		chunks += (sz + (1 << 21) - 1) >> 21;
	}
	if (pos + 4 * chunks != off + PGR_MIG_SECTION_SIZE + len)
		return crc32c(0, b + off, PGR_MIG_SECTION_SIZE + len);
	crc_at = b + pos;
	pos = data;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t sz = le(p + 8 + 24 * i + 8, 8);

		for (uint64_t c = 0; c < sz; c += 1 << 21, crc_at += 4)
			put32(crc_at, crc32c(0, b + pos + c, sz - c < (1 << 21) ? sz - c : 1 << 21));
		pos += sz;
	}
	return crc32c(crc32c(0, b + off, data - off), b + pos, 4 * chunks);
}

/* Make every checksum of @b right, as far as the framing can be followed. */
static void fix_crcs(uint8_t *b, size_t size)
{
	size_t off = PGR_MIG_HEADER_SIZE;

	if (size < PGR_MIG_HEADER_SIZE)
		return;
	put32(b + 64, crc32c(0, b, 64));
	while (size - off >= PGR_MIG_SECTION_SIZE + PGR_MIG_CRC_SIZE) {
		uint64_t len = le(b + off + 44, 8);
		uint32_t crc;

		if (len > size - off - PGR_MIG_SECTION_SIZE - PGR_MIG_CRC_SIZE)
			return;
		if (le(b + off, 4) == PGR_MIG_RAM_IMAGE)
			crc = fix_image(b, off, len);
		else
			crc = crc32c(0, b + off, PGR_MIG_SECTION_SIZE + len);
		put32(b + off + PGR_MIG_SECTION_SIZE + len, crc);
		off += PGR_MIG_SECTION_SIZE + len + PGR_MIG_CRC_SIZE;
	}
}

static int count_event(void *ctx, const struct format_walk_event *ev)
{
	(*(unsigned int *)ctx)++;
	return 0;
}

static void walk_stream(struct stream *s)
{
	struct format_reader *r = format_reader_new(s);
	unsigned int events = 0;

	if (r && format_walk(r, count_event, &events) && !format_reader_error(r)[0])
		abort();   /* every failure must come with its one-line message */
	format_reader_free(r);
	stream_free(s);
}

/* The same bytes as a regular file: the fd reader, seeks, SEEK_DATA. */
static void walk_file(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-stream", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0)
		walk_stream(stream_new_fd(fd, STREAM_READ));
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	walk_stream(stream_new_mem_read(data, size));
	if (copy) {
		memcpy(copy, data, size);
		fix_crcs(copy, size);
		walk_stream(stream_new_mem_read(copy, size));
		walk_file(copy, size);
		free(copy);
	}
	return 0;
}
