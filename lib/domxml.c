// SPDX-License-Identifier: GPL-2.0-only
/*
 * domxml: libvirt domain XML -> struct vm_config (libxml2 tree, walked with
 * one rule table per element: handle, skip, warn or refuse); the way back
 * is domxml-write.c. Unknown elements are refused, not ignored: a future libvirt element
 * might matter to the guest. The accepted subset is in docs/domain-xml.md.
 *
 * Hostile input is expected (definitions cross hosts): the size is capped,
 * a DOCTYPE stops the parser before any entity is declared, the network is
 * never used, and libxml2's own depth limit stays in force (no
 * XML_PARSE_HUGE). It does not start VMs or touch files: vmconfig.c holds the
 * result's rules, the daemon and pgr-vmm the callers.
 */
#include "lib/domxml.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define LOG_SUBSYS "domxml"
#include "lib/log.h"

struct ps {
	struct vm_config *c;
	char **err;
	struct domxml_warning *warn;
	int nwarn;
	bool doctype, oom;
	bool err_set;           /* *err holds a message of ours */
	xmlChar **pool;         /* strings handed out by attr()/text() */
	size_t npool, cap;
	uint64_t cur_mem;       /* <currentMemory>, 0 if absent */
	unsigned seen;          /* SEEN_* bits: elements allowed once */
	int nserial;
};

enum { SEEN_NAME = 1, SEEN_UUID = 2, SEEN_MEM = 4, SEEN_CURMEM = 8, SEEN_VCPU = 16,
       SEEN_OS = 32, SEEN_CPU = 64, SEEN_DEVICES = 128, SEEN_KERNEL = 256,
       SEEN_INITRD = 512, SEEN_CMDLINE = 1024, SEEN_TYPE = 2048 };

enum act { HANDLE, SKIP, WARN, REFUSE };

struct rule {
	const char *name;
	enum act act;
	int (*fn)(struct ps *p, xmlNode *n);
	const char *why;        /* WARN/REFUSE: the reason shown */
};

/* ---- errors, warnings, strings --------------------------------------------- */

/* Messages quote the document: keep them one printable line. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

static int vfail(struct ps *p, long line, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Sets *p->err to "domain XML line N: msg" (line 0: no line). */
static int vfail(struct ps *p, long line, const char *fmt, va_list ap)
{
	char msg[512];
	int r;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	printable(msg);
	if (!p->err)
		return -EINVAL;
	if (p->err_set)         /* the caller's *err is never freed, only ours */
		free(*p->err);
	p->err_set = true;
	if (line > 0)
		r = asprintf(p->err, "domain XML line %ld: %s", line, msg);
	else
		r = asprintf(p->err, "domain XML: %s", msg);
	if (r < 0)
		*p->err = NULL;
	return -EINVAL;
}

static int fail(struct ps *p, xmlNode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct ps *p, xmlNode *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(p, n ? xmlGetLineNo(n) : 0, fmt, ap);
	va_end(ap);
	return r;
}

static int fail_line(struct ps *p, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_line(struct ps *p, long line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(p, line, fmt, ap);
	va_end(ap);
	return r;
}

static void warn(struct ps *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Identical warnings are given once; past DOMXML_MAX_WARNINGS they stop. */
static void warn(struct ps *p, const char *fmt, ...)
{
	struct domxml_warning w, *nw;
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(w.msg, sizeof(w.msg), fmt, ap);
	va_end(ap);
	printable(w.msg);
	for (i = 0; i < p->nwarn; i++)
		if (!strcmp(p->warn[i].msg, w.msg))
			return;
	if (p->nwarn >= DOMXML_MAX_WARNINGS)
		return;
	nw = realloc(p->warn, (size_t)(p->nwarn + 1) * sizeof(*nw));
	if (!nw) {
		p->oom = true;
		return;
	}
	p->warn = nw;
	p->warn[p->nwarn++] = w;
}

/* Keeps s until the parse ends; NULL (and oom noted) if it cannot. */
static const char *keep(struct ps *p, xmlChar *s)
{
	if (s && p->npool == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 32;
		xmlChar **np = realloc(p->pool, cap * sizeof(*np));

		if (!np) {
			xmlFree(s);
			p->oom = true;
			return NULL;
		}
		p->pool = np;
		p->cap = cap;
	}
	if (s)
		p->pool[p->npool++] = s;
	return (const char *)s;
}

/* The value of attribute name (no namespace), or NULL. */
static const char *attr(struct ps *p, xmlNode *n, const char *name)
{
	return keep(p, xmlGetNoNsProp(n, (const xmlChar *)name));
}

static bool is_element(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE;
}

static bool has_child_elements(const xmlNode *n)
{
	for (n = n->children; n; n = n->next)
		if (is_element(n))
			return true;
	return false;
}

/* The text inside n (which must hold nothing else), or NULL after fail(). */
static const char *text(struct ps *p, xmlNode *n)
{
	const char *s;

	if (has_child_elements(n)) {
		fail(p, n, "<%s> must contain only text", n->name);
		return NULL;
	}
	s = keep(p, xmlNodeGetContent(n));
	if (!s && !p->oom)
		s = "";
	if (!s)
		fail(p, n, "out of memory");
	return s;
}

/* Like text(), without leading and trailing white space, in p's pool. */
static const char *text_trim(struct ps *p, xmlNode *n)
{
	const char *s = text(p, n);
	size_t len;

	if (!s)
		return NULL;
	s += strspn(s, " \t\r\n");
	for (len = strlen(s); len && strchr(" \t\r\n", s[len - 1]); len--)
		;
	s = keep(p, xmlStrndup((const xmlChar *)s, (int)len));
	if (!s)
		p->oom = true;
	return s;
}

static int once(struct ps *p, xmlNode *n, unsigned bit)
{
	if (p->seen & bit)
		return fail(p, n, "<%s> given twice", n->name);
	p->seen |= bit;
	return 0;
}

static char *xstrdup(struct ps *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->oom = true;
	return d;
}

/* ---- the rule-table walk ---------------------------------------------------- */

static const struct rule *find_rule(const struct rule *rules, const xmlNode *n)
{
	if (n->ns)      /* <qemu:commandline> and other extensions */
		return NULL;
	for (; rules->name; rules++)
		if (!strcmp(rules->name, (const char *)n->name))
			return rules;
	return NULL;
}

static int walk(struct ps *p, xmlNode *parent, const struct rule *rules)
{
	xmlNode *n;
	int r;

	for (n = parent->children; n; n = n->next) {
		const struct rule *rule;

		if (!is_element(n))
			continue;       /* white space, comments */
		rule = find_rule(rules, n);
		if (!rule)
			return fail(p, n, "unsupported element <%s%s%s> in <%s>",
				    n->ns && n->ns->prefix ? (const char *)n->ns->prefix : "",
				    n->ns && n->ns->prefix ? ":" : "", n->name, parent->name);
		if (rule->act == REFUSE)
			return fail(p, n, "<%s> is not supported: %s", n->name, rule->why);
		if (rule->act == WARN)
			warn(p, "ignoring <%s>: %s", n->name, rule->why);
		if (rule->act == HANDLE && (r = rule->fn(p, n)))
			return r;
		if (p->oom)
			return -ENOMEM;
	}
	return 0;
}

/* ---- numbers -------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *v)
{
	*v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return 0;
}

/* libvirt's units: b/bytes; k, KiB = 1024, KB = 1000; ... up to E. The
 * default for <memory> is KiB. */
static int unit_scale(const char *unit, uint64_t *scale)
{
	static const char prefixes[] = "kmgtpe";
	const char *pre;
	uint64_t base;
	int i;

	if (!unit) {
		*scale = 1024;
		return 0;
	}
	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
		*scale = 1;
		return 0;
	}
	pre = unit[0] ? strchr(prefixes, unit[0] | 0x20) : NULL;
	if (!pre)
		return -EINVAL;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return -EINVAL;
	for (*scale = 1, i = 0; i <= pre - prefixes; i++)
		*scale *= base;
	return 0;
}

static int memory_value(struct ps *p, xmlNode *n, uint64_t *bytes)
{
	const char *unit = attr(p, n, "unit"), *s = text_trim(p, n);
	uint64_t v, scale;

	if (!s)
		return p->oom ? -ENOMEM : -EINVAL;
	if (unit_scale(unit, &scale))
		return fail(p, n, "<%s unit='%.32s'>: unknown unit", n->name, unit);
	if (parse_u64(s, &v) || v > UINT64_MAX / scale)
		return fail(p, n, "<%s>: '%.32s' is not a size", n->name, s);
	*bytes = v * scale;
	return 0;
}

/* ---- <domain> children ------------------------------------------------------ */

static int do_name(struct ps *p, xmlNode *n)
{
	const char *s = text(p, n);
	int r;

	if (!s || (r = once(p, n, SEEN_NAME)))
		return s ? r : -EINVAL;
	if (!*s || strlen(s) >= VMCONFIG_NAME_MAX)
		return fail(p, n, "<name> must be 1 to %d characters", VMCONFIG_NAME_MAX - 1);
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
		return fail(p, n, "<name>%.64s</name>: only letters, digits, '.', '_' and '-' are allowed", s);
	strcpy(p->c->name, s);
	return 0;
}

static int do_uuid(struct ps *p, xmlNode *n)
{
	const char *s = text_trim(p, n);
	int r;

	if (!s || (r = once(p, n, SEEN_UUID)))
		return s ? r : -EINVAL;
	if (parse_uuid(s, p->c->uuid))
		return fail(p, n, "<uuid>%.40s</uuid> is not a UUID", s);
	return 0;
}

static int do_memory(struct ps *p, xmlNode *n)
{
	int r = once(p, n, SEEN_MEM);

	return r ? r : memory_value(p, n, &p->c->mem_bytes);
}

static int do_current_memory(struct ps *p, xmlNode *n)
{
	int r = once(p, n, SEEN_CURMEM);

	return r ? r : memory_value(p, n, &p->cur_mem);
}

static int do_vcpu(struct ps *p, xmlNode *n)
{
	const char *s = text_trim(p, n), *current = attr(p, n, "current");
	uint64_t v, cur;
	int r;

	if (!s || (r = once(p, n, SEEN_VCPU)))
		return s ? r : -EINVAL;
	if (parse_u64(s, &v) || v < 1 || v > VMCONFIG_MAX_CPUS)
		return fail(p, n, "<vcpu>%.32s</vcpu>: expected 1 to %d", s, VMCONFIG_MAX_CPUS);
	if (current && (parse_u64(current, &cur) || cur != v))
		return fail(p, n, "<vcpu current='%.32s'>: vCPU hotplug is not supported, "
			    "current must equal the count", current);
	if (attr(p, n, "cpuset"))
		warn(p, "ignoring <vcpu cpuset>: vCPU threads are not pinned to host CPUs");
	p->c->ncpus = (int)v;
	return 0;
}

/* ---- <os> --------------------------------------------------------------- */

static int do_os_type(struct ps *p, xmlNode *n)
{
	const char *s = text_trim(p, n), *arch = attr(p, n, "arch");
	int r;

	if (!s || (r = once(p, n, SEEN_TYPE)))
		return s ? r : -EINVAL;
	if (strcmp(s, "hvm"))
		return fail(p, n, "<os><type>%.32s</type>: only 'hvm' guests are supported", s);
	if (arch && strcmp(arch, "x86_64"))
		return fail(p, n, "<os><type arch='%.32s'>: only x86_64 is supported", arch);
	if (attr(p, n, "machine"))
		warn(p, "ignoring <os><type machine>: Peregrine has one machine type");
	return 0;
}

/* <kernel>, <initrd>, <cmdline>: a string; empty means absent. */
static int os_string(struct ps *p, xmlNode *n, unsigned bit, char **out)
{
	const char *s = text(p, n);
	int r;

	if (!s || (r = once(p, n, bit)))
		return s ? r : -EINVAL;
	if (*s)
		*out = xstrdup(p, s);
	return p->oom ? -ENOMEM : 0;
}

static int do_kernel(struct ps *p, xmlNode *n)
{
	return os_string(p, n, SEEN_KERNEL, &p->c->kernel);
}

static int do_initrd(struct ps *p, xmlNode *n)
{
	return os_string(p, n, SEEN_INITRD, &p->c->initrd);
}

static int do_cmdline(struct ps *p, xmlNode *n)
{
	return os_string(p, n, SEEN_CMDLINE, &p->c->cmdline);
}

static const struct rule os_rules[] = {
	{ "type", HANDLE, do_os_type, NULL },
	{ "kernel", HANDLE, do_kernel, NULL },
	{ "initrd", HANDLE, do_initrd, NULL },
	{ "cmdline", HANDLE, do_cmdline, NULL },
	{ "boot", WARN, NULL, "direct kernel boot does not use a boot device" },
	{ "bootmenu", WARN, NULL, "direct kernel boot has no boot menu" },
	{ "smbios", WARN, NULL, "there is no SMBIOS table" },
	{ "bios", WARN, NULL, "there is no BIOS" },
	{ "loader", REFUSE, NULL, "firmware boot is not supported, only direct kernel boot (<kernel>)" },
	{ "nvram", REFUSE, NULL, "firmware boot is not supported, only direct kernel boot (<kernel>)" },
	{ "firmware", REFUSE, NULL, "firmware boot is not supported, only direct kernel boot (<kernel>)" },
	{ "dtb", REFUSE, NULL, "device trees are not supported on x86" },
	{ "acpi", REFUSE, NULL, "there are no ACPI tables to override" },
	{ NULL, SKIP, NULL, NULL },
};

static int do_os(struct ps *p, xmlNode *n)
{
	const char *fw = attr(p, n, "firmware");
	int r;

	if ((r = once(p, n, SEEN_OS)))
		return r;
	if (fw)
		return fail(p, n, "<os firmware='%.32s'>: firmware boot is not supported, "
			    "only direct kernel boot (<kernel>)", fw);
	if ((r = walk(p, n, os_rules)))
		return r;
	if (!p->c->kernel)
		return fail(p, n, "<os> has no <kernel>: only direct kernel boot is supported");
	return 0;
}

/* ---- <cpu> -------------------------------------------------------------- */

static int cpu_model(struct ps *p, xmlNode *n)
{
	if (p->c->cpu_mode)     /* host-model's <model fallback='allow'/> */
		return 0;
	return fail(p, n, "<cpu><model>: named CPU models are not supported, "
		    "use mode='host-passthrough' or 'host-model'");
}

static const struct rule cpu_rules[] = {
	{ "model", HANDLE, cpu_model, NULL },
	{ "topology", WARN, NULL, "vCPUs are presented as one socket each" },
	{ "cache", WARN, NULL, "the guest sees the host's cache description" },
	{ "feature", REFUSE, NULL, "CPU features cannot be added or removed (the guest would see a different CPU)" },
	{ "vendor", REFUSE, NULL, "the guest sees the host's CPU vendor" },
	{ "numa", REFUSE, NULL, "guest NUMA topology is not supported" },
	{ "maxphysaddr", REFUSE, NULL, "the guest sees the host's physical address width" },
	{ NULL, SKIP, NULL, NULL },
};

static int do_cpu(struct ps *p, xmlNode *n)
{
	const char *mode = attr(p, n, "mode");
	int r;

	if ((r = once(p, n, SEEN_CPU)))
		return r;
	if (mode && (!strcmp(mode, "host-passthrough") || !strcmp(mode, "host-model"))) {
		p->c->cpu_mode = xstrdup(p, mode);
		if (!p->c->cpu_mode)
			return -ENOMEM;
	} else if (mode && strcmp(mode, "custom")) {
		return fail(p, n, "<cpu mode='%.32s'>: expected host-passthrough or host-model", mode);
	}
	return walk(p, n, cpu_rules);
}

/* ---- <devices><disk> ------------------------------------------------------ */

static int disk_driver(struct ps *p, xmlNode *n, struct vm_disk_cfg *d)
{
	const char *name = attr(p, n, "name"), *type = attr(p, n, "type");
	const char *cache = attr(p, n, "cache");

	if (name && strcmp(name, "qemu"))
		return fail(p, n, "<driver name='%.32s'>: expected 'qemu'", name);
	if (type && !strcmp(type, "qcow2"))
		return fail(p, n, "<driver type='qcow2'>: qcow2 images are not supported, "
			    "convert with 'qemu-img convert -O raw'");
	if (type && strcmp(type, "raw"))
		return fail(p, n, "<driver type='%.32s'>: only raw images are supported", type);
	d->cache = DISK_CACHE_WRITEBACK;        /* libvirt's 'default' */
	if (cache && strcmp(cache, "default") && disk_cache_parse(cache, &d->cache))
		return fail(p, n, "<driver cache='%.32s'>: expected none, writeback, "
			    "writethrough or default", cache);
	for (xmlAttr *a = n->properties; a; a = a->next)
		if (strcmp((const char *)a->name, "name") && strcmp((const char *)a->name, "type") &&
		    strcmp((const char *)a->name, "cache"))
			warn(p, "ignoring <disk><driver %.40s='...'>: not configurable",
			     (const char *)a->name);
	return 0;
}

static int disk_source(struct ps *p, xmlNode *n, struct vm_disk_cfg *d)
{
	const char *file = attr(p, n, "file");

	if (d->path)
		return fail(p, n, "<source> given twice");
	if (!file || !*file)
		return fail(p, n, "<disk><source>: missing file='...'");
	d->path = xstrdup(p, file);
	return d->path ? 0 : -ENOMEM;
}

static int disk_target(struct ps *p, xmlNode *n, struct vm_disk_cfg *d)
{
	const char *dev = attr(p, n, "dev"), *bus = attr(p, n, "bus");

	if (d->target)
		return fail(p, n, "<target> given twice");
	if (!dev || !*dev)
		return fail(p, n, "<disk><target>: missing dev='...'");
	if (bus ? strcmp(bus, "virtio") : strncmp(dev, "vd", 2))
		return fail(p, n, "<disk><target dev='%.32s' bus='%.32s'>: only virtio disks "
			    "(bus='virtio', dev='vdX') are supported", dev, bus ? bus : "");
	d->target = xstrdup(p, dev);
	return d->target ? 0 : -ENOMEM;
}

static const struct rule disk_rules[] = {
	{ "driver", SKIP, NULL, NULL },         /* handled in do_disk_child */
	{ "source", SKIP, NULL, NULL },
	{ "target", SKIP, NULL, NULL },
	{ "readonly", SKIP, NULL, NULL },
	{ "backingStore", SKIP, NULL, NULL },
	{ "alias", SKIP, NULL, NULL },
	{ "address", WARN, NULL, "Peregrine assigns PCI slots itself" },
	{ "boot", WARN, NULL, "direct kernel boot does not use a boot device" },
	{ "shareable", WARN, NULL, "disks are not locked" },
	{ "iotune", WARN, NULL, "there is no I/O throttling" },
	{ "serial", REFUSE, NULL, "the guest would not see the disk's serial number" },
	{ "wwn", REFUSE, NULL, "the guest would not see the disk's WWN" },
	{ "vendor", REFUSE, NULL, "the guest would not see the disk's vendor" },
	{ "product", REFUSE, NULL, "the guest would not see the disk's product" },
	{ "blockio", REFUSE, NULL, "block sizes are not configurable" },
	{ "geometry", REFUSE, NULL, "disk geometry is not configurable" },
	{ "encryption", REFUSE, NULL, "encrypted disks are not supported" },
	{ "auth", REFUSE, NULL, "network disks are not supported yet" },
	{ "transient", REFUSE, NULL, "transient disks are not supported" },
	{ "mirror", REFUSE, NULL, "a block job is in progress" },
	{ NULL, SKIP, NULL, NULL },
};

static int disk_child(struct ps *p, xmlNode *n, struct vm_disk_cfg *d)
{
	const char *name = (const char *)n->name;

	if (!strcmp(name, "driver"))
		return disk_driver(p, n, d);
	if (!strcmp(name, "source"))
		return disk_source(p, n, d);
	if (!strcmp(name, "target"))
		return disk_target(p, n, d);
	if (!strcmp(name, "readonly"))
		d->readonly = true;
	if (!strcmp(name, "backingStore") && has_child_elements(n))
		return fail(p, n, "<backingStore>: backing chains are not supported (raw only)");
	return 0;
}

static int disk_kind(struct ps *p, xmlNode *n)
{
	const char *type = attr(p, n, "type"), *device = attr(p, n, "device");

	if (type && strcmp(type, "file"))
		return fail(p, n, "<disk type='%.32s'>: only type='file' is supported yet", type);
	if (device && strcmp(device, "disk"))
		return fail(p, n, "<disk device='%.32s'>: only device='disk' is supported", device);
	return 0;
}

static int do_disk(struct ps *p, xmlNode *n)
{
	struct vm_config *c = p->c;
	struct vm_disk_cfg *d;
	xmlNode *k;
	int r;

	if ((r = disk_kind(p, n)) || (r = walk(p, n, disk_rules)))
		return r;
	if (c->ndisks == VMCONFIG_MAX_DISKS)
		return fail(p, n, "too many disks (at most %d)", VMCONFIG_MAX_DISKS);
	d = &c->disks[c->ndisks++];
	d->cache = DISK_CACHE_WRITEBACK;
	for (k = n->children; k; k = k->next)
		if (is_element(k) && (r = disk_child(p, k, d)))
			return r;
	if (!d->path)
		return fail(p, n, "<disk> has no <source file='...'>");
	if (!d->target)
		return fail(p, n, "<disk> has no <target dev='...'>");
	return 0;
}

/* ---- <devices><interface> ------------------------------------------------- */

static const struct rule iface_rules[] = {
	{ "mac", SKIP, NULL, NULL },            /* handled in iface_child */
	{ "source", SKIP, NULL, NULL },
	{ "target", SKIP, NULL, NULL },
	{ "model", SKIP, NULL, NULL },
	{ "alias", SKIP, NULL, NULL },
	{ "guest", SKIP, NULL, NULL },
	{ "address", WARN, NULL, "Peregrine assigns PCI slots itself" },
	{ "boot", WARN, NULL, "direct kernel boot does not use a boot device" },
	{ "rom", WARN, NULL, "there is no option ROM" },
	{ "driver", WARN, NULL, "the virtio-net backend is not configurable" },
	{ "bandwidth", WARN, NULL, "there is no bandwidth shaping" },
	{ "tune", WARN, NULL, "the tap device is not tunable" },
	{ "coalesce", WARN, NULL, "interrupt coalescing is not configurable" },
	{ "acpi", WARN, NULL, "there are no ACPI tables" },
	{ "link", REFUSE, NULL, "the link state is not configurable (the guest would see the link up)" },
	{ "mtu", REFUSE, NULL, "the guest would not see this MTU" },
	{ "filterref", REFUSE, NULL, "network filters are not supported (the guest would be unfiltered)" },
	{ "virtualport", REFUSE, NULL, "Open vSwitch / 802.1Qbh ports are not supported" },
	{ "vlan", REFUSE, NULL, "VLAN tagging is not supported" },
	{ "ip", REFUSE, NULL, "host-side addresses are not configured" },
	{ "route", REFUSE, NULL, "host-side routes are not configured" },
	{ "script", REFUSE, NULL, "interface scripts are not run" },
	{ "teaming", REFUSE, NULL, "failover teaming is not supported" },
	{ "backend", REFUSE, NULL, "the tap backend is not configurable" },
	{ "port", REFUSE, NULL, "port isolation is not supported" },
	{ NULL, SKIP, NULL, NULL },
};

static int iface_mac(struct ps *p, xmlNode *n, struct vm_net_cfg *net, bool *have)
{
	const char *s = attr(p, n, "address"), *why;

	if (*have)
		return fail(p, n, "<mac> given twice");
	if (!s || parse_mac_why(s, net->mac, &why))
		return fail(p, n, "<mac address='%.32s'>: %s", s ? s : "",
			    s ? why : "missing address");
	*have = true;
	return 0;
}

static int iface_child(struct ps *p, xmlNode *n, struct vm_net_cfg *net, bool bridge, bool *mac)
{
	const char *name = (const char *)n->name, *v;

	if (!strcmp(name, "mac"))
		return iface_mac(p, n, net, mac);
	if (!strcmp(name, "model")) {
		v = attr(p, n, "type");
		if (!v || strcmp(v, "virtio"))
			return fail(p, n, "<interface><model type='%.32s'>: only virtio NICs are "
				    "supported", v ? v : "");
	} else if (!strcmp(name, "source") && bridge) {
		v = attr(p, n, "bridge");
		if (!v || !*v || net->bridge)
			return fail(p, n, "<interface type='bridge'> needs one <source bridge='...'>");
		net->bridge = xstrdup(p, v);
	} else if (!strcmp(name, "source")) {
		return fail(p, n, "<interface type='ethernet'><source>: not supported (tap only)");
	} else if (!strcmp(name, "target")) {
		v = attr(p, n, "dev");
		if (!v || !*v || net->tap)
			return fail(p, n, "<interface> needs at most one <target dev='...'>");
		net->tap = xstrdup(p, v);
	}
	return p->oom ? -ENOMEM : 0;
}

static int iface_kind(struct ps *p, xmlNode *n, bool *bridge)
{
	const char *type = attr(p, n, "type");

	if (!type)
		return fail(p, n, "<interface> has no type");
	if (!strcmp(type, "network"))
		return fail(p, n, "<interface type='network'>: libvirt networks are not supported, "
			    "use type='bridge' with the network's bridge (e.g. virbr0)");
	if (strcmp(type, "bridge") && strcmp(type, "ethernet"))
		return fail(p, n, "<interface type='%.32s'>: only 'bridge' and 'ethernet' are supported",
			    type);
	*bridge = !strcmp(type, "bridge");
	return 0;
}

static void random_mac(uint8_t mac[6])
{
	uint8_t u[16];

	generate_uuid(u);
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	memcpy(mac + 3, u, 3);
}

static int do_interface(struct ps *p, xmlNode *n)
{
	struct vm_config *c = p->c;
	bool bridge = false, mac = false, model = false;
	struct vm_net_cfg *net;
	xmlNode *k;
	int r;

	if ((r = iface_kind(p, n, &bridge)) || (r = walk(p, n, iface_rules)))
		return r;
	if (c->nnets == VMCONFIG_MAX_NETS)
		return fail(p, n, "too many interfaces (at most %d)", VMCONFIG_MAX_NETS);
	net = &c->nets[c->nnets++];
	for (k = n->children; k; k = k->next) {
		if (is_element(k) && (r = iface_child(p, k, net, bridge, &mac)))
			return r;
		model |= is_element(k) && !strcmp((const char *)k->name, "model");
	}
	if (bridge && !net->bridge)
		return fail(p, n, "<interface type='bridge'> has no <source bridge='...'>");
	if (!model)
		warn(p, "<interface> without <model>: the NIC is virtio");
	if (!mac) {
		char s[18];

		random_mac(net->mac);
		format_mac(net->mac, s);
		warn(p, "<interface> without <mac>: generated %s", s);
	}
	return 0;
}

/* ---- <devices><serial>, <console> ------------------------------------------ */

static int do_serial(struct ps *p, xmlNode *n)
{
	const char *type = attr(p, n, "type");

	if (!strcmp((const char *)n->name, "serial") && ++p->nserial > 1)
		warn(p, "ignoring serial ports after the first: there is one UART (COM1)");
	if (!type || strcmp(type, "pty"))
		warn(p, "<%s type='%.32s'>: the console is always a pty", n->name, type ? type : "");
	return 0;
}

static const struct rule device_rules[] = {
	{ "disk", HANDLE, do_disk, NULL },
	{ "interface", HANDLE, do_interface, NULL },
	{ "serial", HANDLE, do_serial, NULL },
	{ "console", HANDLE, do_serial, NULL },
	{ "emulator", WARN, NULL, "Peregrine is the emulator" },
	{ "controller", WARN, NULL, "controllers are implied by the devices" },
	{ "input", WARN, NULL, "there are no input devices besides the serial console" },
	{ "graphics", WARN, NULL, "there is no display, use the serial console" },
	{ "video", WARN, NULL, "there is no display, use the serial console" },
	{ "audio", WARN, NULL, "there is no sound" },
	{ "sound", WARN, NULL, "there is no sound" },
	{ "memballoon", WARN, NULL, "there is no balloon device" },
	{ "channel", WARN, NULL, "there are no guest agent channels" },
	{ "rng", WARN, NULL, "there is no virtio-rng device yet" },
	{ "panic", WARN, NULL, "there is no panic device" },
	{ "watchdog", WARN, NULL, "there is no watchdog device" },
	{ "hub", WARN, NULL, "there is no USB" },
	{ "redirfilter", WARN, NULL, "there is no USB" },
	{ "lease", WARN, NULL, "there are no lock leases" },
	{ "pstore", WARN, NULL, "there is no pstore device" },
	{ "hostdev", REFUSE, NULL, "host device passthrough is not supported" },
	{ "redirdev", REFUSE, NULL, "USB redirection is not supported" },
	{ "smartcard", REFUSE, NULL, "smartcards are not supported" },
	{ "filesystem", REFUSE, NULL, "shared file systems (virtiofs, 9p) are not supported" },
	{ "shmem", REFUSE, NULL, "shared memory devices are not supported" },
	{ "tpm", REFUSE, NULL, "TPM devices are not supported" },
	{ "nvram", REFUSE, NULL, "NVRAM devices are not supported" },
	{ "iommu", REFUSE, NULL, "a virtual IOMMU is not supported" },
	{ "vsock", REFUSE, NULL, "vsock is not supported yet" },
	{ "memory", REFUSE, NULL, "memory hotplug is not supported" },
	{ "crypto", REFUSE, NULL, "virtio-crypto is not supported" },
	{ NULL, SKIP, NULL, NULL },
};

static int do_devices(struct ps *p, xmlNode *n)
{
	int r = once(p, n, SEEN_DEVICES);

	return r ? r : walk(p, n, device_rules);
}

static const struct rule domain_rules[] = {
	{ "name", HANDLE, do_name, NULL },
	{ "uuid", HANDLE, do_uuid, NULL },
	{ "memory", HANDLE, do_memory, NULL },
	{ "currentMemory", HANDLE, do_current_memory, NULL },
	{ "vcpu", HANDLE, do_vcpu, NULL },
	{ "os", HANDLE, do_os, NULL },
	{ "cpu", HANDLE, do_cpu, NULL },
	{ "devices", HANDLE, do_devices, NULL },
	{ "title", SKIP, NULL, NULL },
	{ "description", SKIP, NULL, NULL },
	{ "metadata", SKIP, NULL, NULL },
	{ "features", WARN, NULL, "ACPI, APIC and PAE are always on" },
	{ "clock", WARN, NULL, "the guest clock is UTC with kvmclock" },
	{ "on_poweroff", WARN, NULL, "power-off always destroys the VM" },
	{ "on_reboot", WARN, NULL, "reboot always restarts the guest" },
	{ "on_crash", WARN, NULL, "a crash is reported and the VM stopped" },
	{ "on_lockfailure", WARN, NULL, "there are no lock managers" },
	{ "pm", WARN, NULL, "guest suspend is not supported" },
	{ "resource", WARN, NULL, "cgroup partitions are not used" },
	{ "seclabel", WARN, NULL, "no security driver labels the VM" },
	{ "cputune", WARN, NULL, "vCPU scheduling is not tunable" },
	{ "memtune", WARN, NULL, "memory limits are not set" },
	{ "blkiotune", WARN, NULL, "block I/O weights are not set" },
	{ "memoryBacking", WARN, NULL, "guest RAM is ordinary anonymous memory" },
	{ "iothreads", WARN, NULL, "there is one I/O thread" },
	{ "iothreadids", WARN, NULL, "there is one I/O thread" },
	{ "sysinfo", WARN, NULL, "there is no SMBIOS table" },
	{ "genid", WARN, NULL, "there is no VM generation ID device" },
	{ "perf", WARN, NULL, "perf events are not collected" },
	{ "keywrap", WARN, NULL, "not on x86" },
	{ "maxMemory", REFUSE, NULL, "memory hotplug is not supported" },
	{ "vcpus", REFUSE, NULL, "vCPU hotplug is not supported" },
	{ "numatune", REFUSE, NULL, "NUMA placement is not supported" },
	{ "launchSecurity", REFUSE, NULL, "confidential guests (SEV, TDX) are not supported" },
	{ "bootloader", REFUSE, NULL, "only direct kernel boot is supported" },
	{ "bootloader_args", REFUSE, NULL, "only direct kernel boot is supported" },
	{ "idmap", REFUSE, NULL, "this is for containers" },
	{ NULL, SKIP, NULL, NULL },
};

static int do_domain(struct ps *p, xmlNode *root)
{
	const char *type;

	if (!root || strcmp((const char *)root->name, "domain") || root->ns)
		return fail(p, root, "the root element must be <domain>");
	type = attr(p, root, "type");
	if (!type || strcmp(type, "kvm"))
		return fail(p, root, "<domain type='%.32s'>: only type='kvm' is supported",
			    type ? type : "");
	return walk(p, root, domain_rules);
}

/* Required elements, <currentMemory>, a UUID if none was given, the rules. */
static int finish(struct ps *p)
{
	static const uint8_t nil[16];
	struct vm_config *c = p->c;
	int r;

	if (!(p->seen & SEEN_NAME))
		return fail(p, NULL, "no <name>");
	if (!(p->seen & SEEN_MEM))
		return fail(p, NULL, "no <memory>");
	if (!(p->seen & SEEN_OS))
		return fail(p, NULL, "no <os> with a <kernel>: only direct kernel boot is supported");
	if (p->cur_mem > c->mem_bytes)
		return fail(p, NULL, "<currentMemory> is larger than <memory>");
	if ((p->seen & SEEN_CURMEM) && p->cur_mem < c->mem_bytes)
		warn(p, "ignoring <currentMemory>: there is no balloon, the guest gets all of <memory>");
	if (!memcmp(c->uuid, nil, 16) && !(p->seen & SEEN_UUID))
		generate_uuid(c->uuid);
	if ((r = vmconfig_validate(c, p->err)) && p->err && *p->err) {
		char *msg = *p->err;

		*p->err = NULL;
		fail(p, NULL, "%s", msg);
		free(msg);
	}
	return r;
}

/* ---- reading the document ------------------------------------------------- */

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct ps *p = ctxt->_private;

	p->doctype = true;
	xmlStopParser(ctxt);
}

/* libxml2 reports some errors (encoding conversion) outside the parser
 * context, on stderr; ours come back through *err instead. */
static void quiet(void *ctx, const char *msg, ...)
{
}

static void init_libxml(void)
{
	xmlInitParser();
}

static xmlDoc *read_doc(struct ps *p, const char *xml, size_t len)
{
	static pthread_once_t once_init = PTHREAD_ONCE_INIT;
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			 XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
	xmlGenericErrorFunc saved_fn;
	xmlParserCtxtPtr ctxt;
	void *saved_ctx;
	xmlDoc *doc;

	pthread_once(&once_init, init_libxml);
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		p->oom = true;
		return NULL;
	}
	ctxt->_private = p;
	ctxt->sax->internalSubset = on_doctype;
	saved_fn = xmlGenericError;             /* per thread */
	saved_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet);
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, opts);
	xmlSetGenericErrorFunc(saved_ctx, saved_fn);
	if (!doc && !p->doctype) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		char msg[200];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
		msg[strcspn(msg, "\n")] = '\0';       /* libxml2 ends them with one */
		fail_line(p, e ? e->line : 0, "%s", msg);
	}
	xmlFreeParserCtxt(ctxt);
	if (p->doctype) {
		xmlFreeDoc(doc);
		fail(p, NULL, "<!DOCTYPE> is not allowed (no DTDs or entities)");
		return NULL;
	}
	return doc;
}

static void ps_free(struct ps *p)
{
	size_t i;

	for (i = 0; i < p->npool; i++)
		xmlFree(p->pool[i]);
	free(p->pool);
	free(p->warn);
}

int domxml_parse(const char *xml, size_t len, struct vm_config *c, char **err,
		 struct domxml_warning **warnings, int *nwarn)
{
	struct ps p = { .c = c, .err = err };
	xmlDoc *doc = NULL;
	int r = -EINVAL;

	vmconfig_init(c);
	if (warnings)
		*warnings = NULL;
	if (nwarn)
		*nwarn = 0;
	if (!xml || !len)
		fail(&p, NULL, "empty document");
	else if (len > DOMXML_MAX_SIZE)
		fail(&p, NULL, "%zu bytes is over the %d byte limit", len, DOMXML_MAX_SIZE);
	else if ((doc = read_doc(&p, xml, len)))
		r = do_domain(&p, xmlDocGetRootElement(doc));
	if (!r)
		r = finish(&p);
	if (p.oom) {
		r = -ENOMEM;
		fail(&p, NULL, "out of memory");
	}
	xmlFreeDoc(doc);
	if (!r && warnings && nwarn) {
		*warnings = p.warn;
		*nwarn = p.nwarn;
		p.warn = NULL;
	}
	if (r)
		vmconfig_clear(c);
	ps_free(&p);
	return r;
}
