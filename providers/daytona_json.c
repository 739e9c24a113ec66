/* Daytona's wire format (spec/daytona-runloop.md Part A, as SDK 0.24.2 speaks it): request
 * bodies built from our structs, responses parsed into them. The only Daytona file that
 * walks JSON. */
#include "daytona.h"
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SANDBOX_WHAT "Daytona sandbox"

/* env of the create body: the action server's variables (spec/openhands 5.1), the
 * session key the server checks (2.2), then the caller's. */
static cJSON *create_env(const struct daytona_create_req *c)
{
    cJSON *env = cJSON_CreateObject();
    bool ok = env != NULL;
    if (ok && c->action_server)
        ok = cJSON_AddStringToObject(env, "port", "4444") &&
             cJSON_AddStringToObject(env, "PYTHONUNBUFFERED", "1") &&
             cJSON_AddStringToObject(env, "VSCODE_PORT", "4445");
    if (ok && c->session_api_key)
        ok = cJSON_AddStringToObject(env, "SESSION_API_KEY", c->session_api_key) != NULL;
    for (size_t i = 0; ok && c->env && i < c->env->n; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(env, c->env->items[i].key);
        ok = cJSON_AddStringToObject(env, c->env->items[i].key, c->env->items[i].val) != NULL;
    }
    if (!ok) {
        cJSON_Delete(env);
        return NULL;
    }
    return env;
}

enum sp_err sp__daytona_build_create(const struct daytona_create_req *c,
                                     struct sp_buf *out,
                                     struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *env = create_env(c);
    cJSON *labels = cJSON_CreateObject();
    bool ok =
        root && env && labels && cJSON_AddStringToObject(labels, DAYTONA_SESSION_KEY, c->session);
    if (ok && c->run_id)
        ok = cJSON_AddStringToObject(labels, SP_RUN_LABEL, c->run_id) != NULL;
    if (ok) {
        cJSON_AddItemToObject(root, "env", env);
        cJSON_AddItemToObject(root, "labels", labels);
        env = labels = NULL;
        ok = cJSON_AddBoolToObject(root, "public", c->is_public) &&
             cJSON_AddNumberToObject(root, "autoStopInterval", c->auto_stop_minutes);
    }
    if (ok && c->target)
        ok = cJSON_AddStringToObject(root, "target", c->target) != NULL;
    if (ok && c->snapshot)
        ok = cJSON_AddStringToObject(root, "snapshot", c->snapshot) != NULL;
    cJSON_Delete(env);
    cJSON_Delete(labels);
    return sp_json_finish(root, ok, out, "Daytona", err);
}

enum sp_err sp__daytona_build_labels(const char *key,
                                     const char *value,
                                     struct sp_buf *out,
                                     struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    return sp_json_finish(root, root && cJSON_AddStringToObject(root, key, value), out, "Daytona",
                          err);
}

enum sp_err sp__daytona_build_session(const char *id, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    return sp_json_finish(root, root && cJSON_AddStringToObject(root, "sessionId", id), out,
                          "Daytona", err);
}

enum sp_err
sp__daytona_build_session_exec(const char *command, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "command", command) &&
              cJSON_AddTrueToObject(root, "runAsync") && cJSON_AddTrueToObject(root, "async");
    return sp_json_finish(root, ok, out, "Daytona", err);
}

enum sp_err sp__daytona_build_execute(
    const char *command, const char *cwd, long timeout_s, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "command", command);
    if (ok && cwd)
        ok = cJSON_AddStringToObject(root, "cwd", cwd) != NULL;
    /* The daemon reads an unsigned integer: no fractions. */
    if (ok)
        ok = cJSON_AddNumberToObject(root, "timeout", (double)timeout_s) != NULL;
    return sp_json_finish(root, ok, out, "Daytona", err);
}

/* --- responses ------------------------------------------------------------------------------- */

/* A string-valued entry of an optional {string: string} object member, copied into out
 * ("" when absent). A member of another type is a protocol error. */
static int map_value(
    const cJSON *obj, const char *map, const char *key, char *out, size_t len, struct sp_error *err)
{
    return sp_json_copy_sub_str(obj, map, key, out, len, SANDBOX_WHAT, err);
}

static enum sp_err
sandbox_from_json(const cJSON *obj, struct daytona_sandbox *out, struct sp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return sp_error_set(err, SP_E_PROTOCOL, SANDBOX_WHAT ": not an object");
    if (sp_json_copy_str(obj, "id", true, out->id, sizeof(out->id), SANDBOX_WHAT, err) != 0 ||
        sp_json_copy_str(obj, "state", false, out->state, sizeof(out->state), SANDBOX_WHAT, err) !=
            0 ||
        sp_json_get_bool(obj, "public", false, &out->is_public, SANDBOX_WHAT, err) != 0 ||
        map_value(obj, "labels", DAYTONA_SESSION_KEY, out->session, sizeof(out->session), err) ||
        map_value(obj, "env", "SESSION_API_KEY", out->session_api_key, sizeof(out->session_api_key),
                  err))
        return SP_E_PROTOCOL;
    if (out->id[0] == '\0')
        return sp_error_set(err, SP_E_PROTOCOL, SANDBOX_WHAT ": empty id");
    /* errorReason is free text that may be long: keep its start. */
    const char *reason = NULL;
    if (sp_json_get_str(obj, "errorReason", false, &reason, SANDBOX_WHAT, err) != 0)
        return SP_E_PROTOCOL;
    snprintf(out->error_reason, sizeof(out->error_reason), "%s", reason ? reason : "");
    return SP_E_OK;
}

enum sp_err sp__daytona_parse_sandbox(const char *body,
                                      size_t len,
                                      struct daytona_sandbox *out,
                                      struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, SANDBOX_WHAT, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    enum sp_err rc = sandbox_from_json(root, out, err);
    cJSON_Delete(root);
    return rc;
}

static enum sp_err list_items(const cJSON *items, struct daytona_list *acc, struct sp_error *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        struct daytona_sandbox sb;
        if (sandbox_from_json(item, &sb, err) != SP_E_OK) {
            sp_error_prefix(err, "sandbox list");
            return SP_E_PROTOCOL;
        }
        if (strcmp(sb.state, "destroyed") == 0)
            continue;
        if (acc->matches++ == 0)
            acc->first = sb;
    }
    return SP_E_OK;
}

enum sp_err
sp__daytona_parse_list(const char *body, size_t len, struct daytona_list *acc, struct sp_error *err)
{
    static const char what[] = "Daytona sandbox list";
    cJSON *root = sp_json_parse(body, len, what, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    const cJSON *items = root;
    enum sp_err rc = SP_E_OK;
    acc->cursor[0] = '\0';
    if (cJSON_IsObject(root)) { /* the cursor shape of the newest API */
        items = cJSON_GetObjectItemCaseSensitive(root, "items");
        if (sp_json_copy_str(root, "nextCursor", false, acc->cursor, sizeof(acc->cursor), what,
                             err) != 0)
            rc = SP_E_PROTOCOL;
    }
    if (rc == SP_E_OK && !cJSON_IsArray(items))
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: expected an array or {items, nextCursor}", what);
    if (rc == SP_E_OK)
        rc = list_items(items, acc, err);
    cJSON_Delete(root);
    return rc;
}

enum sp_err sp__daytona_parse_preview(const char *body,
                                      size_t len,
                                      char *url,
                                      size_t urllen,
                                      char *token,
                                      size_t tokenlen,
                                      struct sp_error *err)
{
    static const char what[] = "Daytona preview link";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    token[0] = '\0';
    if (root == NULL || sp_json_copy_str(root, "url", true, url, urllen, what, err) != 0 ||
        sp_json_copy_str(root, "token", false, token, tokenlen, what, err) != 0) {
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

/* Joins a class-validator message array with ", " as the newest API does. */
static void join_messages(const cJSON *arr, char *msg, size_t msglen)
{
    size_t used = 0;
    const cJSON *m;
    msg[0] = '\0';
    cJSON_ArrayForEach(m, arr)
    {
        if (!cJSON_IsString(m) || used >= msglen)
            continue;
        int n = snprintf(msg + used, msglen - used, "%s%s", used ? ", " : "", m->valuestring);
        used = n < 0 ? msglen : used + (size_t)n;
    }
}

int sp__daytona_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
    if (body == NULL || len == 0 || msglen == 0)
        return -1;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    const cJSON *m =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
    int rc = 0;
    if (cJSON_IsString(m))
        snprintf(msg, msglen, "%s", m->valuestring);
    else if (cJSON_IsArray(m))
        join_messages(m, msg, msglen);
    else
        rc = -1;
    cJSON_Delete(root);
    return rc == 0 && msg[0] ? 0 : -1;
}

enum sp_err
sp__daytona_parse_execute(const char *body, size_t len, struct sp_exec *x, struct sp_error *err)
{
    static const char what[] = "Daytona execute reply";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    int64_t code = 0;
    const char *result = NULL;
    if (root == NULL || sp_json_get_int(root, "exitCode", true, &code, what, err) != 0 ||
        sp_json_get_str(root, "result", false, &result, what, err) != 0) {
        cJSON_Delete(root);
        return SP_E_PROTOCOL;
    }
    enum sp_err rc = SP_E_OK;
    if (code < INT_MIN || code > INT_MAX)
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: exitCode %lld out of range", what,
                          (long long)code);
    else if (result && sp_buf_append(&x->out, result, strlen(result)) != 0)
        rc = sp_error_set(err, SP_E_PROTOCOL, "command output exceeds %zu bytes", x->out.max);
    x->exit_code = (int)(rc == SP_E_OK ? code : -1);
    cJSON_Delete(root);
    return rc;
}

static int file_info(const cJSON *obj, struct sp_file_entry *e, struct sp_error *err)
{
    static const char what[] = "Daytona file info";
    int64_t size = -1;
    if (!cJSON_IsObject(obj)) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: not an object", what);
        return -1;
    }
    if (sp_json_copy_str(obj, "name", true, e->name, sizeof(e->name), what, err) != 0 ||
        sp_json_get_bool(obj, "isDir", true, &e->is_dir, what, err) != 0 ||
        sp_json_get_int(obj, "size", false, &size, what, err) != 0)
        return -1;
    e->size = size;
    return 0;
}

enum sp_err
sp__daytona_parse_file_list(const char *body, size_t len, struct sp_files *f, struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Array, "Daytona file list", err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    size_t n = (size_t)cJSON_GetArraySize(root), i = 0;
    struct sp_file_entry *entries = n ? calloc(n, sizeof(*entries)) : NULL;
    enum sp_err rc =
        n && entries == NULL ? sp_error_set(err, SP_E_INTERNAL, "out of memory") : SP_E_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (rc != SP_E_OK)
            break;
        if (file_info(item, &entries[i++], err) != 0)
            rc = SP_E_PROTOCOL;
    }
    cJSON_Delete(root);
    return sp__files_take_entries(f, rc, entries, n);
}

enum sp_err
sp__daytona_parse_file_info(const char *body, size_t len, struct sp_files *f, struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, "Daytona file info", err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    struct sp_file_entry *e = calloc(1, sizeof(*e));
    enum sp_err rc = SP_E_OK;
    if (e == NULL)
        rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    else if (file_info(root, e, err) != 0)
        rc = SP_E_PROTOCOL;
    cJSON_Delete(root);
    return sp__files_take_entries(f, rc, e, 1);
}

enum sp_err sp__daytona_parse_project_dir(
    const char *body, size_t len, char *dir, size_t dirlen, struct sp_error *err)
{
    static const char what[] = "Daytona project dir";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    enum sp_err rc = SP_E_OK;
    if (root == NULL || sp_json_copy_str(root, "dir", true, dir, dirlen, what, err) != 0)
        rc = SP_E_PROTOCOL;
    else if (dir[0] != '/')
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: '%.100s' is not absolute", what, dir);
    cJSON_Delete(root);
    return rc;
}
