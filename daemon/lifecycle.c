// SPDX-License-Identifier: GPL-2.0-only
/*
 * lifecycle: domain operations as jobs on the monitor, and the monitor's
 * events and exit turned into domain states (see lifecycle.h).
 *
 * A job's steps are callbacks: the monitor greeting us (ready), a reply,
 * an event, the process exiting. Whatever the step, the job ends in
 * job_answer or job_fail, which answer the waiting call exactly once.
 */
#include "daemon/lifecycle.h"

#define LOG_SUBSYS "lifecycle"
#include "lib/log.h"
#include "daemon/api.h"
#include "daemon/evloop.h"
#include "daemon/job.h"
#include "daemon/migrate.h"
#include "daemon/monitor.h"
#include "daemon/pgrd.h"
#include "daemon/store.h"
#include "daemon/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DESTROY_GRACE_MS 3000      /* "quit" first; SIGKILL after this */
#define LOG_TAIL_MAX     65536

static const char *const job_names[] = {
	[JOB_NONE] = "none", [JOB_START] = "start", [JOB_RESTORE] = "restore",
	[JOB_ATTACH] = "attach", [JOB_SUSPEND] = "suspend", [JOB_RESUME] = "resume",
	[JOB_SHUTDOWN] = "shutdown", [JOB_DESTROY] = "destroy", [JOB_SAVE] = "save",
	[JOB_MIGRATE_OUT] = "migration", [JOB_MIGRATE_IN] = "incoming migration",
};

const char *job_name(enum job_kind kind)
{
	return job_names[kind];
}

/* ---- jobs ---- */

void job_begin(struct domain *d, enum job_kind kind, struct api_call *call)
{
	d->job = (struct job){ .kind = kind, .call = call };
	pr_debug("%s: job %s", d->name, job_names[kind]);
}

/* End the job, handing back its call. */
struct api_call *job_end(struct domain *d)
{
	struct api_call *call = d->job.call;

	if (d->job.timer)
		evloop_cancel(d->pgrd->loop, d->job.timer);
	migrate_free(d->job.mig);
	free(d->job.file);
	d->job = (struct job){ .kind = JOB_NONE };
	return call;
}

static json_t *domain_ref(const struct domain *d)
{
	return json_pack("{s:s, s:i}", "name", d->name, "id", domain_active(d) ? d->id : -1);
}

void job_answer_with(struct domain *d, json_t *ret)
{
	struct api_call *call = job_end(d);

	if (call)
		api_return(call, ret);
	else
		json_decref(ret);
}

static void job_answer(struct domain *d)
{
	job_answer_with(d, domain_ref(d));
}

void job_fail(struct domain *d, const char *cls, const char *fmt, ...)
{
	struct api_call *call = job_end(d);
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pr_warn("%s: %s", d->name, msg ? msg : "out of memory");
	if (call)
		api_fail(call, cls, "%s", msg ? msg : "out of memory");
	free(msg);
}

/* A job may start only when none runs. Answers @call if not. */
bool job_free_for(struct domain *d, struct api_call *call)
{
	if (d->job.kind == JOB_NONE)
		return true;
	api_fail(call, API_ERR_BUSY, "domain '%s' is busy: a %s is in progress", d->name,
		 job_names[d->job.kind]);
	return false;
}

static bool require_active(struct domain *d, struct api_call *call)
{
	if (domain_active(d))
		return true;
	api_fail(call, API_ERR_INVALID, "domain is not running");
	return false;
}

/* ---- the domain's log ---- */

static long log_size(const struct domain *d)
{
	char *path = domain_path(d, "log", ".log");
	struct stat st;
	long size = path && stat(path, &st) == 0 ? (long)st.st_size : 0;

	free(path);
	return size;
}

/* The monitor's last words since @offset: its last "pgr-vmm: " line, or
 * its last line. malloc'd, NULL if none. */
static char *log_tail(const struct domain *d, long offset)
{
	char *path = domain_path(d, "log", ".log"), *text = NULL, *best = NULL, *line, *save;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = 0;

	if (fd >= 0 && (text = malloc(LOG_TAIL_MAX + 1))) {
		off_t end = lseek(fd, 0, SEEK_END);

		offset = end - offset > LOG_TAIL_MAX ? end - LOG_TAIL_MAX : offset;
		n = pread(fd, text, LOG_TAIL_MAX, offset);
	}
	for (line = n > 0 ? (text[n] = 0, strtok_r(text, "\n", &save)) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "pgr-vmm: ", 9) || !best || strncmp(best, "pgr-vmm: ", 9))
			best = line;
	if (best)
		best = strdup(!strncmp(best, "pgr-vmm: ", 9) ? best + 9 : best);
	if (fd >= 0)
		close(fd);
	free(text);
	free(path);
	return best;
}

static void log_stop(const struct domain *d, enum dom_reason reason, const char *how)
{
	char *path = domain_path(d, "log", ".log"), stamp[64];
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S%z", localtime(&now));
	if (fd >= 0) {
		dprintf(fd, "%s: shutting down, reason=%s (%s)\n", stamp, dom_reason_names[reason], how);
		close(fd);
	}
	free(path);
}

/* ---- spawning ---- */

struct paths {
	char *api, *serial, *log, *console_log;
};

static void paths_free(struct paths *p)
{
	free(p->api);
	free(p->serial);
	free(p->log);
	free(p->console_log);
}

static int paths_of(const struct domain *d, struct paths *p, struct vmm_paths *vp)
{
	p->api = domain_path(d, "run", ".sock");
	p->serial = domain_path(d, "run", ".serial");
	p->log = domain_path(d, "log", ".log");
	p->console_log = domain_path(d, "log", ".console");
	*vp = (struct vmm_paths){ .api = p->api, .serial = p->serial, .log = p->log,
				  .console_log = p->console_log };
	return p->api && p->serial && p->log && p->console_log ? 0 : -ENOMEM;
}

static const struct vmm_ops vmm_ops;

static int spawn(struct domain *d, struct vmm_launch how, int pass_fd, char **err)
{
	struct paths p = { 0 };
	struct vmm_paths vp;
	char **argv = NULL;

	how.cpu_mask = d->pgrd->cfg.cpu_mask;
	if (paths_of(d, &p, &vp) == 0)
		argv = vmm_argv(d->pgrd->vmm_path, d->live, &vp, &how, err);
	else
		asprintf(err, "out of memory");
	if (argv)
		d->vmm = vmm_spawn(d->pgrd->loop, d->name, argv, pass_fd, &vp, &vmm_ops, d, err);
	vmm_argv_free(argv);
	paths_free(&p);
	return d->vmm ? 0 : -EIO;
}

static void free_live(struct domain *d)
{
	if (d->live)
		vmconfig_clear(d->live);
	free(d->live);
	d->live = NULL;
}

/* Common to start, restore and incoming migrations: a new monitor for
 * @c (taken) as @how says, given @pass_fd as its fd 3 unless -1. */
static int launch(struct domain *d, struct vm_config *c, struct vmm_launch how, int pass_fd,
		  enum job_kind kind, struct api_call *call)
{
	char *err = NULL;
	long offset = log_size(d);

	if (domain_active(d)) {
		vmconfig_clear(c);
		free(c);
		api_fail(call, API_ERR_INVALID, "domain is already running");
		return -EBUSY;
	}
	d->live = c;
	d->id = d->pgrd->next_id++;
	d->quit_seen = d->quit_clean = false;
	if (spawn(d, how, pass_fd, &err) < 0) {
		free_live(d);
		d->id = -1;
		domain_set_state(d, DOM_SHUTOFF, R_FAILED);
		api_fail(call, API_ERR_FAILED, "%s", err ? err : "cannot start the monitor");
		free(err);
		if (!d->def)
			domain_remove(d);
		return -EIO;
	}
	job_begin(d, kind, call);
	d->job.log_offset = offset;
	domain_set_state(d, DOM_PAUSED, kind == JOB_MIGRATE_IN ? R_MIGRATING : R_STARTING_UP);
	domain_save_run(d, true);
	return 0;
}

void lifecycle_start(struct domain *d, const struct vm_config *c, bool paused,
		     struct api_call *call)
{
	struct vm_config *copy = calloc(1, sizeof(*copy));

	if (!copy || vmconfig_copy(copy, c) < 0) {
		free(copy);
		api_fail(call, API_ERR_FAILED, "out of memory");
		return;
	}
	if (launch(d, copy, (struct vmm_launch){ 0 }, -1, JOB_START, call) == 0)
		d->job.paused = paused;
}

void lifecycle_restore(struct domain *d, struct vm_config *c, const char *file, bool paused,
		       bool lazy, struct api_call *call)
{
	char *uri = NULL;

	if (asprintf(&uri, "file:%s", file) < 0) {
		vmconfig_clear(c);
		free(c);
		api_fail(call, API_ERR_FAILED, "out of memory");
		return;
	}
	if (launch(d, c, (struct vmm_launch){ .incoming = uri, .lazy = lazy }, -1, JOB_RESTORE,
		   call) == 0) {
		d->job.paused = paused;
		d->job.lazy = lazy;
		d->job.file = strdup(file);
	}
	free(uri);
}

int lifecycle_incoming(struct domain *d, struct vm_config *c, int fd, bool run,
		       struct migration *mig, struct api_call *call)
{
	int r = launch(d, c, (struct vmm_launch){ .incoming = "fd:3", .run = run }, fd,
		       JOB_MIGRATE_IN, call);

	if (r == 0)
		d->job.mig = mig;
	else
		migrate_free(mig);
	return r;
}

/* ---- monitor status -> domain state ---- */

static enum dom_reason running_reason(const struct domain *d)
{
	switch (d->job.kind) {
	case JOB_START: return R_BOOTED;
	case JOB_RESTORE: return R_RESTORED;
	case JOB_SAVE: return d->job.resume_reason;     /* a checkpoint, or a failed save */
	case JOB_MIGRATE_IN: return R_MIGRATED;
	default: return d->state == DOM_RUNNING ? d->reason : R_UNPAUSED;
	}
}

/* Apply a monitor status ("running", "paused", ... from query-status or a
 * STATE_CHANGE event). */
static void apply_status(struct domain *d, const char *status)
{
	enum dom_reason moving = d->job.kind == JOB_SAVE ? R_SAVING : R_MIGRATING;
	bool arriving = d->job.kind == JOB_MIGRATE_IN;

	if (!status)
		return;
	if (!strcmp(status, "running"))
		domain_set_state(d, DOM_RUNNING, running_reason(d));
	else if (!strcmp(status, "paused"))
		domain_set_state(d, DOM_PAUSED, d->job.kind == JOB_RESTORE ? R_STARTING_UP :
				 arriving ? R_MIGRATING : R_USER);
	else if (!strcmp(status, "prelaunch") || !strcmp(status, "inmigrate"))
		domain_set_state(d, DOM_PAUSED, arriving ? R_MIGRATING : R_STARTING_UP);
	else if (!strcmp(status, "finish-migrate") || !strcmp(status, "postmigrate"))
		domain_set_state(d, DOM_PAUSED, moving);
	else if (!strcmp(status, "shutdown"))
		domain_set_state(d, DOM_SHUTDOWN, R_USER);
	else if (!strcmp(status, "internal-error"))
		domain_set_state(d, DOM_CRASHED, R_INTERNAL_ERROR);
	else
		pr_warn("%s: unknown monitor status '%s'", d->name, status);
}

/* Send @cmd for the current job; a failure to send fails the job. */
void job_command(struct domain *d, const char *cmd, json_t *args, monitor_reply_fn fn)
{
	int r = d->vmm->mon ? monitor_command(d->vmm->mon, cmd, args, fn, d) : -EPIPE;

	if (!d->vmm->mon)
		json_decref(args);
	if (r < 0)
		job_fail(d, API_ERR_FAILED, "cannot reach the monitor: %s", strerror(-r));
	else
		d->job.awaiting_reply = true;
}

/* ---- start and restore: the monitor is up and paused ---- */

/* A lazy restore is done when the guest runs (or stays paused as asked)
 * and all of its RAM checked out (RESTORE_COMPLETE): until then a bad
 * chunk can still end it, and the restore fails with the monitor's words. */
static void restore_answer(struct domain *d)
{
	if (d->job.resumed && (!d->job.lazy || d->job.ram_complete))
		job_answer(d);
}

static void on_cont(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	d->job.awaiting_reply = false;
	if (err) {
		job_fail(d, API_ERR_FAILED, "the monitor would not run the guest: %s", err);
		return;
	}
	domain_set_state(d, DOM_RUNNING, running_reason(d));
	d->job.resumed = true;
	restore_answer(d);
}

/* Loaded or built, paused: run it unless asked not to. */
static void go(struct domain *d)
{
	if (d->job.awaiting_reply || d->job.resumed)
		return;
	if (d->job.paused) {
		domain_set_state(d, DOM_PAUSED, R_USER);
		d->job.resumed = true;
		restore_answer(d);
	} else {
		job_command(d, "cont", NULL, on_cont);
	}
}

/* query-status after (re)connecting: the state, and what the job does next. */
static void on_status(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	const char *status = json_string_value(json_object_get(ret, "status"));

	if (err || !status) {
		pr_warn("%s: query-status: %s", d->name, err ? err : "no status");
		if (d->job.kind == JOB_ATTACH)
			job_end(d);
		return;
	}
	apply_status(d, status);
	if (d->job.kind == JOB_ATTACH)
		job_end(d);
	else if (d->job.kind == JOB_RESTORE && !strcmp(status, "paused"))
		go(d);
	else if (d->job.kind == JOB_MIGRATE_IN)
		migrate_in_status(d, status);
}

static void query_status(struct domain *d)
{
	if (d->vmm->mon)
		monitor_command(d->vmm->mon, "query-status", NULL, on_status, d);
}

static void on_ready(void *opaque, bool again)
{
	struct domain *d = opaque;

	if (again && d->job.awaiting_reply)
		job_fail(d, API_ERR_FAILED, "the connection to the monitor dropped before it answered");
	if (d->job.kind == JOB_START)
		go(d);
	else
		query_status(d);
}

/* The monitor cannot be reached but runs on: it is of no use, and nothing
 * else could stop it. */
static void on_api_lost(void *opaque)
{
	struct domain *d = opaque;

	pr_err("%s: its monitor (pid %d) does not answer: killing it", d->name, (int)d->vmm->pid);
	vmm_kill(d->vmm);
}

/* ---- events ---- */

static void on_migration(struct domain *d, json_t *data)
{
	const char *status = json_string_value(json_object_get(data, "status"));
	const char *why = json_string_value(json_object_get(data, "error-desc"));

	if (d->job.kind == JOB_MIGRATE_OUT) {
		migrate_out_event(d, data);
		return;
	}
	if (d->job.kind != JOB_SAVE || !status)
		return;
	if (!strcmp(status, "completed")) {
		d->job.save_done = true;
		if (d->job.checkpoint)
			job_answer(d);
	} else if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
		job_fail(d, API_ERR_FAILED, "the save %s: %s", status, why ? why : "no reason given");
	}
}

static void on_event(void *opaque, const char *name, json_t *data)
{
	struct domain *d = opaque;

	pr_debug("%s: event %s", d->name, name);
	if (!strcmp(name, "STATE_CHANGE")) {
		const char *status = json_string_value(json_object_get(data, "status"));

		apply_status(d, status);
		if (d->job.kind == JOB_RESTORE && status && !strcmp(status, "paused"))
			go(d);
		else if (d->job.kind == JOB_MIGRATE_IN && status)
			migrate_in_status(d, status);
	} else if (!strcmp(name, "SHUTDOWN")) {
		d->quit_seen = true;
		d->quit_clean = json_is_true(json_object_get(data, "guest"));
	} else if (!strcmp(name, "MIGRATION")) {
		on_migration(d, data);
	} else if (!strcmp(name, "RESTORE_COMPLETE") && d->job.kind == JOB_RESTORE) {
		d->job.ram_complete = true;
		restore_answer(d);
	}
}

/* ---- the monitor exits ---- */

static void describe_exit(int status, pid_t pid, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "pid %d exited", (int)pid);
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (SIG%s)", WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

static enum dom_reason exit_reason(const struct domain *d, int status)
{
	if (d->job.kind == JOB_DESTROY)
		return R_DESTROYED;
	if (d->job.kind == JOB_SAVE && d->job.save_done && !d->job.checkpoint)
		return R_SAVED;
	if (d->job.kind == JOB_MIGRATE_OUT && migrate_out_completed(d, status))
		return R_MIGRATED;
	if (d->job.kind == JOB_START || d->job.kind == JOB_RESTORE || d->job.kind == JOB_MIGRATE_IN)
		return R_FAILED;
	if (d->quit_seen && d->quit_clean && (status < 0 || (WIFEXITED(status) && !WEXITSTATUS(status))))
		return R_SHUTDOWN;
	return R_CRASHED;
}

/* Answer the job that was waiting when the monitor went away. */
static void finish_job(struct domain *d, enum dom_reason reason, const char *how)
{
	char *tail;

	switch (d->job.kind) {
	case JOB_NONE:
		return;
	case JOB_DESTROY:
		job_answer(d);
		return;
	case JOB_SAVE:
		if (reason == R_SAVED) {
			job_answer(d);
			return;
		}
		break;
	case JOB_MIGRATE_OUT:
		if (reason == R_MIGRATED) {
			migrate_out_finish(d);
			return;
		}
		break;
	case JOB_START: case JOB_RESTORE: case JOB_MIGRATE_IN:
		tail = log_tail(d, d->job.log_offset);
		job_fail(d, API_ERR_FAILED, "%s", tail ? tail : how);
		free(tail);
		return;
	default:
		break;
	}
	job_fail(d, API_ERR_FAILED, "the monitor exited (%s)", how);
}

static void on_exited(void *opaque, int status)
{
	struct domain *d = opaque;
	enum dom_reason reason;
	char how[64];

	vmm_drain(d->vmm);      /* its last events: SHUTDOWN, MIGRATION */
	describe_exit(status, d->vmm->pid, how, sizeof(how));
	reason = exit_reason(d, status);
	pr_info("%s: monitor pid %d gone (%s)", d->name, (int)d->vmm->pid, how);
	log_stop(d, reason, how);
	vmm_free(d->vmm);
	d->vmm = NULL;
	domain_remove_run(d);
	domain_set_state(d, DOM_SHUTOFF, reason);
	finish_job(d, reason, how);
	free_live(d);
	d->id = -1;
	if (!d->def)
		domain_remove(d);
}

static const struct vmm_ops vmm_ops = {
	.ready = on_ready, .api_lost = on_api_lost, .event = on_event, .exited = on_exited,
};

/* ---- one-command jobs: suspend, resume, power button ---- */

static void on_simple_reply(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	d->job.awaiting_reply = false;
	if (err) {
		job_fail(d, API_ERR_FAILED, "%s", err);
		return;
	}
	if (d->job.kind == JOB_SUSPEND)
		domain_set_state(d, DOM_PAUSED, R_USER);
	else if (d->job.kind == JOB_RESUME)
		domain_set_state(d, DOM_RUNNING, R_UNPAUSED);
	job_answer(d);
}

static void simple_job(struct domain *d, enum job_kind kind, const char *cmd,
		       struct api_call *call)
{
	if (!require_active(d, call) || !job_free_for(d, call))
		return;
	job_begin(d, kind, call);
	job_command(d, cmd, NULL, on_simple_reply);
}

void lifecycle_suspend(struct domain *d, struct api_call *call)
{
	if (domain_active(d) && d->state != DOM_RUNNING && d->state != DOM_PAUSED) {
		api_fail(call, API_ERR_INVALID, "domain is %s", dom_state_names[d->state]);
		return;
	}
	simple_job(d, JOB_SUSPEND, "stop", call);
}

void lifecycle_resume(struct domain *d, struct api_call *call)
{
	if (domain_active(d) && d->state == DOM_RUNNING) {
		api_fail(call, API_ERR_INVALID, "domain is already running");
		return;
	}
	if (domain_active(d) && d->state != DOM_PAUSED) {
		api_fail(call, API_ERR_INVALID, "domain is %s", dom_state_names[d->state]);
		return;
	}
	simple_job(d, JOB_RESUME, "cont", call);
}

void lifecycle_shutdown(struct domain *d, struct api_call *call)
{
	simple_job(d, JOB_SHUTDOWN, "system-powerdown", call);
}

/* ---- destroy ---- */

static void destroy_kill(void *opaque)
{
	struct domain *d = opaque;

	d->job.timer = 0;
	pr_warn("%s: monitor pid %d did not quit: killing it", d->name, (int)d->vmm->pid);
	vmm_kill(d->vmm);
}

static void on_quit(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	if (err && d->job.kind == JOB_DESTROY) {
		if (d->job.timer)
			evloop_cancel(d->pgrd->loop, d->job.timer);
		d->job.timer = evloop_timer(d->pgrd->loop, 0, destroy_kill, d);
	}
}

void lifecycle_destroy(struct domain *d, struct api_call *call)
{
	if (!require_active(d, call))
		return;
	if (d->job.kind == JOB_DESTROY) {
		api_fail(call, API_ERR_BUSY, "domain '%s' is already being destroyed", d->name);
		return;
	}
	if (d->job.kind != JOB_NONE)
		job_fail(d, API_ERR_FAILED, "the domain was destroyed during the %s",
			 job_names[d->job.kind]);
	job_begin(d, JOB_DESTROY, call);
	if (monitor_usable(d->vmm->mon) &&
	    monitor_command(d->vmm->mon, "quit", NULL, on_quit, d) == 0)
		d->job.timer = evloop_timer(d->pgrd->loop, DESTROY_GRACE_MS, destroy_kill, d);
	else
		vmm_kill(d->vmm);
}

/* ---- save ---- */

static void on_migrate(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	d->job.awaiting_reply = false;
	if (err && d->job.kind == JOB_SAVE)
		job_fail(d, API_ERR_FAILED, "%s", err);
}

void lifecycle_save(struct domain *d, const char *file, bool checkpoint, struct api_call *call)
{
	char *uri = NULL;

	if (!require_active(d, call) || !job_free_for(d, call))
		return;
	if (d->state != DOM_RUNNING && d->state != DOM_PAUSED) {
		api_fail(call, API_ERR_INVALID, "domain is %s", dom_state_names[d->state]);
		return;
	}
	if (asprintf(&uri, "file:%s", file) < 0) {
		api_fail(call, API_ERR_FAILED, "out of memory");
		return;
	}
	job_begin(d, JOB_SAVE, call);
	d->job.resume_reason = d->state == DOM_RUNNING ? d->reason : R_UNPAUSED;
	d->job.checkpoint = checkpoint;
	d->job.file = strdup(file);
	job_command(d, "migrate", json_pack("{s:s, s:b}", "uri", uri, "checkpoint", checkpoint),
		    on_migrate);
	free(uri);
}

/* ---- pgrd restarts ---- */

int lifecycle_adopt(struct domain *d, struct adopt_record *rec, char **err)
{
	struct paths p = { 0 };
	struct vmm_paths vp;

	if (paths_of(d, &p, &vp) == 0)
		d->vmm = vmm_adopt(d->pgrd->loop, d->name, rec->pid, rec->starttime, &vp,
				   &vmm_ops, d, err);
	paths_free(&p);
	if (!d->vmm)
		return -ESRCH;
	d->live = rec->live;
	d->id = rec->id;
	/* Not a transition: the state it had when the last pgrd wrote it down,
	 * until query-status says better. */
	d->state = rec->state;
	d->reason = rec->reason;
	job_begin(d, JOB_ATTACH, NULL);
	pr_info("%s: adopted monitor pid %d (id %d, %s)", d->name, (int)rec->pid, d->id,
		dom_state_names[d->state]);
	return 0;
}

void lifecycle_release(struct domain *d)
{
	struct api_call *call = job_end(d);

	if (call)
		api_call_drop(call);
	vmm_free(d->vmm);
	d->vmm = NULL;
}
