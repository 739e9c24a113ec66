/* summary.json: the machine-readable result of a conformance run, schema "sandprobe.check/1"
 * (SP_REPORT_SCHEMA). Fields are only ever added within a schema version; anything that
 * changes a field's meaning bumps the number. Strings are cleaned to valid UTF-8 first
 * (command output lands in messages), so any JSON parser can read the file. */
#include "report.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Adds key: s (cleaned to UTF-8), or key: null for NULL. Returns the item or NULL. */
static cJSON *add_str(cJSON *obj, const char *key, const char *s)
{
    if (s == NULL)
        return cJSON_AddNullToObject(obj, key);
    struct sp_buf b;
    sp_buf_init(&b, 0);
    cJSON *item = NULL;
    if (sp__utf8_clean(s, &b) == 0)
        item = cJSON_AddStringToObject(obj, key, sp_buf_str(&b));
    sp_buf_cleanup(&b);
    return item;
}

/* Seconds rounded to the millisecond: more digits than that are noise, and they make the
 * file hard to read. */
static cJSON *add_seconds(cJSON *obj, const char *key, double s)
{
    return cJSON_AddNumberToObject(obj, key, round(s * 1000.0) / 1000.0);
}

static cJSON *build_error(const struct sp_error *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    bool ok = add_str(o, "class", sp_err_name(e->code)) &&
              cJSON_AddNumberToObject(o, "http_status", e->http_status) &&
              add_str(o, "step", e->step[0] ? e->step : NULL) && add_str(o, "message", e->msg);
    if (ok && e->request_id[0])
        ok = add_str(o, "request_id", e->request_id) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *
build_result(const struct sp_report_run *run, const char *provider, const struct sp_req_result *r)
{
    const struct sp_requirement *req = r->req;
    char tags[256];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    bool ok = add_str(o, "id", req->id) && add_str(o, "step", sp_step_name(req->step)) &&
              add_str(o, "level", sp_level_name(req->level)) &&
              add_str(o, "tags", sp_report_tags(req, provider, tags, sizeof(tags))) &&
              add_str(o, "outcome", sp_req_outcome_name(r->outcome)) &&
              add_str(o, "message", r->message);
    /* Whether a failure fails the run; pass and skip have nothing to gate. */
    if (ok && (r->outcome == SP_REQ_FAIL || r->outcome == SP_REQ_ERROR))
        ok = cJSON_AddBoolToObject(o, "gating", sp_report_gating(run, r)) != NULL;
    if (ok && r->where[0])
        ok = add_str(o, "where", r->where);
    if (ok && r->err.code != SP_E_OK) {
        cJSON *e = build_error(&r->err);
        ok = e != NULL && cJSON_AddItemToObject(o, "error", e);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "error") != NULL;
    }
    ok = ok && add_seconds(o, "seconds", r->seconds);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_counts(const struct sp_report_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    bool ok = cJSON_AddNumberToObject(o, "pass", (double)c->pass) &&
              cJSON_AddNumberToObject(o, "fail", (double)c->fail) &&
              cJSON_AddNumberToObject(o, "skip", (double)c->skip) &&
              cJSON_AddNumberToObject(o, "error", (double)c->error) &&
              cJSON_AddNumberToObject(o, "warn", (double)c->warn);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_provider(const struct sp_report_run *run, const struct sp_report_provider *p)
{
    struct sp_report_counts c;
    sp_report_count(run, p, &c);
    cJSON *o = cJSON_CreateObject();
    cJSON *results = cJSON_AddArrayToObject(o, "results");
    bool ok = results && add_str(o, "name", p->name) && add_str(o, "mode", p->mode) &&
              add_str(o, "skipped", p->skipped) && add_str(o, "error", p->error);
    for (size_t i = 0; ok && i < p->n_results; i++) {
        cJSON *r = build_result(run, p->name, &p->results[i]);
        ok = r != NULL && cJSON_AddItemToArray(results, r);
    }
    cJSON *counts = ok ? build_counts(&c) : NULL;
    ok = counts != NULL && cJSON_AddItemToObject(o, "counts", counts);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_summary(const struct sp_report_run *run)
{
    char stamp[32];
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_str(o, "schema", SP_REPORT_SCHEMA) && add_str(o, "run_id", run->run_id) &&
              add_str(o, "started_at", sp__report_time(run->started_at, stamp, sizeof(stamp))) &&
              add_seconds(o, "duration_s", run->duration_s) && add_str(o, "target", run->target) &&
              add_str(o, "level", sp_level_name(run->level)) &&
              cJSON_AddBoolToObject(o, "interrupted", run->interrupted);
    cJSON *providers = ok ? cJSON_AddArrayToObject(o, "providers") : NULL;
    ok = providers != NULL;
    for (size_t i = 0; ok && i < run->n_providers; i++) {
        cJSON *p = build_provider(run, &run->providers[i]);
        ok = p != NULL && cJSON_AddItemToArray(providers, p);
    }
    ok = ok && add_str(o, "verdict", sp_report_passed(run) ? "pass" : "fail");
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

enum sp_err
sp_report_summary_json(const struct sp_report_run *run, const char *path, struct sp_error *err)
{
    cJSON *root = build_summary(run);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (text == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: out of memory", path);
    /* A final newline, so `cat summary.json` leaves the prompt on its own line. */
    struct sp_buf b;
    sp_buf_init(&b, 0);
    enum sp_err rc;
    if (sp_buf_puts(&b, text) != 0 || sp_buf_puts(&b, "\n") != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: out of memory", path);
    else
        rc = sp__report_write(path, b.data, b.len, err);
    sp_buf_cleanup(&b);
    cJSON_free(text);
    return rc;
}
