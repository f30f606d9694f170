/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi: the few ACPI tables a stock Linux kernel needs to find its CPUs,
 * the IOAPIC and the power-off path: RSDP, XSDT, FADT (PM1a event block
 * at 0x600, control at 0x604, SCI on IRQ 9: devices/pm.c), a DSDT with
 * only \_S5 (so "poweroff" works), and a MADT (one LAPIC per vCPU, the
 * IOAPIC, IRQ0 -> GSI 2 and SCI overrides, LINT1 NMI). Distribution
 * kernels are built without MP-table parsing (CONFIG_X86_MPPARSE off), so
 * without a MADT they run on one CPU with no IOAPIC. No AML devices: PCI
 * is found through conf1 probing. Pure: writes into guest memory only.
 */
#ifndef PGR_VMM_ACPI_H
#define PGR_VMM_ACPI_H

#include <stdint.h>

struct guest_mem;

#define ACPI_RSDP_GPA 0xE0000ULL   /* in the BIOS area reserved by e820 */
#define ACPI_AREA_END 0xF0000ULL   /* the MP configuration table follows */

/* Build the tables for @ncpus; 0 or -errno. */
int acpi_write(struct guest_mem *gm, int ncpus);
/* Build into @buf (tests): bytes used, or -ENOSPC. */
int acpi_build(uint8_t *buf, uint64_t buf_gpa, uint64_t len, int ncpus);

#endif
