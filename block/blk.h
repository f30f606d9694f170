/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blk: block backends behind a small ops table (nbdkit plugins, kvmtool
 * disk images): a device never switches on the backend's type. Only the
 * raw file backend exists now (block/file.c); NBD and iSCSI come next.
 * Calls are synchronous; errors are negative errno values.
 */
#ifndef PGR_BLOCK_BLK_H
#define PGR_BLOCK_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/vmconfig.h"

struct blk;

struct blk_ops {
	const char *name;
	int (*preadv)(struct blk *b, const struct iovec *iov, int n, uint64_t off);
	int (*pwritev)(struct blk *b, const struct iovec *iov, int n, uint64_t off);
	int (*flush)(struct blk *b);
	int (*discard)(struct blk *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len);
	void (*close)(struct blk *b);
};

struct blk {
	const struct blk_ops *ops;
	char *path;
	uint64_t size;         /* bytes */
	bool readonly;
	enum disk_cache cache;
	int fd;
	/* counters for query-block */
	uint64_t rd_bytes, wr_bytes, rd_ops, wr_ops, flush_ops, errors;
};

/* Open the disk of @cfg; NULL with *err (one line naming the path). */
struct blk *blk_open(const struct vm_disk_cfg *cfg, char **err);
void blk_close(struct blk *b);
int blk_preadv(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_pwritev(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_flush(struct blk *b);
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len);

#endif
