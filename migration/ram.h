/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ram: the RAM side of pre-copy — KVM dirty logging (manual-protect mode
 * when KVM has it, so write protection is applied a few MiB at a time
 * instead of stalling the guest for the whole of RAM at once), the pages
 * the monitor itself wrote, and sending dirty pages as RAM_PAGES sections.
 * Pages never touched are sent as zero runs without being read. The
 * policy (when to stop) is converge.c's; the thread is outgoing.c's.
 */
#ifndef PGR_MIGRATION_RAM_H
#define PGR_MIGRATION_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/memory.h"

struct format_writer;
struct format_reader;
struct format_section;

struct ram_sender {
	struct guest_mem *gm;
	int vm_fd;
	struct format_writer *w;
	bool manual;                 /* KVM_CLEAR_DIRTY_LOG in use */
	uint64_t *dirty[GM_MAX_REGIONS];  /* pages to send, one bit each */
	uint64_t max_bandwidth;      /* bytes/s, 0 = unlimited */
	const bool *cancel;          /* checked between batches */
	/* called after every batch, for progress reports (may be NULL) */
	void (*progress)(void *opaque, const struct ram_sender *rs);
	void *progress_opaque;
	/* counters, cumulative */
	uint64_t data_pages, zero_pages, bytes;
	/* pacing */
	uint64_t pace_start_ns, pace_start_bytes;
};

int ram_sender_init(struct ram_sender *rs, struct guest_mem *gm, int vm_fd,
		    struct format_writer *w);
void ram_sender_release(struct ram_sender *rs);
/* Turn dirty logging on; every page counts as dirty for the first round. */
int ram_log_start(struct ram_sender *rs);
/* Turn it off again (after a failed or cancelled migration). */
void ram_log_stop(struct ram_sender *rs);
/* Collect KVM's and the monitor's dirty pages; returns how many are dirty. */
int64_t ram_sync(struct ram_sender *rs);
/* Send every page marked dirty. @paused: the guest cannot write any more,
 * no need to re-protect. 0, -ECANCELED, or a stream error. */
int ram_send_dirty(struct ram_sender *rs, bool paused);

/* Receiving side: apply one RAM_PAGES section to @gm. */
int ram_receive_section(struct format_reader *r, struct guest_mem *gm);

uint64_t ram_now_ns(void);

#endif
