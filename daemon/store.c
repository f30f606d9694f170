// SPDX-License-Identifier: GPL-2.0-only
/*
 * store: the state directory's layout, its lock, atomic replacement and
 * the host UUID file (see store.h).
 */
#include "daemon/store.h"

#define LOG_SUBSYS "store"
#include "lib/log.h"
#include "lib/vmconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; !r; p++) {
		bool end = !*p;

		if (*p != '/' && !end)
			continue;
		*p = 0;
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			r = -errno;
		if (end)
			break;
		*p = '/';
	}
	free(copy);
	return r;
}

char *store_path(const struct store *s, const char *sub, const char *name, const char *suffix)
{
	char *p;

	if (asprintf(&p, "%s%s%s/%s%s", s->dir, sub ? "/" : "", sub ? sub : "", name,
		     suffix ? suffix : "") < 0)
		return NULL;
	return p;
}

static int make_subdirs(struct store *s, char **err)
{
	static const char *const subs[] = { "domains", "run", "log" };

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = store_path(s, NULL, subs[i], NULL);
		int r = p ? mkdir_p(p, 0700) : -ENOMEM;

		if (r < 0) {
			if (asprintf(err, "state directory %s: %s", p ? p : s->dir, strerror(-r)) < 0)
				*err = NULL;
			free(p);
			return r;
		}
		free(p);
	}
	return 0;
}

static int take_lock(struct store *s, char **err)
{
	char *p = store_path(s, NULL, "pgrd.lock", NULL);
	int r = 0;

	if (!p)
		return -ENOMEM;
	s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		r = -errno;
	else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	else if (ftruncate(s->lock_fd, 0) < 0 || dprintf(s->lock_fd, "%d\n", (int)getpid()) < 0)
		r = -errno;
	if (r < 0 && (r == -EBUSY ? asprintf(err, "state directory %s is in use by another pgrd",
					     s->dir) : asprintf(err, "%s: %s", p, strerror(-r))) < 0)
		*err = NULL;
	free(p);
	return r;
}

int store_open(struct store *s, const char *dir, char **err)
{
	int r;

	s->lock_fd = -1;
	s->dir = strdup(dir);
	if (!s->dir)
		return -ENOMEM;
	r = mkdir_p(dir, 0700);
	if (r < 0) {
		if (asprintf(err, "state directory %s: %s", dir, strerror(-r)) < 0)
			*err = NULL;
	} else {
		r = make_subdirs(s, err);
	}
	if (!r)
		r = take_lock(s, err);
	if (r < 0)
		store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
	free(s->dir);
	s->dir = NULL;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path), *slash;
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = 0;
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int store_write_atomic(const char *path, const void *data, size_t len)
{
	char *tmp;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		r = fsync_dir_of(path);
	free(tmp);
	return r;
}

int store_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	size_t have = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(max + 2);
	while (buf && !r) {
		ssize_t n = read(fd, buf + have, max + 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else if ((have += n) > max)
			r = -EFBIG;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[have] = 0;
	*data = buf;
	if (len)
		*len = have;
	return 0;
}

int store_remove(const char *path)
{
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int read_uuid_file(const char *path, uint8_t uuid[16])
{
	char *text;
	int r = store_read_file(path, 128, &text, NULL);

	if (r < 0)
		return r;
	text[strcspn(text, " \t\r\n")] = 0;
	r = parse_uuid(text, uuid) < 0 ? -EINVAL : 0;
	free(text);
	return r;
}

static int write_uuid_file(const char *path, const uint8_t uuid[16])
{
	char text[38];

	format_uuid(uuid, text);
	strcat(text, "\n");
	return store_write_atomic(path, text, strlen(text));
}

int store_host_uuid(struct store *s, const uint8_t *configured, uint8_t uuid[16], char **err)
{
	char *path = store_path(s, NULL, "host-uuid", NULL);
	int r;

	if (!path)
		return -ENOMEM;
	if (configured) {
		memcpy(uuid, configured, 16);
		r = write_uuid_file(path, uuid);
	} else if ((r = read_uuid_file(path, uuid)) == -ENOENT) {
		generate_uuid(uuid);
		r = write_uuid_file(path, uuid);
	}
	if (r == -EINVAL && asprintf(err, "%s: not a UUID (remove it to get a new one)", path) < 0)
		*err = NULL;
	else if (r < 0 && r != -EINVAL && asprintf(err, "%s: %s", path, strerror(-r)) < 0)
		*err = NULL;
	free(path);
	return r;
}

static bool valid_name(const char *s, size_t n)
{
	if (!n || n >= VMCONFIG_NAME_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
			return false;
	return true;
}

int store_each(const struct store *s, const char *sub, const char *suffix,
	       int (*fn)(void *opaque, const char *name), void *opaque)
{
	char *dir = store_path(s, NULL, sub, NULL), name[VMCONFIG_NAME_MAX];
	size_t sl = strlen(suffix);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	free(dir);
	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n <= sl || strcmp(e->d_name + n - sl, suffix) || !valid_name(e->d_name, n - sl))
			continue;
		memcpy(name, e->d_name, n - sl);
		name[n - sl] = 0;
		r = fn(opaque, name);
	}
	closedir(d);
	return r;
}
