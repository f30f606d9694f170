/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * job: the pieces of lifecycle.c's job machinery that migrate.c drives
 * too (lifecycle.h says what a job is). Not for other users: commands go
 * through lifecycle.h and migrate.h.
 */
#ifndef PGR_DAEMON_JOB_H
#define PGR_DAEMON_JOB_H

#include <jansson.h>
#include <stdbool.h>

#include "daemon/domain.h"
#include "daemon/monitor.h"

struct api_call;

const char *job_name(enum job_kind kind);
void job_begin(struct domain *d, enum job_kind kind, struct api_call *call);
/* End the job (its timer, its migration state), handing back its call. */
struct api_call *job_end(struct domain *d);
/* Answer the job's call with @ret (stolen) and end the job. */
void job_answer_with(struct domain *d, json_t *ret);
void job_fail(struct domain *d, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True when no job runs; otherwise @call is answered "busy". */
bool job_free_for(struct domain *d, struct api_call *call);
/* Send @cmd to the monitor for the job; failing to send fails the job. */
void job_command(struct domain *d, const char *cmd, json_t *args, monitor_reply_fn fn);

/* An incoming migration: a monitor for @c (taken) loading the stream from
 * @fd (its fd 3), resuming the guest itself if @run (else --paused); the
 * job carries @mig (taken) and @call. 0 or -errno (@call answered, @mig
 * freed). */
int lifecycle_incoming(struct domain *d, struct vm_config *c, int fd, bool run,
		       struct migration *mig, struct api_call *call);

#endif
