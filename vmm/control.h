/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control: what the user and the guest can ask of a running monitor —
 * stop, continue, reset, power button, quit — and the main loop's handling
 * of requests raised on vCPU threads and of SIGTERM/SIGINT. All on the
 * main loop thread. Pure mechanism lives in vm.c; this is the policy
 * (e.g. --no-reboot turns a guest reset into exit status 0).
 */
#ifndef PGR_VMM_CONTROL_H
#define PGR_VMM_CONTROL_H

struct vm;

int control_stop(struct vm *vm);
int control_cont(struct vm *vm);
int control_reset(struct vm *vm);
void control_powerdown(struct vm *vm);
/* End the monitor with @status once the current loop iteration is done. */
void control_quit(struct vm *vm, int status);
/* Hook the request eventfd, signals and the serial flush timer into the loop. */
int control_attach(struct vm *vm, unsigned int shutdown_timeout_s);

#endif
