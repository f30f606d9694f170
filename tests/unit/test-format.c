// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-format: the migration stream framing (migration/format). Writes a
 * small stream with every section type, reads it back through the reader
 * API and through format_walk(); cuts it at every byte offset and flips a
 * bit in every byte, each of which must give one clean error line; checks
 * the header errors, and a save-file RAM image with holes (sparse on disk,
 * verified with SEEK_DATA, mapped back, corruption found by chunk).
 * lib/stream itself is tests/unit/test-stream.c.
 */
#include "migration/format.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "tests/unit/unit.h"

#define PAGE PGR_MIG_PAGE_SIZE

static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const char definition[] = "{\"name\": \"vm1\", \"memory\": 65536}";
static char tmpdir[] = "/tmp/test-format.XXXXXX";

/* Guest RAM of the small stream: two regions of 8 and 4 pages. */
static uint8_t ram_lo[8 * PAGE], ram_hi[4 * PAGE];

static void fill_ram(void)
{
	memset(ram_lo, 0, sizeof(ram_lo));
	memset(ram_hi, 0, sizeof(ram_hi));
	for (size_t i = 0; i < PAGE; i++) {
		ram_lo[PAGE + i] = (uint8_t)(i * 7);       /* page 1 */
		ram_lo[5 * PAGE + i] = (uint8_t)(i ^ 0x5a);  /* page 5 */
		ram_hi[3 * PAGE + i] = (uint8_t)(i + 1);     /* last page */
	}
}

static void write_small(struct format_writer *w)
{
	struct format_ram_run runs[] = {
		{ 0x0, 1, PGR_MIG_RUN_ZERO, NULL },
		{ 0x1000, 1, PGR_MIG_RUN_DATA, ram_lo + PAGE },
		{ 0x2000, 3, PGR_MIG_RUN_ZERO, NULL },
		{ 0x5000, 1, PGR_MIG_RUN_DATA, ram_lo + 5 * PAGE },
	};
	struct format_ram_region regions[] = {
		{ 0x0, sizeof(ram_lo), ram_lo },
		{ 0x100000000ull, sizeof(ram_hi), ram_hi },
	};
	struct pgr_mig_round round = { .round = 1, .data_pages = 2, .zero_pages = 4 };
	struct format_ram_stats st;
	uint8_t cpu[40];

	CHECK_EQ_INT(format_write_header(w, PGR_MIG_F_LIVE, "peregrine 0.1", uuid), 0);
	format_write_blob(w, PGR_MIG_DEFINITION, 1, 0, NULL, definition, strlen(definition));
	CHECK_EQ_INT(format_write_ram_pages(w, runs, 4), 0);
	format_write_round(w, &round);
	for (uint32_t i = 0; i < 2; i++) {
		memset(cpu, (int)i + 1, sizeof(cpu));
		format_write_blob(w, PGR_MIG_CPU, 3, i, NULL, cpu, sizeof(cpu));
	}
	format_write_blob(w, PGR_MIG_DEVICE, 2, 0, "serial", "\x01\x02\x03", 3);
	format_write_blob(w, PGR_MIG_VM, 1, 0, NULL, "vmstate", 7);
	CHECK_EQ_INT(format_write_ram_image(w, regions, 2, &st), 0);
	CHECK_EQ_U64(st.data_pages, 3);
	CHECK_EQ_U64(st.zero_pages, 9);
	CHECK_EQ_INT(format_write_end(w), 0);
}

/* The small stream in memory; caller frees. */
static uint8_t *make_small(size_t *len)
{
	struct stream *s = stream_new_mem_write();
	struct format_writer *w = format_writer_new(s);
	const void *data;
	uint8_t *copy;

	write_small(w);
	data = stream_mem_data(s, len);
	copy = malloc(*len);
	memcpy(copy, data, *len);
	format_writer_free(w);
	stream_free(s);
	return copy;
}

struct walk_log {
	int sections;
	uint64_t zero, data;
	char types[64];
	int header_seen;
};

static int walk_cb(void *ctx, const struct format_walk_event *ev)
{
	struct walk_log *log = ctx;

	if (ev->kind == FORMAT_WALK_HEADER) {
		log->header_seen = 1;
		return 0;
	}
	if (ev->err)
		return 0;
	log->types[log->sections++] = (char)('0' + ev->sec->type);
	log->zero += ev->zero_pages;
	log->data += ev->data_pages;
	if (ev->sec->type == PGR_MIG_DEFINITION)
		CHECK_STR(ev->payload, definition);
	if (ev->sec->type == PGR_MIG_ROUND)
		CHECK_EQ_U64(ev->round->zero_pages, 4);
	return 0;
}

/* Walk @buf; returns the result, the error line in @msg. */
static int walk_mem(const uint8_t *buf, size_t len, struct walk_log *log, char *msg)
{
	struct stream *s = stream_new_mem_read(buf, len);
	struct format_reader *r = format_reader_new(s);
	int ret = format_walk(r, walk_cb, log);

	snprintf(msg, FORMAT_ERRMSG_LEN, "%s", format_reader_error(r));
	format_reader_free(r);
	stream_free(s);
	return ret;
}

static void test_walk_small(void)
{
	size_t len;
	uint8_t *buf = make_small(&len);
	struct walk_log log = { 0 };
	char msg[FORMAT_ERRMSG_LEN];

	CHECK_EQ_INT(walk_mem(buf, len, &log, msg), 0);
	CHECK_STR(msg, "");
	CHECK(log.header_seen);
	CHECK_STR(log.types, "12744563" "8");
	CHECK_EQ_U64(log.zero, 4 + 9);
	CHECK_EQ_U64(log.data, 2 + 3);
	free(buf);
}

/* Read the small stream back through the reader API, as restore does. */
static void read_small_sections(struct format_reader *r)
{
	struct format_section sec;
	struct format_ram_run run;
	uint8_t got[8 * PAGE] = { 0 }, lo[sizeof(ram_lo)], hi[sizeof(ram_hi)];
	void *dst[2] = { lo, hi };
	struct format_ram_image img;
	void *payload;
	size_t plen;

	CHECK_EQ_INT(format_read_section(r, &sec), 0);
	CHECK_EQ_INT(format_read_payload(r, &payload, &plen), 0);
	CHECK_STR(payload, definition);
	free(payload);
	CHECK_EQ_INT(format_read_section_end(r), 0);
	CHECK_EQ_INT(format_read_section(r, &sec), 0);
	CHECK_EQ_U64(sec.type, PGR_MIG_RAM_PAGES);
	while (format_read_ram_run(r, &run) == 1)
		format_read_ram_data(r, &run, got + run.gpa);
	CHECK_EQ_INT(format_read_section_end(r), 0);
	CHECK(memcmp(got, ram_lo, sizeof(got)) == 0);
	while (!format_read_section(r, &sec) && sec.type != PGR_MIG_RAM_IMAGE) {
		stream_skip(format_reader_stream(r), format_section_remaining(r));
		CHECK_EQ_INT(format_read_section_end(r), 0);
	}
	CHECK_EQ_U64(sec.type, PGR_MIG_RAM_IMAGE);
	CHECK_EQ_INT(format_ram_image_begin(r, &img), 0);
	CHECK_EQ_INT(format_ram_image_load(r, &img, dst), 0);
	CHECK_EQ_INT(format_ram_image_end(r, &img), 0);
	format_ram_image_release(&img);
	CHECK_EQ_INT(format_read_section_end(r), 0);
	CHECK(memcmp(lo, ram_lo, sizeof(lo)) == 0 && memcmp(hi, ram_hi, sizeof(hi)) == 0);
}

static void test_read_small(void)
{
	size_t len;
	uint8_t *buf = make_small(&len);
	struct stream *s = stream_new_mem_read(buf, len);
	struct format_reader *r = format_reader_new(s);
	struct format_header hdr;
	struct format_section sec;
	char label[64];

	CHECK_EQ_INT(format_read_header(r, &hdr), 0);
	CHECK_EQ_U64(hdr.version, 1);
	CHECK_EQ_U64(hdr.flags, PGR_MIG_F_LIVE);
	CHECK_STR(hdr.vmm_version, "peregrine 0.1");
	CHECK(memcmp(hdr.host_uuid, uuid, 16) == 0);
	read_small_sections(r);
	CHECK_EQ_INT(format_read_section(r, &sec), 0);
	CHECK_EQ_U64(sec.type, PGR_MIG_END);
	CHECK_STR(format_section_label(&sec, label, sizeof(label)), "end[0]");
	CHECK_EQ_INT(format_read_section_end(r), 0);
	CHECK(stream_eof(s));
	CHECK_STR(format_reader_error(r), "");
	format_reader_free(r);
	stream_free(s);
	free(buf);
}

/* Every prefix of the stream is refused with a "truncated" line. */
static void test_truncation(void)
{
	size_t len;
	uint8_t *buf = make_small(&len);
	char msg[FORMAT_ERRMSG_LEN];
	int bad = 0;

	for (size_t cut = 0; cut < len; cut++) {
		struct walk_log log = { 0 };
		int ret = walk_mem(buf, cut, &log, msg);

		if (ret >= 0 || (!strstr(msg, "truncated") && !strstr(msg, "too short"))) {
			if (bad++ < 5)
				fprintf(stderr, "cut at %zu: %d \"%s\"\n", cut, ret, msg);
		}
	}
	CHECK_EQ_INT(bad, 0);
	free(buf);
}

/* One flipped bit anywhere is detected. */
static void test_bit_flips(void)
{
	size_t len;
	uint8_t *buf = make_small(&len);
	char msg[FORMAT_ERRMSG_LEN];
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		struct walk_log log = { 0 };
		int ret;

		buf[i] ^= (uint8_t)(1u << (i % 8));
		ret = walk_mem(buf, len, &log, msg);
		buf[i] ^= (uint8_t)(1u << (i % 8));
		if (ret >= 0 || !msg[0] || strchr(msg, '\n')) {
			if (bad++ < 5)
				fprintf(stderr, "flip at %zu: %d \"%s\"\n", i, ret, msg);
		}
	}
	CHECK_EQ_INT(bad, 0);
	free(buf);
}

/* Offset of the first section of @type in the small stream. */
static size_t find_section(const uint8_t *buf, size_t len, uint32_t type, uint32_t instance)
{
	size_t off = PGR_MIG_HEADER_SIZE;

	while (off + PGR_MIG_SECTION_SIZE <= len) {
		uint32_t t, inst;
		uint64_t l;

		memcpy(&t, buf + off, 4);
		memcpy(&inst, buf + off + 8, 4);
		memcpy(&l, buf + off + 44, 8);
		if (t == type && inst == instance)
			return off;
		off += PGR_MIG_SECTION_SIZE + l + 4;
	}
	return 0;
}

static void test_messages(void)
{
	size_t len, off;
	uint8_t *buf = make_small(&len);
	struct walk_log log = { 0 };
	char msg[FORMAT_ERRMSG_LEN], want[128];

	buf[0] = 'X';
	CHECK(walk_mem(buf, len, &log, msg) == -EBADMSG);
	CHECK_STR(msg, "not a Peregrine migration stream (bad magic)");
	buf[0] = 'P';
	buf[6] = '\n';
	walk_mem(buf, len, &log, msg);
	CHECK_CONTAINS(msg, "text mode");
	buf[6] = '\r';
	buf[8] = 2;
	CHECK(walk_mem(buf, len, &log, msg) == -EPROTONOSUPPORT);
	CHECK_STR(msg, "stream format version 2 not supported (this build reads 1)");
	buf[8] = 1;
	buf[20] ^= 1;   /* inside the writer version */
	walk_mem(buf, len, &log, msg);
	CHECK_STR(msg, "header checksum mismatch");
	buf[20] ^= 1;

	off = find_section(buf, len, PGR_MIG_CPU, 1);
	CHECK(off != 0);
	buf[off + PGR_MIG_SECTION_SIZE + 3] ^= 0x10;
	walk_mem(buf, len, &log, msg);
	snprintf(want, sizeof(want), "section cpu[1] at offset %zu: checksum mismatch", off);
	CHECK_STR(msg, want);
	buf[off + PGR_MIG_SECTION_SIZE + 3] ^= 0x10;

	buf[off] = 0x42;
	walk_mem(buf, len, &log, msg);
	snprintf(want, sizeof(want), "unknown section type 0x42 at offset %zu", off);
	CHECK_STR(msg, want);
	buf[off] = PGR_MIG_CPU;

	off = find_section(buf, len, PGR_MIG_END, 0);
	walk_mem(buf, off, &log, msg);
	snprintf(want, sizeof(want), "truncated stream: no end marker (stream ends at offset %zu)",
		 off);
	CHECK_STR(msg, want);
	free(buf);
}

/* RAM_PAGES runs that lie about themselves. */
static void test_bad_runs(void)
{
	static const struct { uint64_t gpa; uint32_t n, flags; const char *msg; } cases[] = {
		{ 0x1001, 1, PGR_MIG_RUN_ZERO, "not aligned" },
		{ 0x1000, 0, PGR_MIG_RUN_ZERO, "empty run" },
		{ 0x1000, 1, 3, "unknown flags 0x3" },
		{ 0x1000, 1, 0, "unknown flags 0x0" },
		{ (1ull << 52) - 0x1000, 2, PGR_MIG_RUN_ZERO, "run past" },
		{ 0xfffffffffffff000ull, 0xffffffff, PGR_MIG_RUN_ZERO, "run past" },
		{ 0x1000, 2, PGR_MIG_RUN_DATA, "data bytes but" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *s = stream_new_mem_write(), *rs;
		struct format_writer *w = format_writer_new(s);
		struct format_reader *r;
		struct format_ram_run run;
		struct format_section sec;
		const void *data;
		size_t len;

		format_write_section_begin(w, PGR_MIG_RAM_PAGES, 1, 0, NULL, 16 + PAGE);
		stream_put_u64(s, cases[i].gpa);
		stream_put_u32(s, cases[i].n);
		stream_put_u32(s, cases[i].flags);
		stream_skip_zeros(s, PAGE);
		format_write_section_end(w);
		data = stream_mem_data(s, &len);
		rs = stream_new_mem_read(data, len);
		r = format_reader_new(rs);
		CHECK_EQ_INT(format_read_section(r, &sec), 0);
		CHECK_EQ_INT(format_read_ram_run(r, &run), -EBADMSG);
		CHECK_CONTAINS(format_reader_error(r), cases[i].msg);
		CHECK_CONTAINS(format_reader_error(r), "section ram[0] at offset 0: ");
		format_reader_free(r);
		stream_free(rs);
		format_writer_free(w);
		stream_free(s);
	}
}

static void test_section_bounds(void)
{
	static const struct { uint32_t type, inst; const char *name; uint64_t len;
			      const char *msg; } cases[] = {
		{ PGR_MIG_CPU, 1024, NULL, 0, "instance 1024 out of range" },
		{ PGR_MIG_END, 0, NULL, 1, "length 1 out of range" },
		{ PGR_MIG_DEVICE, 0, "se rial", 0, "name is not" },
		{ PGR_MIG_DEVICE, 0, "s\x7f", 0, "name is not" },
		{ PGR_MIG_DEFINITION, 0, NULL, PGR_MIG_DEFINITION_MAX + 1, "out of range" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *s = stream_new_mem_write(), *rs;
		struct format_reader *r;
		struct format_section sec;
		const void *data;
		size_t len;
		char name[PGR_MIG_NAME_LEN] = { 0 };

		/* by hand: the writer refuses to write these */
		memcpy(name, cases[i].name ? cases[i].name : "x", strlen(cases[i].name ?: "x"));
		stream_put_u32(s, cases[i].type);
		stream_put_u32(s, 1);
		stream_put_u32(s, cases[i].inst);
		stream_put(s, name, sizeof(name));
		stream_put_u64(s, cases[i].len);
		data = stream_mem_data(s, &len);
		rs = stream_new_mem_read(data, len);
		r = format_reader_new(rs);
		CHECK(format_read_section(r, &sec) < 0);
		CHECK_CONTAINS(format_reader_error(r), cases[i].msg);
		format_reader_free(r);
		stream_free(rs);
		stream_free(s);
	}
}

static void test_writer_refuses(void)
{
	struct stream *s = stream_new_mem_write();
	struct format_writer *w = format_writer_new(s);

	CHECK_EQ_INT(format_write_section_begin(w, PGR_MIG_DEVICE, 1, 0, "se rial", 0), -EINVAL);
	CHECK_EQ_INT(stream_error(s), -EINVAL);
	format_writer_free(w);
	stream_free(s);
	s = stream_new_mem_write();
	w = format_writer_new(s);
	CHECK_EQ_INT(format_write_section_begin(w, PGR_MIG_DEVICE, 1, 0, NULL, 0), -EINVAL);
	format_writer_free(w);
	stream_free(s);
	s = stream_new_mem_write();
	w = format_writer_new(s);
	CHECK_EQ_INT(format_write_section_begin(w, 77, 1, 0, "x", 0), -EINVAL);
	format_writer_free(w);
	stream_free(s);
}

/* ---- save file with holes ---- */

#define BIG_RAM (64ull << 20)
#define DATA0   4096          /* file offset of the first region: tables fit below */

static int open_tmp(const char *name, int flags)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return open(path, flags, 0600);
}

static uint8_t *make_guest(void)
{
	uint8_t *ram = mmap(NULL, BIG_RAM, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* a few data pages, the rest never touched */
	for (uint64_t gpa = 0; gpa < BIG_RAM; gpa += 3 * (1 << 20) + 5 * PAGE)
		memset(ram + gpa, (int)(gpa >> 12) | 1, PAGE);
	return ram;
}

static void write_save_file(int fd, const uint8_t *ram)
{
	struct stream *s = stream_new_fd(fd, STREAM_WRITE);
	struct format_writer *w = format_writer_new(s);
	struct format_ram_region rg[2] = {
		{ 0, BIG_RAM / 2, ram },
		{ 0x100000000ull, BIG_RAM / 2, ram + BIG_RAM / 2 },
	};

	format_write_header(w, PGR_MIG_F_SAVE, "peregrine 0.1", uuid);
	format_write_blob(w, PGR_MIG_DEFINITION, 1, 0, NULL, definition, strlen(definition));
	format_write_ram_image(w, rg, 2, NULL);
	CHECK_EQ_INT(format_write_end(w), 0);
	format_writer_free(w);
	stream_free(s);
}

static int walk_fd(int fd, struct walk_log *log, char *msg)
{
	struct stream *s;
	struct format_reader *r;
	int ret;

	lseek(fd, 0, SEEK_SET);
	s = stream_new_fd(fd, STREAM_READ);
	r = format_reader_new(s);
	ret = format_walk(r, walk_cb, log);
	snprintf(msg, FORMAT_ERRMSG_LEN, "%s", format_reader_error(r));
	format_reader_free(r);
	stream_free(s);
	return ret;
}

/* Restore as incoming.c would: tables, skip, verify, then map from the file. */
static void restore_mapped(int fd, const uint8_t *ram)
{
	struct stream *s;
	struct format_reader *r;
	struct format_header hdr;
	struct format_section sec;
	struct format_ram_image img;

	lseek(fd, 0, SEEK_SET);
	s = stream_new_fd(fd, STREAM_READ);
	r = format_reader_new(s);
	format_read_header(r, &hdr);
	format_read_section(r, &sec);
	stream_skip(s, format_section_remaining(r));
	format_read_section_end(r);
	CHECK_EQ_INT(format_read_section(r, &sec), 0);
	CHECK_EQ_INT(format_ram_image_begin(r, &img), 0);
	CHECK_EQ_INT(format_ram_image_skip(r, &img), 0);
	CHECK_EQ_INT(format_ram_image_end(r, &img), 0);
	CHECK_EQ_INT(format_read_section_end(r), 0);
	CHECK_EQ_INT(format_ram_image_verify_fd(r, fd, &img), 0);
	CHECK_EQ_U64(img.nr_chunks, BIG_RAM >> PGR_MIG_IMAGE_CHUNK_SHIFT);
	CHECK_EQ_INT(format_ram_image_check_chunk(fd, &img, 3), 0);
	for (uint32_t i = 0; i < img.nr_regions; i++) {
		void *m = mmap(NULL, img.region[i].size, PROT_READ, MAP_PRIVATE, fd,
			       (off_t)img.region[i].offset);

		CHECK(m != MAP_FAILED);
		CHECK(memcmp(m, ram + i * BIG_RAM / 2, BIG_RAM / 2) == 0);
		munmap(m, img.region[i].size);
	}
	CHECK_EQ_INT(format_read_section(r, &sec), 0);
	CHECK_EQ_U64(sec.type, PGR_MIG_END);
	CHECK_EQ_INT(format_read_section_end(r), 0);
	format_ram_image_release(&img);
	format_reader_free(r);
	stream_free(s);
}

static void test_save_file(void)
{
	int fd = open_tmp("save", O_RDWR | O_CREAT | O_TRUNC);
	uint8_t *ram = make_guest(), byte = 0x77;
	struct walk_log log = { 0 };
	char msg[FORMAT_ERRMSG_LEN], want[160];
	struct stat st;
	uint64_t data_pages = 0;

	for (uint64_t gpa = 0; gpa < BIG_RAM; gpa += 3 * (1 << 20) + 5 * PAGE)
		data_pages++;
	write_save_file(fd, ram);
	CHECK(fstat(fd, &st) == 0);
	CHECK((uint64_t)st.st_size > BIG_RAM);
	CHECK((uint64_t)st.st_blocks * 512 < (data_pages + 16) * PAGE);   /* sparse */
	CHECK_EQ_INT(walk_fd(fd, &log, msg), 0);
	CHECK_STR(msg, "");
	CHECK_EQ_U64(log.data, data_pages);
	CHECK_EQ_U64(log.zero, BIG_RAM / PAGE - data_pages);
	restore_mapped(fd, ram);

	/* a byte in a data page, then a byte in a hole */
	CHECK(pwrite(fd, &byte, 1, DATA0 + 3 * (1 << 20) + 5 * PAGE + 17) == 1);
	CHECK(walk_fd(fd, &log, msg) == -EBADMSG);
	snprintf(want, sizeof(want), "section ram[0] at offset %zu: RAM image chunk at gpa "
		 "0x200000: checksum mismatch", PGR_MIG_HEADER_SIZE + PGR_MIG_SECTION_SIZE +
		 strlen(definition) + PGR_MIG_CRC_SIZE);
	CHECK_STR(msg, want);
	CHECK(pwrite(fd, ram + 3 * (1 << 20) + 5 * PAGE + 17, 1,
		     DATA0 + 3 * (1 << 20) + 5 * PAGE + 17) == 1);
	CHECK_EQ_INT(walk_fd(fd, &log, msg), 0);
	CHECK(pwrite(fd, &byte, 1, DATA0 + BIG_RAM / 2 + (9 << 20)) == 1);
	walk_fd(fd, &log, msg);
	CHECK_CONTAINS(msg, "RAM image chunk at gpa 0x100800000: checksum mismatch");
	close(fd);
	munmap(ram, BIG_RAM);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;
	fill_ram();
	test_walk_small();
	test_read_small();
	test_truncation();
	test_bit_flips();
	test_messages();
	test_bad_runs();
	test_section_bounds();
	test_writer_refuses();
	test_save_file();
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/save", tmpdir);
		unlink(path);
		rmdir(tmpdir);
	}
	return UNIT_DONE();
}
