/* The Modal provider's internals (providers/modal*.c): configuration, the gRPC call helpers
 * and the step machines shared between files. spec/runloop-modal.md Part M is the reference. */
#ifndef SP_MODAL_H
#define SP_MODAL_H

#include <protobuf-c/protobuf-c.h>

#include "grpc.h"
#include "provider_int.h"

#define MODAL_DEFAULT_URL   "https://api.modal.com"
#define MODAL_APP_NAME      "openhands" /* ModalRuntime's app (M5 a) */
#define MODAL_SESSION_KEY   "OpenHands_SID"
#define MODAL_SERVER_PORT   3000 /* ModalRuntime's container port for the action server */
#define MODAL_VSCODE_PORT   4445
#define MODAL_WORKDIR       "/openhands/code"
#define MODAL_TIMEOUT_SECS  3600
#define MODAL_DEFAULT_IMAGE "docker.all-hands.dev/all-hands-ai/runtime:0.51-nikolaik"
#define MODAL_CP            "/modal.client.ModalClient/"
#define MODAL_TCR           "/modal.task_command_router.TaskCommandRouter/"

enum modal_mode { MODAL_MODE_ACTION_SERVER, MODAL_MODE_DIRECT };

struct modal_cfg {
    char server_url[384]; /* no trailing slash */
    char *token_id, *token_secret;
    enum modal_mode mode;
};

/* A sandbox's Modal handle (sp_sandbox.priv). */
struct modal_sb {
    char task_id[64];
    char router_url[256]; /* http(s)://host:port of the task command router */
    char *router_jwt;
};

/* Fills req for a control-plane call (token pair, the Python client's metadata, M3).
 * Returns SP_NEXT_REQUEST, or SP_NEXT_FAIL with err set. */
enum sp_next sp__modal_call(const struct modal_cfg *cfg,
                            struct sp_http_req *req,
                            const char *method,
                            const ProtobufCMessage *msg,
                            long timeout_ms,
                            struct sp_error *err);
/* Fills req for a task command router call (Bearer JWT of sb). */
enum sp_next sp__modal_router_call(const struct modal_sb *ms,
                                   struct sp_http_req *req,
                                   const char *method,
                                   const ProtobufCMessage *msg,
                                   long timeout_ms,
                                   struct sp_error *err);
/* Reads a unary reply as desc; prefixes errors with `what`. Returns SP_E_OK and *out. */
enum sp_err sp__modal_reply(const struct sp_http_rsp *rsp,
                            const ProtobufCMessageDescriptor *desc,
                            void *out,
                            const char *what,
                            struct sp_error *err);

/* Runs one command through the task command router (modal_exec.c): begin fills the first
 * request (allocating *run when NULL, reusing it otherwise), step consumes each reply until
 * SP_NEXT_DONE with x's exit code and output. An op using it keeps a struct modal_op_ctx
 * (or a struct starting with one) in op->ctx, so streamed stdio finds its run. */
struct modal_run;
struct modal_op_ctx {
    struct modal_run *run;
};
enum sp_next sp__modal_run_begin(struct sp_op *op,
                                 struct modal_run **run,
                                 struct sp_exec *x,
                                 struct sp_http_req *req,
                                 struct sp_error *err);
enum sp_next sp__modal_run_step(struct sp_op *op,
                                struct modal_run *run,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err);
void sp__modal_run_free(struct modal_run *run);
enum sp_next sp__modal_direct_files(struct sp_op *op,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_http_req *req,
                                    struct sp_error *err);

enum sp_next sp__modal_startup(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err);
enum sp_next sp__modal_direct_exec(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err);

#endif
