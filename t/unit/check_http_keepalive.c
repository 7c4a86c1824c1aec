/*
 * check_http_keepalive.c: the per-worker keep-alive cache of upstream
 * connections (src/http/upstream_keepalive.c) on a real event loop with
 * socketpairs standing in for upstream connections: get by peer, most
 * recently used first, connections above `keepalive` closed (least recently
 * used first) once the burst is over or lasted too long, closing when the upstream
 * closes or talks while idle, keepalive_timeout, keepalive_requests,
 * keepalive_time, the worker's drain hook, and `keepalive` unset.
 */
#include <check.h>

#include "unit.h"
#include <arpa/inet.h>
#include <sys/socket.h>

#include "core/fc_core.h"
#include "http/upstream.h"

#define NPEERS 2
#define MAXC 8

static fc_pool_t *pool;
static fc_worker_t *w;
static fc_http_upstream_srv_t us;
static fc_addr_t peers[NPEERS];
static int far_end[MAXC]; /* the "upstream" side of each socketpair */
static size_t nconns;

static void
noop(fc_event_t *ev)
{
    (void) ev;
}

static void
setup(void)
{
    fc_time_update();
    fc_log_t *log = fc_log_init();
    log->level = FC_LOG_EMERG; /* quiet */
    pool = fc_pool_create(16384, log);
    w = fc_pcalloc(pool, sizeof(*w));
    w->pool = pool;
    w->log = log;
    w->loop = fc_event_loop_create(pool, 64, log);
    ck_assert_ptr_nonnull(w->loop);
    w->conns = fc_conn_pool_create(MAXC, w->loop, log);
    ck_assert_ptr_nonnull(w->conns);
    ck_assert_int_eq(fc_array_init(&w->drain_hooks, pool, 2, sizeof(fc_worker_drain_hook_t)),
                     FC_OK);
    memset(&us, 0, sizeof(us));
    us.keepalive = 2;
    us.keepalive_timeout = 60000;
    us.keepalive_requests = 1000;
    us.keepalive_time = 3600000;
    for (int i = 0; i < NPEERS; i++) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &peers[i].sa;
        memset(&peers[i], 0, sizeof(peers[i]));
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) (8000 + i));
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        peers[i].socklen = sizeof(*sin);
    }
    nconns = 0;
}

static void
teardown(void)
{
    for (size_t i = 0; i < nconns; i++)
        close(far_end[i]);
    fc_conn_pool_destroy(w->conns);
    fc_event_loop_destroy(w->loop);
    fc_pool_destroy(pool);
}

/* A connected "upstream connection" registered with the loop, as the engine leaves it. */
static fc_connection_t *
mkconn(void)
{
    int sv[2];
    ck_assert_int_lt(nconns, MAXC);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    fc_connection_t *c = fc_conn_get(w->conns, sv[0], w->log);
    ck_assert_ptr_nonnull(c);
    c->read->handler = c->write->handler = noop;
    ck_assert_int_eq(fc_event_add_conn(w->loop, c), FC_OK);
    far_end[nconns++] = sv[1];
    return c;
}

/* 1 if the far end of connection k sees our side closed (reset if we left bytes unread). */
static int
closed(size_t k)
{
    char b;
    ssize_t n = recv(far_end[k], &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* One loop turn that returns even when nothing happens. */
static void
turn(void)
{
    fc_event_t tick = {.handler = noop};
    fc_event_add_timer(w->loop, &tick, 1);
    fc_event_loop_once(w->loop);
    fc_event_del_timer(w->loop, &tick);
}

START_TEST(test_get_put)
{
    unsigned long req = 0;
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[0], &req));
    fc_connection_t *c = mkconn();
    fc_msec_t created = fc_current_msec() - 5;
    fc_http_keepalive_put(&us, w, &peers[0], c, 3, created);
    ck_assert(c->idle);
    turn(); /* the initial EPOLLOUT edge must not disturb it */
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[1], &req));
    ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[0], &req), c);
    ck_assert_uint_eq(req, 3);
    ck_assert_int_eq(c->start_msec, created);
    ck_assert(!c->idle && !c->read->timer_set);
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[0], &req));
    ck_assert(!closed(0));
    ck_assert_uint_eq(w->drain_hooks.nelts, 1);
}
END_TEST

/* Loop turns for about `ms` milliseconds. */
static void
turns_for(int ms)
{
    for (int i = 0; i < ms; i++) {
        usleep(1000);
        turn();
    }
}

START_TEST(test_mru_and_lru)
{
    unsigned long req;
    fc_connection_t *a1 = mkconn(), *a2 = mkconn(), *b = mkconn();
    fc_http_keepalive_put(&us, w, &peers[0], a1, 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[0], a2, 1, fc_current_msec());
    /* Above keepalive 2: kept while the burst lasts... */
    fc_http_keepalive_put(&us, w, &peers[1], b, 1, fc_current_msec());
    ck_assert_uint_eq(fc_conn_used(w->conns), 3);
    ck_assert(!closed(0));
    /* ...then a1, the least recently used, is closed. */
    turns_for(5);
    ck_assert(closed(0));
    ck_assert(!closed(1) && !closed(2));
    ck_assert_uint_eq(fc_conn_used(w->conns), 2);
    ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[0], &req), a2);
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[0], &req));
    ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[1], &req), b);
    /* Most recently used first. */
    fc_http_keepalive_put(&us, w, &peers[0], b, 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[0], a2, 1, fc_current_msec());
    ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[0], &req), a2);
    ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[0], &req), b);
}
END_TEST

/* One loop turn that does not wait (a posted event makes the wait 0). */
static void
turn_now(void)
{
    fc_event_t tick = {.handler = noop};
    fc_event_post(w->loop, &tick);
    fc_event_loop_once(w->loop);
}

/*
 * Connections above the limit that are taken again by the next pass of the
 * loop are never closed, however long it goes on: the cache dropping back
 * to its limit in between ends each burst.
 */
START_TEST(test_over_limit_reused)
{
    unsigned long req;
    fc_connection_t *c[3] = {mkconn(), mkconn(), mkconn()};
    for (int round = 0; round < 30; round++) {
        fc_msec_t start = fc_current_msec();
        for (int i = 0; i < 3; i++)
            fc_http_keepalive_put(&us, w, &peers[0], c[i], 1, fc_current_msec());
        turn_now();
        /* A machine that stalled us for the quiet time (2 ms) may trim, rightly. */
        int stalled = fc_current_msec() - start >= 2;
        for (int i = 0; i < 3; i++)
            c[i] = fc_http_keepalive_get(&us, w, &peers[0], &req);
        if (!(c[0] && c[1] && c[2])) {
            ck_assert_msg(stalled, "round %d: a connection was closed", round);
            return;
        }
        usleep(1000);
        turn_now();
    }
    for (int i = 0; i < 3; i++)
        ck_assert(!closed((size_t) i));
}
END_TEST

/* Above the limit without a break: trimmed after KA_OVER_MS even though puts go on. */
START_TEST(test_over_limit_busy)
{
    unsigned long req;
    fc_connection_t *a = mkconn(), *b = mkconn(), *x = mkconn(), *busy = mkconn();
    fc_http_keepalive_put(&us, w, &peers[0], a, 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[0], b, 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[1], x, 1, fc_current_msec());
    /* peers[1]'s x is above the limit; a connection to peers[0] keeps coming back. */
    for (int ms = 0; ms < 30 && fc_conn_used(w->conns) == 4; ms++) {
        fc_http_keepalive_put(&us, w, &peers[0], busy, 1, fc_current_msec());
        usleep(1000);
        turn();
        ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[0], &req), busy);
    }
    /* Trimmed to the 2 most recently used: busy (in the cache then) and x. */
    ck_assert(closed(0) && closed(1));
    ck_assert(!closed(2) && !closed(3));
}
END_TEST

/* loop row: 0 the upstream closes, 1 it sends bytes, 2 keepalive_timeout. */
START_TEST(test_idle_close)
{
    unsigned long req;
    if (_i == 2)
        us.keepalive_timeout = 5;
    fc_connection_t *c = mkconn(), *other = mkconn();
    fc_http_keepalive_put(&us, w, &peers[0], c, 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[1], other, 1, fc_current_msec());
    turn();
    ck_assert_uint_eq(fc_conn_used(w->conns), 2);
    if (_i == 0)
        shutdown(far_end[0], SHUT_WR);
    else if (_i == 1)
        ck_assert_int_eq(send(far_end[0], "x", 1, 0), 1);
    else
        usleep(10000);
    for (int k = 0; k < 3 && fc_conn_used(w->conns) == 2; k++)
        turn();
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[0], &req));
    ck_assert(closed(0));
    if (_i < 2)
        ck_assert_ptr_eq(fc_http_keepalive_get(&us, w, &peers[1], &req), other);
}
END_TEST

/* loop row: 0 keepalive_requests reached, 1 keepalive_time passed, 2 no `keepalive`,
 * 3 the worker drains, 4 the connection saw EOF already, 5 bytes already waiting. */
START_TEST(test_not_kept)
{
    unsigned long req, requests = 5;
    fc_msec_t created = fc_current_msec();
    if (_i == 0)
        us.keepalive_requests = 5;
    if (_i == 1)
        created -= us.keepalive_time + 1;
    if (_i == 2)
        us.keepalive = 0;
    if (_i == 3)
        w->draining = 1;
    fc_connection_t *c = mkconn();
    if (_i == 4)
        c->read->eof = 1;
    if (_i == 5) {
        ck_assert_int_eq(send(far_end[0], "late", 4, 0), 4);
        c->read->ready = 1;
    }
    fc_http_keepalive_put(&us, w, &peers[0], c, requests, created);
    ck_assert_uint_eq(fc_conn_used(w->conns), 0);
    ck_assert(closed(0));
    ck_assert_ptr_null(fc_http_keepalive_get(&us, w, &peers[0], &req));
}
END_TEST

START_TEST(test_drain)
{
    fc_http_keepalive_put(&us, w, &peers[0], mkconn(), 1, fc_current_msec());
    fc_http_keepalive_put(&us, w, &peers[1], mkconn(), 1, fc_current_msec());
    ck_assert_uint_eq(fc_conn_used(w->conns), 2);
    w->draining = 1;
    fc_worker_drain_hook_t *h = w->drain_hooks.elts;
    for (size_t i = 0; i < w->drain_hooks.nelts; i++)
        h[i].fn(w, h[i].data);
    ck_assert_uint_eq(fc_conn_used(w->conns), 0);
    ck_assert(closed(0) && closed(1));
    /* A connection offered back while draining is closed at once. */
    fc_http_keepalive_put(&us, w, &peers[0], mkconn(), 1, fc_current_msec());
    ck_assert_uint_eq(fc_conn_used(w->conns), 0);
}
END_TEST

static Suite *
keepalive_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"get and put", test_get_put, 1},
        {"most and least recently used", test_mru_and_lru, 1},
        {"above the limit, taken again", test_over_limit_reused, 1},
        {"above the limit, busy", test_over_limit_busy, 1},
        {"closed while idle", test_idle_close, 3},
        {"not kept", test_not_kept, 6},
        {"drain", test_drain, 1},
    };
    return fc_unit_suite("http_keepalive", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(keepalive_suite());
}
