// SPDX-License-Identifier: GPL-2.0-only
/*
 * allowlist: compile a relocation allow-list (see allowlist.h) into regex_t
 * and match peers against it. Patterns are compiled as written and a match
 * must cover the whole string (regexec's leftmost-longest match from 0 to
 * the end), rather than wrapped in ^(...)$: wrapping would let a pattern
 * like "a)|(b" escape its anchors. Nothing here resolves names or reads
 * configuration; the daemon's relocation server does both.
 */
#include "lib/allowlist.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX 256
#define BOUND_MAX   32      /* largest {n,m} */

struct allowlist {
	int n;
	regex_t *re;
};

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* The next pattern of *s (quotes removed) as a malloc'd string; NULL at
 * the end, when a quote is not closed (*bad), or out of memory (*s is then
 * left where it was). */
static char *next_token(const char **s, bool *bad)
{
	const char *p = *s + strspn(*s, " \t\r\n"), *end, *next;
	char *tok;

	*bad = false;
	if (!*p)
		return NULL;
	if (*p == '\'' || *p == '"') {
		end = strchr(p + 1, *p);
		if (!end) {
			*bad = true;
			return NULL;
		}
		p++;
		next = end + 1;
	} else {
		end = p + strcspn(p, " \t\r\n");
		next = end;
	}
	tok = strndup(p, (size_t)(end - p));
	if (tok)
		*s = next;
	return tok;
}

/* glibc's regcomp builds automata that grow with every repetition: a
 * quantifier on a quantifier ("a++", "a{9}{9}": undefined in POSIX EREs
 * anyway) or a large bound takes gigabytes. Host-name patterns need
 * neither. NULL, or what is wrong. */
static const char *too_costly(const char *pat)
{
	bool after_quantifier = false;

	for (const char *p = pat; *p; p++) {
		bool quantifier = *p == '*' || *p == '+' || *p == '?' || *p == '{';

		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {         /* a bracket expression: no quantifiers inside */
			const char *q = p + 1 + (p[1] == '^');

			q += *q == ']';
			while (*q && *q != ']')
				q++;
			if (!*q)
				return NULL;    /* regcomp says what is wrong */
			p = q;
		} else if (quantifier && after_quantifier) {
			return "a quantifier on a quantifier";
		} else if (*p == '{') {
			char *end;
			long lo = strtol(p + 1, &end, 10), hi = lo;

			if (*end == ',')
				hi = end[1] == '}' ? lo : strtol(end + 1, &end, 10);
			if (lo > BOUND_MAX || hi > BOUND_MAX)
				return "a repetition bound over 32";
			p = strchr(p, '}') ? strchr(p, '}') : p;
		}
		after_quantifier = quantifier;
	}
	return NULL;
}

static int add_pattern(struct allowlist *a, char *pat, char **err)
{
	const char *why;
	char msg[128];
	regex_t *re;
	int r;

	if (strlen(pat) > PATTERN_MAX) {
		set_err(err, "relocation allow-list: pattern '%.40s...' is longer than %d bytes",
			pat, PATTERN_MAX);
		return -EINVAL;
	}
	if ((why = too_costly(pat))) {
		set_err(err, "relocation allow-list: pattern '%.200s': %s is not allowed", pat, why);
		return -EINVAL;
	}
	re = realloc(a->re, (size_t)(a->n + 1) * sizeof(*re));
	if (!re) {
		set_err(err, "relocation allow-list: out of memory");
		return -ENOMEM;
	}
	a->re = re;
	r = regcomp(&a->re[a->n], pat, REG_EXTENDED | REG_ICASE);
	if (r) {
		regerror(r, &a->re[a->n], msg, sizeof(msg));
		set_err(err, "relocation allow-list: bad pattern '%.200s': %s", pat, msg);
		return -EINVAL;
	}
	a->n++;
	return 0;
}

struct allowlist *allowlist_new(const char *spec, char **err)
{
	struct allowlist *a = calloc(1, sizeof(*a));
	const char *s = spec ? spec : "";
	bool bad = false;
	char *pat;
	int r = 0;

	if (!a) {
		set_err(err, "relocation allow-list: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	while (!r && (pat = next_token(&s, &bad))) {
		r = add_pattern(a, pat, err);
		free(pat);
	}
	if (!r && bad) {
		set_err(err, "relocation allow-list: unterminated quote in '%.200s'", spec);
		r = -EINVAL;
	} else if (!r && s[strspn(s, " \t\r\n")]) {   /* next_token ran out of memory */
		set_err(err, "relocation allow-list: out of memory");
		r = -ENOMEM;
	}
	if (r) {
		allowlist_free(a);
		errno = -r;
		return NULL;
	}
	return a;
}

static bool full_match(const regex_t *re, const char *s)
{
	regmatch_t m;

	return !regexec(re, s, 1, &m, 0) && m.rm_so == 0 && (size_t)m.rm_eo == strlen(s);
}

static bool any_match(const struct allowlist *a, const char *s)
{
	int i;

	if (!s || !*s)
		return false;
	for (i = 0; i < a->n; i++)
		if (full_match(&a->re[i], s))
			return true;
	return false;
}

/* "kvm2.example.com." -> "kvm2.example.com"; "::ffff:10.0.0.1" -> "10.0.0.1". */
static bool match_name(const struct allowlist *a, const char *name)
{
	size_t len = name ? strlen(name) : 0;
	char *trimmed;
	bool ok;

	if (!len || name[len - 1] != '.')
		return any_match(a, name);
	trimmed = strndup(name, len - 1);
	ok = trimmed && any_match(a, trimmed);
	free(trimmed);
	return ok;
}

static bool match_addr(const struct allowlist *a, const char *addr)
{
	static const char mapped[] = "::ffff:";

	if (any_match(a, addr))
		return true;
	return addr && !strncasecmp(addr, mapped, sizeof(mapped) - 1) &&
	       strchr(addr + sizeof(mapped) - 1, '.') && any_match(a, addr + sizeof(mapped) - 1);
}

bool allowlist_match(const struct allowlist *a, const char *hostname, const char *addr)
{
	if (!a->n)
		return true;
	return match_name(a, hostname) || match_addr(a, addr);
}

int allowlist_count(const struct allowlist *a)
{
	return a->n;
}

void allowlist_free(struct allowlist *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++)
		regfree(&a->re[i]);
	free(a->re);
	free(a);
}
