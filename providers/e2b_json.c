/* E2B's wire format: the control plane's JSON (NewSandbox, Sandbox, ListedSandbox, errors)
 * and envd's Connect JSON messages (process.Start events, filesystem EntryInfo), turned into
 * the structs of e2b.h and back. The only E2B file that walks cJSON trees. Field names and
 * the protojson conventions (zero values omitted, int64 as strings, enums as names, bytes as
 * base64) follow spec/e2b-modal.md A2-A3. */
#include "e2b.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* --- helpers ----------------------------------------------------------------------------- */

/* Sandbox ids go into URLs and Host names: refuse anything but [A-Za-z0-9_-]. */
static int check_id(const char *id, const char *what, struct sp_error *err)
{
    size_t n = strlen(id);
    if (n == 0 || n != strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_-")) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: sandboxID '%.64s' is not a valid sandbox id", what,
                     id);
        return -1;
    }
    return 0;
}

/* protojson writes 64-bit integers as strings and accepts strings for 32-bit ones too, so
 * take either. Also accepts the proto field's snake_case name. Missing leaves *out. */
static int get_int_any(const cJSON *obj,
                       const char *key,
                       const char *alt,
                       int64_t *out,
                       const char *what,
                       struct sp_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (item == NULL && alt)
        item = cJSON_GetObjectItemCaseSensitive(obj, alt);
    if (item == NULL || cJSON_IsNull(item))
        return 0;
    if (cJSON_IsString(item)) {
        char *end = NULL;
        long long v = strtoll(item->valuestring, &end, 10);
        if (item->valuestring[0] == '\0' || end == NULL || *end != '\0') {
            sp_error_set(err, SP_E_PROTOCOL, "%s: field '%s' is not an integer: '%.32s'", what, key,
                         item->valuestring);
            return -1;
        }
        *out = (int64_t)v;
        return 0;
    }
    return sp_json_get_int(obj, item->string, false, out, what, err);
}

static int add_kv_object(cJSON *root, const char *name, const struct sp_kv *kv)
{
    if (kv == NULL || kv->n == 0)
        return 0;
    cJSON *obj = sp_json_from_kv(kv);
    if (obj == NULL || !cJSON_AddItemToObject(root, name, obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    return 0;
}

/* --- control plane ----------------------------------------------------------------------- */

int sp__e2b_build_new_sandbox(const char *template_id,
                              long timeout_s,
                              bool v2,
                              bool secure,
                              const struct sp_kv *metadata,
                              const struct sp_kv *env_vars,
                              struct sp_buf *out)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL || !cJSON_AddStringToObject(root, "templateID", template_id) ||
        !cJSON_AddNumberToObject(root, "timeout", (double)timeout_s) ||
        (!v2 && !cJSON_AddBoolToObject(root, "secure", secure)) ||
        !cJSON_AddBoolToObject(root, "allow_internet_access", true) ||
        add_kv_object(root, "metadata", metadata) != 0 ||
        add_kv_object(root, "envVars", env_vars) != 0) {
        cJSON_Delete(root);
        return -1;
    }
    return sp_json_print_into(root, out);
}

int sp__e2b_build_timeout(long timeout_s, struct sp_buf *out)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL || !cJSON_AddNumberToObject(root, "timeout", (double)timeout_s)) {
        cJSON_Delete(root);
        return -1;
    }
    return sp_json_print_into(root, out);
}

int sp__e2b_parse_sandbox(const char *body,
                          size_t len,
                          struct e2b_sandbox_info *out,
                          struct sp_error *err)
{
    static const char what[] = "E2B Sandbox";
    memset(out, 0, sizeof(*out));
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    if (root == NULL)
        return -1;
    int rc = -1;
    if (sp_json_copy_str(root, "sandboxID", true, out->id, sizeof(out->id), what, err) != 0 ||
        check_id(out->id, what, err) != 0 ||
        sp_json_copy_str(root, "templateID", true, out->template_id, sizeof(out->template_id), what,
                         err) != 0 ||
        sp_json_copy_str(root, "envdVersion", true, out->envd_version, sizeof(out->envd_version),
                         what, err) != 0 ||
        sp_json_copy_str(root, "envdAccessToken", false, out->access_token,
                         sizeof(out->access_token), what, err) != 0 ||
        sp_json_copy_str(root, "domain", false, out->domain, sizeof(out->domain), what, err) != 0)
        goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

static int list_item(const cJSON *item,
                     const char *key,
                     const char *value,
                     struct e2b_list *out,
                     struct sp_error *err)
{
    static const char what[] = "E2B ListedSandbox";
    char id[64] = "", state[32] = "";
    struct sp_kv md;
    sp_kv_init(&md);
    int rc = -1;
    if (!cJSON_IsObject(item)) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: list item is not an object", what);
        goto out;
    }
    if (sp_json_copy_str(item, "sandboxID", true, id, sizeof(id), what, err) != 0 ||
        check_id(id, what, err) != 0 ||
        sp_json_copy_str(item, "state", false, state, sizeof(state), what, err) != 0 ||
        sp_json_get_kv(item, "metadata", false, &md, what, err) != 0)
        goto out;
    if (md.n > 0 && sp__list_check_filtered(&md, key, value, "metadata", id, err) != SP_E_OK)
        goto out;
    if (out->total++ == 0) {
        memcpy(out->first_id, id, sizeof(id));
        memcpy(out->first_state, state, sizeof(state));
    }
    rc = 0;
out:
    sp_kv_cleanup(&md);
    return rc;
}

int sp__e2b_parse_list(const char *body,
                       size_t len,
                       const char *key,
                       const char *value,
                       struct e2b_list *out,
                       struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Array, "E2B sandbox list", err);
    if (root == NULL)
        return -1;
    int rc = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        rc = list_item(item, key, value, out, err);
        if (rc != 0)
            break;
    }
    cJSON_Delete(root);
    return rc;
}

int sp__e2b_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
    struct sp_error ignored;
    sp_error_clear(&ignored);
    msg[0] = '\0';
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, "E2B error", &ignored);
    if (root == NULL)
        return -1;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (cJSON_IsString(m) && cJSON_GetObjectItemCaseSensitive(root, "code") != NULL)
        snprintf(msg, msglen, "%s", m->valuestring);
    cJSON_Delete(root);
    return msg[0] ? 0 : -1;
}

bool sp__e2b_is_proxy_not_found(const char *body, size_t len)
{
    struct sp_error ignored;
    sp_error_clear(&ignored);
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, "E2B proxy error", &ignored);
    /* "The sandbox is running but port is not open" names the port: the sandbox is there,
     * its server (envd) is not, which is the proxy's 502, not a missing sandbox. */
    bool yes = root && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "sandboxId")) &&
               !cJSON_HasObjectItem(root, "port");
    cJSON_Delete(root);
    return yes;
}

/* --- envd: process ------------------------------------------------------------------------ */

int sp__e2b_build_start(const char *cmd,
                        const char *cwd,
                        const struct sp_kv *env,
                        struct sp_buf *out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *proc = cJSON_AddObjectToObject(root, "process");
    cJSON *args = cJSON_AddArrayToObject(proc, "args");
    const char *argv[] = {"-l", "-c", cmd};
    int rc = root && proc && args && cJSON_AddStringToObject(proc, "cmd", "/bin/bash") ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        cJSON *s = cJSON_CreateString(argv[i]);
        if (s == NULL || !cJSON_AddItemToArray(args, s)) {
            cJSON_Delete(s);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = add_kv_object(proc, "envs", env);
    if (rc == 0 && cwd && !cJSON_AddStringToObject(proc, "cwd", cwd))
        rc = -1;
    if (rc == 0 && !cJSON_AddBoolToObject(root, "stdin", false))
        rc = -1;
    if (rc != 0) {
        cJSON_Delete(root);
        return -1;
    }
    return sp_json_print_into(root, out);
}

static int
parse_data_event(const cJSON *d, struct e2b_event *ev, struct sp_buf *data, struct sp_error *err)
{
    static const char *const keys[] = {"stdout", "stderr", "pty"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, keys[i]);
        if (v == NULL || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsString(v)) {
            sp_error_set(err, SP_E_PROTOCOL, "process data event: field '%s' should be a string",
                         keys[i]);
            return -1;
        }
        ev->stream = i + 1;
        if (sp_base64_decode(v->valuestring, strlen(v->valuestring), data) != 0) {
            sp_error_set(err, SP_E_PROTOCOL, "process data event: field '%s' is not base64",
                         keys[i]);
            return -1;
        }
        return 0;
    }
    ev->kind = E2B_EV_NONE; /* an empty oneof: nothing to deliver */
    return 0;
}

static int parse_end_event(const cJSON *e, struct e2b_event *ev, struct sp_error *err)
{
    static const char what[] = "process end event";
    int64_t code = 0;
    if (get_int_any(e, "exitCode", "exit_code", &code, what, err) != 0 ||
        sp_json_get_bool(e, "exited", false, &ev->exited, what, err) != 0)
        return -1;
    if (code < -2147483648LL || code > 2147483647LL)
        return sp_error_set(err, SP_E_PROTOCOL, "%s: exitCode %lld is out of range", what,
                            (long long)code),
               -1;
    ev->exit_code = (int)code;
    const char *s = NULL;
    if (sp_json_get_str(e, "status", false, &s, what, err) != 0)
        return -1;
    snprintf(ev->status, sizeof(ev->status), "%s", s ? s : "");
    s = NULL;
    if (sp_json_get_str(e, "error", false, &s, what, err) != 0)
        return -1;
    snprintf(ev->error, sizeof(ev->error), "%s", s ? s : "");
    return 0;
}

int sp__e2b_data_span(const char *payload, size_t len, const char **b64, size_t *b64_len)
{
    static const char head[] = "{\"event\":{\"data\":{\"", tail[] = "\"}}}";
    static const char *const keys[] = {"stdout\":\"", "stderr\":\"", "pty\":\""};
    const size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (len < hl + tl || memcmp(payload, head, hl) != 0 ||
        memcmp(payload + len - tl, tail, tl) != 0)
        return 0;
    for (int i = 0; i < 3; i++) {
        size_t kl = strlen(keys[i]);
        if (len - hl - tl >= kl && memcmp(payload + hl, keys[i], kl) == 0) {
            *b64 = payload + hl + kl;
            *b64_len = len - hl - kl - tl;
            return i + 1;
        }
    }
    return 0;
}

int sp__e2b_parse_event(const cJSON *msg,
                        struct e2b_event *ev,
                        struct sp_buf *data,
                        struct sp_error *err)
{
    memset(ev, 0, sizeof(*ev));
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(msg, "event");
    if (!cJSON_IsObject(event))
        return sp_error_set(err, SP_E_PROTOCOL, "process.Start message: field 'event' %s",
                            event ? "should be an object" : "is missing"),
               -1;
    const cJSON *v;
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(event, "start"))) {
        ev->kind = E2B_EV_START;
        return get_int_any(v, "pid", NULL, &ev->pid, "process start event", err);
    }
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(event, "data"))) {
        ev->kind = E2B_EV_DATA;
        return parse_data_event(v, ev, data, err);
    }
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(event, "end"))) {
        ev->kind = E2B_EV_END;
        return parse_end_event(v, ev, err);
    }
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(event, "keepalive"))) {
        ev->kind = E2B_EV_KEEPALIVE;
        return 0;
    }
    ev->kind = E2B_EV_NONE; /* unknown members are skipped, as the SDKs' codecs do */
    return 0;
}

/* --- envd: filesystem ---------------------------------------------------------------------- */

int sp__e2b_build_path(const char *path, int depth, struct sp_buf *out)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL || !cJSON_AddStringToObject(root, "path", path) ||
        (depth > 0 && !cJSON_AddNumberToObject(root, "depth", depth))) {
        cJSON_Delete(root);
        return -1;
    }
    return sp_json_print_into(root, out);
}

static int parse_entry_info(const cJSON *obj,
                            struct sp_file_entry *e,
                            char *path_out,
                            size_t path_len,
                            struct sp_error *err)
{
    static const char what[] = "envd EntryInfo";
    memset(e, 0, sizeof(*e));
    const char *type = NULL;
    int64_t size = 0;
    if (!cJSON_IsObject(obj))
        return sp_error_set(err, SP_E_PROTOCOL, "%s: entry is not an object", what), -1;
    if (sp_json_copy_str(obj, "name", true, e->name, sizeof(e->name), what, err) != 0 ||
        sp_json_get_str(obj, "type", false, &type, what, err) != 0 ||
        get_int_any(obj, "size", NULL, &size, what, err) != 0)
        return -1;
    if (path_out && sp_json_copy_str(obj, "path", true, path_out, path_len, what, err) != 0)
        return -1;
    e->is_dir = type && strcmp(type, "FILE_TYPE_DIRECTORY") == 0;
    e->size = size;
    return 0;
}

int sp__e2b_parse_list_dir(
    const char *body, size_t len, struct sp_file_entry **entries, size_t *n, struct sp_error *err)
{
    *entries = NULL;
    *n = 0;
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, "ListDir response", err);
    if (root == NULL)
        return -1;
    int rc = -1;
    char path[1024];
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "entries");
    if (list != NULL && !cJSON_IsNull(list) && !cJSON_IsArray(list)) {
        sp_error_set(err, SP_E_PROTOCOL, "ListDir response: field 'entries' should be an array");
        goto out;
    }
    int count = list && cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (count > 0 && (*entries = calloc((size_t)count, sizeof(**entries))) == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory listing %d entries", count);
        goto out;
    }
    const cJSON *items = count > 0 ? list : NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        if (parse_entry_info(item, &(*entries)[*n], path, sizeof(path), err) != 0)
            goto out;
        (*n)++;
    }
    rc = 0;
out:
    if (rc != 0) {
        free(*entries);
        *entries = NULL;
        *n = 0;
    }
    cJSON_Delete(root);
    return rc;
}

int sp__e2b_parse_entry(const char *body,
                        size_t len,
                        struct sp_file_entry *entry,
                        char *path_out,
                        size_t path_len,
                        struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, "filesystem response", err);
    if (root == NULL)
        return -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "entry");
    int rc = e ? parse_entry_info(e, entry, path_out, path_len, err)
               : (sp_error_set(err, SP_E_PROTOCOL,
                               "filesystem response: required field 'entry' is missing"),
                  -1);
    cJSON_Delete(root);
    return rc;
}

int sp__e2b_parse_upload(
    const char *body, size_t len, char *path_out, size_t path_len, struct sp_error *err)
{
    static const char what[] = "envd upload response";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Array, what, err);
    if (root == NULL)
        return -1;
    const cJSON *first = cJSON_GetArrayItem(root, 0);
    int rc = -1;
    if (!cJSON_IsObject(first))
        sp_error_set(err, SP_E_PROTOCOL, "%s: expected one EntryInfo object, got %s", what,
                     first ? "a non-object" : "an empty array");
    else
        rc = sp_json_copy_str(first, "path", true, path_out, path_len, what, err);
    cJSON_Delete(root);
    return rc;
}
