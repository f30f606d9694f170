/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * domain: pgrd's table of domains, their states and what is kept on disk.
 *
 * A domain is persistent (a definition in STATE/domains/NAME.xml) or
 * transient (it exists only while it runs). A running one also has a live
 * definition (what its monitor was started with, STATE/run/NAME.xml) and a
 * runtime record (STATE/run/NAME.json: id, pid, sockets, state), from which
 * a restarted pgrd adopts it again.
 *
 * States are virsh's, each with a reason (`pgr domstate --reason`), and
 * change only through domain_set_state, which refuses moves the table does
 * not allow. The operations that drive the changes are in lifecycle.c.
 */
#ifndef PGR_DAEMON_DOMAIN_H
#define PGR_DAEMON_DOMAIN_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/vmconfig.h"

struct pgrd;
struct vmm;
struct api_call;

enum dom_state {
	DOM_SHUTOFF,
	DOM_RUNNING,
	DOM_PAUSED,
	DOM_SHUTDOWN,       /* "in shutdown": the monitor is quitting */
	DOM_CRASHED,        /* the monitor reports the guest cannot continue */
	DOM__NR_STATES,
};

enum dom_reason {
	R_UNKNOWN,
	R_BOOTED, R_UNPAUSED, R_RESTORED,                    /* running */
	R_USER, R_STARTING_UP, R_SAVING, R_MIGRATING,        /* paused; R_USER also in shutdown */
	R_SHUTDOWN, R_DESTROYED, R_CRASHED, R_SAVED, R_FAILED, /* shut off */
	R_INTERNAL_ERROR,                                    /* crashed */
	R_MIGRATED,         /* running: arrived here; shut off: moved away */
	R__NR,
};

extern const char *const dom_state_names[DOM__NR_STATES];
extern const char *const dom_reason_names[R__NR];

/* An operation in progress on a running domain (at most one at a time). */
enum job_kind {
	JOB_NONE, JOB_START, JOB_RESTORE, JOB_ATTACH, JOB_SUSPEND, JOB_RESUME,
	JOB_SHUTDOWN, JOB_DESTROY, JOB_SAVE,
	JOB_MIGRATE_OUT,    /* to another host (migrate.c) */
	JOB_MIGRATE_IN,     /* from another host: the monitor loads the stream */
};

struct migration;

struct job {
	enum job_kind kind;
	struct api_call *call;     /* who waits for the answer; may be NULL */
	bool paused;               /* start, restore: leave it paused */
	bool lazy;                 /* restore: pgr-vmm --lazy */
	bool resumed;              /* start, restore: running (or paused as asked) */
	bool ram_complete;         /* lazy restore: RESTORE_COMPLETE seen */
	bool checkpoint;           /* save: keep running */
	bool awaiting_reply;       /* a monitor command is outstanding */
	bool save_done;            /* save: the monitor reported completion */
	enum dom_reason resume_reason; /* save: the running reason to go back to */
	char *file;                /* save, restore */
	uint64_t timer;            /* destroy: escalation to SIGKILL */
	long log_offset;           /* start, restore: where this run's log begins */
	struct migration *mig;     /* migrations: their own state (migrate.c) */
};

struct domain {
	struct pgrd *pgrd;
	char name[VMCONFIG_NAME_MAX];
	uint8_t uuid[16];
	struct vm_config *def;     /* persistent definition; NULL if transient */
	struct vm_config *live;    /* running definition; NULL when shut off */
	enum dom_state state;
	enum dom_reason reason;
	int id;                    /* -1 when shut off */
	struct vmm *vmm;           /* NULL when shut off */
	bool quit_seen;            /* the monitor announced it is quitting (SHUTDOWN) */
	bool quit_clean;           /* ... with status 0: guest power-off or "quit" */
	struct job job;
	json_t *last_job;          /* domain-job-info after a migration ended */
	struct domain *next;
};

/* ---- the table ---- */

/* By id (all digits), UUID, then name, as virsh. NULL if none. */
struct domain *domain_lookup(struct pgrd *p, const char *key);
struct domain *domain_by_name(struct pgrd *p, const char *name);
struct domain *domain_by_uuid(struct pgrd *p, const uint8_t uuid[16]);
/* A new shut-off domain named after @c (not yet persistent). NULL if out of memory. */
struct domain *domain_add(struct pgrd *p, const struct vm_config *c);
/* Unlink and free (must be shut off). */
void domain_remove(struct domain *d);
void domain_free_all(struct pgrd *p);

static inline bool domain_active(const struct domain *d)
{
	return d->vmm != NULL;
}

/* ---- state ---- */

/* 0, or -EINVAL (logged, nothing changed) for a move the table forbids.
 * Rewrites the runtime record of an active domain. */
int domain_set_state(struct domain *d, enum dom_state s, enum dom_reason r);

/* ---- persistence ---- */

/* Store @c as the persistent definition (atomically), replacing any. */
int domain_save_def(struct domain *d, const struct vm_config *c, char **err);
/* Remove the persistent definition file; the domain becomes transient. */
int domain_forget_def(struct domain *d);
/* Write STATE/run/NAME.json from the domain's state; and NAME.xml too if @with_xml. */
int domain_save_run(struct domain *d, bool with_xml);
/* Remove STATE/run/NAME.{json,xml} and the sockets. */
void domain_remove_run(struct domain *d);
/* malloc'd STATE/@sub/NAME@suffix. */
char *domain_path(const struct domain *d, const char *sub, const char *suffix);

/* At start-up: read every definition, then every runtime record (adopting
 * live monitors through lifecycle.c). 0 or -errno with *err. */
int domain_load_all(struct pgrd *p, char **err);

/* {"id", "name", "uuid", "state", "reason", "persistent", ...} for list and dominfo. */
json_t *domain_info_json(const struct domain *d);

#endif
