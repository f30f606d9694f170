/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trampoline.S: the real-mode start of an AP. smp.c copies the bytes between
 * tramp_start and tramp_end to a free page below 1 MiB and sends the SIPI
 * with that page's number, so this runs at CS = page << 8, IP = 0. It loads
 * our GDT, sets CR0.PE and far-jumps to ap_entry32 in entry.S, which goes on
 * to long mode with the same page tables as the BSP.
 *
 * Position independent: only CS-relative data and absolute far jumps.
 */
#include "guest.h"

#define GDT_LIMIT	(GDT_TSS0 + MAX_CPUS * 16 - 1)

	.section .rodata.tramp, "a"
	.code16
	.globl tramp_start, tramp_end
tramp_start:
	cli
	lgdtl %cs:(tramp_gdtr - tramp_start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $GDT_KCODE32, $ap_entry32

	.balign 4
tramp_gdtr:
	.word GDT_LIMIT
	.long gdt
tramp_end:

	.section .note.GNU-stack, "", @progbits
