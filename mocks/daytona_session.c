/* The Daytona mock, toolbox sessions (spec/daytona-runloop.md A7.2), done the way the daemon
 * does them: each session is a long-lived /bin/sh reading commands on its stdin; a command
 * is saved to <dir>/<cid>/cmd.sh and sourced by the session shell with its stdout and stderr
 * marked line by line into output.log (daytona_output.c), then its exit code written to
 * exit_code, so cwd and variables persist between the commands of a session, a sync exec
 * polls for the exit_code file, GET command reads it, and logs read output.log (follow=true
 * streams it); what the client gets back (combined text, or stdout/stderr apart) follows
 * the SDK version it sends.
 * A command that is OpenHands' action-server command line is handed to the action-server
 * mock instead, and stays "running" (no exitCode) like the real server. */
#include "daytona_int.h"
#include "proc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#define POLL_MS 50 /* the daemon polls for exit_code every 50 ms */

extern char **environ;

struct dt_command {
    char id[37];
    char *command;
    bool claimed; /* the action server: runs until the sandbox stops */
    struct dt_command *next;
};

struct dt_session {
    char id[256];
    pid_t pid;
    int fd;         /* our end of the shell's stdin: a socket, so a dead shell is EPIPE, not
                     * SIGPIPE */
    char dir[2048]; /* host dir of the session's command files */
    bool deleted;   /* deleted sessions stay in the daemon's map: their id cannot be reused */
    bool forgotten; /* the daemon restarted (sandbox stopped): the id is free again */
    struct dt_command *cmds, *last;
    struct dt_session *next;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- the shell ------------------------------------------------------------------------------ */

/* Starts /bin/sh in its own process group, stdin from a socket we keep, output discarded
 * (commands write their logs to files), with the sandbox environment of every mock process:
 * never the server's own, which may hold API keys. */
static int
spawn_shell(const char *cwd, const char *home, const struct sp_kv *env, struct dt_session *s)
{
    int sv[2] = {-1, -1}, null = -1, rc = -1;
    char path[4096], name[] = "sh";
    char *argv[] = {name, NULL};
    char **envp = mock_env_build(home, env, path, sizeof(path));
    if (envp == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
        goto out;
    struct mock_spawn_spec spec = {"/bin/sh", argv, envp, cwd, home, sv[1], null, null};
    pid_t pid;
    if (mock_spawn(&spec, &pid) != 0)
        goto out;
    s->pid = pid;
    s->fd = sv[0];
    sv[0] = -1;
    rc = 0;
out:
    mock_close_fd(&sv[0]);
    mock_close_fd(&sv[1]);
    mock_close_fd(&null);
    mock_strv_free(envp);
    return rc;
}

static void shell_kill(struct dt_session *s)
{
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        s->pid = 0;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

void dt_sessions_kill(struct dt_sandbox *v)
{
    pthread_mutex_lock(&v->lock);
    for (struct dt_session *s = v->sessions; s; s = s->next) {
        shell_kill(s);
        s->deleted = s->forgotten = true;
    }
    pthread_mutex_unlock(&v->lock);
}

/* Frees the session list; only when the sandbox itself goes (no handler can hold one). */
static void sessions_free(struct dt_sandbox *v)
{
    for (struct dt_session *s = v->sessions, *next; s; s = next) {
        next = s->next;
        shell_kill(s);
        for (struct dt_command *c = s->cmds, *cn; c; c = cn) {
            cn = c->next;
            free(c->command);
            free(c);
        }
        free(s);
    }
    v->sessions = NULL;
}

void dt_sandbox_data_free(struct dt_sandbox *v)
{
    sessions_free(v);
    if (v->state_dir[0] != '\0')
        dt_remove_all(v->state_dir);
}

/* --- lookups and files ---------------------------------------------------------------------- */

struct sess_ref {
    struct mock_sandbox *sb;
    struct dt_sandbox *v;
    struct dt_session *s;
};

static void ref_put(struct mock_req *r, struct sess_ref *ref)
{
    mock_store_put(mock_store_of(r->mock), ref->sb);
}

/* The started sandbox of params[0] and its live session params[1]; replies on failure. */
static bool session_find(struct mock_req *r, struct sess_ref *ref)
{
    ref->s = NULL;
    if ((ref->sb = dt_session_sandbox(r)) == NULL)
        return false;
    if ((ref->v = dt_sandbox_of(r->mock, ref->sb)) != NULL) {
        pthread_mutex_lock(&ref->v->lock);
        for (struct dt_session *s = ref->v->sessions; s && !ref->s; s = s->next)
            if (!s->deleted && strcmp(s->id, r->params[1]) == 0)
                ref->s = s;
        pthread_mutex_unlock(&ref->v->lock);
    }
    if (ref->s != NULL)
        return true;
    dt_daemon_error(r, 404, "session not found");
    ref_put(r, ref);
    return false;
}

static struct dt_command *command_find(struct sess_ref *ref, const char *id)
{
    struct dt_command *found = NULL;
    pthread_mutex_lock(&ref->v->lock);
    for (struct dt_command *c = ref->s->cmds; c && !found; c = c->next)
        if (strcmp(c->id, id) == 0)
            found = c;
    pthread_mutex_unlock(&ref->v->lock);
    return found;
}

static void
cmd_path(const struct dt_session *s, const char *cid, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", s->dir, cid, file ? "/" : "", file ? file : "");
}

/* The exit code from a command's exit_code file; false while it is not (fully) written. */
static bool read_exit(const struct dt_session *s, const char *cid, int *code)
{
    char path[2400], buf[32];
    cmd_path(s, cid, "exit_code", path, sizeof(path));
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || buf[n - 1] != '\n')
        return false;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf)
        return false;
    *code = (int)v;
    return true;
}

/* Appends a command's output.log to out. */
static void read_log(const struct dt_session *s, const char *cid, struct sp_buf *out)
{
    char path[2400];
    cmd_path(s, cid, "output.log", path, sizeof(path));
    mock_read_file(path, out); /* a log not written yet reads as empty */
}

static cJSON *command_json(const struct dt_session *s, const struct dt_command *c)
{
    int code;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "command", c->command);
    if (!c->claimed && read_exit(s, c->id, &code)) /* omitempty: absent while running */
        cJSON_AddNumberToObject(o, "exitCode", code);
    return o;
}

/* {"sessionId","commands":[...]}; called with v->lock held. */
static cJSON *session_json(const struct dt_session *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sessionId", s->id);
    cJSON *cmds = cJSON_AddArrayToObject(o, "commands");
    for (const struct dt_command *c = s->cmds; c; c = c->next)
        cJSON_AddItemToArray(cmds, command_json(s, c));
    return o;
}

/* --- sessions ------------------------------------------------------------------------------- */

static struct dt_session *
session_new(struct mock_req *r, struct mock_sandbox *sb, struct dt_sandbox *v, const char *id)
{
    char home[128], home_host[2048];
    struct dt_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fd = -1;
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->dir, sizeof(s->dir), "%s/sessions/%s", v->state_dir, id);
    dt_home_dir(r->mock, sb, home, sizeof(home));
    if (mock_mkdir_p(s->dir, 0755) != 0 ||
        mock_sandbox_host_path(sb, "/", home, home_host, sizeof(home_host)) != 0 ||
        spawn_shell(home_host, home_host, &sb->env, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void dt_session_create(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_session_sandbox(r);
    if (sb == NULL)
        return;
    struct dt_sandbox *v = dt_sandbox_of(r->mock, sb);
    struct sp_error err;
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "sessionId");
    if (v == NULL || !cJSON_IsString(id) || id->valuestring[0] == '\0' ||
        strchr(id->valuestring, '/') != NULL || strlen(id->valuestring) >= 200 ||
        strcmp(id->valuestring, ".") == 0 || strcmp(id->valuestring, "..") == 0) {
        dt_daemon_error(r, 400,
                        "invalid request body: Key: 'CreateSessionRequest.SessionId' "
                        "Error:Field validation for 'SessionId' failed on the "
                        "'required' tag");
    } else {
        pthread_mutex_lock(&v->lock);
        bool exists = false;
        for (struct dt_session *s = v->sessions; s && !exists; s = s->next)
            exists = !s->forgotten && strcmp(s->id, id->valuestring) == 0; /* deleted too */
        struct dt_session *s = exists ? NULL : session_new(r, sb, v, id->valuestring);
        if (s != NULL) {
            s->next = v->sessions;
            v->sessions = s;
        }
        pthread_mutex_unlock(&v->lock);
        if (exists)
            dt_daemon_error(r, 409, "session already exists");
        else if (s == NULL)
            dt_daemon_error(r, 500, "failed to start the session shell");
        else
            mock_reply_empty(r, 201);
    }
    cJSON_Delete(o);
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_session_list(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_session_sandbox(r);
    if (sb == NULL)
        return;
    struct dt_sandbox *v = dt_sandbox_of(r->mock, sb);
    cJSON *arr = cJSON_CreateArray();
    if (v != NULL) {
        pthread_mutex_lock(&v->lock);
        for (struct dt_session *s = v->sessions; s; s = s->next)
            if (!s->deleted)
                cJSON_AddItemToArray(arr, session_json(s));
        pthread_mutex_unlock(&v->lock);
    }
    dt_reply_json(r, 200, arr);
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_session_get(struct mock_req *r)
{
    struct sess_ref ref;
    if (!session_find(r, &ref))
        return;
    pthread_mutex_lock(&ref.v->lock);
    cJSON *o = session_json(ref.s);
    pthread_mutex_unlock(&ref.v->lock);
    dt_reply_json(r, 200, o);
    ref_put(r, &ref);
}

void dt_session_delete(struct mock_req *r)
{
    struct sess_ref ref;
    if (!session_find(r, &ref))
        return;
    pthread_mutex_lock(&ref.v->lock);
    shell_kill(ref.s);
    ref.s->deleted = true;
    pthread_mutex_unlock(&ref.v->lock);
    dt_remove_all(ref.s->dir);
    mock_reply_empty(r, 204);
    ref_put(r, &ref);
}

/* --- commands ------------------------------------------------------------------------------- */

static struct dt_command *command_new(struct mock_req *r, struct dt_session *s, const char *cmd)
{
    char path[2400];
    struct dt_command *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->command = strdup(cmd)) == NULL) {
        free(c);
        return NULL;
    }
    mock_random_uuid(r->mock, c->id);
    cmd_path(s, c->id, NULL, path, sizeof(path));
    int fd = -1;
    if (mock_mkdir_p(path, 0755) == 0) {
        cmd_path(s, c->id, "cmd.sh", path, sizeof(path));
        if (mock_write_file(path, cmd, strlen(cmd), 0600, true) == 0) {
            cmd_path(s, c->id, "output.log", path, sizeof(path));
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        }
    }
    if (fd < 0) {
        free(c->command);
        free(c);
        return NULL;
    }
    close(fd);
    return c;
}

/* Writes the daemon's wrapper to the session shell. */
static int command_send(struct dt_session *s, const struct dt_command *c)
{
    char dir[2400], file[2400], log[2400], exitp[2400];
    struct sp_buf line;
    cmd_path(s, c->id, NULL, dir, sizeof(dir));
    cmd_path(s, c->id, "cmd.sh", file, sizeof(file));
    cmd_path(s, c->id, "output.log", log, sizeof(log));
    cmd_path(s, c->id, "exit_code", exitp, sizeof(exitp));
    sp_buf_init(&line, 0);
    int rc = dt_command_script(&line, dir, file, log, exitp);
    for (size_t off = 0; rc == 0 && off < line.len;) {
        ssize_t n = s->fd >= 0 ? send(s->fd, line.data + off, line.len - off, MSG_NOSIGNAL) : -1;
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EINTR)
            rc = -1;
    }
    sp_buf_cleanup(&line);
    return rc;
}

/* A sync exec: polls for exit_code as the daemon does, until the session goes or the client
 * leaves. */
static void exec_wait(struct mock_req *r, struct sess_ref *ref, const struct dt_command *c)
{
    int code;
    for (;;) {
        if (!c->claimed && read_exit(ref->s, c->id, &code))
            break;
        pthread_mutex_lock(&ref->v->lock);
        bool gone = ref->s->deleted;
        pthread_mutex_unlock(&ref->v->lock);
        if (gone || dt_peer_gone(r)) {
            dt_daemon_error(r, 400, "session cancelled");
            return;
        }
        sleep_ms(POLL_MS);
    }
    struct sp_buf out;
    sp_buf_init(&out, 0);
    read_log(ref->s, c->id, &out);
    dt_reply_exec(r, 200, c->id, &out, &code);
    sp_buf_cleanup(&out);
}

void dt_session_exec(struct mock_req *r)
{
    struct sess_ref ref;
    if (!session_find(r, &ref))
        return;
    struct sp_error err;
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    bool async = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "runAsync")) ||
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "async"));
    struct dt_command *c = NULL;
    if (!cJSON_IsObject(o) || !cJSON_IsString(cmd)) {
        dt_daemon_error(r, 400, "invalid request body: command is required");
    } else if (cmd->valuestring[strspn(cmd->valuestring, " \t\r\n")] == '\0') {
        dt_daemon_error(r, 400, "command cannot be empty");
    } else if ((c = command_new(r, ref.s, cmd->valuestring)) == NULL) {
        dt_daemon_error(r, 400, "failed to create log file");
    } else {
        c->claimed = mock_action_server_claim(r->mock, ref.sb, c->command);
        pthread_mutex_lock(&ref.v->lock);
        int rc = c->claimed ? 0 : command_send(ref.s, c);
        if (ref.s->last)
            ref.s->last->next = c;
        else
            ref.s->cmds = c;
        ref.s->last = c;
        pthread_mutex_unlock(&ref.v->lock);
        if (rc != 0)
            dt_daemon_error(r, 400, "failed to write command: broken pipe");
        else if (async)
            dt_reply_exec(r, 202, c->id, NULL, NULL);
        else
            exec_wait(r, &ref, c);
    }
    cJSON_Delete(o);
    ref_put(r, &ref);
}

void dt_session_command(struct mock_req *r)
{
    struct sess_ref ref;
    if (!session_find(r, &ref))
        return;
    const struct dt_command *c = command_find(&ref, r->params[2]);
    if (c == NULL)
        dt_daemon_error(r, 404, "command not found");
    else
        dt_reply_json(r, 200, command_json(ref.s, c));
    ref_put(r, &ref);
}

/* A follow=true log stream: output.log as it grows, until exit_code appears, the session is
 * deleted or the client leaves. */
struct log_stream {
    struct sp_mock *m;
    struct mock_sandbox *sb; /* referenced until the stream ends */
    struct dt_sandbox *v;
    struct dt_session *s;
    const struct dt_command *c;
    int fd, conn;
    off_t off;
    bool strip; /* combined-output clients: the markers are removed */
};

/* Reads at the stream's offset; with strip, returns the text without markers, holding back
 * a marker cut by the end of the read. 0 when nothing new. */
static ssize_t log_chunk(struct log_stream *ls, char *buf, size_t max, bool final)
{
    for (;;) {
        ssize_t n = pread(ls->fd, buf, max, ls->off);
        if (n <= 0 || !ls->strip) {
            ls->off += n > 0 ? n : 0;
            return n > 0 ? n : 0;
        }
        size_t held;
        size_t w = dt_strip_markers(buf, (size_t)n, final, &held);
        ls->off += n - (ssize_t)held;
        if (w > 0 || held == (size_t)n)
            return (ssize_t)w; /* only a cut marker: wait for more */
    }
}

static ssize_t log_read(void *ctx, char *buf, size_t max)
{
    struct log_stream *ls = ctx;
    for (;;) {
        char path[2400];
        int code;
        if (ls->fd < 0) {
            cmd_path(ls->s, ls->c->id, "output.log", path, sizeof(path));
            if ((ls->fd = open(path, O_RDONLY)) < 0)
                return 0;
        }
        ssize_t n = log_chunk(ls, buf, max, false);
        if (n > 0)
            return n;
        if (!ls->c->claimed && read_exit(ls->s, ls->c->id, &code))
            return log_chunk(ls, buf, max, true); /* what was written just before */
        pthread_mutex_lock(&ls->v->lock);
        bool gone = ls->s->deleted;
        pthread_mutex_unlock(&ls->v->lock);
        if (gone || dt_fd_gone(ls->conn))
            return 0;
        sleep_ms(POLL_MS);
    }
}

static void log_free(void *ctx)
{
    struct log_stream *ls = ctx;
    if (ls->fd >= 0)
        close(ls->fd);
    mock_store_put(mock_store_of(ls->m), ls->sb);
    free(ls);
}

void dt_session_logs(struct mock_req *r)
{
    struct sess_ref ref;
    if (!session_find(r, &ref))
        return;
    const struct dt_command *c = command_find(&ref, r->params[2]);
    const char *follow = mock_req_query(r, "follow");
    struct log_stream *ls = NULL;
    if (c == NULL) {
        dt_daemon_error(r, 404, "command not found");
    } else if (follow != NULL && strcmp(follow, "true") == 0 &&
               (ls = calloc(1, sizeof(*ls))) != NULL) {
        *ls = (struct log_stream){r->mock,       ref.sb, ref.v,
                                  ref.s,         c,      -1,
                                  dt_conn_fd(r), 0,      dt_output_mode(r) == DT_OUTPUT_COMBINED};
        mock_reply_stream(r, 200, "text/plain; charset=utf-8", log_read, ls, log_free);
        return; /* the stream owns the sandbox reference now */
    } else {
        struct sp_buf log;
        sp_buf_init(&log, 0);
        read_log(ref.s, c->id, &log);
        dt_reply_log(r, &log);
        sp_buf_cleanup(&log);
    }
    ref_put(r, &ref);
}
