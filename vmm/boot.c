// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot: what both boot formats share — mapping the kernel and initrd files,
 * telling the formats apart, the GDT/TSS, command line, e820 map and MP
 * table in low memory, placing the initrd, and the boot vCPU's registers.
 * The format-specific halves are boot-pvh.c (ELF + PVH note) and
 * boot-linux.c (bzImage, 64-bit boot protocol). The plan of the first MiB
 * is in boot.h and docs/boot.md. Nothing here talks to KVM.
 */
#include "vmm/boot.h"

#include "vmm/acpi.h"

#define LOG_SUBSYS "boot"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/mptable.h"

#define X86_CR0_PE    (1ULL << 0)
#define X86_CR0_ET    (1ULL << 4)
#define X86_CR0_PG    (1ULL << 31)
#define X86_CR4_PAE   (1ULL << 5)
#define X86_EFER_LME  (1ULL << 8)
#define X86_EFER_LMA  (1ULL << 10)
#define X86_RFLAGS_RESERVED 0x2ULL

#define SEG_TYPE_CODE_XR  0xb   /* execute/read, accessed */
#define SEG_TYPE_DATA_RW  0x3   /* read/write, accessed */
#define SEG_TYPE_TSS_BUSY 0xb   /* 32/64-bit busy TSS */
#define TSS_LIMIT         0x67

int boot_fail(struct boot_ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (c->err) {
		free(*c->err);
		*c->err = msg;
	} else {
		free(msg);
	}
	return ret;
}

/* ---- files ------------------------------------------------------------------ */

static int boot_map_file(struct boot_ctx *c, struct boot_file *f, const char *what,
			 const char *path)
{
	struct stat st;
	int fd, err = 0;

	f->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_fail(c, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_size == 0)
		err = -ENODATA;
	if (!err) {
		f->size = (size_t)st.st_size;
		f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->data == MAP_FAILED) {
			err = -errno;
			f->data = NULL;
		}
	}
	close(fd);
	if (err == -EINVAL)
		return boot_fail(c, err, "%s %s: not a regular file", what, path);
	if (err == -ENODATA)
		return boot_fail(c, err, "%s %s: empty file", what, path);
	if (err)
		return boot_fail(c, err, "%s %s: %s", what, path, strerror(-err));
	return 0;
}

static void boot_unmap_file(struct boot_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

/* ---- low memory -------------------------------------------------------------- */

int boot_hits_low_area(uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		return 1;
	return gpa < BOOT_LOW_USED_END || (end > BOOT_EBDA_GPA && gpa < BOOT_HIGH_GPA);
}

/* A flat segment descriptor: base 0, limit 4 GiB, 4 KiB granularity. */
static uint64_t gdt_flat(uint64_t type, int l, int db)
{
	return 0xffffULL | 0xfULL << 48 | type << 40 | 1ULL << 44 /* s */ |
	       1ULL << 47 /* p */ | (uint64_t)l << 53 | (uint64_t)db << 54 | 1ULL << 55 /* g */;
}

static int boot_write_gdt(struct boot_ctx *c)
{
	uint64_t gdt[BOOT_GDT_ENTRIES] = {
		[BOOT_SEL_CODE32 / 8] = gdt_flat(SEG_TYPE_CODE_XR, 0, 1),
		[BOOT_SEL_CODE64 / 8] = gdt_flat(SEG_TYPE_CODE_XR, 1, 0),
		[BOOT_SEL_DATA / 8] = gdt_flat(SEG_TYPE_DATA_RW, 0, 1),
		[BOOT_SEL_TSS / 8] = TSS_LIMIT | (BOOT_TSS_GPA & 0xffffff) << 16 |
				     (uint64_t)SEG_TYPE_TSS_BUSY << 40 | 1ULL << 47,
	};
	uint8_t tss[TSS_LIMIT + 1] = { 0 };
	int err;

	err = gm_write(c->gm, BOOT_GDT_GPA, gdt, sizeof(gdt));
	if (!err)
		err = gm_write(c->gm, BOOT_TSS_GPA, tss, sizeof(tss));
	return err;
}

int boot_write_cmdline(struct boot_ctx *c, size_t max, const char *limit_what)
{
	if (c->cmdline_len > max)
		return boot_fail(c, -E2BIG, "cmdline longer than %zu bytes, %s (it has %zu)",
				 max, limit_what, c->cmdline_len);
	return gm_write(c->gm, BOOT_CMDLINE_GPA, c->cmdline, c->cmdline_len + 1);
}

static int boot_write_common(struct boot_ctx *c)
{
	int err, n;

	n = e820_build(c->gm, c->e820, BOOT_E820_MAX);
	if (n < 0)
		return boot_fail(c, n, "guest memory map: more than %d e820 entries", BOOT_E820_MAX);
	c->ne820 = n;
	err = boot_write_gdt(c);
	if (!err)
		err = mptable_write(c->gm, c->spec->ncpus);
	if (!err)
		err = acpi_write(c->gm, c->spec->ncpus);
	if (err == -EINVAL)
		return boot_fail(c, err, "%d vCPUs: the MP table describes 1 to %d",
				 c->spec->ncpus, MPTABLE_MAX_CPUS);
	if (err)
		return boot_fail(c, err, "writing the boot tables into guest memory: %s",
				 strerror(-err));
	return 0;
}

/* ---- initrd ------------------------------------------------------------------ */

int boot_place_initrd(struct boot_ctx *c, uint64_t floor, uint64_t ceiling, uint64_t *gpa)
{
	uint64_t size = c->initrd.size, at;

	if (ceiling > c->low_top)
		ceiling = c->low_top;
	ceiling &= ~(GM_PAGE_SIZE - 1);
	floor = (floor + GM_PAGE_SIZE - 1) & ~(GM_PAGE_SIZE - 1);
	if (size > ceiling || ceiling - size < floor)
		return boot_fail(c, -ENOSPC, "initrd %s: does not fit below 0x%llx "
				 "(%llu MiB, the kernel ends at 0x%llx); give the guest more memory",
				 c->initrd.path, (unsigned long long)ceiling,
				 (unsigned long long)(size >> 20), (unsigned long long)floor);
	at = (ceiling - size) & ~(GM_PAGE_SIZE - 1);
	*gpa = at;
	return gm_write(c->gm, at, c->initrd.data, size);
}

/* ---- the entry point ----------------------------------------------------------- */

static int boot_detect(struct boot_ctx *c, struct boot_result *out)
{
	const uint8_t *d = c->kernel.data;
	size_t n = c->kernel.size;

	if (n >= 4 && !memcmp(d, "\177ELF", 4))
		return boot_load_pvh(c, out);
	if (n >= 0x206 && !memcmp(d + 0x202, "HdrS", 4))
		return boot_load_linux(c, out);
	return boot_fail(c, -ENOEXEC, "kernel %s: not an ELF or bzImage", c->kernel.path);
}

static int boot_prepare(struct boot_ctx *c)
{
	const struct gm_region *r = &c->gm->regions[0];

	if (!c->spec->kernel)
		return boot_fail(c, -EINVAL, "no kernel given");
	if (c->gm->nr_regions < 1 || r->gpa != 0 || r->size <= 2 * BOOT_HIGH_GPA)
		return boot_fail(c, -ENOMEM, "guest memory: need more than 2 MiB from address 0");
	c->low_top = r->size;
	c->cmdline = c->spec->cmdline ? c->spec->cmdline : "";
	c->cmdline_len = strlen(c->cmdline);
	if (c->cmdline_len >= BOOT_CMDLINE_MAX)
		return boot_fail(c, -E2BIG, "cmdline longer than %llu bytes",
				 BOOT_CMDLINE_MAX - 1);
	return 0;
}

int boot_load(struct guest_mem *gm, const struct boot_spec *spec,
	      struct boot_result *out, char **err)
{
	struct boot_ctx c = { .gm = gm, .spec = spec, .err = err };
	int ret;

	if (err)
		*err = NULL;
	memset(out, 0, sizeof(*out));
	ret = boot_prepare(&c);
	if (!ret)
		ret = boot_map_file(&c, &c.kernel, "kernel", spec->kernel);
	if (!ret && spec->initrd)
		ret = boot_map_file(&c, &c.initrd, "initrd", spec->initrd);
	if (!ret)
		ret = boot_write_common(&c);
	if (!ret)
		ret = boot_detect(&c, out);
	boot_unmap_file(&c.initrd);
	boot_unmap_file(&c.kernel);
	if (ret && err && !*err)
		boot_fail(&c, ret, "kernel %s: loading into guest memory: %s",
			  spec->kernel, strerror(-ret));
	if (!ret)
		pr_info("%s: %s kernel, entry 0x%llx, loaded up to 0x%llx",
			spec->kernel, out->kind == BOOT_PVH ? "PVH" : "64-bit Linux",
			(unsigned long long)out->entry, (unsigned long long)out->kernel_end);
	return ret;
}

/* ---- registers ------------------------------------------------------------------- */

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = !l, .s = 1, .l = (uint8_t)l, .g = 1,
	};
}

static void boot_setup_segments(struct kvm_sregs *s, int long_mode)
{
	seg_flat(&s->cs, long_mode ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32, SEG_TYPE_CODE_XR,
		 long_mode);
	seg_flat(&s->ds, BOOT_SEL_DATA, SEG_TYPE_DATA_RW, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->tr = (struct kvm_segment){
		.base = BOOT_TSS_GPA, .limit = TSS_LIMIT, .selector = BOOT_SEL_TSS,
		.type = SEG_TYPE_TSS_BUSY, .present = 1,
	};
	s->ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	s->gdt = (struct kvm_dtable){ .base = BOOT_GDT_GPA, .limit = BOOT_GDT_ENTRIES * 8 - 1 };
	s->idt = (struct kvm_dtable){ .base = 0, .limit = 0 };
}

void boot_setup_regs(const struct boot_result *br, struct kvm_regs *regs,
		     struct kvm_sregs *sregs)
{
	int long_mode = br->kind == BOOT_LINUX64;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = X86_RFLAGS_RESERVED;
	regs->rip = br->entry;
	boot_setup_segments(sregs, long_mode);
	sregs->cr2 = 0;
	if (long_mode) {
		regs->rsi = br->info_gpa;
		sregs->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
		sregs->cr3 = br->cr3;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer |= X86_EFER_LME | X86_EFER_LMA;
	} else {
		regs->rbx = br->info_gpa;
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer &= ~(X86_EFER_LME | X86_EFER_LMA);
	}
}
