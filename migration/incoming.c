// SPDX-License-Identifier: GPL-2.0-only
/*
 * incoming: the destination side of save/restore and live migration.
 * prepare() runs before the VM exists: it opens the file, accepts the
 * source's connection or takes over the one pgrd handed in (fd:N), and reads the header and the definition, which is
 * all the monitor needs to build the VM. start() loads the rest on a
 * thread: RAM (mapped from a save file, or written from RAM_PAGES), then
 * devices, vCPUs and the clock; nothing runs until every section checked
 * out and, for a socket, the source said GO. Any failure ends this process
 * with status 1 (after telling the source why), leaving no guest running.
 */
#include "migration/migration.h"

#define LOG_SUBSYS "incoming"
#include "lib/log.h"
#include "lib/vmconfig.h"
#include "devices/devices.h"
#include "devices/virtio-net.h"
#include "migration/channel.h"
#include "migration/devstate.h"
#include "migration/format.h"
#include "migration/lazy-ram.h"
#include "migration/ram.h"
#include "vmm/control.h"
#include "vmm/kvm-state.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GO_TIMEOUT_MS 60000

struct incoming {
	char *uri;
	bool is_file, paused, lazy;
	int fd;
	struct stream *st;
	struct format_reader *r;
	struct format_header hdr;
	struct vm *vm;
	pthread_t thread;
	struct devstate_loader loader;
	uint64_t t_start, t_loaded;
	char error[512];
};

void migration_incoming_free(struct incoming *in)
{
	if (!in)
		return;
	devstate_loader_release(&in->loader);
	format_reader_free(in->r);
	stream_free(in->st);
	if (in->fd >= 0)
		close(in->fd);
	free(in->uri);
	free(in);
}

static int read_definition(struct incoming *in, struct vm_config *cfg)
{
	struct format_section sec;

	if (format_read_header(in->r, &in->hdr) < 0 || format_read_section(in->r, &sec) < 0)
		return -EIO;
	if (sec.type != PGR_MIG_DEFINITION)
		return format_reader_fail(in->r, -EPROTO, "the first section must be the definition");
	return devstate_read_definition(in->r, cfg);
}

/* fd:N — the inherited socket pgrd connected; ours from here on. */
static int adopt_fd(const char *uri, char **err)
{
	int fd = migration_fd_number(uri), r;

	if (fd < 0)
		return asprintf(err, "expected fd:N, the number of an inherited socket"), -EINVAL;
	r = channel_adopt(fd, err);
	if (r < 0)
		return r;
	pr_info("migration stream on %s", uri);
	return fd;
}

struct incoming *migration_incoming_prepare(struct vm_config *cfg, const char *uri, char **err)
{
	struct incoming *in = calloc(1, sizeof(*in));
	struct vm_config def;

	if (!in)
		return NULL;
	in->uri = strdup(uri);
	in->is_file = channel_kind_of(uri) == CHANNEL_FILE;
	in->fd = in->is_file ? channel_open_file(uri, err) :
		 channel_kind_of(uri) == CHANNEL_FD ? adopt_fd(uri, err) : channel_accept(uri, err);
	if (in->fd < 0) {
		migration_incoming_free(in);
		return NULL;
	}
	in->t_start = ram_now_ns();
	in->st = stream_new_fd(in->fd, STREAM_READ);
	in->r = in->st ? format_reader_new(in->st) : NULL;
	vmconfig_init(&def);
	if (!in->r || read_definition(in, &def) < 0) {
		if (asprintf(err, "%s", in->r ? format_reader_error(in->r) : "out of memory") < 0)
			*err = NULL;
		if (!in->is_file)
			commit_send(in->fd, COMMIT_NACK, *err);
		vmconfig_clear(&def);
		migration_incoming_free(in);
		return NULL;
	}
	vmconfig_clear(cfg);
	*cfg = def;
	return in;
}

/* Save files: guest RAM becomes a private mapping of the file's image. */
static int map_image(struct incoming *in, struct format_ram_image *img)
{
	struct guest_mem *gm = in->vm->gm;

	if (img->nr_regions != (uint32_t)gm->nr_regions)
		return format_reader_fail(in->r, -EINVAL, "RAM layout differs from the definition's");
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		struct gm_region *g = &gm->regions[i];
		struct pgr_mig_image_region *f = &img->region[i];

		if (f->gpa != g->gpa || f->size != g->size)
			return format_reader_fail(in->r, -EINVAL, "RAM region %u differs from the definition's", i);
		if (mmap(g->hva, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
			 in->fd, (off_t)f->offset) == MAP_FAILED)
			return format_reader_fail(in->r, -errno, "cannot map RAM region %u: %s", i,
						  strerror(errno));
	}
	return 0;
}

/* Every chunk's CRC, checked by one thread per CPU (pread only: thread-safe). */
struct verify_job {
	int fd;
	const struct format_ram_image *img;
	uint64_t next;                 /* atomic: the next chunk to check */
	uint64_t bad;                  /* lowest failing chunk, UINT64_MAX if none */
	int err;
};

static void *verify_worker(void *arg)
{
	struct verify_job *j = arg;
	uint64_t k;

	while ((k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->img->nr_chunks) {
		int r = format_ram_image_check_chunk(j->fd, j->img, k);
		uint64_t cur;

		if (!r)
			continue;
		cur = __atomic_load_n(&j->bad, __ATOMIC_RELAXED);
		while (k < cur && !__atomic_compare_exchange_n(&j->bad, &cur, k, false,
							       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if (k <= __atomic_load_n(&j->bad, __ATOMIC_RELAXED))
			__atomic_store_n(&j->err, r, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int verify_image(struct incoming *in, const struct format_ram_image *img)
{
	struct verify_job j = { .fd = in->fd, .img = img, .bad = UINT64_MAX };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, started = 0;
	off_t saved = lseek(in->fd, 0, SEEK_CUR);   /* the chunk checks SEEK_DATA on it */
	pthread_t t[8];

	for (int i = 1; i < n; i++)
		started += pthread_create(&t[i], NULL, verify_worker, &j) == 0;
	verify_worker(&j);
	for (int i = 1; i <= started; i++)
		pthread_join(t[i], NULL);
	if (saved >= 0)
		lseek(in->fd, saved, SEEK_SET);  /* the stream reads on from here */
	if (j.bad == UINT64_MAX)
		return 0;
	return format_reader_fail(in->r, j.err, "RAM image chunk at gpa 0x%llx: %s",
				  (unsigned long long)format_ram_image_chunk_gpa(img, j.bad),
				  j.err == -EBADMSG ? "checksum mismatch" :
				  j.err == STREAM_ETRUNC ? "file truncated" : strerror(-j.err));
}

/* Main loop: the whole image checked out and is in place. */
static void lazy_complete(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	vm->ram_pending = false;
	if (vm_get_state(vm) != VM_INMIGRATE)
		devices_resume_io(vm);    /* what the guest queued meanwhile */
	vm_emit_event(vm, "RESTORE_COMPLETE", NULL);
}

/* Main loop: a chunk did not check out. The vCPUs that touched it wait
 * in the kernel for a page that will never come; only exiting ends them.
 * Device I/O never resumed, so nothing left the guest. */
static void lazy_failed(void *opaque, uint32_t events)
{
	const char *error = opaque;

	pr_err("restore failed after the resume: %s", error);
	fprintf(stderr, "pgr-vmm: incoming migration failed: %s\n", error);
	fflush(NULL);
	_exit(1);
}

static void lazy_done(void *opaque, const char *error)
{
	struct vm *vm = opaque;

	if (error)
		loop_call(vm->loop, lazy_failed, (void *)error);
	else
		loop_call(vm->loop, lazy_complete, vm);
}

void migration_lazy_abandon(struct vm *vm)
{
	if (!vm->lazy)
		return;
	lazy_ram_free(vm->lazy);
	vm->lazy = NULL;
	pr_info("reset before the restore's RAM was all in place: the rest of the file is not read");
	if (vm->ram_pending) {
		vm->ram_pending = false;
		devices_resume_io(vm);
	}
}

/* --lazy: the server thread places RAM from now on; devices stay fenced. */
static int start_lazy(struct incoming *in, struct format_ram_image *img)
{
	struct vm *vm = in->vm;
	char *err = NULL;

	pthread_mutex_lock(&vm->io_lock);
	vm->io_stopped = true;
	pthread_mutex_unlock(&vm->io_lock);
	vm->ram_pending = true;
	vm->lazy = lazy_ram_start(vm->gm, in->fd, img, lazy_done, vm, &err);
	if (vm->lazy)
		return 0;
	format_reader_fail(in->r, -EIO, "%s", err ? err : "out of memory");
	free(err);
	return -EIO;
}

static int load_image(struct incoming *in)
{
	struct format_ram_image img;
	int r;

	if (!in->is_file)
		return format_reader_fail(in->r, -EPROTO, "a save file's RAM_IMAGE on a live "
					  "migration channel: restore save files with --incoming file:PATH");
	r = format_ram_image_begin(in->r, &img);

	if (!r)
		r = format_ram_image_skip(in->r, &img);
	if (!r)
		r = format_ram_image_end(in->r, &img);
	if (!r)
		r = format_read_section_end(in->r);
	if (!r && in->lazy)
		r = start_lazy(in, &img);
	else if (!r)
		r = verify_image(in, &img);
	if (!r && !in->lazy)
		r = map_image(in, &img);
	format_ram_image_release(&img);
	return r;
}

static int load_section(struct incoming *in, const struct format_section *sec)
{
	switch (sec->type) {
	case PGR_MIG_RAM_PAGES:
		if (ram_receive_section(in->r, in->vm->gm) < 0)
			return -EIO;
		return format_read_section_end(in->r);
	case PGR_MIG_RAM_IMAGE:
		return load_image(in);
	case PGR_MIG_ROUND: {
		struct pgr_mig_round round;

		if (format_read_round(in->r, &round) < 0)
			return -EIO;
		return format_read_section_end(in->r);
	}
	case PGR_MIG_DEVICE:
	case PGR_MIG_CPU:
	case PGR_MIG_VM:
		return devstate_load_section(&in->loader, in->r, sec);
	default:
		return format_reader_fail(in->r, -EPROTO, "unexpected %s section",
					  format_type_name(sec->type));
	}
}

static int load_stream(struct incoming *in)
{
	struct format_section sec;
	int r;

	devstate_loader_init(&in->loader, in->vm);
	for (;;) {
		if (format_read_section(in->r, &sec) < 0)
			return -EIO;
		if (sec.type == PGR_MIG_END)
			break;
		r = load_section(in, &sec);
		if (r < 0)
			return r;
	}
	if (format_read_section_end(in->r) < 0)
		return -EIO;
	/* A file ends at END; on a socket the commit handshake follows. */
	if (in->is_file && !stream_eof(in->st))
		return format_reader_fail(in->r, -EBADMSG, "data after the end marker, from offset %llu",
					  (unsigned long long)stream_tell(in->st));
	return devstate_finish(&in->loader, in->r);
}

static void resume_now(void *opaque, uint32_t events)
{
	struct incoming *in = opaque;
	struct vm *vm = in->vm;
	uint64_t downtime;
	char text[32];

	if (kvm_clock_set(vm, in->loader.clock_ns) < 0)
		pr_warn("setting the guest clock: %m");
	vm_set_state(vm, in->paused ? VM_PAUSED : VM_RUNNING);
	if (!vm->ram_pending)
		devices_resume_io(vm);     /* requests the source left in the rings */
	if (!in->paused)
		vm_resume_vcpus(vm);
	downtime = ram_now_ns() - in->t_loaded;
	pr_info("resumed %.1f ms after the stream ended (%s)", downtime / 1e6,
		in->paused ? "paused" : "running");
	if (!in->is_file) {
		snprintf(text, sizeof(text), "%llu", (unsigned long long)downtime);
		commit_send(in->fd, COMMIT_DONE, text);
	}
	vm_emit_event(vm, "RESUME", NULL);
	for (int i = 0; i < vm->nnets; i++)
		virtio_net_announce(vm->nets[i]);
	pthread_join(in->thread, NULL);
	migration_incoming_free(in);
}

static void fail_now(void *opaque, uint32_t events)
{
	struct incoming *in = opaque;

	/* One line for the user, as for every other start-up error. */
	fprintf(stderr, "pgr-vmm: incoming migration failed: %s\n", in->error);
	pthread_join(in->thread, NULL);
	control_quit(in->vm, 1);
	migration_incoming_free(in);
}

static void *incoming_thread(void *arg)
{
	struct incoming *in = arg;
	char text[64], *err = NULL;
	int r = load_stream(in), k;

	if (r < 0) {
		snprintf(in->error, sizeof(in->error), "%s", format_reader_error(in->r));
		if (!in->is_file)
			commit_send(in->fd, COMMIT_NACK, in->error);
		loop_call(in->vm->loop, fail_now, in);
		return NULL;
	}
	in->t_loaded = ram_now_ns();
	pr_info("stream loaded and verified in %.1f ms", (in->t_loaded - in->t_start) / 1e6);
	if (in->is_file && devices_lock_disks(in->vm, &err) < 0) {
		snprintf(in->error, sizeof(in->error), "%s", err ? err : "cannot lock the disks");
		free(err);
		loop_call(in->vm->loop, fail_now, in);
		return NULL;
	}
	if (!in->is_file) {
		if ((k = commit_send(in->fd, COMMIT_ACK, NULL)) == 0)
			k = commit_recv(in->fd, GO_TIMEOUT_MS, text, sizeof(text));
		if (k != COMMIT_GO) {
			snprintf(in->error, sizeof(in->error), "the source did not commit (%s)",
				 k < 0 ? strerror(-k) : "unexpected frame");
			loop_call(in->vm->loop, fail_now, in);
			return NULL;
		}
		/* Ours now, whatever: the source released its disks before GO. */
		if (devices_lock_disks(in->vm, &err) < 0) {
			pr_warn("running without the disk locks: %s", err ? err : "?");
			free(err);
		}
	}
	loop_call(in->vm->loop, resume_now, in);
	return NULL;
}

int migration_incoming_start(struct vm *vm, struct incoming *in, bool paused, bool lazy)
{
	in->vm = vm;
	in->paused = paused;
	in->lazy = lazy;
	vm_set_state(vm, VM_INMIGRATE);
	if (pthread_create(&in->thread, NULL, incoming_thread, in) != 0) {
		migration_incoming_free(in);
		return -EAGAIN;
	}
	return 0;
}
