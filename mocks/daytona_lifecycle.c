/* The Daytona mock, sandbox lifecycle (spec/daytona-runloop.md A4-A6): POST /sandbox with
 * the CreateSandbox checks, start/stop/archive/delete with their preconditions and the
 * latency model's transitions, labels, auto-stop/archive/delete intervals, public flag. The
 * API blocks create and start until the sandbox is started (at most the drawn delay here). */
#include "daytona_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define API_WAIT_CAP_MS 30000 /* the API blocks create and start for up to 30 s (A5) */

/* How long the API waits for a sandbox to leave a transient phase before it answers create
 * and start: the latency model's longest delay of that kind (the mock core waits on a timer). */
static long wait_cap(struct sp_mock *m, long base_ms)
{
    const struct sp_mock_config *c = mock_config(m);
    if (c->dist[SP_MOCK_PHASE_START].kind != SP_DIST_UNSET)
        return API_WAIT_CAP_MS;
    long cap = (long)((double)base_ms * (1.0 + c->latency.jitter)) + 50;
    return cap < API_WAIT_CAP_MS ? cap : API_WAIT_CAP_MS;
}

/* --- POST /sandbox -------------------------------------------------------------------------- */

struct create_params {
    struct sp_kv env, labels;
    char name[256];
    bool network_block_all;
    char snapshot[256], user[64], target[64], klass[16];
    bool is_public, has_snapshot, has_resources, has_build;
    long res[4];   /* cpu, gpu, memory, disk */
    long autos[3]; /* autoStopInterval, autoArchiveInterval, autoDeleteInterval */
};

static const char *const RES_KEYS[] = {"cpu", "gpu", "memory", "disk"};
static const char *const AUTO_KEYS[] = {"autoStopInterval", "autoArchiveInterval",
                                        "autoDeleteInterval"};

/* Copies an optional string field; returns false when present with the wrong type. */
static bool opt_str(const cJSON *o, const char *key, char *out, size_t len, bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
        return false;
    snprintf(out, len, "%s", v->valuestring);
    if (present)
        *present = true;
    return true;
}

static bool opt_int(const cJSON *o, const char *key, long *out, bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble)
        return false;
    *out = (long)v->valuedouble;
    if (present)
        *present = true;
    return true;
}

static bool opt_map(const cJSON *o, const char *key, struct sp_kv *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    struct sp_error err;
    if (v == NULL || cJSON_IsNull(v))
        return true;
    return sp_json_get_kv(o, key, false, out, "CreateSandbox", &err) == 0;
}

/* Fills p from the CreateSandbox body (every key optional, unknown keys ignored). Returns
 * NULL, or the class-validator message of the first bad field (possibly written to msg). */
static const char *parse_create(const cJSON *o, struct create_params *p, char *msg, size_t len)
{
    if (!opt_str(o, "snapshot", p->snapshot, sizeof(p->snapshot), &p->has_snapshot))
        return "snapshot must be a string";
    if (!opt_str(o, "user", p->user, sizeof(p->user), NULL))
        return "user must be a string";
    if (!opt_str(o, "name", p->name, sizeof(p->name), NULL))
        return "name must be a string";
    const cJSON *nba = cJSON_GetObjectItemCaseSensitive(o, "networkBlockAll");
    if (nba != NULL && !cJSON_IsNull(nba) && !cJSON_IsBool(nba))
        return "networkBlockAll must be a boolean value";
    p->network_block_all = cJSON_IsTrue(nba);
    if (!opt_str(o, "target", p->target, sizeof(p->target), NULL))
        return "target must be a string";
    if (!opt_str(o, "class", p->klass, sizeof(p->klass), NULL))
        return "class must be one of the following values: small, medium, large";
    if (!opt_map(o, "env", &p->env))
        return "env must be an object";
    if (!opt_map(o, "labels", &p->labels))
        return "labels must be an object";
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(o, "public");
    if (pub != NULL && !cJSON_IsNull(pub) && !cJSON_IsBool(pub))
        return "public must be a boolean value";
    p->is_public = cJSON_IsTrue(pub);
    for (size_t i = 0; i < 4; i++) {
        if (!opt_int(o, RES_KEYS[i], &p->res[i], &p->has_resources)) {
            snprintf(msg, len, "%s must be an integer number", RES_KEYS[i]);
            return msg;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        if (!opt_int(o, AUTO_KEYS[i], &p->autos[i], NULL)) {
            snprintf(msg, len, "%s must be an integer number", AUTO_KEYS[i]);
            return msg;
        }
    }
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(o, "buildInfo");
    if (build != NULL && !cJSON_IsNull(build) &&
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(build, "dockerfileContent")))
        return "buildInfo.dockerfileContent must be a string";
    p->has_build = build != NULL && !cJSON_IsNull(build);
    return NULL;
}

static struct dt_sandbox *vendor_new(const struct create_params *p)
{
    struct dt_sandbox *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    pthread_mutex_init(&v->lock, NULL);
    snprintf(v->snapshot, sizeof(v->snapshot), "%s",
             p->has_snapshot ? p->snapshot : "daytonaio/sandbox:0.4.3");
    snprintf(v->user, sizeof(v->user), "%s", p->user[0] ? p->user : "daytona");
    snprintf(v->name, sizeof(v->name), "%s", p->name); /* "" = the id, filled in later */
    v->network_block_all = p->network_block_all;
    snprintf(v->target, sizeof(v->target), "%s", p->target[0] ? p->target : "us");
    snprintf(v->klass, sizeof(v->klass), "%s", p->klass[0] ? p->klass : "small");
    v->is_public = p->is_public;
    v->cpu = p->res[0];
    v->gpu = p->res[1];
    v->memory = p->res[2];
    v->disk = p->res[3];
    v->auto_stop = p->autos[0];
    v->auto_archive = p->autos[1];
    v->auto_delete = p->autos[2];
    return v;
}

/* Creates the sandbox in the store and attaches its vendor data and env, all under the dt
 * lock so no reader sees it half made. Returns it referenced, or NULL. */
static struct mock_sandbox *
create_sandbox(struct sp_mock *m, const struct create_params *p, struct dt_sandbox *v)
{
    struct dt_state *st = mock_vendor_data(m);
    char id[37], home[128];
    mock_random_uuid(m, id);
    mock_random_hex(m, v->token, 32);
    if (v->name[0] == '\0')
        snprintf(v->name, sizeof(v->name), "%s", id);
    snprintf(v->state_dir, sizeof(v->state_dir), "%s/%s.daytona", mock_store_root(mock_store_of(m)),
             id);
    snprintf(home, sizeof(home), "%s%s", strcmp(v->user, "root") == 0 ? "/root" : "/home/",
             strcmp(v->user, "root") == 0 ? "" : v->user);
    const char *dirs[] = {home, "/tmp", NULL};
    return mock_create_sandbox(m, &st->lock, id, dirs, v, &p->env, &p->labels);
}

void dt_create(struct mock_req *r)
{
    struct sp_error err;
    char msg[96];
    struct create_params p = {.res = {1, 0, 1, 3}, .autos = {15, 10080, -1}};
    sp_kv_init(&p.env);
    sp_kv_init(&p.labels);
    cJSON *o = r->body.len ? sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err)
                           : cJSON_CreateObject();
    const char *bad = !cJSON_IsObject(o) ? NULL : parse_create(o, &p, msg, sizeof(msg));
    struct dt_sandbox *v = NULL;
    struct mock_sandbox *sb = NULL;
    if (!cJSON_IsObject(o))
        dt_nest_error(r, 400, "Bad Request", "Unexpected token in JSON at position 0");
    else if (bad != NULL)
        dt_nest_validation(r, bad);
    else if (p.has_snapshot && p.has_resources)
        dt_nest_error(r, 400, "Bad Request",
                      "Cannot specify Sandbox resources when using a snapshot");
    else if (p.has_snapshot && p.has_build)
        dt_nest_error(r, 400, "Bad Request",
                      "Cannot specify a snapshot when using a build info entry");
    else if ((v = vendor_new(&p)) == NULL || (sb = create_sandbox(r->mock, &p, v)) == NULL)
        dt_nest_error(r, 500, "Internal Server Error", "could not create the sandbox");
    if (sb != NULL) {
        mock_reply_when_left(
            r, sb, MOCK_CREATING, wait_cap(r->mock, mock_config(r->mock)->latency.create_ms),
            mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_API_CREATE), dt_reply_sandbox);
    } else if (v != NULL) {
        pthread_mutex_destroy(&v->lock);
        free(v);
    }
    cJSON_Delete(o);
    sp_kv_cleanup(&p.env);
    sp_kv_cleanup(&p.labels);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

/* Processes die with a stop or a delete: the session shells are ours to kill. */
static void kill_sessions(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct dt_sandbox *v = dt_sandbox_of(m, sb);
    if (v != NULL)
        dt_sessions_kill(v);
}

void dt_delete(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    enum mock_phase ph = mock_sandbox_phase(s, sb);
    if (ph != MOCK_DELETING && ph != MOCK_DELETED) {
        mock_sandbox_transition(s, sb, MOCK_DELETING, MOCK_DELETED, MOCK_DELAY_DELETE);
        kill_sessions(r->mock, sb);
        struct dt_sandbox *v = dt_sandbox_of(r->mock, sb);
        if (v != NULL && v->state_dir[0] != '\0')
            dt_remove_all(v->state_dir); /* session logs go with the sandbox, not at exit */
    }
    /* 0.24.2 answered an empty body; today's API the Sandbox (A6, A9.1), which old
     * clients ignore. */
    dt_reply_sandbox(r, sb);
    mock_store_put(s, sb);
}

void dt_start(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    enum mock_phase ph = mock_sandbox_phase(s, sb);
    if (ph != MOCK_STOPPED && ph != MOCK_PAUSED) {
        dt_nest_error(r, 400, "Bad Request", "Sandbox is not in valid state");
    } else {
        mock_sandbox_transition(s, sb, MOCK_STARTING, MOCK_RUNNING, MOCK_DELAY_START);
        mock_reply_when_left(r, sb, MOCK_STARTING,
                             wait_cap(r->mock, mock_config(r->mock)->latency.start_ms), 0,
                             dt_reply_sandbox);
        return; /* the reference went with the reply */
    }
    mock_store_put(s, sb);
}

void dt_stop(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    if (mock_sandbox_phase(s, sb) != MOCK_RUNNING) {
        dt_nest_error(r, 400, "Bad Request", "Sandbox is not started");
    } else {
        mock_sandbox_transition(s, sb, MOCK_STOPPING, MOCK_STOPPED, MOCK_DELAY_STOP);
        kill_sessions(r->mock, sb);
        dt_reply_sandbox(r, sb); /* as delete: the Sandbox, empty in 0.24.2 */
    }
    mock_store_put(s, sb);
}

void dt_archive(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    if (mock_sandbox_phase(s, sb) != MOCK_STOPPED) {
        dt_nest_error(r, 400, "Bad Request", "Sandbox is not stopped");
    } else {
        mock_sandbox_transition(s, sb, MOCK_PAUSED, MOCK_PAUSED, MOCK_DELAY_STOP);
        mock_reply_empty(r, 200);
    }
    mock_store_put(s, sb);
}

void dt_labels(struct mock_req *r)
{
    struct sp_error err;
    struct sp_kv labels;
    sp_kv_init(&labels);
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    struct mock_sandbox *sb = NULL;
    if (!cJSON_IsObject(o) || sp_json_get_kv(o, "labels", true, &labels, "body", &err) != 0) {
        dt_nest_validation(r, "labels must be an object");
    } else if ((sb = dt_lookup(r)) != NULL) {
        mock_sandbox_set_labels(mock_store_of(r->mock), sb, &labels);
        cJSON *out = cJSON_CreateObject();
        cJSON_AddItemToObject(out, "labels", sp_json_from_kv(&labels));
        dt_reply_json(r, 200, out);
        mock_store_put(mock_store_of(r->mock), sb);
    }
    cJSON_Delete(o);
    sp_kv_cleanup(&labels);
}

/* POST /sandbox/{id}/autostop|autoarchive|autodelete/{minutes}: 201, empty (no @HttpCode). */
static void set_interval(struct mock_req *r, size_t which)
{
    char *end;
    long n = strtol(r->params[1], &end, 10);
    if (*end != '\0') {
        dt_nest_error(r, 400, "Bad Request", "Validation failed (numeric string is expected)");
        return;
    }
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct dt_state *st = mock_vendor_data(r->mock);
    pthread_mutex_lock(&st->lock);
    struct dt_sandbox *v = sb->vendor;
    if (v != NULL)
        *(which == 0 ? &v->auto_stop : which == 1 ? &v->auto_archive : &v->auto_delete) = n;
    pthread_mutex_unlock(&st->lock);
    mock_reply_empty(r, 201);
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_autostop(struct mock_req *r)
{
    set_interval(r, 0);
}

void dt_autoarchive(struct mock_req *r)
{
    set_interval(r, 1);
}

void dt_autodelete(struct mock_req *r)
{
    set_interval(r, 2);
}

void dt_public(struct mock_req *r)
{
    const char *flag = r->params[1];
    if (strcmp(flag, "true") != 0 && strcmp(flag, "false") != 0) {
        dt_nest_error(r, 400, "Bad Request", "Validation failed (boolean string is expected)");
        return;
    }
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct dt_state *st = mock_vendor_data(r->mock);
    pthread_mutex_lock(&st->lock);
    if (sb->vendor != NULL)
        ((struct dt_sandbox *)sb->vendor)->is_public = strcmp(flag, "true") == 0;
    pthread_mutex_unlock(&st->lock);
    mock_reply_empty(r, 201);
    mock_store_put(mock_store_of(r->mock), sb);
}
