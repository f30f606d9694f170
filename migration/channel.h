/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * channel: the file or socket a migration stream travels over, and the
 * commit handshake that follows the stream's END on sockets:
 *
 *   source -> destination: the stream, ending with END
 *   destination -> source: ACK (everything loaded and verified) or NACK+reason
 *   source -> destination: GO (the source lets go of the VM: commit point)
 *   destination -> source: DONE (resumed)
 *
 * Frames: "PGRC", u32 kind, u32 length, length bytes of text (<= 4 KiB).
 * Nothing here knows what a VM is.
 */
#ifndef PGR_MIGRATION_CHANNEL_H
#define PGR_MIGRATION_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

enum channel_kind { CHANNEL_FILE, CHANNEL_TCP, CHANNEL_UNIX, CHANNEL_FD };

enum commit_frame { COMMIT_ACK = 1, COMMIT_NACK, COMMIT_GO, COMMIT_DONE };

enum channel_kind channel_kind_of(const char *uri);
/* Source side: connect to tcp:/unix:, or create file: for writing (a
 * temporary name, renamed into place by channel_file_commit). fd or -errno. */
int channel_connect(const char *uri, int timeout_ms, char **err);
int channel_create_file(const char *uri, char **tmp_path, char **err);
int channel_file_commit(int fd, const char *tmp_path, const char *uri, char **err);
/* Destination side: open file: for reading, or listen and accept one peer. */
int channel_accept(const char *uri, char **err);
int channel_open_file(const char *uri, char **err);
/* Either side, fd: — a stream socket somebody else connected (pgrd, over
 * TCP or a socketpair ssh carries): checked to be an open, connected
 * SOCK_STREAM socket of AF_INET, AF_INET6 or AF_UNIX, made blocking and
 * close-on-exec, and tuned as channel_connect tunes its own. 0, or -errno
 * with *err saying why ("not an open stream socket (...)"); the caller
 * owns @fd either way. */
int channel_adopt(int fd, char **err);

int commit_send(int fd, enum commit_frame kind, const char *text);
/* Wait up to @timeout_ms for a frame: kind, or -errno (-ETIMEDOUT, -EPIPE,
 * -EPROTO for garbage). @text gets the frame's text (NUL terminated). */
int commit_recv(int fd, int timeout_ms, char *text, size_t text_len);

#endif
