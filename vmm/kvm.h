/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm: the KVM system and VM file descriptors, capability checks, the
 * in-kernel irqchip and PIT, and the CPUID table given to every vCPU.
 * It does not run vCPUs (vcpu.c) or save their state (cpu-state.c).
 */
#ifndef PGR_VMM_KVM_H
#define PGR_VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct kvm {
	int sys_fd;            /* /dev/kvm */
	int vm_fd;
	int run_size;          /* mmap size of struct kvm_run */
	int xsave_size;        /* bytes for KVM_GET_XSAVE2 (4096 without XSAVE2) */
	bool has_xsave2;
	struct kvm_cpuid2 *cpuid;  /* supported CPUID, masked; per-vCPU copies get APIC ids */
	int nr_msrs;
	uint32_t *msrs;        /* MSR indices saved and restored for every vCPU */
};

/* Open /dev/kvm, check the API and capabilities we need, create the VM with
 * irqchip and PIT. 0 or -errno with one error logged. */
int kvm_open(struct kvm *kvm);
void kvm_close(struct kvm *kvm);
int kvm_check_cap(struct kvm *kvm, long cap);
/* KVM's supported CPUID, without creating a VM (caller frees); NULL with
 * errno set and the error logged. */
struct kvm_cpuid2 *kvm_supported_cpuid(void);
/* CPUID table for vCPU @index of @ncpus (caller frees). */
struct kvm_cpuid2 *kvm_vcpu_cpuid(struct kvm *kvm, int index, int ncpus);
/* Probe which MSRs of KVM's list can be read on @vcpu_fd; fills kvm->msrs. */
int kvm_probe_msrs(struct kvm *kvm, int vcpu_fd);
/* Assert (level 1) or deassert an interrupt line of the in-kernel irqchip. */
int kvm_irq_line(struct kvm *kvm, uint32_t irq, int level);

#endif
