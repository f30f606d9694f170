/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvh: the Xen PVH direct-boot ABI as a guest sees it — the ELF note that
 * names the 32-bit entry point, and the start-of-day structure whose address
 * is in %ebx at that entry (Xen's public arch-x86/hvm/start_info.h and
 * docs/misc/pvh.pandoc). Little-endian, packed, version 1 (with a memory map).
 * Nothing at guest-physical 0 is ever meant: a zero address means "absent".
 *
 * Only the layout lives here; vmm/boot-pvh.c fills it, tests/guest reads it.
 */
#ifndef PGR_PROTO_PVH_H
#define PGR_PROTO_PVH_H

#include <stdint.h>

/* ELF note: name "Xen", type 18, desc = 32-bit physical entry address
 * (4 bytes, or 8 when written with a 64-bit .quad as Linux does). */
#define PVH_NOTE_NAME              "Xen"
#define XEN_ELFNOTE_PHYS32_ENTRY   18

#define PVH_START_MAGIC            0x336ec578u  /* "xEn3" with 0x80 set on 'E' */
#define PVH_START_VERSION          1

/* hvm_memmap_table_entry.type: the e820 types */
#define PVH_MEMMAP_RAM             1
#define PVH_MEMMAP_RESERVED        2
#define PVH_MEMMAP_ACPI            3
#define PVH_MEMMAP_NVS             4
#define PVH_MEMMAP_UNUSABLE        5
#define PVH_MEMMAP_DISABLED        6
#define PVH_MEMMAP_PMEM            7

struct pvh_start_info {
	uint32_t magic;            /*  0: PVH_START_MAGIC */
	uint32_t version;          /*  4: 1 = has memmap_paddr/memmap_entries */
	uint32_t flags;            /*  8: SIF_* (none used by us: 0) */
	uint32_t nr_modules;       /* 12: entries at modlist_paddr */
	uint64_t modlist_paddr;    /* 16: array of struct pvh_modlist_entry */
	uint64_t cmdline_paddr;    /* 24: NUL-terminated ASCII, 0 = none */
	uint64_t rsdp_paddr;       /* 32: ACPI RSDP (vmm/acpi.c), 0 = none */
	uint64_t memmap_paddr;     /* 40: array of struct pvh_memmap_entry (v1) */
	uint32_t memmap_entries;   /* 48: how many (v1) */
	uint32_t reserved;         /* 52: must be 0 */
} __attribute__((packed));     /* 56 bytes */

struct pvh_modlist_entry {
	uint64_t paddr;            /*  0: module (initrd) start */
	uint64_t size;             /*  8: bytes */
	uint64_t cmdline_paddr;    /* 16: module's own command line, 0 = none */
	uint64_t reserved;         /* 24: must be 0 */
} __attribute__((packed));     /* 32 bytes */

struct pvh_memmap_entry {
	uint64_t addr;             /*  0 */
	uint64_t size;             /*  8 */
	uint32_t type;             /* 16: PVH_MEMMAP_* */
	uint32_t reserved;         /* 20: must be 0 */
} __attribute__((packed));     /* 24 bytes */

#endif
