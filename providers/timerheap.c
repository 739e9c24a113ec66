/* Intrusive binary min-heap of timers (see timerheap.h). */
#include "timerheap.h"

#include <stdbool.h>
#include <stdlib.h>

void sp_timerheap_init(struct sp_timerheap *h)
{
    h->items = NULL;
    h->n = h->cap = 0;
    h->next_seq = 0;
}

void sp_timerheap_cleanup(struct sp_timerheap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->items[i]->index = SP_TIMER_IDLE;
    free(h->items);
    sp_timerheap_init(h);
}

void sp_timer_init(struct sp_timer *t)
{
    t->due_ms = 0;
    t->seq = 0;
    t->index = SP_TIMER_IDLE;
}

static bool timer_before(const struct sp_timer *a, const struct sp_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_place(struct sp_timerheap *h, size_t i, struct sp_timer *t)
{
    h->items[i] = t;
    t->index = i;
}

static void sift_up(struct sp_timerheap *h, size_t i)
{
    struct sp_timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, h->items[parent]))
            break;
        heap_place(h, i, h->items[parent]);
        i = parent;
    }
    heap_place(h, i, t);
}

static void sift_down(struct sp_timerheap *h, size_t i)
{
    struct sp_timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && timer_before(h->items[child + 1], h->items[child]))
            child++;
        if (!timer_before(h->items[child], t))
            break;
        heap_place(h, i, h->items[child]);
        i = child;
    }
    heap_place(h, i, t);
}

void sp_timerheap_remove(struct sp_timerheap *h, struct sp_timer *t)
{
    size_t i = t->index;
    if (i == SP_TIMER_IDLE || i >= h->n || h->items[i] != t)
        return;
    t->index = SP_TIMER_IDLE;
    h->n--;
    if (i == h->n)
        return;
    heap_place(h, i, h->items[h->n]);
    sift_down(h, i);
    sift_up(h, h->items[i]->index);
}

int sp_timerheap_push(struct sp_timerheap *h, struct sp_timer *t, int64_t due_ms)
{
    sp_timerheap_remove(h, t);
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct sp_timer **p = realloc(h->items, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        h->items = p;
        h->cap = cap;
    }
    t->due_ms = due_ms;
    t->seq = h->next_seq++;
    heap_place(h, h->n++, t);
    sift_up(h, h->n - 1);
    return 0;
}

struct sp_timer *sp_timerheap_peek(const struct sp_timerheap *h)
{
    return h->n ? h->items[0] : NULL;
}

struct sp_timer *sp_timerheap_pop_due(struct sp_timerheap *h, int64_t now_ms)
{
    struct sp_timer *t = sp_timerheap_peek(h);
    if (t == NULL || t->due_ms > now_ms)
        return NULL;
    sp_timerheap_remove(h, t);
    return t;
}
