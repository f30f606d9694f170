/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * console.c: the serial command line of the test guest. Bytes are read by
 * polling (console_poll, from the BSP's loop), gathered into a line, and the
 * line is looked up in a table of commands by its first word.
 *
 * No editing, no echo of typed characters, no history: the other end is a
 * test script. Lines longer than LINE_MAX are cut. "blk" and "ping" are
 * passed on to the drivers (vblk.c, vnet.c).
 */
#include "console.h"
#include "main.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"
#include "vblk.h"
#include "vnet.h"
#include "work.h"

#define LINE_MAX	256
#define BYTES_PER_POLL	64
#define PORT_I8042_CMD	0x64
#define I8042_RESET	0xfe
#define PORT_PM1A_CNT	0x604
#define PM1_SLP_EN_S5	0x2000	/* SLP_EN, SLP_TYP 0 */
#define GIVE_UP_US	1000000

struct command {
	const char *name;
	void (*run)(const char *arg, const char *line);
};

static char line[LINE_MAX];
static u32 line_len;

static int parse_rate(const char *arg, u32 *out)
{
	u64 v;

	if (parse_u64(arg, strlen(arg), &v) || v > 0xffffffffUL)
		return -1;
	*out = (u32)v;
	return 0;
}

static void cmd_rate(const char *arg, const char *l)
{
	u32 v;

	if (parse_rate(arg, &v)) {
		print("ERR bad number: %s\n", l);
		return;
	}
	work_set_rates(v, work_verify_rate());
	print("OK rate=%u\n", v);
}

static void cmd_verify(const char *arg, const char *l)
{
	u32 v;

	if (parse_rate(arg, &v)) {
		print("ERR bad number: %s\n", l);
		return;
	}
	work_set_rates(work_dirty_rate(), v);
	print("OK verify=%u\n", v);
}

static void cmd_echo(const char *arg, const char *l)
{
	print("ECHO %s\n", arg);
}

static void cmd_stats(const char *arg, const char *l)
{
	struct work_stats st;
	u64 rx, tx;

	work_get_stats(&st);
	if (vnet_stats(&rx, &tx))
		print("STATS hb=%lu sweeps=%lu dirtied=%lu corrupt=%lu rx=%lu tx=%lu\n",
		      main_heartbeats(), st.sweeps, st.dirtied, st.corrupt, rx, tx);
	else
		print("STATS hb=%lu sweeps=%lu dirtied=%lu corrupt=%lu\n",
		      main_heartbeats(), st.sweeps, st.dirtied, st.corrupt);
}

static void cmd_blk(const char *arg, const char *l)
{
	vblk_command(arg);
}

static void cmd_ping(const char *arg, const char *l)
{
	vnet_ping(arg);
}

static void cmd_reset(const char *arg, const char *l)
{
	outb(PORT_I8042_CMD, I8042_RESET);
	udelay(GIVE_UP_US);
	print("ERR reset did not happen\n");
}

static void cmd_poweroff(const char *arg, const char *l)
{
	outw(PORT_PM1A_CNT, PM1_SLP_EN_S5);
	udelay(GIVE_UP_US);
	print("ERR poweroff did not happen\n");
}

static const struct command commands[] = {
	{ "rate", cmd_rate },
	{ "verify", cmd_verify },
	{ "echo", cmd_echo },
	{ "stats", cmd_stats },
	{ "reset", cmd_reset },
	{ "poweroff", cmd_poweroff },
	{ "blk", cmd_blk },
	{ "ping", cmd_ping },
};

static void run_line(char *l)
{
	char *arg;
	size_t n;

	while (*l == ' ')
		l++;
	for (n = strlen(l); n && l[n - 1] == ' '; n--)
		l[n - 1] = 0;
	if (!*l)
		return;
	for (arg = l; *arg && *arg != ' '; arg++)
		;
	n = (size_t)(arg - l);
	while (*arg == ' ')
		arg++;
	for (u32 i = 0; i < ARRAY_SIZE(commands); i++)
		if (strlen(commands[i].name) == n && !memcmp(commands[i].name, l, n)) {
			commands[i].run(arg, l);
			return;
		}
	print("ERR unknown command: %s\n", l);
}

void console_poll(void)
{
	int ch;

	for (u32 i = 0; i < BYTES_PER_POLL && (ch = uart_getc()) >= 0; i++) {
		if (ch == '\r' || ch == '\n') {
			line[line_len] = 0;
			run_line(line);
			line_len = 0;
		} else if (line_len < LINE_MAX - 1) {
			line[line_len++] = (char)ch;
		}
	}
}
