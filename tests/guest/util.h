/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h: the little of a C library the test guest needs — the four memory
 * functions GCC may call on its own in freestanding code, string helpers,
 * decimal parsing and a printf-style formatter that emits through a
 * callback (the serial port in uart.c).
 *
 * Formats: %c %s %d %u %x with optional l/ll, a 0 flag and a width, and %%.
 * Nothing else (no floats, no precision, no %p); uart.c's print() checks
 * calls with the printf format attribute, so stay within this subset.
 */
#ifndef PGR_GUEST_UTIL_H
#define PGR_GUEST_UTIL_H

#include "guest.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* True when @s starts with @prefix. */
bool str_starts(const char *s, const char *prefix);
/* Parse a decimal number filling all of [s, s+len); 0 on success, -1 if not. */
int parse_u64(const char *s, size_t len, u64 *out);

typedef void (*fmt_put_fn)(void *ctx, char c);
void vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

static inline u64 align_up(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline u64 align_down(u64 v, u64 a)
{
	return v & ~(a - 1);
}

static inline u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

static inline u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

/* A bijective 64-bit mix: the seed of every test pattern (work.c, vblk.c). */
static inline u64 mix64(u64 x)
{
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9UL;
	x ^= x >> 29;
	x *= 0x94d049bb133111ebUL;
	x ^= x >> 32;
	return x;
}

/* Little-endian reads at any alignment, for firmware tables. The empty asm
 * hides the constant address from GCC, which takes small ones for NULL. */
static inline u32 rd8(u64 addr)
{
	__asm__("" : "+r"(addr));
	return *(const volatile u8 *)addr;
}

static inline u32 rd16(u64 addr)
{
	return rd8(addr) | rd8(addr + 1) << 8;
}

static inline u32 rd32(u64 addr)
{
	return rd16(addr) | rd16(addr + 2) << 16;
}

static inline u64 rd64(u64 addr)
{
	return rd32(addr) | (u64)rd32(addr + 4) << 32;
}

#endif /* PGR_GUEST_UTIL_H */
