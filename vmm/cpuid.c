// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid: the named feature table and the mask / compare helpers (see
 * cpuid.h). Only leaves whose bits are plain "feature present" flags are
 * listed: 1, 7.0, 0xd.1 and 0x80000001.
 */
#include "vmm/cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum reg { EAX, EBX, ECX, EDX };

struct feature {
	const char *name;
	uint32_t fn, idx;
	enum reg reg;
	uint8_t bit;
};

static const struct feature features[] = {
	{ "fpu", 1, 0, EDX, 0 }, { "vme", 1, 0, EDX, 1 }, { "de", 1, 0, EDX, 2 },
	{ "pse", 1, 0, EDX, 3 }, { "tsc", 1, 0, EDX, 4 }, { "msr", 1, 0, EDX, 5 },
	{ "pae", 1, 0, EDX, 6 }, { "mce", 1, 0, EDX, 7 }, { "cx8", 1, 0, EDX, 8 },
	{ "apic", 1, 0, EDX, 9 }, { "sep", 1, 0, EDX, 11 }, { "mtrr", 1, 0, EDX, 12 },
	{ "pge", 1, 0, EDX, 13 }, { "mca", 1, 0, EDX, 14 }, { "cmov", 1, 0, EDX, 15 },
	{ "pat", 1, 0, EDX, 16 }, { "pse36", 1, 0, EDX, 17 }, { "clflush", 1, 0, EDX, 19 },
	{ "mmx", 1, 0, EDX, 23 }, { "fxsr", 1, 0, EDX, 24 }, { "sse", 1, 0, EDX, 25 },
	{ "sse2", 1, 0, EDX, 26 }, { "ss", 1, 0, EDX, 27 },
	{ "pni", 1, 0, ECX, 0 }, { "pclmulqdq", 1, 0, ECX, 1 }, { "ssse3", 1, 0, ECX, 9 },
	{ "fma", 1, 0, ECX, 12 }, { "cx16", 1, 0, ECX, 13 }, { "pcid", 1, 0, ECX, 17 },
	{ "sse4_1", 1, 0, ECX, 19 }, { "sse4_2", 1, 0, ECX, 20 }, { "x2apic", 1, 0, ECX, 21 },
	{ "movbe", 1, 0, ECX, 22 }, { "popcnt", 1, 0, ECX, 23 },
	{ "tsc_deadline_timer", 1, 0, ECX, 24 }, { "aes", 1, 0, ECX, 25 },
	{ "xsave", 1, 0, ECX, 26 }, { "avx", 1, 0, ECX, 28 }, { "f16c", 1, 0, ECX, 29 },
	{ "rdrand", 1, 0, ECX, 30 },
	{ "fsgsbase", 7, 0, EBX, 0 }, { "bmi1", 7, 0, EBX, 3 }, { "hle", 7, 0, EBX, 4 },
	{ "avx2", 7, 0, EBX, 5 }, { "smep", 7, 0, EBX, 7 }, { "bmi2", 7, 0, EBX, 8 },
	{ "erms", 7, 0, EBX, 9 }, { "invpcid", 7, 0, EBX, 10 }, { "rtm", 7, 0, EBX, 11 },
	{ "avx512f", 7, 0, EBX, 16 }, { "avx512dq", 7, 0, EBX, 17 }, { "rdseed", 7, 0, EBX, 18 },
	{ "adx", 7, 0, EBX, 19 }, { "smap", 7, 0, EBX, 20 }, { "avx512ifma", 7, 0, EBX, 21 },
	{ "clflushopt", 7, 0, EBX, 23 }, { "clwb", 7, 0, EBX, 24 }, { "avx512cd", 7, 0, EBX, 28 },
	{ "sha_ni", 7, 0, EBX, 29 }, { "avx512bw", 7, 0, EBX, 30 }, { "avx512vl", 7, 0, EBX, 31 },
	{ "avx512vbmi", 7, 0, ECX, 1 }, { "umip", 7, 0, ECX, 2 }, { "pku", 7, 0, ECX, 3 },
	{ "avx512_vbmi2", 7, 0, ECX, 6 }, { "gfni", 7, 0, ECX, 8 }, { "vaes", 7, 0, ECX, 9 },
	{ "vpclmulqdq", 7, 0, ECX, 10 }, { "avx512_vnni", 7, 0, ECX, 11 },
	{ "avx512_bitalg", 7, 0, ECX, 12 }, { "avx512_vpopcntdq", 7, 0, ECX, 14 },
	{ "rdpid", 7, 0, ECX, 22 }, { "movdiri", 7, 0, ECX, 27 }, { "movdir64b", 7, 0, ECX, 28 },
	{ "fsrm", 7, 0, EDX, 4 }, { "serialize", 7, 0, EDX, 14 }, { "amx_bf16", 7, 0, EDX, 22 },
	{ "avx512_fp16", 7, 0, EDX, 23 }, { "amx_tile", 7, 0, EDX, 24 }, { "amx_int8", 7, 0, EDX, 25 },
	{ "xsaveopt", 0xd, 1, EAX, 0 }, { "xsavec", 0xd, 1, EAX, 1 }, { "xsaves", 0xd, 1, EAX, 3 },
	{ "lahf_lm", 0x80000001, 0, ECX, 0 }, { "abm", 0x80000001, 0, ECX, 5 },
	{ "3dnowprefetch", 0x80000001, 0, ECX, 8 }, { "syscall", 0x80000001, 0, EDX, 11 },
	{ "nx", 0x80000001, 0, EDX, 20 }, { "pdpe1gb", 0x80000001, 0, EDX, 26 },
	{ "rdtscp", 0x80000001, 0, EDX, 27 }, { "lm", 0x80000001, 0, EDX, 29 },
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

_Static_assert(NFEATURES <= CPUID_MAX_FEATURES, "raise CPUID_MAX_FEATURES");

const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (c->entries[i].index == idx || !(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return &c->entries[i];
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	return r == EAX ? &e->eax : r == EBX ? &e->ebx : r == ECX ? &e->ecx : &e->edx;
}

static bool has(const struct kvm_cpuid2 *c, const struct feature *f)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, f->fn, f->idx);

	return e && (*reg_of((struct kvm_cpuid_entry2 *)e, f->reg) >> f->bit & 1);
}

static const struct feature *lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < NFEATURES; i++)
		if (strlen(features[i].name) == len && !strncmp(features[i].name, name, len))
			return &features[i];
	return NULL;
}

/* Walk "host,-a,-b": calls @fn for each feature (may be NULL to check only). */
static int walk_spec(const char *spec, struct kvm_cpuid2 *c, char **err)
{
	const char *p = strchr(spec, ',');

	if (strncmp(spec, "host", 4) || (spec[4] && spec[4] != ','))
		return asprintf(err, "'%s': expected host[,-FEATURE...]", spec), -EINVAL;
	while (p && *p) {
		const char *w = p + 1, *end = strchr(w, ',');
		size_t len = end ? (size_t)(end - w) : strlen(w);
		const struct feature *f = w[0] == '-' ? lookup(w + 1, len - 1) : NULL;

		if (!f)
			return asprintf(err, "'%.*s': expected -FEATURE with a known feature name "
					"(e.g. -cx16, -xsave, -avx512f)", (int)len, w), -EINVAL;
		if (c) {
			struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)cpuid_find(c, f->fn, f->idx);

			if (e)
				*reg_of(e, f->reg) &= ~(1u << f->bit);
		}
		p = end;
	}
	return 0;
}

int cpuid_check_spec(const char *spec, char **err)
{
	return walk_spec(spec, NULL, err);
}

int cpuid_apply_spec(struct kvm_cpuid2 *c, const char *spec, char **err)
{
	return walk_spec(spec, c, err);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t cpuid_features(const struct kvm_cpuid2 *c, const char *names[CPUID_MAX_FEATURES])
{
	size_t n = 0;

	for (size_t i = 0; i < NFEATURES; i++)
		if (has(c, &features[i]))
			names[n++] = features[i].name;
	qsort(names, n, sizeof(names[0]), by_name);
	return n;
}

int cpuid_missing(const struct kvm_cpuid2 *guest, const struct kvm_cpuid2 *host,
		  char *out, size_t len)
{
	int n = 0;
	size_t used = 0;

	if (len)
		out[0] = 0;
	for (size_t i = 0; i < NFEATURES; i++) {
		if (!has(guest, &features[i]) || has(host, &features[i]))
			continue;
		n++;
		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s", n > 1 ? " " : "",
						 features[i].name);
	}
	return n;
}
