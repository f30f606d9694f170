/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmconfig: the definition of one VM as the monitor sees it — what the guest
 * can observe (memory, CPUs, devices and their MACs) plus host-local
 * resources (kernel path, disk paths, tap names). It travels as the first
 * section of a migration stream in JSON (vmconfig_to_json), so a save file
 * restores with nothing else. The daemon converts libvirt domain XML to and
 * from it (domxml.c). It does no I/O and knows nothing of KVM.
 */
#ifndef PGR_VMCONFIG_H
#define PGR_VMCONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VMCONFIG_MAX_DISKS 16
#define VMCONFIG_MAX_NETS  8
#define VMCONFIG_NAME_MAX  64

enum disk_cache { DISK_CACHE_NONE, DISK_CACHE_WRITEBACK, DISK_CACHE_WRITETHROUGH };

struct vm_disk_cfg {
	char *path;            /* host-local */
	bool readonly;
	enum disk_cache cache;
	char *target;          /* "vda", ... (guest-visible order) */
};

struct vm_net_cfg {
	char *tap;             /* host-local: tap interface name, may be NULL */
	char *bridge;          /* host-local: bridge to attach the tap to, may be NULL */
	uint8_t mac[6];        /* guest-visible */
};

struct vm_config {
	char name[VMCONFIG_NAME_MAX];
	uint8_t uuid[16];
	uint64_t mem_bytes;
	int ncpus;
	char *kernel;          /* host-local path */
	char *initrd;          /* host-local path, may be NULL */
	char *cmdline;         /* may be NULL */
	char *cpu_mode;        /* "host-passthrough", "host-model", NULL */
	int ndisks;
	struct vm_disk_cfg disks[VMCONFIG_MAX_DISKS];
	int nnets;
	struct vm_net_cfg nets[VMCONFIG_MAX_NETS];
};

void vmconfig_init(struct vm_config *c);      /* zero + defaults (1 CPU, 512 MiB) */
void vmconfig_clear(struct vm_config *c);     /* free owned strings */
int vmconfig_copy(struct vm_config *dst, const struct vm_config *src);
json_t *vmconfig_to_json(const struct vm_config *c);
/* 0, or -EINVAL with *err (malloc'd, one line) naming the bad field. */
int vmconfig_from_json(const json_t *j, struct vm_config *c, char **err);

/* Helpers shared by flag and XML parsers. 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *bytes);   /* "512M", "4G", "1073741824", "2GiB" */
int parse_mac(const char *s, uint8_t mac[6]);
void format_mac(const uint8_t mac[6], char out[18]);
int parse_uuid(const char *s, uint8_t uuid[16]);
void format_uuid(const uint8_t uuid[16], char out[37]);
void generate_uuid(uint8_t uuid[16]);

/* Added with the implementation (vmconfig.c). Everywhere here, *err is
 * written only on failure and never freed first: the caller frees it. */
#define VMCONFIG_MEM_MIN   (16ULL << 20)   /* 16 MiB */
#define VMCONFIG_MEM_MAX   (1ULL << 40)    /* 1 TiB */
#define VMCONFIG_MAX_CPUS  64
#define VMCONFIG_PATH_MAX  4096            /* kernel, initrd, disk paths */
#define VMCONFIG_CMDLINE_MAX 4096

/* The rules vmconfig_from_json enforces, for configs built from flags or XML:
 * 0, or -EINVAL with *err (malloc'd, one line; err may be NULL) naming the
 * field. Name [A-Za-z0-9._-]{1,63}, not "." or ".."; memory a multiple of 4 KiB in
 * [16 MiB, 1 TiB]; 1..64 vCPUs; strings valid UTF-8 without control
 * characters; disk targets and MACs unique; MACs unicast and non-zero. */
int vmconfig_validate(const struct vm_config *c, char **err);
/* parse_mac; on failure *why (if not NULL) is a static one-line reason. */
int parse_mac_why(const char *s, uint8_t mac[6], const char **why);
/* "none", "writeback", "writethrough" <-> enum disk_cache. 0 or -EINVAL. */
const char *disk_cache_name(enum disk_cache cache);
int disk_cache_parse(const char *s, enum disk_cache *cache);

#endif
