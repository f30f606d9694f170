// SPDX-License-Identifier: GPL-2.0-only
/*
 * config: defaults, the `key = value` file and per-key checks (see
 * config.h). Each key is a row of a table: its name and its setter.
 */
#include "daemon/config.h"

#include "lib/allowlist.h"
#include "lib/vmconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int config_init(struct pgrd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = strdup(PGRD_DEFAULT_STATE_DIR);
	c->socket = strdup(PGRD_DEFAULT_SOCKET);
	c->relocation_port = 8002;
	c->memory_reserve_mib = 256;
	return c->state_dir && c->socket ? 0 : -ENOMEM;
}

void config_clear(struct pgrd_config *c)
{
	free(c->state_dir);
	free(c->socket);
	free(c->log_file);
	free(c->vmm_path);
	free(c->relocation_address);
	free(c->relocation_hosts_allow);
	free(c->cpu_mask);
	memset(c, 0, sizeof(*c));
}

static int set_string(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int set_path(char **dst, const char *key, const char *v, char **err)
{
	if (v[0] != '/')
		return asprintf(err, "%s = %s: an absolute path is required", key, v), -EINVAL;
	return set_string(dst, v);
}

static int set_uuid(struct pgrd_config *c, const char *v, char **err)
{
	if (parse_uuid(v, c->host_uuid) < 0)
		return asprintf(err, "host_uuid = %s: not a UUID", v), -EINVAL;
	c->host_uuid_set = true;
	return 0;
}

static int set_port(struct pgrd_config *c, const char *v, char **err)
{
	char *end;
	long p = strtol(v, &end, 10);

	if (!*v || *end || p < 1 || p > 65535)
		return asprintf(err, "relocation_port = %s: not a port (1-65535)", v), -EINVAL;
	c->relocation_port = (int)p;
	c->relocation_server = true;
	return 0;
}

static int set_bool(bool *dst, const char *key, const char *v, char **err)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		return *dst = true, 0;
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		return *dst = false, 0;
	return asprintf(err, "%s = %s: expected yes or no", key, v), -EINVAL;
}

static int set_reserve(struct pgrd_config *c, const char *v, char **err)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 0 || n > (1L << 30))
		return asprintf(err, "memory_reserve = %s: not a number of MiB", v), -EINVAL;
	c->memory_reserve_mib = n;
	return 0;
}

/* Feature names as pgr-vmm's --cpu takes them: letters, digits, '_' and
 * '.', separated by commas (or spaces). Stored comma-separated. */
static int set_cpu_mask(struct pgrd_config *c, const char *v, char **err)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	for (char *p = s; *p; p++) {
		if (*p == ' ')
			*p = ',';
		else if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != ',') {
			free(s);
			return asprintf(err, "cpu_mask = %s: feature names are letters, digits, "
					"'_' and '.', separated by commas", v), -EINVAL;
		}
	}
	free(c->cpu_mask);
	c->cpu_mask = *s ? s : (free(s), NULL);
	return 0;
}

static int set_allow(struct pgrd_config *c, const char *v, char **err)
{
	char *why = NULL;
	struct allowlist *a = allowlist_new(v, &why);

	if (!a) {
		int r = asprintf(err, "relocation_hosts_allow: %s", why ? why : "out of memory");

		free(why);
		return r < 0 ? -ENOMEM : -EINVAL;
	}
	allowlist_free(a);
	return set_string(&c->relocation_hosts_allow, v);
}

int config_set(struct pgrd_config *c, const char *key, const char *v, char **err)
{
	if (!strcmp(key, "state_dir"))
		return set_path(&c->state_dir, key, v, err);
	if (!strcmp(key, "socket"))
		return set_path(&c->socket, key, v, err);
	if (!strcmp(key, "log_file"))
		return set_path(&c->log_file, key, v, err);
	if (!strcmp(key, "vmm_path"))
		return set_path(&c->vmm_path, key, v, err);
	if (!strcmp(key, "host_uuid"))
		return set_uuid(c, v, err);
	if (!strcmp(key, "relocation_server"))
		return set_bool(&c->relocation_server, key, v, err);
	if (!strcmp(key, "relocation_address"))
		return c->relocation_server = true, set_string(&c->relocation_address, v);
	if (!strcmp(key, "relocation_port"))
		return set_port(c, v, err);
	if (!strcmp(key, "relocation_hosts_allow"))
		return set_allow(c, v, err);
	if (!strcmp(key, "memory_reserve"))
		return set_reserve(c, v, err);
	if (!strcmp(key, "cpu_mask"))
		return set_cpu_mask(c, v, err);
	return asprintf(err, "unknown key '%s'", key), -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* Strip one pair of matching quotes; a lone quote is an error. */
static int unquote(char **v)
{
	size_t n = strlen(*v);
	char q = **v;

	if (q != '"' && q != '\'')
		return strchr(*v, '"') ? -EINVAL : 0;
	if (n < 2 || (*v)[n - 1] != q)
		return -EINVAL;
	(*v)[n - 1] = 0;
	(*v)++;
	return 0;
}

/* One line: blank, comment, or key = value. */
static int parse_line(struct pgrd_config *c, char *line, char **why)
{
	char *hash, *eq, *key, *val;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return asprintf(why, "expected 'key = value'"), -EINVAL;
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	if ((*val != '"' && *val != '\'') && (hash = strchr(val, '#')))
		val = (*hash = 0, trim(val));
	if (!*key)
		return asprintf(why, "missing key before '='"), -EINVAL;
	if (unquote(&val) < 0)
		return asprintf(why, "%s: unbalanced quotes", key), -EINVAL;
	return config_set(c, key, val, why);
}

int config_load(struct pgrd_config *c, const char *path, char **err)
{
	FILE *f = fopen(path, "re");
	char line[PGRD_CONFIG_MAX_LINE];
	int lineno = 0, r = 0;

	if (!f)
		return r = -errno, asprintf(err, "%s: %s", path, strerror(-r)), r;
	while (!r && fgets(line, sizeof(line), f)) {
		char *why = NULL;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = -EINVAL;
			if (asprintf(err, "%s:%d: line too long", path, lineno) < 0)
				*err = NULL;
			break;
		}
		r = parse_line(c, line, &why);
		if (r < 0 && asprintf(err, "%s:%d: %s", path, lineno, why ? why : "out of memory") < 0)
			*err = NULL;
		free(why);
	}
	fclose(f);
	return r;
}
