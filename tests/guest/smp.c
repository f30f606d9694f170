/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smp.c: processors from the MP table (floating pointer in the EBDA, the
 * last KiB below 640 KiB, or the BIOS ROM) or, when there is none, from the
 * ACPI MADT (RSDP from the start info, else the BIOS ROM); then the APs are
 * started one at a time, each through the same hand-off block (boot.h's
 * struct ap_boot), waiting for one to arrive before starting the next.
 *
 * Runs at CPL 3: firmware tables are plain memory reads, the LAPIC is MMIO
 * mapped user-accessible, delays use the calibrated TSC. Tables are read
 * only below 4 GiB.
 */
#include "smp.h"
#include "boot.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"

#define SIG_MP		0x5f504d5f	/* "_MP_" */
#define SIG_PCMP	0x504d4350	/* "PCMP" */
#define SIG_RSD		0x20445352	/* "RSD " */
#define SIG_PTR		0x20525450	/* "PTR " */
#define SIG_APIC	0x43495041	/* "APIC" */
#define MP_CPU_ENABLED	0x01
#define MADT_ENABLED	0x01

#define LAPIC_BASE	0xfee00000UL
#define LAPIC_SVR	0xf0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define SVR_ENABLE	0x100
#define ICR_INIT	0x4500	/* INIT, level assert */
#define ICR_STARTUP	0x4600	/* STARTUP, level assert, | vector */
#define ICR_PENDING	0x1000
#define TRAMP_PAGE	0x8000UL
#define LOW_RAM_END	0x9f000UL
#define INIT_DELAY_US	10000
#define SIPI_DELAY_US	200
#define AP_TIMEOUT_US	5000000
#define IPI_TIMEOUT_US	100000

extern const u8 tramp_start[], tramp_end[];

u32 smp_ncpus = 1;
static u32 cpu_ids[MAX_CPUS];	/* from the tables; [0] = the BSP */
static u32 ncpu_ids;
static u32 arrived[MAX_CPUS];

u32 smp_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return b >> 24;
}

static void cpu_add(u32 apic_id)
{
	for (u32 i = 0; i < ncpu_ids; i++)
		if (cpu_ids[i] == apic_id)
			return;
	if (ncpu_ids < MAX_CPUS)
		cpu_ids[ncpu_ids++] = apic_id;
}

/* Firmware tables are read only below 4 GiB, which entry.S maps whole. */
static bool phys_readable(u64 addr, u64 len)
{
	return addr + len >= addr && addr + len <= LOW_4G;
}

static u8 checksum(u64 addr, u64 len)
{
	u8 sum = 0;

	for (u64 i = 0; i < len; i++)
		sum += (u8)rd8(addr + i);
	return sum;
}

static u64 mp_scan(u64 start, u64 len)
{
	for (u64 a = start; a + 16 <= start + len; a += 16)
		if (rd32(a) == SIG_MP && !checksum(a, 16))
			return a;
	return 0;
}

static u64 mp_find(void)
{
	u64 ebda = (u64)rd16(0x40e) << 4;
	u64 fp = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		fp = mp_scan(ebda, 1024);
	if (!fp)
		fp = mp_scan(0x9fc00, 1024);
	if (!fp)
		fp = mp_scan(0xf0000, 0x10000);
	return fp;
}

static int mp_parse(u64 fp)
{
	u64 t = rd32(fp + 4);
	u64 e, end;
	u32 count;

	if (!t || !phys_readable(t, 44) || rd32(t) != SIG_PCMP)
		return -1;
	end = t + rd16(t + 4);
	if (!phys_readable(t, end - t) || checksum(t, end - t))
		return -1;
	count = rd16(t + 34);
	for (e = t + 44; count-- && e < end;) {
		u32 type = rd8(e);

		if (type == 0 && (rd8(e + 3) & MP_CPU_ENABLED))
			cpu_add(rd8(e + 1));
		if (type > 4)
			break;
		e += type == 0 ? 20 : 8;
	}
	return 0;
}

static u64 rsdp_find(void)
{
	if (boot_info.rsdp)
		return boot_info.rsdp;
	for (u64 a = 0xe0000; a < 0x100000; a += 16)
		if (rd32(a) == SIG_RSD && rd32(a + 4) == SIG_PTR && !checksum(a, 20))
			return a;
	return 0;
}

static void madt_parse(u64 t)
{
	u64 end = t + rd32(t + 4);
	u32 type, len;

	for (u64 e = t + 44; e + 2 <= end; e += len) {
		type = rd8(e);
		len = rd8(e + 1);
		if (len < 2)
			break;
		if (type == 0 && len >= 8 && (rd32(e + 4) & MADT_ENABLED))
			cpu_add(rd8(e + 3));
		if (type == 9 && len >= 16 && (rd32(e + 8) & MADT_ENABLED) &&
		    rd32(e + 4) < 0xff)
			cpu_add(rd32(e + 4));
	}
}

static int madt_find(void)
{
	u64 rsdp = rsdp_find();
	u64 sdt, len, esz = 4;

	if (!rsdp || !phys_readable(rsdp, 36))
		return -1;
	sdt = rd32(rsdp + 16);
	if (rd8(rsdp + 15) >= 2 && rd64(rsdp + 24)) {
		sdt = rd64(rsdp + 24);
		esz = 8;
	}
	if (!phys_readable(sdt, 36) || !phys_readable(sdt, rd32(sdt + 4)))
		return -1;
	len = rd32(sdt + 4);
	for (u64 e = sdt + 36; e + esz <= sdt + len; e += esz) {
		u64 t = esz == 8 ? rd64(e) : rd32(e);

		if (phys_readable(t, 44) && rd32(t) == SIG_APIC &&
		    phys_readable(t, rd32(t + 4))) {
			madt_parse(t);
			return 0;
		}
	}
	return -1;
}

/*
 * The union of both tables: SeaBIOS under PVM writes an MP table listing
 * only the BSP (its own AP count times out there), while QEMU's MADT lists
 * every vCPU; our monitor writes only an MP table.
 */
static void find_cpus(void)
{
	u64 fp;

	cpu_ids[0] = smp_apic_id();
	ncpu_ids = 1;
	fp = mp_find();
	if (fp)
		mp_parse(fp);
	madt_find();
}

static bool ram_page(u64 pa)
{
	const struct mmap_entry *m = boot_info.map;

	for (u32 i = 0; i < boot_info.nmap; i++)
		if (m[i].type == E820_RAM && pa >= m[i].addr &&
		    pa + PAGE_SIZE <= m[i].addr + m[i].size)
			return true;
	return false;
}

static u64 tramp_install(void)
{
	u64 page = 0;

	for (u64 p = TRAMP_PAGE; p < LOW_RAM_END && !page; p += PAGE_SIZE)
		if (ram_page(p))
			page = p;
	for (u64 p = PAGE_SIZE; p < TRAMP_PAGE && !page; p += PAGE_SIZE)
		if (ram_page(p))
			page = p;
	if (page)
		memcpy((void *)page, tramp_start, (size_t)(tramp_end - tramp_start));
	return page;
}

static void lapic_ipi(u32 apic_id, u32 icr)
{
	u64 deadline = rdtsc() + tsc_from_us(IPI_TIMEOUT_US);

	mmio_write32(LAPIC_BASE + LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(LAPIC_BASE + LAPIC_ICR_LO, icr);
	while ((mmio_read32(LAPIC_BASE + LAPIC_ICR_LO) & ICR_PENDING) &&
	       rdtsc() < deadline)
		cpu_relax();
}

static bool wait_arrival(u32 cpu, u64 us)
{
	u64 deadline = rdtsc() + tsc_from_us(us);

	while (!READ_ONCE(arrived[cpu]))
		if (rdtsc() > deadline)
			return false;
	return true;
}

static bool start_ap(u32 cpu, u32 apic_id, u64 page)
{
	tss_install(cpu, (u64)kstacks[cpu] + KSTACK_SIZE);
	ap_boot.kernel_rsp = (u64)kstacks[cpu] + KSTACK_SIZE;
	ap_boot.user_rsp = (u64)ustacks[cpu] + USTACK_SIZE - 8;
	ap_boot.cpu = cpu;
	ap_boot.tr = GDT_TSS0 + 16 * cpu;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	lapic_ipi(apic_id, ICR_INIT);
	udelay(INIT_DELAY_US);
	lapic_ipi(apic_id, ICR_STARTUP | (u32)(page >> 12));
	if (wait_arrival(cpu, SIPI_DELAY_US))
		return true;
	lapic_ipi(apic_id, ICR_STARTUP | (u32)(page >> 12));
	return wait_arrival(cpu, AP_TIMEOUT_US);
}

u32 smp_boot(void)
{
	u64 page;

	find_cpus();
	if (ncpu_ids == 1)
		return smp_ncpus;
	page = tramp_install();
	if (!page) {
		print("SMP no free page below 640 KiB for the AP trampoline\n");
		return smp_ncpus;
	}
	mmio_write32(LAPIC_BASE + LAPIC_SVR,
		     mmio_read32(LAPIC_BASE + LAPIC_SVR) | SVR_ENABLE);
	for (u32 i = 1; i < ncpu_ids; i++) {
		if (!start_ap(smp_ncpus, cpu_ids[i], page)) {
			/* A late AP would take the next one's stacks: stop here. */
			print("CPU %u did not start\n", cpu_ids[i]);
			break;
		}
		smp_ncpus++;
	}
	return smp_ncpus;
}

void smp_ap_arrived(u32 cpu)
{
	print("CPU %u up\n", smp_apic_id());
	WRITE_ONCE(arrived[cpu], 1);
}
