// SPDX-License-Identifier: GPL-2.0-only
/*
 * outgoing: save and live migration of this VM (see outgoing.h).
 *
 * The commit rule: until the destination has acknowledged a complete,
 * verified stream and we have told it to go, any failure — connection
 * lost, refusal, timeout, cancel — resumes the source exactly as it was.
 * After GO the source never resumes on its own: if the destination does
 * not confirm, the source stays paused (postmigrate) for an operator, so
 * that two copies can never run.
 */
#include "migration/outgoing.h"

#define LOG_SUBSYS "migration"
#include "lib/log.h"
#include "devices/devices.h"
#include "devices/serial.h"
#include "migration/channel.h"
#include "migration/converge.h"
#include "migration/devstate.h"
#include "migration/format.h"
#include "migration/migration.h"
#include "migration/lazy-ram.h"
#include "migration/ram.h"
#include "vmm/api.h"
#include "vmm/control.h"
#include "vmm/loop.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000
#define ACK_TIMEOUT_MS     60000
#define DONE_TIMEOUT_MS    10000

enum mig_status {
	MIG_NONE, MIG_SETUP, MIG_ACTIVE, MIG_DEVICE, MIG_COMPLETED, MIG_FAILED,
	MIG_CANCELLING, MIG_CANCELLED, MIG__NR,
};

static const char *const status_names[MIG__NR] = {
	[MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
	[MIG_DEVICE] = "device", [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
	[MIG_CANCELLING] = "cancelling", [MIG_CANCELLED] = "cancelled",
};

struct migration {
	struct vm *vm;
	pthread_mutex_t lock;          /* status, error, stats */
	enum mig_status status;
	char error[512];
	char *uri;
	bool checkpoint, is_file, thread_live, was_running;
	bool cancel;
	bool io_locked;                /* holding vm->io_lock (guest paused) */
	pthread_t thread;
	int fd;
	struct converge_params params;
	uint64_t max_bandwidth;
	struct converge_state conv;
	/* statistics */
	uint64_t start_ns, end_ns, setup_ns, pause_ns, downtime_ns, dest_downtime_ns;
	uint64_t rounds, bytes, data_pages, zero_pages, remaining_pages, dirty_rate;
	uint64_t expected_downtime_ms;
	uint64_t round_pages, round_sent0;   /* this round's dirty set, pages sent before it */
};

static struct migration *mig_of(struct vm *vm)
{
	struct migration *m = vm->mig;

	if (m)
		return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vm = vm;
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->params = (struct converge_params){
		.downtime_limit_ms = 300, .max_iterations = 29, .auto_converge = false,
	};
	vm->mig = m;
	return m;
}

/* Terminal events carry the whole query-migrate answer: after a completed
 * migration the source exits, and the event is the last word on it. */
static void set_status(struct migration *m, enum mig_status s)
{
	bool terminal = s == MIG_COMPLETED || s == MIG_FAILED || s == MIG_CANCELLED;
	json_t *data;

	pthread_mutex_lock(&m->lock);
	m->status = s;
	pthread_mutex_unlock(&m->lock);
	pr_info("migration %s", status_names[s]);
	data = terminal ? qmp_query_migrate(m->vm, NULL, NULL, NULL) :
			  json_pack("{s:s}", "status", status_names[s]);
	vm_emit_event(m->vm, "MIGRATION", data);
}

static void __attribute__((format(printf, 2, 3)))
set_error(struct migration *m, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	if (!m->error[0]) {
		va_start(ap, fmt);
		vsnprintf(m->error, sizeof(m->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&m->lock);
}

static bool cancelled(struct migration *m)
{
	return __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE);
}

static void host_uuid(uint8_t uuid[16])
{
	char hex[33] = { 0 };
	FILE *f = fopen("/etc/machine-id", "re");

	memset(uuid, 0, 16);
	if (!f)
		return;
	if (fread(hex, 1, 32, f) == 32)
		for (int i = 0; i < 16; i++)
			sscanf(hex + 2 * i, "%2hhx", &uuid[i]);
	fclose(f);
}

/* ---- pausing and giving the VM back ---- */

static void pause_guest(struct migration *m)
{
	struct vm *vm = m->vm;

	m->was_running = vm_get_state(vm) == VM_RUNNING;
	vm_pause_vcpus(vm);
	/* Quiesce device I/O: nothing writes guest memory behind the last pass. */
	pthread_mutex_lock(&vm->io_lock);
	devices_stop_io(vm);
	m->io_locked = true;
	m->pause_ns = ram_now_ns();
	vm_set_state(vm, VM_MIGRATING_PAUSED);
	serial_flush(vm->serial);
}

static void release_io(struct migration *m)
{
	if (m->io_locked) {
		m->io_locked = false;
		pthread_mutex_unlock(&m->vm->io_lock);
	}
}

static void resume_guest(struct migration *m)
{
	struct vm *vm = m->vm;

	release_io(m);
	if (vm_get_state(vm) != VM_MIGRATING_PAUSED)
		return;
	devices_resume_io(vm);     /* requests that came in meanwhile */
	vm_set_state(vm, m->was_running ? VM_RUNNING : VM_PAUSED);
	if (m->was_running)
		vm_resume_vcpus(vm);
}

static void set_throttle(struct vm *vm, uint32_t pct)
{
	for (int i = 0; i < vm->ncpus; i++)
		__atomic_store_n(&vm->vcpus[i]->throttle_pct, pct, __ATOMIC_RELAXED);
}

static void quit_after_migration(void *opaque, uint32_t events)
{
	control_quit(opaque, 0);
}

/* ---- save to a file ---- */

static int write_save(struct migration *m, struct format_writer *w)
{
	struct vm *vm = m->vm;
	struct format_ram_region regions[GM_MAX_REGIONS];
	struct format_ram_stats st = { 0 };
	uint8_t uuid[16];
	int r;

	host_uuid(uuid);
	for (int i = 0; i < vm->gm->nr_regions; i++)
		regions[i] = (struct format_ram_region){
			.gpa = vm->gm->regions[i].gpa, .size = vm->gm->regions[i].size,
			.hva = vm->gm->regions[i].hva,
		};
	r = format_write_header(w, PGR_MIG_F_SAVE, PGR_VERSION, uuid);
	if (!r)
		r = devstate_write_definition(w, &vm->cfg);
	if (!r)
		r = format_write_ram_image(w, regions, vm->gm->nr_regions, &st);
	if (!r)
		r = devstate_write_all(w, vm);
	if (!r)
		r = format_write_end(w);
	m->data_pages = st.data_pages;
	m->zero_pages = st.zero_pages;
	return r ? r : stream_error(format_writer_stream(w));
}

static int do_save(struct migration *m)
{
	char *tmp = NULL, *err = NULL;
	struct stream *st;
	struct format_writer *w;
	int fd = channel_create_file(m->uri, &tmp, &err), r;

	if (fd < 0) {
		set_error(m, "%s", err ? err : "cannot connect");
		free(err);
		return fd;
	}
	st = stream_new_fd(fd, STREAM_WRITE);
	w = st ? format_writer_new(st) : NULL;
	m->setup_ns = ram_now_ns() - m->start_ns;
	set_status(m, MIG_ACTIVE);
	pause_guest(m);
	r = w ? write_save(m, w) : -ENOMEM;
	m->bytes = st ? stream_tell(st) : 0;
	format_writer_free(w);
	stream_free(st);
	if (!r)
		r = channel_file_commit(fd, tmp, m->uri, &err);
	else
		unlink(tmp);
	if (r < 0)
		set_error(m, "cannot write the save file: %s", err ? err : strerror(-r));
	close(fd);
	free(tmp);
	free(err);
	return r;
}

/* ---- live pre-copy ---- */

static void record_round(struct migration *m, struct ram_sender *rs, uint64_t t0,
			 uint64_t bytes0, int64_t dirty)
{
	uint64_t dt = ram_now_ns() - t0;

	pthread_mutex_lock(&m->lock);
	m->rounds++;
	m->bytes = rs->bytes;
	m->data_pages = rs->data_pages;
	m->zero_pages = rs->zero_pages;
	m->remaining_pages = (uint64_t)dirty;
	m->dirty_rate = dt ? (uint64_t)((double)dirty * 1e9 / (double)dt) : 0;
	pthread_mutex_unlock(&m->lock);
	(void)bytes0;
}

/* After every batch: bytes and pages so far, and what is left of this round. */
static void progress(void *opaque, const struct ram_sender *rs)
{
	struct migration *m = opaque;
	uint64_t sent = rs->data_pages + rs->zero_pages;

	pthread_mutex_lock(&m->lock);
	m->bytes = rs->bytes;
	m->data_pages = rs->data_pages;
	m->zero_pages = rs->zero_pages;
	m->remaining_pages = m->round_pages > sent - m->round_sent0 ?
			     m->round_pages - (sent - m->round_sent0) : 0;
	pthread_mutex_unlock(&m->lock);
}

static int precopy(struct migration *m, struct ram_sender *rs, struct format_writer *w)
{
	enum converge_decision d = CONVERGE_CONTINUE;
	int64_t dirty;

	m->round_pages = m->vm->gm->ram_size / 4096;
	for (uint32_t round = 1; d == CONVERGE_CONTINUE; round++) {
		uint64_t t0 = ram_now_ns(), b0 = rs->bytes;
		struct converge_round cr;
		struct pgr_mig_round mr;
		int r;

		m->round_sent0 = rs->data_pages + rs->zero_pages;
		r = ram_send_dirty(rs, false);

		if (r < 0)
			return r;
		dirty = ram_sync(rs);
		if (dirty < 0)
			return (int)dirty;
		cr = (struct converge_round){ round, rs->bytes - b0, ram_now_ns() - t0, (uint64_t)dirty };
		d = converge_decide(&m->params, &m->conv, &cr);
		record_round(m, rs, t0, b0, dirty);
		m->round_pages = (uint64_t)dirty;
		m->expected_downtime_ms = converge_expected_downtime_ms(&m->conv, (uint64_t)dirty);
		set_throttle(m->vm, m->conv.throttle_pct);
		mr = (struct pgr_mig_round){ .round = round, .data_pages = rs->data_pages,
			.zero_pages = rs->zero_pages, .dirty_pages = (uint64_t)dirty,
			.duration_ns = cr.duration_ns, .bytes = cr.sent_bytes };
		r = format_write_round(w, &mr);
		if (r < 0)
			return r;
		pr_debug("round %u: %llu bytes in %llu ms, %lld dirty, decision %d", round,
			 (unsigned long long)cr.sent_bytes, (unsigned long long)cr.duration_ns / 1000000,
			 (long long)dirty, d);
		vm_emit_event(m->vm, "MIGRATION_PASS", json_pack("{s:i}", "pass", round));
	}
	return 0;
}

static int stop_and_copy(struct migration *m, struct ram_sender *rs, struct format_writer *w)
{
	int64_t dirty;
	int r;

	set_status(m, MIG_DEVICE);
	pause_guest(m);
	set_throttle(m->vm, 0);
	dirty = ram_sync(rs);
	if (dirty < 0)
		return (int)dirty;
	r = ram_send_dirty(rs, true);
	if (!r)
		r = devstate_write_all(w, m->vm);
	if (!r)
		r = format_write_end(w);
	m->bytes = rs->bytes;
	m->data_pages = rs->data_pages;
	m->zero_pages = rs->zero_pages;
	m->remaining_pages = 0;
	return r;
}

static void relock_disks(struct vm *vm)
{
	char *err = NULL;

	if (devices_lock_disks(vm, &err) < 0) {
		pr_warn("running on without the disk locks: %s", err ? err : "?");
		free(err);
	}
}

/* After END: ACK, GO, DONE. Returns 0 once committed; 1 if committed but the
 * destination did not confirm; negative before the commit point. */
static int commit(struct migration *m)
{
	char text[512];
	int k = commit_recv(m->fd, ACK_TIMEOUT_MS, text, sizeof(text));

	if (k == COMMIT_NACK) {
		set_error(m, "the destination refused the VM: %s", text);
		return -EREMOTEIO;
	}
	if (k != COMMIT_ACK) {
		set_error(m, "no acknowledgement from the destination: %s",
			  k < 0 ? strerror(-k) : "unexpected frame");
		return k < 0 ? k : -EPROTO;
	}
	if (cancelled(m))
		return -ECANCELED;
	/* The destination claims the disks once it has GO: let go of them. */
	devices_unlock_disks(m->vm);
	if (commit_send(m->fd, COMMIT_GO, NULL) < 0) {
		set_error(m, "lost the destination before the commit: %s", strerror(errno));
		relock_disks(m->vm);
		return -EPIPE;
	}
	vm_set_state(m->vm, VM_POSTMIGRATE);
	k = commit_recv(m->fd, DONE_TIMEOUT_MS, text, sizeof(text));
	m->downtime_ns = ram_now_ns() - m->pause_ns;
	if (k != COMMIT_DONE) {
		set_error(m, "the destination did not confirm that it resumed (%s); this copy "
			  "stays paused: check the destination before 'cont' here",
			  k < 0 ? strerror(-k) : "unexpected frame");
		return 1;
	}
	m->dest_downtime_ns = strtoull(text, NULL, 10);
	return 0;
}

/* The live stream failed (-@e): a peer that went away is named as such,
 * with the phase it went in, so that the source's error points at the
 * destination's log rather than at this side. */
static void set_stream_error(struct migration *m, int e)
{
	const char *when = m->status == MIG_DEVICE ? "in stop-and-copy" : "in pre-copy";

	if (e == -EPIPE || e == -ECONNRESET)
		set_error(m, "the destination closed the connection %s (%s): its own log says why",
			  when, strerror(-e));
	else
		set_error(m, "%s %s", strerror(-e), when);
}

static int do_live(struct migration *m)
{
	struct ram_sender rs;
	struct stream *st = NULL;
	struct format_writer *w = NULL;
	char *err = NULL;
	uint8_t uuid[16];
	int r;

	if (m->fd < 0)     /* fd: gave us the socket already (qmp_migrate) */
		m->fd = channel_connect(m->uri, CONNECT_TIMEOUT_MS, &err);
	if (m->fd < 0) {
		set_error(m, "%s", err ? err : "cannot connect");
		free(err);
		return m->fd;
	}
	host_uuid(uuid);
	st = stream_new_fd(m->fd, STREAM_WRITE);
	w = st ? format_writer_new(st) : NULL;
	r = w ? ram_sender_init(&rs, m->vm->gm, m->vm->kvm.vm_fd, w) : -ENOMEM;
	rs.cancel = &m->cancel;
	rs.max_bandwidth = m->max_bandwidth;
	rs.progress = progress;
	rs.progress_opaque = m;
	if (!r)
		r = format_write_header(w, PGR_MIG_F_LIVE, PGR_VERSION, uuid);
	if (!r)
		r = devstate_write_definition(w, &m->vm->cfg);
	if (!r)
		r = ram_log_start(&rs);
	m->setup_ns = ram_now_ns() - m->start_ns;
	if (!r) {
		set_status(m, MIG_ACTIVE);
		r = precopy(m, &rs, w);
		if (!r && !cancelled(m))
			r = stop_and_copy(m, &rs, w);
		if (!r && stream_error(st))
			r = stream_error(st);
		if (!r && !cancelled(m))
			r = commit(m);
		if (r < 0 || cancelled(m)) {
			set_throttle(m->vm, 0);
			if (r >= 0)
				r = -ECANCELED;
			resume_guest(m);
			ram_log_stop(&rs);
		}
	}
	if (r < 0 && r != -ECANCELED && !cancelled(m))
		set_stream_error(m, stream_error(st) ? stream_error(st) : r);
	ram_sender_release(&rs);
	format_writer_free(w);
	stream_free(st);
	close(m->fd);
	m->fd = -1;
	return r;
}

static void *migration_thread(void *arg)
{
	struct migration *m = arg;
	struct vm *vm = m->vm;
	int r = m->is_file ? do_save(m) : do_live(m);

	m->end_ns = ram_now_ns();
	if (r < 0) {
		if (m->is_file)
			resume_guest(m);
		set_status(m, cancelled(m) ? MIG_CANCELLED : MIG_FAILED);
		if (!cancelled(m))
			pr_err("migration failed: %s", m->error);
		return NULL;
	}
	if (m->is_file && m->checkpoint) {
		resume_guest(m);
	} else if (r == 0) {
		if (m->is_file)
			vm_set_state(vm, VM_POSTMIGRATE);
		m->downtime_ns = m->downtime_ns ? m->downtime_ns : m->end_ns - m->pause_ns;
	}
	release_io(m);
	set_status(m, r == 0 ? MIG_COMPLETED : MIG_FAILED);
	if (r == 0 && !m->checkpoint)
		loop_call(vm->loop, quit_after_migration, vm);
	return NULL;
}

/* ---- API ---- */

/* fd:NAME: the socket getfd named, ours from here on (closed when the
 * migration ends, whatever the outcome). */
static int take_fd(struct vm *vm, const char *name, const char **cls, char **desc)
{
	int fd = vm->api ? api_take_fd(vm->api, name) : -ENOENT;
	char *err = NULL;

	if (fd < 0) {
		api_error(cls, desc, "GenericError",
			  "migrate: no file descriptor named '%s' (send it with getfd)", name);
		return -ENOENT;
	}
	if (channel_adopt(fd, &err) < 0) {
		api_error(cls, desc, "GenericError", "migrate: file descriptor '%s': %s", name,
			  err ? err : "unusable");
		free(err);
		close(fd);
		return -ENOTSOCK;
	}
	return fd;
}

json_t *qmp_migrate(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	struct migration *m = mig_of(vm);
	const char *uri = json_string_value(json_object_get(args, "uri"));
	enum vm_state s = vm_get_state(vm);
	char *err = NULL;

	if (!m)
		return api_error(cls, desc, "GenericError", "out of memory");
	if (!uri || migration_check_uri(uri, &err) < 0) {
		json_t *e = api_error(cls, desc, "GenericError", "%s",
				      err ? err : "'uri' (string) is required");
		free(err);
		return e;
	}
	if (m->thread_live && (m->status == MIG_SETUP || m->status == MIG_ACTIVE ||
			       m->status == MIG_DEVICE || m->status == MIG_CANCELLING))
		return api_error(cls, desc, "GenericError", "a migration is already in progress");
	if (s != VM_RUNNING && s != VM_PAUSED)
		return api_error(cls, desc, "GenericError", "cannot migrate a VM that is %s",
				 vm_state_names[s]);
	if (vm->ram_pending)     /* the source's own copy is not all checked yet */
		return api_error(cls, desc, "GenericError", "the VM's RAM is still being restored "
				 "(--lazy): migrate after the RESTORE_COMPLETE event");
	if (json_is_true(json_object_get(args, "checkpoint")) && channel_kind_of(uri) != CHANNEL_FILE)
		return api_error(cls, desc, "GenericError", "'checkpoint' applies to file: URIs only");
	if (m->thread_live) {
		pthread_join(m->thread, NULL);
		m->thread_live = false;
	}
	if (channel_kind_of(uri) == CHANNEL_FD && (m->fd = take_fd(vm, uri + 3, cls, desc)) < 0)
		return NULL;
	free(m->uri);
	m->uri = strdup(uri);
	m->is_file = channel_kind_of(uri) == CHANNEL_FILE;
	m->checkpoint = json_is_true(json_object_get(args, "checkpoint"));
	m->cancel = false;
	m->error[0] = 0;
	m->conv = (struct converge_state){ 0 };
	m->start_ns = ram_now_ns();
	m->end_ns = m->pause_ns = m->downtime_ns = m->dest_downtime_ns = 0;
	m->rounds = m->bytes = m->data_pages = m->zero_pages = m->remaining_pages = 0;
	set_status(m, MIG_SETUP);
	if (pthread_create(&m->thread, NULL, migration_thread, m) != 0) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		set_status(m, MIG_FAILED);
		return api_error(cls, desc, "GenericError", "cannot start the migration thread");
	}
	m->thread_live = true;
	return json_object();
}

static uint64_t ms(uint64_t ns)
{
	return ns / 1000000ULL;
}

json_t *qmp_query_migrate(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	struct migration *m = vm->mig;
	uint64_t now = ram_now_ns(), total = vm->gm->ram_size;
	json_t *j;

	if (!m || m->status == MIG_NONE)
		return json_object();
	pthread_mutex_lock(&m->lock);
	j = json_pack("{s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I}",
		"status", status_names[m->status],
		"total-time", (json_int_t)ms((m->end_ns ? m->end_ns : now) - m->start_ns),
		"setup-time", (json_int_t)ms(m->setup_ns),
		"expected-downtime", (json_int_t)m->expected_downtime_ms,
		"ram",
		"transferred", (json_int_t)m->bytes,
		"remaining", (json_int_t)(m->remaining_pages * 4096),
		"total", (json_int_t)total,
		"duplicate", (json_int_t)m->zero_pages,
		"normal", (json_int_t)m->data_pages,
		"dirty-pages-rate", (json_int_t)m->dirty_rate,
		"dirty-sync-count", (json_int_t)m->rounds,
		"mbps", (json_int_t)(m->conv.bandwidth * 8 / 1000000),
		"rounds", (json_int_t)m->rounds,
		"throttle-percentage", (json_int_t)m->conv.throttle_pct);
	if (m->downtime_ns)
		json_object_set_new(j, "downtime", json_integer((json_int_t)ms(m->downtime_ns)));
	if (m->downtime_ns)
		json_object_set_new(j, "downtime-us", json_integer((json_int_t)(m->downtime_ns / 1000)));
	if (m->dest_downtime_ns)
		json_object_set_new(j, "destination-downtime-us",
				    json_integer((json_int_t)(m->dest_downtime_ns / 1000)));
	if (m->error[0])
		json_object_set_new(j, "error-desc", json_string(m->error));
	pthread_mutex_unlock(&m->lock);
	return j;
}

json_t *qmp_migrate_cancel(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	struct migration *m = vm->mig;

	if (!m || !m->thread_live || m->status == MIG_COMPLETED || m->status == MIG_FAILED ||
	    m->status == MIG_CANCELLED)
		return json_object();
	__atomic_store_n(&m->cancel, true, __ATOMIC_RELEASE);
	set_status(m, MIG_CANCELLING);
	if (m->fd >= 0)
		shutdown(m->fd, SHUT_RDWR);
	return json_object();
}

static int get_param(json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		     const char **cls, char **desc)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
	    (uint64_t)json_integer_value(v) > max) {
		api_error(cls, desc, "GenericError", "Parameter '%s' expects an integer from %llu to %llu",
			  key, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

json_t *qmp_migrate_set_parameters(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	static const char *const known[] = { "downtime-limit", "max-bandwidth",
					     "max-iterations", "auto-converge" };
	struct migration *m = mig_of(vm);
	uint64_t downtime = m->params.downtime_limit_ms, bw = m->max_bandwidth;
	uint64_t iters = m->params.max_iterations;
	json_t *ac = json_object_get(args, "auto-converge");
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		bool ok = false;

		for (size_t i = 0; i < 4; i++)
			ok |= !strcmp(key, known[i]);
		if (!ok)
			return api_error(cls, desc, "GenericError", "Parameter '%s' is unknown", key);
	}
	if (get_param(args, "downtime-limit", 1, 2000000, &downtime, cls, desc) < 0 ||
	    get_param(args, "max-bandwidth", 0, UINT64_MAX >> 1, &bw, cls, desc) < 0 ||
	    get_param(args, "max-iterations", 1, 1000, &iters, cls, desc) < 0)
		return NULL;
	if (ac && !json_is_boolean(ac))
		return api_error(cls, desc, "GenericError", "Parameter 'auto-converge' expects a boolean");
	m->params.downtime_limit_ms = downtime;
	m->params.max_iterations = (uint32_t)iters;
	m->max_bandwidth = bw;
	if (ac)
		m->params.auto_converge = json_is_true(ac);
	return json_object();
}

json_t *qmp_query_migrate_parameters(struct vm *vm, json_t *args, const char **cls, char **desc)
{
	struct migration *m = mig_of(vm);

	return json_pack("{s:I, s:I, s:I, s:b}",
			 "downtime-limit", (json_int_t)m->params.downtime_limit_ms,
			 "max-bandwidth", (json_int_t)m->max_bandwidth,
			 "max-iterations", (json_int_t)m->params.max_iterations,
			 "auto-converge", m->params.auto_converge);
}

void migration_shutdown(struct vm *vm)
{
	struct migration *m = vm->mig;

	lazy_ram_free(vm->lazy);     /* the vCPUs are paused by now */
	vm->lazy = NULL;

	if (!m)
		return;
	if (m->thread_live) {
		__atomic_store_n(&m->cancel, true, __ATOMIC_RELEASE);
		if (m->fd >= 0)
			shutdown(m->fd, SHUT_RDWR);
		pthread_join(m->thread, NULL);
		m->thread_live = false;
	}
	free(m->uri);
	pthread_mutex_destroy(&m->lock);
	free(m);
	vm->mig = NULL;
}
