// SPDX-License-Identifier: GPL-2.0-only
/*
 * lock: one writer per disk image, or any number of readers (see blk.h).
 * An open-file-description lock (F_OFD_SETLK) on the whole image: a
 * writable disk takes it exclusive, a read-only one shared. OFD locks
 * belong to the open file, not the process, so the monitor's threads
 * cannot undo each other's, and they go away with the file: a killed
 * monitor leaves no lock behind. Who holds a conflicting lock is asked
 * with F_OFD_GETLK (the kernel gives no pid for OFD locks: -1).
 */
#include "block/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static int set_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int blk_lock(struct blk *b, char **err)
{
	int r = set_lock(b->fd, b->readonly ? F_RDLCK : F_WRLCK);

	if (r == -EAGAIN || r == -EACCES) {
		if (asprintf(err, "disk %s is in use by another VM (it holds a lock on the image%s); "
			     "two VMs writing one disk would corrupt it", b->path,
			     b->readonly ? " for writing" : "") < 0)
			*err = NULL;
		return -EBUSY;
	}
	if (r < 0 && r != -EINVAL && r != -ENOLCK && r != -EOPNOTSUPP) {
		if (asprintf(err, "disk %s: cannot lock the image: %s", b->path, strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	return 0;          /* locks unsupported there (some network filesystems): go on */
}

void blk_unlock(struct blk *b)
{
	set_lock(b->fd, F_UNLCK);
}
