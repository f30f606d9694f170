// SPDX-License-Identifier: GPL-2.0-only
/*
 * serial: 16550A emulation and its host backends (see serial.h). Register
 * accesses come from vCPU threads, input from the main loop; one mutex
 * covers the UART state. The interrupt line is recomputed after every
 * change and driven level-style into the in-kernel irqchip.
 */
#include "devices/serial.h"

#define LOG_SUBSYS "serial"
#include "lib/log.h"
#include "devices/device.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define COM1_PORT 0x3f8
#define COM1_IRQ  4
#define RXQ_SIZE  4096
#define TXB_SIZE  4096
#define BACKLOG_SIZE (64 * 1024)
#define EXIT_DRAIN_MS 2000	/* at exit, how long a slow client gets */

/* Register bits */
#define IER_RDI   0x01
#define IER_THRI  0x02
#define IER_RLSI  0x04
#define IER_MSI   0x08
#define IIR_NONE  0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80
#define FCR_FIFO  0x01
#define FCR_CLR_RX 0x02

enum backend { BE_STDIO, BE_FILE, BE_UNIX, BE_PTY, BE_NULL };

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	/* UART registers */
	uint8_t ier, lcr, mcr, msr, scr, fcr, dll, dlm;
	bool thri_pending;     /* THR empty interrupt latched */
	int irq_level;
	/* input queue (guest reads) */
	uint8_t rxq[RXQ_SIZE];
	uint32_t rx_head, rx_len;
	/* output buffer (towards the backend) */
	uint8_t txb[TXB_SIZE];
	uint32_t tx_len;
	uint64_t tx_dropped;
	/* unix: what the guest wrote while no client was attached, the last
	 * BACKLOG_SIZE bytes, given to the next client first */
	uint8_t *backlog;
	uint32_t bl_head, bl_len;
	/* backend */
	enum backend be;
	int in_fd, out_fd;
	int listen_fd;         /* unix: the listening socket */
	int pty_slave;         /* pty: kept open so the master never sees EIO */
	char *path;
	bool in_paused;        /* input not polled: queue full */
	struct loop *loop;
	bool stdin_raw;
	struct termios saved_tio;
};

/* ---- interrupt and register model ---- */

static uint8_t compute_iir(struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct serial *s)
{
	int level = compute_iir(s) != IIR_NONE;

	if (level != s->irq_level) {
		s->irq_level = level;
		kvm_irq_line(&s->vm->kvm, COM1_IRQ, level);
	}
}

static void backlog_byte(struct serial *s, uint8_t c);
static void client_events_locked(struct serial *s);

static void tx_flush_locked(struct serial *s)
{
	uint32_t off = 0;

	/* Behind what waits already for the client: in order, after it. */
	if (s->bl_len && s->out_fd >= 0 && s->backlog) {
		while (off < s->tx_len)
			backlog_byte(s, s->txb[off++]);
		s->tx_len = 0;
		return;
	}
	while (off < s->tx_len && s->out_fd >= 0) {
		ssize_t n = write(s->out_fd, s->txb + off, s->tx_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && s->backlog) {
			/* A client slow to read (pgrd's log write on a busy disk):
			 * keep up to the backlog's 64 KiB until it can take more. */
			while (off < s->tx_len)
				backlog_byte(s, s->txb[off++]);
			client_events_locked(s);
			break;
		}
		if (n <= 0) {
			s->tx_dropped += s->tx_len - off;
			break;
		}
		off += n;
	}
	s->tx_len = 0;
}

static void backlog_byte(struct serial *s, uint8_t c)
{
	s->backlog[(s->bl_head + s->bl_len) % BACKLOG_SIZE] = c;
	if (s->bl_len < BACKLOG_SIZE) {
		s->bl_len++;
	} else {
		s->bl_head = (s->bl_head + 1) % BACKLOG_SIZE;
		if (s->out_fd >= 0)
			s->tx_dropped++;      /* a client that does not read at all */
	}
}

/* Send the client what waits for it (a new client: what came while none
 * was attached); what it cannot take yet stays for its next EPOLLOUT. */
static void backlog_flush_locked(struct serial *s)
{
	while (s->bl_len && s->out_fd >= 0) {
		uint32_t run = BACKLOG_SIZE - s->bl_head < s->bl_len ? BACKLOG_SIZE - s->bl_head :
								       s->bl_len;
		ssize_t n = write(s->out_fd, s->backlog + s->bl_head, run);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			s->tx_dropped += s->bl_len;
			s->bl_head = s->bl_len = 0;
			break;
		}
		s->bl_head = (s->bl_head + n) % BACKLOG_SIZE;
		s->bl_len -= n;
	}
	if (!s->bl_len)
		s->bl_head = 0;
	client_events_locked(s);
}

static void tx_byte(struct serial *s, uint8_t c)
{
	if (s->out_fd < 0) {
		if (s->backlog)
			backlog_byte(s, c);
		return;
	}
	s->txb[s->tx_len++] = c;
	if (c == '\n' || s->tx_len == TXB_SIZE || s->be == BE_PTY)
		tx_flush_locked(s);
}

static void rx_push_locked(struct serial *s, uint8_t c)
{
	if (s->rx_len == RXQ_SIZE)
		return;
	s->rxq[(s->rx_head + s->rx_len) % RXQ_SIZE] = c;
	s->rx_len++;
}

static uint8_t rx_pop_locked(struct serial *s)
{
	uint8_t c;

	if (!s->rx_len)
		return 0;
	c = s->rxq[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RXQ_SIZE;
	s->rx_len--;
	return c;
}

static uint8_t loop_msr(struct serial *s)
{
	uint8_t m = 0;

	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case 0:
		if (dlab) {
			s->dll = v;
		} else if (s->mcr & MCR_LOOP) {
			rx_push_locked(s, v);
		} else {
			tx_byte(s, v);
		}
		if (!dlab)
			s->thri_pending = true;   /* the byte left at once */
		break;
	case 1:
		if (dlab) {
			s->dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case 2:
		s->fcr = v & 0xc9;
		if (v & FCR_CLR_RX)
			s->rx_len = 0;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		s->msr = (s->mcr & MCR_LOOP) ? loop_msr(s) : (MSR_DCD | MSR_DSR | MSR_CTS);
		break;
	case 7:
		s->scr = v;
		break;
	}
}

static uint8_t read_reg(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t iir;

	switch (reg) {
	case 0:
		return dlab ? s->dll : rx_pop_locked(s);
	case 1:
		return dlab ? s->dlm : s->ier;
	case 2:
		iir = compute_iir(s);
		if (iir == IIR_THRI)
			s->thri_pending = false;
		return iir | ((s->fcr & FCR_FIFO) ? IIR_FIFO : 0);
	case 3:
		return s->lcr;
	case 4:
		return s->mcr;
	case 5:
		return LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
	case 6:
		return s->msr;
	default:
		return s->scr;
	}
}

static void resume_input_locked(struct serial *s);

static void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (is_write)
		write_reg(s, off, data[0]);
	else
		data[0] = read_reg(s, off);
	if (!is_write && off == 0 && s->in_paused && s->rx_len < RXQ_SIZE / 2)
		resume_input_locked(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- backends ---- */

static void input_ready(void *opaque, uint32_t events);
static void accept_ready(void *opaque, uint32_t events);

/* The unix client's events: input unless the queue is full, output while
 * the backlog holds some. */
static void client_events_locked(struct serial *s)
{
	if (s->be == BE_UNIX && s->loop && s->in_fd >= 0)
		loop_mod(s->loop, s->in_fd, (s->in_paused ? 0 : EPOLLIN) | (s->bl_len ? EPOLLOUT : 0));
}

static void resume_input_locked(struct serial *s)
{
	s->in_paused = false;
	if (s->be == BE_UNIX)
		client_events_locked(s);
	else if (s->loop && s->in_fd >= 0)
		loop_mod(s->loop, s->in_fd, EPOLLIN);
}

static void pause_input_locked(struct serial *s)
{
	if (s->be == BE_UNIX)
		client_events_locked(s);
	else
		loop_mod(s->loop, s->in_fd, 0);
}

static void drop_client_locked(struct serial *s)
{
	if (s->in_fd < 0)
		return;
	if (s->loop)
		loop_del(s->loop, s->in_fd);
	close(s->in_fd);
	s->in_fd = s->out_fd = -1;
}

static void input_ready(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[512];
	ssize_t n;
	size_t room;

	pthread_mutex_lock(&s->lock);
	if (events & EPOLLOUT)
		backlog_flush_locked(s);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || s->in_fd < 0) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	room = RXQ_SIZE - s->rx_len;
	if (!room) {            /* a read of 0 bytes would look like the client's EOF */
		s->in_paused = true;
		pause_input_locked(s);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	n = read(s->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			rx_push_locked(s, buf[i]);
		update_irq(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		if (s->be == BE_UNIX) {
			drop_client_locked(s);
		} else {
			loop_del(s->loop, s->in_fd);   /* stdin at EOF: output goes on */
			if (s->be == BE_STDIO)
				s->in_fd = -1;
		}
	}
	if (s->in_fd >= 0 && s->rx_len == RXQ_SIZE) {
		s->in_paused = true;
		pause_input_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
}

static void accept_ready(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->in_fd >= 0) {
		pthread_mutex_unlock(&s->lock);
		static const char busy[] = "console busy: another client is attached\n";
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			pr_debug("console busy notice: %m");
		close(fd);
		return;
	}
	s->in_fd = s->out_fd = fd;
	loop_add(s->loop, fd, EPOLLIN, input_ready, s);
	backlog_flush_locked(s);        /* and EPOLLOUT while some is left */
	pthread_mutex_unlock(&s->lock);
}

static int open_unix(struct serial *s, const char *path, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return asprintf(err, "--serial unix:%s: path too long", path), -EINVAL;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (probe >= 0)
			close(probe);
		if (live)
			return asprintf(err, "--serial unix:%s: another monitor's console is "
					"listening there", path), -EADDRINUSE;
		unlink(path);          /* left behind by a killed monitor */
	}
	s->backlog = malloc(BACKLOG_SIZE);
	if (!s->backlog)
		return asprintf(err, "out of memory"), -ENOMEM;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 2) < 0)
		return asprintf(err, "--serial unix:%s: %s", path, strerror(errno)), -errno;
	return 0;
}

static int open_pty(struct serial *s, char **err)
{
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return asprintf(err, "--serial pty: %s", strerror(errno)), -errno;
	s->path = strdup(ptsname(m));
	s->pty_slave = open(s->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->pty_slave >= 0 && tcgetattr(s->pty_slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(s->pty_slave, TCSANOW, &tio);
	}
	fcntl(m, F_SETFL, O_NONBLOCK);
	s->in_fd = s->out_fd = m;
	pr_info("serial console on %s", s->path);
	return 0;
}

static void stdin_raw(struct serial *s)
{
	struct termios tio;

	if (!isatty(0) || tcgetattr(0, &s->saved_tio) < 0)
		return;
	tio = s->saved_tio;
	cfmakeraw(&tio);
	tio.c_oflag |= OPOST | ONLCR;   /* keep "\n" readable on the terminal */
	tio.c_lflag |= ISIG;            /* Ctrl-C still stops the monitor */
	if (tcsetattr(0, TCSANOW, &tio) == 0)
		s->stdin_raw = true;
}

static int open_backend(struct serial *s, const char *spec, char **err)
{
	if (!strcmp(spec, "stdio")) {
		s->be = BE_STDIO;
		s->in_fd = 0;
		s->out_fd = 1;
		stdin_raw(s);
		return 0;
	}
	if (!strcmp(spec, "null")) {
		s->be = BE_NULL;
		return 0;
	}
	if (!strcmp(spec, "pty")) {
		s->be = BE_PTY;
		return open_pty(s, err);
	}
	if (!strncmp(spec, "file:", 5) && spec[5]) {
		s->be = BE_FILE;
		s->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->out_fd < 0)
			return asprintf(err, "--serial %s: %s", spec, strerror(errno)), -errno;
		return 0;
	}
	if (!strncmp(spec, "unix:", 5) && spec[5]) {
		s->be = BE_UNIX;
		s->path = strdup(spec + 5);
		return open_unix(s, spec + 5, err);
	}
	return asprintf(err, "--serial %s: expected stdio, file:PATH, unix:PATH, pty or null",
			spec), -EINVAL;
}

int serial_check_spec(const char *spec, char **err)
{
	static const char *const fixed[] = { "stdio", "null", "pty" };

	for (size_t i = 0; i < 3; i++)
		if (!strcmp(spec, fixed[i]))
			return 0;
	if ((!strncmp(spec, "file:", 5) || !strncmp(spec, "unix:", 5)) && spec[5])
		return 0;
	if (asprintf(err, "'%s': expected stdio, file:PATH, unix:PATH, pty or null", spec) < 0)
		*err = NULL;
	return -EINVAL;
}

static void serial_reset(void *dev)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->mcr = s->scr = s->fcr = 0;
	s->dll = 12;           /* 9600 baud */
	s->dlm = 0;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->thri_pending = false;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_new(struct vm *vm, const char *spec, char **err)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->in_fd = s->out_fd = s->listen_fd = s->pty_slave = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (open_backend(s, spec, err) < 0 ||
	    bus_register(&vm->pio, COM1_PORT, 8, serial_io, s, "serial") < 0) {
		serial_ops.free(s);
		return NULL;
	}
	s->dll = 12;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	return s;
}

int serial_attach_loop(struct serial *s, struct loop *loop)
{
	s->loop = loop;
	if (s->be == BE_UNIX)
		return loop_add(loop, s->listen_fd, EPOLLIN, accept_ready, s);
	if (s->in_fd >= 0 && loop_add(loop, s->in_fd, EPOLLIN, input_ready, s) == -EPERM) {
		/* stdin is a regular file or /dev/null: nothing to poll, no input */
		s->in_fd = -1;
	}
	return 0;
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	tx_flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

const char *serial_pty_path(struct serial *s)
{
	return s->be == BE_PTY ? s->path : NULL;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The monitor is exiting (the guest was saved or moved, or quit): a client
 * slow to read gets what still waits for it, the guest's last lines, within
 * EXIT_DRAIN_MS. */
static void backlog_drain_at_exit(struct serial *s)
{
	struct timespec t0;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->bl_len && s->out_fd >= 0 && (left = EXIT_DRAIN_MS - ms_since(&t0)) > 0) {
		struct pollfd p = { .fd = s->out_fd, .events = POLLOUT };

		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
		backlog_flush_locked(s);
	}
	if (s->bl_len && s->out_fd >= 0)
		pr_warn("the console client did not take the guest's last %u bytes within %d ms",
			s->bl_len, EXIT_DRAIN_MS);
}

static void serial_free(void *dev)
{
	struct serial *s = dev;

	if (!s)
		return;
	s->loop = NULL;        /* tearing down: nothing is polled any more */
	serial_flush(s);
	backlog_drain_at_exit(s);
	if (s->stdin_raw)
		tcsetattr(0, TCSANOW, &s->saved_tio);
	if (s->be == BE_UNIX || s->be == BE_PTY || s->be == BE_FILE) {
		if (s->in_fd >= 0)
			close(s->in_fd);
		else if (s->out_fd >= 0)
			close(s->out_fd);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->pty_slave >= 0)
		close(s->pty_slave);
	free(s->path);
	free(s->backlog);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- migration state: registers, queued input, unflushed output ---- */

/* Output kept while no client is attached (unix): it goes with the guest,
 * for the destination's client. ("backlog", optional: a client that is
 * attached but slow gets it from this monitor before it exits.) */
static json_t *unclaimed_output_locked(struct serial *s)
{
	uint8_t *buf;
	json_t *j;

	if (!s->backlog || s->out_fd >= 0 || !s->bl_len || !(buf = malloc(s->bl_len)))
		return NULL;
	for (uint32_t i = 0; i < s->bl_len; i++)
		buf[i] = s->backlog[(s->bl_head + i) % BACKLOG_SIZE];
	j = dev_bytes_json(buf, s->bl_len);
	free(buf);
	return j;
}

static json_t *serial_save(void *dev)
{
	struct serial *s = dev;
	uint8_t rx[RXQ_SIZE];
	json_t *j, *unclaimed;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->rx_len; i++)
		rx[i] = s->rxq[(s->rx_head + i) % RXQ_SIZE];
	j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:o, s:o}",
		      "ier", s->ier, "lcr", s->lcr, "mcr", s->mcr, "msr", s->msr,
		      "scr", s->scr, "fcr", s->fcr, "dll", s->dll, "dlm", s->dlm,
		      "thri", s->thri_pending, "rx", dev_bytes_json(rx, s->rx_len),
		      "tx", dev_bytes_json(s->txb, s->tx_len));
	unclaimed = unclaimed_output_locked(s);
	if (j && unclaimed)
		json_object_set_new(j, "backlog", unclaimed);
	else
		json_decref(unclaimed);
	pthread_mutex_unlock(&s->lock);
	return j;
}

static int load_bytes(const json_t *st, const char *key, uint8_t *buf, size_t max,
		      uint32_t *len, char **err)
{
	json_t *v = json_object_get(st, key);
	size_t n = json_is_string(v) ? json_string_length(v) / 2 : 0;

	if (n > max) {
		if (asprintf(err, "serial: field '%s' longer than %zu bytes", key, max) < 0)
			*err = NULL;
		return -EINVAL;
	}
	*len = n;
	return dev_get_bytes(st, key, buf, n, err);
}

static int serial_load(void *dev, const json_t *st, char **err)
{
	static const char *const keys[] = { "ier", "lcr", "mcr", "msr", "scr", "fcr", "dll", "dlm" };
	struct serial *s = dev;
	uint64_t v[8];
	uint8_t rx[RXQ_SIZE], tx[TXB_SIZE], *old = NULL;
	uint32_t rx_len, tx_len, old_len = 0;
	json_t *thri = json_object_get(st, "thri");
	int r = -EINVAL;

	for (int i = 0; i < 8; i++)
		if (dev_get_uint(st, keys[i], 255, &v[i], err) < 0)
			return -EINVAL;
	if (!json_is_boolean(thri))
		return asprintf(err, "serial: field 'thri' missing"), -EINVAL;
	if (load_bytes(st, "rx", rx, RXQ_SIZE, &rx_len, err) < 0 ||
	    load_bytes(st, "tx", tx, TXB_SIZE, &tx_len, err) < 0)
		return -EINVAL;
	if (json_object_get(st, "backlog") &&
	    (!(old = malloc(BACKLOG_SIZE)) ||
	     load_bytes(st, "backlog", old, BACKLOG_SIZE, &old_len, err) < 0))
		goto out;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < old_len; i++)
		tx_byte(s, old[i]);
	s->ier = v[0] & 0x0f; s->lcr = v[1]; s->mcr = v[2] & 0x1f; s->msr = v[3];
	s->scr = v[4]; s->fcr = v[5]; s->dll = v[6]; s->dlm = v[7];
	s->thri_pending = json_is_true(thri);
	memcpy(s->rxq, rx, rx_len);
	s->rx_head = 0;
	s->rx_len = rx_len;
	for (uint32_t i = 0; i < tx_len; i++)
		tx_byte(s, tx[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	r = 0;
out:
	if (r < 0 && !*err)
		*err = strdup("serial: out of memory");
	free(old);
	return r;
}

const struct device_ops serial_ops = {
	.name = "serial",
	.version = 1,
	.save = serial_save,
	.load = serial_load,
	.reset = serial_reset,
	.free = serial_free,
};
