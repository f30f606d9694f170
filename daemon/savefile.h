/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * savefile: what pgrd needs from a save file before restoring it — the
 * domain's definition, which is the stream's first section (see
 * include/proto/migration.h and docs/migration-stream.md). It reads and
 * checks only the header and that section (magic, version, flags, CRCs);
 * the monitor verifies everything else when it loads the file, so a file
 * damaged further on is refused by `pgr-vmm --incoming`, not here.
 *
 * pgrd does not link migration/ (the monitor's code), hence this small
 * reader of the two leading records; it follows the same layout.
 */
#ifndef PGR_DAEMON_SAVEFILE_H
#define PGR_DAEMON_SAVEFILE_H

#include "lib/vmconfig.h"

/* 0, or -errno with *err (malloc'd, one line naming @path and the problem).
 * @c is initialised here and left cleared on failure. */
int savefile_read_definition(const char *path, struct vm_config *c, char **err);

#endif
