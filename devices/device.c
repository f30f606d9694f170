// SPDX-License-Identifier: GPL-2.0-only
/*
 * device: helpers every device's load() uses to read its saved state
 * strictly — a missing field, a wrong type or an out-of-range value is an
 * error naming the field, never a crash or a silently clamped value.
 */
#include "devices/device.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int field_err(char **err, const char *key, const char *what)
{
	if (asprintf(err, "field '%s' %s", key, what) < 0)
		*err = NULL;
	return -EINVAL;
}

int dev_get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out, char **err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return field_err(err, key, "missing or not an integer");
	if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return field_err(err, key, "out of range");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dev_get_bytes(const json_t *o, const char *key, uint8_t *buf, size_t len, char **err)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v) || json_string_length(v) != 2 * len)
		return field_err(err, key, "missing or of the wrong length");
	s = json_string_value(v);
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return field_err(err, key, "is not lower-case hex");
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

json_t *dev_bytes_json(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[buf[i] >> 4];
		s[2 * i + 1] = digits[buf[i] & 15];
	}
	s[2 * len] = 0;
	j = json_string(s);
	free(s);
	return j;
}
