/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * main.c: the test guest at CPL 3. On the BSP: parse the command line, print
 * the memory map, calibrate the TSC, start the APs, lay out the work, print
 * the banner, then loop forever: heartbeat, console, disk and network, a
 * step of work. On an
 * AP: report in, wait for the banner, then loop on work steps. The virtio
 * devices (vblk.c, vnet.c) are set up before the banner and polled from
 * the BSP's loop.
 *
 * The heartbeat is driven by the TSC alone: H<seq> every hb ms; when the TSC
 * jumped past more than a whole period (the VM was paused, saved, migrated)
 * the next line comes at once and the schedule restarts from now — missed
 * beats are never replayed. Nothing here ever halts or waits on a device
 * other than the UART's transmit register.
 */
#include "main.h"
#include "boot.h"
#include "console.h"
#include "paging.h"
#include "smp.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"
#include "vblk.h"
#include "vnet.h"
#include "work.h"

#define GUEST_VERSION	1
#define DEFAULT_HB_MS	1
#define MAX_HB_MS	3600000UL
#define POLL_US		5000	/* console polling period: a port read costs */

struct config {
	u64 fill_mib;		/* 0: default */
	u64 rate;
	u64 verify;
	u64 hb_ms;
	bool selftest_corrupt;
};

static struct config cfg = {
	.verify = DEFAULT_VERIFY_MIB,
	.hb_ms = DEFAULT_HB_MS,
};

static u32 go;			/* set once the banner is out: APs start */
static u64 hb_seq, hb_next, hb_period;
static u64 poll_next, poll_period;
static struct {
	u64 user, calibrated, smp, banner;
} stamp;

static void parse_option(const char *w, size_t len)
{
	static const struct { const char *key; u64 *val; } keys[] = {
		{ "fill=", &cfg.fill_mib }, { "rate=", &cfg.rate },
		{ "verify=", &cfg.verify }, { "hb=", &cfg.hb_ms },
	};

	if (vblk_option(w, len) || vnet_option(w, len))
		return;
	if (len == 16 && !memcmp(w, "selftest-corrupt", len)) {
		cfg.selftest_corrupt = true;
		return;
	}
	for (u32 i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t k = strlen(keys[i].key);

		if (len > k && !memcmp(w, keys[i].key, k))
			parse_u64(w + k, len - k, keys[i].val);
	}
}

static void parse_cmdline(const char *s)
{
	while (*s) {
		const char *w;

		while (*s == ' ')
			s++;
		for (w = s; *s && *s != ' '; s++)
			;
		if (s > w)
			parse_option(w, (size_t)(s - w));
	}
	cfg.rate = min_u64(cfg.rate, 0xffffffffUL);
	cfg.verify = min_u64(cfg.verify, 0xffffffffUL);
	cfg.hb_ms = cfg.hb_ms ? min_u64(cfg.hb_ms, MAX_HB_MS) : DEFAULT_HB_MS;
}

/* Prints the E820 lines; returns usable RAM in MiB, rounded to nearest. */
static u64 print_memmap(void)
{
	const struct mmap_entry *m = boot_info.map;
	u64 ram = 0;

	for (u32 i = 0; i < boot_info.nmap; i++) {
		print("E820 0x%lx 0x%lx %u\n", m[i].addr, m[i].addr + m[i].size, m[i].type);
		if (m[i].type == E820_RAM)
			ram += m[i].size;
	}
	return (ram + MIB / 2) / MIB;
}

static void heartbeat(u64 now)
{
	if (hb_next > now && hb_next - now > hb_period)
		hb_next = now;		/* the TSC went backwards */
	if (now < hb_next)
		return;
	print("H%lu\n", ++hb_seq);
	if (now - hb_next >= hb_period)
		hb_next = now + hb_period;	/* paused: restart from now */
	else
		hb_next += hb_period;
}

u64 main_heartbeats(void)
{
	return hb_seq;
}

static void announce_ready(void)
{
	u64 now = rdtsc();

	print("READY\n");
	if (cfg.selftest_corrupt)
		work_corrupt_one();
	print("TIMES supervisor_us=%lu calibrate_us=%lu smp_us=%lu fill_ms=%lu\n",
	      tsc_to_us(stamp.user - boot_tsc), tsc_to_us(stamp.calibrated - stamp.user),
	      tsc_to_us(stamp.smp - stamp.calibrated), tsc_to_ms(now - stamp.banner));
	work_start(rdtsc());
}

static __noreturn void bsp_loop(void)
{
	bool started = false;

	for (;;) {
		u64 now = rdtsc();

		heartbeat(now);
		if (now >= poll_next) {
			console_poll();
			vnet_poll_config();
			poll_next = now + poll_period;
		}
		if (!started && work_filled()) {
			announce_ready();
			started = true;
		}
		vblk_step(now);
		vnet_step(now);
		work_step(0, now);
	}
}

static void calibrate(void)
{
	u64 cpuid_khz;

	print("TSC %lu kHz\n", tsc_calibrate());
	cpuid_khz = tsc_cpuid_khz();
	if (cpuid_khz)
		print("TSC-CPUID %lu kHz\n", cpuid_khz);
}

void user_main(u64 unused)
{
	u64 mem_mib, pages;

	stamp.user = rdtsc();
	parse_cmdline(boot_info.cmdline);
	mem_mib = print_memmap();
	paging_map_high_ram();
	calibrate();
	stamp.calibrated = rdtsc();
	smp_boot();
	stamp.smp = rdtsc();
	vblk_init();
	vnet_init();
	work_set_rates((u32)cfg.rate, (u32)cfg.verify);
	pages = work_layout(cfg.fill_mib, smp_ncpus);
	print("PGR-TESTGUEST %u cpus=%u mem=%lu fill=%lu rate=%lu verify=%lu cmdline=\"%s\"\n",
	      GUEST_VERSION, smp_ncpus, mem_mib, pages * PAGE_SIZE / MIB, cfg.rate,
	      cfg.verify, boot_info.cmdline);
	hb_period = tsc_from_us(cfg.hb_ms * 1000);
	poll_period = tsc_from_us(POLL_US);
	stamp.banner = rdtsc();
	hb_next = stamp.banner + hb_period;
	poll_next = stamp.banner;
	WRITE_ONCE(go, 1);
	bsp_loop();
}

void ap_user_entry(u64 cpu)
{
	smp_ap_arrived((u32)cpu);
	while (!READ_ONCE(go))
		cpu_relax();
	while (cpu >= smp_ncpus)	/* arrived after the BSP gave up on it */
		cpu_relax();
	for (;;)
		work_step((u32)cpu, rdtsc());
}
