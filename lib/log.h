/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log: the one logging API. Every line is prefixed with the component
 * ("pgr-vmm"), the VM name when known, and the subsystem of the file that
 * logged it; %m works (errno is preserved across the call). Debug output is
 * switched on per subsystem (log_set_debug("kvm,migration") or "all").
 * It does not rotate files or talk to the journal: stderr is the journal's
 * input when run as a service, and a file when asked (log_set_file).
 *
 * A file sets LOG_SUBSYS before including this header.
 */
#ifndef PGR_LOG_H
#define PGR_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *component, const char *vm_name);
void log_set_level(enum log_level level);
void log_set_debug(const char *subsystems);
int log_set_file(const char *path);
int log_debug_enabled(const char *subsys);
void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_SUBSYS
#define LOG_SUBSYS "main"
#endif

#define pr_err(...)   log_msg(LOG_ERR, LOG_SUBSYS, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, LOG_SUBSYS, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, LOG_SUBSYS, __VA_ARGS__)
#define pr_debug(...) do { if (log_debug_enabled(LOG_SUBSYS)) \
		log_msg(LOG_DEBUG, LOG_SUBSYS, __VA_ARGS__); } while (0)

#endif
