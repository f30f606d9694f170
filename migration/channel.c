// SPDX-License-Identifier: GPL-2.0-only
/*
 * channel: endpoints and the commit handshake (see channel.h).
 */
#include "migration/channel.h"

#define LOG_SUBSYS "channel"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_MAGIC "PGRC"
#define FRAME_TEXT_MAX 4096
/*
 * Socket buffers, each end (the kernel doubles the figure). Whatever sits
 * in them when the guest is paused must still be read and applied by the
 * destination inside the downtime: with 4 MiB the backlog of the last
 * round took it 6-12 ms to work through over loopback, with 512 KiB about
 * 1 ms, at the same total time (bench/README.md). 1 MiB of window still
 * fills a 10 Gbit/s link up to an 0.8 ms round trip.
 */
#define SOCKBUF (512 << 10)

static int fail(char **err, int code, const char *what, const char *uri)
{
	if (asprintf(err, "%s %s: %s", what, uri, strerror(-code)) < 0)
		*err = NULL;
	return code;
}

enum channel_kind channel_kind_of(const char *uri)
{
	if (!strncmp(uri, "tcp:", 4))
		return CHANNEL_TCP;
	if (!strncmp(uri, "fd:", 3))
		return CHANNEL_FD;
	return strncmp(uri, "unix:", 5) ? CHANNEL_FILE : CHANNEL_UNIX;
}

static void tune_socket(int fd, bool tcp)
{
	int one = 1, buf = SOCKBUF;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "tcp:HOST:PORT" -> addrinfo list; IPv6 literals may be bracketed. */
static int resolve(const char *uri, bool passive, struct addrinfo **res)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0 };
	const char *hp = uri + 4, *colon = strrchr(hp, ':');
	char host[256];
	size_t n = colon ? (size_t)(colon - hp) : 0;

	if (!colon || n >= sizeof(host))
		return -EINVAL;
	if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
		hp++;
		n -= 2;
	}
	memcpy(host, hp, n);
	host[n] = 0;
	return getaddrinfo(n ? host : NULL, colon + 1, &hints, res) ? -EHOSTUNREACH : 0;
}

static int unix_addr(const char *uri, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(uri + 5) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, uri + 5);
	return 0;
}

static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr)
			return -soerr;
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

int channel_connect(const char *uri, int timeout_ms, char **err)
{
	struct sockaddr_un sun;
	struct addrinfo *res = NULL, *ai;
	int fd = -1, r;

	if (channel_kind_of(uri) == CHANNEL_UNIX) {
		if ((r = unix_addr(uri, &sun)) < 0)
			return fail(err, r, "cannot connect to", uri);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -errno : connect_timeout(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms);
	} else {
		if ((r = resolve(uri, false, &res)) < 0)
			return fail(err, r, "cannot resolve", uri);
		r = -ECONNREFUSED;
		for (ai = res; ai && r < 0; ai = ai->ai_next) {
			if (fd >= 0)
				close(fd);
			fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			r = fd < 0 ? -errno : connect_timeout(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		}
		freeaddrinfo(res);
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return fail(err, r, "cannot connect to", uri);
	}
	tune_socket(fd, channel_kind_of(uri) == CHANNEL_TCP);
	return fd;
}

static int listen_on(const char *uri)
{
	struct sockaddr_un sun;
	struct addrinfo *res = NULL;
	int fd, one = 1, r;

	if (channel_kind_of(uri) == CHANNEL_UNIX) {
		if ((r = unix_addr(uri, &sun)) < 0)
			return r;
		unlink(sun.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -errno;
	} else {
		if ((r = resolve(uri, true, &res)) < 0)
			return r;
		fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
			r = -errno;
			freeaddrinfo(res);
			if (fd >= 0)
				close(fd);
			return r;
		}
		freeaddrinfo(res);
	}
	return listen(fd, 1) < 0 ? -errno : fd;
}

int channel_accept(const char *uri, char **err)
{
	int lfd = listen_on(uri), fd;

	if (lfd < 0)
		return fail(err, lfd, "cannot listen on", uri);
	pr_info("waiting for the migration stream on %s", uri);
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int r = -errno;

		close(lfd);
		return fail(err, r, "cannot accept on", uri);
	}
	close(lfd);
	if (channel_kind_of(uri) == CHANNEL_UNIX)
		unlink(uri + 5);
	tune_socket(fd, channel_kind_of(uri) == CHANNEL_TCP);
	return fd;
}

static const char *not_stream(int fd, int *family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);
	struct stat st;

	if (fstat(fd, &st) < 0)
		return "not open";
	if (!S_ISSOCK(st.st_mode))
		return S_ISREG(st.st_mode) ? "a regular file" : S_ISCHR(st.st_mode) ?
		       "a character device" : S_ISFIFO(st.st_mode) ? "a pipe" : "not a socket";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return "not SOCK_STREAM";
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return "no address";
	*family = ss.ss_family;
	if (*family != AF_INET && *family != AF_INET6 && *family != AF_UNIX)
		return "not AF_INET, AF_INET6 or AF_UNIX";
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return "not connected";
	return NULL;
}

int channel_adopt(int fd, char **err)
{
	int family = AF_UNSPEC, fl;
	const char *why = not_stream(fd, &family);

	if (why) {
		if (asprintf(err, "not an open stream socket (%s)", why) < 0)
			*err = NULL;
		return -ENOTSOCK;
	}
	/* Shared with the sender's copy, which may have been non-blocking. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;

		if (asprintf(err, "cannot set its flags: %s", strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	tune_socket(fd, family != AF_UNIX);
	return 0;
}

int channel_open_file(const char *uri, char **err)
{
	int fd = open(uri + 5, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? fail(err, -errno, "cannot open", uri + 5) : fd;
}

int channel_create_file(const char *uri, char **tmp_path, char **err)
{
	int fd;

	if (asprintf(tmp_path, "%s.partial", uri + 5) < 0)
		return -ENOMEM;
	fd = open(*tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(*tmp_path);
		*tmp_path = NULL;
		return fail(err, -errno, "cannot create", uri + 5);
	}
	return fd;
}

/* Durable before it replaces anything: an older save file survives a failed save. */
int channel_file_commit(int fd, const char *tmp_path, const char *uri, char **err)
{
	if (fsync(fd) < 0 || rename(tmp_path, uri + 5) < 0) {
		int r = -errno;

		unlink(tmp_path);
		return fail(err, r, "cannot write", uri + 5);
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int commit_send(int fd, enum commit_frame kind, const char *text)
{
	uint32_t len = text ? (uint32_t)strnlen(text, FRAME_TEXT_MAX) : 0;
	uint8_t hdr[12];
	uint32_t k = kind;
	int r;

	memcpy(hdr, FRAME_MAGIC, 4);
	memcpy(hdr + 4, &k, 4);
	memcpy(hdr + 8, &len, 4);
	r = write_all(fd, hdr, sizeof(hdr));
	return r < 0 || !len ? r : write_all(fd, text, len);
}

static int read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr = poll(&pf, 1, timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return -ETIMEDOUT;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int commit_recv(int fd, int timeout_ms, char *text, size_t text_len)
{
	uint8_t hdr[12];
	uint32_t kind, len;
	char buf[FRAME_TEXT_MAX + 1];
	int r = read_all(fd, hdr, sizeof(hdr), timeout_ms);

	if (r < 0)
		return r;
	memcpy(&kind, hdr + 4, 4);
	memcpy(&len, hdr + 8, 4);
	if (memcmp(hdr, FRAME_MAGIC, 4) || kind < COMMIT_ACK || kind > COMMIT_DONE ||
	    len > FRAME_TEXT_MAX)
		return -EPROTO;
	r = read_all(fd, buf, len, timeout_ms);
	if (r < 0)
		return r;
	buf[len] = 0;
	if (text && text_len)
		snprintf(text, text_len, "%s", buf);
	return (int)kind;
}
