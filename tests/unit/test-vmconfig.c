// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-vmconfig: the size/MAC/UUID parsers, validation, and the JSON form a
 * migration stream carries — round trip, and table-driven hostile input
 * (every rejection must name its field). domxml has its own test.
 */
#include "lib/vmconfig.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/unit/unit.h"

static void test_parse_size(void)
{
	static const struct { const char *s; int ret; uint64_t bytes; } t[] = {
		{ "512M", 0, 512ULL << 20 },      { "512MiB", 0, 512ULL << 20 },
		{ "512m", 0, 512ULL << 20 },      { "512mib", 0, 512ULL << 20 },
		{ "4G", 0, 4ULL << 30 },          { "4GiB", 0, 4ULL << 30 },
		{ "1T", 0, 1ULL << 40 },          { "1tib", 0, 1ULL << 40 },
		{ "2048K", 0, 2048ULL << 10 },    { "2048k", 0, 2048ULL << 10 },
		{ "1048576", 0, 1048576 },        { "4096B", 0, 4096 },
		{ "1", 0, 1 },                    { "16777216T", -EINVAL, 0 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
		{ "0", -EINVAL, 0 },  { "0M", -EINVAL, 0 },   { "-1", -EINVAL, 0 },
		{ "-512M", -EINVAL, 0 }, { "", -EINVAL, 0 },  { "M", -EINVAL, 0 },
		{ " 512M", -EINVAL, 0 }, { "512 M", -EINVAL, 0 }, { "512M ", -EINVAL, 0 },
		{ "512MB", -EINVAL, 0 }, { "512X", -EINVAL, 0 }, { "512Mi", -EINVAL, 0 },
		{ "512MiBs", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 }, { "0x100", -EINVAL, 0 },
		{ "+5", -EINVAL, 0 }, { "5 ", -EINVAL, 0 }, { "512\x80", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
	};
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0;
		int r = parse_size(t[i].s, &v);

		if (r != t[i].ret || (!r && v != t[i].bytes))
			fprintf(stderr, "parse_size(\"%s\") = %d, %llu\n", t[i].s, r,
				(unsigned long long)v);
		CHECK_EQ_INT(r, t[i].ret);
		if (!t[i].ret)
			CHECK_EQ_U64(v, t[i].bytes);
	}
	CHECK_EQ_INT(parse_size(NULL, NULL), -EINVAL);
}

static void test_parse_mac(void)
{
	static const struct { const char *s; int ret; const char *why; } t[] = {
		{ "52:54:00:12:34:56", 0, NULL },
		{ "52:54:00:AB:cd:Ef", 0, NULL },
		{ "02:00:00:00:00:01", 0, NULL },
		{ "01:00:5e:00:00:01", -EINVAL, "multicast" },
		{ "ff:ff:ff:ff:ff:ff", -EINVAL, "multicast" },
		{ "00:00:00:00:00:00", -EINVAL, "all-zero" },
		{ "52:54:00:12:34", -EINVAL, "six hex pairs" },
		{ "52:54:00:12:34:567", -EINVAL, "six hex pairs" },
		{ "52-54-00-12-34-56", -EINVAL, "six hex pairs" },
		{ "52:54:00:12:34:5g", -EINVAL, "six hex pairs" },
		{ "5254.0012.3456", -EINVAL, "six hex pairs" },
		{ "", -EINVAL, "six hex pairs" },
		{ " 52:54:00:12:34:5", -EINVAL, "six hex pairs" },
	};
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		uint8_t mac[6];

		CHECK_EQ_INT(parse_mac_why(t[i].s, mac, &why), t[i].ret);
		CHECK_EQ_INT(parse_mac(t[i].s, mac), t[i].ret);
		if (t[i].why)
			CHECK_CONTAINS(why, t[i].why);
		if (!t[i].ret) {
			char out[18];

			format_mac(mac, out);
			CHECK(!strcasecmp(out, t[i].s));
		}
	}
}

static void test_uuid(void)
{
	static const char *const bad[] = {
		"", "306e05ed-e398-ef33-d6e2-3708e90b89a", "306e05ed-e398-ef33-d6e2-3708e90b89a6-",
		"306e05ede398-ef33-d6e2-3708e90b89a6-", "306e05ed-e398-ef33-d6e2_3708e90b89a6",
		"306e05ed-e398-ef33-d6e2-3708e90b89ag", "306e05ed+e398+ef33+d6e2+3708e90b89a6",
		"306e05ede398ef33d6e23708e90b89a", "{306e05ed-e398-ef33-d6e2-3708e90b89a6}",
	};
	uint8_t u[16], v[16];
	char out[37];
	unsigned i;

	CHECK_EQ_INT(parse_uuid("306e05ed-e398-ef33-d6e2-3708e90b89a6", u), 0);
	CHECK_EQ_INT(u[0], 0x30);
	CHECK_EQ_INT(u[15], 0xa6);
	format_uuid(u, out);
	CHECK_STR(out, "306e05ed-e398-ef33-d6e2-3708e90b89a6");
	CHECK_EQ_INT(parse_uuid("306E05EDE398EF33D6E23708E90B89A6", v), 0);
	CHECK(!memcmp(u, v, 16));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(parse_uuid(bad[i], v), -EINVAL);
	}
	generate_uuid(u);
	generate_uuid(v);
	CHECK(memcmp(u, v, 16) != 0);
	CHECK_EQ_INT(u[6] >> 4, 4);          /* version 4 */
	CHECK_EQ_INT(u[8] & 0xc0, 0x80);     /* RFC 4122 variant */
	format_uuid(u, out);
	CHECK_EQ_INT(parse_uuid(out, v), 0);
	CHECK(!memcmp(u, v, 16));
}

/* A config with every field set, as a real definition would be. */
static void full_config(struct vm_config *c)
{
	static const uint8_t mac0[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x57 };

	vmconfig_init(c);
	strcpy(c->name, "kvm_no_sharedfs");
	parse_uuid("306e05ed-e398-ef33-d6e2-3708e90b89a6", c->uuid);
	c->mem_bytes = 1ULL << 30;
	c->ncpus = 4;
	c->kernel = strdup("/var/lib/pgr/boot/vmlinuz-6.1");
	c->initrd = strdup("/var/lib/pgr/boot/initrd.img-6.1");
	c->cmdline = strdup("console=ttyS0 root=/dev/vda1 ro quiet \"x=a b\" é");
	c->cpu_mode = strdup("host-passthrough");
	c->ndisks = 2;
	c->disks[0] = (struct vm_disk_cfg){ strdup("/var/lib/pgr/images/a.img"), false,
					    DISK_CACHE_NONE, strdup("vda") };
	c->disks[1] = (struct vm_disk_cfg){ strdup("/srv/data b.img"), true,
					    DISK_CACHE_WRITETHROUGH, strdup("vdb") };
	c->nnets = 2;
	c->nets[0].tap = strdup("tap0");
	c->nets[0].bridge = strdup("br0");
	memcpy(c->nets[0].mac, mac0, 6);
	memcpy(c->nets[1].mac, mac1, 6);
}

static bool config_equal(const struct vm_config *a, const struct vm_config *b)
{
	json_t *ja = vmconfig_to_json(a), *jb = vmconfig_to_json(b);
	bool eq = ja && jb && json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return eq;
}

static void test_json_roundtrip(void)
{
	struct vm_config c, d, e;
	char *err = NULL, *text;
	json_t *j;

	full_config(&c);
	CHECK_EQ_INT(vmconfig_validate(&c, &err), 0);
	j = vmconfig_to_json(&c);
	CHECK(j != NULL);
	text = json_dumps(j, JSON_SORT_KEYS);
	json_decref(j);
	j = json_loads(text, 0, NULL);
	CHECK_EQ_INT(vmconfig_from_json(j, &d, &err), 0);
	CHECK(err == NULL);
	CHECK_STR(d.name, c.name);
	CHECK(!memcmp(d.uuid, c.uuid, 16));
	CHECK_EQ_U64(d.mem_bytes, c.mem_bytes);
	CHECK_EQ_INT(d.ncpus, 4);
	CHECK_STR(d.cmdline, c.cmdline);
	CHECK_STR(d.disks[1].path, "/srv/data b.img");
	CHECK(d.disks[1].readonly);
	CHECK_EQ_INT(d.disks[1].cache, DISK_CACHE_WRITETHROUGH);
	CHECK(d.nets[1].tap == NULL && d.nets[1].bridge == NULL);
	CHECK_EQ_INT(d.nets[1].mac[5], 0x57);
	CHECK(config_equal(&c, &d));
	CHECK_EQ_INT(vmconfig_copy(&e, &d), 0);
	CHECK(config_equal(&e, &c));
	CHECK(e.kernel != d.kernel);
	json_decref(j);
	free(text);
	vmconfig_clear(&c);
	vmconfig_clear(&d);
	vmconfig_clear(&e);
	vmconfig_clear(&e);     /* twice is harmless */
}

static void test_json_minimal(void)
{
	struct vm_config c;
	char *err = NULL;
	json_t *j = json_loads("{\"name\":\"a\",\"uuid\":\"306e05ed-e398-ef33-d6e2-3708e90b89a6\","
			       "\"memory\":16777216,\"ncpus\":1,\"initrd\":null}", 0, NULL);

	CHECK_EQ_INT(vmconfig_from_json(j, &c, &err), 0);
	CHECK(c.kernel == NULL && c.initrd == NULL && c.ndisks == 0 && c.nnets == 0);
	vmconfig_clear(&c);
	json_decref(j);
	free(err);
}

/* Each case replaces (or, with value NULL, removes) one key of a valid
 * config, or sets a key under "disks[0]"/"nets[0]"; the error must name
 * the field. */
static const struct bad_json {
	const char *where, *key, *value, *field;
} bad_json[] = {
	{ "", "name", "\"\"", "'name'" },
	{ "", "name", "\"a b\"", "'name'" },
	{ "", "name", "\"../etc\"", "'name'" },
	{ "", "name", "\"a/b\"", "'name'" },
	{ "", "name", "\"..\"", "'name'" },
	{ "", "name", "\".\"", "'name'" },
	{ "", "name", "\"" "0123456789012345678901234567890123456789012345678901234567890123" "\"", "'name'" },
	{ "", "name", "\"a\\u0000b\"", "'name'" },
	{ "", "name", "5", "'name'" },
	{ "", "name", NULL, "'name'" },
	{ "", "uuid", "\"nope\"", "'uuid'" },
	{ "", "uuid", "\"00000000-0000-0000-0000-000000000000\"", "'uuid'" },
	{ "", "uuid", NULL, "'uuid'" },
	{ "", "memory", "16777215", "'memory'" },
	{ "", "memory", "16781313", "'memory'" },
	{ "", "memory", "4096", "'memory'" },
	{ "", "memory", "-1073741824", "'memory'" },
	{ "", "memory", "1073741824.0", "'memory'" },
	{ "", "memory", "\"1G\"", "'memory'" },
	{ "", "memory", "9223372036854775807", "'memory'" },
	{ "", "memory", "1099511631872", "'memory'" },
	{ "", "memory", NULL, "'memory'" },
	{ "", "ncpus", "0", "'ncpus'" },
	{ "", "ncpus", "65", "'ncpus'" },
	{ "", "ncpus", "-1", "'ncpus'" },
	{ "", "ncpus", "true", "'ncpus'" },
	{ "", "ncpus", NULL, "'ncpus'" },
	{ "", "kernel", "\"\"", "'kernel'" },
	{ "", "kernel", "7", "'kernel'" },
	{ "", "kernel", "\"/boot/a\\nb\"", "'kernel'" },
	{ "", "kernel", "\"/boot/a\\u0000b\"", "'kernel'" },
	{ "", "kernel", "\"/boot/\\ufffe\"", "'kernel'" },
	{ "", "initrd", "[]", "'initrd'" },
	{ "", "cmdline", "\"a\\tb\"", "'cmdline'" },
	{ "", "cmdline", "\"a\\u0085b\"", "'cmdline'" },
	{ "", "cpu_mode", "\"custom\"", "'cpu_mode'" },
	{ "", "cpu_mode", "\"\"", "'cpu_mode'" },
	{ "", "extra", "1", "'extra'" },
	{ "", "Name", "\"a\"", "'Name'" },
	{ "", "tru\nname", "1", "'tru?name'" },
	{ "", "disks", "{}", "'disks'" },
	{ "", "disks", "[1]", "'disks[0]'" },
	{ "", "disks", "[{\"path\":\"/a\",\"target\":\"vda\"},{\"path\":\"/b\",\"target\":\"vda\"}]", "'disks[1].target'" },
	{ "", "disks", "[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]", "'disks'" },
	{ "", "nets", "\"x\"", "'nets'" },
	{ "", "nets", "[{\"mac\":\"52:54:00:00:00:01\"},{\"mac\":\"52:54:00:00:00:01\"}]", "'nets[1].mac'" },
	{ "", "nets", "[{},{},{},{},{},{},{},{},{}]", "'nets'" },
	{ "disks[0]", "path", "\"\"", "'disks[0].path'" },
	{ "disks[0]", "path", NULL, "'disks[0].path'" },
	{ "disks[0]", "path", "null", "'disks[0].path'" },
	{ "disks[0]", "target", "\"\"", "'disks[0].target'" },
	{ "disks[0]", "target", "\"v/da\"", "'disks[0].target'" },
	{ "disks[0]", "target", NULL, "'disks[0].target'" },
	{ "disks[0]", "readonly", "1", "'disks[0].readonly'" },
	{ "disks[0]", "cache", "\"unsafe\"", "'disks[0].cache'" },
	{ "disks[0]", "cache", "0", "'disks[0].cache'" },
	{ "disks[0]", "format", "\"qcow2\"", "'disks[0].format'" },
	{ "nets[0]", "mac", "\"01:00:5e:00:00:01\"", "multicast" },
	{ "nets[0]", "mac", "\"00:00:00:00:00:00\"", "'nets[0].mac'" },
	{ "nets[0]", "mac", "\"52:54:00:12:34\"", "'nets[0].mac'" },
	{ "nets[0]", "mac", NULL, "'nets[0].mac'" },
	{ "nets[0]", "tap", "\"\"", "'nets[0].tap'" },
	{ "nets[0]", "tap", "\"tap0123456789abcd\"", "'nets[0].tap'" },
	{ "nets[0]", "tap", "\"../x\"", "'nets[0].tap'" },
	{ "nets[0]", "tap", "\"..\"", "'nets[0].tap'" },
	{ "nets[0]", "bridge", "\"br 0\"", "'nets[0].bridge'" },
	{ "nets[0]", "vlan", "5", "'nets[0].vlan'" },
};

static json_t *target_object(json_t *top, const char *where)
{
	if (!*where)
		return top;
	if (!strcmp(where, "disks[0]"))
		return json_array_get(json_object_get(top, "disks"), 0);
	return json_array_get(json_object_get(top, "nets"), 0);
}

static void test_json_hostile(void)
{
	struct vm_config c;
	unsigned i;

	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		const struct bad_json *b = &bad_json[i];
		struct vm_config d;
		char *err = NULL;
		json_t *j, *o;
		int r;

		full_config(&c);
		j = vmconfig_to_json(&c);
		vmconfig_clear(&c);
		o = target_object(j, b->where);
		if (b->value)
			CHECK_EQ_INT(json_object_set_new(o, b->key, json_loads(b->value,
					JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)), 0);
		else
			json_object_del(o, b->key);
		r = vmconfig_from_json(j, &d, &err);
		CHECK_EQ_INT(r, -EINVAL);
		CHECK_CONTAINS(err, b->field);
		if (!err || !strstr(err, b->field) || r != -EINVAL)
			fprintf(stderr, "  case %u (%s.%s = %s): %s\n", i, b->where, b->key,
				b->value ? b->value : "(removed)", err ? err : "no error");
		CHECK(err && !strchr(err, '\n'));
		CHECK(d.kernel == NULL && d.ndisks == 0);   /* left cleared */
		free(err);
		json_decref(j);
	}
}

static void test_json_not_object(void)
{
	static const char *const docs[] = { "[]", "null", "5", "\"x\"" };
	struct vm_config c;
	unsigned i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *j = json_loads(docs[i], JSON_DECODE_ANY, NULL);
		char *err = NULL;

		CHECK_EQ_INT(vmconfig_from_json(j, &c, &err), -EINVAL);
		CHECK(err != NULL);
		free(err);
		json_decref(j);
	}
	CHECK_EQ_INT(vmconfig_from_json(NULL, &c, NULL), -EINVAL);
}

static void test_validate(void)
{
	struct vm_config c;
	char *err = NULL;

	full_config(&c);
	c.disks[1].cache = (enum disk_cache)7;
	CHECK_EQ_INT(vmconfig_validate(&c, &err), -EINVAL);
	CHECK_CONTAINS(err, "disks[1].cache");
	free(err);
	err = NULL;
	c.disks[1].cache = DISK_CACHE_WRITEBACK;
	c.nets[1].mac[0] = 0x01;
	CHECK_EQ_INT(vmconfig_validate(&c, NULL), -EINVAL);
	c.nets[1].mac[0] = 0x52;
	free(c.kernel);
	c.kernel = strdup("/boot/\xff");
	CHECK_EQ_INT(vmconfig_validate(&c, &err), -EINVAL);
	CHECK_CONTAINS(err, "UTF-8");
	free(err);
	err = NULL;
	free(c.kernel);
	c.kernel = strdup("/boot/\xc0\xaf");  /* overlong '/' */
	CHECK_EQ_INT(vmconfig_validate(&c, &err), -EINVAL);
	free(err);
	err = NULL;
	free(c.kernel);
	c.kernel = strdup("/boot/\xed\xa0\x80");  /* surrogate */
	CHECK_EQ_INT(vmconfig_validate(&c, &err), -EINVAL);
	free(err);
	err = NULL;
	free(c.kernel);
	c.kernel = strdup("/boot/\xf0\x9f\x90\xa6");  /* a bird is fine */
	CHECK_EQ_INT(vmconfig_validate(&c, &err), 0);
	free(err);
	vmconfig_clear(&c);
	vmconfig_init(&c);
	CHECK_EQ_INT(c.ncpus, 1);
	CHECK_EQ_U64(c.mem_bytes, 512ULL << 20);
}

static void test_cache_names(void)
{
	enum disk_cache m;

	CHECK_EQ_INT(disk_cache_parse("writeback", &m), 0);
	CHECK_EQ_INT(m, DISK_CACHE_WRITEBACK);
	CHECK_STR(disk_cache_name(DISK_CACHE_WRITETHROUGH), "writethrough");
	CHECK_EQ_INT(disk_cache_parse("default", &m), -EINVAL);
	CHECK_EQ_INT(disk_cache_parse(NULL, &m), -EINVAL);
}

int main(void)
{
	test_parse_size();
	test_parse_mac();
	test_uuid();
	test_json_roundtrip();
	test_json_minimal();
	test_json_hostile();
	test_json_not_object();
	test_validate();
	test_cache_names();
	return UNIT_DONE();
}
