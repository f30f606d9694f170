/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vnet.c: the virtio-net driver and a minimal IPv4 host (see vnet.h).
 *
 * Queues: receive 0 (NRX buffers of RX_BUF bytes, always posted), transmit
 * 1 (NTX buffers, a frame is one descriptor: the 12-byte virtio_net_hdr_v1,
 * zeroed, then the frame), control 2 (only the announce acknowledgement).
 * A frame that cannot be sent because every transmit buffer is busy is
 * dropped and counted. Checksums are computed in full (no offloads).
 */
#include "vnet.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"
#include "virtio.h"

#define RXQ		0
#define TXQ		1
#define CTRLQ		2
#define NRX		32
#define NTX		16
#define RX_BUF		2048
#define HDR		12		/* struct virtio_net_hdr_v1 */
#define QSIZE		64
#define FRAMES_PER_STEP	8
#define ETH_MIN		60
#define PING_WAIT_US	1000000
#define PING_ID		0x7067		/* "pg" */

#define F_MAC		5
#define F_STATUS	16
#define F_CTRL_VQ	17
#define F_GUEST_ANNOUNCE 21
#define CFG_MAC		0
#define CFG_STATUS	6
#define S_ANNOUNCE	2
#define CTRL_ANNOUNCE	3
#define CTRL_ANNOUNCE_ACK 0

#define ETH_ARP		0x0806
#define ETH_IP		0x0800
#define IP_ICMP		1
#define IP_UDP		17
#define ICMP_ECHO_REPLY	0
#define ICMP_ECHO	8
#define UDP_ECHO_PORT	7
#define ARP_REQUEST	1
#define ARP_REPLY	2
#define O_ETHTYPE	12
#define O_IP		14
#define O_ARP_OP	(O_IP + 6)
#define O_ARP_SHA	(O_IP + 8)
#define O_ARP_SPA	(O_IP + 14)
#define O_ARP_THA	(O_IP + 18)
#define O_ARP_TPA	(O_IP + 24)
#define ARP_LEN		(O_IP + 28)

/*
 * PING_SEND: the echo goes out from the next vnet_step(), not from the
 * console command, so that the round trip it times holds no port or
 * config I/O of the guest's own (the console poll's last UART read).
 */
enum ping_state { PING_IDLE, PING_SEND, PING_ARP, PING_ECHO };

static struct virtio_dev dev;
static bool present;
static u8 mac[6];
static u8 my_ip[4] = { 10, 0, 0, 2 };
static u8 rx_bufs[NRX][RX_BUF] __aligned(4096);
static u8 tx_bufs[NTX][RX_BUF] __aligned(4096);
static u8 rx_of_head[VIRTQ_MAX], tx_of_head[VIRTQ_MAX];
static u32 tx_busy;			/* bitmap of transmit buffers in use */
static u64 rx_frames, tx_frames, tx_dropped;
static struct {
	u8 class, cmd;
	u8 ack;
} ctrl;
static bool announce_pending;
static struct {
	enum ping_state state;
	u8 ip[4], mac[6];
	bool mac_known;
	u16 seq;
	u64 sent, deadline;
} ping;

/* ---- helpers ------------------------------------------------------------ */

static u16 get16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static void put16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static u32 csum_add(u32 sum, const u8 *p, u32 len)
{
	for (u32 i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (u32)p[len - 1] << 8;
	return sum;
}

static u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)~sum;
}

static int parse_ip(const char *s, size_t len, u8 ip[4])
{
	u32 part = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		u64 v;

		if (i < len && s[i] != '.')
			continue;
		if (part == 4 || parse_u64(s + start, i - start, &v) || v > 255)
			return -1;
		ip[part++] = (u8)v;
		start = i + 1;
	}
	return part == 4 ? 0 : -1;
}

bool vnet_option(const char *w, size_t len)
{
	u8 ip[4];

	if (len < 3 || memcmp(w, "ip=", 3))
		return false;
	if (!parse_ip(w + 3, len - 3, ip))
		memcpy(my_ip, ip, 4);
	return true;
}

/* ---- queues ------------------------------------------------------------- */

static void post_rx(u32 i)
{
	struct vq_buf b = { rx_bufs[i], RX_BUF, true };
	int head = virtq_add(&dev.vq[RXQ], &b, 1);

	if (head >= 0)
		rx_of_head[head] = (u8)i;
}

/* A free transmit buffer's frame area (after the header), or NULL. */
static u8 *tx_alloc(u32 *slot)
{
	for (u32 i = 0; i < NTX; i++)
		if (!(tx_busy & 1u << i)) {
			*slot = i;
			memset(tx_bufs[i], 0, HDR);
			return tx_bufs[i] + HDR;
		}
	tx_dropped++;
	return NULL;
}

static void tx_send(u32 slot, u32 len)
{
	struct vq_buf b;
	int head;

	if (len < ETH_MIN) {
		memset(tx_bufs[slot] + HDR + len, 0, ETH_MIN - len);
		len = ETH_MIN;
	}
	b = (struct vq_buf){ tx_bufs[slot], HDR + len, false };
	head = virtq_add(&dev.vq[TXQ], &b, 1);
	if (head < 0) {
		tx_dropped++;
		return;
	}
	tx_of_head[head] = (u8)slot;
	tx_busy |= 1u << slot;
	tx_frames++;
	virtq_kick(&dev.vq[TXQ]);
}

static void tx_reap(void)
{
	u32 len;
	int head;

	while ((head = virtq_get(&dev.vq[TXQ], &len)) >= 0)
		tx_busy &= ~(1u << tx_of_head[head]);
}

/* ---- ARP ---------------------------------------------------------------- */

static void eth_header(u8 *f, const u8 *dst, u16 type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + O_ETHTYPE, type);
}

static void send_arp(u16 op, const u8 *dst_mac, const u8 *tha, const u8 *tpa)
{
	static const u8 arp_ip_eth[6] = { 0, 1, 8, 0, 6, 4 };
	u32 slot;
	u8 *f = tx_alloc(&slot);

	if (!f)
		return;
	eth_header(f, dst_mac, ETH_ARP);
	memcpy(f + O_IP, arp_ip_eth, 6);
	put16(f + O_ARP_OP, op);
	memcpy(f + O_ARP_SHA, mac, 6);
	memcpy(f + O_ARP_SPA, my_ip, 4);
	memcpy(f + O_ARP_THA, tha, 6);
	memcpy(f + O_ARP_TPA, tpa, 4);
	tx_send(slot, ARP_LEN);
}

static void send_garp(void)
{
	static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const u8 zero[6];

	send_arp(ARP_REQUEST, bcast, zero, my_ip);
}

static void send_echo(void);

static void handle_arp(const u8 *f, u32 len)
{
	if (len < ARP_LEN || get16(f + O_IP) != 1 || get16(f + O_IP + 2) != ETH_IP ||
	    f[O_IP + 4] != 6 || f[O_IP + 5] != 4)
		return;
	if (ping.state != PING_IDLE && !memcmp(f + O_ARP_SPA, ping.ip, 4)) {
		memcpy(ping.mac, f + O_ARP_SHA, 6);
		ping.mac_known = true;
		if (ping.state == PING_ARP)
			ping.state = PING_SEND;
	}
	if (get16(f + O_ARP_OP) == ARP_REQUEST && !memcmp(f + O_ARP_TPA, my_ip, 4))
		send_arp(ARP_REPLY, f + O_ARP_SHA, f + O_ARP_SHA, f + O_ARP_SPA);
}

/* ---- IPv4: ICMP and UDP echo -------------------------------------------- */

/* A reply in a transmit buffer: the request copied, addresses swapped. */
static u8 *ip_reply(const u8 *f, u32 len, u32 *slot)
{
	u8 *r = tx_alloc(slot);
	u32 ihl = (f[O_IP] & 15) * 4;

	if (!r)
		return NULL;
	memcpy(r, f, len);
	eth_header(r, f + 6, ETH_IP);
	memcpy(r + O_IP + 12, my_ip, 4);
	memcpy(r + O_IP + 16, f + O_IP + 12, 4);
	r[O_IP + 8] = 64;			/* TTL */
	put16(r + O_IP + 10, 0);
	put16(r + O_IP + 10, csum_fold(csum_add(0, r + O_IP, ihl)));
	return r;
}

static void icmp_echo_reply(const u8 *f, u32 len, u32 ihl, u32 iplen)
{
	u32 slot;
	u8 *r = ip_reply(f, len, &slot);
	u8 *icmp;

	if (!r)
		return;
	icmp = r + O_IP + ihl;
	icmp[0] = ICMP_ECHO_REPLY;
	put16(icmp + 2, 0);
	put16(icmp + 2, csum_fold(csum_add(0, icmp, iplen - ihl)));
	tx_send(slot, O_IP + iplen);
}

static void udp_echo_reply(const u8 *f, u32 len, u32 ihl, u32 iplen)
{
	u32 slot, sum;
	u8 *r = ip_reply(f, len, &slot);
	u8 *udp;
	u16 ulen;

	if (!r)
		return;
	udp = r + O_IP + ihl;
	ulen = get16(udp + 4);
	if (ulen < 8 || ulen > iplen - ihl)
		return;			/* the buffer goes back unsent */
	put16(udp, get16(f + O_IP + ihl + 2));
	put16(udp + 2, get16(f + O_IP + ihl));
	put16(udp + 6, 0);
	sum = csum_add(0, r + O_IP + 12, 8) + IP_UDP + ulen;
	sum = csum_fold(csum_add(sum, udp, ulen));
	put16(udp + 6, sum ? (u16)sum : 0xffff);
	tx_send(slot, O_IP + iplen);
}

static void icmp_in(const u8 *f, u32 len, u32 ihl, u32 iplen)
{
	const u8 *icmp = f + O_IP + ihl;

	if (iplen - ihl < 8)
		return;
	if (icmp[0] == ICMP_ECHO) {
		icmp_echo_reply(f, len, ihl, iplen);
	} else if (icmp[0] == ICMP_ECHO_REPLY && ping.state == PING_ECHO &&
		   get16(icmp + 4) == PING_ID && get16(icmp + 6) == ping.seq &&
		   !memcmp(f + O_IP + 12, ping.ip, 4)) {
		print("PONG ip=%u.%u.%u.%u seq=%u us=%lu\n", ping.ip[0], ping.ip[1], ping.ip[2],
		      ping.ip[3], ping.seq, tsc_to_us(rdtsc() - ping.sent));
		ping.state = PING_IDLE;
	}
}

static void handle_ip(const u8 *f, u32 len)
{
	u32 ihl = (f[O_IP] & 15) * 4, iplen;

	if (len < O_IP + 20 || f[O_IP] >> 4 != 4 || ihl < 20)
		return;
	iplen = get16(f + O_IP + 2);
	if (iplen < ihl || O_IP + iplen > len || memcmp(f + O_IP + 16, my_ip, 4) ||
	    (get16(f + O_IP + 6) & 0x3fff))	/* fragments */
		return;
	if (csum_fold(csum_add(0, f + O_IP, ihl)))
		return;
	if (f[O_IP + 9] == IP_ICMP)
		icmp_in(f, len, ihl, iplen);
	else if (f[O_IP + 9] == IP_UDP && iplen - ihl >= 8 &&
		 get16(f + O_IP + ihl + 2) == UDP_ECHO_PORT)
		udp_echo_reply(f, len, ihl, iplen);
}

static void handle_frame(const u8 *f, u32 len)
{
	if (len < O_IP)
		return;
	if (get16(f + O_ETHTYPE) == ETH_ARP)
		handle_arp(f, len);
	else if (get16(f + O_ETHTYPE) == ETH_IP)
		handle_ip(f, len);
}

/* ---- ping (guest -> host) ----------------------------------------------- */

static void send_echo(void)
{
	u32 slot;
	u8 *f = tx_alloc(&slot), *icmp;

	if (!f)
		return;
	icmp = f + O_IP + 20;
	eth_header(f, ping.mac, ETH_IP);
	memset(f + O_IP, 0, 28);
	f[O_IP] = 0x45;
	put16(f + O_IP + 2, 20 + 8 + 32);
	f[O_IP + 8] = 64;
	f[O_IP + 9] = IP_ICMP;
	memcpy(f + O_IP + 12, my_ip, 4);
	memcpy(f + O_IP + 16, ping.ip, 4);
	put16(f + O_IP + 10, csum_fold(csum_add(0, f + O_IP, 20)));
	icmp[0] = ICMP_ECHO;
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, ++ping.seq);
	for (u32 i = 0; i < 32; i++)
		icmp[8 + i] = (u8)i;
	put16(icmp + 2, csum_fold(csum_add(0, icmp, 40)));
	ping.state = PING_ECHO;
	ping.sent = rdtsc();
	tx_send(slot, O_IP + 60);
}

void vnet_ping(const char *arg)
{
	static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const u8 zero[6];
	u8 ip[4];

	if (!present || parse_ip(arg, strlen(arg), ip)) {
		print(present ? "ERR usage: ping A.B.C.D\n" : "ERR no virtio-net NIC\n");
		return;
	}
	if (memcmp(ip, ping.ip, 4))
		ping.mac_known = false;
	memcpy(ping.ip, ip, 4);
	ping.deadline = rdtsc() + tsc_from_us(PING_WAIT_US);
	if (ping.mac_known) {
		ping.state = PING_SEND;
		return;
	}
	ping.state = PING_ARP;
	send_arp(ARP_REQUEST, bcast, zero, ip);
}

/* ---- the step ----------------------------------------------------------- */

static u32 rx_step(void)
{
	u32 len, n = 0;
	int head;

	while (n < FRAMES_PER_STEP && (head = virtq_get(&dev.vq[RXQ], &len)) >= 0) {
		u32 i = rx_of_head[head];

		if (len > HDR)
			handle_frame(rx_bufs[i] + HDR, len - HDR);
		rx_frames++;
		post_rx(i);
		n++;
	}
	return n;
}

void vnet_step(u64 now)
{
	if (!present)
		return;
	tx_reap();
	if (ping.state == PING_SEND)
		send_echo();
	if (rx_step())
		virtq_kick(&dev.vq[RXQ]);
	if (ping.state != PING_IDLE && now > ping.deadline) {
		print("PING timeout ip=%u.%u.%u.%u\n", ping.ip[0], ping.ip[1], ping.ip[2],
		      ping.ip[3]);
		ping.state = PING_IDLE;
	}
}

static void ctrl_reap(void)
{
	u32 len;

	if (virtq_get(&dev.vq[CTRLQ], &len) < 0)
		return;
	if (ctrl.ack)
		print("ERR announce acknowledgement refused (%u)\n", ctrl.ack);
	announce_pending = false;
}

void vnet_poll_config(void)
{
	struct vq_buf b[2] = { { &ctrl, 2, false }, { &ctrl.ack, 1, true } };

	if (!present || !virtio_has(&dev, F_GUEST_ANNOUNCE))
		return;
	if (announce_pending) {
		ctrl_reap();
		return;
	}
	if (!(virtio_cfg16(&dev, CFG_STATUS) & S_ANNOUNCE))
		return;
	send_garp();
	ctrl.class = CTRL_ANNOUNCE;
	ctrl.cmd = CTRL_ANNOUNCE_ACK;
	ctrl.ack = 0xff;
	if (virtq_add(&dev.vq[CTRLQ], b, 2) < 0)
		return;
	announce_pending = true;
	virtq_kick(&dev.vq[CTRLQ]);
	print("ANNOUNCE\n");
}

bool vnet_stats(u64 *rx, u64 *tx)
{
	*rx = rx_frames;
	*tx = tx_frames;
	return present;
}

/* ---- init --------------------------------------------------------------- */

static int setup_queues(void)
{
	u32 nq = virtio_has(&dev, F_CTRL_VQ) ? 3 : 2;

	for (u32 q = 0; q < nq; q++)
		if (virtio_setup_vq(&dev, q, QSIZE))
			return -1;
	for (u32 i = 0; i < NRX; i++)
		post_rx(i);
	return 0;
}

static void read_mac(void)
{
	static const u8 fallback[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	if (!virtio_has(&dev, F_MAC)) {
		memcpy(mac, fallback, 6);
		return;
	}
	for (u32 i = 0; i < 6; i++)
		mac[i] = virtio_cfg8(&dev, CFG_MAC + i);
}

bool vnet_init(void)
{
	u64 want = 1UL << F_MAC | 1UL << F_STATUS | 1UL << F_CTRL_VQ | 1UL << F_GUEST_ANNOUNCE;

	if (virtio_probe(&dev, VIRTIO_ID_NET, "virtio-net"))
		return false;
	if (virtio_negotiate(&dev, want) || setup_queues())
		return false;
	read_mac();
	virtio_driver_ok(&dev);
	present = true;
	virtq_kick(&dev.vq[RXQ]);
	send_garp();
	print("NET up mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%u.%u.%u.%u\n", mac[0], mac[1],
	      mac[2], mac[3], mac[4], mac[5], my_ip[0], my_ip[1], my_ip[2], my_ip[3]);
	return true;
}
