/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * migrate: moving a domain to another host, and receiving one — the
 * source's job (connect to the destination pgrd, have it check and
 * prepare, hand the connection to the monitor, follow the stream to its
 * end) and the destination's (check, start a monitor on the connection,
 * take the domain over when it runs). The protocol is
 * docs/relocation.md; the stream and its commit are the monitors'.
 */
#ifndef PGR_DAEMON_MIGRATE_H
#define PGR_DAEMON_MIGRATE_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/vmconfig.h"

struct domain;
struct api_call;
struct migration;

/* domain-migrate: answers @call when the domain has moved or could not. */
void migrate_out(struct domain *d, json_t *args, struct api_call *call);
/* domain-job-info and domain-job-abort for any job of @d. */
void migrate_job_info(struct domain *d, struct api_call *call);
void migrate_job_abort(struct domain *d, struct api_call *call);
/* migrate-prepare: @d is the domain of that name and UUID here (NULL if
 * none); @c (taken) the definition that arrives. */
void migrate_in_prepare(struct api_call *call, struct domain *d, struct vm_config *c,
			json_t *args);

/* From lifecycle.c, for the jobs migrate.c started. */
void migrate_out_event(struct domain *d, json_t *data);     /* MIGRATION */
/* The migration completed (@status: the monitor's wait status, -1 if unknown). */
bool migrate_out_completed(const struct domain *d, int status);
void migrate_out_finish(struct domain *d);                  /* monitor exited after completion */
void migrate_in_status(struct domain *d, const char *status);
void migrate_free(struct migration *m);

#endif
