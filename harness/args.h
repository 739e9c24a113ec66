/* A small long-option parser shared by the subcommands. Each command describes its options in
 * one table; the same table drives parsing and `--help`, so the help can never drift from
 * what is accepted. Reentrant (no getopt globals), so the command functions can be called
 * in-process by the tests. */
#ifndef SP_ARGS_H
#define SP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One option: `--name VALUE` (or `--name=VALUE`) when metavar is set, else a flag. */
struct sp_opt {
    const char *name;    /* long name without the leading "--" */
    const char *metavar; /* "DIR", "RE" ...; NULL for a flag */
    const char *help;    /* one line */
    const char *def;     /* default shown in the help; NULL = none */
    /* The registry the value names an entry of (sp_provider_names, sp_mock_vendor_names);
     * the help lists its names, so a new vendor shows up without editing help texts. */
    size_t (*choices)(const char **names, size_t max);
    const char *choices_also; /* a value accepted beside them ("all"); NULL = none */
};

/* A command: its name, a one-line summary, and its option table. */
struct sp_cmd_spec {
    const char *name;    /* "check" */
    const char *summary; /* one line */
    const struct sp_opt *opts;
    size_t n_opts;
};

/* What a few commands add: options that may be repeated (bit i = option i) and positional
 * arguments ("DIR...", NULL = none). */
struct sp_args_extra {
    unsigned repeat_mask;
    const char *positional;
};

#define SP_ARGS_MAX_OPTS 24

/* Values of repeatable options, and positional arguments, one command line holds. */
#define SP_ARGS_MAX_MULTI 32

struct sp_args {
    /* Value of each option, by table index: the value given last, "" for a flag that was
     * given, NULL when absent. Points into argv. */
    const char *val[SP_ARGS_MAX_OPTS];
    const char *rep[SP_ARGS_MAX_MULTI]; /* values of repeatable options, in order */
    int rep_opt[SP_ARGS_MAX_MULTI];     /* the option each of rep[] belongs to */
    size_t n_rep;
    const char *pos[SP_ARGS_MAX_MULTI]; /* positional arguments (spec->positional) */
    size_t n_pos;
    char msg[256]; /* what was wrong, for SP_ARGS_USAGE */
};

enum sp_args_rc {
    SP_ARGS_OK,
    SP_ARGS_HELP, /* --help or -h was given: print the help, exit 0 */
    SP_ARGS_USAGE /* a bad argument; msg says which */
};

/* Parses argv[1..argc-1] (argv[0] is the command name) against spec. Unknown options, a
 * missing value, a value given to a flag and positional arguments are usage errors naming
 * the argument. */
enum sp_args_rc
sp_args_parse(const struct sp_cmd_spec *spec, int argc, char *const argv[], struct sp_args *out);

/* The same, with repeatable options and positional arguments (sp_args.rep, sp_args.pos). */
enum sp_args_rc sp_args_parse_extra(const struct sp_cmd_spec *spec,
                                    const struct sp_args_extra *extra,
                                    int argc,
                                    char *const argv[],
                                    struct sp_args *out);

/* Writes "usage: sandprobe <cmd> [options]", the summary and one line per option. */
void sp_args_help(const struct sp_cmd_spec *spec, FILE *out);
void sp_args_help_extra(const struct sp_cmd_spec *spec,
                        const struct sp_args_extra *extra,
                        FILE *out);

/* Prints "sandprobe <cmd>: <msg>" and a hint to use --help, to err. Returns the usage exit
 * code, so commands can write `return sp_args_usage(...)`. */
int sp_args_usage(const struct sp_cmd_spec *spec, FILE *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a decimal integer in [min, max]; returns 0, or -1 when s is not one. */
int sp_args_long(const char *s, long min, long max, long *out);

#endif
