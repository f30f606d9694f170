// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot-pvh: loads an ELF kernel that carries a Xen PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY) — an uncompressed vmlinux built with
 * CONFIG_PVH, or our test guest — and writes the hvm_start_info (version 1,
 * with a memory map and the initrd as module 0) that the entry expects in
 * %ebx. The file is untrusted: every offset and size is checked against the
 * file and guest RAM before anything is copied.
 *
 * It does not relocate, read section headers, or honour other Xen notes; the
 * register state is boot.c's. Layout of start_info: include/proto/pvh.h.
 */
#include "vmm/boot.h"

#include "vmm/acpi.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "proto/pvh.h"

#define PVH_MODLIST_GPA  (BOOT_INFO_GPA + 0x40)
#define PVH_MEMMAP_GPA   (BOOT_INFO_GPA + 0x80)
#define PVH_INFO_SIZE    0x1000

/* A program header, whichever the ELF class. */
struct pvh_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct pvh_elf {
	int is64;
	uint64_t phoff;
	uint16_t phnum, phentsize;
};

static int pvh_truncated(struct boot_ctx *c, const char *what)
{
	return boot_fail(c, -ENOEXEC, "kernel %s: truncated (%s beyond the end of the file)",
			 c->kernel.path, what);
}

/* Is [off, off+len) inside the file? */
static int in_file(const struct boot_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static int pvh_parse_ehdr(struct boot_ctx *c, struct pvh_elf *e)
{
	const struct boot_file *f = &c->kernel;
	Elf64_Ehdr h64;
	Elf32_Ehdr h32;
	uint16_t machine;

	if (f->size < EI_NIDENT)
		return pvh_truncated(c, "ELF header");
	if (f->data[EI_CLASS] != ELFCLASS64 && f->data[EI_CLASS] != ELFCLASS32)
		return boot_fail(c, -ENOEXEC, "kernel %s: unknown ELF class %u", f->path,
				 f->data[EI_CLASS]);
	if (f->data[EI_DATA] != ELFDATA2LSB)
		return boot_fail(c, -ENOEXEC, "kernel %s: not a little-endian ELF", f->path);
	e->is64 = f->data[EI_CLASS] == ELFCLASS64;
	if (e->is64) {
		if (f->size < sizeof(h64))
			return pvh_truncated(c, "ELF header");
		memcpy(&h64, f->data, sizeof(h64));
		machine = h64.e_machine;
		e->phoff = h64.e_phoff;
		e->phnum = h64.e_phnum;
		e->phentsize = h64.e_phentsize;
	} else {
		if (f->size < sizeof(h32))
			return pvh_truncated(c, "ELF header");
		memcpy(&h32, f->data, sizeof(h32));
		machine = h32.e_machine;
		e->phoff = h32.e_phoff;
		e->phnum = h32.e_phnum;
		e->phentsize = h32.e_phentsize;
	}
	if (machine != EM_X86_64 && machine != EM_386)
		return boot_fail(c, -ENOEXEC, "kernel %s: ELF for machine %u, not x86",
				 f->path, machine);
	if (e->phentsize < (e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return boot_fail(c, -ENOEXEC, "kernel %s: bad ELF program header size %u",
				 f->path, e->phentsize);
	if (!e->phnum)
		return boot_fail(c, -ENOEXEC, "kernel %s: ELF has no program headers", f->path);
	if (!in_file(f, e->phoff, (uint64_t)e->phnum * e->phentsize))
		return pvh_truncated(c, "program headers");
	return 0;
}

static void pvh_phdr(const struct boot_file *f, const struct pvh_elf *e, int i,
		     struct pvh_phdr *p)
{
	const uint8_t *src = f->data + e->phoff + (uint64_t)i * e->phentsize;
	Elf64_Phdr p64;
	Elf32_Phdr p32;

	if (e->is64) {
		memcpy(&p64, src, sizeof(p64));
		*p = (struct pvh_phdr){ p64.p_type, p64.p_offset, p64.p_paddr,
					p64.p_filesz, p64.p_memsz };
	} else {
		memcpy(&p32, src, sizeof(p32));
		*p = (struct pvh_phdr){ p32.p_type, p32.p_offset, p32.p_paddr,
					p32.p_filesz, p32.p_memsz };
	}
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ULL;
}

/* Look through one PT_NOTE segment; 1 with *entry set when the note is there,
 * 0 when not, or a negative errno for a malformed PVH note. */
static int pvh_scan_notes(struct boot_ctx *c, const uint8_t *p, uint64_t len, uint64_t *entry)
{
	while (len >= sizeof(Elf32_Nhdr)) {
		Elf32_Nhdr n;
		uint64_t name_at = sizeof(n), desc_at, next;

		memcpy(&n, p, sizeof(n));
		desc_at = name_at + align4(n.n_namesz);
		next = desc_at + align4(n.n_descsz);
		if (next > len)
			break;
		if (n.n_namesz == sizeof(PVH_NOTE_NAME) && n.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    !memcmp(p + name_at, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME))) {
			uint64_t v = 0;

			if (n.n_descsz != 4 && n.n_descsz != 8)
				return boot_fail(c, -ENOEXEC, "kernel %s: PVH entry note has %u "
						 "bytes, expected 4 or 8", c->kernel.path, n.n_descsz);
			memcpy(&v, p + desc_at, n.n_descsz);
			*entry = v;
			return 1;
		}
		p += next;
		len -= next;
	}
	return 0;
}

static int pvh_find_entry(struct boot_ctx *c, const struct pvh_elf *e, uint64_t *entry)
{
	const struct boot_file *f = &c->kernel;
	struct pvh_phdr p;
	int r;

	for (int i = 0; i < e->phnum; i++) {
		pvh_phdr(f, e, i, &p);
		if (p.type != PT_NOTE)
			continue;
		if (!in_file(f, p.offset, p.filesz))
			return pvh_truncated(c, "note segment");
		r = pvh_scan_notes(c, f->data + p.offset, p.filesz, entry);
		if (r)
			return r < 0 ? r : 0;
	}
	return boot_fail(c, -ENOEXEC, "kernel %s: ELF has no PVH entry note "
			 "(XEN_ELFNOTE_PHYS32_ENTRY); use a vmlinux built with CONFIG_PVH "
			 "or a bzImage", f->path);
}

static int pvh_check_segment(struct boot_ctx *c, const struct pvh_phdr *p)
{
	const char *path = c->kernel.path;

	if (!in_file(&c->kernel, p->offset, p->filesz))
		return pvh_truncated(c, "loadable segment");
	if (p->filesz > p->memsz)
		return boot_fail(c, -ENOEXEC, "kernel %s: segment at 0x%llx has more file "
				 "bytes than memory bytes", path, (unsigned long long)p->paddr);
	if (boot_hits_low_area(p->paddr, p->memsz))
		return boot_fail(c, -ENOEXEC, "kernel %s: segment at 0x%llx (%llu bytes) "
				 "overlaps the monitor's area below 1 MiB", path,
				 (unsigned long long)p->paddr, (unsigned long long)p->memsz);
	if (!gm_ptr(c->gm, p->paddr, p->memsz))
		return boot_fail(c, -ENOMEM, "kernel %s: segment at 0x%llx (%llu bytes) is "
				 "outside guest RAM", path, (unsigned long long)p->paddr,
				 (unsigned long long)p->memsz);
	return 0;
}

/* Check every PT_LOAD before anything is copied; *end = the highest end. */
static int pvh_check_segments(struct boot_ctx *c, const struct pvh_elf *e, uint64_t entry,
			      uint64_t *end)
{
	struct pvh_phdr p;
	int err = 0, entry_ok = 0;

	*end = 0;
	for (int i = 0; i < e->phnum && !err; i++) {
		pvh_phdr(&c->kernel, e, i, &p);
		if (p.type != PT_LOAD || !p.memsz)
			continue;
		err = pvh_check_segment(c, &p);
		entry_ok |= entry >= p.paddr && entry - p.paddr < p.memsz;
		if (!err && p.paddr + p.memsz > *end)
			*end = p.paddr + p.memsz;
	}
	if (!err && (!entry_ok || entry >= GM_HIGH_START))
		err = boot_fail(c, -ENOEXEC, "kernel %s: PVH entry 0x%llx is not inside a "
				"loadable segment below 4 GiB", c->kernel.path,
				(unsigned long long)entry);
	return err;
}

/* Copy the checked segments and zero their bss. */
static void pvh_copy_segments(struct boot_ctx *c, const struct pvh_elf *e)
{
	struct pvh_phdr p;
	uint8_t *dst;

	for (int i = 0; i < e->phnum; i++) {
		pvh_phdr(&c->kernel, e, i, &p);
		if (p.type != PT_LOAD || !p.memsz)
			continue;
		dst = gm_ptr(c->gm, p.paddr, p.memsz);
		memcpy(dst, c->kernel.data + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
		gm_mark_dirty(c->gm, p.paddr, p.memsz);
	}
}

static int pvh_write_start_info(struct boot_ctx *c, uint64_t initrd_gpa)
{
	uint8_t page[PVH_INFO_SIZE] = { 0 };
	struct pvh_start_info si = {
		.magic = PVH_START_MAGIC, .version = PVH_START_VERSION,
		.cmdline_paddr = BOOT_CMDLINE_GPA, .rsdp_paddr = ACPI_RSDP_GPA,
		.memmap_paddr = PVH_MEMMAP_GPA, .memmap_entries = (uint32_t)c->ne820,
	};
	struct pvh_memmap_entry *mm = (void *)(page + (PVH_MEMMAP_GPA - BOOT_INFO_GPA));

	_Static_assert(PVH_MEMMAP_GPA - BOOT_INFO_GPA + BOOT_E820_MAX * sizeof(*mm)
		       <= PVH_INFO_SIZE, "the PVH memory map fits its page");
	if (c->initrd.data) {
		struct pvh_modlist_entry mod = { .paddr = initrd_gpa, .size = c->initrd.size };

		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
		memcpy(page + (PVH_MODLIST_GPA - BOOT_INFO_GPA), &mod, sizeof(mod));
	}
	for (int i = 0; i < c->ne820; i++)
		mm[i] = (struct pvh_memmap_entry){ .addr = c->e820[i].addr,
			.size = c->e820[i].size, .type = c->e820[i].type };
	memcpy(page, &si, sizeof(si));
	return gm_write(c->gm, BOOT_INFO_GPA, page, sizeof(page));
}

int boot_load_pvh(struct boot_ctx *c, struct boot_result *out)
{
	struct pvh_elf e = { 0 };
	uint64_t entry = 0, end = 0, initrd_gpa = 0;
	int err;

	err = pvh_parse_ehdr(c, &e);
	if (!err)
		err = pvh_find_entry(c, &e, &entry);
	if (!err)
		err = pvh_check_segments(c, &e, entry, &end);
	if (err)
		return err;
	pvh_copy_segments(c, &e);
	if (c->initrd.data)
		err = boot_place_initrd(c, end, c->low_top, &initrd_gpa);
	if (!err)
		err = boot_write_cmdline(c, BOOT_CMDLINE_MAX - 1, "the monitor's limit");
	if (!err)
		err = pvh_write_start_info(c, initrd_gpa);
	if (err)
		return err;
	*out = (struct boot_result){
		.kind = BOOT_PVH, .entry = entry, .info_gpa = BOOT_INFO_GPA, .kernel_end = end,
	};
	return 0;
}
