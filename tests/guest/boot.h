/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * boot.h: the supervisor-mode part of the test guest and what it leaves
 * behind for the user-mode part — the copied PVH start info (memory map,
 * command line, RSDP), the per-CPU TSS install used for every CPU, and the
 * hand-off block an AP's 64-bit entry reads (struct ap_boot).
 *
 * Supervisor mode is emulated ~1000x slower on PVM, so boot.c does only what
 * needs CPL 0; everything else (serial banner, timer calibration, finding and
 * starting the APs) runs at CPL 3 with IOPL=3, see main.c and smp.c.
 */
#ifndef PGR_BOOT_H
#define PGR_BOOT_H

#include "guest.h"

#define PVH_MAGIC	0x336ec578
#define MAX_MMAP	64
#define CMDLINE_MAX	1024
#define E820_RAM	1
#define E820_ACPI	3
#define E820_NVS	4
#define MAX_RAM		(64 * GIB)	/* what the page tables can map */
#define LOW_4G		(4 * GIB)	/* entry.S maps all of it */

struct mmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

/* What boot_main copied out of the PVH start info before anything else. */
struct boot_info {
	u32 version;
	u32 nmap;
	u64 rsdp;
	struct mmap_entry map[MAX_MMAP];
	char cmdline[CMDLINE_MAX];
};

/* Read by entry.S (ap_entry64) when an AP reaches long mode; offsets fixed. */
struct ap_boot {
	u64 kernel_rsp;		/* 0: top of its supervisor stack */
	u64 user_rsp;		/* 8: its user stack, ready for a C entry */
	u64 cpu;		/* 16: its index, the user entry's argument */
	u64 tr;			/* 24: its TSS selector */
};

extern struct boot_info boot_info;
extern struct ap_boot ap_boot;
extern u64 boot_tsc;		/* TSC at the PVH entry point */
extern u8 kstacks[MAX_CPUS][KSTACK_SIZE];
extern u8 ustacks[MAX_CPUS][USTACK_SIZE];

/* Memory-map types the page tables map (RAM, ACPI tables, ACPI NVS). */
static inline bool e820_is_mapped(u32 type)
{
	return type == E820_RAM || type == E820_ACPI || type == E820_NVS;
}

/* C entry on the BSP from entry.S, CPL 0; ends by dropping to user mode. */
__noreturn void boot_main(u32 start_info_pa);
/* Write CPU @cpu's TSS (stack for faults) and its GDT descriptor (any CPL). */
void tss_install(u32 cpu, u64 rsp0);
/* From the fault stubs, CPL 0: print one FAULT line and halt this CPU. */
__noreturn void fault_report(u64 vec, u64 err, u64 rip, u64 cr2, u64 cs,
			     u64 rflags);

/* entry.S */
__noreturn void enter_user(u64 rip, u64 rsp, u64 arg);
extern u64 fault_stubs[NR_FAULT_VECTORS];

#endif /* PGR_BOOT_H */
