/* The Modal mock's shared parts (mocks/modal*.c): gRPC request and reply helpers over the
 * core's request/reply API, the vendor state and the per-sandbox data. spec/runloop-modal.md
 * Part M is the reference for every message and behaviour. */
#ifndef SP_MOCK_MODAL_INT_H
#define SP_MOCK_MODAL_INT_H

#include <protobuf-c/protobuf-c.h>

#include "mock_int.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

/* gRPC status numbers the mock answers with. */
enum {
    MODAL_OK = 0,
    MODAL_UNKNOWN = 2,
    MODAL_INVALID_ARGUMENT = 3,
    MODAL_DEADLINE_EXCEEDED = 4,
    MODAL_NOT_FOUND = 5,
    MODAL_PERMISSION_DENIED = 7,
    MODAL_FAILED_PRECONDITION = 9,
    MODAL_UNIMPLEMENTED = 12,
    MODAL_INTERNAL = 13,
    MODAL_UNAVAILABLE = 14,
    MODAL_UNAUTHENTICATED = 16
};

/* One command run in a sandbox (modal_exec.c); its output is kept whole. */
struct modal_exec {
    char id[128];
    struct mock_proc *proc;
    struct sp_buf out[2]; /* stdout, stderr */
    bool exited;
    int code;
    int64_t deadline_ms; /* timeout_secs; 0 = none */
    pthread_t thread;
    struct modal_sb *ms;
    struct modal_exec *next;
};

/* What to run: the router's TaskExecStart and the legacy ContainerExec both come to this. */
struct modal_exec_spec {
    const char *id;
    char **args;
    size_t n_args;
    const char *workdir;   /* NULL = /root */
    uint32_t timeout_secs; /* 0 = none */
    char **secret_ids;
    size_t n_secret_ids;
    const struct sp_kv *extra; /* env set directly, after the sandbox's and the secrets' */
};

/* The vendor state (mock_vendor_data). */
struct modal_state {
    pthread_mutex_t lock;      /* apps, tasks, secrets; before the store lock */
    char token_id[32];         /* "ak-" + 22 base62; the secret is the mock's key */
    char router_jwt[512];      /* the JWT of the task command router */
    struct sp_kv apps;         /* app name -> app id */
    struct sp_kv tasks;        /* task id -> sandbox id */
    struct sp_kv secrets;      /* secret id -> "KEY=VALUE\n..." */
    struct mock_http *tunnels; /* HTTPS listener of the tunnels, started on first use */
    unsigned tunnel_port;
    struct mock_tls *tls; /* the tunnels' CA and certificate, made at start */
};

/* Tunnel hosts are "<port>-<sandbox id>." MODAL_TUNNEL_DOMAIN: one wildcard certificate
 * covers them (a wildcard right below the top-level label is refused by Node and OpenSSL). */
#define MODAL_TUNNEL_DOMAIN "tunnel.localhost"

/* The port of the tunnel listener (started on first call), or 0 when it cannot listen. */
/* The label of a tunnel host for sandbox id (lowercase hex of the id). */
void modal_host_label(const char *id, char *out, size_t len);
unsigned modal_tunnel_port(struct mock_req *r);

/* A sandbox's Modal data (mock_sandbox.vendor). */
#define MODAL_MAX_PORTS 8
struct modal_sb {
    char app_id[32], task_id[32], image_id[32];
    bool v2;
    bool terminated;
    unsigned ports[MODAL_MAX_PORTS];
    int n_ports;
    pthread_mutex_t lock; /* execs and their output */
    pthread_cond_t cond;  /* new output or an exit */
    struct modal_exec *execs;
};

struct modal_state *modal_state(struct mock_req *r);

/* The request message: the body must be one uncompressed gRPC message of type desc. On
 * error replies INVALID_ARGUMENT and returns NULL. Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *modal_req_msg(struct mock_req *r, const ProtobufCMessageDescriptor *desc);
/* Replies with one message and grpc-status 0 in the trailers. */
void modal_reply_msg(struct mock_req *r, const ProtobufCMessage *msg);
/* A Trailers-Only error reply. */
void modal_reply_status(struct mock_req *r, int code, const char *message);

/* Random ids: prefix + n base62 characters, or n lowercase Crockford base32 ones. */
void modal_id62(struct mock_req *r, const char *prefix, size_t n, char *out, size_t outlen);
void modal_id32(struct mock_req *r, const char *prefix, size_t n, char *out, size_t outlen);

/* Looks a sandbox up by id (referenced), or replies NOT_FOUND and returns NULL. */
struct mock_sandbox *modal_sandbox(struct mock_req *r, const char *id);
/* The sandbox of a task id (referenced), or NULL. */
struct mock_sandbox *modal_task_sandbox(struct mock_req *r, const char *task_id);
/* The env of a secret id into env. Returns false when unknown. */
bool modal_secret_env(struct mock_req *r, const char *id, struct sp_kv *env);

/* Control-plane handlers (modal_sandbox.c). */
void modal_sandbox_create(struct mock_req *r);
void modal_sandbox_create_v2(struct mock_req *r);
void modal_sandbox_get_task_id(struct mock_req *r);
void modal_sandbox_get_tunnels(struct mock_req *r);
void modal_sandbox_wait(struct mock_req *r);
void modal_sandbox_terminate(struct mock_req *r);
void modal_sandbox_list(struct mock_req *r);
void modal_sandbox_tags_set(struct mock_req *r);
void modal_task_router_access(struct mock_req *r);
void modal_sandbox_router_access(struct mock_req *r);

/* Task command router handlers (modal_exec.c). */
void modal_exec_start(struct mock_req *r);
void modal_exec_stdio_read(struct mock_req *r);
void modal_exec_wait(struct mock_req *r);
void modal_exec_poll(struct mock_req *r);
/* Starts x in sb (shell backend). Returns 0, or -1 after replying with the error. */
int modal_exec_launch(struct mock_req *r, struct mock_sandbox *sb, const struct modal_exec_spec *x);
/* The exec of a sandbox by id, or NULL (call under ms->lock). */
struct modal_exec *modal_exec_find(struct modal_sb *ms, const char *id);
/* Called with ms->lock held, for a streamed output read: waits up to wait_ms for e's output
 * fd to pass offset or for the exit, the lock released meanwhile. -1 (the lock released)
 * when the client has gone. */
int modal_exec_await(struct mock_req *r,
                     struct modal_sb *ms,
                     const struct modal_exec *e,
                     int fd,
                     uint64_t offset,
                     long wait_ms);
/* Answers a wait with reply once e has exited or until_us has passed, looking every 10 ms
 * (a timer, not a parked thread); at once when it has already exited. Takes over sb's
 * reference. reply is called without ms->lock. */
void modal_exec_wait_for(struct mock_req *r,
                         struct mock_sandbox *sb,
                         struct modal_exec *e,
                         int64_t until_us,
                         void (*reply)(struct mock_req *r, struct modal_exec *e));
/* The legacy exec RPCs (modal_container_exec.c): ContainerExec, ContainerExecGetOutput,
 * ContainerExecWait, as Python 1.1 and JS <= 0.6 run commands. */
void modal_container_exec(struct mock_req *r);
void modal_container_exec_output(struct mock_req *r);
void modal_container_exec_wait(struct mock_req *r);
/* Kills and frees a sandbox's execs (on terminate and when the sandbox is dropped). */
void modal_execs_kill(struct modal_sb *ms);
void modal_execs_free(struct modal_sb *ms);

#endif
