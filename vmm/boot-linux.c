// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot-linux: loads an x86-64 bzImage through the 64-bit boot protocol
 * (Linux Documentation/arch/x86/boot.rst): the protected-mode part goes to
 * pref_address (or 1 MiB), the "zero page" (boot_params) gets the image's
 * setup header plus what a loader fills in (command line, initrd, e820), and
 * identity page tables for 0-4 GiB let the vCPU start in long mode at
 * load address + 0x200. The file is untrusted: sizes are checked first.
 *
 * It does not run the real-mode setup code, use the EFI handover entry or
 * boot 32-bit kernels (protocol 2.12 with XLF_KERNEL_64 is required).
 * Register state: boot.c. Memory plan: boot.h, docs/boot.md.
 */
#include "vmm/boot.h"

#include "vmm/acpi.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#define SETUP_HDR_OFF      0x1f1
#define SETUP_HDR_MIN_END  0x268       /* protocol 2.12 ends before kernel_info_offset */
#define BOOT_PROTO_MIN     0x020c
#define LOADER_TYPE_UNDEF  0xff
#define HEAP_END_PTR       0xfe00
#define ENTRY_64_OFFSET    0x200
#define INITRD_MAX_DEFAULT 0x37ffffffULL  /* before protocol 2.03 */

#define PTE_P   0x1ULL
#define PTE_RW  0x2ULL
#define PTE_PS  0x80ULL
#define PT_PAGES ((BOOT_PGTABLE_END - BOOT_PGTABLE_GPA) / GM_PAGE_SIZE)

struct linux_image {
	struct setup_header hdr;
	const uint8_t *payload;    /* the protected-mode kernel */
	uint64_t payload_size;
	uint64_t load;             /* where it goes */
	uint64_t end;              /* end of what it will use (init_size) */
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static int linux_truncated(struct boot_ctx *c, const char *what)
{
	return boot_fail(c, -ENOEXEC, "kernel %s: truncated (%s beyond the end of the file)",
			 c->kernel.path, what);
}

/* The setup header from the image: from 0x1f1 to 0x202 + byte at 0x201. */
static int linux_read_header(struct boot_ctx *c, struct linux_image *li)
{
	const struct boot_file *f = &c->kernel;
	size_t end = 0x202 + (size_t)f->data[0x201];

	if (end > SETUP_HDR_OFF + sizeof(li->hdr))
		end = SETUP_HDR_OFF + sizeof(li->hdr);
	if (end > f->size)
		return linux_truncated(c, "setup header");
	memset(&li->hdr, 0, sizeof(li->hdr));
	memcpy(&li->hdr, f->data + SETUP_HDR_OFF, end - SETUP_HDR_OFF);
	if (li->hdr.version < BOOT_PROTO_MIN)
		return boot_fail(c, -ENOEXEC, "kernel %s: boot protocol %u.%02u is too old; "
				 "need 2.12 or later with a 64-bit entry (Linux 3.8+)",
				 f->path, li->hdr.version >> 8, li->hdr.version & 0xff);
	if (end < SETUP_HDR_MIN_END)
		return linux_truncated(c, "setup header");
	if (!(li->hdr.xloadflags & XLF_KERNEL_64))
		return boot_fail(c, -ENOEXEC, "kernel %s: bzImage has no 64-bit entry point "
				 "(XLF_KERNEL_64); only x86-64 kernels boot here", f->path);
	return 0;
}

static int linux_find_payload(struct boot_ctx *c, struct linux_image *li)
{
	const struct boot_file *f = &c->kernel;
	uint64_t setup_sects = li->hdr.setup_sects ? li->hdr.setup_sects : 4;
	uint64_t setup_size = (setup_sects + 1) * 512;

	if (setup_size >= f->size)
		return linux_truncated(c, "protected-mode kernel");
	li->payload = f->data + setup_size;
	li->payload_size = f->size - setup_size;
	if ((uint64_t)li->hdr.syssize * 16 > li->payload_size)
		return boot_fail(c, -ENOEXEC, "kernel %s: truncated (its header says %llu bytes "
				 "of protected-mode kernel, the file has %llu)", f->path,
				 (unsigned long long)li->hdr.syssize * 16,
				 (unsigned long long)li->payload_size);
	return 0;
}

/* pref_address when the kernel is relocatable and it fits, else 1 MiB; the
 * kernel then runs at max(its load address aligned, pref_address). */
static int linux_place_kernel(struct boot_ctx *c, struct linux_image *li)
{
	const struct setup_header *h = &li->hdr;
	uint64_t align = h->kernel_alignment, pref = h->pref_address;
	uint64_t need = max_u64(h->init_size, li->payload_size), run;

	if (!align || (align & (align - 1)))
		align = 1;
	li->load = BOOT_HIGH_GPA;
	if (h->relocatable_kernel && pref >= BOOT_HIGH_GPA && !(pref & (align - 1)) &&
	    pref < c->low_top && need <= c->low_top - pref)
		li->load = pref;
	run = (li->load + align - 1) & ~(align - 1);
	if (run < pref && pref < GM_PCI_HOLE_START)
		run = pref;
	li->end = max_u64(li->load + li->payload_size, run + h->init_size);
	if (li->end > c->low_top)
		return boot_fail(c, -ENOMEM, "kernel %s: needs memory up to 0x%llx (%llu MiB) "
				 "to decompress and run; give the guest more memory",
				 c->kernel.path, (unsigned long long)li->end,
				 (unsigned long long)(li->end >> 20));
	return gm_write(c->gm, li->load, li->payload, li->payload_size);
}

static int linux_write_pagetables(struct boot_ctx *c)
{
	uint64_t *pt = gm_ptr(c->gm, BOOT_PGTABLE_GPA, BOOT_PGTABLE_END - BOOT_PGTABLE_GPA);
	uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;

	_Static_assert(PT_PAGES == 6, "PML4, PDPT and 4 PDs for 4 GiB of 2 MiB pages");
	if (!pt)
		return -EFAULT;
	memset(pt, 0, PT_PAGES * GM_PAGE_SIZE);
	pml4[0] = (BOOT_PGTABLE_GPA + GM_PAGE_SIZE) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PGTABLE_GPA + (2 + i) * GM_PAGE_SIZE) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	gm_mark_dirty(c->gm, BOOT_PGTABLE_GPA, PT_PAGES * GM_PAGE_SIZE);
	return 0;
}

static int linux_write_boot_params(struct boot_ctx *c, const struct linux_image *li,
				   uint64_t initrd_gpa)
{
	struct boot_params bp;

	_Static_assert(sizeof(bp) == 4096, "the zero page is one page");
	_Static_assert(BOOT_E820_MAX <= E820_MAX_ENTRIES_ZEROPAGE, "e820 fits the zero page");
	memset(&bp, 0, sizeof(bp));
	bp.hdr = li->hdr;
	bp.hdr.type_of_loader = LOADER_TYPE_UNDEF;
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = HEAP_END_PTR;
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	bp.acpi_rsdp_addr = ACPI_RSDP_GPA;     /* boot protocol 2.14; older kernels scan 0xE0000 */
	if (c->initrd.data) {
		bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
		bp.hdr.ramdisk_size = (uint32_t)c->initrd.size;
	}
	bp.e820_entries = (uint8_t)c->ne820;
	for (int i = 0; i < c->ne820; i++)
		bp.e820_table[i] = (struct boot_e820_entry){ .addr = c->e820[i].addr,
			.size = c->e820[i].size, .type = c->e820[i].type };
	return gm_write(c->gm, BOOT_INFO_GPA, &bp, sizeof(bp));
}

static int linux_place_initrd(struct boot_ctx *c, const struct linux_image *li,
			      uint64_t *gpa)
{
	uint64_t max = li->hdr.initrd_addr_max ? li->hdr.initrd_addr_max : INITRD_MAX_DEFAULT;

	if (c->initrd.size > UINT32_MAX)
		return boot_fail(c, -EFBIG, "initrd %s: larger than 4 GiB", c->initrd.path);
	return boot_place_initrd(c, li->end, max + 1, gpa);
}

int boot_load_linux(struct boot_ctx *c, struct boot_result *out)
{
	struct linux_image li = { 0 };
	uint64_t initrd_gpa = 0;
	int err;

	err = linux_read_header(c, &li);
	if (!err)
		err = linux_find_payload(c, &li);
	if (!err)
		err = boot_write_cmdline(c, li.hdr.cmdline_size, "the kernel's cmdline_size");
	if (!err)
		err = linux_place_kernel(c, &li);
	if (!err && c->initrd.data)
		err = linux_place_initrd(c, &li, &initrd_gpa);
	if (!err)
		err = linux_write_pagetables(c);
	if (!err)
		err = linux_write_boot_params(c, &li, initrd_gpa);
	if (err)
		return err;
	*out = (struct boot_result){
		.kind = BOOT_LINUX64, .entry = li.load + ENTRY_64_OFFSET,
		.info_gpa = BOOT_INFO_GPA, .cr3 = BOOT_PGTABLE_GPA, .kernel_end = li.end,
	};
	return 0;
}
