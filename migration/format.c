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
#include "migration/format-internal.h"

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


/* ======================================================================== */
/* writing                                                                  */
/* ======================================================================== */


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

/* ======================================================================== */
/* reading                                                                  */
/* ======================================================================== */


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

int fmt_reader_err(struct format_reader *r, int err, const char *fmt, ...)
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
		return fmt_reader_err(r, err, "%s", msg);
	return fmt_reader_err(r, err, "section %s at offset %" PRIu64 ": %s",
			  format_section_label(&r->sec, label, sizeof(label)), r->sec.offset, msg);
}

/* Turn a stream error into the reader's error line; returns it. */
int fmt_check_stream(struct format_reader *r)
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
		return fmt_reader_err(r, -EBADMSG, "not a Peregrine migration stream (bad magic: "
				  "line endings changed, was it copied in text mode?)");
	return fmt_reader_err(r, -EBADMSG, "not a Peregrine migration stream (bad magic)");
}

int format_read_header(struct format_reader *r, struct format_header *hdr)
{
	uint8_t magic[PGR_MIG_MAGIC_LEN];
	uint32_t crc;

	memset(hdr, 0, sizeof(*hdr));
	stream_crc_reset(r->s);
	stream_get(r->s, magic, sizeof(magic));
	if (stream_error(r->s) == STREAM_ETRUNC && stream_tell(r->s) == 0)
		return fmt_reader_err(r, STREAM_ETRUNC, "truncated stream: empty, no header");
	if (stream_error(r->s) == STREAM_ETRUNC)
		return fmt_reader_err(r, -EBADMSG, "not a Peregrine migration stream (%" PRIu64
				  " bytes, too short for a header)", stream_tell(r->s));
	if (fmt_check_stream(r) || check_magic(r, magic))
		return r->err;
	hdr->version = stream_get_u32(r->s);
	hdr->flags = stream_get_u32(r->s);
	stream_get(r->s, hdr->vmm_version, PGR_MIG_VMM_VERSION_LEN);
	stream_get(r->s, hdr->host_uuid, PGR_MIG_UUID_LEN);
	crc = stream_crc(r->s);
	if (fmt_check_stream(r))
		return r->err;
	if (hdr->version != PGR_MIG_VERSION)
		return fmt_reader_err(r, -EPROTONOSUPPORT, "stream format version %" PRIu32
				  " not supported (this build reads %d)", hdr->version, PGR_MIG_VERSION);
	if (stream_get_u32(r->s) != crc)
		return fmt_check_stream(r) ?: fmt_reader_err(r, -EBADMSG, "header checksum mismatch");
	if (hdr->flags & ~PGR_MIG_F_KNOWN)
		return fmt_reader_err(r, -EPROTONOSUPPORT, "header flags 0x%" PRIx32 " not supported",
				  hdr->flags);
	for (char *c = hdr->vmm_version; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return fmt_reader_err(r, -EBADMSG, "header: writer version is not printable");
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
		return fmt_check_stream(r) ?: 1;
	sec->type = stream_get_u32(r->s);
	sec->version = stream_get_u32(r->s);
	sec->instance = stream_get_u32(r->s);
	stream_get(r->s, sec->name, PGR_MIG_NAME_LEN);
	sec->length = stream_get_u64(r->s);
	if (stream_error(r->s) == STREAM_ETRUNC)
		return fmt_reader_err(r, STREAM_ETRUNC, "truncated stream: section header at offset %"
				  PRIu64 " cut short at offset %" PRIu64, sec->offset,
				  stream_tell(r->s));
	return fmt_check_stream(r);
}

int format_read_section(struct format_reader *r, struct format_section *sec)
{
	const struct type_info *ti;
	int ret;

	if (r->err)
		return r->err;
	if (r->in_section || r->ended)
		return fmt_reader_err(r, -EINVAL, "reading a section %s", r->ended ?
				  "after the end marker" : "before the previous one ended");
	memset(sec, 0, sizeof(*sec));
	sec->offset = stream_tell(r->s);
	stream_crc_reset(r->s);
	ret = get_section_header(r, sec);
	if (ret == 1)
		return fmt_reader_err(r, STREAM_ETRUNC, "truncated stream: no end marker (stream "
				  "ends at offset %" PRIu64 ")", sec->offset);
	if (ret)
		return ret;
	ti = type_info(sec->type);
	if (!ti)
		return fmt_reader_err(r, -EBADMSG, "unknown section type 0x%" PRIx32 " at offset %"
				  PRIu64, sec->type, sec->offset);
	if (!name_ok(sec->name, PGR_MIG_NAME_LEN))
		return fmt_reader_err(r, -EBADMSG, "%s section at offset %" PRIu64 ": name is not "
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
		return fmt_reader_err(r, -EINVAL, "no section to end");
	if (fmt_check_stream(r))
		return r->err;
	if (pos < r->payload_end)
		return format_reader_fail(r, -EBADMSG, "%" PRIu64 " payload bytes not understood",
					  r->payload_end - pos);
	if (pos > r->payload_end)
		return format_reader_fail(r, -EBADMSG, "payload too short for its contents "
					  "(read %" PRIu64 " bytes past its end)", pos - r->payload_end);
	crc = stream_crc(r->s);
	if (stream_get_u32(r->s) != crc)
		return fmt_check_stream(r) ?: format_reader_fail(r, -EBADMSG, "checksum mismatch");
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
	if (fmt_check_stream(r)) {
		free(buf);
		return r->err;
	}
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	return 0;
}

bool fmt_in_type(struct format_reader *r, uint32_t type)
{
	if (r->in_section && r->sec.type == type)
		return true;
	format_reader_fail(r, -EINVAL, "not a %s section", format_type_name(type));
	return false;
}

int format_read_round(struct format_reader *r, struct pgr_mig_round *round)
{
	memset(round, 0, sizeof(*round));
	if (r->err || !fmt_in_type(r, PGR_MIG_ROUND))
		return r->err;
	round->round = stream_get_u32(r->s);
	round->flags = stream_get_u32(r->s);
	round->data_pages = stream_get_u64(r->s);
	round->zero_pages = stream_get_u64(r->s);
	round->dirty_pages = stream_get_u64(r->s);
	round->duration_ns = stream_get_u64(r->s);
	round->bytes = stream_get_u64(r->s);
	return fmt_check_stream(r);
}

/* ---- runs (RAM_PAGES pages, BLOCKS sectors) ---- */


const struct run_kind fmt_ram_runs = { "RAM run at gpa", PGR_MIG_PAGE_SIZE, PGR_MIG_GPA_LIMIT };
const struct run_kind fmt_block_runs = { "block run at offset", PGR_MIG_SECTOR_SIZE,
					    PGR_MIG_DISK_LIMIT };

/* Read and check a run header: 1 = read, 0 = payload used up. */
int fmt_read_run(struct format_reader *r, const struct run_kind *k, uint64_t *addr,
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
	if (fmt_check_stream(r))
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
	if (r->err || !fmt_in_type(r, PGR_MIG_RAM_PAGES))
		return r->err;
	return fmt_read_run(r, &fmt_ram_runs, &run->gpa, &run->npages, &run->flags);
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
	return fmt_check_stream(r);
}
