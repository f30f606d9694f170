// SPDX-License-Identifier: GPL-2.0-only
/*
 * block/file: a raw image file or block device. cache=none opens with
 * O_DIRECT (requests whose buffers are not 512-byte aligned go through a
 * bounce buffer), writeback and writethrough plain: writethrough is not
 * O_DSYNC (one sync per write, 26-34 MiB/s) but one fdatasync per batch of
 * writes, blk_sync, which the device calls before it completes them. Discard
 * punches holes; write-zeroes uses FALLOC_FL_ZERO_RANGE or falls back to
 * writing zeros. Also the blk_* wrappers that count and dispatch.
 */
#include "block/blk.h"

#define LOG_SUBSYS "block"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIRECT_ALIGN 512

static bool iov_aligned(const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) % DIRECT_ALIGN)
			return false;
	return true;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Full transfer or an error: short reads past EOF read as zeros. */
static int rw_full(struct blk *b, const struct iovec *iov, int n, uint64_t off, bool wr)
{
	size_t want = iov_total(iov, n), done = 0;
	struct iovec local[n > 0 ? n : 1];

	memcpy(local, iov, n * sizeof(*iov));
	while (done < want) {
		struct iovec *v = local;
		int cnt = n;
		size_t skip = done;
		ssize_t r;

		while (cnt && skip >= v->iov_len) {
			skip -= v->iov_len;
			v++;
			cnt--;
		}
		v->iov_base = (uint8_t *)v->iov_base + skip;
		v->iov_len -= skip;
		r = wr ? pwritev(b->fd, v, cnt, (off_t)(off + done))
		       : preadv(b->fd, v, cnt, (off_t)(off + done));
		memcpy(local, iov, n * sizeof(*iov));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return wr ? -EIO : -ENODATA;
		done += (size_t)r;
	}
	return 0;
}

static int bounce(struct blk *b, const struct iovec *iov, int n, uint64_t off, bool wr)
{
	size_t len = iov_total(iov, n), done = 0;
	void *buf;
	struct iovec one;
	int r;

	if (posix_memalign(&buf, 4096, len ? len : DIRECT_ALIGN))
		return -ENOMEM;
	if (wr)
		for (int i = 0; i < n; i++, done += iov[i - 1].iov_len)
			memcpy((uint8_t *)buf + done, iov[i].iov_base, iov[i].iov_len);
	one = (struct iovec){ buf, len };
	r = rw_full(b, &one, 1, off, wr);
	done = 0;
	if (!r && !wr)
		for (int i = 0; i < n; i++, done += iov[i - 1].iov_len)
			memcpy(iov[i].iov_base, (uint8_t *)buf + done, iov[i].iov_len);
	free(buf);
	return r;
}

static int file_rw(struct blk *b, const struct iovec *iov, int n, uint64_t off, bool wr)
{
	if (b->cache == DISK_CACHE_NONE && (!iov_aligned(iov, n) || off % DIRECT_ALIGN))
		return bounce(b, iov, n, off, wr);
	return rw_full(b, iov, n, off, wr);
}

static int file_preadv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return file_rw(b, iov, n, off, false);
}

static int file_pwritev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return file_rw(b, iov, n, off, true);
}

static int file_flush(struct blk *b)
{
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

static int file_discard(struct blk *b, uint64_t off, uint64_t len)
{
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;   /* discard is advisory */
	return 0;
}

static int file_write_zeroes(struct blk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536] __attribute__((aligned(4096)));

	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		struct iovec v = { (void *)zeros, len < sizeof(zeros) ? len : sizeof(zeros) };
		int r = rw_full(b, &v, 1, off, true);

		if (r < 0)
			return r;
		off += v.iov_len;
		len -= v.iov_len;
	}
	return 0;
}

static void file_close(struct blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
}

static const struct blk_ops file_ops = {
	.name = "file",
	.preadv = file_preadv,
	.pwritev = file_pwritev,
	.flush = file_flush,
	.discard = file_discard,
	.write_zeroes = file_write_zeroes,
	.close = file_close,
};

static int file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

struct blk *blk_open(const struct vm_disk_cfg *cfg, char **err)
{
	struct blk *b = calloc(1, sizeof(*b));
	int flags = (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int r;

	if (!b)
		return NULL;
	if (cfg->cache == DISK_CACHE_NONE)
		flags |= O_DIRECT;
	b->ops = &file_ops;
	b->path = strdup(cfg->path);
	b->readonly = cfg->readonly;
	b->cache = cfg->cache;
	b->fd = open(cfg->path, flags);
	if (b->fd < 0 && errno == EINVAL && (flags & O_DIRECT)) {
		r = -EINVAL;
		if (asprintf(err, "disk %s: cache=none needs O_DIRECT, which this file system "
			     "refuses; use cache=writeback", cfg->path) < 0)
			*err = NULL;
		goto fail;
	}
	if (b->fd < 0 || (r = file_size(b->fd, &b->size)) < 0) {
		if (asprintf(err, "disk %s: %s", cfg->path, strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	if (b->size % 512)
		pr_warn("disk %s: size is not a multiple of 512; the last %llu bytes are not visible",
			cfg->path, (unsigned long long)(b->size % 512));
	return b;
fail:
	blk_close(b);
	return NULL;
}

void blk_close(struct blk *b)
{
	if (!b)
		return;
	if (b->ops)
		b->ops->close(b);
	free(b->path);
	free(b);
}

static int count(struct blk *b, int r)
{
	if (r < 0)
		b->errors++;
	return r;
}

int blk_preadv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	b->rd_ops++;
	b->rd_bytes += iov_total(iov, n);
	return count(b, b->ops->preadv(b, iov, n, off));
}

int blk_pwritev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	if (b->readonly)
		return count(b, -EROFS);
	b->wr_ops++;
	b->wr_bytes += iov_total(iov, n);
	return count(b, b->ops->pwritev(b, iov, n, off));
}

int blk_flush(struct blk *b)
{
	b->flush_ops++;
	return b->readonly ? 0 : count(b, b->ops->flush(b));
}

bool blk_sync_before_complete(const struct blk *b)
{
	return b->cache == DISK_CACHE_WRITETHROUGH && !b->readonly;
}

int blk_sync(struct blk *b, unsigned covered, unsigned flushes)
{
	int r;

	b->sync_ops++;
	b->flush_ops += flushes;
	r = b->ops->flush(b);
	if (r < 0)
		b->errors += covered;
	return r;
}

int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
	return b->readonly ? count(b, -EROFS) : count(b, b->ops->discard(b, off, len));
}

int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len)
{
	return b->readonly ? count(b, -EROFS) : count(b, b->ops->write_zeroes(b, off, len));
}
