// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm: opening KVM and building the VM-wide pieces (see kvm.h). The CPUID
 * table is KVM's supported set with the per-vCPU topology fields filled in;
 * the MSR list is KVM's index list filtered to what this host can read.
 */
#include "vmm/kvm.h"

#define LOG_SUBSYS "kvm"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_TSS_ADDR          0xfffbd000UL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define CPUID_MAX_ENTRIES     256

static const struct { long cap; const char *name; } required_caps[] = {
	{ KVM_CAP_IRQCHIP, "IRQCHIP" },
	{ KVM_CAP_PIT2, "PIT2" },
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_IRQFD, "IRQFD" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
	{ KVM_CAP_VCPU_EVENTS, "VCPU_EVENTS" },
	{ KVM_CAP_XSAVE, "XSAVE" },
	{ KVM_CAP_XCRS, "XCRS" },
	{ KVM_CAP_DEBUGREGS, "DEBUGREGS" },
	{ KVM_CAP_ADJUST_CLOCK, "ADJUST_CLOCK" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
};

int kvm_check_cap(struct kvm *kvm, long cap)
{
	int r = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int check_caps(struct kvm *kvm)
{
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (!kvm_check_cap(kvm, required_caps[i].cap)) {
			pr_err("KVM lacks capability %s", required_caps[i].name);
			return -ENOTSUP;
		}
	}
	kvm->has_xsave2 = kvm_check_cap(kvm, KVM_CAP_XSAVE2) > 0;
	kvm->xsave_size = kvm->has_xsave2 ? kvm_check_cap(kvm, KVM_CAP_XSAVE2) : 4096;
	if (kvm->xsave_size < 4096)
		kvm->xsave_size = 4096;
	return 0;
}

static struct kvm_cpuid2 *supported_cpuid(int sys_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      CPUID_MAX_ENTRIES * sizeof(c->entries[0]));

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int err = errno;

		pr_err("KVM_GET_SUPPORTED_CPUID: %m");
		free(c);
		errno = err;
		return NULL;
	}
	return c;
}

static int load_cpuid(struct kvm *kvm)
{
	kvm->cpuid = supported_cpuid(kvm->sys_fd);
	return kvm->cpuid ? 0 : -errno;
}

struct kvm_cpuid2 *kvm_supported_cpuid(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), err;
	struct kvm_cpuid2 *c;

	if (fd < 0) {
		err = errno;
		pr_err("cannot open /dev/kvm: %m");
		errno = err;
		return NULL;
	}
	c = supported_cpuid(fd);
	err = errno;
	close(fd);
	errno = err;
	return c;
}

static int create_vm(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %m");
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		pr_err("setting the TSS and identity map addresses: %m");
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %m");
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %m");
		return -errno;
	}
	return 0;
}

int kvm_open(struct kvm *kvm)
{
	int err;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		err = -errno;
		pr_err("cannot open /dev/kvm: %m");
		return err;
	}
	if (ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		pr_err("unsupported KVM API version");
		return -ENOTSUP;
	}
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size <= 0)
		return -EINVAL;
	err = check_caps(kvm);
	if (!err)
		err = load_cpuid(kvm);
	if (!err)
		err = create_vm(kvm);
	return err;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	free(kvm->msrs);
	memset(kvm, 0, sizeof(*kvm));
	kvm->sys_fd = kvm->vm_fd = -1;
}

static void fix_topology(struct kvm_cpuid_entry2 *e, int index, int ncpus)
{
	switch (e->function) {
	case 1:
		/* APIC id, logical processor count, hypervisor present. */
		e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)index << 24) |
			 ((uint32_t)(ncpus > 255 ? 255 : ncpus) << 16);
		e->ecx |= 1u << 31;
		e->edx |= 1u << 28;           /* HTT: the count field is valid */
		break;
	case 0xb:
	case 0x1f:
		e->edx = index;               /* x2APIC id */
		break;
	case 4:
		e->eax = (e->eax & 0x03ffffffu) |
			 ((uint32_t)((ncpus > 64 ? 64 : ncpus) - 1) << 26);
		break;
	}
}

struct kvm_cpuid2 *kvm_vcpu_cpuid(struct kvm *kvm, int index, int ncpus)
{
	size_t sz = sizeof(*kvm->cpuid) + kvm->cpuid->nent * sizeof(kvm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);

	if (!c)
		return NULL;
	memcpy(c, kvm->cpuid, sz);
	for (uint32_t i = 0; i < c->nent; i++)
		fix_topology(&c->entries[i], index, ncpus);
	return c;
}

static bool msr_readable(int vcpu_fd, uint32_t index)
{
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e; } m = {
		.hdr.nmsrs = 1, .e.index = index,
	};

	return ioctl(vcpu_fd, KVM_GET_MSRS, &m) == 1;
}

int kvm_probe_msrs(struct kvm *kvm, int vcpu_fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int n = 0;

	ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	kvm->msrs = calloc(probe.nmsrs + 1, sizeof(uint32_t));
	if (!list || !kvm->msrs) {
		free(list);
		return -ENOMEM;
	}
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		pr_err("KVM_GET_MSR_INDEX_LIST: %m");
		free(list);
		return -errno;
	}
	for (uint32_t i = 0; i < list->nmsrs; i++)
		if (msr_readable(vcpu_fd, list->indices[i]))
			kvm->msrs[n++] = list->indices[i];
	kvm->nr_msrs = n;
	pr_debug("%d of %u MSRs saved per vCPU", n, list->nmsrs);
	free(list);
	return 0;
}

int kvm_irq_line(struct kvm *kvm, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}
