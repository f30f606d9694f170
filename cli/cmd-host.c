// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-host: about the host rather than a domain — nodeinfo and sysinfo in
 * virsh's layouts (sysinfo carries pgrd's host UUID, the one migration
 * compares), hostname, uri, version.
 */
#include "cli/pgr.h"

#include "lib/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *host_info(struct pgr *p, int argc, char **argv, const char *usage, int *exit)
{
	const struct arg_spec spec[] = { { NULL, 0, NULL } };
	struct call_error e;
	json_t *info;
	int r = parse_args(argc, argv, usage, spec);

	*exit = r ? args_exit(r) : 0;
	if (r)
		return NULL;
	info = pgr_call(p, "host-info", NULL, &e);
	if (!info)
		*exit = strcmp(e.cls, "Connection") ? pgr_error("failed to get host information: %s",
								e.desc) : 1;
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

int cmd_nodeinfo(struct pgr *p, int argc, char **argv)
{
	int exit;
	json_t *i = host_info(p, argc, argv, "Usage: pgr nodeinfo\nThe host's CPUs and memory.\n",
			      &exit);

	if (!i)
		return exit;
	printf("%-20s %s\n%-20s %lld\n%-20s %lld MHz\n%-20s %lld\n%-20s %lld\n%-20s %lld\n"
	       "%-20s %lld\n%-20s %lld KiB\n\n",
	       "CPU model:", str(i, "arch"), "CPU(s):", num(i, "cpus"),
	       "CPU frequency:", num(i, "mhz"), "CPU socket(s):", num(i, "sockets"),
	       "Core(s) per socket:", num(i, "cores"), "Thread(s) per core:", num(i, "threads"),
	       "NUMA cell(s):", num(i, "numa_cells"), "Memory size:", num(i, "memory_kib"));
	json_decref(i);
	return 0;
}

static void xml_text(const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", stdout);
		else if (*s == '>')
			fputs("&gt;", stdout);
		else if (*s == '&')
			fputs("&amp;", stdout);
		else
			putchar(*s);
	}
}

static void entry(const char *name, const char *value)
{
	printf("    <entry name='%s'>", name);
	xml_text(value);
	printf("</entry>\n");
}

static void system_block(json_t *i)
{
	static const char *const keys[] = { "manufacturer", "product", "version", "serial" };
	json_t *smbios = json_object_get(i, "smbios");

	printf("  <system>\n");
	for (size_t k = 0; k < 4; k++)
		if (json_object_get(smbios, keys[k]))
			entry(keys[k], str(smbios, keys[k]));
	entry("uuid", str(i, "host_uuid"));
	if (json_object_get(smbios, "sku"))
		entry("sku", str(smbios, "sku"));
	if (json_object_get(smbios, "family"))
		entry("family", str(smbios, "family"));
	printf("  </system>\n");
}

int cmd_sysinfo(struct pgr *p, int argc, char **argv)
{
	int exit;
	char mhz[32];
	json_t *i = host_info(p, argc, argv, "Usage: pgr sysinfo\nThe host's system information "
			      "(SMBIOS) and the host UUID pgrd uses.\n", &exit);

	if (!i)
		return exit;
	printf("<sysinfo type='smbios'>\n");
	system_block(i);
	printf("  <processor>\n");
	entry("version", str(i, "model"));
	snprintf(mhz, sizeof(mhz), "%lld MHz", num(i, "mhz"));
	entry("max_speed", mhz);
	printf("  </processor>\n</sysinfo>\n\n");
	json_decref(i);
	return 0;
}

int cmd_hostname(struct pgr *p, int argc, char **argv)
{
	int exit;
	json_t *i = host_info(p, argc, argv, "Usage: pgr hostname\nThe host's name.\n", &exit);

	if (!i)
		return exit;
	printf("%s\n\n", str(i, "hostname"));
	json_decref(i);
	return 0;
}

int cmd_uri(struct pgr *p, int argc, char **argv)
{
	const struct arg_spec spec[] = { { NULL, 0, NULL } };
	int r = parse_args(argc, argv, "Usage: pgr uri\nThe connection URI in use, canonical "
			   "(-c, else $PGR_DEFAULT_URI, else pgr:///system).\n", spec);
	struct pgr_uri u = { 0 };
	char *canon;
	json_t *i;
	struct call_error e;

	if (r)
		return args_exit(r);
	if (!(i = pgr_call(p, "host-info", NULL, &e)))
		return 1;                  /* connecting proves the URI works */
	json_decref(i);
	if (!p->uri || uri_parse(p->uri, &u, NULL) < 0)
		canon = strdup("pgr:///system");
	else
		canon = uri_format(&u);
	uri_clear(&u);
	if (!canon)
		return pgr_error("out of memory");
	printf("%s\n\n", canon);
	free(canon);
	return 0;
}

int cmd_version(struct pgr *p, int argc, char **argv)
{
	const struct arg_spec spec[] = { { NULL, 0, NULL } };
	int r = parse_args(argc, argv, "Usage: pgr version\nVersions of pgr and of the pgrd "
			   "it talks to.\n", spec);
	struct call_error e;
	json_t *i;

	if (r)
		return args_exit(r);
	printf("Compiled against pgr %s\n", PGR_VERSION);
	if (!(i = pgr_call(p, "host-info", NULL, &e)))
		return 1;
	printf("Running against pgrd %s on %s\n\n", str(i, "version"), str(i, "hostname"));
	json_decref(i);
	return 0;
}
