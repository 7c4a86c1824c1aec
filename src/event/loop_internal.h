/* loop_internal.h: the timer heap shared by loop.c and timer.c (and unit tests). */
#ifndef FC_LOOP_INTERNAL_H
#define FC_LOOP_INTERNAL_H

typedef struct {
    fc_event_t **items;
    size_t n;
    size_t cap;
} fc_timer_heap_t;

/* Arms or re-arms ev to expire at absolute time `when`. */
int fc_timer_heap_add(fc_timer_heap_t *h, fc_event_t *ev, fc_msec_t when);
/* Disarms ev if armed. */
void fc_timer_heap_del(fc_timer_heap_t *h, fc_event_t *ev);
/* Milliseconds until the earliest timer, 0 if one is due, -1 if none. */
fc_msec_t fc_timer_heap_next(fc_timer_heap_t *h, fc_msec_t now);
/* Runs the handlers of every timer due at `now`, with ev->timedout set. */
void fc_timer_heap_expire(fc_timer_heap_t *h, fc_msec_t now);
/* Frees the heap's storage. */
void fc_timer_heap_free(fc_timer_heap_t *h);

#endif
