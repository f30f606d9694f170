// SPDX-License-Identifier: GPL-2.0-only
/*
 * tap: opening a tap interface (see tap.h). The link is brought up; when a
 * bridge is named, the tap joins it (as libvirt's <interface type='bridge'>).
 */
#include "devices/tap.h"

#define LOG_SUBSYS "tap"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -errno;
	r = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

static int link_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	r = if_ioctl(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

static int join_bridge(const char *ifname, const char *bridge)
{
	struct ifreq ifr = { 0 };
	int idx;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (if_ioctl(SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	idx = ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = idx;
	return if_ioctl(SIOCBRADDIF, &ifr);
}

int tap_open(const char *ifname, const char *bridge, char **err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, r;

	if (strlen(ifname) >= IFNAMSIZ)
		return asprintf(err, "--net tap=%s: name longer than %d", ifname, IFNAMSIZ - 1), -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return asprintf(err, "--net tap=%s: /dev/net/tun: %s", ifname, strerror(errno)), -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return asprintf(err, "--net tap=%s: %s%s", ifname, strerror(-r),
				r == -EBUSY ? " (another process has it open)" : ""), r;
	}
	if ((r = link_up(ifname)) < 0)
		pr_warn("tap %s: cannot bring the link up: %s", ifname, strerror(-r));
	if (bridge && (r = join_bridge(ifname, bridge)) < 0) {
		close(fd);
		return asprintf(err, "--net tap=%s: cannot join bridge %s: %s", ifname, bridge,
				strerror(-r)), r;
	}
	return fd;
}
