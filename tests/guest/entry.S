/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * entry.S: from the PVH entry point (32-bit protected mode, paging off, %ebx
 * = hvm_start_info) to long mode, for the BSP and for every AP (which gets
 * here from trampoline.S); the drop to user mode; the fault stubs; the GDT;
 * and the page tables for the first 4 GiB, prebuilt by the assembler so the
 * loader, not emulated guest code, writes them.
 *
 * Only plain mov, lgdt/lidt/ltr, mov to CRs, wrmsr, far jumps and iretq run
 * here: on PVM every supervisor instruction is emulated. The TSS and IDT are
 * filled in by boot.c; nothing here parses start_info.
 */
#include "guest.h"

#define GDT_LIMIT	(GDT_TSS0 + MAX_CPUS * 16 - 1)
#define PTE_TABLE	0x7	/* present, writable, user */
#define PTE_LARGE	0x87	/* ... and 2 MiB page */
#define PTE_UNCACHED	0x18	/* PCD | PWT */
#define APIC_RANGE	0xfec00000

/* ---- the PVH note: XEN_ELFNOTE_PHYS32_ENTRY ---------------------------- */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_start

/* ---- 32-bit entry ------------------------------------------------------- */
	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl %ebx, pvh_start_info
	rdtsc
	movl %eax, boot_tsc
	movl %edx, boot_tsc + 4
	lgdt gdtr
	ljmp $GDT_KCODE32, $1f
1:	xorl %ebp, %ebp			/* %ebp = 0: the BSP */
	jmp common32

	.globl ap_entry32
ap_entry32:				/* from trampoline.S, our GDT loaded */
	movl $1, %ebp			/* %ebp = 1: an AP */

common32:
	movl $GDT_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $pml4, %eax
	movl %eax, %cr3
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	movl $EFER_LME, %eax
	xorl %edx, %edx
	wrmsr
	movl $CR0_LONG, %eax
	movl %eax, %cr0
	ljmp $GDT_KCODE64, $entry64

/* ---- 64-bit entry ------------------------------------------------------- */
	.code64
entry64:
	testl %ebp, %ebp
	jnz ap_entry64
	movq $(kstacks + KSTACK_SIZE), %rsp
	movl pvh_start_info(%rip), %edi
	call boot_main
	ud2

ap_entry64:				/* struct ap_boot, see boot.h */
	movq ap_boot + 0(%rip), %rsp
	movq ap_boot + 24(%rip), %rax
	ltr %ax
	lidt idtr(%rip)
	movq ap_boot + 16(%rip), %rdx
	movq ap_boot + 8(%rip), %rsi
	movq $ap_user_entry, %rdi
	/* fall through */

/* enter_user(rip, rsp, arg): iretq to CPL 3 with IOPL=3 and IF=0. */
	.globl enter_user
enter_user:
	pushq $(GDT_UDATA | 3)
	pushq %rsi
	pushq $RFLAGS_USER
	pushq $(GDT_UCODE64 | 3)
	pushq %rdi
	movq %rdx, %rdi
	iretq

/* ---- fault stubs: push (error code, vector), call fault_report ---------- */
.macro fault_stub vec
fault_stub_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp fault_common
.endm

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fault_stub \v
	.endr

fault_common:				/* vec, err, rip, cs, rflags, rsp, ss */
	movq 0(%rsp), %rdi
	movq 8(%rsp), %rsi
	movq 16(%rsp), %rdx
	movq %cr2, %rcx
	movq 24(%rsp), %r8
	movq 32(%rsp), %r9
	andq $-16, %rsp
	call fault_report
	ud2

	.section .rodata
	.balign 8
	.globl fault_stubs
fault_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad fault_stub_\v
	.endr

/* ---- data --------------------------------------------------------------- */
	.section .data
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00affa000000ffff	/* 0x18 user code, 64-bit */
	.quad 0x00cff2000000ffff	/* 0x20 user data */
	.quad 0x00cf9a000000ffff	/* 0x28 kernel code, 32-bit */
	.fill MAX_CPUS * 2, 8, 0	/* 0x30 TSS descriptors, boot.c */

	.balign 8
	.globl gdtr
	.word 0, 0, 0
gdtr:
	.word GDT_LIMIT
	.quad gdt

	.globl idtr
	.word 0, 0, 0
idtr:
	.word NR_FAULT_VECTORS * 16 - 1
	.quad idt

	.balign 8
	.globl boot_tsc
boot_tsc:
	.quad 0
pvh_start_info:
	.quad 0

/*
 * The page tables: 0-4 GiB identity-mapped with 2 MiB pages, user-accessible,
 * 0xfec00000-4 GiB (IOAPIC, LAPIC, firmware) uncached. Written by the loader,
 * not by emulated guest code. RAM above 4 GiB gets page directories of its
 * own, linked into pdpt at CPL 3 by paging.c.
 */
	.section .data.page_tables, "aw"
	.balign 4096
	.globl pml4, pdpt
pml4:
	.quad pdpt + PTE_TABLE
	.fill 511, 8, 0
pdpt:
	.quad pd_low + PTE_TABLE
	.quad pd_low + 0x1000 + PTE_TABLE
	.quad pd_low + 0x2000 + PTE_TABLE
	.quad pd_low + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
pd_low:
	.set i, 0
	.rept 2048
	.if i >= (APIC_RANGE >> 21)
	.quad (i << 21) + PTE_LARGE + PTE_UNCACHED
	.else
	.quad (i << 21) + PTE_LARGE
	.endif
	.set i, i + 1
	.endr

	.section .note.GNU-stack, "", @progbits
