/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * boot.c: everything the test guest does in supervisor mode (CPL 0), on the
 * BSP, between entry.S and the drop to user mode: set up the UART, copy the
 * PVH start info (memory map, command line) out of low memory, mask the
 * interrupt sources firmware left on, install the BSP's TSS and the fault
 * IDT, and iretq to main.c's user_main. Also the fault reporter, shared by
 * all CPUs.
 *
 * Every instruction here is emulated on PVM (~1000x slower), so it is kept
 * to plain loads and stores in short loops: no string instructions, no
 * struct copies, no output besides the UART setup. It deliberately builds no
 * page tables (entry.S has them prebuilt for 0-4 GiB; paging.c maps RAM above
 * at CPL 3) and does not calibrate, parse firmware tables or start APs
 * (tsc.c, smp.c, at CPL 3).
 */
#include "boot.h"
#include "main.h"
#include "uart.h"

#define IDT_INTERRUPT_GATE 0x8e	/* present, DPL 0, 64-bit interrupt gate */
#define TSS_AVAILABLE	0x89	/* present, 64-bit TSS, available */
#define PIC1_DATA	0x21
#define PIC2_DATA	0xa1
#define LAPIC_LVT_TIMER	0xfee00320UL
#define LAPIC_LVT_LINT0	0xfee00350UL
#define LVT_MASKED	0x10000

/* The PVH ABI's start info, version 1 (xen/include/public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;	/* version >= 1 */
	u32 memmap_entries;	/* version >= 1 */
	u32 reserved;
};

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type;
	u16 offset_mid;
	u32 offset_hi;
	u32 zero;
} __packed;

/* With an all-zero I/O permission bitmap: PVM drops the guest's IOPL in user
 * mode and its emulator then checks the bitmap, so CPL 3 port I/O needs it.
 * Hardware with IOPL=3 never looks at it. */
struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
	u8 iomap[65536 / 8];	/* 0 = port allowed */
	u8 iomap_end;		/* 0xff, as the architecture asks */
} __packed;

struct boot_info boot_info;
struct ap_boot ap_boot;
u8 kstacks[MAX_CPUS][KSTACK_SIZE] __aligned(16);
u8 ustacks[MAX_CPUS][USTACK_SIZE] __aligned(16);
struct idt_gate idt[NR_FAULT_VECTORS];	/* loaded through entry.S's idtr */
extern u64 gdt[];

static struct tss tss[MAX_CPUS];

static __noreturn void boot_panic(const char *why)
{
	print_emergency("FATAL %s\n", why);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void copy_memmap(u64 pa, u32 n)
{
	const struct mmap_entry *src = (const struct mmap_entry *)pa;

	if (n > MAX_MMAP)
		n = MAX_MMAP;
	for (u32 i = 0; i < n; i++) {
		boot_info.map[i].addr = src[i].addr;
		boot_info.map[i].size = src[i].size;
		boot_info.map[i].type = src[i].type;
	}
	boot_info.nmap = n;
}

static void copy_cmdline(u64 pa)
{
	const char *src = (const char *)pa;
	u32 i;

	for (i = 0; pa && i < CMDLINE_MAX - 1 && src[i]; i++)
		boot_info.cmdline[i] = src[i];
	boot_info.cmdline[i] = 0;
}

static void copy_start_info(u32 pa)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)(u64)pa;

	if (si->magic != PVH_MAGIC)
		boot_panic("PVH start info magic is wrong");
	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
		boot_panic("PVH start info has no memory map (version 0?)");
	boot_info.version = si->version;
	boot_info.rsdp = si->rsdp_paddr;
	copy_memmap(si->memmap_paddr, si->memmap_entries);
	copy_cmdline(si->cmdline_paddr);
}

void tss_install(u32 cpu, u64 rsp0)
{
	struct tss *t = &tss[cpu];
	u64 base = (u64)t;
	u64 *desc = &gdt[GDT_TSS0 / 8 + 2 * cpu];

	t->rsp[0] = rsp0;
	t->iomap_base = __builtin_offsetof(struct tss, iomap);
	t->iomap_end = 0xff;
	desc[0] = (sizeof(*t) - 1) | (base & 0xffffff) << 16 |
		  (u64)TSS_AVAILABLE << 40 | (base >> 24 & 0xff) << 56;
	desc[1] = base >> 32;
}

static void idt_build(void)
{
	for (u32 v = 0; v < NR_FAULT_VECTORS; v++) {
		u64 h = fault_stubs[v];

		idt[v].offset_lo = (u16)h;
		idt[v].selector = GDT_KCODE64;
		idt[v].type = IDT_INTERRUPT_GATE;
		idt[v].offset_mid = (u16)(h >> 16);
		idt[v].offset_hi = (u32)(h >> 32);
	}
	__asm__ volatile("lidt idtr" ::: "memory");
}

/*
 * PVM runs guest user mode with IF=1 whatever RFLAGS says, so the interrupt
 * sources firmware may have left on (PIC timer, LAPIC timer, ExtINT) are
 * masked before the drop to user mode.
 */
static void mask_interrupts(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	mmio_write32(LAPIC_LVT_TIMER, LVT_MASKED);
	mmio_write32(LAPIC_LVT_LINT0, LVT_MASKED);
}

void boot_main(u32 start_info_pa)
{
	uart_init();
	copy_start_info(start_info_pa);
	mask_interrupts();
	tss_install(0, (u64)kstacks[0] + KSTACK_SIZE);
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS0));
	idt_build();
	enter_user((u64)user_main, (u64)ustacks[0] + USTACK_SIZE - 8, 0);
}

void fault_report(u64 vec, u64 err, u64 rip, u64 cr2, u64 cs, u64 rflags)
{
	print_emergency("FAULT vec=%lu err=0x%lx rip=0x%lx cr2=0x%lx cs=0x%lx rflags=0x%lx\n",
			vec, err, rip, cr2, cs, rflags);
	for (;;)
		__asm__ volatile("cli; hlt");
}
