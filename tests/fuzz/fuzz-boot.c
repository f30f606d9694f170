// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-boot: arbitrary bytes as a kernel image for boot_load() — the ELF/PVH
 * and bzImage parsers read untrusted files. Each input goes to a memfd,
 * loaded through /proc/self/fd into one 64 MiB guest; the only acceptable
 * outcomes are success or an error with a message, never a crash, a read
 * outside the file or a write outside guest RAM (ASan watches).
 * Seeds: tests/fuzz/seeds/fuzz-boot (a minimal PVH ELF and bzImage).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem *fuzz_gm;

static void fuzz_one(int fd)
{
	char path[64], *err = NULL;
	struct boot_spec spec = { .kernel = path, .cmdline = "console=ttyS0", .ncpus = 2 };
	struct boot_result br;
	int r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = boot_load(fuzz_gm, &spec, &br, &err);
	if (r && !err)
		abort();                /* every failure must explain itself */
	if (r > 0)
		abort();
	if (!r && br.entry >= fuzz_gm->ram_size)
		abort();                /* the entry must be in what was loaded */
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	if (!fuzz_gm) {
		log_set_level(LOG_ERR);
		fuzz_gm = gm_new(64ULL << 20);
		if (!fuzz_gm)
			abort();
	}
	fd = memfd_create("kernel", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	fuzz_one(fd);
	close(fd);
	return 0;
}
