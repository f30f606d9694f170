/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config: pgrd's settings — built-in defaults, then the config file
 * (`key = value` lines, '#' comments, values optionally in "..." or '...'),
 * then the command line, each overriding the one before. Known keys:
 *
 *   state_dir, socket, log_file, vmm_path, host_uuid,
 *   relocation_server (yes/no), relocation_address, relocation_port,
 *   relocation_hosts_allow, memory_reserve (MiB), cpu_mask (features)
 *
 * Setting relocation_address or relocation_port turns the relocation
 * server on (as does relocation_server = yes); it is off by default.
 * Unknown keys and malformed lines are errors naming the file and line.
 * It does no I/O beyond reading the file.
 */
#ifndef PGR_DAEMON_CONFIG_H
#define PGR_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define PGRD_DEFAULT_CONFIG     "/etc/peregrine/pgrd.conf"
#define PGRD_DEFAULT_STATE_DIR  "/var/lib/peregrine"
#define PGRD_DEFAULT_SOCKET     "/run/peregrine/pgrd.sock"
#define PGRD_CONFIG_MAX_LINE    4096

struct pgrd_config {
	char *state_dir;
	char *socket;
	char *log_file;              /* NULL: stderr (foreground) or STATE/log/pgrd.log */
	char *vmm_path;              /* NULL: next to pgrd, then PATH */
	bool host_uuid_set;
	uint8_t host_uuid[16];
	char *relocation_address;    /* NULL: all addresses */
	int relocation_port;
	char *relocation_hosts_allow;/* NULL or "": every host */
	bool relocation_server;      /* listen for other hosts */
	long memory_reserve_mib;     /* MemAvailable not given to arriving guests */
	char *cpu_mask;              /* "avx2,aes": features guests do not get here; NULL: none */
};

/* Defaults (allocated). 0 or -ENOMEM. */
int config_init(struct pgrd_config *c);
void config_clear(struct pgrd_config *c);
/* Apply the file at @path over @c. 0, or -errno with *err (malloc'd, one
 * line: "FILE:LINE: what is wrong"). */
int config_load(struct pgrd_config *c, const char *path, char **err);
/* Set one key (as the file would). 0, or -EINVAL with *err (malloc'd). */
int config_set(struct pgrd_config *c, const char *key, const char *value, char **err);

#endif
