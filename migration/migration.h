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

#include "migration/outgoing.h"

struct vm;
struct vm_config;
struct incoming;

#define MIGRATION_FD_NAME_MAX 63

/* Check a migration URI's syntax: file:PATH, tcp:HOST:PORT, unix:PATH,
 * fd:NAME (NAME: 1-63 of letters, digits, '.', '_', '-'; all digits is
 * an fd number for --incoming). */
int migration_check_uri(const char *uri, char **err);
/* fd:NAME's rule for NAME (also getfd's for fdname). */
bool migration_fd_name_ok(const char *name);
/* N of "fd:N" (decimal), or -1 when @uri is not of that form. */
int migration_fd_number(const char *uri);
/* Incoming, before the VM exists: open @uri (accepting the source's
 * connection for tcp:/unix:, taking over inherited fd N for fd:N), read the stream header and the definition into
 * @cfg. NULL with *err on failure. */
struct incoming *migration_incoming_prepare(struct vm_config *cfg, const char *uri, char **err);
/* Incoming, once the VM is built: load the rest on a thread, then resume
 * (unless @paused). Takes ownership of @in. */
int migration_incoming_start(struct vm *vm, struct incoming *in, bool paused, bool lazy);
void migration_incoming_free(struct incoming *in);
/* A reset during a --lazy restore (vCPUs paused): stop placing RAM from the
 * file, which the reset throws away, and let device I/O run again. */
void migration_lazy_abandon(struct vm *vm);

#define MIGRATION_API_COMMANDS \
	{ "migrate", qmp_migrate }, \
	{ "query-migrate", qmp_query_migrate }, \
	{ "migrate-cancel", qmp_migrate_cancel }, \
	{ "migrate-set-parameters", qmp_migrate_set_parameters }, \
	{ "query-migrate-parameters", qmp_query_migrate_parameters },

#endif
