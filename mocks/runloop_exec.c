/* The Runloop mock, commands (spec/runloop-modal.md R3): execute_sync runs a command to its
 * end in the user's home and answers stdout and stderr apart; execute_async starts it and
 * answers an execution (`running`), whose output is gathered whenever a client looks at it
 * (GET executions/{id}, wait_for_status), so no thread runs per command. wait_for_status
 * holds until the execution reaches a status asked for, else 408 ("still running" to the
 * SDKs' waiters); kill ends it. Each command is a fresh `sh -c` with the devbox's
 * environment, as Runloop runs commands without a named shell. */
#include "runloop_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "provider.h" /* sp_now_ms */

#define SYNC_CAP_MS (10L * 60 * 1000) /* execute_sync: the SDK's 600 s request timeout */

struct rl_exec {
    struct rl_exec *next;
    char id[40];
    pthread_mutex_t lock;   /* everything below */
    struct mock_proc *proc; /* NULL once done */
    struct sp_buf out, err;
    bool done;
    int exit_status;
};

/* Starts `sh -c command` in the home directory. Returns 0, or -1 after replying. */
static int
spawn(struct mock_req *r, struct mock_sandbox *sb, const char *command, struct mock_proc **out)
{
    char home[2048];
    const char *argv[] = {"/bin/sh", "-c", command, NULL};
    if (mock_sandbox_host_path(sb, "/", RL_HOME, home, sizeof(home)) != 0 ||
        mock_proc_spawn(argv, &sb->env, home, home, out) != 0) {
        rl_error(r, 500, "internal_error", "could not start the command");
        return -1;
    }
    return 0;
}

/* Reads what the command printed (waiting up to wait_ms); reaps it once both streams have
 * closed. Call with e->lock held. */
static void pump(struct rl_exec *e, long wait_ms)
{
    char chunk[65536];
    int stream;
    int64_t until = sp_now_ms() + wait_ms;
    while (!e->done) {
        long left = (long)(until - sp_now_ms());
        ssize_t n = mock_proc_read(e->proc, left > 0 ? left : 0, chunk, sizeof(chunk), &stream);
        if (n > 0) {
            sp_buf_append(stream == 2 ? &e->err : &e->out, chunk, (size_t)n);
            continue;
        }
        if (n < 0) {
            int code = 0, sig = 0;
            mock_proc_wait(e->proc, &code, &sig);
            mock_proc_free(e->proc);
            e->proc = NULL;
            e->done = true;
            e->exit_status = sig ? 128 + sig : code;
        }
        if (sp_now_ms() >= until)
            break;
    }
}

static cJSON *exec_view(const struct mock_sandbox *sb, struct rl_exec *e, bool async)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "devbox_id", sb->id);
    if (async) {
        cJSON_AddStringToObject(o, "execution_id", e->id);
        cJSON_AddStringToObject(o, "status", e->done ? "completed" : "running");
    }
    if (e->done)
        cJSON_AddNumberToObject(o, "exit_status", e->exit_status);
    else
        cJSON_AddNullToObject(o, "exit_status");
    cJSON_AddStringToObject(o, "stdout", sp_buf_str(&e->out));
    cJSON_AddStringToObject(o, "stderr", sp_buf_str(&e->err));
    cJSON_AddNullToObject(o, "shell_name");
    return o;
}

static void exec_init(struct rl_exec *e)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    sp_buf_init(&e->out, RL_OUTPUT_MAX);
    sp_buf_init(&e->err, RL_OUTPUT_MAX);
}

/* Replies with e's async view after taking in the output that has come. */
static void reply_view(struct mock_req *r, const struct mock_sandbox *sb, struct rl_exec *e)
{
    pthread_mutex_lock(&e->lock);
    pump(e, 0);
    mock_reply_cjson(r, 200, exec_view(sb, e, true));
    pthread_mutex_unlock(&e->lock);
}

static void exec_cleanup(struct rl_exec *e)
{
    if (e->proc) {
        mock_proc_kill(e->proc);
        mock_proc_wait(e->proc, NULL, NULL);
        mock_proc_free(e->proc);
    }
    sp_buf_cleanup(&e->out);
    sp_buf_cleanup(&e->err);
    pthread_mutex_destroy(&e->lock);
}

/* The "command" of the body, or NULL after a 400. */
static const char *body_command(struct mock_req *r, const cJSON *body)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "command");
    if (!cJSON_IsString(c) || c->valuestring[0] == '\0') {
        rl_error(r, 400, "bad_request", "command must be a non-empty string");
        return NULL;
    }
    return c->valuestring;
}

void rl_execute_sync(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    const char *cmd = body ? body_command(r, body) : NULL;
    struct mock_sandbox *sb = cmd ? rl_running(r) : NULL;
    struct rl_exec e;
    exec_init(&e);
    if (sb != NULL && spawn(r, sb, cmd, &e.proc) == 0) {
        pump(&e, SYNC_CAP_MS);
        if (!e.done)
            rl_error(r, 408, "request_timeout", "command did not finish in time");
        else
            mock_reply_cjson(r, 200, exec_view(sb, &e, false));
    }
    exec_cleanup(&e);
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
    cJSON_Delete(body);
}

void rl_execute_async(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    const char *cmd = body ? body_command(r, body) : NULL;
    struct mock_sandbox *sb = cmd ? rl_running(r) : NULL;
    struct rl_exec *e = sb ? malloc(sizeof(*e)) : NULL;
    if (sb && e == NULL)
        rl_error(r, 500, "internal_error", "out of memory");
    if (e != NULL) {
        exec_init(e);
        if (spawn(r, sb, cmd, &e->proc) != 0) {
            exec_cleanup(e);
            free(e);
        } else {
            struct rl_devbox *v = rl_devbox_of(r->mock, sb);
            pthread_mutex_lock(&v->lock);
            snprintf(e->id, sizeof(e->id), "exe_%06u", ++v->next_exec);
            e->next = v->execs;
            v->execs = e;
            pthread_mutex_unlock(&v->lock);
            reply_view(r, sb, e);
        }
    }
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
    cJSON_Delete(body);
}

/* The execution named by params[1] of the devbox of params[0]; NULL after a 404. The devbox
 * stays referenced in *sbp (executions live as long as it does). */
static struct rl_exec *find_exec(struct mock_req *r, struct mock_sandbox **sbp)
{
    struct mock_sandbox *sb = rl_lookup(r);
    *sbp = sb;
    if (sb == NULL)
        return NULL;
    struct rl_devbox *v = rl_devbox_of(r->mock, sb);
    pthread_mutex_lock(&v->lock);
    struct rl_exec *e = v->execs;
    while (e && strcmp(e->id, r->params[1]) != 0)
        e = e->next;
    pthread_mutex_unlock(&v->lock);
    if (e == NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Execution %.100s not found", r->params[1]);
        rl_error(r, 404, "not_found", msg);
    }
    return e;
}

void rl_execution_get(struct mock_req *r)
{
    struct mock_sandbox *sb;
    struct rl_exec *e = find_exec(r, &sb);
    if (e != NULL)
        reply_view(r, sb, e);
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
}

/* A held executions/{id}/wait_for_status. */
struct exec_wait {
    struct mock_sandbox *sb; /* referenced: the execution lives as long as the devbox */
    struct rl_exec *e;
    cJSON *body; /* owns statuses */
    const cJSON *statuses;
    int64_t until_ms;
};

static void exec_wait_free(struct mock_req *r, struct exec_wait *w)
{
    mock_store_put(mock_store_of(r->mock), w->sb);
    cJSON_Delete(w->body);
    free(w);
}

/* Gathers what the command printed so far; answers when its status is one asked for, 408 at
 * the deadline, else looks again in RL_POLL_US (a timer: no thread waits on the command). */
static void exec_wait_step(struct mock_req *r, void *ctx)
{
    struct exec_wait *w = ctx;
    if (r->cancelled) {
        exec_wait_free(r, w);
        return;
    }
    pthread_mutex_lock(&w->e->lock);
    pump(w->e, 0);
    bool hit = rl_status_wanted(w->statuses, w->e->done ? "completed" : "running");
    if (hit)
        mock_reply_cjson(r, 200, exec_view(w->sb, w->e, true));
    pthread_mutex_unlock(&w->e->lock);
    if (!hit && sp_now_ms() < w->until_ms) {
        mock_defer(r, RL_POLL_US, exec_wait_step, w);
        return;
    }
    if (!hit) {
        /* The newest server says so explicitly; older SDKs retry 408 on their own. */
        mock_reply_header(r, "x-should-retry", "true");
        rl_error(r, 408, "request_timeout", "Execution did not reach a requested status in time");
    }
    exec_wait_free(r, w);
}

void rl_execution_wait(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    const cJSON *statuses = body ? cJSON_GetObjectItemCaseSensitive(body, "statuses") : NULL;
    struct mock_sandbox *sb = NULL;
    struct rl_exec *e = NULL;
    struct exec_wait *w = NULL;
    if (body && (!cJSON_IsArray(statuses) || cJSON_GetArraySize(statuses) == 0))
        rl_error(r, 400, "bad_request", "statuses must be a non-empty array");
    else if (body && (e = find_exec(r, &sb)) != NULL && (w = calloc(1, sizeof(*w))) == NULL)
        rl_error(r, 500, "internal_error", "out of memory");
    if (w == NULL) {
        if (sb)
            mock_store_put(mock_store_of(r->mock), sb);
        cJSON_Delete(body);
        return;
    }
    *w = (struct exec_wait){sb, e, body, statuses, sp_now_ms() + RL_HOLD_MS};
    exec_wait_step(r, w);
}

void rl_execution_kill(struct mock_req *r)
{
    struct mock_sandbox *sb;
    struct rl_exec *e = find_exec(r, &sb);
    if (e != NULL) {
        pthread_mutex_lock(&e->lock);
        if (!e->done) {
            mock_proc_kill(e->proc);
            pump(e, 2000);
        }
        mock_reply_cjson(r, 200, exec_view(sb, e, true));
        pthread_mutex_unlock(&e->lock);
    }
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
}

void rl_execs_free(struct rl_devbox *v, bool kill_only)
{
    pthread_mutex_lock(&v->lock);
    struct rl_exec *e = v->execs;
    if (!kill_only)
        v->execs = NULL;
    pthread_mutex_unlock(&v->lock);
    while (e != NULL) {
        struct rl_exec *next = e->next;
        pthread_mutex_lock(&e->lock);
        if (!e->done && e->proc)
            mock_proc_kill(e->proc);
        pthread_mutex_unlock(&e->lock);
        if (!kill_only) {
            exec_cleanup(e);
            free(e);
        }
        e = next;
    }
}
