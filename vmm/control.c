// SPDX-License-Identifier: GPL-2.0-only
/*
 * control: run control on the main loop (see control.h). SIGTERM and
 * SIGINT press the guest's power button and give it shutdown_timeout
 * seconds to power off; a second signal, or the timeout, stops it.
 */
#include "vmm/control.h"

#define LOG_SUBSYS "control"
#include "lib/log.h"
#include "devices/devices.h"
#include "devices/serial.h"
#include "migration/migration.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

static unsigned int shutdown_timeout = 5;
static int shutdown_timer_fd = -1;
static int signal_fd = -1;
static int flush_timer_fd = -1;

int control_stop(struct vm *vm)
{
	enum vm_state s = vm_get_state(vm);

	if (s == VM_PAUSED || s == VM_PRELAUNCH)
		return vm_set_state(vm, VM_PAUSED);
	if (s != VM_RUNNING)
		return -EINVAL;
	vm_pause_vcpus(vm);
	serial_flush(vm->serial);
	vm_set_state(vm, VM_PAUSED);
	vm_emit_event(vm, "STOP", NULL);
	return 0;
}

int control_cont(struct vm *vm)
{
	enum vm_state s = vm_get_state(vm);

	if (s == VM_RUNNING)
		return 0;
	/* postmigrate: a migration went past GO but the destination never
	 * confirmed; the operator, having checked it runs nowhere, resumes. */
	if (s != VM_PAUSED && s != VM_PRELAUNCH && s != VM_POSTMIGRATE)
		return -EINVAL;
	if (s == VM_POSTMIGRATE) {
		gm_logging_off(vm->gm);   /* left on by the unconfirmed migration */
		devices_resume_io(vm);
	}
	vm_set_state(vm, VM_RUNNING);
	vm_resume_vcpus(vm);
	vm_emit_event(vm, "RESUME", NULL);
	return 0;
}

int control_reset(struct vm *vm)
{
	enum vm_state s = vm_get_state(vm);
	int r;

	if (vm->opts.no_reboot) {
		pr_info("guest reset with --no-reboot: exiting");
		vm->guest_shutdown = true;
		control_quit(vm, 0);
		return 0;
	}
	if (vm->lazy) {
		vm_pause_vcpus(vm);       /* before RAM stops being served */
		migration_lazy_abandon(vm);
	}
	r = vm_reset(vm);
	if (r < 0) {
		/* The vCPUs are parked with half a machine: do not pretend it runs. */
		vm_set_state(vm, VM_INTERNAL_ERROR);
		pr_err("the guest cannot be reset: stopping");
		control_quit(vm, 1);
		return r;
	}
	if (s == VM_RUNNING)
		vm_resume_vcpus(vm);
	return 0;
}

void control_powerdown(struct vm *vm)
{
	vm_emit_event(vm, "POWERDOWN", NULL);
	pm_press_power_button(vm->pm);
}

void control_quit(struct vm *vm, int status)
{
	vm_pause_vcpus(vm);
	serial_flush(vm->serial);
	if (vm_get_state(vm) != VM_SHUTDOWN)
		vm_set_state(vm, VM_SHUTDOWN);
	vm_emit_event(vm, "SHUTDOWN", json_pack("{s:b}", "guest", vm->guest_shutdown));
	loop_quit(vm->loop, status);
}

static void on_requests(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	unsigned int req = vm_take_requests(vm);

	if (req & VM_REQ_ERROR) {
		vm_pause_vcpus(vm);
		vm_set_state(vm, VM_INTERNAL_ERROR);
		pr_err("the guest cannot continue: stopping");
		control_quit(vm, 1);
	} else if (req & VM_REQ_POWEROFF) {
		vm->guest_shutdown = true;
		control_quit(vm, 0);
	} else if (req & VM_REQ_RESET) {
		if (control_reset(vm) < 0)
			control_quit(vm, 1);
	}
}

static void on_shutdown_timeout(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	pr_warn("guest did not power off within %u s: stopping it", shutdown_timeout);
	control_quit(vm, 0);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (shutdown_timer_fd >= 0 || vm_get_state(vm) != VM_RUNNING || !shutdown_timeout) {
		control_quit(vm, 0);
		return;
	}
	pr_info("%s: asking the guest to power off", strsignal(si.ssi_signo));
	control_powerdown(vm);
	shutdown_timer_fd = loop_add_timer(vm->loop, shutdown_timeout * 1000ULL,
					   on_shutdown_timeout, vm);
}

static void on_flush(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	serial_flush(vm->serial);
}

int control_attach(struct vm *vm, unsigned int timeout_s)
{
	sigset_t set;

	shutdown_timeout = timeout_s;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_fd < 0)
		return -errno;
	flush_timer_fd = loop_add_timer(vm->loop, 20, on_flush, vm);
	if (flush_timer_fd < 0 ||
	    loop_add(vm->loop, signal_fd, EPOLLIN, on_signal, vm) < 0 ||
	    loop_add(vm->loop, vm->req_fd, EPOLLIN, on_requests, vm) < 0)
		return -EIO;
	return 0;
}
