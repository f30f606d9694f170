/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uart.c: polled 16550 output and input, and the line lock.
 *
 * The lock is a user-mode spinlock (lock xchg); print() formats into a small
 * buffer and writes it out while holding the lock, so a line is never
 * split. It does not throttle or drop: a slow serial backend slows the
 * printing CPU, nothing else.
 */
#include "uart.h"
#include "util.h"

#define COM1		0x3f8
#define UART_RBR	0	/* receive buffer (read) */
#define UART_THR	0	/* transmit holding (write) */
#define UART_IER	1
#define UART_DLL	0	/* with LCR.DLAB */
#define UART_DLM	1	/* with LCR.DLAB */
#define UART_FCR	2	/* write */
#define UART_IIR	2	/* read */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LCR_DLAB	0x80
#define LCR_8N1		0x03
#define FCR_ENABLE_CLEAR 0x07
#define IIR_FIFO_ON	0xc0
#define FIFO_SIZE	16
#define MCR_DTR_RTS	0x03
#define BAUD_DIVISOR	1	/* 115200 = 1.8432 MHz / 16 / 1 */
#define LINE_BUF	128
#define EMERGENCY_SPINS	100000UL	/* ~0.5 s when emulated */

static u32 uart_lock;
static u32 tx_burst = 1;	/* bytes per THRE: 16 with a working FIFO */
static u32 tx_room;		/* bytes we may still write before polling */

void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, BAUD_DIVISOR);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
	if ((inb(COM1 + UART_IIR) & IIR_FIFO_ON) == IIR_FIFO_ON)
		tx_burst = FIFO_SIZE;
}

int uart_getc(void)
{
	if (!(inb(COM1 + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1 + UART_RBR);
}

/*
 * THRE set means the transmitter (with FIFOs on: the whole 16-byte FIFO) is
 * empty, so one LSR poll allows a burst of tx_burst bytes, and the burst is
 * a single rep outsb. On PVM every port access from user mode is a trap of
 * 30-100 us, and a string instruction is one trap (and one exit to the
 * monitor) for all its bytes: a heartbeat line costs two traps, not twelve.
 */
static void uart_write(const char *s, size_t n)
{
	while (n) {
		size_t k;

		if (!tx_room) {
			while (!(inb(COM1 + UART_LSR) & LSR_THRE))
				cpu_relax();
			tx_room = tx_burst;
		}
		k = n < tx_room ? n : tx_room;
		tx_room -= (u32)k;
		n -= k;
		__asm__ volatile("rep outsb"
				 : "+S"(s), "+c"(k)
				 : "d"((u16)(COM1 + UART_THR))
				 : "memory");
	}
}

struct line_buf {
	u32 len;
	char buf[LINE_BUF];
};

static void line_put(void *ctx, char c)
{
	struct line_buf *lb = ctx;

	lb->buf[lb->len++] = c;
	if (lb->len == LINE_BUF) {
		uart_write(lb->buf, lb->len);
		lb->len = 0;
	}
}

static void emit(const char *fmt, va_list ap)
{
	struct line_buf lb;

	lb.len = 0;
	vformat(line_put, &lb, fmt, ap);
	uart_write(lb.buf, lb.len);
}

static bool lock_try(void)
{
	return !__atomic_exchange_n(&uart_lock, 1, __ATOMIC_ACQUIRE);
}

static void lock_take(void)
{
	while (!lock_try())
		while (__atomic_load_n(&uart_lock, __ATOMIC_RELAXED))
			cpu_relax();
}

static void lock_release(void)
{
	__atomic_store_n(&uart_lock, 0, __ATOMIC_RELEASE);
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lock_take();
	emit(fmt, ap);
	lock_release();
	va_end(ap);
}

void print_emergency(const char *fmt, ...)
{
	bool locked = false;
	va_list ap;

	for (u64 i = 0; i < EMERGENCY_SPINS && !locked; i++)
		locked = lock_try();
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
	if (locked)
		lock_release();
}
