/* Fuzz target: the Modal client's response parsing (providers/modal*.c over grpc.c), driven
 * through its step machines as the transport drives them, no network: gRPC framing, the
 * protobuf-c unpack of every reply the provider reads, the status in trailers, in the headers
 * (Trailers-Only) or missing, and the task command router's stdio streams fed in chunks.
 *
 * The first byte picks the operation (auth, create, attach, cleanup, list, startup in either
 * mode, exec, each kind of file operation) and the generation (V1/V2). Then each reply the
 * step machine waits for is taken from the input:
 *   flags   bits 0-1 HTTP status (200, 200, 503, 100 + next byte)
 *           bits 2-3 grpc-status in the trailers, the headers, nowhere, both
 *           bit 4    Content-Type text/plain instead of application/grpc
 *           bit 5    the body as given (raw frames), else framed as one message
 *           bits 6-7 chunk size for a streamed body (1, 7, 100, all)
 *   string  grpc-status value (NUL-ended)
 *   string  grpc-message value (NUL-ended)
 *   2 bytes body length (little endian), then the body
 * until the operation ends or the input is spent. Properties: no crash, leak or hang, and an
 * operation that fails says why (a class and a message). */
#include <stdlib.h>

#include "fuzz.h"
#include "modal.h"

#define MAX_REPLIES 48

enum target {
    T_AUTH,
    T_CREATE,
    T_ATTACH,
    T_CLEANUP,
    T_LIST,
    T_STARTUP_AS,
    T_STARTUP_DIRECT,
    T_EXEC,
    T_WRITE,
    T_READ,
    T_LIST_FILES,
    T__COUNT
};

/* Clients by [direct mode][V2], made once. */
static struct sp_client *clients[2][2];

static struct sp_client *client_for(bool direct, bool v2)
{
    struct sp_client **c = &clients[direct][v2];
    if (*c != NULL)
        return *c;
    struct sp_kv env;
    struct sp_error err;
    sp_kv_init(&env);
    sp_kv_set(&env, "MODAL_TOKEN_ID", "ak-fuzz");
    sp_kv_set(&env, "MODAL_TOKEN_SECRET", "as-fuzz");
    sp_kv_set(&env, "MODAL_SERVER_URL", "http://127.0.0.1:9");
    sp_kv_set(&env, SP_GENERATION_VAR, v2 ? "1" : "0");
    struct sp_client_opts opts = {.mode = direct ? "direct" : NULL,
                                  .ready_timeout_ms = 60000,
                                  .alive_timeout_ms = 60000,
                                  .alive_interval_ms = 1};
    if (sp_client_new("modal", &env, &opts, c, &err) != SP_E_OK) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    sp_kv_cleanup(&env);
    return *c;
}

static void ms_free(void *p)
{
    struct modal_sb *ms = p;
    if (ms)
        free(ms->router_jwt);
    free(ms);
}

/* A sandbox as startup (or, for direct mode, a finished startup) leaves it. */
static struct sp_sandbox *fixture(struct sp_client *c, bool started)
{
    struct sp_sandbox *sb = sp__sandbox_new(c);
    struct modal_sb *ms = sb ? calloc(1, sizeof(*ms)) : NULL;
    if (ms == NULL)
        abort();
    sb->priv = ms;
    sb->priv_free = ms_free;
    snprintf(sb->id, sizeof(sb->id), "sb-FUZZ0000000000000000000");
    snprintf(sb->workdir, sizeof(sb->workdir), "/root");
    sp__sandbox_set_state(sb, "running");
    if (started) {
        snprintf(ms->task_id, sizeof(ms->task_id), "ta-fuzz");
        snprintf(ms->router_url, sizeof(ms->router_url), "http://127.0.0.1:9");
        ms->router_jwt = strdup("jwt");
        snprintf(sb->data_url, sizeof(sb->data_url), "%s", ms->router_url);
    }
    return sb;
}

/* The next reply from the input into rsp; false when the input is spent. Streamed bodies
 * (req->on_chunk) go to the chunk consumer as the transport delivers them: false also when
 * it refused them (the transport then ends the operation). */
static bool
next_reply(struct fz *f, struct sp_op *op, const struct sp_http_req *req, struct sp_http_rsp *rsp)
{
    if (f->n == 0)
        return false;
    unsigned flags = fz_byte(f);
    char st[9], msg[65];
    sp_http_rsp_reset(rsp);
    rsp->status = (flags & 3) < 2 ? 200 : (flags & 3) == 2 ? 503 : 100 + (int)fz_byte(f);
    fz_str(f, st, 8);
    fz_str(f, msg, 64);
    sp_kv_add(&rsp->headers, "content-type", flags & 16 ? "text/plain" : "application/grpc");
    unsigned where = flags >> 2 & 3;
    if (where == 0 || where == 3) {
        sp_kv_add(&rsp->trailers, "grpc-status", st);
        sp_kv_add(&rsp->trailers, "grpc-message", msg);
    }
    if (where == 1 || where == 3) {
        sp_kv_add(&rsp->headers, "grpc-status", st);
        sp_kv_add(&rsp->headers, "grpc-message", msg);
    }
    size_t len = fz_byte(f);
    len |= (size_t)fz_byte(f) << 8;
    len = len < f->n ? len : f->n;
    struct sp_buf body;
    sp_buf_init(&body, 0);
    if (!(flags & 32)) {
        unsigned char head[5] = {0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                                 (unsigned char)(len >> 8), (unsigned char)len};
        sp_buf_append(&body, head, sizeof(head));
    }
    sp_buf_append(&body, f->p, len);
    f->p += len;
    f->n -= len;
    bool ok = true;
    if (req->on_chunk && rsp->status >= 200 && rsp->status < 300) {
        static const size_t steps[] = {1, 7, 100, (size_t)-1};
        size_t step = steps[flags >> 6];
        for (size_t off = 0; ok && off < body.len; off += step) {
            size_t n = body.len - off < step ? body.len - off : step;
            ok = req->on_chunk(op, body.data + off, n, &op->err) == 0;
        }
        if (!ok)
            FZ_CHECK(op->err.code != SP_E_OK && op->err.msg[0], "a refused stream says why");
    } else {
        sp_buf_append(&rsp->body, body.data, body.len);
    }
    sp_buf_cleanup(&body);
    return ok;
}

/* Runs op's step machine on replies from the input. */
static void drive(struct sp_op *op, struct fz *f)
{
    sp_step_fn fn = sp__provider_step(op->client->provider, op->step);
    struct sp_http_req req;
    struct sp_http_rsp rsp;
    sp_http_req_init(&req);
    sp_http_rsp_init(&rsp);
    enum sp_next next = fn(op, NULL, &req, &op->err);
    for (int i = 0; i < MAX_REPLIES && (next == SP_NEXT_REQUEST || next == SP_NEXT_WAIT); i++) {
        if (next == SP_NEXT_REQUEST && !next_reply(f, op, &req, &rsp))
            break;
        const struct sp_http_rsp *r = next == SP_NEXT_WAIT ? NULL : &rsp;
        sp_http_req_reset(&req);
        next = fn(op, r, &req, &op->err);
    }
    if (next == SP_NEXT_FAIL)
        FZ_CHECK(op->err.code != SP_E_OK && op->err.msg[0], "a failed operation says why");
    if (op->ctx_free)
        op->ctx_free(op->ctx);
    op->ctx = NULL;
    sp_http_req_cleanup(&req);
    sp_http_rsp_cleanup(&rsp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned pick = fz_byte(&f);
    enum target t = (enum target)(pick % T__COUNT);
    bool v2 = pick & 0x80;
    bool direct = t == T_STARTUP_DIRECT || t >= T_EXEC;
    struct sp_client *c = client_for(direct, v2);
    struct sp_sandbox *sb = t >= T_CLEANUP && t != T_LIST ? fixture(c, t >= T_EXEC) : NULL;
    struct sp_op op;
    struct sp_create_opts co = {.session = "fz-session", .run_id = pick & 0x40 ? "r1" : NULL};
    struct sp_list list;
    struct sp_exec x;
    struct sp_files files;
    sp_list_init(&list);
    sp_exec_init(&x, "echo fuzz");
    static const char payload[] = "fuzz bytes\n";
    enum sp_file_kind kinds[] = {SP_FILE_WRITE, SP_FILE_READ, SP_FILE_LIST};
    sp_files_init(&files, t >= T_WRITE ? kinds[t - T_WRITE] : SP_FILE_READ, "/root/f.txt");
    files.data = payload;
    files.len = sizeof(payload) - 1;
    switch (t) {
    case T_AUTH:
        sp_op_init_auth(&op, c);
        break;
    case T_CREATE:
        sp_op_init_create(&op, c, &co);
        break;
    case T_ATTACH:
        sp_op_init_attach(&op, c, "OpenHands_SID", "fz-session");
        break;
    case T_CLEANUP:
        sp_op_init_cleanup(&op, sb, SP_CLEANUP_DEFAULT);
        break;
    case T_LIST:
        sp_op_init_list(&op, c, pick & 0x40 ? SP_RUN_LABEL : NULL, "r1", &list);
        break;
    case T_STARTUP_AS:
    case T_STARTUP_DIRECT:
        sp_op_init_startup(&op, sb);
        break;
    case T_EXEC:
        sp_op_init_exec(&op, sb, &x);
        break;
    default:
        sp_op_init_files(&op, sb, &files);
        break;
    }
    drive(&op, &f);
    sp_sandbox_free(op.sandbox != sb ? op.sandbox : NULL);
    sp_sandbox_free(sb);
    sp_files_cleanup(&files);
    sp_exec_cleanup(&x);
    sp_list_cleanup(&list);
    return 0;
}
