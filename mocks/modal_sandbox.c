/* The Modal mock's sandbox RPCs (spec/runloop-modal.md M5, M6, M8, M10): create in both
 * generations (V1 ids "sb-" + 22 base62, V2 any other "sb-" id), task id, tunnels to the
 * action-server mock, wait, terminate, list by app and tags, tags, and the task command
 * router's access. The V2 methods share the V1 handlers where the messages are the same. */
#include "modal_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h" /* sp_now_us */

#define GENERIC(s) MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_##s

static bool app_known(struct mock_req *r, const char *app_id)
{
    struct modal_state *st = modal_state(r);
    bool found = false;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->apps.n && !found; i++)
        found = strcmp(st->apps.items[i].val, app_id) == 0;
    pthread_mutex_unlock(&st->lock);
    return found;
}

static struct modal_sb *modal_sb_new(void)
{
    struct modal_sb *ms = calloc(1, sizeof(*ms));
    if (ms == NULL)
        return NULL;
    pthread_mutex_init(&ms->lock, NULL);
    pthread_cond_init(&ms->cond, NULL);
    return ms;
}

static bool sb_finished(struct mock_req *r, struct mock_sandbox *sb)
{
    struct modal_sb *ms = sb->vendor;
    enum mock_phase p = mock_sandbox_phase(mock_store_of(r->mock), sb);
    pthread_mutex_lock(&ms->lock);
    bool term = ms->terminated;
    pthread_mutex_unlock(&ms->lock);
    return term || p >= MOCK_STOPPING;
}

/* What create needs from either request generation. */
struct create_args {
    const char *app_id;
    const Modal__Client__Sandbox *def;
    Modal__Client__SandboxTag **tags;
    size_t n_tags;
    struct sp_kv env; /* from secrets, inline env and ephemeral secrets */
    bool v2;
};

static void tags_to_kv(Modal__Client__SandboxTag **tags, size_t n, struct sp_kv *kv)
{
    for (size_t i = 0; i < n; i++)
        sp_kv_set(kv, tags[i]->tag_name, tags[i]->tag_value);
}

/* Creates the sandbox; replies with the error itself and returns NULL on failure. */
static struct mock_sandbox *create(struct mock_req *r, struct create_args *a)
{
    if (!app_known(r, a->app_id)) {
        modal_reply_status(r, MODAL_NOT_FOUND, "App not found");
        return NULL;
    }
    if (a->def == NULL) {
        modal_reply_status(r, MODAL_INVALID_ARGUMENT, "missing sandbox definition");
        return NULL;
    }
    for (size_t i = 0; i < a->def->n_secret_ids; i++) {
        if (!modal_secret_env(r, a->def->secret_ids[i], &a->env)) {
            modal_reply_status(r, MODAL_NOT_FOUND, "Secret not found");
            return NULL;
        }
    }
    char id[40];
    if (a->v2)
        modal_id32(r, "sb-", 26, id, sizeof(id)); /* anything but 22 base62: V2 (M8) */
    else
        modal_id62(r, "sb-", 22, id, sizeof(id));
    const char *workdir = a->def->_workdir_case == MODAL__CLIENT__SANDBOX___WORKDIR_WORKDIR
                              ? a->def->workdir
                              : "/root";
    const char *dirs[] = {"/root", "/tmp", workdir, NULL};
    struct mock_store *s = mock_store_of(r->mock);
    struct modal_sb *ms = modal_sb_new();
    struct mock_sandbox *sb =
        ms ? mock_store_create(s, id, dirs, MOCK_CREATING, MOCK_RUNNING, MOCK_DELAY_CREATE) : NULL;
    if (sb == NULL) {
        free(ms);
        modal_reply_status(r, MODAL_INTERNAL, "mock: cannot create the sandbox");
        return NULL;
    }
    snprintf(ms->app_id, sizeof(ms->app_id), "%s", a->app_id);
    snprintf(ms->image_id, sizeof(ms->image_id), "%s", a->def->image_id);
    modal_id32(r, "ta-", 26, ms->task_id, sizeof(ms->task_id));
    ms->v2 = a->v2;
    const Modal__Client__PortSpecs *ps =
        a->def->open_ports_oneof_case == MODAL__CLIENT__SANDBOX__OPEN_PORTS_ONEOF_OPEN_PORTS
            ? a->def->open_ports
            : NULL;
    for (size_t i = 0; ps && i < ps->n_ports && ms->n_ports < MODAL_MAX_PORTS; i++)
        ms->ports[ms->n_ports++] = ps->ports[i]->port;
    sb->vendor = ms;
    sp_kv_merge(&sb->env, &a->env); /* nobody can run a command in it yet */
    struct sp_kv tags;
    sp_kv_init(&tags);
    tags_to_kv(a->tags, a->n_tags, &tags);
    mock_sandbox_set_labels(s, sb, &tags);
    sp_kv_cleanup(&tags);
    struct modal_state *st = modal_state(r);
    pthread_mutex_lock(&st->lock);
    sp_kv_set(&st->tasks, ms->task_id, id);
    pthread_mutex_unlock(&st->lock);
    /* OpenHands' server entrypoint becomes the action-server mock behind the tunnel. */
    struct sp_buf cmd;
    sp_buf_init(&cmd, 0);
    for (size_t i = 0; i < a->def->n_entrypoint_args; i++)
        sp_buf_printf(&cmd, "%s%s", i ? " " : "", a->def->entrypoint_args[i]);
    if (cmd.len > 0)
        mock_action_server_claim(r->mock, sb, sp_buf_str(&cmd));
    sp_buf_cleanup(&cmd);
    return sb;
}

void modal_sandbox_create(struct mock_req *r)
{
    Modal__Client__SandboxCreateRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_create_request__descriptor);
    if (in == NULL)
        return;
    struct create_args a = {in->app_id, in->definition, in->tags, in->n_tags, {0}, false};
    sp_kv_init(&a.env);
    struct mock_sandbox *sb = create(r, &a);
    if (sb != NULL) {
        Modal__Client__SandboxCreateResponse out = MODAL__CLIENT__SANDBOX_CREATE_RESPONSE__INIT;
        out.sandbox_id = sb->id;
        modal_reply_msg(r, &out.base);
        mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_API_CREATE));
        mock_store_put(mock_store_of(r->mock), sb);
    }
    sp_kv_cleanup(&a.env);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* Tunnel entries for the sandbox's open ports, on the tunnel listener. */
struct tunnels {
    Modal__Client__TunnelData data[MODAL_MAX_PORTS];
    Modal__Client__TunnelData *ptrs[MODAL_MAX_PORTS];
    char hosts[MODAL_MAX_PORTS][96];
    size_t n;
};

static void tunnels_fill(struct mock_req *r, struct mock_sandbox *sb, struct tunnels *t)
{
    struct modal_sb *ms = sb->vendor;
    unsigned tport = modal_tunnel_port(r);
    t->n = 0;
    for (int i = 0; tport && i < ms->n_ports; i++) {
        Modal__Client__TunnelData *d = &t->data[t->n];
        *d = (Modal__Client__TunnelData)MODAL__CLIENT__TUNNEL_DATA__INIT;
        char label[64];
        modal_host_label(sb->id, label, sizeof(label));
        snprintf(t->hosts[t->n], sizeof(t->hosts[0]), "%u-%s." MODAL_TUNNEL_DOMAIN, ms->ports[i],
                 label);
        d->host = t->hosts[t->n];
        d->port = tport; /* TLS, as real tunnels: Tunnel.url is https://host:port */
        d->container_port = ms->ports[i];
        t->ptrs[t->n] = d;
        t->n++;
    }
}

/* The router URL: https as the JS SDK demands, on this same port; the SDK dials it in
 * plaintext because the server URL is a loopback address (M7). */
static void router_url(struct mock_req *r, char *out, size_t len)
{
    const char *origin = mock_origin(r->mock);
    snprintf(out, len, "https://%s", strncmp(origin, "http://", 7) == 0 ? origin + 7 : origin);
}

void modal_sandbox_create_v2(struct mock_req *r)
{
    Modal__Client__SandboxCreateV2Request *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_create_v2_request__descriptor);
    if (in == NULL)
        return;
    struct create_args a = {in->app_id, in->definition, in->tags, in->n_tags, {0}, true};
    sp_kv_init(&a.env);
    bool ok = true;
    for (size_t i = 0; i < in->n_secret_sources && ok; i++) {
        const Modal__Client__SecretSource *src = in->secret_sources[i];
        if (src->env)
            for (size_t k = 0; k < src->env->n_contents; k++)
                sp_kv_set(&a.env, src->env->contents[k]->key, src->env->contents[k]->value);
        if (src->secret_id[0] && !modal_secret_env(r, src->secret_id, &a.env))
            ok = false;
    }
    for (size_t k = 0; in->ephemeral_secrets && k < in->ephemeral_secrets->n_contents; k++)
        sp_kv_set(&a.env, in->ephemeral_secrets->contents[k]->key,
                  in->ephemeral_secrets->contents[k]->value);
    struct mock_sandbox *sb = ok ? create(r, &a) : NULL;
    if (!ok)
        modal_reply_status(r, MODAL_NOT_FOUND, "Secret not found");
    if (sb != NULL) {
        struct modal_sb *ms = sb->vendor;
        struct tunnels t;
        tunnels_fill(r, sb, &t);
        char url[128];
        router_url(r, url, sizeof(url));
        Modal__Client__CommandRouterAccess cra = MODAL__CLIENT__COMMAND_ROUTER_ACCESS__INIT;
        cra.jwt = modal_state(r)->router_jwt;
        cra.url = url;
        Modal__Client__SandboxCreateV2Response out =
            MODAL__CLIENT__SANDBOX_CREATE_V2_RESPONSE__INIT;
        out.sandbox_id = sb->id;
        out.task_id = ms->task_id;
        out.command_router_access = &cra;
        out.n_tunnels = t.n;
        out.tunnels = t.ptrs;
        modal_reply_msg(r, &out.base);
        mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_API_CREATE));
        mock_store_put(mock_store_of(r->mock), sb);
    }
    sp_kv_cleanup(&a.env);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* The task id once the sandbox left creating (JS 0.11.1 blocks create() on it, M10 4); none
 * while it is still being created at the request's timeout (the caller asks again), and
 * the result instead for a sandbox that failed or ended. */
static void task_id_reply(struct mock_req *r, struct mock_sandbox *sb)
{
    struct modal_sb *ms = sb->vendor;
    enum mock_phase p = mock_sandbox_phase(mock_store_of(r->mock), sb);
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    Modal__Client__SandboxGetTaskIdResponse out = MODAL__CLIENT__SANDBOX_GET_TASK_ID_RESPONSE__INIT;
    if (p == MOCK_FAILED || sb_finished(r, sb)) {
        res.status = p == MOCK_FAILED ? GENERIC(FAILURE) : GENERIC(TERMINATED);
        res.exception = sb->error_reason;
        out._task_result_case =
            MODAL__CLIENT__SANDBOX_GET_TASK_ID_RESPONSE___TASK_RESULT_TASK_RESULT;
        out.task_result = &res;
    } else if (p != MOCK_CREATING) {
        out._task_id_case = MODAL__CLIENT__SANDBOX_GET_TASK_ID_RESPONSE___TASK_ID_TASK_ID;
        out.task_id = ms->task_id;
    }
    modal_reply_msg(r, &out.base);
}

void modal_sandbox_get_task_id(struct mock_req *r)
{
    Modal__Client__SandboxGetTaskIdRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_get_task_id_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_sandbox(r, in->sandbox_id);
    float t = in->_timeout_case ? in->timeout : 10;
    long cap_ms = t > 0 && t < 55 ? (long)(t * 1000) : t <= 0 ? 0 : 55000;
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb != NULL) /* takes over the reference */
        mock_reply_when_left(r, sb, MOCK_CREATING, cap_ms, 0, task_id_reply);
}

/* Tunnels once the sandbox runs; result TIMEOUT when it is still being created at the
 * request's timeout, FAILURE when it failed (what the SDKs turn into their errors). */
static void tunnels_reply(struct mock_req *r, struct mock_sandbox *sb)
{
    enum mock_phase p = mock_sandbox_phase(mock_store_of(r->mock), sb);
    struct tunnels t = {.n = 0};
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    Modal__Client__SandboxGetTunnelsResponse out =
        MODAL__CLIENT__SANDBOX_GET_TUNNELS_RESPONSE__INIT;
    out.result = &res;
    if (p == MOCK_CREATING || p == MOCK_STARTING) {
        res.status = GENERIC(TIMEOUT);
    } else if (p == MOCK_FAILED) {
        res.status = GENERIC(FAILURE);
        res.exception =
            sb->error_reason[0] ? sb->error_reason : (char *)(uintptr_t) "sandbox failed";
    } else if (sb_finished(r, sb)) {
        res.status = GENERIC(TERMINATED);
    } else {
        res.status = GENERIC(SUCCESS);
        tunnels_fill(r, sb, &t);
        out.n_tunnels = t.n;
        out.tunnels = t.ptrs;
    }
    modal_reply_msg(r, &out.base);
}

void modal_sandbox_get_tunnels(struct mock_req *r)
{
    Modal__Client__SandboxGetTunnelsRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_get_tunnels_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_sandbox(r, in->sandbox_id);
    long cap_ms = in->timeout > 0 && in->timeout < 55 ? (long)(in->timeout * 1000) : 55000;
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb != NULL) /* takes over the reference */
        mock_reply_when_left(r, sb, MOCK_CREATING, cap_ms, 0, tunnels_reply);
}

/* --- wait --------------------------------------------------------------------------------- */

struct wait_ctx {
    struct mock_sandbox *sb;
    int64_t until_us;
};

static void wait_reply(struct mock_req *r, struct mock_sandbox *sb)
{
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    Modal__Client__SandboxWaitResponse out = MODAL__CLIENT__SANDBOX_WAIT_RESPONSE__INIT;
    if (mock_sandbox_phase(mock_store_of(r->mock), sb) == MOCK_FAILED) {
        res.status = GENERIC(FAILURE);
        res.exitcode = 1;
        res.exception =
            sb->error_reason[0] ? sb->error_reason : (char *)(uintptr_t) "sandbox failed";
        out.result = &res;
    } else if (sb_finished(r, sb)) { /* terminated: exit 137 for the SDKs (M10 6) */
        res.status = GENERIC(TERMINATED);
        res.exitcode = 137;
        out.result = &res;
    }
    modal_reply_msg(r, &out.base);
}

static void wait_step(struct mock_req *r, void *arg)
{
    struct wait_ctx *w = arg;
    if (!r->cancelled && !sb_finished(r, w->sb) && sp_now_us() < w->until_us) {
        mock_defer(r, 100000, wait_step, w);
        return;
    }
    if (!r->cancelled)
        wait_reply(r, w->sb);
    mock_store_put(mock_store_of(r->mock), w->sb);
    free(w);
}

void modal_sandbox_wait(struct mock_req *r)
{
    Modal__Client__SandboxWaitRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_wait_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_sandbox(r, in->sandbox_id);
    float timeout = in->timeout;
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb == NULL)
        return;
    struct wait_ctx *w = timeout > 0 && !sb_finished(r, sb) ? malloc(sizeof(*w)) : NULL;
    if (w == NULL) { /* timeout 0 (attach by id): the state now */
        wait_reply(r, sb);
        mock_store_put(mock_store_of(r->mock), sb);
        return;
    }
    w->sb = sb;
    w->until_us = sp_now_us() + (int64_t)((double)(timeout > 55 ? 55 : timeout) * 1e6);
    mock_defer(r, 100000, wait_step, w);
}

void modal_sandbox_terminate(struct mock_req *r)
{
    Modal__Client__SandboxTerminateRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_terminate_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_sandbox(r, in->sandbox_id);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb == NULL)
        return;
    struct modal_sb *ms = sb->vendor;
    struct mock_store *s = mock_store_of(r->mock);
    bool was = sb_finished(r, sb);
    pthread_mutex_lock(&ms->lock);
    ms->terminated = true;
    pthread_mutex_unlock(&ms->lock);
    modal_execs_kill(ms);
    /* Gone at once (a failed one too): SandboxWait reports it terminated from now on. */
    if (mock_sandbox_phase(s, sb) != MOCK_DELETED)
        mock_sandbox_transition(s, sb, MOCK_DELETED, MOCK_DELETED, MOCK_DELAY_DELETE);
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    res.status = GENERIC(TERMINATED);
    Modal__Client__SandboxTerminateResponse out = MODAL__CLIENT__SANDBOX_TERMINATE_RESPONSE__INIT;
    if (was)
        out.existing_result = &res;
    modal_reply_msg(r, &out.base);
    mock_store_put(s, sb);
}

/* --- list and tags ------------------------------------------------------------------------ */

#define LIST_PAGE 100

struct list_ctx {
    struct mock_req *r;
    const Modal__Client__SandboxListRequest *in;
    struct sp_kv want;
    struct mock_sandbox *hits[LIST_PAGE]; /* newest last while collecting; referenced */
    size_t n;
};

static bool list_one(struct mock_sandbox *sb, void *user)
{
    struct list_ctx *l = user;
    struct modal_sb *ms = sb->vendor;
    struct mock_store *s = mock_store_of(l->r->mock);
    if (ms == NULL || (l->in->app_id[0] && strcmp(ms->app_id, l->in->app_id) != 0))
        return true;
    if (l->in->before_timestamp > 0 &&
        (double)sb->created_wall_ms / 1000.0 >= l->in->before_timestamp)
        return true;
    if (!l->in->include_finished && sb_finished(l->r, sb))
        return true;
    if (l->want.n > 0 && !mock_sandbox_has_labels(s, sb, &l->want))
        return true;
    if (l->n == LIST_PAGE) { /* keep the newest page: drop the oldest */
        mock_store_put(s, l->hits[0]);
        memmove(l->hits, l->hits + 1, (LIST_PAGE - 1) * sizeof(l->hits[0]));
        l->n--;
    }
    struct mock_sandbox *ref = mock_store_get(s, sb->id);
    if (ref)
        l->hits[l->n++] = ref;
    return true;
}

void modal_sandbox_list(struct mock_req *r)
{
    Modal__Client__SandboxListRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_list_request__descriptor);
    if (in == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    struct list_ctx *l = calloc(1, sizeof(*l));
    Modal__Client__SandboxInfo *info = calloc(LIST_PAGE, sizeof(*info));
    Modal__Client__SandboxInfo **ptrs = calloc(LIST_PAGE, sizeof(*ptrs));
    Modal__Client__TaskInfo *tinfo = calloc(LIST_PAGE, sizeof(*tinfo));
    Modal__Client__SandboxTag *tags = NULL, **tagp = NULL;
    if (l == NULL || info == NULL || ptrs == NULL || tinfo == NULL) {
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        goto out;
    }
    l->r = r;
    l->in = in;
    sp_kv_init(&l->want);
    tags_to_kv(in->tags, in->n_tags, &l->want);
    mock_store_each(s, list_one, l);
    struct sp_kv *labels = calloc(l->n ? l->n : 1, sizeof(*labels));
    size_t total_tags = 0;
    for (size_t i = 0; labels && i < l->n; i++) {
        sp_kv_init(&labels[i]);
        mock_sandbox_copy_labels(s, l->hits[i], &labels[i]);
        total_tags += labels[i].n;
    }
    tags = calloc(total_tags ? total_tags : 1, sizeof(*tags));
    tagp = calloc(total_tags ? total_tags : 1, sizeof(*tagp));
    size_t t = 0;
    for (size_t k = 0; labels && tags && tagp && k < l->n; k++) {
        size_t i = l->n - 1 - k; /* newest first */
        struct mock_sandbox *sb = l->hits[i];
        struct modal_sb *ms = sb->vendor;
        info[k] = (Modal__Client__SandboxInfo)MODAL__CLIENT__SANDBOX_INFO__INIT;
        tinfo[k] = (Modal__Client__TaskInfo)MODAL__CLIENT__TASK_INFO__INIT;
        tinfo[k].id = ms->task_id;
        tinfo[k].sandbox_id = sb->id;
        info[k].id = sb->id;
        info[k].app_id = ms->app_id;
        info[k].image_id = ms->image_id;
        info[k].created_at = (double)sb->created_wall_ms / 1000.0;
        info[k].task_info = &tinfo[k];
        info[k].tags = tagp + t;
        for (size_t j = 0; j < labels[i].n; j++, t++) {
            tags[t] = (Modal__Client__SandboxTag)MODAL__CLIENT__SANDBOX_TAG__INIT;
            tags[t].tag_name = labels[i].items[j].key;
            tags[t].tag_value = labels[i].items[j].val;
            tagp[t] = &tags[t];
            info[k].n_tags++;
        }
        ptrs[k] = &info[k];
    }
    Modal__Client__SandboxListResponse resp = MODAL__CLIENT__SANDBOX_LIST_RESPONSE__INIT;
    resp.n_sandboxes = labels && tags && tagp ? l->n : 0;
    resp.sandboxes = ptrs;
    if (labels && tags && tagp)
        modal_reply_msg(r, &resp.base);
    else
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
    for (size_t i = 0; i < l->n; i++) {
        if (labels)
            sp_kv_cleanup(&labels[i]);
        mock_store_put(s, l->hits[i]);
    }
    free(labels);
    sp_kv_cleanup(&l->want);
out:
    free(tags);
    free(tagp);
    free(tinfo);
    free(ptrs);
    free(info);
    free(l);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void modal_sandbox_tags_set(struct mock_req *r)
{
    Modal__Client__SandboxTagsSetRequest *in =
        (void *)modal_req_msg(r, &modal__client__sandbox_tags_set_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_sandbox(r, in->sandbox_id);
    if (sb != NULL) {
        struct sp_kv tags;
        sp_kv_init(&tags);
        tags_to_kv(in->tags, in->n_tags, &tags);
        mock_sandbox_set_labels(mock_store_of(r->mock), sb, &tags);
        sp_kv_cleanup(&tags);
        Google__Protobuf__Empty out = GOOGLE__PROTOBUF__EMPTY__INIT;
        modal_reply_msg(r, &out.base);
        mock_store_put(mock_store_of(r->mock), sb);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* --- the task command router's address ---------------------------------------------------- */

static void reply_access(struct mock_req *r, bool sandbox_form)
{
    char url[128];
    router_url(r, url, sizeof(url));
    if (sandbox_form) {
        Modal__Client__SandboxGetCommandRouterAccessResponse out =
            MODAL__CLIENT__SANDBOX_GET_COMMAND_ROUTER_ACCESS_RESPONSE__INIT;
        out.jwt = modal_state(r)->router_jwt;
        out.url = url;
        modal_reply_msg(r, &out.base);
    } else {
        Modal__Client__TaskGetCommandRouterAccessResponse out =
            MODAL__CLIENT__TASK_GET_COMMAND_ROUTER_ACCESS_RESPONSE__INIT;
        out.jwt = modal_state(r)->router_jwt;
        out.url = url;
        modal_reply_msg(r, &out.base);
    }
}

void modal_task_router_access(struct mock_req *r)
{
    Modal__Client__TaskGetCommandRouterAccessRequest *in = (void *)modal_req_msg(
        r, &modal__client__task_get_command_router_access_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = modal_task_sandbox(r, in->task_id);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb == NULL) {
        modal_reply_status(r, MODAL_NOT_FOUND, "Task not found");
        return;
    }
    reply_access(r, false);
    mock_store_put(mock_store_of(r->mock), sb);
}

void modal_sandbox_router_access(struct mock_req *r)
{
    Modal__Client__SandboxGetCommandRouterAccessRequest *in = (void *)modal_req_msg(
        r, &modal__client__sandbox_get_command_router_access_request__descriptor);
    if (in == NULL)
        return;
    struct mock_sandbox *sb = NULL;
    if (in->target_case ==
        MODAL__CLIENT__SANDBOX_GET_COMMAND_ROUTER_ACCESS_REQUEST__TARGET_SANDBOX_ID)
        sb = modal_sandbox(r, in->sandbox_id);
    else if ((sb = modal_task_sandbox(r, in->target_case ? in->task_id : "")) == NULL)
        modal_reply_status(r, MODAL_NOT_FOUND, "Task not found");
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (sb == NULL)
        return;
    reply_access(r, true);
    mock_store_put(mock_store_of(r->mock), sb);
}
