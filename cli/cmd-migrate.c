// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-migrate: `pgr migrate [OPTIONS] DOMAIN DESTURI`, with virsh's
 * options. The arguments are checked here, then the connected pgrd (the
 * source) is asked domain-migrate and does the rest, peer to peer
 * (docs/relocation.md): DESTURI goes as typed, the daemon resolves it.
 * While that call runs, a second connection polls domain-job-info to draw
 * --verbose's progress (virsh's "Migration: [ 42 %]"), and a Ctrl-C asks
 * domain-job-abort there (a second one kills pgr). The job's figures on
 * their own: cmd-job.c.
 */
#include "cli/pgr.h"

#include "cli/conn.h"
#include "lib/uri.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 200

static const char usage[] =
"Usage: pgr migrate [--live | --offline] [--persistent] [--undefinesource]\n"
"                   [--copy-storage-all | --copy-storage-inc] [--unsafe] [--verbose]\n"
"                   [--timeout SECONDS] [--bandwidth MiB/s] [--max-downtime MS]\n"
"                   DOMAIN DESTURI\n"
"Migrate a domain to another host, as virsh migrate --p2p: the connected pgrd\n"
"connects to DESTURI (pgr+tcp://HOST[:PORT]/, HOST[:PORT], or\n"
"pgr+ssh://[USER@]HOST[:PORT]/[SOCKET]). Without --live the guest is paused\n"
"and moved in one pass (as xm migrate); --offline moves only the definition\n"
"(with --persistent). --timeout suspends a live migration still running after\n"
"SECONDS; --verbose shows progress; Ctrl-C cancels (the guest runs on here).\n"
"virsh's --p2p and --tunnelled are accepted: a migration always is both (one\n"
"connection between the two pgrds carries the control and the stream).\n";

struct migrate_args {
	const char *dom, *dest, *timeout, *bandwidth, *downtime;
	bool live, offline, persistent, undefine, all, inc, unsafe, verbose, p2p, tunnelled;
};

/* The numeric options: name, bounds, and the domain-migrate argument. */
static const struct number {
	const char *opt, *key;
	long long min, max;
	size_t at;                 /* offset of the value in struct migrate_args */
} numbers[] = {
	{ "timeout", "timeout", 1, 2147483647, offsetof(struct migrate_args, timeout) },
	{ "bandwidth", "bandwidth", 0, 1048576, offsetof(struct migrate_args, bandwidth) },
	{ "max-downtime", "max_downtime", 1, 2000000, offsetof(struct migrate_args, downtime) },
};

static const char *number_text(const struct migrate_args *a, const struct number *n)
{
	return *(const char *const *)((const char *)a + n->at);
}

/* 0 with *v, or 1 with the error printed. */
static int parse_number(const struct number *n, const char *s, long long *v)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9' || (*v = strtoll(s, &end, 10), *end))
		return pgr_error("--%s: '%s' is not a number", n->opt, s);
	if (errno || *v < n->min || *v > n->max)
		return pgr_error("--%s: %s is out of range (%lld-%lld)", n->opt, s, n->min, n->max);
	return 0;
}

static int check(const struct migrate_args *a)
{
	struct pgr_uri u;
	char *err = NULL;
	long long v;

	if (a->live && a->offline)
		return pgr_error("--live and --offline are mutually exclusive");
	if (a->all && a->inc)
		return pgr_error("--copy-storage-all and --copy-storage-inc are mutually exclusive");
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (number_text(a, &numbers[i]) && parse_number(&numbers[i], number_text(a, &numbers[i]), &v))
			return 1;
	if (uri_parse(a->dest, &u, &err) < 0) {
		pgr_error("%s", err ? err : "bad destination URI");
		free(err);
		return 1;
	}
	uri_clear(&u);
	return 0;
}

/* domain-migrate's arguments (docs/relocation.md, "API additions"). */
static json_t *request(const struct migrate_args *a)
{
	json_t *args = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "domain", a->dom,
				 "uri", a->dest, "live", a->live, "offline", a->offline,
				 "persistent", a->persistent, "undefinesource", a->undefine,
				 "unsafe", a->unsafe);
	long long v;

	if (args && (a->all || a->inc))
		json_object_set_new(args, "copy_storage", json_string(a->all ? "all" : "inc"));
	for (size_t i = 0; args && i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (number_text(a, &numbers[i]) &&
		    !parse_number(&numbers[i], number_text(a, &numbers[i]), &v))
			json_object_set_new(args, numbers[i].key, json_integer(v));
	return args;
}

/* ---- while it runs ---- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* The second connection: progress, and the abort on Ctrl-C. */
struct watch {
	struct pgr *p;
	const char *dom;
	struct conn *c;
	bool tried, aborted;
	int drawn;                 /* the last percent drawn, -1 before the first */
};

/* @cmd's return on the watch connection (opened on first use); NULL with
 * @e filled, the connection dropped if it failed. */
static json_t *watch_call(struct watch *w, const char *cmd, struct call_error *e)
{
	char *why = NULL;
	json_t *reply;

	memset(e, 0, sizeof(*e));
	snprintf(e->cls, sizeof(e->cls), "Connection");
	if (!w->c && !w->tried) {
		w->tried = true;
		w->c = conn_open(w->p->uri, &why);
		snprintf(e->desc, sizeof(e->desc), "%s", why ? why : "");
		free(why);
		why = NULL;
	}
	if (!w->c)
		return NULL;
	reply = conn_request(w->c, cmd, json_pack("{s:s}", "domain", w->dom), &why);
	if (reply)
		return call_result(reply, e);
	snprintf(e->desc, sizeof(e->desc), "%s", why ? why : "out of memory");
	free(why);
	conn_close(w->c);
	w->c = NULL;
	return NULL;
}

/* What --verbose draws (docs/relocation.md): the daemon's "percent", or
 * the same from the memory figures; -1 while no migration runs. */
static int job_percent(json_t *info)
{
	json_t *pc = json_object_get(info, "percent");
	double done = json_number_value(json_object_get(info, "memory_processed"));
	double left = json_number_value(json_object_get(info, "memory_remaining"));
	int v;

	if (strcmp(json_string_value(json_object_get(info, "type")) ?: "", "unbounded"))
		return -1;
	if (json_is_integer(pc))
		v = (int)json_integer_value(pc);
	else
		v = done + left > 0 ? (int)(100 * done / (done + left)) : 0;
	return v < 0 ? 0 : v > 99 ? 99 : v;
}

static void progress(struct watch *w)
{
	struct call_error e;
	json_t *info = watch_call(w, "domain-job-info", &e);
	int v = info ? job_percent(info) : -1;

	json_decref(info);
	if (v < 0 || v < w->drawn)
		return;
	fprintf(stderr, "\rMigration: [%3d %%]", v);
	fflush(stderr);
	w->drawn = v;
}

static void abort_job(struct watch *w)
{
	struct call_error e;
	json_t *ret = watch_call(w, "domain-job-abort", &e);

	w->aborted = true;
	if (ret)
		json_decref(ret);
	else if (*e.desc)
		pgr_error("failed to abort the migration of domain '%s': %s", w->dom, e.desc);
}

/* The reply to @id on @c, drawing progress and passing on Ctrl-C
 * meanwhile; NULL with the error printed if the connection failed. */
static json_t *wait_reply(struct conn *c, long long id, struct watch *w, bool verbose)
{
	struct sigaction sa = { .sa_handler = on_sigint, .sa_flags = SA_RESETHAND }, old;
	json_t *reply;
	char *why = NULL;

	interrupted = 0;
	sigaction(SIGINT, &sa, &old);
	while (!(reply = conn_wait(c, id, verbose ? POLL_MS : 1000, &why)) && !why) {
		if (interrupted && !w->aborted)
			abort_job(w);
		else if (verbose)
			progress(w);
	}
	sigaction(SIGINT, &old, NULL);
	if (!reply) {
		if (w->drawn >= 0)
			fputc('\n', stderr);
		pgr_error("%s", why);
		free(why);
	}
	return reply;
}

static int migrate(struct pgr *p, const struct migrate_args *a)
{
	struct watch w = { .p = p, .dom = a->dom, .drawn = -1 };
	struct conn *c = pgr_connect(p);
	struct call_error e;
	json_t *reply, *ret;
	char *why = NULL;
	long long id;

	if (!c)
		return 1;
	id = conn_send(c, "domain-migrate", request(a), &why);
	if (id < 0) {
		pgr_error("%s", why ? why : "out of memory");
		free(why);
		return 1;
	}
	reply = wait_reply(c, id, &w, a->verbose);
	conn_close(w.c);
	if (!reply)
		return 1;
	if (!(ret = call_result(reply, &e))) {
		if (w.drawn >= 0)
			fputc('\n', stderr);
		return domain_error("migrate", a->dom, &e);
	}
	json_decref(ret);
	if (a->verbose)
		fputs("\rMigration: [100 %]\n", stderr);
	return 0;
}

int cmd_migrate(struct pgr *p, int argc, char **argv)
{
	struct migrate_args a = { 0 };
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, &a.dom }, { "desturi", ARG_POS, &a.dest },
		{ "live", ARG_FLAG, &a.live }, { "offline", ARG_FLAG, &a.offline },
		{ "persistent", ARG_FLAG, &a.persistent }, { "undefinesource", ARG_FLAG, &a.undefine },
		{ "copy-storage-all", ARG_FLAG, &a.all }, { "copy-storage-inc", ARG_FLAG, &a.inc },
		{ "unsafe", ARG_FLAG, &a.unsafe }, { "verbose", ARG_FLAG, &a.verbose },
		{ "p2p", ARG_FLAG, &a.p2p }, { "tunnelled", ARG_FLAG, &a.tunnelled },
		{ "timeout", ARG_VALUE, &a.timeout }, { "bandwidth", ARG_VALUE, &a.bandwidth },
		{ "max-downtime", ARG_VALUE, &a.downtime },
		{ NULL, 0, NULL },
	};
	int r = parse_args(argc, argv, usage, spec);

	if (r)
		return args_exit(r);
	if (check(&a))
		return 1;
	return migrate(p, &a);
}
