// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-allowlist: relocation allow-lists as xend's
 * xend-relocation-hosts-allow: a table of (spec, host name, address) ->
 * allowed?, then bad specs whose errors must name the pattern.
 */
#include "lib/allowlist.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/unit/unit.h"

#define XEND "^localhost$ ^kvm[0-9]+\\.example\\.com$ ^192\\.168\\.1\\.[0-9]+$"

static const struct match_case {
	const char *spec, *host, *addr;
	bool allowed;
} cases[] = {
	{ "", "anything", "203.0.113.9", true },
	{ NULL, NULL, NULL, true },
	{ "   \t ", "evil.example.net", NULL, true },
	{ XEND, "localhost", "127.0.0.1", true },
	{ XEND, "kvm2.example.com", "10.0.0.2", true },
	{ XEND, "KVM12.Example.COM", "10.0.0.2", true },      /* names are case-insensitive */
	{ XEND, "kvm2.example.com.", NULL, true },            /* trailing dot */
	{ XEND, "kvm.example.com", "10.0.0.2", false },
	{ XEND, "kvm2.example.com.evil.net", "10.0.0.2", false },
	{ XEND, "xkvm2.example.com", NULL, false },
	{ XEND, NULL, "192.168.1.77", true },
	{ XEND, "unknown", "192.168.1.77", true },            /* either one matching is enough */
	{ XEND, "unknown", "::ffff:192.168.1.77", true },     /* IPv4-mapped */
	{ XEND, "unknown", "::FFFF:192.168.1.77", true },
	{ XEND, "unknown", "192.168.10.77", false },
	{ XEND, "unknown", "192.168.1.77.evil", false },
	{ XEND, "unknown", "1192.168.1.77", false },
	{ XEND, NULL, NULL, false },
	{ XEND, "", "", false },
	/* unanchored patterns are anchored anyway */
	{ "kvm[0-9]+", "kvm2", NULL, true },
	{ "kvm[0-9]+", "kvm2.example.com", NULL, false },
	{ "kvm[0-9]+", "mykvm2", NULL, false },
	{ "example\\.com", "kvm2.example.com", NULL, false },
	{ ".*\\.example\\.com", "kvm2.example.com", NULL, true },
	/* alternation: the whole string must match, whichever branch does */
	{ "kvm|kvm1", "kvm1", NULL, true },
	{ "kvm1|kvm", "kvm1", NULL, true },
	{ "a|b", "ab", NULL, false },
	{ "^a$|^b$", "b", NULL, true },
	/* xend-config.sxp quoting, and several patterns */
	{ "'^localhost$' '^host.example.org$'", "host.example.org", NULL, true },
	{ "\"^localhost$\"  '^host.example.org$'", "localhost", NULL, true },
	{ "'^localhost$' '^host.example.org$'", "'localhost'", NULL, false },
	{ "'a b'", "a b", NULL, true },
	{ "^10\\.0\\.0\\.[0-9]+$ ^fe80::.*$", NULL, "fe80::1", true },
	{ "^10\\.0\\.0\\.[0-9]+$ ^fe80::.*$", NULL, "::ffff:10.0.0.3", true },
	{ "^10\\.0\\.0\\.[0-9]+$", NULL, "::ffff:10.0.0.x", false },
};

static void test_match(void)
{
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct match_case *t = &cases[i];
		char *err = NULL;
		struct allowlist *a = allowlist_new(t->spec, &err);
		bool got;

		CHECK(a != NULL);
		if (!a) {
			fprintf(stderr, "  spec %s: %s\n", t->spec, err);
			free(err);
			continue;
		}
		got = allowlist_match(a, t->host, t->addr);
		CHECK(got == t->allowed);
		if (got != t->allowed)
			fprintf(stderr, "  spec \"%s\", host %s, addr %s: got %d\n", t->spec,
				t->host ? t->host : "NULL", t->addr ? t->addr : "NULL", got);
		allowlist_free(a);
	}
}

static const struct bad_case {
	const char *spec, *msg;
} bad[] = {
	{ "^kvm[0-9+$", "'^kvm[0-9+$'" },
	{ "^localhost$ ^kvm(2$", "'^kvm(2$'" },
	{ "good a{2,1}", "'a{2,1}'" },
	{ "'^localhost$ ^x$", "unterminated quote" },
	{ "ok \"x", "unterminated quote" },
	{ "*", "'*'" },
	/* what would make glibc's regcomp take gigabytes */
	{ "y++", "a quantifier on a quantifier" },
	{ "^kvm[0-9]+*$", "a quantifier on a quantifier" },
	{ "a{9}{9}", "a quantifier on a quantifier" },
	{ "x{1,200}", "a repetition bound over 32" },
	{ "x{40}", "a repetition bound over 32" },
};

static void test_bad(void)
{
	char big[1200];
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;

		errno = 0;
		CHECK(allowlist_new(bad[i].spec, &err) == NULL);
		CHECK_EQ_INT(errno, EINVAL);
		CHECK_CONTAINS(err, bad[i].msg);
		CHECK_CONTAINS(err, "relocation allow-list");
		free(err);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(allowlist_new(big, NULL) == NULL);
	/* and what is fine: escaped and bracketed '+', small bounds, {n,} */
	{
		struct allowlist *a = allowlist_new("^a\\++$ ^[+*]+$ ^kvm[0-9]{1,3}$ ^b{2,}$", NULL);

		CHECK(a != NULL);
		CHECK(allowlist_match(a, "a++", NULL));
		CHECK(allowlist_match(a, "+*+", NULL));
		CHECK(allowlist_match(a, "kvm123", NULL));
		CHECK(!allowlist_match(a, "kvm1234", NULL));
		CHECK(allowlist_match(a, "bbbb", NULL));
		allowlist_free(a);
	}
	allowlist_free(NULL);
}

static void test_count(void)
{
	struct allowlist *a = allowlist_new(XEND, NULL);

	CHECK_EQ_INT(allowlist_count(a), 3);
	allowlist_free(a);
	a = allowlist_new("", NULL);
	CHECK_EQ_INT(allowlist_count(a), 0);
	allowlist_free(a);
}

int main(void)
{
	test_match();
	test_bad();
	test_count();
	return UNIT_DONE();
}
