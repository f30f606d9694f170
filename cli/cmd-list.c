// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-list: `pgr list` — virsh's table of domains: running ones by id,
 * then the others by name; or just names or UUIDs.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
"Usage: pgr list [--all | --inactive] [--persistent] [--transient] [--name | --uuid]\n"
"List domains: the running ones, or with --all every one, --inactive the\n"
"shut-off ones. --name and --uuid print only that, one per line.\n";

struct filter {
	bool all, inactive, persistent, transient, name, uuid;
};

static bool wanted(const struct filter *f, json_t *d)
{
	bool active = json_integer_value(json_object_get(d, "id")) > 0;
	bool persistent = json_is_true(json_object_get(d, "persistent"));

	if (f->inactive ? active : !active && !f->all)
		return false;
	if (f->persistent && !persistent)
		return false;
	return !f->transient || !persistent;
}

/* Running first by id, then the rest by name. */
static int by_id_then_name(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t ix = json_integer_value(json_object_get(x, "id"));
	json_int_t iy = json_integer_value(json_object_get(y, "id"));

	if ((ix > 0) != (iy > 0))
		return ix > 0 ? -1 : 1;
	if (ix > 0 && ix != iy)
		return ix < iy ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "name")),
		      json_string_value(json_object_get(y, "name")));
}

static const char *field(json_t *d, const char *key)
{
	return json_string_value(json_object_get(d, key)) ?: "";
}

static void print_table(json_t **rows, size_t n)
{
	int wid = 2, wname = 4, wstate = 5, total;
	char id[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(rows[i], "id")));
		wid = (int)strlen(id) > wid ? (int)strlen(id) : wid;
		wname = (int)strlen(field(rows[i], "name")) > wname ? (int)strlen(field(rows[i], "name")) : wname;
		wstate = (int)strlen(field(rows[i], "state")) > wstate ? (int)strlen(field(rows[i], "state")) : wstate;
	}
	total = 1 + wid + 3 + wname + 3 + wstate + 1;
	printf(" %-*s   %-*s   %s\n", wid, "Id", wname, "Name", "State");
	for (int i = 0; i < total; i++)
		putchar('-');
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		json_int_t v = json_integer_value(json_object_get(rows[i], "id"));

		snprintf(id, sizeof(id), v > 0 ? "%lld" : "-", (long long)v);
		printf(" %-*s   %-*s   %s\n", wid, id, wname, field(rows[i], "name"),
		       field(rows[i], "state"));
	}
	putchar('\n');
}

int cmd_list(struct pgr *p, int argc, char **argv)
{
	struct filter f = { 0 };
	const struct arg_spec spec[] = {
		{ "all", ARG_FLAG, &f.all }, { "inactive", ARG_FLAG, &f.inactive },
		{ "persistent", ARG_FLAG, &f.persistent }, { "transient", ARG_FLAG, &f.transient },
		{ "name", ARG_FLAG, &f.name }, { "uuid", ARG_FLAG, &f.uuid }, { NULL, 0, NULL },
	};
	struct call_error e;
	json_t *list, **rows;
	size_t n = 0;
	int r = parse_args(argc, argv, usage, spec);

	if (r)
		return args_exit(r);
	if (!(list = pgr_call(p, "domain-list", NULL, &e)))
		return strcmp(e.cls, "Connection") ? pgr_error("failed to list domains: %s", e.desc) : 1;
	rows = calloc(json_array_size(list) + 1, sizeof(*rows));
	for (size_t i = 0; rows && i < json_array_size(list); i++)
		if (wanted(&f, json_array_get(list, i)))
			rows[n++] = json_array_get(list, i);
	qsort(rows, n, sizeof(*rows), by_id_then_name);
	if (f.name || f.uuid)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", field(rows[i], f.name ? "name" : "uuid"));
	else
		print_table(rows, n);
	free(rows);
	json_decref(list);
	return 0;
}
