/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pgrd: the daemon as a whole — its settings, state directory, event loop,
 * management API and the table of domains. One instance, made in main.c
 * and handed to everything that needs more than one of these parts.
 *
 * Files: main.c (arguments, start-up, signals), config.c, store.c (state
 * directory), domain.c (the table, states, persistence), lifecycle.c
 * (start, stop, save, restore... as jobs on the monitor), vmm.c (the
 * pgr-vmm processes), monitor.c (their API), console.c (their serial
 * line), api.c (the management socket), commands.c (its command table),
 * savefile.c, hostinfo.c, evloop.c, migrate.c (between hosts; job.h is
 * what it shares with lifecycle.c). Protocol and layout: docs/pgrd.md.
 */
#ifndef PGR_DAEMON_PGRD_H
#define PGR_DAEMON_PGRD_H

#include <jansson.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/store.h"

struct evloop;
struct api;
struct domain;

struct pgrd {
	struct pgrd_config cfg;
	struct store store;
	struct evloop *loop;
	struct api *api;
	struct domain *domains;      /* list, in definition order */
	int next_id;                 /* for the next domain started */
	uint8_t host_uuid[16];
	char *vmm_path;
	json_t *cpu_offer;           /* CPU features guests get here (migrate.c), once asked */
};

#endif
