// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu: the vCPU thread and its exit handling (see vcpu.h). A vCPU parks
 * whenever vm->pause_req is set; the pauser sets the flag, then sets
 * immediate_exit and signals the thread, so KVM_RUN either returns at once
 * or was not entered. Parking happens only between KVM_RUN calls, so a
 * parked vCPU's registers are complete and can be saved.
 */
#include "vmm/vcpu.h"

#define LOG_SUBSYS "vcpu"
#include "lib/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

static void install_kick_handler_once(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);   /* no SA_RESTART: KVM_RUN gets EINTR */
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_kick_handler_once);
}

struct vcpu *vcpu_new(struct vm *vm, int index)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	struct kvm_cpuid2 *cpuid;

	if (!v)
		return NULL;
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0)
		goto err;
	v->run = mmap(NULL, vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		goto err;
	}
	cpuid = kvm_vcpu_cpuid(&vm->kvm, index, vm->ncpus);
	if (!cpuid || ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		free(cpuid);
		goto err;
	}
	v->cpuid = cpuid;
	return v;
err:
	pr_err("creating vCPU %d: %m", index);
	vcpu_free(v);
	return NULL;
}

void vcpu_free(struct vcpu *v)
{
	if (!v)
		return;
	if (v->run)
		munmap(v->run, v->vm->kvm.run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v->cpuid);
	free(v);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;

	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		bus_access(&v->vm->pio, r->io.port, data, r->io.size,
			   r->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	bus_access(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
		   r->mmio.is_write);
}

static void report_failure(struct vcpu *v, const char *what, unsigned long long code)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	ioctl(v->fd, KVM_GET_REGS, &regs);
	pr_err("vCPU %d: %s (0x%llx) at rip 0x%llx", v->index, what, code,
	       (unsigned long long)regs.rip);
	vm_request(v->vm, VM_REQ_ERROR);
}

/* Returns false when the vCPU must stop running until the next request. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; treat as power-off. */
		vm_request(v->vm, VM_REQ_POWEROFF);
		return false;
	case KVM_EXIT_SHUTDOWN:
		pr_info("vCPU %d: triple fault, resetting", v->index);
		vm_request(v->vm, VM_REQ_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vm_request(v->vm, r->system_event.type == KVM_SYSTEM_EVENT_RESET ?
			   VM_REQ_RESET : VM_REQ_POWEROFF);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		report_failure(v, "KVM internal error, suberror", r->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		report_failure(v, "entry failed, hardware reason",
			       r->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		report_failure(v, "unhandled exit reason", r->exit_reason);
		return false;
	}
}

/*
 * Park while a pause is requested. A vCPU that cannot go on (@stuck: its
 * exit needs the main loop, or it has not been started) also waits for the
 * next resume. Returns false when the thread must exit.
 */
static bool park(struct vcpu *v, bool stuck)
{
	struct vm *vm = v->vm;
	unsigned int gen;
	bool go_on;

	pthread_mutex_lock(&vm->lock);
	gen = v->stuck_gen;
	while ((vm->pause_req || (stuck && gen == vm->resume_gen)) && !vm->quit) {
		if (!v->parked) {
			v->parked = true;
			vm->nr_parked++;
			pthread_cond_broadcast(&vm->cond);
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	if (v->parked) {
		v->parked = false;
		vm->nr_parked--;
	}
	v->run->immediate_exit = 0;
	go_on = !vm->quit;
	pthread_mutex_unlock(&vm->lock);
	return go_on;
}

/*
 * Auto-converge: in every 10 ms window a throttled vCPU runs for
 * (100 - pct)% and sleeps for the rest. The check happens at each exit;
 * the migration thread kicks vCPUs that exit too rarely.
 */
static void throttle(struct vcpu *v)
{
	uint32_t pct = __atomic_load_n(&v->throttle_pct, __ATOMIC_RELAXED);
	struct timespec now, ts;
	uint64_t t;

	if (!pct)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	if (t - v->window_ns < (100 - pct) * 100000ULL)
		return;
	ts = (struct timespec){ 0, pct * 100000L };
	nanosleep(&ts, NULL);
	v->window_ns = t + pct * 100000ULL;
}

/*
 * An I/O or MMIO exit is complete only once KVM_RUN is entered again (KVM
 * then advances RIP, stores IN data, finishes a rep string instruction).
 * Re-enter with immediate_exit set before parking so that the state a
 * migration or a save reads is consistent; otherwise a restored guest
 * would, say, repeat the tail of a rep outsb (seen: a heartbeat line
 * printed twice across a restore).
 */
static void complete_pending(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		v->exits++;         /* a real exit after all: nothing was pending */
	v->run->immediate_exit = 0;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	bool stuck = true;       /* start parked until the first resume */

	v->tid = gettid();
	for (;;) {
		if (stuck || __atomic_load_n(&v->vm->pause_req, __ATOMIC_ACQUIRE)) {
			complete_pending(v);
			if (!park(v, stuck))
				break;
		}
		stuck = false;
		throttle(v);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			report_failure(v, "KVM_RUN failed, errno", errno);
			v->stuck_gen = __atomic_load_n(&v->vm->resume_gen, __ATOMIC_ACQUIRE);
			stuck = true;
			continue;
		}
		v->exits++;
		if (!handle_exit(v)) {
			v->stuck_gen = __atomic_load_n(&v->vm->resume_gen, __ATOMIC_ACQUIRE);
			stuck = true;
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t block, old;
	int err;

	install_kick_handler();
	/* The thread inherits a mask with the kick signal unblocked. */
	sigemptyset(&block);
	sigaddset(&block, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &block, &old);
	err = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	v->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (v->thread_started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}
