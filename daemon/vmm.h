/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmm: supervision of one pgr-vmm process — spawning it (in its own
 * session and process group, stdin /dev/null, stdout and stderr appended to
 * the domain's log), or adopting one a previous pgrd left running; knowing
 * when it exits (a pidfd, so adopted monitors are watched as well as our
 * own children, which are also reaped for their exit status; where the
 * kernel has no pidfd_open, a 100 ms check); connecting to
 * its API socket (retried until it listens) and to its serial line (the
 * console). What the commands and events mean is the owner's business
 * (lifecycle.c), told through struct vmm_ops.
 *
 * Killing is explicit (vmm_kill); vmm_free only lets go, so a pgrd that
 * stops leaves its domains running.
 */
#ifndef PGR_DAEMON_VMM_H
#define PGR_DAEMON_VMM_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/vmconfig.h"

struct evloop;
struct monitor;
struct console;

struct vmm_ops {
	/* The API answered (greeting read): commands may be sent. After a
	 * dropped connection it is reconnected and @again is true: replies
	 * to commands sent before were lost. */
	void (*ready)(void *opaque, bool again);
	/* The API could not be reached in time (30 s after a spawn, 3 s
	 * after adopting or losing the connection) while the process lives. */
	void (*api_lost)(void *opaque);
	void (*event)(void *opaque, const char *name, json_t *data);
	/* The process is gone. @status: wait status of our child, or -1 for
	 * an adopted process. The owner frees the vmm here. */
	void (*exited)(void *opaque, int status);
};

struct vmm {
	struct evloop *loop;
	const struct vmm_ops *ops;
	void *opaque;
	pid_t pid;
	unsigned long long starttime;   /* /proc/PID/stat field 22: guards against pid reuse */
	bool child;
	int pidfd;                      /* -1 without pidfd_open: poll_timer instead */
	uint64_t poll_timer;
	char *name, *api_path, *serial_path, *console_log;
	struct monitor *mon;
	struct console *con;
	uint64_t connect_timer;
	uint64_t connect_deadline;
	bool connected_once;
};

/* Where the monitor of domain @name lives: the paths a vmm needs. */
struct vmm_paths {
	const char *api, *serial, *log, *console_log;
};

/* How a monitor starts: booting @c (incoming NULL) or loading a stream
 * (file:PATH, or fd:3 for an inherited connection); --paused unless
 * @run (an incoming migration resumes the guest itself); @cpu_mask
 * ("avx2,aes": --cpu host,-avx2,-aes) or NULL. */
struct vmm_launch {
	const char *incoming;
	bool run;
	bool lazy;                 /* --lazy: a save file's RAM checked as it is used */
	const char *cpu_mask;
};

/* pgr-vmm's --cpu for a host with cpu_mask @mask ("avx2,aes" or NULL):
 * "host,-avx2,-aes" (malloc'd; NULL if out of memory). */
char *vmm_cpu_spec(const char *mask);

/* The argv (NULL-terminated, malloc'd strings) that runs @c under
 * @vmm_path with the API and serial sockets of @p. NULL with *err
 * (malloc'd) if @c cannot be expressed on pgr-vmm's command line. */
char **vmm_argv(const char *vmm_path, const struct vm_config *c, const struct vmm_paths *p,
		const struct vmm_launch *how, char **err);
void vmm_argv_free(char **argv);

/* Fork and exec @argv, with @pass_fd (unless -1) as the child's fd 3.
 * NULL with *err (malloc'd) on failure. */
struct vmm *vmm_spawn(struct evloop *l, const char *name, char **argv, int pass_fd,
		      const struct vmm_paths *p, const struct vmm_ops *ops, void *opaque,
		      char **err);
/* Take over a running monitor: @pid must still be the process started at
 * @starttime with @p->api on its command line. NULL with *err if not. */
struct vmm *vmm_adopt(struct evloop *l, const char *name, pid_t pid, unsigned long long starttime,
		      const struct vmm_paths *p, const struct vmm_ops *ops, void *opaque,
		      char **err);
void vmm_free(struct vmm *v);

/* SIGKILL the monitor's process group. 0 or -errno. */
int vmm_kill(struct vmm *v);
/* Process any API lines already received (before handling an exit). */
void vmm_drain(struct vmm *v);
/* CPU time used by the monitor (user + system), in nanoseconds; 0 if unknown. */
unsigned long long vmm_cpu_time_ns(const struct vmm *v);

/* /proc/PID/stat's start time, 0 if the process does not exist. */
unsigned long long proc_starttime(pid_t pid);

#endif
