/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devstate: everything but RAM, in stream sections — the definition (first
 * section), every device (DEVICE: the device's JSON state under its name,
 * instance and version), every vCPU (CPU: vmm/cpu-state records) and the
 * VM-wide clock (VM). The loader checks that each device and vCPU of this
 * VM got its state exactly once, and refuses what it does not recognise.
 */
#ifndef PGR_MIGRATION_DEVSTATE_H
#define PGR_MIGRATION_DEVSTATE_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vm_config;
struct format_writer;
struct format_reader;
struct format_section;
struct cpu_state;

int devstate_write_definition(struct format_writer *w, const struct vm_config *cfg);
/* Read the DEFINITION section (the caller read its header) into @cfg. */
int devstate_read_definition(struct format_reader *r, struct vm_config *cfg);
/* DEVICE, CPU and VM sections; the vCPUs must be parked. */
int devstate_write_all(struct format_writer *w, struct vm *vm);

struct devstate_loader {
	struct vm *vm;
	struct cpu_state *cpus[64];
	bool device_seen[32];
	uint64_t clock_ns;
	bool clock_seen;
	const char *label;     /* the section being applied, for messages */
	uint64_t offset;
};

void devstate_loader_init(struct devstate_loader *l, struct vm *vm);
void devstate_loader_release(struct devstate_loader *l);
/* Apply one DEVICE, CPU or VM section (its header is @sec). */
int devstate_load_section(struct devstate_loader *l, struct format_reader *r,
			  const struct format_section *sec);
/* After END: everything present? then set the vCPUs. */
int devstate_finish(struct devstate_loader *l, struct format_reader *r);

#endif
