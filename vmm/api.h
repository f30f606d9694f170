/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api: the monitor's control socket — newline-delimited JSON in QMP's
 * shape: {"execute": NAME, "arguments": {...}, "id": ANY} answered by
 * {"return": ..., "id": ANY} or {"error": {"class": ..., "desc": ...}};
 * events {"event": NAME, "data": {...}, "timestamp": {...}} go to every
 * client. Runs on the main loop; commands are a table (api-commands.c).
 * Protocol documented in docs/api.md.
 */
#ifndef PGR_VMM_API_H
#define PGR_VMM_API_H

#include <jansson.h>

struct api;
struct loop;
struct vm;

/* A command handler: returns the "return" value (new reference), or NULL
 * with *err_class and *err_desc (malloc'd desc) set. */
typedef json_t *(*api_fn)(struct vm *vm, json_t *args, const char **err_class, char **err_desc);

struct api_command {
	const char *name;
	api_fn fn;
};

extern const struct api_command api_commands[];

/* Listen on @path (a stale socket from a dead monitor is replaced). */
struct api *api_new(struct vm *vm, struct loop *loop, const char *path, char **err);
void api_free(struct api *api);
/* Send an event to every client; takes ownership of @data (may be NULL). */
void api_emit_event(struct api *api, const char *event, json_t *data);
/* Process one request line (used by the socket code and by unit tests). */
json_t *api_dispatch(struct vm *vm, const char *line, size_t len);
/* File descriptors sent with requests (SCM_RIGHTS), for getfd and its
 * takers; main loop thread only. api_claim_fd: the oldest fd the client
 * whose request is being dispatched sent and nobody claimed (the caller
 * owns it), or -ENOENT. api_name_fd: keep @fd under @name (1-63 chars),
 * closing one of that name it replaces; -ENOSPC when 16 are named (the
 * caller still owns @fd then). api_take_fd: the fd named @name, no longer
 * named (the caller owns it), or -ENOENT. api_close_fd: close it. */
int api_claim_fd(struct api *api);
int api_name_fd(struct api *api, const char *name, int fd);
int api_take_fd(struct api *api, const char *name);
int api_close_fd(struct api *api, const char *name);
/* Helper for handlers: set an error and return NULL. */
json_t *api_error(const char **err_class, char **err_desc, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
