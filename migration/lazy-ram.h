/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lazy-ram: `--incoming file:PATH --lazy` — the guest resumes before its
 * RAM is read. Every 2 MiB chunk of the save file's RAM image is checked
 * against its CRC before it is placed in guest memory: on the guest's
 * first touch, or by a background pass in address order. The guest never
 * sees a byte that did not check out.
 */
#ifndef PGR_MIGRATION_LAZY_RAM_H
#define PGR_MIGRATION_LAZY_RAM_H

#include "migration/format.h"

struct guest_mem;
struct lazy_ram;

/* Called once on the server thread: @error NULL when every chunk is in
 * place, else what was wrong (the chunk stays out of reach). */
typedef void (*lazy_ram_done_fn)(void *opaque, const char *error);

/* Take over @gm's RAM (still untouched) for the image @img of the save
 * file open on @fd (read through a descriptor of its own); takes
 * img->chunk_crc. NULL with *err on failure. */
struct lazy_ram *lazy_ram_start(struct guest_mem *gm, int fd, struct format_ram_image *img,
				lazy_ram_done_fn done, void *opaque, char **err);
/* Stop the server (if still running) and give RAM back to the kernel's
 * ordinary fault handling. Only once the guest can no longer run: a page
 * not yet placed would read as zeros. */
void lazy_ram_free(struct lazy_ram *l);

#endif
