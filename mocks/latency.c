/* The distribution latency model: parses `--latency PHASE=DIST:PARAMS` specs into a mock
 * config (mock.h documents the syntax) and draws delays from them. Drawing takes its uniform
 * and normal variates from the caller, so the store's seeded generator decides every delay
 * and two mocks with the same seed draw the same sequence. mock_latency_draw_us maps the
 * store's kinds of delay onto the phases, falling back to struct sp_latency (--latency-ms,
 * the vendor-typical defaults) for a phase left unset. */
#include "mock_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const PHASES[SP_MOCK_PHASE__COUNT] = {"create", "start", "alive", "exec",
                                                         "delete"};

#define SPEC_MAX_US (3600.0 * 1e6) /* an hour: longer is a typo */

/* "20ms", "1.5s", "250us" -> µs. Returns 0, or -1 with why. */
static int parse_time(const char *s, size_t len, double *out, const char **why)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return *why = "a time is empty or too long", -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end == buf || !isfinite(v) || v < 0)
        return *why = "a time is not a non-negative number with a unit (e.g. 20ms)", -1;
    double scale = strcmp(end, "us") == 0   ? 1.0
                   : strcmp(end, "ms") == 0 ? 1e3
                   : strcmp(end, "s") == 0  ? 1e6
                                            : -1.0;
    if (scale < 0)
        return *why = "a time needs a unit: us, ms or s (e.g. 20ms)", -1;
    if (v * scale > SPEC_MAX_US)
        return *why = "a time is longer than an hour", -1;
    *out = v * scale;
    return 0;
}

/* "A,B" -> two times. */
static int parse_pair(const char *p, double *a, double *b, const char *what, const char **why)
{
    const char *comma = strchr(p, ',');
    if (comma == NULL || strchr(comma + 1, ',') != NULL)
        return *why = what, -1;
    if (parse_time(p, (size_t)(comma - p), a, why) != 0)
        return -1;
    return parse_time(comma + 1, strlen(comma + 1), b, why);
}

/* "P%=T,P%=T,..." */
static int parse_table(const char *p, struct sp_dist *d, const char **why)
{
    d->n = 0;
    while (*p) {
        size_t item = strcspn(p, ",");
        const char *eq = memchr(p, '=', item);
        if (d->n == SP_DIST_TABLE_MAX)
            return *why = "a table has more than 16 points", -1;
        char *end = NULL;
        double pct = strtod(p, &end);
        if (eq == NULL || end != eq - 1 || *end != '%')
            return *why = "a table point is not P%=TIME (e.g. 99%=20ms)", -1;
        if (!(pct > 0 && pct <= 100) || (d->n > 0 && pct <= d->pct[d->n - 1]))
            return *why = "table percentiles must rise strictly, in (0, 100]", -1;
        if (parse_time(eq + 1, item - (size_t)(eq + 1 - p), &d->val_us[d->n], why) != 0)
            return -1;
        d->pct[d->n++] = pct;
        p += item;
        if (*p == ',' && *++p == '\0')
            return *why = "a table ends with a comma", -1;
    }
    if (d->n == 0 || d->pct[d->n - 1] != 100.0)
        return *why = "a table must end at 100%", -1;
    return 0;
}

static int parse_dist(const char *dist, struct sp_dist *d, const char **why)
{
    const char *colon = strchr(dist, ':');
    if (colon == NULL)
        return *why = "no DIST:PARAMS after '=' (fixed, uniform, normal, lognormal, table)", -1;
    size_t n = (size_t)(colon - dist);
    const char *p = colon + 1;
    memset(d, 0, sizeof(*d));
    if (n == 5 && strncmp(dist, "fixed", n) == 0) {
        d->kind = SP_DIST_FIXED;
        return parse_time(p, strlen(p), &d->a_us, why);
    }
    if (n == 7 && strncmp(dist, "uniform", n) == 0) {
        d->kind = SP_DIST_UNIFORM;
        if (parse_pair(p, &d->a_us, &d->b_us, "uniform takes LO,HI", why) != 0)
            return -1;
        return d->a_us <= d->b_us ? 0 : (*why = "uniform needs LO <= HI", -1);
    }
    if ((n == 6 && strncmp(dist, "normal", n) == 0) ||
        (n == 9 && strncmp(dist, "lognormal", n) == 0)) {
        d->kind = n == 6 ? SP_DIST_NORMAL : SP_DIST_LOGNORMAL;
        if (parse_pair(p, &d->a_us, &d->b_us, "normal and lognormal take MEAN,SD", why) != 0)
            return -1;
        if (d->kind == SP_DIST_LOGNORMAL && d->a_us <= 0)
            return *why = "lognormal needs a mean above 0", -1;
        return 0;
    }
    if (n == 5 && strncmp(dist, "table", n) == 0) {
        d->kind = SP_DIST_TABLE;
        return parse_table(p, d, why);
    }
    return *why = "unknown distribution (fixed, uniform, normal, lognormal, table)", -1;
}

enum sp_err
sp_mock_latency_parse(struct sp_mock_config *cfg, const char *spec, struct sp_error *err)
{
    const char *why = NULL;
    const char *eq = spec ? strchr(spec, '=') : NULL;
    int phase = -1;
    for (int i = 0; eq != NULL && i < SP_MOCK_PHASE__COUNT; i++)
        if ((size_t)(eq - spec) == strlen(PHASES[i]) &&
            strncmp(spec, PHASES[i], strlen(PHASES[i])) == 0)
            phase = i;
    struct sp_dist d;
    if (eq == NULL)
        why = "not PHASE=DIST:PARAMS (e.g. create=lognormal:400ms,120ms)";
    else if (phase < 0)
        why = "unknown phase (create, start, alive, exec, delete)";
    else
        parse_dist(eq + 1, &d, &why);
    if (why != NULL)
        return sp_error_set(err, SP_E_CONFIG, "latency spec '%s': %s", spec ? spec : "(null)", why);
    cfg->dist[phase] = d;
    cfg->has_latency = true;
    return SP_E_OK;
}

static double draw_table(const struct sp_dist *d, double u)
{
    double pct = u * 100.0;
    if (pct < d->pct[0])
        return d->val_us[0];
    for (size_t i = 1; i < d->n; i++) {
        if (pct < d->pct[i]) {
            double f = (pct - d->pct[i - 1]) / (d->pct[i] - d->pct[i - 1]);
            return d->val_us[i - 1] + f * (d->val_us[i] - d->val_us[i - 1]);
        }
    }
    return d->val_us[d->n - 1];
}

double sp_dist_draw(const struct sp_dist *d, double u, double z)
{
    double v = 0;
    switch (d->kind) {
    case SP_DIST_UNSET:
        break;
    case SP_DIST_FIXED:
        v = d->a_us;
        break;
    case SP_DIST_UNIFORM:
        v = d->a_us + u * (d->b_us - d->a_us);
        break;
    case SP_DIST_NORMAL:
        v = d->a_us + z * d->b_us;
        break;
    case SP_DIST_LOGNORMAL: {
        /* The underlying normal's parameters for a delay of mean a and deviation b. */
        double s2 = log(1.0 + (d->b_us * d->b_us) / (d->a_us * d->a_us));
        v = exp(log(d->a_us) - s2 / 2.0 + sqrt(s2) * z);
        break;
    }
    case SP_DIST_TABLE:
        v = draw_table(d, u);
        break;
    }
    return v > 0 ? v : 0;
}

/* The phase of the distribution model that stands for a kind of delay, or -1. */
static int phase_of(enum mock_delay kind)
{
    switch (kind) {
    case MOCK_DELAY_CREATE:
    case MOCK_DELAY_START:
        return SP_MOCK_PHASE_START;
    case MOCK_DELAY_DELETE:
        return SP_MOCK_PHASE_DELETE;
    case MOCK_DELAY_SERVER:
        return SP_MOCK_PHASE_ALIVE;
    case MOCK_DELAY_API_CREATE:
        return SP_MOCK_PHASE_CREATE;
    case MOCK_DELAY_EXEC:
        return SP_MOCK_PHASE_EXEC;
    case MOCK_DELAY_STOP:
        break;
    }
    return -1;
}

int64_t mock_latency_draw_us(const struct sp_latency *l,
                             const struct sp_dist *dist,
                             enum mock_delay kind,
                             double u1,
                             double u2)
{
    int ph = phase_of(kind);
    if (ph >= 0 && dist[ph].kind != SP_DIST_UNSET) {
        double z =
            sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * 3.14159265358979323846 * u2); /* Box-Muller */
        return (int64_t)sp_dist_draw(&dist[ph], u2, z);
    }
    long base = kind == MOCK_DELAY_CREATE   ? l->create_ms
                : kind == MOCK_DELAY_START  ? l->start_ms
                : kind == MOCK_DELAY_STOP   ? l->stop_ms
                : kind == MOCK_DELAY_DELETE ? l->delete_ms
                : kind == MOCK_DELAY_SERVER ? l->server_ms
                                            : 0;
    double d = (double)base * (1.0 + l->jitter * (2.0 * u1 - 1.0));
    return d < 0 ? 0 : (int64_t)(d * 1000.0);
}
