// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-start: `pgr start DOMAIN` and `pgr create FILE` (a transient
 * domain), either optionally --paused or straight into the --console.
 * With --console the domain starts paused, the console attaches, and
 * only then does the guest run: nothing it prints is missed.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char start_usage[] =
"Usage: pgr start DOMAIN [--paused] [--console]\n"
"Start a defined, shut-off domain.\n"
"  --paused    leave it paused (pgr resume runs it)\n"
"  --console   attach to its console from the first byte\n";

/* Started or created (@ret, taken): the console if asked. */
static int launched(struct pgr *p, json_t *ret, bool paused, bool console)
{
	char name[128];

	snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(ret, "name")) ?: "?");
	json_decref(ret);
	fflush(stdout);
	return console ? console_run(p, name, false, !paused) : 0;
}

int cmd_start(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL;
	bool paused = false, console = false;
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, &dom }, { "paused", ARG_FLAG, &paused },
		{ "console", ARG_FLAG, &console }, { NULL, 0, NULL },
	};
	struct call_error e;
	json_t *ret;
	int r = parse_args(argc, argv, start_usage, spec);

	if (r)
		return args_exit(r);
	ret = pgr_call(p, "domain-start", json_pack("{s:s, s:b}", "domain", dom,
						    "paused", paused || console), &e);
	if (!ret)
		return domain_error("start", dom, &e);
	printf("Domain %s started\n\n", json_string_value(json_object_get(ret, "name")));
	return launched(p, ret, paused, console);
}

static const char create_usage[] =
"Usage: pgr create FILE [--paused] [--console]\n"
"Create and start a transient domain from libvirt domain XML (- for stdin):\n"
"it exists while it runs, and is forgotten when it stops.\n"
"  --paused    leave it paused (pgr resume runs it)\n"
"  --console   attach to its console from the first byte\n";

int cmd_create(struct pgr *p, int argc, char **argv)
{
	const char *file = NULL;
	bool paused = false, console = false;
	const struct arg_spec spec[] = {
		{ "file", ARG_POS, &file }, { "paused", ARG_FLAG, &paused },
		{ "console", ARG_FLAG, &console }, { NULL, 0, NULL },
	};
	struct call_error e;
	char *xml;
	json_t *ret;
	int r = parse_args(argc, argv, create_usage, spec);

	if (r)
		return args_exit(r);
	if (!(xml = read_xml_file(file)))
		return 1;
	ret = pgr_call(p, "domain-create", json_pack("{s:s, s:b}", "xml", xml,
						     "paused", paused || console), &e);
	free(xml);
	if (!ret)
		return strcmp(e.cls, "Connection") ?
		       pgr_error("failed to create domain from %s: %s", file, e.desc) : 1;
	printf("Domain %s created from %s\n\n", json_string_value(json_object_get(ret, "name")),
	       file);
	return launched(p, ret, paused, console);
}
