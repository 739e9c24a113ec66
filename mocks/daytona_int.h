/* What the files of the Daytona mock share (spec/daytona-runloop.md Part A, SDK 0.24.2 wire):
 * daytona.c (control plane: the Sandbox object, get/list, preview links, auth, the data-plane
 * hook, the route table), daytona_lifecycle.c (create, start, stop, delete and the setters),
 * daytona_toolbox.c (toolbox checks, project-dir, process/execute), daytona_files.c (toolbox
 * files) and daytona_session.c (toolbox sessions: long-lived shells, async commands, logs). */
#ifndef SP_MOCK_DAYTONA_INT_H
#define SP_MOCK_DAYTONA_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "mock_int.h"

struct dt_session;

/* Per-sandbox vendor data (mock_sandbox.vendor); fixed at create except where noted. */
struct dt_sandbox {
    char snapshot[256];
    char user[64];
    char target[64];
    char klass[16];
    char token[40]; /* preview token */
    bool is_public; /* changed by POST /sandbox/{id}/public/{bool}: read under the dt lock */
    long cpu, gpu, memory, disk;
    long auto_stop, auto_archive, auto_delete; /* changed by their routes, under the dt lock */
    char state_dir[1024];        /* host dir of the daemon's session files, outside the root */
    pthread_mutex_t lock;        /* sessions; a leaf: taken after any other, none under it */
    struct dt_session *sessions; /* never freed before the sandbox: handlers keep pointers */
};

/* The mock's vendor data. */
struct dt_state {
    /* sandbox->vendor, is_public, auto_*. Lock order: this, then the store's lock (create
     * holds it across mock_store_create so no handler sees a sandbox without its data). */
    pthread_mutex_t lock;
    char org_id[37];
};

/* The sandbox's vendor data, read under the dt lock (NULL while a create is finishing). */
struct dt_sandbox *dt_sandbox_of(struct sp_mock *m, struct mock_sandbox *sb);

/* The API's error body (NestJS all-exceptions filter, spec A3.1). */
void dt_nest_error(struct mock_req *r, int status, const char *error, const char *message);
/* A class-validator 400: message is an array holding this one string. */
void dt_nest_validation(struct mock_req *r, const char *message);
/* Replies 200/201 JSON the API's way and deletes o. */
void dt_reply_json(struct mock_req *r, int status, struct cJSON *o);
/* The sandbox named by params[0], referenced, or NULL after a 404 Nest body. */
struct mock_sandbox *dt_lookup(struct mock_req *r);
/* Replies 200 with the Sandbox object as it is now. */
void dt_reply_sandbox(struct mock_req *r, struct mock_sandbox *sb);
/* The daemon's error body (Go, spec A3.2); path is the daemon's own path. */
void dt_daemon_error(struct mock_req *r, int status, const char *message);

/* The sandbox a toolbox route names (params[0]), referenced, if it exists and is started;
 * otherwise replies (404 / 400 "Sandbox is not running") and returns NULL. nest_body: the
 * route is answered by the API itself (process/execute), so its 400 is a Nest body rather
 * than the serialised exception the proxied routes give. A sandbox with the never-alive
 * fault gets 502 here: this is the data plane of toolbox mode. */
struct mock_sandbox *dt_toolbox_sandbox(struct mock_req *r, bool nest_body);
/* The same for the session routes, which still answer when the sandbox's process and file
 * API is down (SP_MOCK_FAULT_NEVER_ALIVE): they start the action server. */
struct mock_sandbox *dt_session_sandbox(struct mock_req *r);
/* The daemon's error for a failed file operation: "<op> <path>: <reason>", 404 for a missing
 * file, 403 for a refused one, else 400. */
void dt_path_error(struct mock_req *r, const char *op, const char *path, int err);
/* A sandbox path (relative ones to the home, the daemon's cwd) as a host path; 0 or -1. */
int dt_host_path(
    struct mock_req *r, struct mock_sandbox *sb, const char *path, char *out, size_t len);
/* Removes a file or a directory tree (symbolic links not followed). 0 or errno. */
int dt_remove_all(const char *host);
/* The user's home ("/home/daytona", "/root"): the SDK's project dir. */
void dt_home_dir(struct sp_mock *m, struct mock_sandbox *sb, char *out, size_t len);

/* Control-plane handlers of daytona_lifecycle.c (routes in daytona.c). */
void dt_create(struct mock_req *r);
void dt_delete(struct mock_req *r);
void dt_start(struct mock_req *r);
void dt_stop(struct mock_req *r);
void dt_archive(struct mock_req *r);
void dt_labels(struct mock_req *r);
void dt_autostop(struct mock_req *r);
void dt_autoarchive(struct mock_req *r);
void dt_autodelete(struct mock_req *r);
void dt_public(struct mock_req *r);

/* Toolbox handlers (routes in daytona.c). */
void dt_project_dir(struct mock_req *r);
void dt_process_execute(struct mock_req *r);
void dt_files_list(struct mock_req *r);
void dt_files_info(struct mock_req *r);
void dt_files_download(struct mock_req *r);
void dt_files_upload(struct mock_req *r);
void dt_files_bulk_upload(struct mock_req *r);
void dt_files_delete(struct mock_req *r);
void dt_files_folder(struct mock_req *r);
void dt_files_move(struct mock_req *r);
void dt_session_create(struct mock_req *r);
void dt_session_list(struct mock_req *r);
void dt_session_get(struct mock_req *r);
void dt_session_delete(struct mock_req *r);
void dt_session_exec(struct mock_req *r);
void dt_session_command(struct mock_req *r);
void dt_session_logs(struct mock_req *r);

/* True when the client closed the connection (or the mock is stopping): long waits in a
 * handler give up then. */
bool dt_peer_gone(struct mock_req *r);
/* The same for a stream that outlives its handler: the socket, then the check (-1: never). */
int dt_conn_fd(struct mock_req *r);
bool dt_fd_gone(int fd);

/* Kills every session shell of the sandbox (stop, delete). */
void dt_sessions_kill(struct dt_sandbox *v);
/* Frees the sessions and removes the session files (the sandbox is going away). */
void dt_sandbox_data_free(struct dt_sandbox *v);

#endif
