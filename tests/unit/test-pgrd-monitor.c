// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-pgrd-monitor: pgrd's client of a monitor's API socket. A monitor
 * that writes its last events and exits must have them all delivered,
 * before the connection is reported lost, even when pgrd's next command
 * is what finds the socket gone (a send that fails with EPIPE while the
 * events still wait in the receive queue): 1 migration in 60 used to end
 * without its completed event's figures that way.
 */
#include "daemon/evloop.h"
#include "daemon/monitor.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/unit.h"

#define GREETING "{\"QMP\": {\"version\": {}}}\n"
#define EVENT "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\", \"downtime\": 2}}\n"

struct seen {
	int ready, events, closed_after_events, closed;
	long long downtime;
};

static void on_ready(void *opaque)
{
	((struct seen *)opaque)->ready++;
}

static void on_event(void *opaque, const char *name, json_t *data)
{
	struct seen *s = opaque;

	if (!strcmp(name, "MIGRATION")) {
		s->events++;
		s->downtime = json_integer_value(json_object_get(data, "downtime"));
	}
}

static void on_closed(void *opaque)
{
	struct seen *s = opaque;

	s->closed++;
	s->closed_after_events = s->events;
}

static const struct monitor_ops ops = { .ready = on_ready, .event = on_event, .closed = on_closed };

static void ignore(void *opaque, json_t *ret, const char *err)
{
}

/* The peer greets, writes @event, then closes; then we send a command. */
static void last_event_then_send(bool with_event)
{
	struct evloop *l = evloop_new();
	struct seen s = { 0 };
	struct monitor *m;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	m = monitor_new(l, sv[0], &ops, &s);
	CHECK(write(sv[1], GREETING, strlen(GREETING)) == (ssize_t)strlen(GREETING));
	monitor_drain(m);
	CHECK_EQ_INT(s.ready, 1);
	if (with_event)
		CHECK(write(sv[1], EVENT, strlen(EVENT)) == (ssize_t)strlen(EVENT));
	close(sv[1]);
	/* The send finds the peer gone before anything read the event. */
	CHECK_EQ_INT(monitor_command(m, "query-migrate", NULL, ignore, NULL), 0);
	CHECK_EQ_INT(s.closed, 1);
	CHECK_EQ_INT(s.events, with_event ? 1 : 0);
	CHECK_EQ_INT(s.closed_after_events, with_event ? 1 : 0);
	CHECK_EQ_INT(s.downtime, with_event ? 2 : 0);
	CHECK_EQ_INT(monitor_error(m), EPIPE);
	CHECK(!monitor_usable(m));
	monitor_free(m);
	evloop_free(l);
}

int main(void)
{
	last_event_then_send(true);
	last_event_then_send(false);
	return UNIT_DONE();
}
