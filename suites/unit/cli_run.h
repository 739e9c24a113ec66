/* Helpers shared by the command-line tests (test_cli.c, test_check.c, test_load.c): run a
 * command in-process with memory streams, or run the built binary (build/<variant>/sandprobe)
 * as a child with pipes, optionally in a process group of its own; each with its exit code
 * asserted and both streams printed when it is another; and the files a command wrote read
 * back. Header-only, cmocka asserts. */
#ifndef SP_TEST_CLI_RUN_H
#define SP_TEST_CLI_RUN_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

static char path_var[] = "PATH=/usr/bin:/bin";
static char *const bare_env[] = {path_var, NULL};

struct run {
    int code;
    char *out;
    char *err;
};

static inline void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs fn in-process with argv (NULL-terminated) and env; captures both streams. */
static inline struct run run_cmd(int (*fn)(int, char *const[], const struct sp_cli_io *),
                                 char *const *env,
                                 const char *const *argv)
{
    struct run r = {0};
    size_t out_len = 0, err_len = 0;
    FILE *out = open_memstream(&r.out, &out_len);
    FILE *err = open_memstream(&r.err, &err_len);
    assert_non_null(out);
    assert_non_null(err);
    int argc = 0;
    while (argv[argc])
        argc++;
    struct sp_cli_io io = {out, err, env};
    r.code = fn(argc, (char *const *)(uintptr_t)argv, &io);
    fclose(out);
    fclose(err);
    return r;
}

static inline void run_print(const struct run *r)
{
    print_error("exit %d\nstdout:\n%s\nstderr:\n%s\n", r->code, r->out, r->err);
}

/* Asserts r's exit code as code; on another one both streams are printed first. */
static inline void run_check(const struct run *r, int code)
{
    if (r->code != code)
        run_print(r);
    assert_int_equal(r->code, code);
}

/* run_cmd with the exit code checked as run_check does. */
static inline struct run run_expect(int (*fn)(int, char *const[], const struct sp_cli_io *),
                                    char *const *env,
                                    const char *const *argv,
                                    int code)
{
    struct run r = run_cmd(fn, env, argv);
    run_check(&r, code);
    return r;
}

static inline void expect_usage(int (*fn)(int, char *const[], const struct sp_cli_io *),
                                const char *const *argv,
                                const char *needle)
{
    struct run r = run_cmd(fn, bare_env, argv);
    if (r.code != SP_EXIT_USAGE || strstr(r.err, needle) == NULL)
        print_error("exit %d, stderr: %s\n", r.code, r.err);
    assert_int_equal(r.code, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, needle));
    run_free(&r);
}

static char bin_path[4096];

/* build/<variant>/tests/test_cli -> build/<variant>/sandprobe */
static inline int find_binary(void **state)
{
    (void)state;
    char self[4000];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    snprintf(bin_path, sizeof(bin_path), "%s/../sandprobe", self);
    if (access(bin_path, X_OK) != 0) {
        print_error("%s not found: build it first (make)\n", bin_path);
        return -1;
    }
    return 0;
}

struct child {
    pid_t pid;
    int out, err; /* read ends */
};

/* Runs the binary with argv and env; new_group puts it in a process group of its own (its
 * pid), so a test can signal the whole group as GNU timeout does. */
static inline struct child spawn_with(const char *const *argv, char *const *env, bool new_group)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    struct child c = {fork(), po[0], pe[0]};
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        if (new_group)
            setpgid(0, 0);
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        close(po[0]);
        close(pe[0]);
        execve(bin_path, (char *const *)(uintptr_t)argv, env);
        _exit(127);
    }
    if (new_group)
        setpgid(c.pid, c.pid); /* also here, so the group exists before we signal it */
    close(po[1]);
    close(pe[1]);
    return c;
}

static inline struct child spawn(const char *const *argv)
{
    return spawn_with(argv, bare_env, false);
}

/* Reads fd to EOF into a heap string. The poll guard turns a hung child into a failure
 * rather than a hung test; it is not a timing assertion. */
static inline char *read_all(int fd)
{
    size_t cap = 65536, len = 0;
    char *s = calloc(1, cap);
    assert_non_null(s);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_true(poll(&p, 1, 60000) == 1);
        ssize_t n = read(fd, s + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        assert_true(len < cap - 1);
    }
    s[len] = '\0';
    close(fd);
    return s;
}

static inline int wait_exit(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Reads both of c's streams to EOF and waits for it to exit: the exit code is asserted as
 * code, and both streams are printed when it is another. The caller frees the run. */
static inline struct run child_expect(struct child c, int code)
{
    struct run r = {0, read_all(c.out), read_all(c.err)};
    r.code = wait_exit(c.pid);
    run_check(&r, code);
    return r;
}

/* Reads one line from fd (the ready line). */
static inline void read_line(int fd, char *line, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_true(poll(&p, 1, 60000) == 1);
        char ch;
        assert_int_equal(read(fd, &ch, 1), 1);
        if (ch == '\n')
            break;
        line[n++] = ch;
    }
    line[n] = '\0';
}

/* Runs the binary as `sandprobe mock` with argv and returns it with its first ready line,
 * parsed (*ready; the caller deletes it). */
static inline struct child spawn_mock(const char *const *argv, cJSON **ready)
{
    struct child c = spawn(argv);
    char line[4096];
    read_line(c.out, line, sizeof(line));
    *ready = cJSON_Parse(line);
    if (*ready == NULL)
        print_error("ready line: %s\n", line);
    assert_non_null(*ready);
    return c;
}

/* A variable of a mock's ready line ("env" object) as "NAME=value" into out. */
static inline char *ready_var(const cJSON *ready, const char *name, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "env"), name);
    assert_true(cJSON_IsString(v));
    snprintf(out, len, "%s=%s", name, v->valuestring);
    return out;
}

/* The text of the file at path (at most 1 MiB; the test fails when it cannot be read), as a
 * heap string the caller frees. */
static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The JSON of the file at path, parsed (the test fails when it is none); cJSON_Delete it. */
static inline cJSON *slurp_json(const char *path)
{
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

#endif
