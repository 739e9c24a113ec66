/* Shared by the Modal mock tests (test_mock_modal*.c): a fixture with an in-process Modal
 * mock and real gRPC calls to it over h2c with prior knowledge (libcurl), built and read with
 * providers/grpc.c, headers and trailers split as the driver splits them. Include after
 * <cmocka.h>; functions are static (each test uses what it needs). */
#ifndef SP_TEST_MOCK_MODAL_GRPC_H
#define SP_TEST_MOCK_MODAL_GRPC_H

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "mock.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

#define CP  "/modal.client.ModalClient/"
#define TCR "/modal.task_command_router.TaskCommandRouter/"

struct fx {
    struct sp_mock *m;
    const char *url, *id, *secret;
    char jwt[512]; /* the router's, once fetched */
};

/* Splits header fields from trailers at the blank line, as the driver does. */
struct hdr_state {
    struct sp_http_rsp *rsp;
    bool done;
};

static inline size_t on_hdr(char *p, size_t size, size_t n, void *user)
{
    struct hdr_state *h = user;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return len;
    if (len <= 2) {
        h->done = true;
        return len;
    }
    char *colon = memchr(p, ':', len);
    if (colon != NULL) {
        char name[128], val[1024];
        snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
        snprintf(val, sizeof val, "%.*s", (int)(len - (size_t)(colon + 1 - p)), colon + 1);
        char *v = val + strspn(val, " ");
        v[strcspn(v, "\r\n")] = '\0';
        sp_kv_add(h->done ? &h->rsp->trailers : &h->rsp->headers, name, v);
    }
    return len;
}

static inline size_t on_data(char *p, size_t size, size_t n, void *user)
{
    sp_buf_append(user, p, size * n);
    return size * n;
}

/* One gRPC call; rsp is initialised here. auth: 0 token pair, 1 router JWT, 2 bad token. */
static inline void call(struct fx *f,
                        const char *path,
                        const ProtobufCMessage *msg,
                        int auth,
                        long timeout_ms,
                        struct sp_http_rsp *rsp)
{
    struct sp_http_req req;
    sp_http_req_init(&req);
    sp_http_rsp_init(rsp);
    assert_int_equal(sp_grpc_request(&req, f->url, path, msg, timeout_ms), 0);
    if (auth == 0 || auth == 2) {
        sp_http_req_header(&req, "x-modal-token-id", "%s", f->id);
        sp_http_req_header(&req, "x-modal-token-secret", "%s", auth == 2 ? "as-wrong" : f->secret);
    } else {
        sp_http_req_header(&req, "authorization", "Bearer %s", f->jwt);
    }
    struct curl_slist *list = NULL;
    char line[2048];
    for (size_t i = 0; i < req.headers.n; i++) {
        snprintf(line, sizeof line, "%s: %s", req.headers.items[i].key, req.headers.items[i].val);
        list = curl_slist_append(list, line);
    }
    CURL *c = curl_easy_init();
    struct hdr_state h = {rsp, false};
    curl_easy_setopt(c, CURLOPT_URL, sp_buf_str(&req.url));
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req.body.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rsp->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    rsp->status = (int)st;
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    sp_http_req_cleanup(&req);
}

/* A unary call that must succeed; returns the reply message (free it). */
static inline void *ok_call(struct fx *f,
                            const char *path,
                            const ProtobufCMessage *msg,
                            int auth,
                            const ProtobufCMessageDescriptor *desc)
{
    struct sp_http_rsp rsp;
    call(f, path, msg, auth, 0, &rsp);
    struct sp_error err;
    sp_error_clear(&err);
    ProtobufCMessage *out = NULL;
    enum sp_err rc = sp_grpc_unary_parse(&rsp, desc, &out, &err);
    if (rc != SP_E_OK)
        fail_msg("%s: %s", path, err.msg);
    sp_http_rsp_cleanup(&rsp);
    return out;
}

/* A unary call that must fail with gRPC status code; returns the class. */
static inline enum sp_err err_call(struct fx *f,
                                   const char *path,
                                   const ProtobufCMessage *msg,
                                   int auth,
                                   long timeout_ms,
                                   int code)
{
    struct sp_http_rsp rsp;
    call(f, path, msg, auth, timeout_ms, &rsp);
    struct sp_error err;
    sp_error_clear(&err);
    ProtobufCMessage *out = NULL;
    enum sp_err rc = sp_grpc_unary_parse(&rsp, &google__protobuf__empty__descriptor, &out, &err);
    assert_int_not_equal(rc, SP_E_OK);
    assert_int_equal(err.grpc_status, code);
    sp_http_rsp_cleanup(&rsp);
    return rc;
}

static inline int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = "modal", .has_latency = true, .quiet = true};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    const struct sp_kv *env = sp_mock_env(f->m);
    f->url = sp_kv_get(env, "MODAL_SERVER_URL");
    f->id = sp_kv_get(env, "MODAL_TOKEN_ID");
    f->secret = sp_kv_get(env, "MODAL_TOKEN_SECRET");
    assert_non_null(f->url);
    assert_non_null(f->id);
    assert_non_null(f->secret);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    sp_mock_stop(f->m);
    free(f);
    return 0;
}

static inline char *make_app(struct fx *f)
{
    char name[] = "sandprobe-test";
    Modal__Client__AppGetOrCreateRequest a = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    a.app_name = name;
    a.object_creation_type = 1;
    Modal__Client__AppGetOrCreateResponse *r = ok_call(
        f, CP "AppGetOrCreate", &a.base, 0, &modal__client__app_get_or_create_response__descriptor);
    char *id = strdup(r->app_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return id;
}

/* SecretGetOrCreate of one variable (object_creation_type how); the secret's id, malloc'd. */
static inline char *make_secret(struct fx *f, const char *key, const char *value, int how)
{
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry e =
        MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__ENV_DICT_ENTRY__INIT;
    e.key = (char *)(uintptr_t)key;
    e.value = (char *)(uintptr_t)value;
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry *ep[] = {&e};
    Modal__Client__SecretGetOrCreateRequest q = MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__INIT;
    q.n_env_dict = 1;
    q.env_dict = ep;
    q.object_creation_type = how;
    Modal__Client__SecretGetOrCreateResponse *r =
        ok_call(f, CP "SecretGetOrCreate", &q.base, 0,
                &modal__client__secret_get_or_create_response__descriptor);
    char *id = strdup(r->secret_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return id;
}

/* SandboxGetTaskId: the task id of a sandbox, malloc'd. */
static inline char *task_id_of(struct fx *f, const char *sandbox_id)
{
    Modal__Client__SandboxGetTaskIdRequest q = MODAL__CLIENT__SANDBOX_GET_TASK_ID_REQUEST__INIT;
    q.sandbox_id = (char *)(uintptr_t)sandbox_id;
    Modal__Client__SandboxGetTaskIdResponse *r =
        ok_call(f, CP "SandboxGetTaskId", &q.base, 0,
                &modal__client__sandbox_get_task_id_response__descriptor);
    char *id = strdup(r->task_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return id;
}

/* SandboxCreate (V1) in app with def: the sandbox's id, malloc'd. */
static inline char *create_v1(struct fx *f, const char *app, Modal__Client__Sandbox *def)
{
    Modal__Client__SandboxCreateRequest q = MODAL__CLIENT__SANDBOX_CREATE_REQUEST__INIT;
    q.app_id = (char *)(uintptr_t)app;
    q.definition = def;
    Modal__Client__SandboxCreateResponse *r = ok_call(
        f, CP "SandboxCreate", &q.base, 0, &modal__client__sandbox_create_response__descriptor);
    char *id = strdup(r->sandbox_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return id;
}

#endif
