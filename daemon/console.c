// SPDX-License-Identifier: GPL-2.0-only
/*
 * console: serial socket -> log file + client; client -> serial socket
 * (see console.h). Two fds on the event loop, two byte queues.
 */
#include "daemon/console.h"

#define LOG_SUBSYS "console"
#include "lib/log.h"
#include "daemon/evloop.h"
#include "daemon/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONSOLE_MAX_IN   (64 << 10)
#define CONSOLE_RETRY_MS 500

struct queue {
	char *buf;
	size_t len;
};

struct console {
	struct evloop *loop;
	char *name, *serial_path;
	int log_fd;
	int serial_fd;             /* -1 while not connected */
	int client_fd;             /* -1 without a client */
	struct queue to_client, to_guest;
	uint64_t retry_timer;
	bool fresh;                /* nothing read yet on this serial connection */
	unsigned long long dropped;
};

static void serial_ready(void *opaque, uint32_t events);
static void client_ready(void *opaque, uint32_t events);
static void serial_events(struct console *c);

static int queue_add(struct queue *q, const char *p, size_t n, size_t max)
{
	char *nb;

	if (q->len + n > max)
		return -ENOBUFS;
	nb = realloc(q->buf, q->len + n ?: 1);
	if (!nb)
		return -ENOMEM;
	q->buf = nb;
	memcpy(q->buf + q->len, p, n);
	q->len += n;
	return 0;
}

/* Write what the fd takes; 0, or -errno if the peer is gone. */
static int queue_flush(struct queue *q, int fd)
{
	while (q->len) {
		ssize_t n = send(fd, q->buf, q->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		memmove(q->buf, q->buf + n, q->len - n);
		q->len -= n;
	}
	return 0;
}

/* A client that typed and hung up at once (`echo cmd | pgr console`) may
 * be found gone by a write of guest output before its input was read:
 * that input is still in the socket and still goes to the guest. */
static void client_drain(struct console *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->client_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0 && queue_add(&c->to_guest, buf, n, CONSOLE_MAX_IN) < 0)
			pr_warn("%s: console input dropped: the guest is not reading", c->name);
	if (c->serial_fd >= 0 && c->to_guest.len)
		serial_events(c);
}

static void drop_client(struct console *c)
{
	if (c->client_fd < 0)
		return;
	client_drain(c);
	evloop_del(c->loop, c->client_fd);
	close(c->client_fd);
	c->client_fd = -1;
	c->to_client.len = 0;       /* what was typed still goes to the guest */
}

/* Poll the client for input only while the guest's queue has room, and
 * for output while there is some. */
static void client_events(struct console *c)
{
	uint32_t ev = 0;

	if (c->client_fd < 0)
		return;
	if (c->to_guest.len < CONSOLE_MAX_IN / 2)
		ev |= EPOLLIN;
	if (c->to_client.len)
		ev |= EPOLLOUT;
	evloop_mod(c->loop, c->client_fd, ev);
}

static void serial_events(struct console *c)
{
	if (c->serial_fd >= 0)
		evloop_mod(c->loop, c->serial_fd, EPOLLIN | (c->to_guest.len ? EPOLLOUT : 0));
}

static void retry_connect(void *opaque)
{
	struct console *c = opaque;
	int fd = monitor_connect(c->serial_path);

	c->retry_timer = 0;
	if (fd < 0 || evloop_add(c->loop, fd, EPOLLIN, serial_ready, c) < 0) {
		if (fd >= 0)
			close(fd);
		c->retry_timer = evloop_timer(c->loop, CONSOLE_RETRY_MS, retry_connect, c);
		return;
	}
	c->serial_fd = fd;
	c->fresh = true;
	pr_debug("%s: serial line connected", c->name);
	serial_events(c);
}

/* The client stays: the line comes back, or the monitor's exit frees us. */
static void serial_lost(struct console *c)
{
	evloop_del(c->loop, c->serial_fd);
	close(c->serial_fd);
	c->serial_fd = -1;
	c->retry_timer = evloop_timer(c->loop, CONSOLE_RETRY_MS, retry_connect, c);
}

static void guest_output(struct console *c, const char *buf, size_t n)
{
	if (c->log_fd >= 0 && write(c->log_fd, buf, n) != (ssize_t)n)
		pr_debug("%s: console log write: %m", c->name);
	if (c->client_fd < 0)
		return;
	if (queue_add(&c->to_client, buf, n, CONSOLE_MAX_OUT) < 0)
		c->dropped += n;
	if (queue_flush(&c->to_client, c->client_fd) < 0)
		drop_client(c);
	client_events(c);
}

/* pgr-vmm's unix: backend answers a second client with this line and
 * hangs up (devices/serial.c): right after a pgrd restart the monitor may
 * not have noticed yet that the old pgrd's connection is gone. Not guest
 * output: not logged. */
static bool busy_notice(const char *buf, size_t n)
{
	static const char notice[] = "console busy: ";

	return n >= sizeof(notice) - 1 && !memcmp(buf, notice, sizeof(notice) - 1);
}

static void serial_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	char buf[16384];
	ssize_t n;

	if (events & EPOLLOUT) {
		if (queue_flush(&c->to_guest, c->serial_fd) < 0) {
			serial_lost(c);
			return;
		}
		client_events(c);
		serial_events(c);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(c->serial_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && c->fresh && busy_notice(buf, n)) {
		pr_debug("%s: serial line still held by a previous client: retrying", c->name);
		n = 0;
	}
	c->fresh = false;
	if (n <= 0)
		serial_lost(c);
	else
		guest_output(c, buf, n);
}

/* Typed input waits in to_guest while the serial line is (re)connecting. */
static void client_input(struct console *c, const char *buf, size_t n)
{
	if (queue_add(&c->to_guest, buf, n, CONSOLE_MAX_IN) < 0)
		pr_warn("%s: console input dropped: the guest is not reading", c->name);
	if (c->serial_fd >= 0 && queue_flush(&c->to_guest, c->serial_fd) < 0) {
		serial_lost(c);
		return;
	}
	serial_events(c);
	client_events(c);
}

static void client_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	char buf[4096];
	ssize_t n;

	if ((events & EPOLLOUT) && queue_flush(&c->to_client, c->client_fd) < 0) {
		drop_client(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(c->client_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop_client(c);
			return;
		}
		client_input(c, buf, n);
	}
	client_events(c);
}

int console_attach(struct console *c, int fd, const char *first, size_t first_len,
		   const char *input, size_t input_len, bool force)
{
	if (c->client_fd >= 0 && !force)
		return -EBUSY;
	drop_client(c);
	if (evloop_add(c->loop, fd, EPOLLIN, client_ready, c) < 0)
		return -ENOMEM;
	c->client_fd = fd;
	if (queue_add(&c->to_client, first, first_len, CONSOLE_MAX_OUT + first_len) < 0) {
		drop_client(c);
		return 0;
	}
	if (input_len)
		client_input(c, input, input_len);
	if (c->client_fd >= 0 && queue_flush(&c->to_client, c->client_fd) < 0)
		drop_client(c);
	client_events(c);
	return 0;
}

bool console_busy(const struct console *c)
{
	return c && c->client_fd >= 0;
}

bool console_connected(const struct console *c)
{
	return c && c->serial_fd >= 0;
}

struct console *console_new(struct evloop *l, const char *name, const char *serial_path,
			    const char *log_path)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = (struct console){ .loop = l, .serial_fd = -1, .client_fd = -1,
			       .name = strdup(name), .serial_path = strdup(serial_path) };
	c->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (c->log_fd < 0)
		pr_warn("%s: console log %s: %m", name, log_path);
	if (!c->name || !c->serial_path) {
		console_free(c);
		return NULL;
	}
	retry_connect(c);
	return c;
}

void console_free(struct console *c)
{
	if (!c)
		return;
	drop_client(c);
	if (c->serial_fd >= 0) {
		char buf[16384];
		ssize_t n;

		/* What the monitor wrote before it went away still belongs in the log. */
		while ((n = recv(c->serial_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			guest_output(c, buf, n);
		evloop_del(c->loop, c->serial_fd);
		close(c->serial_fd);
	}
	if (c->retry_timer)
		evloop_cancel(c->loop, c->retry_timer);
	if (c->log_fd >= 0)
		close(c->log_fd);
	free(c->to_client.buf);
	free(c->to_guest.buf);
	free(c->name);
	free(c->serial_path);
	free(c);
}
