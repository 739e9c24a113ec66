/* The log-linear histogram of hist.h. Index arithmetic follows HdrHistogram's layout with a
 * unit of 1 µs: bucket b holds values [1024 << b, 2048 << b) in 1024 steps of 1 << b, and
 * bucket 0 also holds 0 .. 1023 exactly. */
#include "hist.h"

#include <string.h>

#define SUB_COUNT     (1LL << SP_HIST_SUB_BITS) /* 2048 */
#define SUB_HALF_BITS (SP_HIST_SUB_BITS - 1)    /* 10 */
#define SUB_HALF      (1LL << SUB_HALF_BITS)    /* 1024 */
#define SUB_MASK      ((uint64_t)SUB_COUNT - 1)

static int bucket_of(int64_t v)
{
    /* Position of the highest set bit of (v | mask), less the sub-bucket bits. */
    return 64 - __builtin_clzll((uint64_t)v | SUB_MASK) - SP_HIST_SUB_BITS;
}

static int64_t clamp(int64_t v)
{
    return v < 0 ? 0 : v > SP_HIST_MAX_US ? SP_HIST_MAX_US : v;
}

size_t sp_hist_index(int64_t value_us)
{
    int64_t v = clamp(value_us);
    int b = bucket_of(v);
    int64_t sub = v >> b;
    return (size_t)(((int64_t)(b + 1) << SUB_HALF_BITS) + (sub - SUB_HALF));
}

/* The value at the start of counts[i]; the width of its range. */
static int64_t index_value(size_t i, int64_t *width)
{
    int64_t b = (int64_t)(i >> SUB_HALF_BITS) - 1;
    int64_t sub = (int64_t)(i & (SUB_HALF - 1)) + SUB_HALF;
    if (b < 0) {
        b = 0;
        sub -= SUB_HALF;
    }
    *width = 1LL << b;
    return sub << b;
}

int64_t sp_hist_lowest_equivalent(int64_t value_us)
{
    int64_t w;
    return index_value(sp_hist_index(value_us), &w);
}

int64_t sp_hist_highest_equivalent(int64_t value_us)
{
    int64_t w;
    int64_t lo = index_value(sp_hist_index(value_us), &w);
    return lo + w - 1;
}

void sp_hist_init(struct sp_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void sp_hist_record(struct sp_hist *h, int64_t value_us)
{
    if (value_us > SP_HIST_MAX_US)
        h->clamped++;
    int64_t v = clamp(value_us);
    h->counts[sp_hist_index(v)]++;
    if (h->total == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->total++;
    h->sum += (double)v;
}

void sp_hist_add(struct sp_hist *dst, const struct sp_hist *src)
{
    if (src->total == 0)
        return;
    for (size_t i = 0; i < SP_HIST_LEN; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->total += src->total;
    dst->sum += src->sum;
    dst->clamped += src->clamped;
}

int64_t sp_hist_percentile(const struct sp_hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    if (p < 0.0)
        p = 0.0;
    /* The rank of the value, 1-based: ceil(p% of total), at least 1; a fraction below 1e-6
     * is rounding of p (99.9 / 100 is not exact in binary), not a rank. */
    double want = p / 100.0 * (double)h->total;
    int64_t rank = (int64_t)want;
    if (want - (double)rank > 1e-6)
        rank++;
    if (rank < 1)
        rank = 1;
    int64_t seen = 0;
    for (size_t i = 0; i < SP_HIST_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t w;
            int64_t hi = index_value(i, &w) + w - 1;
            return hi < h->max ? hi : h->max; /* never above what was recorded */
        }
    }
    return h->max;
}

double sp_hist_mean(const struct sp_hist *h)
{
    return h->total ? h->sum / (double)h->total : 0.0;
}
