// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate: domains between hosts (migrate.h; the protocol is
 * docs/relocation.md).
 *
 * Source: check what can be checked here, connect to the destination
 * pgrd (TCP to its relocation server, ssh running `pgr tunnel`, or a unix
 * socket), check its host UUID, ask it to prepare (it checks the rest and
 * starts a monitor on its end of this very connection), then hand our end
 * to our monitor (getfd) and have it migrate over it. From then on the
 * two monitors run the stream and its commit; we follow our monitor's
 * MIGRATION events, and its exit after completion leaves the domain
 * "shut off (migrated)".
 *
 * Destination: migrate-prepare checks and spawns `pgr-vmm --incoming
 * fd:3` with the connection as fd 3, answers "ready" once that monitor's
 * API is up (and forgets the connection), and takes the domain over when
 * the monitor says it runs.
 */
#include "daemon/migrate.h"

#define LOG_SUBSYS "migrate"
#include "lib/log.h"
#include "lib/domxml.h"
#include "lib/sshcmd.h"
#include "lib/uri.h"
#include "daemon/api.h"
#include "daemon/evloop.h"
#include "daemon/job.h"
#include "daemon/monitor.h"
#include "daemon/pgrd.h"
#include "daemon/vmm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS  10000    /* connection and greeting */
#define PREPARE_TIMEOUT_MS  60000    /* the destination's checks and monitor start */
#define STATS_INTERVAL_MS   100      /* query-migrate while the stream runs */

enum mig_mode { MODE_LIVE, MODE_PAUSED, MODE_OFFLINE };
static const char *const mode_names[] = { "live", "paused", "offline" };

enum mig_phase {
	PH_CONNECTING,      /* to the destination pgrd, until its greeting */
	PH_PREPARING,       /* cpu features, migrate-prepare */
	PH_HANDOFF,         /* stop (paused mode), getfd, parameters, migrate */
	PH_MIGRATING,       /* the monitors run the stream */
	PH_COMPLETED,       /* MIGRATION completed: waiting for our monitor to exit */
};

struct migration {
	struct domain *d;
	/* source */
	enum mig_mode mode;
	enum mig_phase phase;
	bool persistent, undefine, resume, suspended;
	long timeout_s, bandwidth_mib, downtime_ms;
	char *dest;                 /* the destination as typed, for messages */
	struct monitor *peer;       /* the destination pgrd, until the handoff */
	int ssh_err;                /* read end of ssh's stderr, or -1 */
	uint64_t timer;             /* connect/prepare deadline, then --timeout */
	uint64_t stats_timer;
	json_t *features;           /* the guest's CPU features, for the destination */
	json_t *stats;              /* the monitor's last query-migrate answer */
	struct timespec t0;
	/* destination */
	bool in_persistent;
};

static long long elapsed_ms(const struct migration *m)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - m->t0.tv_sec) * 1000LL + (now.tv_nsec - m->t0.tv_nsec) / 1000000;
}

void migrate_free(struct migration *m)
{
	if (!m)
		return;
	if (m->timer)
		evloop_cancel(m->d->pgrd->loop, m->timer);
	if (m->stats_timer)
		evloop_cancel(m->d->pgrd->loop, m->stats_timer);
	monitor_free(m->peer);
	if (m->ssh_err >= 0)
		close(m->ssh_err);
	json_decref(m->features);
	json_decref(m->stats);
	free(m->dest);
	free(m);
}

/* The job of @d is still the migration @m (a destroy may have ended it). */
static struct migration *current(struct domain *d)
{
	return d->job.kind == JOB_MIGRATE_OUT || d->job.kind == JOB_MIGRATE_IN ? d->job.mig : NULL;
}

static void ignore_reply(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	if (err)
		pr_warn("%s: %s", d->name, err);
}

static void keep_figures(struct domain *d, const char *type, const char *error);

/* The source failed before the commit: the guest goes on here. If we
 * paused it, run it again. */
static void __attribute__((format(printf, 2, 3)))
fail_out(struct domain *d, const char *fmt, ...)
{
	struct migration *m = d->job.mig;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (m->suspended && d->vmm && d->vmm->mon)
		monitor_command(d->vmm->mon, "cont", NULL, ignore_reply, d);
	keep_figures(d, "failed", msg);
	job_fail(d, API_ERR_FAILED, "%s", msg ? msg : "out of memory");
	free(msg);
}

/* ---- source: checks made here ---- */

static int parse_mode(struct api_call *call, json_t *args, enum mig_mode *mode)
{
	bool live = json_is_true(json_object_get(args, "live"));
	bool offline = json_is_true(json_object_get(args, "offline"));
	const char *copy = json_string_value(json_object_get(args, "copy_storage"));

	if (live && offline) {
		api_fail(call, API_ERR_ARG, "--live and --offline are mutually exclusive");
		return -EINVAL;
	}
	if (copy) {
		api_fail(call, API_ERR_UNSUPPORTED, "copying storage (--copy-storage-%s) is not "
			 "supported yet: put the disks on storage both hosts see", copy);
		return -ENOTSUP;
	}
	if (offline && !json_is_true(json_object_get(args, "persistent"))) {
		api_fail(call, API_ERR_ARG, "offline migration requires --persistent");
		return -EINVAL;
	}
	*mode = offline ? MODE_OFFLINE : live ? MODE_LIVE : MODE_PAUSED;
	return 0;
}

/* A non-negative integer argument; -1 when absent. */
static int number(struct api_call *call, json_t *args, const char *key, long max, long *out)
{
	json_t *v = json_object_get(args, key);

	*out = -1;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		api_fail(call, API_ERR_ARG, "'%s' must be a number from 0 to %ld", key, max);
		return -EINVAL;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

/* Writable disks cached by this host's page cache would be read stale, or
 * lose writes, on the other host. */
static const char *unsafe_disk(const struct vm_config *c, const char **cache)
{
	for (int i = 0; i < c->ndisks; i++)
		if (!c->disks[i].readonly && c->disks[i].cache != DISK_CACHE_NONE) {
			*cache = disk_cache_name(c->disks[i].cache);
			return c->disks[i].path;
		}
	return NULL;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* ---- source: connecting ---- */

/* A non-blocking TCP connection under way to @host:@port. fd, or -errno
 * with *err. */
static int connect_tcp(const char *host, int port, char **err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV },
			*res = NULL;
	char service[16], addr[INET6_ADDRSTRLEN] = "?";
	int r, fd;

	snprintf(service, sizeof(service), "%d", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r != 0)
		return asprintf(err, "cannot resolve destination '%s': %s", host,
				r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r)), -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr))
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
		freeaddrinfo(res);
		return asprintf(err, "destination '%s' resolves to a loopback address (%s): give a "
				"name other hosts can reach", host, addr), -EADDRNOTAVAIL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS)) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return asprintf(err, "cannot connect to %s:%d: %s", host, port, strerror(-r)), r;
	}
	freeaddrinfo(res);
	return fd;
}

/* ssh to @u's host running `pgr tunnel [SOCKET]`, its stdin and stdout one
 * end of a socketpair: the other end, or -errno with *err. *err_fd: the
 * read end of ssh's stderr. ssh is double-forked, so nothing waits for it:
 * it ends when the connection does. */
static int connect_ssh(const struct pgr_uri *u, int *err_fd, char **err)
{
	struct sshcmd cmd;
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, status, r = 0;
	pid_t pid = -1;

	if (sshcmd_init(&cmd, u) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		r = cmd.words ? -errno : -ENOMEM;
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execvp(cmd.argv[0], cmd.argv);
		dprintf(2, "cannot run %s: %s\n", cmd.argv[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (r && asprintf(err, "cannot run ssh: %s", strerror(-r)) < 0)
		*err = NULL;
	sshcmd_clear(&cmd);
	if (sv[1] >= 0)
		close(sv[1]);           /* ssh's ends */
	if (ep[1] >= 0)
		close(ep[1]);
	if (r) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (ep[0] >= 0)
			close(ep[0]);
		return r;
	}
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	*err_fd = ep[0];
	return sv[0];
}

/* What ssh said before it gave up: its last line, or NULL. */
static char *ssh_said(struct migration *m)
{
	char buf[4096], *line, *nl;
	size_t len = 0;
	struct pollfd pfd = { .fd = m->ssh_err, .events = POLLIN };

	if (m->ssh_err < 0)
		return NULL;
	while (len < sizeof(buf) - 1 && poll(&pfd, 1, 500) > 0) {
		ssize_t n = read(m->ssh_err, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	line = (nl = strrchr(buf, '\n')) ? nl + 1 : buf;
	return *line ? strdup(line) : NULL;
}

/* ---- source: the destination's answers ---- */

static void peer_closed(void *opaque);
static void peer_ready(void *opaque);
static const struct monitor_ops peer_ops = { .ready = peer_ready, .closed = peer_closed };

static void deadline(void *opaque)
{
	struct domain *d = opaque;
	struct migration *m = current(d);

	m->timer = 0;
	fail_out(d, "%s did not answer within %d s", m->dest,
		 (m->phase == PH_CONNECTING ? CONNECT_TIMEOUT_MS : PREPARE_TIMEOUT_MS) / 1000);
}

static void set_timer(struct migration *m, int ms, void (*fn)(void *))
{
	if (m->timer)
		evloop_cancel(m->d->pgrd->loop, m->timer);
	m->timer = ms ? evloop_timer(m->d->pgrd->loop, ms, fn, m->d) : 0;
}

static void peer_closed(void *opaque)
{
	struct domain *d = opaque;
	struct migration *m = current(d);
	const char *refusal = monitor_refusal(m->peer);
	char *said;

	if (refusal) {
		fail_out(d, "%s", refusal);
		return;
	}
	said = ssh_said(m);
	if (said)
		fail_out(d, "cannot reach %s: %s%s", m->dest, strncmp(said, "ssh:", 4) ? "ssh: " : "",
			 said);
	else if (monitor_error(m->peer))
		fail_out(d, "cannot connect to %s: %s", m->dest, strerror(monitor_error(m->peer)));
	else
		fail_out(d, "%s closed the connection", m->dest);
	free(said);
}

static void handoff(struct domain *d);

/* --undefinesource, after success: the domain is the other host's now. */
static void undefine_source(struct domain *d)
{
	if (!d->job.mig->undefine || !d->def || domain_forget_def(d) < 0)
		return;
	vmconfig_clear(d->def);
	free(d->def);
	d->def = NULL;
	pr_info("%s: undefined here (--undefinesource)", d->name);
}

static void on_prepared(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = current(d);
	json_t *answer;

	if (!m || m->phase != PH_PREPARING)
		return;
	set_timer(m, 0, NULL);
	if (err) {
		fail_out(d, "%s: %s", m->dest, err);
		return;
	}
	if (m->mode == MODE_OFFLINE) {
		pr_info("%s: defined on %s (offline migration)", d->name, m->dest);
		answer = json_pack("{s:s, s:s, s:s, s:I}", "name", d->name, "dest_host", m->dest,
				   "mode", "offline", "total_ms", (json_int_t)elapsed_ms(m));
		undefine_source(d);
		job_answer_with(d, answer);
		if (!d->def && !domain_active(d))
			domain_remove(d);
		return;
	}
	if (!json_is_true(json_object_get(ret, "ready"))) {
		fail_out(d, "%s: unexpected answer to migrate-prepare", m->dest);
		return;
	}
	handoff(d);
}

static void send_prepare(struct domain *d)
{
	struct migration *m = d->job.mig;
	const struct vm_config *c = d->live ? d->live : d->def;
	char *xml = domxml_format(c), uuid[37], host[256] = "";
	json_t *args;

	format_uuid(d->pgrd->host_uuid, uuid);
	gethostname(host, sizeof(host) - 1);
	if (!xml) {
		fail_out(d, "cannot format the definition: %s", strerror(errno));
		return;
	}
	args = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "xml", xml, "mode", mode_names[m->mode],
			 "persistent", m->persistent, "resume", m->resume,
			 "source_host_uuid", uuid, "source_hostname", host);
	free(xml);
	if (args && m->features)
		json_object_set(args, "cpu_features", m->features);
	m->phase = PH_PREPARING;
	set_timer(m, PREPARE_TIMEOUT_MS, deadline);
	if (!args || monitor_command(m->peer, "migrate-prepare", args, on_prepared, d) < 0)
		fail_out(d, "cannot talk to %s", m->dest);
}

static void on_features(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = current(d);

	if (!m || m->phase != PH_PREPARING)
		return;
	d->job.awaiting_reply = false;
	if (err)
		pr_warn("%s: query-cpu-features: %s (the destination cannot check the CPU)",
			d->name, err);
	else
		m->features = json_incref(json_object_get(ret, "features"));
	send_prepare(d);
}

static void peer_ready(void *opaque)
{
	struct domain *d = opaque;
	struct migration *m = current(d);
	const char *theirs = json_string_value(json_object_get(json_object_get(
		monitor_greeting(m->peer), "pgrd"), "host-uuid"));
	char ours[37];

	format_uuid(d->pgrd->host_uuid, ours);
	if (!theirs) {
		fail_out(d, "%s is not a Peregrine host (no pgrd greeting)", m->dest);
		return;
	}
	if (!strcasecmp(theirs, ours)) {
		fail_out(d, "attempt to migrate guest to the same host %s", ours);
		return;
	}
	m->phase = PH_PREPARING;
	if (m->mode == MODE_OFFLINE || !d->vmm)
		send_prepare(d);
	else
		job_command(d, "query-cpu-features", NULL, on_features);
}

/* ---- source: the monitor takes over ---- */

static void poll_stats(void *opaque);

static void on_stats(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = current(d);

	/* A poll answered after the MIGRATION completed event is older than it. */
	if (!m || err || !ret || m->phase == PH_COMPLETED)
		return;
	json_decref(m->stats);
	m->stats = json_incref(ret);
}

static void poll_stats(void *opaque)
{
	struct domain *d = opaque;
	struct migration *m = current(d);

	m->stats_timer = evloop_timer(d->pgrd->loop, STATS_INTERVAL_MS, poll_stats, d);
	if (d->vmm && monitor_usable(d->vmm->mon))
		monitor_command(d->vmm->mon, "query-migrate", NULL, on_stats, d);
}

/* --timeout: suspend the guest so the migration completes. */
static void timed_out(void *opaque)
{
	struct domain *d = opaque;
	struct migration *m = current(d);

	m->timer = 0;
	if (m->phase != PH_MIGRATING || m->suspended || !d->vmm)
		return;
	pr_info("%s: migration still running after %ld s: suspending the guest", d->name,
		m->timeout_s);
	m->suspended = true;
	monitor_command(d->vmm->mon, "stop", NULL, ignore_reply, d);
}

/* The common start of the monitor's replies during a migration: the
 * migration @d still runs, or NULL; a refusal (@err) fails it, saying
 * @what failed. */
static struct migration *replied(struct domain *d, const char *err, const char *what)
{
	struct migration *m = current(d);

	if (!m)
		return NULL;
	d->job.awaiting_reply = false;
	if (err) {
		fail_out(d, "%s%s%s", what, *what ? ": " : "", err);
		return NULL;
	}
	return m;
}

static void on_migrate(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = replied(d, err, "");

	if (!m)
		return;
	m->phase = PH_MIGRATING;
	if (m->timeout_s > 0 && m->mode == MODE_LIVE)
		set_timer(m, (int)(m->timeout_s * 1000), timed_out);
	m->stats_timer = evloop_timer(d->pgrd->loop, STATS_INTERVAL_MS, poll_stats, d);
}

static void start_stream(struct domain *d)
{
	job_command(d, "migrate", json_pack("{s:s}", "uri", "fd:migration"), on_migrate);
}

static void on_params(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;

	if (replied(d, err, "migration parameters"))
		start_stream(d);
}

static void on_getfd(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = replied(d, err, "cannot give the connection to the monitor");
	json_t *params;

	if (!m)
		return;
	params = json_object();
	if (m->downtime_ms >= 0)
		json_object_set_new(params, "downtime-limit", json_integer(m->downtime_ms));
	if (m->bandwidth_mib >= 0)
		json_object_set_new(params, "max-bandwidth",
				    json_integer((json_int_t)m->bandwidth_mib << 20));
	if (json_object_size(params))
		job_command(d, "migrate-set-parameters", params, on_params);
	else {
		json_decref(params);
		start_stream(d);
	}
}

/* Our end of the connection goes to the monitor; we keep no copy. */
static void give_connection(struct domain *d)
{
	struct migration *m = d->job.mig;
	int fd = monitor_detach(m->peer), r;

	monitor_free(m->peer);
	m->peer = NULL;
	if (fd < 0) {
		fail_out(d, "%s sent more than its answer", m->dest);
		return;
	}
	r = d->vmm && d->vmm->mon ?
	    monitor_command_fd(d->vmm->mon, "getfd", json_pack("{s:s}", "fdname", "migration"), fd,
			       on_getfd, d) : -EPIPE;
	close(fd);
	if (r < 0)
		fail_out(d, "cannot give the connection to the monitor: %s", strerror(-r));
	else
		d->job.awaiting_reply = true;
}

static void on_stopped(void *opaque, json_t *ret, const char *err)
{
	struct domain *d = opaque;
	struct migration *m = replied(d, err, "cannot suspend the guest");

	if (!m)
		return;
	m->suspended = true;
	give_connection(d);
}

static void handoff(struct domain *d)
{
	struct migration *m = d->job.mig;

	m->phase = PH_HANDOFF;
	if (m->mode == MODE_PAUSED && d->state == DOM_RUNNING)
		job_command(d, "stop", NULL, on_stopped);
	else
		give_connection(d);
}

void migrate_out_event(struct domain *d, json_t *data)
{
	struct migration *m = current(d);
	const char *status = json_string_value(json_object_get(data, "status"));
	const char *why = json_string_value(json_object_get(data, "error-desc"));

	if (!m || !status || m->phase < PH_MIGRATING)
		return;
	if (!strcmp(status, "completed")) {
		m->phase = PH_COMPLETED;
		if (m->stats_timer)
			evloop_cancel(d->pgrd->loop, m->stats_timer);
		m->stats_timer = 0;
		if (json_object_get(data, "ram")) {
			json_decref(m->stats);
			m->stats = json_incref(data);
		}
		pr_info("%s: migrated to %s in %lld ms", d->name, m->dest, elapsed_ms(m));
	} else if (!strcmp(status, "cancelled")) {
		fail_out(d, "migration to %s cancelled%s%s", m->dest, why ? ": " : "", why ? why : "");
	} else if (!strcmp(status, "failed")) {
		fail_out(d, "migration to %s failed: %s", m->dest, why ? why : "no reason given");
	}
}

bool migrate_out_completed(const struct domain *d, int status)
{
	const struct migration *m = d->job.mig;

	if (d->job.kind != JOB_MIGRATE_OUT || !m)
		return false;
	if (m->phase == PH_COMPLETED)
		return true;
	/* A source monitor exits 0 only when the VM left (or the guest
	 * powered off, which its SHUTDOWN event says): its last MIGRATION
	 * event may not have reached us. */
	if (m->phase == PH_MIGRATING && status >= 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 && !(d->quit_seen && d->quit_clean)) {
		pr_warn("%s: the monitor exited 0 before its 'completed' event reached us: "
			"taking the migration as completed", d->name);
		return true;
	}
	return false;
}

static json_int_t stat_int(json_t *stats, const char *group, const char *key)
{
	json_t *g = group ? json_object_get(stats, group) : stats;

	return json_integer_value(json_object_get(g, key));
}

void migrate_out_finish(struct domain *d)
{
	struct migration *m = d->job.mig;
	json_t *ret = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", d->name,
				"dest_host", m->dest, "mode", mode_names[m->mode],
				"total_ms", (json_int_t)elapsed_ms(m),
				"downtime_ms", stat_int(m->stats, NULL, "downtime"),
				"transferred", stat_int(m->stats, "ram", "transferred"));

	keep_figures(d, "completed", NULL);
	undefine_source(d);
	job_answer_with(d, ret);
}

/* ---- source: domain-migrate ---- */

/* A domain-migrate request checked as far as this host can: the new
 * migration (not connected yet), or NULL with @call answered. */
static struct migration *out_request(struct domain *d, json_t *args, struct api_call *call)
{
	const struct vm_config *c = d->live ? d->live : d->def;
	struct migration *m;
	enum mig_mode mode;
	const char *path, *cache;
	long timeout, bandwidth, downtime;

	if (parse_mode(call, args, &mode) < 0 ||
	    number(call, args, "timeout", 1000000, &timeout) < 0 ||
	    number(call, args, "bandwidth", 1L << 20, &bandwidth) < 0 ||
	    number(call, args, "max_downtime", 2000000, &downtime) < 0)
		return NULL;
	if (!json_is_string(json_object_get(args, "uri")))
		return api_fail(call, API_ERR_ARG, "'uri' (the destination) is required"), NULL;
	if (mode != MODE_OFFLINE && (!domain_active(d) ||
				     (d->state != DOM_RUNNING && d->state != DOM_PAUSED)))
		return api_fail(call, API_ERR_INVALID, "domain is not running"), NULL;
	if (!c)
		return api_fail(call, API_ERR_INVALID, "domain '%s' has no definition to send",
				d->name), NULL;
	if (!job_free_for(d, call))
		return NULL;
	if (mode != MODE_OFFLINE && !json_is_true(json_object_get(args, "unsafe")) &&
	    (path = unsafe_disk(c, &cache)))
		return api_fail(call, API_ERR_INVALID, "Unsafe migration: migration may lead to "
				"data corruption if disks use cache other than none (disk %s uses "
				"cache=%s); use --unsafe to migrate anyway", path, cache), NULL;
	if (!(m = calloc(1, sizeof(*m))))
		return api_fail(call, API_ERR_FAILED, "out of memory"), NULL;
	*m = (struct migration){ .d = d, .mode = mode, .ssh_err = -1,
				 .persistent = json_is_true(json_object_get(args, "persistent")),
				 .undefine = json_is_true(json_object_get(args, "undefinesource")),
				 .resume = d->state == DOM_RUNNING, .timeout_s = timeout,
				 .bandwidth_mib = bandwidth, .downtime_ms = downtime };
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	return m;
}

/* Start connecting to @uri for @m (its dest and ssh_err are set): the
 * socket, or -errno with *err. */
static int dial_peer(struct migration *m, const char *uri, char **err)
{
	struct pgr_uri u;
	int fd = -EINVAL;

	if (uri_parse(uri, &u, err) < 0)
		return -EINVAL;
	switch (u.transport) {
	case URI_LOCAL:
		asprintf(err, "'%s' is this host's own daemon: name the destination host "
			 "(pgr+tcp://HOST/ or pgr+ssh://HOST/)", uri);
		break;
	case URI_UNIX:
		fd = monitor_connect(u.path);
		if (fd < 0)
			asprintf(err, "cannot connect to %s: %s", u.path, strerror(-fd));
		break;
	case URI_TCP:
		fd = connect_tcp(u.host, u.port, err);
		break;
	case URI_SSH:
		fd = connect_ssh(&u, &m->ssh_err, err);
		break;
	}
	m->dest = strdup(u.host ? u.host : u.path ? u.path : uri);
	uri_clear(&u);
	if (fd >= 0 && !m->dest) {
		close(fd);
		fd = -ENOMEM;
	}
	return fd;
}

void migrate_out(struct domain *d, json_t *args, struct api_call *call)
{
	struct migration *m = out_request(d, args, call);
	char *err = NULL;
	int fd;

	if (!m)
		return;
	fd = dial_peer(m, json_string_value(json_object_get(args, "uri")), &err);
	if (fd >= 0 && !(m->peer = monitor_new(d->pgrd->loop, fd, &peer_ops, d))) {
		close(fd);
		fd = -ENOMEM;
	}
	if (fd < 0) {
		/* -EINVAL: not a URI of another host */
		api_fail(call, fd == -EINVAL ? API_ERR_ARG : API_ERR_FAILED, "%s",
			 err ? err : fd == -ENOMEM ? "out of memory" : "cannot reach the destination");
		free(err);
		migrate_free(m);
		return;
	}
	job_begin(d, JOB_MIGRATE_OUT, call);
	d->job.mig = m;
	set_timer(m, CONNECT_TIMEOUT_MS, deadline);
	pr_info("%s: %s migration to %s", d->name, mode_names[m->mode], m->dest);
}

/* ---- job info and abort ---- */

static json_t *job_figures(struct migration *m);

/* The figures of a migration that has ended, kept for domain-job-info. */
static void keep_figures(struct domain *d, const char *type, const char *error)
{
	struct migration *m = d->job.mig;
	json_t *j = job_figures(m);

	if (!j)
		return;
	json_object_set_new(j, "type", json_string(type));
	if (error)
		json_object_set_new(j, "error", json_string(error));
	json_decref(d->last_job);
	d->last_job = j;
}

void migrate_job_info(struct domain *d, struct api_call *call)
{
	struct migration *m = d->job.kind == JOB_MIGRATE_OUT ? d->job.mig : NULL;

	if (d->job.kind == JOB_NONE) {
		api_return(call, d->last_job ? json_incref(d->last_job) :
				 json_pack("{s:s}", "type", "none"));
		return;
	}
	if (!m) {
		api_return(call, json_pack("{s:s, s:s}", "type", "unbounded", "operation",
					   d->job.kind == JOB_MIGRATE_IN ? "migration-in" :
					   job_name(d->job.kind)));
		return;
	}
	api_return(call, job_figures(m));
}

static json_t *job_figures(struct migration *m)
{
	json_t *s = m->stats, *ret;
	json_int_t total, remaining, sent;
	int percent;

	total = stat_int(s, "ram", "total");
	remaining = stat_int(s, "ram", "remaining");
	sent = stat_int(s, "ram", "transferred");
	percent = m->phase == PH_COMPLETED ? 100 :
		  sent + remaining ? (int)(100 * sent / (sent + remaining)) : 0;
	if (percent > 99 && m->phase != PH_COMPLETED)
		percent = 99;
	ret = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
			"type", "unbounded", "operation", "migration-out",
			"status", s ? json_string_value(json_object_get(s, "status")) ?: "setup" :
			"setup", "elapsed_ms", (json_int_t)elapsed_ms(m),
			"data_total", total, "data_processed", sent, "data_remaining", remaining,
			"memory_total", total, "memory_processed", sent,
			"memory_remaining", remaining,
			"dirty_rate", stat_int(s, "ram", "dirty-pages-rate"),
			"iteration", stat_int(s, NULL, "rounds"), "percent", percent);
	if (ret && json_object_get(s, "downtime"))
		json_object_set_new(ret, "downtime_ms", json_integer(stat_int(s, NULL, "downtime")));
	if (ret && json_object_get(s, "expected-downtime"))
		json_object_set_new(ret, "expected_downtime_ms",
				    json_integer(stat_int(s, NULL, "expected-downtime")));
	return ret;
}

void migrate_job_abort(struct domain *d, struct api_call *call)
{
	struct migration *m = d->job.kind == JOB_MIGRATE_OUT ? d->job.mig : NULL;

	if (d->job.kind != JOB_MIGRATE_OUT && d->job.kind != JOB_SAVE) {
		api_fail(call, API_ERR_INVALID, "no job that can be aborted is active on the domain");
		return;
	}
	if (m && m->phase < PH_HANDOFF) {
		fail_out(d, "migration to %s cancelled", m->dest);
	} else if (m && m->phase == PH_COMPLETED) {
		api_fail(call, API_ERR_INVALID, "the migration has already completed");
		return;
	} else if (d->vmm && d->vmm->mon) {
		monitor_command(d->vmm->mon, "migrate-cancel", NULL, ignore_reply, d);
	}
	api_return(call, NULL);
}

/* ---- destination ---- */

/* MemAvailable in MiB, -1 if unknown. */
static long mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	long long kib = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : (long)(kib / 1024);
}

/* What guests get here: `pgr-vmm --cpu host,-MASK --print-cpu-features`,
 * asked once. NULL if the monitor cannot tell. */
static json_t *cpu_offer(struct pgrd *p)
{
	char *cmd = NULL, *spec, line[128];
	FILE *f;
	json_t *list;
	int status;

	if (p->cpu_offer)
		return p->cpu_offer;
	spec = vmm_cpu_spec(p->cfg.cpu_mask);
	if (!spec || asprintf(&cmd, "'%s' --cpu '%s' --print-cpu-features 2>/dev/null",
			      p->vmm_path, spec) < 0)
		cmd = NULL;
	free(spec);
	if (!cmd)
		return NULL;
	f = popen(cmd, "re");
	free(cmd);
	if (!f)
		return NULL;
	list = json_array();
	while (list && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (*line)
			json_array_append_new(list, json_string(line));
	}
	status = pclose(f);
	if (!list || status != 0 || !json_array_size(list)) {
		pr_warn("cannot learn the CPU features guests get here (%s --print-cpu-features)",
			p->vmm_path);
		json_decref(list);
		return NULL;
	}
	p->cpu_offer = list;
	return list;
}

static bool listed(json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	return false;
}

/* The checks of docs/relocation.md made here. 0, or -1 with @call answered. */
/* The names in @features (a JSON array) that guests here do not get,
 * "a, b" (malloc'd); NULL if none, or if this host cannot tell. */
static char *cpu_missing(struct pgrd *p, json_t *features)
{
	json_t *offer = json_is_array(features) ? cpu_offer(p) : NULL, *v;
	char *missing = NULL, *grown;
	size_t i, len = 0;

	json_array_foreach(offer ? features : NULL, i, v) {
		const char *f = json_string_value(v);

		if (!f || listed(offer, f))
			continue;
		grown = realloc(missing, len + strlen(f) + 3);
		if (!grown)
			break;
		missing = grown;
		len += sprintf(missing + len, "%s%s", len ? ", " : "", f);
	}
	return missing;
}

/* The first interface whose bridge does not exist here, or -1. */
static int missing_bridge(const struct vm_config *c)
{
	char path[128];

	for (int i = 0; i < c->nnets; i++) {
		if (!c->nets[i].bridge)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", c->nets[i].bridge);
		if (access(path, F_OK) < 0)
			return i;
	}
	return -1;
}

static int check_in(struct api_call *call, const struct vm_config *c, json_t *features)
{
	struct pgrd *p = api_call_pgrd(call);
	long avail = mem_available_mib(), need = (long)(c->mem_bytes >> 20);
	char *missing;
	int fd, i;

	if (avail >= 0 && need > avail - p->cfg.memory_reserve_mib) {
		api_fail(call, API_ERR_FAILED, "not enough free memory: the domain needs %ld MiB, "
			 "%ld MiB available (MemAvailable less memory_reserve %ld MiB)", need,
			 avail - p->cfg.memory_reserve_mib > 0 ? avail - p->cfg.memory_reserve_mib : 0,
			 p->cfg.memory_reserve_mib);
		return -1;
	}
	if ((missing = cpu_missing(p, features))) {
		api_fail(call, API_ERR_FAILED, "the CPU here lacks features the guest uses: %s",
			 missing);
		free(missing);
		return -1;
	}
	for (i = 0; i < c->ndisks; i++) {
		fd = open(c->disks[i].path, (c->disks[i].readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			api_fail(call, API_ERR_FAILED, "cannot open disk %s here: %s",
				 c->disks[i].path, strerror(errno));
			return -1;
		}
		close(fd);
	}
	if ((i = missing_bridge(c)) >= 0) {
		api_fail(call, API_ERR_FAILED, "interface %d: no bridge '%s' here", i,
			 c->nets[i].bridge);
		return -1;
	}
	if (c->kernel && access(c->kernel, R_OK) < 0) {
		api_fail(call, API_ERR_FAILED, "cannot read kernel %s here: %s", c->kernel,
			 strerror(errno));
		return -1;
	}
	if (c->initrd && access(c->initrd, R_OK) < 0) {
		api_fail(call, API_ERR_FAILED, "cannot read initrd %s here: %s", c->initrd,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void config_free(struct vm_config *c)
{
	if (c)
		vmconfig_clear(c);
	free(c);
}

/* Store @c (taken) as @d's persistent definition. */
static int store_def(struct domain *d, struct vm_config *c, char **err)
{
	if (domain_save_def(d, c, err) < 0) {
		config_free(c);
		return -EIO;
	}
	config_free(d->def);
	d->def = c;
	return 0;
}

/* An offline migration: the definition (@c, taken) is stored here. */
static void prepare_offline(struct api_call *call, struct domain *d, struct vm_config *c,
			    json_t *args)
{
	bool created = !d;
	char *err = NULL;

	if (!json_is_true(json_object_get(args, "persistent"))) {
		api_fail(call, API_ERR_ARG, "offline migration requires --persistent");
		config_free(c);
		return;
	}
	if (!d && !(d = domain_add(api_call_pgrd(call), c))) {
		api_fail(call, API_ERR_FAILED, "out of memory");
		config_free(c);
		return;
	}
	if (store_def(d, c, &err) < 0) {
		api_fail(call, API_ERR_FAILED, "%s", err ? err : "cannot store the definition");
		free(err);
		if (created)
			domain_remove(d);
		return;
	}
	pr_info("%s: defined (offline migration)", d->name);
	api_return(call, json_pack("{s:b}", "defined", 1));
}

void migrate_in_prepare(struct api_call *call, struct domain *d, struct vm_config *c,
			json_t *args)
{
	struct pgrd *p = api_call_pgrd(call);
	const char *mode = json_string_value(json_object_get(args, "mode"));
	const char *src = json_string_value(json_object_get(args, "source_host_uuid"));
	const char *peer = api_call_peer(call);
	uint8_t src_uuid[16];
	struct migration *m;
	int fd;

	pr_info("%s: %s migration offered by %s", c->name, mode ? mode : "?",
		peer ? peer : "a local client");
	if (!mode || (strcmp(mode, "live") && strcmp(mode, "paused") && strcmp(mode, "offline"))) {
		api_fail(call, API_ERR_ARG, "'mode' must be live, paused or offline");
		goto out;
	}
	if (src && parse_uuid(src, src_uuid) == 0 && !memcmp(src_uuid, p->host_uuid, 16)) {
		api_fail(call, API_ERR_INVALID, "attempt to migrate guest to the same host %s", src);
		goto out;
	}
	if (d && domain_active(d)) {
		api_fail(call, API_ERR_INVALID, "domain '%s' is already active here", d->name);
		goto out;
	}
	if (!strcmp(mode, "offline")) {
		prepare_offline(call, d, c, args);
		return;
	}
	if (check_in(call, c, json_object_get(args, "cpu_features")) < 0)
		goto out;
	fd = api_call_fd(call);
	m = calloc(1, sizeof(*m));
	if (fd < 0 || !m || (!d && !(d = domain_add(p, c)))) {
		free(m);
		api_fail(call, API_ERR_FAILED, "out of memory");
		goto out;
	}
	*m = (struct migration){ .d = d, .ssh_err = -1, .resume = json_is_true(json_object_get(args, "resume")),
				 .in_persistent = json_is_true(json_object_get(args, "persistent")) };
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	/* The monitor builds the VM from the stream's definition, so its API
	 * answers only once the stream flows: the source may send now. The
	 * monitor has the connection (and makes it blocking for itself). */
	if (lifecycle_incoming(d, c, fd, m->resume, m, call) < 0)
		return;         /* answered; @d may be gone */
	d->job.call = NULL;
	if (api_call_release(call, json_pack("{s:b}", "ready", 1)) < 0)
		pr_warn("%s: the source went away before the stream began", d->name);
	return;
out:
	config_free(c);
}

void migrate_in_status(struct domain *d, const char *status)
{
	struct migration *m = current(d);
	struct vm_config *copy;
	char *err = NULL;

	if (!m || (strcmp(status, "running") && strcmp(status, "paused")))
		return;
	if (!strcmp(status, "paused") && m->resume) {
		if (!d->job.awaiting_reply)
			job_command(d, "cont", NULL, ignore_reply);
		return;
	}
	if (!strcmp(status, "paused"))
		domain_set_state(d, DOM_PAUSED, R_USER);
	pr_info("%s: arrived in %lld ms, %s", d->name, elapsed_ms(m), status);
	if (m->in_persistent) {
		copy = calloc(1, sizeof(*copy));
		if (!copy || vmconfig_copy(copy, d->live) < 0 || store_def(d, copy, &err) < 0) {
			pr_err("%s: cannot store the definition: %s", d->name, err ? err : "out of memory");
			if (copy && !err)
				free(copy);
		}
		free(err);
	}
	job_end(d);
}
