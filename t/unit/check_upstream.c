/*
 * check_upstream.c: the balancer library (src/upstream): server line
 * parsing, group validation, round robin, passive health, backup, max_conns,
 * least_conn, hash, consistent hash, ip_hash, random, tries.
 */
#include <check.h>

#include "unit.h"
#include "unit_pool.h"
#include <arpa/inet.h>

#include "core/fc_core.h"
#include "core/inet.h"
#include "upstream/upstream.h"

#define T0 ((fc_msec_t)1000000) /* a fake "now" well past the epoch of peers */

/* Splits a line on spaces into args (pointing into pool copies). */
static size_t
split(const char *line, fc_str_t *args, size_t max)
{
    size_t n = 0, len = strlen(line);
    char *copy = fc_pnalloc(pool, len + 1);
    memcpy(copy, line, len + 1);
    for (char *tok = strtok(copy, " "); tok && n < max; tok = strtok(NULL, " ")) {
        args[n].data = (unsigned char *)tok;
        args[n].len = strlen(tok);
        n++;
    }
    return n;
}

/* A group from a method line ("" for round robin) and NULL-ended server lines. */
static fc_upstream_group_t *
mkgroup(const char *method, const char *const *servers)
{
    fc_str_t name = fc_string("backend"), args[8];
    const char *err = NULL;
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &name, NULL, 0);
    ck_assert_ptr_nonnull(g);
    for (size_t i = 0; servers[i]; i++) {
        size_t n = split(servers[i], args, 8);
        ck_assert_msg(fc_upstream_server_parse(g, args, n, 0, &err) == FC_OK, "%s", err);
    }
    size_t n = split(method, args, 8);
    if (n && strcmp((char *)args[0].data, "hash") == 0)
        ck_assert_int_ge(fc_upstream_hash_parse(g, args + 1, n - 1, &err), FC_OK);
    else if (n && strcmp((char *)args[0].data, "random") == 0)
        ck_assert_int_ge(fc_upstream_random_parse(g, args + 1, n - 1, &err), FC_OK);
    else if (n && strcmp((char *)args[0].data, "least_conn") == 0)
        fc_upstream_method_set(g, FC_UPSTREAM_LEAST_CONN);
    else if (n && strcmp((char *)args[0].data, "ip_hash") == 0)
        fc_upstream_method_set(g, FC_UPSTREAM_IP_HASH);
    ck_assert_msg(fc_upstream_group_init(g, &err) == FC_OK, "%s", err);
    fc_upstream_group_seed(g, 42);
    return g;
}

/* Index of the picked peer in its set; backup peers are numbered after primaries. */
static int
peer_index(const fc_upstream_pick_t *pick)
{
    const fc_upstream_group_t *g = pick->group;
    if (pick->peers == &g->backup)
        return (int)(g->primary.number + (size_t)(pick->peer - g->backup.peer));
    return (int)(pick->peer - g->primary.peer);
}

/* One whole connection: pick, report state; returns the peer index or -1 if busy. */
static int
one(fc_upstream_group_t *g, const fc_str_t *key, fc_msec_t now, fc_upstream_state_e state)
{
    fc_upstream_pick_t pick;
    ck_assert_int_eq(fc_upstream_pick_init(&pick, g, pool, key), FC_OK);
    if (fc_upstream_pick_next(&pick, now) != FC_OK)
        return -1;
    int idx = peer_index(&pick);
    fc_upstream_pick_done(&pick, now, state);
    return idx;
}

static int
one_ok(fc_upstream_group_t *g, fc_msec_t now)
{
    return one(g, NULL, now, FC_UPSTREAM_PEER_OK);
}

/* ---- parsing ------------------------------------------------------------ */

static const struct {
    const char *line;
    in_port_t default_port;
    const char *err; /* NULL: accepted */
    int weight, max_fails, max_conns, backup, down;
    fc_msec_t fail_timeout;
} parse_cases[] = {
    {"127.0.0.1:80", 0, NULL, 1, 1, 0, 0, 0, 10000},
    {"127.0.0.1", 80, NULL, 1, 1, 0, 0, 0, 10000},
    {"127.0.0.1:80 weight=5 max_fails=3 fail_timeout=30s max_conns=10 backup down", 0, NULL, 5, 3,
     10, 1, 1, 30000},
    {"127.0.0.1:80 fail_timeout=1m30s max_fails=0", 0, NULL, 1, 0, 0, 0, 0, 90000},
    {"127.0.0.1:80 fail_timeout=5", 0, NULL, 1, 1, 0, 0, 0, 5000},
    {"[::1]:8080 weight=2", 0, NULL, 2, 1, 0, 0, 0, 10000},
    {"unix:/tmp/fc.sock", 0, NULL, 1, 1, 0, 0, 0, 10000},
    {"127.0.0.1:80 wieght=2", 0, "invalid parameter \"wieght=2\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 weight=0", 0, "invalid parameter \"weight=0\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 weight=x", 0, "invalid parameter \"weight=x\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 weight=", 0, "invalid parameter \"weight=\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 weight=99999999999", 0, "invalid parameter \"weight=99999999999\"", 0, 0, 0, 0,
     0, 0},
    {"127.0.0.1:80 max_fails=-1", 0, "invalid parameter \"max_fails=-1\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 max_conns=1k", 0, "invalid parameter \"max_conns=1k\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 fail_timeout=abc", 0, "invalid parameter \"fail_timeout=abc\"", 0, 0, 0, 0, 0,
     0},
    {"127.0.0.1:80 fail_timeout=1500ms", 0, "invalid parameter \"fail_timeout=1500ms\"", 0, 0, 0, 0,
     0, 0},
    {"127.0.0.1:80 fail_timeout=", 0, "invalid parameter \"fail_timeout=\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 BACKUP", 0, "invalid parameter \"BACKUP\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:80 down=1", 0, "invalid parameter \"down=1\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1", 0, "no port in upstream \"127.0.0.1\"", 0, 0, 0, 0, 0, 0},
    {"127.0.0.1:99999", 0, "invalid port in upstream \"127.0.0.1:99999\"", 0, 0, 0, 0, 0, 0},
    {"[::1:80", 0, "invalid IPv6 address in upstream \"[::1:80\"", 0, 0, 0, 0, 0, 0},
};

START_TEST(test_server_parse)
{
    fc_str_t name = fc_string("u"), args[10];
    const char *err = NULL;
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &name, NULL, 0);
    size_t n = split(parse_cases[_i].line, args, 10);
    int rc = fc_upstream_server_parse(g, args, n, parse_cases[_i].default_port, &err);
    if (parse_cases[_i].err) {
        ck_assert_int_eq(rc, FC_ERROR);
        ck_assert_str_eq(err, parse_cases[_i].err);
        ck_assert_uint_eq(g->servers.nelts, 0);
        return;
    }
    ck_assert_msg(rc == FC_OK, "%s: %s", parse_cases[_i].line, err);
    ck_assert_uint_eq(g->servers.nelts, 1);
    fc_upstream_server_t *s = g->servers.elts;
    ck_assert_int_eq(s->weight, parse_cases[_i].weight);
    ck_assert_int_eq(s->max_fails, parse_cases[_i].max_fails);
    ck_assert_int_eq(s->max_conns, parse_cases[_i].max_conns);
    ck_assert_int_eq(s->backup, parse_cases[_i].backup);
    ck_assert_int_eq(s->down, parse_cases[_i].down);
    ck_assert_int_eq(s->fail_timeout, parse_cases[_i].fail_timeout);
    ck_assert_uint_ge(s->naddrs, 1);
    ck_assert_int_eq(s->name.len, args[0].len);
}
END_TEST

static const struct {
    const char *directive; /* "hash ..." or "random ..." */
    int rc;
    const char *err;
} method_cases[] = {
    {"hash $remote_addr", FC_OK, NULL},
    {"hash $remote_addr consistent", FC_OK, NULL},
    {"hash $remote_addr consistant", FC_ERROR, "invalid parameter \"consistant\""},
    {"random", FC_OK, NULL},
    {"random two", FC_OK, NULL},
    {"random two least_conn", FC_OK, NULL},
    {"random three", FC_ERROR, "invalid parameter \"three\""},
    {"random two most_conn", FC_ERROR, "invalid parameter \"most_conn\""},
};

START_TEST(test_method_parse)
{
    fc_str_t name = fc_string("u"), args[4];
    const char *err = NULL;
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &name, NULL, 0);
    size_t n = split(method_cases[_i].directive, args, 4);
    int rc = args[0].data[0] == 'h' ? fc_upstream_hash_parse(g, args + 1, n - 1, &err)
                                    : fc_upstream_random_parse(g, args + 1, n - 1, &err);
    ck_assert_int_eq(rc, method_cases[_i].rc);
    if (rc == FC_ERROR) {
        ck_assert_str_eq(err, method_cases[_i].err);
        return;
    }
    if (args[0].data[0] == 'h') {
        ck_assert_int_eq(g->method, FC_UPSTREAM_HASH);
        ck_assert_int_eq(g->consistent, n == 3);
        ck_assert(fc_str_eq_c(&g->hash_key, "$remote_addr"));
    } else {
        ck_assert_int_eq(g->method, FC_UPSTREAM_RANDOM);
        ck_assert_int_eq(g->two, n >= 2);
    }
    /* A second method directive replaces the first and says so. */
    ck_assert_int_eq(fc_upstream_method_set(g, FC_UPSTREAM_LEAST_CONN), FC_DECLINED);
}
END_TEST

START_TEST(test_group_check)
{
    fc_str_t name = fc_string("u"), args[4];
    const char *err = NULL;
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &name, NULL, 0);
    ck_assert_int_eq(fc_upstream_group_check(g, &err), FC_ERROR);
    ck_assert_str_eq(err, "no servers are inside upstream");

    /* Only backup servers: nginx's "no servers in upstream". */
    size_t n = split("127.0.0.1:81 backup", args, 4);
    ck_assert_int_eq(fc_upstream_server_parse(g, args, n, 0, &err), FC_OK);
    ck_assert_int_eq(fc_upstream_group_init(g, &err), FC_ERROR);
    ck_assert_str_eq(err, "no servers in upstream \"u\"");

    /* The method comes after the backup server: refused at init. */
    n = split("127.0.0.1:80", args, 4);
    ck_assert_int_eq(fc_upstream_server_parse(g, args, n, 0, &err), FC_OK);
    ck_assert_int_eq(fc_upstream_group_check(g, &err), FC_OK);
    ck_assert_int_eq(fc_upstream_method_set(g, FC_UPSTREAM_IP_HASH), FC_OK);
    ck_assert_int_eq(fc_upstream_group_init(g, &err), FC_ERROR);
    ck_assert_str_eq(err, "balancing method does not support \"backup\"");
    ck_assert_int_eq(fc_upstream_method_set(g, FC_UPSTREAM_LEAST_CONN), FC_DECLINED);
    ck_assert_int_eq(fc_upstream_group_init(g, &err), FC_OK);
    ck_assert_uint_eq(g->primary.number, 1);
    ck_assert_uint_eq(g->backup.number, 1);

    /* The method comes first: refused on the server line itself. */
    fc_upstream_group_t *h = fc_upstream_group_create(pool, &name, NULL, 0);
    n = split("random", args, 4);
    ck_assert_int_eq(fc_upstream_random_parse(h, args + 1, n - 1, &err), FC_OK);
    n = split("127.0.0.1:81 backup", args, 4);
    ck_assert_int_eq(fc_upstream_server_parse(h, args, n, 0, &err), FC_ERROR);
    ck_assert_str_eq(err, "balancing method does not support \"backup\"");
}
END_TEST

/* A url with n loopback addresses on ports base, base+1, ... */
static fc_url_t
fake_url(const char *text, size_t n, in_port_t base)
{
    fc_url_t u;
    memset(&u, 0, sizeof(u));
    u.url.data = (unsigned char *)text;
    u.url.len = strlen(text);
    u.addrs = fc_pcalloc(pool, n * sizeof(fc_addr_t));
    u.naddrs = n;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&u.addrs[i].sa;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((in_port_t)(base + i));
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        u.addrs[i].socklen = sizeof(*s4);
        ck_assert_int_eq(fc_addr_set_name(pool, &u.addrs[i]), FC_OK);
    }
    return u;
}

START_TEST(test_implicit_and_multi_address)
{
    const char *err;
    fc_url_t u = fake_url("backend.example:8000", 2, 8000);
    fc_upstream_group_t *g = fc_upstream_group_implicit(pool, &u);
    ck_assert_ptr_nonnull(g);
    ck_assert(g->implicit);
    ck_assert(fc_str_eq_c(&g->name, "backend.example:8000"));
    ck_assert_uint_eq(g->primary.number, 2);
    ck_assert_int_eq(g->primary.peer[1].max_fails, 1);
    ck_assert_int_eq(g->primary.peer[1].fail_timeout, 10000);
    ck_assert_int_eq(one_ok(g, T0), 0);
    ck_assert_int_eq(one_ok(g, T0), 1);
    ck_assert_int_eq(one_ok(g, T0), 0);

    /* proxy_pass 127.0.0.1:9000 through the same path: a single peer. */
    fc_url_t real;
    fc_str_t text = fc_string("127.0.0.1:9000");
    ck_assert_int_eq(fc_url_parse(pool, &real, &text, 0, 0, &err), FC_OK);
    g = fc_upstream_group_implicit(pool, &real);
    ck_assert_ptr_nonnull(g);
    ck_assert(g->primary.single);
    ck_assert(fc_str_eq_c(&g->primary.peer[0].addr.name, "127.0.0.1:9000"));

    /* A server whose name resolved to three addresses: three peers, same parameters. */
    fc_str_t name = fc_string("m");
    g = fc_upstream_group_create(pool, &name, NULL, 0);
    u = fake_url("multi:7000", 3, 7000);
    fc_upstream_server_t *s = fc_upstream_server_add(g, &u);
    s->weight = 4;
    s->max_conns = 9;
    ck_assert_int_eq(fc_upstream_group_init(g, &err), FC_OK);
    ck_assert_uint_eq(g->primary.number, 3);
    ck_assert_int_eq(g->primary.total_weight, 12);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(g->primary.peer[i].weight, 4);
        ck_assert_int_eq(g->primary.peer[i].max_conns, 9);
        ck_assert(fc_str_eq_c(g->primary.peer[i].server, "multi:7000"));
    }
}
END_TEST

/* ---- round robin -------------------------------------------------------- */

static const char *const srv_531[] = {"127.0.0.1:8001 weight=5", "127.0.0.1:8002", "127.0.0.1:8003",
                                      NULL};
static const char *const srv_3[] = {"127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003", NULL};

START_TEST(test_rr_smooth_sequence)
{
    fc_upstream_group_t *g = mkgroup("", srv_531);
    static const int expect[] = {0, 0, 1, 0, 2, 0, 0};
    for (size_t i = 0; i < fc_nelems(expect); i++)
        ck_assert_int_eq(one_ok(g, T0), expect[i]);
    int count[3] = {0};
    for (int i = 0; i < 700 - 7; i++)
        count[one_ok(g, T0)]++;
    count[0] += 5, count[1] += 1, count[2] += 1;
    ck_assert_int_eq(count[0], 500);
    ck_assert_int_eq(count[1], 100);
    ck_assert_int_eq(count[2], 100);
}
END_TEST

START_TEST(test_rr_equal_and_down)
{
    fc_upstream_group_t *g = mkgroup("", srv_3);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(one_ok(g, T0), i % 3);
    static const char *const with_down[] = {"127.0.0.1:8001", "127.0.0.1:8002 down",
                                            "127.0.0.1:8003", NULL};
    g = mkgroup("", with_down);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(one_ok(g, T0), (i % 2) * 2);
}
END_TEST

/* ---- passive health ----------------------------------------------------- */

START_TEST(test_max_fails_fail_timeout)
{
    static const char *const srv[] = {"127.0.0.1:8001 max_fails=2 fail_timeout=10s",
                                      "127.0.0.1:8002", NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    fc_upstream_peer_t *a = &g->primary.peer[0];
    fc_upstream_pick_t pick;

    /* First failure: still usable; second within fail_timeout: disabled, said so. */
    ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 0);
    ck_assert_int_eq(a->fails, 1);
    ck_assert(fc_upstream_peer_usable(a, T0 + 1));
    fc_upstream_pick_init(&pick, g, pool, NULL);
    do {
        ck_assert_int_eq(fc_upstream_pick_next(&pick, T0 + 1), FC_OK);
        if (pick.peer == a)
            break;
        fc_upstream_pick_done(&pick, T0 + 1, FC_UPSTREAM_PEER_OK);
    } while (1);
    ck_assert_int_eq(fc_upstream_pick_done(&pick, T0 + 1, FC_UPSTREAM_PEER_FAILED), FC_DECLINED);
    ck_assert_int_eq(a->fails, 2);

    /* Excluded for fail_timeout after the last failure (inclusive). */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(one_ok(g, T0 + 1 + (i % 2) * 10000), 1);
    ck_assert(!fc_upstream_peer_usable(a, T0 + 10001));
    ck_assert(fc_upstream_peer_usable(a, T0 + 10002));

    /* Back after the timeout; a success then clears the count. */
    int seen = 0;
    for (int i = 0; i < 4 && !seen; i++)
        seen = one_ok(g, T0 + 20000) == 0;
    ck_assert(seen);
    ck_assert_int_eq(a->fails, 0);
}
END_TEST

START_TEST(test_success_within_window_keeps_fails)
{
    static const char *const srv[] = {"127.0.0.1:8001 max_fails=3", "127.0.0.1:8002", NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    fc_upstream_peer_t *a = &g->primary.peer[0];
    ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 0);
    /* nginx: a success inside the same failure window does not reset fails. */
    for (int i = 0; i < 4; i++)
        one_ok(g, T0 + 5000);
    ck_assert_int_eq(a->fails, 1);
    for (int i = 0; i < 4; i++)
        one_ok(g, T0 + 10001);
    ck_assert_int_eq(a->fails, 0);
}
END_TEST

START_TEST(test_max_fails_zero)
{
    static const char *const srv[] = {"127.0.0.1:8001 max_fails=0", "127.0.0.1:8002 max_fails=0",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), i % 2);
    ck_assert(fc_upstream_peer_usable(&g->primary.peer[0], T0));
    ck_assert_int_eq(g->primary.peer[0].effective_weight, 1);
}
END_TEST

START_TEST(test_failure_lowers_effective_weight)
{
    static const char *const srv[] = {"127.0.0.1:8001 weight=4 max_fails=2", "127.0.0.1:8002",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    fc_upstream_peer_t *a = &g->primary.peer[0];
    ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 0);
    ck_assert_int_eq(a->effective_weight, 2);
    one_ok(g, T0);
    ck_assert_int_eq(a->effective_weight, 3); /* recovers one per selection pass */
}
END_TEST

/* ---- backup, single, all down, tries ------------------------------------ */

START_TEST(test_backup)
{
    static const char *const srv[] = {"127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003 backup",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    for (int i = 0; i < 10; i++)
        ck_assert_int_lt(one_ok(g, T0), 2);
    ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 0);
    ck_assert_int_eq(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(one_ok(g, T0 + 5000), 2);
    /* Primaries again after fail_timeout. */
    int seen[3] = {0};
    for (int i = 0; i < 10; i++)
        seen[one_ok(g, T0 + 10001)]++;
    ck_assert_int_eq(seen[2], 0);
    ck_assert_int_ge(seen[0], 4);
    ck_assert_int_ge(seen[1], 4);
}
END_TEST

START_TEST(test_backup_within_one_pick)
{
    static const char *const srv[] = {"127.0.0.1:8001", "127.0.0.1:8002 backup", NULL};
    fc_upstream_group_t *g = mkgroup("least_conn", srv);
    fc_upstream_pick_t pick;
    fc_upstream_pick_init(&pick, g, pool, NULL);
    ck_assert_uint_eq(pick.tries, 2);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
    ck_assert_int_eq(peer_index(&pick), 0);
    fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_FAILED);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
    ck_assert_int_eq(peer_index(&pick), 1);
    fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_FAILED);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_BUSY);
}
END_TEST

START_TEST(test_single_peer)
{
    static const char *const srv[] = {"127.0.0.1:8001", NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    /* The only server is tried on every connection, failed or not, once each. */
    for (int i = 0; i < 5; i++) {
        fc_upstream_pick_t pick;
        fc_upstream_pick_init(&pick, g, pool, NULL);
        ck_assert_int_eq(fc_upstream_pick_next(&pick, T0 + i), FC_OK);
        ck_assert_int_eq(fc_upstream_pick_done(&pick, T0 + i, FC_UPSTREAM_PEER_FAILED), FC_OK);
        ck_assert_int_eq(fc_upstream_pick_next(&pick, T0 + i), FC_BUSY);
    }
    static const char *const down[] = {"127.0.0.1:8001 down", NULL};
    g = mkgroup("", down);
    ck_assert_int_eq(one_ok(g, T0), -1);
}
END_TEST

START_TEST(test_all_down_busy)
{
    static const char *const srv[] = {"127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003 backup",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("", srv);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(one(g, NULL, T0, FC_UPSTREAM_PEER_FAILED), 0);
    ck_assert_int_eq(one_ok(g, T0 + 1), -1);
    ck_assert_int_ge(one_ok(g, T0 + 10001), 0);
}
END_TEST

static const char *const tries_methods[] = {
    "", "least_conn", "hash k", "hash k consistent", "ip_hash", "random", "random two"};

START_TEST(test_tries_bound)
{
    /* max_fails=0: only the tried bitmap and the tries budget stop the loop. */
    static const char *const srv[] = {"127.0.0.1:8001 max_fails=0", "127.0.0.1:8002 max_fails=0",
                                      "127.0.0.1:8003 max_fails=0", NULL};
    fc_upstream_group_t *g = mkgroup(tries_methods[_i], srv);
    fc_str_t key = fc_string("some key");
    fc_upstream_pick_t pick;
    fc_upstream_pick_init(&pick, g, pool, &key);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
        seen |= 1 << peer_index(&pick);
        fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_FAILED);
    }
    ck_assert_int_eq(seen, 7);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_BUSY);
}
END_TEST

START_TEST(test_many_peers_bitmap)
{
    const char *err;
    fc_str_t name = fc_string("big");
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &name, NULL, 0);
    fc_url_t u = fake_url("big:1000", 100, 1000);
    fc_upstream_server_add(g, &u)->max_fails = 0;
    ck_assert_int_eq(fc_upstream_group_init(g, &err), FC_OK);
    fc_upstream_pick_t pick;
    fc_upstream_pick_init(&pick, g, pool, NULL);
    ck_assert_ptr_ne(pick.tried, &pick.tried_inline);
    char seen[100] = {0};
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
        ck_assert(!seen[peer_index(&pick)]);
        seen[peer_index(&pick)] = 1;
        fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_FAILED);
    }
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_BUSY);
}
END_TEST

/* ---- max_conns and least_conn ------------------------------------------- */

START_TEST(test_max_conns)
{
    static const char *const srv[] = {"127.0.0.1:8001 max_conns=2", "127.0.0.1:8002 max_conns=1",
                                      NULL};
    fc_upstream_group_t *g = mkgroup(_i ? "least_conn" : "", srv);
    fc_upstream_pick_t p[4];
    int count[2] = {0};
    for (int i = 0; i < 3; i++) {
        fc_upstream_pick_init(&p[i], g, pool, NULL);
        ck_assert_int_eq(fc_upstream_pick_next(&p[i], T0), FC_OK);
        count[peer_index(&p[i])]++;
    }
    ck_assert_int_eq(count[0], 2);
    ck_assert_int_eq(count[1], 1);
    fc_upstream_pick_init(&p[3], g, pool, NULL);
    ck_assert_int_eq(fc_upstream_pick_next(&p[3], T0), FC_BUSY);
    int freed = peer_index(&p[1]);
    fc_upstream_pick_done(&p[1], T0, FC_UPSTREAM_PEER_OK);
    ck_assert_int_eq(fc_upstream_pick_next(&p[3], T0), FC_OK);
    ck_assert_int_eq(peer_index(&p[3]), freed);
    fc_upstream_pick_done(&p[0], T0, FC_UPSTREAM_PEER_OK);
    fc_upstream_pick_done(&p[2], T0, FC_UPSTREAM_PEER_OK);
    fc_upstream_pick_done(&p[3], T0, FC_UPSTREAM_PEER_OK);
    ck_assert_int_eq(g->primary.peer[0].conns + g->primary.peer[1].conns, 0);
}
END_TEST

START_TEST(test_least_conn)
{
    fc_upstream_group_t *g = mkgroup("least_conn", srv_3);
    fc_upstream_pick_t p[3];
    for (int i = 0; i < 3; i++) {
        fc_upstream_pick_init(&p[i], g, pool, NULL);
        ck_assert_int_eq(fc_upstream_pick_next(&p[i], T0), FC_OK);
        ck_assert_int_eq(peer_index(&p[i]), i); /* ties: round robin */
    }
    /* Peer 1 finishes: it has the fewest connections, every new one goes there. */
    fc_upstream_pick_done(&p[1], T0, FC_UPSTREAM_PEER_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(one_ok(g, T0), 1);
    fc_upstream_pick_done(&p[0], T0, FC_UPSTREAM_PEER_OK);
    fc_upstream_pick_done(&p[2], T0, FC_UPSTREAM_PEER_OK);
}
END_TEST

START_TEST(test_least_conn_weights)
{
    static const char *const srv[] = {"127.0.0.1:8001 weight=3", "127.0.0.1:8002", NULL};
    fc_upstream_group_t *g = mkgroup("least_conn", srv);
    fc_upstream_pick_t p[8];
    int count[2] = {0};
    for (int i = 0; i < 8; i++) {
        fc_upstream_pick_init(&p[i], g, pool, NULL);
        ck_assert_int_eq(fc_upstream_pick_next(&p[i], T0), FC_OK);
        count[peer_index(&p[i])]++;
    }
    ck_assert_int_eq(count[0], 6);
    ck_assert_int_eq(count[1], 2);
    /* With no open connections, ties follow the weights too (3:1). */
    for (int i = 0; i < 8; i++)
        fc_upstream_pick_done(&p[i], T0, FC_UPSTREAM_PEER_OK);
    count[0] = count[1] = 0;
    for (int i = 0; i < 400; i++)
        count[one_ok(g, T0)]++;
    ck_assert_int_eq(count[0], 300);
}
END_TEST

/* ---- hash, consistent hash, ip_hash -------------------------------------- */

static const char *const srv_4[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80",
                                    NULL};
static const char *const srv_5[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80",
                                    "10.0.0.4:80", "10.0.0.5:80", NULL};
static const char *const srv_5_minus_3[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.4:80",
                                            "10.0.0.5:80", NULL};

/* The server name of the peer key maps to. */
static const fc_str_t *
hash_server(fc_upstream_group_t *g, int k)
{
    char buf[32];
    fc_str_t key = {(size_t)snprintf(buf, sizeof(buf), "key-%d", k), (unsigned char *)buf};
    fc_upstream_pick_t pick;
    fc_upstream_pick_init(&pick, g, pool, &key);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
    fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_OK);
    return pick.peer->server;
}

START_TEST(test_hash_stable_uniform)
{
    fc_upstream_group_t *g = mkgroup(_i ? "hash $k consistent" : "hash $k", srv_4);
    int count[4] = {0};
    for (int k = 0; k < 10000; k++) {
        const fc_str_t *s = hash_server(g, k);
        ck_assert_ptr_eq(s, hash_server(g, k));
        count[s->data[7] - '1']++;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_msg(count[i] >= 2000 && count[i] <= 3000, "peer %d got %d", i, count[i]);
}
END_TEST

/*
 * Known answers computed independently (Python zlib.crc32) from nginx's
 * formulas: the same keys land on the same servers as with nginx.
 */
START_TEST(test_hash_known_answers)
{
    static const int plain[] = {3, 0, 1, 2, 2, 1, 0, 3}, ketama[] = {3, 2, 1, 2, 0, 0, 1, 1};
    fc_upstream_group_t *g = mkgroup(_i ? "hash $k consistent" : "hash $k", srv_4);
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(hash_server(g, k)->data[7] - '1', _i ? ketama[k] : plain[k]);
}
END_TEST

START_TEST(test_hash_unavailable_rehash)
{
    fc_upstream_group_t *g = mkgroup(_i ? "hash $k consistent" : "hash $k", srv_4);
    const fc_str_t *before[200];
    for (int k = 0; k < 200; k++)
        before[k] = hash_server(g, k);
    g->primary.peer[2].down = 1;
    int moved = 0;
    for (int k = 0; k < 200; k++) {
        const fc_str_t *s = hash_server(g, k);
        ck_assert_ptr_ne(s, &((fc_upstream_server_t *)g->servers.elts)[2].name);
        ck_assert_ptr_eq(s, hash_server(g, k)); /* still deterministic */
        moved += s != before[k];
        if (before[k] != &((fc_upstream_server_t *)g->servers.elts)[2].name)
            ck_assert_ptr_eq(s, before[k]);
    }
    ck_assert_int_gt(moved, 20);
}
END_TEST

/* Fraction (per 10k) of keys whose server name differs between the groups. */
static int
chash_moved(fc_upstream_group_t *a, fc_upstream_group_t *b, int only_from_removed)
{
    int moved = 0;
    for (int k = 0; k < 10000; k++) {
        const fc_str_t *x = hash_server(a, k), *y = hash_server(b, k);
        if (!fc_str_eq(x, y)) {
            moved++;
            if (only_from_removed)
                ck_assert(fc_str_eq_c(x, "10.0.0.3:80"));
        }
    }
    return moved;
}

START_TEST(test_chash_add_remove)
{
    fc_upstream_group_t *g4 = mkgroup("hash $k consistent", srv_4);
    fc_upstream_group_t *g5 = mkgroup("hash $k consistent", srv_5);
    fc_upstream_group_t *g5m = mkgroup("hash $k consistent", srv_5_minus_3);
    ck_assert_uint_eq(g4->npoints, 4 * 160);
    int moved = chash_moved(g4, g5, 0);
    ck_assert_msg(moved >= 1000 && moved <= 3000, "moved %d", moved);
    moved = chash_moved(g5, g5m, 1);
    ck_assert_msg(moved >= 1000 && moved <= 3000, "moved %d", moved);
}
END_TEST

START_TEST(test_chash_weight)
{
    static const char *const srv[] = {"10.0.0.1:80 weight=3", "10.0.0.2:80", NULL};
    fc_upstream_group_t *g = mkgroup("hash $k consistent", srv);
    ck_assert_uint_eq(g->npoints, 4 * 160);
    int first = 0;
    for (int k = 0; k < 10000; k++)
        first += hash_server(g, k)->data[7] == '1';
    ck_assert_msg(first >= 6500 && first <= 8500, "weight 3 got %d", first);
}
END_TEST

START_TEST(test_hash_empty_key_round_robin)
{
    fc_upstream_group_t *g = mkgroup("hash $k", srv_4);
    fc_str_t empty = fc_null_string;
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(one(g, &empty, T0, FC_UPSTREAM_PEER_OK), i % 4);
}
END_TEST

/* The peer ip_hash gives a client address. */
static int
ip_pick(fc_upstream_group_t *g, int family, const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = (sa_family_t)family;
    void *dst = family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                  : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    ck_assert_int_eq(inet_pton(family, text, dst), 1);
    fc_upstream_pick_t pick;
    fc_upstream_pick_init(&pick, g, pool, NULL);
    fc_upstream_pick_client(&pick, (struct sockaddr *)&ss);
    ck_assert_int_eq(fc_upstream_pick_next(&pick, T0), FC_OK);
    fc_upstream_pick_done(&pick, T0, FC_UPSTREAM_PEER_OK);
    return peer_index(&pick);
}

START_TEST(test_ip_hash)
{
    fc_upstream_group_t *g = mkgroup("ip_hash", srv_4);
    char buf[64];
    int first = ip_pick(g, AF_INET, "1.2.3.1"), used = 0;
    ck_assert_int_eq(first, 3); /* nginx: 89 -> 3787 -> 1505 -> 751, 751 % 4 */
    for (int i = 2; i < 255; i++) {
        snprintf(buf, sizeof(buf), "1.2.3.%d", i);
        ck_assert_int_eq(ip_pick(g, AF_INET, buf), first);
    }
    ck_assert_int_eq(ip_pick(g, AF_INET6, "::ffff:1.2.3.77"), first);
    uint32_t x = 12345;
    for (int i = 0; i < 100; i++) {
        x = x * 1103515245u + 12345u;
        snprintf(buf, sizeof(buf), "%u.%u.%u.1", x >> 24, (x >> 16) & 255, (x >> 8) & 255);
        used |= 1 << ip_pick(g, AF_INET, buf);
    }
    ck_assert_int_eq(used, 15);
    /* IPv6: the whole address counts, and the same address is stable. */
    used = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(buf, sizeof(buf), "2001:db8::%x", i);
        int p = ip_pick(g, AF_INET6, buf);
        ck_assert_int_eq(ip_pick(g, AF_INET6, buf), p);
        used |= 1 << p;
    }
    ck_assert_int_gt(__builtin_popcount((unsigned)used), 1);
}
END_TEST

/* ---- random ------------------------------------------------------------- */

START_TEST(test_random_weights)
{
    static const char *const srv[] = {"127.0.0.1:8001 weight=3", "127.0.0.1:8002", NULL};
    fc_upstream_group_t *g = mkgroup("random", srv);
    int count[2] = {0};
    for (int i = 0; i < 20000; i++)
        count[one_ok(g, T0)]++;
    ck_assert_msg(count[0] >= 14400 && count[0] <= 15600, "weight 3 got %d", count[0]);
}
END_TEST

START_TEST(test_random_seeded_repeatable)
{
    fc_upstream_group_t *a = mkgroup("random", srv_3), *b = mkgroup("random", srv_3);
    fc_upstream_group_seed(a, 7);
    fc_upstream_group_seed(b, 7);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(one_ok(a, T0), one_ok(b, T0));
}
END_TEST

START_TEST(test_random_two_least_conn)
{
    fc_upstream_group_t *g = mkgroup(_i ? "random two least_conn" : "random two", srv_3);
    /* Peer 0 carries five open connections (as if picked and not done). */
    g->primary.peer[0].conns = 5;
    int count[3] = {0};
    for (int i = 0; i < 300; i++)
        count[one_ok(g, T0)]++;
    ck_assert_int_eq(count[0], 0);
    ck_assert_int_gt(count[1], 100);
    ck_assert_int_gt(count[2], 100);
    /* Plain random, for contrast, does choose it. */
    g->two = 0;
    for (int i = 0; i < 300 && count[0] == 0; i++)
        count[0] += one_ok(g, T0) == 0;
    ck_assert_int_eq(count[0], 1);
}
END_TEST

/*
 * As nginx: on a tie the second draw wins. With weights 2:1:1 and no load
 * that makes the split uniform (the second draw of a distinct pair is
 * 1/3 each); keeping the first would give the weight's 1/2.
 */
START_TEST(test_random_two_tie_second)
{
    static const char *const srv[] = {"127.0.0.1:8001 weight=2", "127.0.0.1:8002", "127.0.0.1:8003",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("random two", srv);
    fc_upstream_group_seed(g, 11);
    int count[3] = {0};
    for (int i = 0; i < 30000; i++)
        count[one_ok(g, T0)]++;
    for (int k = 0; k < 3; k++)
        ck_assert_msg(count[k] >= 9000 && count[k] <= 11000, "peer %d got %d of 30000", k,
                      count[k]);
}
END_TEST

START_TEST(test_random_skips_unusable)
{
    static const char *const srv[] = {"127.0.0.1:8001 down", "127.0.0.1:8002", "127.0.0.1:8003",
                                      NULL};
    fc_upstream_group_t *g = mkgroup("random", srv);
    for (int i = 0; i < 200; i++)
        ck_assert_int_ne(one_ok(g, T0), 0);
}
END_TEST

static Suite *
upstream_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"server_parse", test_server_parse, (int) fc_nelems(parse_cases)},
        {"method_parse", test_method_parse, (int) fc_nelems(method_cases)},
        {"group_check", test_group_check, 1},
        {"implicit", test_implicit_and_multi_address, 1},
        {"rr_sequence", test_rr_smooth_sequence, 1},
        {"rr_equal_down", test_rr_equal_and_down, 1},
        {"max_fails", test_max_fails_fail_timeout, 1},
        {"success_window", test_success_within_window_keeps_fails, 1},
        {"max_fails_zero", test_max_fails_zero, 1},
        {"random_two_tie", test_random_two_tie_second, 1},
        {"effective_weight", test_failure_lowers_effective_weight, 1},
        {"backup", test_backup, 1},
        {"backup_one_pick", test_backup_within_one_pick, 1},
        {"single", test_single_peer, 1},
        {"all_down", test_all_down_busy, 1},
        {"tries", test_tries_bound, (int) fc_nelems(tries_methods)},
        {"bitmap", test_many_peers_bitmap, 1},
        {"max_conns", test_max_conns, 2},
        {"least_conn", test_least_conn, 1},
        {"least_conn_weights", test_least_conn_weights, 1},
        {"hash", test_hash_stable_uniform, 2},
        {"hash_known", test_hash_known_answers, 2},
        {"hash_rehash", test_hash_unavailable_rehash, 2},
        {"chash_add_remove", test_chash_add_remove, 1},
        {"chash_weight", test_chash_weight, 1},
        {"hash_empty_key", test_hash_empty_key_round_robin, 1},
        {"ip_hash", test_ip_hash, 1},
        {"random_weights", test_random_weights, 1},
        {"random_seed", test_random_seeded_repeatable, 1},
        {"random_two", test_random_two_least_conn, 2},
        {"random_down", test_random_skips_unusable, 1},
    };
    return fc_unit_suite("upstream", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown);
}

int
main(void)
{
    return fc_unit_run(upstream_suite());
}
