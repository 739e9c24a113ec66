/* The Modal mock's task command router (spec/runloop-modal.md M6, M7): TaskExecStart runs the
 * command as a one-shot process in the sandbox (shell backend) with the env of every field the
 * SDK versions use (12 env, 13 secret_sources, 8 secret_ids, plus the sandbox's own env); a
 * collector thread keeps its stdout and stderr; TaskExecStdioRead streams a descriptor's bytes
 * from `offset` until the process ended; TaskExecWait waits for the exit (a timer, not a
 * parked thread); TaskExecPoll answers at once. */
#include "modal_int.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grpc.h"
#include "provider.h" /* sp_now_ms, sp_now_us */

#define STDIO_MSG_MAX 60000
/* An exec's output is kept whole (TaskExecStdioRead may start at any offset); past this the
 * command is killed rather than its output silently cut. */
#define EXEC_OUT_MAX \
    ((size_t)1 << 30) /* payload per streamed message: one frame fits a 64 KiB read */

static void *collect(void *arg)
{
    struct modal_exec *e = arg;
    struct modal_sb *ms = e->ms;
    char buf[65536];
    bool timed_out = false;
    for (;;) {
        int stream = 1;
        ssize_t n = mock_proc_read(e->proc, 200, buf, sizeof(buf), &stream);
        if (n < 0)
            break;
        if (e->deadline_ms > 0 && sp_now_ms() > e->deadline_ms && !timed_out) {
            timed_out = true;
            mock_proc_kill(e->proc);
        }
        if (n == 0)
            continue;
        pthread_mutex_lock(&ms->lock);
        bool full = sp_buf_append(&e->out[stream == 2 ? 1 : 0], buf, (size_t)n) != 0;
        pthread_cond_broadcast(&ms->cond);
        pthread_mutex_unlock(&ms->lock);
        if (full)
            mock_proc_kill(e->proc);
    }
    int code = 0, sig = 0;
    mock_proc_wait(e->proc, &code, &sig);
    pthread_mutex_lock(&ms->lock);
    e->code = timed_out ? 124 : sig > 0 ? 128 + sig : code;
    e->exited = true;
    pthread_cond_broadcast(&ms->cond);
    pthread_mutex_unlock(&ms->lock);
    return NULL;
}

struct modal_exec *modal_exec_find(struct modal_sb *ms, const char *id)
{
    for (struct modal_exec *e = ms->execs; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

void modal_execs_kill(struct modal_sb *ms)
{
    pthread_mutex_lock(&ms->lock);
    for (struct modal_exec *e = ms->execs; e; e = e->next)
        if (!e->exited)
            mock_proc_kill(e->proc);
    pthread_mutex_unlock(&ms->lock);
}

void modal_execs_free(struct modal_sb *ms)
{
    modal_execs_kill(ms);
    struct modal_exec *e = ms->execs;
    ms->execs = NULL;
    while (e) {
        struct modal_exec *next = e->next;
        pthread_join(e->thread, NULL);
        mock_proc_free(e->proc);
        sp_buf_cleanup(&e->out[0]);
        sp_buf_cleanup(&e->out[1]);
        free(e);
        e = next;
    }
}

/* Env of the exec: the sandbox's, then secrets, then the inline maps (later wins). */
static bool exec_env(struct mock_req *r,
                     struct mock_sandbox *sb,
                     const Modal__TaskCommandRouter__TaskExecStartRequest *in,
                     struct sp_kv *env)
{
    (void)sb;
    for (size_t i = 0; i < in->n_secret_sources; i++) {
        const Modal__Client__SecretSource *s = in->secret_sources[i];
        if (s->secret_id[0] && !modal_secret_env(r, s->secret_id, env))
            return false;
        for (size_t k = 0; s->env && k < s->env->n_contents; k++)
            sp_kv_set(env, s->env->contents[k]->key, s->env->contents[k]->value);
    }
    for (size_t i = 0; i < in->n_env; i++)
        sp_kv_set(env, in->env[i]->key, in->env[i]->value);
    return true;
}

/* Spawns args in the sandbox with its env, then secrets, then `extra` (later wins). */
static int exec_spawn(struct mock_req *r,
                      struct mock_sandbox *sb,
                      const struct modal_exec_spec *x,
                      struct modal_exec *e)
{
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_merge(&env, &sb->env); /* written at create only */
    for (size_t i = 0; i < x->n_secret_ids; i++) {
        if (!modal_secret_env(r, x->secret_ids[i], &env)) {
            sp_kv_cleanup(&env);
            modal_reply_status(r, MODAL_NOT_FOUND, "Secret not found");
            return -1;
        }
    }
    if (x->extra)
        sp_kv_merge(&env, x->extra);
    const char *wd = x->workdir ? x->workdir : "/root";
    char cwd[2048], home[2048];
    const char **argv = calloc(x->n_args + 1, sizeof(*argv));
    int rc = -1;
    if (argv != NULL && mock_sandbox_host_path(sb, "/", wd, cwd, sizeof(cwd)) == 0 &&
        mock_sandbox_host_path(sb, "/", "/root", home, sizeof(home)) == 0) {
        for (size_t i = 0; i < x->n_args; i++)
            argv[i] = x->args[i];
        rc = mock_proc_spawn(argv, &env, cwd, home, &e->proc);
    }
    free(argv);
    sp_kv_cleanup(&env);
    if (rc != 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "cannot run '%.100s' in %.60s", x->args[0], wd);
        modal_reply_status(r, MODAL_FAILED_PRECONDITION, msg);
    }
    return rc;
}

static bool ms_terminated(struct modal_sb *ms)
{
    pthread_mutex_lock(&ms->lock);
    bool t = ms->terminated;
    pthread_mutex_unlock(&ms->lock);
    return t;
}

int modal_exec_launch(struct mock_req *r, struct mock_sandbox *sb, const struct modal_exec_spec *x)
{
    struct modal_sb *ms = sb->vendor;
    struct modal_exec *e = NULL;
    if (mock_backend(r->mock) != SP_MOCK_BACKEND_SHELL)
        modal_reply_status(r, MODAL_UNIMPLEMENTED, "exec needs the shell backend");
    else if (x->n_args == 0 || x->id[0] == '\0')
        modal_reply_status(r, MODAL_INVALID_ARGUMENT, "exec needs a command and an id");
    else if (mock_faults_server_down(sb, true)) /* the task is not (or no longer) reachable */
        modal_reply_status(r, 14, "task is not reachable");
    else if (ms_terminated(ms))
        modal_reply_status(r, MODAL_FAILED_PRECONDITION, "Sandbox has terminated");
    else if ((e = calloc(1, sizeof(*e))) == NULL)
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
    if (e == NULL)
        return -1;
    snprintf(e->id, sizeof(e->id), "%s", x->id);
    sp_buf_init(&e->out[0], EXEC_OUT_MAX);
    sp_buf_init(&e->out[1], EXEC_OUT_MAX);
    e->ms = ms;
    if (x->timeout_secs > 0)
        e->deadline_ms = sp_now_ms() + (int64_t)x->timeout_secs * 1000;
    if (exec_spawn(r, sb, x, e) != 0 || pthread_create(&e->thread, NULL, collect, e) != 0) {
        if (e->proc) {
            mock_proc_kill(e->proc);
            mock_proc_free(e->proc);
            modal_reply_status(r, MODAL_INTERNAL, "mock: cannot start a thread");
        }
        free(e);
        return -1;
    }
    pthread_mutex_lock(&ms->lock);
    e->next = ms->execs;
    ms->execs = e;
    pthread_mutex_unlock(&ms->lock);
    return 0;
}

void modal_exec_start(struct mock_req *r)
{
    Modal__TaskCommandRouter__TaskExecStartRequest *in =
        (void *)modal_req_msg(r, &modal__task_command_router__task_exec_start_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_task_sandbox(r, in->task_id);
    struct sp_kv extra;
    sp_kv_init(&extra);
    if (sb == NULL) {
        modal_reply_status(r, MODAL_NOT_FOUND, "Task not found");
    } else if (mock_faults_data_plane_dead(r, sb)) {
        /* The command router runs with the task: its dead data plane resets the call. */
    } else if (!exec_env(r, sb, in, &extra)) {
        modal_reply_status(r, MODAL_NOT_FOUND, "Secret not found");
    } else {
        struct modal_exec_spec x = {in->exec_id,
                                    in->command_args,
                                    in->n_command_args,
                                    in->_workdir_case ? in->workdir : NULL,
                                    in->_timeout_secs_case ? in->timeout_secs : 0,
                                    in->secret_ids,
                                    in->n_secret_ids,
                                    &extra};
        if (modal_exec_launch(r, sb, &x) == 0) {
            Modal__TaskCommandRouter__TaskExecStartResponse out =
                MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_RESPONSE__INIT;
            modal_reply_msg(r, &out.base);
            mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
        }
    }
    sp_kv_cleanup(&extra);
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* --- stdio -------------------------------------------------------------------------------- */

struct stdio_ctx {
    struct mock_req *r;
    struct mock_sandbox *sb;
    struct modal_exec *e;
    int fd;
    uint64_t offset;
};

int modal_exec_await(struct mock_req *r,
                     struct modal_sb *ms,
                     const struct modal_exec *e,
                     int fd,
                     uint64_t offset,
                     long wait_ms)
{
    pthread_mutex_unlock(&ms->lock);
    if (mock_req_peer_gone(r))
        return -1;
    pthread_mutex_lock(&ms->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += wait_ms * 1000000L;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    /* The output may have come while the lock was released: then there is nothing to wait. */
    if (e->out[fd].len <= offset && !e->exited)
        pthread_cond_timedwait(&ms->cond, &ms->lock, &ts);
    return 0;
}

/* Waits for bytes past offset (or the end) and frames them as TaskExecStdioReadResponse. */
static ssize_t stdio_read(void *arg, char *buf, size_t max)
{
    struct stdio_ctx *c = arg;
    struct modal_sb *ms = c->sb->vendor;
    pthread_mutex_lock(&ms->lock);
    while (c->e->out[c->fd].len <= c->offset && !c->e->exited)
        if (modal_exec_await(c->r, ms, c->e, c->fd, c->offset, 200) != 0)
            return -1;
    const struct sp_buf *o = &c->e->out[c->fd];
    size_t have = o->len > c->offset ? o->len - (size_t)c->offset : 0;
    size_t n = have < STDIO_MSG_MAX ? have : STDIO_MSG_MAX;
    if (max < STDIO_MSG_MAX + 16)
        n = n < max - 16 ? n : max - 16;
    ssize_t rc = 0;
    if (n > 0) {
        Modal__TaskCommandRouter__TaskExecStdioReadResponse m =
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_RESPONSE__INIT;
        m.data.data = (uint8_t *)o->data + c->offset;
        m.data.len = n;
        rc = sp_grpc_frame_into(&m.base, buf, max);
        if (rc > 0)
            c->offset += n;
    }
    pthread_mutex_unlock(&ms->lock);
    return rc; /* 0: exited and everything sent */
}

static void stdio_free(void *arg)
{
    struct stdio_ctx *c = arg;
    mock_store_put(mock_store_of(c->r->mock), c->sb);
    free(c);
}

/* Looks the exec up; replies NOT_FOUND (or resets, when the data plane died) and returns
 * NULL when unknown. *sbp is referenced. */
static struct modal_exec *
exec_of(struct mock_req *r, const char *task_id, const char *exec_id, struct mock_sandbox **sbp)
{
    struct mock_sandbox *sb = modal_task_sandbox(r, task_id);
    struct modal_exec *e = NULL;
    if (sb != NULL && mock_faults_data_plane_dead(r, sb)) { /* the router's call is reset */
        mock_store_put(mock_store_of(r->mock), sb);
        *sbp = NULL;
        return NULL;
    }
    if (sb != NULL) {
        struct modal_sb *ms = sb->vendor;
        pthread_mutex_lock(&ms->lock);
        e = modal_exec_find(ms, exec_id);
        pthread_mutex_unlock(&ms->lock);
    }
    if (e == NULL) {
        modal_reply_status(r, MODAL_NOT_FOUND, sb ? "Exec not found" : "Task not found");
        if (sb)
            mock_store_put(mock_store_of(r->mock), sb);
        sb = NULL;
    }
    *sbp = sb;
    return e;
}

void modal_exec_stdio_read(struct mock_req *r)
{
    Modal__TaskCommandRouter__TaskExecStdioReadRequest *in = (void *)modal_req_msg(
        r, &modal__task_command_router__task_exec_stdio_read_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = NULL;
    struct modal_exec *e = exec_of(r, in->task_id, in->exec_id, &sb);
    struct stdio_ctx *c = e ? calloc(1, sizeof(*c)) : NULL;
    if (e != NULL && c == NULL) {
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        mock_store_put(mock_store_of(r->mock), sb);
    } else if (c != NULL) {
        *c = (struct stdio_ctx){r, sb, e, in->file_descriptor == 1 ? 1 : 0, in->offset};
        mock_reply_trailer(r, "grpc-status", "0");
        mock_reply_stream(r, 200, "application/grpc", stdio_read, c, stdio_free);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* --- wait and poll ------------------------------------------------------------------------ */

static void reply_exit(struct mock_req *r, const struct modal_exec *e, bool poll)
{
    if (poll) {
        Modal__TaskCommandRouter__TaskExecPollResponse out =
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_POLL_RESPONSE__INIT;
        if (e->exited) {
            out.exit_status_case =
                MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_POLL_RESPONSE__EXIT_STATUS_CODE;
            out.code = e->code;
        }
        modal_reply_msg(r, &out.base);
        return;
    }
    Modal__TaskCommandRouter__TaskExecWaitResponse out =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__INIT;
    out.exit_status_case = MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__EXIT_STATUS_CODE;
    out.code = e->code;
    modal_reply_msg(r, &out.base);
}

struct wait_ctx {
    struct mock_sandbox *sb;
    struct modal_exec *e;
    int64_t until_us;
    void (*reply)(struct mock_req *r, struct modal_exec *e);
};

static void wait_step(struct mock_req *r, void *arg)
{
    struct wait_ctx *w = arg;
    struct modal_sb *ms = w->sb->vendor;
    pthread_mutex_lock(&ms->lock);
    bool done = w->e->exited;
    pthread_mutex_unlock(&ms->lock);
    if (!r->cancelled && !done && sp_now_us() < w->until_us) {
        mock_defer(r, 10000, wait_step, w);
        return;
    }
    if (!r->cancelled)
        w->reply(r, w->e);
    mock_store_put(mock_store_of(r->mock), w->sb);
    free(w);
}

void modal_exec_wait_for(struct mock_req *r,
                         struct mock_sandbox *sb,
                         struct modal_exec *e,
                         int64_t until_us,
                         void (*reply)(struct mock_req *r, struct modal_exec *e))
{
    struct wait_ctx *w = malloc(sizeof(*w));
    if (w == NULL) {
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        mock_store_put(mock_store_of(r->mock), sb);
        return;
    }
    *w = (struct wait_ctx){sb, e, until_us, reply};
    wait_step(r, w);
}

static void reply_wait(struct mock_req *r, struct modal_exec *e)
{
    reply_exit(r, e, false);
}

/* Wait polls until the exit; the client's grpc-timeout ends it early (transport). */
static void wait_or_poll(struct mock_req *r, bool poll)
{
    const ProtobufCMessageDescriptor *d =
        poll ? &modal__task_command_router__task_exec_poll_request__descriptor
             : &modal__task_command_router__task_exec_wait_request__descriptor;
    Modal__TaskCommandRouter__TaskExecWaitRequest *in = (void *)modal_req_msg(r, d);
    if (in == NULL)
        return;
    /* Wait and Poll requests have the same fields (task_id 1, exec_id 2). */
    struct mock_sandbox *sb = NULL;
    struct modal_exec *e = exec_of(r, in->task_id, in->exec_id, &sb);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (e == NULL)
        return;
    if (!poll) {
        modal_exec_wait_for(r, sb, e, INT64_MAX, reply_wait);
        return;
    }
    struct modal_sb *ms = sb->vendor;
    pthread_mutex_lock(&ms->lock);
    reply_exit(r, e, true);
    pthread_mutex_unlock(&ms->lock);
    mock_store_put(mock_store_of(r->mock), sb);
}

void modal_exec_wait(struct mock_req *r)
{
    wait_or_poll(r, false);
}

void modal_exec_poll(struct mock_req *r)
{
    wait_or_poll(r, true);
}
