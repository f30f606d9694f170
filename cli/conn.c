// SPDX-License-Identifier: GPL-2.0-only
/*
 * conn: the greeting, then request/answer by id (see conn.h), over the
 * stream dial.c opened. Blocking I/O: pgr does one thing at a time; only
 * a wait with a time limit polls. Events, if pgrd sends any, are skipped.
 */
#include "cli/conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAX_LINE (64 << 20)
#define GREETING_TCP_MS 10000      /* a relocation server greets at once */
#define GREETING_SSH_MS 60000      /* ssh logs in first */

struct conn {
	struct dial d;
	char *buf;
	size_t len, cap;
	long long next_id;
};

const char *conn_where(const struct conn *c)
{
	return c->d.where;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* 0 when @fd is readable, else -1 with errno ETIMEDOUT or EINTR. */
static int readable_by(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left = deadline - now_ms();
	int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;

	if (r > 0)
		return 0;
	if (!r)
		errno = ETIMEDOUT;
	return -1;
}

static int grow(struct conn *c)
{
	size_t cap = c->cap ? c->cap * 2 : 65536;
	char *nb = cap <= CONN_MAX_LINE ? realloc(c->buf, cap) : NULL;

	if (!nb)
		return errno = ENOBUFS, -1;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/* One line (without the newline, NUL-terminated in place), or NULL with
 * errno at EOF or error — or, with a @deadline (>= 0), ETIMEDOUT or EINTR. */
static char *read_line(struct conn *c, size_t *line_len, long long deadline)
{
	char *nl;

	while (!c->len || !(nl = memchr(c->buf, '\n', c->len))) {
		ssize_t n;

		if (c->len == c->cap && grow(c) < 0)
			return NULL;
		if (deadline >= 0 && readable_by(c->d.fd, deadline) < 0)
			return NULL;
		n = read(c->d.fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR && deadline < 0)
			continue;
		if (n <= 0)
			return errno = n ? errno : ECONNRESET, NULL;
		c->len += n;
	}
	*nl = 0;
	*line_len = nl - c->buf;
	return c->buf;
}

static void consume_line(struct conn *c, size_t line_len)
{
	memmove(c->buf, c->buf + line_len + 1, c->len - line_len - 1);
	c->len -= line_len + 1;
}

/* The next JSON object from pgrd (new reference), or NULL with errno. */
static json_t *read_msg(struct conn *c, long long deadline)
{
	size_t n;
	char *line = read_line(c, &n, deadline);
	json_t *j;

	if (!line)
		return NULL;
	j = json_loadb(line, n, 0, NULL);
	consume_line(c, n);
	if (!json_is_object(j)) {
		json_decref(j);
		errno = EPROTO;
		return NULL;
	}
	return j;
}

/* Why the stream ended, one line: ssh's last words, or @fallback. */
static char *ended(struct conn *c, const char *what, const char *fallback)
{
	char *ssh = dial_ssh_why(&c->d), *msg;

	if (asprintf(&msg, "%s '%s': %s", what, c->d.where, ssh ? ssh : fallback) < 0)
		msg = NULL;
	free(ssh);
	return msg;
}

/* The refusal a relocation server sends instead of its greeting. */
static char *refusal(json_t *hello)
{
	json_t *e = json_object_get(hello, "error");
	const char *desc = json_string_value(json_object_get(e, "desc"));

	return strdup(desc ? desc : "the server refused the connection");
}

static int greet(struct conn *c, char **err)
{
	long long wait = c->d.ssh_pid ? GREETING_SSH_MS : c->d.remote ? GREETING_TCP_MS : -1;
	json_t *hello = read_msg(c, wait < 0 ? -1 : now_ms() + wait);
	int r = -1;

	if (hello && json_object_get(hello, "pgrd"))
		r = 0;
	else if (hello && c->d.remote && json_object_get(hello, "error"))
		*err = refusal(hello);
	else if (!hello && errno == ETIMEDOUT)
		*err = ended(c, "failed to connect to pgrd at", "no greeting in time");
	else if (!hello && errno != EPROTO)
		*err = ended(c, "failed to connect to pgrd at",
			     c->d.remote ? "the connection closed before pgrd's greeting"
					 : "the socket closed before pgrd's greeting");
	else if (asprintf(err, "'%s' is not a pgrd %s (no greeting)", c->d.where,
			  c->d.remote ? "server" : "socket") < 0)
		*err = NULL;
	json_decref(hello);
	return r;
}

struct conn *conn_open(const char *uri, char **err)
{
	struct conn *c = calloc(1, sizeof(*c));

	*err = NULL;
	if (!c) {
		*err = strdup("out of memory");
		return NULL;
	}
	if (dial_open(uri, &c->d, err) < 0) {
		free(c);
		return NULL;
	}
	c->next_id = 1;
	if (greet(c, err) < 0) {
		conn_close(c);
		return NULL;
	}
	return c;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	dial_close(&c->d);
	free(c->buf);
	free(c);
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= w;
	}
	return 0;
}

static char *lost(struct conn *c, int err)
{
	return ended(c, "lost the connection to pgrd at", strerror(err));
}

long long conn_send(struct conn *c, const char *cmd, json_t *args, char **err)
{
	long long id = c->next_id++;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	char *text;
	int r;

	if (req && args)
		json_object_set(req, "arguments", args);
	json_decref(args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	r = text ? send_all(c->d.fd, text, strlen(text)) : -ENOMEM;
	if (!r)
		r = send_all(c->d.fd, "\n", 1);
	free(text);
	if (!r)
		return id;
	*err = lost(c, -r);
	return -1;
}

json_t *conn_wait(struct conn *c, long long id, int timeout_ms, char **err)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	json_t *msg;

	*err = NULL;
	while ((msg = read_msg(c, deadline))) {
		json_t *got = json_object_get(msg, "id");

		if (json_is_integer(got) && json_integer_value(got) == id)
			return msg;
		json_decref(msg);      /* an event, or a stray answer */
	}
	if (deadline >= 0 && (errno == ETIMEDOUT || errno == EINTR))
		return NULL;
	*err = lost(c, errno);
	return NULL;
}

json_t *conn_request(struct conn *c, const char *cmd, json_t *args, char **err)
{
	long long id = conn_send(c, cmd, args, err);

	return id < 0 ? NULL : conn_wait(c, id, -1, err);
}

int conn_take_fd(struct conn *c, const char **rest, size_t *rest_len)
{
	*rest = c->buf;
	*rest_len = c->len;
	return c->d.fd;
}
