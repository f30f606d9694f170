/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pgr: the virsh-like command line. main.c holds the table of commands
 * and the global options; each cmd-*.c implements a few related commands,
 * parsing its own arguments (parse_args) and returning 0 or 1; conn.c
 * talks to pgrd. Output and error lines follow virsh's (docs/pgr.md):
 * errors are one line, "error: ...", on stderr.
 */
#ifndef PGR_CLI_PGR_H
#define PGR_CLI_PGR_H

#include <jansson.h>
#include <stdbool.h>

struct conn;

struct pgr {
	const char *uri;          /* -c URI, else $PGR_DEFAULT_URI, else NULL (pgr:///system) */
	struct conn *conn;        /* opened on first use */
};

struct pgr_command {
	const char *name;
	int (*fn)(struct pgr *p, int argc, char **argv);   /* argv[0] is the command */
	const char *summary;
};

extern const struct pgr_command pgr_commands[];

/* ---- arguments (util.c) ----
 * A command's arguments, virsh style: flags (--paused), options with a
 * value (--timeout 5, --timeout=5), positionals (DOMAIN) which may also be
 * given by name (--domain vm1), in any order; "--" ends the options.
 */
enum arg_kind { ARG_FLAG, ARG_VALUE, ARG_POS, ARG_POS_OPT };

struct arg_spec {
	const char *name;         /* without "--" */
	enum arg_kind kind;
	void *dst;                /* bool * for flags, const char ** otherwise */
};

/* 0: parsed; 1: --help printed (the command returns 0); -1: misuse, the
 * usage printed to stderr (the command returns 1). @spec ends with a NULL name. */
int parse_args(int argc, char **argv, const char *usage, const struct arg_spec *spec);
/* Returns what a command returns for a parse_args result other than 0. */
static inline int args_exit(int r)
{
	return r > 0 ? 0 : 1;
}

/* ---- talking to pgrd ---- */

/* Details of a failed call. */
struct call_error {
	char cls[64];
	char desc[1024];
};

/* Call @cmd with @args (stolen, may be NULL). The "return" value (new
 * reference), or NULL with @e filled (connection errors are printed here
 * and e->cls is "Connection"). */
json_t *pgr_call(struct pgr *p, const char *cmd, json_t *args, struct call_error *e);

/* p->conn, opened now if need be; NULL with the error printed. */
struct conn *pgr_connect(struct pgr *p);
/* A whole reply (stolen) to its "return" value (new reference), or NULL
 * with @e filled from its "error". */
json_t *call_result(json_t *reply, struct call_error *e);

/* ---- errors ---- */

/* "error: ...", one line on stderr; returns 1. */
int pgr_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error of a call about domain @dom: "error: failed to get domain
 * 'DOM'" when it does not exist, else "error: failed to VERB domain 'DOM':
 * DESC". Returns 1. */
int domain_error(const char *verb, const char *dom, const struct call_error *e);

/* An absolute version of @path (malloc'd; pgrd runs elsewhere). */
char *absolute_path(const char *path);

/* ---- the commands (cmd-*.c), listed in main.c ---- */
int cmd_list(struct pgr *p, int argc, char **argv);
int cmd_define(struct pgr *p, int argc, char **argv);
int cmd_undefine(struct pgr *p, int argc, char **argv);
int cmd_start(struct pgr *p, int argc, char **argv);
int cmd_create(struct pgr *p, int argc, char **argv);
int cmd_shutdown(struct pgr *p, int argc, char **argv);
int cmd_destroy(struct pgr *p, int argc, char **argv);
int cmd_suspend(struct pgr *p, int argc, char **argv);
int cmd_resume(struct pgr *p, int argc, char **argv);
int cmd_dumpxml(struct pgr *p, int argc, char **argv);
int cmd_dominfo(struct pgr *p, int argc, char **argv);
int cmd_domstate(struct pgr *p, int argc, char **argv);
int cmd_domid(struct pgr *p, int argc, char **argv);
int cmd_domname(struct pgr *p, int argc, char **argv);
int cmd_domuuid(struct pgr *p, int argc, char **argv);
int cmd_console(struct pgr *p, int argc, char **argv);
int cmd_save(struct pgr *p, int argc, char **argv);
int cmd_restore(struct pgr *p, int argc, char **argv);
int cmd_migrate(struct pgr *p, int argc, char **argv);
int cmd_domjobinfo(struct pgr *p, int argc, char **argv);
int cmd_domjobabort(struct pgr *p, int argc, char **argv);
int cmd_tunnel(struct pgr *p, int argc, char **argv);
int cmd_sysinfo(struct pgr *p, int argc, char **argv);
int cmd_nodeinfo(struct pgr *p, int argc, char **argv);
int cmd_hostname(struct pgr *p, int argc, char **argv);
int cmd_uri(struct pgr *p, int argc, char **argv);
int cmd_version(struct pgr *p, int argc, char **argv);

/* cmd-define.c, for create too: a domain XML file (- for stdin), or NULL
 * with the error printed; pgrd's warnings about a definition, on stderr. */
char *read_xml_file(const char *path);
void print_warnings(json_t *ret);

/* Attach to @dom's console until Ctrl-] or the guest's end (cmd-console.c;
 * also start --console and create --console). With @resume, the domain is
 * resumed once attached, so that its first output is seen. 0 or 1. */
int console_run(struct pgr *p, const char *dom, bool force, bool resume);

#endif
