/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vblk.c: the virtio-blk driver and disk workload (see vblk.h).
 *
 * Pattern: word i of block b at generation g is
 *     mix64(mix64(seed) ^ (b << 32 | g)) + i * STEP
 * so a block written to the wrong place, a stale block and a flipped bit
 * all show. The generation table (one u32 per block, in the BSS) holds the
 * last generation known to be on disk, with flags: GEN_UNKNOWN (a write
 * failed or a mismatch was reported: not checked until rewritten) and
 * GEN_ZERO (discarded or zeroed: reads must return zeros). Generation 0
 * means never written by this boot: not checked.
 *
 * Requests: up to NREQ chains (header, one data buffer, status byte) in
 * flight, never two overlapping ones, so a read always has one expected
 * content. A pass ends when its last request completed; its line (BW, BV)
 * is printed then. "blk discard"/"blk zero" wait for the queue to drain,
 * then discard/zero the first MiB and read it back.
 *
 * It does not use interrupts, indirect descriptors, several queues, or
 * more than one disk; it never retries a failed request (the error is
 * reported, the workload goes on).
 */
#include "vblk.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"
#include "virtio.h"

#define BLOCK		4096UL
#define SECTORS_PER_BLOCK 8
#define WORDS		(BLOCK / 8)
#define STEP		0xd6e8feb86659fd93UL
#define NREQ		8
#define REQ_BLOCKS	16
#define MIX_WRITE_MAX	8
#define MAX_BLOCKS	(64 * MIB / BLOCK)
#define ZAP_BLOCKS	(MIB / BLOCK)
#define QSIZE		64
#define ID_BYTES	20
#define SYNC_WAIT_US	2000000
#define STALL_MS	2000
#define CATCHUP_MS	10
#define LINES_PER_SEC	20
#define CORRUPT_LINES_PER_BLOCK 3

#define GEN_UNKNOWN	0x80000000u
#define GEN_ZERO	0x40000000u
#define GEN_MASK	0x3fffffffu

#define F_RO		5
#define F_FLUSH		9
#define F_DISCARD	13
#define F_WRITE_ZEROES	14

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WRITE_ZEROES	13
#define S_OK		0
#define S_PENDING	0xff

/* Device configuration (struct virtio_blk_config). */
#define CFG_CAPACITY	0

enum mode { MODE_NONE, MODE_WRITE, MODE_VERIFY, MODE_MIX };
enum phase { PH_IDLE, PH_WRITE, PH_FLUSH, PH_VERIFY, PH_MIX, PH_ZAP, PH_ZREAD };

struct blk_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

struct blk_seg {
	u64 sector;
	u32 num_sectors;
	u32 flags;
};

struct req {
	struct blk_hdr hdr;
	struct blk_seg seg;
	u8 status;
	bool busy;
	u32 type;
	u64 first;		/* blocks */
	u32 n;
};

static struct {
	u32 mode;
	u64 seed, mib, rate_kib;
} opt = { .seed = 1 };

static struct virtio_dev dev;
static bool present;
static u64 nblocks, capacity, seed_mix;
static u32 gen[MAX_BLOCKS];
static struct req reqs[NREQ];
static u8 bufs[NREQ][REQ_BLOCKS * BLOCK] __aligned(4096);
static u8 req_of_head[VIRTQ_MAX];
static u32 inflight, reads_inflight;

static enum phase phase, saved_phase;
static u64 pos, zpos;			/* next block of the pass / of the read-back */
static u64 pass_blocks, pass_errors, pass_start;
static u32 nwrite_passes, nverify_passes;
static u32 zap_type;			/* requested by "blk discard|zero" */
static u64 zap_nonzero, zap_blocks;
static bool zap_failed;
static u64 credit, last_tsc, last_progress;
static u64 rng = 0x9e3779b97f4a7c15UL;
static bool write_turn;
static u64 line_window;
static u32 lines;

/* ---- options ------------------------------------------------------------ */

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(w, s, len);
}

bool vblk_option(const char *w, size_t len)
{
	static const struct { const char *key; u64 *val; } keys[] = {
		{ "blkseed=", &opt.seed }, { "blkmib=", &opt.mib }, { "blkrate=", &opt.rate_kib },
	};

	if (word_is(w, len, "blk=write") || word_is(w, len, "blk=verify") ||
	    word_is(w, len, "blk=mix")) {
		opt.mode = w[4] == 'w' ? MODE_WRITE : w[4] == 'v' ? MODE_VERIFY : MODE_MIX;
		return true;
	}
	for (u32 i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t k = strlen(keys[i].key);

		if (len > k && !memcmp(w, keys[i].key, k)) {
			parse_u64(w + k, len - k, keys[i].val);
			return true;
		}
	}
	return false;
}

/* ---- pattern ------------------------------------------------------------ */

static u64 block_seed(u64 b, u32 g)
{
	return mix64(seed_mix ^ (b << 32 | g));
}

static void fill_block(u64 *w, u64 b, u32 g)
{
	u64 v = block_seed(b, g);

	for (u32 i = 0; i < WORDS; i++, v += STEP)
		w[i] = v;
}

static bool line_allowed(void)
{
	u64 now = rdtsc();

	if (now - line_window > tsc_khz * 1000) {
		line_window = now;
		lines = 0;
	}
	return lines++ < LINES_PER_SEC;
}

static void report_corrupt(const u64 *w, u64 b, u64 first, u64 step, u32 from)
{
	u32 n = 0;
	u64 want = first + from * step;

	for (u32 i = from; i < WORDS && n < CORRUPT_LINES_PER_BLOCK; i++, want += step)
		if (w[i] != want && line_allowed()) {
			print("BLKCORRUPT block=%lu word=%u expected=0x%lx got=0x%lx\n", b, i,
			      want, w[i]);
			n++;
		}
}

/* Does block @b (its content at @w) hold what gen[b] says? */
static bool block_ok(const u64 *w, u64 b, u32 g, bool report)
{
	u64 first = g & GEN_ZERO ? 0 : block_seed(b, g & GEN_MASK);
	u64 step = g & GEN_ZERO ? 0 : STEP, v = first;

	for (u32 i = 0; i < WORDS; i++, v += step)
		if (w[i] != v) {
			if (report)
				report_corrupt(w, b, first, step, i);
			return false;
		}
	return true;
}

static bool block_checkable(u32 g)
{
	return !(g & GEN_UNKNOWN) && (g & (GEN_ZERO | GEN_MASK));
}

static u32 next_gen(u32 g)
{
	return (g & GEN_MASK) + 1;
}

/* ---- requests ----------------------------------------------------------- */

static const char *op_name(u32 type)
{
	switch (type) {
	case T_IN: return "read";
	case T_OUT: return "write";
	case T_FLUSH: return "flush";
	case T_GET_ID: return "get-id";
	default: return "discard";
	}
}

static struct req *free_req(void)
{
	for (u32 i = 0; i < NREQ; i++)
		if (!reqs[i].busy)
			return &reqs[i];
	return NULL;
}

static bool overlaps_inflight(u64 first, u64 n)
{
	for (u32 i = 0; i < NREQ; i++)
		if (reqs[i].busy && (reqs[i].type == T_IN || reqs[i].type == T_OUT) &&
		    first < reqs[i].first + reqs[i].n && reqs[i].first < first + n)
			return true;
	return false;
}

static u32 data_buffer(struct req *r, u8 *buf, struct vq_buf *b)
{
	switch (r->type) {
	case T_IN:
		*b = (struct vq_buf){ buf, r->n * (u32)BLOCK, true };
		return 1;
	case T_OUT:
		for (u32 i = 0; i < r->n; i++)
			fill_block((u64 *)(buf + i * BLOCK), r->first + i, next_gen(gen[r->first + i]));
		*b = (struct vq_buf){ buf, r->n * (u32)BLOCK, false };
		return 1;
	case T_GET_ID:
		*b = (struct vq_buf){ buf, ID_BYTES, true };
		return 1;
	case T_DISCARD:
	case T_WRITE_ZEROES:
		r->seg = (struct blk_seg){ r->first * SECTORS_PER_BLOCK, r->n * SECTORS_PER_BLOCK, 0 };
		*b = (struct vq_buf){ &r->seg, sizeof(r->seg), false };
		return 1;
	}
	return 0;
}

static int post(struct req *r, u32 type, u64 first, u32 n)
{
	u32 idx = (u32)(r - reqs), nb = 1;
	struct vq_buf b[3];
	int head;

	r->type = type;
	r->first = first;
	r->n = n;
	r->status = S_PENDING;
	r->hdr = (struct blk_hdr){ type, 0, type == T_IN || type == T_OUT ?
				   first * SECTORS_PER_BLOCK : 0 };
	b[0] = (struct vq_buf){ &r->hdr, sizeof(r->hdr), false };
	nb += data_buffer(r, bufs[idx], &b[1]);
	b[nb++] = (struct vq_buf){ &r->status, 1, true };
	head = virtq_add(&dev.vq[0], b, nb);
	if (head < 0)
		return -1;
	req_of_head[head] = (u8)idx;
	r->busy = true;
	inflight++;
	if (type == T_IN)
		reads_inflight++;
	return 0;
}

/* Post and wait (init only): status, or -1 on timeout. */
static int post_sync(u32 type, u64 first, u32 n)
{
	u64 end = rdtsc() + tsc_from_us(SYNC_WAIT_US);
	struct req *r = free_req();
	u32 len;

	if (!r || post(r, type, first, n))
		return -1;
	virtq_kick(&dev.vq[0]);
	while (virtq_get(&dev.vq[0], &len) < 0)
		if (rdtsc() > end)
			return -1;
	r->busy = false;
	inflight--;
	return r->status;
}

/* ---- completions -------------------------------------------------------- */

static void report_error(const struct req *r)
{
	if (line_allowed())
		print("BLKERR op=%s block=%lu status=%u\n", op_name(r->type), r->first, r->status);
}

static void read_done(struct req *r, const u8 *buf)
{
	for (u32 i = 0; i < r->n; i++) {
		u64 b = r->first + i;
		const u64 *w = (const u64 *)(buf + i * BLOCK);

		if (!block_checkable(gen[b]))
			continue;
		if (block_ok(w, b, gen[b], true)) {
			pass_blocks++;
		} else {
			pass_errors++;
			gen[b] |= GEN_UNKNOWN;	/* counted once, not every pass */
		}
	}
}

/* Read-back after a discard/zero: zeros, or (discard only) the old data. */
static void zread_done(struct req *r, const u8 *buf)
{
	for (u32 i = 0; i < r->n; i++) {
		u64 b = r->first + i;
		const u64 *w = (const u64 *)(buf + i * BLOCK);

		zap_blocks++;
		if (block_ok(w, b, GEN_ZERO, false)) {
			gen[b] = (gen[b] & GEN_MASK) | GEN_ZERO;
			continue;
		}
		zap_nonzero++;
		if (zap_type == T_WRITE_ZEROES || !block_checkable(gen[b]) ||
		    !block_ok(w, b, gen[b], false))
			gen[b] = next_gen(gen[b]) | GEN_UNKNOWN;
	}
}

static void write_done(const struct req *r, bool ok)
{
	for (u32 i = 0; i < r->n; i++) {
		u64 b = r->first + i;

		gen[b] = ok ? next_gen(gen[b]) : next_gen(gen[b]) | GEN_UNKNOWN;
	}
	if (ok && phase == PH_WRITE)
		pass_blocks += r->n;
}

/*
 * A read's used length must count the data the device wrote, not just its
 * status byte: a monitor that gets it wrong may also have failed to tell
 * its dirty log about that data, which a live migration then loses.
 */
static bool len_ok(const struct req *r, u32 len)
{
	u32 want = r->n * BLOCK + 1;

	if (r->type != T_IN || r->status != S_OK || len >= want)
		return true;
	if (line_allowed())
		print("BLKERR op=read block=%lu used-len=%u want=%u\n", r->first, len, want);
	return false;
}

static void complete(struct req *r, u32 len)
{
	const u8 *buf = bufs[r - reqs];
	bool ok = r->status == S_OK && len_ok(r, len);

	r->busy = false;
	inflight--;
	if (r->type == T_IN)
		reads_inflight--;
	if (!ok && r->status != S_OK)
		report_error(r);
	if (r->type == T_OUT)
		write_done(r, ok);
	else if (r->type == T_IN && !ok)
		pass_errors++;
	else if (r->type == T_IN)
		(phase == PH_ZREAD ? zread_done : read_done)(r, buf);
	else if (r->type == T_DISCARD || r->type == T_WRITE_ZEROES)
		zap_failed = !ok;
}

static void reap(u64 now)
{
	u32 len;
	int head;

	for (u32 n = 0; n < NREQ && (head = virtq_get(&dev.vq[0], &len)) >= 0; n++) {
		complete(&reqs[req_of_head[head]], len);
		last_progress = now;
	}
}

/* ---- pacing ------------------------------------------------------------- */

static void pace_refill(u64 now)
{
	u64 ticks = min_u64(now - last_tsc, tsc_khz * CATCHUP_MS);
	u64 cap = max_u64(opt.rate_kib * 1024 * CATCHUP_MS / 1000,
			  (REQ_BLOCKS + MIX_WRITE_MAX) * BLOCK);

	last_tsc = now;
	credit = min_u64(credit + ticks * opt.rate_kib * 1024 / (tsc_khz * 1000), cap);
}

static bool pace_take(u64 blocks)
{
	if (!opt.rate_kib)
		return true;
	if (credit < blocks * BLOCK)
		return false;
	credit -= blocks * BLOCK;
	return true;
}

/* ---- phases ------------------------------------------------------------- */

static void start_pass(enum phase p)
{
	phase = p;
	pos = 0;
	pass_blocks = pass_errors = 0;
	pass_start = rdtsc();
}

static void print_verify_pass(void)
{
	print("BV%u blocks=%lu errors=%lu ms=%lu\n", ++nverify_passes, pass_blocks, pass_errors,
	      tsc_to_ms(rdtsc() - pass_start));
}

/* Up to @max sequential requests of a pass (write or read). */
static u32 post_sequential(u32 type, u32 max)
{
	u32 posted = 0;
	struct req *r;

	while (posted < max && pos < nblocks && (r = free_req())) {
		u32 n = (u32)min_u64(REQ_BLOCKS, nblocks - pos);

		if (overlaps_inflight(pos, n) || !pace_take(n) || post(r, type, pos, n))
			break;
		pos += n;
		posted++;
	}
	return posted;
}

static void after_write_pass(void)
{
	print("BW%u blocks=%lu ms=%lu\n", ++nwrite_passes, pass_blocks,
	      tsc_to_ms(rdtsc() - pass_start));
	phase = PH_FLUSH;
	if (virtio_has(&dev, F_FLUSH))
		post(free_req(), T_FLUSH, 0, 0);
}

static u32 step_write(void)
{
	u32 posted = post_sequential(T_OUT, NREQ);

	if (pos == nblocks && !inflight)
		after_write_pass();
	return posted + (phase == PH_FLUSH && inflight);
}

static u32 step_flush(void)
{
	if (!inflight)
		start_pass(opt.mode == MODE_MIX ? PH_MIX : PH_VERIFY);
	return 0;
}

static u32 step_verify(void)
{
	u32 posted = post_sequential(T_IN, NREQ);

	if (pos == nblocks && !inflight) {
		print_verify_pass();
		phase = PH_IDLE;
	}
	return posted;
}

static u32 mix_write(void)
{
	struct req *r = free_req();
	u64 b, n;

	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	b = rng % nblocks;
	n = min_u64(1 + (rng >> 32) % MIX_WRITE_MAX, nblocks - b);
	if (!r || overlaps_inflight(b, n) || !pace_take(n) || post(r, T_OUT, b, (u32)n))
		return 0;
	return 1;
}

/* Reads and writes take turns, so neither starves the other of credit. */
static u32 step_mix(void)
{
	u32 posted = 0;

	while (free_req()) {
		u32 p;

		if (write_turn) {
			p = mix_write();
		} else if (pos < nblocks) {
			p = post_sequential(T_IN, 1);
		} else {
			p = 1;		/* the pass is posted: let the writes on */
			if (!reads_inflight) {
				print_verify_pass();
				start_pass(PH_MIX);
			}
		}
		if (!p)
			break;
		posted += p;
		write_turn = !write_turn;
	}
	return posted;
}

/* "blk discard|zero": once the queue is empty, one request for the first
 * MiB, then a read-back pass over it. */
static u32 step_zap(void)
{
	if (phase != PH_ZAP) {
		if (inflight)
			return 0;
		saved_phase = phase;
		phase = PH_ZAP;
		zap_failed = false;
		zap_nonzero = zap_blocks = 0;
		return post(free_req(), zap_type, 0, (u32)min_u64(ZAP_BLOCKS, nblocks)) ? 0 : 1;
	}
	if (inflight)
		return 0;
	if (zap_failed) {
		print("BLKZERO failed op=%s\n", zap_type == T_DISCARD ? "discard" : "zero");
		zap_type = 0;
		phase = saved_phase;
		return 0;
	}
	phase = PH_ZREAD;
	zpos = 0;
	return 0;
}

static u32 step_zread(void)
{
	u64 end = min_u64(ZAP_BLOCKS, nblocks);
	u32 posted = 0;
	struct req *r;

	while (zpos < end && (r = free_req())) {
		u32 n = (u32)min_u64(REQ_BLOCKS, end - zpos);

		if (post(r, T_IN, zpos, n))
			break;
		zpos += n;
		posted++;
	}
	if (zpos < end || inflight)
		return posted;
	if (!zap_nonzero)
		print("BLKZERO ok op=%s blocks=%lu\n", zap_type == T_DISCARD ? "discard" : "zero",
		      zap_blocks);
	else
		print("BLKZERO notzero op=%s blocks=%lu nonzero=%lu\n",
		      zap_type == T_DISCARD ? "discard" : "zero", zap_blocks, zap_nonzero);
	zap_type = 0;
	phase = saved_phase;
	return 0;
}

static u32 advance(void)
{
	if (zap_type && phase != PH_ZREAD)
		return step_zap();
	switch (phase) {
	case PH_WRITE: return step_write();
	case PH_FLUSH: return step_flush();
	case PH_VERIFY: return step_verify();
	case PH_MIX: return step_mix();
	case PH_ZREAD: return step_zread();
	default: return 0;
	}
}

static void check_stall(u64 now)
{
	if (!inflight) {
		last_progress = now;
		return;
	}
	if (now - last_progress < tsc_from_us(STALL_MS * 1000UL))
		return;
	print("BLKSTALL inflight=%u ms=%lu\n", inflight, tsc_to_ms(now - last_progress));
	last_progress = now;
	virtq_kick(&dev.vq[0]);		/* the monitor may have lost our notify */
}

/* A step that comes this long after the last one means the VM was paused
 * (suspended, saved, in a migration's stop-and-copy) or the vCPU was not
 * run: that time is nobody's stall. */
#define PAUSE_MS 200

void vblk_step(u64 now)
{
	static u64 last_step;

	if (!present)
		return;
	if (last_step && now - last_step > tsc_from_us(PAUSE_MS * 1000UL))
		last_progress += now - last_step;
	last_step = now;
	reap(now);
	pace_refill(now);
	if (advance())
		virtq_kick(&dev.vq[0]);
	check_stall(now);
}

/* ---- init and commands -------------------------------------------------- */

static void print_serial(bool ro)
{
	char id[ID_BYTES + 1];
	u32 n = 0;

	if (post_sync(T_GET_ID, 0, 0) == S_OK)
		for (const u8 *s = bufs[0]; n < ID_BYTES && s[n] > ' ' && s[n] < 0x7f; n++)
			id[n] = (char)s[n];
	id[n] = 0;
	print("BLK ok capacity=%lu ro=%u serial=%s\n", capacity, ro, n ? id : "-");
}

static void start_workload(void)
{
	u64 want = opt.mib ? opt.mib * (MIB / BLOCK) : MAX_BLOCKS;

	nblocks = min_u64(min_u64(capacity / SECTORS_PER_BLOCK, want), MAX_BLOCKS);
	seed_mix = mix64(opt.seed);
	last_tsc = last_progress = rdtsc();
	if (!nblocks || opt.mode == MODE_NONE)
		return;
	if (opt.mode == MODE_VERIFY) {
		for (u64 b = 0; b < nblocks; b++)
			gen[b] = 1;
		start_pass(PH_VERIFY);
	} else {
		start_pass(PH_WRITE);
	}
}

bool vblk_init(void)
{
	u64 want = 1UL << F_RO | 1UL << F_FLUSH | 1UL << F_DISCARD | 1UL << F_WRITE_ZEROES;

	if (virtio_probe(&dev, VIRTIO_ID_BLOCK, "virtio-blk"))
		return false;
	if (virtio_negotiate(&dev, want) || virtio_setup_vq(&dev, 0, QSIZE))
		return false;
	virtio_driver_ok(&dev);
	capacity = virtio_cfg64(&dev, CFG_CAPACITY);
	print_serial(virtio_has(&dev, F_RO));
	present = true;
	start_workload();
	return true;
}

void vblk_command(const char *arg)
{
	bool zero = word_is(arg, strlen(arg), "zero");

	if (!zero && !word_is(arg, strlen(arg), "discard")) {
		print("ERR usage: blk discard|zero\n");
		return;
	}
	if (!present || !nblocks) {
		print("ERR no virtio-blk disk\n");
		return;
	}
	if (!virtio_has(&dev, zero ? F_WRITE_ZEROES : F_DISCARD)) {
		print("ERR blk %s: the device does not offer it\n", arg);
		return;
	}
	if (zap_type) {
		print("ERR blk %s: one is already running\n", arg);
		return;
	}
	zap_type = zero ? T_WRITE_ZEROES : T_DISCARD;
}
