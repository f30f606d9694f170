/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn: pgr's connection to a pgrd — resolving the -c URI (lib/uri),
 * connecting, reading the greeting, and synchronous calls on the
 * management protocol (docs/pgrd.md). pgr:///system is the default socket
 * (or $PGR_SOCKET, for tests and unprivileged runs); pgr+unix:///PATH any
 * other. Remote URIs (tcp, ssh) are refused for now.
 */
#ifndef PGR_CLI_CONN_H
#define PGR_CLI_CONN_H

#include <jansson.h>
#include <stddef.h>

#define PGR_DEFAULT_SOCKET "/run/peregrine/pgrd.sock"

struct conn;

/* NULL with *err (malloc'd, one line) on failure. @uri may be NULL. */
struct conn *conn_open(const char *uri, char **err);
void conn_close(struct conn *c);

/* Send a request and wait for its answer: the whole reply object (new
 * reference), or NULL with *err (malloc'd) if the connection failed. */
json_t *conn_request(struct conn *c, const char *cmd, json_t *args, char **err);

/* The socket, for the console; *rest (*rest_len bytes) is what was read
 * past the last reply. The connection is no longer usable for requests. */
int conn_take_fd(struct conn *c, const char **rest, size_t *rest_len);

/* The socket path this connection uses (for messages). */
const char *conn_path(const struct conn *c);

#endif
