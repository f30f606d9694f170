/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpuid: CPU features by name — masking them out of what a guest is shown
 * (--cpu host,-cx16,-xsave), and comparing what a guest was started with
 * against what this host's KVM can give, naming what is missing (the seed
 * chapter's sfence story: a guest that saw a feature must never land on a
 * host without it), and listing what a table has by name (pgrd compares
 * those lists across hosts). Pure functions over struct kvm_cpuid2.
 */
#ifndef PGR_VMM_CPUID_H
#define PGR_VMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Apply "host[,-feature...]" to @c; 0 or -EINVAL with *err naming the word. */
int cpuid_apply_spec(struct kvm_cpuid2 *c, const char *spec, char **err);
/* Check @spec's syntax and feature names without a table. */
int cpuid_check_spec(const char *spec, char **err);
/* Names of features set in @guest but not in @host, space separated, into
 * @out; returns how many. */
int cpuid_missing(const struct kvm_cpuid2 *guest, const struct kvm_cpuid2 *host,
		  char *out, size_t len);
/* The table's names of the features set in @c, sorted (strcmp), into
 * @names (room for CPUID_MAX_FEATURES); returns how many. The names are
 * those --cpu host,-FEATURE takes and cpuid_missing reports. */
#define CPUID_MAX_FEATURES 128
size_t cpuid_features(const struct kvm_cpuid2 *c, const char *names[CPUID_MAX_FEATURES]);
const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx);

#endif
