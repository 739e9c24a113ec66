/* What the files of the Daytona mock share (spec/daytona-runloop.md Part A; the 0.24 and
 * today's SDK wire): daytona.c (control plane: the Sandbox object, get/list, preview links,
 * auth, the data-plane hook, the route table), daytona_lifecycle.c (create, start, stop,
 * delete and the setters), daytona_toolbox.c (toolbox checks, home/work dir,
 * process/execute), daytona_files.c (toolbox files), daytona_bulk.c (files/bulk-download),
 * daytona_session.c (toolbox sessions: long-lived shells, async commands, logs) and
 * daytona_output.c (session output marked per stream, returned by SDK generation). */
#ifndef SP_MOCK_DAYTONA_INT_H
#define SP_MOCK_DAYTONA_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "mock_int.h"

struct dt_session;

/* Per-sandbox vendor data (mock_sandbox.vendor); fixed at create except where noted. */
struct dt_sandbox {
    char name[256]; /* the newest API's name: given at create, else the id */
    bool network_block_all;
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

/* The SDK version a request says it comes from (X-Daytona-SDK-Version) is at least want
 * ("0.167.0"); false when the header is absent or not a version. The daemon picks its output
 * shapes by it (spec A7.4). */
bool dt_sdk_at_least(struct mock_req *r, const char *want);
/* The request came through the toolbox proxy ({toolboxProxyUrl}/{id}/...), the newest
 * SDK's route, rather than the API's deprecated /api/toolbox/{id}/toolbox/... */
bool dt_via_proxy(const struct mock_req *r);

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
/* The daemon's error body (Go, spec A3.2): {statusCode, message, code, source, timestamp,
 * path, method}; code is the HTTP reason ("Bad Request") as the daemon's error middleware
 * sets it, source "DAYTONA_DAEMON". dt_daemon_error_code sets a specific code
 * ("FILE_NOT_FOUND", "PROCESS_EXECUTION_TIMEOUT"): the newest SDK raises its specific error
 * classes from (source, code). */
void dt_daemon_error(struct mock_req *r, int status, const char *message);
void dt_daemon_error_code(struct mock_req *r, int status, const char *code, const char *message);

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
void dt_files_bulk_download(struct mock_req *r);
void dt_user_home_dir(struct mock_req *r);
void dt_work_dir(struct mock_req *r);
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

/* --- daytona_output.c: session output as today's daemon records and returns it -------- */

enum dt_output {
    DT_OUTPUT_COMBINED, /* text, markers removed (SDK < 0.27, or no version header) */
    DT_OUTPUT_RAW,      /* the log with its markers (0.27 <= SDK < 0.167) */
    DT_OUTPUT_SPLIT     /* JSON output/stdout/stderr (SDK >= 0.167) */
};
enum dt_output dt_output_mode(struct mock_req *r);
/* Appends the shell text that runs cmd_file in the session shell with its stdout and stderr
 * marked line by line into log, then appends the exit code to exit_file. */
int dt_command_script(struct sp_buf *out,
                      const char *dir,
                      const char *cmd_file,
                      const char *log,
                      const char *exit_file);
/* Removes the markers from buf[0..n) in place and returns the new length; unless final, a
 * marker cut at the end is not returned: *held bytes at the end are to be read again. */
size_t dt_strip_markers(char *buf, size_t n, bool final, size_t *held);
/* Splits a marked log into stdout and stderr. 0, or -1 when out of memory. */
int dt_demux(const char *log, size_t n, struct sp_buf *out, struct sp_buf *err);
/* Session exec's answer {cmdId, output, exitCode} (+ stdout, stderr for SDKs >= 0.167); log
 * is the command's marked output.log (changed in place), NULL for an async exec. */
void dt_reply_exec(
    struct mock_req *r, int status, const char *cid, struct sp_buf *log, const int *code);
/* A command's logs as the client's SDK generation reads them: text (combined without the
 * markers, or raw), or JSON {output, stdout, stderr}. log is changed in place. */
void dt_reply_log(struct mock_req *r, struct sp_buf *log);

/* Kills every session shell of the sandbox (stop, delete). */
void dt_sessions_kill(struct dt_sandbox *v);
/* Frees the sessions and removes the session files (the sandbox is going away). */
void dt_sandbox_data_free(struct dt_sandbox *v);

#endif
