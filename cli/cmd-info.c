// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-info: looking at one domain — dumpxml, dominfo, domstate, and the
 * name/id/UUID converters domid, domname, domuuid — in virsh's layouts.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <string.h>

/* domain-info for the DOMAIN argument of a command with no other options
 * but @flag (may be NULL). NULL with the error printed or *exit set. */
static json_t *info_of(struct pgr *p, int argc, char **argv, const char *usage,
		       const char *flag, bool *flag_set, const char **dom, int *exit)
{
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, dom }, { flag, ARG_FLAG, flag_set }, { NULL, 0, NULL },
	};                        /* without @flag, the list ends at spec[1] */
	struct call_error e;
	json_t *info;
	int r = parse_args(argc, argv, usage, spec);

	*exit = 0;
	if (r) {
		*exit = args_exit(r);
		return NULL;
	}
	info = pgr_call(p, "domain-info", json_pack("{s:s}", "domain", *dom), &e);
	if (!info)
		*exit = domain_error("get information about", *dom, &e);
	return info;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char dominfo_usage[] = "Usage: pgr dominfo DOMAIN\nBasic information about a domain.\n";

int cmd_dominfo(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL;
	int exit;
	json_t *i = info_of(p, argc, argv, dominfo_usage, NULL, NULL, &dom, &exit);
	char id[24] = "-";

	if (!i)
		return exit;
	if (num(i, "id") > 0)
		snprintf(id, sizeof(id), "%lld", num(i, "id"));
	printf("%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %lld\n",
	       "Id:", id, "Name:", str(i, "name"), "UUID:", str(i, "uuid"),
	       "OS Type:", str(i, "os_type"), "State:", str(i, "state"), "CPU(s):", num(i, "cpus"));
	if (json_object_get(i, "cpu_time_ns"))
		printf("%-15s %.1fs\n", "CPU time:", num(i, "cpu_time_ns") / 1e9);
	printf("%-15s %lld KiB\n%-15s %lld KiB\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n\n",
	       "Max memory:", num(i, "max_memory_kib"), "Used memory:", num(i, "memory_kib"),
	       "Persistent:", json_is_true(json_object_get(i, "persistent")) ? "yes" : "no",
	       "Autostart:", json_is_true(json_object_get(i, "autostart")) ? "enable" : "disable",
	       "Managed save:", "no", "Security model:", "none", "Security DOI:", "0");
	json_decref(i);
	return 0;
}

static const char domstate_usage[] =
"Usage: pgr domstate DOMAIN [--reason]\n"
"The domain's state: running, paused, in shutdown, shut off or crashed;\n"
"with --reason, why (booted, user, destroyed, crashed, saved...).\n";

int cmd_domstate(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL;
	bool reason = false;
	int exit;
	json_t *i = info_of(p, argc, argv, domstate_usage, "reason", &reason, &dom, &exit);

	if (!i)
		return exit;
	if (reason)
		printf("%s (%s)\n\n", str(i, "state"), str(i, "reason"));
	else
		printf("%s\n\n", str(i, "state"));
	json_decref(i);
	return 0;
}

static int convert(struct pgr *p, int argc, char **argv, const char *what)
{
	char usage[160];
	const char *dom = NULL;
	int exit;
	json_t *i;

	snprintf(usage, sizeof(usage), "Usage: pgr %s DOMAIN\nThe domain's %s; DOMAIN is a name, "
		 "an id or a UUID.\n", argv[0], what);
	if (!(i = info_of(p, argc, argv, usage, NULL, NULL, &dom, &exit)))
		return exit;
	if (!strcmp(what, "id") && num(i, "id") > 0)
		printf("%lld\n\n", num(i, "id"));
	else if (!strcmp(what, "id"))
		printf("-\n\n");
	else
		printf("%s\n\n", str(i, what));
	json_decref(i);
	return 0;
}

int cmd_domid(struct pgr *p, int argc, char **argv)
{
	return convert(p, argc, argv, "id");
}

int cmd_domname(struct pgr *p, int argc, char **argv)
{
	return convert(p, argc, argv, "name");
}

int cmd_domuuid(struct pgr *p, int argc, char **argv)
{
	return convert(p, argc, argv, "uuid");
}

static const char dumpxml_usage[] =
"Usage: pgr dumpxml DOMAIN [--inactive]\n"
"The domain's definition as libvirt domain XML: what it runs with, or with\n"
"--inactive what it will start with next.\n";

int cmd_dumpxml(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL, *xml;
	bool inactive = false;
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, &dom }, { "inactive", ARG_FLAG, &inactive }, { NULL, 0, NULL },
	};
	struct call_error e;
	json_t *ret;
	int r = parse_args(argc, argv, dumpxml_usage, spec);

	if (r)
		return args_exit(r);
	ret = pgr_call(p, "domain-get-xml", json_pack("{s:s, s:b}", "domain", dom,
						      "inactive", inactive), &e);
	if (!ret)
		return domain_error("get the XML of", dom, &e);
	xml = str(ret, "xml");
	fputs(xml, stdout);
	if (*xml && xml[strlen(xml) - 1] != '\n')
		putchar('\n');
	json_decref(ret);
	return 0;
}
