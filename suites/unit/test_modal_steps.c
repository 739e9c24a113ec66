/* Unit tests of the Modal provider's configuration and step machines (providers/modal*.c),
 * driven by hand with built gRPC replies, no network: the variables and their errors, the
 * OpenHands create sequence request by request (paths, metadata, the messages' fields), a
 * Trailers-Only UNAUTHENTICATED, a garbage reply, the tunnel that becomes the data plane, and
 * cleanup's terminate-then-wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc.h"
#include "modal_proto/api.pb-c.h"
#include "provider_int.h"
#include "step_fixture.h"

#define URL "http://127.0.0.1:9"

static enum sp_err client_with(const char *mode,
                               const char *id,
                               const char *secret,
                               const char *url,
                               struct sp_client **out,
                               struct sp_error *err)
{
    const char *env[] = {
        "MODAL_TOKEN_ID", id, "MODAL_TOKEN_SECRET", secret, "MODAL_SERVER_URL", url, NULL};
    struct sp_client_opts opts = {.mode = mode, .ready_timeout_ms = 7000};
    return step_fx_client("modal", env, &opts, out, err);
}

static int fx_setup(void **state)
{
    struct sp_client *c = NULL;
    struct sp_error err;
    client_with(NULL, "ak-id", "as-secret", URL "/", &c, &err);
    return step_fx_new(state, c);
}

/* Feeds msg as a gRPC OK reply (msg NULL: the first call) and returns the step's answer. */
static enum sp_next feed(struct step_fx *f, enum sp_step s, const ProtobufCMessage *msg)
{
    sp_step_fn fn = sp__provider_step(f->client->provider, s);
    sp_http_req_reset(&f->req);
    if (msg == NULL)
        return fn(&f->op, NULL, &f->req, &f->op.err);
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = 200;
    sp_kv_add(&f->rsp.headers, "content-type", "application/grpc");
    sp_kv_add(&f->rsp.trailers, "grpc-status", "0");
    assert_int_equal(sp_grpc_frame(&f->rsp.body, msg), 0);
    return fn(&f->op, &f->rsp, &f->req, &f->op.err);
}

/* The request's path after the server URL, checking the gRPC framing on the way. */
static const char *req_path(struct step_fx *f)
{
    const char *u = sp_buf_str(&f->req.url);
    assert_int_equal(strncmp(u, URL "/", strlen(URL) + 1), 0);
    assert_true(f->req.http2);
    assert_string_equal(sp_kv_geti(&f->req.headers, "content-type"), "application/grpc");
    assert_string_equal(sp_kv_geti(&f->req.headers, "te"), "trailers");
    return u + strlen(URL);
}

/* The request's message, unpacked as desc (free it). */
static void *req_msg(struct step_fx *f, const ProtobufCMessageDescriptor *desc)
{
    assert_true(f->req.body.len >= 5);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, f->req.body.len - 5,
                                                    (const uint8_t *)f->req.body.data + 5);
    assert_non_null(m);
    return m;
}

static void test_configure(void **state)
{
    (void)state;
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(client_with(NULL, "ak-id", NULL, NULL, &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"));
    assert_int_equal(client_with(NULL, NULL, "as-secret", NULL, &c, &err), SP_E_CONFIG);
    assert_int_equal(client_with(NULL, "ak-id", "as-s", "ftp://x", &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "MODAL_SERVER_URL"));
    assert_int_equal(client_with("turbo", "ak-id", "as-s", NULL, &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "action-server, direct"));
    assert_int_equal(client_with("direct", "ak-id", "as-s", NULL, &c, &err), SP_E_OK);
    assert_true(sp_client_caps(c) & SP_CAP_STREAM_EXEC);
    assert_false(sp_client_caps(c) & SP_CAP_ACTION_SERVER);
    sp_client_free(c);
    assert_int_equal(client_with(NULL, "ak-id", "as-s", NULL, &c, &err), SP_E_OK);
    assert_true(sp_client_caps(c) & SP_CAP_ACTION_SERVER);
    assert_string_equal(sp_client_session_key(c), "OpenHands_SID");
    sp_client_free(c);
}

static void test_create_sequence(void **state)
{
    struct step_fx *f = *state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "DEBUG", "true");
    struct sp_create_opts o = {.session = "sess-1", .run_id = "r9", .env = &env};
    sp_op_init_create(&f->op, f->client, &o);
    /* AppGetOrCreate "openhands", CREATE_IF_MISSING, with the Python client's metadata. */
    assert_int_equal(feed(f, SP_STEP_CREATE, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/AppGetOrCreate");
    assert_string_equal(sp_kv_geti(&f->req.headers, "x-modal-client-type"), "1");
    assert_string_equal(sp_kv_geti(&f->req.headers, "x-modal-token-id"), "ak-id");
    assert_string_equal(sp_kv_geti(&f->req.headers, "x-modal-token-secret"), "as-secret");
    Modal__Client__AppGetOrCreateRequest *aq =
        req_msg(f, &modal__client__app_get_or_create_request__descriptor);
    assert_string_equal(aq->app_name, "openhands");
    assert_int_equal(aq->object_creation_type, 1);
    protobuf_c_message_free_unpacked(&aq->base, NULL);
    char app[] = "ap-123", img[] = "im-1", sec[] = "st-1", sbid[] = "sb-AAAAAAAAAAAAAAAAAAAAAA";
    Modal__Client__AppGetOrCreateResponse ar = MODAL__CLIENT__APP_GET_OR_CREATE_RESPONSE__INIT;
    ar.app_id = app;
    assert_int_equal(feed(f, SP_STEP_CREATE, &ar.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/EnvironmentGetOrCreate");
    Modal__Client__EnvironmentGetOrCreateResponse er =
        MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_RESPONSE__INIT;
    assert_int_equal(feed(f, SP_STEP_CREATE, &er.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/ImageGetOrCreate");
    Modal__Client__ImageGetOrCreateRequest *iq =
        req_msg(f, &modal__client__image_get_or_create_request__descriptor);
    assert_int_equal(iq->image->n_dockerfile_commands, 1);
    assert_int_equal(strncmp(iq->image->dockerfile_commands[0], "FROM ", 5), 0);
    assert_string_equal(iq->app_id, "ap-123");
    protobuf_c_message_free_unpacked(&iq->base, NULL);
    /* No result yet: the build is joined until it reports SUCCESS. */
    Modal__Client__ImageGetOrCreateResponse ir = MODAL__CLIENT__IMAGE_GET_OR_CREATE_RESPONSE__INIT;
    ir.image_id = img;
    assert_int_equal(feed(f, SP_STEP_CREATE, &ir.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/ImageJoinStreaming");
    Modal__Client__GenericResult ok = MODAL__CLIENT__GENERIC_RESULT__INIT;
    ok.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    Modal__Client__ImageJoinStreamingResponse jr =
        MODAL__CLIENT__IMAGE_JOIN_STREAMING_RESPONSE__INIT;
    jr.result = &ok;
    assert_int_equal(feed(f, SP_STEP_CREATE, &jr.base), SP_NEXT_REQUEST);
    /* The env as an app-owned secret: OpenHands' three variables plus the caller's. */
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SecretGetOrCreate");
    Modal__Client__SecretGetOrCreateRequest *sq =
        req_msg(f, &modal__client__secret_get_or_create_request__descriptor);
    assert_int_equal(sq->object_creation_type, 4);
    assert_int_equal(sq->n_env_dict, 4);
    assert_string_equal(sq->env_dict[0]->key, "port");
    assert_string_equal(sq->env_dict[0]->value, "3000");
    assert_string_equal(sq->env_dict[3]->key, "DEBUG");
    protobuf_c_message_free_unpacked(&sq->base, NULL);
    Modal__Client__SecretGetOrCreateResponse sr =
        MODAL__CLIENT__SECRET_GET_OR_CREATE_RESPONSE__INIT;
    sr.secret_id = sec;
    assert_int_equal(feed(f, SP_STEP_CREATE, &sr.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxCreate");
    Modal__Client__SandboxCreateRequest *cq =
        req_msg(f, &modal__client__sandbox_create_request__descriptor);
    const Modal__Client__Sandbox *d = cq->definition;
    assert_string_equal(cq->app_id, "ap-123");
    assert_string_equal(d->image_id, "im-1");
    assert_int_equal(d->n_secret_ids, 1);
    assert_string_equal(d->secret_ids[0], "st-1");
    assert_int_equal(d->timeout_secs, 3600);
    assert_string_equal(d->workdir, "/openhands/code");
    assert_int_equal(d->open_ports->n_ports, 2);
    assert_int_equal(d->open_ports->ports[0]->port, 3000);
    assert_int_equal(d->open_ports->ports[1]->port, 4445);
    assert_non_null(strstr(d->entrypoint_args[2], "action_execution_server 3000"));
    assert_int_equal(cq->n_tags, 2);
    assert_string_equal(cq->tags[0]->tag_name, "OpenHands_SID");
    assert_string_equal(cq->tags[0]->tag_value, "sess-1");
    assert_string_equal(cq->tags[1]->tag_value, "r9");
    protobuf_c_message_free_unpacked(&cq->base, NULL);
    Modal__Client__SandboxCreateResponse xr = MODAL__CLIENT__SANDBOX_CREATE_RESPONSE__INIT;
    xr.sandbox_id = sbid;
    assert_int_equal(feed(f, SP_STEP_CREATE, &xr.base), SP_NEXT_DONE);
    f->sb = f->op.sandbox;
    assert_string_equal(sp_sandbox_id(f->sb), sbid);
    assert_string_equal(sp_sandbox_session(f->sb), "sess-1");
    step_fx_op_done(f);
    sp_kv_cleanup(&env);
}

static void test_create_errors(void **state)
{
    struct step_fx *f = *state;
    struct sp_create_opts o = {.session = "sess-2"};
    sp_op_init_create(&f->op, f->client, &o);
    feed(f, SP_STEP_CREATE, NULL);
    sp_step_fn fn = sp__provider_step(f->client->provider, SP_STEP_CREATE);
    /* Trailers-Only UNAUTHENTICATED: auth, with the code and the decoded message. */
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = 200;
    sp_kv_add(&f->rsp.headers, "content-type", "application/grpc");
    sp_kv_add(&f->rsp.headers, "grpc-status", "16");
    sp_kv_add(&f->rsp.headers, "grpc-message", "Token%20missing");
    sp_http_req_reset(&f->req);
    assert_int_equal(fn(&f->op, &f->rsp, &f->req, &f->op.err), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_int_equal(f->op.err.grpc_status, 16);
    assert_non_null(strstr(f->op.err.msg, "app lookup"));
    assert_non_null(strstr(f->op.err.msg, "Token missing"));
    step_fx_op_done(f);
    /* A body that is not a protobuf message of the expected type: protocol. */
    sp_op_init_create(&f->op, f->client, &o);
    feed(f, SP_STEP_CREATE, NULL);
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = 200;
    sp_kv_add(&f->rsp.headers, "content-type", "application/grpc");
    sp_kv_add(&f->rsp.trailers, "grpc-status", "0");
    static const unsigned char junk[] = {0, 0, 0, 0, 3, 0x0a, 0x09, 0x41};
    sp_buf_append(&f->rsp.body, junk, sizeof(junk));
    sp_http_req_reset(&f->req);
    assert_int_equal(fn(&f->op, &f->rsp, &f->req, &f->op.err), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    step_fx_op_done(f);
}

/* The tunnel of port 3000 becomes the data plane: https://host[:port], the unencrypted
 * endpoint when there is one; then /alive is polled through it. */
static void test_startup_tunnel(void **state)
{
    struct step_fx *f = *state;
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), "sb-AAAAAAAAAAAAAAAAAAAAAA");
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(feed(f, SP_STEP_STARTUP, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxGetTunnels");
    char host[] = "ta-1-3000.w.modal.host", vhost[] = "ta-1-4445.w.modal.host";
    Modal__Client__TunnelData t1 = MODAL__CLIENT__TUNNEL_DATA__INIT,
                              t2 = MODAL__CLIENT__TUNNEL_DATA__INIT;
    t1.host = vhost;
    t1.port = 443;
    t1.container_port = 4445;
    t2.host = host;
    t2.port = 443;
    t2.container_port = 3000;
    Modal__Client__TunnelData *tp[] = {&t1, &t2};
    Modal__Client__GenericResult ok = MODAL__CLIENT__GENERIC_RESULT__INIT;
    ok.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    Modal__Client__SandboxGetTunnelsResponse tr = MODAL__CLIENT__SANDBOX_GET_TUNNELS_RESPONSE__INIT;
    tr.result = &ok;
    tr.n_tunnels = 2;
    tr.tunnels = tp;
    assert_int_equal(feed(f, SP_STEP_STARTUP, &tr.base), SP_NEXT_REQUEST);
    assert_string_equal(sp_sandbox_data_url(f->sb), "https://ta-1-3000.w.modal.host");
    assert_string_equal(sp_buf_str(&f->req.url), "https://ta-1-3000.w.modal.host/alive");
    step_fx_op_done(f);
    /* A failed sandbox is a state error. */
    sp_op_init_startup(&f->op, f->sb);
    feed(f, SP_STEP_STARTUP, NULL);
    ok.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_FAILURE;
    tr.n_tunnels = 0;
    assert_int_equal(feed(f, SP_STEP_STARTUP, &tr.base), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_STATE);
    step_fx_op_done(f);
}

static void test_cleanup(void **state)
{
    struct step_fx *f = *state;
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), "sb-AAAAAAAAAAAAAAAAAAAAAA");
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_STOP);
    assert_int_equal(feed(f, SP_STEP_CLEANUP, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
    step_fx_op_done(f);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    assert_int_equal(feed(f, SP_STEP_CLEANUP, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxTerminate");
    Modal__Client__SandboxTerminateResponse xr = MODAL__CLIENT__SANDBOX_TERMINATE_RESPONSE__INIT;
    assert_int_equal(feed(f, SP_STEP_CLEANUP, &xr.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxWait");
    Modal__Client__SandboxWaitRequest *wq =
        req_msg(f, &modal__client__sandbox_wait_request__descriptor);
    assert_true(wq->timeout == 0.0f);
    protobuf_c_message_free_unpacked(&wq->base, NULL);
    Modal__Client__GenericResult term = MODAL__CLIENT__GENERIC_RESULT__INIT;
    term.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_TERMINATED;
    Modal__Client__SandboxWaitResponse wr = MODAL__CLIENT__SANDBOX_WAIT_RESPONSE__INIT;
    wr.result = &term;
    assert_int_equal(feed(f, SP_STEP_CLEANUP, &wr.base), SP_NEXT_DONE);
    assert_string_equal(sp_sandbox_state(f->sb), "terminated");
    step_fx_op_done(f);
}

/* MODAL_SANDBOX_V2: 0/1 (false/true) choose the generation; anything else is a config error
 * naming the variable; V2 drives the sandbox calls through their V2 twins. */
static void test_generation_v2(void **state)
{
    struct step_fx *f = *state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "MODAL_TOKEN_ID", "ak-id");
    sp_kv_set(&env, "MODAL_TOKEN_SECRET", "as-s");
    sp_kv_set(&env, "MODAL_SERVER_URL", URL);
    sp_kv_set(&env, "MODAL_SANDBOX_V2", "maybe");
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(sp_client_new("modal", &env, NULL, &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "MODAL_SANDBOX_V2 must be 0 or 1, not 'maybe'"));
    sp_kv_set(&env, "MODAL_SANDBOX_V2", "1");
    assert_int_equal(sp_client_new("modal", &env, NULL, &c, &err), SP_E_OK);
    sp_kv_cleanup(&env);
    assert_true(sp_client_caps(c) & SP_CAP_GENERATIONS);
    assert_true(sp_client_caps(c) & SP_CAP_PORT_TUNNEL);
    sp_client_free(f->client);
    f->client = c;
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), "sb-AAAAAAAAAAAAAAAAAAAAAA");
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    assert_int_equal(feed(f, SP_STEP_CLEANUP, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxTerminateV2");
    Modal__Client__SandboxTerminateResponse xr = MODAL__CLIENT__SANDBOX_TERMINATE_RESPONSE__INIT;
    assert_int_equal(feed(f, SP_STEP_CLEANUP, &xr.base), SP_NEXT_REQUEST);
    assert_string_equal(req_path(f), "/modal.client.ModalClient/SandboxWaitV2");
    step_fx_op_done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generation_v2, fx_setup, step_fx_teardown),
        cmocka_unit_test(test_configure),
        cmocka_unit_test_setup_teardown(test_create_sequence, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_tunnel, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup, fx_setup, step_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
