/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vm: owns everything one guest is made of — the KVM VM, guest memory, the
 * vCPUs, the buses and devices — and its lifecycle: one state enum, one
 * transition function that refuses illegal moves and emits an event.
 * Requests that arise on vCPU threads (reset, power-off, internal error) are
 * queued here and carried out by the main loop thread, which alone builds,
 * pauses, resets and tears down.
 */
#ifndef PGR_VMM_VM_H
#define PGR_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "lib/vmconfig.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"

#define VM_MAX_VCPUS   64
#define VM_MAX_DEVICES 32

enum vm_state {
	VM_PRELAUNCH,          /* built, not yet run (--paused, or loading) */
	VM_RUNNING,
	VM_PAUSED,             /* stopped by the user (stop) */
	VM_INMIGRATE,          /* incoming: waiting for / loading a stream */
	VM_MIGRATING_PAUSED,   /* stopped by migration for stop-and-copy */
	VM_POSTMIGRATE,        /* migrated away or saved; the VM is done here */
	VM_SHUTDOWN,           /* guest powered off / process quitting */
	VM_INTERNAL_ERROR,     /* KVM could not run the guest */
	VM__NR_STATES,
};

enum vm_request {
	VM_REQ_RESET = 1 << 0,
	VM_REQ_POWEROFF = 1 << 1,
	VM_REQ_ERROR = 1 << 2,
};

/* Host-local options of this monitor, not part of the guest definition. */
struct vm_opts {
	const char *serial;    /* --serial spec */
	bool no_reboot;        /* a guest reset ends the process */
	const char *cpu;       /* --cpu host[,-FEATURE...] */
};

struct vcpu;
struct pm;
struct virtio_blk;
struct virtio_net;
struct virtio_pci;
struct serial;
struct pci;
struct api;
struct loop;

struct vm {
	struct vm_config cfg;
	struct kvm kvm;
	struct guest_mem *gm;
	struct bus pio, mmio;
	int ncpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	int ndevices;
	struct device devices[VM_MAX_DEVICES];
	struct vm_opts opts;
	struct serial *serial;
	struct pci *pci;
	struct pm *pm;
	int nblks, nnets;
	struct virtio_blk *blks[VMCONFIG_MAX_DISKS];
	struct virtio_net *nets[VMCONFIG_MAX_NETS];
	int nvirtio;
	struct virtio_pci *virtio[VMCONFIG_MAX_DISKS + VMCONFIG_MAX_NETS];
	struct boot_result boot;

	pthread_mutex_t lock;  /* state, pause handshake */
	pthread_mutex_t io_lock; /* held while devices process I/O; migration quiesces with it */
	bool io_stopped;       /* under io_lock: devices take no new requests (migrated away) */
	pthread_cond_t cond;
	enum vm_state state;
	bool pause_req;        /* vCPUs must park */
	int nr_parked;
	unsigned int resume_gen; /* bumped by every resume: wakes stuck vCPUs */
	bool quit;             /* vCPU threads must exit */

	unsigned int requests; /* enum vm_request bits, atomic */
	int req_fd;            /* eventfd: wakes the main loop for requests */
	struct loop *loop;
	struct api *api;
	int exit_status;
	bool guest_shutdown;   /* the guest itself powered off or reset with --no-reboot */
	int kernel_fd, initrd_fd; /* kept open: a reset reloads what was booted */
	void *initial_cpu_state[VM_MAX_VCPUS]; /* power-on snapshot, for reset */
	struct migration *mig; /* outgoing migration state, once used */
	struct lazy_ram *lazy; /* --lazy restore: RAM still arriving from the file */
	bool ram_pending;      /* main loop: device I/O waits until RAM is all checked */
	pthread_t main_thread; /* runs the loop; sends events */
};

extern const char *const vm_state_names[VM__NR_STATES];

/* Build the VM from its config: KVM, memory, devices, vCPUs (not started). */
struct vm *vm_new(const struct vm_config *cfg, const struct vm_opts *opts, char **err);
void vm_free(struct vm *vm);
/* Load the kernel and set the boot vCPU for it (a fresh boot or a reset). */
int vm_boot(struct vm *vm, char **err);
/* The one place the state changes; -EINVAL (and a log line) on illegal moves. */
int vm_set_state(struct vm *vm, enum vm_state to);
enum vm_state vm_get_state(struct vm *vm);
/* Start the vCPU threads (parked until vm_resume_vcpus). */
int vm_start_vcpus(struct vm *vm);
/* Park every vCPU outside KVM_RUN and wait until all are parked. Idempotent. */
void vm_pause_vcpus(struct vm *vm);
void vm_resume_vcpus(struct vm *vm);
/* Stop and join the vCPU threads. */
void vm_stop_vcpus(struct vm *vm);
/* From any thread: ask the main loop to reset / power off / fail the VM. */
void vm_request(struct vm *vm, enum vm_request req);
unsigned int vm_take_requests(struct vm *vm);
/* Reset the whole machine to power-on and boot again (vCPUs parked). */
int vm_reset(struct vm *vm);
int vm_add_device(struct vm *vm, const struct device_ops *ops, int instance, void *dev);
void vm_emit_event(struct vm *vm, const char *event, void *data_json);

#endif
