// SPDX-License-Identifier: GPL-2.0-only
/*
 * domxml-write: struct vm_config -> libvirt domain XML, written by hand in
 * virsh's layout so that the output is stable byte for byte and
 * domxml_parse() (domxml.c) reads it back to the same config. No libxml2:
 * only escaping is needed.
 */
#include "lib/domxml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* <tag>text</tag> at indent, or nothing when s is NULL. */
static void put_elem(FILE *f, int indent, const char *tag, const char *s)
{
	if (!s)
		return;
	fprintf(f, "%*s<%s>", indent, "", tag);
	put_escaped(f, s);
	fprintf(f, "</%s>\n", tag);
}

/* <tag name='value'/> at indent. */
static void put_attr_elem(FILE *f, int indent, const char *tag, const char *name, const char *v)
{
	fprintf(f, "%*s<%s %s='", indent, "", tag, name);
	put_escaped(f, v);
	fputs("'/>\n", f);
}

static void put_disk(FILE *f, const struct vm_disk_cfg *d)
{
	fputs("    <disk type='file' device='disk'>\n", f);
	fprintf(f, "      <driver name='qemu' type='raw' cache='%s'/>\n", disk_cache_name(d->cache));
	put_attr_elem(f, 6, "source", "file", d->path);
	fputs("      <target dev='", f);
	put_escaped(f, d->target);
	fputs("' bus='virtio'/>\n", f);
	if (d->readonly)
		fputs("      <readonly/>\n", f);
	fputs("    </disk>\n", f);
}

static void put_net(FILE *f, const struct vm_net_cfg *n)
{
	char mac[18];

	format_mac(n->mac, mac);
	fprintf(f, "    <interface type='%s'>\n", n->bridge ? "bridge" : "ethernet");
	put_attr_elem(f, 6, "mac", "address", mac);
	if (n->bridge)
		put_attr_elem(f, 6, "source", "bridge", n->bridge);
	if (n->tap)
		put_attr_elem(f, 6, "target", "dev", n->tap);
	fputs("      <model type='virtio'/>\n", f);
	fputs("    </interface>\n", f);
}

static void put_domain(FILE *f, const struct vm_config *c)
{
	char uuid[37];
	int i;

	format_uuid(c->uuid, uuid);
	fputs("<domain type='kvm'>\n", f);
	put_elem(f, 2, "name", c->name);
	put_elem(f, 2, "uuid", uuid);
	fprintf(f, "  <memory unit='KiB'>%llu</memory>\n", (unsigned long long)(c->mem_bytes >> 10));
	fprintf(f, "  <currentMemory unit='KiB'>%llu</currentMemory>\n",
		(unsigned long long)(c->mem_bytes >> 10));
	fprintf(f, "  <vcpu placement='static'>%d</vcpu>\n", c->ncpus);
	fputs("  <os>\n    <type arch='x86_64'>hvm</type>\n", f);
	put_elem(f, 4, "kernel", c->kernel);
	put_elem(f, 4, "initrd", c->initrd);
	put_elem(f, 4, "cmdline", c->cmdline);
	fputs("  </os>\n", f);
	if (c->cpu_mode)
		fprintf(f, "  <cpu mode='%s'/>\n", c->cpu_mode);
	fputs("  <devices>\n", f);
	for (i = 0; i < c->ndisks; i++)
		put_disk(f, &c->disks[i]);
	for (i = 0; i < c->nnets; i++)
		put_net(f, &c->nets[i]);
	fputs("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n", f);
	fputs("    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n", f);
	fputs("  </devices>\n</domain>\n", f);
}

char *domxml_format(const struct vm_config *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (vmconfig_validate(c, NULL) || !c->kernel) {
		errno = EINVAL;
		return NULL;
	}
	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	put_domain(f, c);
	if (ferror(f) | fclose(f)) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	return buf;
}
