/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mptable: the Intel MultiProcessor Specification 1.4 tables that tell a
 * guest without ACPI how many CPUs it has and how ISA interrupts reach the
 * IOAPIC: a floating pointer in the last KiB below 640 KiB, and the
 * configuration table (processors, ISA bus, IOAPIC, interrupt routing) in
 * the reserved BIOS area at 0xF0000, where 64 CPUs have room (1.5 KiB would
 * not fit beside the pointer in that last KiB).
 *
 * It does not describe PCI buses or PCI INTx routing (PCI devices are found
 * through conf1 and interrupt through MSI-X) and writes no ACPI.
 * Caller: boot.c. The layouts below are the spec's, packed, little-endian.
 */
#ifndef PGR_VMM_MPTABLE_H
#define PGR_VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

#define MPTABLE_FPS_GPA      0x9FC00ULL   /* floating pointer structure */
#define MPTABLE_CFG_GPA      0xF0000ULL   /* configuration table */
#define MPTABLE_CFG_MAX      0x10000ULL   /* room up to 1 MiB */
#define MPTABLE_MAX_CPUS     64
#define MPTABLE_LAPIC_ADDR   0xFEE00000u
#define MPTABLE_IOAPIC_ADDR  0xFEC00000u
#define MPTABLE_ISA_BUS      0

enum mp_entry_type {
	MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINTR = 3, MP_LINTR = 4,
};
enum mp_irq_type { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };

#define MP_CPU_ENABLED       0x01
#define MP_CPU_BSP           0x02
#define MP_IOAPIC_ENABLED    0x01

struct mp_floating {          /* 16 bytes, on a 16-byte boundary */
	char signature[4];     /* "_MP_" */
	uint32_t config_paddr; /* configuration table */
	uint8_t length;        /* in 16-byte units: 1 */
	uint8_t spec_rev;      /* 4 = 1.4 */
	uint8_t checksum;      /* all 16 bytes sum to 0 */
	uint8_t feature[5];    /* [0] = 0: a config table is present; [1] bit 7 = 0: no IMCR */
} __attribute__((packed));

struct mp_config {            /* 44-byte header, entries follow */
	char signature[4];     /* "PCMP" */
	uint16_t length;       /* header + base entries */
	uint8_t spec_rev;      /* 4 */
	uint8_t checksum;      /* header + entries sum to 0 */
	char oem[8];
	char product[12];
	uint32_t oem_table;    /* 0 */
	uint16_t oem_size;     /* 0 */
	uint16_t count;        /* number of entries */
	uint32_t lapic_addr;
	uint16_t ext_length;   /* 0: no extended entries */
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {         /* 20 bytes */
	uint8_t type;          /* MP_PROCESSOR */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;         /* MP_CPU_ENABLED | MP_CPU_BSP */
	uint32_t signature;    /* CPUID.1 EAX family/model/stepping */
	uint32_t features;     /* CPUID.1 EDX */
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {               /* 8 bytes */
	uint8_t type;          /* MP_BUS */
	uint8_t bus_id;
	char bus_type[6];      /* "ISA   " */
} __attribute__((packed));

struct mp_ioapic {            /* 8 bytes */
	uint8_t type;          /* MP_IOAPIC */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;         /* MP_IOAPIC_ENABLED */
	uint32_t addr;
} __attribute__((packed));

struct mp_intr {              /* 8 bytes: I/O (MP_IOINTR) and local (MP_LINTR) */
	uint8_t type;
	uint8_t irq_type;      /* enum mp_irq_type */
	uint16_t flags;        /* polarity/trigger: 0 = conforms to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;      /* IOAPIC id, or 0xFF = every local APIC */
	uint8_t dst_pin;       /* IOAPIC INTIN#, or LINTIN# */
} __attribute__((packed));

/* Bytes of the configuration table for @ncpus. */
size_t mptable_cfg_size(int ncpus);
/* Build both structures into host buffers (pure, for tests): @cfg has room for
 * mptable_cfg_size(ncpus) bytes and will live at guest address @cfg_gpa.
 * 0 or -EINVAL (ncpus outside 1..MPTABLE_MAX_CPUS). */
int mptable_build(int ncpus, uint32_t cfg_gpa, struct mp_floating *fps, void *cfg);
/* Build and write them at MPTABLE_FPS_GPA / MPTABLE_CFG_GPA. 0, -EINVAL, -EFAULT. */
int mptable_write(struct guest_mem *gm, int ncpus);

#endif
