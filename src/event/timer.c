/*
 * timer.c: timers in a binary min-heap keyed by absolute expiry in ms.
 * Arming, re-arming and cancelling are O(log n); each event remembers its
 * heap slot, so cancelling needs no search.
 */
#include "core/fc_core.h"
#include "event/event.h"
#include "event/loop_internal.h"

static void
heap_swap(fc_timer_heap_t *h, size_t a, size_t b)
{
    fc_event_t *t = h->items[a];
    h->items[a] = h->items[b];
    h->items[b] = t;
    h->items[a]->heap_index = a;
    h->items[b]->heap_index = b;
}

static void
heap_up(fc_timer_heap_t *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->timer <= h->items[i]->timer)
            break;
        heap_swap(h, parent, i);
        i = parent;
    }
}

static void
heap_down(fc_timer_heap_t *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->items[l]->timer < h->items[m]->timer)
            m = l;
        if (r < h->n && h->items[r]->timer < h->items[m]->timer)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void
heap_remove(fc_timer_heap_t *h, size_t i)
{
    h->n--;
    if (i != h->n) {
        h->items[i] = h->items[h->n];
        h->items[i]->heap_index = i;
        heap_down(h, i);
        heap_up(h, i);
    }
}

void
fc_timer_heap_del(fc_timer_heap_t *h, fc_event_t *ev)
{
    if (!ev->timer_set)
        return;
    FC_ASSERT(ev->heap_index < h->n && h->items[ev->heap_index] == ev);
    heap_remove(h, ev->heap_index);
    ev->timer_set = 0;
}

int
fc_timer_heap_add(fc_timer_heap_t *h, fc_event_t *ev, fc_msec_t when)
{
    if (ev->timer_set) {
        ev->timer = when;
        heap_down(h, ev->heap_index);
        heap_up(h, ev->heap_index);
        return FC_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        fc_event_t **items = realloc(h->items, cap * sizeof(*items));
        if (items == NULL)
            return FC_ERROR;
        h->items = items;
        h->cap = cap;
    }
    ev->timer = when;
    ev->heap_index = h->n;
    ev->timer_set = 1;
    h->items[h->n++] = ev;
    heap_up(h, ev->heap_index);
    return FC_OK;
}

fc_msec_t
fc_timer_heap_next(fc_timer_heap_t *h, fc_msec_t now)
{
    if (h->n == 0)
        return -1;
    fc_msec_t d = h->items[0]->timer - now;
    return d > 0 ? d : 0;
}

void
fc_timer_heap_expire(fc_timer_heap_t *h, fc_msec_t now)
{
    while (h->n > 0 && h->items[0]->timer <= now) {
        fc_event_t *ev = h->items[0];
        heap_remove(h, 0);
        ev->timer_set = 0;
        ev->timedout = 1;
        ev->handler(ev);
    }
}

void
fc_timer_heap_free(fc_timer_heap_t *h)
{
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}
