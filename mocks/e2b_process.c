/* The E2B mock's process.Process service (spec/e2b-modal.md A3): Start as a Connect server
 * stream whose events leave as the command produces output, List and SendSignal (unary),
 * and the registry of running processes they share.
 *
 * Start streams enveloped JSON messages (1 flag byte + 4-byte big-endian length + payload):
 * one start event, data events (base64 stdout/stderr: what the pipes hold when read, up to
 * 256 KiB, so a command that prints every 50 ms yields separate events), keepalives when the
 * command is quiet for Keepalive-Ping-Interval seconds, one end event, then the
 * end-of-stream envelope (flag 0x02) `{}`. Connect-Timeout-Ms is the process's lifetime, as
 * in envd: at the deadline the process group is killed and the stream ends with a
 * `deadline_exceeded` error and no end event. Unlike envd, a command whose client hung up
 * (or whose mock is stopping) is killed too: the mock keeps no orphans. Reattaching
 * (Connect) and stdin are not supported. */
#include "backend.h"
#include "e2b_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "hostfs.h"
#include "json.h"
#include "provider.h" /* sp_now_ms */

#define ENVELOPE_END_STREAM 0x02
#define DEFAULT_KEEPALIVE_S 90           /* envd's own default when the header is absent */
#define OUTPUT_CHUNK        32768        /* envd reads the pipes 32 KiB at a time */
#define OUTPUT_BATCH        (256 * 1024) /* what one data event carries at most */
#define MAX_ARGS            256
#define CLIENT_CHECK_MS     250 /* how often a quiet stream looks whether its client left */

/* A running process, registered so that List and SendSignal of any connection find it. It is
 * unregistered before it is reaped, so a registered pid is never a recycled one. */
struct e2b_proc {
    struct e2b_proc *next;
    char sandbox_id[64];
    pid_t pid;
    char tag[128];
    cJSON *config; /* ProcessConfig as received, for List */
    bool registered;
};

/* --- registry ------------------------------------------------------------------------------ */

static void proc_register(struct sp_mock *m, struct e2b_proc *p)
{
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    p->next = st->procs;
    st->procs = p;
    p->registered = true;
    pthread_mutex_unlock(&st->lock);
}

static void proc_unregister(struct sp_mock *m, struct e2b_proc *p)
{
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    for (struct e2b_proc **pp = &st->procs; p->registered && *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            p->registered = false;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
}

/* Signals the process group (the command and what it started), as the deadline does. */
static void signal_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) != 0)
        kill(pid, sig);
}

void e2b_procs_kill_sandbox(struct sp_mock *m, const char *id)
{
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    for (struct e2b_proc *p = st->procs; p; p = p->next)
        if (strcmp(p->sandbox_id, id) == 0)
            signal_group(p->pid, SIGKILL);
    pthread_mutex_unlock(&st->lock);
}

/* --- envelopes ----------------------------------------------------------------------------- */

/* An envelope is opened (5 placeholder bytes), the payload appended, then closed (flags and
 * the payload's length written into the placeholder). */
static int envelope_open(struct sp_buf *b, size_t *at)
{
    *at = b->len;
    return sp_buf_append(b, "\0\0\0\0\0", 5);
}

static void envelope_close(struct sp_buf *b, size_t at, unsigned char flags)
{
    size_t n = b->len - at - 5;
    unsigned char *h = (unsigned char *)b->data + at;
    h[0] = flags;
    h[1] = (unsigned char)(n >> 24), h[2] = (unsigned char)(n >> 16);
    h[3] = (unsigned char)(n >> 8), h[4] = (unsigned char)n;
}

static int envelope_text(struct sp_buf *b, unsigned char flags, const char *json)
{
    size_t at;
    if (envelope_open(b, &at) != 0 || sp_buf_puts(b, json) != 0)
        return -1;
    envelope_close(b, at, flags);
    return 0;
}

static int envelope_cjson(struct sp_buf *b, unsigned char flags, cJSON *root)
{
    char *s = sp_json_print_free(root);
    int rc = s ? envelope_text(b, flags, s) : -1;
    cJSON_free(s);
    return rc;
}

static cJSON *build_stream_error(const char *code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    return o;
}

void e2b_connect_stream_error(struct mock_req *r, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct sp_buf b;
    sp_buf_init(&b, 0);
    if (envelope_cjson(&b, ENVELOPE_END_STREAM, build_stream_error(code, msg)) == 0)
        mock_reply(r, 200, "application/connect+json", b.data, b.len);
    else
        mock_reply_empty(r, 500);
    sp_buf_cleanup(&b);
}

/* Go's ProcessState.String() names for the signals a command usually dies of. */
static const char *signal_name(int sig, char *buf, size_t len)
{
    switch (sig) {
    case SIGKILL:
        return "killed";
    case SIGTERM:
        return "terminated";
    case SIGINT:
        return "interrupt";
    case SIGHUP:
        return "hangup";
    case SIGQUIT:
        return "quit";
    case SIGABRT:
        return "aborted";
    case SIGSEGV:
        return "segmentation fault";
    case SIGPIPE:
        return "broken pipe";
    case SIGALRM:
        return "alarm clock";
    case SIGBUS:
        return "bus error";
    case SIGFPE:
        return "floating point exception";
    case SIGILL:
        return "illegal instruction";
    default:
        snprintf(buf, len, "signal %d", sig);
        return buf;
    }
}

/* EndEvent{exit_code, exited, status, error}: zero values omitted; Go's cmd.Wait() error
 * ("exit status 1", "signal: killed") is set for anything but a clean exit. */
static cJSON *build_end_event(int exit_code, int sig)
{
    char status[64], name[32];
    if (sig > 0)
        snprintf(status, sizeof status, "signal: %s", signal_name(sig, name, sizeof name));
    else
        snprintf(status, sizeof status, "exit status %d", exit_code);
    cJSON *o = cJSON_CreateObject();
    cJSON *end = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "event"), "end");
    if (sig > 0 || exit_code != 0)
        cJSON_AddNumberToObject(end, "exitCode", sig > 0 ? -1 : exit_code);
    if (sig <= 0)
        cJSON_AddBoolToObject(end, "exited", 1);
    cJSON_AddStringToObject(end, "status", status);
    if (sig > 0 || exit_code != 0)
        cJSON_AddStringToObject(end, "error", status);
    return o;
}

/* --- the Start stream ---------------------------------------------------------------------- */

enum start_state { ST_START, ST_DATA, ST_END, ST_DONE };

struct start_stream {
    struct sp_mock *m;
    struct mock_proc *proc;
    struct e2b_proc entry;
    bool pty;
    bool timed_out;
    int64_t deadline_ms; /* monotonic; 0 = none */
    long keepalive_ms;
    int64_t last_event_ms;
    enum start_state state;
    int client_fd;            /* the connection's socket, watched while the command is quiet */
    char chunk[OUTPUT_BATCH]; /* output read for the next data event(s) */
    struct sp_buf out;        /* envelopes not yet handed to the server */
    size_t off;
};

static int emit_data(struct start_stream *s, const char *data, size_t n, int stream)
{
    size_t at;
    const char *field = s->pty ? "pty" : stream == 2 ? "stderr" : "stdout";
    if (envelope_open(&s->out, &at) != 0 ||
        sp_buf_printf(&s->out, "{\"event\":{\"data\":{\"%s\":\"", field) != 0 ||
        sp_buf_put_base64(&s->out, data, n) != 0 || sp_buf_puts(&s->out, "\"}}}") != 0)
        return -1;
    envelope_close(&s->out, at, 0);
    return 0;
}

/* The server only notices a client that left (or the mock shutting down) when it next
 * writes, which a quiet command may not do for a keepalive interval; so the stream looks at
 * the socket itself. Readable with nothing to read = closed. */
static bool client_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (fd < 0 || poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
        return true;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* After a read, what else the pipes hold right now joins it, up to OUTPUT_BATCH: a command
 * printing fast then costs a few large events rather than many 4-32 KiB ones (base64,
 * envelope and HTTP chunk per event), while output that trickles still leaves as it comes,
 * one read per event. Output of the other stream ends the batch in an event of its own. */
static int emit_batch(struct start_stream *s, size_t n, int stream)
{
    int next = stream;
    ssize_t k = 0;
    while (n < OUTPUT_BATCH && next == stream) {
        k = mock_proc_read(s->proc, 0, s->chunk + n, OUTPUT_BATCH - n, &next);
        if (k <= 0)
            break;
        n += next == stream ? (size_t)k : 0;
    }
    if (emit_data(s, s->chunk, n, stream) != 0)
        return -1;
    return k > 0 && next != stream ? emit_data(s, s->chunk + n, (size_t)k, next) : 0;
}

/* One read of the pipes, bounded by the next keepalive, the deadline and the client check.
 * Returns -1 when the stream must be cut. */
static int pump_output(struct start_stream *s)
{
    int stream = 1;
    int64_t now = sp_now_ms();
    int64_t wait = s->last_event_ms + s->keepalive_ms - now;
    if (s->deadline_ms && s->deadline_ms - now < wait)
        wait = s->deadline_ms - now;
    if (wait > CLIENT_CHECK_MS)
        wait = CLIENT_CHECK_MS;
    ssize_t n = mock_proc_read(s->proc, wait > 0 ? (long)wait : 0, s->chunk, OUTPUT_CHUNK, &stream);
    now = sp_now_ms();
    if (n > 0) {
        s->last_event_ms = now;
        return emit_batch(s, (size_t)n, stream);
    }
    if (n < 0) {
        s->state = ST_END;
    } else if (s->deadline_ms && now >= s->deadline_ms) {
        mock_proc_kill(s->proc);
        s->timed_out = true;
        s->state = ST_END;
    } else if (now - s->last_event_ms >= s->keepalive_ms) {
        s->last_event_ms = now;
        return envelope_text(&s->out, 0, "{\"event\":{\"keepalive\":{}}}");
    } else if (client_gone(s->client_fd)) {
        return -1;
    }
    return 0;
}

static int finish(struct start_stream *s)
{
    int code = 0, sig = 0;
    proc_unregister(s->m, &s->entry); /* before the reap: a registered pid is never reused */
    mock_proc_wait(s->proc, &code, &sig);
    s->state = ST_DONE;
    if (s->timed_out)
        return envelope_cjson(&s->out, ENVELOPE_END_STREAM,
                              build_stream_error("deadline_exceeded", "context deadline exceeded"));
    if (envelope_cjson(&s->out, 0, build_end_event(code, sig)) != 0)
        return -1;
    return envelope_text(&s->out, ENVELOPE_END_STREAM, "{}");
}

static int advance(struct start_stream *s)
{
    char json[64];
    switch (s->state) {
    case ST_START:
        snprintf(json, sizeof json, "{\"event\":{\"start\":{\"pid\":%u}}}",
                 (unsigned)mock_proc_pid(s->proc));
        s->state = ST_DATA;
        s->last_event_ms = sp_now_ms();
        return envelope_text(&s->out, 0, json);
    case ST_DATA:
        return pump_output(s);
    case ST_END:
        return finish(s);
    case ST_DONE:
        break;
    }
    return 0;
}

static ssize_t start_read(void *ctx, char *buf, size_t max)
{
    struct start_stream *s = ctx;
    while (s->off >= s->out.len) {
        if (s->state == ST_DONE)
            return 0;
        sp_buf_reset(&s->out);
        s->off = 0;
        if (advance(s) != 0)
            return -1;
    }
    size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

/* Runs when the reply is over, or when the client went away mid-stream: then the command is
 * killed (envd would let it run on; the mock does not keep orphans). */
static void start_free(void *ctx)
{
    struct start_stream *s = ctx;
    proc_unregister(s->m, &s->entry);
    mock_proc_free(s->proc); /* kills what still runs, then reaps */
    cJSON_Delete(s->entry.config);
    sp_buf_cleanup(&s->out);
    free(s);
}

/* --- Start: the request -------------------------------------------------------------------- */

struct start_req {
    cJSON *root;
    const cJSON *config; /* "process" */
    const char *argv[MAX_ARGS + 2];
    const char *cwd;
    const char *tag;
    bool pty;
    long timeout_ms;
    long keepalive_ms;
};

/* Reads the one request envelope and its StartRequest; on failure writes why into msg. */
static int parse_start(struct mock_req *r, struct start_req *q, char *msg, size_t len)
{
    const unsigned char *b = (const unsigned char *)r->body.data;
    size_t n = r->body.len;
    if (n < 5 || (b[0] & 0x01) ||
        (size_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4]) != n - 5)
        return snprintf(msg, len, "protocol error: request is not one uncompressed envelope"), -1;
    const char *end = NULL;
    q->root = cJSON_ParseWithLengthOpts((const char *)b + 5, n - 5, &end, 0);
    q->config = cJSON_GetObjectItemCaseSensitive(q->root, "process");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(q->config, "cmd");
    if (!cJSON_IsObject(q->root) || !cJSON_IsObject(q->config) || !cJSON_IsString(cmd))
        return snprintf(msg, len, "unmarshal into process.StartRequest: missing process.cmd"), -1;
    q->argv[0] = cmd->valuestring;
    size_t argc = 1;
    const cJSON *arg;
    cJSON_ArrayForEach(arg, cJSON_GetObjectItemCaseSensitive(q->config, "args"))
    {
        if (!cJSON_IsString(arg) || argc > MAX_ARGS)
            return snprintf(msg, len, "unmarshal into process.StartRequest: bad args"), -1;
        q->argv[argc++] = arg->valuestring;
    }
    q->argv[argc] = NULL;
    const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(q->config, "cwd");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(q->root, "tag");
    q->cwd = cJSON_IsString(cwd) ? cwd->valuestring : "";
    q->tag = cJSON_IsString(tag) ? tag->valuestring : "";
    q->pty = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(q->root, "pty"));
    return 0;
}

/* Connect-Timeout-Ms (at most 10 digits) and Keepalive-Ping-Interval (seconds). */
static int parse_start_headers(struct mock_req *r, struct start_req *q, char *msg, size_t len)
{
    const char *t = mock_req_header(r, "Connect-Timeout-Ms");
    const char *k = mock_req_header(r, "Keepalive-Ping-Interval");
    char *end = NULL;
    q->timeout_ms = 0;
    if (t && (strlen(t) > 10 ||
              (q->timeout_ms = strtol(t, &end, 10), end == t || *end || q->timeout_ms < 0)))
        return snprintf(msg, len, "strconv.Atoi: parsing \"%s\": invalid syntax", t), -1;
    long ka = k ? strtol(k, &end, 10) : 0;
    q->keepalive_ms = (ka > 0 ? ka : DEFAULT_KEEPALIVE_S) * 1000L;
    return 0;
}

/* The command's environment, as envd builds it: user variables, the sandbox's env vars,
 * then the request's (which win). */
static void
start_env(struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *config, struct sp_kv *env)
{
    sp_kv_set(env, "USER", u->name);
    sp_kv_set(env, "LOGNAME", u->name);
    sp_kv_set(env, "E2B_SANDBOX", "true");
    sp_kv_set(env, "E2B_SANDBOX_ID", sb->id);
    sp_kv_merge(env, &sb->env);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(config, "envs"))
    {
        if (cJSON_IsString(e))
            sp_kv_set(env, e->string, e->valuestring);
    }
}

static struct start_stream *
spawn(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, struct start_req *q)
{
    char cwd_guest[1024], cwd_host[2048], home_guest[64], home_host[2048];
    struct stat st;
    if (e2b_resolve_path(sb, u, q->cwd, cwd_guest, sizeof cwd_guest, cwd_host, sizeof cwd_host) !=
            0 ||
        mock_fs_stat(sb, cwd_host, &st) != 0 || !S_ISDIR(st.st_mode)) {
        e2b_connect_stream_error(r, "invalid_argument", "cwd '%s' does not exist",
                                 q->cwd[0] ? q->cwd : u->home);
        return NULL;
    }
    snprintf(home_guest, sizeof home_guest, "%s", u->home);
    mock_sandbox_host_path(sb, "/", home_guest, home_host, sizeof home_host);
    struct sp_kv env;
    sp_kv_init(&env);
    start_env(sb, u, q->config, &env);
    struct start_stream *s = calloc(1, sizeof *s);
    int rc = s ? mock_proc_spawn(q->argv, &env, cwd_host, home_host, &s->proc) : -1;
    int saved = errno;
    sp_kv_cleanup(&env);
    if (rc != 0) {
        free(s);
        e2b_connect_stream_error(r, "invalid_argument", "error starting process '%s': %s",
                                 q->argv[0], strerror(saved));
        return NULL;
    }
    return s;
}

static void process_start(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u)
{
    const char *ctype = mock_req_header(r, "Content-Type");
    struct start_req q = {0};
    char msg[256];
    if (ctype == NULL || strncasecmp(ctype, "application/connect+json", 24) != 0) {
        mock_reply_header(r, "Accept-Post", "application/connect+json, application/connect+proto");
        mock_reply(r, 415, "text/plain; charset=utf-8", "", 0);
    } else if (parse_start(r, &q, msg, sizeof msg) != 0 ||
               parse_start_headers(r, &q, msg, sizeof msg) != 0) {
        e2b_connect_stream_error(r, "invalid_argument", "%s", msg);
    } else if (mock_is_synthetic(r->mock)) {
        e2b_synthetic_start(r, sb, q.cwd[0] ? q.cwd : u->home, q.argv);
    } else {
        struct start_stream *s = spawn(r, sb, u, &q);
        if (s != NULL) {
            s->client_fd = mock_req_socket(r);
            s->m = r->mock;
            s->pty = q.pty;
            s->keepalive_ms = q.keepalive_ms;
            s->deadline_ms = q.timeout_ms > 0 ? sp_now_ms() + q.timeout_ms : 0;
            s->entry.pid = mock_proc_pid(s->proc);
            s->entry.config = cJSON_Duplicate(q.config, 1);
            snprintf(s->entry.sandbox_id, sizeof s->entry.sandbox_id, "%s", sb->id);
            snprintf(s->entry.tag, sizeof s->entry.tag, "%s", q.tag);
            sp_buf_init(&s->out, 0);
            proc_register(r->mock, &s->entry);
            mock_reply_stream(r, 200, "application/connect+json", start_read, s, start_free);
            mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
        }
    }
    cJSON_Delete(q.root);
}

/* --- unary RPCs ---------------------------------------------------------------------------- */

static void process_list(struct mock_req *r, struct mock_sandbox *sb)
{
    struct e2b_state *st = e2b_state_of(r->mock);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&st->lock);
    for (struct e2b_proc *p = st->procs; p; p = p->next) {
        if (strcmp(p->sandbox_id, sb->id) != 0)
            continue;
        cJSON *info = cJSON_CreateObject();
        cJSON_AddItemToObject(info, "config", cJSON_Duplicate(p->config, 1));
        cJSON_AddNumberToObject(info, "pid", p->pid);
        if (p->tag[0])
            cJSON_AddStringToObject(info, "tag", p->tag);
        cJSON_AddItemToArray(arr, info);
    }
    pthread_mutex_unlock(&st->lock);
    if (cJSON_GetArraySize(arr) > 0)
        cJSON_AddItemToObject(o, "processes", arr);
    else
        cJSON_Delete(arr);
    mock_reply_cjson(r, 200, o);
}

/* ProcessSelector {"pid": n} or {"tag": "t"}; signal by name or number. */
static void process_send_signal(struct mock_req *r, struct mock_sandbox *sb, const cJSON *req)
{
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(req, "process");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(sel, "pid");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(sel, "tag");
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(req, "signal");
    int sig = cJSON_IsNumber(sj) ? sj->valueint : 0;
    if (cJSON_IsString(sj))
        sig = strcmp(sj->valuestring, "SIGNAL_SIGKILL") == 0   ? SIGKILL
              : strcmp(sj->valuestring, "SIGNAL_SIGTERM") == 0 ? SIGTERM
                                                               : 0;
    if (sig != SIGKILL && sig != SIGTERM) {
        e2b_connect_error(r, "invalid_argument", "invalid signal");
        return;
    }
    struct e2b_state *st = e2b_state_of(r->mock);
    bool found = false;
    pthread_mutex_lock(&st->lock);
    for (struct e2b_proc *p = st->procs; p; p = p->next) {
        bool match = cJSON_IsNumber(pid)   ? p->pid == (pid_t)pid->valuedouble
                     : cJSON_IsString(tag) ? strcmp(p->tag, tag->valuestring) == 0
                                           : false;
        if (match && strcmp(p->sandbox_id, sb->id) == 0) {
            signal_group(p->pid, sig);
            found = true;
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (!found)
        e2b_connect_error(r, "not_found", "process with %s not found",
                          cJSON_IsString(tag) ? "tag" : "pid");
    else
        mock_reply_json(r, 200, "{}");
}

void e2b_process_rpc(struct mock_req *r,
                     struct mock_sandbox *sb,
                     const struct e2b_user *u,
                     const char *method)
{
    if (strcmp(method, "Start") == 0) {
        process_start(r, sb, u);
    } else if (strcmp(method, "Connect") == 0 || strcmp(method, "StreamInput") == 0) {
        e2b_connect_stream_error(r, "unimplemented",
                                 "process.Process.%s is not supported by "
                                 "the mock",
                                 method);
    } else if (strcmp(method, "List") == 0 || strcmp(method, "SendSignal") == 0) {
        cJSON *req = e2b_connect_request(r);
        if (req && method[0] == 'L')
            process_list(r, sb);
        else if (req)
            process_send_signal(r, sb, req);
        cJSON_Delete(req);
    } else if (strcmp(method, "SendInput") == 0 || strcmp(method, "CloseStdin") == 0 ||
               strcmp(method, "Update") == 0) {
        e2b_connect_error(r, "unimplemented", "process.Process.%s is not supported by the mock",
                          method);
    } else {
        mock_reply(r, 404, "text/plain; charset=utf-8", "404 page not found\n", 19);
    }
}
