// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: spawn or adopt a pgr-vmm, watch its pid, connect its API and
 * serial sockets (see vmm.h). The command line is built here from a
 * vm_config, so this is the one place that knows pgr-vmm's flags.
 */
#include "daemon/vmm.h"

#define LOG_SUBSYS "vmm"
#include "lib/log.h"
#include "daemon/console.h"
#include "daemon/evloop.h"
#include "daemon/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VMM_CONNECT_RETRY_MS   20
#define VMM_SPAWN_CONNECT_MS   30000   /* a big guest takes a while to build */
#define VMM_ADOPT_CONNECT_MS   3000
#define VMM_POLL_MS            100     /* exit checks where there is no pidfd */

/* ---- the command line ---- */

struct argv_buf {
	char **v;
	int n;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) add(struct argv_buf *a, const char *fmt, ...)
{
	char **nv = realloc(a->v, (a->n + 2) * sizeof(*a->v));
	va_list ap;

	if (!nv) {
		a->oom = true;
		return;
	}
	a->v = nv;
	va_start(ap, fmt);
	if (vasprintf(&a->v[a->n], fmt, ap) < 0)
		a->oom = true;
	else
		a->v[++a->n] = NULL;
	va_end(ap);
}

void vmm_argv_free(char **argv)
{
	for (int i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* pgr-vmm splits --disk and --net values at commas. */
static int check_commas(const struct vm_config *c, char **err)
{
	for (int i = 0; i < c->ndisks; i++)
		if (strchr(c->disks[i].path, ','))
			return asprintf(err, "disk path '%s' contains a comma, which pgr-vmm's --disk "
					"cannot carry", c->disks[i].path), -EINVAL;
	for (int i = 0; i < c->nnets; i++)
		if ((c->nets[i].tap && strchr(c->nets[i].tap, ',')) ||
		    (c->nets[i].bridge && strchr(c->nets[i].bridge, ',')))
			return asprintf(err, "interface %d: a tap or bridge name with a comma", i),
			       -EINVAL;
	return 0;
}

static void add_devices(struct argv_buf *a, const struct vm_config *c)
{
	char mac[18];

	for (int i = 0; i < c->ndisks; i++) {
		add(a, "--disk");
		add(a, "path=%s,readonly=%s,cache=%s", c->disks[i].path,
		    c->disks[i].readonly ? "on" : "off", disk_cache_name(c->disks[i].cache));
	}
	for (int i = 0; i < c->nnets; i++) {
		format_mac(c->nets[i].mac, mac);
		add(a, "--net");
		/* Without a tap name, one per domain and NIC: pgr<index>-<uuid prefix>. */
		if (c->nets[i].tap)
			add(a, "tap=%s,mac=%s%s%s", c->nets[i].tap, mac,
			    c->nets[i].bridge ? ",bridge=" : "",
			    c->nets[i].bridge ? c->nets[i].bridge : "");
		else
			add(a, "tap=pgr%d-%02x%02x%02x%02x,mac=%s%s%s", i, c->uuid[0], c->uuid[1],
			    c->uuid[2], c->uuid[3], mac, c->nets[i].bridge ? ",bridge=" : "",
			    c->nets[i].bridge ? c->nets[i].bridge : "");
	}
}

static void add_guest(struct argv_buf *a, const struct vm_config *c)
{
	char uuid[37];

	format_uuid(c->uuid, uuid);
	add(a, "--name"); add(a, "%s", c->name);
	add(a, "--uuid"); add(a, "%s", uuid);
	add(a, "--kernel"); add(a, "%s", c->kernel);
	if (c->initrd) {
		add(a, "--initrd"); add(a, "%s", c->initrd);
	}
	if (c->cmdline) {
		add(a, "--cmdline"); add(a, "%s", c->cmdline);
	}
	add(a, "--memory"); add(a, "%llu", (unsigned long long)c->mem_bytes);
	add(a, "--cpus"); add(a, "%d", c->ncpus);
}

char *vmm_cpu_spec(const char *mask)
{
	char *spec = malloc(5 + 2 * (mask ? strlen(mask) : 0) + 2), *o = spec;

	if (!spec)
		return NULL;
	o += sprintf(o, "host");
	for (const char *f = mask; f && *f; f++) {
		if (f == mask || f[-1] == ',')
			o += sprintf(o, ",-");
		if (*f != ',')
			*o++ = *f;
	}
	*o = 0;
	return spec;
}

char **vmm_argv(const char *vmm_path, const struct vm_config *c, const struct vmm_paths *p,
		const struct vmm_launch *how, char **err)
{
	struct argv_buf a = { 0 };

	if (check_commas(c, err) < 0)
		return NULL;
	if (!how->incoming && !c->kernel)
		return asprintf(err, "the definition has no kernel to boot"), NULL;
	add(&a, "%s", vmm_path);
	if (how->incoming) {
		add(&a, "--incoming"); add(&a, "%s", how->incoming);
		if (how->lazy)
			add(&a, "--lazy");
	} else {
		add_guest(&a, c);
		if (how->cpu_mask) {
			char *spec = vmm_cpu_spec(how->cpu_mask);

			if (spec) {
				add(&a, "--cpu"); add(&a, "%s", spec);
			}
			a.oom |= !spec;
			free(spec);
		}
	}
	add_devices(&a, c);
	add(&a, "--serial"); add(&a, "unix:%s", p->serial);
	add(&a, "--api-socket"); add(&a, "%s", p->api);
	if (!how->run)
		add(&a, "--paused");
	if (a.oom) {
		vmm_argv_free(a.v);
		return asprintf(err, "out of memory"), NULL;
	}
	return a.v;
}

/* ---- /proc ---- */

unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');         /* the command name may hold spaces */
	/* After ")": state is field 3; starttime is field 22. */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &t) != 1)
		return 0;
	return p[2] == 'Z' ? 0 : t;
}

/* True if one of @pid's arguments is @arg. */
static bool cmdline_has(pid_t pid, const char *arg)
{
	char path[64], *buf = NULL;
	size_t cap = 65536;
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !(buf = malloc(cap + 1))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	n = read(fd, buf, cap);
	close(fd);
	for (ssize_t off = 0; n > 0 && off < n && !found; off += strlen(buf + off) + 1) {
		buf[n] = 0;
		found = !strcmp(buf + off, arg);
	}
	free(buf);
	return found;
}

unsigned long long vmm_cpu_time_ns(const struct vmm *v)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)v->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* utime and stime are fields 14 and 15, in clock ticks. */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* ---- the API and console connections ---- */

static void on_mon_ready(void *opaque)
{
	struct vmm *v = opaque;

	bool again = v->connected_once;

	v->connected_once = true;
	if (!v->con)
		v->con = console_new(v->loop, v->name, v->serial_path, v->console_log);
	v->ops->ready(v->opaque, again);
}

static void on_mon_event(void *opaque, const char *name, json_t *data)
{
	struct vmm *v = opaque;

	v->ops->event(v->opaque, name, data);
}

static void try_connect(void *opaque);

/* Usually the monitor is exiting and the pidfd says so in a moment; if it
 * lives on, reconnect. */
static void on_mon_closed(void *opaque)
{
	struct vmm *v = opaque;

	pr_debug("%s: API connection closed", v->name);
	monitor_free(v->mon);
	v->mon = NULL;
	v->connect_deadline = evloop_now_ms() + VMM_ADOPT_CONNECT_MS;
	if (!v->connect_timer)
		v->connect_timer = evloop_timer(v->loop, VMM_CONNECT_RETRY_MS, try_connect, v);
}

static const struct monitor_ops mon_ops = {
	.ready = on_mon_ready, .event = on_mon_event, .closed = on_mon_closed,
};

static void try_connect(void *opaque)
{
	struct vmm *v = opaque;
	int fd = monitor_connect(v->api_path);

	v->connect_timer = 0;
	if (fd >= 0) {
		v->mon = monitor_new(v->loop, fd, &mon_ops, v);
		if (!v->mon)
			close(fd);
		else
			return;
	}
	if (evloop_now_ms() < v->connect_deadline) {
		v->connect_timer = evloop_timer(v->loop, VMM_CONNECT_RETRY_MS, try_connect, v);
		return;
	}
	pr_err("%s: no answer on the monitor's API socket %s: %s", v->name, v->api_path,
	       strerror(fd < 0 ? -fd : ENOMEM));
	v->ops->api_lost(v->opaque);
}

/* ---- the process ---- */

/* The process is gone (or, for a child, woken early: then not yet). */
static void check_exit(struct vmm *v)
{
	int status = -1;

	if (v->child ? waitpid(v->pid, &status, WNOHANG) == 0 : proc_starttime(v->pid) == v->starttime)
		return;
	if (v->pidfd >= 0)
		evloop_del(v->loop, v->pidfd);
	if (v->poll_timer)
		evloop_cancel(v->loop, v->poll_timer);
	v->poll_timer = 0;
	if (v->connect_timer)
		evloop_cancel(v->loop, v->connect_timer);
	v->connect_timer = 0;
	v->ops->exited(v->opaque, status);
}

static void on_pidfd(void *opaque, uint32_t events)
{
	check_exit(opaque);
}

/* Without pidfds (kernels before 5.3, valgrind): look every so often. */
static void on_poll_timer(void *opaque)
{
	struct vmm *v = opaque;

	v->poll_timer = evloop_timer(v->loop, VMM_POLL_MS, on_poll_timer, v);
	check_exit(v);
}

static struct vmm *vmm_alloc(struct evloop *l, const char *name, const struct vmm_paths *p,
			     const struct vmm_ops *ops, void *opaque)
{
	struct vmm *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	*v = (struct vmm){ .loop = l, .ops = ops, .opaque = opaque, .pidfd = -1,
			   .name = strdup(name), .api_path = strdup(p->api),
			   .serial_path = strdup(p->serial), .console_log = strdup(p->console_log) };
	if (!v->name || !v->api_path || !v->serial_path || !v->console_log) {
		vmm_free(v);
		return NULL;
	}
	return v;
}

/* Watch the pid and start connecting. 0 or -errno. */
static int vmm_watch(struct vmm *v, unsigned int connect_ms)
{
	v->pidfd = (int)syscall(SYS_pidfd_open, v->pid, 0);
	if (v->pidfd < 0 && errno != ENOSYS)
		return -errno;
	if (v->pidfd >= 0) {
		fcntl(v->pidfd, F_SETFD, FD_CLOEXEC);
		if (evloop_add(v->loop, v->pidfd, EPOLLIN, on_pidfd, v) < 0)
			return -ENOMEM;
	} else if (!(v->poll_timer = evloop_timer(v->loop, VMM_POLL_MS, on_poll_timer, v))) {
		return -ENOMEM;
	}
	v->connect_deadline = evloop_now_ms() + connect_ms;
	v->connect_timer = evloop_timer(v->loop, 0, try_connect, v);
	return v->connect_timer ? 0 : -ENOMEM;
}

/* In the child, between fork and exec: nothing that allocates. */
static void __attribute__((noreturn)) child_exec(char **argv, int log_fd, int pass_fd)
{
	int null = open("/dev/null", O_RDONLY);
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Out of the way of 0..3 first, so no dup2 below overwrites it. */
	if (pass_fd >= 0 && pass_fd <= 3 && (pass_fd = fcntl(pass_fd, F_DUPFD, 10)) < 0)
		_exit(127);
	if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(127);
	if (pass_fd >= 0 && dup2(pass_fd, 3) < 0)
		_exit(127);
	close_range(pass_fd >= 0 ? 4 : 3, ~0U, 0);
	if (chdir("/") < 0)
		_exit(127);
	execv(argv[0], argv);
	dprintf(2, "pgrd: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void log_start(int fd, char **argv)
{
	time_t now = time(NULL);
	char stamp[64];

	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S%z", localtime(&now));
	dprintf(fd, "%s: starting up\n", stamp);
	for (int i = 0; argv[i]; i++)
		dprintf(fd, "%s%s", i ? " " : "", argv[i]);
	dprintf(fd, "\n");
}

struct vmm *vmm_spawn(struct evloop *l, const char *name, char **argv, int pass_fd,
		      const struct vmm_paths *p, const struct vmm_ops *ops, void *opaque,
		      char **err)
{
	struct vmm *v = vmm_alloc(l, name, p, ops, opaque);
	int log_fd, r;

	if (!v)
		return asprintf(err, "out of memory"), NULL;
	log_fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		r = asprintf(err, "cannot open the log %s: %s", p->log, strerror(errno));
		vmm_free(v);
		return NULL;
	}
	log_start(log_fd, argv);
	v->pid = fork();
	if (v->pid == 0)
		child_exec(argv, log_fd, pass_fd);
	r = v->pid < 0 ? -errno : 0;
	close(log_fd);
	v->child = true;
	if (!r) {
		v->starttime = proc_starttime(v->pid);
		r = vmm_watch(v, VMM_SPAWN_CONNECT_MS);
	}
	if (r < 0) {
		if (asprintf(err, "cannot start %s: %s", argv[0], strerror(-r)) < 0)
			*err = NULL;
		if (v->pid > 0)
			vmm_kill(v);
		vmm_free(v);
		return NULL;
	}
	return v;
}

struct vmm *vmm_adopt(struct evloop *l, const char *name, pid_t pid, unsigned long long starttime,
		      const struct vmm_paths *p, const struct vmm_ops *ops, void *opaque,
		      char **err)
{
	struct vmm *v;

	if (pid <= 1 || !starttime || proc_starttime(pid) != starttime)
		return asprintf(err, "its monitor (pid %d) is gone", (int)pid), NULL;
	if (!cmdline_has(pid, p->api))
		return asprintf(err, "pid %d is no longer its monitor", (int)pid), NULL;
	v = vmm_alloc(l, name, p, ops, opaque);
	if (!v)
		return asprintf(err, "out of memory"), NULL;
	v->pid = pid;
	v->starttime = starttime;
	if (vmm_watch(v, VMM_ADOPT_CONNECT_MS) < 0) {
		if (asprintf(err, "cannot watch pid %d: %s", (int)pid, strerror(errno)) < 0)
			*err = NULL;
		vmm_free(v);
		return NULL;
	}
	return v;
}

int vmm_kill(struct vmm *v)
{
	/* The process group is the monitor's own (setsid): its threads and nothing else. */
	if (kill(-v->pid, SIGKILL) < 0 && kill(v->pid, SIGKILL) < 0)
		return -errno;
	return 0;
}

void vmm_drain(struct vmm *v)
{
	if (v->mon)
		monitor_drain(v->mon);
}

void vmm_free(struct vmm *v)
{
	if (!v)
		return;
	if (v->connect_timer)
		evloop_cancel(v->loop, v->connect_timer);
	if (v->poll_timer)
		evloop_cancel(v->loop, v->poll_timer);
	if (v->pidfd >= 0) {
		evloop_del(v->loop, v->pidfd);
		close(v->pidfd);
	}
	console_free(v->con);
	monitor_free(v->mon);
	free(v->name);
	free(v->api_path);
	free(v->serial_path);
	free(v->console_log);
	free(v);
}
