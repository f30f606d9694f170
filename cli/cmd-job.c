// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-job: a domain's job (a migration, a save) — `pgr domjobinfo DOMAIN`
 * prints pgrd's domain-job-info in virsh's table (sizes as virsh's
 * vshPrettyCapacity, "1.234 GiB"; a figure the daemon does not give is
 * left out, as virsh leaves out what libvirt does not know), and `pgr
 * domjobabort DOMAIN` cancels it. Drawing a migration's progress while it
 * runs is cmd-migrate.c's.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* pgrd's words for job types and operations, and virsh's. */
static const char *const job_types[][2] = {
	{ "none", "None" }, { "bounded", "Bounded" }, { "unbounded", "Unbounded" },
	{ "completed", "Completed" }, { "failed", "Failed" }, { "cancelled", "Cancelled" },
};
static const char *const operations[][2] = {
	{ "migration-out", "Outgoing migration" }, { "migration-in", "Incoming migration" },
	{ "save", "Save" }, { "restore", "Restore" }, { "start", "Start" }, { "dump", "Dump" },
};

static const char *virsh_word(const char *const (*table)[2], size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i][0], word))
			return table[i][1];
	return word;
}

/* vshPrettyCapacity: the value in the largest unit it reaches. */
static double pretty(unsigned long long v, const char **unit)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	size_t i = 0;

	while (d >= 1024 && i + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		i++;
	}
	*unit = units[i];
	return d;
}

static bool has(json_t *info, const char *key)
{
	return json_is_integer(json_object_get(info, key));
}

static unsigned long long num(json_t *info, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(info, key));

	return v < 0 ? 0 : (unsigned long long)v;
}

static void size_row(json_t *info, const char *label, const char *key)
{
	const char *unit;
	double v;

	if (!has(info, key))
		return;
	v = pretty(num(info, key), &unit);
	printf("%-17s %.3f %s\n", label, v, unit);
}

/* "%-17s %-12llu UNIT", virsh's layout for counts. */
static void count_row(json_t *info, const char *label, const char *key, const char *unit)
{
	if (has(info, key) && *unit)
		printf("%-17s %-12llu %s\n", label, num(info, key), unit);
	else if (has(info, key))
		printf("%-17s %llu\n", label, num(info, key));
}

static void print_job(json_t *info)
{
	const char *type = json_string_value(json_object_get(info, "type")) ?: "none";
	const char *op = json_string_value(json_object_get(info, "operation"));
	const char *error = json_string_value(json_object_get(info, "error"));

	printf("%-17s %s\n", "Job type:", virsh_word(job_types, N(job_types), type));
	if (!strcmp(type, "none"))
		return;
	if (op)
		printf("%-17s %s\n", "Operation:", virsh_word(operations, N(operations), op));
	count_row(info, "Time elapsed:", "elapsed_ms", "ms");
	size_row(info, "Data processed:", "data_processed");
	size_row(info, "Data remaining:", "data_remaining");
	size_row(info, "Data total:", "data_total");
	size_row(info, "Memory processed:", "memory_processed");
	size_row(info, "Memory remaining:", "memory_remaining");
	size_row(info, "Memory total:", "memory_total");
	count_row(info, "Dirty rate:", "dirty_rate", "pages/s");
	count_row(info, "Iteration:", "iteration", "");
	count_row(info, strcmp(type, "completed") ? "Expected downtime:" : "Total downtime:",
		  "downtime_ms", "ms");
	if (error)
		printf("%-17s %s\n", "Error message:", error);
}

static const char *domain_arg(int argc, char **argv, const char *usage, int *r)
{
	const char *dom = NULL;
	const struct arg_spec spec[] = { { "domain", ARG_POS, &dom }, { NULL, 0, NULL } };

	*r = parse_args(argc, argv, usage, spec);
	return dom;
}

int cmd_domjobinfo(struct pgr *p, int argc, char **argv)
{
	int r;
	const char *dom = domain_arg(argc, argv, "Usage: pgr domjobinfo DOMAIN\n"
				     "The domain's job (a migration or a save) as it runs, or the "
				     "last one's figures.\n", &r);
	struct call_error e;
	json_t *info;

	if (r)
		return args_exit(r);
	info = pgr_call(p, "domain-job-info", json_pack("{s:s}", "domain", dom), &e);
	if (!info)
		return domain_error("get the job information of", dom, &e);
	print_job(info);
	putchar('\n');
	json_decref(info);
	return 0;
}

int cmd_domjobabort(struct pgr *p, int argc, char **argv)
{
	int r;
	const char *dom = domain_arg(argc, argv, "Usage: pgr domjobabort DOMAIN\n"
				     "Cancel the domain's job: a migration fails and the guest "
				     "runs on here.\n", &r);
	struct call_error e;
	json_t *ret;

	if (r)
		return args_exit(r);
	ret = pgr_call(p, "domain-job-abort", json_pack("{s:s}", "domain", dom), &e);
	if (!ret)
		return domain_error("abort the job of", dom, &e);
	json_decref(ret);
	return 0;
}
