/* Fuzz target: the Modal mock's request side (mocks/modal*.c) through its real front door,
 * gRPC over h2c (mocks/h2server.c), in-process on loopback. The first byte picks an RPC from
 * the table below, or (0xc0 and up) a gRPC POST to an arbitrary path for the route matcher.
 * The second byte says how the rest of the input becomes the request body:
 *   bit 0  framed as one gRPC message (else sent as it is: hostile framing)
 *   bit 1  the ids the message leaves empty (app, sandbox, task, exec, image, secret) are
 *          filled with the fixture's, so the handlers get past their lookups
 * A body that decodes as the RPC's request has its `timeout` held to 1 s at most: SandboxWait
 * holds a request that long by design, longer than a fuzz input may take.
 * Left out on purpose: TaskExecStart and ContainerExec run the command they are given on the
 * host. The fixture (a sandbox, a command it ran through each exec API) is made at start.
 * Every request must get a gRPC answer: HTTP 200 with a grpc-status 0..16, in the headers or
 * the trailers. Sandboxes created by fuzzed bodies are terminated every 128 inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "grpc.h"
#include "mock.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"
#include "provider.h"

#define CP  "/modal.client.ModalClient/"
#define TCR "/modal.task_command_router.TaskCommandRouter/"

struct route {
    const char *path;
    const ProtobufCMessageDescriptor *desc;
    bool no_fill; /* never given the fixture's ids (it would end the fixture) */
};

#define D(name) &modal__client__##name##_request__descriptor
#define R(name) &modal__task_command_router__##name##_request__descriptor
static const struct route routes[] = {
    {CP "AuthTokenGet", D(auth_token_get), false},
    {CP "AppGetOrCreate", D(app_get_or_create), false},
    {CP "EnvironmentGetOrCreate", D(environment_get_or_create), false},
    {CP "ImageGetOrCreate", D(image_get_or_create), false},
    {CP "ImageJoinStreaming", D(image_join_streaming), false},
    {CP "SecretGetOrCreate", D(secret_get_or_create), false},
    {CP "SandboxCreate", D(sandbox_create), false},
    {CP "SandboxCreateV2", D(sandbox_create_v2), false},
    {CP "SandboxGetTaskId", D(sandbox_get_task_id), false},
    {CP "SandboxGetTaskIdV2", D(sandbox_get_task_id), false},
    {CP "SandboxGetTunnels", D(sandbox_get_tunnels), false},
    {CP "SandboxGetTunnelsV2", D(sandbox_get_tunnels), false},
    {CP "SandboxWait", D(sandbox_wait), false},
    {CP "SandboxWaitV2", D(sandbox_wait), false},
    {CP "SandboxTerminate", D(sandbox_terminate), true},
    {CP "SandboxTerminateV2", D(sandbox_terminate), true},
    {CP "SandboxList", D(sandbox_list), false},
    {CP "SandboxListV2", D(sandbox_list), false},
    {CP "SandboxTagsSet", D(sandbox_tags_set), false},
    {CP "SandboxTagsSetV2", D(sandbox_tags_set), false},
    {CP "TaskGetCommandRouterAccess", D(task_get_command_router_access), false},
    {CP "SandboxGetCommandRouterAccess", D(sandbox_get_command_router_access), false},
    {CP "ContainerExecGetOutput", D(container_exec_get_output), false},
    {CP "ContainerExecWait", D(container_exec_wait), false},
    {TCR "TaskExecStdioRead", R(task_exec_stdio_read), false},
    {TCR "TaskExecWait", R(task_exec_wait), false},
    {TCR "TaskExecPoll", R(task_exec_poll), false},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct {
    struct fz_mock mk;
    char token_id[128], token_secret[192], bearer[600];
    char app_id[64], image_id[64], secret_id[64], sandbox_id[64], task_id[64];
    char exec_id[64];       /* the router's (TaskExecStart) */
    char container_id[128]; /* the control plane's (ContainerExec) */
    bool ready;
} g;

/* One RPC; the reply's message into *out (desc) when it has one. Returns the grpc-status,
 * -1 for an answer that is not gRPC. */
static int rpc(const char *path,
               const void *body,
               size_t len,
               const ProtobufCMessageDescriptor *desc,
               ProtobufCMessage **out)
{
    const char *cp[] = {g.token_id, g.token_secret, "te: trailers", NULL};
    const char *tcr[] = {g.bearer, "te: trailers", NULL};
    struct sp_buf b;
    struct sp_kv fields;
    sp_buf_init(&b, 0);
    sp_kv_init(&fields);
    long status = fz_http(&g.mk, "POST", path, strncmp(path, TCR, strlen(TCR)) ? cp : tcr,
                          "application/grpc", body, len, &b, &fields);
    const char *st = sp_kv_geti(&fields, "grpc-status");
    char *end = NULL;
    long code = st ? strtol(st, &end, 10) : -1;
    if (status != 200 || st == NULL || *end != '\0' || code < 0 || code > SP_GRPC_CODE_MAX)
        code = -1;
    if (out != NULL) {
        *out = NULL;
        if (code == 0 && b.len >= 5)
            *out = protobuf_c_message_unpack(desc, NULL, b.len - 5, (const uint8_t *)b.data + 5);
    }
    sp_buf_cleanup(&b);
    sp_kv_cleanup(&fields);
    return (int)code;
}

/* A fixture call: the message framed, the reply unpacked as desc; aborts when it fails. */
static ProtobufCMessage *
call(const char *path, const ProtobufCMessage *in, const ProtobufCMessageDescriptor *desc)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    ProtobufCMessage *out = NULL;
    if (sp_grpc_frame(&b, in) != 0 || rpc(path, b.data, b.len, desc, &out) != 0 || out == NULL) {
        fprintf(stderr, "fuzz: fixture call %s failed (grpc-status %d)\n", path,
                rpc(path, b.data, b.len, NULL, NULL));
        abort();
    }
    sp_buf_cleanup(&b);
    return out;
}

static void fixture_app_image_secret(void)
{
    char name[] = "fz", key[] = "FZ", val[] = "1";
    Modal__Client__AppGetOrCreateRequest app = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    app.app_name = name;
    app.object_creation_type =
        MODAL__CLIENT__OBJECT_CREATION_TYPE__OBJECT_CREATION_TYPE_CREATE_IF_MISSING;
    Modal__Client__AppGetOrCreateResponse *a = (void *)call(
        CP "AppGetOrCreate", &app.base, &modal__client__app_get_or_create_response__descriptor);
    snprintf(g.app_id, sizeof(g.app_id), "%s", a->app_id);
    protobuf_c_message_free_unpacked(&a->base, NULL);
    Modal__Client__ImageGetOrCreateRequest img = MODAL__CLIENT__IMAGE_GET_OR_CREATE_REQUEST__INIT;
    img.app_id = g.app_id;
    Modal__Client__ImageGetOrCreateResponse *i = (void *)call(
        CP "ImageGetOrCreate", &img.base, &modal__client__image_get_or_create_response__descriptor);
    snprintf(g.image_id, sizeof(g.image_id), "%s", i->image_id);
    protobuf_c_message_free_unpacked(&i->base, NULL);
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry e =
        MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__ENV_DICT_ENTRY__INIT;
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry *ep[] = {&e};
    e.key = key;
    e.value = val;
    Modal__Client__SecretGetOrCreateRequest sec = MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__INIT;
    sec.app_id = g.app_id;
    sec.n_env_dict = 1;
    sec.env_dict = ep;
    Modal__Client__SecretGetOrCreateResponse *s =
        (void *)call(CP "SecretGetOrCreate", &sec.base,
                     &modal__client__secret_get_or_create_response__descriptor);
    snprintf(g.secret_id, sizeof(g.secret_id), "%s", s->secret_id);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void fixture_sandbox(void)
{
    char keep[] = "keep", one[] = "1", sleep_[] = "sleep", h48[] = "48h";
    char *args[] = {sleep_, h48}, *secrets[] = {g.secret_id};
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    def.n_entrypoint_args = 2;
    def.entrypoint_args = args;
    def.image_id = g.image_id;
    def.n_secret_ids = 1;
    def.secret_ids = secrets;
    Modal__Client__SandboxTag tag = MODAL__CLIENT__SANDBOX_TAG__INIT;
    Modal__Client__SandboxTag *tags[] = {&tag};
    tag.tag_name = keep;
    tag.tag_value = one;
    Modal__Client__SandboxCreateRequest q = MODAL__CLIENT__SANDBOX_CREATE_REQUEST__INIT;
    q.app_id = g.app_id;
    q.definition = &def;
    q.n_tags = 1;
    q.tags = tags;
    Modal__Client__SandboxCreateResponse *r = (void *)call(
        CP "SandboxCreate", &q.base, &modal__client__sandbox_create_response__descriptor);
    snprintf(g.sandbox_id, sizeof(g.sandbox_id), "%s", r->sandbox_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    for (int i = 0; i < 100 && g.task_id[0] == '\0'; i++) {
        Modal__Client__SandboxGetTaskIdRequest t = MODAL__CLIENT__SANDBOX_GET_TASK_ID_REQUEST__INIT;
        t.sandbox_id = g.sandbox_id;
        Modal__Client__SandboxGetTaskIdResponse *tr =
            (void *)call(CP "SandboxGetTaskId", &t.base,
                         &modal__client__sandbox_get_task_id_response__descriptor);
        if (tr->_task_id_case)
            snprintf(g.task_id, sizeof(g.task_id), "%s", tr->task_id);
        protobuf_c_message_free_unpacked(&tr->base, NULL);
    }
    Modal__Client__TaskGetCommandRouterAccessRequest a =
        MODAL__CLIENT__TASK_GET_COMMAND_ROUTER_ACCESS_REQUEST__INIT;
    a.task_id = g.task_id;
    Modal__Client__TaskGetCommandRouterAccessResponse *ar =
        (void *)call(CP "TaskGetCommandRouterAccess", &a.base,
                     &modal__client__task_get_command_router_access_response__descriptor);
    snprintf(g.bearer, sizeof(g.bearer), "authorization: Bearer %s", ar->jwt);
    protobuf_c_message_free_unpacked(&ar->base, NULL);
}

/* One command through each exec API (fixed here, never from the input), waited out. */
static void fixture_execs(void)
{
    char sh[] = "sh", c[] = "-c", cmd[] = "echo fuzz-out; echo fuzz-err >&2";
    char *args[] = {sh, c, cmd};
    snprintf(g.exec_id, sizeof(g.exec_id), "ex-fuzz");
    Modal__TaskCommandRouter__TaskExecStartRequest s =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST__INIT;
    s.task_id = g.task_id;
    s.exec_id = g.exec_id;
    s.n_command_args = 3;
    s.command_args = args;
    protobuf_c_message_free_unpacked(
        call(TCR "TaskExecStart", &s.base,
             &modal__task_command_router__task_exec_start_response__descriptor),
        NULL);
    Modal__TaskCommandRouter__TaskExecWaitRequest w =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_REQUEST__INIT;
    w.task_id = g.task_id;
    w.exec_id = g.exec_id;
    protobuf_c_message_free_unpacked(
        call(TCR "TaskExecWait", &w.base,
             &modal__task_command_router__task_exec_wait_response__descriptor),
        NULL);
    Modal__Client__ContainerExecRequest ce = MODAL__CLIENT__CONTAINER_EXEC_REQUEST__INIT;
    ce.task_id = g.task_id;
    ce.n_command = 3;
    ce.command = args;
    Modal__Client__ContainerExecResponse *cr = (void *)call(
        CP "ContainerExec", &ce.base, &modal__client__container_exec_response__descriptor);
    snprintf(g.container_id, sizeof(g.container_id), "%s", cr->exec_id);
    protobuf_c_message_free_unpacked(&cr->base, NULL);
    Modal__Client__ContainerExecWaitRequest cw = MODAL__CLIENT__CONTAINER_EXEC_WAIT_REQUEST__INIT;
    cw.exec_id = g.container_id;
    cw.timeout = 10;
    protobuf_c_message_free_unpacked(call(CP "ContainerExecWait", &cw.base,
                                          &modal__client__container_exec_wait_response__descriptor),
                                     NULL);
}

static void setup_once(void)
{
    g.mk.h2 = true;
    fz_mock_start(&g.mk, "modal");
    const struct sp_kv *env = sp_mock_env(g.mk.m);
    snprintf(g.token_id, sizeof(g.token_id), "x-modal-token-id: %s",
             sp_kv_get(env, "MODAL_TOKEN_ID"));
    snprintf(g.token_secret, sizeof(g.token_secret), "x-modal-token-secret: %s",
             sp_kv_get(env, "MODAL_TOKEN_SECRET"));
    fixture_app_image_secret();
    fixture_sandbox();
    fixture_execs();
    g.ready = true;
}

/* The fixture's value for an id field of route r, or NULL. */
static const char *fixture_id(const struct route *r, const char *field)
{
    static const char *const names[] = {"app_id", "sandbox_id", "task_id", "image_id", "secret_id"};
    const char *vals[] = {g.app_id, g.sandbox_id, g.task_id, g.image_id, g.secret_id};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(field, names[i]) == 0)
            return vals[i];
    if (strcmp(field, "exec_id") == 0)
        return strncmp(r->path, TCR, strlen(TCR)) == 0 ? g.exec_id : g.container_id;
    return NULL;
}

/* True when id may be written into field fd of m: a plain string, or a oneof (or proto3
 * optional) member whose oneof holds nothing yet or this very field. */
static bool fillable(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
    if (fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    if (fd->quantifier_offset == 0)
        return true;
    uint32_t c = *(const uint32_t *)(const void *)((const char *)m + fd->quantifier_offset);
    return c == 0 || c == fd->id;
}

/* Re-encodes a body that decodes as r's request: empty top-level ids filled in (fill), and
 * every `timeout` held to 1 s. The fields are pointed at our strings only while packing. */
static void rewrite(const struct route *r, ProtobufCMessage *m, bool fill, struct sp_buf *out)
{
    const ProtobufCMessageDescriptor *d = r->desc;
    struct {
        char **slot, *was;
        uint32_t *q, qwas;
    } set[16];
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        void *at = (char *)m + fd->offset;
        if (fd->type == PROTOBUF_C_TYPE_FLOAT && strcmp(fd->name, "timeout") == 0) {
            float *t = at;
            if (*t > 1 || isinf(*t))
                *t = 1;
        }
        const char *id =
            fill && !r->no_fill && n < 16 && fillable(m, fd) ? fixture_id(r, fd->name) : NULL;
        char **s = at;
        if (id && (*s == NULL || **s == '\0')) {
            uint32_t *q = fd->quantifier_offset
                              ? (uint32_t *)(void *)((char *)m + fd->quantifier_offset)
                              : NULL;
            set[n].slot = s;
            set[n].was = *s;
            set[n].q = q;
            set[n].qwas = q ? *q : 0;
            n++;
            *s = (char *)(uintptr_t)id;
            if (q) /* a oneof or proto3 optional: say the field is set */
                *q = fd->id;
        }
    }
    sp_grpc_frame(out, m);
    while (n-- > 0) {
        *set[n].slot = set[n].was;
        if (set[n].q)
            *set[n].q = set[n].qwas;
    }
}

static void terminate(struct fz_mock *fm, const char *id)
{
    (void)fm;
    if (strcmp(id, g.sandbox_id) == 0) /* the fixture, even if its tags were replaced */
        return;
    Modal__Client__SandboxTerminateRequest q = MODAL__CLIENT__SANDBOX_TERMINATE_REQUEST__INIT;
    q.sandbox_id = (char *)(uintptr_t)id;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_grpc_frame(&b, &q.base);
    rpc(CP "SandboxTerminate", b.data, b.len, NULL, NULL);
    sp_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    if (!g.ready)
        setup_once();
    unsigned pick = fz_byte(&f), mode = fz_byte(&f);
    char path[1100];
    struct sp_buf body;
    sp_buf_init(&body, 0);
    const struct route *r = pick < 0xc0 ? &routes[pick % N_ROUTES] : NULL;
    if (r)
        snprintf(path, sizeof(path), "%s", r->path);
    else
        fz_any_path(&f, path, sizeof(path));
    if (mode & 1) {
        unsigned char head[5] = {0, (unsigned char)(f.n >> 24), (unsigned char)(f.n >> 16),
                                 (unsigned char)(f.n >> 8), (unsigned char)f.n};
        sp_buf_append(&body, head, sizeof(head));
    }
    sp_buf_append(&body, f.p, f.n);
    /* What the mock would decode (modal_req_msg): one frame of exactly the body's length. */
    const uint8_t *b = (const uint8_t *)body.data;
    size_t n =
        body.len >= 5 ? (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4] : 0;
    ProtobufCMessage *m = r && body.len >= 5 && b[0] == 0 && n == body.len - 5
                              ? protobuf_c_message_unpack(r->desc, NULL, n, b + 5)
                              : NULL;
    if (m != NULL) {
        sp_buf_reset(&body);
        rewrite(r, m, mode & 2, &body);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    int code = rpc(path, body.data ? body.data : "", body.len, NULL, NULL);
    sp_buf_cleanup(&body);
    FZ_CHECK(code >= 0, "every request gets a gRPC answer (HTTP 200 and a grpc-status)");
    if (fz_mock_sweep_due(&g.mk))
        fz_each_created(&g.mk, "modal", terminate);
    return 0;
}
