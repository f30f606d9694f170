/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store: pgrd's state directory on disk.
 *
 *   STATE/pgrd.lock             flock()ed by the running pgrd, which writes its pid there
 *   STATE/host-uuid             this host's UUID, generated once
 *   STATE/domains/NAME.xml      persistent definitions (domain XML)
 *   STATE/run/NAME.json         a running domain: pid, sockets, id, state
 *   STATE/run/NAME.xml          the definition it was started with
 *   STATE/run/NAME.sock         its monitor's API socket
 *   STATE/run/NAME.serial       its monitor's serial (console) socket
 *   STATE/log/NAME.log          its monitor's stderr, with pgrd's start/stop lines
 *   STATE/log/NAME.console      everything the guest wrote on its serial line
 *
 * Files are replaced atomically (write a temporary, fsync, rename, fsync
 * the directory), so a crash leaves the old version or the new one.
 * It knows file names and atomicity, not what the files mean.
 */
#ifndef PGR_DAEMON_STORE_H
#define PGR_DAEMON_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store {
	char *dir;
	int lock_fd;
};

/* Create the directories and take the lock. 0, or -errno with *err
 * (malloc'd, one line); -EBUSY when another pgrd holds it. */
int store_open(struct store *s, const char *dir, char **err);
void store_close(struct store *s);

/* malloc'd "STATE/@sub/@name@suffix" (@sub may be NULL), or NULL. */
char *store_path(const struct store *s, const char *sub, const char *name, const char *suffix);

/* The host UUID: @configured if not NULL (and stored), else the stored
 * one, else a new one (stored). 0 or -errno with *err. */
int store_host_uuid(struct store *s, const uint8_t *configured, uint8_t uuid[16], char **err);

/* Replace @path with @len bytes atomically. 0 or -errno. */
int store_write_atomic(const char *path, const void *data, size_t len);
/* Read a whole file of at most @max bytes into a NUL-terminated malloc'd
 * buffer. 0, -errno, or -EFBIG. */
int store_read_file(const char *path, size_t max, char **data, size_t *len);
/* Unlink, ignoring a missing file. 0 or -errno. */
int store_remove(const char *path);

/* Call @fn for each "STATE/@sub/NAME@suffix" with NAME (valid domain names
 * only; others are skipped). Stops at the first non-zero return. */
int store_each(const struct store *s, const char *sub, const char *suffix,
	       int (*fn)(void *opaque, const char *name), void *opaque);

#endif
