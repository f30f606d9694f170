// SPDX-License-Identifier: GPL-2.0-only
/*
 * api-commands: the table of API commands and their handlers — the VM's
 * run control and queries, and naming the file descriptors clients send
 * (getfd, closefd; the fds themselves are api.c's). Migration commands live in migration/ and are
 * listed here so the whole protocol reads in one table (docs/api.md).
 */
#include "vmm/api.h"

#define LOG_SUBSYS "api"
#include "lib/log.h"
#include "devices/devices.h"
#include "devices/virtio-blk.h"
#include "devices/virtio-net.h"
#include "migration/migration.h"
#include "vmm/control.h"
#include "vmm/cpuid.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *cmd_capabilities(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	return json_object();
}

static json_t *cmd_query_status(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	enum vm_state s = vm_get_state(vm);

	return json_pack("{s:s, s:b, s:b}", "status", vm_state_names[s],
			 "running", s == VM_RUNNING, "singlestep", 0);
}

static json_t *cmd_stop(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	int r = control_stop(vm);

	if (r < 0)
		return api_error(cls, desc, "GenericError", "cannot stop a VM that is %s",
				 vm_state_names[vm_get_state(vm)]);
	return json_object();
}

static json_t *cmd_cont(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	int r = control_cont(vm);

	if (r < 0)
		return api_error(cls, desc, "GenericError", "cannot continue a VM that is %s",
				 vm_state_names[vm_get_state(vm)]);
	return json_object();
}

static json_t *cmd_system_reset(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	if (control_reset(vm) < 0)
		return api_error(cls, desc, "GenericError", "reset failed (see the monitor's log)");
	return json_object();
}

static json_t *cmd_system_powerdown(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	control_powerdown(vm);
	return json_object();
}

static json_t *cmd_quit(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	control_quit(vm, 0);
	return json_object();
}

static json_t *cmd_query_cpus(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	json_t *list = json_array();

	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		json_array_append_new(list, json_pack("{s:i, s:i, s:s, s:I, s:I}",
			"cpu-index", i, "apic-id", i, "target", "x86_64",
			"exits", (json_int_t)v->exits, "thread-id", (json_int_t)v->tid));
	}
	return list;
}

static json_t *cmd_query_memory(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	json_t *regions = json_array();

	for (int i = 0; i < vm->gm->nr_regions; i++)
		json_array_append_new(regions, json_pack("{s:I, s:I}",
			"gpa", (json_int_t)vm->gm->regions[i].gpa,
			"size", (json_int_t)vm->gm->regions[i].size));
	return json_pack("{s:I, s:o}", "base-memory", (json_int_t)vm->gm->ram_size,
			 "regions", regions);
}

static json_t *cmd_query_block(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	json_t *list = json_array();

	pthread_mutex_lock(&vm->io_lock);
	for (int i = 0; i < vm->nblks; i++)
		json_array_append_new(list, virtio_blk_query(vm->blks[i]));
	pthread_mutex_unlock(&vm->io_lock);
	return list;
}

static json_t *cmd_query_net(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	json_t *list = json_array();

	pthread_mutex_lock(&vm->io_lock);
	for (int i = 0; i < vm->nnets; i++)
		json_array_append_new(list, virtio_net_query(vm->nets[i]));
	pthread_mutex_unlock(&vm->io_lock);
	return list;
}

/* What the guest's CPUID says it has (as set on its vCPUs: at boot, this
 * host's offer under --cpu; after an incoming migration, the source's). */
static json_t *cmd_query_cpu_features(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	const char *names[CPUID_MAX_FEATURES];
	enum vm_state s = vm_get_state(vm);
	json_t *list;
	size_t n;

	if (s == VM_INMIGRATE)   /* the incoming thread may be setting the CPUID */
		return api_error(cls, desc, "GenericError", "the VM is %s: its CPUID is not known yet",
				 vm_state_names[s]);
	n = cpuid_features(vm->vcpus[0]->cpuid, names);
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(names[i]));
	return json_pack("{s:o}", "features", list);
}

/* getfd: name the fd sent (SCM_RIGHTS) with this request; the fd is used
 * up even when the request fails, so fds and requests stay in step. */
static json_t *cmd_getfd(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	struct api *api = vm ? vm->api : NULL;
	const char *name = json_string_value(json_object_get(args, "fdname"));
	int fd = api_claim_fd(api), r;

	if (fd < 0)
		return api_error(cls, desc, "GenericError",
				 "getfd: no file descriptor received with the command");
	if (!name || !migration_fd_name_ok(name)) {
		close(fd);
		return api_error(cls, desc, "GenericError", "getfd: 'fdname' must be 1-%d letters, "
				 "digits, '.', '_' or '-'", MIGRATION_FD_NAME_MAX);
	}
	r = api_name_fd(api, name, fd);
	if (r < 0) {
		close(fd);
		return api_error(cls, desc, "GenericError", "getfd: %s", r == -ENOSPC ?
				 "16 file descriptors are named already (closefd one)" : strerror(-r));
	}
	return json_object();
}

static json_t *cmd_closefd(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	const char *name = json_string_value(json_object_get(args, "fdname"));

	if (!name)
		return api_error(cls, desc, "GenericError", "closefd: 'fdname' (string) is required");
	if (api_close_fd(vm ? vm->api : NULL, name) < 0)
		return api_error(cls, desc, "GenericError", "closefd: no file descriptor named '%s'",
				 name);
	return json_object();
}

const struct api_command api_commands[] = {
	{ "qmp_capabilities", cmd_capabilities },
	{ "query-status", cmd_query_status },
	{ "stop", cmd_stop },
	{ "cont", cmd_cont },
	{ "system-reset", cmd_system_reset },
	{ "system-powerdown", cmd_system_powerdown },
	{ "quit", cmd_quit },
	{ "query-cpus", cmd_query_cpus },
	{ "query-cpus-fast", cmd_query_cpus },
	{ "query-memory", cmd_query_memory },
	{ "query-memory-size-summary", cmd_query_memory },
	{ "query-block", cmd_query_block },
	{ "query-net", cmd_query_net },
	{ "query-cpu-features", cmd_query_cpu_features },
	{ "getfd", cmd_getfd },
	{ "closefd", cmd_closefd },
	MIGRATION_API_COMMANDS
	{ NULL, NULL },
};
