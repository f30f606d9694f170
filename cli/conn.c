// SPDX-License-Identifier: GPL-2.0-only
/*
 * conn: URI to socket, the greeting, request/answer by id (see conn.h).
 * Blocking I/O: pgr does one thing at a time. Events, if pgrd sends any,
 * are skipped.
 */
#include "cli/conn.h"

#include "lib/uri.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONN_MAX_LINE (64 << 20)

struct conn {
	int fd;
	char *path;
	char *buf;
	size_t len, cap;
	long long next_id;
};

const char *conn_path(const struct conn *c)
{
	return c->path;
}

static char *socket_of(const char *uri, char **err)
{
	struct pgr_uri u;
	char *path = NULL, *why = NULL;
	const char *env = getenv("PGR_SOCKET");

	if (!uri)
		return strdup(env && *env ? env : PGR_DEFAULT_SOCKET);
	if (uri_parse(uri, &u, &why) < 0) {
		if (asprintf(err, "%s", why ? why : "bad URI") < 0)
			*err = NULL;
		free(why);
		return NULL;
	}
	if (u.transport == URI_LOCAL)
		path = strdup(env && *env ? env : PGR_DEFAULT_SOCKET);
	else if (u.transport == URI_UNIX)
		path = strdup(u.path);
	else if (asprintf(err, "%s: %s connections are not supported yet (use pgr:///system "
			  "or pgr+unix:///PATH)", uri, u.transport == URI_TCP ? "TCP" : "ssh") < 0)
		*err = NULL;
	uri_clear(&u);
	return path;
}

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

/* One line (without the newline, NUL-terminated in place), or NULL at EOF/error. */
static char *read_line(struct conn *c, size_t *line_len)
{
	char *nl;

	while (!c->len || !(nl = memchr(c->buf, '\n', c->len))) {
		ssize_t n;

		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *nb = cap <= CONN_MAX_LINE ? realloc(c->buf, cap) : NULL;

			if (!nb)
				return errno = ENOBUFS, NULL;
			c->buf = nb;
			c->cap = cap;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
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
static json_t *read_msg(struct conn *c)
{
	size_t n;
	char *line = read_line(c, &n);
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

struct conn *conn_open(const char *uri, char **err)
{
	struct conn *c = calloc(1, sizeof(*c));
	json_t *hello = NULL;
	int fd = -ENOMEM;

	if (c && (c->path = socket_of(uri, err)))
		fd = connect_unix(c->path);
	else if (c && *err)
		fd = -EINVAL;
	if (fd >= 0) {
		c->fd = fd;
		c->next_id = 1;
		hello = read_msg(c);
		if (hello && json_object_get(hello, "pgrd")) {
			json_decref(hello);
			return c;
		}
		if (asprintf(err, "'%s' is not a pgrd socket (no greeting)", c->path) < 0)
			*err = NULL;
		json_decref(hello);
		close(fd);
	} else if (fd != -EINVAL && asprintf(err, "failed to connect to pgrd at '%s': %s%s",
					     c && c->path ? c->path : "?", strerror(-fd),
					     fd == -ENOENT || fd == -ECONNREFUSED ?
					     " (is pgrd running?)" : "") < 0) {
		*err = NULL;
	}
	if (c)
		free(c->path);
	free(c);
	return NULL;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
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

json_t *conn_request(struct conn *c, const char *cmd, json_t *args, char **err)
{
	long long id = c->next_id++;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id), *msg;
	char *text;
	int r;

	if (req && args)
		json_object_set(req, "arguments", args);
	json_decref(args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	r = text ? send_all(c->fd, text, strlen(text)) : -ENOMEM;
	if (!r)
		r = send_all(c->fd, "\n", 1);
	free(text);
	while (!r && (msg = read_msg(c))) {
		json_t *got = json_object_get(msg, "id");

		if (json_is_integer(got) && json_integer_value(got) == id)
			return msg;
		json_decref(msg);      /* an event, or a stray answer */
	}
	if (asprintf(err, "lost the connection to pgrd at '%s': %s", c->path,
		     strerror(r ? -r : errno)) < 0)
		*err = NULL;
	return NULL;
}

int conn_take_fd(struct conn *c, const char **rest, size_t *rest_len)
{
	*rest = c->buf;
	*rest_len = c->len;
	return c->fd;
}
