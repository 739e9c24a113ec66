/* Runloop's wire format (spec/runloop-modal.md Part R, as runloop-api-client 0.50 / TS 0.44
 * and TS 1.32 speak it): request bodies built from our structs, responses parsed into them.
 * The only Runloop file that walks JSON. */
#include "json.h"
#include "runloop.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVBOX_WHAT "Runloop devbox"

/* launch_parameters exactly as RunloopRuntime sends them (R2). */
static bool add_launch(cJSON *root)
{
    cJSON *lp = cJSON_AddObjectToObject(root, "launch_parameters");
    const int ports[] = {RUNLOOP_SERVER_PORT, RUNLOOP_VSCODE_PORT};
    const char *cmds[] = {"mkdir -p /workspace"};
    cJSON *p = lp ? cJSON_CreateIntArray(ports, 2) : NULL;
    cJSON *c = p ? cJSON_CreateStringArray(cmds, 1) : NULL;
    if (c == NULL) {
        cJSON_Delete(p);
        return false;
    }
    cJSON_AddItemToObject(lp, "available_ports", p);
    cJSON_AddItemToObject(lp, "launch_commands", c);
    return cJSON_AddStringToObject(lp, "resource_size_request", "LARGE") != NULL;
}

static bool add_metadata(cJSON *root, const struct runloop_create_req *c)
{
    char container[200];
    snprintf(container, sizeof(container), "openhands-runtime-%s", c->name);
    cJSON *md = cJSON_AddObjectToObject(root, "metadata");
    bool ok = md && cJSON_AddStringToObject(md, "container-name", container);
    if (ok && c->run_id)
        ok = cJSON_AddStringToObject(md, SP_RUN_LABEL, c->run_id) != NULL;
    return ok;
}

enum sp_err sp__runloop_build_create(const struct runloop_create_req *c,
                                     struct sp_buf *out,
                                     struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *env = c->env ? sp_json_from_kv(c->env) : cJSON_CreateObject();
    bool ok = root && env && cJSON_AddStringToObject(root, "name", c->name);
    if (ok) {
        cJSON_AddItemToObject(root, "environment_variables", env);
        env = NULL;
        ok = cJSON_AddStringToObject(root, "prebuilt",
                                     c->prebuilt ? c->prebuilt : RUNLOOP_PREBUILT) &&
             add_metadata(root, c);
    }
    if (ok && c->entrypoint)
        ok = cJSON_AddStringToObject(root, "entrypoint", c->entrypoint) != NULL;
    if (ok && c->launch_parameters)
        ok = add_launch(root);
    if (ok && c->tunnel_auth) {
        cJSON *t = cJSON_AddObjectToObject(root, "tunnel");
        ok = t && cJSON_AddStringToObject(t, "auth_mode", c->tunnel_auth);
    }
    cJSON_Delete(env);
    return sp_json_finish(root, ok, out, "Runloop", err);
}

enum sp_err sp__runloop_build_port(unsigned port, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    return sp_json_finish(root, root && cJSON_AddNumberToObject(root, "port", port), out, "Runloop",
                          err);
}

enum sp_err
sp__runloop_build_tunnel(const char *auth_mode, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    return sp_json_finish(root, root && cJSON_AddStringToObject(root, "auth_mode", auth_mode), out,
                          "Runloop", err);
}

enum sp_err sp__runloop_build_command(const char *command, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    return sp_json_finish(root, root && cJSON_AddStringToObject(root, "command", command), out,
                          "Runloop", err);
}

enum sp_err sp__runloop_build_statuses(const char *status, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_CreateStringArray(&status, 1) : NULL;
    bool ok = arr != NULL;
    if (ok)
        cJSON_AddItemToObject(root, "statuses", arr);
    return sp_json_finish(root, ok, out, "Runloop", err);
}

/* True when data is text JSON can carry: no NUL bytes, well-formed UTF-8. */
static bool json_text(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (c == 0 || n == 0 || (n == 2 && c < 0xC2) || i + n > len)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

enum sp_err sp__runloop_build_file(const char *key,
                                   const char *path,
                                   const void *contents,
                                   size_t len,
                                   struct sp_buf *out,
                                   struct sp_error *err)
{
    char *text = NULL;
    if (contents != NULL) {
        if (!json_text(contents, len))
            return sp_error_set(err, SP_E_UNSUPPORTED,
                                "text write of %.200s: data has NUL bytes or invalid UTF-8 "
                                "(use upload)",
                                path);
        if ((text = malloc(len + 1)) == NULL)
            return sp_error_set(err, SP_E_INTERNAL, "out of memory building a Runloop request");
        memcpy(text, contents, len);
        text[len] = '\0';
    }
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, key, path);
    if (ok && text)
        ok = cJSON_AddStringToObject(root, "contents", text) != NULL;
    free(text);
    return sp_json_finish(root, ok, out, "Runloop", err);
}

/* --- responses ------------------------------------------------------------------------------ */

static bool valid_id(const char *id)
{
    if (strncmp(id, "dbx_", 4) != 0 || id[4] == '\0')
        return false;
    for (const char *p = id + 4; *p; p++)
        if (!isalnum((unsigned char)*p))
            return false;
    return true;
}

/* An optional string member of an optional object member. */
static int sub_str(
    const cJSON *obj, const char *sub, const char *key, char *out, size_t len, struct sp_error *err)
{
    return sp_json_copy_sub_str(obj, sub, key, out, len, DEVBOX_WHAT, err);
}

static enum sp_err devbox_from_json(const cJSON *obj,
                                    const char *match_key,
                                    struct runloop_devbox *out,
                                    struct sp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return sp_error_set(err, SP_E_PROTOCOL, DEVBOX_WHAT ": not an object");
    const char *reason = NULL;
    if (sp_json_copy_str(obj, "id", true, out->id, sizeof(out->id), DEVBOX_WHAT, err) != 0 ||
        sp_json_copy_str(obj, "status", true, out->status, sizeof(out->status), DEVBOX_WHAT, err) !=
            0 ||
        sp_json_copy_str(obj, "name", false, out->name, sizeof(out->name), DEVBOX_WHAT, err) ||
        sp_json_get_str(obj, "failure_reason", false, &reason, DEVBOX_WHAT, err) != 0 ||
        sub_str(obj, "metadata", SP_RUN_LABEL, out->run_label, sizeof(out->run_label), err) ||
        (match_key && sub_str(obj, "metadata", match_key, out->match, sizeof(out->match), err)) ||
        sub_str(obj, "tunnel", "tunnel_key", out->tunnel_key, sizeof(out->tunnel_key), err) ||
        sub_str(obj, "tunnel", "auth_token", out->tunnel_token, sizeof(out->tunnel_token), err))
        return SP_E_PROTOCOL;
    if (!valid_id(out->id))
        return sp_error_set(err, SP_E_PROTOCOL, DEVBOX_WHAT ": id '%.60s' is not dbx_<alnum>",
                            out->id);
    snprintf(out->failure_reason, sizeof(out->failure_reason), "%s", reason ? reason : "");
    return SP_E_OK;
}

enum sp_err sp__runloop_parse_devbox(const char *body,
                                     size_t len,
                                     struct runloop_devbox *out,
                                     struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, DEVBOX_WHAT, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    enum sp_err rc = devbox_from_json(root, NULL, out, err);
    cJSON_Delete(root);
    return rc;
}

static bool list_match(const struct runloop_list *acc, const struct runloop_devbox *d)
{
    if (strcmp(acc->key, RUNLOOP_SESSION_KEY) == 0)
        return strcmp(d->name, acc->value) == 0;
    return strcmp(d->match, acc->value) == 0;
}

#define LIST_WHAT "Runloop devbox list"

/* A page of GET /v1/devboxes (attach and sweep read it alike): its `devboxes` array into
 * *items and `has_more`. Returns the parsed root (delete it with page_close), or NULL with a
 * protocol error. */
static cJSON *
page_open(const char *body, size_t len, bool *has_more, const cJSON **items, struct sp_error *err)
{
    *has_more = false;
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, LIST_WHAT, err);
    if (root == NULL)
        return NULL;
    *items = cJSON_GetObjectItemCaseSensitive(root, "devboxes");
    if (!cJSON_IsArray(*items))
        sp_error_set(err, SP_E_PROTOCOL, "%s: field 'devboxes' should be an array", LIST_WHAT);
    else if (sp_json_get_bool(root, "has_more", false, has_more, LIST_WHAT, err) == 0)
        return root;
    cJSON_Delete(root);
    return NULL;
}

/* Ends a page read with rc: a page that says "more" but holds nothing would page forever. */
static enum sp_err
page_close(cJSON *root, const cJSON *items, bool has_more, enum sp_err rc, struct sp_error *err)
{
    if (rc == SP_E_OK && has_more && cJSON_GetArraySize(items) == 0)
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: has_more with an empty page", LIST_WHAT);
    cJSON_Delete(root);
    return rc;
}

enum sp_err
sp__runloop_parse_list(const char *body, size_t len, struct runloop_list *acc, struct sp_error *err)
{
    const cJSON *items, *item;
    cJSON *root = page_open(body, len, &acc->has_more, &items, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    enum sp_err rc = SP_E_OK;
    const char *mk = strcmp(acc->key, RUNLOOP_SESSION_KEY) == 0 ? NULL : acc->key;
    cJSON_ArrayForEach(item, items)
    {
        struct runloop_devbox d;
        if (devbox_from_json(item, mk, &d, err) != SP_E_OK) {
            sp_error_prefix(err, "devbox list");
            rc = SP_E_PROTOCOL;
            break;
        }
        acc->seen++;
        snprintf(acc->last_id, sizeof(acc->last_id), "%s", d.id);
        /* Shut down devboxes stay listed; nothing can attach to them. */
        if (strcmp(d.status, "shutdown") != 0 && list_match(acc, &d) && acc->matches++ == 0)
            acc->first = d;
    }
    return page_close(root, items, acc->has_more, rc, err);
}

/* One devbox of a listing into l, with its metadata and create_time_ms; a shut down one
 * (still listed and retrievable, R4) and one whose metadata lacks key=value are left out. */
static enum sp_err listed_add(
    const cJSON *item, const char *key, const char *value, struct sp_list *l, struct sp_error *err)
{
    struct runloop_devbox d;
    struct sp_kv md;
    int64_t created = 0;
    enum sp_err rc = devbox_from_json(item, NULL, &d, err);
    sp_kv_init(&md);
    if (rc == SP_E_OK &&
        (sp_json_get_int(item, "create_time_ms", false, &created, DEVBOX_WHAT, err) != 0 ||
         sp_json_get_kv(item, "metadata", false, &md, DEVBOX_WHAT, err) != 0))
        rc = SP_E_PROTOCOL;
    bool wanted = strcmp(d.status, "shutdown") != 0 && sp__list_matches(&md, key, value);
    if (rc == SP_E_OK && wanted && sp__list_add(l, d.id, d.status, created, &md) != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    sp_kv_cleanup(&md);
    return rc;
}

enum sp_err sp__runloop_parse_listing(const char *body,
                                      size_t len,
                                      const char *key,
                                      const char *value,
                                      struct sp_list *l,
                                      struct runloop_list *page,
                                      struct sp_error *err)
{
    const cJSON *items, *item;
    cJSON *root = page_open(body, len, &page->has_more, &items, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    enum sp_err rc = SP_E_OK;
    cJSON_ArrayForEach(item, items)
    {
        if ((rc = listed_add(item, key, value, l, err)) != SP_E_OK) {
            sp_error_prefix(err, "devbox list");
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        page->seen++;
        snprintf(page->last_id, sizeof(page->last_id), "%s", id->valuestring);
    }
    return page_close(root, items, page->has_more, rc, err);
}

enum sp_err sp__runloop_parse_tunnel_url(
    const char *body, size_t len, char *url, size_t urllen, struct sp_error *err)
{
    static const char what[] = "Runloop tunnel";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    if (root == NULL || sp_json_copy_str(root, "url", true, url, urllen, what, err) != 0) {
        cJSON_Delete(root);
        return SP_E_PROTOCOL;
    }
    cJSON_Delete(root);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return sp_error_set(err, SP_E_PROTOCOL, "%s: url '%.100s' is not http(s)", what, url);
    return SP_E_OK;
}

enum sp_err sp__runloop_parse_tunnel_view(const char *body,
                                          size_t len,
                                          struct runloop_devbox *d,
                                          struct sp_error *err)
{
    static const char what[] = "Runloop tunnel view";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    enum sp_err rc = SP_E_OK;
    if (root == NULL ||
        sp_json_copy_str(root, "tunnel_key", true, d->tunnel_key, sizeof(d->tunnel_key), what,
                         err) != 0 ||
        sp_json_copy_str(root, "auth_token", false, d->tunnel_token, sizeof(d->tunnel_token), what,
                         err) != 0)
        rc = SP_E_PROTOCOL;
    else if (d->tunnel_key[0] == '\0')
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: empty tunnel_key", what);
    cJSON_Delete(root);
    return rc;
}

static enum sp_err
append_text(const cJSON *root, const char *key, struct sp_buf *out, struct sp_error *err)
{
    const char *s = NULL;
    if (sp_json_get_str(root, key, false, &s, "Runloop execution", err) != 0)
        return SP_E_PROTOCOL;
    if (s && sp_buf_append(out, s, strlen(s)) != 0)
        return sp_error_set(err, SP_E_PROTOCOL, "command output exceeds %zu bytes", out->max);
    return SP_E_OK;
}

enum sp_err sp__runloop_parse_execution(const char *body,
                                        size_t len,
                                        struct runloop_execution *e,
                                        struct sp_exec *x,
                                        struct sp_error *err)
{
    static const char what[] = "Runloop execution";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    int64_t code = 0;
    memset(e, 0, sizeof(*e));
    if (root == NULL ||
        sp_json_copy_str(root, "execution_id", false, e->id, sizeof(e->id), what, err) != 0 ||
        sp_json_copy_str(root, "status", false, e->status, sizeof(e->status), what, err) != 0 ||
        sp_json_get_int(root, "exit_status", false, &code, what, err) != 0) {
        cJSON_Delete(root);
        return SP_E_PROTOCOL;
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "exit_status");
    e->has_exit = cJSON_IsNumber(ex);
    if (e->status[0] == '\0') /* execute_sync's view has no status: it is done */
        snprintf(e->status, sizeof(e->status), "%s", "completed");
    enum sp_err rc = SP_E_OK;
    if (code < INT_MIN || code > INT_MAX)
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: exit_status %lld out of range", what,
                          (long long)code);
    e->exit_status = (int)code;
    if (rc == SP_E_OK && strcmp(e->status, "completed") == 0 && x != NULL) {
        if (!e->has_exit)
            rc = sp_error_set(err, SP_E_PROTOCOL, "%s: completed without exit_status", what);
        else if ((rc = append_text(root, "stdout", &x->out, err)) == SP_E_OK)
            rc = append_text(root, "stderr", &x->err, err);
        x->exit_code = rc == SP_E_OK ? e->exit_status : -1;
    }
    cJSON_Delete(root);
    return rc;
}

int sp__runloop_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
    if (body == NULL || len == 0 || msglen == 0)
        return -1;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    const cJSON *m =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
    int rc = cJSON_IsString(m) && m->valuestring[0] ? 0 : -1;
    if (rc == 0)
        snprintf(msg, msglen, "%s", m->valuestring);
    cJSON_Delete(root);
    return rc;
}

int sp__runloop_tunnel_url(
    const struct runloop_cfg *cfg, unsigned port, const char *key, char *out, size_t len)
{
    int n = snprintf(out, len, "%s://%u-%s.%s", cfg->scheme, port, key, cfg->tunnel_domain);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
