/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proto/migration.h: the Peregrine migration stream on the wire — the one
 * format written by save (to a file) and by live migration (to a socket).
 * docs/migration-stream.md is the prose version of this file.
 *
 * Every integer is little-endian. The structs below document the layout and
 * give its sizes; code reads and writes the fields one by one through
 * lib/stream (never by casting a buffer), so packing and host endianness do
 * not matter. The encoder and decoder are migration/format.c; RAM, CPU and
 * device payloads are produced by their owners (migration/ram.c, vmm/, the
 * devices' save/load ops) — this file only fixes the framing around them.
 *
 * Layout:
 *   header                                    (68 bytes, once)
 *   section*                                  (DEFINITION first, END last)
 * section:
 *   struct pgr_mig_section                    (52 bytes)
 *   payload                                   (length bytes)
 *   u32 crc32c(section header + payload)      (RAM_IMAGE: see below)
 */
#ifndef PGR_PROTO_MIGRATION_H
#define PGR_PROTO_MIGRATION_H

#include <stdint.h>

/* ---- header --------------------------------------------------------------- */

#define PGR_MIG_MAGIC        "PGRMIG\r\n"  /* \r\n: text-mode damage shows */
#define PGR_MIG_MAGIC_LEN    8
#define PGR_MIG_VERSION      1             /* format version this build writes and reads */
#define PGR_MIG_VMM_VERSION_LEN 32
#define PGR_MIG_UUID_LEN     16

/* Header flags: what kind of stream this is. Unknown bits are refused. */
#define PGR_MIG_F_SAVE       (1u << 0)  /* a save file: RAM is one RAM_IMAGE section */
#define PGR_MIG_F_LIVE       (1u << 1)  /* live migration: RAM in RAM_PAGES rounds */
#define PGR_MIG_F_KNOWN      (PGR_MIG_F_SAVE | PGR_MIG_F_LIVE)

struct pgr_mig_header {
	uint8_t  magic[PGR_MIG_MAGIC_LEN];   /* "PGRMIG\r\n" */
	uint32_t version;                    /* PGR_MIG_VERSION */
	uint32_t flags;                      /* PGR_MIG_F_* */
	char     vmm_version[PGR_MIG_VMM_VERSION_LEN]; /* writer's version, NUL padded */
	uint8_t  host_uuid[PGR_MIG_UUID_LEN];           /* writer host's UUID */
	uint32_t crc;                        /* crc32c of the 64 bytes before it */
} __attribute__((packed));
#define PGR_MIG_HEADER_SIZE  68

/* ---- sections ------------------------------------------------------------- */

enum pgr_mig_type {
	PGR_MIG_DEFINITION = 1,  /* VM definition, JSON text (lib/vmconfig); first section */
	PGR_MIG_RAM_PAGES  = 2,  /* streamed RAM: a sequence of pgr_mig_ram_run */
	PGR_MIG_RAM_IMAGE  = 3,  /* file RAM: page-aligned regions for mmap restore */
	PGR_MIG_CPU        = 4,  /* one per vCPU, instance = vCPU index; payload: vmm/cpu-state */
	PGR_MIG_DEVICE     = 5,  /* one per device: name + instance + version; payload: the device's */
	PGR_MIG_VM         = 6,  /* VM-wide state: irqchip, PIT, clock; payload: vmm/ */
	PGR_MIG_ROUND      = 7,  /* pre-copy round marker, struct pgr_mig_round; optional to read */
	PGR_MIG_END        = 8,  /* end marker, empty payload; nothing follows */
	PGR_MIG_BLOCKS     = 9,  /* disk blocks (storage copy): pgr_mig_block_run*, instance = disk */
};
#define PGR_MIG_TYPE_MAX     9

#define PGR_MIG_NAME_LEN     32   /* NUL padded, at least one NUL, printable ASCII */

struct pgr_mig_section {
	uint32_t type;                  /* enum pgr_mig_type; unknown types are refused */
	uint32_t version;               /* version of this section's payload layout */
	uint32_t instance;              /* vCPU index, device instance; 0 for singletons */
	char     name[PGR_MIG_NAME_LEN];/* "definition", "ram", "cpu", "serial", "virtio-blk" */
	uint64_t length;                /* payload bytes, not counting header or CRC */
} __attribute__((packed));
#define PGR_MIG_SECTION_SIZE 52
#define PGR_MIG_CRC_SIZE     4

/* Bounds a reader enforces on section length (bytes) and instance. */
#define PGR_MIG_DEFINITION_MAX  (1u << 20)
#define PGR_MIG_RAM_PAGES_MAX   (1ull << 30)
#define PGR_MIG_CPU_MAX         (1u << 20)
#define PGR_MIG_DEVICE_MAX      (16u << 20)
#define PGR_MIG_VM_MAX          (1u << 20)
#define PGR_MIG_BLOCKS_MAX      (1ull << 30)
#define PGR_MIG_RAM_IMAGE_MAX   (1ull << 41)   /* 1 TiB of RAM plus tables */
#define PGR_MIG_MAX_VCPUS       1024           /* CPU instance < this */
#define PGR_MIG_MAX_INSTANCE    65535          /* DEVICE, BLOCKS instance <= this */

/* ---- RAM_PAGES (version 1) ------------------------------------------------
 * Payload: runs back to back until the payload length is used up. A run
 * covers npages guest pages from gpa. ZERO: the pages are all zero, no bytes
 * follow. DATA: npages * 4096 bytes of page contents follow the run header.
 * Exactly one of ZERO or DATA is set; other bits are refused. Addresses are
 * page aligned and gpa + npages * 4096 <= 2^52.
 */
#define PGR_MIG_PAGE_SIZE       4096u
#define PGR_MIG_GPA_LIMIT       (1ull << 52)
#define PGR_MIG_RUN_ZERO        (1u << 0)
#define PGR_MIG_RUN_DATA        (1u << 1)

struct pgr_mig_ram_run {
	uint64_t gpa;      /* guest-physical address, page aligned */
	uint32_t npages;   /* >= 1 */
	uint32_t flags;    /* PGR_MIG_RUN_ZERO or PGR_MIG_RUN_DATA */
} __attribute__((packed));
#define PGR_MIG_RAM_RUN_SIZE 16

/* ---- RAM_IMAGE (version 1) ------------------------------------------------
 * Written by save; laid out so restore can mmap guest RAM from the file.
 * Payload:
 *   u32 nr_regions (1..PGR_MIG_IMAGE_MAX_REGIONS), u32 chunk_shift (21)
 *   nr_regions * struct pgr_mig_image_region
 *   zero padding up to the next 4 KiB boundary of the stream
 *   region bytes: region 0 at regions[0].offset, region 1 right after it...
 *       (sizes are page multiples, so every region starts 4 KiB aligned;
 *        all-zero pages are holes in a save file)
 *   chunk CRC table: for each region in order, one u32 crc32c per 2 MiB
 *       chunk of its bytes (the last chunk may be shorter)
 * The section CRC covers the section header, the tables and the padding but
 * NOT the region bytes: those are covered by the chunk CRCs, so a reader can
 * map the file lazily and check chunks in parallel or skip holes cheaply.
 * Offsets are stream offsets (from the first byte of the header), which are
 * file offsets for a save file.
 */
#define PGR_MIG_IMAGE_MAX_REGIONS 8
#define PGR_MIG_IMAGE_CHUNK_SHIFT 21
#define PGR_MIG_IMAGE_ALIGN       4096u

struct pgr_mig_image_region {
	uint64_t gpa;      /* guest-physical start, page aligned */
	uint64_t size;     /* bytes, page multiple, > 0 */
	uint64_t offset;   /* stream offset of the region's first byte, 4 KiB aligned */
} __attribute__((packed));
#define PGR_MIG_IMAGE_REGION_SIZE 24

/* ---- ROUND (version 1): statistics of one pre-copy round ------------------ */
struct pgr_mig_round {
	uint32_t round;          /* 1, 2, ...; the stop-and-copy round is last */
	uint32_t flags;          /* PGR_MIG_ROUND_F_*; unknown bits ignored */
	uint64_t data_pages;     /* pages sent with data this round */
	uint64_t zero_pages;     /* pages sent as zero this round */
	uint64_t dirty_pages;    /* pages left dirty when the round ended */
	uint64_t duration_ns;    /* wall time of the round */
	uint64_t bytes;          /* stream bytes of the round */
} __attribute__((packed));
#define PGR_MIG_ROUND_SIZE        48
#define PGR_MIG_ROUND_F_FINAL     (1u << 0)   /* stop-and-copy: guest paused */

/* ---- BLOCKS (version 1): disk blocks for storage copy ----------------------
 * instance = disk index in the definition, name = target ("vda"). Payload:
 * runs { u64 offset, u32 nsectors, u32 flags } of 512-byte sectors, flags
 * ZERO (no bytes follow) or DATA (nsectors * 512 bytes follow), as RAM runs.
 */
#define PGR_MIG_SECTOR_SIZE       512u
struct pgr_mig_block_run {
	uint64_t offset;   /* byte offset in the disk, sector aligned */
	uint32_t nsectors; /* >= 1 */
	uint32_t flags;    /* PGR_MIG_RUN_ZERO or PGR_MIG_RUN_DATA */
} __attribute__((packed));
#define PGR_MIG_BLOCK_RUN_SIZE    16
#define PGR_MIG_DISK_LIMIT        (1ull << 56)

#endif
