// SPDX-License-Identifier: GPL-2.0-only
/*
 * acpi: RSDP, XSDT, FADT, DSDT and MADT laid out back to back from
 * ACPI_RSDP_GPA (see acpi.h). Field offsets follow the ACPI 6.x
 * specification; every table's bytes sum to zero.
 */
#include "vmm/acpi.h"

#include "vmm/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FADT_LEN     276
#define MADT_LAPIC   0
#define MADT_IOAPIC  1
#define MADT_ISO     2
#define MADT_NMI     4
#define IOAPIC_ADDR  0xFEC00000u
#define LAPIC_ADDR   0xFEE00000u
#define PM_BASE      0x600
#define SCI_IRQ      9

struct builder {
	uint8_t *buf;
	uint64_t gpa, len, used;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t checksum(const uint8_t *p, uint64_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* Reserve @len bytes (16-byte aligned); NULL when out of room. */
static uint8_t *take(struct builder *b, uint64_t len, uint64_t *gpa)
{
	uint64_t at = (b->used + 15) & ~15ULL;

	if (at + len > b->len)
		return NULL;
	b->used = at + len;
	*gpa = b->gpa + at;
	memset(b->buf + at, 0, len);
	return b->buf + at;
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "PGR   ", 6);          /* OEM id */
	memcpy(t + 16, "PEREGRIN", 8);        /* OEM table id */
	put32(t + 24, 1);                     /* OEM revision */
	memcpy(t + 28, "PGR ", 4);            /* creator id */
	put32(t + 32, 1);
}

static void seal(uint8_t *t)
{
	uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = checksum(t, len);
}

static int build_dsdt(struct builder *b, uint64_t *gpa)
{
	/* Name (_S5, Package (4) { 5, 5, 0, 0 }): SLP_TYP 5 for PM1a/b. */
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	uint8_t *t = take(b, 36 + sizeof(s5), gpa);

	if (!t)
		return -ENOSPC;
	header(t, "DSDT", 36 + sizeof(s5), 2);
	memcpy(t + 36, s5, sizeof(s5));
	seal(t);
	return 0;
}

/* A Generic Address Structure for a system-I/O register block. */
static void gas_io(uint8_t *p, uint8_t bits, uint16_t port)
{
	p[0] = 1;                             /* system I/O */
	p[1] = bits;
	p[3] = 2;                             /* word accesses: 16-bit registers */
	put64(p + 4, port);
}

static int build_fadt(struct builder *b, uint64_t dsdt, uint64_t *gpa)
{
	uint8_t *t = take(b, FADT_LEN, gpa);

	if (!t)
		return -ENOSPC;
	header(t, "FACP", FADT_LEN, 6);
	put32(t + 40, (uint32_t)dsdt);        /* DSDT */
	put16(t + 46, SCI_IRQ);               /* SCI_INT */
	/* SMI_CMD 0: ACPI is always enabled, no mode switch. */
	put32(t + 56, PM_BASE);               /* PM1a_EVT_BLK */
	put32(t + 64, PM_BASE + 4);           /* PM1a_CNT_BLK */
	t[88] = 4;                            /* PM1_EVT_LEN */
	t[89] = 2;                            /* PM1_CNT_LEN */
	put16(t + 109, 1u << 1);              /* IAPC_BOOT_ARCH: 8042 present */
	/* WBINVD, PROC_C1, SLP_BUTTON (none); PWR_BUTTON clear: a fixed-feature button. */
	put32(t + 112, (1u << 0) | (1u << 2) | (1u << 5));
	t[131] = 5;                           /* FADT minor version */
	put64(t + 140, dsdt);                 /* X_DSDT */
	gas_io(t + 148, 32, PM_BASE);         /* X_PM1a_EVT_BLK */
	gas_io(t + 172, 16, PM_BASE + 4);     /* X_PM1a_CNT_BLK */
	seal(t);
	return 0;
}

static uint8_t *madt_entry(uint8_t *p, uint8_t type, uint8_t len)
{
	p[0] = type;
	p[1] = len;
	return p + len;
}

static int build_madt(struct builder *b, int ncpus, uint64_t *gpa)
{
	uint32_t len = 44 + 8 * ncpus + 12 + 2 * 10 + 6;
	uint8_t *t = take(b, len, gpa), *p;

	if (!t)
		return -ENOSPC;
	header(t, "APIC", len, 4);
	put32(t + 36, LAPIC_ADDR);
	put32(t + 40, 1);                     /* PCAT_COMPAT: 8259s present */
	p = t + 44;
	for (int i = 0; i < ncpus; i++) {
		p[2] = (uint8_t)i;            /* ACPI processor UID */
		p[3] = (uint8_t)i;            /* APIC id */
		put32(p + 4, 1);              /* enabled */
		p = madt_entry(p, MADT_LAPIC, 8);
	}
	p[2] = (uint8_t)ncpus;                /* IOAPIC id, after the CPUs' */
	put32(p + 4, IOAPIC_ADDR);
	p = madt_entry(p, MADT_IOAPIC, 12);
	p[3] = 0;                             /* ISA IRQ0 -> GSI 2, bus defaults */
	put32(p + 4, 2);
	p = madt_entry(p, MADT_ISO, 10);
	p[3] = SCI_IRQ;                       /* SCI: level, active high */
	put32(p + 4, SCI_IRQ);
	put16(p + 8, 0x000d);
	p = madt_entry(p, MADT_ISO, 10);
	p[2] = 0xff;                          /* all processors: NMI on LINT1 */
	p[5] = 1;
	madt_entry(p, MADT_NMI, 6);
	seal(t);
	return 0;
}

static int build_xsdt_rsdp(struct builder *b, uint8_t *rsdp, uint64_t fadt, uint64_t madt)
{
	uint64_t xsdt;
	uint8_t *t = take(b, 36 + 16, &xsdt);

	if (!t)
		return -ENOSPC;
	header(t, "XSDT", 52, 1);
	put64(t + 36, fadt);
	put64(t + 44, madt);
	seal(t);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "PGR   ", 6);
	rsdp[15] = 2;                         /* revision: ACPI 2.0+ */
	put32(rsdp + 20, 36);                 /* length */
	put64(rsdp + 24, xsdt);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	return 0;
}

int acpi_build(uint8_t *buf, uint64_t buf_gpa, uint64_t len, int ncpus)
{
	struct builder b = { .buf = buf, .gpa = buf_gpa, .len = len };
	uint64_t rsdp_gpa, dsdt, fadt, madt;
	uint8_t *rsdp = take(&b, 36, &rsdp_gpa);
	int r;

	if (!rsdp || ncpus < 1 || ncpus > 255)
		return -ENOSPC;
	r = build_dsdt(&b, &dsdt);
	if (!r)
		r = build_fadt(&b, dsdt, &fadt);
	if (!r)
		r = build_madt(&b, ncpus, &madt);
	if (!r)
		r = build_xsdt_rsdp(&b, rsdp, fadt, madt);
	return r < 0 ? r : (int)b.used;
}

int acpi_write(struct guest_mem *gm, int ncpus)
{
	uint64_t len = ACPI_AREA_END - ACPI_RSDP_GPA;
	uint8_t *buf = calloc(1, len);
	int n;

	if (!buf)
		return -ENOMEM;
	n = acpi_build(buf, ACPI_RSDP_GPA, len, ncpus);
	if (n >= 0)
		n = gm_write(gm, ACPI_RSDP_GPA, buf, (uint64_t)n);
	free(buf);
	return n < 0 ? n : 0;
}
