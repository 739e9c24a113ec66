/* summary.json of a load run, schema "sandprobe.load/1": the configuration, per-phase
 * percentiles (µs, from the intended start, and service time), rates, schedule lag, errors
 * by class with the first message, retries, leaks and the thresholds with their verdicts.
 * `sandprobe report` reads the "config" and "run" objects back (sp_load_read_meta). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "load_report.h"
#include "report.h"

static const double pcts[] = {50, 90, 99, 99.9};
static const char *const pct_keys[] = {"p50", "p90", "p99", "p99.9"};

static cJSON *build_hist(const struct sp_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    bool ok = cJSON_AddNumberToObject(o, "count", (double)h->total) != NULL;
    for (size_t i = 0; i < 4 && ok; i++)
        ok =
            cJSON_AddNumberToObject(o, pct_keys[i], (double)sp_hist_percentile(h, pcts[i])) != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "max", (double)h->max) &&
         cJSON_AddNumberToObject(o, "mean", round(sp_hist_mean(h)));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_config(const struct sp_load_meta *m)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "provider", m->provider) &&
              cJSON_AddStringToObject(o, "target", m->target) &&
              cJSON_AddStringToObject(o, "model", m->model) &&
              cJSON_AddStringToObject(o, "profile", m->profile) &&
              cJSON_AddStringToObject(o, "steps", m->steps) &&
              cJSON_AddNumberToObject(o, "rate", m->rate) &&
              cJSON_AddNumberToObject(o, "ramp_to", m->ramp_to) &&
              cJSON_AddNumberToObject(o, "ramp_over_s", m->ramp_over_s) &&
              cJSON_AddNumberToObject(o, "concurrency", (double)m->concurrency) &&
              cJSON_AddNumberToObject(o, "duration_s", m->duration_s) &&
              cJSON_AddNumberToObject(o, "count", (double)m->count) &&
              cJSON_AddNumberToObject(o, "max_sandboxes", (double)m->max_sandboxes) &&
              cJSON_AddNumberToObject(o, "seed", (double)m->seed) &&
              cJSON_AddNumberToObject(o, "shard", m->shard) &&
              cJSON_AddNumberToObject(o, "shards", m->shards);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_run(const struct sp_load_summary *s)
{
    const struct sp_load_meta *m = &s->meta;
    char when[32];
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "run_id", m->run_id) &&
              cJSON_AddStringToObject(o, "started_at",
                                      sp__report_time(m->started_at, when, sizeof(when))) &&
              cJSON_AddNumberToObject(o, "started_at_epoch", (double)m->started_at) &&
              cJSON_AddNumberToObject(o, "wall_s", round(m->wall_s * 1000) / 1000) &&
              cJSON_AddNumberToObject(o, "window_s", m->window_s) &&
              cJSON_AddNumberToObject(o, "target_rate", m->target_rate) &&
              cJSON_AddNumberToObject(o, "achieved_rate", round(s->achieved_rate * 1000) / 1000) &&
              cJSON_AddNumberToObject(o, "started", (double)s->started) &&
              cJSON_AddNumberToObject(o, "completed", (double)s->completed) &&
              cJSON_AddNumberToObject(o, "failed", (double)s->failed_lifecycles) &&
              cJSON_AddNumberToObject(o, "late_starts", (double)s->late_starts) &&
              cJSON_AddNumberToObject(o, "max_lag_us", (double)s->max_lag_us) &&
              cJSON_AddNumberToObject(o, "retries", (double)s->retries) &&
              cJSON_AddNumberToObject(o, "leaks", (double)m->leaks) &&
              cJSON_AddBoolToObject(o, "interrupted", m->interrupted) &&
              cJSON_AddNumberToObject(o, "merged_shards", m->merged > 1 ? m->merged : 0);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *build_phases(const struct sp_load_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    for (int p = 0; o && p < SP_PHASE__COUNT; p++) {
        cJSON *ph = cJSON_AddObjectToObject(o, sp_phase_name((enum sp_phase)p));
        cJSON *lat = build_hist(&s->lat[p]), *svc = build_hist(&s->svc[p]);
        bool ok = ph && lat && svc && cJSON_AddItemToObject(ph, "us", lat) &&
                  cJSON_AddItemToObject(ph, "service_us", svc) &&
                  cJSON_AddNumberToObject(ph, "failed", (double)s->failed[p]);
        if (!ok) {
            cJSON_Delete(lat);
            cJSON_Delete(svc);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

static cJSON *build_errors(const struct sp_load_summary *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int e = 1; a && e < SP_E__COUNT; e++) {
        if (s->errors[e] == 0)
            continue;
        struct sp_buf clean;
        sp_buf_init(&clean, 0);
        cJSON *o = cJSON_CreateObject();
        bool ok = o && sp__utf8_clean(s->first_error[e], &clean) == 0 &&
                  cJSON_AddStringToObject(o, "class", sp_err_name((enum sp_err)e)) &&
                  cJSON_AddNumberToObject(o, "count", (double)s->errors[e]) &&
                  cJSON_AddStringToObject(o, "first_message", sp_buf_str(&clean));
        sp_buf_cleanup(&clean);
        if (!ok || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static cJSON *build_thresholds(const struct sp_load_verdict *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cJSON_AddStringToObject(o, "expr", v[i].expr) &&
                  (v[i].has_value ? cJSON_AddNumberToObject(o, "value", v[i].value)
                                  : cJSON_AddNullToObject(o, "value")) &&
                  cJSON_AddBoolToObject(o, "passed", v[i].passed) &&
                  (v[i].has_value ? cJSON_AddNullToObject(o, "reason")
                                  : cJSON_AddStringToObject(o, "reason", "no samples"));
        if (!ok || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* Adds item under key, or deletes it: a NULL item (out of memory) is false. */
static bool attach(cJSON *root, const char *key, cJSON *item)
{
    if (item == NULL)
        return false;
    if (!cJSON_AddItemToObject(root, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

enum sp_err sp_load_write_json(const struct sp_load_summary *s,
                               const struct sp_load_verdict *v,
                               size_t n_v,
                               const char *path,
                               struct sp_error *err)
{
    bool passed = sp_load_verdict(s, v, n_v) == SP_LOAD_PASS;
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "schema", SP_LOAD_SCHEMA) &&
              attach(root, "config", build_config(&s->meta)) && attach(root, "run", build_run(s)) &&
              attach(root, "phases", build_phases(s)) &&
              attach(root, "schedule_lag_us", build_hist(&s->lag)) &&
              attach(root, "errors", build_errors(s)) &&
              attach(root, "thresholds", build_thresholds(v, n_v)) &&
              cJSON_AddBoolToObject(root, "passed", passed);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (text == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "%s: out of memory", path);
        return SP_E_INTERNAL;
    }
    enum sp_err rc = sp__report_write(path, text, strlen(text), err);
    cJSON_free(text);
    return rc;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

static void str(const cJSON *o, const char *key, char *out, size_t len)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(out, len, "%s", cJSON_IsString(it) ? it->valuestring : "");
}

enum sp_err sp_load_read_meta(const char *path, struct sp_load_meta *m, struct sp_error *err)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (sp_buf_append(&b, chunk, n) != 0)
            break;
    bool read_ok = f && !ferror(f) && !b.overflow;
    if (f)
        fclose(f);
    cJSON *root = read_ok ? cJSON_ParseWithLength(b.data ? b.data : "", b.len) : NULL;
    sp_buf_cleanup(&b);
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, SP_LOAD_SCHEMA) != 0 ||
        !cJSON_IsObject(c) || !cJSON_IsObject(r)) {
        cJSON_Delete(root);
        sp_error_set(err, read_ok ? SP_E_PROTOCOL : SP_E_CONFIG,
                     read_ok ? "%s is not a %s summary" : "cannot read %s%.0s", path,
                     SP_LOAD_SCHEMA);
        return read_ok ? SP_E_PROTOCOL : SP_E_CONFIG;
    }
    memset(m, 0, sizeof(*m));
    str(c, "provider", m->provider, sizeof(m->provider));
    str(c, "target", m->target, sizeof(m->target));
    str(c, "model", m->model, sizeof(m->model));
    str(c, "profile", m->profile, sizeof(m->profile));
    str(c, "steps", m->steps, sizeof(m->steps));
    str(r, "run_id", m->run_id, sizeof(m->run_id));
    m->rate = num(c, "rate");
    m->ramp_to = num(c, "ramp_to");
    m->ramp_over_s = num(c, "ramp_over_s");
    m->concurrency = (long)num(c, "concurrency");
    m->duration_s = num(c, "duration_s");
    m->count = (long)num(c, "count");
    m->max_sandboxes = (long)num(c, "max_sandboxes");
    m->seed = (uint64_t)num(c, "seed");
    m->shard = (unsigned)num(c, "shard");
    m->shards = (unsigned)num(c, "shards");
    m->started_at = (time_t)num(r, "started_at_epoch");
    m->wall_s = num(r, "wall_s");
    m->window_s = num(r, "window_s");
    m->target_rate = num(r, "target_rate");
    m->leaks = (long)num(r, "leaks");
    m->merged = (int)num(r, "merged_shards");
    const cJSON *intr = cJSON_GetObjectItemCaseSensitive(r, "interrupted");
    m->interrupted = cJSON_IsTrue(intr);
    cJSON_Delete(root);
    return SP_E_OK;
}
