/*
 * check_timer.c: the timer min-heap (src/event/timer.c, through
 * src/event/loop_internal.h): random arm/re-arm/cancel sequences against a
 * sorted reference, the heap invariant and slot bookkeeping after every
 * operation, re-arming, cancelling from the middle, and expiry in time order
 * with handlers that arm and cancel timers themselves.
 */
#include <check.h>

#include "unit.h"

#include "core/fc_core.h"
#include "event/event.h"
#include "event/loop_internal.h"

static fc_timer_heap_t heap;

/*
 * Check records the place of every ck_assert (a write per call); loops that
 * check thousands of things use this instead and only fail through Check.
 */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* Every expired handler call, in order. */
static fc_event_t *fired[4096];
static size_t nfired;

static void
setup(void)
{
    memset(&heap, 0, sizeof(heap));
    nfired = 0;
}

static void
teardown(void)
{
    fc_timer_heap_free(&heap);
}

static void
on_timer(fc_event_t *ev)
{
    CHECK(ev->timedout && !ev->timer_set, "handler of a still armed or not timed out event");
    CHECK(nfired < fc_nelems(fired), "too many handler calls");
    fired[nfired++] = ev;
}

static void
ev_init(fc_event_t *ev, void *data)
{
    memset(ev, 0, sizeof(*ev));
    ev->handler = on_timer;
    ev->data = data;
}

/* The heap is a valid min-heap and every event knows its slot. */
static void
check_heap(void)
{
    for (size_t i = 0; i < heap.n; i++) {
        fc_event_t *ev = heap.items[i];
        CHECK(ev->timer_set, "slot %zu holds a disarmed event", i);
        CHECK(ev->heap_index == i, "slot %zu: event says it is at %zu", i, ev->heap_index);
        if (i > 0)
            CHECK(heap.items[(i - 1) / 2]->timer <= ev->timer,
                  "slot %zu (%" PRId64 ") is earlier than its parent (%" PRId64 ")", i, ev->timer,
                  heap.items[(i - 1) / 2]->timer);
    }
}

/* ---- basics ----------------------------------------------------------------- */

START_TEST(test_empty)
{
    ck_assert_int_eq(fc_timer_heap_next(&heap, 0), -1);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 123456), -1);
    fc_timer_heap_expire(&heap, INT64_MAX);
    ck_assert_uint_eq(nfired, 0);
    fc_event_t ev;
    ev_init(&ev, NULL);
    fc_timer_heap_del(&heap, &ev); /* disarming an unarmed event is a no-op */
    ck_assert(!ev.timer_set);
}
END_TEST

START_TEST(test_next)
{
    fc_event_t a, b;
    ev_init(&a, NULL);
    ev_init(&b, NULL);
    ck_assert_int_eq(fc_timer_heap_add(&heap, &a, 1500), FC_OK);
    ck_assert(a.timer_set);
    ck_assert_int_eq(a.timer, 1500);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 1000), 500);
    ck_assert_int_eq(fc_timer_heap_add(&heap, &b, 1200), FC_OK);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 1000), 200);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 1200), 0);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 9999), 0); /* overdue: not negative */
    fc_timer_heap_del(&heap, &b);
    ck_assert(!b.timer_set);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 1000), 500);
    fc_timer_heap_del(&heap, &a);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 1000), -1);
    ck_assert_uint_eq(heap.n, 0);
}
END_TEST

/* ---- re-arming and cancelling ------------------------------------------------- */

START_TEST(test_rearm_moves)
{
    fc_event_t a, b, c;
    ev_init(&a, "a");
    ev_init(&b, "b");
    ev_init(&c, "c");
    fc_timer_heap_add(&heap, &a, 100);
    fc_timer_heap_add(&heap, &b, 200);
    fc_timer_heap_add(&heap, &c, 300);
    /* Later: a moves behind b. */
    ck_assert_int_eq(fc_timer_heap_add(&heap, &a, 250), FC_OK);
    ck_assert_uint_eq(heap.n, 3); /* re-arming does not add a second entry */
    check_heap();
    ck_assert_int_eq(fc_timer_heap_next(&heap, 0), 200);
    fc_timer_heap_expire(&heap, 220);
    ck_assert_uint_eq(nfired, 1);
    ck_assert_ptr_eq(fired[0], &b);
    /* Earlier: c moves in front of a. */
    fc_timer_heap_add(&heap, &c, 230);
    check_heap();
    ck_assert_int_eq(fc_timer_heap_next(&heap, 0), 230);
    fc_timer_heap_expire(&heap, 1000);
    ck_assert_uint_eq(nfired, 3);
    ck_assert_ptr_eq(fired[1], &c);
    ck_assert_ptr_eq(fired[2], &a);
    ck_assert_uint_eq(heap.n, 0);
    /* A fired event can be armed again. */
    a.timedout = 0;
    fc_timer_heap_add(&heap, &a, 2000);
    ck_assert(a.timer_set);
    ck_assert_uint_eq(heap.n, 1);
}
END_TEST

/* Cancelling each slot of a full heap in turn (root, middle, leaves, last). */
START_TEST(test_del_every_slot)
{
    enum { N = 31 };
    fc_event_t ev[N];
    size_t victim = (size_t) _i;
    for (size_t i = 0; i < N; i++) {
        ev_init(&ev[i], NULL);
        /* Times not in insertion order, with duplicates. */
        fc_timer_heap_add(&heap, &ev[i], (fc_msec_t) ((i * 7) % 13) * 10);
    }
    check_heap();
    fc_event_t *gone = heap.items[victim];
    fc_timer_heap_del(&heap, gone);
    ck_assert(!gone->timer_set);
    ck_assert_uint_eq(heap.n, N - 1);
    check_heap();
    fc_timer_heap_del(&heap, gone); /* twice: no-op */
    ck_assert_uint_eq(heap.n, N - 1);
    fc_timer_heap_expire(&heap, 1000);
    ck_assert_uint_eq(nfired, N - 1);
    for (size_t i = 0; i < nfired; i++) {
        ck_assert_ptr_ne(fired[i], gone);
        if (i > 0)
            ck_assert_int_le(fired[i - 1]->timer, fired[i]->timer);
    }
}
END_TEST

/* ---- random sequences against a reference ------------------------------------ */

enum { RN = 1500 }; /* more than the heap's first allocation (1024 slots) */

static fc_event_t rev[RN];
static fc_msec_t ref_when[RN];
static int ref_armed[RN];

static uint64_t rng;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) (rng >> 16);
}

static int
cmp_msec(const void *a, const void *b)
{
    fc_msec_t x = *(const fc_msec_t *) a, y = *(const fc_msec_t *) b;
    return x < y ? -1 : x > y;
}

START_TEST(test_random_sequences)
{
    rng = 0x9e3779b97f4a7c15ull ^ (uint64_t) (_i + 1) * 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < RN; i++) {
        ev_init(&rev[i], &ref_when[i]);
        ref_armed[i] = 0;
    }
    size_t armed = 0;
    /* Narrow time ranges in some runs make many equal keys. */
    uint32_t range = _i % 2 ? 50 : 1000000;
    for (int op = 0; op < 20000; op++) {
        size_t i = rnd() % RN;
        uint32_t what = rnd() % 10;
        if (what < 6) { /* arm or re-arm */
            fc_msec_t when = (fc_msec_t) (rnd() % range);
            CHECK(fc_timer_heap_add(&heap, &rev[i], when) == FC_OK, "add failed");
            if (!ref_armed[i])
                armed++;
            ref_armed[i] = 1;
            ref_when[i] = when;
        } else { /* cancel (armed or not) */
            fc_timer_heap_del(&heap, &rev[i]);
            if (ref_armed[i])
                armed--;
            ref_armed[i] = 0;
        }
        CHECK(heap.n == armed, "op %d: %zu timers in the heap, want %zu", op, heap.n, armed);
        CHECK(rev[i].timer_set == (unsigned) ref_armed[i], "op %d: timer_set wrong", op);
        if (op % 97 == 0)
            check_heap();
    }
    check_heap();

    /* The earliest armed time is what next() reports. */
    static fc_msec_t sorted[RN];
    size_t n = 0;
    for (size_t i = 0; i < RN; i++) {
        if (ref_armed[i])
            sorted[n++] = ref_when[i];
    }
    ck_assert_uint_eq(n, armed);
    qsort(sorted, n, sizeof(sorted[0]), cmp_msec);
    if (n)
        ck_assert_int_eq(fc_timer_heap_next(&heap, 0), sorted[0]);

    /* Expiring in steps fires exactly the due timers, in time order. */
    fc_msec_t step = range / 7 + 1;
    size_t done = 0;
    for (fc_msec_t now = 0; done < n; now += step) {
        fc_timer_heap_expire(&heap, now);
        for (; done < nfired; done++) {
            fc_event_t *ev = fired[done];
            CHECK(ev->timer == sorted[done], "fired #%zu at %" PRId64 ", want %" PRId64, done,
                  ev->timer, sorted[done]);
            CHECK(ev->timer == *(fc_msec_t *) ev->data, "fired at a stale time");
            CHECK(ev->timer <= now, "fired before it was due");
        }
        if (heap.n)
            ck_assert_int_gt(heap.items[0]->timer, now);
        check_heap();
    }
    ck_assert_uint_eq(nfired, n);
    ck_assert_uint_eq(heap.n, 0);
}
END_TEST

/* ---- handlers that touch the heap while it expires ---------------------------- */

static fc_event_t chain[4];

static void
arm_next(fc_event_t *ev)
{
    on_timer(ev);
    size_t i = (size_t) (uintptr_t) ev->data;
    if (i == 0) {
        /* Due now: runs in the same expire; due later: waits. */
        fc_timer_heap_add(&heap, &chain[1], ev->timer);
        fc_timer_heap_add(&heap, &chain[2], ev->timer + 1000);
        fc_timer_heap_del(&heap, &chain[3]); /* cancels a timer that was due too */
    }
}

START_TEST(test_expire_reentrant)
{
    for (uintptr_t i = 0; i < 4; i++) {
        ev_init(&chain[i], (void *) i);
        chain[i].handler = arm_next;
    }
    fc_timer_heap_add(&heap, &chain[0], 100);
    fc_timer_heap_add(&heap, &chain[3], 150);
    fc_timer_heap_expire(&heap, 200);
    ck_assert_uint_eq(nfired, 2);
    ck_assert_ptr_eq(fired[0], &chain[0]);
    ck_assert_ptr_eq(fired[1], &chain[1]);
    ck_assert(!chain[3].timer_set);
    ck_assert(!chain[3].timedout);
    ck_assert(chain[2].timer_set);
    ck_assert_int_eq(fc_timer_heap_next(&heap, 200), 900);
    fc_timer_heap_expire(&heap, 1099);
    ck_assert_uint_eq(nfired, 2);
    fc_timer_heap_expire(&heap, 1100); /* due exactly now */
    ck_assert_uint_eq(nfired, 3);
    ck_assert_ptr_eq(fired[2], &chain[2]);
}
END_TEST

/* Equal expiry times all fire in one expire; later ones stay armed. */
START_TEST(test_expire_boundary)
{
    fc_event_t ev[10];
    for (int i = 0; i < 10; i++) {
        ev_init(&ev[i], NULL);
        fc_timer_heap_add(&heap, &ev[i], i < 5 ? 500 : 501);
    }
    fc_timer_heap_expire(&heap, 499);
    ck_assert_uint_eq(nfired, 0);
    fc_timer_heap_expire(&heap, 500);
    ck_assert_uint_eq(nfired, 5);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(ev[i].timer_set, i >= 5);
        ck_assert_int_eq(ev[i].timedout, i < 5);
    }
    ck_assert_uint_eq(heap.n, 5);
    fc_timer_heap_free(&heap);
    ck_assert_uint_eq(heap.n, 0);
    ck_assert_ptr_null(heap.items);
}
END_TEST

static Suite *
timer_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"empty", test_empty, 1},
        {"next", test_next, 1},
        {"rearm", test_rearm_moves, 1},
        {"del_every_slot", test_del_every_slot, 31},
        {"random", test_random_sequences, 6},
        {"expire_reentrant", test_expire_reentrant, 1},
        {"expire_boundary", test_expire_boundary, 1},
    };
    return fc_unit_suite("timer", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(timer_suite());
}
