/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * format-internal: what format.c, format-image.c and format-walk.c share
 * and nothing else may use — the reader's state and the run checks.
 */
#ifndef PGR_MIGRATION_FORMAT_INTERNAL_H
#define PGR_MIGRATION_FORMAT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/format.h"

#define CHUNK_SIZE      (1ull << PGR_MIG_IMAGE_CHUNK_SHIFT)
#define IMAGE_RAM_MAX   (1ull << 40)     /* RAM bytes one image may describe */
#define READ_STEP       (64u << 10)      /* payload buffers grow by this much */

struct format_reader {
	struct stream *s;
	struct format_section sec;
	bool in_section;
	bool ended;                 /* END read and checked */
	uint64_t payload_start, payload_end;
	int err;
	char errmsg[FORMAT_ERRMSG_LEN];
};

struct run_kind {
	const char *what;        /* "RAM run at gpa", "block run at offset" */
	uint64_t unit;           /* page or sector size */
	uint64_t limit;          /* addresses stay below this */
};

struct format_writer {
	struct stream *s;
	bool in_section;
	uint32_t type;
	uint64_t payload_start, length;
};

extern const struct run_kind fmt_ram_runs, fmt_block_runs;

/* Turn a stream error into the reader's error line; returns it. */
int fmt_check_stream(struct format_reader *r);
/* Record the first error, as given (no section prefix). */
int fmt_reader_err(struct format_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read and check a run header: 1 = read, 0 = payload used up. */
int fmt_read_run(struct format_reader *r, const struct run_kind *k, uint64_t *addr,
		 uint32_t *count, uint32_t *flags);
bool fmt_in_type(struct format_reader *r, uint32_t type);
/* Chunks of a region of @size bytes. */
uint64_t fmt_image_chunks(uint64_t size);

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

#endif
