/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api: pgrd's management socket — newline-delimited JSON in the monitor's
 * shape (docs/pgrd.md): a greeting {"pgrd": {...}}, then requests
 * {"execute": NAME, "arguments": {...}, "id": ANY} each answered, in its
 * own time, by {"return": ..., "id": ANY} or {"error": {"class", "desc"},
 * "id": ANY}. A request becomes a struct api_call handed to its command
 * (commands.c); the command answers it at once or keeps it until the work
 * is done (a start waits for the monitor). A call whose client has gone is
 * answered into the void.
 *
 * `domain-console` turns its connection into the raw console stream:
 * api_call_hijack takes the socket away from the API.
 */
#ifndef PGR_DAEMON_API_H
#define PGR_DAEMON_API_H

#include <jansson.h>
#include <stddef.h>

struct pgrd;
struct api;
struct api_call;

/* Error classes (the "class" of an error reply). */
#define API_ERR_GENERIC     "GenericError"
#define API_ERR_NOT_FOUND   "CommandNotFound"
#define API_ERR_ARG         "InvalidArgument"
#define API_ERR_NO_DOMAIN   "NoDomain"
#define API_ERR_INVALID     "OperationInvalid"   /* not in this state */
#define API_ERR_FAILED      "OperationFailed"
#define API_ERR_BUSY        "Busy"               /* another job is running */
#define API_ERR_XML         "XMLError"
#define API_ERR_UNSUPPORTED "Unsupported"
#define API_ERR_DENIED      "AccessDenied"       /* relocation_hosts_allow */

/* Listen on @path (its directory is created; a stale socket is replaced,
 * a live one refused). NULL with *err (malloc'd). */
struct api *api_new(struct pgrd *p, const char *path, char **err);
void api_free(struct api *a);
/* Also serve the API on TCP @address:@port (NULL: all addresses), to the
 * peers @allow (lib/allowlist.h; NULL: all) matches — the relocation
 * server of docs/relocation.md. 0 or -errno with *err. */
int api_listen_tcp(struct api *a, const char *address, int port, const char *allow, char **err);

/* Answer @call (which is freed): @ret is stolen (NULL means {}). */
void api_return(struct api_call *call, json_t *ret);
void api_fail(struct api_call *call, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Free @call without an answer (pgrd is stopping). */
void api_call_drop(struct api_call *call);
struct pgrd *api_call_pgrd(const struct api_call *call);

/* For domain-console: answer @call with {} and take its connection out of
 * the API. *fd is the socket; *first (malloc'd, *first_len bytes) the reply
 * line still to be sent on it; *input (malloc'd, *input_len) bytes the
 * client sent after the request. Frees @call. 0, or -errno (the call is
 * then answered with an error and freed). */
int api_call_hijack(struct api_call *call, int *fd, char **first, size_t *first_len,
		    char **input, size_t *input_len);

/* The socket @call came on, -1 if its client is gone. Still the API's. */
int api_call_fd(const struct api_call *call);
/* "name (address)" of a TCP client; NULL for the unix socket or a gone client. */
const char *api_call_peer(const struct api_call *call);
/* Answer @call with @ret (stolen), wait until the answer is sent, and
 * close the API's copy of the connection: whoever holds another copy (a
 * monitor, given it as --incoming fd:N) now owns the conversation. The
 * client must not have sent anything after the request (-EPROTO). */
int api_call_release(struct api_call *call, json_t *ret);

/* The command table (commands.c). */
typedef void (*api_cmd_fn)(struct api_call *call, json_t *args);
struct api_command {
	const char *name;
	api_cmd_fn fn;
};
extern const struct api_command api_commands[];

#endif
