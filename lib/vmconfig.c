// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmconfig: one VM's definition in memory, its validation, and its JSON form
 * (the first section of every migration stream and save file). The JSON comes
 * from the network, so vmconfig_from_json trusts nothing: unknown keys, wrong
 * types, out-of-range values and odd strings are refused with one line naming
 * the field. Also the small parsers shared by the flag and XML front ends:
 * sizes, MACs, UUIDs.
 *
 * It does no I/O beyond reading random bytes for new UUIDs, and knows nothing
 * of KVM or XML: libvirt domain XML lives in domxml.c, the flag parser in
 * vmm/main.c, the stream that carries the JSON in migration/.
 */
#include "lib/vmconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LOG_SUBSYS "vmconfig"
#include "lib/log.h"

#define NAME_LEN_MAX   (VMCONFIG_NAME_MAX - 1)
#define TARGET_LEN_MAX 31
#define IFNAME_LEN_MAX 15       /* IFNAMSIZ - 1 */

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	for (char *c = *err; c && *c; c++)      /* keys from the wire: one line */
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

/* ---- small parsers -------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The binary unit a suffix names: "", "B" = 1; "K", "KiB" = 1024; ... "T".
 * Decimal-looking "MB" is refused: flags mean MiB, and guessing is worse. */
static uint64_t size_unit(const char *suffix)
{
	static const char units[] = "KMGT";
	const char *u;

	if (!*suffix || !strcasecmp(suffix, "B"))
		return 1;
	u = strchr(units, suffix[0] & ~0x20);
	if (!u || !*u)
		return 0;
	if (suffix[1] && strcasecmp(suffix + 1, "iB"))
		return 0;
	return 1ULL << (10 * (u - units + 1));
}

int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v = 0, unit;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	unit = size_unit(s);
	if (!unit || !v || v > UINT64_MAX / unit)
		return -EINVAL;
	*bytes = v * unit;
	return 0;
}

int parse_mac_why(const char *s, uint8_t mac[6], const char **why)
{
	const char *dummy;
	uint8_t m[6];
	int i;

	why = why ? why : &dummy;
	*why = "expected six hex pairs separated by ':', e.g. 52:54:00:12:34:56";
	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if (m[0] & 1) {
		*why = "multicast MAC address (low bit of the first byte set), a NIC needs a unicast one";
		return -EINVAL;
	}
	if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) {
		*why = "all-zero MAC address";
		return -EINVAL;
	}
	memcpy(mac, m, 6);
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	return parse_mac_why(s, mac, NULL);
}

void format_mac(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* RFC 4122 text: 8-4-4-4-12 hex digits, either case; also the 32 digits
 * without dashes, which libvirt accepts too. */
int parse_uuid(const char *s, uint8_t uuid[16])
{
	uint8_t u[16];
	size_t len = s ? strlen(s) : 0;
	bool dashes = len == 36;
	int i, n = 0;

	if (len != 36 && len != 32)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int hi, lo;

		if (dashes && (n == 8 || n == 13 || n == 18 || n == 23) && s[n++] != '-')
			return -EINVAL;
		hi = hexval(s[n]);
		lo = hexval(s[n + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[i] = (uint8_t)(hi << 4 | lo);
		n += 2;
	}
	memcpy(uuid, u, 16);
	return 0;
}

void format_uuid(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		 u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int read_urandom(uint8_t *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			done += (size_t)n;
	}
	close(fd);
	return done == len ? 0 : -EIO;
}

/* A version 4 (random) UUID. A host without a working random source cannot
 * name VMs uniquely; that is a broken invariant, not a user error. */
void generate_uuid(uint8_t uuid[16])
{
	ssize_t n;

	do
		n = getrandom(uuid, 16, 0);
	while (n < 0 && errno == EINTR);
	if (n != 16 && read_urandom(uuid, 16) < 0) {
		pr_err("no random source for a UUID: %m");
		abort();
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

static const char *const cache_names[] = {
	[DISK_CACHE_NONE] = "none",
	[DISK_CACHE_WRITEBACK] = "writeback",
	[DISK_CACHE_WRITETHROUGH] = "writethrough",
};

const char *disk_cache_name(enum disk_cache cache)
{
	if ((unsigned)cache >= sizeof(cache_names) / sizeof(cache_names[0]))
		return "?";
	return cache_names[cache];
}

int disk_cache_parse(const char *s, enum disk_cache *cache)
{
	unsigned i;

	for (i = 0; s && i < sizeof(cache_names) / sizeof(cache_names[0]); i++) {
		if (!strcmp(s, cache_names[i])) {
			*cache = (enum disk_cache)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- lifetime ------------------------------------------------------------- */

void vmconfig_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ncpus = 1;
	c->mem_bytes = 512ULL << 20;
}

void vmconfig_clear(struct vm_config *c)
{
	int i;

	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->cpu_mode);
	for (i = 0; i < c->ndisks && i < VMCONFIG_MAX_DISKS; i++) {
		free(c->disks[i].path);
		free(c->disks[i].target);
	}
	for (i = 0; i < c->nnets && i < VMCONFIG_MAX_NETS; i++) {
		free(c->nets[i].tap);
		free(c->nets[i].bridge);
	}
	memset(c, 0, sizeof(*c));
}

/* Duplicate *p in place (NULL stays NULL); false when out of memory. */
static bool dup_in_place(char **p)
{
	if (!*p)
		return true;
	*p = strdup(*p);
	return *p != NULL;
}

/* dst is overwritten (not freed first); on failure it is left cleared. */
int vmconfig_copy(struct vm_config *dst, const struct vm_config *src)
{
	bool ok = true;
	int i;

	if (src->ndisks < 0 || src->ndisks > VMCONFIG_MAX_DISKS ||
	    src->nnets < 0 || src->nnets > VMCONFIG_MAX_NETS) {
		memset(dst, 0, sizeof(*dst));
		return -EINVAL;
	}
	*dst = *src;
	ok &= dup_in_place(&dst->kernel);
	ok &= dup_in_place(&dst->initrd);
	ok &= dup_in_place(&dst->cmdline);
	ok &= dup_in_place(&dst->cpu_mode);
	for (i = 0; i < dst->ndisks; i++) {
		ok &= dup_in_place(&dst->disks[i].path);
		ok &= dup_in_place(&dst->disks[i].target);
	}
	for (i = 0; i < dst->nnets; i++) {
		ok &= dup_in_place(&dst->nets[i].tap);
		ok &= dup_in_place(&dst->nets[i].bridge);
	}
	if (ok)
		return 0;
	/* Only the strdups that failed are NULL where src had a string; the
	 * rest are ours to free. */
	vmconfig_clear(dst);
	return -ENOMEM;
}

/* ---- validation ----------------------------------------------------------- */

/* Length of the UTF-8 sequence at s, or 0 if it is malformed, overlong, a
 * surrogate, beyond U+10FFFF, or a noncharacter XML cannot carry. */
static size_t utf8_seq(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/* NULL if s is 1..max bytes of UTF-8 without control characters, else why. */
static const char *check_text(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);

	if (!len)
		return "empty";
	if (len > max)
		return "too long";
	while (*p) {
		size_t n = utf8_seq(p);

		if (!n)
			return "not valid UTF-8";
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0))
			return "contains a control character";
		p += n;
	}
	return NULL;
}

static bool name_char(char ch, const char *extra)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr(extra, ch));
}

static bool all_name_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!name_char(*s, extra))
			return false;
	return true;
}

static int check_name(const char *name, char **err)
{
	size_t len = strnlen(name, VMCONFIG_NAME_MAX);

	if (!len || len > NAME_LEN_MAX)
		return fail(err, "field 'name': must be 1 to %d characters", NAME_LEN_MAX);
	if (!all_name_chars(name, "._-"))
		return fail(err, "field 'name': only letters, digits, '.', '_' and '-' are allowed");
	if (!strcmp(name, ".") || !strcmp(name, ".."))    /* names become file names */
		return fail(err, "field 'name': '%s' is not a name", name);
	return 0;
}

static int check_string(const char *s, const char *field, size_t max, char **err)
{
	const char *why = s ? check_text(s, max) : NULL;

	return why ? fail(err, "field '%s': %s", field, why) : 0;
}

static int check_ifname(const char *s, const char *field, char **err)
{
	if (!s)
		return 0;
	if (!*s || strlen(s) > IFNAME_LEN_MAX || !all_name_chars(s, "._-") ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		return fail(err, "field '%s': an interface name is 1 to %d letters, digits, '.', '_' or '-'",
			    field, IFNAME_LEN_MAX);
	return 0;
}

static int check_top(const struct vm_config *c, char **err)
{
	static const uint8_t nil[16];
	int r;

	if ((r = check_name(c->name, err)))
		return r;
	if (!memcmp(c->uuid, nil, 16))
		return fail(err, "field 'uuid': the nil UUID is not a VM's UUID");
	if (c->mem_bytes < VMCONFIG_MEM_MIN || c->mem_bytes > VMCONFIG_MEM_MAX)
		return fail(err, "field 'memory': %llu bytes is outside 16 MiB .. 1 TiB",
			    (unsigned long long)c->mem_bytes);
	if (c->mem_bytes % 4096)
		return fail(err, "field 'memory': %llu bytes is not a multiple of 4 KiB",
			    (unsigned long long)c->mem_bytes);
	if (c->ncpus < 1 || c->ncpus > VMCONFIG_MAX_CPUS)
		return fail(err, "field 'ncpus': %d is outside 1..%d", c->ncpus, VMCONFIG_MAX_CPUS);
	if ((r = check_string(c->kernel, "kernel", VMCONFIG_PATH_MAX, err)) ||
	    (r = check_string(c->initrd, "initrd", VMCONFIG_PATH_MAX, err)) ||
	    (r = check_string(c->cmdline, "cmdline", VMCONFIG_CMDLINE_MAX, err)))
		return r;
	if (c->cpu_mode && strcmp(c->cpu_mode, "host-passthrough") && strcmp(c->cpu_mode, "host-model"))
		return fail(err, "field 'cpu_mode': expected host-passthrough or host-model");
	return 0;
}

static int check_disk(const struct vm_config *c, int i, char **err)
{
	const struct vm_disk_cfg *d = &c->disks[i];
	char field[32];
	int j, r;

	snprintf(field, sizeof(field), "disks[%d].path", i);
	if (!d->path)
		return fail(err, "field '%s': missing", field);
	if ((r = check_string(d->path, field, VMCONFIG_PATH_MAX, err)))
		return r;
	if (!d->target || !*d->target || strlen(d->target) > TARGET_LEN_MAX ||
	    !all_name_chars(d->target, ""))
		return fail(err, "field 'disks[%d].target': expected 1 to %d letters and digits, e.g. vda",
			    i, TARGET_LEN_MAX);
	if ((unsigned)d->cache > DISK_CACHE_WRITETHROUGH)
		return fail(err, "field 'disks[%d].cache': unknown cache mode %d", i, (int)d->cache);
	for (j = 0; j < i; j++)
		if (!strcmp(c->disks[j].target, d->target))
			return fail(err, "field 'disks[%d].target': '%s' is also disks[%d]'s target",
				    i, d->target, j);
	return 0;
}

static int check_net(const struct vm_config *c, int i, char **err)
{
	static const uint8_t zero[6];
	const struct vm_net_cfg *n = &c->nets[i];
	char field[32];
	int j, r;

	snprintf(field, sizeof(field), "nets[%d].tap", i);
	if ((r = check_ifname(n->tap, field, err)))
		return r;
	snprintf(field, sizeof(field), "nets[%d].bridge", i);
	if ((r = check_ifname(n->bridge, field, err)))
		return r;
	if (n->mac[0] & 1)
		return fail(err, "field 'nets[%d].mac': multicast MAC address, a NIC needs a unicast one", i);
	if (!memcmp(n->mac, zero, 6))
		return fail(err, "field 'nets[%d].mac': all-zero MAC address", i);
	for (j = 0; j < i; j++)
		if (!memcmp(c->nets[j].mac, n->mac, 6))
			return fail(err, "field 'nets[%d].mac': same MAC as nets[%d]", i, j);
	return 0;
}

int vmconfig_validate(const struct vm_config *c, char **err)
{
	int i, r;

	if ((r = check_top(c, err)))
		return r;
	if (c->ndisks < 0 || c->ndisks > VMCONFIG_MAX_DISKS)
		return fail(err, "field 'disks': at most %d disks", VMCONFIG_MAX_DISKS);
	if (c->nnets < 0 || c->nnets > VMCONFIG_MAX_NETS)
		return fail(err, "field 'nets': at most %d network interfaces", VMCONFIG_MAX_NETS);
	for (i = 0; i < c->ndisks; i++)
		if ((r = check_disk(c, i, err)))
			return r;
	for (i = 0; i < c->nnets; i++)
		if ((r = check_net(c, i, err)))
			return r;
	return 0;
}

/* ---- to JSON -------------------------------------------------------------- */

/* Adds key: s when s is set; false only when out of memory. */
static bool put_str(json_t *o, const char *key, const char *s)
{
	return !s || !json_object_set_new(o, key, json_string(s));
}

static json_t *disk_to_json(const struct vm_disk_cfg *d)
{
	json_t *o = json_object();

	if (!o || !put_str(o, "path", d->path) || !put_str(o, "target", d->target) ||
	    json_object_set_new(o, "readonly", json_boolean(d->readonly)) ||
	    !put_str(o, "cache", disk_cache_name(d->cache))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *net_to_json(const struct vm_net_cfg *n)
{
	json_t *o = json_object();
	char mac[18];

	format_mac(n->mac, mac);
	if (!o || !put_str(o, "mac", mac) || !put_str(o, "tap", n->tap) ||
	    !put_str(o, "bridge", n->bridge)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool devices_to_json(json_t *o, const struct vm_config *c)
{
	json_t *disks = json_array(), *nets = json_array();
	bool ok = disks && nets;
	int i;

	for (i = 0; ok && i < c->ndisks && i < VMCONFIG_MAX_DISKS; i++)
		ok = !json_array_append_new(disks, disk_to_json(&c->disks[i]));
	for (i = 0; ok && i < c->nnets && i < VMCONFIG_MAX_NETS; i++)
		ok = !json_array_append_new(nets, net_to_json(&c->nets[i]));
	if (!ok) {
		json_decref(disks);
		json_decref(nets);
		return false;
	}
	return !json_object_set_new(o, "disks", disks) && !json_object_set_new(o, "nets", nets);
}

/* Every field; NULL strings are left out. NULL only when out of memory. */
json_t *vmconfig_to_json(const struct vm_config *c)
{
	json_t *o = json_object();
	char uuid[37];

	format_uuid(c->uuid, uuid);
	if (!o || !put_str(o, "name", c->name) || !put_str(o, "uuid", uuid) ||
	    json_object_set_new(o, "memory", json_integer((json_int_t)c->mem_bytes)) ||
	    json_object_set_new(o, "ncpus", json_integer(c->ncpus)) ||
	    !put_str(o, "kernel", c->kernel) || !put_str(o, "initrd", c->initrd) ||
	    !put_str(o, "cmdline", c->cmdline) || !put_str(o, "cpu_mode", c->cpu_mode) ||
	    !devices_to_json(o, c)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- from JSON ------------------------------------------------------------ */

/* A string member: NULL (absent or null) when optional, else a copy. */
static int get_str(const json_t *v, const char *field, char **out, char **err)
{
	const char *s;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, "field '%s': expected a string", field);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(err, "field '%s': contains a NUL character", field);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* Refuses keys outside the NULL-terminated list, naming them under prefix. */
static int only_keys(const json_t *o, const char *prefix, const char *const *keys, char **err)
{
	const char *key;
	json_t *v;
	int i;

	json_object_foreach((json_t *)o, key, v) {
		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i])
			return fail(err, "field '%s%.64s': unknown key", prefix, key);
	}
	return 0;
}

static int get_int(const json_t *v, const char *field, long long lo, long long hi,
		   long long *out, char **err)
{
	if (!v)
		return fail(err, "field '%s': missing", field);
	if (!json_is_integer(v))
		return fail(err, "field '%s': expected an integer", field);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return fail(err, "field '%s': %lld is outside %lld..%lld", field, *out, lo, hi);
	return 0;
}

static int disk_from_json(const json_t *o, int i, struct vm_disk_cfg *d, char **err)
{
	static const char *const keys[] = { "path", "target", "readonly", "cache", NULL };
	const json_t *ro = json_object_get(o, "readonly");
	char prefix[32], field[48], *cache = NULL;
	int r;

	snprintf(prefix, sizeof(prefix), "disks[%d].", i);
	if (!json_is_object(o))
		return fail(err, "field 'disks[%d]': expected an object", i);
	if ((r = only_keys(o, prefix, keys, err)))
		return r;
	snprintf(field, sizeof(field), "%spath", prefix);
	if ((r = get_str(json_object_get(o, "path"), field, &d->path, err)))
		return r;
	snprintf(field, sizeof(field), "%starget", prefix);
	if ((r = get_str(json_object_get(o, "target"), field, &d->target, err)))
		return r;
	if (ro && !json_is_boolean(ro))
		return fail(err, "field '%sreadonly': expected true or false", prefix);
	d->readonly = json_is_true(ro);
	snprintf(field, sizeof(field), "%scache", prefix);
	if ((r = get_str(json_object_get(o, "cache"), field, &cache, err)))
		return r;
	r = cache && disk_cache_parse(cache, &d->cache) ?
	    fail(err, "field '%s': expected none, writeback or writethrough", field) : 0;
	free(cache);
	return r;
}

static int net_from_json(const json_t *o, int i, struct vm_net_cfg *n, char **err)
{
	static const char *const keys[] = { "mac", "tap", "bridge", NULL };
	const json_t *mac = json_object_get(o, "mac");
	const char *why;
	char prefix[32], field[48];
	int r;

	snprintf(prefix, sizeof(prefix), "nets[%d].", i);
	if (!json_is_object(o))
		return fail(err, "field 'nets[%d]': expected an object", i);
	if ((r = only_keys(o, prefix, keys, err)))
		return r;
	if (!json_is_string(mac))
		return fail(err, "field '%smac': expected a string like 52:54:00:12:34:56", prefix);
	if (parse_mac_why(json_string_value(mac), n->mac, &why))
		return fail(err, "field '%smac': %s", prefix, why);
	snprintf(field, sizeof(field), "%stap", prefix);
	if ((r = get_str(json_object_get(o, "tap"), field, &n->tap, err)))
		return r;
	snprintf(field, sizeof(field), "%sbridge", prefix);
	return get_str(json_object_get(o, "bridge"), field, &n->bridge, err);
}

static int devices_from_json(const json_t *j, struct vm_config *c, char **err)
{
	const json_t *disks = json_object_get(j, "disks"), *nets = json_object_get(j, "nets");
	size_t i;
	int r;

	if (disks && !json_is_array(disks))
		return fail(err, "field 'disks': expected an array");
	if (nets && !json_is_array(nets))
		return fail(err, "field 'nets': expected an array");
	if (json_array_size(disks) > VMCONFIG_MAX_DISKS)
		return fail(err, "field 'disks': at most %d disks", VMCONFIG_MAX_DISKS);
	if (json_array_size(nets) > VMCONFIG_MAX_NETS)
		return fail(err, "field 'nets': at most %d network interfaces", VMCONFIG_MAX_NETS);
	/* Each entry is counted before it is filled, so vmconfig_clear frees
	 * whatever a failed one holds. */
	for (i = 0; i < json_array_size(disks); i++) {
		c->ndisks++;
		if ((r = disk_from_json(json_array_get(disks, i), (int)i, &c->disks[i], err)))
			return r;
	}
	for (i = 0; i < json_array_size(nets); i++) {
		c->nnets++;
		if ((r = net_from_json(json_array_get(nets, i), (int)i, &c->nets[i], err)))
			return r;
	}
	return 0;
}

static int top_from_json(const json_t *j, struct vm_config *c, char **err)
{
	const json_t *name = json_object_get(j, "name"), *uuid = json_object_get(j, "uuid");
	long long v;
	int r;

	if (!json_is_string(name) || json_string_length(name) >= VMCONFIG_NAME_MAX ||
	    strlen(json_string_value(name)) != json_string_length(name))
		return fail(err, "field 'name': expected a string of 1 to %d characters", NAME_LEN_MAX);
	memcpy(c->name, json_string_value(name), json_string_length(name) + 1);
	if (!json_is_string(uuid) || parse_uuid(json_string_value(uuid), c->uuid))
		return fail(err, "field 'uuid': expected a UUID like 306e05ed-e398-ef33-d6e2-3708e90b89a6");
	if ((r = get_int(json_object_get(j, "memory"), "memory", 0, (long long)VMCONFIG_MEM_MAX, &v, err)))
		return r;
	c->mem_bytes = (uint64_t)v;
	if ((r = get_int(json_object_get(j, "ncpus"), "ncpus", 1, VMCONFIG_MAX_CPUS, &v, err)))
		return r;
	c->ncpus = (int)v;
	if ((r = get_str(json_object_get(j, "kernel"), "kernel", &c->kernel, err)) ||
	    (r = get_str(json_object_get(j, "initrd"), "initrd", &c->initrd, err)) ||
	    (r = get_str(json_object_get(j, "cmdline"), "cmdline", &c->cmdline, err)))
		return r;
	return get_str(json_object_get(j, "cpu_mode"), "cpu_mode", &c->cpu_mode, err);
}

/* c need not be initialised; on failure it is left cleared. */
int vmconfig_from_json(const json_t *j, struct vm_config *c, char **err)
{
	static const char *const keys[] = { "name", "uuid", "memory", "ncpus", "kernel",
		"initrd", "cmdline", "cpu_mode", "disks", "nets", NULL };
	int r;

	vmconfig_init(c);
	if (!json_is_object(j))
		r = fail(err, "vm config: expected a JSON object");
	else if (!(r = only_keys(j, "", keys, err)) && !(r = top_from_json(j, c, err)) &&
		 !(r = devices_from_json(j, c, err)))
		r = vmconfig_validate(c, err);
	if (r == -ENOMEM)
		fail(err, "vm config: out of memory");
	if (r)
		vmconfig_clear(c);
	return r;
}
