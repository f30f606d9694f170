// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu-state: x86 vCPU state through the KVM ioctls, in the order that keeps
 * KVM's cross-checks happy (see docs/cpu-state.md for why each step is
 * where it is), and its record encoding for streams.
 */
#include "vmm/cpu-state.h"

#define LOG_SUBSYS "cpu"
#include "lib/log.h"
#include "vmm/cpuid.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC_DEADLINE 0x6e0

#ifndef KVM_GET_XSAVE2
#define KVM_GET_XSAVE2 _IOR(KVMIO, 0xcf, struct kvm_xsave)
#endif

enum cpu_rec {
	REC_REGS = 1, REC_SREGS, REC_XCRS, REC_DREGS, REC_LAPIC, REC_MP,
	REC_EVENTS, REC_XSAVE, REC_MSRS, REC_CPUID, REC__NR,
};

#define CPUID_MAX 256

static const char *const rec_names[REC__NR] = {
	[REC_REGS] = "regs", [REC_SREGS] = "sregs", [REC_XCRS] = "xcrs",
	[REC_DREGS] = "debugregs", [REC_LAPIC] = "lapic", [REC_MP] = "mp_state",
	[REC_EVENTS] = "vcpu_events", [REC_XSAVE] = "xsave", [REC_MSRS] = "msrs",
	[REC_CPUID] = "cpuid",
};

static size_t cpuid_bytes(uint32_t nent)
{
	return sizeof(struct kvm_cpuid2) + nent * sizeof(struct kvm_cpuid_entry2);
}

/*
 * The table we set, not KVM_GET_CPUID2's: under PVM the latter reports the
 * host CPU's own bits whatever was set, so it would not say what the
 * guest was shown, nor match across hosts.
 */
static struct kvm_cpuid2 *copy_cpuid(const struct kvm_cpuid2 *src)
{
	struct kvm_cpuid2 *c = src ? malloc(cpuid_bytes(src->nent)) : NULL;

	if (c)
		memcpy(c, src, cpuid_bytes(src->nent));
	return c;
}

static bool same_cpuid(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b)
{
	return a->nent == b->nent &&
	       !memcmp(a->entries, b->entries, a->nent * sizeof(a->entries[0]));
}

/*
 * Show the vCPU the CPUID the guest was started with — after checking that
 * this host's KVM can provide every feature in it. Identical tables are
 * left alone (KVM refuses a different one once the vCPU has run).
 */
static int set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *want, char **err)
{
	struct kvm_cpuid2 *copy;
	char missing[512];
	int r = 0;

	if (v->cpuid && same_cpuid(v->cpuid, want))
		return 0;
	if (cpuid_missing(want, v->vm->kvm.cpuid, missing, sizeof(missing)) > 0) {
		if (asprintf(err, "this host's CPU lacks features the guest was started with: %s",
			     missing) < 0)
			*err = NULL;
		return -EINVAL;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, want) < 0) {
		r = -errno;
		if (asprintf(err, "vCPU %d: KVM refused the guest's CPUID: %s", v->index,
			     strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	copy = copy_cpuid(want);
	if (copy) {
		free(v->cpuid);
		v->cpuid = copy;
	}
	return 0;
}

static int get_msrs(struct vcpu *v, struct cpu_state *s)
{
	struct kvm *kvm = &v->vm->kvm;
	struct kvm_msrs *m;
	int n;

	if (kvm->nr_msrs > CPU_STATE_MAX_MSRS)
		return -E2BIG;
	m = calloc(1, sizeof(*m) + kvm->nr_msrs * sizeof(m->entries[0]));
	if (!m)
		return -ENOMEM;
	m->nmsrs = kvm->nr_msrs;
	for (int i = 0; i < kvm->nr_msrs; i++)
		m->entries[i].index = kvm->msrs[i];
	n = ioctl(v->fd, KVM_GET_MSRS, m);
	if (n != kvm->nr_msrs) {
		pr_err("vCPU %d: KVM_GET_MSRS read %d of %d", v->index, n, kvm->nr_msrs);
		free(m);
		return -EIO;
	}
	s->nmsrs = n;
	memcpy(s->msrs, m->entries, n * sizeof(m->entries[0]));
	free(m);
	return 0;
}

struct cpu_state *cpu_state_get(struct vcpu *v)
{
	struct cpu_state *s = calloc(1, sizeof(*s));
	unsigned long xsave_ioctl = v->vm->kvm.has_xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;

	if (!s)
		return NULL;
	s->xsave_size = v->vm->kvm.xsave_size;
	s->xsave = calloc(1, s->xsave_size);
	s->cpuid = copy_cpuid(v->cpuid);
	if (!s->xsave || !s->cpuid ||
	    ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(v->fd, xsave_ioctl, s->xsave) < 0 ||
	    ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    get_msrs(v, s) < 0 ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &s->mp) < 0 ||
	    ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0 ||
	    ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dregs) < 0) {
		pr_err("vCPU %d: reading state: %m", v->index);
		cpu_state_free(s);
		return NULL;
	}
	return s;
}

void cpu_state_free(struct cpu_state *s)
{
	if (!s)
		return;
	free(s->xsave);
	free(s->cpuid);
	free(s);
}

/* Set @s's MSRs, the TSC deadline only when @deadline (it needs the LAPIC). */
static int set_msrs(struct vcpu *v, const struct cpu_state *s, int deadline, char **err)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + s->nmsrs * sizeof(m->entries[0]));
	int n, want = 0;

	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nmsrs; i++)
		if ((s->msrs[i].index == MSR_IA32_TSC_DEADLINE) == !!deadline)
			m->entries[want++] = s->msrs[i];
	m->nmsrs = want;
	n = want ? ioctl(v->fd, KVM_SET_MSRS, m) : 0;
	if (n != want) {
		if (asprintf(err, "vCPU %d: this host refused MSR 0x%x", v->index,
			     n >= 0 && n < want ? m->entries[n].index : 0) < 0)
			*err = NULL;
		free(m);
		return -EINVAL;
	}
	free(m);
	return 0;
}

static int set_fail(struct vcpu *v, const char *what, char **err)
{
	int e = errno;

	if (asprintf(err, "vCPU %d: KVM refused %s: %s", v->index, what, strerror(e)) < 0)
		*err = NULL;
	return -e;
}

/*
 * Order: regs, xsave, xcrs, sregs (CR0/CR4/EFER and the APIC base before
 * anything that depends on them), MSRs but the TSC deadline, LAPIC (needs
 * the APIC base), TSC deadline (needs the LAPIC timer mode), events,
 * mp_state (last but one: it may make the vCPU runnable), debug registers.
 */
int cpu_state_set(struct vcpu *v, const struct cpu_state *s, char **err)
{
	struct kvm_vcpu_events ev = s->events;
	int r;

	if (s->xsave_size > (uint32_t)v->vm->kvm.xsave_size) {
		if (asprintf(err, "vCPU %d: XSAVE area of %u bytes is larger than this host's %d",
			     v->index, s->xsave_size, v->vm->kvm.xsave_size) < 0)
			*err = NULL;
		return -EINVAL;
	}
	if (s->cpuid && (r = set_cpuid(v, s->cpuid, err)) < 0)
		return r;
	if (ioctl(v->fd, KVM_SET_REGS, &s->regs) < 0)
		return set_fail(v, "the registers", err);
	if (ioctl(v->fd, KVM_SET_XSAVE, s->xsave) < 0)
		return set_fail(v, "the XSAVE area", err);
	if (ioctl(v->fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return set_fail(v, "the XCRs", err);
	if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) < 0)
		return set_fail(v, "the special registers", err);
	r = set_msrs(v, s, 0, err);
	if (r)
		return r;
	if (ioctl(v->fd, KVM_SET_LAPIC, &s->lapic) < 0)
		return set_fail(v, "the LAPIC state", err);
	r = set_msrs(v, s, 1, err);
	if (r)
		return r;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return set_fail(v, "the pending events", err);
	if (ioctl(v->fd, KVM_SET_MP_STATE, &s->mp) < 0)
		return set_fail(v, "the MP state", err);
	if (ioctl(v->fd, KVM_SET_DEBUGREGS, &s->dregs) < 0)
		return set_fail(v, "the debug registers", err);
	return 0;
}

/* ---- encoding: { u32 tag, u32 len, bytes } records, little-endian ---- */

struct enc {
	uint8_t *buf;
	size_t len, cap;
};

static void put_rec(struct enc *e, uint32_t tag, const void *data, uint32_t len)
{
	size_t need = e->len + 8 + len;

	if (!e->buf)
		return;
	if (need > e->cap) {
		uint8_t *n = realloc(e->buf, need * 2);

		if (!n) {
			free(e->buf);
			e->buf = NULL;
			return;
		}
		e->buf = n;
		e->cap = need * 2;
	}
	memcpy(e->buf + e->len, &tag, 4);
	memcpy(e->buf + e->len + 4, &len, 4);
	memcpy(e->buf + e->len + 8, data, len);
	e->len = need;
}

void *cpu_state_encode(const struct cpu_state *s, size_t *len)
{
	struct enc e = { .buf = malloc(16384), .cap = 16384 };

	put_rec(&e, REC_REGS, &s->regs, sizeof(s->regs));
	put_rec(&e, REC_SREGS, &s->sregs, sizeof(s->sregs));
	put_rec(&e, REC_XCRS, &s->xcrs, sizeof(s->xcrs));
	put_rec(&e, REC_DREGS, &s->dregs, sizeof(s->dregs));
	put_rec(&e, REC_LAPIC, &s->lapic, sizeof(s->lapic));
	put_rec(&e, REC_MP, &s->mp, sizeof(s->mp));
	put_rec(&e, REC_EVENTS, &s->events, sizeof(s->events));
	put_rec(&e, REC_XSAVE, s->xsave, s->xsave_size);
	put_rec(&e, REC_MSRS, s->msrs, s->nmsrs * sizeof(s->msrs[0]));
	put_rec(&e, REC_CPUID, s->cpuid, (uint32_t)cpuid_bytes(s->cpuid->nent));
	*len = e.len;
	return e.buf;
}

static int rec_fixed(struct cpu_state *s, uint32_t tag, const uint8_t *p, uint32_t len)
{
	void *dst[REC__NR] = {
		[REC_REGS] = &s->regs, [REC_SREGS] = &s->sregs, [REC_XCRS] = &s->xcrs,
		[REC_DREGS] = &s->dregs, [REC_LAPIC] = &s->lapic, [REC_MP] = &s->mp,
		[REC_EVENTS] = &s->events,
	};
	const size_t size[REC__NR] = {
		[REC_REGS] = sizeof(s->regs), [REC_SREGS] = sizeof(s->sregs),
		[REC_XCRS] = sizeof(s->xcrs), [REC_DREGS] = sizeof(s->dregs),
		[REC_LAPIC] = sizeof(s->lapic), [REC_MP] = sizeof(s->mp),
		[REC_EVENTS] = sizeof(s->events),
	};

	if (len != size[tag])
		return -EINVAL;
	memcpy(dst[tag], p, len);
	return 0;
}

static int rec_decode(struct cpu_state *s, uint32_t tag, const uint8_t *p, uint32_t len)
{
	switch (tag) {
	case REC_XSAVE:
		if (len < 4096 || len > 1 << 20 || s->xsave)
			return -EINVAL;
		s->xsave = malloc(len);
		if (!s->xsave)
			return -ENOMEM;
		memcpy(s->xsave, p, len);
		s->xsave_size = len;
		return 0;
	case REC_CPUID:
		if (len < sizeof(struct kvm_cpuid2) || s->cpuid)
			return -EINVAL;
		s->cpuid = malloc(len);
		if (!s->cpuid)
			return -ENOMEM;
		memcpy(s->cpuid, p, len);
		if (s->cpuid->nent > CPUID_MAX || cpuid_bytes(s->cpuid->nent) != len)
			return -EINVAL;
		return 0;
	case REC_MSRS:
		if (len % sizeof(s->msrs[0]) || len / sizeof(s->msrs[0]) > CPU_STATE_MAX_MSRS)
			return -EINVAL;
		s->nmsrs = len / sizeof(s->msrs[0]);
		memcpy(s->msrs, p, len);
		return 0;
	default:
		return rec_fixed(s, tag, p, len);
	}
}

struct cpu_state *cpu_state_decode(const void *buf, size_t len, char **err)
{
	struct cpu_state *s = calloc(1, sizeof(*s));
	const uint8_t *p = buf;
	unsigned int seen = 0;
	size_t off = 0;

	while (s && off + 8 <= len) {
		uint32_t tag, rlen;

		memcpy(&tag, p + off, 4);
		memcpy(&rlen, p + off + 4, 4);
		off += 8;
		if (tag == 0 || tag >= REC__NR || (seen & (1u << tag)) || rlen > len - off ||
		    rec_decode(s, tag, p + off, rlen)) {
			if (asprintf(err, "cpu state: bad record %s (tag %u, %u bytes) at offset %zu",
				     tag && tag < REC__NR ? rec_names[tag] : "unknown", tag, rlen, off - 8) < 0)
				*err = NULL;
			cpu_state_free(s);
			return NULL;
		}
		seen |= 1u << tag;
		off += rlen;
	}
	if (s && (off != len || seen != ((1u << REC__NR) - 2))) {
		if (asprintf(err, "cpu state: %s", off != len ? "trailing bytes" : "records missing") < 0)
			*err = NULL;
		cpu_state_free(s);
		return NULL;
	}
	return s;
}
