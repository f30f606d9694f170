// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgrd: the host daemon. main() reads the options and the config file,
 * opens the state directory, adopts the monitors a previous pgrd left
 * running, listens on the management socket and runs the event loop until
 * SIGTERM or SIGINT. Stopping pgrd leaves every domain running; the next
 * pgrd adopts them again.
 *
 * Without --foreground it detaches (fork, setsid) and its parent exits
 * once the socket is listening — 0 — or setting up failed — 1, with the
 * reason on stderr. See docs/pgrd.md.
 */
#include "daemon/pgrd.h"

#define LOG_SUBSYS "main"
#include "lib/log.h"
#include "daemon/api.h"
#include "daemon/domain.h"
#include "daemon/evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const char usage[] =
"Usage: pgrd [OPTIONS]\n"
"The Peregrine host daemon: keeps domain definitions and state, runs one\n"
"pgr-vmm per running domain, and serves the management API that pgr uses.\n"
"\n"
"  --config FILE       settings as `key = value` lines (see docs/pgrd.md;\n"
"                      default " PGRD_DEFAULT_CONFIG " if it exists)\n"
"  --state-dir DIR     definitions, runtime records, logs\n"
"                      (default " PGRD_DEFAULT_STATE_DIR ")\n"
"  --socket PATH       the management socket (default " PGRD_DEFAULT_SOCKET ")\n"
"  --relocation-address ADDR    serve other hosts on ADDR (default: all)\n"
"  --relocation-port PORT       ... on PORT (default 8002); either turns the\n"
"                               relocation server on (docs/relocation.md)\n"
"  --relocation-hosts-allow 'REGEX ...'  the hosts it accepts (default: all)\n"
"  --foreground        do not detach; log to stderr unless --log-file\n"
"  --log-file FILE     log there (detached default: STATE/log/pgrd.log)\n"
"  --debug LIST        debug logs for subsystems (api,lifecycle,vmm,monitor,\n"
"                      console,domain,store or all)\n"
"  --help, --version\n"
"\n"
"Command-line options override the config file. SIGTERM or SIGINT stops\n"
"pgrd and leaves the domains running.\n";

struct options {
	const char *config, *state_dir, *socket, *log_file;
	const char *reloc_address, *reloc_port, *reloc_allow;
	bool foreground;
};

enum {
	OPT_CONFIG = 256, OPT_STATE, OPT_SOCKET, OPT_FG, OPT_LOG, OPT_DEBUG, OPT_HELP, OPT_VERSION,
	OPT_RADDR, OPT_RPORT, OPT_RALLOW,
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "foreground", no_argument, NULL, OPT_FG },
	{ "relocation-address", required_argument, NULL, OPT_RADDR },
	{ "relocation-port", required_argument, NULL, OPT_RPORT },
	{ "relocation-hosts-allow", required_argument, NULL, OPT_RALLOW },
	{ "log-file", required_argument, NULL, OPT_LOG },
	{ "debug", required_argument, NULL, OPT_DEBUG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void __attribute__((noreturn)) die_usage(const char *what)
{
	fprintf(stderr, "pgrd: %s (see --help)\n", what);
	exit(2);
}

static void parse_options(struct options *o, int argc, char **argv)
{
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG: o->config = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_FG: o->foreground = true; break;
		case OPT_RADDR: o->reloc_address = optarg; break;
		case OPT_RPORT: o->reloc_port = optarg; break;
		case OPT_RALLOW: o->reloc_allow = optarg; break;
		case OPT_LOG: o->log_file = optarg; break;
		case OPT_DEBUG: log_set_debug(optarg); break;
		case OPT_HELP: fputs(usage, stdout); exit(0);
		case OPT_VERSION: printf("pgrd %s\n", PGR_VERSION); exit(0);
		default: die_usage(argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage(argv[optind]);
}

/* Config file first, then the command line (paths made absolute). */
static int settle_config(struct pgrd_config *c, const struct options *o, char **err)
{
	const char *keys[] = { "state_dir", "socket", "log_file" };
	const char *vals[] = { o->state_dir, o->socket, o->log_file };
	int r = config_init(c);

	if (!r && o->config)
		r = config_load(c, o->config, err);
	else if (!r && access(PGRD_DEFAULT_CONFIG, F_OK) == 0)
		r = config_load(c, PGRD_DEFAULT_CONFIG, err);
	for (int i = 0; i < 3 && !r; i++) {
		char *abs = NULL;

		if (!vals[i])
			continue;
		abs = vals[i][0] == '/' ? strdup(vals[i]) : realpath(".", NULL);
		if (abs && vals[i][0] != '/') {
			char *joined;

			r = asprintf(&joined, "%s/%s", abs, vals[i]) < 0 ? -ENOMEM : 0;
			free(abs);
			abs = r ? NULL : joined;
		}
		r = abs ? config_set(c, keys[i], abs, err) : -ENOMEM;
		free(abs);
	}
	if (!r && o->reloc_address)
		r = config_set(c, "relocation_address", o->reloc_address, err);
	if (!r && o->reloc_port)
		r = config_set(c, "relocation_port", o->reloc_port, err);
	if (!r && o->reloc_allow)
		r = config_set(c, "relocation_hosts_allow", o->reloc_allow, err);
	return r;
}

/* vmm_path, or pgr-vmm beside our own binary, or in PATH. */
static char *find_vmm(const struct pgrd_config *c)
{
	char self[PATH_MAX], *path, *copy, *dir, *save = NULL, *cand = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (c->vmm_path)
		return strdup(c->vmm_path);
	if (n > 0) {
		self[n] = 0;
		if (asprintf(&cand, "%s/pgr-vmm", dirname(self)) >= 0 && access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	path = getenv("PATH");
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&cand, "%s/pgr-vmm", dir) >= 0 && access(cand, X_OK) == 0)
			break;
		free(cand);
		cand = NULL;
	}
	free(copy);
	return cand;
}

/* ---- detaching ---- */

/* The parent waits for the child's word: 'R' ready, anything else failed. */
static int detach(void)
{
	int fds[2];
	pid_t pid;
	char c = 0;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		perror("pgrd: cannot detach");
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		exit(c == 'R' ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

static void detached_ready(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "R", 1) < 0)
		pr_warn("cannot tell the parent we are ready: %m");
	close(fd);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	if (chdir("/") < 0)
		pr_warn("chdir /: %m");
}

/* ---- signals ---- */

struct signals {
	struct pgrd *pgrd;
	int fd;
};

static void on_signal(void *opaque, uint32_t events)
{
	struct signals *sig = opaque;
	struct signalfd_siginfo si;

	while (read(sig->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: nothing to reload (restart pgrd to re-read its config)");
			continue;
		}
		pr_info("%s: stopping; the domains keep running", strsignal(si.ssi_signo));
		evloop_quit(sig->pgrd->loop);
	}
}

static int watch_signals(struct signals *sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig->fd < 0)
		return -errno;
	return evloop_add(sig->pgrd->loop, sig->fd, EPOLLIN, on_signal, sig);
}

/* ---- start-up ---- */

static int open_logs(struct pgrd *p, bool foreground)
{
	char *path = p->cfg.log_file ? strdup(p->cfg.log_file) :
		     foreground ? NULL : store_path(&p->store, "log", "pgrd", ".log");
	int r = path ? log_set_file(path) : 0;

	if (r < 0)
		fprintf(stderr, "pgrd: log file %s: %s\n", path, strerror(-r));
	free(path);
	return r;
}

static int host_uuid(struct pgrd *p)
{
	char *err = NULL, text[37];
	int r = store_host_uuid(&p->store, p->cfg.host_uuid_set ? p->cfg.host_uuid : NULL,
				p->host_uuid, &err);

	if (r < 0) {
		fprintf(stderr, "pgrd: %s\n", err ? err : strerror(-r));
		free(err);
		return r;
	}
	format_uuid(p->host_uuid, text);
	pr_info("host UUID %s", text);
	return 0;
}

/* Everything up to listening; errors are printed. 0 or -errno. */
static int setup(struct pgrd *p, struct signals *sig, const struct options *o)
{
	char *err = NULL;
	int r;

	if ((r = settle_config(&p->cfg, o, &err)) < 0 ||
	    (r = store_open(&p->store, p->cfg.state_dir, &err)) < 0)
		goto fail;
	if ((r = open_logs(p, o->foreground)) < 0 || (r = host_uuid(p)) < 0)
		return r;
	if (!(p->vmm_path = find_vmm(&p->cfg))) {
		fprintf(stderr, "pgrd: cannot find pgr-vmm next to pgrd or in PATH (set vmm_path)\n");
		return -ENOENT;
	}
	p->loop = evloop_new();
	sig->pgrd = p;
	if (!p->loop || (r = watch_signals(sig)) < 0) {
		fprintf(stderr, "pgrd: cannot set up the event loop: %s\n", strerror(errno));
		return r ? r : -ENOMEM;
	}
	p->next_id = 1;
	if ((r = domain_load_all(p, &err)) < 0 || !(p->api = api_new(p, p->cfg.socket, &err)))
		goto fail;
	if (p->cfg.relocation_server &&
	    api_listen_tcp(p->api, p->cfg.relocation_address, p->cfg.relocation_port,
			   p->cfg.relocation_hosts_allow, &err) < 0)
		goto fail;
	pr_info("pgrd %s listening on %s, state in %s, monitor %s", PGR_VERSION, p->cfg.socket,
		p->cfg.state_dir, p->vmm_path);
	return 0;
fail:
	fprintf(stderr, "pgrd: %s\n", err ? err : strerror(r ? -r : ENOMEM));
	free(err);
	return r ? r : -EIO;
}

static void teardown(struct pgrd *p, struct signals *sig)
{
	domain_free_all(p);
	api_free(p->api);
	if (sig->fd >= 0) {
		evloop_del(p->loop, sig->fd);
		close(sig->fd);
	}
	evloop_free(p->loop);
	store_close(&p->store);
	config_clear(&p->cfg);
	free(p->vmm_path);
	json_decref(p->cpu_offer);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct signals sig = { .fd = -1 };
	struct pgrd p = { 0 };
	int ready_fd = -1, r;

	log_init("pgrd", NULL);
	parse_options(&o, argc, argv);
	if (!o.foreground)
		ready_fd = detach();
	r = setup(&p, &sig, &o);
	if (r == 0) {
		detached_ready(ready_fd);
		r = evloop_run(p.loop);
		if (r < 0)
			pr_err("event loop: %s", strerror(-r));
	}
	teardown(&p, &sig);
	return r < 0 ? 1 : 0;
}
