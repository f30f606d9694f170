// SPDX-License-Identifier: GPL-2.0-only
/*
 * commands: the management API's command table (docs/pgrd.md) — argument
 * checks, domain lookup, definitions and their conflicts. What touches a
 * monitor is handed to lifecycle.c; host facts come from hostinfo.c.
 */
#include "daemon/api.h"

#define LOG_SUBSYS "api"
#include "lib/log.h"
#include "lib/domxml.h"
#include "daemon/console.h"
#include "daemon/domain.h"
#include "daemon/hostinfo.h"
#include "daemon/lifecycle.h"
#include "daemon/migrate.h"
#include "daemon/pgrd.h"
#include "daemon/savefile.h"
#include "daemon/vmm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *arg_str(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static bool arg_bool(json_t *args, const char *key)
{
	return json_is_true(json_object_get(args, key));
}

/* The "domain" argument's domain, or NULL with @call answered. */
static struct domain *get_domain(struct api_call *call, json_t *args)
{
	const char *key = arg_str(args, "domain");
	struct domain *d;

	if (!key) {
		api_fail(call, API_ERR_ARG, "'domain' (a name, id or UUID) is required");
		return NULL;
	}
	d = domain_lookup(api_call_pgrd(call), key);
	if (!d)
		api_fail(call, API_ERR_NO_DOMAIN, "no domain with matching name, id or uuid '%s'", key);
	return d;
}

/* An absolute path argument, or NULL with @call answered. */
static const char *get_path(struct api_call *call, json_t *args, const char *key)
{
	const char *path = arg_str(args, key);

	if (!path || path[0] != '/')
		api_fail(call, API_ERR_ARG, "'%s' must be an absolute path", key);
	return path && path[0] == '/' ? path : NULL;
}

/* Host paths in a definition are the daemon's: relative ones would
 * depend on where pgrd was started. */
static const char *relative_path(const struct vm_config *c)
{
	if (c->kernel && c->kernel[0] != '/')
		return c->kernel;
	if (c->initrd && c->initrd[0] != '/')
		return c->initrd;
	for (int i = 0; i < c->ndisks; i++)
		if (c->disks[i].path[0] != '/')
			return c->disks[i].path;
	return NULL;
}

static json_t *warnings_json(const struct domxml_warning *w, int n)
{
	json_t *list = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(list, json_string(w[i].msg));
	return list;
}

/* Parse the "xml" argument into a malloc'd config; NULL with @call answered. */
static struct vm_config *get_xml(struct api_call *call, json_t *args, json_t **warnings)
{
	const char *xml = arg_str(args, "xml");
	struct vm_config *c = calloc(1, sizeof(*c));
	struct domxml_warning *w = NULL;
	const char *rel;
	char *err = NULL;
	int nw = 0;

	if (!xml || !c) {
		free(c);
		api_fail(call, API_ERR_ARG, "'xml' (the domain XML, as a string) is required");
		return NULL;
	}
	if (domxml_parse(xml, strlen(xml), c, &err, &w, &nw) < 0) {
		api_fail(call, API_ERR_XML, "%s", err ? err : "out of memory");
		free(err);
		free(c);
		return NULL;
	}
	if ((rel = relative_path(c))) {
		api_fail(call, API_ERR_XML, "path '%s' must be absolute", rel);
		vmconfig_clear(c);
		free(c);
		c = NULL;
	}
	if (c && warnings)
		*warnings = warnings_json(w, nw);
	free(w);
	return c;
}

static void config_free(struct vm_config *c)
{
	if (c)
		vmconfig_clear(c);
	free(c);
}

/* Name and UUID must agree with any domain already known by either: 0
 * with *d that domain (NULL if none), or -EEXIST with @call answered. */
static int match_domain(struct api_call *call, const struct vm_config *c, struct domain **d)
{
	struct pgrd *p = api_call_pgrd(call);
	struct domain *by_name = domain_by_name(p, c->name), *by_uuid = domain_by_uuid(p, c->uuid);
	char uuid[37];

	*d = by_name;
	if (by_name && by_name != by_uuid) {
		format_uuid(by_name->uuid, uuid);
		api_fail(call, API_ERR_INVALID, "domain '%s' already exists with uuid %s", c->name, uuid);
		return -EEXIST;
	}
	if (by_uuid && by_uuid != by_name) {
		format_uuid(c->uuid, uuid);
		api_fail(call, API_ERR_INVALID, "domain '%s' already exists with uuid %s",
			 by_uuid->name, uuid);
		return -EEXIST;
	}
	return 0;
}

/* ---- host ---- */

static void cmd_host_info(struct api_call *call, json_t *args)
{
	struct pgrd *p = api_call_pgrd(call);
	json_t *j = hostinfo_json(p->host_uuid);

	if (!j) {
		api_fail(call, API_ERR_FAILED, "out of memory");
		return;
	}
	json_object_set_new(j, "version", json_string(PGR_VERSION));
	json_object_set_new(j, "state_dir", json_string(p->store.dir));
	json_object_set_new(j, "vmm_path", json_string(p->vmm_path));
	api_return(call, j);
}

/* ---- definitions ---- */

static void cmd_list(struct api_call *call, json_t *args)
{
	json_t *list = json_array();

	for (struct domain *d = api_call_pgrd(call)->domains; d; d = d->next)
		json_array_append_new(list, domain_info_json(d));
	api_return(call, list);
}

/* Store @c (taken) as @d's definition; @d is new if NULL. 0 or -errno
 * with @call answered. */
static int define(struct api_call *call, struct domain *d, struct vm_config *c)
{
	bool created = !d;
	char *err = NULL;

	if (created && !(d = domain_add(api_call_pgrd(call), c))) {
		config_free(c);
		api_fail(call, API_ERR_FAILED, "out of memory");
		return -ENOMEM;
	}
	if (domain_save_def(d, c, &err) < 0) {
		api_fail(call, API_ERR_FAILED, "%s", err ? err : "cannot store the definition");
		free(err);
		config_free(c);
		if (created)
			domain_remove(d);
		return -EIO;
	}
	config_free(d->def);
	d->def = c;
	pr_info("%s: defined", d->name);
	return 0;
}

static void cmd_define(struct api_call *call, json_t *args)
{
	json_t *warnings = NULL;
	struct vm_config *c = get_xml(call, args, &warnings);
	struct domain *d;
	char name[VMCONFIG_NAME_MAX], uuid[37];

	if (!c)
		return;
	if (match_domain(call, c, &d) < 0) {
		config_free(c);
	} else {
		strcpy(name, c->name);
		format_uuid(c->uuid, uuid);
		if (define(call, d, c) == 0)
			api_return(call, json_pack("{s:s, s:s, s:O}", "name", name, "uuid", uuid,
						   "warnings", warnings));
	}
	json_decref(warnings);
}

static void cmd_undefine(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);
	json_t *ret;

	if (!d)
		return;
	if (!d->def) {
		api_fail(call, API_ERR_INVALID, "cannot undefine transient domain '%s'", d->name);
		return;
	}
	if (domain_forget_def(d) < 0) {
		api_fail(call, API_ERR_FAILED, "cannot remove the definition of '%s'", d->name);
		return;
	}
	config_free(d->def);
	d->def = NULL;
	ret = json_pack("{s:s}", "name", d->name);
	pr_info("%s: undefined%s", d->name, domain_active(d) ? " (runs on as transient)" : "");
	if (!domain_active(d))
		domain_remove(d);
	api_return(call, ret);
}

/* ---- running ---- */

static void cmd_start(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (!d)
		return;
	if (!d->def)
		api_fail(call, API_ERR_INVALID, "domain is already running");
	else
		lifecycle_start(d, d->def, arg_bool(args, "paused"), call);
}

/* A transient domain from XML, as `virsh create`. */
static void cmd_create(struct api_call *call, json_t *args)
{
	struct vm_config *c = get_xml(call, args, NULL);
	struct domain *d;

	if (!c)
		return;
	if (match_domain(call, c, &d) < 0) {
		config_free(c);
		return;
	}
	if (!d && !(d = domain_add(api_call_pgrd(call), c)))
		api_fail(call, API_ERR_FAILED, "out of memory");
	else
		lifecycle_start(d, c, arg_bool(args, "paused"), call);
	config_free(c);
}

static void cmd_shutdown(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		lifecycle_shutdown(d, call);
}

static void cmd_destroy(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		lifecycle_destroy(d, call);
}

static void cmd_suspend(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		lifecycle_suspend(d, call);
}

static void cmd_resume(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		lifecycle_resume(d, call);
}

static void cmd_save(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);
	const char *file = d ? get_path(call, args, "file") : NULL;

	if (file)
		lifecycle_save(d, file, arg_bool(args, "checkpoint"), call);
}

/* The definition comes from the file; a domain of that name and UUID is
 * restored into, any other is a conflict. */
static void cmd_restore(struct api_call *call, json_t *args)
{
	const char *file = get_path(call, args, "file");
	struct vm_config *c = file ? calloc(1, sizeof(*c)) : NULL;
	struct domain *d = NULL;
	char *err = NULL;

	if (file && !c)
		api_fail(call, API_ERR_FAILED, "out of memory");
	if (!c)
		return;
	if (savefile_read_definition(file, c, &err) < 0) {
		api_fail(call, API_ERR_FAILED, "%s", err ? err : "cannot read the save file");
		free(err);
		free(c);
		return;
	}
	if (match_domain(call, c, &d) < 0) {
		config_free(c);
	} else if (d && domain_active(d)) {
		api_fail(call, API_ERR_INVALID, "domain '%s' is already active", d->name);
		config_free(c);
	} else if (!d && !(d = domain_add(api_call_pgrd(call), c))) {
		api_fail(call, API_ERR_FAILED, "out of memory");
		config_free(c);
	} else {
		lifecycle_restore(d, c, file, arg_bool(args, "paused"), arg_bool(args, "lazy"), call);
	}
}

/* ---- looking ---- */

static void cmd_get_xml(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);
	const struct vm_config *c;
	char *xml;

	if (!d)
		return;
	c = arg_bool(args, "inactive") && d->def ? d->def : d->live ? d->live : d->def;
	xml = domxml_format(c);
	if (!xml) {
		api_fail(call, API_ERR_FAILED, "cannot format the definition: %s", strerror(errno));
		return;
	}
	api_return(call, json_pack("{s:s}", "xml", xml));
	free(xml);
}

static void cmd_info(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		api_return(call, domain_info_json(d));
}

static void cmd_console(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);
	bool force = arg_bool(args, "force");
	char *first = NULL, *input = NULL;
	size_t first_len, input_len;
	int fd;

	if (!d)
		return;
	if (!domain_active(d) || !d->vmm->con) {
		api_fail(call, API_ERR_INVALID, "domain is not running");
		return;
	}
	if (console_busy(d->vmm->con) && !force) {
		api_fail(call, API_ERR_BUSY, "Active console session exists for this domain");
		return;
	}
	if (api_call_hijack(call, &fd, &first, &first_len, &input, &input_len) < 0)
		return;
	if (console_attach(d->vmm->con, fd, first, first_len, input, input_len, force) < 0)
		close(fd);
	free(first);
	free(input);
}

/* ---- between hosts (migrate.c, docs/relocation.md) ---- */

static void cmd_migrate(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		migrate_out(d, args, call);
}

static void cmd_job_info(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		migrate_job_info(d, call);
}

static void cmd_job_abort(struct api_call *call, json_t *args)
{
	struct domain *d = get_domain(call, args);

	if (d)
		migrate_job_abort(d, call);
}

/* Another host offers a domain. Name and UUID conflicts are refused here,
 * the rest in migrate.c. */
static void cmd_migrate_prepare(struct api_call *call, json_t *args)
{
	struct vm_config *c = get_xml(call, args, NULL);
	struct domain *d;

	if (!c)
		return;
	if (match_domain(call, c, &d) < 0)
		config_free(c);
	else
		migrate_in_prepare(call, d, c, args);
}

const struct api_command api_commands[] = {
	{ "host-info", cmd_host_info },
	{ "domain-list", cmd_list },
	{ "domain-define", cmd_define },
	{ "domain-undefine", cmd_undefine },
	{ "domain-create", cmd_create },
	{ "domain-start", cmd_start },
	{ "domain-shutdown", cmd_shutdown },
	{ "domain-destroy", cmd_destroy },
	{ "domain-suspend", cmd_suspend },
	{ "domain-resume", cmd_resume },
	{ "domain-save", cmd_save },
	{ "domain-restore", cmd_restore },
	{ "domain-get-xml", cmd_get_xml },
	{ "domain-info", cmd_info },
	{ "domain-console", cmd_console },
	{ "domain-migrate", cmd_migrate },
	{ "domain-job-info", cmd_job_info },
	{ "domain-job-abort", cmd_job_abort },
	{ "migrate-prepare", cmd_migrate_prepare },
	{ NULL, NULL },
};
