// SPDX-License-Identifier: GPL-2.0-only
/*
 * format: writes and reads the migration stream framing described in
 * include/proto/migration.h and docs/migration-stream.md, on lib/stream.
 *
 * Reading is defensive: every length, count, address and name is checked
 * before it is used, allocations are bounded by the section limits and
 * grow only as bytes actually arrive, and the first error is kept as one
 * line naming the section and byte offset. Nothing here logs above debug
 * level: the caller knows whether an error is worth a user's attention.
 *
 * It does not interpret CPU, device or VM payloads, and it does not map
 * guest memory: format_ram_image_* hands out offsets and checks chunks;
 * migration/incoming.c decides whether to mmap or to read.
 */
#define LOG_SUBSYS "migration"
#include "migration/format.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/log.h"

#define CHUNK_SIZE      (1ull << PGR_MIG_IMAGE_CHUNK_SHIFT)
#define IMAGE_RAM_MAX   (1ull << 40)     /* RAM bytes one image may describe */
#define READ_STEP       (64u << 10)      /* payload buffers grow by this much */

/* What the reader accepts per section type. */
struct type_info {
	const char *name;         /* "RAM_PAGES" */
	const char *label;        /* default section name, NULL: caller names it */
	uint64_t min_len, max_len;
	uint32_t max_instance;
	uint32_t version;         /* payload version this file parses; 0: opaque */
};

static const struct type_info types[PGR_MIG_TYPE_MAX + 1] = {
	[PGR_MIG_DEFINITION] = { "DEFINITION", "definition", 2, PGR_MIG_DEFINITION_MAX, 0, 1 },
	[PGR_MIG_RAM_PAGES]  = { "RAM_PAGES", "ram", 0, PGR_MIG_RAM_PAGES_MAX, 0, 1 },
	[PGR_MIG_RAM_IMAGE]  = { "RAM_IMAGE", "ram", 8, PGR_MIG_RAM_IMAGE_MAX, 0, 1 },
	[PGR_MIG_CPU]        = { "CPU", "cpu", 0, PGR_MIG_CPU_MAX, PGR_MIG_MAX_VCPUS - 1, 0 },
	[PGR_MIG_DEVICE]     = { "DEVICE", NULL, 0, PGR_MIG_DEVICE_MAX, PGR_MIG_MAX_INSTANCE, 0 },
	[PGR_MIG_VM]         = { "VM", "vm", 0, PGR_MIG_VM_MAX, 0, 0 },
	[PGR_MIG_ROUND]      = { "ROUND", "round", PGR_MIG_ROUND_SIZE, PGR_MIG_ROUND_SIZE, 0, 1 },
	[PGR_MIG_END]        = { "END", "end", 0, 0, 0, 1 },
	[PGR_MIG_BLOCKS]     = { "BLOCKS", NULL, 0, PGR_MIG_BLOCKS_MAX, PGR_MIG_MAX_INSTANCE, 1 },
};

static const struct type_info *type_info(uint32_t type)
{
	if (type == 0 || type > PGR_MIG_TYPE_MAX)
		return NULL;
	return &types[type];
}

const char *format_type_name(uint32_t type)
{
	const struct type_info *ti = type_info(type);

	return ti ? ti->name : NULL;
}

const char *format_section_label(const struct format_section *sec, char *buf, size_t len)
{
	snprintf(buf, len, "%s[%" PRIu32 "]", sec->name, sec->instance);
	return buf;
}

/* A name is 1..31 printable ASCII bytes, then NULs to the end. */
static bool name_ok(const char *name, size_t len)
{
	size_t n = strnlen(name, len);

	if (n == 0 || n == len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return false;
	for (size_t i = n; i < len; i++)
		if (name[i])
			return false;
	return true;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ======================================================================== */
/* writing                                                                  */
/* ======================================================================== */

struct format_writer {
	struct stream *s;
	bool in_section;
	uint32_t type;
	uint64_t payload_start, length;
};

struct format_writer *format_writer_new(struct stream *s)
{
	struct format_writer *w = calloc(1, sizeof(*w));

	if (w)
		w->s = s;
	return w;
}

void format_writer_free(struct format_writer *w)
{
	free(w);
}

struct stream *format_writer_stream(const struct format_writer *w)
{
	return w->s;
}

/* A fixed-size, NUL-padded string field. */
static void put_fixed_str(struct stream *s, const char *str, size_t field)
{
	char buf[64] = { 0 };

	assert(field <= sizeof(buf));
	strncpy(buf, str ? str : "", field);
	stream_put(s, buf, field);
}

int format_write_header(struct format_writer *w, uint32_t flags,
			const char *vmm_version, const uint8_t host_uuid[PGR_MIG_UUID_LEN])
{
	static const uint8_t no_uuid[PGR_MIG_UUID_LEN];

	if (flags & ~PGR_MIG_F_KNOWN) {
		stream_set_error(w->s, -EINVAL);
		return -EINVAL;
	}
	stream_crc_reset(w->s);
	stream_put(w->s, PGR_MIG_MAGIC, PGR_MIG_MAGIC_LEN);
	stream_put_u32(w->s, PGR_MIG_VERSION);
	stream_put_u32(w->s, flags);
	put_fixed_str(w->s, vmm_version, PGR_MIG_VMM_VERSION_LEN);
	stream_put(w->s, host_uuid ? host_uuid : no_uuid, PGR_MIG_UUID_LEN);
	stream_put_u32(w->s, stream_crc(w->s));
	return stream_error(w->s);
}

int format_write_section_begin(struct format_writer *w, uint32_t type, uint32_t version,
			       uint32_t instance, const char *name, uint64_t length)
{
	const struct type_info *ti = type_info(type);

	char field[PGR_MIG_NAME_LEN] = { 0 };

	if (!name && ti)
		name = ti->label;
	if (name)
		memcpy(field, name, strnlen(name, sizeof(field)));
	if (!ti || !name || !name_ok(field, sizeof(field)) || w->in_section) {
		pr_err("bad section: type %" PRIu32 " name %s%s", type, name ? name : "(none)",
		       w->in_section ? " inside another section" : "");
		stream_set_error(w->s, -EINVAL);
		return -EINVAL;
	}
	stream_crc_reset(w->s);
	stream_put_u32(w->s, type);
	stream_put_u32(w->s, version);
	stream_put_u32(w->s, instance);
	stream_put(w->s, field, sizeof(field));
	stream_put_u64(w->s, length);
	w->in_section = true;
	w->type = type;
	w->length = length;
	w->payload_start = stream_tell(w->s);
	return stream_error(w->s);
}

int format_write_section_end(struct format_writer *w)
{
	uint64_t put = stream_tell(w->s) - w->payload_start;

	if (!w->in_section || (put != w->length && !stream_error(w->s))) {
		pr_err("section type %" PRIu32 ": declared %" PRIu64 " payload bytes, put %" PRIu64,
		       w->type, w->length, put);
		assert(!"migration section length mismatch");
		stream_set_error(w->s, -EINVAL);
	}
	w->in_section = false;
	stream_put_u32(w->s, stream_crc(w->s));
	return stream_error(w->s);
}

int format_write_blob(struct format_writer *w, uint32_t type, uint32_t version,
		      uint32_t instance, const char *name, const void *buf, uint64_t len)
{
	format_write_section_begin(w, type, version, instance, name, len);
	stream_put(w->s, buf, len);
	return format_write_section_end(w);
}

int format_write_end(struct format_writer *w)
{
	format_write_section_begin(w, PGR_MIG_END, 1, 0, NULL, 0);
	format_write_section_end(w);
	return stream_flush(w->s);
}

int format_write_round(struct format_writer *w, const struct pgr_mig_round *round)
{
	format_write_section_begin(w, PGR_MIG_ROUND, 1, 0, NULL, PGR_MIG_ROUND_SIZE);
	stream_put_u32(w->s, round->round);
	stream_put_u32(w->s, round->flags);
	stream_put_u64(w->s, round->data_pages);
	stream_put_u64(w->s, round->zero_pages);
	stream_put_u64(w->s, round->dirty_pages);
	stream_put_u64(w->s, round->duration_ns);
	stream_put_u64(w->s, round->bytes);
	return format_write_section_end(w);
}

/* ---- RAM_PAGES ---- */

uint64_t format_ram_pages_len(const struct format_ram_run *runs, size_t nr)
{
	uint64_t len = 0;

	for (size_t i = 0; i < nr; i++) {
		len += PGR_MIG_RAM_RUN_SIZE;
		if (runs[i].flags & PGR_MIG_RUN_DATA)
			len += (uint64_t)runs[i].npages * PGR_MIG_PAGE_SIZE;
	}
	return len;
}

void format_write_ram_run(struct format_writer *w, uint64_t gpa, uint32_t npages,
			  uint32_t flags, const void *hva)
{
	assert(!(gpa & (PGR_MIG_PAGE_SIZE - 1)) && npages &&
	       (flags == PGR_MIG_RUN_ZERO || flags == PGR_MIG_RUN_DATA));
	stream_put_u64(w->s, gpa);
	stream_put_u32(w->s, npages);
	stream_put_u32(w->s, flags);
	if (flags & PGR_MIG_RUN_DATA)
		stream_put(w->s, hva, (size_t)npages * PGR_MIG_PAGE_SIZE);
}

int format_write_ram_pages(struct format_writer *w, const struct format_ram_run *runs, size_t nr)
{
	format_write_section_begin(w, PGR_MIG_RAM_PAGES, 1, 0, NULL,
				   format_ram_pages_len(runs, nr));
	for (size_t i = 0; i < nr && !stream_error(w->s); i++)
		format_write_ram_run(w, runs[i].gpa, runs[i].npages, runs[i].flags, runs[i].hva);
	return format_write_section_end(w);
}

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

static uint64_t image_chunks(uint64_t size)
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
		chunks += image_chunks(rg[i].size);
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

/* ======================================================================== */
/* reading                                                                  */
/* ======================================================================== */

struct format_reader {
	struct stream *s;
	struct format_section sec;
	bool in_section;
	bool ended;                 /* END read and checked */
	uint64_t payload_start, payload_end;
	int err;
	char errmsg[FORMAT_ERRMSG_LEN];
};

struct format_reader *format_reader_new(struct stream *s)
{
	struct format_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->s = s;
	return r;
}

void format_reader_free(struct format_reader *r)
{
	free(r);
}

struct stream *format_reader_stream(const struct format_reader *r)
{
	return r->s;
}

const char *format_reader_error(const struct format_reader *r)
{
	return r->errmsg;
}

/* Record the first error, as given (no section prefix). */
static int __attribute__((format(printf, 3, 0)))
reader_verr(struct format_reader *r, int err, const char *fmt, va_list ap)
{
	if (r->err)
		return r->err;
	r->err = err;
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	stream_set_error(r->s, err);
	pr_debug("%s", r->errmsg);
	return err;
}

static int __attribute__((format(printf, 3, 4)))
reader_err(struct format_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reader_verr(r, err, fmt, ap);
	va_end(ap);
	return r->err;
}

int format_reader_fail(struct format_reader *r, int err, const char *fmt, ...)
{
	char msg[FORMAT_ERRMSG_LEN], label[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->in_section)
		return reader_err(r, err, "%s", msg);
	return reader_err(r, err, "section %s at offset %" PRIu64 ": %s",
			  format_section_label(&r->sec, label, sizeof(label)), r->sec.offset, msg);
}

/* Turn a stream error into the reader's error line; returns it. */
static int check_stream(struct format_reader *r)
{
	int err = stream_error(r->s);

	if (r->err || !err)
		return r->err;
	if (err == STREAM_ETRUNC)
		return format_reader_fail(r, err, "truncated stream at offset %" PRIu64,
					  stream_tell(r->s));
	if (err == -EBADMSG)
		return format_reader_fail(r, err, "non-zero padding before offset %" PRIu64,
					  stream_tell(r->s));
	return format_reader_fail(r, err, "read error at offset %" PRIu64 ": %s",
				  stream_tell(r->s), strerror(-err));
}

/* ---- header ---- */

static int check_magic(struct format_reader *r, const uint8_t *magic)
{
	if (!memcmp(magic, PGR_MIG_MAGIC, PGR_MIG_MAGIC_LEN))
		return 0;
	if (!memcmp(magic, PGR_MIG_MAGIC, 6))
		return reader_err(r, -EBADMSG, "not a Peregrine migration stream (bad magic: "
				  "line endings changed, was it copied in text mode?)");
	return reader_err(r, -EBADMSG, "not a Peregrine migration stream (bad magic)");
}

int format_read_header(struct format_reader *r, struct format_header *hdr)
{
	uint8_t magic[PGR_MIG_MAGIC_LEN];
	uint32_t crc;

	memset(hdr, 0, sizeof(*hdr));
	stream_crc_reset(r->s);
	stream_get(r->s, magic, sizeof(magic));
	if (stream_error(r->s) == STREAM_ETRUNC && stream_tell(r->s) == 0)
		return reader_err(r, STREAM_ETRUNC, "truncated stream: empty, no header");
	if (stream_error(r->s) == STREAM_ETRUNC)
		return reader_err(r, -EBADMSG, "not a Peregrine migration stream (%" PRIu64
				  " bytes, too short for a header)", stream_tell(r->s));
	if (check_stream(r) || check_magic(r, magic))
		return r->err;
	hdr->version = stream_get_u32(r->s);
	hdr->flags = stream_get_u32(r->s);
	stream_get(r->s, hdr->vmm_version, PGR_MIG_VMM_VERSION_LEN);
	stream_get(r->s, hdr->host_uuid, PGR_MIG_UUID_LEN);
	crc = stream_crc(r->s);
	if (check_stream(r))
		return r->err;
	if (hdr->version != PGR_MIG_VERSION)
		return reader_err(r, -EPROTONOSUPPORT, "stream format version %" PRIu32
				  " not supported (this build reads %d)", hdr->version, PGR_MIG_VERSION);
	if (stream_get_u32(r->s) != crc)
		return check_stream(r) ?: reader_err(r, -EBADMSG, "header checksum mismatch");
	if (hdr->flags & ~PGR_MIG_F_KNOWN)
		return reader_err(r, -EPROTONOSUPPORT, "header flags 0x%" PRIx32 " not supported",
				  hdr->flags);
	for (char *c = hdr->vmm_version; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return reader_err(r, -EBADMSG, "header: writer version is not printable");
	return 0;
}

/* ---- sections ---- */

static int check_section(struct format_reader *r, const struct type_info *ti)
{
	const struct format_section *sec = &r->sec;

	if (sec->length < ti->min_len || sec->length > ti->max_len)
		return format_reader_fail(r, -EBADMSG, "length %" PRIu64 " out of range (%"
					  PRIu64 "..%" PRIu64 ")", sec->length, ti->min_len,
					  ti->max_len);
	if (sec->instance > ti->max_instance)
		return format_reader_fail(r, -EBADMSG, "instance %" PRIu32 " out of range "
					  "(max %" PRIu32 ")", sec->instance, ti->max_instance);
	if (ti->version && sec->version != ti->version)
		return format_reader_fail(r, -EPROTONOSUPPORT, "%s section version %" PRIu32
					  " not supported (this build reads %" PRIu32 ")",
					  ti->name, sec->version, ti->version);
	return 0;
}

/* Read a section header's fields; 1 when the stream ended cleanly before it. */
static int get_section_header(struct format_reader *r, struct format_section *sec)
{
	if (stream_eof(r->s))
		return check_stream(r) ?: 1;
	sec->type = stream_get_u32(r->s);
	sec->version = stream_get_u32(r->s);
	sec->instance = stream_get_u32(r->s);
	stream_get(r->s, sec->name, PGR_MIG_NAME_LEN);
	sec->length = stream_get_u64(r->s);
	if (stream_error(r->s) == STREAM_ETRUNC)
		return reader_err(r, STREAM_ETRUNC, "truncated stream: section header at offset %"
				  PRIu64 " cut short at offset %" PRIu64, sec->offset,
				  stream_tell(r->s));
	return check_stream(r);
}

int format_read_section(struct format_reader *r, struct format_section *sec)
{
	const struct type_info *ti;
	int ret;

	if (r->err)
		return r->err;
	if (r->in_section || r->ended)
		return reader_err(r, -EINVAL, "reading a section %s", r->ended ?
				  "after the end marker" : "before the previous one ended");
	memset(sec, 0, sizeof(*sec));
	sec->offset = stream_tell(r->s);
	stream_crc_reset(r->s);
	ret = get_section_header(r, sec);
	if (ret == 1)
		return reader_err(r, STREAM_ETRUNC, "truncated stream: no end marker (stream "
				  "ends at offset %" PRIu64 ")", sec->offset);
	if (ret)
		return ret;
	ti = type_info(sec->type);
	if (!ti)
		return reader_err(r, -EBADMSG, "unknown section type 0x%" PRIx32 " at offset %"
				  PRIu64, sec->type, sec->offset);
	if (!name_ok(sec->name, PGR_MIG_NAME_LEN))
		return reader_err(r, -EBADMSG, "%s section at offset %" PRIu64 ": name is not "
				  "1-31 printable characters", ti->name, sec->offset);
	r->sec = *sec;
	r->in_section = true;
	r->payload_start = stream_tell(r->s);
	r->payload_end = r->payload_start + sec->length;
	return check_section(r, ti);
}

uint64_t format_section_remaining(const struct format_reader *r)
{
	uint64_t pos = stream_tell(r->s);

	return r->in_section && pos < r->payload_end ? r->payload_end - pos : 0;
}

int format_read_section_end(struct format_reader *r)
{
	uint64_t pos = stream_tell(r->s);
	uint32_t crc;

	if (!r->in_section)
		return reader_err(r, -EINVAL, "no section to end");
	if (check_stream(r))
		return r->err;
	if (pos < r->payload_end)
		return format_reader_fail(r, -EBADMSG, "%" PRIu64 " payload bytes not understood",
					  r->payload_end - pos);
	if (pos > r->payload_end)
		return format_reader_fail(r, -EBADMSG, "payload too short for its contents "
					  "(read %" PRIu64 " bytes past its end)", pos - r->payload_end);
	crc = stream_crc(r->s);
	if (stream_get_u32(r->s) != crc)
		return check_stream(r) ?: format_reader_fail(r, -EBADMSG, "checksum mismatch");
	r->in_section = false;
	r->ended = r->sec.type == PGR_MIG_END;
	return 0;
}

int format_read_payload(struct format_reader *r, void **bufp, size_t *lenp)
{
	uint64_t len = format_section_remaining(r);
	size_t have = 0, cap = 0;
	char *buf = NULL, *nb;

	*bufp = NULL;
	*lenp = 0;
	if (r->err)
		return r->err;
	if (len > FORMAT_PAYLOAD_MAX)
		return format_reader_fail(r, -EBADMSG, "payload of %" PRIu64 " bytes too large "
					  "(max %u)", len, FORMAT_PAYLOAD_MAX);
	/* Grow as bytes arrive: a lying length costs no more than the data. */
	do {
		size_t step = len - have < READ_STEP ? len - have : READ_STEP;

		if (have + step + 1 > cap) {
			cap = have + step + 1 > 2 * cap ? have + step + 1 : 2 * cap;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return format_reader_fail(r, -ENOMEM, "out of memory");
			}
			buf = nb;
		}
		stream_get(r->s, buf + have, step);
		have += step;
	} while (have < len && !stream_error(r->s));
	if (check_stream(r)) {
		free(buf);
		return r->err;
	}
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	return 0;
}

static bool in_type(struct format_reader *r, uint32_t type)
{
	if (r->in_section && r->sec.type == type)
		return true;
	format_reader_fail(r, -EINVAL, "not a %s section", format_type_name(type));
	return false;
}

int format_read_round(struct format_reader *r, struct pgr_mig_round *round)
{
	memset(round, 0, sizeof(*round));
	if (r->err || !in_type(r, PGR_MIG_ROUND))
		return r->err;
	round->round = stream_get_u32(r->s);
	round->flags = stream_get_u32(r->s);
	round->data_pages = stream_get_u64(r->s);
	round->zero_pages = stream_get_u64(r->s);
	round->dirty_pages = stream_get_u64(r->s);
	round->duration_ns = stream_get_u64(r->s);
	round->bytes = stream_get_u64(r->s);
	return check_stream(r);
}

/* ---- runs (RAM_PAGES pages, BLOCKS sectors) ---- */

struct run_kind {
	const char *what;        /* "RAM run at gpa", "block run at offset" */
	uint64_t unit;           /* page or sector size */
	uint64_t limit;          /* addresses stay below this */
};

static const struct run_kind ram_runs = { "RAM run at gpa", PGR_MIG_PAGE_SIZE, PGR_MIG_GPA_LIMIT };
static const struct run_kind block_runs = { "block run at offset", PGR_MIG_SECTOR_SIZE,
					    PGR_MIG_DISK_LIMIT };

/* Read and check a run header: 1 = read, 0 = payload used up. */
static int read_run(struct format_reader *r, const struct run_kind *k, uint64_t *addr,
		    uint32_t *count, uint32_t *flags)
{
	uint64_t rem = format_section_remaining(r);

	if (r->err)
		return r->err;
	if (!rem)
		return 0;
	if (rem < PGR_MIG_RAM_RUN_SIZE)
		return format_reader_fail(r, -EBADMSG, "run header cut short by the section end "
					  "(%" PRIu64 " bytes left)", rem);
	*addr = stream_get_u64(r->s);
	*count = stream_get_u32(r->s);
	*flags = stream_get_u32(r->s);
	if (check_stream(r))
		return r->err;
	if (*flags != PGR_MIG_RUN_ZERO && *flags != PGR_MIG_RUN_DATA)
		return format_reader_fail(r, -EBADMSG, "%s 0x%" PRIx64 ": unknown flags 0x%" PRIx32,
					  k->what, *addr, *flags);
	if (*addr & (k->unit - 1) || !*count)
		return format_reader_fail(r, -EBADMSG, "%s 0x%" PRIx64 ": %s", k->what, *addr,
					  *count ? "not aligned" : "empty run");
	if (*addr >= k->limit || *count > (k->limit - *addr) / k->unit)
		return format_reader_fail(r, -EBADMSG, "%s 0x%" PRIx64 ": %" PRIu32 " units "
					  "run past 0x%" PRIx64, k->what, *addr, *count, k->limit);
	if (*flags == PGR_MIG_RUN_DATA && *count * k->unit > rem - PGR_MIG_RAM_RUN_SIZE)
		return format_reader_fail(r, -EBADMSG, "%s 0x%" PRIx64 ": %" PRIu64 " data bytes "
					  "but %" PRIu64 " left in the section", k->what, *addr,
					  *count * k->unit, rem - PGR_MIG_RAM_RUN_SIZE);
	return 1;
}

int format_read_ram_run(struct format_reader *r, struct format_ram_run *run)
{
	memset(run, 0, sizeof(*run));
	if (r->err || !in_type(r, PGR_MIG_RAM_PAGES))
		return r->err;
	return read_run(r, &ram_runs, &run->gpa, &run->npages, &run->flags);
}

int format_read_ram_data(struct format_reader *r, const struct format_ram_run *run, void *dst)
{
	uint64_t len = (uint64_t)run->npages * PGR_MIG_PAGE_SIZE;

	if (r->err || !(run->flags & PGR_MIG_RUN_DATA))
		return r->err;
	if (dst)
		stream_get(r->s, dst, len);
	else
		stream_skip(r->s, len);
	return check_stream(r);
}

/* ---- RAM_IMAGE ---- */

enum { IMG_NONE, IMG_TABLES, IMG_LOADED, IMG_SKIPPED, IMG_DONE };

uint64_t format_ram_image_chunk_gpa(const struct format_ram_image *img, uint64_t idx)
{
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		uint64_t n = image_chunks(img->region[i].size);

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
		uint64_t n = image_chunks(rg->size);

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
	if (check_stream(r))
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
	if (check_stream(r))
		return r->err;
	off = align_up(stream_tell(r->s), PGR_MIG_IMAGE_ALIGN);
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		if (check_region(r, img, i, off))
			return r->err;
		off += img->region[i].size;
		total += img->region[i].size;
		img->nr_chunks += image_chunks(img->region[i].size);
		if (total > IMAGE_RAM_MAX)
			return image_fail(r, img, i, "RAM image larger than 1 TiB");
	}
	img->data_end = off;
	return 0;
}

int format_ram_image_begin(struct format_reader *r, struct format_ram_image *img)
{
	memset(img, 0, sizeof(*img));
	if (r->err || !in_type(r, PGR_MIG_RAM_IMAGE))
		return r->err;
	if (read_image_tables(r, img))
		return r->err;
	if (img->data_end + img->nr_chunks * 4 != r->payload_end)
		return format_reader_fail(r, -EBADMSG, "RAM image tables describe %" PRIu64
					  " payload bytes but the section has %" PRIu64,
					  img->data_end + img->nr_chunks * 4 - r->payload_start,
					  r->sec.length);
	stream_align(r->s, PGR_MIG_IMAGE_ALIGN);
	if (check_stream(r))
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

		for (uint64_t off = 0; off < rg->size && !check_stream(r); off += CHUNK_SIZE) {
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
	return check_stream(r);
}

int format_ram_image_skip(struct format_reader *r, struct format_ram_image *img)
{
	if (r->err || img->state != IMG_TABLES)
		return r->err ?: format_reader_fail(r, -EINVAL, "RAM image: cannot skip now");
	stream_seek(r->s, img->data_end);
	stream_crc_set(r->s, img->section_crc);
	img->state = IMG_SKIPPED;
	return check_stream(r);
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
	if (check_stream(r))
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

/* ======================================================================== */
/* walking                                                                  */
/* ======================================================================== */

static int walk_runs(struct format_reader *r, const struct run_kind *k,
		     struct format_walk_event *ev)
{
	uint64_t addr;
	uint32_t count, flags;
	int ret;

	while ((ret = read_run(r, k, &addr, &count, &flags)) == 1) {
		ev->runs++;
		if (flags == PGR_MIG_RUN_ZERO) {
			ev->zero_pages += count;
			continue;
		}
		ev->data_pages += count;
		stream_skip(r->s, count * k->unit);
		if (check_stream(r))
			return r->err;
	}
	return ret;
}

static int walk_image(struct format_reader *r, struct format_walk_event *ev)
{
	struct format_ram_image img;
	int fd = stream_fd(r->s);
	bool mapped = fd >= 0 && stream_seekable(r->s);

	if (!format_ram_image_begin(r, &img)) {
		if (mapped && !format_ram_image_skip(r, &img) && !format_ram_image_end(r, &img))
			format_ram_image_verify_fd(r, fd, &img);
		else if (!mapped && !format_ram_image_load(r, &img, NULL))
			format_ram_image_end(r, &img);
	}
	ev->runs = img.nr_regions;
	ev->zero_pages = img.zero_pages;
	ev->data_pages = img.data_pages;
	format_ram_image_release(&img);
	return r->err;
}

static int check_definition(struct format_reader *r, const void *buf, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	bool object = json_is_object(j);

	json_decref(j);
	if (!j)
		return format_reader_fail(r, -EBADMSG, "definition is not valid JSON: %s "
					  "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
	if (!object)
		return format_reader_fail(r, -EBADMSG, "definition is not a JSON object");
	return 0;
}

/* Read and check one section's payload, filling @ev; @buf gets what to free. */
static int walk_payload(struct format_reader *r, struct format_walk_event *ev,
			struct pgr_mig_round *round, void **buf)
{
	switch (ev->sec->type) {
	case PGR_MIG_RAM_PAGES:
		return walk_runs(r, &ram_runs, ev);
	case PGR_MIG_BLOCKS:
		return walk_runs(r, &block_runs, ev);
	case PGR_MIG_RAM_IMAGE:
		return walk_image(r, ev);
	case PGR_MIG_ROUND:
		ev->round = round;
		return format_read_round(r, round);
	case PGR_MIG_END:
		return 0;
	}
	if (format_read_payload(r, buf, &ev->payload_len))
		return r->err;
	ev->payload = *buf;
	if (ev->sec->type == PGR_MIG_DEFINITION)
		return check_definition(r, *buf, ev->payload_len);
	return 0;
}

static int walk_section(struct format_reader *r, const struct format_section *sec,
			unsigned int index, format_walk_fn fn, void *ctx)
{
	struct format_walk_event ev = { .kind = FORMAT_WALK_SECTION, .sec = sec };
	struct pgr_mig_round round;
	void *buf = NULL;
	int ret;

	if ((index == 0) != (sec->type == PGR_MIG_DEFINITION))
		format_reader_fail(r, -EBADMSG, index ? "a second definition section" :
				   "the first section must be the definition");
	if (!r->err && !walk_payload(r, &ev, &round, &buf))
		format_read_section_end(r);
	ev.err = r->err;
	ev.errmsg = r->errmsg;
	ret = fn ? fn(ctx, &ev) : 0;
	free(buf);
	return ret ?: r->err;
}

int format_walk(struct format_reader *r, format_walk_fn fn, void *ctx)
{
	struct format_header hdr;
	struct format_walk_event ev = { .kind = FORMAT_WALK_HEADER, .hdr = &hdr };
	struct format_section sec;
	unsigned int index = 0;
	int ret;

	if (format_read_header(r, &hdr))
		return r->err;
	ret = fn ? fn(ctx, &ev) : 0;
	while (!ret && !r->ended) {
		if (format_read_section(r, &sec) && !r->in_section)
			return r->err;
		ret = walk_section(r, &sec, index++, fn, ctx);
	}
	if (!ret && !stream_eof(r->s))
		ret = reader_err(r, -EBADMSG, "data after the end marker, from offset %" PRIu64,
				 stream_tell(r->s));
	return ret ?: check_stream(r);
}
