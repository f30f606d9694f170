/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest.h: what every file of the test guest shares — fixed-size types,
 * varargs, the GDT layout (also used by the assembly), limits, and the few
 * x86 instructions we need as inline functions (port I/O, TSC, CPUID,
 * atomics, pause).
 *
 * The guest is freestanding (-nostdinc): nothing here comes from a libc.
 * It deliberately has no interrupt helpers: the guest never takes one.
 * Neighbours: entry.S (boot assembly), boot.c (supervisor-mode setup), the
 * user-mode rest in main.c, work.c, smp.c, tsc.c, uart.c, util.c.
 */
#ifndef PGR_GUEST_H
#define PGR_GUEST_H

/* GDT selectors; entry.S builds the table in this order. */
#define GDT_KCODE64	0x08
#define GDT_KDATA	0x10
#define GDT_UCODE64	0x18
#define GDT_UDATA	0x20
#define GDT_KCODE32	0x28
#define GDT_TSS0	0x30	/* 16 bytes per CPU from here */

#define MAX_CPUS	64
#define KSTACK_SIZE	8192	/* supervisor stack: boot (BSP) and faults */
#define USTACK_SIZE	16384	/* user stack: the workload */
#define NR_FAULT_VECTORS 32

#define RFLAGS_USER	0x3002	/* IOPL=3, IF=0, reserved bit 1 */
#define MSR_EFER	0xc0000080
#define EFER_LME	0x100
#define CR4_PAE		0x20
#define CR0_LONG	0x80010031	/* PG | WP | NE | ET | PE */

#ifndef __ASSEMBLY__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;
typedef unsigned long size_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)
#define va_copy(d, s) __builtin_va_copy(d, s)

#define __aligned(n) __attribute__((aligned(n)))
#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PAGE_SIZE	4096UL
#define MIB		(1UL << 20)
#define GIB		(1UL << 30)

/* Linker-script symbols: the loaded image spans [_image_start, _end). */
extern char _image_start[], _end[];

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(0));
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline u8 mmio_read8(u64 addr)
{
	return *(volatile u8 *)addr;
}

static inline u16 mmio_read16(u64 addr)
{
	return *(volatile u16 *)addr;
}

static inline void mmio_write8(u64 addr, u8 v)
{
	*(volatile u8 *)addr = v;
}

static inline void mmio_write16(u64 addr, u16 v)
{
	*(volatile u16 *)addr = v;
}

static inline u32 mmio_read32(u64 addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(u64 addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ATOMIC_ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_ACQ_REL)

#endif /* __ASSEMBLY__ */
#endif /* PGR_GUEST_H */
