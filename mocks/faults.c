/* Fault injection in the mock core: the fault list of a mock (specs parsed from the grammar
 * in mock.h), which request or new sandbox a fault strikes (method + path pattern, plane,
 * vendor, probability from the mock's seed, count, active window) and what happens before
 * the handler runs (status, reset, stall, delay). What happens to a reply on its way out
 * (truncate, dribble, cut ...) is faults_shape.c; the admin endpoint and scenario files are
 * faults_admin.c. One lock guards the list, the generator and the counters. */
#include "faults_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h" /* sp_now_ms */

static const char *const KIND_NAMES[SP_MOCK_FK__COUNT] = {"delay",
                                                          "status",
                                                          "reset",
                                                          "reset-mid",
                                                          "empty",
                                                          "truncate",
                                                          "malformed",
                                                          "oversize",
                                                          "dribble",
                                                          "stall",
                                                          "cut",
                                                          "no-eos",
                                                          "sandbox stuck",
                                                          "sandbox error",
                                                          "sandbox never-alive",
                                                          "sandbox vanish",
                                                          "sandbox dataplane-dies",
                                                          "sandbox server-crash"};

const char *sp_mock_fault_kind_name(enum sp_mock_fault_kind k)
{
    return k < SP_MOCK_FK__COUNT ? KIND_NAMES[k] : "?";
}

/* --- the grammar --------------------------------------------------------------------------- */

#define DEFAULT_OVERSIZE ((size_t)96 << 20)
#define DEFAULT_RATE     64
#define DEFAULT_AFTER_MS 1000

static int parse_time_ms(const char *s, double *ms, const char **why)
{
    struct sp_mock_config tmp = {0};
    char spec[96];
    struct sp_error e = {0};
    /* The latency parser knows times; a fixed distribution of that time is the value. */
    snprintf(spec, sizeof(spec), "create=fixed:%s", s);
    if (sp_mock_latency_parse(&tmp, spec, &e) != SP_E_OK)
        return *why = "a time needs a number and a unit: us, ms or s (e.g. 500ms)", -1;
    *ms = tmp.dist[SP_MOCK_PHASE_CREATE].a_us / 1000.0;
    return 0;
}

static int parse_action(struct mock_fault *f, const char *w, const char **why)
{
    static const struct {
        const char *name;
        enum sp_mock_fault_kind k;
    } ACTIONS[] = {{"delay", SP_MOCK_FK_DELAY},         {"reset", SP_MOCK_FK_RESET},
                   {"reset-mid", SP_MOCK_FK_RESET_MID}, {"empty", SP_MOCK_FK_EMPTY},
                   {"truncate", SP_MOCK_FK_TRUNCATE},   {"malformed", SP_MOCK_FK_MALFORMED},
                   {"oversize", SP_MOCK_FK_OVERSIZE},   {"dribble", SP_MOCK_FK_DRIBBLE},
                   {"stall", SP_MOCK_FK_STALL},         {"cut", SP_MOCK_FK_CUT},
                   {"no-eos", SP_MOCK_FK_NO_EOS}};
    for (size_t i = 0; i < sizeof(ACTIONS) / sizeof(ACTIONS[0]); i++)
        if (strcmp(w, ACTIONS[i].name) == 0)
            return f->kind = ACTIONS[i].k, 0;
    char *end = NULL;
    long st = strtol(w, &end, 10);
    if (end == w + 3 && *end == '\0' &&
        (st == 429 || st == 500 || st == 502 || st == 503 || st == 504)) {
        f->kind = SP_MOCK_FK_STATUS;
        f->status = (int)st;
        f->retry_after = st == 429 || st == 503 ? 1 : 0;
        return 0;
    }
    return *why = "unknown action (want 429, 500, 502, 503, 504, delay, reset, reset-mid, "
                  "empty, truncate, malformed, oversize, dribble, stall, cut or no-eos)",
           -1;
}

static int parse_sandbox_kind(struct mock_fault *f, const char *w, const char **why)
{
    static const char *const NAMES[] = {"stuck",  "error",          "never-alive",
                                        "vanish", "dataplane-dies", "server-crash"};
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (strcmp(w, NAMES[i]) == 0)
            return f->kind = (enum sp_mock_fault_kind)(SP_MOCK_FK_SB_STUCK + i), 0;
    return *why = "unknown sandbox fault (want stuck, error, never-alive, vanish, "
                  "dataplane-dies or server-crash)",
           -1;
}

static int parse_number(const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

static int parse_option(struct mock_fault *f, const char *key, const char *v, const char **why)
{
    double d;
    if (strcmp(key, "p") == 0)
        return parse_number(v, 0, 1, &f->p) ? (*why = "p= wants a probability in [0, 1]", -1) : 0;
    if (strcmp(key, "count") == 0) {
        if (parse_number(v, 1, 1e9, &d) || d != floor(d))
            return *why = "count= wants a whole number >= 1", -1;
        return f->left = (long)d, 0;
    }
    if (strcmp(key, "retry-after") == 0 && f->kind == SP_MOCK_FK_STATUS) {
        if (parse_number(v, 0, 86400, &d) || d != floor(d))
            return *why = "retry-after= wants whole seconds (0 .. 86400)", -1;
        return f->retry_after = (int)d, 0;
    }
    if (strcmp(key, "dist") == 0 && f->kind == SP_MOCK_FK_DELAY) {
        struct sp_mock_config tmp = {0};
        char spec[300];
        struct sp_error e = {0};
        snprintf(spec, sizeof(spec), "create=%s", v);
        if (sp_mock_latency_parse(&tmp, spec, &e) != SP_E_OK)
            return *why = "dist= wants a latency distribution (e.g. fixed:2s, uniform:1s,3s)", -1;
        f->delay = tmp.dist[SP_MOCK_PHASE_CREATE];
        return f->has_delay = true, 0;
    }
    if (strcmp(key, "size") == 0 && f->kind == SP_MOCK_FK_OVERSIZE) {
        if (parse_number(v, 1, 4e9, &d))
            return *why = "size= wants bytes (1 .. 4e9)", -1;
        return f->size = (size_t)d, 0;
    }
    if (strcmp(key, "rate") == 0 && f->kind == SP_MOCK_FK_DRIBBLE) {
        if (parse_number(v, 1, 1e9, &d))
            return *why = "rate= wants bytes per second >= 1", -1;
        return f->rate = (long)d, 0;
    }
    if ((strcmp(key, "for") == 0 && f->kind == SP_MOCK_FK_STALL) ||
        (strcmp(key, "after") == 0 && f->kind >= SP_MOCK_FK_SB_VANISH)) {
        if (parse_time_ms(v, &d, why) != 0)
            return -1;
        return f->arg_ms = (int64_t)d, 0;
    }
    if (strcmp(key, "plane") == 0) {
        f->plane = strcmp(v, "api") == 0    ? PLANE_API
                   : strcmp(v, "data") == 0 ? PLANE_DATA
                   : strcmp(v, "any") == 0  ? PLANE_ANY
                                            : -1;
        return f->plane < 0 ? (*why = "plane= wants api, data or any", -1) : 0;
    }
    if (strcmp(key, "vendor") == 0 && strlen(v) < sizeof(f->vendor)) {
        snprintf(f->vendor, sizeof(f->vendor), "%s", v);
        return 0;
    }
    return *why = "unknown option for this fault (see the grammar: p, count, plane, vendor, "
                  "retry-after, dist, size, rate, for, after)",
           -1;
}

static int parse_pattern(struct mock_fault *f, const char *w, const char **why)
{
    if (w[0] != '/' || strlen(w) >= sizeof(f->pattern))
        return *why = "the path must start with '/' (and be under 256 bytes)", -1;
    const char *dd = strstr(w, "**");
    if (dd != NULL && (dd[2] != '\0' || (dd != w + 1 && dd[-1] != '/')))
        return *why = "'**' may only be the last segment", -1;
    snprintf(f->pattern, sizeof(f->pattern), "%s", w);
    return 0;
}

static int parse_words(struct mock_fault *f, char **w, int n, const char **why)
{
    static const char *const METHODS[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "*"};
    int i = 0;
    if (n > 0 && strcmp(w[0], "sandbox") == 0) {
        f->sandbox = true;
        if (n < 2)
            return *why = "'sandbox' needs a fault kind", -1;
        if (parse_sandbox_kind(f, w[1], why) != 0)
            return -1;
        i = 2;
    } else {
        snprintf(f->method, sizeof(f->method), "*");
        if (i < n && w[i][0] != '/') {
            bool known = false;
            for (size_t k = 0; k < sizeof(METHODS) / sizeof(METHODS[0]); k++)
                known |= strcmp(w[i], METHODS[k]) == 0;
            if (!known)
                return *why = "want [METHOD] PATH ACTION or 'sandbox KIND' (METHOD: GET, POST, "
                              "PUT, PATCH, DELETE, HEAD or *)",
                       -1;
            snprintf(f->method, sizeof(f->method), "%s", w[i++]);
        }
        if (i >= n)
            return *why = "a path is missing", -1;
        if (parse_pattern(f, w[i++], why) != 0)
            return -1;
        if (i >= n)
            return *why = "an action is missing after the path", -1;
        if (parse_action(f, w[i++], why) != 0)
            return -1;
    }
    for (; i < n; i++) {
        char *eq = strchr(w[i], '=');
        if (eq == NULL || eq == w[i])
            return *why = "an option must be KEY=VALUE", -1;
        *eq = '\0';
        if (parse_option(f, w[i], eq + 1, why) != 0)
            return -1;
    }
    if (f->kind == SP_MOCK_FK_DELAY && !f->has_delay)
        return *why = "delay needs dist=DIST:PARAMS (e.g. dist=fixed:2s)", -1;
    return 0;
}

int mock_fault_parse(const char *spec, struct mock_fault *f, struct sp_error *err)
{
    memset(f, 0, sizeof(*f));
    f->p = 1;
    f->left = -1;
    f->stop_ms = -1;
    f->plane = PLANE_ANY;
    f->size = DEFAULT_OVERSIZE;
    f->rate = DEFAULT_RATE;
    f->arg_ms = DEFAULT_AFTER_MS;
    const char *why = NULL;
    char buf[1024], *w[32];
    int n = 0;
    if (spec == NULL || strlen(spec) >= sizeof(buf)) {
        why = "empty or longer than 1023 bytes";
    } else {
        snprintf(buf, sizeof(buf), "%s", spec);
        for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t && n < 32;
             t = strtok_r(NULL, " \t", &save))
            w[n++] = t;
        if (n == 0)
            why = "empty";
        else if (n == 32)
            why = "too many words";
        else if (parse_words(f, w, n, &why) == 0)
            why = NULL;
    }
    if (f->kind == SP_MOCK_FK_STALL && f->arg_ms == DEFAULT_AFTER_MS)
        f->arg_ms = 3600 * 1000; /* "for" defaults to an hour, not the sandbox faults' 1 s */
    if (why != NULL) {
        sp_error_set(err, SP_E_CONFIG, "fault '%.200s': %s", spec ? spec : "", why);
        return -1;
    }
    snprintf(f->spec, sizeof(f->spec), "%s", spec);
    return 0;
}

enum sp_err sp_mock_fault_check(const char *spec, struct sp_error *err)
{
    struct mock_fault f;
    return mock_fault_parse(spec, &f, err) == 0 ? SP_E_OK : SP_E_CONFIG;
}

/* --- the list ------------------------------------------------------------------------------- */

struct mock_faults *mock_faults_new(uint64_t seed)
{
    struct mock_faults *fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return NULL;
    pthread_mutex_init(&fs->lock, NULL);
    fs->rng = seed ? seed : 0x5eedfa17u;
    fs->t0_ms = sp_now_ms();
    fs->next_id = 1;
    return fs;
}

void mock_faults_free(struct mock_faults *fs)
{
    if (fs == NULL)
        return;
    free(fs->v);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

int mock_faults_add(struct mock_faults *fs, const struct mock_fault *f)
{
    pthread_mutex_lock(&fs->lock);
    int id = -1;
    if (fs->n == fs->cap && fs->cap < MOCK_FAULTS_MAX) {
        size_t cap = fs->cap ? fs->cap * 2 : 8;
        struct mock_fault *v = realloc(fs->v, cap * sizeof(*v));
        if (v != NULL)
            fs->v = v, fs->cap = cap;
    }
    if (fs->n < fs->cap) {
        fs->v[fs->n] = *f;
        id = fs->v[fs->n].id = fs->next_id++;
        fs->n++;
    }
    pthread_mutex_unlock(&fs->lock);
    return id;
}

bool mock_faults_remove(struct mock_faults *fs, int id)
{
    bool found = false;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->n;) {
        if (id < 0 || fs->v[i].id == id) {
            memmove(&fs->v[i], &fs->v[i + 1], (fs->n - i - 1) * sizeof(fs->v[0]));
            fs->n--;
            found = true;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return found;
}

/* xorshift64*: the probability draws, reproducible from the seed. Under fs->lock. */
static double draw_u(struct mock_faults *fs)
{
    fs->rng ^= fs->rng >> 12;
    fs->rng ^= fs->rng << 25;
    fs->rng ^= fs->rng >> 27;
    return (double)((fs->rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static bool segments_match(const char *pat, const char *path)
{
    while (*pat == '/' && *path == '/') {
        pat++, path++;
        size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
        if (pl == 2 && strncmp(pat, "**", 2) == 0)
            return true;
        bool any = (pl == 1 && *pat == '*') || (pl == 2 && strncmp(pat, "{}", 2) == 0);
        if (any ? sl == 0 : (pl != sl || strncmp(pat, path, pl) != 0))
            return false;
        pat += pl, path += sl;
    }
    return *pat == '\0' && (*path == '\0' || strcmp(path, "/") == 0);
}

static bool fault_matches(const struct mock_fault *f,
                          const struct mock_req *r,
                          bool data_plane,
                          const char *vendor,
                          const char *api_prefix)
{
    if (f->sandbox || (f->method[0] != '*' && strcmp(f->method, r->method) != 0))
        return false;
    if ((f->plane == PLANE_API && data_plane) || (f->plane == PLANE_DATA && !data_plane))
        return false;
    if (f->vendor[0] != '\0' && strcmp(f->vendor, vendor) != 0)
        return false;
    size_t pl = strlen(api_prefix);
    const char *rest = pl && strncmp(r->path, api_prefix, pl) == 0 ? r->path + pl : NULL;
    return segments_match(f->pattern, r->path) || (rest && segments_match(f->pattern, rest));
}

/* Under fs->lock: whether f is in its window, has injections left and wins its draw; counts
 * the injection when it does. */
static bool fault_fires(struct mock_faults *fs, struct mock_fault *f)
{
    int64_t t = sp_now_ms() - fs->t0_ms;
    if (t < f->start_ms || (f->stop_ms >= 0 && t >= f->stop_ms) || f->left == 0)
        return false;
    if (f->p < 1 && draw_u(fs) >= f->p)
        return false;
    if (f->left > 0)
        f->left--;
    f->injected++;
    fs->injected[f->kind]++;
    return true;
}

bool mock_faults_pick(struct mock_faults *fs,
                      const struct mock_req *r,
                      bool data_plane,
                      const char *vendor,
                      const char *api_prefix,
                      bool skip_delay,
                      struct mock_fault *out)
{
    bool hit = false;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->n && !hit; i++) {
        struct mock_fault *f = &fs->v[i];
        if ((skip_delay && f->kind == SP_MOCK_FK_DELAY) ||
            !fault_matches(f, r, data_plane, vendor, api_prefix))
            continue;
        if ((hit = fault_fires(fs, f)))
            *out = *f;
    }
    if (hit && out->kind == SP_MOCK_FK_DELAY) {
        double u = draw_u(fs), u2 = draw_u(fs), u3 = draw_u(fs);
        double z = sqrt(-2.0 * log(u2 > 0 ? u2 : 1e-300)) * cos(6.283185307179586 * u3);
        out->arg_ms = (int64_t)(sp_dist_draw(&out->delay, u, z) / 1000.0);
    }
    pthread_mutex_unlock(&fs->lock);
    return hit;
}

enum sp_mock_fault
mock_faults_pick_sandbox(struct mock_faults *fs, const char *vendor, int64_t *after_ms)
{
    static const enum sp_mock_fault MAP[] = {
        SP_MOCK_FAULT_STUCK_CREATING, SP_MOCK_FAULT_ERROR_STATE,     SP_MOCK_FAULT_NEVER_ALIVE,
        SP_MOCK_FAULT_VANISH,         SP_MOCK_FAULT_DATA_PLANE_DIES, SP_MOCK_FAULT_SERVER_CRASH};
    enum sp_mock_fault got = SP_MOCK_FAULT_NONE;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->n && got == SP_MOCK_FAULT_NONE; i++) {
        struct mock_fault *f = &fs->v[i];
        if (!f->sandbox || (f->vendor[0] && strcmp(f->vendor, vendor) != 0) || !fault_fires(fs, f))
            continue;
        got = MAP[f->kind - SP_MOCK_FK_SB_STUCK];
        *after_ms = f->arg_ms;
    }
    pthread_mutex_unlock(&fs->lock);
    return got;
}

void mock_faults_count(struct mock_faults *fs, enum sp_mock_fault_kind k)
{
    pthread_mutex_lock(&fs->lock);
    fs->injected[k]++;
    pthread_mutex_unlock(&fs->lock);
}

long mock_faults_injected(struct mock_faults *fs, int kind)
{
    long n = 0;
    pthread_mutex_lock(&fs->lock);
    for (int k = 0; k < SP_MOCK_FK__COUNT; k++)
        if (kind < 0 || kind == k)
            n += fs->injected[k];
    pthread_mutex_unlock(&fs->lock);
    return n;
}
