// SPDX-License-Identifier: GPL-2.0-only
/*
 * dial: URI to a connected stream (see dial.h). TCP connects with a 10 s
 * limit, as pgrd does to another host; ssh runs in its own process group
 * (a Ctrl-C meant for pgr, e.g. to cancel a migration, must not cut the
 * connection that carries the cancel) with its stderr in a memfd, read
 * back only when something went wrong — it can never fill up and stall
 * ssh as an unread pipe would.
 */
#include "cli/dial.h"

#include "lib/sshcmd.h"
#include "lib/uri.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SSH_WAIT_MS 5000
#define SSH_ERR_LINES 3

const char *dial_local_socket(const char *path)
{
	const char *env = getenv("PGR_SOCKET");

	if (path)
		return path;
	return env && *env ? env : PGR_DEFAULT_SOCKET;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- unix ---- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int dial_unix(const char *path, struct dial *d, char **err)
{
	int fd;

	d->where = strdup(dial_local_socket(path));
	if (!d->where)
		return -ENOMEM;
	fd = connect_unix(d->where);
	if (fd >= 0) {
		d->fd = fd;
		return 0;
	}
	if (asprintf(err, "failed to connect to pgrd at '%s': %s%s", d->where, strerror(-fd),
		     fd == -ENOENT || fd == -ECONNREFUSED ? " (is pgrd running?)" : "") < 0)
		*err = NULL;
	return -1;
}

/* ---- TCP ---- */

/* A connected socket to @ai within the time left before @deadline, or -errno. */
static int connect_addr(const struct addrinfo *ai, long long deadline)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t len = sizeof(int);
	int fd, r, one = 1, soerr = 0;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	pfd.fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
		goto fail;
	do {
		long long left = deadline - now_ms();

		r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		errno = r ? errno : ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		errno = soerr ? soerr : errno;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* requests are lines */
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

static int dial_tcp(const struct pgr_uri *u, struct dial *d, char **err)
{
	const struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	long long deadline = now_ms() + DIAL_TCP_TIMEOUT_MS;
	struct addrinfo *res, *ai;
	char port[8];
	int g, fd = -EHOSTUNREACH;

	snprintf(port, sizeof(port), "%d", u->port);
	if (asprintf(&d->where, strchr(u->host, ':') ? "[%s]:%d" : "%s:%d", u->host, u->port) < 0)
		return d->where = NULL, -ENOMEM;
	d->remote = true;
	g = getaddrinfo(u->host, port, &hints, &res);
	if (g) {
		if (asprintf(err, "failed to connect to pgrd at '%s': cannot resolve '%s': %s",
			     d->where, u->host, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g)) < 0)
			*err = NULL;
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = connect_addr(ai, deadline);
	freeaddrinfo(res);
	if (fd >= 0) {
		d->fd = fd;
		return 0;
	}
	if (asprintf(err, "failed to connect to pgrd at '%s': %s%s", d->where, strerror(-fd),
		     fd == -ECONNREFUSED ? " (is its relocation server on?)" : "") < 0)
		*err = NULL;
	return -1;
}

/* ---- ssh ---- */

static void __attribute__((noreturn)) ssh_child(int sock, int errfd, char **argv)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	execvp(argv[0], argv);
	dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int dial_ssh(const struct pgr_uri *u, struct dial *d, char **err)
{
	struct sshcmd cmd;
	char **argv = cmd.argv;
	int sp[2] = { -1, -1 }, r = 0;

	d->where = uri_format(u);
	d->remote = true;
	if (sshcmd_init(&cmd, u) < 0 || !d->where) {
		sshcmd_clear(&cmd);
		return -ENOMEM;
	}
	d->ssh_err = memfd_create("pgr-ssh-stderr", MFD_CLOEXEC);
	if (d->ssh_err < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    (d->ssh_pid = fork()) < 0) {
		r = -errno;
		d->ssh_pid = 0;
	} else if (!d->ssh_pid) {
		ssh_child(sp[1], d->ssh_err, argv);
	} else {
		setpgid(d->ssh_pid, d->ssh_pid);     /* the child does too: whoever is first */
	}
	if (sp[1] >= 0)
		close(sp[1]);
	d->fd = sp[0];
	if (r && asprintf(err, "failed to connect to pgrd at '%s': cannot start %s: %s",
			  d->where, argv[0], strerror(-r)) < 0)
		*err = NULL;
	sshcmd_clear(&cmd);
	return r ? -1 : 0;
}

/* ssh's stderr, its last few lines (progress warnings left out) joined
 * into one; malloc'd, "" when it said nothing. */
static char *ssh_stderr(int fd)
{
	char buf[8192], *lines[SSH_ERR_LINES] = { 0 }, *line, *save = NULL, *out;
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	ssize_t n = end >= 0 ? pread(fd, buf, sizeof(buf) - 1,
				     end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0) : -1;
	size_t kept = 0;

	buf[n > 0 ? n : 0] = '\0';
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < ' ' && *c != '\n')
			*c = ' ';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len;

		line += strspn(line, " ");
		for (len = strlen(line); len && line[len - 1] == ' '; len--)
			line[len - 1] = '\0';      /* ssh ends its lines in \r\n */
		if (!*line || !strncmp(line, "Warning: Permanently added", 26))
			continue;
		if (!strncmp(line, "error: ", 7))     /* pgr tunnel's own error line */
			line += 7;
		if (kept == SSH_ERR_LINES)
			memmove(lines, lines + 1, sizeof(lines[0]) * --kept);
		lines[kept++] = line;
	}
	out = strdup("");
	for (size_t i = 0; i < kept && out; i++) {
		char *next;

		if (asprintf(&next, "%s%s%s", out, i ? "; " : "", lines[i]) < 0)
			next = NULL;
		free(out);
		out = next;
	}
	return out;
}

/* Reap the ssh child, killing its group if it takes longer than @ms. */
static int ssh_reap(pid_t pid, int ms)
{
	int status = 0;

	for (long long end = now_ms() + ms; now_ms() < end; usleep(20000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	kill(-pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

char *dial_ssh_why(struct dial *d)
{
	char *said, *why = NULL, how[64];
	int status;

	if (!d->ssh_pid)
		return NULL;
	status = ssh_reap(d->ssh_pid, SSH_WAIT_MS);
	d->ssh_pid = 0;
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	said = ssh_stderr(d->ssh_err);
	if (said && asprintf(&why, "ssh %s%s%s", how, *said ? ": " : "", said) < 0)
		why = NULL;
	free(said);
	return why;
}

/* ---- all ---- */

int dial_open(const char *uri, struct dial *d, char **err)
{
	struct pgr_uri u;
	int r;

	*d = (struct dial){ .fd = -1, .ssh_err = -1 };
	*err = NULL;
	if (!uri)
		u = (struct pgr_uri){ .transport = URI_LOCAL };
	else if (uri_parse(uri, &u, err) < 0)
		return -1;
	switch (u.transport) {
	case URI_LOCAL:
		r = dial_unix(NULL, d, err);
		break;
	case URI_UNIX:
		r = dial_unix(u.path, d, err);
		break;
	case URI_TCP:
		r = dial_tcp(&u, d, err);
		break;
	default:
		r = dial_ssh(&u, d, err);
		break;
	}
	uri_clear(&u);
	if (r == -ENOMEM && !*err)
		*err = strdup("out of memory");
	if (r < 0)
		dial_close(d);
	return r < 0 ? -1 : 0;
}

void dial_close(struct dial *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->ssh_pid)
		ssh_reap(d->ssh_pid, SSH_WAIT_MS);
	if (d->ssh_err >= 0)
		close(d->ssh_err);
	free(d->where);
	*d = (struct dial){ .fd = -1, .ssh_err = -1 };
}
