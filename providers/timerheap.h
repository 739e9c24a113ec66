/* A binary min-heap of intrusive timers, ordered by due time. The event driver keeps one
 * per loop for waits and retries. Timers are embedded in their owner; the heap stores
 * pointers and keeps each timer's index so that removal is O(log n). */
#ifndef SP_TIMERHEAP_H
#define SP_TIMERHEAP_H

#include <stddef.h>
#include <stdint.h>

#define SP_TIMER_IDLE ((size_t)-1)

struct sp_timer {
    int64_t due_ms;
    uint64_t seq; /* insertion order: equal due times fire first-in first-out */
    size_t index; /* position in the heap, SP_TIMER_IDLE when not queued */
};

struct sp_timerheap {
    struct sp_timer **items;
    size_t n;
    size_t cap;
    uint64_t next_seq;
};

void sp_timerheap_init(struct sp_timerheap *h);
void sp_timerheap_cleanup(struct sp_timerheap *h);
/* Marks a timer as not queued; call once before its first use. */
void sp_timer_init(struct sp_timer *t);
/* Queues t at due_ms (re-queues it if already queued). Returns 0, or -1 when out of memory. */
int sp_timerheap_push(struct sp_timerheap *h, struct sp_timer *t, int64_t due_ms);
/* Removes t if queued. */
void sp_timerheap_remove(struct sp_timerheap *h, struct sp_timer *t);
/* The earliest timer, or NULL. */
struct sp_timer *sp_timerheap_peek(const struct sp_timerheap *h);
/* Removes and returns the earliest timer if it is due at now_ms, else NULL. */
struct sp_timer *sp_timerheap_pop_due(struct sp_timerheap *h, int64_t now_ms);

#endif
