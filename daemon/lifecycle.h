/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lifecycle: what happens to a domain's monitor — start, restore, adopt
 * after a pgrd restart, suspend, resume, power button, destroy, save — as
 * jobs: a job sends commands to the monitor and answers its API call when
 * the monitor has done the work (or has died trying). One job per domain
 * at a time; a second request gets a "busy" error, except destroy, which
 * ends whatever was going on.
 *
 * It also turns the monitor's events and exit into domain states: a
 * monitor that exits unasked leaves its domain "shut off (crashed)", or
 * "(shutdown)" when the guest powered off. A transient domain disappears
 * when it stops.
 *
 * Every function taking a struct api_call answers it (now or later), and
 * may remove a transient domain before returning: callers do not touch
 * the domain afterwards.
 */
#ifndef PGR_DAEMON_LIFECYCLE_H
#define PGR_DAEMON_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon/domain.h"

struct api_call;

/* Start with @c as the live definition (copied). */
void lifecycle_start(struct domain *d, const struct vm_config *c, bool paused,
		     struct api_call *call);
/* Restore from save file @file, whose definition is @c (taken); @lazy:
 * run the guest before its RAM is read (pgr-vmm --lazy), answer once all
 * of it checked out. */
void lifecycle_restore(struct domain *d, struct vm_config *c, const char *file, bool paused,
		       bool lazy, struct api_call *call);
void lifecycle_suspend(struct domain *d, struct api_call *call);
void lifecycle_resume(struct domain *d, struct api_call *call);
void lifecycle_shutdown(struct domain *d, struct api_call *call);
void lifecycle_destroy(struct domain *d, struct api_call *call);
void lifecycle_save(struct domain *d, const char *file, bool checkpoint, struct api_call *call);

/* What a runtime record says about a monitor a previous pgrd started. */
struct adopt_record {
	uint8_t uuid[16];
	int id;
	pid_t pid;
	unsigned long long starttime;
	enum dom_state state;
	enum dom_reason reason;
	struct vm_config *live;   /* taken on success */
};

/* Watch that monitor again. 0, or -errno with *err when it is gone. */
int lifecycle_adopt(struct domain *d, struct adopt_record *rec, char **err);
/* pgrd is stopping: drop the job's call and let go of the monitor,
 * which keeps running. */
void lifecycle_release(struct domain *d);

#endif
