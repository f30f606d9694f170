/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unit.h: the few checks every unit test uses. A failed check prints its
 * file, line and expression and counts; UNIT_DONE() prints the summary and
 * returns the exit status (0 when nothing failed).
 */
#ifndef PGR_UNIT_H
#define PGR_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failed, unit_checks;

#define CHECK(cond) do { unit_checks++; if (!(cond)) { unit_failed++; \
	fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ_U64(a, b) do { uint64_t _a = (a), _b = (b); unit_checks++; \
	if (_a != _b) { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s == %s (0x%" PRIx64 " != 0x%" PRIx64 ")\n", \
	__FILE__, __LINE__, #a, #b, _a, _b); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long _a = (a), _b = (b); unit_checks++; \
	if (_a != _b) { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s == %s (%lld != %lld)\n", \
	__FILE__, __LINE__, #a, #b, _a, _b); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); unit_checks++; \
	if (!_a || !_b || strcmp(_a, _b)) { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s == %s (\"%s\" != \"%s\")\n", \
	__FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } } while (0)
#define CHECK_CONTAINS(hay, needle) do { const char *_h = (hay); unit_checks++; \
	if (!_h || !strstr(_h, (needle))) { unit_failed++; fprintf(stderr, "%s:%d: FAIL: \"%s\" contains \"%s\"\n", \
	__FILE__, __LINE__, _h ? _h : "(null)", (needle)); } } while (0)
#define UNIT_DONE() (printf("%s: %d checks, %d failed\n", __FILE__, unit_checks, unit_failed), unit_failed ? 1 : 0)

#endif
