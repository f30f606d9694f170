// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-pgrdconf: libFuzzer target for pgrd's config file reader
 * (daemon/config.c: key = value lines, quotes, comments, every key's
 * checks). An accepted file must leave settings in their ranges; a
 * refused one must say why. Seeds: tests/fuzz/seeds/fuzz-pgrdconf/.
 */
#include "daemon/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("pgrd.conf", MFD_CLOEXEC);
	char path[64], *err = NULL;
	struct pgrd_config c;

	if (fd < 0 || config_init(&c) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (config_load(&c, path, &err) < 0) {
		if (!err)
			abort();
		free(err);
	} else if (c.relocation_port < 1 || c.relocation_port > 65535 ||
		   c.memory_reserve_mib < 0 || !c.state_dir || c.state_dir[0] != '/' ||
		   (c.cpu_mask && strspn(c.cpu_mask, "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,") !=
				  strlen(c.cpu_mask))) {
		abort();
	}
	config_clear(&c);
	close(fd);
	return 0;
}
