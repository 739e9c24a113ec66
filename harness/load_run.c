/* The lifecycle runner of load.h. One thread, one event loop: the schedule decides when a
 * lifecycle starts, each lifecycle chains its ops through done callbacks (one op in flight
 * per lifecycle), and the phase samples of a lifecycle are appended together when it ends,
 * so samples.ndjson keeps a lifecycle's lines adjacent. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"

#define FILE_PATH "sandprobe-load.txt"

struct runner;

struct lifecycle {
    struct runner *r;
    struct lifecycle *next_free;
    uint64_t k;
    int64_t intended, began; /* µs from the run start */
    int64_t phase_start;     /* absolute sp_now_us() of the current op's start */
    char session[64];
    struct sp_create_opts create;
    struct sp_sandbox *sb;
    struct sp_op op;
    struct sp_exec x;
    struct sp_files f;
    char content[64];
    int64_t files_start; /* the files phase spans the write and the read op */
    int files_retries;
    struct sp_load_sample s[SP_PHASE__COUNT];
    int n;
    bool failed;
};

struct runner {
    const struct sp_load_cfg *cfg;
    struct sp_loop *loop;
    int64_t t0;
    struct lifecycle *free_list;
    long in_flight, started, finished, failed;
    bool stopping, oom;
    struct sp_load_outcome *out;
    struct sp_hist *tti; /* live, for the progress line */
    int64_t last_progress, last_end;
    long last_started;
};

static void lc_next_step(struct lifecycle *l);

static int64_t rel(const struct runner *r, int64_t abs_us)
{
    return abs_us - r->t0;
}

/* Records phase p of l from start to end (absolute µs); fails it with op's error if rc. */
static void lc_sample(struct lifecycle *l,
                      enum sp_phase p,
                      int64_t start,
                      int64_t end,
                      enum sp_err rc,
                      const struct sp_error *e,
                      int retries)
{
    struct sp_load_sample *s = &l->s[l->n++];
    memset(s, 0, sizeof(*s));
    s->lifecycle = l->k;
    s->intended_us = l->intended;
    s->start_us = rel(l->r, start);
    s->end_us = rel(l->r, end);
    s->phase = p;
    s->err = rc;
    s->retries = retries;
    snprintf(s->sandbox, sizeof(s->sandbox), "%s", l->sb ? sp_sandbox_id(l->sb) : "");
    if (rc != SP_E_OK) {
        char msg[320];
        s->message = strdup(e ? sp_error_format(e, msg, sizeof(msg)) : sp_err_name(rc));
        l->failed = true;
    }
}

static void lc_end(struct lifecycle *l)
{
    struct runner *r = l->r;
    for (int i = 0; i < l->n; i++) {
        if (sp_load_samples_add(&r->out->samples, &l->s[i]) != 0)
            r->oom = true;
        if (l->s[i].phase == SP_PHASE_TTI && l->s[i].err == SP_E_OK)
            sp_hist_record(r->tti, l->s[i].end_us - l->s[i].intended_us);
        free(l->s[i].message);
    }
    r->last_end = sp_now_us();
    sp_exec_cleanup(&l->x);
    sp_files_cleanup(&l->f);
    sp_sandbox_free(l->sb);
    l->sb = NULL;
    r->in_flight--;
    r->finished++;
    r->failed += l->failed;
    l->next_free = r->free_list;
    r->free_list = l;
}

static void lc_submit(struct lifecycle *l, sp_op_done_fn done)
{
    l->phase_start = sp_now_us();
    sp_loop_submit(l->r->loop, &l->op, done, l);
}

static void on_cleaned(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    int64_t now = sp_now_us();
    int64_t deleted = op->mark_us[SP_MARK_DELETED], gone = op->mark_us[SP_MARK_GONE];
    if (rc == SP_E_OK || deleted) {
        /* teardown ends when delete returned; gone when the provider confirmed it. */
        int64_t t_end = deleted ? deleted : now;
        lc_sample(l, SP_PHASE_TEARDOWN, l->phase_start, t_end, SP_E_OK, NULL, op->retries);
        lc_sample(l, SP_PHASE_GONE, t_end, rc == SP_E_OK ? (gone ? gone : now) : now, rc, &op->err,
                  0);
    } else {
        lc_sample(l, SP_PHASE_TEARDOWN, l->phase_start, now, rc, &op->err, op->retries);
    }
    lc_end(l);
}

static void lc_cleanup(struct lifecycle *l)
{
    sp_op_init_cleanup(&l->op, l->sb, SP_CLEANUP_DELETE);
    lc_submit(l, on_cleaned);
}

static void on_read(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    struct sp_error e = op->err;
    const char *got = sp_buf_str(&l->f.content);
    size_t n = strlen(l->content);
    /* The action server ends a text write with a newline (SP_CAP_WRITE_NEWLINE). */
    if (rc == SP_E_OK && (strncmp(got, l->content, n) != 0 || (got[n] && strcmp(got + n, "\n")))) {
        rc = SP_E_PROTOCOL;
        sp_error_set(&e, rc, "read back '%.40s', wrote '%s'", got, l->content);
    }
    lc_sample(l, SP_PHASE_FILES, l->files_start, sp_now_us(), rc, &e,
              op->retries + l->files_retries);
    lc_cleanup(l);
}

static void on_written(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    int64_t began = l->phase_start;
    if (rc != SP_E_OK || l->r->stopping) {
        /* Stopping after the write: the phase did not complete, so it has no sample. */
        if (rc != SP_E_OK)
            lc_sample(l, SP_PHASE_FILES, began, sp_now_us(), rc, &op->err, op->retries);
        lc_cleanup(l);
        return;
    }
    l->files_start = began;
    l->files_retries = op->retries;
    sp_files_cleanup(&l->f);
    sp_files_init(&l->f, SP_FILE_READ, FILE_PATH);
    sp_op_init_files(&l->op, l->sb, &l->f);
    sp_loop_submit(l->r->loop, &l->op, on_read, l);
}

static void lc_files(struct lifecycle *l)
{
    snprintf(l->content, sizeof(l->content), "sandprobe load %llu", (unsigned long long)l->k);
    sp_files_init(&l->f, SP_FILE_WRITE, FILE_PATH);
    l->f.data = l->content;
    l->f.len = strlen(l->content);
    sp_op_init_files(&l->op, l->sb, &l->f);
    lc_submit(l, on_written);
}

static void on_executed(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    struct sp_error e = op->err;
    if (rc == SP_E_OK && l->x.exit_code != 0) {
        rc = SP_E_PROTOCOL;
        sp_error_set(&e, rc, "exec '%.60s' exited %d", l->x.command, l->x.exit_code);
    }
    int64_t now = sp_now_us();
    lc_sample(l, SP_PHASE_FIRST_EXEC, l->phase_start, now, rc, &e, op->retries);
    /* tti: intended start -> first exec done; its service time runs from the actual start. */
    lc_sample(l, SP_PHASE_TTI, l->r->t0 + l->began, now, rc, &e, 0);
    if (rc == SP_E_OK && (l->r->cfg->steps & SP_LOAD_STEP_FILES) && !l->r->stopping)
        lc_files(l);
    else
        lc_cleanup(l);
}

static void on_started(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    int64_t now = sp_now_us();
    int64_t ready = op->mark_us[SP_MARK_READY], alive = op->mark_us[SP_MARK_ALIVE];
    if (rc == SP_E_OK || ready) {
        int64_t t_ready = ready ? ready : now;
        lc_sample(l, SP_PHASE_READY, l->phase_start, t_ready, SP_E_OK, NULL, op->retries);
        lc_sample(l, SP_PHASE_ALIVE, t_ready, rc == SP_E_OK ? (alive ? alive : now) : now, rc,
                  &op->err, 0);
    } else {
        lc_sample(l, SP_PHASE_READY, l->phase_start, now, rc, &op->err, op->retries);
    }
    if (rc != SP_E_OK || l->r->stopping || !(l->r->cfg->steps & SP_LOAD_STEP_EXEC)) {
        lc_cleanup(l);
        return;
    }
    sp_exec_init(&l->x, l->r->cfg->exec_cmd ? l->r->cfg->exec_cmd : "echo sandprobe");
    sp_op_init_exec(&l->op, l->sb, &l->x);
    lc_submit(l, on_executed);
}

static void on_created(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    if (rc == SP_E_OK)
        l->sb = op->sandbox;
    lc_sample(l, SP_PHASE_API, l->phase_start, sp_now_us(), rc, &op->err, op->retries);
    if (rc != SP_E_OK) {
        lc_end(l);
        return;
    }
    lc_next_step(l);
}

/* After create: startup, or straight to cleanup when startup is not among the steps. */
static void lc_next_step(struct lifecycle *l)
{
    if (!(l->r->cfg->steps & SP_LOAD_STEP_STARTUP) || l->r->stopping) {
        lc_cleanup(l);
        return;
    }
    sp_op_init_startup(&l->op, l->sb);
    lc_submit(l, on_started);
}

static int lc_start(struct runner *r, uint64_t k, int64_t intended)
{
    struct lifecycle *l = r->free_list;
    if (l)
        r->free_list = l->next_free;
    else if ((l = malloc(sizeof(*l))) == NULL)
        return -1;
    memset(l, 0, sizeof(*l));
    l->r = r;
    l->k = k;
    l->intended = intended;
    l->began = rel(r, sp_now_us());
    snprintf(l->session, sizeof(l->session), "%s-%llu", r->cfg->run_id, (unsigned long long)k);
    l->create.session = l->session;
    l->create.run_id = r->cfg->run_id;
    sp_exec_init(&l->x, "true");
    sp_files_init(&l->f, SP_FILE_READ, FILE_PATH);
    r->in_flight++;
    r->started++;
    sp_op_init_create(&l->op, r->cfg->client, &l->create);
    lc_submit(l, on_created);
    return 0;
}

/* --- progress ------------------------------------------------------------------------------- */

static void progress(struct runner *r, bool final)
{
    FILE *out = r->cfg->progress;
    int64_t now = sp_now_us();
    double every =
        r->cfg->progress_tty ? 0.25 : (r->cfg->progress_every_s > 0 ? r->cfg->progress_every_s : 5);
    if (out == NULL || (!final && (double)(now - r->last_progress) / 1e6 < every))
        return;
    double dt = (double)(now - r->last_progress) / 1e6;
    double rate = dt > 0 ? (double)(r->started - r->last_started) / dt : 0;
    char p50[32], p99[32];
    sp_load_fmt_us((double)sp_hist_percentile(r->tti, 50), p50, sizeof(p50));
    sp_load_fmt_us((double)sp_hist_percentile(r->tti, 99), p99, sizeof(p99));
    fprintf(out,
            "%s[%6.1fs] started %ld, finished %ld, in flight %ld, %.1f/s, tti p50 %s p99 %s, "
            "errors %ld%s",
            r->cfg->progress_tty ? "\r\033[K" : "", (double)(now - r->t0) / 1e6, r->started,
            r->finished, r->in_flight, rate, r->tti->total ? p50 : "-", r->tti->total ? p99 : "-",
            r->failed, r->cfg->progress_tty && !final ? "" : "\n");
    fflush(out);
    r->last_progress = now;
    r->last_started = r->started;
}

/* --- scheduling ------------------------------------------------------------------------------ */

static void sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static bool capped(const struct runner *r)
{
    const struct sp_load_cfg *c = r->cfg;
    return (c->max_inflight > 0 && r->in_flight >= c->max_inflight) ||
           (c->max_total > 0 && r->started >= c->max_total);
}

/* Waits for the network or until `until` (µs from the run start), whichever comes first. */
static void wait_until(struct runner *r, int64_t until)
{
    int64_t left = until - rel(r, sp_now_us());
    if (left > 100000)
        left = 100000; /* stay responsive to the stop flag and the progress line */
    if (r->in_flight == 0) {
        if (left > 0)
            sleep_us(left);
        return;
    }
    /* Whole milliseconds on the loop; the last one spins on it, for sub-ms start times. */
    sp_loop_run_once(r->loop, left > 1500 ? (long)(left - 1000) / 1000 : 0);
}

static int run_open(struct runner *r, struct sp_schedule *s)
{
    uint64_t k;
    int64_t at;
    bool more = sp_schedule_next(s, &k, &at);
    while (more || r->in_flight > 0) {
        if (r->cfg->stop && *r->cfg->stop)
            r->stopping = true;
        if (r->stopping)
            more = false;
        while (more && !capped(r) && at <= rel(r, sp_now_us())) {
            if (lc_start(r, k, at) != 0)
                return -1;
            more = sp_schedule_next(s, &k, &at);
        }
        if (more && r->cfg->max_total > 0 && r->started >= r->cfg->max_total)
            more = false;
        wait_until(r, more && !capped(r) ? at : rel(r, sp_now_us()) + 100000);
        progress(r, false);
        if (r->oom)
            return -1;
    }
    return 0;
}

static int run_closed(struct runner *r, const struct sp_schedule *s)
{
    long slots = sp_schedule_slots(s), limit = sp_schedule_shard_count(s);
    bool seq = s->profile == SP_PROFILE_SEQUENTIAL;
    uint64_t m = 0;
    if (slots <= 0 || (s->count > 0 && limit <= 0))
        return 0; /* nothing for this shard (sp_schedule_check refuses such a split) */
    for (;;) {
        if (r->cfg->stop && *r->cfg->stop)
            r->stopping = true;
        int64_t now = rel(r, sp_now_us());
        bool more = !r->stopping && (limit <= 0 || (long)m < limit) &&
                    (s->duration_us <= 0 || now < s->duration_us) &&
                    (r->cfg->max_total <= 0 || r->started < r->cfg->max_total);
        if (!more && r->in_flight == 0)
            return 0;
        while (more && r->in_flight < slots && !capped(r) && (limit <= 0 || (long)m < limit)) {
            uint64_t k = seq ? m : s->shard + (uint64_t)s->shards * m;
            if (lc_start(r, k, rel(r, sp_now_us())) != 0)
                return -1;
            m++;
        }
        wait_until(r, now + 100000);
        progress(r, false);
        if (r->oom)
            return -1;
    }
}

/* --- the sweep ------------------------------------------------------------------------------- */

/* Deletes the sandbox found by label key=value; true when there was one. */
static bool
sweep_one(const struct sp_load_cfg *cfg, const char *key, const char *value, enum sp_err *rc)
{
    struct sp_sandbox *sb = NULL;
    struct sp_error e;
    sp_error_clear(&e);
    *rc = sp_sandbox_attach(cfg->client, key, value, &sb, &e);
    if (*rc != SP_E_OK)
        return false;
    sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, &e);
    sp_sandbox_free(sb);
    return true;
}

/* Finds what carries the run label and deletes it, one at a time: attach finds one, and
 * several is `conflict` — then each lifecycle's own session label is tried. Stops when
 * nothing is found or a pass deletes nothing. Returns how many it found. */
static long sweep(const struct sp_load_cfg *cfg, const struct sp_load_samples *ss)
{
    long leaks = 0;
    enum sp_err rc;
    for (int pass = 0; pass < 1000; pass++) {
        if (sweep_one(cfg, SP_RUN_LABEL, cfg->run_id, &rc)) {
            leaks++;
            continue;
        }
        if (rc != SP_E_CONFLICT)
            break;
        long before = leaks;
        for (size_t j = 0; j < ss->n; j++) {
            const struct sp_load_sample *x = &ss->v[j];
            char session[64];
            if (x->phase != SP_PHASE_API || x->sandbox[0] == '\0')
                continue;
            snprintf(session, sizeof(session), "%s-%llu", cfg->run_id,
                     (unsigned long long)x->lifecycle);
            leaks += sweep_one(cfg, NULL, session, &rc);
        }
        if (leaks == before) {
            leaks += 2; /* several we cannot find one by one: at least two, still there */
            break;
        }
    }
    return leaks;
}

/* --- the run -----------------------------------------------------------------------------------
 */

void sp_load_plan(const struct sp_schedule *s, double *window_s, double *target_rate)
{
    *window_s = 0;
    *target_rate = 0;
    if (!sp_schedule_is_open(s))
        return;
    if (s->duration_us > 0 && s->count <= 0) {
        *window_s = (double)s->duration_us / 1e6;
    } else {
        int64_t last = sp_schedule_at(s, (uint64_t)(s->count - 1));
        double end_rate = s->profile == SP_PROFILE_RAMP ? s->ramp_to : s->rate;
        double gap = s->profile == SP_PROFILE_BURST ? 1.0 : end_rate > 0 ? 1.0 / end_rate : 0.0;
        *window_s = (double)last / 1e6 + gap;
        if (s->duration_us > 0 && *window_s > (double)s->duration_us / 1e6)
            *window_s = (double)s->duration_us / 1e6;
    }
    long planned = sp_schedule_planned(s);
    *target_rate = *window_s > 0 && planned > 0 ? (double)planned / *window_s : 0;
}

static void free_lifecycles(struct runner *r)
{
    while (r->free_list) {
        struct lifecycle *l = r->free_list;
        r->free_list = l->next_free;
        free(l);
    }
}

enum sp_err
sp_load_run(const struct sp_load_cfg *cfg, struct sp_load_outcome *out, struct sp_error *err)
{
    struct runner r;
    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    r.cfg = cfg;
    r.out = out;
    struct sp_schedule s = cfg->sched;
    s.next = 0;
    sp_load_plan(&s, &out->window_s, &out->target_rate);
    if ((r.tti = malloc(sizeof(*r.tti))) == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_E_INTERNAL;
    }
    sp_hist_init(r.tti);
    enum sp_err rc = sp_loop_new(&r.loop, err);
    if (rc != SP_E_OK) {
        free(r.tti);
        return rc;
    }
    r.t0 = r.last_progress = r.last_end = sp_now_us();
    int bad = sp_schedule_is_open(&s) ? run_open(&r, &s) : run_closed(&r, &s);
    if (bad) {
        /* Out of memory: abandon the loop (its ops are freed with it). */
        sp_error_set(err, SP_E_INTERNAL, "out of memory running the schedule");
        rc = SP_E_INTERNAL;
    }
    progress(&r, true);
    out->wall_s = (double)(r.last_end - r.t0) / 1e6;
    out->interrupted = r.stopping;
    sp_loop_free(r.loop);
    free_lifecycles(&r);
    free(r.tti);
    if (rc == SP_E_OK)
        out->leaks = sweep(cfg, &out->samples);
    return rc;
}
