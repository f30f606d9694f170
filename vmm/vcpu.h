/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcpu: one thread per virtual CPU running KVM_RUN and dispatching its
 * exits to the buses; the pause handshake (park outside KVM_RUN, kicked
 * by a signal plus kvm_run->immediate_exit so a kick is never lost).
 * Register state lives in cpu-state.c.
 */
#ifndef PGR_VMM_VCPU_H
#define PGR_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

struct vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	struct kvm_cpuid2 *cpuid; /* the CPUID we set: what the guest is shown */
	pthread_t thread;
	int tid;               /* the thread's id, for query-cpus */
	bool thread_started;
	bool parked;
	unsigned int stuck_gen; /* resume generation when it last could not go on */
	uint64_t exits;        /* KVM_RUN returns, for query-cpus */
	uint32_t throttle_pct; /* auto-converge: share of each 10 ms held off */
	uint64_t window_ns;    /* start of the current throttle window */
};

struct vcpu *vcpu_new(struct vm *vm, int index);
void vcpu_free(struct vcpu *v);
int vcpu_start(struct vcpu *v);
/* Make the vCPU leave KVM_RUN soon (any thread). */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);

#endif
