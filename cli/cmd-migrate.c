// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-migrate: `pgr migrate [OPTIONS] DOMAIN DESTURI`, with virsh's
 * options. The relocation server that receives migrations comes next: for
 * now the arguments are checked (so scripts can be written against them)
 * and the command says it is not supported yet.
 */
#include "cli/pgr.h"

#include "lib/uri.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
"Usage: pgr migrate [--live | --offline] [--persistent] [--undefinesource]\n"
"                   [--copy-storage-all | --copy-storage-inc] [--verbose]\n"
"                   [--timeout SECONDS] [--bandwidth MiB/s] [--max-downtime MS]\n"
"                   DOMAIN DESTURI\n"
"Migrate a domain to another host (DESTURI: pgr+tcp://HOST[:PORT]/,\n"
"pgr+ssh://[USER@]HOST/, or HOST[:PORT]). Not supported yet.\n";

struct migrate_args {
	const char *dom, *dest, *timeout, *bandwidth, *downtime;
	bool live, offline, persistent, undefine, all, inc, verbose;
};

static int check_number(const char *opt, const char *v)
{
	char *end;

	if (v && (strtoul(v, &end, 10), !*v || *end))
		return pgr_error("--%s: '%s' is not a number", opt, v);
	return 0;
}

static int check(const struct migrate_args *a)
{
	struct pgr_uri u;
	char *err = NULL;

	if (a->live && a->offline)
		return pgr_error("--live and --offline are mutually exclusive");
	if (a->all && a->inc)
		return pgr_error("--copy-storage-all and --copy-storage-inc are mutually exclusive");
	if (check_number("timeout", a->timeout) || check_number("bandwidth", a->bandwidth) ||
	    check_number("max-downtime", a->downtime))
		return 1;
	if (uri_parse(a->dest, &u, &err) < 0) {
		pgr_error("%s", err ? err : "bad destination URI");
		free(err);
		return 1;
	}
	uri_clear(&u);
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
		{ "verbose", ARG_FLAG, &a.verbose }, { "timeout", ARG_VALUE, &a.timeout },
		{ "bandwidth", ARG_VALUE, &a.bandwidth }, { "max-downtime", ARG_VALUE, &a.downtime },
		{ NULL, 0, NULL },
	};
	int r = parse_args(argc, argv, usage, spec);

	if (r)
		return args_exit(r);
	if (check(&a))
		return 1;
	return pgr_error("failed to migrate domain '%s': migration is not supported yet "
			 "(the relocation server comes next)", a.dom);
}
