/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * migration: the engine's entry points for the monitor — API commands
 * (migrate, query-migrate, migrate-cancel, migrate-set-parameters) and the
 * incoming side (--incoming). One engine serves save, restore and live
 * migration; see docs/migration.md.
 */
#ifndef PGR_MIGRATION_MIGRATION_H
#define PGR_MIGRATION_MIGRATION_H

#include <stdbool.h>

struct vm;
struct vm_config;

/* Check a migration URI's syntax: file:PATH, tcp:HOST:PORT, unix:PATH. */
int migration_check_uri(const char *uri, char **err);
/* Incoming, before the VM exists: open @uri, read the stream header and the
 * definition into @cfg (host-local fields given on the command line win). */
int migration_incoming_prepare(struct vm_config *cfg, const char *uri, char **err);
/* Incoming, once the VM is built: load the rest and resume (unless @paused). */
int migration_incoming_start(struct vm *vm, const char *uri, bool paused);

#define MIGRATION_API_COMMANDS

#endif
