/* The mock core's timers: one thread that fires callbacks at monotonic microsecond due
 * times, so a delayed reply costs a heap entry instead of a parked thread. The heap is the
 * event driver's (providers/timerheap.c), keyed in µs here. A callback runs on the timer
 * thread without the timer lock held, and must be quick (it resumes a connection). */
#include "mock_int.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "provider.h" /* sp_now_us */
#include "timerheap.h"

struct mock_timer_entry {
    struct sp_timer t; /* first: the heap hands back this pointer */
    void (*fn)(void *arg);
    void *arg;
};

struct mock_timers {
    pthread_mutex_t lock; /* innermost lock of the mock: nothing is called while held */
    pthread_cond_t wake;
    struct sp_timerheap heap;
    pthread_t thread;
    bool stopping;
};

static void *timer_main(void *arg)
{
    struct mock_timers *tm = arg;
    pthread_mutex_lock(&tm->lock);
    for (;;) {
        struct sp_timer *t = sp_timerheap_peek(&tm->heap);
        int64_t now = sp_now_us();
        if (t != NULL && (t->due_ms <= now || tm->stopping)) {
            sp_timerheap_remove(&tm->heap, t);
            struct mock_timer_entry *e = (struct mock_timer_entry *)t;
            pthread_mutex_unlock(&tm->lock);
            e->fn(e->arg);
            free(e);
            pthread_mutex_lock(&tm->lock);
            continue;
        }
        if (tm->stopping)
            break;
        if (t == NULL) {
            pthread_cond_wait(&tm->wake, &tm->lock);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait_us = t->due_ms - now;
        ts.tv_sec += wait_us / 1000000;
        ts.tv_nsec += (long)(wait_us % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&tm->wake, &tm->lock, &ts);
    }
    pthread_mutex_unlock(&tm->lock);
    return NULL;
}

struct mock_timers *mock_timers_new(void)
{
    struct mock_timers *tm = calloc(1, sizeof(*tm));
    if (tm == NULL)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tm->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&tm->lock, NULL);
    sp_timerheap_init(&tm->heap);
    if (pthread_create(&tm->thread, NULL, timer_main, tm) != 0) {
        pthread_cond_destroy(&tm->wake);
        pthread_mutex_destroy(&tm->lock);
        free(tm);
        return NULL;
    }
    return tm;
}

int mock_timers_add(struct mock_timers *tm, int64_t due_us, void (*fn)(void *arg), void *arg)
{
    struct mock_timer_entry *e = malloc(sizeof(*e));
    if (e == NULL)
        return -1;
    sp_timer_init(&e->t);
    e->fn = fn;
    e->arg = arg;
    pthread_mutex_lock(&tm->lock);
    int rc = tm->stopping ? -1 : sp_timerheap_push(&tm->heap, &e->t, due_us);
    if (rc == 0)
        pthread_cond_signal(&tm->wake);
    pthread_mutex_unlock(&tm->lock);
    if (rc != 0)
        free(e);
    return rc;
}

void mock_timers_flush(struct mock_timers *tm)
{
    if (tm == NULL)
        return;
    pthread_mutex_lock(&tm->lock);
    bool was = tm->stopping;
    tm->stopping = true;
    pthread_cond_signal(&tm->wake);
    pthread_mutex_unlock(&tm->lock);
    if (!was)
        pthread_join(tm->thread, NULL); /* fires every queued timer first */
}

bool mock_timers_stopping(struct mock_timers *tm)
{
    pthread_mutex_lock(&tm->lock);
    bool stopping = tm->stopping;
    pthread_mutex_unlock(&tm->lock);
    return stopping;
}

size_t mock_timers_pending(struct mock_timers *tm)
{
    pthread_mutex_lock(&tm->lock);
    size_t n = tm->heap.n;
    pthread_mutex_unlock(&tm->lock);
    return n;
}

void mock_timers_free(struct mock_timers *tm)
{
    if (tm == NULL)
        return;
    mock_timers_flush(tm);
    sp_timerheap_cleanup(&tm->heap);
    pthread_cond_destroy(&tm->wake);
    pthread_mutex_destroy(&tm->lock);
    free(tm);
}
