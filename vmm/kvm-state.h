/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm-state: the VM-wide state KVM keeps in the kernel — the PIC pair, the
 * IOAPIC, the PIT — as a device ("kvm") so that migration and reset treat
 * it like any other: saved with every device, restored before the vCPUs,
 * reset to the power-on snapshot taken when the VM was built. The guest
 * clock (kvmclock) is separate: it must be read right at the pause and set
 * right before the resume (kvm_clock_get/kvm_clock_set).
 */
#ifndef PGR_VMM_KVM_STATE_H
#define PGR_VMM_KVM_STATE_H

#include <stdint.h>

struct vm;

int kvm_state_create(struct vm *vm);
int kvm_clock_get(struct vm *vm, uint64_t *ns);
int kvm_clock_set(struct vm *vm, uint64_t ns);

#endif
