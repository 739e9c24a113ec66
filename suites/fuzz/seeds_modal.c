/* Writes the seed corpora of the Modal fuzz targets (suites/fuzz/corpus/{modal_client,
 * modal_mock,h2server}/) from real messages, made with the project's own encoders
 * (protobuf-c, sp_grpc_frame) and, for the HTTP/2 server, an nghttp2 client session: what
 * the Modal provider reads in each of its operations, each RPC the mock serves, and a gRPC
 * client's bytes on the wire. `make fuzz-seeds` runs it from the repository root; the
 * corpora it writes are checked in, so this runs only when the input formats change. */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grpc.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

#define CORPUS "suites/fuzz/corpus/"

static void save(const char *dir, const char *name, const struct sp_buf *b)
{
    char path[256];
    snprintf(path, sizeof(path), CORPUS "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->data ? b->data : "", 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* --- modal_client: replies in the format of fuzz_modal_client.c ---------------------------- */

#define RAW      32u /* body as given */
#define NOSTATUS 8u  /* grpc-status nowhere */
#define HEADERS  4u  /* grpc-status in the headers (Trailers-Only) */

static void reply_raw(struct sp_buf *out,
                      unsigned flags,
                      const char *st,
                      const char *msg,
                      const void *body,
                      size_t len)
{
    unsigned char f = (unsigned char)flags, l[2] = {(unsigned char)len, (unsigned char)(len >> 8)};
    sp_buf_append(out, &f, 1);
    sp_buf_append(out, st, strlen(st) + 1);
    sp_buf_append(out, msg, strlen(msg) + 1);
    sp_buf_append(out, l, 2);
    sp_buf_append(out, body, len);
}

/* An OK unary reply carrying m. */
static void reply(struct sp_buf *out, const ProtobufCMessage *m)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_grpc_frame(&b, m);
    reply_raw(out, RAW, "0", "", b.data, b.len);
    sp_buf_cleanup(&b);
}

/* An OK streamed reply of stdio messages, one per string; chunk picks the feeding size. */
static void reply_stdio(struct sp_buf *out, unsigned chunk, const char *const *parts)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    for (size_t i = 0; parts[i]; i++) {
        Modal__TaskCommandRouter__TaskExecStdioReadResponse m =
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_RESPONSE__INIT;
        m.data.data = (uint8_t *)(uintptr_t)parts[i];
        m.data.len = strlen(parts[i]);
        sp_grpc_frame(&b, &m.base);
    }
    reply_raw(out, RAW | chunk << 6, "0", "", b.data ? b.data : "", b.len);
    sp_buf_cleanup(&b);
}

/* One command run through the router: start, stdout, stderr, the exit code. */
static void run_replies(struct sp_buf *out, const char *const *stdout_parts, int code)
{
    static const char *const none[] = {NULL};
    Modal__TaskCommandRouter__TaskExecStartResponse s =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_RESPONSE__INIT;
    reply(out, &s.base);
    reply_stdio(out, (unsigned)code & 3, stdout_parts);
    reply_stdio(out, 3, none);
    Modal__TaskCommandRouter__TaskExecWaitResponse w =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__INIT;
    w.exit_status_case = MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__EXIT_STATUS_CODE;
    w.code = code;
    reply(out, &w.base);
}

static void seed(const char *name, unsigned pick, struct sp_buf *b)
{
    struct sp_buf out;
    sp_buf_init(&out, 0);
    unsigned char p = (unsigned char)pick;
    sp_buf_append(&out, &p, 1);
    sp_buf_append(&out, b->data ? b->data : "", b->len);
    save("modal_client", name, &out);
    sp_buf_cleanup(&out);
    sp_buf_reset(b);
}

static void client_create(struct sp_buf *b, bool v2, bool join)
{
    char app[] = "ap-FUZZ", img[] = "im-FUZZ", sec[] = "st-FUZZ", sbid[] = "sb-FUZZ";
    Modal__Client__AppGetOrCreateResponse a = MODAL__CLIENT__APP_GET_OR_CREATE_RESPONSE__INIT;
    a.app_id = app;
    reply(b, &a.base);
    Modal__Client__EnvironmentGetOrCreateResponse e =
        MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_RESPONSE__INIT;
    reply(b, &e.base);
    Modal__Client__GenericResult ok = MODAL__CLIENT__GENERIC_RESULT__INIT, pending = ok;
    ok.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    Modal__Client__ImageGetOrCreateResponse i = MODAL__CLIENT__IMAGE_GET_OR_CREATE_RESPONSE__INIT;
    i.image_id = img;
    i.result = join ? &pending : &ok;
    reply(b, &i.base);
    if (join) {
        Modal__Client__ImageJoinStreamingResponse j =
            MODAL__CLIENT__IMAGE_JOIN_STREAMING_RESPONSE__INIT;
        j.result = &ok;
        reply(b, &j.base);
    }
    Modal__Client__SecretGetOrCreateResponse s = MODAL__CLIENT__SECRET_GET_OR_CREATE_RESPONSE__INIT;
    s.secret_id = sec;
    reply(b, &s.base);
    Modal__Client__SandboxCreateResponse c = MODAL__CLIENT__SANDBOX_CREATE_RESPONSE__INIT;
    Modal__Client__SandboxCreateV2Response c2 = MODAL__CLIENT__SANDBOX_CREATE_V2_RESPONSE__INIT;
    c.sandbox_id = c2.sandbox_id = sbid;
    reply(b, v2 ? &c2.base : &c.base);
}

static void client_lifecycle(struct sp_buf *b)
{
    char sbid[] = "sb-FUZZ", k[] = "OpenHands_SID", v[] = "fz-session", rk[] = "sandprobe_run",
         rv[] = "r1";
    Modal__Client__SandboxTag t1 = MODAL__CLIENT__SANDBOX_TAG__INIT, t2 = t1;
    t1.tag_name = k;
    t1.tag_value = v;
    t2.tag_name = rk;
    t2.tag_value = rv;
    Modal__Client__SandboxTag *tags[] = {&t1, &t2};
    Modal__Client__SandboxInfo info = MODAL__CLIENT__SANDBOX_INFO__INIT, info2;
    info.id = sbid;
    info.n_tags = 2;
    info.tags = tags;
    info.created_at = 1765000000.5;
    info2 = info;
    info2.created_at = 1764000000.25;
    Modal__Client__SandboxInfo *one[] = {&info}, *two[] = {&info, &info2};
    Modal__Client__SandboxListResponse l = MODAL__CLIENT__SANDBOX_LIST_RESPONSE__INIT;
    l.n_sandboxes = 1;
    l.sandboxes = one;
    reply(b, &l.base);
    Modal__Client__SandboxWaitResponse w = MODAL__CLIENT__SANDBOX_WAIT_RESPONSE__INIT;
    reply(b, &w.base);
    seed("attach", 2, b);

    l.n_sandboxes = 2;
    l.sandboxes = two;
    reply(b, &l.base);
    Modal__Client__SandboxListResponse empty = MODAL__CLIENT__SANDBOX_LIST_RESPONSE__INIT;
    reply(b, &empty.base);
    seed("list", 4 | 0x40, b);

    Modal__Client__SandboxTerminateResponse t = MODAL__CLIENT__SANDBOX_TERMINATE_RESPONSE__INIT;
    reply(b, &t.base);
    reply(b, &w.base); /* still running: asked again */
    Modal__Client__GenericResult done = MODAL__CLIENT__GENERIC_RESULT__INIT;
    done.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_TERMINATED;
    done.exitcode = 137;
    w.result = &done;
    reply(b, &w.base);
    seed("cleanup", 3, b);
}

static void client_startup(struct sp_buf *b)
{
    char host[] = "3000-sbfuzz.tunnel.localhost", task[] = "ta-FUZZ",
         url[] = "https://127.0.0.1:9/", jwt[] = "e30.e30.sig";
    Modal__Client__GenericResult ok = MODAL__CLIENT__GENERIC_RESULT__INIT, wait = ok;
    ok.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    wait.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_TIMEOUT;
    Modal__Client__TunnelData td = MODAL__CLIENT__TUNNEL_DATA__INIT;
    td.host = host;
    td.port = 40443;
    td.container_port = 3000;
    Modal__Client__TunnelData *tds[] = {&td};
    Modal__Client__SandboxGetTunnelsResponse tr = MODAL__CLIENT__SANDBOX_GET_TUNNELS_RESPONSE__INIT;
    tr.result = &wait;
    reply(b, &tr.base);
    tr.result = &ok;
    tr.n_tunnels = 1;
    tr.tunnels = tds;
    reply(b, &tr.base);
    reply_raw(b, RAW | NOSTATUS | 2, "", "", "", 0); /* /alive: 503 while the port is down */
    reply_raw(b, RAW | NOSTATUS | 16, "", "", "{\"status\":\"ok\"}", 15); /* then 200 */
    seed("startup_as", 5, b);

    Modal__Client__SandboxGetTaskIdResponse t = MODAL__CLIENT__SANDBOX_GET_TASK_ID_RESPONSE__INIT;
    reply(b, &t.base); /* no task yet */
    t._task_id_case = MODAL__CLIENT__SANDBOX_GET_TASK_ID_RESPONSE___TASK_ID_TASK_ID;
    t.task_id = task;
    reply(b, &t.base);
    Modal__Client__TaskGetCommandRouterAccessResponse a =
        MODAL__CLIENT__TASK_GET_COMMAND_ROUTER_ACCESS_RESPONSE__INIT;
    a.url = url;
    a.jwt = jwt;
    reply(b, &a.base);
    static const char *const nothing[] = {NULL};
    run_replies(b, nothing, 0);
    seed("startup_direct", 6, b);
}

static void client_exec_files(struct sp_buf *b)
{
    static const char *const out[] = {"fuzz", "-out\n", NULL};
    run_replies(b, out, 0);
    seed("exec", 7, b);
    run_replies(b, out, 137);
    seed("exec_v2_killed", 7 | 0x80, b);
    static const char *const none[] = {NULL};
    run_replies(b, none, 0);
    seed("write", 8, b);
    static const char *const b64[] = {"aGVsbG8K", NULL};
    run_replies(b, b64, 0);
    seed("read", 9, b);
    static const char *const listing[] = {"d -1 dir\n", "f 3 a.txt\nf 0 .hidden\n", NULL};
    run_replies(b, listing, 0);
    seed("list_files", 10, b);
    /* A listing whose last line lacks its newline (the one line here): the parser once sized
     * its array by newlines and wrote past it (NULL here). */
    static const char *const one_line[] = {"f 3 a.txt", NULL};
    run_replies(b, one_line, 0);
    seed("list_files_no_newline", 10, b);
    Modal__TaskCommandRouter__TaskExecStartResponse s =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_RESPONSE__INIT;
    reply(b, &s.base);
    reply_stdio(b, 0, out);
    static const char *const missing[] = {"base64: ./root/f.txt: No such file or directory\n",
                                          NULL};
    reply_stdio(b, 1, missing);
    Modal__TaskCommandRouter__TaskExecWaitResponse w =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__INIT;
    w.exit_status_case = MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__EXIT_STATUS_SIGNAL;
    w.signal = 9;
    reply(b, &w.base);
    seed("read_missing", 9, b);
}

static void client_errors(struct sp_buf *b)
{
    reply_raw(b, RAW | HEADERS, "16", "Token%20missing", "", 0);
    seed("auth_unauthenticated", 0, b);
    Modal__Client__EnvironmentGetOrCreateResponse e =
        MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_RESPONSE__INIT;
    reply(b, &e.base);
    seed("auth", 0, b);
    reply_raw(b, RAW | NOSTATUS, "", "", "", 0);
    seed("auth_no_status", 0, b);
    reply_raw(b, RAW | 2, "", "", "upstream", 8);
    seed("auth_503", 0, b);
    reply_raw(b, 0, "0", "", "\x0a\x03\x61\x62\x63", 5);
    seed("auth_framed", 0, b);
    reply_raw(b, RAW | HEADERS | 12, "5", "Sandbox%20sb-x%20not%20found", "\0\0\0\0\0", 5);
    seed("attach_trailers_only_body", 2, b);
}

static void client_seeds(void)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    client_create(&b, false, false);
    seed("create", 1, &b);
    client_create(&b, true, true);
    seed("create_v2_join", 1 | 0x80 | 0x40, &b);
    client_lifecycle(&b);
    client_startup(&b);
    client_exec_files(&b);
    client_errors(&b);
    sp_buf_cleanup(&b);
}

/* --- modal_mock: pick, mode, message (fuzz_modal_mock.c) ----------------------------------- */

static void mock_seed(const char *name, unsigned pick, unsigned mode, const ProtobufCMessage *m)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    unsigned char h[2] = {(unsigned char)pick, (unsigned char)mode};
    sp_buf_append(&b, h, 2);
    if (m) {
        size_t n = protobuf_c_message_get_packed_size(m);
        uint8_t *tmp = malloc(n ? n : 1);
        protobuf_c_message_pack(m, tmp);
        sp_buf_append(&b, tmp, n);
        free(tmp);
    }
    save("modal_mock", name, &b);
    sp_buf_cleanup(&b);
}

/* Each RPC of fuzz_modal_mock.c's table (same order) with an empty message: the target fills
 * the fixture's ids in. */
static const ProtobufCMessageDescriptor *const mock_descs[] = {
    &modal__client__auth_token_get_request__descriptor,
    &modal__client__app_get_or_create_request__descriptor,
    &modal__client__environment_get_or_create_request__descriptor,
    &modal__client__image_get_or_create_request__descriptor,
    &modal__client__image_join_streaming_request__descriptor,
    &modal__client__secret_get_or_create_request__descriptor,
    &modal__client__sandbox_create_request__descriptor,
    &modal__client__sandbox_create_v2_request__descriptor,
    &modal__client__sandbox_get_task_id_request__descriptor,
    &modal__client__sandbox_get_task_id_request__descriptor,
    &modal__client__sandbox_get_tunnels_request__descriptor,
    &modal__client__sandbox_get_tunnels_request__descriptor,
    &modal__client__sandbox_wait_request__descriptor,
    &modal__client__sandbox_wait_request__descriptor,
    &modal__client__sandbox_terminate_request__descriptor,
    &modal__client__sandbox_terminate_request__descriptor,
    &modal__client__sandbox_list_request__descriptor,
    &modal__client__sandbox_list_request__descriptor,
    &modal__client__sandbox_tags_set_request__descriptor,
    &modal__client__sandbox_tags_set_request__descriptor,
    &modal__client__task_get_command_router_access_request__descriptor,
    &modal__client__sandbox_get_command_router_access_request__descriptor,
    &modal__client__container_exec_get_output_request__descriptor,
    &modal__client__container_exec_wait_request__descriptor,
    &modal__task_command_router__task_exec_stdio_read_request__descriptor,
    &modal__task_command_router__task_exec_wait_request__descriptor,
    &modal__task_command_router__task_exec_poll_request__descriptor,
};

static void mock_rich_seeds(void)
{
    char name[] = "fz-app", k[] = "K", v[] = "V", cmd0[] = "sleep", cmd1[] = "1", wd[] = "/w";
    Modal__Client__AppGetOrCreateRequest app = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    app.app_name = name;
    app.object_creation_type =
        MODAL__CLIENT__OBJECT_CREATION_TYPE__OBJECT_CREATION_TYPE_CREATE_IF_MISSING;
    mock_seed("app_create", 1, 3, &app.base);
    Modal__Client__SandboxTag tag = MODAL__CLIENT__SANDBOX_TAG__INIT;
    Modal__Client__SandboxTag *tags[] = {&tag};
    tag.tag_name = k;
    tag.tag_value = v;
    char *args[] = {cmd0, cmd1};
    Modal__Client__PortSpec p = MODAL__CLIENT__PORT_SPEC__INIT;
    Modal__Client__PortSpec *pp[] = {&p};
    p.port = 3000;
    Modal__Client__PortSpecs ports = MODAL__CLIENT__PORT_SPECS__INIT;
    ports.n_ports = 1;
    ports.ports = pp;
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    def.n_entrypoint_args = 2;
    def.entrypoint_args = args;
    def._workdir_case = MODAL__CLIENT__SANDBOX___WORKDIR_WORKDIR;
    def.workdir = wd;
    def.open_ports_oneof_case = MODAL__CLIENT__SANDBOX__OPEN_PORTS_ONEOF_OPEN_PORTS;
    def.open_ports = &ports;
    Modal__Client__SandboxCreateRequest c = MODAL__CLIENT__SANDBOX_CREATE_REQUEST__INIT;
    c.definition = &def;
    c.n_tags = 1;
    c.tags = tags;
    mock_seed("sandbox_create", 6, 3, &c.base);
    Modal__Client__SandboxCreateV2Request c2 = MODAL__CLIENT__SANDBOX_CREATE_V2_REQUEST__INIT;
    c2.definition = &def;
    c2.n_tags = 1;
    c2.tags = tags;
    mock_seed("sandbox_create_v2", 7, 3, &c2.base);
    Modal__Client__SandboxListRequest l = MODAL__CLIENT__SANDBOX_LIST_REQUEST__INIT;
    l.n_tags = 1;
    l.tags = tags;
    l.include_finished = 1;
    l.before_timestamp = 4e9;
    mock_seed("sandbox_list_tags", 16, 3, &l.base);
    Modal__Client__SandboxTagsSetRequest ts = MODAL__CLIENT__SANDBOX_TAGS_SET_REQUEST__INIT;
    ts.n_tags = 1;
    ts.tags = tags;
    mock_seed("sandbox_tags_set", 18, 3, &ts.base);
    Modal__Client__SandboxWaitRequest w = MODAL__CLIENT__SANDBOX_WAIT_REQUEST__INIT;
    w.timeout = 0.05f;
    mock_seed("sandbox_wait", 12, 3, &w.base);
    Modal__Client__ContainerExecGetOutputRequest o =
        MODAL__CLIENT__CONTAINER_EXEC_GET_OUTPUT_REQUEST__INIT;
    o.file_descriptor = MODAL__CLIENT__FILE_DESCRIPTOR__FILE_DESCRIPTOR_STDERR;
    o.get_raw_bytes = 1;
    o.last_batch_index = 3;
    mock_seed("container_output_stderr", 22, 3, &o.base);
    Modal__TaskCommandRouter__TaskExecStdioReadRequest r =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_REQUEST__INIT;
    r.file_descriptor = 1;
    r.offset = 2;
    mock_seed("stdio_read_stderr", 24, 3, &r.base);
    mock_seed("garbage_framed", 9, 1, NULL);
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_append(&b, "\x06\x00\x01\x00\x00\x00\xff\x0a", 8); /* a frame longer than the body */
    save("modal_mock", "short_frame", &b);
    sp_buf_reset(&b);
    sp_buf_append(&b, "\xc0\x00modal.client.ModalClient/Nope", 31);
    save("modal_mock", "unknown_method", &b);
    sp_buf_cleanup(&b);
}

static void mock_seeds(void)
{
    for (size_t i = 0; i < sizeof(mock_descs) / sizeof(mock_descs[0]); i++) {
        ProtobufCMessage *m = calloc(1, mock_descs[i]->sizeof_message);
        protobuf_c_message_init(mock_descs[i], m);
        char name[80];
        snprintf(name, sizeof(name), "rpc_%02zu_%s", i, mock_descs[i]->short_name);
        mock_seed(name, (unsigned)i, 3, m);
        free(m);
    }
    mock_rich_seeds();
}

/* --- h2server: a gRPC client's bytes after the connection preface ---------------------------- */

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)s, (void)flags;
    sp_buf_append(user, data, len);
    return (ssize_t)len;
}

struct body {
    const struct sp_buf *b;
    size_t off;
};

static ssize_t h2_read(nghttp2_session *s,
                       int32_t id,
                       uint8_t *buf,
                       size_t len,
                       uint32_t *flags,
                       nghttp2_data_source *src,
                       void *user)
{
    (void)s, (void)id, (void)user;
    struct body *d = src->ptr;
    size_t n = d->b->len - d->off < len ? d->b->len - d->off : len;
    memcpy(buf, d->b->data + d->off, n);
    d->off += n;
    if (d->off == d->b->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(k, v)                                                                            \
    {                                                                                       \
        (uint8_t *)(uintptr_t)(k), (uint8_t *)(uintptr_t)(v), sizeof(k) - 1, sizeof(v) - 1, \
            NGHTTP2_NV_FLAG_NONE                                                            \
    }

/* A session's bytes for n_req gRPC POSTs of path (and a ping, a reset of the first stream). */
static void h2_seed(const char *name, const char *path, int n_req, bool ping, bool reset)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session *s;
    struct sp_buf out, msg;
    sp_buf_init(&out, 0);
    sp_buf_init(&msg, 0);
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, h2_send);
    nghttp2_session_client_new(&s, cb, &out);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    char app[] = "fz";
    Modal__Client__AppGetOrCreateRequest q = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    q.app_name = app;
    sp_grpc_frame(&msg, &q.base);
    struct body bodies[4];
    nghttp2_nv nv[] = {NV(":method", "POST"),
                       NV(":scheme", "http"),
                       NV(":authority", "127.0.0.1"),
                       NV(":path", ""),
                       NV("content-type", "application/grpc"),
                       NV("te", "trailers"),
                       NV("grpc-timeout", "5S"),
                       NV("x-modal-token-id", "ak-fuzz"),
                       NV("x-modal-token-secret", "as-fuzz")};
    nv[3].value = (uint8_t *)(uintptr_t)path;
    nv[3].valuelen = strlen(path);
    int32_t first = 0;
    for (int i = 0; i < n_req && i < 4; i++) {
        bodies[i] = (struct body){&msg, 0};
        nghttp2_data_provider dp = {.source.ptr = &bodies[i], .read_callback = h2_read};
        int32_t id = nghttp2_submit_request(s, NULL, nv, sizeof(nv) / sizeof(nv[0]), &dp, NULL);
        first = first ? first : id;
    }
    if (ping)
        nghttp2_submit_ping(s, NGHTTP2_FLAG_NONE, NULL);
    if (reset && first > 0)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, first, NGHTTP2_CANCEL);
    nghttp2_session_send(s);
    static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t skip = out.len >= 24 && memcmp(out.data, PREFACE, 24) == 0 ? 24 : 0;
    struct sp_buf file;
    sp_buf_init(&file, 0);
    sp_buf_append(&file, out.data + skip, out.len - skip);
    save("h2server", name, &file);
    sp_buf_cleanup(&file);
    nghttp2_session_del(s);
    nghttp2_session_callbacks_del(cb);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&msg);
}

static void h2_seeds(void)
{
    h2_seed("unary", "/modal.client.ModalClient/AppGetOrCreate", 1, false, false);
    h2_seed("two_streams_ping", "/modal.client.ModalClient/AppGetOrCreate", 2, true, false);
    h2_seed("reset", "/modal.client.ModalClient/SandboxWait", 1, false, true);
    h2_seed("query", "/modal.client.ModalClient/X?a=1&b=%41+c&=&d", 1, false, false);
    h2_seed("router", "/modal.task_command_router.TaskCommandRouter/TaskExecPoll", 3, true, false);
}

int main(void)
{
    client_seeds();
    mock_seeds();
    h2_seeds();
    printf("seeds written under " CORPUS "{modal_client,modal_mock,h2server}/\n");
    return 0;
}
