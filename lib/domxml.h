/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * domxml: libvirt domain XML <-> struct vm_config, so a file written by
 * `virsh dumpxml` defines a Peregrine VM and `pgr dumpxml` writes one back.
 * The subset understood, and what is ignored or refused, is in
 * docs/domain-xml.md. Elements whose absence the guest would notice
 * (firmware, block/network disks, qcow2, passthrough, NUMA...) are refused;
 * harmless ones (<clock>, <features>, <graphics>, <controller>...) are
 * reported as warnings. Input is untrusted: no DTDs, entities or network,
 * at most DOMXML_MAX_SIZE bytes.
 *
 * Neighbours: vmconfig.h (the struct, its validation and JSON form); the
 * daemon stores definitions as this XML; pgr-vmm reads it with --xml.
 */
#ifndef PGR_DOMXML_H
#define PGR_DOMXML_H

#include <stddef.h>

#include "lib/vmconfig.h"

#define DOMXML_MAX_SIZE (1 << 20)      /* bytes of XML accepted */
#define DOMXML_MAX_WARNINGS 64

struct domxml_warning { char msg[200]; };

/* 0, or -EINVAL (-ENOMEM) with *err one line (malloc'd; err may be NULL).
 * c need not be initialised; on failure it is left cleared. Warnings for
 * ignored elements are returned in *warnings (malloc'd array of *nwarn, NULL
 * when none or on failure; both may be NULL if the caller does not care). */
int domxml_parse(const char *xml, size_t len, struct vm_config *c, char **err,
		 struct domxml_warning **warnings, int *nwarn);

/* malloc'd XML, in virsh's layout, that domxml_parse reads back to the same
 * vm_config. NULL with errno EINVAL if c fails vmconfig_validate or has no
 * kernel (only direct kernel boot is expressible), ENOMEM if out of memory. */
char *domxml_format(const struct vm_config *c);

#endif
