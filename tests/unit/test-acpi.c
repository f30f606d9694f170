// SPDX-License-Identifier: GPL-2.0-only
/* test-acpi: the ACPI tables — checksums, links, MADT contents, FADT blocks. */
#include "vmm/acpi.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define BASE ACPI_RSDP_GPA
static uint8_t buf[0x10000];

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, uint64_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = buf + (gpa - BASE);

	CHECK(gpa >= BASE && gpa < BASE + sizeof(buf));
	CHECK(!memcmp(t, sig, 4));
	CHECK_EQ_INT(sum(t, get32(t + 4)), 0);
	return t;
}

static void check_madt(const uint8_t *m, int ncpus)
{
	int lapics = 0, ioapics = 0, isos = 0;

	for (uint32_t off = 44; off < get32(m + 4); off += m[off + 1]) {
		CHECK(m[off + 1] >= 2);
		if (m[off] == 0) {
			CHECK_EQ_INT(m[off + 3], lapics);     /* APIC ids 0..n-1 in order */
			CHECK_EQ_INT(get32(m + off + 4) & 1, 1);
			lapics++;
		}
		ioapics += m[off] == 1;
		isos += m[off] == 2;
		if (m[off + 1] < 2)
			break;
	}
	CHECK_EQ_INT(lapics, ncpus);
	CHECK_EQ_INT(ioapics, 1);
	CHECK_EQ_INT(isos, 2);
}

static void check(int ncpus)
{
	const uint8_t *rsdp = buf, *xsdt, *fadt;
	int n = acpi_build(buf, BASE, sizeof(buf), ncpus);

	CHECK(n > 0);
	CHECK(!memcmp(rsdp, "RSD PTR ", 8));
	CHECK_EQ_INT(sum(rsdp, 20), 0);
	CHECK_EQ_INT(sum(rsdp, 36), 0);
	xsdt = table(get64(rsdp + 24), "XSDT");
	fadt = table(get64(xsdt + 36), "FACP");
	check_madt(table(get64(xsdt + 44), "APIC"), ncpus);
	table(get64(fadt + 140), "DSDT");
	CHECK_EQ_INT(get32(fadt + 56), 0x600);           /* PM1a_EVT_BLK */
	CHECK_EQ_INT(get32(fadt + 64), 0x604);           /* PM1a_CNT_BLK */
	CHECK_EQ_INT(fadt[46], 9);                       /* SCI */
	CHECK_EQ_U64(get64(fadt + 172 + 4), 0x604);      /* X_PM1a_CNT_BLK */
}

int main(void)
{
	check(1);
	check(2);
	check(64);
	check(255);
	CHECK(acpi_build(buf, BASE, 64, 4) < 0);         /* no room: refused */
	CHECK(acpi_build(buf, BASE, sizeof(buf), 0) < 0);
	return UNIT_DONE();
}
