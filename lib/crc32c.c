// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc32c: CRC-32C over buffers, over runs of zeros, and combined. See
 * crc32c.h. Internally everything works on the raw register (the finished
 * CRC inverted); the public functions invert on the way in and out.
 *
 * Hardware path: the SSE4.2 crc32 instruction has a latency of three cycles
 * and a throughput of one, so long buffers are cut into three lanes hashed
 * in the same loop, and the lanes are joined by multiplying the earlier ones
 * by x^(8 * lane length) modulo the polynomial, with one PCLMUL each.
 * Fallback (no SSE4.2 or no PCLMUL): slicing-by-8 tables, built once.
 * It does not fold with PCLMUL over the data itself: the three-lane crc32
 * loop already runs at about 10 GB/s here (docs/migration-stream.md).
 */
#include "lib/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u  /* reflected Castagnoli */

/*
 * x^(2^k) mod P, reflected (0x80000000 is 1), for k = 0..30; the sequence
 * repeats with period 31 (x^(2^31) = x mod P for this polynomial).
 */
static const uint32_t x2k[31] = {
	0x40000000, 0x20000000, 0x08000000, 0x00800000,
	0x00008000, 0x82f63b78, 0x6ea2d55c, 0x18b8ea18,
	0x510ac59a, 0xb82be955, 0xb8fdb1e7, 0x88e56f72,
	0x74c360a4, 0xe4172b16, 0x0d65762a, 0x35d73a62,
	0x28461564, 0xbf455269, 0xe2ea32dc, 0xfe7740e6,
	0xf946610b, 0x3c204f8f, 0x538586e3, 0x59726915,
	0x734d5309, 0xbc1ac763, 0x7d0722cc, 0xd289cabe,
	0xe94ca9bc, 0x05b74f3f, 0xa51e1f42,
};

/*
 * The same powers times x^-33, for the PCLMUL multiply below: a carry-less
 * product of two reflected values, reduced by the crc32 instruction, is
 * a * b * x^33 mod P, so one factor carries x^-33 to cancel it.
 */
static const uint32_t x2k_m33[31] = {
	0xd610d67e, 0x6b086b3f, 0xd94f3c0b, 0xbf818109,
	0x780d5a4d, 0x05ec76f1, 0x00000001, 0x493c7d27,
	0xba4fc28e, 0x9e4addf8, 0x0d3b6092, 0xb9e02b86,
	0xdd7e3b0c, 0x170076fa, 0xa51b6135, 0x82f89c77,
	0x54a86326, 0x1dc403cc, 0x5ae703ab, 0xc5013a36,
	0xac2ac6dd, 0x9b4615a9, 0x688d1c61, 0xf6af14e6,
	0xb6ffe386, 0xb717425b, 0x478b0d30, 0x54cc62e5,
	0x7b2102ee, 0x8a99adef, 0xa7568c8f,
};
#define X_M33 0xa9cdda0du   /* x^-33 mod P: "1" in the x^-33 domain */

/* a * b mod P, both reflected. Branch-free: 32 steps of shift-and-xor. */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
	uint32_t p = 0;

	for (int i = 31; i >= 0; i--) {
		p ^= b & -((a >> i) & 1u);
		b = (b >> 1) ^ (CRC32C_POLY & -(b & 1u));
	}
	return p;
}

/* x^(8 * n) mod P: one multiplication per set bit of n. */
static uint32_t x8n(uint64_t n)
{
	uint32_t r = 0x80000000u;   /* 1 */
	unsigned int k = 3;         /* 8 = 2^3 */

	for (; n; n >>= 1, k++)
		if (n & 1)
			r = gf_mul(r, x2k[k % 31]);
	return r;
}

/* ---- table fallback (slicing by 8) ---- */

static uint32_t sw_table[8][256];
static pthread_once_t sw_once = PTHREAD_ONCE_INIT;

static void sw_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint32_t r = i;

		for (int j = 0; j < 8; j++)
			r = (r >> 1) ^ (CRC32C_POLY & -(r & 1u));
		sw_table[0][i] = r;
	}
	for (unsigned int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			sw_table[t][i] = (sw_table[t - 1][i] >> 8) ^
					 sw_table[0][sw_table[t - 1][i] & 0xff];
}

static uint32_t sw_update(uint32_t r, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= r;   /* little-endian host: the stream's byte order */
		r = sw_table[7][lo & 0xff] ^ sw_table[6][(lo >> 8) & 0xff] ^
		    sw_table[5][(lo >> 16) & 0xff] ^ sw_table[4][lo >> 24] ^
		    sw_table[3][hi & 0xff] ^ sw_table[2][(hi >> 8) & 0xff] ^
		    sw_table[1][(hi >> 16) & 0xff] ^ sw_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		r = (r >> 8) ^ sw_table[0][(r ^ *p++) & 0xff];
	return r;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&sw_once, sw_init);
	return ~sw_update(~crc, buf, len);
}

/* ---- SSE4.2 + PCLMUL ---- */

#if defined(__x86_64__)
#include <immintrin.h>

#define HW_TARGET __attribute__((target("sse4.2,pclmul")))
#define LANE_BIG   8192u   /* three lanes of 8 KiB per step for long buffers */
#define LANE_SMALL 512u    /* and of 512 bytes for pages and the tail */

/* a * b * x^33 mod P: so clmul_mul(a, b * x^-33) = a * b. */
static HW_TARGET uint32_t clmul_mul(uint32_t a, uint32_t b)
{
	__m128i p = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)a),
					 _mm_cvtsi32_si128((int)b), 0);

	return (uint32_t)__builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(p));
}

/* x^(8 * n) * x^-33 mod P. */
static HW_TARGET uint32_t hw_x8n_m33(uint64_t n)
{
	uint32_t r = X_M33;
	unsigned int k = 3;

	for (; n; n >>= 1, k++)
		if (n & 1)
			r = clmul_mul(r, x2k_m33[k % 31]);
	return r;
}

static HW_TARGET uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static HW_TARGET uint32_t hw_1lane(uint32_t r, const uint8_t *p, size_t len)
{
	uint64_t r64 = r;

	for (; len >= 8; p += 8, len -= 8)
		r64 = __builtin_ia32_crc32di(r64, load64(p));
	r = (uint32_t)r64;
	while (len--)
		r = __builtin_ia32_crc32qi(r, *p++);
	return r;
}

/* Three lanes of @lane bytes (a multiple of 8) from @p, joined with
 * k1 = x^(8 lane) and k2 = x^(16 lane), both times x^-33. */
static HW_TARGET uint32_t hw_3lane(uint32_t r, const uint8_t *p, size_t lane,
				   uint32_t k1, uint32_t k2)
{
	uint64_t a = r, b = 0, c = 0;
	const uint8_t *pb = p + lane, *pc = p + 2 * lane;

	for (size_t i = 0; i < lane; i += 8) {
		a = __builtin_ia32_crc32di(a, load64(p + i));
		b = __builtin_ia32_crc32di(b, load64(pb + i));
		c = __builtin_ia32_crc32di(c, load64(pc + i));
	}
	return clmul_mul((uint32_t)a, k2) ^ clmul_mul((uint32_t)b, k1) ^ (uint32_t)c;
}

static HW_TARGET uint32_t hw_update(uint32_t r, const uint8_t *p, size_t len)
{
	/* lanes of 2^13 and 2^9 bytes: x^(8L) = x^(2^16), x^(2^12); x^(16L) next */
	for (; len >= 3 * LANE_BIG; p += 3 * LANE_BIG, len -= 3 * LANE_BIG)
		r = hw_3lane(r, p, LANE_BIG, x2k_m33[16], x2k_m33[17]);
	for (; len >= 3 * LANE_SMALL; p += 3 * LANE_SMALL, len -= 3 * LANE_SMALL)
		r = hw_3lane(r, p, LANE_SMALL, x2k_m33[12], x2k_m33[13]);
	return hw_1lane(r, p, len);
}

int crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (crc32c_hw_available())
		return ~hw_update(~crc, buf, len);
	return crc32c_sw(crc, buf, len);
}

/* @r times x^(8 len), in the raw register domain. */
static uint32_t shift_bytes(uint32_t r, uint64_t len)
{
	if (crc32c_hw_available())
		return clmul_mul(r, hw_x8n_m33(len));
	return gf_mul(x8n(len), r);
}
#else
int crc32c_hw_available(void)
{
	return 0;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}

static uint32_t shift_bytes(uint32_t r, uint64_t len)
{
	return gf_mul(x8n(len), r);
}
#endif

uint32_t crc32c_zeros(uint32_t crc, uint64_t len)
{
	return len ? ~shift_bytes(~crc, len) : crc;
}

uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
	return shift_bytes(crc1, len2) ^ crc2;
}
