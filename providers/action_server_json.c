/* The action server's wire format (spec/openhands-action-server.md section 3): actions as
 * OpenHands' event_to_dict prints them, and observations back into our structs. The only
 * file of the action-server client that walks JSON. */
#include "action_server.h"
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_WHAT "action server observation"

/* The fields every action carries with their defaults (section 3.1), then the type's own
 * args. Returns the args object to fill, or NULL when out of memory. */
static cJSON *action_new(cJSON **root, const char *type, const char *message, long timeout_ms)
{
    *root = cJSON_CreateObject();
    cJSON *action = cJSON_AddObjectToObject(*root, "action");
    if (action == NULL || !cJSON_AddStringToObject(action, "message", message) ||
        !cJSON_AddStringToObject(action, "action", type))
        return NULL;
    cJSON *args = cJSON_AddObjectToObject(action, "args");
    if (args == NULL || !cJSON_AddNumberToObject(action, "timeout", (double)timeout_ms / 1000.0))
        return NULL;
    return args;
}

static enum sp_err action_print(cJSON *root, cJSON *args, struct sp_buf *out, struct sp_error *err)
{
    if (args == NULL || sp_json_print_into(root, out) != 0) {
        if (args == NULL)
            cJSON_Delete(root);
        return sp_error_set(err, SP_E_INTERNAL, "out of memory building an action");
    }
    return SP_E_OK;
}

/* Prefix of a human message: "Running command: <cmd>" with the command cut short. */
static void action_message(char *out, size_t outlen, const char *verb, const char *what)
{
    snprintf(out, outlen, "%s: %.200s", verb, what);
}

enum sp_err sp_as_build_run(
    const char *command, const char *cwd, long timeout_ms, struct sp_buf *out, struct sp_error *err)
{
    char msg[256];
    cJSON *root = NULL;
    action_message(msg, sizeof(msg), "Running command", command);
    cJSON *args = action_new(&root, "run", msg, timeout_ms);
    /* blocking: false, as OpenHands sends every agent command (action_execution_client.py
     * 284-288): the server's "no new output" soft timeout (NO_CHANGE_TIMEOUT_SECONDS, 10 s)
     * then ends the wait before `timeout` for a silent command, as it does for OpenHands.
     * The server honours `cwd` only for is_static runs: a fresh bash session there. */
    if (args &&
        !(cJSON_AddStringToObject(args, "command", command) &&
          cJSON_AddFalseToObject(args, "is_input") &&
          cJSON_AddStringToObject(args, "thought", "") &&
          cJSON_AddFalseToObject(args, "blocking") &&
          cJSON_AddBoolToObject(args, "is_static", cwd != NULL) &&
          (cwd ? cJSON_AddStringToObject(args, "cwd", cwd) : cJSON_AddNullToObject(args, "cwd")) &&
          cJSON_AddFalseToObject(args, "hidden") &&
          cJSON_AddStringToObject(args, "confirmation_state", "confirmed") &&
          cJSON_AddNumberToObject(args, "security_risk", -1)))
        args = NULL;
    return action_print(root, args, out, err);
}

enum sp_err
sp_as_build_key(const char *key, long timeout_ms, struct sp_buf *out, struct sp_error *err)
{
    char msg[256];
    cJSON *root = NULL;
    action_message(msg, sizeof(msg), "Running command", key);
    cJSON *args = action_new(&root, "run", msg, timeout_ms);
    if (args &&
        !(cJSON_AddStringToObject(args, "command", key) &&
          cJSON_AddTrueToObject(args, "is_input") && cJSON_AddStringToObject(args, "thought", "") &&
          cJSON_AddFalseToObject(args, "blocking") && cJSON_AddFalseToObject(args, "is_static") &&
          cJSON_AddNullToObject(args, "cwd") && cJSON_AddFalseToObject(args, "hidden") &&
          cJSON_AddStringToObject(args, "confirmation_state", "confirmed") &&
          cJSON_AddNumberToObject(args, "security_risk", -1)))
        args = NULL;
    return action_print(root, args, out, err);
}

enum sp_err sp_as_build_read(const char *path, struct sp_buf *out, struct sp_error *err)
{
    char msg[256];
    cJSON *root = NULL;
    action_message(msg, sizeof(msg), "Reading file", path);
    cJSON *args = action_new(&root, "read", msg, SP_AS_ACTION_TIMEOUT_MS);
    if (args &&
        !(cJSON_AddStringToObject(args, "path", path) &&
          cJSON_AddNumberToObject(args, "start", 0) && cJSON_AddNumberToObject(args, "end", -1) &&
          cJSON_AddStringToObject(args, "thought", "") &&
          cJSON_AddNumberToObject(args, "security_risk", -1) &&
          cJSON_AddStringToObject(args, "impl_source", "default") &&
          cJSON_AddNullToObject(args, "view_range")))
        args = NULL;
    return action_print(root, args, out, err);
}

/* How many continuation bytes follow a UTF-8 lead byte; -1 when c cannot start one. */
static int utf8_tail(unsigned c)
{
    if (c < 0x80)
        return 0;
    if (c >= 0xc2 && c <= 0xdf)
        return 1;
    if ((c & 0xf0) == 0xe0)
        return 2;
    if (c >= 0xf0 && c <= 0xf4)
        return 3;
    return -1;
}

/* JSON text carries only valid UTF-8 without NUL (cJSON strings are C strings). */
static bool utf8_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int k = utf8_tail(s[i]);
        if (s[i] == 0 || k < 0 || (size_t)k > n - i - 1)
            return false;
        unsigned cp = k == 0 ? s[i] : s[i] & (0x3fu >> k);
        for (int j = 1; j <= k; j++) {
            if ((s[i + (size_t)j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + (size_t)j] & 0x3fu);
        }
        /* overlong three- and four-byte forms, surrogates, past U+10FFFF */
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += (size_t)k + 1;
    }
    return true;
}

enum sp_err sp_as_build_write(
    const char *path, const void *data, size_t len, struct sp_buf *out, struct sp_error *err)
{
    if (!utf8_text(data, len))
        return sp_error_set(err, SP_E_UNSUPPORTED,
                            "text write of %s: data has NUL bytes or invalid UTF-8 (use upload)",
                            path);
    char *text = malloc(len + 1);
    if (text == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    if (len > 0)
        memcpy(text, data, len);
    text[len] = '\0';
    char msg[256];
    cJSON *root = NULL;
    action_message(msg, sizeof(msg), "Writing file", path);
    cJSON *args = action_new(&root, "write", msg, SP_AS_ACTION_TIMEOUT_MS);
    if (args &&
        !(cJSON_AddStringToObject(args, "path", path) &&
          cJSON_AddStringToObject(args, "content", text) &&
          cJSON_AddNumberToObject(args, "start", 0) && cJSON_AddNumberToObject(args, "end", -1) &&
          cJSON_AddStringToObject(args, "thought", "") &&
          cJSON_AddNumberToObject(args, "security_risk", -1)))
        args = NULL;
    free(text);
    return action_print(root, args, out, err);
}

enum sp_err sp_as_build_list(const char *path, struct sp_buf *out, struct sp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL || !cJSON_AddStringToObject(root, "path", path)) {
        cJSON_Delete(root);
        return sp_error_set(err, SP_E_INTERNAL, "out of memory building a list request");
    }
    if (sp_json_print_into(root, out) != 0) /* root is deleted either way */
        return sp_error_set(err, SP_E_INTERNAL, "out of memory building a list request");
    return SP_E_OK;
}

/* --- observations ---------------------------------------------------------------------------- */

/* An optional object member; present with another type is a protocol error. */
static int get_obj(const cJSON *obj, const char *key, const cJSON **out, struct sp_error *err)
{
    const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = NULL;
    if (item == NULL || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsObject(item)) {
        sp_error_set(err, SP_E_PROTOCOL, OBS_WHAT ": field '%s' should be an object", key);
        return -1;
    }
    *out = item;
    return 0;
}

/* Parses the envelope: the observation type and its content ("" when absent). */
static cJSON *obs_parse(
    const char *body, size_t len, const char **type, const char **content, struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, OBS_WHAT, err);
    *content = "";
    if (root && (sp_json_get_str(root, "observation", true, type, OBS_WHAT, err) != 0 ||
                 sp_json_get_str(root, "content", false, content, OBS_WHAT, err) != 0)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static enum sp_err exec_error_obs(const char *content, struct sp_error *err)
{
    if (strstr(content, "Cannot execute multiple commands at once"))
        return sp_error_set(err, SP_E_UNSUPPORTED, "action server: %.200s", content);
    return sp_error_set(err, SP_E_PROVIDER, "action server: %.200s", content);
}

static enum sp_err file_error_obs(const char *content, const char *path, struct sp_error *err)
{
    if (strstr(content, "File not found"))
        return sp_error_set(err, SP_E_NOT_FOUND, "file not found: %.200s", path);
    if (strstr(content, "Path is a directory"))
        return sp_error_set(err, SP_E_CONFLICT, "%.200s is a directory", path);
    if (strstr(content, "ERROR_BINARY_FILE") || strstr(content, "could not be decoded"))
        return sp_error_set(err, SP_E_UNSUPPORTED, "%.200s is not a UTF-8 text file (use download)",
                            path);
    return sp_error_set(err, SP_E_PROVIDER, "action server: %.200s", content);
}

/* The exit code: metadata.exit_code, or the legacy extras.exit_code, else -1. */
static int run_exit_code(const cJSON *extras, const cJSON *meta, int *out, struct sp_error *err)
{
    int64_t code = -1;
    if (sp_json_get_int(meta, "exit_code", false, &code, OBS_WHAT, err) != 0 ||
        (meta == NULL && sp_json_get_int(extras, "exit_code", false, &code, OBS_WHAT, err) != 0))
        return -1;
    if (code < INT_MIN || code > INT_MAX) {
        sp_error_set(err, SP_E_PROTOCOL, OBS_WHAT ": exit_code %lld out of range", (long long)code);
        return -1;
    }
    *out = (int)code;
    return 0;
}

/* Splits the server's "[The command ...]" note off the output: the metadata suffix when
 * there is one (and its copy at the end of content, if a server put it there), else a
 * trailing note in content. Returns the length of the output proper. */
static size_t split_suffix(const char *content, const char *suffix, char *detail, size_t dlen)
{
    size_t clen = strlen(content);
    while (*suffix == '\n')
        suffix++;
    if (*suffix) {
        size_t slen = strlen(suffix);
        snprintf(detail, dlen, "%s", suffix);
        if (clen >= slen && memcmp(content + clen - slen, suffix, slen) == 0) {
            clen -= slen;
            while (clen > 0 && content[clen - 1] == '\n')
                clen--;
        }
        return clen;
    }
    const char *note = NULL;
    for (const char *p = content; (p = strchr(p, '[')) != NULL; p++) {
        if ((p == content || p[-1] == '\n') &&
            (strncmp(p, "[The command ", 13) == 0 || strncmp(p, "[Your command ", 14) == 0))
            note = p;
    }
    if (note == NULL || content[clen - 1] != ']')
        return clen;
    snprintf(detail, dlen, "%s", note);
    size_t keep = (size_t)(note - content);
    while (keep > 0 && content[keep - 1] == '\n')
        keep--;
    return keep;
}

static enum sp_err
run_obs_fill(const cJSON *root, const char *content, struct sp_exec *x, struct sp_error *err)
{
    const cJSON *extras = NULL, *meta = NULL;
    const char *suffix = "";
    if (get_obj(root, "extras", &extras, err) != 0 ||
        get_obj(extras, "metadata", &meta, err) != 0 ||
        sp_json_get_str(meta, "suffix", false, &suffix, OBS_WHAT, err) != 0 ||
        run_exit_code(extras, meta, &x->exit_code, err) != 0)
        return SP_E_PROTOCOL;
    x->detail[0] = '\0';
    size_t n = split_suffix(content, suffix, x->detail, sizeof(x->detail));
    if (sp_buf_append(&x->out, content, n) != 0)
        return sp_error_set(err, SP_E_PROTOCOL, "command output exceeds %zu bytes", x->out.max);
    x->timed_out = strstr(x->detail, "[The command timed out after") != NULL ||
                   strstr(x->detail, "[The command has no new output after") != NULL;
    if (x->timed_out)
        x->exit_code = -1;
    if (strstr(x->detail, "is NOT executed"))
        return sp_error_set(err, SP_E_CONFLICT,
                            "action server: the previous command is still running; "
                            "this one was not executed");
    return SP_E_OK;
}

enum sp_err sp_as_parse_run(const char *body, size_t len, struct sp_exec *x, struct sp_error *err)
{
    const char *type = NULL, *content = NULL;
    cJSON *root = obs_parse(body, len, &type, &content, err);
    if (root == NULL)
        return err ? err->code : SP_E_PROTOCOL;
    enum sp_err rc;
    if (strcmp(type, "error") == 0)
        rc = exec_error_obs(content, err);
    else if (strcmp(type, "run") != 0)
        rc = sp_error_set(err, SP_E_PROTOCOL, OBS_WHAT ": '%.40s' where 'run' was expected", type);
    else
        rc = run_obs_fill(root, content, x, err);
    cJSON_Delete(root);
    return rc;
}

enum sp_err sp_as_parse_file_obs(const char *body,
                                 size_t len,
                                 const char *want,
                                 const char *path,
                                 struct sp_files *f,
                                 struct sp_error *err)
{
    const char *type = NULL, *content = NULL;
    cJSON *root = obs_parse(body, len, &type, &content, err);
    if (root == NULL)
        return err ? err->code : SP_E_PROTOCOL;
    enum sp_err rc = SP_E_OK;
    const cJSON *extras = NULL;
    if (strcmp(type, "error") == 0)
        rc = file_error_obs(content, path, err);
    else if (strcmp(type, want) != 0)
        rc = sp_error_set(err, SP_E_PROTOCOL, OBS_WHAT ": '%.40s' where '%s' was expected", type,
                          want);
    else if (get_obj(root, "extras", &extras, err) != 0 ||
             sp_json_copy_str(extras, "path", false, f->resolved_path, sizeof(f->resolved_path),
                              OBS_WHAT, err) != 0)
        rc = SP_E_PROTOCOL;
    else if (strcmp(want, "read") == 0 && sp_buf_append(&f->content, content, strlen(content)))
        rc = sp_error_set(err, SP_E_PROTOCOL, "file content exceeds %zu bytes", f->content.max);
    cJSON_Delete(root);
    return rc;
}

enum sp_err sp_as_parse_list(const char *body, size_t len, struct sp_files *f, struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Array, "list_files reply", err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    enum sp_err rc = SP_E_OK;
    size_t n = (size_t)cJSON_GetArraySize(root);
    struct sp_file_entry *entries = n ? calloc(n, sizeof(*entries)) : NULL;
    if (n && entries == NULL)
        rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (rc != SP_E_OK)
            break;
        size_t nlen = cJSON_IsString(item) ? strlen(item->valuestring) : 0;
        bool dir = nlen > 0 && item->valuestring[nlen - 1] == '/';
        if (!cJSON_IsString(item) || nlen - dir == 0 || nlen - dir >= sizeof(entries->name)) {
            rc = sp_error_set(err, SP_E_PROTOCOL, "list_files reply: entry %zu is not a file name",
                              i);
            break;
        }
        memcpy(entries[i].name, item->valuestring, nlen - dir);
        entries[i].is_dir = dir;
        entries[i].size = -1;
        i++;
    }
    cJSON_Delete(root);
    return sp__files_take_entries(f, rc, entries, i);
}

enum sp_err
sp_as_parse_upload(const char *body, size_t len, struct sp_files *f, struct sp_error *err)
{
    static const char what[] = "upload_file reply";
    cJSON *root = sp_json_parse_type(body, len, cJSON_Object, what, err);
    const char *name = NULL, *dest = NULL;
    if (root == NULL || sp_json_get_str(root, "filename", true, &name, what, err) != 0 ||
        sp_json_get_str(root, "destination", true, &dest, what, err) != 0) {
        cJSON_Delete(root);
        return SP_E_PROTOCOL;
    }
    size_t dlen = strlen(dest);
    int n = snprintf(f->resolved_path, sizeof(f->resolved_path), "%s%s%s", dest,
                     dlen && dest[dlen - 1] == '/' ? "" : "/", name);
    cJSON_Delete(root);
    if (n < 0 || (size_t)n >= sizeof(f->resolved_path))
        return sp_error_set(err, SP_E_PROTOCOL, "%s: destination path too long", what);
    return SP_E_OK;
}

int sp_as_parse_detail(const char *body, size_t len, char *out, size_t outlen)
{
    if (body == NULL || len == 0 || outlen == 0)
        return -1;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    const cJSON *d = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "detail") : NULL;
    if (d == NULL && cJSON_IsObject(root)) /* a provider's proxy in front of the server */
        d = cJSON_GetObjectItemCaseSensitive(root, "message");
    int rc = -1;
    if (cJSON_IsString(d)) {
        snprintf(out, outlen, "%s", d->valuestring);
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}
