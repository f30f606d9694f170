/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blk: block backends behind a small ops table (nbdkit plugins, kvmtool
 * disk images): a device never switches on the backend's type. Only the
 * raw file backend exists now (block/file.c); NBD and iSCSI come next.
 * Calls are synchronous; errors are negative errno values.
 *
 * Cache modes (docs/block.md): none and writeback complete a write when
 * the backend has it and make it durable only on a flush. writethrough
 * puts writes in the host's page cache too, but a write is not complete
 * until a blk_sync covers it: the caller (devices/virtio-blk.c) does one
 * sync for a whole batch and posts the batch's completions after it.
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
	uint64_t sync_ops;     /* blk_sync calls (writethrough batches) */
};

/* Open the disk of @cfg; NULL with *err (one line naming the path). */
struct blk *blk_open(const struct vm_disk_cfg *cfg, char **err);
/*
 * Claim the image (block/lock.c): exclusively for a writable disk, shared
 * for a read-only one. -EBUSY with *err when another VM has it. A monitor
 * booting takes it at once; an incoming one when the guest is its to run,
 * after the source let go of it (docs/block.md).
 */
int blk_lock(struct blk *b, char **err);
void blk_unlock(struct blk *b);
void blk_close(struct blk *b);
int blk_preadv(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_pwritev(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_flush(struct blk *b);
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len);
/*
 * Must a write, discard, write-zeroes or flush wait for a blk_sync before
 * its completion is reported (cache=writethrough on a writable disk)?
 */
bool blk_sync_before_complete(const struct blk *b);
/*
 * One fdatasync covering @covered requests carried out since the last
 * sync, @flushes of them flush requests (counted as flushes). On failure
 * every covered request counts as failed: the caller fails them all.
 */
int blk_sync(struct blk *b, unsigned covered, unsigned flushes);

#endif
