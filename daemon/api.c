// SPDX-License-Identifier: GPL-2.0-only
/*
 * api: the management socket — listening, client line buffers, dispatch
 * through the command table, answers by call (see api.h). Requests of one
 * client are dispatched in order; answers go out as they come.
 */
#include "daemon/api.h"

#define LOG_SUBSYS "api"
#include "lib/log.h"
#include "lib/allowlist.h"
#include "daemon/resolve.h"
#include "lib/vmconfig.h"
#include "daemon/evloop.h"
#include "daemon/pgrd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define API_MAX_CLIENTS 64
#define API_MAX_LINE    (4 << 20)
#define API_MAX_OUT     (16 << 20)

struct client {
	struct api *api;
	uint64_t id;
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len;
	char *peer;            /* TCP: "name (address)" or "address"; NULL on the unix socket */
	struct client *next;
};

struct api {
	struct pgrd *pgrd;
	int listen_fd;
	char *path;
	int tcp_fd;            /* the relocation server, or -1 */
	struct allowlist *allow;
	struct resolver *resolver; /* the relocation server's peer names */
	struct client *clients;
	int nclients;
	uint64_t next_client_id;
};

struct api_call {
	struct api *api;
	uint64_t client;
	json_t *id;            /* the request's "id", or NULL */
};

static struct client *find_client(struct api *a, uint64_t id)
{
	for (struct client *c = a->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Unlink @c; close its fd unless @keep_fd. */
static void client_remove(struct client *c, bool keep_fd)
{
	struct api *a = c->api;

	for (struct client **p = &a->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	a->nclients--;
	evloop_del(a->pgrd->loop, c->fd);
	if (!keep_fd)
		close(c->fd);
	free(c->peer);
	free(c->in);
	free(c->out);
	free(c);
}

static void client_flush(struct client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_remove(c, false);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	evloop_mod(c->api->pgrd->loop, c->fd, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
}

/* Queue one JSON line (@msg stolen); may remove @c. */
static void client_send(struct client *c, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;
	char *nb = NULL;

	json_decref(msg);
	if (s && c->out_len + n + 1 <= API_MAX_OUT)
		nb = realloc(c->out, c->out_len + n + 1);
	if (!nb) {
		pr_warn("client %llu: not reading its answers (or out of memory): disconnected",
			(unsigned long long)c->id);
		free(s);
		client_remove(c, false);
		return;
	}
	c->out = nb;
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	free(s);
	client_flush(c);
}

/* ---- calls ---- */

static json_t *with_id(json_t *msg, json_t *id)
{
	if (msg && id)
		json_object_set(msg, "id", id);
	return msg;
}

static void call_free(struct api_call *call)
{
	json_decref(call->id);
	free(call);
}

static void call_send(struct api_call *call, json_t *msg)
{
	struct client *c = find_client(call->api, call->client);

	msg = with_id(msg, call->id);
	if (c)
		client_send(c, msg);
	else
		json_decref(msg);
	call_free(call);
}

void api_return(struct api_call *call, json_t *ret)
{
	call_send(call, json_pack("{s:o}", "return", ret ? ret : json_object()));
}

void api_fail(struct api_call *call, const char *cls, const char *fmt, ...)
{
	char *desc = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&desc, fmt, ap) < 0)
		desc = NULL;
	va_end(ap);
	call_send(call, json_pack("{s:{s:s, s:s}}", "error", "class", cls,
				  "desc", desc ? desc : "out of memory"));
	free(desc);
}

void api_call_drop(struct api_call *call)
{
	call_free(call);
}

struct pgrd *api_call_pgrd(const struct api_call *call)
{
	return call->api->pgrd;
}

/* @a (@alen bytes) then @b (@blen bytes), malloc'd; NULL if out of memory. */
static char *concat(const char *a, size_t alen, const char *b, size_t blen)
{
	char *p = malloc(alen + blen + 1);

	if (!p)
		return NULL;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	return p;
}

int api_call_hijack(struct api_call *call, int *fd, char **first, size_t *first_len,
		    char **input, size_t *input_len)
{
	struct client *c = find_client(call->api, call->client);
	json_t *reply = with_id(json_pack("{s:{}}", "return"), call->id);
	char *line = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	int r = c ? -ENOMEM : -ENOTCONN;

	json_decref(reply);
	if (c && line && (*first = concat(c->out, c->out_len, line, strlen(line)))) {
		*first_len = c->out_len + strlen(line) + 1;
		(*first)[*first_len - 1] = '\n';        /* the line's end */
		*input = concat(c->in, c->in_len, NULL, 0);
		r = *input ? 0 : -ENOMEM;
		if (r < 0)
			free(*first);
	}
	free(line);
	if (r < 0) {
		call_free(call);
		return r;
	}
	*input_len = c->in_len;
	*fd = c->fd;
	client_remove(c, true);
	call_free(call);
	return 0;
}

/* ---- dispatch ---- */

static const struct api_command *find_command(const char *name)
{
	for (const struct api_command *c = api_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void dispatch(struct client *c, const char *line, size_t len)
{
	struct api_call *call = calloc(1, sizeof(*call));
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL), *args;
	const struct api_command *cmd = NULL;
	const char *name;

	if (!call) {
		json_decref(req);
		return;
	}
	*call = (struct api_call){ .api = c->api, .client = c->id };
	call->id = json_incref(json_object_get(req, "id"));
	name = json_string_value(json_object_get(req, "execute"));
	args = json_object_get(req, "arguments");
	if (!json_is_object(req))
		api_fail(call, API_ERR_GENERIC, "request is not a JSON object");
	else if (!name)
		api_fail(call, API_ERR_GENERIC, "missing 'execute'");
	else if (args && !json_is_object(args))
		api_fail(call, API_ERR_GENERIC, "'arguments' must be an object");
	else if (!(cmd = find_command(name)))
		api_fail(call, API_ERR_NOT_FOUND, "the command %s has not been found", name);
	else if (args)
		cmd->fn(call, args);
	else {
		args = json_object();
		cmd->fn(call, args);
		json_decref(args);
	}
	json_decref(req);
}

/* Each complete line, until none is left or the client is gone. */
static void client_lines(struct api *a, uint64_t id)
{
	struct client *c;
	char *nl;

	while ((c = find_client(a, id)) && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = nl - c->in;
		char *line = malloc(len + 1);

		if (!line) {
			client_remove(c, false);
			return;
		}
		memcpy(line, c->in, len);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		if (len)
			dispatch(c, line, len);
		free(line);
	}
}

static int grow_in(struct client *c)
{
	size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
	char *p;

	if (c->in_len < c->in_cap)
		return 0;
	if (c->in_cap >= API_MAX_LINE || !(p = realloc(c->in, cap)))
		return -ENOBUFS;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

static void client_ready(void *opaque, uint32_t events)
{
	struct client *c = opaque;
	struct api *a = c->api;
	uint64_t id = c->id;
	ssize_t n;

	if (events & EPOLLOUT) {
		client_flush(c);
		if (!(c = find_client(a, id)))
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (grow_in(c) < 0) {
		client_send(c, json_pack("{s:{s:s, s:s}}", "error", "class", API_ERR_GENERIC,
					 "desc", "request line too long"));
		if ((c = find_client(a, id)))
			client_remove(c, false);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_remove(c, false);
		return;
	}
	c->in_len += n;
	client_lines(a, id);
}

static json_t *greeting(struct api *a)
{
	char uuid[37], host[256] = "";

	format_uuid(a->pgrd->host_uuid, uuid);
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:{s:s, s:s, s:s}}", "pgrd", "version", PGR_VERSION, "host-uuid", uuid,
			 "hostname", host);
}

/* A new client on @fd (taken); @peer (taken) for TCP ones. */
static void add_client(struct api *a, int fd, char *peer)
{
	struct client *c;

	if (a->nclients >= API_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		pr_warn("too many clients: connection refused");
		close(fd);
		free(peer);
		return;
	}
	*c = (struct client){ .api = a, .id = ++a->next_client_id, .fd = fd, .peer = peer,
			      .next = a->clients };
	if (evloop_add(a->pgrd->loop, fd, EPOLLIN, client_ready, c) < 0) {
		close(fd);
		free(peer);
		free(c);
		return;
	}
	a->clients = c;
	a->nclients++;
	client_send(c, greeting(a));
}

static void accept_ready(void *opaque, uint32_t events)
{
	struct api *a = opaque;
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd >= 0)
		add_client(a, fd, NULL);
}

/* ---- the relocation server (TCP) ---- */

/* A connection waiting for its peer's name. */
struct admission {
	struct api *api;
	int fd;
};

/* Tell a refused peer why (one line, as any other error), and hang up. */
static void refuse_peer(int fd, const char *who, const char *why)
{
	char host[256] = "", *line = NULL;

	gethostname(host, sizeof(host) - 1);
	if (asprintf(&line, "{\"error\":{\"class\":\"AccessDenied\",\"desc\":\"host %s is not "
		     "allowed to connect to %s: %s\"}}\n", who, host, why) > 0 &&
	    send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("relocation: could not tell %s: %s", who, strerror(errno));
	free(line);
	close(fd);
}

static void admit_peer(void *opaque, const char *addr, const char *name)
{
	struct admission *ad = opaque;
	struct api *a = ad->api;
	char *peer = NULL;
	int fd = ad->fd, one = 1;

	free(ad);
	if (name ? asprintf(&peer, "%s (%s)", name, addr) < 0 : !(peer = strdup(addr)))
		peer = NULL;
	if (!allowlist_match(a->allow, name, addr)) {
		pr_warn("relocation: refused %s: not in relocation_hosts_allow", peer ? peer : addr);
		refuse_peer(fd, peer ? peer : addr, "not in relocation_hosts_allow");
		free(peer);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pr_info("relocation: connection from %s", peer ? peer : addr);
	add_client(a, fd, peer);
}

static void tcp_accept_ready(void *opaque, uint32_t events)
{
	struct api *a = opaque;
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int fd = accept4(a->tcp_fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct admission *ad;
	char addr[INET6_ADDRSTRLEN];
	int r;

	if (fd < 0)
		return;
	ad = malloc(sizeof(*ad));
	if (ad)
		*ad = (struct admission){ a, fd };
	r = ad ? resolver_start(a->resolver, &sa, admit_peer, ad) : -ENOMEM;
	if (r == 0)
		return;
	free(ad);
	resolve_addr_text(&sa, addr, sizeof(addr));
	pr_warn("relocation: turned %s away: %s", addr, r == -EBUSY ?
		"too many peer name lookups under way" : strerror(-r));
	refuse_peer(fd, addr, r == -EBUSY ? "busy, try again" : "out of resources");
}

int api_listen_tcp(struct api *a, const char *address, int port, const char *allow, char **err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL;
	char service[16], *why = NULL;
	int r, fd = -1, one = 1;

	a->allow = allowlist_new(allow, &why);
	if (!a->allow) {
		r = asprintf(err, "relocation_hosts_allow: %s", why ? why : "out of memory");
		free(why);
		return r < 0 ? -ENOMEM : -EINVAL;
	}
	a->resolver = resolver_new(a->pgrd->loop);
	if (!a->resolver)
		return asprintf(err, "relocation server: %s", strerror(errno)) < 0 ? -ENOMEM : -EIO;
	snprintf(service, sizeof(service), "%d", port);
	if (!address || !*address)
		hints.ai_family = AF_INET6;     /* [::] takes IPv4 too */
	r = getaddrinfo(address && *address ? address : NULL, service, &hints, &res);
	if (r != 0)
		return asprintf(err, "relocation address %s: %s", address ? address : "*",
				gai_strerror(r)), -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && res->ai_family == AF_INET6 && (!address || !*address)) {
		int zero = 0;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return asprintf(err, "relocation server %s:%d: %s", address ? address : "*", port,
				strerror(-r)), r;
	}
	freeaddrinfo(res);
	if (evloop_add(a->pgrd->loop, fd, EPOLLIN, tcp_accept_ready, a) < 0) {
		close(fd);
		return asprintf(err, "out of memory"), -ENOMEM;
	}
	a->tcp_fd = fd;
	pr_info("relocation server listening on %s:%d, %d allow pattern(s)",
		address && *address ? address : "*", port, allowlist_count(a->allow));
	return 0;
}

int api_call_fd(const struct api_call *call)
{
	struct client *c = find_client(call->api, call->client);

	return c ? c->fd : -1;
}

const char *api_call_peer(const struct api_call *call)
{
	struct client *c = find_client(call->api, call->client);

	return c ? c->peer : NULL;
}

int api_call_release(struct api_call *call, json_t *ret)
{
	struct api *a = call->api;
	uint64_t id = call->client;
	struct client *c;

	api_return(call, ret);
	c = find_client(a, id);
	if (!c)
		return -ENOTCONN;
	/* The answer must be out before the stream follows it: wait for it. */
	while (c->out_len) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		client_flush(c);
		if (!(c = find_client(a, id)))
			return -ENOTCONN;
	}
	if (c->out_len || c->in_len) {
		pr_warn("client %llu: %s when handing its connection over", (unsigned long long)id,
			c->out_len ? "could not send the answer" : "sent more than one request");
		client_remove(c, false);
		return -EPROTO;
	}
	client_remove(c, false);
	return 0;
}

/* ---- the listening socket ---- */

static int make_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = -errno;
	}
	free(dir);
	return r;
}

/* A socket left by a pgrd that died is replaced; a live one is not. */
static int claim(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		r = -EADDRINUSE;
	if (fd >= 0)
		close(fd);
	if (!r && unlink(path) < 0)
		r = -errno;
	return r;
}

static int listen_on(const char *path, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return asprintf(err, "socket %s: path too long", path), -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	r = make_parent(path);
	if (!r)
		r = claim(path, &sa);
	if (r < 0)
		return asprintf(err, "socket %s: %s", path, r == -EADDRINUSE ?
				"another pgrd is listening there" : strerror(-r)), r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return asprintf(err, "socket %s: %s", path, strerror(-r)), r;
	}
	return fd;
}

struct api *api_new(struct pgrd *p, const char *path, char **err)
{
	struct api *a = calloc(1, sizeof(*a));

	if (!a || !(a->path = strdup(path))) {
		free(a);
		return asprintf(err, "out of memory"), NULL;
	}
	a->pgrd = p;
	a->tcp_fd = -1;
	a->listen_fd = listen_on(path, err);
	if (a->listen_fd < 0) {
		free(a->path);
		free(a);
		return NULL;
	}
	if (evloop_add(p->loop, a->listen_fd, EPOLLIN, accept_ready, a) < 0) {
		asprintf(err, "out of memory");
		api_free(a);
		return NULL;
	}
	return a;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	while (a->clients)
		client_remove(a->clients, false);
	if (a->listen_fd >= 0) {
		evloop_del(a->pgrd->loop, a->listen_fd);
		close(a->listen_fd);
		unlink(a->path);
	}
	if (a->tcp_fd >= 0) {
		evloop_del(a->pgrd->loop, a->tcp_fd);
		close(a->tcp_fd);
	}
	allowlist_free(a->allow);
	resolver_free(a->resolver);
	free(a->path);
	free(a);
}
