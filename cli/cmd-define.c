// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-define: `pgr define FILE`, `pgr undefine DOMAIN`, and the file
 * reading `pgr create FILE` shares. The XML is read here and sent to pgrd,
 * which parses, checks and stores it (warnings come back and are shown).
 */
#include "cli/pgr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX (1 << 20)

/* The file's text (malloc'd), or NULL with the error printed. */
char *read_xml_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = malloc(XML_MAX + 1);
	size_t n = 0;

	if (!f || !buf) {
		pgr_error("failed to read '%s': %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, XML_MAX + 1, f);
	if (ferror(f) || n > XML_MAX) {
		pgr_error("failed to read '%s': %s", path, n > XML_MAX ? "larger than 1 MiB" :
			  strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = 0;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

void print_warnings(json_t *ret)
{
	json_t *w = json_object_get(ret, "warnings");

	for (size_t i = 0; i < json_array_size(w); i++)
		fprintf(stderr, "warning: %s\n", json_string_value(json_array_get(w, i)));
}

static const char define_usage[] =
"Usage: pgr define FILE\n"
"Define (but don't start) a domain from libvirt domain XML (- for stdin).\n"
"Defining a domain of an existing name and UUID replaces its definition.\n";

int cmd_define(struct pgr *p, int argc, char **argv)
{
	const char *file = NULL;
	const struct arg_spec spec[] = { { "file", ARG_POS, &file }, { NULL, 0, NULL } };
	struct call_error e;
	char *xml;
	json_t *ret;
	int r = parse_args(argc, argv, define_usage, spec);

	if (r)
		return args_exit(r);
	if (!(xml = read_xml_file(file)))
		return 1;
	ret = pgr_call(p, "domain-define", json_pack("{s:s}", "xml", xml), &e);
	free(xml);
	if (!ret)
		return strcmp(e.cls, "Connection") ?
		       pgr_error("failed to define domain from %s: %s", file, e.desc) : 1;
	print_warnings(ret);
	printf("Domain %s defined from %s\n\n", json_string_value(json_object_get(ret, "name")), file);
	json_decref(ret);
	return 0;
}

static const char undefine_usage[] =
"Usage: pgr undefine DOMAIN\n"
"Undefine a domain: forget its definition. A running domain runs on as a\n"
"transient one, and disappears when it stops.\n";

int cmd_undefine(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL;
	const struct arg_spec spec[] = { { "domain", ARG_POS, &dom }, { NULL, 0, NULL } };
	struct call_error e;
	json_t *ret;
	int r = parse_args(argc, argv, undefine_usage, spec);

	if (r)
		return args_exit(r);
	ret = pgr_call(p, "domain-undefine", json_pack("{s:s}", "domain", dom), &e);
	if (!ret)
		return domain_error("undefine", dom, &e);
	printf("Domain %s has been undefined\n\n", json_string_value(json_object_get(ret, "name")));
	json_decref(ret);
	return 0;
}
