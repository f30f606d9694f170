/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * boot: puts a guest kernel into guest RAM and says how to enter it — no
 * firmware. Two formats: an ELF with a Xen PVH entry note (an uncompressed
 * vmlinux built with CONFIG_PVH, or our test guest; entered in 32-bit
 * protected mode with %ebx = hvm_start_info) and an x86-64 bzImage (entered
 * through the 64-bit boot protocol with %rsi = boot_params). Both get the
 * same e820 map (e820.c) and MP table (mptable.c).
 *
 * It does not touch KVM: boot_load() writes guest memory, boot_setup_regs()
 * edits register structs the caller reads from and writes back to KVM.
 * The low-memory plan below is fixed; docs/boot.md explains it.
 * Files: boot.c (common, registers), boot-pvh.c, boot-linux.c.
 */
#ifndef PGR_VMM_BOOT_H
#define PGR_VMM_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/e820.h"
#include "vmm/memory.h"

/* ---- the low-memory plan (guest-physical) ---------------------------------- */
#define BOOT_GDT_GPA        0x500ULL    /* null, code32 0x08, code64 0x10, data 0x18, tss 0x20 */
#define BOOT_TSS_GPA        0x600ULL    /* a zeroed 104-byte TSS, only so TR is usable */
#define BOOT_INFO_GPA       0x7000ULL   /* boot_params, or hvm_start_info + modlist + memmap */
#define BOOT_PGTABLE_GPA    0x9000ULL   /* PML4, PDPT, 4 PDs: 0x9000-0xEFFF */
#define BOOT_PGTABLE_END    0xF000ULL
#define BOOT_CMDLINE_GPA    0x20000ULL
#define BOOT_CMDLINE_MAX    0x10000ULL  /* bytes, including the NUL */
#define BOOT_LOW_USED_END   (BOOT_CMDLINE_GPA + BOOT_CMDLINE_MAX)
#define BOOT_EBDA_GPA       0x9FC00ULL  /* reserved from here to 1 MiB; MP floating pointer */
#define BOOT_HIGH_GPA       0x100000ULL /* RAM for kernels starts at 1 MiB */

#define BOOT_SEL_CODE32     0x08
#define BOOT_SEL_CODE64     0x10        /* the 64-bit protocol's __BOOT_CS */
#define BOOT_SEL_DATA       0x18        /* ... and __BOOT_DS */
#define BOOT_SEL_TSS        0x20
#define BOOT_GDT_ENTRIES    6           /* the TSS descriptor takes two in long mode */

enum boot_kind { BOOT_PVH, BOOT_LINUX64 };

struct boot_spec {
	const char *kernel, *initrd, *cmdline;
	int ncpus;
};

struct boot_result {
	enum boot_kind kind;
	uint64_t entry;        /* guest-physical entry point */
	uint64_t info_gpa;     /* hvm_start_info (PVH, passed in %ebx) or boot_params (Linux, in %rsi) */
	uint64_t cr3;          /* Linux64: identity page tables the monitor built */
	uint64_t kernel_end;   /* first byte after what was loaded */
};

/* Load kernel (+initrd, cmdline), write start_info/boot_params, e820, MP table.
 * 0, or a negative errno with *err (set to NULL first) a malloc'd one-line
 * message for a user naming the file and what is wrong with it. */
int boot_load(struct guest_mem *gm, const struct boot_spec *spec,
	      struct boot_result *out, char **err);

/* Set the boot vCPU's registers for the entry (pure: edits structs that the
 * caller got from KVM_GET_REGS/KVM_GET_SREGS and will set back). */
void boot_setup_regs(const struct boot_result *br, struct kvm_regs *regs,
		     struct kvm_sregs *sregs);

/* ---- between boot.c, boot-pvh.c and boot-linux.c only ---------------------- */
#define BOOT_E820_MAX 16

struct boot_file {
	const char *path;
	const uint8_t *data;   /* read-only mapping of the whole file */
	size_t size;
};

struct boot_ctx {
	struct guest_mem *gm;
	const struct boot_spec *spec;
	struct boot_file kernel;
	struct boot_file initrd;  /* data NULL when there is none */
	const char *cmdline;      /* never NULL */
	size_t cmdline_len;       /* without the NUL */
	uint64_t low_top;         /* end of RAM below 4 GiB */
	struct e820_entry e820[BOOT_E820_MAX];
	int ne820;
	char **err;
};

/* Set *c->err to "fmt..." and return @ret (a negative errno). */
int boot_fail(struct boot_ctx *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Does [gpa, gpa+len) hit the part of the first MiB the monitor uses? */
int boot_hits_low_area(uint64_t gpa, uint64_t len);
/* Copy the initrd as high as fits in [floor, ceiling), page aligned. */
int boot_place_initrd(struct boot_ctx *c, uint64_t floor, uint64_t ceiling,
		      uint64_t *gpa);
/* Write the command line at BOOT_CMDLINE_GPA; refuse one longer than @max. */
int boot_write_cmdline(struct boot_ctx *c, size_t max, const char *limit_what);

int boot_load_pvh(struct boot_ctx *c, struct boot_result *out);
int boot_load_linux(struct boot_ctx *c, struct boot_result *out);

#endif
