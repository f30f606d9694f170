// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgr-vmm: one VM per process. main() parses the command line into a
 * vm_config (what the guest sees) and vm_opts (host-local settings),
 * builds the VM, boots it or waits for an incoming migration, and runs the
 * main loop until the guest powers off, the user quits, or it is migrated
 * away. Flag errors are one line naming the flag, exit status 2.
 */
#define LOG_SUBSYS "main"
#include "lib/log.h"
#include "lib/vmconfig.h"
#include "devices/serial.h"
#include "devices/virtio-net.h"
#include "devices/virtio-pci.h"
#include "migration/channel.h"
#include "devices/devices.h"
#include "migration/migration.h"
#include "vmm/api.h"
#include "vmm/cpuid.h"
#include "vmm/control.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct args {
	struct vm_config cfg;
	struct vm_config local;  /* --disk/--net given with --incoming: host-local overrides */
	struct vm_opts opts;
	const char *api_socket;
	const char *incoming;
	bool paused, lazy;
	bool print_cpu_features;
	unsigned int shutdown_timeout;
	struct incoming *in;   /* an incoming stream, header and definition read */
};

static const char usage[] =
"Usage: pgr-vmm [OPTIONS]\n"
"Run one virtual machine under KVM.\n"
"\n"
"Guest:\n"
"  --name NAME            VM name (default: vm); used in logs and events\n"
"  --uuid UUID            VM UUID (default: random)\n"
"  --kernel FILE          ELF with a PVH entry note (vmlinux, the test guest)\n"
"                         or an x86-64 bzImage\n"
"  --initrd FILE          initial ramdisk\n"
"  --cmdline TEXT         kernel command line\n"
"  --memory SIZE          RAM, e.g. 512M, 4G (default 512M; 16M..1T)\n"
"  --cpus N               vCPUs, 1..64 (default 1)\n"
"  --cpu host[,-FEATURE...]  the host's CPU features minus those named, e.g.\n"
"                         host,-cx16,-xsave (default: host)\n"
"  --print-cpu-features   print the CPU features a guest started with this\n"
"                         --cpu gets on this host, one name per line, sorted\n"
"                         (the names -FEATURE takes), and exit; no VM is made\n"
"Host:\n"
"  --serial SPEC          COM1 backend: stdio (default), file:PATH, unix:PATH\n"
"                         (one client at a time; what the guest writes while\n"
"                         none is attached, the last 64 KiB, goes to the next),\n"
"                         pty, null\n"
"  --api-socket PATH      JSON control socket (QMP-shaped; see docs/api.md)\n"
"  --paused               build the VM but do not start it (\"cont\" starts it)\n"
"  --no-reboot            exit with status 0 when the guest resets\n"
"  --disk path=FILE[,readonly=on|off][,cache=none|writeback|writethrough]\n"
"                         a virtio-blk disk (vda, vdb, ... in order; repeatable;\n"
"                         with --incoming: this host's path for the VM's disk)\n"
"  --net tap=IFNAME[,mac=MAC][,bridge=BR]\n"
"                         a virtio-net NIC on a tap (created if missing; joins\n"
"                         BR when given; repeatable; with --incoming: this host's tap)\n"
"  --incoming URI         wait for the VM's state instead of booting:\n"
"                         file:PATH, tcp:HOST:PORT, unix:PATH, or fd:N (an\n"
"                         inherited, already connected stream socket)\n"
"  --lazy                 with --incoming file:PATH: resume at once; each 2 MiB\n"
"                         of RAM is checked against its CRC when the guest first\n"
"                         touches it, the rest right after in the background;\n"
"                         disk and network requests wait until all of it is.\n"
"                         A bad chunk ends the monitor (status 1) before the\n"
"                         guest reads it and before any request left the guest\n"
"  --shutdown-timeout S   on SIGTERM, seconds the guest gets to power off (5)\n"
"  --debug LIST           debug logs for subsystems (kvm,vcpu,api,...,all)\n"
"  --log-file PATH        log there instead of stderr\n"
"  --help, --version\n"
"\n"
"Exit status: 0 when the guest powered off (or reset with --no-reboot), quit\n"
"was requested, or the VM was saved or migrated away; 1 on a runtime error;\n"
"2 on bad options.\n";

static void __attribute__((noreturn, format(printf, 2, 3)))
bad(const char *flag, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pgr-vmm: %s: ", flag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void parse_memory(struct args *a, const char *v)
{
	uint64_t bytes;

	if (parse_size(v, &bytes) < 0)
		bad("--memory", "'%s' is not a size (e.g. 512M, 4G)", v);
	if (bytes < (16ULL << 20) || bytes > (1ULL << 40) || bytes % 4096)
		bad("--memory", "'%s' must be a multiple of 4 KiB between 16M and 1T", v);
	a->cfg.mem_bytes = bytes;
}

static void parse_cpus(struct args *a, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 1 || n > VM_MAX_VCPUS)
		bad("--cpus", "'%s' is not a number from 1 to 64", v);
	a->cfg.ncpus = (int)n;
}

static void parse_name(struct args *a, const char *v)
{
	size_t n = strlen(v);

	if (!n || n >= sizeof(a->cfg.name) || strspn(v, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		bad("--name", "'%s' must be 1-63 characters of letters, digits, '.', '_', '-'", v);
	strcpy(a->cfg.name, v);
}

/* "key=value,key=value": calls @fn for each pair; exits on malformed input. */
static void parse_kv(const char *flag, const char *v, void (*fn)(void *, const char *, const char *),
		     void *ctx)
{
	char *copy = strdup(v), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			bad(flag, "'%s': expected key=value", tok);
		*eq = 0;
		fn(ctx, tok, eq + 1);
	}
	free(copy);
}

static bool parse_onoff(const char *flag, const char *key, const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		return true;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		return false;
	bad(flag, "%s=%s: expected on or off", key, v);
}

static void disk_kv(void *ctx, const char *k, const char *v)
{
	struct vm_disk_cfg *d = ctx;

	if (!strcmp(k, "path")) {
		free(d->path);
		d->path = strdup(v);
	} else if (!strcmp(k, "readonly")) {
		d->readonly = parse_onoff("--disk", k, v);
	} else if (!strcmp(k, "cache")) {
		if (!strcmp(v, "none"))
			d->cache = DISK_CACHE_NONE;
		else if (!strcmp(v, "writeback"))
			d->cache = DISK_CACHE_WRITEBACK;
		else if (!strcmp(v, "writethrough"))
			d->cache = DISK_CACHE_WRITETHROUGH;
		else
			bad("--disk", "cache=%s: expected none, writeback or writethrough", v);
	} else {
		bad("--disk", "unknown key '%s' (path, readonly, cache)", k);
	}
}

static void parse_disk(struct vm_config *c, const char *v)
{
	struct vm_disk_cfg *d;
	char target[8];

	if (c->ndisks == VMCONFIG_MAX_DISKS)
		bad("--disk", "at most %d disks", VMCONFIG_MAX_DISKS);
	d = &c->disks[c->ndisks];
	memset(d, 0, sizeof(*d));
	d->cache = DISK_CACHE_WRITEBACK;
	parse_kv("--disk", v, disk_kv, d);
	if (!d->path)
		bad("--disk", "'%s': path= is required", v);
	if (access(d->path, d->readonly ? R_OK : R_OK | W_OK) < 0)
		bad("--disk", "cannot open '%s': %s", d->path, strerror(errno));
	snprintf(target, sizeof(target), "vd%c", 'a' + c->ndisks);
	d->target = strdup(target);
	c->ndisks++;
}

static void net_kv(void *ctx, const char *k, const char *v)
{
	struct vm_net_cfg *n = ctx;
	char **dst = !strcmp(k, "tap") ? &n->tap : !strcmp(k, "bridge") ? &n->bridge : NULL;

	if (dst) {
		free(*dst);
		*dst = strdup(v);
	} else if (!strcmp(k, "mac")) {
		if (parse_mac(v, n->mac) < 0)
			bad("--net", "mac=%s: not a unicast MAC address like 52:54:00:12:34:56", v);
	} else {
		bad("--net", "unknown key '%s' (tap, mac, bridge)", k);
	}
}

static void parse_net(struct vm_config *c, const char *v)
{
	struct vm_net_cfg *n;

	if (c->nnets == VMCONFIG_MAX_NETS)
		bad("--net", "at most %d network devices", VMCONFIG_MAX_NETS);
	n = &c->nets[c->nnets];
	memset(n, 0, sizeof(*n));
	/* A locally administered default MAC, distinct per device. */
	memcpy(n->mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + c->nnets) }, 6);
	parse_kv("--net", v, net_kv, n);
	if (!n->tap)
		bad("--net", "'%s': tap=IFNAME is required", v);
	c->nnets++;
}

/* fd:N is refused here, before anything else is set up, unless N is an
 * open, connected stream socket (what pgrd hands over). */
static void check_incoming_fd(const char *v)
{
	int fd = migration_fd_number(v);
	char flag[32], *err = NULL;

	if (fd < 0)
		bad("--incoming", "'%s': expected fd:N, the number of an inherited socket", v);
	snprintf(flag, sizeof(flag), "--incoming %s", v);
	if (channel_adopt(fd, &err) < 0)
		bad(flag, "%s", err ? err : "not an open stream socket");
}

static void parse_file(const char *flag, char **dst, const char *v)
{
	if (access(v, R_OK) < 0)
		bad(flag, "cannot read '%s': %s", v, strerror(errno));
	free(*dst);
	*dst = strdup(v);
}

enum { OPT_NAME = 256, OPT_UUID, OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY,
       OPT_CPUS, OPT_SERIAL, OPT_API, OPT_PAUSED, OPT_NOREBOOT, OPT_INCOMING,
       OPT_SHUTDOWN_TIMEOUT, OPT_DISK, OPT_NET, OPT_CPU, OPT_PRINT_CPU, OPT_DEBUG, OPT_LOGFILE,
       OPT_LAZY, OPT_HELP, OPT_VERSION };

static const struct option options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "uuid", required_argument, NULL, OPT_UUID },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "api-socket", required_argument, NULL, OPT_API },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "no-reboot", no_argument, NULL, OPT_NOREBOOT },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "lazy", no_argument, NULL, OPT_LAZY },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "print-cpu-features", no_argument, NULL, OPT_PRINT_CPU },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "debug", required_argument, NULL, OPT_DEBUG },
	{ "log-file", required_argument, NULL, OPT_LOGFILE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void parse_one(struct args *a, int opt, const char *v)
{
	char *err = NULL;

	switch (opt) {
	case OPT_NAME: parse_name(a, v); break;
	case OPT_UUID:
		if (parse_uuid(v, a->cfg.uuid) < 0)
			bad("--uuid", "'%s' is not a UUID", v);
		break;
	case OPT_KERNEL: parse_file("--kernel", &a->cfg.kernel, v); break;
	case OPT_INITRD: parse_file("--initrd", &a->cfg.initrd, v); break;
	case OPT_CMDLINE: free(a->cfg.cmdline); a->cfg.cmdline = strdup(v); break;
	case OPT_MEMORY: parse_memory(a, v); break;
	case OPT_CPUS: parse_cpus(a, v); break;
	case OPT_SERIAL:
		if (serial_check_spec(v, &err) < 0)
			bad("--serial", "%s", err);
		a->opts.serial = v;
		break;
	case OPT_API: a->api_socket = v; break;
	case OPT_DISK: parse_disk(&a->local, v); break;
	case OPT_NET: parse_net(&a->local, v); break;
	case OPT_CPU:
		if (cpuid_check_spec(v, &err) < 0)
			bad("--cpu", "%s", err);
		a->opts.cpu = v;
		break;
	case OPT_PRINT_CPU: a->print_cpu_features = true; break;
	case OPT_PAUSED: a->paused = true; break;
	case OPT_LAZY: a->lazy = true; break;
	case OPT_NOREBOOT: a->opts.no_reboot = true; break;
	case OPT_INCOMING:
		if (migration_check_uri(v, &err) < 0)
			bad("--incoming", "%s", err);
		if (channel_kind_of(v) == CHANNEL_FD)
			check_incoming_fd(v);
		a->incoming = v;
		break;
	case OPT_SHUTDOWN_TIMEOUT: {
		char *end;
		long s = strtol(v, &end, 10);

		if (!*v || *end || s < 0 || s > 3600)
			bad("--shutdown-timeout", "'%s' is not a number of seconds (0-3600)", v);
		a->shutdown_timeout = (unsigned int)s;
		break;
	}
	case OPT_DEBUG: log_set_debug(v); break;
	case OPT_LOGFILE:
		if (log_set_file(v) < 0)
			bad("--log-file", "cannot open '%s'", v);
		break;
	case OPT_HELP: fputs(usage, stdout); exit(0);
	case OPT_VERSION: printf("pgr-vmm %s\n", PGR_VERSION); exit(0);
	}
}

static void parse_args(struct args *a, int argc, char **argv)
{
	int opt;

	vmconfig_init(&a->cfg);
	vmconfig_init(&a->local);
	strcpy(a->cfg.name, "vm");
	generate_uuid(a->cfg.uuid);
	a->shutdown_timeout = 5;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == '?') {
			fprintf(stderr, "pgr-vmm: %s: unknown option or missing value (see --help)\n",
				argv[optind - 1]);
			exit(2);
		}
		parse_one(a, opt, optarg);
	}
	if (optind < argc)
		bad(argv[optind], "%s", "unexpected argument (see --help)");
	if (!a->incoming) {
		/* Booting: the disks are the guest's. */
		a->cfg.ndisks = a->local.ndisks;
		memcpy(a->cfg.disks, a->local.disks, sizeof(a->cfg.disks));
		a->local.ndisks = 0;
		a->cfg.nnets = a->local.nnets;
		memcpy(a->cfg.nets, a->local.nets, sizeof(a->cfg.nets));
		a->local.nnets = 0;
	}
	if (a->lazy && (!a->incoming || channel_kind_of(a->incoming) != CHANNEL_FILE))
		bad("--lazy", "%s", "only with --incoming file:PATH (restoring a save file)");
	if (!a->incoming && !a->cfg.kernel && !a->print_cpu_features)
		bad("--kernel", "%s", "required (or --incoming to receive a VM)");
}

/*
 * With --incoming, --disk options rename the host-local side of the
 * stream's disks, in order; what the guest sees (count, read-only) must
 * not change. Without them the source's paths are used (shared storage).
 */
static int apply_local_nets(struct vm_config *cfg, struct vm_config *local, char **err)
{
	if (!local->nnets)
		return 0;
	if (local->nnets != cfg->nnets)
		return asprintf(err, "the VM has %d network device(s) but --net was given %d time(s)",
				cfg->nnets, local->nnets), -EINVAL;
	for (int i = 0; i < cfg->nnets; i++) {
		free(cfg->nets[i].tap);
		free(cfg->nets[i].bridge);
		cfg->nets[i].tap = local->nets[i].tap;
		cfg->nets[i].bridge = local->nets[i].bridge;
		local->nets[i].tap = local->nets[i].bridge = NULL;
	}
	return 0;
}

static int apply_local(struct vm_config *cfg, struct vm_config *local, char **err)
{
	if (apply_local_nets(cfg, local, err) < 0)
		return -EINVAL;
	if (!local->ndisks)
		return 0;
	if (local->ndisks != cfg->ndisks)
		return asprintf(err, "the VM has %d disk(s) but --disk was given %d time(s)",
				cfg->ndisks, local->ndisks), -EINVAL;
	for (int i = 0; i < cfg->ndisks; i++) {
		if (local->disks[i].readonly != cfg->disks[i].readonly)
			return asprintf(err, "disk %d (%s) is %s for the guest", i, cfg->disks[i].target,
					cfg->disks[i].readonly ? "read-only" : "writable"), -EINVAL;
		free(cfg->disks[i].path);
		cfg->disks[i].path = local->disks[i].path;
		cfg->disks[i].cache = local->disks[i].cache;
		local->disks[i].path = NULL;
	}
	return 0;
}

/* --print-cpu-features: what vm_new would show a guest's vCPUs, by name. */
static int print_cpu_features(const char *spec)
{
	const char *names[CPUID_MAX_FEATURES];
	struct kvm_cpuid2 *c = kvm_supported_cpuid();
	char *err = NULL;
	size_t n;

	if (!c) {
		fprintf(stderr, "pgr-vmm: --print-cpu-features: cannot read KVM's CPUID: %s\n",
			strerror(errno));
		return 1;
	}
	if (spec && cpuid_apply_spec(c, spec, &err) < 0) {
		fprintf(stderr, "pgr-vmm: --cpu: %s\n", err ? err : "bad spec");
		free(err);
		free(c);
		return 2;
	}
	n = cpuid_features(c, names);
	for (size_t i = 0; i < n; i++)
		puts(names[i]);
	free(c);
	return fflush(stdout) ? 1 : 0;
}

static int run(struct args *a, struct vm *vm)
{
	char *err = NULL;
	int status;

	vm->loop = loop_new();
	if (!vm->loop || control_attach(vm, a->shutdown_timeout) < 0 ||
	    serial_attach_loop(vm->serial, vm->loop) < 0) {
		fprintf(stderr, "pgr-vmm: cannot set up the main loop: %s\n", strerror(errno));
		return 1;
	}
	if (a->api_socket) {
		vm->api = api_new(vm, vm->loop, a->api_socket, &err);
		if (!vm->api) {
			fprintf(stderr, "pgr-vmm: %s\n", err ? err : "cannot create the API socket");
			free(err);
			return 2;
		}
	}
	for (int i = 0; i < vm->nvirtio; i++)
		if (virtio_pci_attach_loop(vm->virtio[i], vm->loop) < 0) {
			fprintf(stderr, "pgr-vmm: cannot watch the virtio queues\n");
			return 1;
		}
	for (int i = 0; i < vm->nnets; i++)
		if (virtio_net_attach_loop(vm->nets[i], vm->loop) < 0) {
			fprintf(stderr, "pgr-vmm: cannot watch the tap devices\n");
			return 1;
		}
	if (vm_start_vcpus(vm) < 0) {
		fprintf(stderr, "pgr-vmm: cannot start the vCPU threads\n");
		return 1;
	}
	if (a->in) {
		int r = migration_incoming_start(vm, a->in, a->paused, a->lazy);

		a->in = NULL;
		if (r < 0)
			return 1;
	} else if (!a->paused) {
		control_cont(vm);
	}
	status = loop_run(vm->loop);
	migration_shutdown(vm);
	vm_stop_vcpus(vm);
	api_free(vm->api);
	vm->api = NULL;
	return status;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct loop *loop;
	struct vm *vm;
	char *err = NULL;
	sigset_t set;
	int status;

	log_init("pgr-vmm", NULL);
	/* Signals go to the main loop's signalfd, never to vCPU threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	parse_args(&a, argc, argv);
	if (a.print_cpu_features) {
		status = print_cpu_features(a.opts.cpu);
		vmconfig_clear(&a.cfg);
		vmconfig_clear(&a.local);
		return status;
	}
	log_init("pgr-vmm", a.cfg.name);
	if (a.incoming) {
		a.in = migration_incoming_prepare(&a.cfg, a.incoming, &err);
		if (!a.in) {
			fprintf(stderr, "pgr-vmm: --incoming %s: %s\n", a.incoming, err ? err : "failed");
			free(err);
			vmconfig_clear(&a.cfg);
			return 1;
		}
		log_init("pgr-vmm", a.cfg.name);
		if (apply_local(&a.cfg, &a.local, &err) < 0) {
			fprintf(stderr, "pgr-vmm: --incoming %s: %s\n", a.incoming, err);
			free(err);
			migration_incoming_free(a.in);
			return 1;
		}
	}
	vm = vm_new(&a.cfg, &a.opts, &err);
	/* An incoming VM claims its disks when it is its to run (incoming.c). */
	if (!vm || (!a.incoming && (devices_lock_disks(vm, &err) < 0 || vm_boot(vm, &err) < 0))) {
		fprintf(stderr, "pgr-vmm: %s\n", err ? err : "cannot build the VM");
		free(err);
		migration_incoming_free(a.in);
		vm_free(vm);
		vmconfig_clear(&a.cfg);
		return 1;
	}
	status = run(&a, vm);
	loop = vm->loop;
	vm_free(vm);            /* devices leave the loop before it goes */
	loop_free(loop);
	vmconfig_clear(&a.cfg);
	vmconfig_clear(&a.local);
	return status;
}
