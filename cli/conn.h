/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn: pgr's connection to a pgrd — the stream dial.c opens for the -c
 * URI (a unix socket, TCP, or ssh running `pgr tunnel`), the greeting
 * (or, from a relocation server, its one refusal line), and calls on the
 * management protocol (docs/pgrd.md): synchronous, or sent and then waited
 * for with a time limit, so that `pgr migrate --verbose` can draw progress
 * meanwhile.
 */
#ifndef PGR_CLI_CONN_H
#define PGR_CLI_CONN_H

#include "cli/dial.h"

#include <jansson.h>
#include <stddef.h>

struct conn;

/* NULL with *err (malloc'd, one line) on failure. @uri may be NULL. */
struct conn *conn_open(const char *uri, char **err);
void conn_close(struct conn *c);

/* Send a request and wait for its answer: the whole reply object (new
 * reference), or NULL with *err (malloc'd) if the connection failed. */
json_t *conn_request(struct conn *c, const char *cmd, json_t *args, char **err);

/* The same in two steps. conn_send: the request's id, or -1 with *err.
 * conn_wait: the reply to @id; NULL with *err if the connection failed,
 * or NULL with *err NULL (errno ETIMEDOUT or EINTR) when @timeout_ms
 * passed or a signal came first; call it again to go on waiting. */
long long conn_send(struct conn *c, const char *cmd, json_t *args, char **err);
json_t *conn_wait(struct conn *c, long long id, int timeout_ms, char **err);

/* The socket, for the console; *rest (*rest_len bytes) is what was read
 * past the last reply. The connection is no longer usable for requests. */
int conn_take_fd(struct conn *c, const char **rest, size_t *rest_len);

/* Where this connection goes, for messages: a socket path, HOST:PORT, or
 * the ssh URI. */
const char *conn_where(const struct conn *c);

#endif
