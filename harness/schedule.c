/* The schedule of schedule.h: intended start times in closed form, so a lifecycle's time
 * depends only on its index (never on how late the harness is), and shards agree on it. */
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const profile_names[] = {
    [SP_PROFILE_STAGGERED] = "staggered", [SP_PROFILE_SEQUENTIAL] = "sequential",
    [SP_PROFILE_BURST] = "burst",         [SP_PROFILE_RAMP] = "ramp",
    [SP_PROFILE_CLOSED] = "closed",
};

const char *sp_load_profile_name(enum sp_load_profile p)
{
    return p <= SP_PROFILE_CLOSED ? profile_names[p] : "?";
}

bool sp_load_profile_parse(const char *s, enum sp_load_profile *out)
{
    for (int p = 0; p <= (int)SP_PROFILE_CLOSED; p++) {
        if (strcmp(s, profile_names[p]) == 0) {
            *out = (enum sp_load_profile)p;
            return true;
        }
    }
    return false;
}

bool sp_schedule_is_open(const struct sp_schedule *s)
{
    return s->profile != SP_PROFILE_SEQUENTIAL && s->profile != SP_PROFILE_CLOSED;
}

int sp_schedule_check(const struct sp_schedule *s, char *msg, size_t len)
{
    const char *why = NULL;
    if (s->shards == 0 || s->shard >= s->shards)
        why = "--shard must be i/N with 0 <= i < N";
    else if (s->duration_us <= 0 && s->count <= 0)
        why = "give --duration or --count (or both)";
    else if (s->profile == SP_PROFILE_CLOSED && s->concurrency <= 0)
        why = "the closed model needs --concurrency N";
    else if (sp_schedule_is_open(s) && s->profile != SP_PROFILE_BURST && !(s->rate > 0))
        why = "the open model needs --rate R (lifecycles per second)";
    else if (s->profile == SP_PROFILE_BURST && !(s->rate > 0) && s->count <= 0)
        why = "burst needs --rate (a group every second) or --count (one group)";
    else if (s->profile == SP_PROFILE_RAMP && (!(s->ramp_to > 0) || s->ramp_over_us <= 0))
        why = "ramp needs --ramp-to R2 and --ramp-over D";
    else if (s->profile == SP_PROFILE_SEQUENTIAL && s->shards > 1)
        why = "sequential runs one lifecycle at a time: it cannot be sharded";
    else if (s->profile == SP_PROFILE_CLOSED && s->concurrency < (long)s->shards)
        why = "each shard needs a slot: --concurrency must be at least the number of shards";
    else if (!sp_schedule_is_open(s) && s->count > 0 && s->count < (long)s->shards)
        why = "each shard needs a lifecycle: --count must be at least the number of shards";
    if (why == NULL)
        return 0;
    snprintf(msg, len, "%s", why);
    return -1;
}

/* Ramp: arrivals so far N(t) = r1 t + (r2 - r1) t^2 / 2T up to T, then + r2 (t - T);
 * the k-th arrival is where N(t) = k. */
static double ramp_at_s(const struct sp_schedule *s, double k)
{
    double r1 = s->rate, r2 = s->ramp_to, T = (double)s->ramp_over_us / 1e6;
    double n_ramp = (r1 + r2) * T / 2.0;
    if (k >= n_ramp)
        return T + (k - n_ramp) / r2;
    double a = (r2 - r1) / (2.0 * T);
    if (fabs(a) < 1e-12)
        return k / r1;
    return (-r1 + sqrt(r1 * r1 + 4.0 * a * k)) / (2.0 * a);
}

int64_t sp_schedule_at(const struct sp_schedule *s, uint64_t k)
{
    double t;
    switch (s->profile) {
    case SP_PROFILE_BURST: {
        if (!(s->rate > 0))
            return 0;
        double group = floor(s->rate + 0.5) < 1 ? 1 : floor(s->rate + 0.5);
        t = floor((double)k / group);
        break;
    }
    case SP_PROFILE_RAMP:
        t = ramp_at_s(s, (double)k);
        break;
    default:
        t = (double)k / s->rate;
        break;
    }
    return (int64_t)llround(t * 1e6);
}

bool sp_schedule_next(struct sp_schedule *s, uint64_t *k, int64_t *at_us)
{
    /* The first index of this shard at or after s->next. */
    uint64_t n = s->shards, i = s->next;
    if (i % n != s->shard)
        i += (s->shard + n - i % n) % n;
    if (s->count > 0 && i >= (uint64_t)s->count)
        return false;
    int64_t at = sp_schedule_at(s, i);
    if (s->duration_us > 0 && at >= s->duration_us)
        return false;
    s->next = i + 1;
    *k = i;
    *at_us = at;
    return true;
}

double sp_schedule_rate(const struct sp_schedule *s, int64_t at_us)
{
    double shard_part = 1.0 / (double)s->shards;
    if (!sp_schedule_is_open(s))
        return 0.0;
    if (s->profile == SP_PROFILE_RAMP) {
        double t = (double)at_us / 1e6, T = (double)s->ramp_over_us / 1e6;
        double r = t >= T ? s->ramp_to : s->rate + (s->ramp_to - s->rate) * t / T;
        return r * shard_part;
    }
    return s->rate > 0 ? s->rate * shard_part : 0.0;
}

/* This shard's part of a whole-run number: n / N, plus one for the first n mod N shards. */
static long shard_part(const struct sp_schedule *s, long n)
{
    long q = n / (long)s->shards, r = n % (long)s->shards;
    return q + ((long)s->shard < r ? 1 : 0);
}

long sp_schedule_slots(const struct sp_schedule *s)
{
    if (s->profile == SP_PROFILE_SEQUENTIAL)
        return s->shard == 0 ? 1 : 0; /* one at a time means one process */
    return shard_part(s, s->concurrency);
}

long sp_schedule_shard_count(const struct sp_schedule *s)
{
    if (s->count <= 0)
        return 0;
    if (s->profile == SP_PROFILE_SEQUENTIAL)
        return s->shard == 0 ? s->count : 0;
    return shard_part(s, s->count);
}

long sp_schedule_planned(const struct sp_schedule *s)
{
    if (!sp_schedule_is_open(s))
        return s->count > 0 ? sp_schedule_shard_count(s) : -1;
    struct sp_schedule copy = *s;
    copy.next = 0;
    long n = 0;
    uint64_t k;
    int64_t at;
    while (sp_schedule_next(&copy, &k, &at) && n < 100000000L)
        n++;
    return n;
}
