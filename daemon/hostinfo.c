// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostinfo: gather the host's CPU, memory and SMBIOS facts (see hostinfo.h).
 * Missing files give missing or zero fields, never an error.
 */
#include "daemon/hostinfo.h"

#include "lib/vmconfig.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

struct cpuinfo {
	char model[128];
	double mhz;
	int packages, siblings, cores;
};

static void cpuinfo_line(struct cpuinfo *ci, const char *key, const char *val, int *max_pkg)
{
	if (!strcmp(key, "model name") && !ci->model[0])
		snprintf(ci->model, sizeof(ci->model), "%s", val);
	else if (!strcmp(key, "cpu MHz") && ci->mhz == 0)
		ci->mhz = strtod(val, NULL);
	else if (!strcmp(key, "physical id") && atoi(val) > *max_pkg)
		*max_pkg = atoi(val);
	else if (!strcmp(key, "siblings") && !ci->siblings)
		ci->siblings = atoi(val);
	else if (!strcmp(key, "cpu cores") && !ci->cores)
		ci->cores = atoi(val);
}

static void read_cpuinfo(struct cpuinfo *ci)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	int max_pkg = 0;

	memset(ci, 0, sizeof(*ci));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *key_end, *val;

		if (!colon)
			continue;
		for (key_end = colon; key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t');)
			key_end--;
		*key_end = 0;
		val = colon + 1 + strspn(colon + 1, " \t");
		val[strcspn(val, "\n")] = 0;
		cpuinfo_line(ci, line, val, &max_pkg);
	}
	fclose(f);
	ci->packages = max_pkg + 1;
}

static long long meminfo_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	long long kib = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int numa_cells(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9';
	closedir(d);
	return n ? n : 1;
}

static void add_dmi(json_t *o, const char *key, const char *file)
{
	char path[128], buf[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", file);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		if (buf[0])
			json_object_set_new(o, key, json_string(buf));
	}
	fclose(f);
}

static json_t *smbios_json(void)
{
	json_t *o = json_object();

	add_dmi(o, "manufacturer", "sys_vendor");
	add_dmi(o, "product", "product_name");
	add_dmi(o, "version", "product_version");
	add_dmi(o, "serial", "product_serial");
	add_dmi(o, "sku", "product_sku");
	add_dmi(o, "family", "product_family");
	return o;
}

static void topology(const struct cpuinfo *ci, long cpus, int *sockets, int *cores, int *threads)
{
	*sockets = ci->packages > 0 ? ci->packages : 1;
	*cores = ci->cores > 0 ? ci->cores : (int)(cpus / *sockets);
	*threads = ci->cores > 0 && ci->siblings >= ci->cores ? ci->siblings / ci->cores : 1;
	if (*cores < 1)
		*cores = 1;
}

json_t *hostinfo_json(const uint8_t host_uuid[16])
{
	struct cpuinfo ci;
	struct utsname u;
	char uuid[37], host[256] = "";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int sockets, cores, threads;

	read_cpuinfo(&ci);
	topology(&ci, cpus, &sockets, &cores, &threads);
	format_uuid(host_uuid, uuid);
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:I, s:s, s:s, s:o}",
			 "arch", u.machine, "model", ci.model[0] ? ci.model : u.machine,
			 "cpus", (json_int_t)cpus, "mhz", (json_int_t)(ci.mhz + 0.5),
			 "sockets", sockets, "cores", cores, "threads", threads,
			 "numa_cells", numa_cells(), "memory_kib", (json_int_t)meminfo_kib(),
			 "hostname", host, "host_uuid", uuid, "smbios", smbios_json());
}
