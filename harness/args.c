/* Long-option parsing and generated help for the subcommands (see args.h). Only the GNU long
 * form is accepted (`--out DIR`, `--out=DIR`), plus `-h`: every option has a name a reader of
 * a CI script can understand without the manual. */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void set_msg(struct sp_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(struct sp_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
    va_end(ap);
}

/* Index of the option called name (the first n bytes of it), or -1. */
static int find_opt(const struct sp_cmd_spec *spec, const char *name, size_t n)
{
    for (size_t i = 0; i < spec->n_opts; i++) {
        const char *o = spec->opts[i].name;
        if (strlen(o) == n && strncmp(o, name, n) == 0)
            return (int)i;
    }
    return -1;
}

/* Handles argv[*i], an argument starting with "--"; may consume argv[*i + 1]. */
static enum sp_args_rc parse_long(const struct sp_cmd_spec *spec, const struct sp_args_extra *x,
                                  int argc, char *const argv[], int *i, struct sp_args *out)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n == 4 && strncmp(arg, "help", 4) == 0 && eq == NULL)
        return SP_ARGS_HELP;
    int k = find_opt(spec, arg, n);
    if (k < 0) {
        set_msg(out, "unknown option '--%.*s'", (int)(n > 64 ? 64 : n), arg);
        return SP_ARGS_USAGE;
    }
    const struct sp_opt *o = &spec->opts[k];
    if (o->metavar == NULL) {
        if (eq) {
            set_msg(out, "option '--%s' takes no value", o->name);
            return SP_ARGS_USAGE;
        }
        out->val[k] = "";
        return SP_ARGS_OK;
    }
    if (!eq && *i + 1 >= argc) {
        set_msg(out, "option '--%s' needs a value (%s)", o->name, o->metavar);
        return SP_ARGS_USAGE;
    }
    if (!eq)
        *i += 1;
    out->val[k] = eq ? eq + 1 : argv[*i];
    if (x && (x->repeat_mask & (1u << k))) {
        if (out->n_rep == SP_ARGS_MAX_MULTI) {
            set_msg(out, "option '--%s' given more than %d times", o->name, SP_ARGS_MAX_MULTI);
            return SP_ARGS_USAGE;
        }
        out->rep_opt[out->n_rep] = k;
        out->rep[out->n_rep++] = out->val[k];
    }
    return SP_ARGS_OK;
}

enum sp_args_rc
sp_args_parse(const struct sp_cmd_spec *spec, int argc, char *const argv[], struct sp_args *out)
{
    return sp_args_parse_extra(spec, NULL, argc, argv, out);
}

enum sp_args_rc sp_args_parse_extra(const struct sp_cmd_spec *spec,
                                    const struct sp_args_extra *x, int argc,
                                    char *const argv[], struct sp_args *out)
{
    memset(out, 0, sizeof(*out));
    if (spec->n_opts > SP_ARGS_MAX_OPTS) {
        set_msg(out, "too many options in the table of '%s'", spec->name);
        return SP_ARGS_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            return SP_ARGS_HELP;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (x == NULL || x->positional == NULL || out->n_pos == SP_ARGS_MAX_MULTI) {
                set_msg(out, "unexpected argument '%.64s'", a);
                return SP_ARGS_USAGE;
            }
            out->pos[out->n_pos++] = a;
            continue;
        }
        enum sp_args_rc rc = parse_long(spec, x, argc, argv, &i, out);
        if (rc != SP_ARGS_OK)
            return rc;
    }
    return SP_ARGS_OK;
}

/* Appends ": daytona, e2b or all" from the registry behind the option. */
static void print_choices(const struct sp_opt *o, FILE *out)
{
    const char *names[32];
    size_t n = o->choices(names, 32);
    n = n < 32 ? n : 32;
    fputc(':', out);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n && o->choices_also == NULL;
        fprintf(out, "%s %s", i == 0 ? "" : last ? " or" : ",", names[i]);
    }
    if (o->choices_also)
        fprintf(out, " or %s", o->choices_also);
}

void sp_args_help(const struct sp_cmd_spec *spec, FILE *out)
{
    sp_args_help_extra(spec, NULL, out);
}

void sp_args_help_extra(const struct sp_cmd_spec *spec, const struct sp_args_extra *x, FILE *out)
{
    const char *pos = x && x->positional ? x->positional : NULL;
    fprintf(out, "usage: sandprobe %s%s%s [options]\n\n%s\n\noptions:\n", spec->name,
            pos ? " " : "", pos ? pos : "", spec->summary);
    for (size_t i = 0; i < spec->n_opts; i++) {
        const struct sp_opt *o = &spec->opts[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-24s %s", left, o->help);
        if (o->choices)
            print_choices(o, out);
        if (x && (x->repeat_mask & (1u << i)))
            fputs(" (repeatable)", out);
        if (o->def)
            fprintf(out, " (default: %s)", o->def);
        fputc('\n', out);
    }
    fprintf(out, "  %-24s %s\n", "--help, -h", "show this help and exit");
}

int sp_args_usage(const struct sp_cmd_spec *spec, FILE *err, const char *fmt, ...)
{
    va_list ap;
    fprintf(err, "sandprobe %s: ", spec->name);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\ntry 'sandprobe %s --help'\n", spec->name);
    return SP_EXIT_USAGE;
}

int sp_args_long(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
