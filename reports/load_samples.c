/* samples.ndjson: one JSON object per line, one line per sandbox per phase —
 *   {"lifecycle":7,"sandbox":"sb-…","phase":"api","intended_us":140000,"start_us":140210,
 *    "us":20390,"service_us":20180,"retries":0,"error":null}
 * ("error":"timeout","message":"…" when the phase failed). `us` is from the intended start,
 * `service_us` from the phase's actual start; times are µs from the run's start. The reader
 * checks every field, so `sandprobe report` re-renders exactly what the run wrote. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "load_report.h"
#include "report.h"

#define MAX_SAMPLES_BYTES ((size_t)1 << 34)

static int append_sample(struct sp_buf *b, const struct sp_load_sample *s)
{
    cJSON *sb = cJSON_CreateString(s->sandbox);
    char *sb_json = sb ? cJSON_PrintUnformatted(sb) : NULL;
    cJSON_Delete(sb);
    if (sb_json == NULL)
        return -1;
    int rc = sp_buf_printf(
        b,
        "{\"lifecycle\":%llu,\"sandbox\":%s,\"phase\":\"%s\",\"intended_us\":%lld,"
        "\"start_us\":%lld,\"us\":%lld,\"service_us\":%lld,\"retries\":%d,",
        (unsigned long long)s->lifecycle, sb_json, sp_phase_name(s->phase),
        (long long)s->intended_us, (long long)s->start_us, (long long)(s->end_us - s->intended_us),
        (long long)(s->end_us - s->start_us), s->retries);
    cJSON_free(sb_json);
    if (rc != 0)
        return -1;
    if (s->err == SP_E_OK)
        return sp_buf_puts(b, "\"error\":null}\n");
    struct sp_buf clean;
    sp_buf_init(&clean, 0);
    cJSON *msg = NULL;
    char *msg_json = NULL;
    if (sp__utf8_clean(s->message ? s->message : "", &clean) == 0 &&
        (msg = cJSON_CreateString(sp_buf_str(&clean))) != NULL)
        msg_json = cJSON_PrintUnformatted(msg);
    rc = msg_json
             ? sp_buf_printf(b, "\"error\":\"%s\",\"message\":%s}\n", sp_err_name(s->err), msg_json)
             : -1;
    cJSON_free(msg_json);
    cJSON_Delete(msg);
    sp_buf_cleanup(&clean);
    return rc;
}

enum sp_err
sp_load_write_samples(const struct sp_load_samples *ss, const char *path, struct sp_error *err)
{
    struct sp_buf b;
    sp_buf_init(&b, MAX_SAMPLES_BYTES);
    for (size_t i = 0; i < ss->n; i++) {
        if (append_sample(&b, &ss->v[i]) != 0) {
            sp_buf_cleanup(&b);
            sp_error_set(err, SP_E_INTERNAL, "%s: out of memory", path);
            return SP_E_INTERNAL;
        }
    }
    enum sp_err rc = sp__report_write(path, b.data ? b.data : "", b.len, err);
    sp_buf_cleanup(&b);
    return rc;
}

static bool err_parse(const char *name, enum sp_err *out)
{
    for (int e = 0; e < SP_E__COUNT; e++) {
        if (strcmp(name, sp_err_name((enum sp_err)e)) == 0) {
            *out = (enum sp_err)e;
            return true;
        }
    }
    return false;
}

static int get_i64(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(it))
        return -1;
    *out = (int64_t)it->valuedouble;
    return 0;
}

/* Parses one line into s (message strdup'ed). Returns NULL, or what is wrong. */
static const char *parse_line(const char *line, size_t len, struct sp_load_sample *s)
{
    memset(s, 0, sizeof(*s));
    cJSON *o = cJSON_ParseWithLength(line, len);
    const char *why = NULL;
    int64_t k = 0, us = 0, retries = 0;
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(o, "phase");
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(o, "sandbox");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "message");
    if (!cJSON_IsObject(o))
        why = "not a JSON object";
    else if (get_i64(o, "lifecycle", &k) || get_i64(o, "intended_us", &s->intended_us) ||
             get_i64(o, "start_us", &s->start_us) || get_i64(o, "us", &us) ||
             get_i64(o, "retries", &retries))
        why = "a number field (lifecycle, intended_us, start_us, us, retries) is missing";
    else if (!cJSON_IsString(phase) ||
             !sp_phase_parse(phase->valuestring, strlen(phase->valuestring), &s->phase))
        why = "unknown or missing phase";
    else if (!cJSON_IsString(sb))
        why = "missing sandbox";
    else if (!cJSON_IsNull(e) && !(cJSON_IsString(e) && err_parse(e->valuestring, &s->err)))
        why = "error is neither null nor an error class";
    if (why == NULL) {
        s->lifecycle = (uint64_t)k;
        s->end_us = s->intended_us + us;
        s->retries = (int)retries;
        snprintf(s->sandbox, sizeof(s->sandbox), "%s", sb->valuestring);
        if (s->err != SP_E_OK && cJSON_IsString(msg) &&
            (s->message = strdup(msg->valuestring)) == NULL)
            why = "out of memory";
    }
    cJSON_Delete(o);
    return why;
}

enum sp_err sp_load_read_samples(const char *path, struct sp_load_samples *ss, struct sp_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        sp_error_set(err, SP_E_CONFIG, "cannot read %s", path);
        return SP_E_CONFIG;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long no = 0;
    enum sp_err rc = SP_E_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        no++;
        if (n <= 1)
            continue;
        struct sp_load_sample s;
        const char *why = parse_line(line, (size_t)n, &s);
        if (why == NULL && sp_load_samples_add(ss, &s) != 0)
            why = "out of memory";
        free(s.message);
        if (why) {
            sp_error_set(err, SP_E_PROTOCOL, "%s line %ld: %s", path, no, why);
            rc = SP_E_PROTOCOL;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}
