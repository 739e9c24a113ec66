/* The synthetic sandbox backend: no process and no directory per sandbox. Files live in
 * memory (a small list per sandbox, guarded by the sandbox's exec_lock, held only for copies)
 * and a command line is interpreted here: `echo`, `true`, `false`, `exit N`, `cat FILE...`,
 * `printf FORMAT ARGS...`, `sleep S`, joined by `;`, `&&` or `||`; anything else is exit 127
 * with a message naming the command and the backend. `sleep` does not sleep: it adds to the
 * result's sleep_us and the handler replies that much later on a timer. Everything here is
 * quick and never blocks, as the thread-pool transport requires. Also the shell backend's
 * entry in the same interface, and the helpers the handlers share. */
#include "backend.h"
#include "hostfs.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define SYN_FILE_MAX ((size_t)64 << 20) /* per file, as the request body limit */
#define SYN_ARGS_MAX 64

struct syn_file {
    char *path; /* normalised sandbox path */
    char *data;
    size_t len;
    struct syn_file *next;
};

struct syn_fs {
    struct syn_file *files;
};

void mock_run_result_init(struct mock_run_result *res, size_t cap)
{
    memset(res, 0, sizeof(*res));
    sp_buf_init(&res->out, cap);
    sp_buf_init(&res->err, cap);
}

void mock_run_result_cleanup(struct mock_run_result *res)
{
    sp_buf_cleanup(&res->out);
    sp_buf_cleanup(&res->err);
}

bool mock_is_synthetic(const struct sp_mock *m)
{
    return mock_backend(m) == SP_MOCK_BACKEND_SYNTHETIC;
}

const struct mock_backend_ops *mock_backend_ops(const struct sp_mock *m)
{
    return mock_is_synthetic(m) ? &mock_backend_synthetic : &mock_backend_shell;
}

void mock_backend_unsupported(struct mock_req *r)
{
    char path[256], msg[512];
    mock_log_escape(r->path, path, sizeof(path));
    snprintf(msg, sizeof(msg),
             "{\"message\":\"%s %s is not supported by the mock's synthetic backend (it serves "
             "commands and files only); run the mock with --backend shell\"}",
             r->method, path);
    mock_reply_json(r, 501, msg);
}

void mock_backend_sandbox_free(struct mock_sandbox *sb)
{
    struct syn_fs *fs = sb->backend;
    if (fs == NULL)
        return;
    for (struct syn_file *f = fs->files, *next; f != NULL; f = next) {
        next = f->next;
        free(f->path);
        free(f->data);
        free(f);
    }
    free(fs);
    sb->backend = NULL;
}

/* --- in-memory files ------------------------------------------------------------------------ */

/* The normalised sandbox path of path relative to cwd. */
static int
guest_path(struct mock_sandbox *sb, const char *cwd, const char *path, char *out, size_t len)
{
    char host[PATH_MAX];
    if (mock_sandbox_host_path(sb, cwd ? cwd : "/", path, host, sizeof(host)) != 0)
        return -1;
    size_t rl = strlen(sb->root);
    snprintf(out, len, "%s", host[rl] == '\0' ? "/" : host + rl);
    return 0;
}

/* Called with sb->exec_lock held. */
static struct syn_file *find(struct mock_sandbox *sb, const char *gpath)
{
    struct syn_fs *fs = sb->backend;
    for (struct syn_file *f = fs ? fs->files : NULL; f != NULL; f = f->next)
        if (strcmp(f->path, gpath) == 0)
            return f;
    return NULL;
}

static int
syn_read_file(struct mock_sandbox *sb, const char *cwd, const char *path, struct sp_buf *out)
{
    char g[PATH_MAX];
    if (guest_path(sb, cwd, path, g, sizeof(g)) != 0)
        return errno = ENAMETOOLONG, -1;
    pthread_mutex_lock(&sb->exec_lock);
    struct syn_file *f = find(sb, g);
    if (f != NULL)
        sp_buf_append(out, f->data ? f->data : "", f->len);
    pthread_mutex_unlock(&sb->exec_lock);
    if (f == NULL)
        return errno = ENOENT, -1;
    return out->overflow ? -1 : 0;
}

static int syn_write_file(
    struct mock_sandbox *sb, const char *cwd, const char *path, const void *data, size_t len)
{
    char g[PATH_MAX];
    if (guest_path(sb, cwd, path, g, sizeof(g)) != 0)
        return errno = ENAMETOOLONG, -1;
    if (strcmp(g, "/") == 0)
        return errno = EISDIR, -1;
    if (len > SYN_FILE_MAX)
        return errno = EFBIG, -1;
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return errno = ENOMEM, -1;
    memcpy(copy, data, len);
    int rc = 0;
    pthread_mutex_lock(&sb->exec_lock);
    if (sb->backend == NULL)
        sb->backend = calloc(1, sizeof(struct syn_fs));
    struct syn_fs *fs = sb->backend;
    struct syn_file *f = fs ? find(sb, g) : NULL;
    if (fs != NULL && f == NULL && (f = calloc(1, sizeof(*f))) != NULL) {
        f->path = strdup(g);
        if (f->path == NULL) {
            free(f);
            f = NULL;
        } else {
            f->next = fs->files;
            fs->files = f;
        }
    }
    if (f != NULL) {
        free(f->data);
        f->data = copy;
        f->len = len;
    } else {
        free(copy);
        errno = ENOMEM;
        rc = -1;
    }
    pthread_mutex_unlock(&sb->exec_lock);
    return rc;
}

/* Stored (uncompressed) zip of every in-memory file under sandbox directory gdir, named
 * relative to it, as the action server's /download_files answers for a directory. */
static void put16(struct sp_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    sp_buf_append(b, x, 2);
}

static void put32(struct sp_buf *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}

static void zip_header(struct sp_buf *b,
                       uint32_t sig,
                       const char *name,
                       uint32_t crc,
                       uint32_t len,
                       bool central,
                       uint32_t offset)
{
    put32(b, sig);
    if (central)
        put16(b, 20); /* made by */
    put16(b, 20);     /* version needed */
    put16(b, 0);      /* flags */
    put16(b, 0);      /* stored */
    put32(b, 0);      /* dos time and date */
    put32(b, crc);
    put32(b, len);
    put32(b, len);
    put16(b, (unsigned)strlen(name));
    put16(b, 0); /* extra */
    if (central) {
        put16(b, 0); /* comment */
        put16(b, 0); /* disk */
        put16(b, 0); /* internal attributes */
        put32(b, 0100644u << 16);
        put32(b, offset);
    }
    sp_buf_puts(b, name);
}

int mock_synthetic_zip_dir(struct mock_sandbox *sb, const char *gdir, struct sp_buf *out)
{
    struct sp_buf central;
    sp_buf_init(&central, 0);
    size_t dl = strcmp(gdir, "/") == 0 ? 0 : strlen(gdir);
    unsigned n = 0;
    pthread_mutex_lock(&sb->exec_lock);
    struct syn_fs *fs = sb->backend;
    for (struct syn_file *f = fs ? fs->files : NULL; f != NULL; f = f->next) {
        if (strncmp(f->path, gdir, dl) != 0 || f->path[dl] != '/' || n == 0xffff)
            continue;
        const char *name = f->path + dl + 1;
        uint32_t crc = (uint32_t)crc32(0, (const Bytef *)(f->data ? f->data : ""), (uInt)f->len);
        zip_header(&central, 0x02014b50, name, crc, (uint32_t)f->len, true, (uint32_t)out->len);
        zip_header(out, 0x04034b50, name, crc, (uint32_t)f->len, false, 0);
        sp_buf_append(out, f->data ? f->data : "", f->len);
        n++;
    }
    pthread_mutex_unlock(&sb->exec_lock);
    uint32_t cd_at = (uint32_t)out->len;
    sp_buf_append(out, central.data ? central.data : "", central.len);
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, n);
    put16(out, n);
    put32(out, (uint32_t)central.len);
    put32(out, cd_at);
    put16(out, 0);
    bool bad = out->overflow || central.overflow;
    sp_buf_cleanup(&central);
    return bad ? -1 : 0;
}

/* --- the command interpreter ---------------------------------------------------------------- */

enum joiner { J_END, J_SEQ, J_AND, J_OR };

/* Splits the next simple command of *p into argv (words in buf), honouring '...', "..." and
 * backslash escapes; stops at ;, &&, || or the end. Returns argc or -1 (why set). */
static int next_command(
    const char **p, char *buf, size_t buflen, char **argv, enum joiner *j, const char **why)
{
    int argc = 0;
    size_t n = 0;
    const char *s = *p;
    *j = J_END;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (*s == '\0' || *s == ';' || (s[0] == '&' && s[1] == '&') || (s[0] == '|' && s[1] == '|'))
            break;
        if (strchr("|&<>`$(){}", *s) != NULL)
            return *why = "pipes, redirections, substitutions and background jobs", -1;
        if (argc + 1 >= SYN_ARGS_MAX)
            return *why = "more than 63 arguments", -1;
        argv[argc++] = buf + n;
        char quote = 0;
        for (; *s && (quote || strchr(" \t\n;&|", *s) == NULL); s++) {
            if (quote == 0 && (*s == '\'' || *s == '"')) {
                quote = *s;
                continue;
            }
            if (quote && *s == quote) {
                quote = 0;
                continue;
            }
            if (quote != '\'' && (*s == '$' || *s == '`'))
                return *why = "variables and substitutions", -1;
            if (quote == 0 && strchr("<>()", *s) != NULL)
                return *why = "pipes, redirections, substitutions and background jobs", -1;
            if (*s == '\\' && quote != '\'' && s[1] != '\0')
                s++;
            if (n + 2 >= buflen)
                return *why = "a command line longer than 64 KiB", -1;
            buf[n++] = *s;
        }
        if (quote)
            return *why = "an unterminated quote", -1;
        buf[n++] = '\0';
    }
    if (*s == ';')
        *j = J_SEQ, s++;
    else if (*s == '&')
        *j = J_AND, s += 2;
    else if (*s == '|')
        *j = J_OR, s += 2;
    argv[argc] = NULL;
    *p = s;
    return argc;
}

/* printf's escapes and %s %d %% (the format is used once). */
static void do_printf(char **argv, int argc, struct sp_buf *out)
{
    const char *f = argc > 1 ? argv[1] : "";
    int a = 2;
    for (; *f; f++) {
        if (*f == '\\' && f[1]) {
            f++;
            char c = *f == 'n' ? '\n' : *f == 't' ? '\t' : *f == 'r' ? '\r' : *f;
            sp_buf_append(out, &c, 1);
        } else if (*f == '%' && f[1] == '%') {
            sp_buf_append(out, "%", 1);
            f++;
        } else if (*f == '%' && (f[1] == 's' || f[1] == 'd')) {
            const char *v = a < argc ? argv[a++] : "";
            if (f[1] == 'd')
                sp_buf_printf(out, "%ld", strtol(v, NULL, 10));
            else
                sp_buf_puts(out, v);
            f++;
        } else {
            sp_buf_append(out, f, 1);
        }
    }
}

struct syn_run {
    struct mock_sandbox *sb;
    const char *cwd;
    struct mock_run_result *res;
    struct sp_buf *err; /* res->out when merged */
    bool exited;
    int depth;       /* of `sh -c` nesting */
    const char *why; /* what is not supported, when a line is refused */
};

static int run_line(struct syn_run *x, const char *cmd, int depth);

static int do_cat(struct syn_run *x, char **argv, int argc)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (syn_read_file(x->sb, x->cwd, argv[i], &x->res->out) != 0) {
            sp_buf_printf(x->err, "cat: %s: No such file or directory\n", argv[i]);
            rc = 1;
        }
    }
    return rc;
}

static int do_sleep(struct syn_run *x, const char *arg)
{
    char *end = NULL;
    double s = arg ? strtod(arg, &end) : -1;
    if (arg == NULL || end == arg || *end != '\0' || !isfinite(s) || s < 0 || s > 86400) {
        sp_buf_printf(x->err, "sleep: invalid time interval '%s'\n", arg ? arg : "");
        return 1;
    }
    x->res->sleep_us += (int64_t)(s * 1e6);
    return 0;
}

/* Runs one simple command; returns its status. */
static int run_one(struct syn_run *x, char **argv, int argc)
{
    const char *c = argv[0];
    if (strcmp(c, "true") == 0 || strcmp(c, ":") == 0)
        return 0;
    if ((strcmp(c, "sh") == 0 || strcmp(c, "bash") == 0 || strcmp(c, "/bin/sh") == 0 ||
         strcmp(c, "/bin/bash") == 0) &&
        argc == 3 && strcmp(argv[1], "-c") == 0) {
        int saved = x->depth++;
        int rc = run_line(x, argv[2], x->depth);
        x->depth = saved;
        x->exited = false; /* `exit` ends the inner shell only */
        return rc;
    }
    if (strcmp(c, "export") == 0 || strcmp(c, "cd") == 0)
        return 0; /* clients' preludes (cd DIR && export K=V && ...): nothing to keep */
    if (strcmp(c, "false") == 0)
        return 1;
    if (strcmp(c, "echo") == 0) {
        bool nl = !(argc > 1 && strcmp(argv[1], "-n") == 0);
        for (int i = nl ? 1 : 2; i < argc; i++)
            sp_buf_printf(&x->res->out, "%s%s", i > (nl ? 1 : 2) ? " " : "", argv[i]);
        if (nl)
            sp_buf_puts(&x->res->out, "\n");
        return 0;
    }
    if (strcmp(c, "printf") == 0) {
        do_printf(argv, argc, &x->res->out);
        return 0;
    }
    if (strcmp(c, "cat") == 0)
        return do_cat(x, argv, argc);
    if (strcmp(c, "sleep") == 0)
        return do_sleep(x, argc > 1 ? argv[1] : NULL);
    if (strcmp(c, "exit") == 0) {
        x->exited = true;
        return argc > 1 ? (int)(strtol(argv[1], NULL, 10) & 0xff) : 0;
    }
    sp_buf_printf(x->err,
                  "sandprobe synthetic backend: command '%s' is not supported (echo, true, "
                  "false, exit N, cat FILE, printf, sleep S)\n",
                  c);
    return 127;
}

/* Interprets one command line; returns its status, or -1 with x->why set. */
static int run_line(struct syn_run *x, const char *cmd, int depth)
{
    if (depth > 4)
        return x->why = "`sh -c` nested more than 4 deep", -1;
    char *buf = malloc(65536), *line = malloc(65536), *argv[SYN_ARGS_MAX];
    if (buf == NULL || line == NULL) {
        free(buf);
        free(line);
        return x->why = "a command line (out of memory)", -1;
    }
    /* A subshell "( ... \n)" around the whole line (sandprobe's env wrapper) is dropped. */
    size_t n = strlen(cmd);
    while (n > 0 && strchr(" \t\n", cmd[n - 1]) != NULL)
        n--;
    const char *p = cmd + strspn(cmd, " \t\n");
    if (*p == '(' && n > 0 && cmd[n - 1] == ')' && (size_t)(cmd + n - p) < 65536) {
        snprintf(line, 65536, "%.*s", (int)(cmd + n - p - 2), p + 1);
        p = line;
    }
    int status = 0;
    enum joiner prev = J_SEQ;
    while (!x->exited && status >= 0) {
        enum joiner j;
        int argc = next_command(&p, buf, 65536, argv, &j, &x->why);
        if (argc < 0) {
            status = -1;
            break;
        }
        bool go = prev == J_SEQ || (prev == J_AND && status == 0) || (prev == J_OR && status != 0);
        if (argc > 0 && go)
            status = run_one(x, argv, argc);
        if (j == J_END)
            break;
        prev = j;
    }
    free(buf);
    free(line);
    return status;
}

static int syn_run(struct mock_sandbox *sb,
                   const char *cwd,
                   const char *cmd,
                   long timeout_ms,
                   bool merge_stderr,
                   struct mock_run_result *res,
                   char *why,
                   size_t whylen)
{
    struct syn_run x = {sb, cwd, res, merge_stderr ? &res->out : &res->err, false, 0, NULL};
    int status = run_line(&x, cmd, 0);
    if (status < 0) {
        snprintf(why, whylen, "the synthetic backend does not support %s", x.why);
        return -1;
    }
    res->exit_code = status;
    if (timeout_ms > 0 && res->sleep_us > (int64_t)timeout_ms * 1000) {
        res->timed_out = true;
        res->exit_code = -1;
        res->sleep_us = (int64_t)timeout_ms * 1000;
    }
    return 0;
}

const struct mock_backend_ops mock_backend_synthetic = {"synthetic", syn_run, syn_read_file,
                                                        syn_write_file};

/* --- the shell backend behind the same interface -------------------------------------------- */

static int shell_run(struct mock_sandbox *sb,
                     const char *cwd,
                     const char *cmd,
                     long timeout_ms,
                     bool merge_stderr,
                     struct mock_run_result *res,
                     char *why,
                     size_t whylen)
{
    char host[PATH_MAX];
    if (mock_sandbox_host_path(sb, "/", cwd ? cwd : "/", host, sizeof(host)) != 0) {
        snprintf(why, whylen, "working directory '%s' is too long", cwd ? cwd : "/");
        return -1;
    }
    struct mock_shell_result sr;
    mock_shell_result_init(&sr, res->out.max);
    pthread_mutex_lock(&sb->exec_lock);
    int rc = mock_shell_run(sb, host, cmd, timeout_ms, merge_stderr, &sr);
    pthread_mutex_unlock(&sb->exec_lock);
    if (rc == 0) {
        res->exit_code = sr.exit_code;
        res->timed_out = sr.timed_out;
        sp_buf_append(&res->out, sr.out.data ? sr.out.data : "", sr.out.len);
        sp_buf_append(&res->err, sr.err.data ? sr.err.data : "", sr.err.len);
    } else {
        snprintf(why, whylen, "could not start the sandbox's shell");
    }
    mock_shell_result_cleanup(&sr);
    return rc;
}

static int
shell_read_file(struct mock_sandbox *sb, const char *cwd, const char *path, struct sp_buf *out)
{
    char host[PATH_MAX];
    if (mock_sandbox_host_path(sb, cwd ? cwd : "/", path, host, sizeof(host)) != 0)
        return errno = ENAMETOOLONG, -1;
    return mock_fs_read_file(sb, host, out);
}

static int shell_write_file(
    struct mock_sandbox *sb, const char *cwd, const char *path, const void *data, size_t len)
{
    char host[PATH_MAX];
    if (mock_sandbox_host_path(sb, cwd ? cwd : "/", path, host, sizeof(host)) != 0)
        return errno = ENAMETOOLONG, -1;
    if (mock_fs_mkdir_parents(sb, host) != 0)
        return -1;
    return mock_fs_write_file(sb, host, data, len, 0644, false);
}

const struct mock_backend_ops mock_backend_shell = {"shell", shell_run, shell_read_file,
                                                    shell_write_file};
