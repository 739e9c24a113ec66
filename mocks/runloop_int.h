/* What the files of the Runloop mock share (spec/runloop-modal.md Part R): runloop.c (the
 * DevboxView, get, list, tunnels, auth and error bodies, the data plane, the route table),
 * runloop_lifecycle.c (create, shutdown, wait_for_status), runloop_exec.c (execute_sync,
 * execute_async and executions) and runloop_files.c (file contents, upload, download). */
#ifndef SP_MOCK_RUNLOOP_INT_H
#define SP_MOCK_RUNLOOP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mock_int.h"

#define RL_HOME       "/home/user" /* the devbox user's home: file paths and execute start here */
#define RL_HOLD_MS    10000        /* wait_for_status holds at most this long, then 408 */
#define RL_POLL_US    10000        /* a held wait_for_status looks again this often */
#define RL_OUTPUT_MAX ((size_t)16 << 20)

struct rl_exec; /* one execute_async (runloop_exec.c) */

/* Per-devbox vendor data (mock_sandbox.vendor). Set before the devbox is published; the
 * tunnel and the executions change later, under lock. */
struct rl_devbox {
    char name[128];
    char prebuilt[64];
    char entrypoint[64]; /* first 63 bytes, for the view */
    bool launch;         /* launch_parameters given */
    pthread_mutex_t lock;
    bool tunnel;      /* a v2 tunnel is enabled */
    bool tunnel_auth; /* authenticated: X-Runloop-Tunnel-Authorization required */
    char tunnel_token[40];
    int64_t tunnel_ms;
    int64_t end_ms;        /* wall time of the shutdown, 0 before */
    struct rl_exec *execs; /* newest first; freed with the devbox */
    unsigned next_exec;
};

struct rl_state {
    pthread_mutex_t lock; /* sandbox->vendor while a create publishes it */
};

/* The devbox's vendor data (NULL while its create is finishing). */
struct rl_devbox *rl_devbox_of(struct sp_mock *m, struct mock_sandbox *sb);
/* {"error": code, "message": text} with application/json: the SDKs raise by status and show
 * "<status> <message>". */
void rl_error(struct mock_req *r, int status, const char *code, const char *message);
/* The devbox named by params[0], referenced, or NULL after a 404. */
struct mock_sandbox *rl_lookup(struct mock_req *r);
/* The same for the routes that run something in the devbox: it must be running (else 400),
 * and its agent up (a devbox with the never-alive fault gets 502). */
struct mock_sandbox *rl_running(struct mock_req *r);
/* Replies 200 with the DevboxView as it is now. */
void rl_reply_devbox(struct mock_req *r, struct mock_sandbox *sb);
/* The request body as a JSON object (an empty body is {}); NULL after a 400. The caller
 * deletes it. */
struct cJSON *rl_body(struct mock_req *r);
/* The devbox path (relative ones to the home) as a host path; 0, or -1 after a 400. */
int rl_host_path(
    struct mock_req *r, struct mock_sandbox *sb, const char *path, char *out, size_t len);
/* The "statuses" array of a wait_for_status body: true when `status` is in it. */
bool rl_status_wanted(const struct cJSON *statuses, const char *status);

/* Control-plane handlers (runloop_lifecycle.c). */
void rl_create(struct mock_req *r);
void rl_shutdown(struct mock_req *r);
void rl_wait_devbox(struct mock_req *r);

/* Exec handlers (runloop_exec.c). */
void rl_execute_sync(struct mock_req *r);
void rl_execute_async(struct mock_req *r);
void rl_execution_get(struct mock_req *r);
void rl_execution_wait(struct mock_req *r);
void rl_execution_kill(struct mock_req *r);
/* Kills and frees a devbox's executions (shutdown, or the devbox going away). */
void rl_execs_free(struct rl_devbox *v, bool kill_only);

/* File handlers (runloop_files.c). */
void rl_read_file(struct mock_req *r);
void rl_write_file(struct mock_req *r);
void rl_upload_file(struct mock_req *r);
void rl_download_file(struct mock_req *r);

#endif
