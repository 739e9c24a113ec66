/* Unit tests of the Modal mock (mocks/modal*.c) over the core's HTTP/2 transport
 * (mocks/h2server.c): real gRPC calls over h2c with prior knowledge (libcurl), built and read
 * with providers/grpc.c. Covers the token check on every call, AuthTokenGet's JWT, app lookup,
 * unknown methods, the V1 and V2 sandbox lifecycles with exec through the task command router
 * (stdout, stderr, exit code, env from every field), list by tags, wait and terminate,
 * grpc-timeout, and the tunnel to the action-server mock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "grpc.h"
#include "mock.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

#include "mock_http.h"
#include "mock_modal_grpc.h"

static void test_auth_and_token(void **state)
{
    struct fx *f = *state;
    Modal__Client__AuthTokenGetRequest q = MODAL__CLIENT__AUTH_TOKEN_GET_REQUEST__INIT;
    assert_int_equal(err_call(f, CP "AuthTokenGet", &q.base, 2, 0, 16), SP_E_AUTH);
    Modal__Client__AuthTokenGetResponse *t = ok_call(
        f, CP "AuthTokenGet", &q.base, 0, &modal__client__auth_token_get_response__descriptor);
    int dots = 0;
    for (const char *p = t->token; *p; p++)
        dots += *p == '.';
    assert_int_equal(dots, 2);
    assert_null(strchr(t->token, '='));
    protobuf_c_message_free_unpacked(&t->base, NULL);
    /* Every call checks the token, and an unknown method is UNIMPLEMENTED. */
    Modal__Client__AppGetOrCreateRequest a = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    assert_int_equal(err_call(f, CP "AppGetOrCreate", &a.base, 2, 0, 16), SP_E_AUTH);
    assert_int_equal(err_call(f, CP "NoSuchMethod", &a.base, 0, 0, 12), SP_E_UNSUPPORTED);
}

/* The fault admin endpoint over h2c with the Modal token pair (the Modal mock speaks only
 * h2c): the status, with the body in out. */
static long
admin(struct fx *f, const char *method, const char *body, const char *secret, struct rsp *out)
{
    char url[256], id[160], sec[160];
    snprintf(url, sizeof(url), "%s/_sandprobe/faults", f->url);
    snprintf(id, sizeof(id), "x-modal-token-id: %s", f->id);
    snprintf(sec, sizeof(sec), "x-modal-token-secret: %s", secret);
    const char *const headers[] = {id, sec, "content-type: application/json", NULL};
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = headers,
                         .body = body,
                         .len = body ? strlen(body) : 0,
                         .h2c = true};
    assert_int_equal(http_perform(&q, out), CURLE_OK);
    return out->status;
}

/* A wrong secret is refused the Modal way (a gRPC UNAUTHENTICATED status, so no listing and
 * nothing armed); the right pair lists, arms and clears faults. */
static void test_fault_admin_with_modal_tokens(void **state)
{
    struct fx *f = *state;
    static const char spec[] = "{\"fault\": \"POST /** 503 plane=api\"}";
    struct rsp r;
    rsp_init(&r);
    admin(f, "GET", NULL, "as-wrong", &r);
    assert_null(strstr(sp_buf_str(&r.body), "\"faults\""));
    admin(f, "POST", spec, "as-wrong", &r);
    assert_int_equal(admin(f, "GET", NULL, f->secret, &r), 200);
    assert_null(strstr(sp_buf_str(&r.body), "POST /** 503")); /* the refused POST armed nothing */
    assert_int_equal(admin(f, "POST", spec, f->secret, &r), 201);
    assert_non_null(strstr(sp_buf_str(&r.body), "\"ids\""));
    assert_int_equal(admin(f, "GET", NULL, f->secret, &r), 200);
    assert_non_null(strstr(sp_buf_str(&r.body), "POST /** 503 plane=api"));
    assert_int_equal(admin(f, "DELETE", NULL, f->secret, &r), 204);
    assert_int_equal(admin(f, "GET", NULL, f->secret, &r), 200);
    assert_null(strstr(sp_buf_str(&r.body), "POST /** 503"));
    rsp_free(&r);
}

static void test_apps(void **state)
{
    struct fx *f = *state;
    char name[] = "openhands";
    Modal__Client__AppGetOrCreateRequest a = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    a.app_name = name;
    assert_int_equal(err_call(f, CP "AppGetOrCreate", &a.base, 0, 0, 5), SP_E_NOT_FOUND);
    a.object_creation_type = 1;
    Modal__Client__AppGetOrCreateResponse *r1 = ok_call(
        f, CP "AppGetOrCreate", &a.base, 0, &modal__client__app_get_or_create_response__descriptor);
    a.object_creation_type = 0; /* now it exists: a plain lookup finds it */
    Modal__Client__AppGetOrCreateResponse *r2 = ok_call(
        f, CP "AppGetOrCreate", &a.base, 0, &modal__client__app_get_or_create_response__descriptor);
    assert_int_equal(strncmp(r1->app_id, "ap-", 3), 0);
    assert_string_equal(r1->app_id, r2->app_id);
    protobuf_c_message_free_unpacked(&r1->base, NULL);
    protobuf_c_message_free_unpacked(&r2->base, NULL);
}
static bool is_v1_id(const char *id)
{
    if (strncmp(id, "sb-", 3) != 0 || strlen(id) != 25)
        return false;
    for (const char *p = id + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

/* Reads one stdio stream of an exec to its end. */
static void read_stdio(struct fx *f, const char *task, const char *exec, int fd, struct sp_buf *out)
{
    Modal__TaskCommandRouter__TaskExecStdioReadRequest q =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_REQUEST__INIT;
    q.task_id = (char *)(uintptr_t)task;
    q.exec_id = (char *)(uintptr_t)exec;
    q.file_descriptor = fd;
    struct sp_http_rsp rsp;
    call(f, TCR "TaskExecStdioRead", &q.base, 1, 0, &rsp);
    struct sp_grpc_stream s;
    sp_grpc_stream_init(&s, &modal__task_command_router__task_exec_stdio_read_response__descriptor,
                        NULL, NULL, 0);
    struct sp_error err;
    sp_error_clear(&err);
    /* Collect through the raw parse: each message's data appended. */
    size_t off = 0;
    const unsigned char *b = (const unsigned char *)rsp.body.data;
    while (off + 5 <= rsp.body.len) {
        size_t n = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 |
                   b[off + 4];
        Modal__TaskCommandRouter__TaskExecStdioReadResponse *m = (void *)protobuf_c_message_unpack(
            &modal__task_command_router__task_exec_stdio_read_response__descriptor, NULL, n,
            b + off + 5);
        assert_non_null(m);
        sp_buf_append(out, m->data.data, m->data.len);
        protobuf_c_message_free_unpacked(&m->base, NULL);
        off += 5 + n;
    }
    assert_int_equal(off, rsp.body.len);
    assert_int_equal(sp_grpc_stream_finish(&s, &rsp, &err), SP_E_OK);
    sp_grpc_stream_cleanup(&s);
    sp_http_rsp_cleanup(&rsp);
}

/* A one-element secret_sources list holding key=value in an env map, as the 0.11 SDKs send
 * env. It points into itself: keep it alive while the request is used. */
struct env_source {
    Modal__Client__StringMap__ContentsEntry entry;
    Modal__Client__StringMap__ContentsEntry *entries[1];
    Modal__Client__StringMap map;
    Modal__Client__SecretSource src;
    Modal__Client__SecretSource *list[1];
};

static void env_source(struct env_source *e, const char *key, const char *value)
{
    Modal__Client__StringMap__ContentsEntry entry = MODAL__CLIENT__STRING_MAP__CONTENTS_ENTRY__INIT;
    Modal__Client__StringMap map = MODAL__CLIENT__STRING_MAP__INIT;
    Modal__Client__SecretSource src = MODAL__CLIENT__SECRET_SOURCE__INIT;
    e->entry = entry;
    e->entry.key = (char *)(uintptr_t)key;
    e->entry.value = (char *)(uintptr_t)value;
    e->entries[0] = &e->entry;
    e->map = map;
    e->map.n_contents = 1;
    e->map.contents = e->entries;
    e->src = src;
    e->src.env = &e->map;
    e->list[0] = &e->src;
}

/* A definition's open_ports holding one port. It points into itself: keep it alive while
 * the request is used. */
struct open_port {
    Modal__Client__PortSpec spec;
    Modal__Client__PortSpec *list[1];
    Modal__Client__PortSpecs specs;
};

static void open_port(struct open_port *p, uint32_t port)
{
    Modal__Client__PortSpec spec = MODAL__CLIENT__PORT_SPEC__INIT;
    Modal__Client__PortSpecs specs = MODAL__CLIENT__PORT_SPECS__INIT;
    p->spec = spec;
    p->spec.port = port;
    p->list[0] = &p->spec;
    p->specs = specs;
    p->specs.n_ports = 1;
    p->specs.ports = p->list;
}

static void exec_check(struct fx *f, const char *task, bool v2)
{
    char exec_id[] = "ex-1", sh[] = "sh", c[] = "-c";
    char script[] = "echo out; echo err >&2; echo \"$FOO-$SBENV-$SRC\"; exit 3";
    char *args[] = {sh, c, script};
    char k1[] = "FOO", v1[] = "foo";
    Modal__TaskCommandRouter__TaskExecStartRequest__EnvEntry e1 =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST__ENV_ENTRY__INIT;
    e1.key = k1;
    e1.value = v1;
    Modal__TaskCommandRouter__TaskExecStartRequest__EnvEntry *envp[] = {&e1};
    struct env_source src;
    env_source(&src, "SRC", "src");
    Modal__TaskCommandRouter__TaskExecStartRequest q =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST__INIT;
    q.task_id = (char *)(uintptr_t)task;
    q.exec_id = exec_id;
    q.n_command_args = 3;
    q.command_args = args;
    q.stdout_config = 1;
    q.stderr_config = 1;
    q.n_env = 1;
    q.env = envp;
    if (v2) { /* 0.11.1 sends env as secret_sources (field 13) */
        q.n_secret_sources = 1;
        q.secret_sources = src.list;
    }
    assert_int_equal(err_call(f, TCR "TaskExecStart", &q.base, 2, 0, 16), SP_E_AUTH);
    ProtobufCMessage *st =
        ok_call(f, TCR "TaskExecStart", &q.base, 1,
                &modal__task_command_router__task_exec_start_response__descriptor);
    protobuf_c_message_free_unpacked(st, NULL);
    struct sp_buf out, errb;
    sp_buf_init(&out, 0);
    sp_buf_init(&errb, 0);
    read_stdio(f, task, exec_id, 0, &out);
    read_stdio(f, task, exec_id, 1, &errb);
    assert_string_equal(sp_buf_str(&out), v2 ? "out\nfoo-sandbox-src\n" : "out\nfoo-sandbox-\n");
    assert_string_equal(sp_buf_str(&errb), "err\n");
    Modal__TaskCommandRouter__TaskExecWaitRequest w =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_REQUEST__INIT;
    w.task_id = q.task_id;
    w.exec_id = exec_id;
    Modal__TaskCommandRouter__TaskExecWaitResponse *wr =
        ok_call(f, TCR "TaskExecWait", &w.base, 1,
                &modal__task_command_router__task_exec_wait_response__descriptor);
    assert_int_equal(wr->code, 3);
    protobuf_c_message_free_unpacked(&wr->base, NULL);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&errb);
}

static void router_jwt(struct fx *f, const char *task)
{
    Modal__Client__TaskGetCommandRouterAccessRequest q =
        MODAL__CLIENT__TASK_GET_COMMAND_ROUTER_ACCESS_REQUEST__INIT;
    q.task_id = (char *)(uintptr_t)task;
    Modal__Client__TaskGetCommandRouterAccessResponse *r =
        ok_call(f, CP "TaskGetCommandRouterAccess", &q.base, 0,
                &modal__client__task_get_command_router_access_response__descriptor);
    assert_int_equal(strncmp(r->url, "https://127.0.0.1:", 18), 0);
    snprintf(f->jwt, sizeof f->jwt, "%s", r->jwt);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static size_t list_count(struct fx *f, const char *app, const char *tag_value, bool finished)
{
    char k[] = "owner";
    Modal__Client__SandboxTag tag = MODAL__CLIENT__SANDBOX_TAG__INIT;
    tag.tag_name = k;
    tag.tag_value = (char *)(uintptr_t)tag_value;
    Modal__Client__SandboxTag *tp[] = {&tag};
    Modal__Client__SandboxListRequest q = MODAL__CLIENT__SANDBOX_LIST_REQUEST__INIT;
    q.app_id = (char *)(uintptr_t)app;
    q.include_finished = finished;
    q.n_tags = 1;
    q.tags = tp;
    Modal__Client__SandboxListResponse *r =
        ok_call(f, CP "SandboxList", &q.base, 0, &modal__client__sandbox_list_response__descriptor);
    size_t n = r->n_sandboxes;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return n;
}

static int wait_status(struct fx *f, const char *id)
{
    Modal__Client__SandboxWaitRequest q = MODAL__CLIENT__SANDBOX_WAIT_REQUEST__INIT;
    q.sandbox_id = (char *)(uintptr_t)id;
    Modal__Client__SandboxWaitResponse *r =
        ok_call(f, CP "SandboxWait", &q.base, 0, &modal__client__sandbox_wait_response__descriptor);
    int st = r->result ? (int)r->result->status : 0;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return st;
}

static void test_v1_lifecycle(void **state)
{
    struct fx *f = *state;
    char *app = make_app(f);
    /* Sandbox env through an app secret (SecretGetOrCreate + definition.secret_ids). */
    char *sid[] = {make_secret(f, "SBENV", "sandbox", 4)};
    char sleep_[] = "sleep", h[] = "48h", tn[] = "owner", tv[] = "t1";
    char *argv[] = {sleep_, h};
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    def.n_entrypoint_args = 2;
    def.entrypoint_args = argv;
    def.n_secret_ids = 1;
    def.secret_ids = sid;
    def.timeout_secs = 3600;
    Modal__Client__SandboxTag tag = MODAL__CLIENT__SANDBOX_TAG__INIT;
    tag.tag_name = tn;
    tag.tag_value = tv;
    Modal__Client__SandboxTag *tp[] = {&tag};
    Modal__Client__SandboxCreateRequest cq = MODAL__CLIENT__SANDBOX_CREATE_REQUEST__INIT;
    cq.app_id = app;
    cq.definition = &def;
    cq.n_tags = 1;
    cq.tags = tp;
    Modal__Client__SandboxCreateResponse *cr = ok_call(
        f, CP "SandboxCreate", &cq.base, 0, &modal__client__sandbox_create_response__descriptor);
    assert_true(is_v1_id(cr->sandbox_id));
    char *task = task_id_of(f, cr->sandbox_id);
    assert_int_equal(strncmp(task, "ta-", 3), 0);
    router_jwt(f, task);
    exec_check(f, task, false);
    assert_int_equal(list_count(f, app, "t1", false), 1);
    assert_int_equal(list_count(f, app, "other", false), 0);
    assert_int_equal(wait_status(f, cr->sandbox_id), 0); /* still running */
    Modal__Client__SandboxTerminateRequest xq = MODAL__CLIENT__SANDBOX_TERMINATE_REQUEST__INIT;
    xq.sandbox_id = cr->sandbox_id;
    protobuf_c_message_free_unpacked(
        ok_call(f, CP "SandboxTerminate", &xq.base, 0,
                &modal__client__sandbox_terminate_response__descriptor),
        NULL);
    assert_int_equal(wait_status(f, cr->sandbox_id), 3); /* TERMINATED */
    assert_int_equal(list_count(f, app, "t1", false), 0);
    assert_int_equal(list_count(f, app, "t1", true), 1);
    char unknown[] = "sb-AAAAAAAAAAAAAAAAAAAAAA";
    xq.sandbox_id = unknown;
    assert_int_equal(err_call(f, CP "SandboxTerminate", &xq.base, 0, 0, 5), SP_E_NOT_FOUND);
    free(task);
    protobuf_c_message_free_unpacked(&cr->base, NULL);
    free(sid[0]);
    free(app);
}

/* A wait longer than the client's grpc-timeout is cut short with DEADLINE_EXCEEDED. */
static void test_wait_deadline(void **state)
{
    struct fx *f = *state;
    char *app = make_app(f);
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    char *id = create_v1(f, app, &def);
    Modal__Client__SandboxWaitRequest wq = MODAL__CLIENT__SANDBOX_WAIT_REQUEST__INIT;
    wq.sandbox_id = id;
    wq.timeout = 30;
    assert_int_equal(err_call(f, CP "SandboxWait", &wq.base, 0, 200, 4), SP_E_TIMEOUT);
    free(id);
    free(app);
}

static void test_v2_lifecycle(void **state)
{
    struct fx *f = *state;
    char *app = make_app(f);
    struct env_source src;
    env_source(&src, "SBENV", "sandbox");
    struct open_port port;
    open_port(&port, 3000);
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    def.open_ports_oneof_case = MODAL__CLIENT__SANDBOX__OPEN_PORTS_ONEOF_OPEN_PORTS;
    def.open_ports = &port.specs;
    Modal__Client__SandboxCreateV2Request cq = MODAL__CLIENT__SANDBOX_CREATE_V2_REQUEST__INIT;
    cq.app_id = app;
    cq.definition = &def;
    cq.n_secret_sources = 1;
    cq.secret_sources = src.list;
    Modal__Client__SandboxCreateV2Response *cr =
        ok_call(f, CP "SandboxCreateV2", &cq.base, 0,
                &modal__client__sandbox_create_v2_response__descriptor);
    assert_int_equal(strncmp(cr->sandbox_id, "sb-", 3), 0);
    assert_false(is_v1_id(cr->sandbox_id));
    assert_non_null(cr->command_router_access);
    assert_int_equal(cr->n_tunnels, 1);
    assert_int_equal(cr->tunnels[0]->container_port, 3000);
    snprintf(f->jwt, sizeof f->jwt, "%s", cr->command_router_access->jwt);
    exec_check(f, cr->task_id, true);
    Modal__Client__SandboxTerminateRequest xq = MODAL__CLIENT__SANDBOX_TERMINATE_REQUEST__INIT;
    xq.sandbox_id = cr->sandbox_id;
    protobuf_c_message_free_unpacked(
        ok_call(f, CP "SandboxTerminateV2", &xq.base, 0,
                &modal__client__sandbox_terminate_response__descriptor),
        NULL);
    protobuf_c_message_free_unpacked(&cr->base, NULL);
    free(app);
}

/* OpenHands' server entrypoint is claimed by the action-server mock behind the tunnel. */
static void test_tunnel_to_action_server(void **state)
{
    struct fx *f = *state;
    char *app = make_app(f);
    char a0[] = "/openhands/micromamba/bin/micromamba", a1[] = "run", a2[] = "-n",
         a3[] = "openhands", a4[] = "poetry", a5[] = "run", a6[] = "python", a7[] = "-u",
         a8[] = "-m", a9[] = "openhands.runtime.action_execution_server", a10[] = "3000",
         a11[] = "--working-dir", a12[] = "/workspace";
    char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12};
    struct open_port port;
    open_port(&port, 3000);
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    def.n_entrypoint_args = 13;
    def.entrypoint_args = argv;
    def.open_ports_oneof_case = MODAL__CLIENT__SANDBOX__OPEN_PORTS_ONEOF_OPEN_PORTS;
    def.open_ports = &port.specs;
    char *id = create_v1(f, app, &def);
    Modal__Client__SandboxGetTunnelsRequest tq = MODAL__CLIENT__SANDBOX_GET_TUNNELS_REQUEST__INIT;
    tq.sandbox_id = id;
    tq.timeout = 50;
    Modal__Client__SandboxGetTunnelsResponse *tr =
        ok_call(f, CP "SandboxGetTunnels", &tq.base, 0,
                &modal__client__sandbox_get_tunnels_response__descriptor);
    assert_int_equal(tr->n_tunnels, 1);
    assert_int_equal(tr->tunnels[0]->container_port, 3000);
    /* https://<host>:<port>, verified against the mock's CA, the host resolved to loopback. */
    char url[256], host[256];
    snprintf(url, sizeof url, "https://%s:%u/alive", tr->tunnels[0]->host, tr->tunnels[0]->port);
    snprintf(host, sizeof host, "%s:%u:127.0.0.1", tr->tunnels[0]->host, tr->tunnels[0]->port);
    assert_false(tr->tunnels[0]->_unencrypted_host_case); /* TLS only, as asked */
    const char *ca = sp_kv_get(sp_mock_env(f->m), "SSL_CERT_FILE");
    long status = 0;
    for (int i = 0; i < 100 && status != 200; i++) { /* the server comes up after a delay */
        CURL *c = curl_easy_init();
        struct curl_slist *l = curl_slist_append(NULL, host);
        struct sp_buf body;
        sp_buf_init(&body, 0);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_RESOLVE, l);
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(l);
        curl_easy_cleanup(c);
        sp_buf_cleanup(&body);
        if (status != 200) {
            struct timespec ts = {0, 50000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(status, 200);
    protobuf_c_message_free_unpacked(&tr->base, NULL);
    free(id);
    free(app);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_admin_with_modal_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tunnel_to_action_server, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
