// SPDX-License-Identifier: GPL-2.0-only
/*
 * devstate: definition, device, vCPU and clock sections (see devstate.h).
 */
#include "migration/devstate.h"

#define LOG_SUBSYS "devstate"
#include "lib/log.h"
#include "lib/vmconfig.h"
#include "migration/format.h"
#include "vmm/cpu-state.h"
#include "vmm/kvm-state.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VM_SECTION_VERSION 1
#define CPU_SECTION_VERSION 1
#define DEF_SECTION_VERSION 1

int devstate_write_definition(struct format_writer *w, const struct vm_config *cfg)
{
	json_t *j = vmconfig_to_json(cfg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int r;

	json_decref(j);
	if (!s)
		return -ENOMEM;
	r = format_write_blob(w, PGR_MIG_DEFINITION, DEF_SECTION_VERSION, 0, NULL, s, strlen(s));
	free(s);
	return r;
}

int devstate_read_definition(struct format_reader *r, struct vm_config *cfg)
{
	json_error_t jerr;
	char *err = NULL;
	void *buf;
	size_t len;
	json_t *j;
	int ret;

	if (format_read_payload(r, &buf, &len) < 0 || format_read_section_end(r) < 0)
		return -EIO;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!j)
		return format_reader_fail(r, -EINVAL, "definition is not JSON: %s", jerr.text);
	ret = vmconfig_from_json(j, cfg, &err);
	json_decref(j);
	if (ret < 0) {
		format_reader_fail(r, -EINVAL, "definition: %s", err ? err : "invalid");
		free(err);
	}
	return ret;
}

static int write_devices(struct format_writer *w, struct vm *vm)
{
	for (int i = 0; i < vm->ndevices; i++) {
		struct device *d = &vm->devices[i];
		json_t *j = d->ops->save(d->dev);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		int r;

		json_decref(j);
		if (!s) {
			pr_err("device %s[%d]: cannot save its state", d->ops->name, d->instance);
			return -EIO;
		}
		r = format_write_blob(w, PGR_MIG_DEVICE, d->ops->version, d->instance,
				      d->ops->name, s, strlen(s));
		free(s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_cpus(struct format_writer *w, struct vm *vm)
{
	for (int i = 0; i < vm->ncpus; i++) {
		struct cpu_state *s = cpu_state_get(vm->vcpus[i]);
		size_t len;
		void *buf = s ? cpu_state_encode(s, &len) : NULL;
		int r;

		cpu_state_free(s);
		if (!buf)
			return -EIO;
		r = format_write_blob(w, PGR_MIG_CPU, CPU_SECTION_VERSION, i, NULL, buf, len);
		free(buf);
		if (r < 0)
			return r;
	}
	return 0;
}

int devstate_write_all(struct format_writer *w, struct vm *vm)
{
	uint64_t clock;
	char buf[64];
	int r = write_devices(w, vm);

	if (!r)
		r = write_cpus(w, vm);
	if (!r && kvm_clock_get(vm, &clock) < 0)
		r = -EIO;
	if (!r) {
		int n = snprintf(buf, sizeof(buf), "{\"clock\":%llu}", (unsigned long long)clock);

		r = format_write_blob(w, PGR_MIG_VM, VM_SECTION_VERSION, 0, NULL, buf, n);
	}
	return r;
}

void devstate_loader_init(struct devstate_loader *l, struct vm *vm)
{
	memset(l, 0, sizeof(*l));
	l->vm = vm;
}

void devstate_loader_release(struct devstate_loader *l)
{
	for (int i = 0; i < 64; i++)
		cpu_state_free(l->cpus[i]);
	memset(l->cpus, 0, sizeof(l->cpus));
}

static int find_device(struct vm *vm, const char *name, uint32_t instance)
{
	for (int i = 0; i < vm->ndevices; i++)
		if (!strcmp(vm->devices[i].ops->name, name) &&
		    (uint32_t)vm->devices[i].instance == instance)
			return i;
	return -1;
}

static int load_device(struct devstate_loader *l, struct format_reader *r,
		       const struct format_section *sec, const json_t *j)
{
	int i = find_device(l->vm, sec->name, sec->instance);
	struct device *d;
	char *err = NULL;

	if (i < 0)
		return format_reader_fail(r, -ENODEV, "section %s at offset %llu: this VM has no such device",
					  l->label, (unsigned long long)l->offset);
	d = &l->vm->devices[i];
	if (l->device_seen[i])
		return format_reader_fail(r, -EEXIST, "section %s: device state given twice", l->label);
	if ((int)sec->version != d->ops->version)
		return format_reader_fail(r, -EPROTO, "section %s: state version %u, this build reads %d",
					  l->label, sec->version, d->ops->version);
	if (d->ops->load(d->dev, j, &err) < 0) {
		format_reader_fail(r, -EINVAL, "section %s at offset %llu: %s", l->label,
				   (unsigned long long)l->offset, err ? err : "refused by the device");
		free(err);
		return -EINVAL;
	}
	l->device_seen[i] = true;
	return 0;
}

static int load_cpu(struct devstate_loader *l, struct format_reader *r,
		    const struct format_section *sec, const void *buf, size_t len)
{
	char *err = NULL;

	if (sec->instance >= (uint32_t)l->vm->ncpus)
		return format_reader_fail(r, -ERANGE, "vCPU %u, but this VM has %d",
					  sec->instance, l->vm->ncpus);
	if (l->cpus[sec->instance])
		return format_reader_fail(r, -EEXIST, "vCPU state given twice");
	l->cpus[sec->instance] = cpu_state_decode(buf, len, &err);
	if (!l->cpus[sec->instance]) {
		format_reader_fail(r, -EINVAL, "section %s at offset %llu: %s", l->label,
				   (unsigned long long)l->offset, err ? err : "bad vCPU state");
		free(err);
		return -EINVAL;
	}
	return 0;
}

static int load_vm(struct devstate_loader *l, struct format_reader *r, const json_t *j)
{
	json_t *c = json_object_get(j, "clock");

	if (!json_is_integer(c) || json_integer_value(c) < 0)
		return format_reader_fail(r, -EINVAL, "section %s: field 'clock' missing or negative",
					  l->label);
	l->clock_ns = (uint64_t)json_integer_value(c);
	l->clock_seen = true;
	return 0;
}

/*
 * The payload is interpreted only once its CRC has checked out, that is
 * after the section is closed; errors then name the section themselves.
 */
int devstate_load_section(struct devstate_loader *l, struct format_reader *r,
			  const struct format_section *sec)
{
	json_error_t jerr;
	json_t *j = NULL;
	char label[64];
	void *buf;
	size_t len;
	int ret;

	if (format_read_payload(r, &buf, &len) < 0 || format_read_section_end(r) < 0)
		return -EIO;
	l->label = format_section_label(sec, label, sizeof(label));
	l->offset = sec->offset;
	if (sec->type == PGR_MIG_CPU) {
		ret = load_cpu(l, r, sec, buf, len);
		free(buf);
		return ret;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!json_is_object(j)) {
		json_decref(j);
		return format_reader_fail(r, -EINVAL, "section %s at offset %llu: state is not a JSON object",
					  l->label, (unsigned long long)l->offset);
	}
	ret = sec->type == PGR_MIG_VM ? load_vm(l, r, j) : load_device(l, r, sec, j);
	json_decref(j);
	return ret;
}

int devstate_finish(struct devstate_loader *l, struct format_reader *r)
{
	struct vm *vm = l->vm;
	char *err = NULL;

	for (int i = 0; i < vm->ndevices; i++)
		if (!l->device_seen[i])
			return format_reader_fail(r, -ENOENT, "stream has no state for device %s[%d]",
						  vm->devices[i].ops->name, vm->devices[i].instance);
	for (int i = 0; i < vm->ncpus; i++)
		if (!l->cpus[i])
			return format_reader_fail(r, -ENOENT, "stream has no state for vCPU %d", i);
	if (!l->clock_seen)
		return format_reader_fail(r, -ENOENT, "stream has no VM section (clock)");
	for (int i = 0; i < vm->ncpus; i++) {
		if (cpu_state_set(vm->vcpus[i], l->cpus[i], &err) < 0) {
			format_reader_fail(r, -EINVAL, "%s", err ? err : "vCPU state refused");
			free(err);
			return -EINVAL;
		}
	}
	return 0;
}
