// SPDX-License-Identifier: GPL-2.0-only
/*
 * test-api: the API's request framing through api_dispatch() (vmm/api.h),
 * without KVM: what every request gets before a command runs — errors for
 * lines that are not requests, CommandNotFound, the id echoed whatever its
 * type — and the one command that touches no VM (qmp_capabilities). The
 * commands themselves need a running VM: tests/system/test-api.sh.
 */
#include "vmm/api.h"

#include "tests/unit/unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Dispatch @line with no VM and return the reply as compact JSON. */
static char *dispatch(const char *line)
{
	json_t *reply = api_dispatch(NULL, line, strlen(line));
	char *s = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(reply);
	return s;
}

static void check_reply(const char *line, const char *want)
{
	char *got = dispatch(line);

	CHECK_STR(got, want);
	free(got);
}

static void test_not_requests(void)
{
	static const char not_object[] =
		"{\"error\":{\"class\":\"GenericError\",\"desc\":\"request is not a JSON object\"}}";

	check_reply("{\"execute\":", not_object);
	check_reply("", not_object);
	check_reply("[1,2,3]", not_object);
	check_reply("\"query-status\"", not_object);
	check_reply("{\"execute\":\"stop\",\"execute\":\"cont\"}", not_object);
	check_reply("{\"id\":7}",
		    "{\"error\":{\"class\":\"GenericError\",\"desc\":\"missing 'execute'\"},\"id\":7}");
	check_reply("{\"execute\":42,\"id\":7}",
		    "{\"error\":{\"class\":\"GenericError\",\"desc\":\"missing 'execute'\"},\"id\":7}");
	check_reply("{\"execute\":\"stop\",\"arguments\":[],\"id\":\"a\"}",
		    "{\"error\":{\"class\":\"GenericError\",\"desc\":\"'arguments' must be an object\"},\"id\":\"a\"}");
}

static void test_unknown_command(void)
{
	check_reply("{\"execute\":\"no-such-thing\",\"id\":1}",
		    "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":"
		    "\"The command no-such-thing has not been found\"},\"id\":1}");
	check_reply("{\"execute\":\"\"}",
		    "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":"
		    "\"The command  has not been found\"}}");
}

static void test_id_echoed(void)
{
	check_reply("{\"execute\":\"qmp_capabilities\"}", "{\"return\":{}}");
	check_reply("{\"execute\":\"qmp_capabilities\",\"id\":1}", "{\"id\":1,\"return\":{}}");
	check_reply("{\"id\":\"x\",\"execute\":\"qmp_capabilities\",\"arguments\":{}}",
		    "{\"id\":\"x\",\"return\":{}}");
	check_reply("{\"execute\":\"qmp_capabilities\",\"id\":{\"n\":[1,null,true]}}",
		    "{\"id\":{\"n\":[1,null,true]},\"return\":{}}");
	check_reply("{\"execute\":\"qmp_capabilities\",\"id\":null}", "{\"id\":null,\"return\":{}}");
}

static void test_command_table(void)
{
	static const char *const expected[] = {
		"qmp_capabilities", "query-status", "stop", "cont", "system-reset",
		"system-powerdown", "quit", "query-cpus", "query-memory",
	};
	int n = 0;

	for (const struct api_command *c = api_commands; c->name; c++, n++)
		CHECK(c->fn != NULL);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct api_command *c = api_commands;

		while (c->name && strcmp(c->name, expected[i]))
			c++;
		CHECK_STR(c->name, expected[i]);
	}
	CHECK(n >= 9);
}

int main(void)
{
	test_not_requests();
	test_unknown_command();
	test_id_echoed();
	test_command_table();
	return UNIT_DONE();
}
