// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgr-migdump: decode and verify a migration stream or save file offline.
 * Prints the header, one line per section (offset, type, name[instance],
 * version, length, ok or the error), RAM summaries, and with --definition
 * the VM definition; exits 0 only if the stream is whole and valid.
 *
 * All checking is migration/format.c's format_walk(), the same code that
 * restore and incoming migration trust; this file only prints. It does not
 * decode CPU or device payloads (their owners' versions would be needed).
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/stream.h"
#include "migration/format.h"

struct dump {
	bool definition;          /* --definition: print it pretty */
	unsigned int sections;
	uint64_t zero_pages, data_pages;
	json_t *def;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pgr-migdump [--definition] FILE\n"
		"Decode and verify a Peregrine save file or migration stream (FILE '-' is stdin).\n"
		"  -d, --definition  also print the VM definition (JSON, indented)\n"
		"  -h, --help        this help\n"
		"Exit status: 0 if the stream is whole and valid, 1 otherwise.\n");
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static void print_header(const struct format_header *hdr)
{
	const uint8_t *u = hdr->host_uuid;

	printf("header: format version %" PRIu32 ", flags%s%s%s, writer \"%s\"\n",
	       hdr->version, hdr->flags & PGR_MIG_F_SAVE ? " save" : "",
	       hdr->flags & PGR_MIG_F_LIVE ? " live" : "", hdr->flags ? "" : " none",
	       hdr->vmm_version);
	printf("        host %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	       "%02x%02x%02x%02x%02x%02x\n", u[0], u[1], u[2], u[3], u[4], u[5], u[6],
	       u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	printf("%12s  %-10s  %-24s %4s %12s  %s\n", "offset", "type", "section", "ver",
	       "length", "status");
}

/* The part after "ok": what the section held. */
static void print_details(struct dump *d, const struct format_walk_event *ev)
{
	char b1[32];

	switch (ev->sec->type) {
	case PGR_MIG_RAM_PAGES:
	case PGR_MIG_RAM_IMAGE:
		printf("  %" PRIu64 " %s, %" PRIu64 " zero + %" PRIu64 " data pages (%s)",
		       ev->runs, ev->sec->type == PGR_MIG_RAM_PAGES ? "runs" : "regions",
		       ev->zero_pages, ev->data_pages,
		       human(ev->data_pages * PGR_MIG_PAGE_SIZE, b1, sizeof(b1)));
		d->zero_pages += ev->zero_pages;
		d->data_pages += ev->data_pages;
		break;
	case PGR_MIG_BLOCKS:
		printf("  %" PRIu64 " runs, %" PRIu64 " zero + %" PRIu64 " data sectors",
		       ev->runs, ev->zero_pages, ev->data_pages);
		break;
	case PGR_MIG_ROUND:
		printf("  round %" PRIu32 "%s: %" PRIu64 " data + %" PRIu64 " zero pages, %"
		       PRIu64 " dirty left, %.1f ms", ev->round->round,
		       ev->round->flags & PGR_MIG_ROUND_F_FINAL ? " (final)" : "",
		       ev->round->data_pages, ev->round->zero_pages, ev->round->dirty_pages,
		       ev->round->duration_ns / 1e6);
		break;
	case PGR_MIG_DEFINITION:
		if (d->definition)
			d->def = json_loadb(ev->payload, ev->payload_len, 0, NULL);
		break;
	}
}

static int print_event(void *ctx, const struct format_walk_event *ev)
{
	struct dump *d = ctx;
	char label[64];

	if (ev->kind == FORMAT_WALK_HEADER) {
		print_header(ev->hdr);
		return 0;
	}
	d->sections++;
	printf("%12" PRIu64 "  %-10s  %-24s %4" PRIu32 " %12" PRIu64 "  %s",
	       ev->sec->offset, format_type_name(ev->sec->type),
	       format_section_label(ev->sec, label, sizeof(label)), ev->sec->version,
	       ev->sec->length, ev->err ? "error" : "ok");
	if (!ev->err)
		print_details(d, ev);
	putchar('\n');
	return 0;
}

static void print_summary(const struct dump *d)
{
	char b1[32];

	printf("%u sections; RAM %" PRIu64 " zero + %" PRIu64 " data pages (%s of data); "
	       "stream is whole and valid\n", d->sections, d->zero_pages, d->data_pages,
	       human(d->data_pages * PGR_MIG_PAGE_SIZE, b1, sizeof(b1)));
	if (d->def) {
		char *text = json_dumps(d->def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("definition:\n%s\n", text ? text : "(cannot print)");
		free(text);
	}
}

static int dump(const char *path, struct dump *d)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	struct stream *s;
	struct format_reader *r;
	int ret;

	if (fd < 0) {
		fprintf(stderr, "pgr-migdump: %s: %m\n", path);
		return 1;
	}
	s = stream_new_fd(fd, STREAM_READ | (fd ? STREAM_CLOSE_FD : 0));
	r = s ? format_reader_new(s) : NULL;
	if (!r) {
		fprintf(stderr, "pgr-migdump: %m\n");
		stream_free(s);
		return 1;
	}
	printf("file: %s\n", path);
	ret = format_walk(r, print_event, d);
	fflush(stdout);
	if (ret)
		fprintf(stderr, "pgr-migdump: %s: %s\n", path, format_reader_error(r));
	else
		print_summary(d);
	format_reader_free(r);
	stream_free(s);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "definition", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump d = { 0 };
	int c, ret;

	while ((c = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			d.definition = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	ret = dump(argv[optind], &d);
	json_decref(d.def);
	return ret;
}
