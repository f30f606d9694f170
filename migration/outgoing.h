/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * outgoing: one migration or save of this VM at a time, on its own
 * thread — the state machine (setup -> active -> device -> completed,
 * or failed/cancelled with the source running as before), parameters,
 * statistics for query-migrate, and the API handlers.
 */
#ifndef PGR_MIGRATION_OUTGOING_H
#define PGR_MIGRATION_OUTGOING_H

#include <jansson.h>

struct vm;

json_t *qmp_migrate(struct vm *vm, json_t *args, const char **cls, char **desc);
json_t *qmp_query_migrate(struct vm *vm, json_t *args, const char **cls, char **desc);
json_t *qmp_migrate_cancel(struct vm *vm, json_t *args, const char **cls, char **desc);
json_t *qmp_migrate_set_parameters(struct vm *vm, json_t *args, const char **cls, char **desc);
json_t *qmp_query_migrate_parameters(struct vm *vm, json_t *args, const char **cls, char **desc);

/* Stop a running migration and join its thread (monitor shutdown). */
void migration_shutdown(struct vm *vm);

#endif
