// SPDX-License-Identifier: GPL-2.0-only
/*
 * format-walk: read and verify a whole stream section by section — used by
 * pgr-migdump and the fuzzer; the engine reads sections itself
 * (migration/incoming.c). Split from format.c (format-internal.h).
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

/* ======================================================================== */
/* walking                                                                  */
/* ======================================================================== */

static int walk_runs(struct format_reader *r, const struct run_kind *k,
		     struct format_walk_event *ev)
{
	uint64_t addr;
	uint32_t count, flags;
	int ret;

	while ((ret = fmt_read_run(r, k, &addr, &count, &flags)) == 1) {
		ev->runs++;
		if (flags == PGR_MIG_RUN_ZERO) {
			ev->zero_pages += count;
			continue;
		}
		ev->data_pages += count;
		stream_skip(r->s, count * k->unit);
		if (fmt_check_stream(r))
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
		return walk_runs(r, &fmt_ram_runs, ev);
	case PGR_MIG_BLOCKS:
		return walk_runs(r, &fmt_block_runs, ev);
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
		ret = fmt_reader_err(r, -EBADMSG, "data after the end marker, from offset %" PRIu64,
				 stream_tell(r->s));
	return ret ?: fmt_check_stream(r);
}
