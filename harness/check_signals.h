/* SIGINT/SIGTERM for `sandprobe check`, taken on a thread of their own with sigtimedwait
 * (not a handler), so what a signal does may lock, print and wake the job pool:
 *  - the first signal calls on_stop (stop new work, cancel waits, clean up, report);
 *  - a second one calls on_force (print what is left behind, exit at once), unless it is
 *    the same signal from the same process within SP_SIG_DUPLICATE_MS: GNU `timeout`
 *    signals its child and then the child's whole process group, which is one request to
 *    stop, not two. A signal from the terminal (Ctrl-C, no sender pid) always counts.
 * Both signals are blocked in the calling thread (and so in every thread it starts) while
 * the watcher runs; sp_sigwatch_end restores the mask. */
#ifndef SP_CHECK_SIGNALS_H
#define SP_CHECK_SIGNALS_H

#include <stdbool.h>
#include <sys/types.h>

#define SP_SIG_DUPLICATE_MS 2000

struct sp_sigwatch;

struct sp_sigwatch_cbs {
    void (*on_stop)(void *arg, int sig);
    void (*on_force)(void *arg, int sig); /* expected not to return */
    /* told of an ignored duplicate (sender pid), e.g. to say so */
    void (*on_duplicate)(void *arg, int sig, pid_t from);
    void *arg;
};

/* Blocks the signals and starts the watcher. Returns NULL when it cannot (the run then goes
 * on without signal handling). */
struct sp_sigwatch *sp_sigwatch_start(const struct sp_sigwatch_cbs *cbs);
/* Stops the watcher, consumes any signal still pending and restores the mask. NULL is fine. */
void sp_sigwatch_end(struct sp_sigwatch *w);
/* True when two deliveries are one request: same signal, same sending process (non-zero),
 * the second within SP_SIG_DUPLICATE_MS of the first. */
bool sp_sig_is_duplicate(
    int sig1, pid_t pid1, long long t1_ms, int sig2, pid_t pid2, long long t2_ms);

#endif
