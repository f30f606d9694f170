// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-mptable: the MP floating pointer and configuration table for 1, 2, 4
 * and 64 CPUs — signatures, both checksums, entry counts and order, BSP and
 * APIC ids, the IOAPIC, IRQ0 on pin 2, LINT0/LINT1 — built in a buffer and
 * written into guest memory; CPU counts outside 1..64 refused.
 * The code under test is vmm/mptable.c.
 */
#include "vmm/mptable.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/unit/unit.h"

static uint8_t sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

/* Walk the entries: counts per type, in the spec's order. */
static void check_entries(const uint8_t *cfg, int ncpus)
{
	const struct mp_config *h = (const void *)cfg;
	const uint8_t *p = cfg + sizeof(*h);
	int count[5] = { 0 }, last_type = 0, bsps = 0, irq0_pin = -1, lint = 0;

	for (int i = 0; i < h->count; i++) {
		uint8_t type = *p;

		CHECK(type <= MP_LINTR);
		CHECK(type >= last_type);
		last_type = type;
		count[type]++;
		if (type == MP_PROCESSOR) {
			const struct mp_processor *e = (const void *)p;

			CHECK_EQ_INT(e->apic_id, count[MP_PROCESSOR] - 1);
			CHECK(e->flags & MP_CPU_ENABLED);
			bsps += !!(e->flags & MP_CPU_BSP);
			if (e->apic_id == 0)
				CHECK(e->flags & MP_CPU_BSP);
			p += sizeof(*e);
			continue;
		}
		if (type == MP_BUS)
			CHECK(!memcmp(((const struct mp_bus *)p)->bus_type, "ISA   ", 6));
		if (type == MP_IOAPIC) {
			const struct mp_ioapic *io = (const void *)p;

			CHECK_EQ_INT(io->apic_id, ncpus);
			CHECK_EQ_U64(io->addr, 0xFEC00000);
			CHECK(io->flags & MP_IOAPIC_ENABLED);
		}
		if (type == MP_IOINTR) {
			const struct mp_intr *e = (const void *)p;

			CHECK_EQ_INT(e->dst_apic, ncpus);
			CHECK_EQ_INT(e->irq_type, MP_INT);
			if (e->src_irq == 0)
				irq0_pin = e->dst_pin;
			else
				CHECK_EQ_INT(e->dst_pin, e->src_irq);
		}
		if (type == MP_LINTR) {
			const struct mp_intr *e = (const void *)p;

			CHECK_EQ_INT(e->dst_apic, 0xFF);
			CHECK_EQ_INT(e->irq_type, e->dst_pin == 0 ? MP_EXTINT : MP_NMI);
			lint |= 1 << e->dst_pin;
		}
		p += 8;
	}
	CHECK_EQ_U64(p - cfg, h->length);
	CHECK_EQ_INT(count[MP_PROCESSOR], ncpus);
	CHECK_EQ_INT(count[MP_BUS], 1);
	CHECK_EQ_INT(count[MP_IOAPIC], 1);
	CHECK_EQ_INT(count[MP_IOINTR], 15);
	CHECK_EQ_INT(count[MP_LINTR], 2);
	CHECK_EQ_INT(bsps, 1);
	CHECK_EQ_INT(irq0_pin, 2);
	CHECK_EQ_INT(lint, 3);
}

static void test_build(int ncpus)
{
	uint8_t cfg[4096];
	struct mp_floating fps;
	const struct mp_config *h = (const void *)cfg;
	size_t len = mptable_cfg_size(ncpus);

	memset(cfg, 0xcc, sizeof(cfg));
	CHECK_EQ_INT(mptable_build(ncpus, 0xF0000, &fps, cfg), 0);
	CHECK(!memcmp(fps.signature, "_MP_", 4));
	CHECK_EQ_U64(fps.config_paddr, 0xF0000);
	CHECK_EQ_INT(fps.length, 1);
	CHECK_EQ_INT(fps.spec_rev, 4);
	CHECK_EQ_INT(sum8(&fps, sizeof(fps)), 0);
	CHECK_EQ_INT(fps.feature[0], 0);
	CHECK(!memcmp(h->signature, "PCMP", 4));
	CHECK_EQ_U64(h->length, len);
	CHECK_EQ_INT(h->spec_rev, 4);
	CHECK_EQ_INT(sum8(cfg, len), 0);
	CHECK_EQ_INT(h->count, ncpus + 2 + 15 + 2);
	CHECK_EQ_U64(h->lapic_addr, 0xFEE00000);
	CHECK_EQ_INT(h->ext_length, 0);
	check_entries(cfg, ncpus);
}

static void test_sizes(void)
{
	CHECK_EQ_U64(sizeof(struct mp_floating), 16);
	CHECK_EQ_U64(sizeof(struct mp_config), 44);
	CHECK_EQ_U64(sizeof(struct mp_processor), 20);
	CHECK_EQ_U64(sizeof(struct mp_intr), 8);
	/* 64 CPUs: 1476 bytes, which is why the table is not beside the pointer */
	CHECK_EQ_U64(mptable_cfg_size(64), 44 + 64 * 20 + 8 + 8 + 17 * 8);
	CHECK(mptable_cfg_size(64) <= MPTABLE_CFG_MAX);
	CHECK(MPTABLE_CFG_GPA + MPTABLE_CFG_MAX <= 0x100000);
}

static void test_refused(void)
{
	uint8_t cfg[4096];
	struct mp_floating fps;

	CHECK_EQ_INT(mptable_build(0, 0xF0000, &fps, cfg), -EINVAL);
	CHECK_EQ_INT(mptable_build(65, 0xF0000, &fps, cfg), -EINVAL);
	CHECK_EQ_INT(mptable_build(-1, 0xF0000, &fps, cfg), -EINVAL);
}

static void test_in_guest_memory(int ncpus)
{
	struct guest_mem *gm = gm_new(64ULL << 20);
	struct mp_floating fps;
	uint8_t cfg[4096];

	CHECK(gm != NULL);
	if (!gm)
		return;
	CHECK_EQ_INT(mptable_write(gm, ncpus), 0);
	CHECK_EQ_INT(gm_read(gm, MPTABLE_FPS_GPA, &fps, sizeof(fps)), 0);
	CHECK(!memcmp(fps.signature, "_MP_", 4));
	CHECK_EQ_INT(sum8(&fps, sizeof(fps)), 0);
	CHECK_EQ_INT(gm_read(gm, fps.config_paddr, cfg, mptable_cfg_size(ncpus)), 0);
	CHECK_EQ_INT(sum8(cfg, mptable_cfg_size(ncpus)), 0);
	check_entries(cfg, ncpus);
	CHECK_EQ_INT(mptable_write(gm, 65), -EINVAL);
	gm_free(gm);
}

int main(void)
{
	static const int cpus[] = { 1, 2, 4, 64 };

	test_sizes();
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
		test_build(cpus[i]);
	test_refused();
	test_in_guest_memory(1);
	test_in_guest_memory(64);
	return UNIT_DONE();
}
