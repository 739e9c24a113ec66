/* The three ways in to a mock's faults besides the config: the public C API (mock.h), the
 * scenario file (JSON, faults with start/stop times) and the admin endpoint on the mock's own
 * port, guarded by the mock's key (the vendor's key check) and refused to any peer that is
 * not loopback:
 *   GET    /_sandprobe/faults        {"faults":[{"id","fault","injected","start","stop"}],
 *                                     "injected":{"status":N,...}}
 *   POST   /_sandprobe/faults        {"fault":"SPEC","start":T,"stop":T} or a scenario
 *                                     {"faults":[...]}; answers 201 {"ids":[...]}
 *                                     (E2B's older {"status":429|503,"count":N,"retryAfter":S}
 *                                     still arms that refusal on the API, answering 204)
 *   DELETE /_sandprobe/faults        clears every fault;  DELETE /_sandprobe/faults/ID one
 * Errors use the vendor's error body. */
#include "faults_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"

#include <cjson/cJSON.h>

#define ADMIN_PATH       "/_sandprobe/faults"
#define LEGACY_MAX_COUNT 1000
#define LEGACY_MAX_AFTER 3600

/* --- the C API ------------------------------------------------------------------------------ */

enum sp_err sp_mock_fault_add_timed(
    struct sp_mock *m, const char *spec, long start_ms, long stop_ms, int *id, struct sp_error *err)
{
    struct mock_fault f;
    if (mock_fault_parse(spec, &f, err) != 0)
        return SP_E_CONFIG;
    if (start_ms < 0 || (stop_ms >= 0 && stop_ms <= start_ms))
        return sp_error_set(err, SP_E_CONFIG, "fault '%.200s': stop must come after start", spec);
    f.start_ms = start_ms;
    f.stop_ms = stop_ms;
    int got = mock_faults_add(mock_faults_of(m), &f);
    if (got < 0)
        return sp_error_set(err, SP_E_CONFIG, "fault '%.200s': %d faults are armed already", spec,
                            MOCK_FAULTS_MAX);
    if (id != NULL)
        *id = got;
    return SP_E_OK;
}

enum sp_err sp_mock_fault_add(struct sp_mock *m, const char *spec, int *id, struct sp_error *err)
{
    return sp_mock_fault_add_timed(m, spec, 0, -1, id, err);
}

bool sp_mock_fault_remove(struct sp_mock *m, int id)
{
    return mock_faults_remove(mock_faults_of(m), id);
}

long sp_mock_fault_count(struct sp_mock *m, enum sp_mock_fault_kind k)
{
    return mock_faults_injected(mock_faults_of(m), (int)k);
}

/* --- scenario files ------------------------------------------------------------------------- */

/* A start/stop member: a number of seconds or a time with a unit ("30s"). Absent: dflt. */
static int get_time_ms(const cJSON *o, const char *key, long dflt, long *out, const char **why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = dflt;
    if (v == NULL)
        return 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 864000) {
        *out = (long)(v->valuedouble * 1000);
        return 0;
    }
    struct sp_mock_config tmp = {0};
    struct sp_error e = {0};
    char spec[96];
    if (cJSON_IsString(v) && strlen(v->valuestring) < 64) {
        snprintf(spec, sizeof(spec), "create=fixed:%s", v->valuestring);
        if (sp_mock_latency_parse(&tmp, spec, &e) == SP_E_OK) {
            *out = (long)(tmp.dist[SP_MOCK_PHASE_CREATE].a_us / 1000);
            return 0;
        }
    }
    *why = "start and stop want seconds (a number) or a time with a unit (\"30s\")";
    return -1;
}

static enum sp_err
parse_entry(const cJSON *e, struct mock_fault *f, const char *what, int i, struct sp_error *err)
{
    const char *why = NULL;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(e, "fault");
    long start = 0, stop = -1;
    if (!cJSON_IsObject(e) || !cJSON_IsString(spec))
        why = "want an object with a \"fault\" string";
    else if (get_time_ms(e, "start", 0, &start, &why) || get_time_ms(e, "stop", -1, &stop, &why))
        ;
    else if (stop >= 0 && stop <= start)
        why = "stop must come after start";
    else {
        struct sp_error pe = {0};
        if (mock_fault_parse(spec->valuestring, f, &pe) != 0)
            return sp_error_set(err, SP_E_CONFIG, "%s: faults[%d]: %s", what, i, pe.msg);
    }
    if (why != NULL)
        return sp_error_set(err, SP_E_CONFIG, "%s: faults[%d]: %s", what, i, why);
    f->start_ms = start;
    f->stop_ms = stop;
    return SP_E_OK;
}

/* Parses every entry first, so a bad file arms nothing. ids (may be NULL) gets each id. */
static enum sp_err
load_array(struct sp_mock *m, const cJSON *arr, const char *what, cJSON *ids, struct sp_error *err)
{
    int n = cJSON_GetArraySize(arr);
    if (n > MOCK_FAULTS_MAX)
        return sp_error_set(err, SP_E_CONFIG, "%s: more than %d faults", what, MOCK_FAULTS_MAX);
    struct mock_fault *v = calloc((size_t)(n ? n : 1), sizeof(*v));
    if (v == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "%s: out of memory", what);
    enum sp_err rc = SP_E_OK;
    for (int i = 0; i < n && rc == SP_E_OK; i++)
        rc = parse_entry(cJSON_GetArrayItem(arr, i), &v[i], what, i, err);
    for (int i = 0; i < n && rc == SP_E_OK; i++) {
        int id = mock_faults_add(mock_faults_of(m), &v[i]);
        if (id < 0)
            rc = sp_error_set(err, SP_E_CONFIG, "%s: %d faults are armed already", what,
                              MOCK_FAULTS_MAX);
        else if (ids != NULL)
            cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
    }
    free(v);
    return rc;
}

enum sp_err sp_mock_faults_load_json(
    struct sp_mock *m, const char *json, size_t len, const char *what, struct sp_error *err)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *arr = root ? cJSON_GetObjectItemCaseSensitive(root, "faults") : NULL;
    enum sp_err rc;
    if (root == NULL)
        rc = sp_error_set(err, SP_E_CONFIG, "%s: not JSON", what);
    else if (!cJSON_IsArray(arr))
        rc = sp_error_set(err, SP_E_CONFIG, "%s: want {\"faults\": [...]}", what);
    else
        rc = load_array(m, arr, what, NULL, err);
    cJSON_Delete(root);
    return rc;
}

enum sp_err sp_mock_faults_load(struct sp_mock *m, const char *path, struct sp_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sp_error_set(err, SP_E_CONFIG, "fault scenario %s: cannot open it", path);
    struct sp_buf b;
    sp_buf_init(&b, (size_t)1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && !b.overflow)
        sp_buf_append(&b, chunk, n);
    fclose(fp);
    char what[300];
    snprintf(what, sizeof(what), "fault scenario %.250s", path);
    enum sp_err rc = b.overflow ? sp_error_set(err, SP_E_CONFIG, "%s: larger than 1 MiB", what)
                                : sp_mock_faults_load_json(m, b.data, b.len, what, err);
    sp_buf_cleanup(&b);
    return rc;
}

/* --- the admin endpoint --------------------------------------------------------------------- */

static void admin_list(struct mock_req *r)
{
    struct mock_faults *fs = mock_faults_of(r->mock);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "faults");
    cJSON *inj = cJSON_AddObjectToObject(root, "injected");
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->n; i++) {
        const struct mock_fault *f = &fs->v[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", f->id);
        cJSON_AddStringToObject(o, "fault", f->spec);
        cJSON_AddNumberToObject(o, "injected", (double)f->injected);
        cJSON_AddNumberToObject(o, "start", (double)f->start_ms / 1000.0);
        if (f->stop_ms >= 0)
            cJSON_AddNumberToObject(o, "stop", (double)f->stop_ms / 1000.0);
        cJSON_AddItemToArray(arr, o);
    }
    for (int k = 0; k < SP_MOCK_FK__COUNT; k++)
        cJSON_AddNumberToObject(inj, sp_mock_fault_kind_name((enum sp_mock_fault_kind)k),
                                (double)fs->injected[k]);
    pthread_mutex_unlock(&fs->lock);
    mock_reply_cjson(r, 200, root);
}

/* E2B's older body: {"status":429|503,"count":N,"retryAfter":S}. */
static void admin_legacy(struct mock_req *r, const cJSON *root)
{
    const char *what = "faults request";
    struct sp_error err = {0};
    int64_t status = 0, count = 1, after = 1;
    int rc = sp_json_get_int(root, "status", true, &status, what, &err);
    if (rc == 0)
        rc = sp_json_get_int(root, "count", false, &count, what, &err);
    if (rc == 0)
        rc = sp_json_get_int(root, "retryAfter", false, &after, what, &err);
    if (rc == 0 && status != 429 && status != 503)
        rc = (sp_error_set(&err, SP_E_CONFIG, "%s: status must be 429 or 503", what), -1);
    if (rc == 0 && (count < 0 || count > LEGACY_MAX_COUNT))
        rc = (sp_error_set(&err, SP_E_CONFIG, "%s: count must be between 0 and %d", what,
                           LEGACY_MAX_COUNT),
              -1);
    if (rc == 0 && (after < 0 || after > LEGACY_MAX_AFTER))
        rc = (sp_error_set(&err, SP_E_CONFIG, "%s: retryAfter must be between 0 and %d", what,
                           LEGACY_MAX_AFTER),
              -1);
    char spec[128];
    snprintf(spec, sizeof(spec), "* /** %d retry-after=%d count=%d plane=api", (int)status,
             (int)after, (int)(count > 0 ? count : 1));
    if (rc == 0 && count > 0 && sp_mock_fault_add(r->mock, spec, NULL, &err) != SP_E_OK)
        rc = -1;
    if (rc != 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "Error when parsing request: %s", err.msg);
        mock_reply_fault_error(r, 400, msg);
        return;
    }
    mock_reply_empty(r, 204);
}

static void admin_add(struct mock_req *r)
{
    cJSON *root = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
    struct sp_error err = {0};
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        mock_reply_fault_error(r, 400, "faults request: want a JSON object");
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "status") != NULL) {
        admin_legacy(r, root);
        cJSON_Delete(root);
        return;
    }
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "faults");
    if (arr == NULL) { /* one fault: a scenario of one */
        arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, cJSON_Duplicate(root, true));
        cJSON_AddItemToObject(root, "faults", arr);
    }
    cJSON *ids = cJSON_CreateArray();
    enum sp_err rc = cJSON_IsArray(arr) ? load_array(r->mock, arr, "faults request", ids, &err)
                                        : sp_error_set(&err, SP_E_CONFIG,
                                                       "faults request: faults must be an array");
    cJSON_Delete(root);
    if (rc != SP_E_OK) {
        cJSON_Delete(ids);
        mock_reply_fault_error(r, 400, err.msg);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "ids", ids);
    mock_reply_cjson(r, 201, out);
}

static void admin_delete(struct mock_req *r, const char *rest)
{
    char *end = NULL;
    long id = rest[0] == '/' ? strtol(rest + 1, &end, 10) : -1;
    if (rest[0] == '/' && (end == rest + 1 || *end != '\0' || id < 1)) {
        mock_reply_fault_error(r, 400, "faults request: want DELETE /_sandprobe/faults[/ID]");
        return;
    }
    if (!mock_faults_remove(mock_faults_of(r->mock), (int)id) && id > 0) {
        mock_reply_fault_error(r, 404, "no fault with that id");
        return;
    }
    mock_reply_empty(r, 204);
}

/* What follows /_sandprobe/faults in r's path ("" or "/ID"), or NULL when r is not for it. */
static const char *admin_rest(const struct mock_req *r)
{
    const struct mock_vendor *v = mock_vendor_of(r->mock);
    const char *rest = r->path;
    size_t pl = strlen(v->api_prefix);
    if (pl && strncmp(rest, v->api_prefix, pl) == 0 && strncmp(rest + pl, ADMIN_PATH, 18) == 0)
        rest += pl;
    if (strncmp(rest, ADMIN_PATH, 18) != 0 || (rest[18] != '\0' && rest[18] != '/'))
        return NULL;
    return rest + 18;
}

bool mock_faults_is_admin(const struct mock_req *r)
{
    return admin_rest(r) != NULL;
}

bool mock_faults_admin(struct mock_req *r)
{
    const struct mock_vendor *v = mock_vendor_of(r->mock);
    const char *rest = admin_rest(r);
    if (rest == NULL)
        return false;
    if (!mock_req_peer_loopback(r)) {
        mock_reply_fault_error(r, 403, "the fault admin endpoint answers loopback only");
        return true;
    }
    if (v->authorize != NULL && !v->authorize(r)) {
        mock_count_unauthorized(r->mock);
        return true;
    }
    if (strcmp(r->method, "GET") == 0 && rest[0] == '\0')
        admin_list(r);
    else if (strcmp(r->method, "POST") == 0 && rest[0] == '\0')
        admin_add(r);
    else if (strcmp(r->method, "DELETE") == 0)
        admin_delete(r, rest);
    else
        mock_reply_fault_error(r, 405, "faults request: GET, POST or DELETE /_sandprobe/faults");
    return true;
}
