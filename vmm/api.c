// SPDX-License-Identifier: GPL-2.0-only
/*
 * api: the unix socket, client line buffers, request dispatch through the
 * command table, and event broadcast (see api.h). Replies to one client
 * go out in request order; a client that stops reading while more than
 * API_MAX_OUT bytes wait for it is disconnected rather than let it stall
 * the monitor.
 *
 * File descriptors (SCM_RIGHTS, as QMP's getfd takes them): each client
 * has a queue of those it sent, in arrival order; getfd names the oldest,
 * and named ones belong to the monitor (at most API_MAX_FDS) until
 * closefd or a taker (migrate fd:NAME) claims them. A connection's
 * unclaimed fds are closed with it.
 */
#include "vmm/api.h"

#define LOG_SUBSYS "api"
#include "lib/log.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define API_MAX_CLIENTS 16
#define API_MAX_LINE    (1 << 20)
#define API_MAX_OUT     (4 << 20)
#define API_MAX_FDS     16      /* named, per monitor; queued, per client */
#define API_FD_NAME_MAX 63

struct client {
	struct api *api;
	int fd;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len;
	int fds[API_MAX_FDS];    /* received, not yet claimed by getfd: oldest first */
	int nfds;
};

struct named_fd {
	char name[API_FD_NAME_MAX + 1];
	int fd;                  /* -1: slot free */
};

struct api {
	struct vm *vm;
	struct loop *loop;
	int listen_fd;
	char *path;
	struct client clients[API_MAX_CLIENTS];
	struct client *current;  /* whose request is being dispatched */
	struct named_fd named[API_MAX_FDS];
};

json_t *api_error(const char **err_class, char **err_desc, const char *cls, const char *fmt, ...)
{
	va_list ap;

	*err_class = cls;
	va_start(ap, fmt);
	if (vasprintf(err_desc, fmt, ap) < 0)
		*err_desc = NULL;
	va_end(ap);
	return NULL;
}

static const struct api_command *find_command(const char *name)
{
	for (const struct api_command *c = api_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static json_t *error_reply(const char *cls, const char *desc, json_t *id)
{
	json_t *r = json_pack("{s:{s:s, s:s}}", "error", "class", cls, "desc", desc ? desc : "");

	if (id)
		json_object_set(r, "id", id);
	return r;
}

json_t *api_dispatch(struct vm *vm, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *id, *args, *ret, *reply;
	const char *name, *cls = NULL;
	const struct api_command *cmd;
	char *desc = NULL;

	if (!json_is_object(req)) {
		json_decref(req);
		return error_reply("GenericError", "request is not a JSON object", NULL);
	}
	id = json_object_get(req, "id");
	name = json_string_value(json_object_get(req, "execute"));
	args = json_object_get(req, "arguments");
	if (!name || (args && !json_is_object(args))) {
		reply = error_reply("GenericError", name ? "'arguments' must be an object" :
				    "missing 'execute'", id);
	} else if (!(cmd = find_command(name))) {
		char *msg = NULL;

		if (asprintf(&msg, "The command %s has not been found", name) < 0)
			msg = NULL;
		reply = error_reply("CommandNotFound", msg, id);
		free(msg);
	} else if ((ret = cmd->fn(vm, args, &cls, &desc))) {
		reply = json_pack("{s:o}", "return", ret);
		if (id)
			json_object_set(reply, "id", id);
	} else {
		reply = error_reply(cls ? cls : "GenericError", desc, id);
	}
	free(desc);
	json_decref(req);
	return reply;
}

/* ---- clients ---- */

static void client_close(struct api *api, struct client *c)
{
	loop_del(api->loop, c->fd);
	close(c->fd);
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void client_flush(struct api *api, struct client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_close(api, c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	loop_mod(api->loop, c->fd, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
}

static void client_send(struct api *api, struct client *c, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	char *nb;

	json_decref(msg);
	if (!s)
		return;
	if (c->out_len + n + 1 > API_MAX_OUT || !(nb = realloc(c->out, c->out_len + n + 1))) {
		pr_warn("client not reading its replies: disconnected");
		free(s);
		client_close(api, c);
		return;
	}
	c->out = nb;
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	free(s);
	client_flush(api, c);
}

static void client_lines(struct api *api, struct client *c)
{
	char *nl;

	while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = nl - c->in;

		if (len) {
			api->current = c;
			client_send(api, c, api_dispatch(api->vm, c->in, len));
			api->current = NULL;
		}
		if (c->fd < 0)
			return;
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
}

/* Queue the fds that came with the bytes just read; false if some had to
 * be refused (the control buffer truncated them, or the queue is full). */
static bool client_take_fds(struct client *c, struct msghdr *msg)
{
	bool ok = !(msg->msg_flags & MSG_CTRUNC);

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nfds < API_MAX_FDS) {
				c->fds[c->nfds++] = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

/* A client that sends more fds than it claims: say why and hang up (which
 * closes every fd it sent and nobody claimed). */
static void client_refuse_fds(struct api *api, struct client *c)
{
	char desc[128];

	pr_warn("a client sent more than %d unclaimed file descriptors: disconnected",
		API_MAX_FDS);
	snprintf(desc, sizeof(desc), "too many file descriptors (at most %d unclaimed by getfd): "
		 "all closed", API_MAX_FDS);
	client_send(api, c, error_reply("GenericError", desc, NULL));
	if (c->fd >= 0)
		client_close(api, c);
}

static ssize_t client_recv(struct api *api, struct client *c)
{
	union {
		char buf[CMSG_SPACE(API_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { c->in + c->in_len, API_MAX_LINE - c->in_len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n >= 0 && (msg.msg_controllen || (msg.msg_flags & MSG_CTRUNC)) &&
	    !client_take_fds(c, &msg)) {
		client_refuse_fds(api, c);
		return -1;
	}
	return n;
}

static void client_ready(void *opaque, uint32_t events)
{
	struct client *c = opaque;
	struct api *api = c->api;
	ssize_t n;

	if (events & EPOLLOUT)
		client_flush(api, c);
	if (c->fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = client_recv(api, c);
	if (c->fd < 0)
		return;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(api, c);
		return;
	}
	c->in_len += n;
	client_lines(api, c);
	if (c->fd >= 0 && c->in_len == API_MAX_LINE) {
		client_send(api, c, error_reply("GenericError", "request line too long", NULL));
		if (c->fd >= 0)
			client_close(api, c);
	}
}

static void accept_ready(void *opaque, uint32_t events)
{
	struct api *api = opaque;
	int fd = accept4(api->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < API_MAX_CLIENTS && !c; i++)
		if (api->clients[i].fd < 0)
			c = &api->clients[i];
	if (!c || !(c->in = malloc(API_MAX_LINE))) {
		close(fd);
		return;
	}
	c->api = api;
	c->fd = fd;
	loop_add(api->loop, fd, EPOLLIN, client_ready, c);
	client_send(api, c, json_pack("{s:{s:{s:s}, s:[]}}", "QMP", "version",
				      "peregrine", PGR_VERSION, "capabilities"));
}

void api_emit_event(struct api *api, const char *event, json_t *data)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	if (!data)
		data = json_object();
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		if (api->clients[i].fd < 0)
			continue;
		client_send(api, &api->clients[i],
			    json_pack("{s:s, s:O, s:{s:I, s:I}}", "event", event,
				      "data", data, "timestamp",
				      "seconds", (json_int_t)tv.tv_sec,
				      "microseconds", (json_int_t)tv.tv_usec));
	}
	json_decref(data);
}

/* ---- file descriptors ---- */

int api_claim_fd(struct api *api)
{
	struct client *c = api ? api->current : NULL;
	int fd;

	if (!c || !c->nfds)
		return -ENOENT;
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (size_t)(c->nfds - 1) * sizeof(int));
	c->nfds--;
	return fd;
}

static struct named_fd *find_named(struct api *api, const char *name)
{
	for (int i = 0; i < API_MAX_FDS; i++)
		if (api->named[i].fd >= 0 && !strcmp(api->named[i].name, name))
			return &api->named[i];
	return NULL;
}

int api_name_fd(struct api *api, const char *name, int fd)
{
	struct named_fd *slot = find_named(api, name);

	if (strlen(name) > API_FD_NAME_MAX)
		return -ENAMETOOLONG;
	for (int i = 0; i < API_MAX_FDS && !slot; i++)
		if (api->named[i].fd < 0)
			slot = &api->named[i];
	if (!slot)
		return -ENOSPC;
	if (slot->fd >= 0)
		close(slot->fd);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->fd = fd;
	pr_debug("file descriptor %d named '%s'", fd, name);
	return 0;
}

int api_take_fd(struct api *api, const char *name)
{
	struct named_fd *slot = api ? find_named(api, name) : NULL;
	int fd;

	if (!slot)
		return -ENOENT;
	fd = slot->fd;
	slot->fd = -1;
	return fd;
}

int api_close_fd(struct api *api, const char *name)
{
	int fd = api_take_fd(api, name);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* A socket file left by a monitor that died is replaced; a live one is not. */
static int claim_path(const char *path, struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (fd >= 0)
		close(fd);
	return unlink(path) < 0 ? -errno : 0;
}

struct api *api_new(struct vm *vm, struct loop *loop, const char *path, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *api;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return asprintf(err, "--api-socket %s: path too long", path), NULL;
	strcpy(sa.sun_path, path);
	r = claim_path(path, &sa);
	if (r < 0)
		return asprintf(err, "--api-socket %s: %s", path, r == -EADDRINUSE ?
				"another monitor is listening there" : strerror(-r)), NULL;
	api = calloc(1, sizeof(*api));
	if (!api)
		return NULL;
	api->vm = vm;
	api->loop = loop;
	api->path = strdup(path);
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		api->clients[i].fd = -1;
	for (int i = 0; i < API_MAX_FDS; i++)
		api->named[i].fd = -1;
	api->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (api->listen_fd < 0 || bind(api->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(api->listen_fd, 8) < 0 ||
	    loop_add(loop, api->listen_fd, EPOLLIN, accept_ready, api) < 0) {
		if (asprintf(err, "--api-socket %s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		api_free(api);
		return NULL;
	}
	return api;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		if (api->clients[i].fd >= 0) {
			client_flush(api, &api->clients[i]);
			if (api->clients[i].fd >= 0)
				client_close(api, &api->clients[i]);
		}
	for (int i = 0; i < API_MAX_FDS; i++)
		if (api->named[i].fd >= 0)
			close(api->named[i].fd);
	if (api->listen_fd >= 0) {
		loop_del(api->loop, api->listen_fd);
		close(api->listen_fd);
		unlink(api->path);
	}
	free(api->path);
	free(api);
}
