// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-control: the one-call domain commands — shutdown (the power
 * button), destroy, suspend, resume — as rows of a table: the pgrd call,
 * the verb for errors, and what virsh says when it is done.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <string.h>

struct control {
	const char *name, *call, *verb, *done, *help;
};

static const struct control controls[] = {
	{ "shutdown", "domain-shutdown", "shutdown", "is being shutdown",
	  "Press the domain's power button: the guest decides whether to power off.\n" },
	{ "destroy", "domain-destroy", "destroy", "destroyed",
	  "Stop the domain at once, as pulling its plug (its definition stays).\n" },
	{ "suspend", "domain-suspend", "suspend", "suspended",
	  "Pause the domain's vCPUs; it keeps its memory. pgr resume continues it.\n" },
	{ "resume", "domain-resume", "resume", "resumed",
	  "Continue a suspended (paused) domain.\n" },
};

static int run_control(struct pgr *p, const struct control *c, int argc, char **argv)
{
	const char *dom = NULL;
	const struct arg_spec spec[] = { { "domain", ARG_POS, &dom }, { NULL, 0, NULL } };
	char usage[256];
	struct call_error e;
	json_t *ret;
	int r;

	snprintf(usage, sizeof(usage), "Usage: pgr %s DOMAIN\n%s", c->name, c->help);
	r = parse_args(argc, argv, usage, spec);
	if (r)
		return args_exit(r);
	ret = pgr_call(p, c->call, json_pack("{s:s}", "domain", dom), &e);
	if (!ret)
		return domain_error(c->verb, dom, &e);
	printf("Domain %s %s\n\n", json_string_value(json_object_get(ret, "name")), c->done);
	json_decref(ret);
	return 0;
}

static int by_name(struct pgr *p, const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++)
		if (!strcmp(controls[i].name, name))
			return run_control(p, &controls[i], argc, argv);
	return 1;
}

int cmd_shutdown(struct pgr *p, int argc, char **argv)
{
	return by_name(p, "shutdown", argc, argv);
}

int cmd_destroy(struct pgr *p, int argc, char **argv)
{
	return by_name(p, "destroy", argc, argv);
}

int cmd_suspend(struct pgr *p, int argc, char **argv)
{
	return by_name(p, "suspend", argc, argv);
}

int cmd_resume(struct pgr *p, int argc, char **argv)
{
	return by_name(p, "resume", argc, argv);
}
