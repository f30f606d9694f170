// SPDX-License-Identifier: GPL-2.0-only
/*
 * savefile: read a save file's header and DEFINITION section (see
 * savefile.h). Fields are decoded one by one, little-endian, as the
 * format requires; nothing is cast from the buffer.
 */
#include "daemon/savefile.h"

#include "proto/migration.h"
#include "lib/crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int __attribute__((format(printf, 3, 4)))
bad(char **err, const char *path, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (asprintf(err, "%s: %s", path, what ? what : "out of memory") < 0)
		*err = NULL;
	free(what);
	return -EINVAL;
}

/* Exactly @len bytes, or -EPIPE at end of file. */
static int read_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

static int check_header(const uint8_t *h, const char *path, char **err)
{
	uint32_t version = le32(h + 8), flags = le32(h + 12);

	if (memcmp(h, PGR_MIG_MAGIC, PGR_MIG_MAGIC_LEN))
		return bad(err, path, "not a Peregrine save file (bad magic)");
	if (crc32c(0, h, PGR_MIG_HEADER_SIZE - 4) != le32(h + 64))
		return bad(err, path, "header checksum mismatch");
	if (version != PGR_MIG_VERSION)
		return bad(err, path, "format version %u, this build reads %u", version,
			   PGR_MIG_VERSION);
	if (flags & ~PGR_MIG_F_KNOWN)
		return bad(err, path, "unknown header flags 0x%x", flags);
	if (!(flags & PGR_MIG_F_SAVE))
		return bad(err, path, "a live migration stream, not a save file");
	return 0;
}

/* The first section's header: must be DEFINITION, of a sane length. */
static int check_section(const uint8_t *s, const char *path, uint64_t *len, char **err)
{
	uint32_t type = le32(s);

	*len = le64(s + 44);
	if (type != PGR_MIG_DEFINITION)
		return bad(err, path, "first section is of type %u, not the definition", type);
	if (*len == 0 || *len > PGR_MIG_DEFINITION_MAX)
		return bad(err, path, "definition section of %llu bytes", (unsigned long long)*len);
	return 0;
}

static int parse_definition(const char *json, size_t len, const char *path,
			    struct vm_config *c, char **err)
{
	json_error_t jerr;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	char *why = NULL;
	int r;

	if (!j)
		return bad(err, path, "definition is not JSON: %s", jerr.text);
	r = vmconfig_from_json(j, c, &why);
	json_decref(j);
	if (r < 0) {
		bad(err, path, "definition: %s", why ? why : "invalid");
		free(why);
		return -EINVAL;
	}
	return 0;
}

static int read_definition(int fd, const char *path, struct vm_config *c, char **err)
{
	uint8_t hdr[PGR_MIG_HEADER_SIZE], sec[PGR_MIG_SECTION_SIZE], crc[4];
	uint64_t len;
	uint8_t *payload;
	int r;

	if ((r = read_exact(fd, hdr, sizeof(hdr))) < 0 || (r = check_header(hdr, path, err)) < 0 ||
	    (r = read_exact(fd, sec, sizeof(sec))) < 0 || (r = check_section(sec, path, &len, err)) < 0)
		return r;
	payload = malloc(len);
	if (!payload)
		return -ENOMEM;
	r = read_exact(fd, payload, len);
	if (!r)
		r = read_exact(fd, crc, sizeof(crc));
	if (!r && crc32c(crc32c(0, sec, sizeof(sec)), payload, len) != le32(crc))
		r = bad(err, path, "definition section checksum mismatch");
	if (!r)
		r = parse_definition((const char *)payload, len, path, c, err);
	free(payload);
	return r;
}

int savefile_read_definition(const char *path, struct vm_config *c, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	vmconfig_init(c);
	if (fd < 0) {
		r = -errno;
		if (asprintf(err, "%s: %s", path, strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	r = read_definition(fd, path, c, err);
	close(fd);
	if (r == -EPIPE)
		r = bad(err, path, "truncated: the file ends inside its header or definition");
	else if (r < 0 && r != -EINVAL && asprintf(err, "%s: %s", path, strerror(-r)) < 0)
		*err = NULL;
	if (r < 0)
		vmconfig_clear(c);
	return r;
}
