/* The load driver's schedule: when each lifecycle should start. Open model: an arrival rate,
 * constant (profile staggered), ramped (ramp) or in groups once a second (burst), so every
 * lifecycle k has an intended start t_k fixed before the run, and latency is measured from
 * t_k (no coordinated omission). Closed model: N lifecycles in flight (sequential = 1).
 * Bounded by a duration, a count, or both (whichever ends first).
 *
 * Shards: `--shard i/N` keeps the lifecycles of the one global schedule whose index k has
 * k mod N == i, so N processes together run exactly the unsharded schedule; the closed
 * model splits its slots and its count the same way. */
#ifndef SP_SCHEDULE_H
#define SP_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sp_load_profile {
    SP_PROFILE_STAGGERED,  /* open: fixed spacing 1/rate */
    SP_PROFILE_SEQUENTIAL, /* closed: one after another */
    SP_PROFILE_BURST,      /* open: rate lifecycles at once, every second (all at once with
                            * only --count) */
    SP_PROFILE_RAMP,       /* open: rate -> ramp_to over ramp_over, then ramp_to */
    SP_PROFILE_CLOSED      /* closed: concurrency in flight */
};
const char *sp_load_profile_name(enum sp_load_profile p);
bool sp_load_profile_parse(const char *s, enum sp_load_profile *out);

struct sp_schedule {
    enum sp_load_profile profile;
    double rate;          /* open: lifecycles/s at the start */
    double ramp_to;       /* ramp: lifecycles/s at the end of the ramp */
    int64_t ramp_over_us; /* ramp: its length */
    long concurrency;     /* closed: lifecycles in flight (whole run, before sharding) */
    int64_t duration_us;  /* 0 = no time bound */
    long count;           /* 0 = no count bound (whole run, before sharding) */
    unsigned shard;       /* this process's shard, 0-based */
    unsigned shards;      /* 1 = unsharded */
    uint64_t next;        /* open: next global index to consider */
};

/* Checks that the fields make a schedule; on failure writes why into msg and returns -1. */
int sp_schedule_check(const struct sp_schedule *s, char *msg, size_t len);
bool sp_schedule_is_open(const struct sp_schedule *s);

/* Intended start of global lifecycle k, in µs from the run start (open model). */
int64_t sp_schedule_at(const struct sp_schedule *s, uint64_t k);
/* Open model: the next lifecycle of this shard — its global index and intended start.
 * False when the schedule is over. */
bool sp_schedule_next(struct sp_schedule *s, uint64_t *k, int64_t *at_us);
/* Target rate of this shard in lifecycles/s at time t (open model), 0 for closed. */
double sp_schedule_rate(const struct sp_schedule *s, int64_t at_us);
/* Closed model: slots of this shard; lifecycles this shard runs (0 = until the duration). */
long sp_schedule_slots(const struct sp_schedule *s);
long sp_schedule_shard_count(const struct sp_schedule *s);
/* Lifecycles this shard will start if nothing stops it; -1 when the closed model runs for
 * a duration (unknown in advance). */
long sp_schedule_planned(const struct sp_schedule *s);

#endif
