/* The job pool of `sandprobe check` (see check_jobs.h). One mutex guards the schedule, the
 * per-target counters and the list of sandboxes alive; workers hold it only to pick or
 * finish an item, never while a requirement runs. Lock order: pool->mu only (the runner and
 * the provider layer take no lock of ours). */
#include "check_jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider.h"

enum { ST_PENDING, ST_RUNNING, ST_FINAL };
enum { K_PLAIN, K_SERIAL, K_LAST };

static bool disruptive(const struct sp_requirement *r)
{
    return strstr(r->tags, "[Disruptive]") != NULL;
}

struct item {
    struct sp_jobs_target *tg;
    size_t idx;
    int kind;
};

struct alive {
    const struct sp_jobs_target *tg;
    char id[128];
};

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* an item became dispatchable, or stop */
    pthread_cond_t main; /* an item became final, or stop */
    struct item *items;  /* K_PLAIN first, then K_SERIAL, then K_LAST */
    size_t n_items;
    size_t open; /* items not final */
    struct alive *alive;
    size_t n_alive, cap_alive;
};

static int kind_of(const struct sp_requirement *r)
{
    if (r->flags & SP_REQ_LAST)
        return K_LAST;
    /* A [Disruptive] requirement arms faults on the target's one mock, which would strike
     * whatever else runs on it meanwhile: it runs alone, as a [Serial] one. */
    return strstr(r->tags, "[Serial]") || disruptive(r) ? K_SERIAL : K_PLAIN;
}

/* --- hooks the runner calls from the worker threads ----------------------------------------- */

static bool target_cancelled(void *arg)
{
    struct sp_jobs_target *tg = arg;
    return atomic_load(&tg->pool->stop) != 0 || atomic_load(&tg->gone);
}

static void target_sandbox(void *arg, const char *id, bool alive)
{
    struct sp_jobs_target *tg = arg;
    struct pool *p = tg->pool->priv;
    pthread_mutex_lock(&p->mu);
    if (alive) {
        if (p->n_alive == p->cap_alive) {
            size_t cap = p->cap_alive ? p->cap_alive * 2 : 32;
            struct alive *a = realloc(p->alive, cap * sizeof(*a));
            if (a) {
                p->alive = a;
                p->cap_alive = cap;
            }
        }
        if (p->n_alive < p->cap_alive) {
            p->alive[p->n_alive].tg = tg;
            snprintf(p->alive[p->n_alive].id, sizeof(p->alive[0].id), "%s", id);
            p->n_alive++;
        }
    } else {
        for (size_t i = 0; i < p->n_alive; i++) {
            if (p->alive[i].tg == tg && strcmp(p->alive[i].id, id) == 0) {
                p->alive[i] = p->alive[--p->n_alive];
                break;
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
}

size_t sp_jobs_print_left(struct sp_jobs *j, FILE *out)
{
    struct pool *p = j->priv;
    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_alive;
    for (size_t i = 0; out && i < n; i++)
        fprintf(out, "  %s: %s\n", p->alive[i].tg->label, p->alive[i].id);
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* --- the schedule (called with mu held) --------------------------------------------------------
 */

static void set_skip(struct sp_req_result *res, const struct sp_requirement *req, const char *why)
{
    memset(res, 0, sizeof(*res));
    res->req = req;
    res->outcome = SP_REQ_SKIP;
    snprintf(res->message, sizeof(res->message), "%s", why);
}

static void finalize(struct pool *p, const struct item *it)
{
    struct sp_jobs_target *tg = it->tg;
    tg->state[it->idx] = ST_FINAL;
    tg->done++;
    if (it->kind != K_LAST)
        tg->n_plain_done++;
    p->open--;
}

/* Records a pending item as not run when the run stopped or its target is gone. */
static bool drop_if_stopped(struct sp_jobs *j, struct pool *p, const struct item *it)
{
    struct sp_jobs_target *tg = it->tg;
    if (tg->not_run) {
        set_skip(&tg->results[it->idx], tg->reqs[it->idx], tg->not_run);
    } else if (atomic_load(&j->stop)) {
        set_skip(&tg->results[it->idx], tg->reqs[it->idx], "not run: the run was interrupted");
    } else if (atomic_load(&tg->gone)) {
        char why[200];
        snprintf(why, sizeof(why), "not run: %s stopped answering", tg->label);
        set_skip(&tg->results[it->idx], tg->reqs[it->idx], why);
    } else {
        return false;
    }
    finalize(p, it);
    return true;
}

static bool dispatchable(const struct item *it)
{
    const struct sp_jobs_target *tg = it->tg;
    switch (it->kind) {
    case K_PLAIN:
        return !tg->serial_active;
    case K_SERIAL:
        return tg->running == 0;
    default:
        return tg->running == 0 && tg->n_plain_done == tg->n_plain;
    }
}

/* The first item that may start now, or NULL. Drops what can no longer run on the way. */
static struct item *pick(struct sp_jobs *j, struct pool *p)
{
    for (size_t i = 0; i < p->n_items; i++) {
        struct item *it = &p->items[i];
        if (it->tg->state[it->idx] != ST_PENDING || drop_if_stopped(j, p, it))
            continue;
        if (dispatchable(it))
            return it;
    }
    return NULL;
}

/* A requirement cut short by a stop or a vanished provider did not fail: it did not finish. */
static void settle(struct sp_jobs *j, struct sp_jobs_target *tg, struct sp_req_result *res)
{
    if (res->outcome == SP_REQ_PASS || res->outcome == SP_REQ_SKIP)
        return;
    char why[300];
    if (atomic_load(&j->stop))
        snprintf(why, sizeof(why), "not finished: the run was interrupted");
    else if (atomic_load(&tg->gone))
        snprintf(why, sizeof(why), "not finished: %s stopped answering", tg->label);
    else
        return;
    double s = res->seconds;
    set_skip(res, res->req, why);
    res->seconds = s;
}

/* Consecutive requirements failing to connect count as failed probes. */
static void count_connect(struct sp_jobs_target *tg, const struct sp_req_result *res)
{
    if (res->err.code == SP_E_CONNECT) {
        if (++tg->probe_failures >= SP_JOBS_PROBE_FAILURES && !atomic_load(&tg->gone)) {
            sp_error_format(&res->err, tg->gone_msg, sizeof(tg->gone_msg));
            atomic_store(&tg->gone, true);
        }
    } else if (res->outcome == SP_REQ_PASS) {
        tg->probe_failures = 0;
    }
}

static void *worker(void *arg)
{
    struct sp_jobs *j = arg;
    struct pool *p = j->priv;
    pthread_mutex_lock(&p->mu);
    while (p->open > 0) {
        struct item *it = pick(j, p);
        if (it == NULL) {
            pthread_cond_broadcast(&p->main);
            if (p->open == 0)
                break;
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        struct sp_jobs_target *tg = it->tg;
        tg->state[it->idx] = ST_RUNNING;
        tg->running++;
        tg->serial_active = it->kind != K_PLAIN;
        tg->disrupting = disruptive(tg->reqs[it->idx]);
        pthread_mutex_unlock(&p->mu);
        struct sp_req_result *res = &tg->results[it->idx];
        sp_req_run(tg->reqs[it->idx], &tg->t, res);
        pthread_mutex_lock(&p->mu);
        /* Resets and stalls a [Disruptive] requirement injected are not the provider leaving. */
        if (!tg->disrupting)
            count_connect(tg, res);
        tg->disrupting = false;
        settle(j, tg, res);
        tg->running--;
        if (it->kind != K_PLAIN)
            tg->serial_active = false;
        finalize(p, it);
        pthread_cond_broadcast(&p->work);
        pthread_cond_broadcast(&p->main);
    }
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->main);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* --- the calling thread: probes and in-order results ------------------------------------------ */

static long long now_ms(void)
{
    return (long long)sp_now_ms();
}

/* One cheap authenticated call with short deadlines; a connect or timeout error is a failed
 * probe. Runs without the lock. */
static void probe(struct sp_jobs *j, struct sp_jobs_target *tg)
{
    struct sp_client_opts o = tg->t.opts ? *tg->t.opts : (struct sp_client_opts){0};
    o.http_timeout_ms = tg->probe_timeout_ms;
    o.connect_timeout_ms = tg->probe_timeout_ms;
    o.cancelled = NULL;
    struct sp_client *c = NULL;
    struct sp_error e;
    sp_error_clear(&e);
    enum sp_err rc = sp_client_new(tg->t.provider, tg->t.env, &o, &c, &e);
    if (rc == SP_E_OK)
        rc = sp_auth(c, &e);
    sp_client_free(c);
    struct pool *p = j->priv;
    pthread_mutex_lock(&p->mu);
    if (tg->disrupting) { /* a fault armed meanwhile may have struck it: not counted */
    } else if (rc == SP_E_CONNECT || rc == SP_E_TIMEOUT) {
        if (++tg->probe_failures >= SP_JOBS_PROBE_FAILURES && !atomic_load(&tg->gone)) {
            sp_error_format(&e, tg->gone_msg, sizeof(tg->gone_msg));
            atomic_store(&tg->gone, true);
            pthread_cond_broadcast(&p->work);
        }
    } else {
        tg->probe_failures = 0;
    }
    pthread_mutex_unlock(&p->mu);
}

/* A failure to connect or a timeout that finished before its provider was declared gone
 * was the provider going away, not a conformance failure. */
static void settle_gone(struct sp_jobs_target *tg, struct sp_req_result *r)
{
    if (r->outcome != SP_REQ_FAIL && r->outcome != SP_REQ_ERROR)
        return;
    char why[300];
    snprintf(why, sizeof(why), "not finished: %s stopped answering", tg->label);
    double s = r->seconds;
    set_skip(r, r->req, why);
    r->seconds = s;
}

/* Hands out every result that is final and next in order. A connect or timeout failure is
 * held back until its target is over: it may yet turn out to be the provider going away. */
static void emit(struct sp_jobs *j, bool all_final)
{
    struct pool *p = j->priv;
    for (size_t k = 0; k < j->n_targets; k++) {
        struct sp_jobs_target *tg = &j->targets[k];
        pthread_mutex_lock(&p->mu);
        bool over = tg->done == tg->n;
        pthread_mutex_unlock(&p->mu);
        while (tg->emitted < tg->n) {
            pthread_mutex_lock(&p->mu);
            bool final = tg->state[tg->emitted] == ST_FINAL;
            pthread_mutex_unlock(&p->mu);
            if (!final)
                return;
            struct sp_req_result *r = &tg->results[tg->emitted];
            bool doubtful = r->err.code == SP_E_CONNECT || r->err.code == SP_E_TIMEOUT;
            if (doubtful && !over && !all_final)
                return;
            if (doubtful && atomic_load(&tg->gone))
                settle_gone(tg, r);
            if (j->on_result)
                j->on_result(j->arg, tg, tg->emitted);
            tg->emitted++;
        }
        if (!over && !all_final)
            return;
    }
}

static void watch(struct sp_jobs *j)
{
    struct pool *p = j->priv;
    for (;;) {
        emit(j, false);
        long long now = now_ms();
        for (size_t k = 0; k < j->n_targets; k++) {
            struct sp_jobs_target *tg = &j->targets[k];
            if (tg->probe_interval_ms <= 0 || atomic_load(&tg->gone) || atomic_load(&j->stop))
                continue;
            pthread_mutex_lock(&p->mu);
            bool open = tg->done < tg->n;
            bool disrupting = tg->disrupting; /* its faults would strike the probe too */
            pthread_mutex_unlock(&p->mu);
            if (disrupting)
                continue;
            if (open && now >= tg->next_probe_ms) {
                probe(j, tg);
                tg->next_probe_ms = now_ms() + tg->probe_interval_ms;
            }
        }
        pthread_mutex_lock(&p->mu);
        if (p->open == 0) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->main, &p->mu, &ts);
        pthread_mutex_unlock(&p->mu);
    }
}

/* --- setup ---------------------------------------------------------------------------------- */

static int build_items(struct sp_jobs *j, struct pool *p)
{
    size_t total = 0;
    for (size_t k = 0; k < j->n_targets; k++)
        total += j->targets[k].n;
    p->items = calloc(total ? total : 1, sizeof(*p->items));
    if (p->items == NULL)
        return -1;
    for (int kind = K_PLAIN; kind <= K_LAST; kind++) {
        for (size_t k = 0; k < j->n_targets; k++) {
            struct sp_jobs_target *tg = &j->targets[k];
            for (size_t i = 0; i < tg->n; i++) {
                if (kind_of(tg->reqs[i]) == kind)
                    p->items[p->n_items++] = (struct item){tg, i, kind};
            }
        }
    }
    p->open = total;
    for (size_t k = 0; k < j->n_targets; k++) {
        struct sp_jobs_target *tg = &j->targets[k];
        tg->state = calloc(tg->n ? tg->n : 1, 1);
        if (tg->state == NULL)
            return -1;
        tg->pool = j;
        tg->t.cancelled = target_cancelled;
        tg->t.cancel_arg = tg;
        tg->t.on_sandbox = target_sandbox;
        tg->t.sandbox_arg = tg;
        tg->next_probe_ms = now_ms() + tg->probe_interval_ms;
        for (size_t i = 0; i < tg->n; i++)
            tg->n_plain += kind_of(tg->reqs[i]) != K_LAST;
    }
    return 0;
}

static void pool_free(struct sp_jobs *j, struct pool *p)
{
    for (size_t k = 0; k < j->n_targets; k++) {
        free(j->targets[k].state);
        j->targets[k].state = NULL;
    }
    free(p->items);
    free(p->alive);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->main);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int sp_jobs_init(struct sp_jobs *j)
{
    struct pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->main, NULL);
    j->priv = p;
    if (build_items(j, p) != 0) {
        sp_jobs_free(j);
        return -1;
    }
    return 0;
}

void sp_jobs_free(struct sp_jobs *j)
{
    if (j->priv)
        pool_free(j, j->priv);
    j->priv = NULL;
}

int sp_jobs_run(struct sp_jobs *j)
{
    size_t n = j->jobs ? j->jobs : 1;
    pthread_t *th = calloc(n, sizeof(*th));
    size_t started = 0;
    for (; th && started < n; started++) {
        if (pthread_create(&th[started], NULL, worker, j) != 0)
            break;
    }
    if (started > 0) {
        watch(j);
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        emit(j, true);
    }
    free(th);
    return started > 0 ? 0 : -1;
}

void sp_jobs_stop(struct sp_jobs *j, int sig)
{
    atomic_store(&j->stop, sig ? sig : 1);
    struct pool *p = j->priv;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->main);
    pthread_mutex_unlock(&p->mu);
}
