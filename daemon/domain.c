// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain: the table, the state machine and the files of each domain (see
 * domain.h). Adoption of running monitors at start-up is handed to
 * lifecycle.c once the records are read.
 */
#include "daemon/domain.h"

#define LOG_SUBSYS "domain"
#include "lib/log.h"
#include "lib/domxml.h"
#include "daemon/lifecycle.h"
#include "daemon/migrate.h"
#include "daemon/pgrd.h"
#include "daemon/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const dom_state_names[DOM__NR_STATES] = {
	[DOM_SHUTOFF] = "shut off", [DOM_RUNNING] = "running", [DOM_PAUSED] = "paused",
	[DOM_SHUTDOWN] = "in shutdown", [DOM_CRASHED] = "crashed",
};

const char *const dom_reason_names[R__NR] = {
	[R_UNKNOWN] = "unknown", [R_BOOTED] = "booted", [R_UNPAUSED] = "unpaused",
	[R_RESTORED] = "restored", [R_USER] = "user", [R_STARTING_UP] = "starting up",
	[R_SAVING] = "saving", [R_MIGRATING] = "migrating", [R_SHUTDOWN] = "shutdown",
	[R_DESTROYED] = "destroyed", [R_CRASHED] = "crashed", [R_SAVED] = "saved",
	[R_FAILED] = "failed", [R_INTERNAL_ERROR] = "internal error", [R_MIGRATED] = "migrated",
};

/* allowed[from]: the states reachable from @from (staying put, with a new
 * reason, is always allowed). */
#define S(x) (1u << (x))
static const unsigned int allowed[DOM__NR_STATES] = {
	[DOM_SHUTOFF] = S(DOM_RUNNING) | S(DOM_PAUSED),
	[DOM_RUNNING] = S(DOM_PAUSED) | S(DOM_SHUTDOWN) | S(DOM_SHUTOFF) | S(DOM_CRASHED),
	[DOM_PAUSED] = S(DOM_RUNNING) | S(DOM_SHUTDOWN) | S(DOM_SHUTOFF) | S(DOM_CRASHED),
	[DOM_SHUTDOWN] = S(DOM_SHUTOFF),
	[DOM_CRASHED] = S(DOM_SHUTOFF) | S(DOM_SHUTDOWN),
};
#undef S

int domain_set_state(struct domain *d, enum dom_state s, enum dom_reason r)
{
	enum dom_state from = d->state;

	if (from != s && !(allowed[from] & (1u << s))) {
		pr_err("%s: illegal state change %s -> %s (%s)", d->name, dom_state_names[from],
		       dom_state_names[s], dom_reason_names[r]);
		return -EINVAL;
	}
	if (from == s && d->reason == r)
		return 0;
	d->state = s;
	d->reason = r;
	pr_info("%s: %s (%s)%s%s", d->name, dom_state_names[s], dom_reason_names[r],
		from != s ? ", was " : "", from != s ? dom_state_names[from] : "");
	if (domain_active(d))
		domain_save_run(d, false);
	return 0;
}

/* ---- the table ---- */

struct domain *domain_by_name(struct pgrd *p, const char *name)
{
	for (struct domain *d = p->domains; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

struct domain *domain_by_uuid(struct pgrd *p, const uint8_t uuid[16])
{
	for (struct domain *d = p->domains; d; d = d->next)
		if (!memcmp(d->uuid, uuid, 16))
			return d;
	return NULL;
}

struct domain *domain_lookup(struct pgrd *p, const char *key)
{
	uint8_t uuid[16];
	struct domain *d;

	if (*key && strspn(key, "0123456789") == strlen(key) && strlen(key) < 10) {
		int id = atoi(key);

		for (d = p->domains; d; d = d->next)
			if (d->id == id && domain_active(d))
				return d;
	}
	if (parse_uuid(key, uuid) == 0 && (d = domain_by_uuid(p, uuid)))
		return d;
	return domain_by_name(p, key);
}

struct domain *domain_add(struct pgrd *p, const struct vm_config *c)
{
	struct domain *d = calloc(1, sizeof(*d)), **tail = &p->domains;

	if (!d)
		return NULL;
	d->pgrd = p;
	snprintf(d->name, sizeof(d->name), "%s", c->name);
	memcpy(d->uuid, c->uuid, 16);
	d->state = DOM_SHUTOFF;
	d->reason = R_UNKNOWN;
	d->id = -1;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
	return d;
}

static void free_config(struct vm_config *c)
{
	if (c)
		vmconfig_clear(c);
	free(c);
}

static void domain_free(struct domain *d)
{
	free_config(d->def);
	free_config(d->live);
	free(d->job.file);
	migrate_free(d->job.mig);
	json_decref(d->last_job);
	free(d);
}

void domain_remove(struct domain *d)
{
	for (struct domain **p = &d->pgrd->domains; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	domain_free(d);
}

/* pgrd is stopping: let go of the monitors (they keep running). */
void domain_free_all(struct pgrd *p)
{
	while (p->domains) {
		struct domain *d = p->domains;

		p->domains = d->next;
		lifecycle_release(d);
		domain_free(d);
	}
}

/* ---- files ---- */

char *domain_path(const struct domain *d, const char *sub, const char *suffix)
{
	return store_path(&d->pgrd->store, sub, d->name, suffix);
}

static int write_xml(const char *path, const struct vm_config *c)
{
	char *xml = domxml_format(c);
	int r;

	if (!xml)
		return -errno;
	r = store_write_atomic(path, xml, strlen(xml));
	free(xml);
	return r;
}

int domain_save_def(struct domain *d, const struct vm_config *c, char **err)
{
	char *path = domain_path(d, "domains", ".xml");
	int r = path ? write_xml(path, c) : -ENOMEM;

	if (r < 0 && asprintf(err, "cannot write %s: %s", path ? path : d->name, strerror(-r)) < 0)
		*err = NULL;
	free(path);
	return r;
}

int domain_forget_def(struct domain *d)
{
	char *path = domain_path(d, "domains", ".xml");
	int r = path ? store_remove(path) : -ENOMEM;

	free(path);
	if (r < 0)
		pr_err("%s: cannot remove its definition: %s", d->name, strerror(-r));
	return r;
}

static json_t *run_json(const struct domain *d)
{
	char uuid[37];

	format_uuid(d->uuid, uuid);
	return json_pack("{s:s, s:s, s:i, s:i, s:I, s:s, s:s, s:s, s:s}",
			 "name", d->name, "uuid", uuid, "id", d->id, "pid", (int)d->vmm->pid,
			 "starttime", (json_int_t)d->vmm->starttime,
			 "api_socket", d->vmm->api_path, "serial_socket", d->vmm->serial_path,
			 "state", dom_state_names[d->state], "reason", dom_reason_names[d->reason]);
}

int domain_save_run(struct domain *d, bool with_xml)
{
	char *path = domain_path(d, "run", ".json"), *xml_path = NULL, *text = NULL;
	json_t *j = run_json(d);
	int r = -ENOMEM;

	if (with_xml && d->live && (xml_path = domain_path(d, "run", ".xml")))
		r = write_xml(xml_path, d->live);
	if ((!with_xml || r == 0) && j && path && (text = json_dumps(j, JSON_INDENT(2))))
		r = store_write_atomic(path, text, strlen(text));
	if (r < 0)
		pr_err("%s: cannot write its runtime record %s: %s", d->name,
		       path ? path : "", strerror(-r));
	json_decref(j);
	free(text);
	free(path);
	free(xml_path);
	return r;
}

void domain_remove_run(struct domain *d)
{
	static const char *const files[] = { ".json", ".xml", ".sock", ".serial" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = domain_path(d, "run", files[i]);

		if (path)
			store_remove(path);
		free(path);
	}
}

json_t *domain_info_json(const struct domain *d)
{
	const struct vm_config *c = d->live ? d->live : d->def;
	char uuid[37];
	json_t *j;

	format_uuid(d->uuid, uuid);
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:I, s:I}",
		      "id", domain_active(d) ? d->id : -1, "name", d->name, "uuid", uuid,
		      "os_type", "hvm", "state", dom_state_names[d->state],
		      "reason", dom_reason_names[d->reason], "persistent", d->def != NULL,
		      "autostart", 0, "cpus", c ? c->ncpus : 0,
		      "max_memory_kib", (json_int_t)(c ? c->mem_bytes >> 10 : 0),
		      "memory_kib", (json_int_t)(c ? c->mem_bytes >> 10 : 0));
	if (j && domain_active(d)) {
		json_object_set_new(j, "cpu_time_ns", json_integer((json_int_t)vmm_cpu_time_ns(d->vmm)));
		json_object_set_new(j, "pid", json_integer(d->vmm->pid));
	}
	return j;
}

/* ---- start-up ---- */

static struct vm_config *read_xml(const char *path, char **err)
{
	struct vm_config *c = calloc(1, sizeof(*c));
	char *xml = NULL;
	size_t len;
	int r;

	if (!c)
		return asprintf(err, "out of memory"), NULL;
	r = store_read_file(path, DOMXML_MAX_SIZE, &xml, &len);
	if (r < 0) {
		if (asprintf(err, "%s", strerror(-r)) < 0)
			*err = NULL;
	} else {
		r = domxml_parse(xml, len, c, err, NULL, NULL);
	}
	free(xml);
	if (r < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static int load_def(void *opaque, const char *name)
{
	struct pgrd *p = opaque;
	char *path = store_path(&p->store, "domains", name, ".xml"), *err = NULL;
	struct vm_config *c = path ? read_xml(path, &err) : NULL;
	struct domain *d;

	if (c && strcmp(c->name, name))
		pr_err("%s: defines '%s', not '%s': skipped", path, c->name, name);
	else if (c && domain_by_uuid(p, c->uuid))
		pr_err("%s: its UUID is also %s's: skipped", path, domain_by_uuid(p, c->uuid)->name);
	else if (c && (d = domain_add(p, c)))
		d->def = c, c = NULL;
	else if (!c)
		pr_err("%s: %s: skipped", path ? path : name, err ? err : "out of memory");
	free_config(c);
	free(err);
	free(path);
	return 0;
}

static int parse_enum(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int parse_record(json_t *j, struct adopt_record *rec, char **err)
{
	const char *uuid = json_string_value(json_object_get(j, "uuid"));

	rec->id = (int)json_integer_value(json_object_get(j, "id"));
	rec->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	rec->starttime = (unsigned long long)json_integer_value(json_object_get(j, "starttime"));
	rec->state = parse_enum(json_string_value(json_object_get(j, "state")),
				dom_state_names, DOM__NR_STATES);
	rec->reason = parse_enum(json_string_value(json_object_get(j, "reason")),
				 dom_reason_names, R__NR);
	if (!uuid || parse_uuid(uuid, rec->uuid) < 0 || rec->id < 1 || rec->pid < 2 ||
	    (int)rec->state < 0 || (int)rec->reason < 0)
		return asprintf(err, "malformed runtime record"), -EINVAL;
	return 0;
}

static int read_record(struct pgrd *p, const char *name, struct adopt_record *rec, char **err)
{
	char *path = store_path(&p->store, "run", name, ".json"), *text = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	int r = path ? store_read_file(path, 65536, &text, NULL) : -ENOMEM;

	if (r < 0 && asprintf(err, "%s: %s", path ? path : name, strerror(-r)) < 0)
		*err = NULL;
	if (!r && !(j = json_loads(text, 0, &jerr))) {
		r = -EINVAL;
		if (asprintf(err, "%s: %s", path, jerr.text) < 0)
			*err = NULL;
	}
	if (!r)
		r = parse_record(j, rec, err);
	json_decref(j);
	free(text);
	free(path);
	return r;
}

/* The runtime record's domain: the persistent one of that name, or a new
 * transient one from the live definition. */
static struct domain *record_domain(struct pgrd *p, const char *name, struct adopt_record *rec,
				    char **err)
{
	struct domain *d = domain_by_name(p, name);

	if (d && memcmp(d->uuid, rec->uuid, 16))
		return asprintf(err, "the running domain's UUID differs from the definition's"), NULL;
	if (d && d->live)
		return asprintf(err, "two runtime records"), NULL;
	if (!d && domain_by_uuid(p, rec->uuid))
		return asprintf(err, "its UUID belongs to another domain"), NULL;
	if (!d && !(d = domain_add(p, rec->live)))
		return asprintf(err, "out of memory"), NULL;
	return d;
}

static int load_run(void *opaque, const char *name)
{
	struct pgrd *p = opaque;
	struct adopt_record rec = { 0 };
	char *err = NULL, *xml_path = store_path(&p->store, "run", name, ".xml");
	struct domain *d = NULL;

	if (read_record(p, name, &rec, &err) == 0 && xml_path &&
	    (rec.live = read_xml(xml_path, &err)) && (d = record_domain(p, name, &rec, &err))) {
		if (rec.id >= p->next_id)
			p->next_id = rec.id + 1;
		if (lifecycle_adopt(d, &rec, &err) == 0) {
			rec.live = NULL;
			d = NULL;
		}
	}
	if (err || d) {
		struct domain tmp = { .pgrd = p };

		pr_warn("%s: not adopted (%s): shut off", name, err ? err : "unknown");
		snprintf(tmp.name, sizeof(tmp.name), "%s", name);
		domain_remove_run(&tmp);
		if (d && !d->def)
			domain_remove(d);
	}
	free_config(rec.live);
	free(xml_path);
	free(err);
	return 0;
}

int domain_load_all(struct pgrd *p, char **err)
{
	int r = store_each(&p->store, "domains", ".xml", load_def, p);

	if (!r)
		r = store_each(&p->store, "run", ".json", load_run, p);
	if (r < 0 && asprintf(err, "reading %s: %s", p->store.dir, strerror(-r)) < 0)
		*err = NULL;
	return r;
}
