// SPDX-License-Identifier: GPL-2.0-only
/*
 * format-image: the RAM_IMAGE section of save files — writing guest RAM
 * page-aligned with all-zero pages left as holes and a CRC per 2 MiB chunk,
 * and reading it back: the tables, then loading, skipping (restore maps the
 * file instead) or verifying chunks, in parallel if the caller wants.
 * Split from format.c, whose framing and reader state it shares through
 * format-internal.h.
 */
#define LOG_SUBSYS "migration"
#include "migration/format.h"
#include "migration/format-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/log.h"

/* ---- RAM_IMAGE ---- */

static bool page_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PGR_MIG_PAGE_SIZE; i += 64) {
		uint64_t q[8];

		memcpy(q, p + i, sizeof(q));   /* no alignment assumed */
		if (q[0] | q[1] | q[2] | q[3] | q[4] | q[5] | q[6] | q[7])
			return false;
	}
	return true;
}

uint64_t fmt_image_chunks(uint64_t size)
{
	return (size + CHUNK_SIZE - 1) >> PGR_MIG_IMAGE_CHUNK_SHIFT;
}

/*
 * One chunk of region bytes: zero pages as skipped zeros (holes), data pages
 * put in runs. Returns the chunk's CRC.
 */
static uint32_t put_image_chunk(struct stream *s, const uint8_t *p, uint64_t len,
				struct format_ram_stats *st)
{
	uint64_t i = 0;

	stream_crc_reset(s);
	while (i < len) {
		bool zero = page_is_zero(p + i);
		uint64_t j = i + PGR_MIG_PAGE_SIZE;

		while (j < len && page_is_zero(p + j) == zero)
			j += PGR_MIG_PAGE_SIZE;
		if (zero) {
			stream_skip_zeros(s, j - i);
			st->zero_pages += (j - i) / PGR_MIG_PAGE_SIZE;
		} else {
			stream_put(s, p + i, j - i);
			st->data_pages += (j - i) / PGR_MIG_PAGE_SIZE;
		}
		i = j;
	}
	return stream_crc(s);
}

static bool image_regions_ok(const struct format_ram_region *rg, unsigned int nr)
{
	if (nr == 0 || nr > PGR_MIG_IMAGE_MAX_REGIONS)
		return false;
	for (unsigned int i = 0; i < nr; i++)
		if (!rg[i].size || (rg[i].gpa | rg[i].size) & (PGR_MIG_PAGE_SIZE - 1))
			return false;
	return true;
}

int format_write_ram_image(struct format_writer *w, const struct format_ram_region *rg,
			   unsigned int nr, struct format_ram_stats *stats)
{
	struct format_ram_stats local = { 0 };
	uint64_t total = 0, chunks = 0, data_start, off, k = 0;
	uint32_t *crcs, section_crc;

	if (!image_regions_ok(rg, nr)) {
		stream_set_error(w->s, -EINVAL);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nr; i++) {
		total += rg[i].size;
		chunks += fmt_image_chunks(rg[i].size);
	}
	crcs = malloc(chunks * sizeof(*crcs));
	if (!crcs) {
		stream_set_error(w->s, -ENOMEM);
		return -ENOMEM;
	}
	data_start = align_up(stream_tell(w->s) + PGR_MIG_SECTION_SIZE + 8 +
			      nr * PGR_MIG_IMAGE_REGION_SIZE, PGR_MIG_IMAGE_ALIGN);
	format_write_section_begin(w, PGR_MIG_RAM_IMAGE, 1, 0, NULL,
				   data_start - stream_tell(w->s) - PGR_MIG_SECTION_SIZE +
				   total + chunks * 4);
	stream_put_u32(w->s, nr);
	stream_put_u32(w->s, PGR_MIG_IMAGE_CHUNK_SHIFT);
	off = data_start;
	for (unsigned int i = 0; i < nr; off += rg[i].size, i++) {
		stream_put_u64(w->s, rg[i].gpa);
		stream_put_u64(w->s, rg[i].size);
		stream_put_u64(w->s, off);
	}
	stream_align(w->s, PGR_MIG_IMAGE_ALIGN);
	section_crc = stream_crc(w->s);
	for (unsigned int i = 0; i < nr && !stream_error(w->s); i++)
		for (off = 0; off < rg[i].size; off += CHUNK_SIZE)
			crcs[k++] = put_image_chunk(w->s, (const uint8_t *)rg[i].hva + off,
						    rg[i].size - off < CHUNK_SIZE ?
						    rg[i].size - off : CHUNK_SIZE, &local);
	stream_crc_set(w->s, section_crc);
	for (k = 0; k < chunks && !stream_error(w->s); k++)
		stream_put_u32(w->s, crcs[k]);
	free(crcs);
	if (stats)
		*stats = local;
	return format_write_section_end(w);
}

/* ---- RAM_IMAGE ---- */

enum { IMG_NONE, IMG_TABLES, IMG_LOADED, IMG_SKIPPED, IMG_DONE };

uint64_t format_ram_image_chunk_gpa(const struct format_ram_image *img, uint64_t idx)
{
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		uint64_t n = fmt_image_chunks(img->region[i].size);

		if (idx < n)
			return img->region[i].gpa + (idx << img->chunk_shift);
		idx -= n;
	}
	return UINT64_MAX;
}

/* File/stream offset and length of chunk @idx. */
static void chunk_extent(const struct format_ram_image *img, uint64_t idx,
			 uint64_t *off, uint64_t *len)
{
	*off = *len = 0;
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		const struct pgr_mig_image_region *rg = &img->region[i];
		uint64_t n = fmt_image_chunks(rg->size);

		if (idx < n) {
			*off = rg->offset + (idx << img->chunk_shift);
			*len = rg->size - (idx << img->chunk_shift);
			*len = *len < CHUNK_SIZE ? *len : CHUNK_SIZE;
			return;
		}
		idx -= n;
	}
}

static int image_fail(struct format_reader *r, const struct format_ram_image *img,
		      uint32_t i, const char *what)
{
	return format_reader_fail(r, -EBADMSG, "RAM image region %" PRIu32 " (gpa 0x%" PRIx64
				  "): %s", i, img->region[i].gpa, what);
}

static int check_region(struct format_reader *r, struct format_ram_image *img, uint32_t i,
			uint64_t expect_off)
{
	const struct pgr_mig_image_region *rg = &img->region[i];
	const struct pgr_mig_image_region *prev = i ? &img->region[i - 1] : NULL;

	if (!rg->size || (rg->gpa | rg->size) & (PGR_MIG_PAGE_SIZE - 1))
		return image_fail(r, img, i, "address or size not page aligned");
	if (rg->gpa >= PGR_MIG_GPA_LIMIT || rg->size > PGR_MIG_GPA_LIMIT - rg->gpa)
		return image_fail(r, img, i, "beyond the 52-bit physical address space");
	if (prev && rg->gpa < prev->gpa + prev->size)
		return image_fail(r, img, i, "overlaps or precedes the previous region");
	if (rg->offset != expect_off)
		return image_fail(r, img, i, "bytes not where the layout puts them");
	return 0;
}

static int read_image_tables(struct format_reader *r, struct format_ram_image *img)
{
	uint64_t total = 0, off;

	img->nr_regions = stream_get_u32(r->s);
	img->chunk_shift = stream_get_u32(r->s);
	if (fmt_check_stream(r))
		return r->err;
	if (!img->nr_regions || img->nr_regions > PGR_MIG_IMAGE_MAX_REGIONS)
		return format_reader_fail(r, -EBADMSG, "RAM image with %" PRIu32 " regions (1..%d)",
					  img->nr_regions, PGR_MIG_IMAGE_MAX_REGIONS);
	if (img->chunk_shift != PGR_MIG_IMAGE_CHUNK_SHIFT)
		return format_reader_fail(r, -EPROTONOSUPPORT, "RAM image chunk size 2^%" PRIu32
					  " not supported (this build reads 2^%d)",
					  img->chunk_shift, PGR_MIG_IMAGE_CHUNK_SHIFT);
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		img->region[i].gpa = stream_get_u64(r->s);
		img->region[i].size = stream_get_u64(r->s);
		img->region[i].offset = stream_get_u64(r->s);
	}
	if (fmt_check_stream(r))
		return r->err;
	off = align_up(stream_tell(r->s), PGR_MIG_IMAGE_ALIGN);
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		if (check_region(r, img, i, off))
			return r->err;
		off += img->region[i].size;
		total += img->region[i].size;
		img->nr_chunks += fmt_image_chunks(img->region[i].size);
		if (total > IMAGE_RAM_MAX)
			return image_fail(r, img, i, "RAM image larger than 1 TiB");
	}
	img->data_end = off;
	return 0;
}

int format_ram_image_begin(struct format_reader *r, struct format_ram_image *img)
{
	memset(img, 0, sizeof(*img));
	if (r->err || !fmt_in_type(r, PGR_MIG_RAM_IMAGE))
		return r->err;
	if (read_image_tables(r, img))
		return r->err;
	if (img->data_end + img->nr_chunks * 4 != r->payload_end)
		return format_reader_fail(r, -EBADMSG, "RAM image tables describe %" PRIu64
					  " payload bytes but the section has %" PRIu64,
					  img->data_end + img->nr_chunks * 4 - r->payload_start,
					  r->sec.length);
	stream_align(r->s, PGR_MIG_IMAGE_ALIGN);
	if (fmt_check_stream(r))
		return r->err;
	img->section_crc = stream_crc(r->s);
	img->state = IMG_TABLES;
	return 0;
}

static uint64_t count_zero_pages(const uint8_t *p, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i + PGR_MIG_PAGE_SIZE <= len; i += PGR_MIG_PAGE_SIZE)
		n += page_is_zero(p + i);
	return n;
}

/* Read one chunk into @dst, or through a scratch buffer counting zero pages. */
static uint32_t load_chunk(struct format_reader *r, struct format_ram_image *img,
			   uint8_t *dst, uint64_t len, uint8_t *scratch)
{
	stream_crc_reset(r->s);
	if (dst) {
		stream_get(r->s, dst, len);
		return stream_crc(r->s);
	}
	for (uint64_t done = 0; done < len && !stream_error(r->s); done += READ_STEP) {
		size_t n = len - done < READ_STEP ? len - done : READ_STEP;
		uint64_t z;

		stream_get(r->s, scratch, n);
		z = count_zero_pages(scratch, n);
		img->zero_pages += z;
		img->data_pages += n / PGR_MIG_PAGE_SIZE - z;
	}
	return stream_crc(r->s);
}

int format_ram_image_load(struct format_reader *r, struct format_ram_image *img,
			  void *const dst[])
{
	uint8_t *scratch = malloc(READ_STEP);

	if (r->err || img->state != IMG_TABLES || !scratch) {
		free(scratch);
		return r->err ?: format_reader_fail(r, scratch ? -EINVAL : -ENOMEM,
						    "RAM image: cannot load now");
	}
	img->computed = calloc(img->nr_chunks, sizeof(uint32_t));
	for (uint32_t i = 0; i < img->nr_regions && img->computed && !r->err; i++) {
		const struct pgr_mig_image_region *rg = &img->region[i];
		uint8_t *d = dst ? dst[i] : NULL;

		for (uint64_t off = 0; off < rg->size && !fmt_check_stream(r); off += CHUNK_SIZE) {
			uint64_t len = rg->size - off < CHUNK_SIZE ? rg->size - off : CHUNK_SIZE;

			img->computed[img->nr_computed++] =
				load_chunk(r, img, d ? d + off : NULL, len, scratch);
		}
	}
	free(scratch);
	if (!img->computed)
		return format_reader_fail(r, -ENOMEM, "out of memory");
	stream_crc_set(r->s, img->section_crc);
	img->state = IMG_LOADED;
	return fmt_check_stream(r);
}

int format_ram_image_skip(struct format_reader *r, struct format_ram_image *img)
{
	if (r->err || img->state != IMG_TABLES)
		return r->err ?: format_reader_fail(r, -EINVAL, "RAM image: cannot skip now");
	stream_seek(r->s, img->data_end);
	stream_crc_set(r->s, img->section_crc);
	img->state = IMG_SKIPPED;
	return fmt_check_stream(r);
}

static int chunk_mismatch(struct format_reader *r, const struct format_ram_image *img,
			  uint64_t idx)
{
	return format_reader_fail(r, -EBADMSG, "RAM image chunk at gpa 0x%" PRIx64
				  ": checksum mismatch", format_ram_image_chunk_gpa(img, idx));
}

int format_ram_image_end(struct format_reader *r, struct format_ram_image *img)
{
	if (r->err || (img->state != IMG_LOADED && img->state != IMG_SKIPPED))
		return r->err ?: format_reader_fail(r, -EINVAL, "RAM image: cannot end now");
	img->chunk_crc = malloc(img->nr_chunks * sizeof(uint32_t) ?: 1);
	if (!img->chunk_crc)
		return format_reader_fail(r, -ENOMEM, "out of memory");
	for (uint64_t k = 0; k < img->nr_chunks && !stream_error(r->s); k++)
		img->chunk_crc[k] = stream_get_u32(r->s);
	if (fmt_check_stream(r))
		return r->err;
	for (uint64_t k = 0; img->state == IMG_LOADED && k < img->nr_chunks; k++)
		if (img->computed[k] != img->chunk_crc[k])
			return chunk_mismatch(r, img, k);
	img->state = IMG_DONE;
	return 0;
}

void format_ram_image_release(struct format_ram_image *img)
{
	free(img->chunk_crc);
	free(img->computed);
	img->chunk_crc = img->computed = NULL;
	img->state = IMG_NONE;
}

/* CRC of [off, off + len) of @fd, holes added arithmetically. */
static int crc_file_range(int fd, uint64_t off, uint64_t len, uint8_t *buf,
			  uint32_t *crcp, uint64_t *hole_bytes)
{
	uint64_t end = off + len, pos = off;
	uint32_t crc = 0;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno != ENXIO)
			data = (off_t)pos;              /* no SEEK_DATA here: read it all */
		if (data < 0 || (uint64_t)data > end)
			data = (off_t)end;
		crc = crc32c_zeros(crc, (uint64_t)data - pos);
		*hole_bytes += (uint64_t)data - pos;
		pos = (uint64_t)data;
		hole = lseek(fd, (off_t)pos, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > end || (uint64_t)hole <= pos)
			hole = (off_t)end;
		while (pos < (uint64_t)hole) {
			size_t want = (uint64_t)hole - pos < READ_STEP * 4 ? (uint64_t)hole - pos
									 : READ_STEP * 4;
			ssize_t n = pread(fd, buf, want, (off_t)pos);

			if (n <= 0)
				return n < 0 ? -errno : STREAM_ETRUNC;
			crc = crc32c(crc, buf, (size_t)n);
			pos += (uint64_t)n;
		}
	}
	*crcp = crc;
	return 0;
}

static int check_chunk_counted(int fd, const struct format_ram_image *img, uint64_t idx,
			       uint64_t *hole_bytes)
{
	uint64_t off, len;
	uint32_t crc = 0;
	uint8_t *buf;
	int ret;

	if (idx >= img->nr_chunks || !img->chunk_crc)
		return -EINVAL;
	buf = malloc(READ_STEP * 4);
	if (!buf)
		return -ENOMEM;
	chunk_extent(img, idx, &off, &len);
	ret = crc_file_range(fd, off, len, buf, &crc, hole_bytes);
	free(buf);
	if (ret)
		return ret;
	return crc == img->chunk_crc[idx] ? 0 : -EBADMSG;
}

int format_ram_image_check_chunk(int fd, const struct format_ram_image *img, uint64_t idx)
{
	uint64_t holes = 0;

	return check_chunk_counted(fd, img, idx, &holes);
}

int format_ram_image_verify_fd(struct format_reader *r, int fd, struct format_ram_image *img)
{
	off_t saved = lseek(fd, 0, SEEK_CUR);   /* SEEK_DATA moves it */
	uint64_t holes = 0, total = 0, off, len;
	int ret = 0;

	if (r->err || img->state != IMG_DONE)
		return r->err ?: format_reader_fail(r, -EINVAL, "RAM image: tables not read");
	for (uint64_t k = 0; k < img->nr_chunks && !ret; k++) {
		ret = check_chunk_counted(fd, img, k, &holes);
		if (ret == -EBADMSG)
			chunk_mismatch(r, img, k);
		else if (ret)
			format_reader_fail(r, ret, "RAM image chunk at gpa 0x%" PRIx64 ": %s",
					   format_ram_image_chunk_gpa(img, k), ret == STREAM_ETRUNC ?
					   "file truncated" : strerror(-ret));
		chunk_extent(img, k, &off, &len);
		total += len;
	}
	if (saved >= 0)
		lseek(fd, saved, SEEK_SET);
	img->zero_pages = holes / PGR_MIG_PAGE_SIZE;
	img->data_pages = (total - holes) / PGR_MIG_PAGE_SIZE;
	return r->err;
}
