// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm: building, booting, pausing, resetting and tearing down one VM, and
 * its state machine (see vm.h). Devices are created by devices/ and
 * registered here; the main loop (main.c, loop.c) drives requests.
 */
#include "vmm/vm.h"

#define LOG_SUBSYS "vm"
#include "lib/log.h"
#include "devices/devices.h"
#include "vmm/api.h"
#include "vmm/cpu-state.h"
#include "vmm/cpuid.h"
#include "vmm/loop.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const vm_state_names[VM__NR_STATES] = {
	[VM_PRELAUNCH] = "prelaunch",
	[VM_RUNNING] = "running",
	[VM_PAUSED] = "paused",
	[VM_INMIGRATE] = "inmigrate",
	[VM_MIGRATING_PAUSED] = "finish-migrate",
	[VM_POSTMIGRATE] = "postmigrate",
	[VM_SHUTDOWN] = "shutdown",
	[VM_INTERNAL_ERROR] = "internal-error",
};

/* allowed[from] is the set of states reachable from @from. */
#define S(x) (1u << (x))
static const unsigned int allowed[VM__NR_STATES] = {
	[VM_PRELAUNCH] = S(VM_RUNNING) | S(VM_PAUSED) | S(VM_INMIGRATE) | S(VM_SHUTDOWN) |
			 S(VM_INTERNAL_ERROR),
	[VM_RUNNING] = S(VM_PAUSED) | S(VM_MIGRATING_PAUSED) | S(VM_SHUTDOWN) |
		       S(VM_INTERNAL_ERROR) | S(VM_PRELAUNCH),
	[VM_PAUSED] = S(VM_RUNNING) | S(VM_MIGRATING_PAUSED) | S(VM_SHUTDOWN) |
		      S(VM_PRELAUNCH) | S(VM_INTERNAL_ERROR),
	[VM_INMIGRATE] = S(VM_RUNNING) | S(VM_PAUSED) | S(VM_SHUTDOWN) | S(VM_INTERNAL_ERROR),
	[VM_MIGRATING_PAUSED] = S(VM_RUNNING) | S(VM_PAUSED) | S(VM_POSTMIGRATE) |
				S(VM_SHUTDOWN),
	[VM_POSTMIGRATE] = S(VM_SHUTDOWN) | S(VM_RUNNING),
	[VM_SHUTDOWN] = S(VM_PRELAUNCH),
	[VM_INTERNAL_ERROR] = S(VM_SHUTDOWN) | S(VM_PRELAUNCH),
};
#undef S

int vm_set_state(struct vm *vm, enum vm_state to)
{
	enum vm_state from;

	pthread_mutex_lock(&vm->lock);
	from = vm->state;
	if (from != to && !(allowed[from] & (1u << to))) {
		pthread_mutex_unlock(&vm->lock);
		pr_err("illegal state change %s -> %s", vm_state_names[from], vm_state_names[to]);
		return -EINVAL;
	}
	vm->state = to;
	pthread_mutex_unlock(&vm->lock);
	if (from == to)
		return 0;
	pr_debug("state %s -> %s", vm_state_names[from], vm_state_names[to]);
	if (vm->api) {
		json_t *data = json_pack("{s:s, s:s}", "from", vm_state_names[from],
					 "status", vm_state_names[to]);

		vm_emit_event(vm, "STATE_CHANGE", data);
	}
	return 0;
}

enum vm_state vm_get_state(struct vm *vm)
{
	enum vm_state s;

	pthread_mutex_lock(&vm->lock);
	s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

struct pending_event {
	struct vm *vm;
	char *event;
	json_t *data;
};

static void emit_pending(void *opaque, uint32_t events)
{
	struct pending_event *e = opaque;

	vm_emit_event(e->vm, e->event, e->data);
	free(e->event);
	free(e);
}

/* Events are sent by the main loop: other threads hand them over. */
void vm_emit_event(struct vm *vm, const char *event, void *data_json)
{
	struct pending_event *e;

	if (pthread_equal(pthread_self(), vm->main_thread)) {
		if (vm->api)
			api_emit_event(vm->api, event, data_json);
		else
			json_decref(data_json);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (e) {
		e->vm = vm;
		e->data = data_json;
		e->event = strdup(event);
	}
	if (!e || !e->event || !vm->loop || loop_call(vm->loop, emit_pending, e) < 0) {
		json_decref(data_json);
		if (e)
			free(e->event);
		free(e);
	}
}

void vm_request(struct vm *vm, enum vm_request req)
{
	uint64_t one = 1;

	__atomic_fetch_or(&vm->requests, req, __ATOMIC_SEQ_CST);
	if (write(vm->req_fd, &one, sizeof(one)) < 0)
		pr_warn("waking the main loop: %m");
}

unsigned int vm_take_requests(struct vm *vm)
{
	uint64_t v;

	if (read(vm->req_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn("reading requests: %m");
	return __atomic_exchange_n(&vm->requests, 0, __ATOMIC_SEQ_CST);
}

int vm_add_device(struct vm *vm, const struct device_ops *ops, int instance, void *dev)
{
	if (vm->ndevices == VM_MAX_DEVICES)
		return -ENOSPC;
	vm->devices[vm->ndevices++] = (struct device){
		.ops = ops, .instance = instance, .dev = dev,
	};
	return 0;
}

static int create_vcpus(struct vm *vm)
{
	for (int i = 0; i < vm->ncpus; i++) {
		vm->vcpus[i] = vcpu_new(vm, i);
		if (!vm->vcpus[i])
			return -EIO;
	}
	if (kvm_probe_msrs(&vm->kvm, vm->vcpus[0]->fd) < 0)
		return -EIO;
	/* The power-on state, before anything ran: reset goes back to it. */
	for (int i = 0; i < vm->ncpus; i++) {
		vm->initial_cpu_state[i] = cpu_state_get(vm->vcpus[i]);
		if (!vm->initial_cpu_state[i])
			return -EIO;
	}
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
set_err(char **err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return code;
}

struct vm *vm_new(const struct vm_config *cfg, const struct vm_opts *opts, char **err)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return NULL;
	vm->opts = *opts;
	vm->main_thread = pthread_self();
	vm->kernel_fd = vm->initrd_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->io_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->req_fd < 0 || vmconfig_copy(&vm->cfg, cfg) < 0)
		goto fail_msg;
	vm->ncpus = cfg->ncpus;
	r = kvm_open(&vm->kvm);
	if (r < 0) {
		set_err(err, r, "cannot create the KVM VM (%s); see the log above",
			strerror(-r));
		goto fail;
	}
	/* What this host offers guests: KVM's set minus --cpu's exclusions.
	 * vCPUs are shown it; incoming guests are checked against it. */
	if (vm->opts.cpu && cpuid_apply_spec(vm->kvm.cpuid, vm->opts.cpu, err) < 0)
		goto fail;
	vm->gm = gm_new(cfg->mem_bytes);
	if (!vm->gm) {
		set_err(err, -ENOMEM, "cannot map guest memory: %s", strerror(errno));
		goto fail;
	}
	if (gm_register(vm->gm, vm->kvm.vm_fd) < 0 || create_vcpus(vm) < 0)
		goto fail_msg;
	if (devices_create(vm, err) < 0)
		goto fail;
	return vm;
fail_msg:
	set_err(err, -EIO, "cannot build the VM: %s", strerror(errno ? errno : EIO));
fail:
	vm_free(vm);
	return NULL;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	vm_stop_vcpus(vm);
	for (int i = vm->ndevices - 1; i >= 0; i--)
		if (vm->devices[i].ops->free)
			vm->devices[i].ops->free(vm->devices[i].dev);
	for (int i = 0; i < vm->ncpus; i++) {
		vcpu_free(vm->vcpus[i]);
		cpu_state_free(vm->initial_cpu_state[i]);
	}
	gm_free(vm->gm);
	kvm_close(&vm->kvm);
	if (vm->kernel_fd >= 0)
		close(vm->kernel_fd);
	if (vm->initrd_fd >= 0)
		close(vm->initrd_fd);
	if (vm->req_fd >= 0)
		close(vm->req_fd);
	vmconfig_clear(&vm->cfg);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->io_lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

/*
 * The first boot reads the files by name (errors name them) and keeps them
 * open; a reset reloads the same files through those descriptors, so a
 * kernel rebuilt or removed meanwhile cannot leave a half-reset machine.
 */
static void keep_open(const char *path, int *fd)
{
	if (path && *fd < 0)
		*fd = open(path, O_RDONLY | O_CLOEXEC);
}

static const char *reload_path(int fd, const char *path, char *buf, size_t len)
{
	if (fd < 0 || !path)
		return path;
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

int vm_boot(struct vm *vm, char **err)
{
	char kbuf[32], ibuf[32];
	struct boot_spec spec = {
		.kernel = reload_path(vm->kernel_fd, vm->cfg.kernel, kbuf, sizeof(kbuf)),
		.initrd = reload_path(vm->initrd_fd, vm->cfg.initrd, ibuf, sizeof(ibuf)),
		.cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "", .ncpus = vm->ncpus,
	};
	struct vcpu *bsp = vm->vcpus[0];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int r = boot_load(vm->gm, &spec, &vm->boot, err);

	if (r < 0)
		return r;
	keep_open(vm->cfg.kernel, &vm->kernel_fd);
	keep_open(vm->cfg.initrd, &vm->initrd_fd);
	if (ioctl(bsp->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0)
		return set_err(err, -errno, "reading the boot vCPU: %s", strerror(errno));
	boot_setup_regs(&vm->boot, &regs, &sregs);
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0)
		return set_err(err, -errno, "setting the boot vCPU: %s", strerror(errno));
	return 0;
}

int vm_start_vcpus(struct vm *vm)
{
	for (int i = 0; i < vm->ncpus; i++) {
		int r = vcpu_start(vm->vcpus[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

void vm_pause_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_SEQ_CST);
	for (int i = 0; i < vm->ncpus; i++)
		if (!vm->vcpus[i]->parked)
			vcpu_kick(vm->vcpus[i]);
	while (vm->nr_parked < vm->ncpus) {
		bool started = false;

		for (int i = 0; i < vm->ncpus; i++)
			started |= vm->vcpus[i]->thread_started;
		if (!started)
			break;
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&vm->resume_gen, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_stop_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->quit = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i])
			continue;
		vcpu_kick(vm->vcpus[i]);
		vcpu_join(vm->vcpus[i]);
	}
}

static void reset_memory(struct vm *vm)
{
	for (int i = 0; i < vm->gm->nr_regions; i++) {
		struct gm_region *r = &vm->gm->regions[i];

		madvise(r->hva, r->size, MADV_DONTNEED);
	}
}

/* Back to power-on: RAM cleared, devices and vCPUs reset, kernel reloaded. */
int vm_reset(struct vm *vm)
{
	char *err = NULL;
	int r;

	vm_pause_vcpus(vm);
	reset_memory(vm);
	for (int i = 0; i < vm->ndevices; i++)
		if (vm->devices[i].ops->reset)
			vm->devices[i].ops->reset(vm->devices[i].dev);
	for (int i = 0; i < vm->ncpus && !err; i++)
		cpu_state_set(vm->vcpus[i], vm->initial_cpu_state[i], &err);
	r = err ? -EIO : vm_boot(vm, &err);
	if (r < 0 || err) {
		pr_err("reset failed: %s", err ? err : "unknown error");
		free(err);
		return r < 0 ? r : -EIO;
	}
	vm_emit_event(vm, "RESET", json_pack("{s:b}", "guest", 1));
	return 0;
}
