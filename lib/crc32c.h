/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crc32c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every migration stream section. Uses the SSE4.2 crc32
 * instruction when the CPU has it (three interleaved lanes, combined), a
 * table otherwise. crc32c_zeros() extends a CRC over n zero bytes in
 * O(log n), so skipped holes cost nothing to checksum.
 *
 * Conventions: the CRC value passed in and returned is the finished CRC
 * (pre- and post-inverted), so crc32c(0, "123456789", 9) == 0xE3069283 and
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a||b, na + nb).
 * No state, no globals beyond constant tables; safe from any thread.
 * Its user is lib/stream.c (running CRC); migration/format.c uses it too.
 */
#ifndef PGR_CRC32C_H
#define PGR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend @crc (0 to start) over @len bytes at @buf. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* Extend @crc over @len zero bytes without touching memory. */
uint32_t crc32c_zeros(uint32_t crc, uint64_t len);
/* CRC of A||B from crc(A) = @crc1, crc(B) = @crc2 and len(B) = @len2. */
uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);
/* The portable table version, whatever the CPU (for tests and benchmarks). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* 1 when crc32c() uses the SSE4.2 instruction. */
int crc32c_hw_available(void);

#endif
