/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu-state: the complete architectural state of one x86 vCPU as KVM holds
 * it, read and written in a fixed, documented order (docs/cpu-state.md),
 * and its encoding for migration streams: tagged, length-checked records so
 * that a stream from another build is either understood or refused with the
 * name of the record that does not fit. The vCPU must be parked.
 */
#ifndef PGR_VMM_CPU_STATE_H
#define PGR_VMM_CPU_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;

#define CPU_STATE_MAX_MSRS 256

struct cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	uint32_t xsave_size;
	uint32_t nmsrs;
	struct kvm_msr_entry msrs[CPU_STATE_MAX_MSRS];
	uint8_t *xsave;        /* xsave_size bytes */
	struct kvm_cpuid2 *cpuid; /* what the guest was shown */
};

struct cpu_state *cpu_state_get(struct vcpu *v);
int cpu_state_set(struct vcpu *v, const struct cpu_state *s, char **err);
void cpu_state_free(struct cpu_state *s);

/* Encode into a malloc'd buffer; *len gets its size. */
void *cpu_state_encode(const struct cpu_state *s, size_t *len);
/* Decode and validate; NULL with *err on any inconsistency. */
struct cpu_state *cpu_state_decode(const void *buf, size_t len, char **err);

#endif
