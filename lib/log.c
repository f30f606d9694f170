// SPDX-License-Identifier: GPL-2.0-only
/*
 * log: prefixed, levelled messages to stderr or a file. Thread-safe: one
 * fprintf per line under the stdio lock. See log.h.
 */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_component = "pgr";
static char log_vm[64];
static enum log_level log_level = LOG_INFO;
static char log_debug[256];
static FILE *log_out;

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARN] = "warning",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_init(const char *component, const char *vm_name)
{
	log_component = component;
	snprintf(log_vm, sizeof(log_vm), "%s", vm_name ? vm_name : "");
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_debug(const char *subsystems)
{
	snprintf(log_debug, sizeof(log_debug), ",%s,", subsystems ? subsystems : "");
}

int log_set_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	log_out = f;
	return 0;
}

int log_debug_enabled(const char *subsys)
{
	char key[40];

	if (!log_debug[0])
		return 0;
	if (strstr(log_debug, ",all,"))
		return 1;
	snprintf(key, sizeof(key), ",%s,", subsys);
	return strstr(log_debug, key) != NULL;
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	int saved = errno;
	FILE *out = log_out ? log_out : stderr;
	struct timespec ts;
	char line[1024];
	va_list ap;

	if (level > log_level && !(level == LOG_DEBUG && log_debug_enabled(subsys)))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	errno = saved;
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(out, "%ld.%03ld %s%s%s%s %s: %s: %s\n", (long)ts.tv_sec,
		ts.tv_nsec / 1000000, log_component, log_vm[0] ? "[" : "", log_vm,
		log_vm[0] ? "]" : "", subsys, level_names[level], line);
	errno = saved;
}
