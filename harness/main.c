/* The `sandprobe` program: finds the subcommand and hands it argv, the standard streams and
 * the process environment. Everything else lives in the library (harness/cmd_*.c), so the
 * tests run the same code in-process. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

extern char **environ;

static const struct {
    const char *name;
    int (*fn)(int argc, char *const argv[], const struct sp_cli_io *io);
    const char *summary;
} commands[] = {
    {"check", sp_cmd_check, "run the conformance requirements against a provider (mock or real)"},
    {"mock", sp_cmd_mock, "serve the vendor mocks on loopback until interrupted"},
    {"list", sp_cmd_list, "list the conformance requirements, their levels and tags"},
    {"sweep", sp_cmd_sweep, "delete the sandboxes a killed run left (run label only)"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: sandprobe <command> [options]\n"
                 "       sandprobe <command> --help\n"
                 "       sandprobe --version\n\n"
                 "A conformance and load-test harness for cloud sandbox providers.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexit status: 0 pass, 1 conformance failure, 2 usage or configuration "
                 "error, 3 harness error\n");
}

int main(int argc, char **argv)
{
    struct sp_cli_io io = {stdout, stderr, environ};
    if (argc < 2) {
        usage(stderr);
        return SP_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return SP_EXIT_PASS;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("sandprobe %s\n", SP_VERSION);
        return SP_EXIT_PASS;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1, &io);
    }
    fprintf(stderr, "sandprobe: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return SP_EXIT_USAGE;
}
