// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgr: the command line, as virsh — `pgr [-c URI] COMMAND [ARGS]`. This
 * file is the table of commands and the global options; each command
 * lives in a cmd-*.c, parses its own arguments, prints its usage on
 * misuse and returns 0 or 1. See docs/pgr.md.
 */
#include "cli/pgr.h"

#include "cli/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_help(struct pgr *p, int argc, char **argv);

const struct pgr_command pgr_commands[] = {
	{ "list", cmd_list, "list domains" },
	{ "define", cmd_define, "define (but don't start) a domain from an XML file" },
	{ "undefine", cmd_undefine, "undefine a domain" },
	{ "start", cmd_start, "start a (previously defined) inactive domain" },
	{ "create", cmd_create, "create (start) a transient domain from an XML file" },
	{ "shutdown", cmd_shutdown, "gracefully shutdown a domain (power button)" },
	{ "destroy", cmd_destroy, "destroy (stop) a domain" },
	{ "suspend", cmd_suspend, "suspend (pause) a domain" },
	{ "resume", cmd_resume, "resume a suspended domain" },
	{ "dumpxml", cmd_dumpxml, "domain information in XML" },
	{ "dominfo", cmd_dominfo, "domain information" },
	{ "domstate", cmd_domstate, "domain state" },
	{ "domid", cmd_domid, "convert a domain name or UUID to domain id" },
	{ "domname", cmd_domname, "convert a domain id or UUID to domain name" },
	{ "domuuid", cmd_domuuid, "convert a domain name or id to domain UUID" },
	{ "console", cmd_console, "connect to the guest console" },
	{ "save", cmd_save, "save a domain state to a file" },
	{ "restore", cmd_restore, "restore a domain from a saved state in a file" },
	{ "migrate", cmd_migrate, "migrate a domain to another host" },
	{ "domjobinfo", cmd_domjobinfo, "domain job information" },
	{ "domjobabort", cmd_domjobabort, "abort the domain's job (a migration or save)" },
	{ "sysinfo", cmd_sysinfo, "print the host's system information and UUID" },
	{ "nodeinfo", cmd_nodeinfo, "node information" },
	{ "hostname", cmd_hostname, "print the host's name" },
	{ "uri", cmd_uri, "print the connection URI" },
	{ "version", cmd_version, "show version" },
	{ "tunnel", cmd_tunnel, "relay stdin/stdout to the local pgrd (what ssh runs)" },
	{ "help", cmd_help, "print help" },
	{ NULL, NULL, NULL },
};

static const char usage_head[] =
"Usage: pgr [-c URI] COMMAND [ARGS...]\n"
"Manage Peregrine domains through pgrd, as virsh does libvirt's.\n"
"\n"
"  -c, --connect URI   pgr:///system (default; $PGR_SOCKET overrides its\n"
"                      socket), pgr+unix:///PATH, pgr+tcp://HOST[:PORT]/,\n"
"                      pgr+ssh://[USER@]HOST[:PORT]/[SOCKET]; without -c,\n"
"                      $PGR_DEFAULT_URI if set\n"
"  -h, --help          this text; `pgr COMMAND --help` for a command's\n"
"  -v, --version       pgr's version\n"
"\n"
"Commands:\n";

static void print_usage(FILE *f)
{
	fputs(usage_head, f);
	for (const struct pgr_command *c = pgr_commands; c->name; c++)
		fprintf(f, "    %-12s %s\n", c->name, c->summary);
}

static const struct pgr_command *find_command(const char *name)
{
	for (const struct pgr_command *c = pgr_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int cmd_help(struct pgr *p, int argc, char **argv)
{
	static const char usage[] = "Usage: pgr help [COMMAND]\n";
	const char *name = NULL;
	const struct arg_spec spec[] = { { "command", ARG_POS_OPT, &name }, { NULL, 0, NULL } };
	const struct pgr_command *c;
	int r = parse_args(argc, argv, usage, spec);

	if (r)
		return args_exit(r);
	if (!name) {
		print_usage(stdout);
		return 0;
	}
	if (!(c = find_command(name)))
		return pgr_error("command '%s' doesn't exist", name);
	return c->fn(p, 2, (char *[]){ (char *)name, "--help", NULL });
}

/* Global options end at the first word that is not one. */
static int global_options(struct pgr *p, int argc, char **argv, int *i)
{
	for (*i = 1; *i < argc && argv[*i][0] == '-'; ++*i) {
		const char *a = argv[*i];

		if (!strcmp(a, "-c") || !strcmp(a, "--connect")) {
			if (++*i >= argc)
				return pgr_error("option '%s' needs a URI", a);
			p->uri = argv[*i];
		} else if (!strncmp(a, "--connect=", 10)) {
			p->uri = a + 10;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout);
			exit(0);
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("%s\n", PGR_VERSION);
			exit(0);
		} else {
			fprintf(stderr, "error: unknown option '%s'\n", a);
			print_usage(stderr);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pgr p = { 0 };
	const struct pgr_command *c;
	int i, r;

	if (global_options(&p, argc, argv, &i))
		return 1;
	if (!p.uri && getenv("PGR_DEFAULT_URI") && *getenv("PGR_DEFAULT_URI"))
		p.uri = getenv("PGR_DEFAULT_URI");
	if (i >= argc) {
		print_usage(stderr);
		return 1;
	}
	c = find_command(argv[i]);
	if (!c)
		return pgr_error("unknown command: '%s' (see pgr help)", argv[i]);
	r = c->fn(&p, argc - i, argv + i);
	conn_close(p.conn);
	return r ? 1 : 0;
}
