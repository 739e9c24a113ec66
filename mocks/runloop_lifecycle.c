/* The Runloop mock, devbox lifecycle (spec/runloop-modal.md R2, R4, R5): POST /v1/devboxes
 * answers at once with a `provisioning` devbox that turns `running` after the latency
 * model's create delay (or stays, or fails, with an injected fault); an entrypoint that is
 * OpenHands' server command line registers the action-server mock; a `tunnel` in the body is
 * the newest generation's tunnel. Shutdown is immediate and final, and the devbox stays
 * retrievable. wait_for_status holds until the status is one asked for, else 408. */
#include "runloop_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "provider.h" /* sp_now_ms */

/* --- POST /v1/devboxes --------------------------------------------------------------------- */

struct create_params {
    struct sp_kv env, metadata;
    const char *name, *prebuilt, *entrypoint, *tunnel_mode;
    bool launch, tunnel;
};

static bool opt_str(const cJSON *o, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v))
        return true;
    *out = cJSON_IsString(v) ? v->valuestring : NULL;
    return *out != NULL;
}

static bool opt_map(const cJSON *o, const char *key, struct sp_kv *out)
{
    struct sp_error err;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v == NULL || cJSON_IsNull(v) || sp_json_get_kv(o, key, false, out, key, &err) == 0;
}

/* Fills p (every key optional, unknown keys ignored); returns the message of a bad field. */
static const char *parse_create(const cJSON *o, struct create_params *p)
{
    if (!opt_str(o, "name", &p->name) || (p->name && strlen(p->name) >= 128))
        return "name must be a string of at most 127 characters";
    if (!opt_str(o, "prebuilt", &p->prebuilt) || (p->prebuilt && strlen(p->prebuilt) >= 64))
        return "prebuilt must be a string";
    if (!opt_str(o, "entrypoint", &p->entrypoint))
        return "entrypoint must be a string";
    if (!opt_map(o, "environment_variables", &p->env))
        return "environment_variables must be a map of strings";
    if (!opt_map(o, "metadata", &p->metadata))
        return "metadata must be a map of strings";
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(o, "launch_parameters");
    if (lp && !cJSON_IsNull(lp) && !cJSON_IsObject(lp))
        return "launch_parameters must be an object";
    p->launch = cJSON_IsObject(lp);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tunnel");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsObject(t) || !opt_str(t, "auth_mode", &p->tunnel_mode) ||
            (p->tunnel_mode && strcmp(p->tunnel_mode, "open") != 0 &&
             strcmp(p->tunnel_mode, "authenticated") != 0))
            return "tunnel.auth_mode must be open or authenticated";
        p->tunnel = true;
    }
    return NULL;
}

static struct rl_devbox *devbox_new(struct sp_mock *m, const struct create_params *p)
{
    struct rl_devbox *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    pthread_mutex_init(&v->lock, NULL);
    snprintf(v->prebuilt, sizeof(v->prebuilt), "%s", p->prebuilt ? p->prebuilt : "");
    snprintf(v->entrypoint, sizeof(v->entrypoint), "%s", p->entrypoint ? p->entrypoint : "");
    v->launch = p->launch;
    if (p->tunnel) {
        v->tunnel = true;
        v->tunnel_auth = p->tunnel_mode && strcmp(p->tunnel_mode, "authenticated") == 0;
        v->tunnel_ms = mock_wall_ms();
        mock_random_hex(m, v->tunnel_token, 32);
    }
    return v;
}

/* Creates the devbox in the store with its vendor data, env and metadata, all under the rl
 * lock so no reader sees it half made. Returns it referenced, or NULL. */
static struct mock_sandbox *
create_devbox(struct sp_mock *m, const struct create_params *p, struct rl_devbox *v)
{
    struct rl_state *st = mock_vendor_data(m);
    char id[40] = "dbx_";
    mock_random_hex(m, id + 4, 24);
    snprintf(v->name, sizeof(v->name), "%s", p->name && p->name[0] ? p->name : id);
    const char *dirs[] = {RL_HOME, "/tmp", NULL};
    return mock_create_sandbox(m, &st->lock, id, dirs, v, &p->env, &p->metadata);
}

void rl_create(struct mock_req *r)
{
    struct create_params p = {0};
    sp_kv_init(&p.env);
    sp_kv_init(&p.metadata);
    cJSON *o = rl_body(r);
    const char *bad = o ? parse_create(o, &p) : NULL;
    struct rl_devbox *v = NULL;
    struct mock_sandbox *sb = NULL;
    if (o != NULL && bad != NULL)
        rl_error(r, 400, "bad_request", bad);
    else if (o != NULL && ((v = devbox_new(r->mock, &p)) == NULL ||
                           (sb = create_devbox(r->mock, &p, v)) == NULL))
        rl_error(r, 500, "internal_error", "could not create the devbox");
    if (sb != NULL) {
        /* The entrypoint runs when the devbox boots: OpenHands' server is the mock's. */
        if (p.entrypoint)
            mock_action_server_claim(r->mock, sb, p.entrypoint);
        rl_reply_devbox(r, sb);
        mock_store_put(mock_store_of(r->mock), sb);
    } else if (v != NULL) {
        pthread_mutex_destroy(&v->lock);
        free(v);
    }
    cJSON_Delete(o);
    sp_kv_cleanup(&p.env);
    sp_kv_cleanup(&p.metadata);
}

/* --- shutdown and waiting ------------------------------------------------------------------- */

void rl_shutdown(struct mock_req *r)
{
    struct mock_sandbox *sb = rl_lookup(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    struct rl_devbox *v = rl_devbox_of(r->mock, sb);
    if (mock_sandbox_phase(s, sb) != MOCK_DELETED) {
        mock_sandbox_transition(s, sb, MOCK_DELETED, MOCK_DELETED, MOCK_DELAY_DELETE);
        pthread_mutex_lock(&v->lock);
        v->end_ms = mock_wall_ms();
        pthread_mutex_unlock(&v->lock);
        rl_execs_free(v, true);
    }
    rl_reply_devbox(r, sb); /* the view says `shutdown` at once (R4) */
    mock_store_put(s, sb);
}

/* The status name the view would show now. */
static bool phase_in(struct mock_req *r, struct mock_sandbox *sb, const cJSON *statuses)
{
    enum mock_phase ph = mock_sandbox_phase(mock_store_of(r->mock), sb);
    const char *name = mock_vendor_runloop.phase_name((int)ph);
    return rl_status_wanted(statuses, name);
}

/* A held wait_for_status: the devbox (referenced), the statuses asked for, the deadline. */
struct devbox_wait {
    struct mock_sandbox *sb;
    cJSON *body; /* owns statuses */
    const cJSON *statuses;
    int64_t until_ms;
};

static void devbox_wait_free(struct mock_req *r, struct devbox_wait *w)
{
    mock_store_put(mock_store_of(r->mock), w->sb);
    cJSON_Delete(w->body);
    free(w);
}

/* Answers when the devbox is in a status asked for, 408 at the deadline, else looks again in
 * RL_POLL_US: a timer, no thread waits (phases move on the store's clock). */
static void devbox_wait_step(struct mock_req *r, void *ctx)
{
    struct devbox_wait *w = ctx;
    if (r->cancelled) {
        devbox_wait_free(r, w);
        return;
    }
    if (phase_in(r, w->sb, w->statuses))
        rl_reply_devbox(r, w->sb);
    else if (sp_now_ms() >= w->until_ms)
        rl_error(r, 408, "request_timeout", "Devbox did not reach a requested status in time");
    else {
        mock_defer(r, RL_POLL_US, devbox_wait_step, w);
        return;
    }
    devbox_wait_free(r, w);
}

void rl_wait_devbox(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    if (body == NULL)
        return;
    const cJSON *statuses = cJSON_GetObjectItemCaseSensitive(body, "statuses");
    struct mock_sandbox *sb = NULL;
    struct devbox_wait *w = NULL;
    if (!cJSON_IsArray(statuses) || cJSON_GetArraySize(statuses) == 0)
        rl_error(r, 400, "bad_request", "statuses must be a non-empty array");
    else if ((sb = rl_lookup(r)) != NULL && (w = calloc(1, sizeof(*w))) == NULL) {
        rl_error(r, 500, "internal_error", "out of memory");
        mock_store_put(mock_store_of(r->mock), sb);
    }
    if (w == NULL) {
        cJSON_Delete(body);
        return;
    }
    *w = (struct devbox_wait){sb, body, statuses, sp_now_ms() + RL_HOLD_MS};
    devbox_wait_step(r, w);
}
