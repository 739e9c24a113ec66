/* The signal watcher of `sandprobe check` (see check_signals.h). */
#include "check_signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "provider.h"

struct sp_sigwatch {
    struct sp_sigwatch_cbs cbs;
    sigset_t set, old;
    pthread_t th;
    atomic_bool quit;
};

bool sp_sig_is_duplicate(
    int sig1, pid_t pid1, long long t1_ms, int sig2, pid_t pid2, long long t2_ms)
{
    return sig1 == sig2 && pid1 != 0 && pid1 == pid2 && t2_ms - t1_ms >= 0 &&
           t2_ms - t1_ms <= SP_SIG_DUPLICATE_MS;
}

static void *watch(void *arg)
{
    struct sp_sigwatch *w = arg;
    int first = 0;
    pid_t first_pid = 0;
    long long first_ms = 0;
    const struct timespec slice = {0, 100 * 1000000L};
    while (!atomic_load(&w->quit)) {
        siginfo_t si;
        int sig = sigtimedwait(&w->set, &si, &slice);
        if (sig <= 0)
            continue;
        long long now = (long long)sp_now_ms();
        pid_t from = si.si_code == SI_USER || si.si_code == SI_QUEUE ? si.si_pid : 0;
        if (first == 0) {
            first = sig;
            first_pid = from;
            first_ms = now;
            w->cbs.on_stop(w->cbs.arg, sig);
        } else if (sp_sig_is_duplicate(first, first_pid, first_ms, sig, from, now)) {
            if (w->cbs.on_duplicate)
                w->cbs.on_duplicate(w->cbs.arg, sig, from);
        } else {
            w->cbs.on_force(w->cbs.arg, sig);
        }
    }
    return NULL;
}

struct sp_sigwatch *sp_sigwatch_start(const struct sp_sigwatch_cbs *cbs)
{
    struct sp_sigwatch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->cbs = *cbs;
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &w->set, &w->old) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_create(&w->th, NULL, watch, w) != 0) {
        pthread_sigmask(SIG_SETMASK, &w->old, NULL);
        free(w);
        return NULL;
    }
    return w;
}

void sp_sigwatch_end(struct sp_sigwatch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->quit, true);
    pthread_join(w->th, NULL);
    /* A signal that came after the watcher's last look belongs to this run: drop it rather
     * than let the restored mask deliver it to a default action. */
    const struct timespec zero = {0, 0};
    siginfo_t si;
    while (sigtimedwait(&w->set, &si, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &w->old, NULL);
    free(w);
}
