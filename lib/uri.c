// SPDX-License-Identifier: GPL-2.0-only
/*
 * uri: parse and print pgr connection URIs (see uri.h for the forms). Host
 * names are checked strictly because they end up on an ssh command line: a
 * host or user starting with '-' would be an option there. No name is
 * resolved here; the CLI resolves and connects, the daemon checks
 * allow-lists (allowlist.c).
 */
#include "lib/uri.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define HOST_MAX 253
#define LABEL_MAX 63
#define USER_MAX 32

static int fail(char **err, const char *uri, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char **err, const char *uri, const char *fmt, ...)
{
	char msg[256], shown[201], *c;
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(shown, sizeof(shown), "%s", uri);
	for (c = shown; *c; c++)        /* keep the message one printable line */
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	if (asprintf(err, "URI '%s': %s", shown, msg) < 0)
		*err = NULL;
	return -EINVAL;
}

static const struct scheme {
	const char *name;
	enum uri_transport transport;
} schemes[] = {
	{ "pgr", URI_LOCAL },
	{ "pgr+unix", URI_UNIX },
	{ "pgr+tcp", URI_TCP },
	{ "pgr+ssh", URI_SSH },
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* NULL if host is a plausible DNS name or IPv4 address, else why not. */
static const char *check_hostname(const char *h)
{
	size_t len = strlen(h), label = 0;

	if (!len)
		return "empty host name";
	if (len > HOST_MAX)
		return "host name too long";
	if (!is_alnum(h[0]))
		return "a host name starts with a letter or digit";
	for (; *h; h++) {
		if (*h == '.') {
			if (!label)
				return "empty label in host name";
			label = 0;
		} else if (is_alnum(*h) || *h == '-' || *h == '_') {
			if (++label > LABEL_MAX)
				return "host name label longer than 63 characters";
		} else {
			return "bad character in host name";
		}
	}
	return NULL;
}

static int parse_port(const char *s, int *port, char **err, const char *uri)
{
	long v = 0;

	if (!*s)
		return fail(err, uri, "empty port after ':'");
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return fail(err, uri, "port is not a number");
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return fail(err, uri, "port is out of range (1-65535)");
	}
	if (!v)
		return fail(err, uri, "port is out of range (1-65535)");
	*port = (int)v;
	return 0;
}

/* "[v6]" (brackets stripped into u->host), or a name; *rest is what follows. */
static int parse_host(char *a, struct pgr_uri *u, char **rest, char **err, const char *uri)
{
	struct in6_addr in6;
	const char *why;
	char *end;

	if (*a == '[') {
		end = strchr(a, ']');
		if (!end)
			return fail(err, uri, "missing ']' after IPv6 address");
		*end = '\0';
		if (strchr(a + 1, '%'))
			return fail(err, uri, "IPv6 zone identifiers are not supported");
		if (inet_pton(AF_INET6, a + 1, &in6) != 1)
			return fail(err, uri, "'%.64s' is not an IPv6 address", a + 1);
		*rest = end + 1;
		u->host = strdup(a + 1);
		return u->host ? 0 : -ENOMEM;
	}
	end = a + strcspn(a, ":");
	if (*end && strchr(end + 1, ':'))
		return fail(err, uri, "IPv6 addresses must be in brackets, e.g. [fe80::1]");
	*rest = end;
	u->host = strndup(a, (size_t)(end - a));
	if (!u->host)
		return -ENOMEM;
	if ((why = check_hostname(u->host)))
		return fail(err, uri, "%s", why);
	return 0;
}

static int parse_user(char *a, struct pgr_uri *u, char **err, const char *uri)
{
	size_t len = strlen(a), i;

	if (!len || len > USER_MAX || a[0] == '-')
		return fail(err, uri, "bad user name");
	for (i = 0; i < len; i++)
		if (!is_alnum(a[i]) && !strchr("._-", a[i]))
			return fail(err, uri, "bad character in user name");
	u->user = strdup(a);
	return u->user ? 0 : -ENOMEM;
}

/* [user@]host[:port] -- a is modified. */
static int parse_authority(char *a, struct pgr_uri *u, bool user_ok, char **err, const char *uri)
{
	char *at = strchr(a, '@'), *rest = NULL;
	int r;

	if (at && !user_ok)
		return fail(err, uri, "a user name is only meaningful with pgr+ssh://");
	if (at) {
		*at = '\0';
		if ((r = parse_user(a, u, err, uri)))
			return r;
		a = at + 1;
	}
	if ((r = parse_host(a, u, &rest, err, uri)))
		return r;
	if (!*rest)
		return 0;
	if (*rest != ':')
		return fail(err, uri, "unexpected '%.16s' after the host", rest);
	return parse_port(rest + 1, &u->port, err, uri);
}

static int find_scheme(const char *s, size_t len, enum uri_transport *t, char **err)
{
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == len && !strncasecmp(s, schemes[i].name, len)) {
			*t = schemes[i].transport;
			return 0;
		}
	}
	return fail(err, s, "unknown scheme '%.*s': use pgr:///system, pgr+unix:///PATH, "
		    "pgr+tcp://HOST/ or pgr+ssh://HOST/", (int)(len > 32 ? 32 : len), s);
}

static bool remote_path_ok(const char *path)
{
	return !*path || !strcmp(path, "/") || !strcmp(path, URI_LOCAL_PATH) ||
	       !strcmp(path, URI_LOCAL_PATH "/");
}

static int parse_local(const char *auth, const char *path, struct pgr_uri *u, char **err,
		       const char *uri)
{
	if (*auth)
		return fail(err, uri, "pgr:// names no host: use pgr+tcp://%.64s/ or pgr+ssh://%.64s/",
			    auth, auth);
	if (strcmp(path, URI_LOCAL_PATH))
		return fail(err, uri, "the local daemon is pgr:///system");
	u->path = strdup(path);
	return u->path ? 0 : -ENOMEM;
}

static int parse_unix(const char *auth, const char *path, struct pgr_uri *u, char **err,
		      const char *uri)
{
	if (*auth)
		return fail(err, uri, "pgr+unix:// names no host: pgr+unix:///path/to.sock");
	if (strlen(path) < 2)
		return fail(err, uri, "missing socket path: pgr+unix:///path/to.sock");
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail(err, uri, "socket path longer than %zu bytes",
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	u->path = strdup(path);
	return u->path ? 0 : -ENOMEM;
}

/* The remote socket of pgr+ssh://host/PATH: it becomes a word of the
 * remote shell's command line, so nothing the shell would interpret. */
static int parse_ssh_path(const char *path, struct pgr_uri *u, char **err, const char *uri)
{
	size_t len = strlen(path);

	if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail(err, uri, "socket path longer than %zu bytes",
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	for (const char *c = path; *c; c++)
		if (!is_alnum(*c) && !strchr("/._+,:@=-", *c))
			return fail(err, uri, "'%c' in the socket path (allowed: letters, digits, "
				    "and / . _ + , : @ = -)", *c);
	if (path[len - 1] == '/')
		return fail(err, uri, "the socket path '%.64s' ends in '/'", path);
	u->path = strdup(path);
	return u->path ? 0 : -ENOMEM;
}

/* After the scheme: authority (modified in place) and path. */
static int parse_rest(char *auth, const char *path, struct pgr_uri *u, char **err, const char *uri)
{
	int r;

	if (u->transport == URI_LOCAL)
		return parse_local(auth, path, u, err, uri);
	if (u->transport == URI_UNIX)
		return parse_unix(auth, path, u, err, uri);
	if (!*auth)
		return fail(err, uri, "empty host name");
	if (!remote_path_ok(path) && u->transport == URI_TCP)
		return fail(err, uri, "unexpected path '%.64s' (a pgr+tcp:// URI ends in '/')", path);
	if ((r = parse_authority(auth, u, u->transport == URI_SSH, err, uri)))
		return r;
	if (!remote_path_ok(path) && (r = parse_ssh_path(path, u, err, uri)))
		return r;
	if (!u->port && u->transport == URI_TCP)
		u->port = URI_DEFAULT_PORT;
	return 0;
}

static int parse_scheme_uri(const char *s, const char *sep, struct pgr_uri *u, char **err)
{
	const char *auth = sep + 3, *path = auth + strcspn(auth, "/");
	char *a;
	int r;

	if ((r = find_scheme(s, (size_t)(sep - s), &u->transport, err)))
		return r;
	a = strndup(auth, (size_t)(path - auth));
	if (!a)
		return -ENOMEM;
	r = parse_rest(a, path, u, err, s);
	free(a);
	return r;
}

/* "kvm2", "kvm2:8003", "[::1]:8003": a migration destination as xm takes it. */
static int parse_bare(const char *s, struct pgr_uri *u, char **err)
{
	char *a;
	int r;

	if (strchr(s, '/'))
		return fail(err, s, "not a URI (pgr+tcp://HOST/) nor a host name");
	u->transport = URI_TCP;
	a = strdup(s);
	if (!a)
		return -ENOMEM;
	r = parse_authority(a, u, false, err, s);
	free(a);
	if (!r && !u->port)
		u->port = URI_DEFAULT_PORT;
	return r;
}

int uri_parse(const char *s, struct pgr_uri *u, char **err)
{
	const char *p, *sep;
	int r;

	memset(u, 0, sizeof(*u));
	if (!s || !*s)
		return fail(err, "", "empty URI");
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(err, s, "contains a space or control character");
		if (*p == '?' || *p == '#' || *p == '%')
			return fail(err, s, "'%c' is not supported (no queries, fragments or escapes)", *p);
	}
	sep = strstr(s, "://");
	r = sep ? parse_scheme_uri(s, sep, u, err) : parse_bare(s, u, err);
	if (r == -ENOMEM)
		fail(err, s, "out of memory");
	if (r)
		uri_clear(u);
	return r;
}

void uri_clear(struct pgr_uri *u)
{
	free(u->user);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

char *uri_format(const struct pgr_uri *u)
{
	bool v6 = u->host && strchr(u->host, ':');
	const char *scheme = u->transport == URI_TCP ? "pgr+tcp" : "pgr+ssh";
	char port[8] = "";
	char *s = NULL;
	int r;

	if (u->transport == URI_LOCAL)
		return strdup("pgr://" URI_LOCAL_PATH);
	if (u->transport == URI_UNIX)
		r = asprintf(&s, "pgr+unix://%s", u->path ? u->path : "");
	else {
		if (u->port && !(u->transport == URI_TCP && u->port == URI_DEFAULT_PORT))
			snprintf(port, sizeof(port), ":%d", u->port);
		r = asprintf(&s, "%s://%s%s%s%s%s%s%s", scheme, u->user ? u->user : "",
			     u->user ? "@" : "", v6 ? "[" : "", u->host ? u->host : "",
			     v6 ? "]" : "", port,
			     u->transport == URI_SSH && u->path ? u->path : "/");
	}
	return r < 0 ? NULL : s;
}
