// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-boot: boot_load() on synthetic kernels written to temp files — a PVH
 * ELF (64- and 32-bit), one without the note, truncated ones, a bzImage with
 * a fabricated setup header (relocatable or not, with an initrd), refusals
 * (old protocol, no 64-bit entry, initrd or cmdline too large) — plus the
 * e820 map for several RAM sizes and boot_setup_regs() for both kinds.
 * The code under test is vmm/boot*.c and vmm/e820.c; the MP table has its
 * own test (test-mptable.c).
 */
#include "vmm/boot.h"
#include "vmm/acpi.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "proto/pvh.h"
#include "tests/unit/unit.h"
#include "vmm/mptable.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static char tmpdir[] = "/tmp/test-boot.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];
	FILE *f;

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	f = fopen(p, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len)) {
		perror(p);
		exit(2);
	}
	fclose(f);
	return p;
}

/* A sparse file of @len bytes with a marker at the start. */
static const char *write_sparse(const char *name, uint64_t len)
{
	const char *p = write_file(name, "INITRD", 6);

	if (truncate(p, (off_t)len) < 0) {
		perror(p);
		exit(2);
	}
	return p;
}

static int load(struct guest_mem *gm, const char *kernel, const char *initrd,
		const char *cmdline, struct boot_result *br, char **err)
{
	struct boot_spec spec = { .kernel = kernel, .initrd = initrd, .cmdline = cmdline,
				  .ncpus = 2 };

	free(*err);
	*err = NULL;
	return boot_load(gm, &spec, br, err);
}

/* ---- e820 -------------------------------------------------------------------- */

static void check_e820_low(const struct e820_entry *e, uint64_t low_end)
{
	CHECK_EQ_U64(e[0].addr, 0);
	CHECK_EQ_U64(e[0].size, 0x9FC00);
	CHECK_EQ_INT(e[0].type, E820_RAM);
	CHECK_EQ_U64(e[1].addr, 0x9FC00);
	CHECK_EQ_U64(e[1].size, 0x100000 - 0x9FC00);
	CHECK_EQ_INT(e[1].type, E820_RESERVED);
	CHECK_EQ_U64(e[2].addr, 1 * MiB);
	CHECK_EQ_U64(e[2].addr + e[2].size, low_end);
	CHECK_EQ_INT(e[2].type, E820_RAM);
}

static void test_e820(uint64_t ram)
{
	struct guest_mem *gm = gm_new(ram);
	struct e820_entry e[8];
	uint64_t low = ram < 3 * GiB ? ram : 3 * GiB;
	int n;

	CHECK(gm != NULL);
	if (!gm)
		return;
	n = e820_build(gm, e, 8);
	CHECK_EQ_INT(n, ram > 3 * GiB ? 4 : 3);
	check_e820_low(e, low);
	if (ram > 3 * GiB) {
		CHECK_EQ_U64(e[3].addr, 4 * GiB);
		CHECK_EQ_U64(e[3].size, ram - 3 * GiB);
		CHECK_EQ_INT(e[3].type, E820_RAM);
	}
	CHECK_EQ_INT(e820_build(gm, e, 2), -ENOSPC);
	gm_free(gm);
}

/* ---- PVH ELF ----------------------------------------------------------------- */

#define ELF_LOAD_GPA   (2 * MiB)
#define ELF_ENTRY      (ELF_LOAD_GPA + 0x10)
#define ELF_FILESZ     0x300
#define ELF_MEMSZ      0x5000
#define ELF_DATA_OFF   0x1000

struct xen_note {
	Elf64_Nhdr n;
	char name[4];
	uint64_t desc;
};

/* ELF64: [ehdr][phdr LOAD][phdr NOTE][note] ... [segment data at 0x1000]. */
static size_t make_elf64(uint8_t *buf, int with_note, uint64_t load_gpa)
{
	Elf64_Ehdr *eh = (void *)buf;
	Elf64_Phdr *ph = (void *)(buf + sizeof(*eh));
	struct xen_note *note = (void *)(buf + sizeof(*eh) + 2 * sizeof(*ph));

	memset(buf, 0, ELF_DATA_OFF + ELF_FILESZ);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = ELF_DATA_OFF,
		.p_vaddr = 0xffffffff80000000ULL + load_gpa, .p_paddr = load_gpa,
		.p_filesz = ELF_FILESZ, .p_memsz = ELF_MEMSZ, .p_align = 4096 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = (uint8_t *)note - buf,
		.p_filesz = sizeof(*note), .p_align = 4 };
	note->n = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 8,
		.n_type = with_note ? XEN_ELFNOTE_PHYS32_ENTRY : 1 /* another Xen note */ };
	memcpy(note->name, "Xen", 4);
	note->desc = ELF_ENTRY;
	for (int i = 0; i < ELF_FILESZ; i++)
		buf[ELF_DATA_OFF + i] = (uint8_t)(i * 7 + 1);
	return ELF_DATA_OFF + ELF_FILESZ;
}

/* ELF32 (as a 32-bit PVH guest would be), with a 4-byte note desc. */
static size_t make_elf32(uint8_t *buf)
{
	Elf32_Ehdr *eh = (void *)buf;
	Elf32_Phdr *ph = (void *)(buf + sizeof(*eh));
	uint8_t *note = buf + sizeof(*eh) + 2 * sizeof(*ph);
	Elf32_Nhdr n = { .n_namesz = 4, .n_descsz = 4, .n_type = XEN_ELFNOTE_PHYS32_ENTRY };
	uint32_t entry = ELF_ENTRY;

	memset(buf, 0, ELF_DATA_OFF + ELF_FILESZ);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_386;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = (uint32_t)(note - buf),
		.p_filesz = sizeof(n) + 8, .p_align = 4 };
	ph[1] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = ELF_DATA_OFF,
		.p_paddr = ELF_LOAD_GPA, .p_filesz = ELF_FILESZ, .p_memsz = ELF_MEMSZ };
	memcpy(note, &n, sizeof(n));
	memcpy(note + sizeof(n), "Xen", 4);
	memcpy(note + sizeof(n) + 4, &entry, 4);
	memset(buf + ELF_DATA_OFF, 0x5a, ELF_FILESZ);
	return ELF_DATA_OFF + ELF_FILESZ;
}

static void check_start_info(struct guest_mem *gm, const char *cmdline, uint64_t initrd_size)
{
	struct pvh_start_info si;
	struct pvh_memmap_entry mm[8];
	struct pvh_modlist_entry mod;
	struct e820_entry e[8];
	char buf[256] = { 0 };
	int n = e820_build(gm, e, 8);

	CHECK_EQ_INT(gm_read(gm, BOOT_INFO_GPA, &si, sizeof(si)), 0);
	CHECK_EQ_U64(si.magic, 0x336ec578);
	CHECK_EQ_INT(si.version, 1);
	CHECK_EQ_U64(si.rsdp_paddr, ACPI_RSDP_GPA);
	CHECK_EQ_INT(gm_read(gm, si.cmdline_paddr, buf, sizeof(buf) - 1), 0);
	CHECK_STR(buf, cmdline);
	CHECK_EQ_INT(si.memmap_entries, n);
	CHECK_EQ_INT(gm_read(gm, si.memmap_paddr, mm, n * sizeof(mm[0])), 0);
	for (int i = 0; i < n && i < 8; i++) {
		CHECK_EQ_U64(mm[i].addr, e[i].addr);
		CHECK_EQ_U64(mm[i].size, e[i].size);
		CHECK_EQ_INT(mm[i].type, e[i].type);
		CHECK_EQ_INT(mm[i].reserved, 0);
	}
	CHECK_EQ_INT(si.nr_modules, initrd_size ? 1 : 0);
	if (!initrd_size)
		return;
	CHECK_EQ_INT(gm_read(gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	CHECK_EQ_U64(mod.size, initrd_size);
	CHECK_EQ_U64(mod.paddr % 4096, 0);
	CHECK(mod.paddr >= ELF_LOAD_GPA + ELF_MEMSZ);
	CHECK(mod.paddr + mod.size <= gm->regions[0].size);
	CHECK(!memcmp(gm_ptr(gm, mod.paddr, 6), "INITRD", 6));
}

static void check_elf_loaded(struct guest_mem *gm, const uint8_t *image)
{
	const uint8_t *seg = gm_ptr(gm, ELF_LOAD_GPA, ELF_MEMSZ);
	int bss_zero = 1;

	CHECK(seg && !memcmp(seg, image + ELF_DATA_OFF, ELF_FILESZ));
	for (uint64_t i = ELF_FILESZ; seg && i < ELF_MEMSZ; i++)
		bss_zero &= seg[i] == 0;
	CHECK(bss_zero);
}

static void test_pvh(void)
{
	static uint8_t img[ELF_DATA_OFF + ELF_FILESZ];
	struct guest_mem *gm = gm_new(256 * MiB);
	struct boot_result br;
	char *err = NULL;
	size_t len = make_elf64(img, 1, ELF_LOAD_GPA);
	const char *k = write_file("pvh.elf", img, len);
	const char *initrd = write_sparse("initrd.img", 3 * MiB + 5);

	/* the bss must be zeroed even where memory was dirty (a reset) */
	memset(gm_ptr(gm, ELF_LOAD_GPA, ELF_MEMSZ), 0xee, ELF_MEMSZ);
	CHECK_EQ_INT(load(gm, k, NULL, "console=ttyS0 hello", &br, &err), 0);
	CHECK(err == NULL);
	CHECK_EQ_INT(br.kind, BOOT_PVH);
	CHECK_EQ_U64(br.entry, ELF_ENTRY);
	CHECK_EQ_U64(br.info_gpa, BOOT_INFO_GPA);
	CHECK_EQ_U64(br.kernel_end, ELF_LOAD_GPA + ELF_MEMSZ);
	check_start_info(gm, "console=ttyS0 hello", 0);
	check_elf_loaded(gm, img);

	CHECK_EQ_INT(load(gm, k, initrd, NULL, &br, &err), 0);
	check_start_info(gm, "", 3 * MiB + 5);

	len = make_elf32(img);
	k = write_file("pvh32.elf", img, len);
	CHECK_EQ_INT(load(gm, k, NULL, "x", &br, &err), 0);
	CHECK_EQ_U64(br.entry, ELF_ENTRY);
	CHECK_EQ_INT(*(uint8_t *)gm_ptr(gm, ELF_LOAD_GPA + 1, 1), 0x5a);
	free(err);
	gm_free(gm);
}

static void test_pvh_refused(void)
{
	static uint8_t img[ELF_DATA_OFF + ELF_FILESZ];
	struct guest_mem *gm = gm_new(64 * MiB);
	struct boot_result br;
	char *err = NULL;
	size_t len = make_elf64(img, 0, ELF_LOAD_GPA);
	const char *k = write_file("nonote.elf", img, len);

	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
	CHECK_CONTAINS(err, "CONFIG_PVH or a bzImage");
	CHECK_CONTAINS(err, k);

	make_elf64(img, 1, ELF_LOAD_GPA);
	k = write_file("trunc1.elf", img, 100);           /* inside the phdrs */
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "truncated");
	k = write_file("trunc2.elf", img, ELF_DATA_OFF + 10); /* inside the segment */
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "truncated");
	k = write_file("trunc3.elf", img, 30);            /* inside the ELF header */
	CHECK(load(gm, k, NULL, "", &br, &err) < 0);
	CHECK_CONTAINS(err, "truncated");

	make_elf64(img, 1, 0x8000);                        /* over the boot tables */
	k = write_file("low.elf", img, len);
	CHECK(load(gm, k, NULL, "", &br, &err) < 0);
	CHECK_CONTAINS(err, "below 1 MiB");
	make_elf64(img, 1, 64 * MiB - 0x1000);            /* runs past RAM */
	k = write_file("high.elf", img, len);
	CHECK(load(gm, k, NULL, "", &br, &err) < 0);
	CHECK_CONTAINS(err, "outside guest RAM");

	k = write_file("junk", "hello, world, this is not a kernel", 34);
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "not an ELF or bzImage");
	CHECK(load(gm, "/nonexistent/vmlinux", NULL, "", &br, &err) < 0);
	CHECK_CONTAINS(err, "kernel /nonexistent/vmlinux: No such file");
	k = write_file("empty", "", 0);
	CHECK(load(gm, k, NULL, "", &br, &err) < 0);
	CHECK_CONTAINS(err, "empty file");
	free(err);
	gm_free(gm);
}

/* ---- bzImage ----------------------------------------------------------------- */

#define BZ_SETUP_SECTS 4
#define BZ_PAYLOAD_OFF ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD     0x4000
#define BZ_INIT_SIZE   0x800000
#define BZ_PREF        0x1000000

static uint8_t bz[BZ_PAYLOAD_OFF + BZ_PAYLOAD];

static struct setup_header *make_bzimage(void)
{
	struct setup_header h = {
		.setup_sects = BZ_SETUP_SECTS, .syssize = BZ_PAYLOAD / 16,
		.boot_flag = 0xAA55, .jump = 0x66eb, .header = 0x53726448,
		.version = 0x020f, .kernel_version = 0x0123, .loadflags = LOADED_HIGH,
		.code32_start = 0x100000, .initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 0x200000, .relocatable_kernel = 1, .min_alignment = 21,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.cmdline_size = 2047, .pref_address = BZ_PREF, .init_size = BZ_INIT_SIZE,
		.handover_offset = 0x190,
	};

	memset(bz, 0, sizeof(bz));
	memcpy(bz + 0x1f1, &h, sizeof(h));
	for (int i = 0; i < BZ_PAYLOAD; i++)
		bz[BZ_PAYLOAD_OFF + i] = (uint8_t)(i ^ (i >> 8));
	return (struct setup_header *)(bz + 0x1f1);
}

static void check_boot_params(struct guest_mem *gm, const char *cmdline)
{
	struct boot_params bp;
	const struct setup_header *img = (const void *)(bz + 0x1f1);
	struct e820_entry e[8];
	int n = e820_build(gm, e, 8);
	char buf[256] = { 0 };

	CHECK_EQ_INT(gm_read(gm, BOOT_INFO_GPA, &bp, sizeof(bp)), 0);
	CHECK_EQ_INT(bp.hdr.type_of_loader, 0xff);
	CHECK_EQ_INT(bp.hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	CHECK_EQ_U64(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	CHECK_EQ_INT(gm_read(gm, bp.hdr.cmd_line_ptr, buf, sizeof(buf) - 1), 0);
	CHECK_STR(buf, cmdline);
	CHECK_EQ_INT(bp.e820_entries, n);
	for (int i = 0; i < n; i++) {
		CHECK_EQ_U64(bp.e820_table[i].addr, e[i].addr);
		CHECK_EQ_U64(bp.e820_table[i].size, e[i].size);
		CHECK_EQ_INT(bp.e820_table[i].type, e[i].type);
	}
	/* the image's own header survives */
	CHECK_EQ_INT(bp.hdr.header, 0x53726448);
	CHECK_EQ_INT(bp.hdr.version, img->version);
	CHECK_EQ_INT(bp.hdr.setup_sects, img->setup_sects);
	CHECK_EQ_INT(bp.hdr.syssize, img->syssize);
	CHECK_EQ_INT(bp.hdr.xloadflags, img->xloadflags);
	CHECK_EQ_INT(bp.hdr.kernel_alignment, img->kernel_alignment);
	CHECK_EQ_INT(bp.hdr.cmdline_size, img->cmdline_size);
	CHECK_EQ_U64(bp.hdr.pref_address, img->pref_address);
	CHECK_EQ_INT(bp.hdr.init_size, img->init_size);
	CHECK_EQ_INT(bp.hdr.kernel_version, img->kernel_version);
	CHECK_EQ_INT(bp.hdr.boot_flag, 0xAA55);
	CHECK_EQ_INT(bp.hdr.heap_end_ptr, 0xfe00);
	CHECK_EQ_INT(bp.hdr.kernel_info_offset, 0);  /* beyond 0x202 + 0x66 */
	CHECK_EQ_INT(bp.sentinel, 0);
	CHECK_EQ_U64(bp.acpi_rsdp_addr, ACPI_RSDP_GPA);
}

static void check_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = gm_ptr(gm, 0x9000, 4096), *pdpt = gm_ptr(gm, 0xA000, 4096);
	uint64_t *pd3 = gm_ptr(gm, 0xE000, 4096), *pd0 = gm_ptr(gm, 0xB000, 4096);

	CHECK_EQ_U64(pml4[0], 0xA003);
	CHECK_EQ_U64(pml4[1], 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_U64(pdpt[i], 0xB003 + i * 0x1000);
	CHECK_EQ_U64(pdpt[4], 0);
	CHECK_EQ_U64(pd0[0], 0x83);
	CHECK_EQ_U64(pd0[1], 0x200083);
	CHECK_EQ_U64(pd3[511], 0xFFE00083);
}

static void test_bzimage(void)
{
	struct guest_mem *gm = gm_new(256 * MiB);
	struct boot_result br;
	struct boot_params bp;
	char *err = NULL;
	const char *k, *initrd = write_sparse("initrd.bz", 5 * MiB + 100);

	make_bzimage();
	k = write_file("bzImage", bz, sizeof(bz));
	CHECK_EQ_INT(load(gm, k, initrd, "console=ttyS0 root=/dev/vda", &br, &err), 0);
	CHECK(err == NULL);
	CHECK_EQ_INT(br.kind, BOOT_LINUX64);
	CHECK_EQ_U64(br.entry, BZ_PREF + 0x200);
	CHECK_EQ_U64(br.info_gpa, BOOT_INFO_GPA);
	CHECK_EQ_U64(br.cr3, BOOT_PGTABLE_GPA);
	CHECK_EQ_U64(br.kernel_end, BZ_PREF + BZ_INIT_SIZE);
	CHECK(!memcmp(gm_ptr(gm, BZ_PREF, BZ_PAYLOAD), bz + BZ_PAYLOAD_OFF, BZ_PAYLOAD));
	check_boot_params(gm, "console=ttyS0 root=/dev/vda");
	check_page_tables(gm);
	CHECK_EQ_INT(gm_read(gm, BOOT_INFO_GPA, &bp, sizeof(bp)), 0);
	CHECK_EQ_U64(bp.hdr.ramdisk_size, 5 * MiB + 100);
	CHECK_EQ_U64(bp.hdr.ramdisk_image % 4096, 0);
	CHECK(bp.hdr.ramdisk_image + bp.hdr.ramdisk_size <= 256 * MiB);
	CHECK(bp.hdr.ramdisk_image + bp.hdr.ramdisk_size > 256 * MiB - 4096);
	CHECK(!memcmp(gm_ptr(gm, bp.hdr.ramdisk_image, 6), "INITRD", 6));
	free(err);
	gm_free(gm);
}

/* initrd_addr_max below the top of RAM; a kernel that is not relocatable. */
static void test_bzimage_limits(void)
{
	struct guest_mem *gm = gm_new(512 * MiB);
	struct setup_header *h = make_bzimage();
	struct boot_result br;
	struct boot_params bp;
	char *err = NULL;
	const char *k, *initrd = write_sparse("initrd.small", 1 * MiB);

	h->initrd_addr_max = 0x0fffffff;
	h->relocatable_kernel = 0;
	k = write_file("bzImage.fixed", bz, sizeof(bz));
	CHECK_EQ_INT(load(gm, k, initrd, NULL, &br, &err), 0);
	CHECK_EQ_U64(br.entry, 0x100000 + 0x200);
	CHECK_EQ_U64(br.kernel_end, BZ_PREF + BZ_INIT_SIZE);  /* it moves itself there */
	CHECK(!memcmp(gm_ptr(gm, 0x100000, BZ_PAYLOAD), bz + BZ_PAYLOAD_OFF, BZ_PAYLOAD));
	CHECK_EQ_INT(gm_read(gm, BOOT_INFO_GPA, &bp, sizeof(bp)), 0);
	CHECK_EQ_U64(bp.hdr.ramdisk_image, 0x10000000 - 1 * MiB);
	CHECK_EQ_INT(bp.hdr.relocatable_kernel, 0);
	free(err);
	gm_free(gm);
}

static void test_bzimage_refused(void)
{
	struct guest_mem *gm = gm_new(256 * MiB);
	struct setup_header *h = make_bzimage();
	struct boot_result br;
	char *err = NULL;
	char longline[100];
	const char *k;

	h->version = 0x020b;
	k = write_file("bzImage.old", bz, sizeof(bz));
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "boot protocol 2.11 is too old");

	h = make_bzimage();
	h->xloadflags = 0;
	k = write_file("bzImage.32", bz, sizeof(bz));
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "XLF_KERNEL_64");

	h = make_bzimage();
	k = write_file("bzImage.trunc", bz, sizeof(bz) - 16);
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "truncated");
	k = write_file("bzImage.trunc2", bz, 0x300);
	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), -ENOEXEC);
	CHECK_CONTAINS(err, "truncated");

	k = write_file("bzImage", bz, sizeof(bz));
	CHECK_EQ_INT(load(gm, k, write_sparse("initrd.big", 300 * MiB), "", &br, &err), -ENOSPC);
	CHECK_CONTAINS(err, "initrd ");
	CHECK_CONTAINS(err, "does not fit below 0x10000000");

	h->cmdline_size = 16;
	k = write_file("bzImage.short", bz, sizeof(bz));
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	CHECK_EQ_INT(load(gm, k, NULL, longline, &br, &err), -E2BIG);
	CHECK_CONTAINS(err, "cmdline longer than 16");
	CHECK_EQ_INT(load(gm, k, NULL, "sixteen-chars-ok", &br, &err), 0);
	free(err);
	gm_free(gm);

	gm = gm_new(16 * MiB);   /* the kernel wants up to 24 MiB */
	make_bzimage();
	CHECK_EQ_INT(load(gm, write_file("bzImage", bz, sizeof(bz)), NULL, "", &br, &err), -ENOMEM);
	CHECK_CONTAINS(err, "give the guest more memory");
	free(err);
	gm_free(gm);
}

static void test_cmdline_limit(void)
{
	struct guest_mem *gm = gm_new(64 * MiB);
	static uint8_t img[ELF_DATA_OFF + ELF_FILESZ];
	size_t len = make_elf64(img, 1, ELF_LOAD_GPA);
	const char *k = write_file("pvh.elf", img, len);
	char *line = malloc(BOOT_CMDLINE_MAX + 1);
	struct boot_result br;
	char *err = NULL;

	memset(line, 'x', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = 0;
	CHECK_EQ_INT(load(gm, k, NULL, line, &br, &err), -E2BIG);
	CHECK_CONTAINS(err, "cmdline longer than 65535");
	line[BOOT_CMDLINE_MAX - 1] = 0;
	CHECK_EQ_INT(load(gm, k, NULL, line, &br, &err), 0);
	free(line);
	free(err);
	gm_free(gm);
}

/* ---- registers ----------------------------------------------------------------- */

static void check_flat(const struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	CHECK_EQ_U64(s->base, 0);
	CHECK_EQ_U64(s->limit, 0xffffffff);
	CHECK_EQ_INT(s->selector, sel);
	CHECK_EQ_INT(s->type, type);
	CHECK_EQ_INT(s->present, 1);
	CHECK_EQ_INT(s->s, 1);
	CHECK_EQ_INT(s->g, 1);
	CHECK_EQ_INT(s->dpl, 0);
	CHECK_EQ_INT(s->unusable, 0);
}

static void check_common_sregs(const struct kvm_sregs *s)
{
	check_flat(&s->ds, BOOT_SEL_DATA, 0x3);
	check_flat(&s->ss, BOOT_SEL_DATA, 0x3);
	check_flat(&s->es, BOOT_SEL_DATA, 0x3);
	check_flat(&s->gs, BOOT_SEL_DATA, 0x3);
	CHECK_EQ_INT(s->ds.db, 1);
	CHECK_EQ_INT(s->tr.type, 0xb);
	CHECK_EQ_INT(s->tr.present, 1);
	CHECK_EQ_INT(s->tr.s, 0);
	CHECK_EQ_INT(s->tr.unusable, 0);
	CHECK_EQ_INT(s->tr.selector, BOOT_SEL_TSS);
	CHECK(s->tr.limit >= 0x67);
	CHECK_EQ_INT(s->ldt.unusable, 1);
	CHECK_EQ_U64(s->gdt.base, BOOT_GDT_GPA);
	CHECK_EQ_INT(s->apic_base, 0xfee00900);  /* left alone */
}

static void test_regs(void)
{
	struct boot_result pvh = { .kind = BOOT_PVH, .entry = 0x100010, .info_gpa = 0x7000 };
	struct boot_result lx = { .kind = BOOT_LINUX64, .entry = 0x1000200, .info_gpa = 0x7000,
				  .cr3 = 0x9000 };
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(&r, 0x55, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.apic_base = 0xfee00900;
	s.efer = (1 << 8) | (1 << 10);
	boot_setup_regs(&pvh, &r, &s);
	CHECK_EQ_U64(r.rip, 0x100010);
	CHECK_EQ_U64(r.rbx, 0x7000);
	CHECK_EQ_U64(r.rflags, 0x2);
	CHECK_EQ_U64(r.rsi, 0);
	CHECK_EQ_U64(s.cr0, 0x11);
	CHECK_EQ_U64(s.cr4, 0);
	CHECK_EQ_U64(s.efer, 0);
	check_flat(&s.cs, BOOT_SEL_CODE32, 0xb);
	CHECK_EQ_INT(s.cs.db, 1);
	CHECK_EQ_INT(s.cs.l, 0);
	check_common_sregs(&s);

	memset(&r, 0x55, sizeof(r));
	boot_setup_regs(&lx, &r, &s);
	CHECK_EQ_U64(r.rip, 0x1000200);
	CHECK_EQ_U64(r.rsi, 0x7000);
	CHECK_EQ_U64(r.rbx, 0);
	CHECK_EQ_U64(r.rflags, 0x2);
	CHECK_EQ_U64(s.cr0, 0x80000011);
	CHECK_EQ_U64(s.cr3, 0x9000);
	CHECK_EQ_U64(s.cr4, 0x20);
	CHECK_EQ_U64(s.efer, (1 << 8) | (1 << 10));
	check_flat(&s.cs, BOOT_SEL_CODE64, 0xb);
	CHECK_EQ_INT(s.cs.l, 1);
	CHECK_EQ_INT(s.cs.db, 0);
	check_common_sregs(&s);
}

/* The GDT in memory says what the segment registers say. */
static void test_gdt(void)
{
	struct guest_mem *gm = gm_new(64 * MiB);
	static uint8_t img[ELF_DATA_OFF + ELF_FILESZ];
	const char *k = write_file("pvh.elf", img, make_elf64(img, 1, ELF_LOAD_GPA));
	struct boot_result br;
	char *err = NULL;
	uint64_t gdt[BOOT_GDT_ENTRIES];

	CHECK_EQ_INT(load(gm, k, NULL, "", &br, &err), 0);
	CHECK_EQ_INT(gm_read(gm, BOOT_GDT_GPA, gdt, sizeof(gdt)), 0);
	CHECK_EQ_U64(gdt[0], 0);
	CHECK_EQ_U64(gdt[BOOT_SEL_CODE32 / 8], 0x00cf9b000000ffffULL);
	CHECK_EQ_U64(gdt[BOOT_SEL_CODE64 / 8], 0x00af9b000000ffffULL);
	CHECK_EQ_U64(gdt[BOOT_SEL_DATA / 8], 0x00cf93000000ffffULL);
	CHECK_EQ_U64(gdt[BOOT_SEL_TSS / 8], 0x00008b0006000067ULL);
	/* and the MP table is there */
	CHECK(!memcmp(gm_ptr(gm, MPTABLE_FPS_GPA, 4), "_MP_", 4));
	free(err);
	gm_free(gm);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_e820(256 * MiB);
	test_e820(3 * GiB);
	test_e820(4 * GiB);
	test_e820(16 * GiB);
	test_pvh();
	test_pvh_refused();
	test_bzimage();
	test_bzimage_limits();
	test_bzimage_refused();
	test_cmdline_limit();
	test_regs();
	test_gdt();
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not clean %s\n", tmpdir);
	}
	return UNIT_DONE();
}
