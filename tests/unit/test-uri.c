// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-uri: every URI form pgr accepts (uri.h), what each parses to and how
 * it prints back, then a table of refusals whose errors must say why.
 */
#include "lib/uri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tests/unit/unit.h"

static const struct good {
	const char *in;
	enum uri_transport t;
	const char *user, *host, *path;
	int port;
	const char *canon;
} good[] = {
	{ "pgr:///system", URI_LOCAL, NULL, NULL, "/system", 0, "pgr:///system" },
	{ "PGR:///system", URI_LOCAL, NULL, NULL, "/system", 0, "pgr:///system" },
	{ "pgr+unix:///run/pgr/pgrd.sock", URI_UNIX, NULL, NULL, "/run/pgr/pgrd.sock", 0,
	  "pgr+unix:///run/pgr/pgrd.sock" },
	{ "pgr+tcp://kvm2/", URI_TCP, NULL, "kvm2", NULL, 8002, "pgr+tcp://kvm2/" },
	{ "pgr+tcp://kvm2", URI_TCP, NULL, "kvm2", NULL, 8002, "pgr+tcp://kvm2/" },
	{ "pgr+tcp://kvm2/system", URI_TCP, NULL, "kvm2", NULL, 8002, "pgr+tcp://kvm2/" },
	{ "pgr+tcp://kvm2.example.com:8003/", URI_TCP, NULL, "kvm2.example.com", NULL, 8003,
	  "pgr+tcp://kvm2.example.com:8003/" },
	{ "pgr+tcp://192.168.1.20:8002/", URI_TCP, NULL, "192.168.1.20", NULL, 8002,
	  "pgr+tcp://192.168.1.20/" },
	{ "pgr+tcp://[::1]/", URI_TCP, NULL, "::1", NULL, 8002, "pgr+tcp://[::1]/" },
	{ "pgr+tcp://[2001:db8::5]:9000/", URI_TCP, NULL, "2001:db8::5", NULL, 9000,
	  "pgr+tcp://[2001:db8::5]:9000/" },
	{ "pgr+ssh://kvm2/", URI_SSH, NULL, "kvm2", NULL, 0, "pgr+ssh://kvm2/" },
	{ "pgr+ssh://kvm2/system", URI_SSH, NULL, "kvm2", NULL, 0, "pgr+ssh://kvm2/" },
	{ "pgr+ssh://root@kvm2:2222/", URI_SSH, "root", "kvm2", NULL, 2222,
	  "pgr+ssh://root@kvm2:2222/" },
	{ "pgr+ssh://ops.admin@[fe80::1]/", URI_SSH, "ops.admin", "fe80::1", NULL, 0,
	  "pgr+ssh://ops.admin@[fe80::1]/" },
	{ "pgr+ssh://kvm2/system/", URI_SSH, NULL, "kvm2", NULL, 0, "pgr+ssh://kvm2/" },
	/* an ssh URI's other paths: the remote daemon's socket */
	{ "pgr+ssh://kvm2/run/pgr/other.sock", URI_SSH, NULL, "kvm2", "/run/pgr/other.sock", 0,
	  "pgr+ssh://kvm2/run/pgr/other.sock" },
	{ "pgr+ssh://root@kvm2:2222/tmp/pgr-t.1/pgrd.sock", URI_SSH, "root", "kvm2",
	  "/tmp/pgr-t.1/pgrd.sock", 2222, "pgr+ssh://root@kvm2:2222/tmp/pgr-t.1/pgrd.sock" },
	{ "pgr+ssh://[::1]:22/srv/a+b,c:d@e=f-g_h", URI_SSH, NULL, "::1", "/srv/a+b,c:d@e=f-g_h",
	  22, "pgr+ssh://[::1]:22/srv/a+b,c:d@e=f-g_h" },
	{ "pgr+ssh://kvm2/system.sock", URI_SSH, NULL, "kvm2", "/system.sock", 0,
	  "pgr+ssh://kvm2/system.sock" },
	{ "pgr+ssh://kvm2//x", URI_SSH, NULL, "kvm2", "//x", 0, "pgr+ssh://kvm2//x" },
	{ "kvm2", URI_TCP, NULL, "kvm2", NULL, 8002, "pgr+tcp://kvm2/" },
	{ "kvm2:8010", URI_TCP, NULL, "kvm2", NULL, 8010, "pgr+tcp://kvm2:8010/" },
	{ "10.0.0.2", URI_TCP, NULL, "10.0.0.2", NULL, 8002, "pgr+tcp://10.0.0.2/" },
	{ "[::1]", URI_TCP, NULL, "::1", NULL, 8002, "pgr+tcp://[::1]/" },
	{ "[::1]:65535", URI_TCP, NULL, "::1", NULL, 65535, "pgr+tcp://[::1]:65535/" },
	{ "host_with_underscore", URI_TCP, NULL, "host_with_underscore", NULL, 8002,
	  "pgr+tcp://host_with_underscore/" },
};

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void test_good(void)
{
	unsigned i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct good *g = &good[i];
		struct pgr_uri u, v;
		char *err = NULL, *canon;
		bool ok;

		CHECK_EQ_INT(uri_parse(g->in, &u, &err), 0);
		ok = u.transport == g->t && str_eq(u.user, g->user) && str_eq(u.host, g->host) &&
		     str_eq(u.path, g->path) && u.port == g->port;
		CHECK(ok);
		if (!ok || err)
			fprintf(stderr, "  %s: %s t=%d user=%s host=%s path=%s port=%d\n", g->in,
				err ? err : "", u.transport, u.user, u.host, u.path, u.port);
		canon = uri_format(&u);
		CHECK_STR(canon, g->canon);
		CHECK_EQ_INT(uri_parse(canon, &v, NULL), 0);
		CHECK(v.transport == u.transport && str_eq(v.host, u.host) && v.port == u.port &&
		      str_eq(v.user, u.user) && str_eq(v.path, u.path));
		free(canon);
		free(err);
		uri_clear(&u);
		uri_clear(&v);
	}
}

static const struct bad {
	const char *in, *msg;
} bad[] = {
	{ "", "empty URI" },
	{ "qemu+ssh://kvm2/system", "unknown scheme 'qemu+ssh'" },
	{ "xen://kvm2/", "unknown scheme 'xen'" },
	{ "://kvm2/", "unknown scheme ''" },
	{ "pgr+tls://kvm2/", "unknown scheme" },
	{ "pgr://kvm2/system", "pgr+tcp://kvm2/" },
	{ "pgr:///session", "pgr:///system" },
	{ "pgr:///", "pgr:///system" },
	{ "pgr+unix://", "missing socket path" },
	{ "pgr+unix:///", "missing socket path" },
	{ "pgr+unix://host/x.sock", "names no host" },
	{ "pgr+unix:///aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
	  "longer than" },
	{ "pgr+tcp:///", "empty host" },
	{ "pgr+tcp://:8002/", "empty host" },
	{ "pgr+ssh://root@/", "empty host" },
	{ "pgr+tcp://kvm2:/", "empty port" },
	{ "pgr+tcp://kvm2:0/", "out of range" },
	{ "pgr+tcp://kvm2:65536/", "out of range" },
	{ "pgr+tcp://kvm2:99999999999999999999/", "out of range" },
	{ "pgr+tcp://kvm2:-1/", "not a number" },
	{ "pgr+tcp://kvm2:80a/", "not a number" },
	{ "pgr+tcp://kvm2/other", "unexpected path" },
	{ "pgr+tcp://kvm2/run/pgrd.sock", "unexpected path" },
	{ "pgr+ssh://kvm2/tmp/a;reboot", "';' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/$(reboot)", "'$' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/`reboot`", "'`' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/a'b", "''' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/a|b", "'|' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/a&b", "'&' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/*", "'*' in the socket path" },
	{ "pgr+ssh://kvm2/tmp/a\\b", "in the socket path" },
	{ "pgr+ssh://kvm2/tmp/dir/", "ends in '/'" },
	{ "pgr+ssh://kvm2/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
	  "longer than" },
	{ "pgr+ssh://-oProxyCommand=x/tmp/a.sock", "starts with a letter or digit" },
	{ "pgr+ssh:///tmp/a.sock", "empty host" },
	{ "pgr+tcp://root@kvm2/", "only meaningful with pgr+ssh" },
	{ "pgr+tcp://::1/", "brackets" },
	{ "fe80::1", "brackets" },
	{ "pgr+tcp://[::1/", "missing ']'" },
	{ "pgr+tcp://[kvm2]/", "not an IPv6 address" },
	{ "pgr+tcp://[fe80::1%eth0]/", "not supported" },
	{ "pgr+tcp://[::1]x/", "unexpected" },
	{ "pgr+ssh://-oProxyCommand=evil/", "starts with a letter or digit" },
	{ "pgr+ssh://-oProxyCommand@kvm2/", "bad user name" },
	{ "pgr+ssh://a:b@kvm2/", "bad character in user name" },
	{ "pgr+ssh://a@b@kvm2/", "bad character in host name" },
	{ "pgr+tcp://kvm..example/", "empty label" },
	{ "pgr+tcp://.kvm2/", "starts with a letter" },
	{ "pgr+tcp://kvm2 /", "space" },
	{ "kvm2\n", "control character" },
	{ "pgr+tcp://kvm2/?x=1", "'?' is not supported" },
	{ "pgr+tcp://kvm2/#f", "'#' is not supported" },
	{ "pgr+tcp://kv%6d2/", "'%' is not supported" },
	{ "kvm2/system", "not a URI" },
	{ "pgr:", "empty port" },
	{ "kvm2:ssh", "not a number" },
	{ "k\xc3\xa9vm", "bad character" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", "longer than 63" },
};

static void test_bad(void)
{
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pgr_uri u;
		char *err = NULL;
		int r = uri_parse(bad[i].in, &u, &err);

		CHECK_EQ_INT(r, -EINVAL);
		CHECK_CONTAINS(err, bad[i].msg);
		CHECK(err && !strncmp(err, "URI '", 5) && !strchr(err, '\n'));
		CHECK(!u.host && !u.user && !u.path);
		if (r != -EINVAL || !err || !strstr(err, bad[i].msg))
			fprintf(stderr, "  %s -> %s\n", bad[i].in, err ? err : "accepted");
		free(err);
	}
	CHECK_EQ_INT(uri_parse(NULL, &(struct pgr_uri){ 0 }, NULL), -EINVAL);
}

static void test_long_host(void)
{
	char host[300], *err = NULL;
	struct pgr_uri u;
	int i;

	for (i = 0; i < 254; i++)
		host[i] = (i % 10 == 9) ? '.' : 'a';
	host[254] = '\0';
	CHECK_EQ_INT(uri_parse(host, &u, &err), -EINVAL);
	CHECK_CONTAINS(err, "too long");
	free(err);
	host[253] = '\0';
	host[252] = 'a';
	CHECK_EQ_INT(uri_parse(host, &u, NULL), 0);
	uri_clear(&u);
	uri_clear(&u);
}

int main(void)
{
	test_good();
	test_bad();
	test_long_host();
	return UNIT_DONE();
}
