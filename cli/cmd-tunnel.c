// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-tunnel: `pgr tunnel [SOCKET]`, the far end of a pgr+ssh://
 * connection — what sshd runs (or an authorized_keys command="..."). It
 * connects to the local pgrd and copies bytes both ways, without reading
 * them: stdin to the socket, the socket to stdout. When stdin ends the
 * socket is half-closed (pgrd answers what it was asked, then closes);
 * when the socket ends, so does the tunnel, with status 0. Each direction
 * has its own buffer and the fds are non-blocking, so a stalled reader on
 * one side never stops the other direction (a migration stream one way,
 * its acknowledgements the other). The near end is dial.c.
 */
#include "cli/pgr.h"

#include "cli/dial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RELAY_BUF (128 << 10)

static const char usage[] =
"Usage: pgr tunnel [SOCKET]\n"
"Connect stdin and stdout to the local pgrd (SOCKET, else $PGR_SOCKET, else\n"
"/run/peregrine/pgrd.sock) until either ends: what `ssh HOST pgr tunnel`\n"
"runs for pgr+ssh:// connections and migrations.\n";

/* One direction: bytes read from @in wait in @buf until @out takes them. */
struct relay {
	int in, out;
	char buf[RELAY_BUF];
	size_t off, len;
	bool eof;
};

static int open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errno = ENAMETOOLONG, -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return errno = e, -1;
	}
	return fd;
}

/* Sets O_NONBLOCK; returns the flags before, for restore_flags (stdin and
 * stdout may be a terminal the shell uses after us). */
static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fl;
}

static void restore_flags(int fd, int fl)
{
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl);
}

/* What @r waits for: to read (its buffer empty) or to write. */
static void want(const struct relay *r, struct pollfd *in, struct pollfd *out)
{
	in->fd = !r->len && !r->eof ? r->in : -1;
	in->events = POLLIN;
	out->fd = r->len ? r->out : -1;
	out->events = POLLOUT;
}

/* 0, or -1 when this direction is over (its input ended, or an error). */
static int step_read(struct relay *r)
{
	ssize_t n = read(r->in, r->buf, sizeof(r->buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		r->eof = true;
		return -1;
	}
	r->off = 0;
	r->len = n;
	return 0;
}

/* 0, or -1 when @r's output is gone. */
static int step_write(struct relay *r)
{
	ssize_t n = write(r->out, r->buf + r->off, r->len);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	r->off += n;
	r->len -= n;
	return 0;
}

/* Relay until the socket ends (0) or the client's side breaks (1). */
static int run(struct relay *up, struct relay *down, int sock)
{
	struct pollfd fds[4];

	for (;;) {
		want(up, &fds[0], &fds[1]);
		want(down, &fds[2], &fds[3]);
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (fds[0].revents && step_read(up) < 0)
			shutdown(sock, SHUT_WR);              /* stdin ended: no more requests */
		if (fds[1].revents && step_write(up) < 0)
			return 0;                             /* pgrd hung up on us */
		if (fds[2].revents && step_read(down) < 0)
			return 0;                             /* pgrd closed: done */
		if (fds[3].revents && step_write(down) < 0)
			return 1;                             /* nobody reads our stdout */
	}
}

int cmd_tunnel(struct pgr *p, int argc, char **argv)
{
	const char *path = NULL;
	const struct arg_spec spec[] = { { "socket", ARG_POS_OPT, &path }, { NULL, 0, NULL } };
	struct relay *up, *down;
	int r = parse_args(argc, argv, usage, spec), sock, fl0, fl1;

	if (r)
		return args_exit(r);
	path = dial_local_socket(path);
	sock = open_socket(path);
	if (sock < 0) {
		int e = errno;

		return pgr_error("failed to connect to pgrd at '%s': %s%s", path, strerror(e),
				 e == ENOENT || e == ECONNREFUSED ? " (is pgrd running?)" : "");
	}
	up = calloc(1, sizeof(*up));
	down = calloc(1, sizeof(*down));
	if (!up || !down) {
		r = pgr_error("out of memory");
	} else {
		signal(SIGPIPE, SIG_IGN);
		up->in = 0;
		up->out = down->in = sock;
		down->out = 1;
		fl0 = set_nonblock(0);
		fl1 = set_nonblock(1);
		set_nonblock(sock);
		r = run(up, down, sock);
		restore_flags(0, fl0);
		restore_flags(1, fl1);
	}
	free(up);
	free(down);
	close(sock);
	return r;
}
