/* The `sandprobe` subcommands as functions, so main.c is only a dispatcher and the tests can
 * run a command in-process with their own streams and environment. Each returns the
 * process exit code of DESIGN.md (SP_EXIT_*). */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <stdio.h>

#define SP_VERSION "0.1.0"

/* Exit codes (DESIGN.md, "Command line"). */
#define SP_EXIT_PASS        0 /* every gating requirement passed */
#define SP_EXIT_FAIL        1 /* a conformance failure */
#define SP_EXIT_USAGE       2 /* usage or configuration error */
#define SP_EXIT_HARNESS     3 /* the harness itself failed (check: or the provider is unreachable) */
#define SP_EXIT_INTERRUPTED 130 /* check: stopped by SIGINT/SIGTERM (128 + SIGINT, as shells) */

/* Load runs only (sandprobe load / report). */
#define SP_EXIT_THRESHOLD   99  /* a load threshold was crossed */
#define SP_EXIT_INTERRUPTED 130 /* stopped by SIGINT/SIGTERM (reports still written) */

/* Where a command writes and what environment it reads (the only place a command gets
 * variables from: the harness never calls getenv). */
struct sp_cli_io {
    FILE *out;         /* results, ready lines */
    FILE *err;         /* diagnostics, progress */
    char *const *envp; /* "KEY=VALUE" array such as environ; NULL = empty */
};

/* argv[0] is the command name ("check"); the rest are its options. */
int sp_cmd_check(int argc, char *const argv[], const struct sp_cli_io *io);
int sp_cmd_mock(int argc, char *const argv[], const struct sp_cli_io *io);
int sp_cmd_list(int argc, char *const argv[], const struct sp_cli_io *io);
int sp_cmd_sweep(int argc, char *const argv[], const struct sp_cli_io *io);
int sp_cmd_load(int argc, char *const argv[], const struct sp_cli_io *io);
int sp_cmd_report(int argc, char *const argv[], const struct sp_cli_io *io);

#endif
