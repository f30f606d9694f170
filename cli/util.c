// SPDX-License-Identifier: GPL-2.0-only
/*
 * util: what every pgr command shares — virsh-style argument parsing,
 * the call to pgrd with its error details, and error lines (see pgr.h).
 */
#include "cli/pgr.h"

#include "cli/conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- arguments ---- */

static const struct arg_spec *find_named(const struct arg_spec *spec, const char *name, size_t n)
{
	for (; spec->name; spec++)
		if (strlen(spec->name) == n && !strncmp(spec->name, name, n))
			return spec;
	return NULL;
}

static int __attribute__((format(printf, 2, 3))) misuse(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return -1;
}

/* The next positional slot still empty. */
static const struct arg_spec *next_pos(const struct arg_spec *spec)
{
	for (; spec->name; spec++)
		if ((spec->kind == ARG_POS || spec->kind == ARG_POS_OPT) && !*(const char **)spec->dst)
			return spec;
	return NULL;
}

/* "--name", "--name=value" or "--name value" at argv[*i]. */
static int named(int argc, char **argv, int *i, const char *usage, const struct arg_spec *spec)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
	const struct arg_spec *s = find_named(spec, arg, eq ? (size_t)(eq - arg) : strlen(arg));

	if (!s)
		return misuse(usage, "unknown option '%s'", argv[*i]);
	if (s->kind == ARG_FLAG) {
		if (eq)
			return misuse(usage, "option '--%s' takes no value", s->name);
		*(bool *)s->dst = true;
		return 0;
	}
	if (!eq && *i + 1 >= argc)
		return misuse(usage, "option '--%s' needs a value", s->name);
	*(const char **)s->dst = eq ? eq + 1 : argv[++*i];
	return 0;
}

static int check_required(const char *usage, const struct arg_spec *spec)
{
	for (; spec->name; spec++)
		if (spec->kind == ARG_POS && !*(const char **)spec->dst)
			return misuse(usage, "missing %s", spec->name);
	return 0;
}

int parse_args(int argc, char **argv, const char *usage, const struct arg_spec *spec)
{
	bool options = true;

	for (int i = 1; i < argc; i++) {
		const struct arg_spec *pos;

		if (options && !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 1;
		}
		if (options && !strcmp(argv[i], "--")) {
			options = false;
		} else if (options && !strncmp(argv[i], "--", 2)) {
			if (named(argc, argv, &i, usage, spec) < 0)
				return -1;
		} else if ((pos = next_pos(spec))) {
			*(const char **)pos->dst = argv[i];
		} else {
			return misuse(usage, "unexpected argument '%s'", argv[i]);
		}
	}
	return check_required(usage, spec);
}

/* ---- calls ---- */

struct conn *pgr_connect(struct pgr *p)
{
	char *why = NULL;

	if (!p->conn && !(p->conn = conn_open(p->uri, &why))) {
		pgr_error("%s", why ? why : "out of memory");
		free(why);
	}
	return p->conn;
}

static void connection_error(struct call_error *e, const char *why)
{
	snprintf(e->cls, sizeof(e->cls), "Connection");
	snprintf(e->desc, sizeof(e->desc), "%s", why);
}

json_t *call_result(json_t *reply, struct call_error *e)
{
	json_t *ret = json_object_get(reply, "return"), *err;

	memset(e, 0, sizeof(*e));
	if (ret) {
		json_incref(ret);
		json_decref(reply);
		return ret;
	}
	err = json_object_get(reply, "error");
	snprintf(e->cls, sizeof(e->cls), "%s", json_string_value(json_object_get(err, "class")) ?: "");
	snprintf(e->desc, sizeof(e->desc), "%s",
		 json_string_value(json_object_get(err, "desc")) ?: "unknown error");
	json_decref(reply);
	return NULL;
}

json_t *pgr_call(struct pgr *p, const char *cmd, json_t *args, struct call_error *e)
{
	json_t *reply;
	char *why = NULL;

	memset(e, 0, sizeof(*e));
	if (!pgr_connect(p)) {
		json_decref(args);
		connection_error(e, "not connected");
		return NULL;
	}
	reply = conn_request(p->conn, cmd, args, &why);
	if (reply)
		return call_result(reply, e);
	connection_error(e, why ? why : "out of memory");
	pgr_error("%s", e->desc);
	free(why);
	return NULL;
}

/* ---- errors ---- */

int pgr_error(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int domain_error(const char *verb, const char *dom, const struct call_error *e)
{
	if (!strcmp(e->cls, "Connection"))
		return 1;          /* already said */
	if (!strcmp(e->cls, "NoDomain"))
		return pgr_error("failed to get domain '%s'", dom);
	return pgr_error("failed to %s domain '%s': %s", verb, dom, e->desc);
}

char *absolute_path(const char *path)
{
	char cwd[4096], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}
