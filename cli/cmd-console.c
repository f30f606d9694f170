// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-console: `pgr console DOMAIN` — the guest's serial line through
 * pgrd (which keeps the log meanwhile): a domain-console request turns a
 * fresh connection into the raw byte stream. The terminal goes raw (output
 * processing kept, so a guest's bare "\n" still returns the carriage);
 * Ctrl-] detaches, as does the end of stdin or of the domain.
 */
#include "cli/pgr.h"

#include "cli/conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x1d       /* Ctrl-] */

static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= w;
	}
	return 0;
}

/* Keyboard to guest; 1 when it is time to detach. */
static int from_stdin(int sock)
{
	char buf[4096], *esc;
	ssize_t n = read(0, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return 1;
	esc = memchr(buf, ESCAPE_CHAR, n);
	if (write_all(sock, buf, esc ? (size_t)(esc - buf) : (size_t)n) < 0)
		return 1;
	return esc != NULL;
}

/* Guest to screen; 1 when the guest's side has gone. */
static int from_guest(int sock)
{
	char buf[16384];
	ssize_t n = read(sock, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return 1;
	return write_all(1, buf, n) < 0;
}

static void relay(int sock)
{
	struct pollfd fds[2] = { { .fd = 0, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
	bool done = false;

	while (!done) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			done = from_guest(sock);
		if (!done && fds[0].revents)
			done = from_stdin(sock);
	}
}

/* Raw input, but keep output processing (ONLCR). */
static bool raw_terminal(struct termios *saved)
{
	struct termios t;

	if (!isatty(0) || tcgetattr(0, saved) < 0)
		return false;
	t = *saved;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;
	return tcsetattr(0, TCSADRAIN, &t) == 0;
}

/* A connection turned into @dom's console: its fd, or -1 with the error
 * printed. *rest (*rest_len bytes) came with the answer: the guest's first
 * bytes, to show after the banner (valid until @cc is closed). */
static int open_console(struct pgr *p, const char *dom, bool force, struct conn **cc,
			const char **rest, size_t *rest_len)
{
	char *why = NULL;
	json_t *reply, *err;

	if (!(*cc = conn_open(p->uri, &why))) {
		pgr_error("%s", why ? why : "out of memory");
		free(why);
		return -1;
	}
	reply = conn_request(*cc, "domain-console", json_pack("{s:s, s:b}", "domain", dom,
							       "force", force), &why);
	if (!reply || (err = json_object_get(reply, "error"))) {
		struct call_error e = { .cls = "Connection" };

		if (reply) {
			snprintf(e.cls, sizeof(e.cls), "%s", json_string_value(json_object_get(err, "class")) ?: "");
			snprintf(e.desc, sizeof(e.desc), "%s", json_string_value(json_object_get(err, "desc")) ?: "");
		} else {
			pgr_error("%s", why ? why : "out of memory");
		}
		domain_error("open the console of", dom, &e);
		json_decref(reply);
		free(why);
		return -1;
	}
	json_decref(reply);
	return conn_take_fd(*cc, rest, rest_len);
}

int console_run(struct pgr *p, const char *dom, bool force, bool resume)
{
	struct conn *cc = NULL;
	struct termios saved;
	struct call_error e;
	json_t *ret;
	const char *rest = NULL;
	size_t rest_len = 0;
	bool raw;
	int fd = open_console(p, dom, force, &cc, &rest, &rest_len);

	if (fd < 0) {
		conn_close(cc);
		return 1;
	}
	/* Raw before the banner: what is typed after it must not be flushed. */
	raw = raw_terminal(&saved);
	printf("Connected to domain %s\nEscape character is ^]\n", dom);
	fflush(stdout);
	write_all(1, rest, rest_len);
	if (resume && !(ret = pgr_call(p, "domain-resume", json_pack("{s:s}", "domain", dom), &e)))
		domain_error("resume", dom, &e);
	else if (resume)
		json_decref(ret);
	relay(fd);
	if (raw) {
		tcsetattr(0, TCSADRAIN, &saved);
		putchar('\n');
	}
	conn_close(cc);
	return 0;
}

static const char usage[] =
"Usage: pgr console DOMAIN [--force]\n"
"Attach to the domain's serial console; Ctrl-] detaches. One client at a\n"
"time: --force disconnects the one attached.\n";

int cmd_console(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL;
	bool force = false;
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, &dom }, { "force", ARG_FLAG, &force }, { NULL, 0, NULL },
	};
	struct call_error e;
	char name[128];
	json_t *info;
	int r = parse_args(argc, argv, usage, spec);

	if (r)
		return args_exit(r);
	info = pgr_call(p, "domain-info", json_pack("{s:s}", "domain", dom), &e);
	if (!info)
		return domain_error("open the console of", dom, &e);
	snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(info, "name")) ?: dom);
	json_decref(info);
	return console_run(p, name, force, false);
}
