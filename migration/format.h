/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * format: the framing of a migration stream (include/proto/migration.h,
 * docs/migration-stream.md) on top of lib/stream — header, typed sections
 * with length and CRC, RAM page runs, the mmap-able RAM image of save files,
 * the end marker — for writing and for reading, plus format_walk(), the
 * validating walker used by tools/pgr-migdump and tests/fuzz/fuzz-stream.
 *
 * It does not know what CPU, device or VM payloads contain (vmm/ and
 * devices/ do), nor how RAM is tracked (migration/ram.c), nor sockets,
 * threads or the migration state machine (migration/outgoing.c, incoming.c).
 *
 * Writing: format_write_header(), then per section
 *   format_write_section_begin(w, type, version, instance, name, length);
 *   stream_put_*(format_writer_stream(w), ...)     -- exactly @length bytes
 *   format_write_section_end(w);                   -- CRC; asserts the length
 * or one of the whole-section helpers (blob, RAM pages, RAM image, round),
 * and format_write_end() last. Check the returned/stream error once per
 * section.
 *
 * Reading: format_read_header(), then loop format_read_section() and
 * dispatch on sec.type: read the payload with stream_get_*() on
 * format_reader_stream(r) (or format_read_payload(), format_read_ram_run(),
 * format_ram_image_*()), then format_read_section_end() checks that exactly
 * the payload was consumed and verifies the CRC. A section of type END means
 * the stream is complete. Refuse a section you do not expect with
 * format_reader_fail(). Every function records the first error as one line,
 * e.g. "section cpu[1] at offset 4711: checksum mismatch", returned by
 * format_reader_error(); callers print or forward it, the format layer only
 * logs at debug level.
 *
 * Error codes: -EBADMSG corrupt (bad magic, checksum, unknown section type,
 * out-of-range value), -EPROTONOSUPPORT unsupported format or section
 * version, -EPIPE (STREAM_ETRUNC) truncated, -ENOMEM, or an I/O errno.
 */
#ifndef PGR_MIGRATION_FORMAT_H
#define PGR_MIGRATION_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/migration.h"
#include "lib/stream.h"

#define FORMAT_ERRMSG_LEN      256
#define FORMAT_PAYLOAD_MAX     (16u << 20)  /* format_read_payload() bound */

struct format_header {
	uint32_t version;
	uint32_t flags;                                /* PGR_MIG_F_* */
	char vmm_version[PGR_MIG_VMM_VERSION_LEN + 1]; /* NUL terminated */
	uint8_t host_uuid[PGR_MIG_UUID_LEN];
};

struct format_section {
	uint32_t type;                       /* enum pgr_mig_type */
	uint32_t version;
	uint32_t instance;
	char name[PGR_MIG_NAME_LEN + 1];     /* NUL terminated, printable */
	uint64_t length;                     /* payload bytes */
	uint64_t offset;                     /* stream offset of the section header */
};

/* One run of guest pages, for writing (hva) and reading (hva unused). */
struct format_ram_run {
	uint64_t gpa;            /* page aligned */
	uint32_t npages;         /* >= 1 */
	uint32_t flags;          /* PGR_MIG_RUN_ZERO or PGR_MIG_RUN_DATA */
	const void *hva;         /* DATA, writing: npages * 4096 bytes to send */
};

/* One RAM region for format_write_ram_image(). */
struct format_ram_region {
	uint64_t gpa;            /* page aligned */
	uint64_t size;           /* page multiple */
	const void *hva;
};

struct format_ram_stats {
	uint64_t zero_pages;     /* written as holes / zero runs */
	uint64_t data_pages;     /* written with data */
};

/* A RAM_IMAGE section's tables, filled by format_ram_image_begin(). */
struct format_ram_image {
	uint32_t nr_regions;
	uint32_t chunk_shift;                 /* log2 of the chunk size: 21 */
	struct pgr_mig_image_region region[PGR_MIG_IMAGE_MAX_REGIONS]; /* host order */
	uint64_t nr_chunks;                   /* over all regions */
	uint32_t *chunk_crc;                  /* nr_chunks, after format_ram_image_end() */
	uint64_t zero_pages, data_pages;      /* counted by _load() into NULL
					       * destinations and by _verify_fd()
					       * (holes vs data in the file) */
	/* private */
	uint32_t *computed;                   /* chunk CRCs computed by _load() */
	uint64_t nr_computed;
	uint32_t section_crc;                 /* section CRC before the region bytes */
	uint64_t data_end;                    /* stream offset after the region bytes */
	int state;
};

/* ---- names ---- */
/* "RAM_PAGES", ... or NULL for an unknown type. */
const char *format_type_name(uint32_t type);
/* "cpu[1]" into @buf. */
const char *format_section_label(const struct format_section *sec, char *buf, size_t len);

/* ---- writing ---- */
struct format_writer;

struct format_writer *format_writer_new(struct stream *s);  /* does not own @s */
void format_writer_free(struct format_writer *w);
struct stream *format_writer_stream(const struct format_writer *w);

int format_write_header(struct format_writer *w, uint32_t flags,
			const char *vmm_version, const uint8_t host_uuid[PGR_MIG_UUID_LEN]);
/* @name NULL: the type's usual name ("definition", "ram", "cpu", "vm", ...);
 * DEVICE and BLOCKS need one. Returns stream_error(). */
int format_write_section_begin(struct format_writer *w, uint32_t type, uint32_t version,
			       uint32_t instance, const char *name, uint64_t length);
/* Write the CRC. Asserts (and fails with -EINVAL) if the payload put since
 * _begin was not exactly @length bytes. Returns stream_error(). */
int format_write_section_end(struct format_writer *w);
/* A whole section whose payload is @len bytes at @buf. */
int format_write_blob(struct format_writer *w, uint32_t type, uint32_t version,
		      uint32_t instance, const char *name, const void *buf, uint64_t len);
/* The END section, then flush. */
int format_write_end(struct format_writer *w);
int format_write_round(struct format_writer *w, const struct pgr_mig_round *round);

/* Payload bytes of a RAM_PAGES section holding @runs. */
uint64_t format_ram_pages_len(const struct format_ram_run *runs, size_t nr);
/* One RAM_PAGES section (version 1) with @runs, data put straight from each
 * run's hva (copied once into the stream buffer; the CRC is taken from that
 * copy, so pages the guest changes meanwhile still arrive intact). */
int format_write_ram_pages(struct format_writer *w, const struct format_ram_run *runs, size_t nr);
/* Piecewise alternative: inside a RAM_PAGES section begun with
 * format_ram_pages_len() bytes, put one run (header + data for DATA). */
void format_write_ram_run(struct format_writer *w, uint64_t gpa, uint32_t npages,
			  uint32_t flags, const void *hva);
/* A whole RAM_IMAGE section (save files): all-zero pages become holes on a
 * seekable file writer. @stats may be NULL. */
int format_write_ram_image(struct format_writer *w, const struct format_ram_region *regions,
			   unsigned int nr, struct format_ram_stats *stats);

/* ---- reading ---- */
struct format_reader;

struct format_reader *format_reader_new(struct stream *s);  /* does not own @s */
void format_reader_free(struct format_reader *r);
struct stream *format_reader_stream(const struct format_reader *r);
/* The first error as one line, "" if none. */
const char *format_reader_error(const struct format_reader *r);
/* Record an error about the current section (prefixed "section cpu[1] at
 * offset N: ") unless one is recorded; returns @err (negative errno). */
int format_reader_fail(struct format_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read and check the header: magic, version, flags, CRC. */
int format_read_header(struct format_reader *r, struct format_header *hdr);
/* Read the next section header and check it: known type, length and
 * instance bounds, printable NUL-terminated name. Resets the running CRC. */
int format_read_section(struct format_reader *r, struct format_section *sec);
/* Payload bytes of the current section not yet read. */
uint64_t format_section_remaining(const struct format_reader *r);
/* The rest of the payload into a malloc'd buffer (NUL appended, not counted
 * in *@len); fails if it exceeds FORMAT_PAYLOAD_MAX. Caller frees. */
int format_read_payload(struct format_reader *r, void **buf, size_t *len);
/* Check the whole payload was read, then read and verify the CRC. */
int format_read_section_end(struct format_reader *r);
int format_read_round(struct format_reader *r, struct pgr_mig_round *round);

/* RAM_PAGES: the next run header: 1 = @run filled, 0 = payload used up.
 * Checks alignment, flags, address overflow and that DATA fits. */
int format_read_ram_run(struct format_reader *r, struct format_ram_run *run);
/* A DATA run's npages * 4096 bytes into @dst (NULL: read and discard). */
int format_read_ram_data(struct format_reader *r, const struct format_ram_run *run, void *dst);

/* RAM_IMAGE, after format_read_section() returned one:
 *   _begin reads and checks the tables (regions ordered, aligned, back to
 *   back, lengths consistent with the section); then either
 *   _load reads the region bytes into @dst[i] (NULL entries: discard) and
 *       computes chunk CRCs, or
 *   _skip seeks past them (restore maps the file instead; check it with
 *       _verify_fd / _check_chunk);
 *   _end reads the chunk CRC table and, after _load, compares it;
 *   then format_read_section_end(), and _release() in any case. */
int format_ram_image_begin(struct format_reader *r, struct format_ram_image *img);
int format_ram_image_load(struct format_reader *r, struct format_ram_image *img,
			  void *const dst[]);
int format_ram_image_skip(struct format_reader *r, struct format_ram_image *img);
int format_ram_image_end(struct format_reader *r, struct format_ram_image *img);
void format_ram_image_release(struct format_ram_image *img);
/* Verify every chunk of a save file @fd (stream offsets = file offsets)
 * against img->chunk_crc, skipping holes with SEEK_DATA; the first bad one
 * is reported as "RAM image chunk at gpa 0x...: checksum mismatch". */
int format_ram_image_verify_fd(struct format_reader *r, int fd, struct format_ram_image *img);
/* Check chunk @idx (0..nr_chunks-1) of @fd: 0, -EBADMSG or -errno. Thread
 * safe (pread only), for verifying chunks in parallel. */
int format_ram_image_check_chunk(int fd, const struct format_ram_image *img, uint64_t idx);
/* Guest-physical address of chunk @idx. */
uint64_t format_ram_image_chunk_gpa(const struct format_ram_image *img, uint64_t idx);

/* ---- walking: verify a whole stream ---- */
enum format_walk_kind { FORMAT_WALK_HEADER, FORMAT_WALK_SECTION };

struct format_walk_event {
	enum format_walk_kind kind;
	const struct format_header *hdr;     /* HEADER */
	const struct format_section *sec;    /* SECTION */
	int err;                             /* 0, or this section's error (the walk stops) */
	const char *errmsg;                  /* the error line when err */
	/* DEFINITION, CPU, DEVICE, VM, ROUND: the payload, valid during the call */
	const void *payload;
	size_t payload_len;
	const struct pgr_mig_round *round;   /* ROUND: decoded, host order */
	/* RAM_PAGES, BLOCKS: runs; RAM_IMAGE: regions. Pages (sectors for BLOCKS). */
	uint64_t runs, zero_pages, data_pages;
};
typedef int (*format_walk_fn)(void *ctx, const struct format_walk_event *ev);

/* Read and verify the header and every section up to END, and that nothing
 * follows it. @fn (may be NULL) is called for the header and each section;
 * a non-zero return stops the walk and is returned. 0 = whole and valid. */
int format_walk(struct format_reader *r, format_walk_fn fn, void *ctx);

#endif
