/* Shared cJSON helpers (see json.h). */
#include "json.h"

#include <math.h>
#include <string.h>

static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "string";
    if (cJSON_IsNumber(item))
        return "number";
    if (cJSON_IsBool(item))
        return "boolean";
    if (cJSON_IsArray(item))
        return "array";
    if (cJSON_IsObject(item))
        return "object";
    if (cJSON_IsNull(item))
        return "null";
    return "invalid";
}

cJSON *sp_json_parse(const char *body, size_t len, const char *what, struct sp_error *err)
{
    if (body == NULL || len == 0) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: empty body where JSON was expected", what);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        size_t at = end ? (size_t)(end - body) : 0;
        sp_error_set(err, SP_E_PROTOCOL, "%s: invalid JSON at byte %zu of %zu", what, at, len);
        return NULL;
    }
    return root;
}

cJSON *
sp_json_parse_type(const char *body, size_t len, int type, const char *what, struct sp_error *err)
{
    cJSON *root = sp_json_parse(body, len, what, err);
    if (root == NULL || (root->type & 0xFF) == type)
        return root;
    sp_error_set(err, SP_E_PROTOCOL, "%s: expected a JSON %s, got %s", what,
                 type == cJSON_Array ? "array" : "object", json_type_name(root));
    cJSON_Delete(root);
    return NULL;
}

static const cJSON *json_field(const cJSON *obj,
                               const char *key,
                               bool required,
                               const char *what,
                               struct sp_error *err,
                               int *rc)
{
    *rc = 0;
    const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            sp_error_set(err, SP_E_PROTOCOL, "%s: required field '%s' is missing", what, key);
            *rc = -1;
        }
        return NULL;
    }
    return item;
}

static int json_wrong_type(
    const cJSON *item, const char *key, const char *want, const char *what, struct sp_error *err)
{
    sp_error_set(err, SP_E_PROTOCOL, "%s: field '%s' should be a %s, got %s", what, key, want,
                 json_type_name(item));
    return -1;
}

int sp_json_get_str(const cJSON *obj,
                    const char *key,
                    bool required,
                    const char **out,
                    const char *what,
                    struct sp_error *err)
{
    int rc;
    const cJSON *item = json_field(obj, key, required, what, err, &rc);
    if (item == NULL)
        return rc;
    if (!cJSON_IsString(item))
        return json_wrong_type(item, key, "string", what, err);
    *out = item->valuestring;
    return 0;
}

int sp_json_copy_str(const cJSON *obj,
                     const char *key,
                     bool required,
                     char *out,
                     size_t outlen,
                     const char *what,
                     struct sp_error *err)
{
    const char *s = NULL;
    if (sp_json_get_str(obj, key, required, &s, what, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    if (n >= outlen) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: field '%s' is %zu bytes, longer than %zu", what, key,
                     n, outlen - 1);
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

int sp_json_copy_sub_str(const cJSON *obj,
                         const char *sub,
                         const char *key,
                         char *out,
                         size_t outlen,
                         const char *what,
                         struct sp_error *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, sub);
    out[0] = '\0';
    if (m == NULL || cJSON_IsNull(m))
        return 0;
    if (!cJSON_IsObject(m)) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: field '%s' should be an object", what, sub);
        return -1;
    }
    return sp_json_copy_str(m, key, false, out, outlen, what, err);
}

int sp_json_get_int(const cJSON *obj,
                    const char *key,
                    bool required,
                    int64_t *out,
                    const char *what,
                    struct sp_error *err)
{
    int rc;
    const cJSON *item = json_field(obj, key, required, what, err, &rc);
    if (item == NULL)
        return rc;
    if (!cJSON_IsNumber(item))
        return json_wrong_type(item, key, "number", what, err);
    double v = item->valuedouble;
    if (!isfinite(v) || v != floor(v) || v > 9.007199254740992e15 || v < -9.007199254740992e15)
        return json_wrong_type(item, key, "integer", what, err);
    *out = (int64_t)v;
    return 0;
}

int sp_json_get_bool(const cJSON *obj,
                     const char *key,
                     bool required,
                     bool *out,
                     const char *what,
                     struct sp_error *err)
{
    int rc;
    const cJSON *item = json_field(obj, key, required, what, err, &rc);
    if (item == NULL)
        return rc;
    if (!cJSON_IsBool(item))
        return json_wrong_type(item, key, "boolean", what, err);
    *out = cJSON_IsTrue(item);
    return 0;
}

int sp_json_get_kv(const cJSON *obj,
                   const char *key,
                   bool required,
                   struct sp_kv *out,
                   const char *what,
                   struct sp_error *err)
{
    int rc;
    const cJSON *item = json_field(obj, key, required, what, err, &rc);
    if (item == NULL)
        return rc;
    if (!cJSON_IsObject(item))
        return json_wrong_type(item, key, "object", what, err);
    const cJSON *child;
    cJSON_ArrayForEach(child, item)
    {
        if (!cJSON_IsString(child))
            return json_wrong_type(child, child->string, "string", what, err);
        if (sp_kv_set(out, child->string, child->valuestring) != 0)
            return sp_error_set(err, SP_E_INTERNAL, "out of memory"), -1;
    }
    return 0;
}

cJSON *sp_json_from_kv(const struct sp_kv *kv)
{
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; obj && kv && i < kv->n; i++) {
        if (cJSON_AddStringToObject(obj, kv->items[i].key, kv->items[i].val) == NULL) {
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

char *sp_json_print_free(cJSON *root)
{
    if (root == NULL)
        return NULL;
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

enum sp_err
sp_json_finish(cJSON *root, bool ok, struct sp_buf *out, const char *vendor, struct sp_error *err)
{
    if (ok && sp_json_print_into(root, out) == 0) /* deletes root */
        return SP_E_OK;
    if (!ok)
        cJSON_Delete(root);
    return sp_error_set(err, SP_E_INTERNAL, "out of memory building a %s request", vendor);
}

int sp_json_print_into(cJSON *root, struct sp_buf *buf)
{
    char *s = sp_json_print_free(root);
    if (s == NULL)
        return -1;
    int rc = sp_buf_set(buf, s);
    cJSON_free(s);
    return rc;
}
