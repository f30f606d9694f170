// SPDX-License-Identifier: GPL-2.0-only
/*
 * mptable: builds the MP floating pointer and configuration table (see
 * mptable.h for where they go and what is left out). Entry order follows
 * the spec's requirement: processors, buses, IOAPICs, I/O interrupts, local
 * interrupts. Routing matches KVM's in-kernel irqchip: ISA IRQ0 (the PIT)
 * arrives at IOAPIC pin 2, every other ISA IRQ at the pin of its number;
 * IRQ2 (the 8259 cascade, no device) gets no entry since pin 2 is IRQ0's.
 */
#include "vmm/mptable.h"

#include <errno.h>
#include <string.h>

#define MP_SPEC_REV       4      /* 1.4 */
#define MP_LAPIC_VERSION  0x14   /* an integrated local APIC */
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_SIGNATURE  0x600  /* family 6 */
#define MP_CPU_FEATURES   0x201  /* FPU | APIC */
#define MP_NR_ISA_IRQS    16
#define MP_NR_IOINTR      (MP_NR_ISA_IRQS - 1)  /* all but IRQ2 */
#define MP_NR_LINTR       2

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

size_t mptable_cfg_size(int ncpus)
{
	return sizeof(struct mp_config) + (size_t)ncpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_NR_IOINTR + MP_NR_LINTR) * sizeof(struct mp_intr);
}

static uint8_t *mp_put_cpus(uint8_t *p, int ncpus)
{
	for (int i = 0; i < ncpus; i++) {
		struct mp_processor e = {
			.type = MP_PROCESSOR, .apic_id = (uint8_t)i,
			.apic_ver = MP_LAPIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = MP_CPU_SIGNATURE, .features = MP_CPU_FEATURES,
		};
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	return p;
}

static uint8_t *mp_put_intr(uint8_t *p, uint8_t type, uint8_t irq_type, uint8_t src_irq,
			    uint8_t dst_apic, uint8_t dst_pin)
{
	struct mp_intr e = {
		.type = type, .irq_type = irq_type, .src_bus = MPTABLE_ISA_BUS,
		.src_irq = src_irq, .dst_apic = dst_apic, .dst_pin = dst_pin,
	};

	memcpy(p, &e, sizeof(e));
	return p + sizeof(e);
}

static uint8_t *mp_put_isa(uint8_t *p, uint8_t ioapic_id)
{
	struct mp_bus bus = { .type = MP_BUS, .bus_id = MPTABLE_ISA_BUS };
	struct mp_ioapic io = {
		.type = MP_IOAPIC, .apic_id = ioapic_id, .apic_ver = MP_IOAPIC_VERSION,
		.flags = MP_IOAPIC_ENABLED, .addr = MPTABLE_IOAPIC_ADDR,
	};

	memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	for (int irq = 0; irq < MP_NR_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		p = mp_put_intr(p, MP_IOINTR, MP_INT, (uint8_t)irq, ioapic_id,
				irq == 0 ? 2 : (uint8_t)irq);
	}
	p = mp_put_intr(p, MP_LINTR, MP_EXTINT, 0, 0xFF, 0);
	return mp_put_intr(p, MP_LINTR, MP_NMI, 0, 0xFF, 1);
}

int mptable_build(int ncpus, uint32_t cfg_gpa, struct mp_floating *fps, void *cfg)
{
	struct mp_config hdr = { .spec_rev = MP_SPEC_REV, .lapic_addr = MPTABLE_LAPIC_ADDR };
	size_t len = mptable_cfg_size(ncpus);
	uint8_t *p;

	if (ncpus < 1 || ncpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	memcpy(hdr.signature, "PCMP", sizeof(hdr.signature));
	memcpy(hdr.oem, "PEREGRIN", sizeof(hdr.oem));
	memcpy(hdr.product, "PGR-VMM     ", sizeof(hdr.product));
	hdr.length = (uint16_t)len;
	hdr.count = (uint16_t)(ncpus + 2 + MP_NR_IOINTR + MP_NR_LINTR);
	p = mp_put_cpus((uint8_t *)cfg + sizeof(hdr), ncpus);
	mp_put_isa(p, (uint8_t)ncpus);
	memcpy(cfg, &hdr, sizeof(hdr));
	((struct mp_config *)cfg)->checksum = mp_checksum(cfg, len);

	memset(fps, 0, sizeof(*fps));
	memcpy(fps->signature, "_MP_", 4);
	fps->config_paddr = cfg_gpa;
	fps->length = 1;
	fps->spec_rev = MP_SPEC_REV;
	fps->checksum = mp_checksum(fps, sizeof(*fps));
	return 0;
}

int mptable_write(struct guest_mem *gm, int ncpus)
{
	uint8_t cfg[2048];
	struct mp_floating fps;
	int err;

	_Static_assert(sizeof(struct mp_config) + MPTABLE_MAX_CPUS * sizeof(struct mp_processor) +
		       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
		       (MP_NR_IOINTR + MP_NR_LINTR) * sizeof(struct mp_intr) <= sizeof(cfg) &&
		       sizeof(cfg) <= MPTABLE_CFG_MAX,
		       "the MP configuration table for MPTABLE_MAX_CPUS must fit");
	err = mptable_build(ncpus, (uint32_t)MPTABLE_CFG_GPA, &fps, cfg);
	if (err)
		return err;
	err = gm_write(gm, MPTABLE_CFG_GPA, cfg, mptable_cfg_size(ncpus));
	if (!err)
		err = gm_write(gm, MPTABLE_FPS_GPA, &fps, sizeof(fps));
	return err;
}
