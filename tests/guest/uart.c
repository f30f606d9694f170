/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uart.c: polled 16550 output and input, and the line lock.
 *
 * The lock is a user-mode spinlock (lock xchg); print() formats straight to
 * the port while holding it, so a line is never split. It does not throttle
 * or drop: a slow serial backend slows the printing CPU, nothing else.
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
 * empty, so one poll allows a burst of tx_burst bytes. On PVM every port
 * access from user mode costs ~50-100 us, so this halves a heartbeat's cost.
 */
static void uart_putc(void *ctx, char c)
{
	(void)ctx;
	if (!tx_room) {
		while (!(inb(COM1 + UART_LSR) & LSR_THRE))
			cpu_relax();
		tx_room = tx_burst;
	}
	outb(COM1 + UART_THR, (u8)c);
	tx_room--;
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
	vformat(uart_putc, NULL, fmt, ap);
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
	vformat(uart_putc, NULL, fmt, ap);
	va_end(ap);
	if (locked)
		lock_release();
}
