// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd-save: `pgr save DOMAIN FILE [--checkpoint]` and `pgr restore FILE
 * [--paused] [--lazy]`, as virsh save/restore and xm save -c. The file is on
 * pgrd's host: a relative name is made absolute here, where the user
 * typed it. The save file holds the definition too, so restore needs
 * nothing else.
 */
#include "cli/pgr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char save_usage[] =
"Usage: pgr save DOMAIN FILE [--checkpoint]\n"
"Save the domain's memory and device state to FILE and stop it.\n"
"  --checkpoint   keep it running (as xm save -c): FILE is a checkpoint\n";

int cmd_save(struct pgr *p, int argc, char **argv)
{
	const char *dom = NULL, *file = NULL;
	bool checkpoint = false;
	const struct arg_spec spec[] = {
		{ "domain", ARG_POS, &dom }, { "file", ARG_POS, &file },
		{ "checkpoint", ARG_FLAG, &checkpoint }, { NULL, 0, NULL },
	};
	struct call_error e;
	char *abs;
	json_t *ret;
	int r = parse_args(argc, argv, save_usage, spec);

	if (r)
		return args_exit(r);
	if (!(abs = absolute_path(file)))
		return pgr_error("%s: cannot make an absolute path", file);
	ret = pgr_call(p, "domain-save", json_pack("{s:s, s:s, s:b}", "domain", dom, "file", abs,
						   "checkpoint", checkpoint), &e);
	free(abs);
	if (!ret)
		return domain_error("save", dom, &e);
	printf("\nDomain %s saved to %s\n\n", json_string_value(json_object_get(ret, "name")), file);
	json_decref(ret);
	return 0;
}

static const char restore_usage[] =
"Usage: pgr restore FILE [--paused] [--lazy]\n"
"Restore a domain from a file written by pgr save; it continues where it\n"
"was saved.\n"
"  --paused   leave it paused (pgr resume runs it)\n"
"  --lazy     run it before its memory is read: each part is checked when\n"
"             first used, the rest right after; disk and network wait until\n"
"             all of it is. Returns once it all checked out; a damaged file\n"
"             still fails the restore, with nothing written by the guest\n";

int cmd_restore(struct pgr *p, int argc, char **argv)
{
	const char *file = NULL;
	bool paused = false, lazy = false;
	const struct arg_spec spec[] = {
		{ "file", ARG_POS, &file }, { "paused", ARG_FLAG, &paused },
		{ "lazy", ARG_FLAG, &lazy }, { NULL, 0, NULL },
	};
	struct call_error e;
	char *abs;
	json_t *ret;
	int r = parse_args(argc, argv, restore_usage, spec);

	if (r)
		return args_exit(r);
	if (!(abs = absolute_path(file)))
		return pgr_error("%s: cannot make an absolute path", file);
	ret = pgr_call(p, "domain-restore", json_pack("{s:s, s:b, s:b}", "file", abs, "paused", paused,
						      "lazy", lazy), &e);
	free(abs);
	if (!ret)
		return e.cls[0] && strcmp(e.cls, "Connection") ?
		       pgr_error("failed to restore domain from %s: %s", file, e.desc) : 1;
	printf("Domain restored from %s\n\n", file);
	json_decref(ret);
	return 0;
}
