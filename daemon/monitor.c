// SPDX-License-Identifier: GPL-2.0-only
/*
 * monitor: non-blocking JSON-lines client of a pgr-vmm API socket (see
 * monitor.h). Lines in, one JSON object each: the greeting, replies (by
 * "id"), events. Requests out go through a buffer flushed on EPOLLOUT.
 * Callbacks may free the monitor: freeing is deferred while a callback
 * runs.
 */
#include "daemon/monitor.h"

#define LOG_SUBSYS "monitor"
#include "lib/log.h"
#include "daemon/evloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MONITOR_MAX_LINE (4 << 20)

struct pending {
	long long id;
	monitor_reply_fn fn;
	void *opaque;
	struct pending *next;
};

struct monitor {
	struct evloop *loop;
	int fd;
	const struct monitor_ops *ops;
	void *opaque;
	bool greeted, closed, doomed;
	int depth;                 /* callbacks running: free deferred */
	long long next_id;
	struct pending *pending;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len;
	json_t *greeting;          /* the first line, once it came */
	char *refusal;             /* an error line that came instead of a greeting */
	int error;                 /* errno of the failure that lost the connection, 0 for EOF */
};

int monitor_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void drop_pending(struct monitor *m)
{
	while (m->pending) {
		struct pending *p = m->pending;

		m->pending = p->next;
		free(p);
	}
}

static void destroy(struct monitor *m)
{
	if (m->fd >= 0) {
		evloop_del(m->loop, m->fd);
		close(m->fd);
	}
	drop_pending(m);
	json_decref(m->greeting);
	free(m->refusal);
	free(m->in);
	free(m->out);
	free(m);
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	if (m->depth) {
		m->doomed = true;
		return;
	}
	destroy(m);
}

int monitor_usable(const struct monitor *m)
{
	return m && m->greeted && !m->closed && !m->doomed;
}

/* The connection is gone: tell the owner once. */
static void lost(struct monitor *m)
{
	if (m->closed)
		return;
	m->closed = true;
	evloop_del(m->loop, m->fd);
	drop_pending(m);
	if (m->ops->closed && !m->doomed)
		m->ops->closed(m->opaque);
}

static int read_in(struct monitor *m);

/* A send failed: the peer has gone, but what it wrote before it went (a
 * monitor's last events: MIGRATION completed, SHUTDOWN) may still be
 * waiting in our receive queue. Take that first, then give up. */
static void lost_on_send(struct monitor *m, int err)
{
	while (!m->closed && !m->doomed && read_in(m) > 0)
		;
	if (!m->error)
		m->error = err;
	lost(m);
}

static void flush_out(struct monitor *m)
{
	while (m->out_len && !m->closed) {
		ssize_t n = send(m->fd, m->out, m->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			lost_on_send(m, n < 0 ? errno : EPIPE);
			return;
		}
		memmove(m->out, m->out + n, m->out_len - n);
		m->out_len -= n;
	}
	if (!m->closed)
		evloop_mod(m->loop, m->fd, EPOLLIN | (m->out_len ? EPOLLOUT : 0));
}

static void on_reply(struct monitor *m, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *err = json_object_get(msg, "error");
	struct pending **pp = &m->pending, *p;

	if (!json_is_integer(id))
		return;
	while (*pp && (*pp)->id != json_integer_value(id))
		pp = &(*pp)->next;
	if (!(p = *pp))
		return;
	*pp = p->next;
	if (err) {
		const char *desc = json_string_value(json_object_get(err, "desc"));

		p->fn(p->opaque, NULL, desc && *desc ? desc : "the monitor refused the command");
	} else {
		p->fn(p->opaque, json_object_get(msg, "return"), NULL);
	}
	free(p);
}

static void on_line(struct monitor *m, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, 0, &jerr);
	const char *event;

	if (!json_is_object(msg)) {
		pr_warn("monitor sent a line that is not a JSON object: %s", jerr.text);
	} else if (!m->greeted && (json_object_get(msg, "QMP") || json_object_get(msg, "pgrd"))) {
		m->greeted = true;
		m->greeting = json_incref(msg);
		if (m->ops->ready)
			m->ops->ready(m->opaque);
	} else if (!m->greeted && json_object_get(msg, "error")) {
		const char *desc = json_string_value(json_object_get(json_object_get(msg, "error"),
								     "desc"));

		free(m->refusal);
		m->refusal = strdup(desc ? desc : "the peer refused the connection");
		json_decref(msg);
		lost(m);
		return;
	} else if ((event = json_string_value(json_object_get(msg, "event")))) {
		if (m->ops->event)
			m->ops->event(m->opaque, event, json_object_get(msg, "data"));
	} else {
		on_reply(m, msg);
	}
	json_decref(msg);
}

/* Each line is taken out of the buffer before it is handled, so a
 * callback that detaches the socket sees only what follows it. */
static void take_lines(struct monitor *m)
{
	char *nl, *line;

	while (!m->doomed && !m->closed && (nl = memchr(m->in, '\n', m->in_len))) {
		size_t len = nl - m->in;

		line = malloc(len + 1);
		if (!line) {
			lost(m);
			return;
		}
		memcpy(line, m->in, len);
		memmove(m->in, nl + 1, m->in_len - len - 1);
		m->in_len -= len + 1;
		if (len)
			on_line(m, line, len);
		free(line);
	}
}

static int grow_in(struct monitor *m)
{
	size_t cap = m->in_cap ? m->in_cap * 2 : 65536;
	char *p;

	if (m->in_len < m->in_cap)
		return 0;
	if (cap > MONITOR_MAX_LINE || !(p = realloc(m->in, cap)))
		return -ENOBUFS;
	m->in = p;
	m->in_cap = cap;
	return 0;
}

/* One recv: > 0 bytes taken, 0 nothing there, < 0 connection lost. */
static int read_in(struct monitor *m)
{
	ssize_t n;

	if (grow_in(m) < 0) {
		pr_err("monitor line longer than %d bytes: disconnecting", MONITOR_MAX_LINE);
		lost(m);
		return -1;
	}
	n = recv(m->fd, m->in + m->in_len, m->in_cap - m->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		m->error = n < 0 ? errno : 0;
		lost(m);
		return -1;
	}
	m->in_len += n;
	take_lines(m);
	return 1;
}

static void on_ready(void *opaque, uint32_t events)
{
	struct monitor *m = opaque;

	m->depth++;
	if (events & EPOLLOUT)
		flush_out(m);
	if (!m->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		read_in(m);
	m->depth--;
	if (m->doomed && !m->depth)
		destroy(m);
}

struct monitor *monitor_new(struct evloop *l, int fd, const struct monitor_ops *ops, void *opaque)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	*m = (struct monitor){ .loop = l, .fd = fd, .ops = ops, .opaque = opaque, .next_id = 1 };
	if (evloop_add(l, fd, EPOLLIN, on_ready, m) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

static int queue_out(struct monitor *m, const char *s)
{
	size_t n = strlen(s);
	char *p = realloc(m->out, m->out_len + n + 1);

	if (!p)
		return -ENOMEM;
	m->out = p;
	memcpy(m->out + m->out_len, s, n);
	m->out[m->out_len + n] = '\n';
	m->out_len += n + 1;
	return 0;
}

/* Queue @cmd as a request line with a pending reply. 0 or -errno. */
static int enqueue(struct monitor *m, const char *cmd, json_t *args, monitor_reply_fn fn,
		   void *opaque)
{
	struct pending *p;
	json_t *req;
	char *s;
	int r;

	if (m->closed || m->doomed) {
		json_decref(args);
		return -EPIPE;
	}
	p = calloc(1, sizeof(*p));
	req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)m->next_id);
	if (req && args)
		json_object_set(req, "arguments", args);
	json_decref(args);
	s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	r = p && s ? queue_out(m, s) : -ENOMEM;
	free(s);
	if (r < 0) {
		free(p);
		return r;
	}
	*p = (struct pending){ .id = m->next_id++, .fn = fn, .opaque = opaque, .next = m->pending };
	m->pending = p;
	return 0;
}

static void flush_guarded(struct monitor *m)
{
	m->depth++;
	flush_out(m);
	m->depth--;
	if (m->doomed && !m->depth)
		destroy(m);
}

int monitor_command(struct monitor *m, const char *cmd, json_t *args,
		    monitor_reply_fn fn, void *opaque)
{
	int r = enqueue(m, cmd, args, fn, opaque);

	if (r == 0)
		flush_guarded(m);
	return r;
}

json_t *monitor_greeting(const struct monitor *m)
{
	return m->greeting;
}

const char *monitor_refusal(const struct monitor *m)
{
	return m->refusal;
}

int monitor_error(const struct monitor *m)
{
	return m->error;
}

int monitor_fd(const struct monitor *m)
{
	return m->fd;
}

int monitor_detach(struct monitor *m)
{
	int fd = m->fd;

	if (fd < 0 || m->in_len || m->out_len)
		return -EPROTO;
	if (!m->closed)
		evloop_del(m->loop, fd);
	m->closed = true;
	m->fd = -1;
	drop_pending(m);
	return fd;
}

int monitor_command_fd(struct monitor *m, const char *cmd, json_t *args, int fd,
		       monitor_reply_fn fn, void *opaque)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	if (m->out_len) {
		json_decref(args);
		return -EAGAIN;     /* the fd must go with this command's first byte */
	}
	r = enqueue(m, cmd, args, fn, opaque);
	if (r < 0)
		return r;
	memset(u.buf, 0, sizeof(u.buf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	iov = (struct iovec){ .iov_base = m->out, .iov_len = m->out_len };
	do
		n = sendmsg(m->fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		r = n < 0 ? -errno : -EPIPE;
		m->out_len = 0;
		return r;           /* the pending reply stays: dropped when the connection goes */
	}
	memmove(m->out, m->out + n, m->out_len - n);
	m->out_len -= n;
	flush_guarded(m);
	return 0;
}

void monitor_drain(struct monitor *m)
{
	m->depth++;
	while (!m->closed && !m->doomed && read_in(m) > 0)
		;
	m->depth--;
	if (m->doomed && !m->depth)
		destroy(m);
}
