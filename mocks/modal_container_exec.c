/* The Modal mock's legacy exec RPCs on the control plane (spec/runloop-modal.md M5 a, d), as
 * the Python SDK 1.1 and the JS SDK <= 0.6 run commands: ContainerExec{task_id, command,
 * workdir, timeout_secs, secret_ids} -> exec_id; ContainerExecGetOutput{exec_id, timeout,
 * last_batch_index, file_descriptor, get_raw_bytes} streams RuntimeOutputBatch messages whose
 * batch_index is the byte offset reached (a resumed call passes it back), the last one with
 * exit_code once the command ended; ContainerExecWait{exec_id, timeout} -> {exit_code,
 * completed}, or completed false after the timeout. The command itself runs as the router's
 * execs do (modal_exec.c). Exec ids carry their task id ("ce-<random>-<task id>"). */
#include "modal_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "provider.h" /* sp_now_us */

#define BATCH_MAX 60000 /* payload per batch: one frame fits the transport's 64 KiB reads */
#define ID_PREFIX 16    /* "ce-" + 12 random characters + "-" */

/* The exec and its sandbox (referenced) for an exec id; replies NOT_FOUND and returns NULL. */
static struct modal_exec *lookup(struct mock_req *r, const char *id, struct mock_sandbox **sbp)
{
    *sbp = NULL;
    struct mock_sandbox *sb = strlen(id) > ID_PREFIX ? modal_task_sandbox(r, id + ID_PREFIX) : NULL;
    struct modal_exec *e = NULL;
    if (sb != NULL) {
        struct modal_sb *ms = sb->vendor;
        pthread_mutex_lock(&ms->lock);
        e = modal_exec_find(ms, id);
        pthread_mutex_unlock(&ms->lock);
    }
    if (e == NULL) {
        modal_reply_status(r, MODAL_NOT_FOUND, "Exec not found");
        if (sb)
            mock_store_put(mock_store_of(r->mock), sb);
        return NULL;
    }
    *sbp = sb;
    return e;
}

void modal_container_exec(struct mock_req *r)
{
    Modal__Client__ContainerExecRequest *in =
        (void *)modal_req_msg(r, &modal__client__container_exec_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_task_sandbox(r, in->task_id);
    if (sb == NULL) {
        modal_reply_status(r, MODAL_NOT_FOUND, "Task not found");
    } else {
        char id[128];
        modal_id62(r, "ce-", 12, id, sizeof(id));
        size_t used = strlen(id);
        snprintf(id + used, sizeof(id) - used, "-%s", in->task_id);
        struct modal_exec_spec x = {id,
                                    in->command,
                                    in->n_command,
                                    in->_workdir_case ? in->workdir : NULL,
                                    in->timeout_secs,
                                    in->secret_ids,
                                    in->n_secret_ids,
                                    NULL};
        if (modal_exec_launch(r, sb, &x) == 0) {
            Modal__Client__ContainerExecResponse out = MODAL__CLIENT__CONTAINER_EXEC_RESPONSE__INIT;
            out.exec_id = id;
            modal_reply_msg(r, &out.base);
            mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
        }
        mock_store_put(mock_store_of(r->mock), sb);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* --- output ------------------------------------------------------------------------------- */

struct output_ctx {
    struct mock_req *r;
    struct mock_sandbox *sb;
    struct modal_exec *e;
    int fd; /* 0 stdout, 1 stderr */
    uint64_t offset;
    bool raw;
    bool ended; /* the batch with the exit code went out */
    int64_t until_us;
};

/* Packs one batch into buf (max bytes); returns its framed length. */
static ssize_t
pack_batch(struct output_ctx *c, const char *data, size_t n, bool with_exit, char *buf, size_t max)
{
    Modal__Client__RuntimeOutputMessage item = MODAL__CLIENT__RUNTIME_OUTPUT_MESSAGE__INIT;
    Modal__Client__RuntimeOutputMessage *items[] = {&item};
    Modal__Client__RuntimeOutputBatch b = MODAL__CLIENT__RUNTIME_OUTPUT_BATCH__INIT;
    char *text = NULL;
    if (n > 0) {
        item.file_descriptor = c->fd ? MODAL__CLIENT__FILE_DESCRIPTOR__FILE_DESCRIPTOR_STDERR
                                     : MODAL__CLIENT__FILE_DESCRIPTOR__FILE_DESCRIPTOR_STDOUT;
        if (c->raw) {
            item.message_bytes.data = (uint8_t *)(uintptr_t)data;
            item.message_bytes.len = n;
        } else if ((text = strndup(data, n)) != NULL) {
            item.message = text;
        }
        b.n_items = 1;
        b.items = items;
    }
    b.batch_index = c->offset;
    if (with_exit) {
        b._exit_code_case = MODAL__CLIENT__RUNTIME_OUTPUT_BATCH___EXIT_CODE_EXIT_CODE;
        b.exit_code = c->e->code;
    }
    ssize_t rc = sp_grpc_frame_into(&b.base, buf, max);
    free(text);
    return rc;
}

/* Waits for bytes past offset, the exit, the call's timeout or a gone client. */
static ssize_t output_read(void *arg, char *buf, size_t max)
{
    struct output_ctx *c = arg;
    struct modal_sb *ms = c->sb->vendor;
    if (c->ended)
        return 0;
    pthread_mutex_lock(&ms->lock);
    while (c->e->out[c->fd].len <= c->offset && !c->e->exited) {
        if (sp_now_us() >= c->until_us) {
            pthread_mutex_unlock(&ms->lock);
            return 0; /* the call's timeout: the client asks again from its index */
        }
        if (modal_exec_await(c->r, ms, c->e, c->fd, c->offset, 100) != 0)
            return -1;
    }
    const struct sp_buf *o = &c->e->out[c->fd];
    size_t have = o->len > c->offset ? o->len - (size_t)c->offset : 0;
    size_t n = have < BATCH_MAX ? have : BATCH_MAX;
    bool last = c->e->exited && n == have;
    ssize_t rc = pack_batch(c, o->data + c->offset, n, false, buf, max);
    if (n == 0)
        rc = pack_batch(c, NULL, 0, true, buf, max);
    else if (rc > 0)
        c->offset += n;
    c->ended = n == 0 && last;
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static void output_free(void *arg)
{
    struct output_ctx *c = arg;
    mock_store_put(mock_store_of(c->r->mock), c->sb);
    free(c);
}

void modal_container_exec_output(struct mock_req *r)
{
    Modal__Client__ContainerExecGetOutputRequest *in =
        (void *)modal_req_msg(r, &modal__client__container_exec_get_output_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = NULL;
    struct modal_exec *e = lookup(r, in->exec_id, &sb);
    struct output_ctx *c = e ? calloc(1, sizeof(*c)) : NULL;
    if (e != NULL && c == NULL) {
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        mock_store_put(mock_store_of(r->mock), sb);
    } else if (c != NULL) {
        float t = in->timeout > 0 && in->timeout < 55 ? in->timeout : 55;
        *c = (struct output_ctx){r,
                                 sb,
                                 e,
                                 in->file_descriptor ==
                                     MODAL__CLIENT__FILE_DESCRIPTOR__FILE_DESCRIPTOR_STDERR,
                                 in->last_batch_index,
                                 in->get_raw_bytes,
                                 false,
                                 sp_now_us() + (int64_t)(t * 1e6)};
        mock_reply_trailer(r, "grpc-status", "0");
        mock_reply_stream(r, 200, "application/grpc", output_read, c, output_free);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* --- wait --------------------------------------------------------------------------------- */

/* Called without the sandbox's lock: completed and the exit code once e has exited. */
static void wait_reply(struct mock_req *r, struct modal_exec *e)
{
    struct modal_sb *ms = e->ms;
    Modal__Client__ContainerExecWaitResponse out =
        MODAL__CLIENT__CONTAINER_EXEC_WAIT_RESPONSE__INIT;
    pthread_mutex_lock(&ms->lock);
    if (e->exited) {
        out.completed = 1;
        out._exit_code_case = MODAL__CLIENT__CONTAINER_EXEC_WAIT_RESPONSE___EXIT_CODE_EXIT_CODE;
        out.exit_code = e->code;
    }
    pthread_mutex_unlock(&ms->lock);
    modal_reply_msg(r, &out.base);
}

void modal_container_exec_wait(struct mock_req *r)
{
    Modal__Client__ContainerExecWaitRequest *in =
        (void *)modal_req_msg(r, &modal__client__container_exec_wait_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = NULL;
    struct modal_exec *e = lookup(r, in->exec_id, &sb);
    float t = in->timeout > 0 && in->timeout < 55 ? in->timeout : in->timeout <= 0 ? 0 : 55;
    protobuf_c_message_free_unpacked(&in->base, NULL);
    /* answers now when done or timeout 0, else looks every 10 ms */
    if (e != NULL)
        modal_exec_wait_for(r, sb, e, sp_now_us() + (int64_t)(t * 1e6), wait_reply);
}
